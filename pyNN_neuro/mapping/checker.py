"""An independent checker of mappings.

It shares no code with the mapper: it rebuilds the synapse list from the projections,
recounts every core's neurons, axons and synapses with its own (lexsort-based) grouping,
recomputes core positions from the profile's geometry, and enumerates every XY route
router by router to count routing entries (for profiles without a routing-table limit,
only while the paths hold at most ENUMERATION_BUDGET routers). Then it compares with the profile's limits and
with the figures the mapping reports.
"""
import numpy as np

from .errors import MappingError

# routers listed when checking routing entries of a profile without a table limit; above
# it the enumeration is skipped (the limits themselves are always checked)
ENUMERATION_BUDGET = 20_000_000
# routers of packet paths looked up in the routing tables; above it a sample of sources
TABLE_WALK_BUDGET = 4_000_000


def check(mapping, raise_on_violation=False):
    """List every violation of ``mapping``'s profile limits, and every disagreement
    between the mapping's figures and the recomputed ones (an empty list when legal).
    With ``raise_on_violation=True``, raise ``MappingError`` instead of returning a
    non-empty list."""
    violations = []
    try:
        _check(mapping, violations)
    except (IndexError, ValueError) as err:  # arrays so corrupted that they cannot be indexed
        violations.append(f"mapping arrays are inconsistent: {err}")
    if violations and raise_on_violation:
        raise MappingError(f"{len(violations)} violation(s): " + "; ".join(violations[:10]))
    return violations


def _first(mask, limit=3):
    return ", ".join(str(int(i)) for i in np.flatnonzero(mask)[:limit])


def _check(mapping, violations):
    spec, profile, legal = mapping.spec, mapping.profile, mapping.legal
    unit_core = np.asarray(mapping.unit_core)
    unit_neuron = np.asarray(legal.unit_neuron)
    unit_rank = np.asarray(legal.unit_rank)
    n_cores = mapping.n_cores
    n_neurons = spec.n_neurons

    # units: each on exactly one existing core, each neuron's units ranked 0..k-1 ---------------
    if len(unit_core) != len(unit_neuron):
        violations.append(f"{len(unit_core)} core assignments for {len(unit_neuron)} units")
        return
    bad_core = (unit_core < 0) | (unit_core >= n_cores)
    if bad_core.any():
        violations.append(f"{int(bad_core.sum())} units on no valid core (units {_first(bad_core)})")
        return
    if len(unit_neuron) and (unit_neuron.min() < 0 or unit_neuron.max() >= n_neurons):
        violations.append("units refer to neurons that do not exist")
        return
    is_source = np.zeros(n_neurons, dtype=bool)
    for population, start in zip(spec.populations, spec.offsets[:-1]):
        is_source[start:start + population.size] = population.is_spike_source
    units_of = np.bincount(unit_neuron, minlength=n_neurons)
    roots_of = np.bincount(unit_neuron[unit_rank == 0], minlength=n_neurons)
    if (units_of[is_source] > 0).any():
        violations.append(f"spike-source neurons occupy neuron slots (neurons {_first(is_source & (units_of > 0))})")
    missing = ~is_source & (roots_of != 1)
    if missing.any():
        violations.append(f"{int(missing.sum())} neurons do not have exactly one root unit "
                          f"(neurons {_first(missing)})")
    ranks_ok = unit_rank < units_of[unit_neuron]
    if not ranks_ok.all():
        violations.append(f"unit ranks out of range (units {_first(~ranks_ok)})")

    # synapses: rebuilt from the projections, each on one unit of its own target neuron --------
    pre_parts, post_parts = [], []
    for projection in spec.projections:
        pre_parts.append(np.asarray(projection.pre_index, dtype=np.int64) + spec.offsets[projection.pre])
        post_parts.append(np.asarray(projection.post_index, dtype=np.int64) + spec.offsets[projection.post])
    pre = np.concatenate(pre_parts) if pre_parts else np.zeros(0, dtype=np.int64)
    post = np.concatenate(post_parts) if post_parts else np.zeros(0, dtype=np.int64)
    syn_unit = np.asarray(legal.syn_unit)
    if len(syn_unit) != len(pre):
        violations.append(f"{len(syn_unit)} synapses placed for {len(pre)} in the network")
        return
    if len(syn_unit) and (syn_unit.min() < 0 or syn_unit.max() >= len(unit_core)):
        violations.append("synapses placed on units that do not exist")
        return
    wrong_neuron = unit_neuron[syn_unit] != post
    if wrong_neuron.any():
        violations.append(f"{int(wrong_neuron.sum())} synapses placed on a unit of another neuron "
                          f"(synapses {_first(wrong_neuron)})")

    # partial-sum links (tree/chain): a tree per neuron, each synapse delayed by its depth ----
    link_child = np.asarray(getattr(legal, "link_child", np.zeros(0, np.int64)), dtype=np.int64)
    link_parent = np.asarray(getattr(legal, "link_parent", np.zeros(0, np.int64)), dtype=np.int64)
    depth = _check_links(legal, unit_neuron, unit_rank, link_child, link_parent, violations)
    if depth is None:
        return
    added = np.asarray(getattr(legal, "syn_added_steps", np.zeros(len(syn_unit), np.int64)))
    if len(added) != len(syn_unit) or not np.array_equal(added, depth[syn_unit]):
        violations.append("synapses' added latency differs from the depth of their unit")

    # per unit: distinct sources (and partial-sum inputs) within the fan-in limit -------------
    unit_sources = _distinct_pairs(syn_unit, pre)
    fan_in = np.bincount(unit_sources[0], minlength=len(unit_core)) \
        + np.bincount(link_parent, minlength=len(unit_core))
    over = fan_in > profile.fan_in_limit
    if over.any():
        violations.append(f"{int(over.sum())} units have more than {profile.fan_in_limit} distinct "
                          f"inputs (max {int(fan_in.max())}, units {_first(over)})")

    # per core: neurons, axons, synapses -------------------------------------------------------
    syn_core = unit_core[syn_unit]
    core_units = np.bincount(unit_core, minlength=n_cores)
    core_synapses = np.bincount(syn_core, minlength=n_cores)
    core_axons = np.bincount(_distinct_pairs(syn_core, pre)[0], minlength=n_cores) \
        + np.bincount(unit_core[link_parent], minlength=n_cores)
    for name, values, limit in (("neurons", core_units, profile.neurons_per_core),
                                ("axons", core_axons, profile.axons_per_core),
                                ("synapses", core_synapses, profile.synapses_per_core)):
        over = values > limit
        if over.any():
            violations.append(f"{int(over.sum())} cores hold more than {limit} {name} "
                              f"(max {int(values.max())}, cores {_first(over)})")
    if int(core_synapses.sum()) != len(pre):
        violations.append(f"{int(core_synapses.sum())} synapses on cores for {len(pre)} in the network")
    reported = mapping.report()
    for name, values in (("neurons_per_core", core_units), ("axons_per_core", core_axons),
                         ("synapses_per_core", core_synapses)):
        if list(reported[name]) != values.tolist():
            violations.append(f"reported {name} differs from the recomputed one")

    # synapse types: plastic projections need a chip that changes weights ---------------------
    if not getattr(profile, "on_chip_plasticity", True):
        plastic = [j for j, p in enumerate(spec.projections) if getattr(p, "plastic", False) and len(p)]
        if plastic:
            violations.append(f"{len(plastic)} plastic projections on a profile without on-chip "
                              f"plasticity (projections {', '.join(map(str, plastic[:3]))})")

    # cores on chips ---------------------------------------------------------------------------
    if n_cores > profile.max_chips * profile.cores_per_chip:
        violations.append(f"{n_cores} cores exceed {profile.max_chips} chips x "
                          f"{profile.cores_per_chip} cores")
    placement = mapping.placement
    chip = np.asarray(placement.core_chip)
    slot = np.asarray(placement.core_slot)
    if len(chip) != n_cores:
        violations.append(f"{len(chip)} core positions for {n_cores} cores")
        return
    if n_cores and (chip.max() >= profile.max_chips or slot.max() >= profile.cores_per_chip
                    or chip.min() < 0 or slot.min() < 0):
        violations.append("cores placed outside the available chips or core slots")
        return
    if len(np.unique(chip * profile.cores_per_chip + slot)) != n_cores:
        violations.append("two cores share one physical core slot")
    core_cols, core_rows = profile.core_mesh
    router = slot // profile.cores_per_router
    x = (chip % profile.chip_mesh[0]) * core_cols + router % core_cols
    y = (chip // profile.chip_mesh[0]) * core_rows + router // core_cols
    if not (np.array_equal(x, placement.core_x) and np.array_equal(y, placement.core_y)):
        violations.append("core mesh coordinates do not match the chips and slots")

    # routes: every (source, target core) path enumerated router by router --------------------
    # links are sources numbered n_neurons + link, sent from the child's core to the parent's
    n_links = len(link_child)
    link_id = n_neurons + np.arange(n_links, dtype=np.int64)
    src, target = _distinct_pairs(np.concatenate([pre, link_id]),
                                  np.concatenate([syn_core, unit_core[link_parent]]))
    root_of = np.full(n_neurons + n_links, -1, dtype=np.int64)
    root_of[unit_neuron[unit_rank == 0]] = np.flatnonzero(unit_rank == 0)
    root_of[link_id] = link_child
    src_core = np.where(root_of[src] >= 0, unit_core[np.maximum(root_of[src], 0)], -1)
    sx = np.where(src_core >= 0, x[np.maximum(src_core, 0)], 0)
    sy = np.where(src_core >= 0, y[np.maximum(src_core, 0)], 0)
    _check_hypergraph_cut(mapping, spec, src, target, src_core, violations,
                          (pre, syn_unit, link_child, link_parent, depth))
    if getattr(mapping.routes, "by_core", False):
        # every source of a key block goes to all of the block's targets
        src, target, src_core = _block_routes(src, target, src_core, spec, n_cores)
        sx = np.where(src_core >= 0, x[np.maximum(src_core, 0)], 0)
        sy = np.where(src_core >= 0, y[np.maximum(src_core, 0)], 0)
    tx, ty = x[target], y[target]
    output_axons = np.bincount(src_core[src_core >= 0], minlength=n_cores)
    if profile.output_axons_per_core is not None:
        over = output_axons > profile.output_axons_per_core
        if over.any():
            violations.append(f"{int(over.sum())} cores send to more than "
                              f"{profile.output_axons_per_core} (neuron, core) destinations "
                              f"(max {int(output_axons.max())}, cores {_first(over)})")
    if list(mapping.report()["output_axons_per_core"]) != output_axons.tolist():
        violations.append("reported output_axons_per_core differs from the recomputed one")
    path_length = np.abs(tx - sx) + np.abs(ty - sy) + 1
    path_routers = int(path_length.sum())
    limit = profile.routing_entries_per_router
    if path_routers <= ENUMERATION_BUDGET:
        entries = _router_entries_by_enumeration(src, sx, sy, tx, ty, placement.mesh_cols,
                                                 placement.mesh_rows)
        if not np.array_equal(entries, np.asarray(mapping.routes.router_entries)):
            violations.append("reported router entries differ from the enumerated routes")
    elif limit is None:
        return  # no table limit to check, and enumerating every path would take long
    else:
        entries = np.asarray(mapping.routes.router_entries)
    if limit is None:
        return
    tables = getattr(mapping, "tables", None)
    if tables is not None:
        # look the packets of every source up in the tables; above the budget, of every
        # k-th source only (all of their paths), so that the walk stays bounded
        keep = np.ones(len(src), dtype=bool)
        if path_routers > TABLE_WALK_BUDGET:
            stride = -(-path_routers // TABLE_WALK_BUDGET)
            keep = np.unique(src, return_inverse=True)[1] % stride == 0
        keys = _source_keys(spec, unit_core, root_of, n_cores)
        _verify_tables(tables, src[keep], sx[keep], sy[keep], tx[keep], ty[keep],
                       slot[target[keep]] % profile.cores_per_router, keys, placement.mesh_cols,
                       violations)
        entries = np.bincount(tables.router, minlength=placement.mesh_rows * placement.mesh_cols
                              ).reshape(placement.mesh_rows, placement.mesh_cols)
        if not np.array_equal(entries, tables.entries):
            violations.append("reported compressed entries per router differ from the tables")
    if entries.size:
        over = entries > limit
        if over.any():
            violations.append(f"{int(over.sum())} routers need more than {limit} entries "
                              f"(max {int(entries.max())})")


def _block_routes(src, target, src_core, spec, n_cores):
    """(source, target core) pairs when each key block's sources share the block's targets."""
    population = spec.population_of(np.minimum(src, spec.n_neurons - 1))
    block = np.where(src_core >= 0, src_core, n_cores + population)
    block_target = _distinct_pairs(block, target)
    sources, first = np.unique(src, return_index=True)
    source_block = block[first]
    source_core = src_core[first]
    start = np.searchsorted(block_target[0], source_block)
    count = np.searchsorted(block_target[0], source_block, side="right") - start
    take = np.repeat(start, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    return np.repeat(sources, count), block_target[1][take], np.repeat(source_core, count)


def _source_keys(spec, unit_core, root_of, n_cores):
    """Per source id: (key block, index): the core and the unit's rank among the core's
    units in unit order, or n_cores + population and the index in it for host input."""
    n_units = len(unit_core)
    order = np.lexsort((np.arange(n_units), unit_core))
    sorted_core = unit_core[order]
    group_start = np.concatenate([[0], np.flatnonzero(sorted_core[1:] != sorted_core[:-1]) + 1]) \
        if n_units else np.zeros(0, dtype=np.int64)
    run_length = np.diff(np.append(group_start, n_units))
    rank = np.zeros(n_units, dtype=np.int64)
    rank[order] = np.arange(n_units) - np.repeat(group_start, run_length)
    ids = np.arange(len(root_of))
    host = root_of < 0
    population = spec.population_of(np.minimum(ids, spec.n_neurons - 1))
    block = n_cores + population
    index = ids - spec.offsets[population]
    block[~host] = unit_core[root_of[~host]]
    index[~host] = rank[root_of[~host]]
    return block, index


def _verify_tables(tables, src, sx, sy, tx, ty, target_slot, keys, cols, violations):
    """Walk every XY path router by router and look each packet up in the tables: where
    its key matches an entry, the entry's outputs must be exactly the ones the source needs
    there; where none matches, the packet must be going straight through (default route)."""
    # every router of every path, the direction it leaves in (bit), and where it came from
    x_steps, y_steps = np.abs(tx - sx), np.abs(ty - sy)
    length = x_steps + y_steps + 1
    pair = np.repeat(np.arange(len(src)), length)
    step = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    xs = x_steps[pair]
    along_x = step < xs
    x_dir = np.sign(tx - sx)[pair]
    y_dir = np.sign(ty - sy)[pair]
    px = np.where(step <= xs, sx[pair] + x_dir * np.minimum(step, xs), tx[pair])
    py = np.where(step <= xs, sy[pair], sy[pair] + y_dir * (step - xs))
    last = step == length[pair] - 1
    leave = np.where(last, np.left_shift(1, 4 + target_slot[pair]),
                     np.where(along_x, np.where(x_dir > 0, 1, 2),
                              np.where(y_dir > 0, 4, 8)))
    # the link a packet arrives on continues in the direction of the previous step
    prev_along_x = (step - 1) < xs
    came = np.where(step == 0, 0, np.where(prev_along_x, np.where(x_dir > 0, 1, 2),
                                           np.where(y_dir > 0, 4, 8)))
    router = py * cols + px
    source = src[pair]
    order = np.lexsort((router, source))
    source, router, leave, came = source[order], router[order], leave[order], came[order]
    new = np.ones(len(source), dtype=bool)
    new[1:] = (source[1:] != source[:-1]) | (router[1:] != router[:-1])
    group = np.cumsum(new) - 1
    needed = np.zeros(int(new.sum()), dtype=np.int64)
    np.bitwise_or.at(needed, group, leave)
    arrival = came[new]
    g_source, g_router = source[new], router[new]
    block, index = keys[0][g_source], keys[1][g_source]
    # look every (source, router) up: the entry of the same router and block starting at or
    # before the index
    span = int(max(index.max(initial=0), (tables.start + tables.size).max(initial=0))) + 1
    n_blocks = int(max(block.max(initial=0), tables.block.max(initial=0))) + 1
    entry_key = (tables.router * n_blocks + tables.block) * span + tables.start
    order = np.argsort(entry_key, kind="stable")
    entry_key = entry_key[order]
    query = (g_router * n_blocks + block) * span + index
    found = np.searchsorted(entry_key, query, side="right") - 1
    valid = found >= 0
    e = order[np.maximum(found, 0)]
    hit = valid & (tables.router[e] == g_router) & (tables.block[e] == block) \
        & (index < tables.start[e] + tables.size[e])
    wrong = hit & (tables.outputs[e] != needed)
    if wrong.any():
        violations.append(f"{int(wrong.sum())} packets would leave a router by the wrong outputs")
    missing = ~hit & ((arrival == 0) | (needed != arrival))
    if missing.any():
        violations.append(f"{int(missing.sum())} packets find no routing entry where they do not "
                          f"go straight on")


def _check_links(legal, unit_neuron, unit_rank, link_child, link_parent, violations):
    """Every non-root unit sends exactly one link to a unit of its own neuron, and following
    links from any unit reaches the root. Returns each unit's depth (None when broken)."""
    n_units = len(unit_neuron)
    if len(link_child) != len(link_parent) or (len(link_child) and (
            min(link_child.min(), link_parent.min()) < 0
            or max(link_child.max(), link_parent.max()) >= n_units)):
        violations.append("partial-sum links refer to units that do not exist")
        return None
    parent = np.full(n_units, -1, dtype=np.int64)
    parent[link_child] = link_parent
    if len(link_child):
        outgoing = np.bincount(link_child, minlength=n_units)
        if (outgoing > 1).any():
            violations.append("a unit sends more than one partial-sum link")
            return None
        if (unit_neuron[link_child] != unit_neuron[link_parent]).any():
            violations.append("a partial-sum link joins units of different neurons")
            return None
        if (outgoing[unit_rank == 0] > 0).any():
            violations.append("a root unit sends a partial-sum link")
            return None
        orphan = (unit_rank > 0) & (outgoing == 0)
        if orphan.any():
            violations.append(f"{int(orphan.sum())} non-root units send no partial-sum link "
                              f"(units {_first(orphan)})")
            return None
    elif getattr(legal, "unroll", "exact") != "exact" and (unit_rank > 0).any():
        violations.append("unrolled units without partial-sum links in tree/chain mode")
        return None
    depth = np.zeros(n_units, dtype=np.int64)
    current = np.arange(n_units)
    for _ in range(n_units + 1):
        moving = parent[current] >= 0
        if not moving.any():
            return depth
        depth[moving] += 1
        current = np.where(moving, parent[current], current)
    violations.append("partial-sum links form a cycle")
    return None


def _check_hypergraph_cut(mapping, spec, src, target, src_core, violations, links):
    """KM1 = sum over sources of weight x (cores touched - 1), the source's own core
    counted as touched; weights as the mapping's activity (spikes, expected spikes, 1).
    A partial-sum link weighs its subtree's input spikes, at most one per step."""
    steps = spec.duration_ms / spec.dt_ms
    if spec.spike_counts is not None:
        per_neuron = np.asarray(spec.spike_counts, dtype=float)
    elif spec.rates_hz is not None:
        per_neuron = np.asarray(spec.rates_hz, dtype=float) * spec.duration_ms / 1000.0
    else:
        per_neuron = np.ones(spec.n_neurons)
        steps = 1.0
    pre, syn_unit, link_child, link_parent, depth = links
    if len(link_child):
        unit_input = np.zeros(len(depth))
        units, sources = _distinct_pairs(syn_unit, pre)
        np.add.at(unit_input, units, per_neuron[sources])
        values = np.zeros(len(link_child))
        for link in np.argsort(-depth[link_child], kind="stable"):   # deepest links first
            values[link] = min(unit_input[link_child[link]], steps)
            unit_input[link_parent[link]] += values[link]
        per_neuron = np.concatenate([per_neuron, values])
    if not len(src):
        expected = 0.0
    else:
        sources, first = np.unique(src, return_index=True)
        targets = np.diff(np.append(first, len(src)))
        own = np.zeros(len(src), dtype=bool)
        own[src_core == target] = True
        own_core = np.add.reduceat(own, first) > 0
        has_core = src_core[first] >= 0
        touched = targets + (has_core & ~own_core)
        expected = float(np.dot(per_neuron[sources], touched - 1))
    reported = mapping.report().get("hypergraph_cut")
    if reported is None or not np.isclose(reported, expected, rtol=1e-9, atol=1e-6):
        violations.append(f"reported hypergraph_cut {reported} differs from the recomputed {expected}")


def _distinct_pairs(a, b):
    """Distinct (a, b) pairs of non-negative integers, as two arrays sorted by a then b."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    base = int(b.max()) + 1
    if int(a.max()) < np.iinfo(np.int64).max // base:
        pairs = np.sort(a * base + b)
        keep = np.ones(len(pairs), dtype=bool)
        keep[1:] = pairs[1:] != pairs[:-1]
        pairs = pairs[keep]
        return pairs // base, pairs % base
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def _router_entries_by_enumeration(src, sx, sy, tx, ty, cols, rows, chunk=500_000):
    """Distinct sources per router, listing every router of every XY path (in chunks of
    about ``chunk`` path routers, so memory stays bounded: some 100 bytes per path router,
    so 2 million of them were a fixed 200 MB, twice the whole mapping of a 10^6-synapse
    network). ``src`` must be sorted."""
    length = np.abs(tx - sx) + np.abs(ty - sy) + 1
    entries = np.zeros(rows * cols, dtype=np.int64)
    # cut only between sources, so that a source's paths are deduplicated together
    cumulative = np.cumsum(length)
    boundaries = [0]
    while boundaries[-1] < len(src):
        stop = int(np.searchsorted(cumulative, cumulative[boundaries[-1]] - length[boundaries[-1]] + chunk))
        stop = max(stop, boundaries[-1] + 1)
        if stop < len(src):
            stop = int(np.searchsorted(src, src[stop - 1], side="right"))
        boundaries.append(min(stop, len(src)))
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        entries += _enumerate(src[a:b], sx[a:b], sy[a:b], tx[a:b], ty[a:b], cols, rows)
    return entries.reshape(rows, cols)


def _enumerate(src, sx, sy, tx, ty, cols, rows):
    x_steps = np.abs(tx - sx)
    y_steps = np.abs(ty - sy)
    length = x_steps + y_steps + 1
    pair = np.repeat(np.arange(len(src)), length)
    step = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    along_x = step <= x_steps[pair]
    x_dir = np.sign(tx - sx)[pair]
    y_dir = np.sign(ty - sy)[pair]
    px = np.where(along_x, sx[pair] + x_dir * step, tx[pair])
    py = np.where(along_x, sy[pair], sy[pair] + y_dir * (step - x_steps[pair]))
    routers, _ = _distinct_pairs(py * cols + px, src[pair])
    return np.bincount(routers, minlength=rows * cols)
