"""Connectivity-aware mappers: ``default`` (greedy core growing and METIS, or a
pure-numpy fallback) and ``quality`` (Mt-KaHyPar), both followed by the same repair and
refinement.

Objective: the hypergraph KM1 cut (see :mod:`.hypergraph`) with hyperedge weights from
the spec's spike counts, else rates, else 1, plus a floor of 1% of their mean so that
neurons silent in a short run still keep their routes short.

``default``: two initial partitions, each made legal (cores over the output-axon limit
shed units into new cores, :func:`.refine.relieve_output_axons`; cores still over a
limit are split, :func:`.refine.repair`).
1. Greedy core growing (:mod:`.grow`): one core at a time, filled with the units sharing
   most of its hyperedges while its neurons, synapses and axons last (output axons are
   only known at the end: cores over them are relieved). It packs axon-bound random
   networks into fewer cores and grows compact blocks on grids.
2. Unless the grown cores are full by their axons (random networks, where packing is
   what matters) or full on a large network (see ``default_partition``), with pymetis
   (``pip install pymetis``): a multilevel k-way edge-cut partition of the
   graph expansion of the hypergraph (:func:`.hypergraph.expand_to_graph`), vertex weight
   max(1 / neurons_per_core, synapses / synapses_per_core) so that a part within the
   balance bound fits a core's neurons and synapses; k starts at the fewest cores these
   allow and grows while most cores exceed their axons or output axons (at most
   ``MAX_K_ROUNDS`` times). Balanced parts suit networks whose every core reads almost
   every source (Vogels-Abbott on Loihi) and layered structure (convolutions). Without
   pymetis (logged once): the units in breadth-first order of the same graph, or in unit
   order (as ``slice``) when that cuts less, cut into consecutive cores as large as the
   limits allow.
:func:`.refine.merge_cores` merges cores sharing hyperedges when the union fits, then
on the METIS (or breadth-first) candidate :func:`.refine.refine_moves` moves single units
to reduce the exact KM1 cut (on grown cores it gained less than 0.5%: it is not run).
The candidate with the lower cut wins.

``quality``: Mt-KaHyPar's KM1 partitioner (``pip install mtkahypar``) on the hypergraph
itself, then the same repair and refinement.
"""
import logging
import math
import os
import time

import numpy as np

from .errors import MappingError
from .grow import grow_cores
from .hypergraph import _ranges, build_hypergraph, expand_to_graph, km1, source_weights
from .refine import (
    Limits, UnitIndex, chunk_in_order, compact, core_loads, merge_cores, over_limits,
    refine_moves, relieve_output_axons, repair, unit_output_axons,
)

logger = logging.getLogger(__name__)

IMBALANCE = 0.03          # allowed part weight over the average (METIS ufactor 30, Mt-KaHyPar epsilon)
MAX_K_ROUNDS = 4
# grown cores still over a limit after relief: above this share of the cores, splitting
# them would cascade (every split raises other cores' output axons), so the grown
# partition is left out
MAX_GROWN_OVER_SHARE = 0.1
# METIS is not asked for parts of fewer units than this on average (it refuses k close
# to the number of vertices, and such tiny parts are what growing makes best anyway)
MIN_UNITS_PER_PART = 8
FULL_CORE = 0.9            # a core using this share of some limit is full ...
FULL_SHARE = 0.9           # ... and grown cores this often full (or all but the last
MAX_PARTIAL_CORES = 3      # few, the remainders of growing) may leave METIS out
METIS_MAX_PINS_WHEN_FULL = 250_000
METIS_MAX_TOTAL_WEIGHT = 2**30
_warned_no_metis = False
_mtkahypar = None


def partition_weights(spec):
    """Hyperedge weights used by the partitioners (see the module docstring)."""
    w = source_weights(spec)
    mean = float(w.mean()) if len(w) else 0.0
    if mean <= 0.0:
        return np.ones(len(w))
    return w + 0.01 * mean


def default_partition(spec, legal, profile, caps=None, seed=0, seconds=None):
    """The ``default`` mapper: returns ``(unit_core, n_cores, None)``."""
    try:
        import pymetis
    except ImportError:
        pymetis = None
        global _warned_no_metis
        if not _warned_no_metis:
            logger.info("pymetis is not installed (pip install pymetis): the default mapper "
                        "uses its pure-numpy breadth-first partitioner instead")
            _warned_no_metis = True

    def initial(hg, index, limits, timings):
        candidates, failures = [], []

        def add_legal(part, n_parts, refine):
            try:
                part, n_parts = relieve_output_axons(hg, index, part, n_parts, limits)
                candidates.append((*repair(hg, index, part, n_parts, limits), refine))
            except MappingError as err:   # the other candidate may still be legal
                failures.append(err)

        start = time.perf_counter()
        grown, n_grown, loads = grow_cores(hg, index, limits, np.arange(hg.n_units, dtype=np.int64), seed)
        if over_limits(loads, limits).mean() <= MAX_GROWN_OVER_SHARE:
            # grown cores are already locally good: move refinement gained < 0.5% on them
            add_legal(grown, n_grown, refine=False)
        timings["partition_grow"] = time.perf_counter() - start
        start = time.perf_counter()
        # METIS is left out when the grown cores are full by their axons or output axons
        # (random networks: packing is what matters there, and growing packs better), or
        # full by any limit on a large network (its time would be most of the compile,
        # and on the grid-like networks where this happens the grown cut was the lower
        # one), or when the cores hold a few units each (METIS refuses k close to the
        # number of vertices)
        skip_metis = bool(candidates) and (
            _mostly_full(loads, limits, connectivity_only=True)
            or (_mostly_full(loads, limits) and len(hg.pin_unit) > METIS_MAX_PINS_WHEN_FULL)
            or n_grown > hg.n_units // MIN_UNITS_PER_PART)
        if pymetis is None:
            add_legal(*_breadth_first_partition(hg, index, limits), refine=True)
            timings["partition_breadth_first"] = time.perf_counter() - start
        elif not skip_metis:
            graph = expand_to_graph(hg)
            part, k = _k_search(hg, limits, lambda k, vw, eps: _metis(pymetis, graph, k, vw, eps, seed))
            del graph           # not needed by the repair, whose peak it would raise
            add_legal(*compact(part), refine=True)
            timings["partition_metis"] = time.perf_counter() - start
        if not candidates:
            raise failures[0]
        return candidates
    return _partition(spec, legal, profile, initial, seconds)


def quality_partition(spec, legal, profile, caps=None, seed=0, seconds=None):
    """The ``quality`` mapper (Mt-KaHyPar); ``MappingError`` when it is not installed."""
    mtkahypar = _import_mtkahypar()

    def initial(hg, index, limits, timings):
        start = time.perf_counter()
        part, k = _k_search(hg, limits, lambda k, vw, eps: _kahypar(mtkahypar, hg, k, vw, eps, seed))
        part, k = compact(part)
        timings["partition_kahypar"] = time.perf_counter() - start
        part, k = relieve_output_axons(hg, index, part, k, limits)
        return [(*repair(hg, index, part, k, limits), True)]
    return _partition(spec, legal, profile, initial, seconds)


def _partition(spec, legal, profile, initial, seconds):
    """Legal candidates from ``initial``, each merged (and refined when it asks for it);
    the one with the lowest cut wins."""
    limits = Limits(profile)
    if legal.n_units == 0:
        return np.zeros(0, dtype=np.int64), 0, None
    hg = build_hypergraph(spec, legal, partition_weights(spec))
    index = UnitIndex(hg)
    timings = {}
    finished = []
    for part, n_parts, refine in initial(hg, index, limits, timings):
        start = time.perf_counter()
        part, n_parts = merge_cores(hg, part, n_parts, limits)
        if refine:
            part, n_parts = refine_moves(hg, index, part, n_parts, limits)
            part, n_parts = merge_cores(hg, part, n_parts, limits)
        timings["partition_refine"] = timings.get("partition_refine", 0.0) + time.perf_counter() - start
        finished.append((km1(hg, part, n_parts), part, n_parts))
    if seconds is not None:
        for name, value in timings.items():
            seconds[name] = seconds.get(name, 0.0) + value
    _, part, n_parts = min(finished, key=lambda c: c[0])
    return part, n_parts, None


def _mostly_full(loads, limits, connectivity_only=False):
    """Whether all cores but FULL_SHARE of them, or but MAX_PARTIAL_CORES, use at least
    FULL_CORE of some limit (of their axons or output axons only, with
    ``connectivity_only``)."""
    neurons, axons, synapses, output, _ = loads
    used = np.maximum(axons / limits.axons, output / limits.output_axons)
    if not connectivity_only:
        used = np.maximum.reduce([used, neurons / limits.neurons, synapses / limits.synapses])
    partial = int(np.count_nonzero(used < FULL_CORE))
    return partial <= max(MAX_PARTIAL_CORES, (1.0 - FULL_SHARE) * len(used))


def _vertex_weights(hg, limits):
    """Integer unit weights; a part of weight <= 16 * neurons_per_core fits a core's
    neurons and synapses."""
    scale = 16 * limits.neurons
    by_synapses = np.ceil(scale * hg.unit_synapses / limits.synapses).astype(np.int64)
    return np.maximum(16, by_synapses), scale


def _k_search(hg, limits, partitioner):
    """Run ``partitioner(k, vertex_weights)`` with the smallest k the neurons and synapses
    allow, then with k grown by the 90th percentile of the cores' axon (and output axon)
    overload, at most MAX_K_ROUNDS times."""
    vw, capacity = _vertex_weights(hg, limits)
    n = hg.n_units
    total = float(vw.sum())
    # the fewest cores with at least 0.1% slack; the allowed imbalance is what is left,
    # up to IMBALANCE (fewer cores matter most on random networks, where every extra
    # core adds to almost every hyperedge)
    k = min(n, max(1, math.ceil(total * 1.001 / capacity)))
    for _ in range(MAX_K_ROUNDS):
        imbalance = min(IMBALANCE, capacity * k / total - 1.0)
        part = np.zeros(n, dtype=np.int64) if k == 1 else partitioner(k, vw, imbalance)
        _, axons, _, output, _ = core_loads(hg, part, k)
        ratio = axons / limits.axons
        if np.isfinite(limits.output_axons):
            ratio = np.maximum(ratio, output / limits.output_axons)
        overload = float(np.quantile(ratio, 0.9))
        if overload <= 1.0 or k >= n:
            break
        k = min(max(1, n // MIN_UNITS_PER_PART), math.ceil(k * overload * 1.05) + 1)
    return part, k


def _metis(pymetis, graph, k, vw, imbalance, seed):
    ptr, adjacent, weight = graph
    total = float(weight.sum())
    if total > METIS_MAX_TOTAL_WEIGHT:   # METIS sums edge weights in (often 32-bit) integers
        weight = np.maximum(1, weight * (METIS_MAX_TOTAL_WEIGHT / total)).astype(np.int64)
    eweights = weight if len(weight) else None
    options = pymetis.Options(ufactor=max(1, int(imbalance * 1000)), seed=int(seed))
    # every array in METIS's 64-bit index type: pymetis copies any other one element by
    # element through Python integers (15x slower, worse still under tracemalloc)
    _, membership = pymetis.part_graph(
        int(k), adjacency=pymetis.CSRAdjacency(ptr.astype(np.int64, copy=False),
                                               adjacent.astype(np.int64, copy=False)),
        vweights=vw.astype(np.int64, copy=False),
        eweights=None if eweights is None else eweights.astype(np.int64, copy=False),
        options=options)
    return np.asarray(membership, dtype=np.int64)


def _breadth_first_partition(hg, index, limits):
    """Units in breadth-first order of the expanded graph (components in order of their
    lowest unit, neighbours by decreasing edge weight), cut into legal consecutive cores."""
    ptr, adjacent, weight = expand_to_graph(hg)
    lam_read = np.ones(hg.n_edges, dtype=np.int64)
    best = None
    # breadth-first order, and unit order (populations in order, as ``slice``): the one
    # with the lower cut wins, so the fallback starts no worse than contiguous slices
    for order in (_breadth_first_order(ptr, adjacent, weight, hg.n_units),
                  np.arange(hg.n_units, dtype=np.int64)):
        labels = np.empty(hg.n_units, dtype=np.int64)
        estimate = lam_read
        for _ in range(MAX_K_ROUNDS):
            # a core's output axons depend on how many cores read its neurons' sources,
            # which depends on the cut: re-cut with the lambdas of the previous cut
            labels[order] = chunk_in_order(hg, index, order, limits,
                                           unit_output_axons(hg, index, estimate))
            n_parts = int(labels.max()) + 1
            *_, output, lam = core_loads(hg, labels, n_parts)
            if output.max(initial=0) <= limits.output_axons:
                break
            estimate = np.maximum(estimate, lam)
        cut = km1(hg, labels, n_parts)
        if best is None or cut < best[0]:
            best = (cut, labels, n_parts)
    return best[1], best[2]


def _breadth_first_order(ptr, adjacent, weight, n):
    degree = np.diff(ptr)
    # neighbour lists sorted by decreasing weight
    row = np.repeat(np.arange(n), degree)
    by_weight = np.lexsort((-weight, row))
    adjacent = adjacent[by_weight]
    visited = degree == 0              # isolated units go last, in id order
    order = []
    next_start = 0
    while True:
        unvisited = np.flatnonzero(~visited[next_start:])
        if not len(unvisited):
            break
        start = next_start + int(unvisited[0])
        next_start = start
        visited[start] = True
        frontier = np.array([start], dtype=np.int64)
        while len(frontier):
            order.append(frontier)
            neighbours = adjacent[_ranges(ptr[frontier], degree[frontier])]
            neighbours = neighbours[~visited[neighbours]]
            if not len(neighbours):
                break
            _, first = np.unique(neighbours, return_index=True)
            frontier = neighbours[np.sort(first)]
            visited[frontier] = True
    order.append(np.flatnonzero(degree == 0))
    return np.concatenate(order).astype(np.int64)


def _import_mtkahypar():
    global _mtkahypar
    if _mtkahypar is None:
        try:
            import mtkahypar
        except ImportError as err:
            raise MappingError("mapper 'quality' needs Mt-KaHyPar, which is not installed: "
                               "pip install mtkahypar (or pip install 'pyNN_neuro[mapping]')") from err
        _mtkahypar = (mtkahypar, mtkahypar.initialize(max(1, os.cpu_count() or 1), False))
    return _mtkahypar


def _kahypar(mtkahypar_pair, hg, k, vw, imbalance, seed):
    mtkahypar, initializer = mtkahypar_pair
    context = initializer.context_from_preset(mtkahypar.PresetType.DETERMINISTIC_QUALITY)
    context.set_partitioning_parameters(int(k), max(0.001, imbalance), mtkahypar.Objective.KM1)
    context.logging = False
    mtkahypar.set_seed(int(seed))
    size = hg.edge_size
    keep = np.flatnonzero(size >= 2)
    edges = np.split(hg.pin_unit[_ranges(hg.edge_ptr[keep], size[keep])], np.cumsum(size[keep])[:-1]) \
        if len(keep) else []
    if not len(edges):
        return np.arange(hg.n_units, dtype=np.int64) % k
    weight = hg.edge_weight[keep]
    scale = 100.0 / max(float(np.mean(weight)), 1e-300) if len(weight) else 1.0
    eweights = np.clip(np.rint(weight * scale), 1, 2**30).astype(np.int64)
    hypergraph = initializer.create_hypergraph(
        context, hg.n_units, len(edges), [e.tolist() for e in edges], vw.tolist(), eweights.tolist())
    return np.asarray(hypergraph.partition(context).get_partition(), dtype=np.int64)
