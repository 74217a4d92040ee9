"""XY (dimension-order) multicast routing of every source's spikes to its target cores.

A spike from source s travels first along x in its own row, then along y in the column of
each target. The multicast tree of s is the union of these paths: along its row it spans
[min(x_s, x_t), max(x_s, x_t)] over all targets t, and in each target column c it spans
[min(y_s, y_t), max(y_s, y_t)] over the targets in that column. Its link count (the hops
one spike costs) is the row span plus the sum of the column spans.

Sources are neurons (their spikes leave the core of their root unit), host-injected
spike sources (they enter at the input port, router (0, 0)) and, in tree/chain unrolling,
partial-sum links (ids from ``n_neurons`` on; they leave the core of their child unit). A source's targets are the
distinct cores holding at least one of its synapses.

``Routes.router_entries`` counts, per router, the sources whose tree passes through it
(the table size without compression). For profiles whose routers keep tables, the
compiler builds the compressed tables (:mod:`.tables`: default routing, key/mask blocks)
and, if they still overflow, routes every core's sources together (``by_core``).
"""
from dataclasses import dataclass

import numpy as np

from ._arrays import sorted_unique


@dataclass
class Routes:
    """Routing of all sources that have targets.

    Per source (arrays indexed like ``source``, the global neuron index): ``source_core``
    (-1 for host input), ``source_x``, ``source_y``, ``n_targets``, ``copies`` (targets
    other than the source core), ``tree_hops`` (links per spike), ``path_hops_sum`` and
    ``path_hops_max`` (XY distance to each target), ``fan_out_synapses``.
    ``target_ptr``/``target_core``: CSR list of target cores per source.
    Row segments (one per source): the tree's x-span. Column segments ``column_*``: one per
    (source, target column).
    """
    source: np.ndarray
    source_core: np.ndarray
    source_x: np.ndarray
    source_y: np.ndarray
    target_ptr: np.ndarray
    target_core: np.ndarray
    n_targets: np.ndarray
    copies: np.ndarray
    tree_hops: np.ndarray
    path_hops_sum: np.ndarray
    path_hops_max: np.ndarray
    fan_out_synapses: np.ndarray
    row_xmin: np.ndarray
    row_xmax: np.ndarray
    column_source: np.ndarray   # position in ``source``
    column_x: np.ndarray
    column_ymin: np.ndarray
    column_ymax: np.ndarray
    router_entries: np.ndarray  # (mesh_rows, mesh_cols)
    needed_copies: np.ndarray   # copies to the source's own targets (= copies unless by_core)
    by_core: bool = False


def route_xy(spec, legal, unit_core, placement, by_core=False):
    """XY multicast trees from every source to its target cores. ``by_core``: every source
    of a key block (a core, or a host population) is sent to the union of the block's
    targets, as SpiNNaker's PACMAN routes per vertex: fewer routing entries, more copies
    (a core drops a spike it has no synapse for)."""
    n_cores = len(placement.core_x)
    base = max(n_cores, 1)
    core_of_pair = unit_core[legal.pair_unit]
    key = sorted_unique(legal.pair_src * base + core_of_pair)
    del core_of_pair
    edge_src = key // base
    edge_core = key % base
    del key
    if len(edge_src):
        first_edge = np.flatnonzero(np.concatenate([[True], edge_src[1:] != edge_src[:-1]]))
    else:
        first_edge = np.zeros(0, dtype=np.int64)
    source = edge_src[first_edge]
    n_targets = np.diff(np.concatenate([first_edge, [len(edge_src)]]))
    # copies each source needs (its own targets): the hypergraph cut, whatever the routing
    own_core = _emitter_core(legal, unit_core, source)
    needed_copies = np.bincount(np.repeat(np.arange(len(source)), n_targets),
                                weights=(edge_core != np.repeat(own_core, n_targets)),
                                minlength=len(source)).astype(np.int64)
    if by_core and len(source):
        block = np.where(own_core >= 0, own_core, n_cores + spec.population_of(np.minimum(source, spec.n_neurons - 1)))
        block_key = sorted_unique(np.repeat(block, n_targets) * base + edge_core)
        b_block, b_core = block_key // base, block_key % base
        b_first = np.searchsorted(b_block, block)
        n_targets = np.searchsorted(b_block, block, side="right") - b_first
        take = np.repeat(b_first, n_targets) + (np.arange(int(n_targets.sum()))
                                                 - np.repeat(np.cumsum(n_targets) - n_targets, n_targets))
        edge_core = b_core[take]
        edge_src = np.repeat(source, n_targets)
        first_edge = np.concatenate([[0], np.cumsum(n_targets)[:-1]])
    target_ptr = np.concatenate([first_edge, [len(edge_src)]]).astype(np.int64)
    del edge_src
    source_index = np.repeat(np.arange(len(source)), n_targets)

    source_core = own_core
    on_core = source_core >= 0
    source_x = np.zeros(len(source), dtype=np.int64)
    source_y = np.zeros(len(source), dtype=np.int64)
    source_x[on_core] = placement.core_x[source_core[on_core]]
    source_y[on_core] = placement.core_y[source_core[on_core]]

    tx = placement.core_x[edge_core]
    ty = placement.core_y[edge_core]
    sx = source_x[source_index]
    sy = source_y[source_index]
    copies = np.bincount(source_index, weights=(edge_core != source_core[source_index]),
                         minlength=len(source)).astype(np.int64)
    distance = np.abs(tx - sx) + np.abs(ty - sy)
    del sx, sy      # routes are arrays per (source, target core): each freed when done
    path_hops_sum = np.bincount(source_index, weights=distance, minlength=len(source)).astype(np.int64)
    if len(source):
        path_hops_max = np.maximum.reduceat(distance, first_edge)
        row_xmin = np.minimum(np.minimum.reduceat(tx, first_edge), source_x)
        row_xmax = np.maximum(np.maximum.reduceat(tx, first_edge), source_x)
    else:
        path_hops_max = row_xmin = row_xmax = np.zeros(0, dtype=np.int64)
    del distance

    # one column segment per (source, target column)
    column_key = source_index * placement.mesh_cols + tx
    column_order = np.argsort(column_key, kind="stable")
    column_key = column_key[column_order]
    starts = np.flatnonzero(np.concatenate([[True], column_key[1:] != column_key[:-1]])) \
        if len(column_key) else np.zeros(0, dtype=np.int64)
    del column_key
    column_source = source_index[column_order][starts]
    column_x = tx[column_order][starts]
    del source_index, tx
    ty = ty[column_order]
    del column_order
    if len(starts):
        column_ymin = np.minimum(np.minimum.reduceat(ty, starts), source_y[column_source])
        column_ymax = np.maximum(np.maximum.reduceat(ty, starts), source_y[column_source])
    else:
        column_ymin = column_ymax = np.zeros(0, dtype=np.int64)
    tree_hops = (row_xmax - row_xmin) + np.bincount(
        column_source, weights=column_ymax - column_ymin, minlength=len(source)).astype(np.int64)

    fan_out = np.bincount(legal.syn_pre, minlength=legal.n_sources)[source].astype(np.int64)
    routes = Routes(source=source, source_core=source_core, source_x=source_x, source_y=source_y,
                    target_ptr=target_ptr, target_core=edge_core, n_targets=n_targets.astype(np.int64),
                    copies=copies, tree_hops=tree_hops, path_hops_sum=path_hops_sum,
                    path_hops_max=path_hops_max, fan_out_synapses=fan_out, row_xmin=row_xmin,
                    row_xmax=row_xmax, column_source=column_source, column_x=column_x,
                    column_ymin=column_ymin, column_ymax=column_ymax,
                    router_entries=np.zeros((placement.mesh_rows, placement.mesh_cols), np.int64),
                    needed_copies=needed_copies, by_core=bool(by_core))
    routes.router_entries = _router_entries(routes, placement.mesh_rows, placement.mesh_cols)
    return routes


def _emitter_core(legal, unit_core, source):
    """Core sending each source's spikes (its root or child unit), -1 for host input."""
    root = legal.root_unit[source]
    return np.where(root >= 0, unit_core[np.maximum(root, 0)], -1)


def _router_entries(routes, rows, cols):
    """Sources whose tree passes through each router (row span + column spans, the row
    router of each column counted once)."""
    along_row = np.zeros((rows, cols + 1))
    _interval_add(along_row, routes.source_y, routes.row_xmin, routes.row_xmax + 1,
                  np.ones(len(routes.source)), axis=1)
    along_column = np.zeros((rows + 1, cols))
    _interval_add(along_column, routes.column_x, routes.column_ymin, routes.column_ymax + 1,
                  np.ones(len(routes.column_x)), axis=0)
    entries = np.cumsum(along_row, axis=1)[:, :cols] + np.cumsum(along_column, axis=0)[:rows, :]
    # the column segment starts at the source's row, already counted by the row span
    crossing = np.bincount(routes.source_y[routes.column_source] * cols + routes.column_x,
                           minlength=rows * cols).reshape(rows, cols)
    return np.rint(entries - crossing).astype(np.int64)


def _interval_add(diff, line, start, stop, weight, axis):
    """Add ``weight`` over [start, stop) along ``axis`` of a difference array, on the given line."""
    shape = diff.shape
    if axis == 1:
        flat_start = line * shape[1] + start
        flat_stop = line * shape[1] + stop
    else:
        flat_start = start * shape[1] + line
        flat_stop = stop * shape[1] + line
    size = diff.size
    diff += (np.bincount(flat_start, weights=weight, minlength=size)
             - np.bincount(flat_stop, weights=weight, minlength=size)).reshape(shape)


def link_loads(routes, weight, rows, cols):
    """Spike packets per directional link, for ``weight`` spikes per source (array over
    ``routes.source``). Returns a dict of (rows, cols) arrays ``east``, ``west``, ``south``,
    ``north``: the load of the link leaving router (y, x) in that direction (+x, -x, +y, -y)."""
    weight = np.asarray(weight, dtype=float)
    column_weight = weight[routes.column_source]
    column_sy = routes.source_y[routes.column_source]
    east = np.zeros((rows, cols + 1))
    _interval_add(east, routes.source_y, routes.source_x, routes.row_xmax, weight, axis=1)
    west = np.zeros((rows, cols + 1))
    _interval_add(west, routes.source_y, routes.row_xmin + 1, routes.source_x + 1, weight, axis=1)
    south = np.zeros((rows + 1, cols))
    _interval_add(south, routes.column_x, column_sy, routes.column_ymax, column_weight, axis=0)
    north = np.zeros((rows + 1, cols))
    _interval_add(north, routes.column_x, routes.column_ymin + 1, column_sy + 1, column_weight, axis=0)
    return {
        "east": np.cumsum(east, axis=1)[:, :cols],
        "west": np.cumsum(west, axis=1)[:, :cols],
        "south": np.cumsum(south, axis=0)[:rows, :],
        "north": np.cumsum(north, axis=0)[:rows, :],
    }
