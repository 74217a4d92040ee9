"""Routing tables of table-based routers (SpiNNaker-like), with key/mask compression.

A packet carries the key of its source. Keys are allocated in blocks, as PACMAN does: one
block per core (the source units on it, in their order on the core: a neuron's key is the
position of its root unit, a partial-sum link's that of its child unit) and one per
host-injected population (the neuron's index in it). A table entry (key, mask, outputs)
matches the keys k with k & mask == key; its outputs are a set of the four mesh directions
and of the router's local cores.

Entries a router needs (for each source whose XY multicast tree passes through it):
none where the packet only goes straight on (a router forwards an unmatched packet to the
link opposite the one it came in on: *default routing*), otherwise one per source with
the set of outputs it needs there. Compression: the sources of one key block that need
the same outputs at a router share entries; their key indices are covered exactly by
aligned power-of-two blocks (one entry each, no key over-covered), the fewest such blocks
per run of consecutive indices. SpiNNaker's ordered-covering compressor can do better by
letting entries overlap in priority order; this count is an upper bound of what it needs.

Direction bits: +x (east) 1, -x (west) 2, +y (south) 4, -y (north) 8; local core slot s of
the router: bit 4 + s.
"""
from dataclasses import dataclass

import numpy as np

EAST, WEST, SOUTH, NORTH = 1, 2, 4, 8
LOCAL_SHIFT = 4


@dataclass
class RoutingTables:
    """Compressed entries of every router (arrays over entries, sorted by router)."""
    router: np.ndarray      # y * mesh_cols + x
    block: np.ndarray       # key block: core, or n_cores + population for host sources
    start: np.ndarray       # first key index of the entry's aligned block
    size: np.ndarray        # 2 ** (bits masked off)
    outputs: np.ndarray     # direction and local-core bits
    entries: np.ndarray     # (mesh_rows, mesh_cols): entries per router
    uncompressed: np.ndarray  # (mesh_rows, mesh_cols): entries without compression


def source_keys(spec, legal, unit_core, n_cores):
    """(block, index) of every source: its core and position on it, or its population."""
    n_sources = legal.n_sources
    block = np.empty(n_sources, dtype=np.int64)
    index = np.empty(n_sources, dtype=np.int64)
    emitter = legal.root_unit
    on_core = emitter >= 0
    # position of each unit on its core, in unit order
    order = np.argsort(unit_core, kind="stable")
    position = np.empty(len(unit_core), dtype=np.int64)
    core_start = np.searchsorted(unit_core[order], np.arange(n_cores))
    position[order] = np.arange(len(unit_core)) - core_start[unit_core[order]]
    block[on_core] = unit_core[emitter[on_core]]
    index[on_core] = position[emitter[on_core]]
    host = np.flatnonzero(~on_core)
    population = spec.population_of(host)
    block[host] = n_cores + population
    index[host] = host - spec.offsets[population]
    return block, index


def tree_steps(routes, placement, profile, unit_core):
    """Every (source, router) of every multicast tree with the outputs used there and
    whether the packet arrives there from a link (not from a local core or the host).
    Returns (source position in ``routes.source``, router, outputs, from_link, straight)
    where ``straight`` is the direction bit that continues the arrival link."""
    cols = placement.mesh_cols
    sx, sy = routes.source_x, routes.source_y
    # row routers: x in [row_xmin, row_xmax] at the source's row
    span = routes.row_xmax - routes.row_xmin + 1
    row_src = np.repeat(np.arange(len(routes.source)), span)
    row_x = routes.row_xmin[row_src] + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
    row_y = sy[row_src]
    out = np.where((row_x >= sx[row_src]) & (row_x < routes.row_xmax[row_src]), EAST, 0) \
        | np.where((row_x <= sx[row_src]) & (row_x > routes.row_xmin[row_src]), WEST, 0)
    row_straight = np.where(row_x > sx[row_src], EAST, np.where(row_x < sx[row_src], WEST, 0))
    # column turns at the row routers
    col_src = routes.column_source
    turn_key = col_src * cols + routes.column_x
    row_key = row_src * cols + row_x
    where = np.searchsorted(row_key, turn_key)   # row_key is sorted (by source, then x)
    out[where] |= np.where(routes.column_ymax > sy[col_src], SOUTH, 0) \
        | np.where(routes.column_ymin < sy[col_src], NORTH, 0)
    # column routers off the source's row
    length = routes.column_ymax - routes.column_ymin + 1
    c_src = np.repeat(col_src, length)
    c_seg = np.repeat(np.arange(len(col_src)), length)
    c_y = routes.column_ymin[c_seg] + (np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length))
    off_row = c_y != sy[c_src]
    c_src, c_seg, c_y = c_src[off_row], c_seg[off_row], c_y[off_row]
    c_x = routes.column_x[c_seg]
    c_out = np.where((c_y > sy[c_src]) & (c_y < routes.column_ymax[c_seg]), SOUTH, 0) \
        | np.where((c_y < sy[c_src]) & (c_y > routes.column_ymin[c_seg]), NORTH, 0)
    c_straight = np.where(c_y > sy[c_src], SOUTH, NORTH)

    src = np.concatenate([row_src, c_src])
    router = np.concatenate([row_y * cols + row_x, c_y * cols + c_x])
    outputs = np.concatenate([out, c_out]).astype(np.int64)
    straight = np.concatenate([row_straight, c_straight]).astype(np.int64)
    # the first router takes the packet from a local core, or from the host link at (0, 0)
    from_link = np.concatenate([row_x != sx[row_src], np.ones(len(c_src), dtype=bool)])
    # local deliveries: the target cores on each router
    t_src = np.repeat(np.arange(len(routes.source)), routes.n_targets)
    t_core = routes.target_core
    t_router = placement.core_y[t_core] * cols + placement.core_x[t_core]
    t_bit = np.left_shift(1, LOCAL_SHIFT + placement.core_slot[t_core] % profile.cores_per_router)
    order = np.lexsort((router, src))
    src, router, outputs, straight, from_link = (a[order] for a in (src, router, outputs, straight, from_link))
    position = np.searchsorted(src * (cols * placement.mesh_rows) + router,
                               t_src * (cols * placement.mesh_rows) + t_router)
    np.bitwise_or.at(outputs, position, t_bit)
    return src, router, outputs, from_link, straight


def routing_tables(spec, legal, unit_core, placement, profile, routes):
    """The compressed tables of every router (see the module docstring)."""
    n_cores = len(placement.core_x)
    rows, cols = placement.mesh_rows, placement.mesh_cols
    src, router, outputs, from_link, straight = tree_steps(routes, placement, profile, unit_core)
    needed = ~(from_link & (outputs == straight))
    uncompressed = np.bincount(router, minlength=rows * cols).reshape(rows, cols)
    block, index = source_keys(spec, legal, unit_core, n_cores)
    src, router, outputs = src[needed], router[needed], outputs[needed]
    key_block = block[routes.source[src]]
    key_index = index[routes.source[src]]
    order = np.lexsort((key_index, outputs, key_block, router))
    router, outputs, key_block, key_index = (a[order] for a in (router, outputs, key_block, key_index))
    # runs of consecutive indices within one (router, block, outputs) group
    n = len(router)
    new_run = np.ones(n, dtype=bool)
    if n:
        new_run[1:] = ((router[1:] != router[:-1]) | (key_block[1:] != key_block[:-1])
                       | (outputs[1:] != outputs[:-1]) | (key_index[1:] != key_index[:-1] + 1))
    first = np.flatnonzero(new_run)
    last = np.append(first[1:], n)[:len(first)] - 1
    starts, sizes, which = aligned_blocks(key_index[first], key_index[last])
    run = first[which]
    entries = np.bincount(router[run], minlength=rows * cols).reshape(rows, cols)
    return RoutingTables(router=router[run], block=key_block[run], start=starts, size=sizes,
                         outputs=outputs[run], entries=entries, uncompressed=uncompressed)


def aligned_blocks(low, high):
    """Cover each interval [low, high] of integers exactly by the fewest aligned
    power-of-two blocks. Returns (start, size, interval) per block."""
    low = np.asarray(low, dtype=np.int64).copy()
    high = np.asarray(high, dtype=np.int64)
    interval = np.arange(len(low))
    starts, sizes, which = [], [], []
    while len(low):
        remaining = high - low + 1
        # the largest power of two dividing low (any, for low == 0) and fitting the rest
        alignment = np.where(low == 0, np.int64(1) << 62, low & -low)
        fit = np.left_shift(np.int64(1), np.floor(np.log2(remaining)).astype(np.int64))
        size = np.minimum(alignment, fit)
        starts.append(low.copy())
        sizes.append(size)
        which.append(interval)
        low = low + size
        left = low <= high
        low, high, interval = low[left], high[left], interval[left]
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order_key = np.concatenate(which)
    start = np.concatenate(starts)
    order = np.lexsort((start, order_key))
    return start[order], np.concatenate(sizes)[order], order_key[order]
