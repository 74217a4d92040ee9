"""Greedy core growing: fill one core at a time with the units that share its axons.

A core starts from the first unassigned unit (in a given order) and grows by batches of
candidate units taken from the hyperedges it already touches: every candidate is scored
by the share of its pin weight on hyperedges the core already holds minus the share on
new ones, and the best candidates that still fit (neurons, synapses, distinct axons, and
output axons as the caller estimates them) join. The core is closed when no candidate
fits.

Why: on random networks a core is full when its *distinct presynaptic sources* reach
``axons_per_core``, long before its neuron or synapse budget; choosing the units whose
sources overlap most packs more of them per core, so fewer cores (and routers) carry each
spike. On structured networks (grids, convolutions) the same rule grows compact blocks,
because a unit surrounded by the block shares most of its receptive field with it.

Cost: every step gathers the pins of at most ``GATHER_BUDGET`` candidate entries; a step
adds at most a quarter of the core's size (one unit while it has fewer than 8), so a core
of m units takes about 8 + 4 ln(m / 8) steps, plus up to ``RETRIES`` to close it.
"""
import numpy as np

from .hypergraph import _ranges
from .refine import core_loads, relieve_output_axons

GATHER_BUDGET = 1 << 16    # candidate pins scored per step
MAX_CANDIDATES = 256
MIN_CANDIDATES = 64
CANDIDATES_PER_BATCH_UNIT = 32
SAMPLED_EDGES = 64         # touched hyperedges whose pins give the candidates of a step
PINS_PER_EDGE = 32         # at most this many pins of each sampled hyperedge
RETRIES = 2                # fresh candidate samples before a core is closed ...
HOPELESS = 1.5             # ... unless every candidate needed 1.5 times what is left


def grow_cores(hg, index, limits, order, seed=0):
    """:func:`grow_partition`, then cores over the output-axon limit relieved.

    A core's output axons (routes of its neurons to the cores that read them) are only
    known once every core is grown; when the profile limits them, cores over the limit
    shed their units of most output axons into new cores
    (:func:`.refine.relieve_output_axons`). Growing a second time with the output axons
    of the first pass gave no fewer cores (Brunel-like networks on Loihi) for twice the
    time. Returns (unit_core, n_cores, loads); cores may still be over a limit (the
    caller repairs or discards them)."""
    part = grow_partition(hg, index, limits, order, np.ones(hg.n_units, dtype=np.int64), seed=seed)
    n_cores = int(part.max()) + 1 if len(part) else 0
    part, n_cores = relieve_output_axons(hg, index, part, n_cores, limits)
    return part, n_cores, core_loads(hg, part, n_cores)


def grow_partition(hg, index, limits, order, unit_output, seed=0, unit_core=None):
    """Cores grown one after another (see the module docstring). ``order``: the order in
    which units seed new cores; ``unit_output``: the output axons each unit brings;
    ``unit_core``: cores already made (-1 for the units to place), kept as they are.
    Returns the core of every unit (new cores numbered after the given ones, in order
    of creation)."""
    n = hg.n_units
    rng = np.random.default_rng(seed)
    # one extra edge, of weight 0, stands for "no root hyperedge" (spike sources, sources
    # without targets), so that every unit has a root edge to look up
    no_edge = hg.n_edges
    weight = np.append(hg.edge_weight.astype(float), 0.0)
    fan_in = hg.unit_fan_in
    read_ptr, read_edge = index.read_ptr, index.read_edge
    root_edge = np.where(index.root_edge >= 0, index.root_edge, no_edge)
    edge_ptr, pin_unit = hg.edge_ptr, hg.pin_unit
    edge_size = np.diff(edge_ptr)
    unit_core = np.full(n, -1, dtype=np.int64) if unit_core is None else unit_core.copy()
    touched = np.full(no_edge + 1, -1, dtype=np.int64)    # last core with a pin on the edge
    read = np.full(no_edge + 1, -1, dtype=np.int64)       # last core reading the edge (an axon)
    frontier = np.empty(hg.n_edges + n, dtype=np.int64)   # edges touched by the current core
    scratch = np.empty(n, dtype=np.int64)
    mean_fan_in = max(1.0, float(fan_in.mean())) if n else 1.0
    max_candidates = int(np.clip(GATHER_BUDGET / mean_fan_in, 16, MAX_CANDIDATES))
    unit_synapses = hg.unit_synapses
    read_weight = weight[read_edge]
    unit_weight = index.unit_weight
    position = 0
    core = int(unit_core.max(initial=-1)) + 1
    while True:
        while position < n and unit_core[order[position]] >= 0:
            position += 1
        if position == n:
            break
        members = 0
        axons = synapses = output = 0
        n_frontier = 0
        batch = order[position:position + 1]
        retries = 0
        while True:
            # join the batch: mark its pins, count the axons it really adds
            unit_core[batch] = core
            members += len(batch)
            synapses += int(unit_synapses[batch].sum())
            output += int(unit_output[batch].sum())
            if len(batch) == 1:      # one unit reads distinct edges: no sort needed
                unit = int(batch[0])
                reads = read_edge[read_ptr[unit]:read_ptr[unit + 1]]
                new_reads = reads[read[reads] != core]
                root = int(root_edge[unit])
                pins = reads if root == no_edge else np.append(reads, root)
                new_touch = pins[touched[pins] != core]
                if root != no_edge and len(new_touch) > 1 and new_touch[-1] in new_touch[:-1]:
                    new_touch = new_touch[:-1]
            else:
                reads = read_edge[_ranges(read_ptr[batch], fan_in[batch])]
                new_reads = np.unique(reads[read[reads] != core])
                roots = root_edge[batch]
                pins = np.concatenate([reads, roots[roots != no_edge]])
                new_touch = np.unique(pins[touched[pins] != core])
            read[new_reads] = core
            axons += len(new_reads)
            touched[new_touch] = core
            frontier[n_frontier:n_frontier + len(new_touch)] = new_touch
            n_frontier += len(new_touch)
            if members >= limits.neurons:
                break
            # a small core's score differences are small too, so few candidates do; the
            # pool grows with the batch the core can take
            pool = int(min(max_candidates, CANDIDATES_PER_BATCH_UNIT * max(1, members // 4)))
            candidates = _candidates(rng, frontier[:n_frontier], edge_ptr, edge_size, pin_unit,
                                     unit_core, max(MIN_CANDIDATES, pool), scratch)
            if not len(candidates):
                # a core whose hyperedges hold no free unit: continue with the next units
                # of the order (disconnected parts, sources without targets)
                following = order[position:position + 4 * max_candidates]
                candidates = following[unit_core[following] < 0][:max_candidates]
                if not len(candidates):
                    break
            batch, hopeless = _best_batch(candidates, members, axons, synapses, output, core,
                                          limits, read_ptr, read_edge, read_weight, fan_in,
                                          root_edge, touched, read, weight, unit_weight,
                                          unit_synapses, unit_output)
            if not len(batch):
                retries += 1
                if retries > RETRIES or hopeless:
                    break
        core += 1
    return unit_core


def _candidates(rng, frontier, edge_ptr, edge_size, pin_unit, unit_core, limit, scratch):
    """Free units on a sample of the core's hyperedges (a window of each large one), in
    increasing order; ``scratch``: an int array over units that it may overwrite."""
    if not len(frontier):
        return frontier
    edges = frontier if len(frontier) <= SAMPLED_EDGES else \
        frontier[rng.integers(0, len(frontier), SAMPLED_EDGES)]
    size = edge_size[edges]
    take = np.minimum(size, PINS_PER_EDGE)
    start = edge_ptr[edges] + (rng.integers(0, 1 << 30, len(edges)) % (size - take + 1))
    units = pin_unit[_ranges(start, take)]
    units = units[unit_core[units] < 0]
    # distinct units without hashing: the last occurrence of each keeps its position
    position = np.arange(len(units))
    scratch[units] = position
    units = np.sort(units[scratch[units] == position])
    if len(units) > limit:
        units = units[rng.permutation(len(units))[:limit]]
    return units


def _best_batch(candidates, members, axons, synapses, output, core, limits, read_ptr, read_edge,
                read_weight, fan_in, root_edge, touched, read, weight, unit_weight,
                unit_synapses, unit_output):
    """The best-scored candidates that fit together (new axons counted without their
    overlap with each other: an upper bound), at most a quarter of the core's size.

    Score: the share of the candidate's pin weight on hyperedges the core already holds,
    minus the share on new ones. A unit whose pins are all held scores 1 whatever its
    fan-in, so a core is not filled with the units that use most synapses. Returns
    (batch, hopeless): ``hopeless`` when nothing fits and no candidate came close."""
    lengths = fan_in[candidates]
    position = _ranges(read_ptr[candidates], lengths)
    owner = np.repeat(np.arange(len(candidates)), lengths)
    is_new = read[read_edge[position]] != core
    new_axons = np.bincount(owner, weights=is_new, minlength=len(candidates))
    # a read pin on a new axon is a pin on a hyperedge the core does not hold yet (an
    # edge held only through a root pin is counted as new: a slight under-estimate)
    new_weight = np.bincount(owner, weights=read_weight[position] * is_new,
                             minlength=len(candidates)).astype(float)
    roots = root_edge[candidates]
    new_weight += np.where(touched[roots] != core, weight[roots], 0.0)
    total = np.maximum(unit_weight[candidates], 1e-300)
    score = 1.0 - 2.0 * new_weight / total
    # each candidate's demand over what the core has left, for its tightest resource
    demand = np.maximum.reduce([
        new_axons / max(limits.axons - axons, 1e-9),
        unit_synapses[candidates] / max(limits.synapses - synapses, 1e-9),
        unit_output[candidates] / max(limits.output_axons - output, 1e-9)])
    fits = demand <= 1.0
    if not fits.any():
        # another sample is worth a try only when some candidate came close (on random
        # networks the overlaps vary little between samples)
        return np.zeros(0, dtype=np.int64), bool(demand.min() > HOPELESS)
    chosen = np.flatnonzero(fits)
    chosen = chosen[np.argsort(-score[chosen], kind="stable")]
    chosen = chosen[:max(1, min(members // 4, limits.neurons - members))]
    ok = ((axons + np.cumsum(new_axons[chosen]) <= limits.axons)
          & (synapses + np.cumsum(unit_synapses[candidates[chosen]]) <= limits.synapses)
          & (output + np.cumsum(unit_output[candidates[chosen]]) <= limits.output_axons))
    # the longest prefix that fits (the first one always does)
    stop = int(np.argmin(ok)) if not ok.all() else len(ok)
    return candidates[chosen[:max(stop, 1)]], False
