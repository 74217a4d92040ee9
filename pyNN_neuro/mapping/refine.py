"""Making a partition of units into cores legal, and improving its hypergraph cut.

Shared by the ``default`` and ``quality`` mappers (never by the checker). Everything is
numpy over pin arrays; Python loops run over cores or rounds, never over synapses.

- :func:`core_loads`: per core neurons (units), distinct axons, synapses, output axons.
- :func:`chunk_in_order`: cut an ordering of units into consecutive cores, each as large as
  the limits allow (the fallback partition, and the splitting step of the repair).
- :func:`repair`: split every core over a limit until all are legal.
- :func:`merge_cores`: merge pairs of cores that share hyperedges when the union is legal.
- :func:`refine_moves`: rounds of parallel greedy moves of single units to the core that
  most reduces the KM1 cut, kept only when the exact cut drops and every core stays legal.

Output axons of a core are the (source neuron, target core) routes of the neurons whose
root unit it holds: a root unit carries lambda_read(e) of them, the number of cores that
read its source. A move changes other cores' output axons too, which is why each round
is verified exactly.
"""
import numpy as np

from .errors import MappingError
from .hypergraph import connectivity, km1, _ranges

MAX_REPAIR_ROUNDS = 50
MIN_ROUND_GAIN = 0.002     # a refinement round cutting less than 0.2% of the cut is idle
RELIEF_MARGIN = 0.02       # cores over the output-axon limit shed down to 2% below it


class Limits:
    """A profile's per-core limits (``inf`` when the profile sets none)."""

    def __init__(self, profile):
        self.neurons = profile.neurons_per_core
        self.axons = profile.axons_per_core
        self.synapses = profile.synapses_per_core
        self.output_axons = np.inf if profile.output_axons_per_core is None \
            else profile.output_axons_per_core


class UnitIndex:
    """Per-unit views of a hypergraph: reading pins grouped by unit, and pin weights."""

    def __init__(self, hg):
        reads = np.flatnonzero(hg.pin_reads)
        order = reads[np.argsort(hg.pin_unit[reads], kind="stable")]
        self.read_edge = hg.pin_edge[order]
        self.read_ptr = np.concatenate([[0], np.cumsum(hg.unit_fan_in)]).astype(np.int64)
        self.pin_weight = hg.edge_weight[hg.pin_edge]
        self.unit_weight = np.bincount(hg.pin_unit, weights=self.pin_weight, minlength=hg.n_units)
        self.root_edge = np.full(hg.n_units, -1, dtype=np.int64)
        has_root = hg.edge_root >= 0
        self.root_edge[hg.edge_root[has_root]] = np.flatnonzero(has_root)


def read_connectivity(hg, part, n_parts):
    """Sorted distinct keys ``edge * n_parts + core`` of the reading pins (one per axon)."""
    key = hg.pin_edge[hg.pin_reads] * n_parts + part[hg.pin_unit[hg.pin_reads]]
    key = np.sort(key)
    if len(key) > 1:
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    return key


def core_loads(hg, part, n_parts):
    """Per core: (neurons, axons, synapses, output_axons) as int64 arrays, and per edge
    lambda_read (cores reading its source)."""
    neurons = np.bincount(part, minlength=n_parts).astype(np.int64)
    synapses = np.bincount(part, weights=hg.unit_synapses, minlength=n_parts).astype(np.int64)
    rkey = read_connectivity(hg, part, n_parts)
    axons = np.bincount(rkey % max(n_parts, 1), minlength=n_parts).astype(np.int64)
    lam_read = np.bincount(rkey // max(n_parts, 1), minlength=hg.n_edges).astype(np.int64)
    has_root = hg.edge_root >= 0
    output = np.bincount(part[hg.edge_root[has_root]], weights=lam_read[has_root],
                         minlength=n_parts).astype(np.int64)
    return neurons, axons, synapses, output, lam_read


def over_limits(loads, limits):
    neurons, axons, synapses, output, _ = loads
    return ((neurons > limits.neurons) | (axons > limits.axons)
            | (synapses > limits.synapses) | (output > limits.output_axons))


def compact(part):
    """Renumber cores 0..n-1 in order of first appearance of their lowest unit; returns
    (part, n_cores)."""
    if not len(part):
        return part, 0
    used, first = np.unique(part, return_index=True)
    rank = np.empty(len(used), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(used))
    lookup = np.full(int(part.max()) + 1, -1, dtype=np.int64)
    lookup[used] = rank
    return lookup[part], len(used)


def chunk_in_order(hg, index, order, limits, unit_output, segment_start=None):
    """Cut the units ``order`` (a permutation or subset) into consecutive chunks, each
    the longest run that fits one core. A chunk never crosses a position where
    ``segment_start`` is True. Returns the chunk number of every position."""
    n = len(order)
    labels = np.empty(n, dtype=np.int64)
    if n == 0:
        return labels
    fan_in = hg.unit_fan_in[order]
    pair_ptr = np.concatenate([[0], np.cumsum(fan_in)]).astype(np.int64)
    pair_edge = index.read_edge[_ranges(index.read_ptr[order], fan_in)]
    # previous position of the same source in this ordering (-1 for its first)
    by_edge = np.lexsort((np.arange(len(pair_edge)), pair_edge))
    prev_sorted = np.full(len(pair_edge), -1, dtype=np.int64)
    if len(pair_edge) > 1:
        same = pair_edge[by_edge[1:]] == pair_edge[by_edge[:-1]]
        prev_sorted[1:][same] = by_edge[:-1][same]
    prev = np.empty(len(pair_edge), dtype=np.int64)
    prev[by_edge] = prev_sorted
    cum_synapses = np.concatenate([[0], np.cumsum(hg.unit_synapses[order])])
    cum_output = np.concatenate([[0], np.cumsum(unit_output[order])])
    if segment_start is None:
        segment_end = np.full(n, n, dtype=np.int64)
    else:
        starts = np.flatnonzero(segment_start)
        segment_end = np.concatenate([starts[1:], [n]])[np.searchsorted(starts, np.arange(n), side="right") - 1]
    position, chunk, last = 0, 0, 8
    while position < n:
        limit_end = min(position + limits.neurons, int(segment_end[position]))
        limit_end = min(limit_end, int(np.searchsorted(
            cum_synapses, cum_synapses[position] + limits.synapses, side="right")) - 1)
        if np.isfinite(limits.output_axons):
            limit_end = min(limit_end, int(np.searchsorted(
                cum_output, cum_output[position] + limits.output_axons, side="right")) - 1)
        limit_end = max(limit_end, position + 1)
        # look at a window about twice the last chunk first: cores are often far below
        # neurons_per_core when axons bind, and the count costs O(window pairs)
        end = min(limit_end, position + 2 * last + 8)
        while True:
            take = _axon_prefix(prev, pair_ptr, position, end, limits.axons)
            if take < end - position or end == limit_end:
                break
            end = min(limit_end, position + 4 * (end - position))
        take = max(take, 1)
        labels[position:position + take] = chunk
        chunk += 1
        position += take
        last = take
    return labels


def _axon_prefix(prev, pair_ptr, start, end, axon_limit):
    """Largest j <= end - start such that units start..start+j-1 read at most
    ``axon_limit`` distinct sources."""
    lo, hi = pair_ptr[start], pair_ptr[end]
    distinct = np.cumsum(prev[lo:hi] < lo)
    ends = pair_ptr[start + 1:end + 1] - lo
    axons = np.where(ends > 0, distinct[np.maximum(ends - 1, 0)] if len(distinct) else 0, 0)
    return int(np.searchsorted(axons, axon_limit, side="right"))


def unit_output_axons(hg, index, lam_read):
    """Output axons each unit brings to its core: lambda_read of the source it is root of."""
    out = np.zeros(hg.n_units, dtype=np.int64)
    roots = index.root_edge >= 0
    out[roots] = lam_read[index.root_edge[roots]]
    return out


def relieve_output_axons(hg, index, part, n_parts, limits, rounds=16):
    """Bring cores over the output-axon limit under it by moving their root units of
    most output axons into new cores (a split would instead raise the output axons of
    every core whose neurons the split core reads). Returns (part, n); cores may still
    be over after ``rounds`` (the caller repairs them)."""
    if not np.isfinite(limits.output_axons):
        return part, n_parts
    part = part.copy()
    for _ in range(rounds):
        loads = core_loads(hg, part, n_parts)
        if loads[3].max(initial=0) <= limits.output_axons:
            break
        # shed down to a little below the limit: the new cores raise the output axons of
        # every core whose neurons they read
        excess = loads[3] - np.floor(limits.output_axons * (1.0 - RELIEF_MARGIN))
        excess[loads[3] <= limits.output_axons] = 0
        units = np.flatnonzero((excess[part] > 0) & (index.root_edge >= 0))
        out = loads[4][index.root_edge[units]]
        units, out = _largest_first_per_core(units, out, part[units])
        core = part[units]
        before = np.cumsum(out) - out
        start = np.concatenate([[True], core[1:] != core[:-1]])
        before -= np.maximum.accumulate(np.where(start, before, 0))
        movers = units[before < excess[core]]
        labels = chunk_in_order(hg, index, movers, limits, unit_output_axons(hg, index, loads[4]))
        part[movers] = n_parts + labels
        n_parts += int(labels.max()) + 1
    return part, n_parts


def _largest_first_per_core(units, value, core):
    order = np.lexsort((-value, core))
    return units[order], value[order]


def repair(hg, index, part, n_parts, limits, rank=None):
    """Split every core over a limit into consecutive legal chunks of its units (in the
    order of ``rank``, default unit id) until every core is legal. Returns (part, n)."""
    part = part.copy()
    for _ in range(MAX_REPAIR_ROUNDS):
        loads = core_loads(hg, part, n_parts)
        over = over_limits(loads, limits)
        if not over.any():
            return part, n_parts
        alone = over & (loads[0] == 1)
        if alone.any():
            core = int(np.flatnonzero(alone)[0])
            raise MappingError(
                f"a neuron alone reaches {int(loads[3][core])} target cores, more than "
                f"output_axons_per_core = {limits.output_axons} (over by "
                f"{int(loads[3][core] - limits.output_axons)})")
        units = np.flatnonzero(over[part])
        key = rank[units] if rank is not None else units
        units = units[np.lexsort((key, part[units]))]
        cores = part[units]
        segment_start = np.concatenate([[True], cores[1:] != cores[:-1]])
        labels = chunk_in_order(hg, index, units, limits,
                                unit_output_axons(hg, index, loads[4]), segment_start)
        first_label = labels[segment_start]
        is_first = labels == np.repeat(first_label, np.diff(np.concatenate(
            [np.flatnonzero(segment_start), [len(units)]])))
        # every further chunk of an over-full core becomes a new core
        chunk_start = np.concatenate([[True], labels[1:] != labels[:-1]]) & ~is_first
        new_core = n_parts + np.cumsum(chunk_start) - 1
        part[units] = np.where(is_first, cores, new_core)
        n_parts = n_parts + int(chunk_start.sum())
    loads = core_loads(hg, part, n_parts)
    raise MappingError(f"could not make every core legal in {MAX_REPAIR_ROUNDS} repair rounds "
                       f"(max output axons {int(loads[3].max())}, output_axons_per_core = "
                       f"{limits.output_axons})")


def merge_cores(hg, part, n_parts, limits, max_lambda=16, passes=6):
    """Merge pairs of cores sharing hyperedges (heaviest shared weight first) whenever the
    union fits one core; returns (part, n). The union's axons are bounded from above
    (shared sources of hyperedges over ``max_lambda`` cores are not counted), so every
    merge is legal."""
    for _ in range(passes):
        if n_parts < 2:
            break
        neurons, axons, synapses, output, _ = core_loads(hg, part, n_parts)
        keys, _ = connectivity(hg, part, n_parts)
        gain_key, gain = _pairs_within_edges(keys, n_parts, hg.edge_weight, max_lambda)
        if not len(gain_key):
            break
        rkeys = read_connectivity(hg, part, n_parts)
        shared_key, shared = _pairs_within_edges(rkeys, n_parts, np.ones(hg.n_edges), max_lambda)
        a, b = gain_key // n_parts, gain_key % n_parts
        shared_axons = np.zeros(len(gain_key))
        found = np.searchsorted(shared_key, gain_key)
        ok = found < len(shared_key)
        ok[ok] = shared_key[found[ok]] == gain_key[ok]
        shared_axons[ok] = shared[found[ok]]
        fits = ((neurons[a] + neurons[b] <= limits.neurons)
                & (synapses[a] + synapses[b] <= limits.synapses)
                & (output[a] + output[b] <= limits.output_axons)
                & (axons[a] + axons[b] - shared_axons <= limits.axons))
        candidates = np.flatnonzero(fits & (gain > 0))
        if not len(candidates):
            break
        candidates = candidates[np.argsort(-gain[candidates], kind="stable")][:20 * n_parts]
        used = np.zeros(n_parts, dtype=bool)
        target = np.arange(n_parts)
        merged = 0
        for a_core, b_core in zip(a[candidates].tolist(), b[candidates].tolist()):
            if used[a_core] or used[b_core]:
                continue
            used[a_core] = used[b_core] = True
            target[b_core] = a_core
            merged += 1
        if not merged:
            break
        part, n_parts = compact(target[part])
    return part, n_parts


def _pairs_within_edges(keys, n_parts, edge_weight, max_lambda):
    """Sum of edge weights over every pair of cores (a < b) that one hyperedge touches
    (hyperedges touching 2..max_lambda cores); returns sorted pair keys a * n + b, sums."""
    edge = keys // n_parts
    core = keys % n_parts
    starts = np.flatnonzero(np.concatenate([[True], edge[1:] != edge[:-1]])) if len(edge) else \
        np.zeros(0, dtype=np.int64)
    lam = np.diff(np.concatenate([starts, [len(edge)]]))
    out_key, out_weight = [], []
    for m in range(2, max_lambda + 1):
        groups = starts[lam == m]
        if not len(groups):
            continue
        members = core[groups[:, None] + np.arange(m)]
        i, j = np.triu_indices(m, 1)
        out_key.append((members[:, i] * n_parts + members[:, j]).ravel())
        out_weight.append(np.repeat(edge_weight[edge[groups]], len(i)))
    if not out_key:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    key = np.concatenate(out_key)
    weight = np.concatenate(out_weight)
    order = np.argsort(key)
    key, weight = key[order], weight[order]
    start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    return key[start], np.add.reduceat(weight, start)


def refine_moves(hg, index, part, n_parts, limits, rounds=12, work_per_round=None):
    """Greedy KM1 refinement by parallel single-unit moves (see the module docstring).

    Each round computes, for every unit, the gain of moving it to each core its
    hyperedges touch (hyperedges over many cores are skipped when the work would exceed
    ``work_per_round`` entries: their gain is then under-estimated, never over-), keeps
    the best positive move per unit in one direction (cores a < b on even rounds, a > b
    on odd ones, so two units never swap places for nothing), admits moves per target
    core while its free neurons, synapses, axons (upper bound) and output axons last, and
    applies them. A round whose exact cut does not drop, or which breaks a limit, is
    retried with the better half of its moves. Two rounds in a row that cut less than
    ``MIN_ROUND_GAIN`` end it. Returns (part, n_cores) compacted."""
    if n_parts < 2 or hg.n_edges == 0:
        return compact(part)
    if work_per_round is None:
        work_per_round = max(1_000_000, len(hg.pin_unit))
    w = hg.edge_weight
    current = km1(hg, part, n_parts)
    idle_rounds = 0
    for round_number in range(rounds):
        moves = _best_moves(hg, index, part, n_parts, round_number % 2 == 0, work_per_round)
        if moves is None:
            break
        move_unit, move_core, move_gain = moves
        if not len(move_unit):
            idle_rounds += 1
            if idle_rounds >= 2:
                break
            continue
        loads = core_loads(hg, part, n_parts)
        admitted = _admit(hg, index, part, n_parts, limits, loads, move_unit, move_core, move_gain)
        improved = False
        for _ in range(5):
            if not len(admitted):
                break
            trial = part.copy()
            trial[move_unit[admitted]] = move_core[admitted]
            value = km1(hg, trial, n_parts)
            if value < current - 1e-9 * max(current, 1.0) and \
                    not over_limits(core_loads(hg, trial, n_parts), limits).any():
                # a round that gains little counts towards stopping: later rounds gain less
                improved = value < current * (1.0 - MIN_ROUND_GAIN)
                part, current = trial, value
                break
            admitted = admitted[:len(admitted) // 2]
        idle_rounds = 0 if improved else idle_rounds + 1
        if idle_rounds >= 2:
            break
    return compact(part)


def _best_moves(hg, index, part, n_parts, upward, work_per_round):
    """The best positive single-unit move of every unit in one direction (to a core of
    higher number when ``upward``): ``(unit, core, gain)`` arrays, or ``None`` when no
    hyperedge spans two cores. A function of its own so that its per-pin arrays are
    freed before the round verifies its moves."""
    keys, counts = connectivity(hg, part, n_parts)
    edge_of_key = keys // n_parts
    lam = np.bincount(edge_of_key, minlength=hg.n_edges)
    key_start = np.searchsorted(edge_of_key, np.arange(hg.n_edges))
    del edge_of_key
    pin_count = counts[np.searchsorted(keys, hg.pin_edge * n_parts + part[hg.pin_unit])]
    del counts
    single = np.bincount(hg.pin_unit, weights=index.pin_weight * (pin_count == 1),
                         minlength=hg.n_units)
    del pin_count
    # candidate (unit, core) entries from the pins' hyperedges
    pin_lam = lam[hg.pin_edge]
    max_lam = _largest_lambda_within(pin_lam, work_per_round)
    selected = np.flatnonzero((pin_lam >= 2) & (pin_lam <= max_lam))
    if not len(selected):
        return None
    repeat = pin_lam[selected]
    del pin_lam
    entry_pin = np.repeat(selected, repeat)
    entry_core = keys[_ranges(key_start[hg.pin_edge[selected]], repeat)] % n_parts
    del keys, selected, repeat
    entry_unit = hg.pin_unit[entry_pin]
    from_core = part[entry_unit]
    direction = (from_core < entry_core) if upward else (from_core > entry_core)
    del from_core
    entry_unit, entry_core, entry_pin = entry_unit[direction], entry_core[direction], entry_pin[direction]
    del direction
    if not len(entry_unit):
        return entry_unit, entry_core, np.zeros(0)
    key = entry_unit * n_parts + entry_core
    del entry_unit, entry_core
    order = np.argsort(key)
    key = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    conn = np.add.reduceat(index.pin_weight[entry_pin[order]], starts)
    del entry_pin, order
    cand_unit, cand_core = key[starts] // n_parts, key[starts] % n_parts
    del key, starts
    gain = single[cand_unit] - index.unit_weight[cand_unit] + conn
    best = np.lexsort((-gain, cand_unit))
    first = np.concatenate([[True], cand_unit[best][1:] != cand_unit[best][:-1]])
    best = best[first]
    move_unit, move_core, move_gain = cand_unit[best], cand_core[best], gain[best]
    positive = move_gain > 1e-9 * max(1.0, float(np.abs(move_gain).max()))
    return move_unit[positive], move_core[positive], move_gain[positive]


def _largest_lambda_within(pin_lam, budget):
    """Largest lambda L such that pins with 2 <= lambda <= L expand to at most ``budget``
    (unit, core) entries."""
    counts = np.bincount(pin_lam)
    work = np.cumsum(counts * np.arange(len(counts)))
    if len(work) < 3:
        return len(work)
    within = np.flatnonzero(work - work[1] <= budget)
    return int(within[-1]) if len(within) else 2


def _admit(hg, index, part, n_parts, limits, loads, move_unit, move_core, move_gain):
    """Indices of moves admitted per target core, best gains first, within its free
    capacity; sorted by decreasing gain."""
    neurons, axons, synapses, output, lam_read = loads
    fan_in = hg.unit_fan_in[move_unit]
    edges = index.read_edge[_ranges(index.read_ptr[move_unit], fan_in)]
    target = np.repeat(move_core, fan_in)
    rkeys = read_connectivity(hg, part, n_parts)
    probe = edges * n_parts + target
    found = np.searchsorted(rkeys, probe)
    present = np.zeros(len(probe), dtype=bool)
    inside = found < len(rkeys)
    present[inside] = rkeys[found[inside]] == probe[inside]
    shared = np.bincount(np.repeat(np.arange(len(move_unit)), fan_in), weights=present,
                         minlength=len(move_unit))
    new_axons = fan_in - shared
    unit_out = unit_output_axons(hg, index, lam_read)[move_unit]
    order = np.lexsort((-move_gain, move_core))
    core_sorted = move_core[order]
    group_start = np.concatenate([[True], core_sorted[1:] != core_sorted[:-1]])
    group_id = np.cumsum(group_start) - 1
    starts = np.flatnonzero(group_start)
    ok = np.ones(len(order), dtype=bool)
    for demand, free in ((np.ones(len(order)), limits.neurons - neurons),
                         (hg.unit_synapses[move_unit][order], limits.synapses - synapses),
                         (new_axons[order], limits.axons - axons),
                         (unit_out[order], limits.output_axons - output)):
        cumulative = np.cumsum(demand)
        within = cumulative - np.concatenate([[0], cumulative])[starts][group_id]
        ok &= within <= free[core_sorted]
    # admit only the prefix of each group that fits
    bad_before = np.cumsum(~ok)
    bad_before_group = np.concatenate([[0], bad_before])[starts][group_id]
    ok &= (bad_before - bad_before_group) == 0
    admitted = order[ok]
    return admitted[np.argsort(-move_gain[admitted], kind="stable")]
