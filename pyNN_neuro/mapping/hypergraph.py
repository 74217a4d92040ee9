"""The network as a hypergraph over units, and its connectivity-minus-one (KM1) cut.

One hyperedge per presynaptic neuron (or host spike source) s that has targets: its pins
are the units holding at least one synapse from s (*reading* pins, each costs the unit's
core one axon row) plus the root unit of s when s is a neuron (it emits s's spikes). For a
partition of units into cores, with lambda(e) the number of cores hyperedge e touches,

    hypergraph_cut = sum over e of w(e) * (lambda(e) - 1)

equals the NoC spike copies (deliveries to another core than the source's) when w(e) is
the spike count of s; for a host source it is the copies minus one delivery per spike,
since every host delivery leaves the input port.

Weights ``w(e)``: the observed spike count of s when the spec has spike counts, else its
expected rate, else 1 (the cut then counts (source, remote core) routes).
"""
from dataclasses import dataclass

import numpy as np

from .errors import MappingError


@dataclass
class Hypergraph:
    """Pins in CSR form by hyperedge, sorted by unit inside each hyperedge.

    Per hyperedge: ``edge_source`` (global neuron), ``edge_weight``, ``edge_root`` (root
    unit or -1 for a host source), ``edge_ptr`` (pins of edge e are
    ``pin_unit[edge_ptr[e]:edge_ptr[e + 1]]``). Per pin: ``pin_edge``, ``pin_unit``,
    ``pin_reads`` (False for a root pin whose unit holds no synapse from its own source).
    Per unit: ``unit_synapses``, ``unit_fan_in`` (reading pins).
    """
    n_units: int
    edge_source: np.ndarray
    edge_weight: np.ndarray
    edge_root: np.ndarray
    edge_ptr: np.ndarray
    pin_edge: np.ndarray
    pin_unit: np.ndarray
    pin_reads: np.ndarray
    unit_synapses: np.ndarray
    unit_fan_in: np.ndarray

    @property
    def n_edges(self):
        return len(self.edge_source)

    @property
    def edge_size(self):
        return np.diff(self.edge_ptr)


def source_weights(spec):
    """Per-neuron hyperedge weight: spike counts, else expected rates, else ones (floats)."""
    if spec.spike_counts is not None:
        return np.asarray(spec.spike_counts, dtype=float)
    if spec.rates_hz is not None:
        return np.asarray(spec.rates_hz, dtype=float)
    return np.ones(spec.n_neurons)


def _link_cap(spec, weights):
    """Largest weight a partial-sum link can carry: one message per step (spikes of the
    run, or a rate of 1 / dt), or 1 for unit route weights."""
    if spec.spike_counts is not None:
        return max(1.0, spec.duration_ms / spec.dt_ms)
    if spec.rates_hz is not None:
        return 1000.0 / spec.dt_ms
    return 1.0


def build_hypergraph(spec, legal, weights=None):
    """The hypergraph of ``legal``'s units (see the module docstring)."""
    n_units = legal.n_units
    if weights is None:
        weights = source_weights(spec)
    weights = np.asarray(weights, dtype=float)
    if len(weights) < legal.n_sources:   # partial-sum links: at most one message per step
        weights = legal.per_source(weights, cap=_link_cap(spec, weights))
    base = max(n_units, 1)
    read_key = legal.pair_src * base + legal.pair_unit           # distinct already
    has_target = np.zeros(legal.n_sources, dtype=bool)
    has_target[legal.pair_src] = True
    roots = np.flatnonzero(has_target & (legal.root_unit >= 0))
    root_key = roots * base + legal.root_unit[roots]
    key = np.concatenate([read_key, root_key])
    reads = np.concatenate([np.ones(len(read_key), bool), np.zeros(len(root_key), bool)])
    order = np.argsort(key, kind="stable")
    key, reads = key[order], reads[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    # a root that also reads its own source: keep the reading pin (it sorts first)
    key, reads = key[first], reads[first]
    pin_source = key // base
    pin_unit = key % base
    edge_start = np.flatnonzero(np.concatenate([[True], pin_source[1:] != pin_source[:-1]])) \
        if len(key) else np.zeros(0, dtype=np.int64)
    edge_source = pin_source[edge_start]
    edge_ptr = np.concatenate([edge_start, [len(key)]]).astype(np.int64)
    pin_edge = np.repeat(np.arange(len(edge_source), dtype=np.int64), np.diff(edge_ptr))
    fan_in = np.bincount(pin_unit[reads], minlength=n_units).astype(np.int64)
    return Hypergraph(n_units=n_units, edge_source=edge_source,
                      edge_weight=np.asarray(weights, dtype=float)[edge_source],
                      edge_root=legal.root_unit[edge_source], edge_ptr=edge_ptr,
                      pin_edge=pin_edge, pin_unit=pin_unit, pin_reads=reads,
                      unit_synapses=np.asarray(legal.unit_synapses, dtype=np.int64),
                      unit_fan_in=fan_in)


def connectivity(hg, part, n_parts):
    """Distinct (edge, part) pairs of the pins: sorted keys ``edge * n_parts + part`` and
    the number of pins behind each key."""
    key = hg.pin_edge * n_parts + part[hg.pin_unit]
    key = np.sort(key)
    if not len(key):
        return key, np.zeros(0, dtype=np.int64)
    start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    counts = np.diff(np.concatenate([start, [len(key)]]))
    return key[start], counts


def km1(hg, part, n_parts, weights=None):
    """The weighted connectivity-minus-one cut of ``part`` (see the module docstring)."""
    keys, _ = connectivity(hg, part, n_parts)
    lam = np.bincount(keys // max(n_parts, 1), minlength=hg.n_edges)
    w = hg.edge_weight if weights is None else weights
    return float(np.dot(w, np.maximum(lam - 1, 0)))


def expand_to_graph(hg, max_clique=12, ring=3, chunk=1 << 20):
    """An ordinary weighted graph over units whose edge cut approximates the hypergraph's
    KM1 cut: a hyperedge of m <= ``max_clique`` pins becomes a clique with weights
    w / (m - 1); a larger one a ring over its pins (sorted by unit, which keeps
    neighbouring units of structured populations together) where each pin links to its
    next ``ring`` pins with weight w / (2 * ring), so that every pin keeps an incident
    weight of about w whatever the fan-out, and edges stay O(pins).

    Weights are integers >= 1 (what METIS takes): the median hyperedge's ring link
    weighs 64. Returns symmetric CSR ``(ptr, adjacent, weight)`` (int64, int32, int64)
    with duplicates summed and no loops.

    Memory: every link is one int64 holding (unit pair, weight), sorted in place, so the
    peak is about 9 bytes per link (3 links per pin of a large hyperedge) plus the CSR.
    """
    n = hg.n_units
    size = hg.edge_size
    w = hg.edge_weight
    small = (size >= 2) & (size <= max_clique)
    large = size > max_clique
    # a unit pair and its weight in one int64: pair key (a * n + b) above weight_bits
    pair_bits = max(1, int(n * n - 1).bit_length())
    weight_bits = min(20, 62 - pair_bits)
    if weight_bits < 8:
        raise MappingError(f"{n} units are too many for the graph expansion of the "
                           f"default mapper (at most about 3 x 10^6)")
    weight_max = (1 << weight_bits) - 1
    positive = w[(small | large) & (w > 0)]
    scale = 64.0 * 2 * ring / float(np.median(positive)) if len(positive) else 1.0
    n_links = int((size[small] * (size[small] - 1) // 2).sum() + ring * size[large].sum())
    # pieces of at most an eighth of the links: a small graph's temporaries stay small too
    chunk = max(1, min(chunk, max(1 << 12, n_links // 8)))
    packed = np.empty(n_links, dtype=np.int64)
    filled = 0

    def put(a, b, link_weight):
        nonlocal filled
        low, high = np.minimum(a, b), np.maximum(a, b)
        q = np.clip(np.rint(link_weight * scale), 1, weight_max).astype(np.int64)
        key = (low * n + high) << weight_bits | q
        key[low == high] = np.iinfo(np.int64).max       # loops sort last and are dropped
        packed[filled:filled + len(key)] = key
        filled += len(key)

    for m in np.unique(size[small]):
        edges = np.flatnonzero(size == m)
        i, j = np.triu_indices(m, 1)
        for part in range(0, len(edges), max(1, chunk // (m * m))):
            batch = edges[part:part + max(1, chunk // (m * m))]
            pins = hg.pin_unit[hg.edge_ptr[batch][:, None] + np.arange(m)]
            put(pins[:, i].ravel(), pins[:, j].ravel(), np.repeat(w[batch] / (m - 1), len(i)))
    large_edges = np.flatnonzero(large)
    # groups of whole hyperedges of about ``chunk`` pins
    cumulative = np.cumsum(size[large_edges])
    stops = np.searchsorted(cumulative, np.arange(chunk, cumulative[-1] if len(cumulative) else 0, chunk),
                            side="right")
    start = 0
    for stop in np.unique(np.append(stops, len(large_edges))):
        edges = large_edges[start:stop]
        start = stop
        if not len(edges):
            continue
        m = size[edges]
        pin = _ranges(hg.edge_ptr[edges], m)
        pin_start = np.repeat(hg.edge_ptr[edges], m)
        pin_m = np.repeat(m, m)
        link_weight = np.repeat(w[edges], m) / (2 * ring)
        for d in range(1, ring + 1):
            put(hg.pin_unit[pin], hg.pin_unit[pin_start + (pin - pin_start + d) % pin_m], link_weight)
    packed.sort()
    packed = packed[:np.searchsorted(packed, np.iinfo(np.int64).max)]
    # distinct pairs and their summed weights, without a second array of keys
    new_pair = np.ones(len(packed), dtype=bool)
    for first in range(1, len(packed), chunk):
        last = min(len(packed), first + chunk)
        new_pair[first:last] = (packed[first:last] >> weight_bits) != (packed[first - 1:last - 1] >> weight_bits)
    starts = np.flatnonzero(new_pair)
    del new_pair
    pair = packed[starts]
    pair >>= weight_bits
    packed &= weight_max
    weight = np.add.reduceat(packed, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    del packed, starts
    # the CSR is filled in smaller pieces: each holds several index arrays per pair
    return _symmetric_csr(pair, weight, n, max(1, min(chunk, max(1 << 12, len(pair) // 32))))


def _symmetric_csr(pair, weight, n, chunk):
    """Symmetric CSR ``(ptr, adjacent, weight)`` (all int64, the type METIS takes without a
    copy) of the edges ``pair = low * n + high`` (sorted, distinct, low < high). Row r
    lists its pairs with low = r (by increasing high), then those with high = r (by
    increasing low). Filled ``chunk`` pairs at a time, so that the peak is the CSR and
    its inputs, not several index arrays per edge."""
    low_count = np.zeros(n, dtype=np.int64)
    high_count = np.zeros(n, dtype=np.int64)
    for first in range(0, len(pair), chunk):
        block = pair[first:first + chunk]
        low_count += np.bincount(block // n, minlength=n)
        high_count += np.bincount(block % n, minlength=n)
    ptr = np.concatenate([[0], np.cumsum(low_count + high_count)]).astype(np.int64)
    adjacent = np.empty(int(ptr[-1]), dtype=np.int64)
    adjacent_weight = np.empty(int(ptr[-1]), dtype=np.int64)
    first_of_low = np.concatenate([[0], np.cumsum(low_count)[:-1]])   # pairs are sorted by low
    next_high = ptr[:-1] + low_count       # next place of each row's "high = r" part
    del low_count, high_count
    for first in range(0, len(pair), chunk):
        block = pair[first:first + chunk]
        block_weight = weight[first:first + chunk]
        low = block // n
        high = block - low * n
        position = ptr[low] + (np.arange(first, first + len(block)) - first_of_low[low])
        adjacent[position] = high
        adjacent_weight[position] = block_weight
        # the same pairs from their high end, in pair order within a row (a stable sort)
        order = np.argsort(high, kind="stable")
        high = high[order]
        position = next_high[high] + np.arange(len(high)) - np.searchsorted(high, high)
        adjacent[position] = low[order]
        adjacent_weight[position] = block_weight[order]
        next_high += np.bincount(high, minlength=n)
    return ptr, adjacent, adjacent_weight


def _ranges(starts, lengths):
    """Concatenation of ``arange(s, s + l)`` for every (s, l), without a Python loop."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + np.arange(total) - offsets
