"""Placement of cores on the chip mesh.

Geometry. Core c on chip ``chip`` takes slot ``slot`` (0 .. cores_per_chip - 1), which
belongs to router ``slot // cores_per_router`` at (``router % cols``, ``router // cols``)
of ``core_mesh``. Chips fill ``chip_mesh`` row-major. Routers are addressed by global mesh
coordinates: x = chip_x * core_cols + router_x, and likewise for y. The host input port
sits at router (0, 0).

Modes (``compile(..., placement=...)``):

- ``row_major``: core c in slot c (chip by chip, slot by slot); the ``slice`` mapper's default.
- ``greedy``: the core-level traffic graph (core a -> core b weighted by the spikes of a's
  neurons that b reads; the host port is a fixed node at (0, 0)) in breadth-first order
  from the core with most host input (else the busiest core), neighbours by decreasing
  traffic, onto slots ordered by distance from the host port.
- ``anneal`` (default of the connectivity-aware mappers): the better of the two starts,
  then simulated annealing over batches of disjoint slot swaps (a core with another core
  or with an empty slot of the used chips), proposals within a radius that shrinks over
  the rounds, evaluated in parallel on the proxy cost sum of traffic x Manhattan distance.
  The seed is fixed and the number of rounds depends only on the sizes, so it is
  deterministic; the rounds are bounded so that the phase stays near a second.

Every mode except ``row_major`` returns whichever of its candidates has the lowest exact
cost: sum over sources of spikes x XY multicast tree links (the model of
:mod:`.routing`). The candidates are row-major, the greedy start, the annealed placement
(``anneal`` only) and the cores in their own order laid over the used chips' slots in two
more shapes: by mesh rows (a band as wide as the used chips, as flat as they allow) and
by mesh columns (vertical stripes). Those two exist for multicast trees, which the
pairwise proxy does not see: an XY tree costs its row span plus a column span per target
column, so a source reaching many random cores costs less on a wide, flat band (Brunel
fan-in 100 on TrueNorth: 0.87x row-major), and units that read the same source range
(fan-in unrolling numbers units rank-major, so consecutive cores read similar sources)
cost less as vertical stripes, where a source's targets share few columns. So no mode is
worse than row-major on that measure. Chips used are always ceil(cores / cores_per_chip).
"""
from dataclasses import dataclass

import numpy as np

from ._arrays import sorted_unique
from .errors import MappingError

PLACEMENTS = ("row_major", "greedy", "anneal")
ANNEAL_WORK = 3e7        # swap-evaluation entries per placement (bounds its time)
EXACT_COST_EVERY = 4     # annealing rounds between exact proxy costs


@dataclass
class Placement:
    """Per core: chip, slot within the chip, global router coordinates (x, y)."""
    core_chip: np.ndarray
    core_slot: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    mesh_cols: int
    mesh_rows: int

    @property
    def chips_used(self):
        return int(self.core_chip.max()) + 1 if len(self.core_chip) else 0


def _check_fits(n_cores, profile):
    if n_cores > profile.max_cores:
        chips_needed = -(-n_cores // profile.cores_per_chip)
        raise MappingError(
            f"the network needs {n_cores} cores ({chips_needed} chips of "
            f"{profile.cores_per_chip}) but profile {profile.name!r} has max_chips = "
            f"{profile.max_chips} x {profile.cores_per_chip} cores = {profile.max_cores} "
            f"cores: {n_cores - profile.max_cores} cores too many")


def _slot_positions(global_slot, profile):
    chip = global_slot // profile.cores_per_chip
    slot = global_slot % profile.cores_per_chip
    router = slot // profile.cores_per_router
    cols, rows = profile.core_mesh
    chip_cols = profile.chip_mesh[0]
    x = (chip % chip_cols) * cols + router % cols
    y = (chip // chip_cols) * rows + router // cols
    return chip, slot, x, y


def _placement(core_slot, profile):
    chip, slot, x, y = _slot_positions(np.asarray(core_slot, dtype=np.int64), profile)
    cols, rows = profile.core_mesh
    chip_cols, chip_rows = profile.chip_mesh
    return Placement(core_chip=chip, core_slot=slot, core_x=x, core_y=y,
                     mesh_cols=chip_cols * cols, mesh_rows=chip_rows * rows)


def place_in_order(n_cores, profile):
    """Row-major placement of ``n_cores`` cores; ``MappingError`` when they exceed the chips."""
    _check_fits(n_cores, profile)
    return _placement(np.arange(n_cores, dtype=np.int64), profile)


def place_on_mesh(n_cores, profile, legal, unit_core, source_weight, mode="anneal", seed=0):
    """Place cores by ``mode`` (see the module docstring); ``source_weight`` gives the
    spikes (or rate, or 1) of every neuron."""
    if mode not in PLACEMENTS:
        raise ValueError(f"placement = {mode!r} is not a placement; choose one of {', '.join(PLACEMENTS)}")
    _check_fits(n_cores, profile)
    row_major = np.arange(n_cores, dtype=np.int64)
    if mode == "row_major" or n_cores <= 1:
        return _placement(row_major, profile)
    traffic = _Traffic(n_cores, legal, unit_core, source_weight)
    n_slots = -(-n_cores // profile.cores_per_chip) * profile.cores_per_chip
    _, _, slot_x, slot_y = _slot_positions(np.arange(n_slots, dtype=np.int64), profile)
    candidates = [row_major, _greedy(traffic, slot_x, slot_y)]
    if mode == "anneal":
        start = min(candidates, key=lambda c: traffic.proxy_cost(slot_x[c], slot_y[c]))
        candidates.append(_anneal(traffic, start, slot_x, slot_y, n_slots, profile, seed))
    every_slot = np.arange(n_slots, dtype=np.int64)
    for minor, major in ((slot_x, slot_y), (slot_y, slot_x)):   # by rows, then by columns
        candidates.append(np.lexsort((every_slot, minor, major))[:n_cores])
    costs = [traffic.tree_cost(slot_x[c], slot_y[c]) for c in candidates]
    return _placement(candidates[int(np.argmin(costs))], profile)


class _Traffic:
    """Spikes between cores: every source's routes (its emitting core or the host, and
    its distinct target cores), and the symmetric core graph in CSR form for the proxy
    cost. Routes are grouped by source; core ids are held as int32."""

    def __init__(self, n_cores, legal, unit_core, source_weight):
        self.n_cores = n_cores
        key = legal.pair_src * n_cores
        key += unit_core[legal.pair_unit]
        key.sort()
        key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key
        route_source = key // n_cores
        self.target = (key % n_cores).astype(np.int32)
        del key
        self.first = np.flatnonzero(np.concatenate([[True], route_source[1:] != route_source[:-1]])) \
            if len(route_source) else np.zeros(0, dtype=np.int64)
        source = route_source[self.first]
        del route_source
        self.n_routes = np.diff(np.append(self.first, len(self.target)))
        root = legal.root_unit[source]
        self.source_core = np.where(root >= 0, unit_core[np.maximum(root, 0)], -1).astype(np.int32)
        self.weight = np.asarray(source_weight, dtype=float)[source]
        route_core = np.repeat(self.source_core, self.n_routes)
        route_weight = np.repeat(self.weight, self.n_routes)
        host = route_core < 0
        self.host = np.bincount(self.target[host], weights=route_weight[host], minlength=n_cores)
        inner = ~host & (route_core != self.target)
        del host
        a, b, w = route_core[inner].astype(np.int64), self.target[inner].astype(np.int64), route_weight[inner]
        del route_core, route_weight, inner
        self._core_graph(a, b, w)

    def _core_graph(self, a, b, w):
        n = self.n_cores
        if n * n <= 2 * len(a):       # dense traffic: sum in an n x n table
            table = np.bincount(a * n + b, weights=w, minlength=n * n).reshape(n, n)
            table += table.T
            self.graph_row, self.graph_col = (i.astype(np.int64) for i in np.nonzero(table))
            self.graph_weight = table[self.graph_row, self.graph_col]
        else:
            # each unordered pair once (a != b here), summed, then both directions: half
            # the index arrays of sorting both directions of every route
            pair = np.minimum(a, b) * n + np.maximum(a, b)
            order = np.argsort(pair)
            pair, w = pair[order], w[order]
            del order
            starts = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]])) if len(pair) \
                else np.zeros(0, dtype=np.int64)
            weight = np.add.reduceat(w, starts) if len(starts) else np.zeros(0)
            pair = pair[starts]
            del w, starts
            row = np.concatenate([pair // n, pair % n])
            col = np.concatenate([pair % n, pair // n])
            del pair
            order = np.lexsort((col, row))
            self.graph_row, self.graph_col = row[order], col[order]
            self.graph_weight = np.concatenate([weight, weight])[order]
        self.graph_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.graph_row, minlength=n))])

    def proxy_cost(self, x, y):
        d = np.abs(x[self.graph_row] - x[self.graph_col]) + np.abs(y[self.graph_row] - y[self.graph_col])
        return 0.5 * float(np.dot(self.graph_weight, d)) + float(np.dot(self.host, x + y))

    def tree_cost(self, x, y, cells=1 << 22):
        """Spikes x XY multicast tree links, summed over sources (as routing.py counts).
        Column spans are the extremes of y in a (source, column) table, filled for
        blocks of sources of at most ``cells`` cells."""
        if not len(self.first):
            return 0.0
        on_core = self.source_core >= 0
        sx = np.where(on_core, x[np.maximum(self.source_core, 0)], 0)
        sy = np.where(on_core, y[np.maximum(self.source_core, 0)], 0)
        tx, ty = x[self.target], y[self.target]
        links = (np.maximum(np.maximum.reduceat(tx, self.first), sx)
                 - np.minimum(np.minimum.reduceat(tx, self.first), sx)).astype(float)
        cols = int(x.max()) + 1
        block = max(1, cells // cols)
        stops = np.append(self.first, len(tx))
        for start in range(0, len(self.first), block):
            stop = min(start + block, len(self.first))
            routes = slice(stops[start], stops[stop])
            cell = (np.repeat(np.arange(stop - start), self.n_routes[start:stop]) * cols + tx[routes])
            low = np.full((stop - start) * cols, np.iinfo(np.int32).max, dtype=np.int64)
            high = np.full((stop - start) * cols, -1, dtype=np.int64)
            np.minimum.at(low, cell, ty[routes])
            np.maximum.at(high, cell, ty[routes])
            used = high >= 0
            source_y = np.repeat(sy[start:stop], cols)[used]
            span = np.maximum(high[used], source_y) - np.minimum(low[used], source_y)
            links[start:stop] += np.bincount(np.flatnonzero(used) // cols, weights=span,
                                             minlength=stop - start)
        return float(np.dot(self.weight, links))


def _greedy(traffic, slot_x, slot_y):
    """Breadth-first order of the core graph onto slots sorted by distance from (0, 0)."""
    n = traffic.n_cores
    ptr, col, weight = traffic.graph_ptr, traffic.graph_col, traffic.graph_weight
    by_weight = np.lexsort((-weight, traffic.graph_row))
    col = col[by_weight]
    degree = np.diff(ptr)
    strength = np.bincount(traffic.graph_row, weights=weight, minlength=n)
    first = int(np.argmax(traffic.host)) if traffic.host.any() else int(np.argmax(strength))
    visited = np.zeros(n, dtype=bool)
    order = []
    queue_starts = [first] + np.argsort(-strength, kind="stable").tolist()
    for start in queue_starts:
        if visited[start]:
            continue
        visited[start] = True
        frontier = np.array([start], dtype=np.int64)
        while len(frontier):
            order.append(frontier)
            lengths = degree[frontier]
            offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
            neighbours = col[np.repeat(ptr[frontier], lengths) + np.arange(int(lengths.sum())) - offsets]
            neighbours = neighbours[~visited[neighbours]]
            if not len(neighbours):
                break
            _, first_seen = np.unique(neighbours, return_index=True)
            frontier = neighbours[np.sort(first_seen)]
            visited[frontier] = True
        if visited.all():
            break
    order = np.concatenate(order)
    slots = np.lexsort((np.arange(len(slot_x)), np.maximum(slot_x, slot_y), slot_x + slot_y))
    core_slot = np.empty(n, dtype=np.int64)
    core_slot[order] = slots[:n]
    return core_slot


def _anneal(traffic, core_slot, slot_x, slot_y, n_slots, profile, seed):
    n = traffic.n_cores
    rng = np.random.default_rng(seed)
    core_slot = core_slot.copy()
    slot_core = np.full(n_slots, -1, dtype=np.int64)
    slot_core[core_slot] = np.arange(n)
    ptr, col, weight = traffic.graph_ptr, traffic.graph_col, traffic.graph_weight
    degree = np.diff(ptr)
    batch = max(1, n_slots // 2)
    per_round = 2 * batch + 2 * len(col) * batch / max(n, 1)
    rounds = int(np.clip(ANNEAL_WORK / max(per_round, 1.0), 10, 300))
    extent = int(max(slot_x.max(), slot_y.max()))
    best = core_slot.copy()
    best_cost = current = traffic.proxy_cost(slot_x[core_slot], slot_y[core_slot])
    temperature = None
    for r in range(rounds):
        radius = max(1, int(round(extent * (1 - r / rounds))))
        i = rng.permutation(n_slots)[:batch]
        # partner: a slot of a router within ``radius`` (by x and y offset), any core of it
        dx = rng.integers(-radius, radius + 1, len(i))
        dy = rng.integers(-radius, radius + 1, len(i))
        j = _slot_at(slot_x[i] + dx, slot_y[i] + dy, rng.integers(0, profile.cores_per_router, len(i)),
                     profile, n_slots)
        ok = (j >= 0) & (j != i)
        i, j = i[ok], j[ok]
        a, b = slot_core[i], slot_core[j]
        ok = (a >= 0) | (b >= 0)
        i, j, a, b = i[ok], j[ok], a[ok], b[ok]
        if not len(i):
            continue
        # disjoint pairs only: the first proposal touching a slot wins
        ends = np.concatenate([i, j])
        _, first = np.unique(ends, return_index=True)
        owner = np.full(n_slots, -1, dtype=np.int64)
        owner[ends[first]] = first % len(i)
        keep = (owner[i] == np.arange(len(i))) & (owner[j] == np.arange(len(i)))
        i, j, a, b = i[keep], j[keep], a[keep], b[keep]
        if not len(i):
            continue
        delta = (_move_delta(a, i, j, b, ptr, col, weight, degree, core_slot, slot_x, slot_y, traffic.host)
                 + _move_delta(b, j, i, a, ptr, col, weight, degree, core_slot, slot_x, slot_y, traffic.host))
        if temperature is None:
            nonzero = np.abs(delta[delta != 0])
            temperature = 0.3 * float(np.median(nonzero)) if len(nonzero) else 0.0
        t = temperature * (0.001 ** (r / rounds)) if r < rounds - rounds // 10 else 0.0
        if t > 0:
            accept = (delta < 0) | (rng.random(len(delta)) < np.exp(-np.maximum(delta, 0) / t))
        else:
            accept = delta < 0
        i, j, a, b = i[accept], j[accept], a[accept], b[accept]
        slot_core[i], slot_core[j] = b, a
        core_slot[a[a >= 0]] = j[a >= 0]
        core_slot[b[b >= 0]] = i[b >= 0]
        # the exact cost only every few rounds (it walks the whole core graph): swaps of
        # neighbouring cores make the summed deltas slightly off in between
        if r % EXACT_COST_EVERY == 0 or r == rounds - 1:
            current = traffic.proxy_cost(slot_x[core_slot], slot_y[core_slot])
            if current < best_cost:
                best, best_cost = core_slot.copy(), current
    return best


def _slot_at(x, y, sub, profile, n_slots):
    """Global slot of core ``sub`` of the router at mesh (x, y); -1 when that is outside
    the used slots."""
    cols, rows = profile.core_mesh
    chip_cols, chip_rows = profile.chip_mesh
    inside = (x >= 0) & (y >= 0) & (x < chip_cols * cols) & (y < chip_rows * rows)
    chip = (y // rows) * chip_cols + x // cols
    router = (y % rows) * cols + x % cols
    slot_in_chip = router * profile.cores_per_router + sub
    slot = chip * profile.cores_per_chip + slot_in_chip
    valid = inside & (slot_in_chip < profile.cores_per_chip) & (slot < n_slots)
    return np.where(valid, slot, -1)


def _move_delta(core, from_slot, to_slot, other, ptr, col, weight, degree, core_slot, slot_x, slot_y, host):
    """Proxy-cost change when each ``core`` (-1: none) moves from ``from_slot`` to
    ``to_slot`` while ``other`` moves the opposite way (the link between the two keeps
    its length, so it is left out)."""
    delta = np.zeros(len(core))
    present = core >= 0
    if not present.any():
        return delta
    idx = np.flatnonzero(present)
    c = core[idx]
    lengths = degree[c]
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    entry = np.repeat(ptr[c], lengths) + np.arange(int(lengths.sum())) - offsets
    which = np.repeat(idx, lengths)
    neighbour = col[entry]
    nx, ny = slot_x[core_slot[neighbour]], slot_y[core_slot[neighbour]]
    fx, fy = slot_x[from_slot[which]], slot_y[from_slot[which]]
    tx, ty = slot_x[to_slot[which]], slot_y[to_slot[which]]
    change = (np.abs(tx - nx) + np.abs(ty - ny)) - (np.abs(fx - nx) + np.abs(fy - ny))
    change = np.where(neighbour == other[which], 0.0, change)
    delta += np.bincount(which, weights=weight[entry] * change, minlength=len(core))
    delta[idx] += host[c] * ((slot_x[to_slot[idx]] + slot_y[to_slot[idx]])
                             - (slot_x[from_slot[idx]] + slot_y[from_slot[idx]]))
    return delta
