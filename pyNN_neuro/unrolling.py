"""How much tree/chain fan-in unrolling changes the spikes of a network.

Tree and chain unrolling (``setup(unroll=...)``, see :mod:`pyNN_neuro.mapping.legalise`)
delay the synapses on deeper partial-sum units by one step per level, so spikes can move.
:func:`spike_deviation` measures by how much: it simulates the network twice from t = 0
for as many steps as the current run has lasted, once with the unrolled delays and once
exactly (``exact`` mode), recording every spike, with the current parameters and initial
values, and compares the two. The user's own engine, recordings and clock are untouched;
the cost is two extra runs, paid only when the mapping report is asked for after a run.
Networks with plastic synapses are not compared (their initial weights are gone after
the run); the result then says so.
"""
import numpy as np


def spike_deviation(state):
    """Compare the unrolled and the exact-mode spikes of ``state``'s network (a dict)."""
    steps = state.engine.step
    key = (id(state.engine), steps, state.unroll)
    cached = getattr(state, "_deviation_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    plastic = [prj.label for prj in state.projections if prj.synapse_type.plastic]
    if plastic:
        result = {"compared": False,
                  "reason": f"plastic projections ({', '.join(plastic[:3])}) cannot be re-run "
                            f"from their initial weights"}
    else:
        unrolled = _shadow_run(state, state.unroll, steps)
        exact = _shadow_run(state, "exact", steps)
        result = _compare(exact, unrolled, state.dt)
        result.update(compared=True, steps=int(steps), method=(
            "both modes re-run from t = 0 for the same number of steps with the current "
            "parameters; every spike recorded"))
    state._deviation_cache = (key, result)
    return result


def _shadow_run(state, unroll, steps):
    """Run a fresh engine of the network in ``unroll`` mode for ``steps`` steps; return per
    neuron population (spike counts, spike ids, spike steps). Restores the state afterwards."""
    saved = dict(engine=state.engine, unroll=state.unroll, needs_rebuild=state.needs_rebuild,
                 groups=[(p, p._group, p._parameters_changed) for p in state.populations],
                 units=[(prj, prj._units, prj._unroll_extra_steps) for prj in state.projections],
                 sources=[(s, getattr(s, "_recorded", False)) for s in state.current_sources])
    try:
        for population in state.populations:
            population._group = None
        for prj in state.projections:
            prj._units = None
            prj._unroll_extra_steps = None
        for source, _ in saved["sources"]:
            if hasattr(source, "_recorded"):
                source._recorded = False
        state.engine = None
        state.unroll = unroll
        state.build()
        engine = state.engine
        for population in state.populations:
            population._group.recording.record_spikes(np.arange(population.size))
        if steps > 0:
            engine.run(steps, progress=False)
        result = []
        for population in state.populations:
            if not population.celltype.injectable:
                continue      # spike sources fire the same in both modes
            group = population._group
            result.append((np.asarray(group.spike_count, dtype=np.int64).copy(),
                           group.recording.spike_ids.view().astype(np.int64),
                           group.recording.spike_steps.view().astype(np.int64)))
        return result
    finally:
        state.engine = saved["engine"]
        state.unroll = saved["unroll"]
        state.needs_rebuild = saved["needs_rebuild"]
        for population, group, changed in saved["groups"]:
            population._group = group
            population._parameters_changed = changed
        for prj, units, extra in saved["units"]:
            prj._units = units
            prj._unroll_extra_steps = extra
        for source, recorded in saved["sources"]:
            if hasattr(source, "_recorded"):
                source._recorded = recorded


def _compare(exact, unrolled, dt):
    counts_e = np.concatenate([c for c, _, _ in exact]) if exact else np.zeros(0, np.int64)
    counts_u = np.concatenate([c for c, _, _ in unrolled]) if unrolled else np.zeros(0, np.int64)
    identical = changed_count = 0
    shifts = []
    for (ce, ide, se), (cu, idu, su) in zip(exact, unrolled):
        order_e = np.lexsort((se, ide))
        order_u = np.lexsort((su, idu))
        ide, se, idu, su = ide[order_e], se[order_e], idu[order_u], su[order_u]
        bounds_e = np.searchsorted(ide, np.arange(len(ce) + 1))
        bounds_u = np.searchsorted(idu, np.arange(len(cu) + 1))
        n_e, n_u = np.diff(bounds_e), np.diff(bounds_u)
        same_count = n_e == n_u
        changed_count += int(np.count_nonzero(~same_count))
        # spikes of neurons with as many spikes in both runs, paired in order
        keep_e = np.repeat(same_count, n_e)
        keep_u = np.repeat(same_count, n_u)
        shift = np.abs(su[keep_u] - se[keep_e])
        shifts.append(shift)
        moved = np.zeros(len(ce), dtype=bool)
        np.logical_or.at(moved, ide[keep_e], shift > 0)
        identical += int(np.count_nonzero(same_count & ~moved))
    shifts = np.concatenate(shifts) if shifts else np.zeros(0, np.int64)
    n_neurons = len(counts_e)
    total_e = int(counts_e.sum())
    return {
        "spikes_exact": total_e,
        "spikes_unrolled": int(counts_u.sum()),
        "count_difference": float(np.abs(counts_u - counts_e).sum() / max(total_e, 1)),
        "neurons_with_other_count": changed_count,
        "identical_trains_fraction": identical / n_neurons if n_neurons else 1.0,
        "mean_spike_shift_ms": float(shifts.mean() * dt) if len(shifts) else 0.0,
        "max_spike_shift_ms": float(shifts.max() * dt) if len(shifts) else 0.0,
    }
