"""Single-neuron tests of the conductance-based RKF45 kernels in _cond.pyx."""
import math

import numpy as np
import pytest

from pyNN_neuro.engine import _cond

IAF_DEFAULTS = dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=0.1, tau_syn_E=5.0,
                    tau_syn_I=5.0, e_rev_E=0.0, e_rev_I=-70.0, v_thresh=-50.0,
                    v_reset=-65.0, i_offset=0.0)
EIF_DEFAULTS = dict(cm=0.281, tau_refrac=0.1, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6,
                    tau_m=9.3667, i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0,
                    v_thresh=-50.4, e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
HH_DEFAULTS = dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0,
                   e_rev_Na=50.0, e_rev_K=-90.0, e_rev_leak=-65.0, e_rev_E=0.0, e_rev_I=-80.0,
                   tau_syn_E=0.2, tau_syn_I=2.0, i_offset=0.0)
# PyNN's IF_cond_exp_gsfa_grr defaults (q_sfa, q_rr in nS)
GSFA_GRR_DEFAULTS = dict(IAF_DEFAULTS, tau_sfa=100.0, e_rev_sfa=-75.0, q_sfa=15.0, tau_rr=2.0,
                         e_rev_rr=-75.0, q_rr=3000.0)
# GIF_cond_exp without eta/gamma elements (the Harness builds kernels with the class's names)
GIF_DEFAULTS = dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=4.0, tau_syn_E=5.0,
                    tau_syn_I=5.0, e_rev_E=0.0, e_rev_I=-70.0, v_reset=-65.0, i_offset=0.0,
                    delta_v=0.5, v_t_star=-48.0, lambda0=1.0)
DEFAULTS = {_cond.IFCondExp: IAF_DEFAULTS, _cond.IFCondAlpha: IAF_DEFAULTS,
            _cond.GIFCondExp: GIF_DEFAULTS,
            _cond.IFCondExpGsfaGrr: GSFA_GRR_DEFAULTS,
            _cond.EIFCondExp: EIF_DEFAULTS, _cond.EIFCondAlpha: EIF_DEFAULTS,
            _cond.HHCondExp: HH_DEFAULTS}


class Harness:
    """Owns the arrays the engine would own, for n neurons and chunks of up to k_max steps."""

    def __init__(self, cls, n=1, dt=0.1, k_max=100, ring_length=None, num_threads=1,
                 record=True, **overrides):
        self.cls, self.n, self.dt, self.k_max = cls, n, dt, k_max
        values = dict(DEFAULTS[cls], **overrides)
        self.params = {name: np.broadcast_to(np.asarray(values[name], dtype=float), (n,)).copy()
                       for name in cls.param_names}
        self.state = {name: np.zeros(n) for name in cls.state_names + cls.internal_names}
        if cls is _cond.HHCondExp:
            self.state['v'][:] = -65.0
            self.state['h'][:] = 1.0
        else:
            self.state['v'][:] = self.params['v_rest']
        self.ring = np.zeros((2, ring_length or k_max, n))   # one slot per step of a chunk
        self.i_ext = np.zeros((k_max, n))
        self.spiked = np.zeros((k_max, n), dtype=np.uint8)
        self.rec = np.zeros((len(cls.state_names), k_max, n) if record else (0, 0, 0))
        self.kernel = cls(self.params, self.state, dt, self.ring, self.i_ext, self.spiked,
                          self.rec, num_threads=num_threads)
        self.step = 0

    def run(self, total_steps, chunk=None, current=None, inputs=None):
        """Run total_steps in update() calls of `chunk` steps.

        current(step) -> injected nA per neuron; inputs: {step: (receptor, weight)}.
        Returns spike steps per neuron and recorded traces {name: (total_steps, n)}.
        """
        chunk = chunk or self.k_max
        spikes = [[] for _ in range(self.n)]
        traces = {name: [] for name in self.cls.state_names}
        done = 0
        while done < total_steps:
            K = min(chunk, total_steps - done)
            for k in range(K):
                s = self.step + k
                self.i_ext[k] = 0.0 if current is None else current(s)
                if inputs and s in inputs:
                    receptor, weight = inputs[s]
                    self.ring[receptor, s % self.ring.shape[1]] += weight
            self.kernel.update(self.step, K, True)
            for i in range(self.n):
                spikes[i].extend((self.step + np.flatnonzero(self.spiked[:K, i])).tolist())
            for j, name in enumerate(self.cls.state_names):
                traces[name].append(self.rec[j, :K].copy())
            self.step += K
            done += K
        return spikes, {name: np.concatenate(parts) for name, parts in traces.items()}


def test_iaf_rest_and_steady_state():
    h = Harness(_cond.IFCondExp, n=2, v_thresh=0.0, i_offset=[0.0, 0.5])
    _, traces = h.run(3000)
    g_leak = 1.0 / 20.0
    assert traces['v'][-1, 0] == pytest.approx(-65.0, abs=1e-12)
    assert traces['v'][-1, 1] == pytest.approx(-65.0 + 0.5 / g_leak, abs=1e-3)
    # relaxation follows the membrane time constant
    t = 0.1 * np.arange(1, 3001)
    expected = -65.0 + 10.0 * (1.0 - np.exp(-t / 20.0))
    assert np.max(np.abs(traces['v'][:, 1] - expected)) < 1e-3


@pytest.mark.parametrize('cls', [_cond.IFCondExp, _cond.IFCondExpGsfaGrr, _cond.EIFCondExp,
                                 _cond.HHCondExp])
def test_exponential_conductance_decay(cls):
    w, tau = 0.01, 5.0
    h = Harness(cls, tau_syn_E=tau, tau_syn_I=tau)
    _, traces = h.run(1000, inputs={10: (0, w), 20: (1, 2 * w)})
    t_exc = 0.1 * (np.arange(1000) - 10)
    t_inh = 0.1 * (np.arange(1000) - 20)
    assert np.all(traces['gsyn_exc'][:10] == 0.0)
    np.testing.assert_allclose(traces['gsyn_exc'][10:, 0], w * np.exp(-t_exc[10:] / tau),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(traces['gsyn_inh'][20:, 0], 2 * w * np.exp(-t_inh[20:] / tau),
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize('cls', [_cond.IFCondAlpha, _cond.EIFCondAlpha])
def test_alpha_conductance_peaks_at_weight(cls):
    w, tau = 0.02, 2.0
    h = Harness(cls, dt=0.1, tau_syn_E=tau, tau_syn_I=tau)
    _, traces = h.run(500, inputs={5: (0, w)})
    t = 0.1 * (np.arange(500) - 5)          # g starts rising at the end of step 5
    g = traces['gsyn_exc'][:, 0]
    expected = np.where(t > 0, w * (t / tau) * np.exp(1.0 - t / tau), 0.0)
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-9)
    assert np.argmax(g) == 5 + round(tau / 0.1)
    assert g.max() == pytest.approx(w, abs=1e-9)


@pytest.mark.parametrize('cls', [_cond.EIFCondExp, _cond.EIFCondAlpha])
def test_adex_repetitive_firing_and_adaptation(cls):
    b = 0.0805
    h = Harness(cls, i_offset=1.0, b=b, tau_refrac=0.5)
    spikes, traces = h.run(5000, chunk=77)
    steps = np.array(spikes[0])
    assert len(steps) >= 5
    isi = np.diff(steps)
    assert isi[-1] > isi[0]          # spike-frequency adaptation
    w = traces['w'][:, 0]
    for s in steps:
        # w jumps by b in the spike step (its smooth drift over one step is much smaller)
        assert w[s] - w[s - 1] == pytest.approx(b, abs=5e-4)
        assert traces['v'][s, 0] == pytest.approx(-70.6)
    # between spikes w changes far less than b per step
    quiet = np.setdiff1d(np.arange(1, 5000), steps)
    assert np.max(np.abs(np.diff(w)[quiet - 1])) < 0.01 * b


def test_gsfa_grr_without_adaptation_is_if_cond_exp_to_the_bit():
    """q_sfa = q_rr = 0 leaves g_s = g_r = 0: the adaptation terms add exact zeros to
    IFCondExp's sum (taken in IFCondExp's order), and the step control sees two error
    components that are 0: the same bits as IFCondExp, whose whole-block trial path is
    bit-identical to the adaptive one."""
    n, total = 23, 1500
    rng = np.random.default_rng(7)
    currents = rng.uniform(0.0, 1.6, size=(total, n))
    inputs = {s: (int(rng.integers(2)), 0.03) for s in rng.integers(0, total, 80).tolist()}
    out = []
    for cls, extra in ((_cond.IFCondExp, {}),
                       (_cond.IFCondExpGsfaGrr, dict(q_sfa=0.0, q_rr=0.0))):
        h = Harness(cls, n=n, tau_refrac=1.0, **extra)
        out.append(h.run(total, chunk=50, current=lambda s: currents[s], inputs=inputs))
    (spikes_a, traces_a), (spikes_b, traces_b) = out
    assert sum(map(len, spikes_a)) > 20
    assert spikes_a == spikes_b
    for name in ('v', 'gsyn_exc', 'gsyn_inh'):
        assert np.array_equal(traces_a[name], traces_b[name])
    assert not traces_b['g_s'].any() and not traces_b['g_r'].any()


def test_gsfa_grr_adaptation_and_relative_refractoriness():
    """Each spike raises g_s by q_sfa and g_r by q_rr (nS), which then decay with tau_sfa and
    tau_rr; the intervals lengthen, and the relative refractory conductance pulls v below
    v_reset (towards e_rev_rr) just after a spike."""
    q_sfa, q_rr, tau_sfa, tau_rr = 15.0, 3000.0, 100.0, 2.0
    h = Harness(_cond.IFCondExpGsfaGrr, i_offset=2.0, q_sfa=q_sfa, q_rr=q_rr, tau_sfa=tau_sfa,
                tau_rr=tau_rr, tau_refrac=0.1)
    spikes, traces = h.run(3000, chunk=64)          # 300 ms
    steps = np.array(spikes[0])
    assert len(steps) >= 6
    isi = np.diff(steps)
    assert isi[-1] > isi[0]
    g_s, g_r, v = traces['g_s'][:, 0], traces['g_r'][:, 0], traces['v'][:, 0]
    t = 0.1 * np.arange(3000)
    first, second = steps[0], steps[1]
    # after the first spike and before the second, both decay exponentially from q
    span = np.arange(first, second)
    np.testing.assert_allclose(g_s[span], q_sfa * np.exp(-(t[span] - t[first]) / tau_sfa),
                               rtol=1e-4)
    np.testing.assert_allclose(g_r[span], q_rr * np.exp(-(t[span] - t[first]) / tau_rr),
                               rtol=1e-3, atol=1e-3)
    for s in steps[1:]:
        assert g_s[s] - g_s[s - 1] == pytest.approx(q_sfa, rel=0.02)
    assert v[first] == -65.0
    assert v[first + 1:second].min() < -70.0       # below v_reset: relative refractoriness


def test_gsfa_grr_rejects_bad_time_constants():
    for name in ('tau_sfa', 'tau_rr'):
        with pytest.raises(ValueError, match=name):
            Harness(_cond.IFCondExpGsfaGrr, **{name: 0.0})


def _gif(n=1, n_eta=0, n_gamma=0, seed=1, k_max=100, num_threads=1, elements=None, **overrides):
    """A GIFCondExp kernel with eta/gamma elements (which the Harness cannot name)."""
    h = Harness.__new__(Harness)
    h.cls, h.n, h.dt, h.k_max, h.step = _cond.GIFCondExp, n, 0.1, k_max, 0
    names = _cond.GIFCondExp.names(n_eta, n_gamma)
    values = dict(GIF_DEFAULTS, **(elements or {}), **overrides)
    # elements not given: 1 ms, 1 (only the element-count test leaves them out)
    h.params = {name: np.broadcast_to(np.asarray(values.get(name, 1.0), dtype=float),
                                      (n,)).copy() for name in names['param_names']}
    h.state = {name: np.zeros(n) for name in names['state_names'] + names['internal_names']}
    h.state['v'][:] = h.params['v_rest']
    h.ring = np.zeros((2, k_max, n))
    h.i_ext = np.zeros((k_max, n))
    h.spiked = np.zeros((k_max, n), dtype=np.uint8)
    h.rec = np.zeros((5, k_max, n))
    h.kernel = _cond.GIFCondExp(h.params, h.state, 0.1, h.ring, h.i_ext, h.spiked, h.rec,
                                num_threads=num_threads, n_eta=n_eta, n_gamma=n_gamma, seed=seed)
    return h


def test_gif_without_escape_is_if_cond_exp_without_threshold():
    """lambda0 = 0: no spikes, and the membrane is IFCondExp's (threshold out of reach) to
    the bit: the same right-hand side, with a spike-triggered current of exactly 0."""
    n, total = 9, 800
    rng = np.random.default_rng(2)
    currents = rng.uniform(0.0, 1.5, size=(total, n))
    inputs = {s: (int(rng.integers(2)), 0.03) for s in rng.integers(0, total, 40).tolist()}
    gif = _gif(n=n, lambda0=0.0)
    spikes_gif, traces_gif = gif.run(total, chunk=64, current=lambda s: currents[s],
                                     inputs=inputs)
    iaf = Harness(_cond.IFCondExp, n=n, v_thresh=1e9)
    spikes_iaf, traces_iaf = iaf.run(total, chunk=64, current=lambda s: currents[s],
                                     inputs=inputs)
    assert spikes_gif == [[] for _ in range(n)] == spikes_iaf
    for name in ('v', 'gsyn_exc', 'gsyn_inh'):
        assert np.array_equal(traces_gif[name], traces_iaf[name])
    assert np.all(traces_gif['v_t'] == -48.0) and np.all(traces_gif['i_eta'] == 0.0)


def test_gif_escape_rate_at_threshold():
    """v held at v_t_star (v_rest = v_t_star, no input, no refractoriness): the hazard is
    lambda0 in every step, so a neuron spikes in a step with probability
    1 - exp(-lambda0 dt)."""
    n, total, lam = 500, 5000, 40.0
    h = _gif(n=n, v_rest=-50.0, v_t_star=-50.0, v_reset=-50.0, lambda0=lam, tau_refrac=0.0,
             k_max=500)
    spikes, traces = h.run(total)
    count = sum(map(len, spikes))
    p = -np.expm1(-lam * 1e-3 * 0.1)
    expected = n * total * p
    assert abs(count - expected) < 4.5 * np.sqrt(expected * (1 - p))
    assert np.all(traces['v'] == -50.0)


def test_gif_spike_triggered_current_and_threshold():
    """Each spike adds a_eta_k to eta_k and a_gamma_k to gamma_k, which then decay by
    exp(-dt / tau) per step; i_eta and v_t of a step are the sums before that step's
    decay. A sharp escape (delta_v 0.01 mV, lambda0 1e5 Hz) makes the neuron fire about
    when v crosses v_t."""
    elements = dict(tau_eta_0=5.0, a_eta_0=0.05, tau_eta_1=50.0, a_eta_1=0.02,
                    tau_gamma_0=10.0, a_gamma_0=3.0)
    h = _gif(n=1, n_eta=2, n_gamma=1, elements=elements, i_offset=0.9, delta_v=0.01,
             lambda0=1e5, v_t_star=-52.0, tau_refrac=2.0, k_max=200)
    spikes, traces = h.run(3000)
    steps = np.array(spikes[0])
    assert len(steps) >= 4
    assert np.diff(steps)[-1] > np.diff(steps)[0] + 5   # adaptation: the intervals grow
    s = steps[0]
    eta, vt = traces['i_eta'][:, 0], traces['v_t'][:, 0]
    assert eta[s] == 0.0 and vt[s] == -52.0
    k = np.arange(1, 20)
    np.testing.assert_allclose(eta[s + k], 0.05 * np.exp(-0.1 * (k - 1) / 5.0)
                               + 0.02 * np.exp(-0.1 * (k - 1) / 50.0), rtol=1e-12)
    np.testing.assert_allclose(vt[s + k], -52.0 + 3.0 * np.exp(-0.1 * (k - 1) / 10.0),
                               rtol=1e-12)
    # refractory: v is set to v_reset at the end of the round(2 / 0.1) = 20 steps after
    v = traces['v'][:, 0]
    assert np.all(v[s + 1:s + 21] == -65.0) and v[s + 21] != -65.0


def test_gif_draws_depend_on_seed_not_on_chunks_or_threads():
    runs = []
    for threads, chunk, seed in ((1, 100, 3), (2, 37, 3), (1, 100, 4)):
        h = _gif(n=64, seed=seed, num_threads=threads, i_offset=0.9, lambda0=50.0,
                 delta_v=1.0)
        runs.append(h.run(2000, chunk=chunk)[0])
    assert sum(map(len, runs[0])) > 100
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_gif_rejects_bad_parameters():
    with pytest.raises(ValueError, match="delta_v"):
        _gif(delta_v=0.0)
    with pytest.raises(ValueError, match="tau_eta_0"):
        _gif(n_eta=1, elements=dict(tau_eta_0=0.0, a_eta_0=1.0))
    with pytest.raises(ValueError, match="at most"):
        _gif(n_eta=17)


def test_hh_repetitive_firing():
    h = Harness(_cond.HHCondExp, dt=0.01, k_max=1000, i_offset=1.0)
    spikes, traces = h.run(20000)            # 200 ms
    steps = np.array(spikes[0])
    assert len(steps) >= 10
    isi = np.diff(steps)[2:] * 0.01
    assert np.ptp(isi) < 0.05 * isi.mean()   # regular tonic firing
    for s in steps:
        assert traces['v'][s, 0] >= -33.0 and traces['v'][s - 1, 0] > traces['v'][s, 0]


ALL = [_cond.IFCondExp, _cond.IFCondAlpha, _cond.IFCondExpGsfaGrr, _cond.GIFCondExp,
       _cond.EIFCondExp, _cond.EIFCondAlpha, _cond.HHCondExp]


@pytest.mark.parametrize('cls', ALL)
def test_threads_and_chunking_bit_identical(cls):
    n, total = 37, 700
    rng = np.random.default_rng(1)
    currents = rng.uniform(0.0, 1.5, size=(total, n))
    inputs = {s: (int(rng.integers(2)), 0.02) for s in rng.integers(0, total, 60).tolist()}
    results = []
    for threads, chunk in [(1, 100), (2, 100), (2, 37), (1, 1)]:
        h = Harness(cls, n=n, dt=0.05 if cls is _cond.HHCondExp else 0.1, num_threads=threads,
                    tau_refrac=1.0) if cls is not _cond.HHCondExp else Harness(
            cls, n=n, dt=0.05, num_threads=threads)
        spikes, traces = h.run(total, chunk=chunk, current=lambda s: currents[s],
                               inputs=inputs)
        results.append((spikes, traces, {k: v.copy() for k, v in h.state.items()}))
    ref_spikes, ref_traces, ref_state = results[0]
    assert sum(map(len, ref_spikes)) > 0
    for spikes, traces, state in results[1:]:
        assert spikes == ref_spikes
        for name in ref_traces:
            assert np.array_equal(traces[name], ref_traces[name])
        for name in ref_state:
            assert np.array_equal(state[name], ref_state[name])


def test_refractory_clamp_iaf():
    h = Harness(_cond.IFCondExp, i_offset=2.0, tau_refrac=2.0)
    spikes, traces = h.run(500)
    s = spikes[0][0]
    # held at v_reset for round(2.0 / 0.1) = 20 steps after the spike step
    assert np.all(traces['v'][s:s + 21, 0] == -65.0)
    assert traces['v'][s + 21, 0] > -65.0


def test_record_false_leaves_rec_alone_and_ring_cleared():
    h = Harness(_cond.IFCondExp, record=False)
    h.ring[0, 1, 0] = 0.05
    h.kernel.update(0, 3, False)
    assert h.ring[0, 1, 0] == 0.0 and h.state['gsyn_exc'][0] > 0.0
    with pytest.raises(ValueError, match='rec'):
        h.kernel.update(3, 3, True)


def test_validation_errors_name_the_array():
    h = Harness(_cond.IFCondExp, n=3)
    with pytest.raises(ValueError, match=r"ring: expected shape \(2, 'L', 3\), got \(2, 100, 2\)"):
        _cond.IFCondExp(h.params, h.state, 0.1, np.zeros((2, 100, 2)), h.i_ext, h.spiked, h.rec)
    with pytest.raises(ValueError, match='spiked'):
        _cond.IFCondExp(h.params, h.state, 0.1, h.ring, h.i_ext, h.spiked.astype(float), h.rec)
    with pytest.raises(ValueError, match="state\\['v'\\]"):
        bad = dict(h.state, v=np.zeros(3, dtype=np.float32))
        _cond.IFCondExp(h.params, bad, 0.1, h.ring, h.i_ext, h.spiked, h.rec)
    with pytest.raises(ValueError, match='K'):
        h.kernel.update(0, h.k_max + 1, False)


def test_adex_without_exponential_term_spikes_at_v_thresh():
    h = Harness(_cond.EIFCondExp, delta_T=0.0, a=0.0, b=0.0, i_offset=1.0, tau_refrac=1.0)
    spikes, traces = h.run(2000)
    assert len(spikes[0]) > 3
    v = traces['v'][:, 0]
    assert v.max() < -50.4                   # reset in the step it reaches v_thresh
    # same trajectory as the LIF model with the same constants (no w, no exponential)
    g = Harness(_cond.IFCondExp, v_rest=-70.6, cm=0.281, tau_m=9.3667, v_thresh=-50.4,
                v_reset=-70.6, i_offset=1.0, tau_refrac=1.0, e_rev_I=-80.0)
    lif_spikes, _ = g.run(2000)
    assert lif_spikes == spikes


def test_adex_state_is_written_back_and_ring_consumed():
    h = Harness(_cond.EIFCondAlpha, n=3, i_offset=[0.0, 0.5, 1.5])
    h.run(300, chunk=50)
    assert np.all(h.ring == 0.0)
    assert np.array_equal(h.state['v'], h.rec[0, 49])
    assert np.array_equal(h.state['w'], h.rec[1, 49])
    assert np.all(h.state['integration_step'] > 0.0)
