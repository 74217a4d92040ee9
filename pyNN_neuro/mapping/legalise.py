"""Fan-in legalisation: split neurons with too many distinct inputs into units.

A core's crossbar gives each neuron at most ``profile.fan_in_limit`` distinct presynaptic
sources (its axons, or a per-neuron CAM on DYNAP-SE). A neuron with fan-in F above that
limit L becomes k = ceil(F / L) *units*; its sources, in increasing global index, are cut
into k consecutive chunks of at most ceil(F / k) sources, and every synapse goes to the
unit holding its source. All synapses from one source to one neuron stay together.

Mode ``exact`` (default): the units are partial-sum accumulators whose sums reach the
neuron within the same time step, as SpiNNaker's synapse cores do, so no spike changes and
no latency is added. Unit 0 (the *root*) also holds the neuron's state and emits its
spikes; the k units split the sources evenly.

Modes ``tree`` and ``chain`` (P2's unrolling): every unit forwards its partial sum to a
parent unit one time step later, through a crossbar row (an axon) of the parent's core
and over the mesh like a spike. The units of a neuron form a tree numbered breadth-first,
node j's parent being (j - 1) // B: ``tree`` uses B = fan_in_limit (balanced, the least
depth), ``chain`` B = 1 (SpiNeMap's sequential chain, depth k - 1). A node with c children
reads at most fan_in_limit - c sources, so a neuron with fan-in F > L needs
k = ceil((F - 1) / (L - 1)) units; its sources, in increasing global index, fill the nodes
in order (the root first). A synapse on a node of depth d acts d steps later than its
delay says (``syn_added_steps``). The partial-sum links are extra *sources* numbered
``n_neurons + link``, so partitioning, routing, axon counts and traffic treat them like
spikes: ``root_unit[n_neurons + link]`` is the child unit that emits the link.

Units are numbered population by population and, inside a population, *rank-major*: all
root units, then every neuron's unit 1, and so on. Contiguous slices of units then share
their presynaptic chunks (unit r of neighbouring neurons reads similar sources), which
keeps a core's distinct axons low.
"""
from dataclasses import dataclass

import numpy as np

from .errors import MappingError

UNROLL_MODES = ("exact", "tree", "chain")


@dataclass
class Legalised:
    """Units and the placement of every synapse on a unit.

    Per synapse: ``syn_pre``, ``syn_post`` (global neuron indices), ``syn_unit``.
    Per distinct (source, unit) pair: ``pair_src``, ``pair_unit``.
    Per unit: ``unit_neuron``, ``unit_rank``, ``unit_population``, ``unit_synapses``.
    Per neuron: ``fan_in`` (distinct sources), ``units_per_neuron`` (0 for spike sources),
    ``root_unit`` (-1 for spike sources; it continues past ``n_neurons`` with the emitting
    unit of every partial-sum link). ``population_units[p]`` = (first, stop) unit ids.
    Tree/chain modes: per link ``link_child``, ``link_parent`` (units; sources
    ``n_neurons + link``); per unit ``unit_depth`` (links to the root); per synapse
    ``syn_added_steps`` (= depth of its unit; in exact mode a read-only view of zeros).
    """
    syn_pre: np.ndarray
    syn_post: np.ndarray
    syn_unit: np.ndarray
    pair_src: np.ndarray
    pair_unit: np.ndarray
    unit_neuron: np.ndarray
    unit_rank: np.ndarray
    unit_population: np.ndarray
    unit_synapses: np.ndarray
    fan_in: np.ndarray
    units_per_neuron: np.ndarray
    root_unit: np.ndarray
    population_units: np.ndarray
    unroll: str
    n_neurons: int
    link_child: np.ndarray
    link_parent: np.ndarray
    unit_depth: np.ndarray
    syn_added_steps: np.ndarray

    @property
    def n_units(self):
        return len(self.unit_neuron)

    @property
    def n_links(self):
        return len(self.link_child)

    @property
    def n_sources(self):
        """Spike sources of the NoC: neurons, then partial-sum links."""
        return self.n_neurons + self.n_links

    @property
    def max_depth(self):
        return int(self.unit_depth.max()) if len(self.unit_depth) else 0

    def per_source(self, per_neuron, cap=None):
        """Extend a per-neuron activity (spikes, rates or route weights) to every source:
        a link carries at most one partial sum per step, and only in steps in which its
        subtree received a spike, so its value is the sum over its subtree's direct
        inputs, each link capped at ``cap`` (steps of the run, or the largest rate). An
        upper bound: spikes arriving in the same step share one message."""
        per_neuron = np.asarray(per_neuron, dtype=float)
        if not self.n_links:
            return per_neuron
        real = self.pair_src < self.n_neurons
        subtree = np.bincount(self.pair_unit[real], weights=per_neuron[self.pair_src[real]],
                              minlength=self.n_units)
        link_value = np.zeros(self.n_links)
        child_depth = self.unit_depth[self.link_child]
        for depth in range(self.max_depth, 0, -1):   # leaves first
            at = np.flatnonzero(child_depth == depth)
            value = subtree[self.link_child[at]]
            if cap is not None:
                value = np.minimum(value, cap)
            link_value[at] = value
            np.add.at(subtree, self.link_parent[at], value)
        return np.concatenate([per_neuron, link_value])


def legalise(spec, profile, unroll="exact"):
    """Split every neuron of ``spec`` into units that respect ``profile``'s fan-in limit."""
    if unroll not in UNROLL_MODES:
        raise ValueError(f"unroll = {unroll!r} is not a fan-in unrolling mode; choose one of "
                         f"{', '.join(UNROLL_MODES)}")
    n = spec.n_neurons
    pre, post, _ = spec.synapses()

    # distinct (post, pre) pairs, sorted by post then pre
    key = post * n + pre
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    pair_of_sorted = np.cumsum(first) - 1
    pair_of_synapse = np.empty(len(key), dtype=np.int64)
    pair_of_synapse[order] = pair_of_sorted
    pair_post = post[order][first]
    pair_src = pre[order][first]
    n_pairs = len(pair_post)

    fan_in = np.bincount(pair_post, minlength=n).astype(np.int64)
    limit = profile.fan_in_limit
    is_source = spec.is_source_neuron
    pair_start = np.concatenate([[0], np.cumsum(fan_in)[:-1]]) if n else np.zeros(0, np.int64)
    pair_position = np.arange(n_pairs) - pair_start[pair_post]
    if unroll == "exact":
        units_per_neuron = np.where(is_source, 0, np.maximum(1, -(-fan_in // limit)))
        chunk = np.maximum(1, -(-fan_in // np.maximum(units_per_neuron, 1)))
        pair_rank = pair_position // chunk[pair_post]
        branching = None
    else:
        over = ~is_source & (fan_in > limit)
        if limit < 2 and over.any():
            raise MappingError(
                f"fan_in_limit = {limit} of profile {profile.name!r} leaves no room for a "
                f"partial-sum input, so {unroll!r} unrolling cannot split a neuron with fan-in "
                f"{int(fan_in.max())}; use unroll='exact'")
        units_per_neuron = np.where(is_source, 0, 1)
        units_per_neuron[over] = -(-(fan_in[over] - 1) // (limit - 1))
        branching = limit if unroll == "tree" else 1
        pair_rank = _node_of_pair(pair_post, pair_position, units_per_neuron, limit, branching)

    # units in neuron-major numbering, then renumbered rank-major within each population
    total_units = int(units_per_neuron.sum())
    unit_start = np.concatenate([[0], np.cumsum(units_per_neuron)[:-1]]) if n else np.zeros(0, np.int64)
    nm_neuron = np.repeat(np.arange(n, dtype=np.int64), units_per_neuron)
    nm_rank = np.arange(total_units, dtype=np.int64) - unit_start[nm_neuron]
    nm_population = spec.population_of(nm_neuron)
    unit_order = np.lexsort((nm_neuron, nm_rank, nm_population))
    renumber = np.empty(total_units, dtype=np.int64)
    renumber[unit_order] = np.arange(total_units)

    unit_neuron = nm_neuron[unit_order]
    unit_rank = nm_rank[unit_order]
    unit_population = nm_population[unit_order]
    pair_unit = renumber[unit_start[pair_post] + pair_rank]
    syn_unit = pair_unit[pair_of_synapse]
    root_unit = np.full(n, -1, dtype=np.int64)
    has_units = units_per_neuron > 0
    root_unit[has_units] = renumber[unit_start[has_units]]

    unit_synapses = np.bincount(syn_unit, minlength=total_units).astype(np.int64)
    if total_units and unit_synapses.max() > profile.synapses_per_core:
        worst = int(np.argmax(unit_synapses))
        neuron = int(unit_neuron[worst])
        p = int(spec.population_of(neuron))
        raise MappingError(
            f"neuron {neuron - spec.offsets[p]} of population {spec.populations[p].label!r} "
            f"needs {unit_synapses[worst]} synapses in one unit, more than synapses_per_core = "
            f"{profile.synapses_per_core} of profile {profile.name!r} (over by "
            f"{unit_synapses[worst] - profile.synapses_per_core}); several synapses from the same "
            f"source cannot be split across units")

    population_units = np.zeros((len(spec.populations), 2), dtype=np.int64)
    bounds = np.searchsorted(unit_population, np.arange(len(spec.populations) + 1))
    population_units[:, 0] = bounds[:-1]
    population_units[:, 1] = bounds[1:]

    # partial-sum links (tree/chain): every non-root node to its parent node
    if branching is None:
        link_child = link_parent = np.zeros(0, dtype=np.int64)
        unit_depth = np.zeros(total_units, dtype=np.int64)
    else:
        unit_depth = _node_depth(unit_rank, branching)
        child = np.flatnonzero(unit_rank > 0)
        first_of_neuron = unit_start[unit_neuron[child]]          # neuron-major ids
        parent_rank = (unit_rank[child] - 1) // branching
        link_child = child
        link_parent = renumber[first_of_neuron + parent_rank]
        pair_src = np.concatenate([pair_src, n + np.arange(len(child), dtype=np.int64)])
        pair_unit = np.concatenate([pair_unit, link_parent])
        root_unit = np.concatenate([root_unit, link_child])
    if branching is None:   # exact: no synapse is delayed; a read-only zero view, no memory
        added_steps = np.broadcast_to(np.zeros(1, dtype=np.int64), syn_unit.shape)
    else:
        added_steps = unit_depth[syn_unit]
    return Legalised(syn_pre=pre, syn_post=post, syn_unit=syn_unit, pair_src=pair_src,
                     pair_unit=pair_unit, unit_neuron=unit_neuron, unit_rank=unit_rank,
                     unit_population=unit_population, unit_synapses=unit_synapses,
                     fan_in=fan_in, units_per_neuron=units_per_neuron, root_unit=root_unit,
                     population_units=population_units, unroll=unroll, n_neurons=n,
                     link_child=link_child, link_parent=link_parent, unit_depth=unit_depth,
                     syn_added_steps=added_steps)


def _children(rank, k, branching):
    """Children of node ``rank`` in a breadth-first tree of ``k`` nodes, B = branching."""
    return np.clip(k - 1 - branching * rank, 0, branching)


def _node_of_pair(pair_post, pair_position, units_per_neuron, limit, branching):
    """Node (rank) of each (source, neuron) pair: the nodes of a neuron, in order, take as
    many of its sources (in increasing index) as their free rows allow."""
    n_total = int(units_per_neuron.sum())
    if n_total == 0 or len(pair_post) == 0:
        return np.zeros(len(pair_post), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(units_per_neuron)[:-1]])
    neuron = np.repeat(np.arange(len(units_per_neuron)), units_per_neuron)
    rank = np.arange(n_total, dtype=np.int64) - start[neuron]
    capacity = limit - _children(rank, units_per_neuron[neuron], branching)
    cumulative = np.cumsum(capacity)
    before = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0)
    before[units_per_neuron == 0] = 0
    unit = np.searchsorted(cumulative, before[pair_post] + pair_position, side="right")
    return unit - start[pair_post]


def _node_depth(rank, branching):
    """Depth of node ``rank`` in a breadth-first tree with branching factor B."""
    if branching == 1:
        return rank.astype(np.int64)
    depth = np.zeros(len(rank), dtype=np.int64)
    current = rank.astype(np.int64).copy()
    while (current > 0).any():
        inner = current > 0
        depth[inner] += 1
        current[inner] = (current[inner] - 1) // branching
    return depth
