"""The kernels' numbers depend neither on the instruction-set build nor on the number of
threads.

The kernel modules are built for the baseline x86-64 instruction set and, where the
compiler allows, for x86-64-v3 (AVX2) and x86-64-v4 (AVX-512); ``pyNN_neuro.engine`` uses
the best one the processor runs (``pyNN_neuro.engine._isa``). Each neuron kernel, the
spike sources and the serial delivery run the same random input in every available
build, and with 1, 2 and 3 threads: spikes, recorded traces, final state, ring buffers and
spike lists must agree to the bit. Kernels start threads only for calls with enough work
(``threads_for`` in ext/_kernel_common.pxd), so the thread tests use sizes at which
several threads share several blocks of neurons, spike sources and synaptic events.
"""
import math

import numpy as np
import pytest

from pyNN_neuro.engine import _isa

LEVELS = _isa.available()
several_builds = pytest.mark.skipif(len(LEVELS) < 2, reason="only the baseline build is "
                                    "available on this machine")

LIF = dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=5.0,
           i_offset=0.0, v_reset=-65.0, v_thresh=-50.0)
COND = dict(LIF, e_rev_E=0.0, e_rev_I=-70.0, tau_refrac=1.0)
EIF = dict(cm=0.281, tau_refrac=0.1, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6,
           tau_m=9.3667, i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0,
           v_thresh=-50.4, e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
HH = dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0, e_rev_Na=50.0,
          e_rev_K=-90.0, e_rev_leak=-65.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=0.2,
          tau_syn_I=2.0, i_offset=0.0)
IZHIKEVICH = dict(a=0.02, b=0.2, c=-65.0, d=2.0, i_offset=0.0)
# (module, class, defaults, weight scale, current scale, receptors of a multi kernel)
KERNELS = [
    ("_lif", "IFCurrExp", LIF, 0.5, 0.8, None),
    ("_lif", "IFCurrAlpha", LIF, 0.5, 0.8, None),
    ("_lif", "IFCurrDelta", LIF, 3.0, 0.8, None),
    ("_lif", "Izhikevich", IZHIKEVICH, 3.0, 0.01, None),
    ("_cond", "IFCondExp", COND, 0.03, 1.2, None),
    ("_cond", "IFCondAlpha", COND, 0.03, 1.2, None),
    ("_cond", "EIFCondExp", EIF, 0.03, 0.8, None),
    ("_cond", "HHCondExp", HH, 0.03, 0.6, None),
    ("_multisynapse", "LIFCurrExpMulti", LIF, 0.5, 0.8, 3),
    ("_multisynapse", "LIFCondBetaMulti", COND, 0.03, 1.2, 3),
    ("_multisynapse", "AdExpCondAlphaMulti", EIF, 0.03, 0.8, 3),
]


def _multi_value(name, defaults):
    if name.startswith("tau_rise"):
        return 0.5
    if name.startswith(("tau_decay", "tau_syn")):
        return 2.0 + int(name[-1])
    if name.startswith("e_syn"):
        return (0.0, -70.0, -80.0)[int(name[-1])]
    return defaults[name]


def _run_kernel(level, module, class_name, defaults, weight, current, receptors,
                n=300, total=240, seed=5, record=True):
    """Spikes, traces, final state and ring of one kernel on one build (n > one block);
    without ``record`` the traces stay 0 (a kernel may take a faster path then)."""
    cls = getattr(_isa.modules(level)[module], class_name)
    rng = np.random.default_rng(seed)
    names = (cls.names(receptors) if receptors else
             dict(param_names=cls.param_names, state_names=cls.state_names,
                  internal_names=cls.internal_names))
    params = {}
    for name in names["param_names"]:
        value = _multi_value(name, defaults) if receptors else defaults[name]
        spread = rng.uniform(0.7, 1.3, n) if name.startswith(("tau", "cm")) else 1.0
        params[name] = np.full(n, float(value)) * spread
    dt = 0.05 if class_name == "HHCondExp" else 0.1
    state = {s: np.zeros(n) for s in (*names["state_names"], *names["internal_names"])}
    state["v"][:] = -65.0 if class_name == "HHCondExp" else rng.uniform(-70.0, -52.0, n)
    if class_name == "HHCondExp":
        state["h"][:] = 1.0
    if class_name == "Izhikevich":
        state["u"][:] = -13.0
    n_receptors = receptors or 2
    k_max = 32
    ring = np.zeros((n_receptors, k_max + 4, n))
    i_ext = np.zeros((k_max, n))
    spiked = np.zeros((k_max, n), dtype=np.uint8)
    rec = np.zeros((len(names["state_names"]), k_max, n))
    extra = dict(n_receptors=receptors) if receptors else {}
    kernel = cls(params, state, dt, ring, i_ext, spiked, rec, 1, **extra)
    arrivals = (rng.random((n_receptors, total, n)) < 0.06) * rng.uniform(0, weight,
                                                                            (n_receptors, total, n))
    drive = rng.uniform(0.0, current, (total, n))
    spikes = np.zeros((total, n), dtype=np.uint8)
    traces = np.zeros((rec.shape[0], total, n))
    step, windows = 0, [1, 7, 32, 3]
    while step < total:
        K = min(windows[step % len(windows)], total - step)
        for k in range(K):
            ring[:, (step + k) % ring.shape[1]] += arrivals[:, step + k]
        i_ext[:K] = drive[step:step + K]
        kernel.update(step, K, record)
        spikes[step:step + K] = spiked[:K]
        if record:
            traces[:, step:step + K] = rec[:, :K]
        step += K
    return spikes, traces, state, ring


@several_builds
@pytest.mark.parametrize("kernel", KERNELS, ids=[k[1] for k in KERNELS])
def test_kernels_agree_at_every_isa_level(kernel):
    reference = _run_kernel("baseline", *kernel)
    assert reference[0].sum() > 0
    for level in LEVELS[1:]:
        spikes, traces, state, ring = _run_kernel(level, *kernel)
        np.testing.assert_array_equal(spikes, reference[0])
        np.testing.assert_array_equal(traces, reference[1])
        for name in state:
            np.testing.assert_array_equal(state[name], reference[2][name])
        np.testing.assert_array_equal(ring, reference[3])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kernel", KERNELS, ids=[k[1] for k in KERNELS])
def test_kernels_give_the_same_numbers_whether_or_not_they_record(kernel, level):
    # IFCurrExp fuses its window when nothing is recorded: the same spikes, state and
    # ring to the bit as the generic path that records
    recorded = _run_kernel(level, *kernel)
    spikes, _, state, ring = _run_kernel(level, *kernel, record=False)
    assert recorded[0].sum() > 0
    np.testing.assert_array_equal(spikes, recorded[0])
    for name in state:
        np.testing.assert_array_equal(state[name], recorded[2][name])
    np.testing.assert_array_equal(ring, recorded[3])


def _source_spikes(level, kind, threads=1, n=200, windows=(1, 10, 37, 2) * 5):
    """Spike lists of a renewal source (kind 0 Poisson, 1 with dead time, 2 gamma) and its
    counts per neuron."""
    sources = _isa.modules(level)["_sources"]
    rng = np.random.default_rng(kind)
    params = dict(start=rng.uniform(0.0, 5.0, n), duration=rng.uniform(5.0, 1e9, n))
    if kind == 2:
        params.update(alpha=rng.integers(1, 4, n).astype(float), beta=rng.uniform(0, 2000, n))
    else:
        params.update(rate=rng.uniform(0, 3000, n), tau_refrac=rng.uniform(0, 0.2, n))
    capacity = 2 * max(windows) * n + 1000
    spike_k = np.zeros(capacity, dtype=np.intc)
    spike_i = np.zeros(capacity, dtype=np.intc)
    counts = np.zeros(n, dtype=np.int64)
    source = sources.RenewalSource(kind, params, 0.1, 99, np.zeros(n), np.zeros(n, np.uint64),
                                   spike_k, spike_i, counts, threads)
    source.restart(0.0)
    out, step = [], 0
    for K in windows:
        m = source.update(step, K)
        out.append((spike_k[:m].copy(), spike_i[:m].copy()))
        step += K
    return out, counts


def _assert_same_spikes(a, b):
    (windows, counts), (reference, reference_counts) = a, b
    for (k, i), (k0, i0) in zip(windows, reference):
        np.testing.assert_array_equal(k, k0)
        np.testing.assert_array_equal(i, i0)
    np.testing.assert_array_equal(counts, reference_counts)


@several_builds
@pytest.mark.parametrize("kind", [0, 1, 2])
def test_sources_agree_at_every_isa_level(kind):
    reference = _source_spikes("baseline", kind)
    for level in LEVELS[1:]:
        _assert_same_spikes(_source_spikes(level, kind), reference)


def test_kernel_logarithm_within_one_ulp_of_libm_and_the_same_in_every_build():
    """The Poisson sources' own logarithm (branch-free so that it vectorises) on uniform
    numbers as the sources draw them, extremes, and the range reduction's edges."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2 ** 53, 200_000, dtype=np.uint64)
    x = (bits.astype(np.float64) + 0.5) / 2.0 ** 53
    edges = np.array([0.5 / 2.0 ** 53, 1.0 - 0.5 / 2.0 ** 53, 0.5, 0.25, np.sqrt(0.5),
                      np.nextafter(np.sqrt(0.5), 0.0), np.nextafter(np.sqrt(0.5), 1.0),
                      1e-300, 3.0, 1e300])
    x = np.concatenate([x, edges])
    expected = np.array([math.log(v) for v in x])
    for level in LEVELS:
        got = _isa.modules(level)["_sources"].log_array(x)
        assert np.all(np.abs(got - expected) <= np.spacing(np.abs(expected))), level
        if level != LEVELS[0]:
            np.testing.assert_array_equal(got, _isa.modules(LEVELS[0])["_sources"].log_array(x))


def _delivered(level, threads, n_pre=2000, n_post=3000, n_syn=400000, weight_value=None,
               told=None):
    """The rings a unit of random synapses fills from random spikes in three windows, for
    a uniform and a varied delay; weights not on a grid, so sums must not be reordered
    (or all ``weight_value``). ``told``: the kernel's ``uniform_weight``."""
    synapses = _isa.modules(level)["_synapses"]
    rng = np.random.default_rng(2)
    pre = rng.integers(0, n_pre, n_syn)
    post = rng.integers(0, n_post, n_syn)
    order, indptr = synapses.csr_order(pre, post, n_pre, n_post)
    target = post[order].astype(np.intc)
    weight = rng.normal(0.0, 1.0, n_syn)[order]
    if weight_value is not None:
        weight[:] = weight_value
    spike_k = np.sort(rng.integers(0, 8, 600)).astype(np.intc)
    spike_i = rng.integers(0, n_pre, 600).astype(np.intc)
    rings = []
    for delay in (np.full(n_syn, 3, dtype=np.intc), rng.integers(1, 5, n_syn).astype(np.intc)):
        ring = np.zeros((16, n_post))
        rows = synapses.StaticDelivery(indptr, target, weight, delay[order], spike_k, spike_i,
                                       ring, threads)
        assert rows.num_threads == threads
        rows.uniform_weight = told
        for step0 in (0, 8):
            rows.deliver(step0, spike_k.size)
        rings.append(ring)
    return rings


@pytest.mark.parametrize("by_target", [True, False])
def test_csr_order_is_numpys_lexsort_and_gives_the_targets_in_that_order(by_target):
    synapses = _isa.modules("baseline")["_synapses"]
    rng = np.random.default_rng(9)
    post = rng.integers(0, 300, 20000)
    if by_target:
        post = np.sort(post)        # as connectors make them: the sort's first pass skipped
    pre = rng.integers(0, 400, post.size)
    order, indptr = synapses.csr_order(pre, post, 400, 300)
    order2, indptr2, targets = synapses.csr_order(pre, post, 400, 300, True)
    np.testing.assert_array_equal(order, np.lexsort((post, pre)))
    np.testing.assert_array_equal(order2, order)
    np.testing.assert_array_equal(indptr2, indptr)
    np.testing.assert_array_equal(indptr, np.concatenate([[0], np.cumsum(np.bincount(
        pre, minlength=400))]))
    assert targets.dtype == np.intc
    np.testing.assert_array_equal(targets, post[order])
    none, indptr3, targets3 = synapses.csr_order(pre, post, 400, 300, True, False)
    assert none is None
    np.testing.assert_array_equal(indptr3, indptr)
    np.testing.assert_array_equal(targets3, targets)


@several_builds
def test_serial_delivery_agrees_at_every_isa_level():
    reference = _delivered("baseline", 1)
    for level in LEVELS[1:]:
        for ring, ring0 in zip(_delivered(level, 1), reference):
            np.testing.assert_array_equal(ring, ring0)


# --- threads -----------------------------------------------------------------------------

def _kernel(module, name):
    return getattr(_isa.modules('baseline')[module], name)


N = 3 * 256 + 17          # three full blocks of neurons and a partial one
# (kernel class, defaults, weight scale, current scale, window length)
THREADED = [
    (_kernel('_lif', 'IFCurrExp'), LIF, 0.5, 0.8, 160),
    (_kernel('_lif', 'IFCurrDelta'), LIF, 3.0, 0.8, 160),
    (_kernel('_cond', 'IFCondExp'), COND, 0.03, 1.2, 20),
    (_kernel('_cond', 'IFCondAlpha'), COND, 0.03, 1.2, 20),
    (_kernel('_cond', 'EIFCondExp'), EIF, 0.03, 0.8, 20),
    (_kernel('_multisynapse', 'LIFCondExpMulti'), COND, 0.03, 1.2, 20),
]


def _run(cls, defaults, weight, current, K, threads, windows=3):
    rng = np.random.default_rng(8)
    multi = cls is _kernel('_multisynapse', 'LIFCondExpMulti')
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


@pytest.mark.parametrize("kernel", THREADED, ids=[k[0].__name__ for k in THREADED])
def test_neuron_kernels_are_thread_invariant(kernel):
    reference = _run(*kernel, threads=1)
    assert reference[0].sum() > 0
    for threads in (2, 3):
        spikes, traces, state = _run(*kernel, threads=threads)
        np.testing.assert_array_equal(spikes, reference[0])
        np.testing.assert_array_equal(traces, reference[1])
        for name in state:
            np.testing.assert_array_equal(state[name], reference[2][name])


def test_poisson_sources_are_thread_invariant():
    reference = _source_spikes("baseline", 0, threads=1, n=5000, windows=(64, 20, 64))
    for threads in (2, 3):
        _assert_same_spikes(_source_spikes("baseline", 0, threads, n=5000,
                                           windows=(64, 20, 64)), reference)


def test_serial_delivery_is_thread_invariant():
    reference = _delivered("baseline", 1)
    for threads in (2, 3):
        for ring, ring0 in zip(_delivered("baseline", threads), reference):
            np.testing.assert_array_equal(ring, ring0)


@pytest.mark.parametrize("threads", [1, 2])
def test_serial_delivery_of_one_weight_for_all_reads_no_weights(threads):
    # told that every weight is 0.3, the kernel adds 0.3 whatever the array holds: the
    # same rings as reading an array of 0.3 (both delays, one thread or two)
    read = _delivered("baseline", threads, weight_value=0.3)
    told = _delivered("baseline", threads, told=0.3)
    for ring, ring0 in zip(told, read):
        np.testing.assert_array_equal(ring, ring0)
    assert not np.array_equal(told[0], _delivered("baseline", threads)[0])


def _delivered_monotone(threads, n_pre=30000):
    """Rings filled through units whose targets grow along the synapse array (a one-to-one
    unit, and rows of 0 to 3 targets that do not interleave), from a list ordered by step
    then neuron with repeated neurons, as the engine's groups emit them."""
    synapses = _isa.modules("baseline")["_synapses"]
    rng = np.random.default_rng(5)
    fan_out = rng.integers(0, 4, n_pre)
    one_to_one = (np.arange(n_pre + 1, dtype=np.int64), np.arange(n_pre, dtype=np.intc))
    divergent = (np.concatenate([[0], np.cumsum(fan_out)]).astype(np.int64),
                 np.arange(fan_out.sum(), dtype=np.intc))
    k = rng.integers(0, 8, 40000)
    i = rng.integers(0, n_pre, 40000)
    order = np.lexsort((i, k))
    spike_k, spike_i = k[order].astype(np.intc), i[order].astype(np.intc)
    rings = []
    for indptr, post in (one_to_one, divergent):
        n_post = int(post.max()) + 1
        for delay in (np.full(post.size, 2, dtype=np.intc),
                      rng.integers(1, 5, post.size).astype(np.intc)):
            weight = rng.normal(0.0, 1.0, post.size)
            ring = np.zeros((16, n_post))
            unit = synapses.StaticDelivery(indptr, post, weight, delay, spike_k, spike_i,
                                           ring, threads)
            for step0 in (0, 8):
                unit.deliver(step0, spike_k.size)
            expected = np.zeros_like(ring)
            for step0 in (0, 8):
                rows = np.repeat(np.arange(spike_i.size), np.diff(indptr)[spike_i])
                j = np.concatenate([np.arange(indptr[a], indptr[a + 1]) for a in spike_i])
                slot = (step0 + spike_k[rows] + delay[j]) % 16
                np.add.at(expected, (slot, post[j]), weight[j])
            np.testing.assert_allclose(ring, expected, rtol=1e-12, atol=1e-12)
            rings.append(ring)
    return rings


def test_serial_delivery_with_growing_targets_is_thread_invariant():
    """Threads walk only their own spikes there (bisection per step): nothing is lost or
    delivered twice, and every sum is the one-thread sum to the bit."""
    reference = _delivered_monotone(1)
    for threads in (2, 3):
        for ring, ring0 in zip(_delivered_monotone(threads), reference):
            np.testing.assert_array_equal(ring, ring0)


def _poisson_into_rings(threads, direct, n=5000, windows=(64, 20, 64, 3)):
    """Rings filled by a Poisson source of n neurons through two units of one synapse or
    none per neuron (alternate neurons reach ring A, every third one ring B, delays 3 and
    5): added straight by the source (``set_direct``), or listed and then delivered."""
    sources = _isa.modules("baseline")["_sources"]
    synapses = _isa.modules("baseline")["_synapses"]
    rng = np.random.default_rng(11)
    params = dict(start=np.zeros(n), duration=np.full(n, 1e9), rate=rng.uniform(0, 3000, n))
    capacity = 2 * max(windows) * n + 1000
    spike_k = np.zeros(capacity, dtype=np.intc)
    spike_i = np.zeros(capacity, dtype=np.intc)
    counts = np.zeros(n, dtype=np.int64)
    source = sources.RenewalSource(0, params, 0.1, 99, np.zeros(n), np.zeros(n, np.uint64),
                                   spike_k, spike_i, counts, threads)
    units, rings = [], []
    for every, delay in ((2, 3), (3, 5)):
        has = (np.arange(n) % every == 0).astype(np.int64)
        indptr = np.concatenate([[0], np.cumsum(has)])
        post = np.arange(int(has.sum()), dtype=np.intc)
        weight = rng.normal(0.0, 1.0, post.size)
        ring = np.zeros((max(windows) + 6, post.size))
        rings.append(ring)
        units.append((indptr, post, weight, delay, ring))
    if direct:
        source.set_direct(units)
        assert source.is_direct
    delivery = [synapses.StaticDelivery(indptr, post, weight, np.full(post.size, delay, np.intc),
                                        spike_k, spike_i, ring, 1)
                for indptr, post, weight, delay, ring in units]
    source.restart(0.0)
    step, snapshots = 0, []
    for K in windows:
        m = source.update(step, K)
        assert m == 0 or not direct
        for unit in delivery:
            if m:
                unit.deliver(step, m)
        snapshots.append([ring.copy() for ring in rings])
        for ring in rings:          # the slots the window's neurons would have read
            for k in range(K):
                ring[(step + k) % ring.shape[0]] = 0.0
        step += K
    return snapshots, counts


def test_poisson_source_adds_straight_into_rings_as_delivery_would():
    reference, counts = _poisson_into_rings(1, direct=False)
    assert counts.sum() > 10000
    for threads in (1, 2, 3):
        snapshots, direct_counts = _poisson_into_rings(threads, direct=True)
        np.testing.assert_array_equal(direct_counts, counts)
        for rings, rings0 in zip(snapshots, reference):
            for ring, ring0 in zip(rings, rings0):
                np.testing.assert_array_equal(ring, ring0)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1000, 4099, 70001])
def test_compaction_lists_flagged_neurons_by_step_then_neuron(level, n, threads):
    """The spike list of a window from a kernel's flags: every flag (any nonzero byte),
    in step then neuron order, at the 64-flag boundaries too, counted per neuron; the
    same list with threads (each scans a range of neurons; 70 001 neurons x 7 steps is
    enough work for them)."""
    sources = _isa.modules(level)["_sources"]
    rng = np.random.default_rng(n)
    K = 7
    spiked = (rng.random((K + 2, n)) < 0.02).astype(np.uint8)
    spiked[:, ::61] *= 3                  # flags other than 1 count as well
    if n > 64:
        spiked[2, 63:66] = 1              # across a 64-flag boundary
        spiked[4, -1] = 1                 # the last neuron, in the tail
    spike_k = np.full(max(1, (K + 2) * n), -1, dtype=np.intc)
    spike_i = np.full(max(1, (K + 2) * n), -1, dtype=np.intc)
    counts = np.zeros(n, dtype=np.int64)
    counts[:] = 5
    m = sources.Compaction(spiked, spike_k, spike_i, counts, threads).run(K)
    k_expected, i_expected = np.nonzero(spiked[:K])
    assert m == k_expected.size
    np.testing.assert_array_equal(spike_k[:m], k_expected)
    np.testing.assert_array_equal(spike_i[:m], i_expected)
    np.testing.assert_array_equal(counts, 5 + np.count_nonzero(spiked[:K], axis=0))
