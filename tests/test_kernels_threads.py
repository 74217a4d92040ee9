"""Threads change no number: kernels, sources and serial delivery give the same results
with 1, 2 and 3 threads.

The kernels start threads only for calls with enough work (``threads_for`` in
ext/_kernel_common.pxd), so the sizes here are chosen large enough for several threads
to share several blocks of neurons, spike sources and synaptic events.
"""
import numpy as np
import pytest

from pyNN_neuro.engine import _cond, _lif, _multisynapse, _sources, _synapses

N = 3 * 256 + 17          # three full blocks of neurons and a partial one
LIF = dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=5.0,
           i_offset=0.0, v_reset=-65.0, v_thresh=-50.0)
COND = dict(LIF, e_rev_E=0.0, e_rev_I=-70.0, tau_refrac=1.0)
EIF = dict(cm=0.281, tau_refrac=0.1, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6,
           tau_m=9.3667, i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0,
           v_thresh=-50.4, e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
# (kernel class, defaults, weight scale, current scale, window length)
KERNELS = [
    (_lif.IFCurrExp, LIF, 0.5, 0.8, 160),
    (_lif.IFCurrDelta, LIF, 3.0, 0.8, 160),
    (_cond.IFCondExp, COND, 0.03, 1.2, 20),
    (_cond.IFCondAlpha, COND, 0.03, 1.2, 20),
    (_cond.EIFCondExp, EIF, 0.03, 0.8, 20),
    (_multisynapse.LIFCondExpMulti, COND, 0.03, 1.2, 20),
]


def _run(cls, defaults, weight, current, K, threads, windows=3):
    rng = np.random.default_rng(8)
    multi = cls is _multisynapse.LIFCondExpMulti
    names = cls.names(2) if multi else dict(param_names=cls.param_names,
                                            state_names=cls.state_names,
                                            internal_names=cls.internal_names)
    params = {}
    for name in names["param_names"]:
        value = (2.0 if name.startswith("tau_syn") else 0.0 if name == "e_syn_0"
                 else -70.0 if name == "e_syn_1" else defaults[name]) if multi else defaults[name]
        params[name] = np.full(N, float(value)) * (rng.uniform(0.8, 1.2, N)
                                                   if name.startswith("tau") else 1.0)
    state = {s: np.zeros(N) for s in (*names["state_names"], *names["internal_names"])}
    state["v"][:] = rng.uniform(-70.0, -52.0, N)
    ring = np.zeros((2, K + 3, N))
    i_ext = np.zeros((K, N))
    spiked = np.zeros((K, N), dtype=np.uint8)
    rec = np.zeros((len(names["state_names"]), K, N))
    extra = dict(n_receptors=2) if multi else {}
    kernel = cls(params, state, 0.1, ring, i_ext, spiked, rec, threads, **extra)
    spikes, traces = [], []
    for w in range(windows):
        for k in range(K):
            ring[:, (w * K + k) % ring.shape[1]] += (rng.random((2, N)) < 0.05) * weight
        i_ext[:] = rng.uniform(0.0, current, (K, N))
        kernel.update(w * K, K, True)
        spikes.append(spiked.copy())
        traces.append(rec.copy())
    return np.array(spikes), np.array(traces), state


@pytest.mark.parametrize("kernel", KERNELS, ids=[k[0].__name__ for k in KERNELS])
def test_neuron_kernels_are_thread_invariant(kernel):
    reference = _run(*kernel, threads=1)
    assert reference[0].sum() > 0
    for threads in (2, 3):
        spikes, traces, state = _run(*kernel, threads=threads)
        np.testing.assert_array_equal(spikes, reference[0])
        np.testing.assert_array_equal(traces, reference[1])
        for name in state:
            np.testing.assert_array_equal(state[name], reference[2][name])


def _poisson(threads, n=5000):
    rng = np.random.default_rng(1)
    params = dict(start=rng.uniform(0.0, 3.0, n), duration=np.full(n, 1e9),
                  rate=rng.uniform(0.0, 3000.0, n), tau_refrac=np.zeros(n))
    capacity = 2 * 64 * n
    spike_k = np.zeros(capacity, dtype=np.intc)
    spike_i = np.zeros(capacity, dtype=np.intc)
    counts = np.zeros(n, dtype=np.int64)
    source = _sources.RenewalSource(0, params, 0.1, 5, np.zeros(n), np.zeros(n, np.uint64),
                                    spike_k, spike_i, counts, threads)
    source.restart(0.0)
    out, step = [], 0
    for K in (64, 20, 64):
        m = source.update(step, K)
        out.append((spike_k[:m].copy(), spike_i[:m].copy()))
        step += K
    return out, counts


def test_poisson_sources_are_thread_invariant():
    reference, reference_counts = _poisson(1)
    for threads in (2, 3):
        windows, counts = _poisson(threads)
        for (k, i), (k0, i0) in zip(windows, reference):
            np.testing.assert_array_equal(k, k0)
            np.testing.assert_array_equal(i, i0)
        np.testing.assert_array_equal(counts, reference_counts)


def test_serial_delivery_is_thread_invariant():
    rng = np.random.default_rng(2)
    n_pre, n_post, n_syn = 2000, 3000, 400000
    pre = rng.integers(0, n_pre, n_syn)
    post = rng.integers(0, n_post, n_syn)
    order, indptr = _synapses.csr_order(pre, post, n_pre, n_post)
    target = post[order].astype(np.intc)
    weight = rng.normal(0.0, 1.0, n_syn)[order]        # not on a grid: sums must not reorder
    spike_k = np.sort(rng.integers(0, 8, 600)).astype(np.intc)
    spike_i = rng.integers(0, n_pre, 600).astype(np.intc)
    for delay in (np.full(n_syn, 3, dtype=np.intc), rng.integers(1, 5, n_syn).astype(np.intc)):
        rings = []
        for threads in (1, 2, 3):
            ring = np.zeros((16, n_post))
            rows = _synapses.StaticDelivery(indptr, target, weight, delay[order], spike_k,
                                            spike_i, ring, threads)
            assert rows.num_threads == threads
            for step0 in (0, 8):
                rows.deliver(step0, spike_k.size)
            rings.append(ring)
        for ring in rings[1:]:
            np.testing.assert_array_equal(ring, rings[0])
