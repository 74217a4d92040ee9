"""Tests of the multi-receptor (PyNN PointNeuron) kernels in ext/_multisynapse.pyx.

With two receptors the kernels must reproduce the two-receptor kernels of _lif and _cond
bit for bit; receptors with different time constants must act independently; results must
not depend on the number of threads nor on how a run is split into windows.
"""
import math

import numpy as np
import pytest

from pyNN_neuro.engine import _cond, _lif, _multisynapse

DT = 0.1
LIF = dict(cm=1.0, tau_refrac=2.0, v_reset=-65.0, v_rest=-65.0, tau_m=20.0, i_offset=0.0,
           v_thresh=-50.0)
ADEXP = dict(cm=0.281, tau_refrac=0.1, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6,
             tau_m=9.3667, i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0,
             v_thresh=-50.4)
M = _multisynapse
CURRENT = [M.LIFCurrExpMulti]
CONDUCTANCE = [M.LIFCondExpMulti, M.LIFCondAlphaMulti, M.LIFCondBetaMulti,
               M.AdExpCondExpMulti, M.AdExpCondAlphaMulti, M.AdExpCondBetaMulti]
ALL = CURRENT + CONDUCTANCE
ADAPTIVE = {M.AdExpCondExpMulti, M.AdExpCondAlphaMulti, M.AdExpCondBetaMulti}


def _receptor_defaults(cls, R):
    taus = [1.0, 20.0, 1.5, 5.0, 3.0][:R] + [2.0] * max(0, R - 5)
    e_syn = [0.0, -70.0, -80.0, 0.0, -75.0][:R] + [0.0] * max(0, R - 5)
    values = {}
    for k in range(R):
        if cls in (M.LIFCondBetaMulti, M.AdExpCondBetaMulti):
            values[f"tau_rise_{k}"] = 0.2 * taus[k]
            values[f"tau_decay_{k}"] = taus[k]
        else:
            values[f"tau_syn_{k}"] = taus[k]
        values[f"e_syn_{k}"] = e_syn[k]
    return values


class MultiHarness:
    """The arrays an engine would own for one population of a multi-receptor kernel."""

    def __init__(self, cls, R=3, n=1, k_max=100, ring_length=None, num_threads=1,
                 record=True, dt=DT, **overrides):
        names = cls.names(R)
        self.cls, self.R, self.n, self.k_max, self.names = cls, R, n, k_max, names
        values = dict(ADEXP if cls in ADAPTIVE else LIF)
        if cls not in CURRENT:
            values['tau_refrac'] = 0.5
        values.update(_receptor_defaults(cls, R))
        values.update(overrides)
        self.params = {name: np.ascontiguousarray(np.broadcast_to(
            np.asarray(values[name], dtype=np.float64), (n,))) for name in names['param_names']}
        self.state = {name: np.zeros(n) for name in
                      names['state_names'] + names['internal_names']}
        self.state['v'][:] = self.params['v_rest']
        self.ring = np.zeros((R, ring_length or k_max, n))
        self.i_ext = np.zeros((k_max, n))
        self.spiked = np.zeros((k_max, n), dtype=np.uint8)
        self.rec = np.zeros((len(names['state_names']), k_max, n) if record else (0, 0, 0))
        self.kernel = cls(self.params, self.state, dt, self.ring, self.i_ext, self.spiked,
                          self.rec, num_threads=num_threads, n_receptors=R)
        self.step = 0

    def run(self, total, chunk=None, current=None, arrivals=None):
        """current: (total, n) nA; arrivals: (R, total, n) weights. Returns (spikes, traces)."""
        chunk = chunk or self.k_max
        length = self.ring.shape[1]
        spikes = np.zeros((total, self.n), dtype=np.uint8)
        traces = np.zeros((len(self.names['state_names']), total, self.n))
        done = 0
        while done < total:
            K = min(chunk, total - done)
            assert K <= length
            for k in range(K):
                if arrivals is not None:
                    self.ring[:, (self.step + k) % length] += arrivals[:, done + k]
                self.i_ext[k] = 0.0 if current is None else current[done + k]
            self.spiked[:] = 7
            self.kernel.update(self.step, K, True)
            assert np.all(self.spiked[:K] <= 1)
            spikes[done:done + K] = self.spiked[:K]
            traces[:, done:done + K] = self.rec[:, :K]
            self.step += K
            done += K
        return spikes, traces


class PairHarness:
    """A two-receptor kernel of _lif / _cond on its own arrays."""

    def __init__(self, cls, params, n, k_max=100, num_threads=1, dt=DT):
        self.cls, self.n, self.k_max = cls, n, k_max
        self.params = {name: np.ascontiguousarray(params[name]) for name in cls.param_names}
        self.state = {name: np.zeros(n) for name in cls.state_names + cls.internal_names}
        self.state['v'][:] = self.params['v_rest']
        self.ring = np.zeros((2, k_max, n))
        self.i_ext = np.zeros((k_max, n))
        self.spiked = np.zeros((k_max, n), dtype=np.uint8)
        self.rec = np.zeros((len(cls.state_names), k_max, n))
        self.kernel = cls(self.params, self.state, dt, self.ring, self.i_ext, self.spiked,
                          self.rec, num_threads)
        self.step = 0

    def run(self, total, chunk, current, arrivals):
        spikes = np.zeros((total, self.n), dtype=np.uint8)
        traces = np.zeros((len(self.cls.state_names), total, self.n))
        done = 0
        while done < total:
            K = min(chunk, total - done)
            for k in range(K):
                self.ring[:, (self.step + k) % self.k_max] += arrivals[:, done + k]
                self.i_ext[k] = current[done + k]
            self.kernel.update(self.step, K, True)
            spikes[done:done + K] = self.spiked[:K]
            traces[:, done:done + K] = self.rec[:, :K]
            self.step += K
            done += K
        return spikes, traces


def _random_drive(rng, total, n, R, weight, signed):
    arrivals = np.zeros((R, total, n))
    mask = rng.random((R, total, n)) < 0.03
    arrivals[mask] = rng.uniform(0.2, 1.0, mask.sum()) * weight
    if signed:
        arrivals[1] *= -1.0             # receptor 1 plays the inhibitory one
    current = rng.uniform(0.5, 1.5, (total, n))
    return current, arrivals


# --------------------------------------------------------------------------------------
# Names and interface
# --------------------------------------------------------------------------------------

def test_names_for_three_receptors():
    names = M.LIFCurrExpMulti.names(3)
    assert names == dict(
        state_names=('v', 'isyn_0', 'isyn_1', 'isyn_2'),
        internal_names=('refractory_steps',),
        param_names=('cm', 'tau_refrac', 'v_reset', 'v_rest', 'tau_m', 'i_offset', 'v_thresh',
                     'tau_syn_0', 'tau_syn_1', 'tau_syn_2'),
        receptor_names=('r0', 'r1', 'r2'))
    names = M.LIFCondAlphaMulti.names(3)
    assert names['state_names'] == ('v', 'gsyn_0', 'gsyn_1', 'gsyn_2')
    assert names['internal_names'] == ('refractory_steps', 'integration_step', 'dgsyn_0',
                                       'dgsyn_1', 'dgsyn_2')
    assert names['param_names'][-6:] == ('tau_syn_0', 'tau_syn_1', 'tau_syn_2', 'e_syn_0',
                                         'e_syn_1', 'e_syn_2')
    names = M.AdExpCondExpMulti.names(2)
    assert names['state_names'] == ('v', 'w', 'gsyn_0', 'gsyn_1')
    assert names['internal_names'] == ('refractory_steps', 'integration_step')
    assert set(names['param_names']) == set(ADEXP) | {'tau_syn_0', 'tau_syn_1', 'e_syn_0',
                                                      'e_syn_1'}
    names = M.AdExpCondBetaMulti.names(2)
    assert names['param_names'][-6:] == ('tau_rise_0', 'tau_rise_1', 'tau_decay_0',
                                         'tau_decay_1', 'e_syn_0', 'e_syn_1')


@pytest.mark.parametrize('cls', ALL)
def test_instance_names_match_classmethod(cls):
    h = MultiHarness(cls, R=4, n=2)
    names = cls.names(4)
    for key, value in names.items():
        assert getattr(h.kernel, key) == value
    assert h.kernel.n_receptors == 4
    assert h.kernel.n == 2 and h.kernel.k_max == 100


# --------------------------------------------------------------------------------------
# Equivalence with the two-receptor kernels
# --------------------------------------------------------------------------------------

PAIRS = [
    (M.LIFCurrExpMulti, _lif.IFCurrExp),
    (M.LIFCondExpMulti, _cond.IFCondExp),
    (M.LIFCondAlphaMulti, _cond.IFCondAlpha),
    (M.AdExpCondExpMulti, _cond.EIFCondExp),
    (M.AdExpCondAlphaMulti, _cond.EIFCondAlpha),
]


@pytest.mark.parametrize('multi, pair', PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_two_receptors_reproduce_the_pair_kernel_bit_for_bit(multi, pair):
    n, total = 24, 1500
    rng = np.random.default_rng(7)
    current_based = multi is M.LIFCurrExpMulti
    base = dict(ADEXP if multi in ADAPTIVE else LIF)
    base['tau_refrac'] = 1.0
    neuron = {name: np.full(n, value) for name, value in base.items()}
    neuron['v_thresh'] = neuron['v_thresh'] + rng.uniform(-2.0, 2.0, n)
    tau_e = rng.uniform(0.5, 8.0, n)
    tau_i = rng.uniform(0.5, 8.0, n)
    if current_based:
        tau_e[0] = neuron['tau_m'][0]      # the singular case of the propagator
        tau_i[1] = neuron['tau_m'][1]
    e_e = np.zeros(n)
    e_i = np.full(n, -80.0)
    pair_params = dict(neuron, tau_syn_E=tau_e, tau_syn_I=tau_i, e_rev_E=e_e, e_rev_I=e_i)
    multi_params = dict(neuron, tau_syn_0=tau_e, tau_syn_1=tau_i, e_syn_0=e_e, e_syn_1=e_i)
    multi_params = {k: v for k, v in multi_params.items() if k in multi.names(2)['param_names']}
    weight = 1.5 if current_based else 0.01
    current, arrivals = _random_drive(rng, total, n, 2, weight, signed=current_based)
    current *= 1.2 if current_based else 0.6

    reference = PairHarness(pair, pair_params, n)
    ref_spikes, ref_traces = reference.run(total, 100, current, arrivals)
    h = MultiHarness(multi, R=2, n=n, **multi_params)
    spikes, traces = h.run(total, chunk=100, current=current, arrivals=arrivals)

    assert ref_spikes.sum() > 20
    assert np.array_equal(spikes, ref_spikes)
    rename = {'isyn_exc': 'isyn_0', 'isyn_inh': 'isyn_1', 'gsyn_exc': 'gsyn_0',
              'gsyn_inh': 'gsyn_1', 'dgsyn_exc': 'dgsyn_0', 'dgsyn_inh': 'dgsyn_1'}
    for j, name in enumerate(pair.state_names):
        assert np.array_equal(traces[h.names['state_names'].index(rename.get(name, name))],
                              ref_traces[j]), name
    for name, value in reference.state.items():
        assert np.array_equal(h.state[rename.get(name, name)], value), name


# --------------------------------------------------------------------------------------
# Independent receptors
# --------------------------------------------------------------------------------------

def test_current_receptors_decay_with_their_own_tau_and_superpose():
    taus = [1.0, 10.0, 1.5]
    at = [10, 30, 50]
    weights = [0.8, 0.5, -0.6]
    total = 600
    params = dict(v_thresh=0.0, tau_syn_0=taus[0], tau_syn_1=taus[1], tau_syn_2=taus[2])

    def arrivals_for(ks):
        a = np.zeros((3, total, 1))
        for k in ks:
            a[k, at[k], 0] = weights[k]
        return a

    _, together = MultiHarness(M.LIFCurrExpMulti, **params).run(
        total, arrivals=arrivals_for([0, 1, 2]))
    alone = [MultiHarness(M.LIFCurrExpMulti, **params).run(total, arrivals=arrivals_for([k]))[1]
             for k in range(3)]
    t = DT * np.arange(total)
    for k in range(3):
        expected = np.where(np.arange(total) >= at[k],
                            weights[k] * np.exp(-(t - DT * at[k]) / taus[k]), 0.0)
        np.testing.assert_allclose(together[1 + k, :, 0], expected, rtol=0, atol=1e-12)
        assert np.array_equal(alone[k][1 + k], together[1 + k])
    # the membrane is linear: v - v_rest of the joint input is the sum of the single ones
    joint = together[0, :, 0] + 65.0
    summed = sum(a[0, :, 0] + 65.0 for a in alone)
    np.testing.assert_allclose(joint, summed, rtol=0, atol=1e-12)
    # and each single response is the analytic PSP of an exponential current
    tau_m, cm = 20.0, 1.0
    for k in range(3):
        s = DT * (np.arange(total) - at[k])
        psp = np.where(s > 0, weights[k] * taus[k] * tau_m / (cm * (tau_m - taus[k]))
                       * (np.exp(-s / tau_m) - np.exp(-s / taus[k])), 0.0)
        np.testing.assert_allclose(alone[k][0, :, 0] + 65.0, psp, rtol=0, atol=1e-12)


@pytest.mark.parametrize('cls', [M.LIFCondExpMulti, M.AdExpCondExpMulti])
def test_exponential_conductances_are_independent(cls):
    taus = [1.0, 20.0, 1.5]
    at = [10, 30, 50]
    weights = [0.01, 0.002, 0.02]
    total = 800
    arrivals = np.zeros((3, total, 1))
    for k in range(3):
        arrivals[k, at[k], 0] = weights[k]
    h = MultiHarness(cls, tau_syn_0=taus[0], tau_syn_1=taus[1], tau_syn_2=taus[2])
    _, traces = h.run(total, arrivals=arrivals)
    off = 2 if cls in ADAPTIVE else 1
    for k in range(3):
        s = DT * (np.arange(total) - at[k])
        expected = np.where(s >= 0, weights[k] * np.exp(-s / taus[k]), 0.0)
        np.testing.assert_allclose(traces[off + k, :, 0], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize('cls', [M.LIFCondAlphaMulti, M.AdExpCondAlphaMulti])
def test_alpha_conductances_peak_at_weight_at_their_own_tau(cls):
    taus = [1.0, 20.0, 1.5]
    w = 0.01
    total = 1500
    arrivals = np.zeros((3, total, 1))
    arrivals[:, 5, 0] = w
    h = MultiHarness(cls, tau_syn_0=taus[0], tau_syn_1=taus[1], tau_syn_2=taus[2])
    _, traces = h.run(total, arrivals=arrivals)
    off = 2 if cls in ADAPTIVE else 1
    s = DT * (np.arange(total) - 5)
    for k in range(3):
        g = traces[off + k, :, 0]
        expected = np.where(s > 0, w * (s / taus[k]) * np.exp(1.0 - s / taus[k]), 0.0)
        np.testing.assert_allclose(g, expected, rtol=0, atol=1e-9)
        assert np.argmax(g) == 5 + round(taus[k] / DT)
        assert g.max() == pytest.approx(w, abs=1e-9)


@pytest.mark.parametrize('cls', [M.LIFCondBetaMulti, M.AdExpCondBetaMulti])
def test_beta_conductances_peak_at_weight(cls):
    rises, decays = [0.2, 2.0, 3.0], [1.7, 20.0, 3.0]      # the last one is an alpha
    w = 0.01
    total = 1500
    arrivals = np.zeros((3, total, 1))
    arrivals[:, 5, 0] = w
    params = {}
    for k in range(3):
        params[f"tau_rise_{k}"] = rises[k]
        params[f"tau_decay_{k}"] = decays[k]
    h = MultiHarness(cls, dt=0.01, **params)
    _, traces = h.run(total, arrivals=arrivals)
    off = 2 if cls in ADAPTIVE else 1
    s = 0.01 * (np.arange(total) - 5)
    for k in range(3):
        tr, td = rises[k], decays[k]
        if tr == td:
            expected = w * (s / td) * np.exp(1.0 - s / td)
        else:
            t_peak = td * tr * math.log(td / tr) / (td - tr)
            shape = lambda t: np.exp(-t / td) - np.exp(-t / tr)
            expected = w * shape(s) / shape(t_peak)
        expected = np.where(s > 0, expected, 0.0)
        np.testing.assert_allclose(traces[off + k, :, 0], expected, rtol=0, atol=1e-9)
        assert traces[off + k, :, 0].max() == pytest.approx(w, rel=1e-4)


@pytest.mark.parametrize('cls', CONDUCTANCE)
def test_reversal_potential_is_per_receptor(cls):
    # receptor 0 (e_syn 0 mV) depolarises, receptor 2 (e_syn -80 mV) hyperpolarises
    total = 300
    _, baseline = MultiHarness(cls).run(total)
    result = {}
    for k in (0, 2):
        arrivals = np.zeros((3, total, 1))
        arrivals[k, 10, 0] = 0.005
        _, traces = MultiHarness(cls).run(total, arrivals=arrivals)
        result[k] = traces[0, :, 0] - baseline[0, :, 0]
    assert np.all(result[0][:11] == 0.0) and np.all(result[2][:11] == 0.0)
    assert result[0].max() > 0.05 and result[0].min() >= 0.0
    assert result[2].min() < -0.05 and result[2].max() <= 0.0


def test_weight_sign_decides_current_effect():
    total = 300
    arrivals = np.zeros((2, total, 1))
    arrivals[0, 10, 0] = -1.0     # a negative weight on receptor 0 inhibits
    arrivals[1, 10, 0] = 0.0
    _, traces = MultiHarness(M.LIFCurrExpMulti, R=2).run(total, arrivals=arrivals)
    assert traces[0, :, 0].max() <= -65.0 and traces[0, :, 0].min() < -65.05


# --------------------------------------------------------------------------------------
# Threads and windows
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize('cls', ALL)
def test_threads_and_windows_bit_identical(cls):
    n, total, R = 29, 600, 3
    rng = np.random.default_rng(3)
    current_based = cls in CURRENT
    current, arrivals = _random_drive(rng, total, n, R, 1.5 if current_based else 0.01,
                                      signed=current_based)
    results = []
    for threads, chunk in [(1, 100), (3, 100), (2, 37), (4, 1)]:
        h = MultiHarness(cls, R=R, n=n, num_threads=threads)
        spikes, traces = h.run(total, chunk=chunk, current=current, arrivals=arrivals)
        results.append((spikes, traces, {k: v.copy() for k, v in h.state.items()}))
        assert np.all(h.ring == 0.0)
    ref_spikes, ref_traces, ref_state = results[0]
    assert ref_spikes.sum() > 0
    for spikes, traces, state in results[1:]:
        assert np.array_equal(spikes, ref_spikes)
        assert np.array_equal(traces, ref_traces)
        for name in ref_state:
            assert np.array_equal(state[name], ref_state[name]), name


@pytest.mark.parametrize('cls', ALL)
def test_record_false_and_empty_rec(cls):
    h = MultiHarness(cls, R=2, n=2, record=False)
    h.ring[1, 1, :] = 0.05
    h.kernel.update(0, 3, False)
    assert np.all(h.ring == 0.0)
    name = 'isyn_1' if cls in CURRENT else 'gsyn_1'
    assert np.all(h.state[name] != 0.0)
    with pytest.raises(ValueError, match='rec'):
        h.kernel.update(3, 3, True)
    h.kernel.update(3, 0, False)          # an empty window does nothing


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize('cls', ALL)
def test_shape_errors_name_the_array(cls):
    h = MultiHarness(cls, R=3, n=4)
    args = lambda **kw: [kw.get('params', h.params), kw.get('state', h.state), DT,
                         kw.get('ring', h.ring), kw.get('i_ext', h.i_ext),
                         kw.get('spiked', h.spiked), kw.get('rec', h.rec)]
    with pytest.raises(ValueError, match=r"ring: expected shape \(3, L, 4\).*got shape \(2, 100, 4\)"):
        cls(*args(ring=np.zeros((2, 100, 4))), n_receptors=3)
    h4 = MultiHarness(cls, R=4, n=4)
    with pytest.raises(ValueError, match=r"ring: expected shape \(4, L, 4\)"):
        cls(h4.params, h4.state, DT, h.ring, h4.i_ext, h4.spiked, h4.rec, n_receptors=4)
    with pytest.raises(ValueError, match=r"i_ext: expected shape \(K_max, 4\)"):
        cls(*args(i_ext=np.zeros((100, 5))), n_receptors=3)
    with pytest.raises(ValueError, match=r"spiked: expected shape \(100, 4\), got shape \(100, 3\)"):
        cls(*args(spiked=np.zeros((100, 3), dtype=np.uint8)), n_receptors=3)
    with pytest.raises(ValueError, match="spiked: expected dtype uint8"):
        cls(*args(spiked=np.zeros((100, 4))), n_receptors=3)
    n_states = len(cls.names(3)['state_names'])
    with pytest.raises(ValueError, match=rf"rec: expected shape \({n_states}, 100, 4\)"):
        cls(*args(rec=np.zeros((n_states + 1, 100, 4))), n_receptors=3)
    last = cls.names(3)['param_names'][-1]
    with pytest.raises(ValueError, match=f"params: missing array '{last}'"):
        cls(*args(params={k: v for k, v in h.params.items() if k != last}), n_receptors=3)
    with pytest.raises(ValueError, match=r"state\['v'\]: expected dtype float64"):
        cls(*args(state=dict(h.state, v=np.zeros(4, dtype=np.float32))), n_receptors=3)
    with pytest.raises(ValueError, match=r"params\['cm'\]: expected shape \(4,\), got shape \(3,\)"):
        cls(*args(params=dict(h.params, cm=np.ones(3))), n_receptors=3)
    with pytest.raises(ValueError, match='n_receptors'):
        cls(*args(), n_receptors=0)
    with pytest.raises(ValueError, match='n_receptors'):
        cls.names(0)
    tau = 'tau_rise_1' if 'tau_rise_1' in h.params else 'tau_syn_1'
    with pytest.raises(ValueError, match=rf"params\['{tau}'\]: expected values > 0"):
        cls(*args(params=dict(h.params, **{tau: np.zeros(4)})), n_receptors=3)
    with pytest.raises(ValueError, match='K'):
        h.kernel.update(0, h.k_max + 1, False)
    with pytest.raises(ValueError, match='step0'):
        h.kernel.update(-1, 1, False)
