"""``compile``: network spec + hardware profile -> checked :class:`Mapping`.

Phases (each timed): legalise (fan-in unrolling), partition (units -> cores), place
(cores -> mesh), route (XY multicast trees), figures, check (the independent checker).

Mappers: ``slice`` (contiguous per-population slices, as sPyNNaker), ``default``
(multilevel partition of the hypergraph with pymetis, or a pure-numpy fallback, then our
repair and KM1 refinement) and ``quality`` (Mt-KaHyPar, then the same repair and
refinement); see :mod:`.partition`. For ``slice``, when the profile limits a core's output
axons (Loihi), partition/place/route repeat with smaller slices for the populations whose
cores overflow; the other mappers keep output axons legal themselves.
"""
import logging
import sys
import time
import tracemalloc

import numpy as np

from ..hardware import get_profile
from .checker import check
from .errors import MappingError
from .hypergraph import _link_cap, source_weights
from .legalise import legalise
from .mapping import Mapping
from .partition import default_partition, quality_partition
from .placement import PLACEMENTS, place_in_order, place_on_mesh
from .routing import route_xy
from .slice_mapper import slice_partition
from .tables import routing_tables

logger = logging.getLogger(__name__)

MAPPERS = {"slice": slice_partition, "default": default_partition, "quality": quality_partition}
PLANNED_MAPPERS = ("metis",)
MAX_OUTPUT_AXON_ROUNDS = 64
PROGRESS_AFTER_S = 2.0     # a compile running longer than this reports its phases on stderr


def compile_network(spec, profile=None, mapper="default", unroll="exact", verify=True,
                    placement=None, seed=0, progress=None):
    """Map ``spec`` (a :class:`NetworkSpec`) onto ``profile`` (a name, a
    :class:`HardwareProfile`, or ``None`` for the default profile).

    ``mapper``: ``"slice"`` (contiguous per-population slices, as sPyNNaker), ``"default"``
    (hypergraph partition minimising NoC spike copies; uses pymetis when installed) or
    ``"quality"`` (Mt-KaHyPar; ``MappingError`` when it is not installed).
    ``unroll``: ``"exact"`` (partial sums in the same step; no spike changes), ``"tree"``
    (a balanced tree of units, each level one step of latency) or ``"chain"`` (SpiNeMap's
    sequential chain); see :mod:`.legalise`.
    ``placement``: ``"row_major"``, ``"greedy"`` or ``"anneal"`` (see :mod:`.placement`);
    ``None`` means ``row_major`` for ``slice`` and ``anneal`` for the other mappers.
    ``seed``: seeds the partitioner and the annealing (same seed, same mapping).
    ``verify``: run :func:`check` on the result and raise ``MappingError`` on a violation.
    ``progress``: ``None`` (default) prints each finished phase to stderr once the compile
    has run for ``PROGRESS_AFTER_S`` seconds; ``True`` always, ``False`` never; or a
    callable ``progress(phase, seconds_so_far)``.
    Raises ``MappingError`` when the network does not fit, saying what and by how much.
    """
    profile = get_profile(profile)
    if mapper not in MAPPERS:
        if mapper in PLANNED_MAPPERS:
            raise MappingError(f"mapper {mapper!r} is not implemented yet (available: "
                               f"{', '.join(MAPPERS)})")
        raise ValueError(f"mapper = {mapper!r} is not a mapper; choose one of "
                         f"{', '.join(MAPPERS)}")
    if placement is None:
        placement = "row_major" if mapper == "slice" else "anneal"
    if placement not in PLACEMENTS:
        raise ValueError(f"placement = {placement!r} is not a placement; choose one of "
                         f"{', '.join(PLACEMENTS)}")
    partition = MAPPERS[mapper]
    seconds = _Phases(progress, f"{spec.n_synapses:,} synapses onto {profile.name} ({mapper})")
    _check_synapse_types(spec, profile)
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    else:
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        with _timer(seconds, "legalise"):
            legal = legalise(spec, profile, unroll)
            link_weights = legal.per_source(source_weights(spec), cap=_link_cap(spec, None))
        caps = _user_caps(spec, mapper)
        for _ in range(MAX_OUTPUT_AXON_ROUNDS):
            with _timer(seconds, "partition"):
                if mapper == "slice":
                    unit_core, n_cores, slice_sizes = partition(spec, legal, profile, caps)
                else:
                    unit_core, n_cores, slice_sizes = partition(spec, legal, profile, seed=seed,
                                                                seconds=seconds)
            with _timer(seconds, "place"):
                if placement == "row_major":
                    where = place_in_order(n_cores, profile)
                else:
                    where = place_on_mesh(n_cores, profile, legal, unit_core, link_weights,
                                          mode=placement, seed=seed)
            with _timer(seconds, "route"):
                routes = route_xy(spec, legal, unit_core, where)
            if slice_sizes is None:
                break      # the connectivity-aware mappers keep output axons legal themselves
            caps = _output_axon_caps(spec, legal, profile, unit_core, n_cores, routes, slice_sizes)
            if caps is None:
                break
        else:
            raise MappingError(f"could not bring every core's output axons within "
                               f"output_axons_per_core = {profile.output_axons_per_core} of "
                               f"profile {profile.name!r} in {MAX_OUTPUT_AXON_ROUNDS} rounds")
        tables = None
        if profile.routing_entries_per_router is not None:
            with _timer(seconds, "tables"):
                tables = routing_tables(spec, legal, unit_core, where, profile, routes)
                if tables.entries.max(initial=0) > profile.routing_entries_per_router:
                    # too many entries per source: route each core's sources together
                    routes = route_xy(spec, legal, unit_core, where, by_core=True)
                    tables = routing_tables(spec, legal, unit_core, where, profile, routes)
        _check_router_entries(profile, routes, tables)
        with _timer(seconds, "figures"):
            mapping = Mapping(spec, profile, mapper, legal, unit_core, n_cores, slice_sizes,
                              where, routes, seconds, None, placement_mode=placement)
            mapping.tables = tables
        # the peak of the compile itself; the checker's own memory is not the mapper's
        _, peak = tracemalloc.get_traced_memory()
        if verify:
            with _timer(seconds, "check"):
                violations = check(mapping)
            if violations:
                raise MappingError("the mapper produced an illegal mapping (a bug): "
                                   + "; ".join(violations[:5]))
    finally:
        if started_tracing:
            tracemalloc.stop()
    seconds["total"] = time.perf_counter() - start  # includes the check when verify is on
    seconds.finished()
    mapping.compile_seconds = dict(seconds)
    mapping.peak_memory_mb = peak / 2**20
    return mapping


def _check_synapse_types(spec, profile):
    """``MappingError`` when the network has plastic synapses and ``profile`` cannot
    change weights on chip: which projections, and how many synapses."""
    if profile.on_chip_plasticity:
        return
    plastic = [p for p in spec.projections if p.plastic and len(p)]
    if not plastic:
        return
    named = ", ".join(f"{p.label!r} ({p.synapse_type or 'plastic'}, {len(p):,} synapses)"
                      for p in plastic[:5]) + (", ..." if len(plastic) > 5 else "")
    raise MappingError(
        f"profile {profile.name!r} has no on-chip plasticity (on_chip_plasticity = False), so "
        f"it cannot hold plastic synapses: {len(plastic)} projection(s) with "
        f"{sum(len(p) for p in plastic):,} synapses do not fit: {named}; use a static "
        f"synapse type or a profile with plasticity")


def _check_router_entries(profile, routes, tables):
    limit = profile.routing_entries_per_router
    if limit is None or tables is None or not tables.entries.size or tables.entries.max() <= limit:
        return
    entries = tables.entries
    y, x = np.unravel_index(int(np.argmax(entries)), entries.shape)
    raise MappingError(
        f"router ({x}, {y}) needs {int(entries.max())} routing entries after key/mask "
        f"compression and default routing ({int(tables.uncompressed[y, x])} sources pass "
        f"through it), more than routing_entries_per_router = {limit} of profile "
        f"{profile.name!r} (over by {int(entries.max()) - limit}; "
        f"{int((entries > limit).sum())} routers over)")


def _user_caps(spec, mapper):
    """Per-population slice caps from ``max_per_core`` (sPyNNaker's
    ``set_max_atoms_per_core``), or None when no population sets one. Only the ``slice``
    mapper cuts populations into slices; the connectivity-aware mappers choose what a core
    holds themselves and do not take per-population limits, which a warning says."""
    limits = [p.max_per_core for p in spec.populations]
    if all(limit is None for limit in limits):
        return None
    if mapper != "slice":
        labels = [p.label for p in spec.populations if p.max_per_core is not None]
        logger.warning("max atoms per core set for %s: the %r mapper packs cores by "
                       "connectivity and does not take per-population limits; "
                       "setup(mapper='slice') cuts populations into slices as sPyNNaker "
                       "does and honours them", ", ".join(labels), mapper)
        return None
    return np.array([np.iinfo(np.int64).max if limit is None else int(limit)
                     for limit in limits], dtype=np.int64)


def _output_axon_caps(spec, legal, profile, unit_core, n_cores, routes, slice_sizes):
    """New per-population slice caps when some core holds more (neuron, target core)
    routes than ``output_axons_per_core``; ``None`` when every core fits."""
    limit = profile.output_axons_per_core
    if limit is None:
        return None
    on_core = routes.source_core >= 0
    output_axons = np.bincount(routes.source_core[on_core], weights=routes.n_targets[on_core],
                               minlength=n_cores)
    over = output_axons > limit
    if not over.any():
        return None
    core_population = np.full(n_cores, -1, dtype=np.int64)
    core_population[unit_core] = legal.unit_population
    caps = slice_sizes.copy()
    for p in np.unique(core_population[over]):
        worst = output_axons[core_population == p].max()
        size = int(slice_sizes[p])
        if size == 1:
            core = int(np.flatnonzero(over & (core_population == p))[0])
            raise MappingError(
                f"a neuron of population {spec.populations[p].label!r} alone reaches "
                f"{int(output_axons[core])} target cores, more than output_axons_per_core = "
                f"{limit} of profile {profile.name!r} (over by {int(output_axons[core]) - limit})")
        caps[p] = max(1, min(size - 1, int(size * limit / worst)))
    return caps


class _Phases(dict):
    """Seconds per phase, reporting finished phases when the compile is a long one."""

    def __init__(self, progress, what):
        super().__init__()
        self.progress, self.what = progress, what
        self.start = time.perf_counter()
        self.announced = False

    def done(self, phase):
        elapsed = time.perf_counter() - self.start
        if callable(self.progress):
            self.progress(phase, elapsed)
            return
        if self.progress is False or (self.progress is None and elapsed < PROGRESS_AFTER_S):
            return
        if not self.announced:
            print(f"pyNN_neuro: mapping {self.what}", file=sys.stderr, flush=True)
            self.announced = True
        print(f"pyNN_neuro: mapping: {phase} done ({self[phase]:.1f} s; {elapsed:.1f} s so far)",
              file=sys.stderr, flush=True)

    def finished(self):
        if self.announced:
            print(f"pyNN_neuro: mapping finished in {self['total']:.1f} s", file=sys.stderr, flush=True)


class _timer:
    def __init__(self, seconds, phase):
        self.seconds, self.phase = seconds, phase

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds[self.phase] = self.seconds.get(self.phase, 0.0) + time.perf_counter() - self.start
        if exc[0] is None and isinstance(self.seconds, _Phases):
            self.seconds.done(self.phase)
