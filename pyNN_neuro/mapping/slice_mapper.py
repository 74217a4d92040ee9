"""The ``slice`` mapper: contiguous slices of each population on consecutive cores.

As sPyNNaker/PACMAN do, each population is cut into equal slices of s units (the last
one shorter), one slice per core, populations in order and never sharing a core. Unlike
a fixed neurons-per-core setting, s is chosen per population as the largest size for
which every slice fits the core: at most ``neurons_per_core`` units, at most
``axons_per_core`` distinct presynaptic sources, at most ``synapses_per_core`` synapses
(and at most ``caps[p]`` units, which the compiler lowers when a core's output axons
overflow). It does not look at connectivity beyond these limits; it is the reference the
connectivity-aware mappers are measured against.

Cost: one sort of the (source, unit) pairs, then O(pairs) per candidate slice size with
O(log) candidates per population.
"""
import numpy as np

from .errors import MappingError


def slice_partition(spec, legal, profile, caps=None):
    """Assign every unit to a core. Returns ``(unit_core, n_cores, slice_sizes)`` where
    ``slice_sizes[p]`` is the slice size chosen for population p (0 for spike sources)."""
    n_units = legal.n_units
    unit_core = np.empty(n_units, dtype=np.int64)
    slice_sizes = np.zeros(len(spec.populations), dtype=np.int64)

    # pairs grouped by population, sorted by (source, unit) inside each population
    order = np.argsort(legal.pair_src * max(n_units, 1) + legal.pair_unit, kind="stable")
    pair_population = legal.unit_population[legal.pair_unit[order]]
    order = order[np.argsort(pair_population, kind="stable")]
    pair_population = legal.unit_population[legal.pair_unit[order]]
    bounds = np.searchsorted(pair_population, np.arange(len(spec.populations) + 1))

    next_core = 0
    for p, population in enumerate(spec.populations):
        first_unit, stop_unit = legal.population_units[p]
        n_local = int(stop_unit - first_unit)
        if population.is_spike_source or n_local == 0:
            continue
        selected = order[bounds[p]:bounds[p + 1]]
        local_src = legal.pair_src[selected]
        local_unit = legal.pair_unit[selected] - first_unit
        local_synapses = legal.unit_synapses[first_unit:stop_unit]
        cap = profile.neurons_per_core if caps is None else min(profile.neurons_per_core, int(caps[p]))
        size = _largest_legal_slice(local_src, local_unit, local_synapses, n_local, cap,
                                    profile, population.label)
        slice_sizes[p] = size
        unit_core[first_unit:stop_unit] = next_core + np.arange(n_local) // size
        next_core += -(-n_local // size)
    return unit_core, next_core, slice_sizes


def slice_loads(local_src, local_unit, local_synapses, n_local, size):
    """Per-slice (distinct axons, synapses) when ``n_local`` units are cut into slices of
    ``size``; the pairs must be sorted by source, then unit."""
    n_slices = -(-n_local // size)
    core = local_unit // size
    if len(core):
        new = np.ones(len(core), dtype=bool)
        new[1:] = (local_src[1:] != local_src[:-1]) | (core[1:] != core[:-1])
        axons = np.bincount(core[new], minlength=n_slices)
    else:
        axons = np.zeros(n_slices, dtype=np.int64)
    synapses = np.add.reduceat(local_synapses, np.arange(0, n_local, size))
    return axons, synapses


def _largest_legal_slice(local_src, local_unit, local_synapses, n_local, cap, profile, label):
    def fits(size):
        axons, synapses = slice_loads(local_src, local_unit, local_synapses, n_local, size)
        ratio = min(profile.axons_per_core / max(int(axons.max()), 1),
                    profile.synapses_per_core / max(int(synapses.max()), 1))
        return ratio >= 1.0, ratio

    size = max(1, min(cap, n_local))
    too_big = None
    while True:
        ok, ratio = fits(size)
        if ok:
            break
        if size == 1:
            # legalisation bounds one unit's axons and synapses, so this means a bug or a
            # profile whose fan-in limit exceeds its synapse budget
            raise MappingError(f"population {label!r}: a single unit does not fit one core of "
                               f"profile {profile.name!r}")
        too_big = size
        size = max(1, min(size - 1, int(size * ratio)))
    # the shrink step undershoots (axons grow sublinearly with slice size): search upwards
    if too_big is not None:
        low, high = size, too_big
        while high - low > 1:
            middle = (low + high) // 2
            if fits(middle)[0]:
                low = middle
            else:
                high = middle
        size = low
    return size
