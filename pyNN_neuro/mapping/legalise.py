"""Fan-in legalisation: split neurons with too many distinct inputs into units.

A core's crossbar gives each neuron at most ``profile.fan_in_limit`` distinct presynaptic
sources (its axons, or a per-neuron CAM on DYNAP-SE). A neuron with fan-in F above that
limit L becomes k = ceil(F / L) *units*; its sources, in increasing global index, are cut
into k consecutive chunks of at most ceil(F / k) sources, and every synapse goes to the
unit holding its source. All synapses from one source to one neuron stay together.

Mode ``exact`` (the only one so far): the units are partial-sum accumulators whose sums
reach the neuron within the same time step, as SpiNNaker's synapse cores do, so no spike
changes and no latency is added. Unit 0 (the *root*) also holds the neuron's state and
emits its spikes. Modes ``tree`` and ``chain`` (spiking relay units, adding depth x dt of
latency) come later.

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
    ``root_unit`` (-1 for spike sources). ``population_units[p]`` = (first, stop) unit ids.
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

    @property
    def n_units(self):
        return len(self.unit_neuron)


def legalise(spec, profile, unroll="exact"):
    """Split every neuron of ``spec`` into units that respect ``profile``'s fan-in limit."""
    if unroll not in UNROLL_MODES:
        raise ValueError(f"unroll = {unroll!r} is not a fan-in unrolling mode; choose one of "
                         f"{', '.join(UNROLL_MODES)}")
    if unroll != "exact":
        raise MappingError(f"unroll mode {unroll!r} is not implemented yet (use 'exact')")
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
    units_per_neuron = np.where(is_source, 0, np.maximum(1, -(-fan_in // limit)))
    chunk = np.maximum(1, -(-fan_in // np.maximum(units_per_neuron, 1)))
    pair_start = np.concatenate([[0], np.cumsum(fan_in)[:-1]]) if n else np.zeros(0, np.int64)
    pair_rank = (np.arange(n_pairs) - pair_start[pair_post]) // chunk[pair_post]

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
    return Legalised(syn_pre=pre, syn_post=post, syn_unit=syn_unit, pair_src=pair_src,
                     pair_unit=pair_unit, unit_neuron=unit_neuron, unit_rank=unit_rank,
                     unit_population=unit_population, unit_synapses=unit_synapses,
                     fan_in=fan_in, units_per_neuron=units_per_neuron, root_unit=root_unit,
                     population_units=population_units, unroll=unroll)
