"""Tests of the neuron kernels in ext/_lif.pyx against closed-form solutions.

Every integrate-and-fire kernel integrates exactly, so sub-threshold trajectories must
match the analytic solution of the ODEs to rounding (1e-12 mV here). Spikes and
refractoriness follow NEST's order of operations; results must not depend on the number
of threads nor on how a run is split into windows.
"""
import math

import numpy as np
import pytest

from pyNN_neuro.engine import _lif


DT = 0.1
LIF_DEFAULTS = dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=2.0, tau_syn_E=5.0,
                    tau_syn_I=5.0, i_offset=0.0, v_reset=-65.0, v_thresh=-50.0)
IZHIKEVICH_DEFAULTS = dict(a=0.02, b=0.2, c=-65.0, d=2.0, i_offset=0.0)
INITIAL = dict(v=-65.0, u=-13.0)


class Harness:
    """The arrays an engine would own for one population, and a kernel built on them."""

    def __init__(self, cls, n=1, k_max=100, ring_length=None, record=True, num_threads=1,
                 dt=DT, **params):
        defaults = IZHIKEVICH_DEFAULTS if cls is _lif.Izhikevich else LIF_DEFAULTS
        self.cls = cls
        self.n = n
        self.k_max = k_max
        self.params = {name: np.ascontiguousarray(np.broadcast_to(
            np.asarray(params.get(name, defaults[name]), dtype=np.float64), (n,)))
            for name in cls.param_names}
        self.state = {}
        for name in cls.state_names + cls.internal_names:
            value = INITIAL.get(name, 0.0)
            if name == 'v' and 'v_rest' in self.params:
                value = self.params['v_rest']
            self.state[name] = np.zeros(n) + value
        self.ring = np.zeros((2, ring_length or k_max, n))
        self.i_ext = np.zeros((k_max, n))
        self.spiked = np.zeros((k_max, n), dtype=np.uint8)
        self.record = record
        self.rec = (np.zeros((len(cls.state_names), k_max, n)) if record
                    else np.zeros((0, 0, 0)))
        self.kernel = cls(self.params, self.state, dt, self.ring, self.i_ext, self.spiked,
                          self.rec, num_threads)

    def run(self, total_steps, window=None, i_ext=None, arrivals=None):
        """Run total_steps in windows of `window` steps.

        i_ext: (total_steps, n) injected current, nA. arrivals: (2, total_steps, n)
        weights arriving in each step, written into the ring just before each window.
        Returns (spikes (total_steps, n), recorded (n_states, total_steps, n)).
        """
        window = window or self.k_max
        spikes = np.zeros((total_steps, self.n), dtype=np.uint8)
        recorded = np.zeros((len(self.cls.state_names), total_steps, self.n))
        length = self.ring.shape[1]
        step = 0
        while step < total_steps:
            K = min(window, total_steps - step)
            assert K <= length
            if arrivals is not None:
                for k in range(K):
                    self.ring[:, (step + k) % length, :] += arrivals[:, step + k, :]
            self.i_ext[:K] = 0.0 if i_ext is None else i_ext[step:step + K]
            self.spiked[:] = 7  # every entry k < K must be overwritten
            self.kernel.update(step, K, self.record)
            assert np.all(self.spiked[:K] <= 1)
            spikes[step:step + K] = self.spiked[:K]
            if self.record:
                recorded[:, step:step + K] = self.rec[:, :K]
            step += K
        return spikes, recorded


def _arrival(n_steps, at_step, weight, receptor=0, n=1):
    arrivals = np.zeros((2, n_steps, n))
    arrivals[receptor, at_step, :] = weight
    return arrivals


# --- (1) constant current ---------------------------------------------------------------

def test_exp_constant_current_matches_analytic():
    tau_m = np.array([20.0, 10.0, 7.3])
    cm = np.array([1.0, 0.25, 0.5])
    i_offset = np.array([0.5, 0.3, -0.2])
    harness = Harness(_lif.IFCurrExp, n=3, k_max=500, tau_m=tau_m, cm=cm, i_offset=i_offset,
                      v_thresh=100.0)
    spikes, recorded = harness.run(2000)
    t = (np.arange(2000)[:, None] + 1) * DT
    expected = -65.0 + tau_m / cm * i_offset * (1.0 - np.exp(-t / tau_m))
    assert not spikes.any()
    np.testing.assert_allclose(recorded[0], expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(harness.state['v'], recorded[0, -1])


@pytest.mark.parametrize("cls", [_lif.IFCurrAlpha, _lif.IFCurrDelta])
def test_other_lif_constant_current_matches_analytic(cls):
    harness = Harness(cls, k_max=300, i_offset=0.4, tau_m=15.0, cm=0.5, v_thresh=100.0)
    _, recorded = harness.run(1200, i_ext=np.full((1200, 1), 0.1))
    t = (np.arange(1200) + 1) * DT
    expected = -65.0 + 15.0 / 0.5 * 0.5 * (1.0 - np.exp(-t / 15.0))
    np.testing.assert_allclose(recorded[0, :, 0], expected, rtol=0, atol=1e-12)


def test_injected_current_acts_in_its_own_step():
    harness = Harness(_lif.IFCurrExp, k_max=10, v_thresh=100.0)
    i_ext = np.zeros((10, 1))
    i_ext[3] = 2.0
    _, recorded = harness.run(10, i_ext=i_ext)
    assert np.all(recorded[0, :3, 0] == -65.0)
    jump = 20.0 / 1.0 * 2.0 * (1.0 - math.exp(-DT / 20.0))
    assert recorded[0, 3, 0] == pytest.approx(-65.0 + jump, abs=1e-12)


# --- (2) exponential PSP ----------------------------------------------------------------

def _exp_psp(t, weight, tau_syn, tau_m, cm):
    """w/cm * integral_0^t exp(-s/tau_syn) exp(-(t-s)/tau_m) ds, free of cancellation."""
    delta = 1.0 / tau_syn - 1.0 / tau_m
    if delta == 0.0:
        return weight / cm * t * np.exp(-t / tau_m)
    return weight / cm * np.exp(-t / tau_m) * (-np.expm1(-delta * t) / delta)


@pytest.mark.parametrize("receptor, weight, tau_syn", [
    (0, 0.7, 5.0), (1, -0.4, 2.0), (0, 1.3, 20.0), (0, 0.5, 20.0 * (1 + 1e-9))])
def test_exp_single_weight_gives_analytic_psp(receptor, weight, tau_syn):
    tau_m, cm, arrive, total = 20.0, 0.8, 17, 1500
    harness = Harness(_lif.IFCurrExp, k_max=total, tau_m=tau_m, cm=cm, tau_syn_E=tau_syn,
                      tau_syn_I=tau_syn, v_thresh=100.0)
    _, recorded = harness.run(total, arrivals=_arrival(total, arrive, weight, receptor))
    assert np.all(recorded[0, :arrive + 1, 0] == -65.0)  # the jump moves v from the next step
    t = (np.arange(total) - arrive) * DT
    after = t >= 0
    expected_v = -65.0 + _exp_psp(t[after], weight, tau_syn, tau_m, cm)
    np.testing.assert_allclose(recorded[0, after, 0], expected_v, rtol=0, atol=1e-12)
    expected_i = weight * np.exp(-t[after] / tau_syn)
    np.testing.assert_allclose(recorded[1 + receptor, after, 0], expected_i, rtol=0, atol=1e-12)
    assert np.all(recorded[2 - receptor, :, 0] == 0.0)
    assert not harness.ring.any()  # the kernel consumes what it reads


# --- (3) alpha PSC ----------------------------------------------------------------------

@pytest.mark.parametrize("tau_syn", [2.0, 5.0, 20.0])
def test_alpha_psc_peaks_at_tau_syn_with_value_weight(tau_syn):
    weight, arrive, total, tau_m, cm = 0.9, 10, 1200, 20.0, 1.0
    harness = Harness(_lif.IFCurrAlpha, k_max=total, tau_syn_E=tau_syn, tau_m=tau_m, cm=cm,
                      v_thresh=100.0)
    _, recorded = harness.run(total, arrivals=_arrival(total, arrive, weight))
    current = recorded[1, :, 0]
    peak_step = arrive + int(round(tau_syn / DT))
    assert np.argmax(current) == peak_step
    assert current[peak_step] == pytest.approx(weight, abs=1e-12)
    t = (np.arange(total) - arrive) * DT
    after = t >= 0
    x = t[after] / tau_syn
    np.testing.assert_allclose(current[after], weight * x * np.exp(1.0 - x), rtol=0, atol=1e-12)
    if tau_syn != tau_m:
        # cm dV/dt = -cm V/tau_m + w e/tau_syn t exp(-t/tau_syn)
        alpha = 1.0 / tau_syn - 1.0 / tau_m
        tt = t[after]
        psp = (weight * math.e / (tau_syn * cm) * np.exp(-tt / tau_m)
               * (1.0 - np.exp(-alpha * tt) * (1.0 + alpha * tt)) / alpha ** 2)
    else:
        psp = weight * math.e / (tau_syn * cm) * t[after] ** 2 / 2 * np.exp(-t[after] / tau_m)
    np.testing.assert_allclose(recorded[0, after, 0], -65.0 + psp, rtol=0, atol=1e-12)


def test_alpha_inhibitory_psc():
    harness = Harness(_lif.IFCurrAlpha, k_max=200, tau_syn_I=3.0)
    _, recorded = harness.run(200, arrivals=_arrival(200, 5, -0.6, receptor=1))
    assert recorded[2, 5 + 30, 0] == pytest.approx(-0.6, abs=1e-12)
    assert np.all(recorded[1] == 0.0)
    assert recorded[0, 5 + 60, 0] < -65.0


# --- (4) refractoriness and spike step --------------------------------------------------

@pytest.mark.parametrize("cls", [_lif.IFCurrExp, _lif.IFCurrAlpha, _lif.IFCurrDelta])
def test_refractory_clamp_and_spike_step(cls):
    tau_m, cm, i_offset, v_rest, v_thresh, v_reset, tau_refrac = 20.0, 1.0, 1.0, -65.0, -50.0, -70.0, 2.0
    harness = Harness(cls, k_max=500, tau_m=tau_m, cm=cm, i_offset=i_offset, v_rest=v_rest,
                      v_thresh=v_thresh, v_reset=v_reset, tau_refrac=tau_refrac)
    spikes, recorded = harness.run(2000)
    v = recorded[0, :, 0]
    steady = v_rest + tau_m / cm * i_offset
    steps = np.arange(1, 2000)
    crossing = v_rest + (steady - v_rest) * (1.0 - np.exp(-steps * DT / tau_m))
    first = int(np.argmax(crossing >= v_thresh))  # end of step `first` is time (first+1) dt
    spike_steps = np.flatnonzero(spikes[:, 0])
    assert spike_steps[0] == first
    refractory = int(round(tau_refrac / DT))
    assert np.allclose(v[first:first + refractory + 1], v_reset, rtol=0, atol=1e-12)
    p22 = math.exp(-DT / tau_m)
    resumed = v_rest + (v_reset - v_rest) * p22 + tau_m / cm * i_offset * (1.0 - p22)
    assert v[first + refractory + 1] == pytest.approx(resumed, abs=1e-12)
    # later intervals: reset -> threshold takes a fixed number of steps + the refractory count
    intervals = np.diff(spike_steps)
    assert len(intervals) >= 3 and np.all(intervals == intervals[0])
    from_reset = v_rest + (steady - v_rest) + (v_reset - steady) * np.exp(-steps * DT / tau_m)
    assert intervals[0] == refractory + int(np.argmax(from_reset >= v_thresh)) + 1


def test_zero_refractory_period_integrates_next_step():
    harness = Harness(_lif.IFCurrExp, k_max=400, i_offset=1.0, tau_refrac=0.0, v_reset=-70.0)
    spikes, recorded = harness.run(400)
    first = int(np.flatnonzero(spikes[:, 0])[0])
    assert recorded[0, first, 0] == pytest.approx(-70.0, abs=1e-12)
    assert recorded[0, first + 1, 0] > -70.0 + 1e-6


def test_refractory_count_follows_nest_time_grid():
    assert _lif.refractory_count(2.0, 0.1) == 20
    assert _lif.refractory_count(0.0, 0.1) == 0
    assert _lif.refractory_count(0.1, 0.1) == 1
    assert _lif.refractory_count(2.05, 0.1) == 21   # NEST rounds up to whole steps
    assert _lif.refractory_count(2.0, 0.01) == 200
    assert _lif.refractory_count(5.0, 1.0) == 5


def test_synaptic_current_evolves_during_refractoriness():
    harness = Harness(_lif.IFCurrExp, k_max=400, i_offset=1.0, v_reset=-70.0, tau_refrac=5.0)
    spikes_alone, _ = harness.run(400)
    first = int(np.flatnonzero(spikes_alone[:, 0])[0])
    harness = Harness(_lif.IFCurrExp, k_max=400, i_offset=1.0, v_reset=-70.0, tau_refrac=5.0)
    _, recorded = harness.run(400, arrivals=_arrival(400, first + 3, 0.8))
    assert recorded[1, first + 3, 0] == 0.8
    assert recorded[1, first + 10, 0] == pytest.approx(0.8 * math.exp(-7 * DT / 5.0), abs=1e-12)
    assert np.allclose(recorded[0, first:first + 51, 0], -70.0, atol=1e-12)


def test_delta_weight_jumps_v_in_its_step_and_is_lost_when_refractory():
    harness = Harness(_lif.IFCurrDelta, k_max=100, v_thresh=-50.0, v_reset=-70.0)
    arrivals = np.zeros((2, 100, 1))
    arrivals[0, 10] = 20.0    # crosses threshold in step 10
    arrivals[0, 15] = 5.0     # refractory (steps 11..30): discarded
    arrivals[1, 40] = -3.0    # inhibitory jump
    spikes, recorded = harness.run(100, arrivals=arrivals)
    assert list(np.flatnonzero(spikes[:, 0])) == [10]
    v = recorded[0, :, 0]
    assert np.allclose(v[10:31], -70.0, atol=1e-12)
    p33 = math.exp(-DT / 20.0)
    v_expected = -65.0 + (-70.0 + 65.0) * p33 ** (39 - 30)
    assert v[39] == pytest.approx(v_expected, abs=1e-12)
    assert v[40] == pytest.approx(-65.0 + (v_expected + 65.0) * p33 - 3.0, abs=1e-12)


# --- (5) threads and window splits ------------------------------------------------------

def _random_run(cls, num_threads, windows, seed=1, n=257, total=600):
    rng = np.random.default_rng(seed)
    if cls is _lif.Izhikevich:
        params = dict(a=rng.uniform(0.02, 0.1, n), b=rng.uniform(0.2, 0.25, n),
                      c=rng.uniform(-65, -50, n), d=rng.uniform(0.05, 8, n),
                      i_offset=rng.uniform(0, 0.015, n))
        scale = 3.0
    else:
        params = dict(tau_m=rng.uniform(5, 30, n), cm=rng.uniform(0.2, 1.5, n),
                      tau_syn_E=rng.uniform(1, 10, n), tau_syn_I=rng.uniform(1, 10, n),
                      i_offset=rng.uniform(0, 1.2, n), tau_refrac=rng.uniform(0, 5, n),
                      v_reset=rng.uniform(-75, -60, n))
        params['tau_syn_E'][:10] = params['tau_m'][:10]  # singular propagators too
        scale = 3.0 if cls is _lif.IFCurrDelta else 0.5
    arrivals = np.zeros((2, total, n))
    mask = rng.random((2, total, n)) < 0.05
    arrivals[0][mask[0]] = rng.uniform(0, scale, mask[0].sum())
    arrivals[1][mask[1]] = -rng.uniform(0, scale, mask[1].sum())
    i_ext = rng.normal(0.0, 0.3 if cls is not _lif.Izhikevich else 0.005, (total, n))
    # the ring is shorter than the run: slots are reused across windows
    harness = Harness(cls, n=n, k_max=max(windows), ring_length=max(windows) + 3,
                      num_threads=num_threads, **params)
    spikes, recorded = _run_windows(harness, total, windows, i_ext, arrivals)
    state = {name: harness.state[name].copy() for name in harness.state}
    return spikes, recorded, state


def _run_windows(harness, total, windows, i_ext, arrivals):
    spikes = np.zeros((total, harness.n), dtype=np.uint8)
    recorded = np.zeros((len(harness.cls.state_names), total, harness.n))
    length = harness.ring.shape[1]
    step, w = 0, 0
    while step < total:
        K = min(windows[w % len(windows)], total - step)
        w += 1
        for k in range(K):
            harness.ring[:, (step + k) % length, :] += arrivals[:, step + k, :]
        harness.i_ext[:K] = i_ext[step:step + K]
        harness.kernel.update(step, K, True)
        spikes[step:step + K] = harness.spiked[:K]
        recorded[:, step:step + K] = harness.rec[:, :K]
        step += K
    return spikes, recorded


@pytest.mark.parametrize("cls", [_lif.IFCurrExp, _lif.IFCurrAlpha, _lif.IFCurrDelta,
                                 _lif.Izhikevich])
def test_bit_identical_across_threads_and_windows(cls):
    reference = _random_run(cls, 1, [1])
    assert reference[0].sum() > 50  # the comparison covers spikes and resets
    for num_threads, windows in [(2, [1]), (1, [40]), (2, [40]), (4, [7, 64, 1, 33]),
                                 (3, [600])]:
        spikes, recorded, state = _random_run(cls, num_threads, windows)
        np.testing.assert_array_equal(spikes, reference[0])
        np.testing.assert_array_equal(recorded, reference[1])
        for name in state:
            np.testing.assert_array_equal(state[name], reference[2][name])


@pytest.mark.parametrize("vary", [None, "v_thresh", "i_offset_signed_zero"])
def test_exp_fused_window_reads_shared_constants_as_the_same_numbers(vary):
    """IF_curr_exp's fused window (no recording) reads a per-neuron constant that has one
    value for every neuron from a block-long row instead of the array: the same spikes
    and state as the recording path, which reads the arrays. A constant that differs
    for one neuron, or only in the sign of a zero, is read per neuron."""
    n, total = 600, 400           # three blocks, the last one partial
    rng = np.random.default_rng(5)
    params = dict(i_offset=np.full(n, 0.9), tau_syn_E=2.0, tau_syn_I=4.0, v_reset=-70.0)
    expected_shared = 11
    if vary == "v_thresh":
        params["v_thresh"] = np.full(n, -50.0)
        params["v_thresh"][317] = -52.0
        expected_shared = 10
    elif vary == "i_offset_signed_zero":
        params["i_offset"] = np.zeros(n)
        params["i_offset"][3] = -0.0
        expected_shared = 10
    arrivals = np.zeros((2, total, n))
    mask = rng.random((2, total, n)) < 0.05
    arrivals[0][mask[0]] = rng.uniform(0, 3.0, mask[0].sum())
    arrivals[1][mask[1]] = -rng.uniform(0, 1.0, mask[1].sum())
    runs = []
    for record in (True, False):
        harness = Harness(_lif.IFCurrExp, n=n, k_max=30, ring_length=33, record=record,
                          **params)
        assert harness.kernel.uniform_constants == expected_shared
        spikes, _ = harness.run(total, window=30, arrivals=arrivals)
        runs.append((spikes, harness.state))
    assert runs[0][0].sum() > 100
    np.testing.assert_array_equal(runs[1][0], runs[0][0])
    for name in runs[0][1]:
        np.testing.assert_array_equal(runs[1][1][name], runs[0][1][name])


def test_recording_off_leaves_state_identical():
    with_rec = Harness(_lif.IFCurrAlpha, n=5, k_max=50, i_offset=np.linspace(0.5, 1.5, 5))
    without = Harness(_lif.IFCurrAlpha, n=5, k_max=50, record=False,
                      i_offset=np.linspace(0.5, 1.5, 5))
    s1, _ = with_rec.run(500)
    s2, _ = without.run(500)
    np.testing.assert_array_equal(s1, s2)
    for name in with_rec.state:
        np.testing.assert_array_equal(with_rec.state[name], without.state[name])
    with pytest.raises(ValueError, match="rec"):
        without.kernel.update(0, 10, True)


# --- (6) Izhikevich ---------------------------------------------------------------------

def _nest_izhikevich_reference(v, u, a, b, c, d, i_offset, h, steps):
    """NEST izhikevich::update (consistent integration) in plain Python floats."""
    spikes, vs = [], []
    i_e = i_offset * 1000.0
    for s in range(steps):
        v_old, u_old = v, u
        v = v + (h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + 0.0 * 1000.0 + i_e)
                 + (0.0 + 0.0))
        u = u + h * a * (b * v_old - u_old)
        if v >= 30.0:
            v, u = c, u + d
            spikes.append(s)
        vs.append(v)
    return spikes, vs


def test_izhikevich_tonic_spiking_is_regular():
    # Izhikevich (2004) tonic spiking: a=0.02, b=0.2, c=-65, d=6, I=14 (pA) -> 0.014 nA
    harness = Harness(_lif.Izhikevich, k_max=1000, a=0.02, b=0.2, c=-65.0, d=6.0,
                      i_offset=0.014)
    harness.state['v'][:] = -70.0
    harness.state['u'][:] = -14.0
    spikes, recorded = harness.run(10000)
    spike_steps = np.flatnonzero(spikes[:, 0])
    assert len(spike_steps) >= 10
    intervals = np.diff(spike_steps)[3:]
    assert intervals.max() - intervals.min() <= 1
    assert np.all(recorded[0, spike_steps, 0] == -65.0)
    assert recorded[0, :, 0].max() < 30.0
    ref_spikes, ref_v = _nest_izhikevich_reference(-70.0, -14.0, 0.02, 0.2, -65.0, 6.0, 0.014,
                                                   DT, 10000)
    assert list(spike_steps) == ref_spikes
    np.testing.assert_array_equal(recorded[0, :, 0], np.array(ref_v))


def test_izhikevich_weight_jumps_v_in_its_step():
    harness = Harness(_lif.Izhikevich, k_max=20)
    quiet = Harness(_lif.Izhikevich, k_max=20)
    _, rec = harness.run(20, arrivals=_arrival(20, 5, 4.0))
    _, rec_quiet = quiet.run(20)
    assert np.all(rec[:, :5] == rec_quiet[:, :5])
    assert rec[0, 5, 0] == pytest.approx(rec_quiet[0, 5, 0] + 4.0, abs=1e-12)


# --- interface ----------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [_lif.IFCurrExp, _lif.IFCurrAlpha, _lif.IFCurrDelta,
                                 _lif.Izhikevich])
def test_interface_attributes(cls):
    assert cls.receptor_names == ('excitatory', 'inhibitory')
    assert isinstance(cls.state_names, tuple) and cls.state_names[0] == 'v'
    assert isinstance(cls.internal_names, tuple) and isinstance(cls.param_names, tuple)
    assert cls.__doc__ and 'NEST' in cls.__doc__


def test_bad_arrays_are_named_in_the_error():
    h = Harness(_lif.IFCurrExp, n=4, k_max=10)
    args = [h.params, h.state, DT, h.ring, h.i_ext, h.spiked, h.rec]
    cases = [
        (3, np.zeros((2, 10, 5)), r"ring: expected shape \(2, L, 4\)"),
        (4, np.zeros((10, 3)), r"i_ext: expected shape \(K_max, 4\)"),
        (5, np.zeros((10, 4)), r"spiked: .*dtype uint8"),
        (5, np.zeros((9, 4), dtype=np.uint8), r"spiked: expected shape \(10, 4\)"),
        (6, np.zeros((3, 9, 4)), r"rec: expected shape \(3, 10, 4\)"),
    ]
    for index, value, message in cases:
        bad = list(args)
        bad[index] = value
        with pytest.raises(ValueError, match=message):
            _lif.IFCurrExp(*bad)
    bad_state = dict(h.state, isyn_inh=np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"state\['isyn_inh'\].*float64"):
        _lif.IFCurrExp(h.params, bad_state, DT, h.ring, h.i_ext, h.spiked, h.rec)
    bad_params = dict(h.params, tau_m=np.zeros(5))
    with pytest.raises(ValueError, match=r"params\['tau_m'\]: expected shape \(4,\)"):
        _lif.IFCurrExp(bad_params, h.state, DT, h.ring, h.i_ext, h.spiked, h.rec)
    missing = {k: v for k, v in h.state.items() if k != 'refractory_steps'}
    with pytest.raises(ValueError, match="refractory_steps"):
        _lif.IFCurrExp(h.params, missing, DT, h.ring, h.i_ext, h.spiked, h.rec)
    with pytest.raises(ValueError, match="K"):
        h.kernel.update(0, 11, True)
    with pytest.raises(ValueError, match="K"):
        h.kernel.update(0, 0, True)


def test_state_arrays_are_updated_in_place():
    h = Harness(_lif.IFCurrExp, n=2, k_max=10, i_offset=0.5)
    v = h.state['v']
    h.run(10)
    assert h.state['v'] is v and v[0] > -65.0


# --- NEST's arithmetic, step by step ----------------------------------------------------
# Plain-Python transcriptions of NEST's update loops (iaf_psc_exp, iaf_psc_alpha,
# iaf_psc_delta), in NEST's units (pA, pF) with V carried relative to E_L, as pyNN.nest
# would set them up. The kernels work in nA/nF and store v absolute, so they agree to
# rounding, not bit for bit.

def _nest_p32(tau_syn, tau_m, c_pf, h):
    beta = tau_syn * tau_m / (tau_m - tau_syn) if tau_m != tau_syn else math.inf
    inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    with np.errstate(invalid='ignore'):
        p = (beta / c_pf) * math.exp(-h * (1 / tau_syn)) * math.expm1(h * inv_beta) \
            if math.isfinite(beta) else math.nan
    if math.isfinite(p) and p > 2.2250738585072014e-308:
        return p
    return h * (1 / c_pf) * math.exp(-h * (1 / tau_m))


def _nest_p31(tau_syn, tau_m, c_pf, h):
    if tau_m != tau_syn and h > 1e-7 * tau_m * tau_m / abs(tau_m - tau_syn):
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        return (beta / c_pf) * math.exp(-h * (1 / tau_syn)) * (beta * math.expm1(h * inv_beta) - h)
    return 0.5 * h * h * (1 / c_pf) * math.exp(-h * (1 / tau_m))


def _nest_reference(model, p, arrivals_pa, steps, h=DT):
    """V_m (mV) and spike steps of one NEST neuron; arrivals_pa[r][s] in pA (signed)."""
    c, tau, e_l = p['cm'] * 1000.0, p['tau_m'], p['v_rest']
    i_e = p['i_offset'] * 1000.0
    theta, v_reset = p['v_thresh'] - e_l, p['v_reset'] - e_l
    ref_count = _lif.refractory_count(p['tau_refrac'], h)
    y, r = 0.0, 0
    i_ex = i_in = di_ex = di_in = 0.0
    vs, spikes = [], []
    if model == 'exp':
        p11e, p11i = math.exp(-h / p['tau_syn_E']), math.exp(-h / p['tau_syn_I'])
        p22 = math.exp(-h / tau)
        p21e, p21i = (_nest_p32(p['tau_syn_E'], tau, c, h), _nest_p32(p['tau_syn_I'], tau, c, h))
        p20 = tau / c * (1.0 - p22)
    elif model == 'alpha':
        p11e, p11i = math.exp(-h / p['tau_syn_E']), math.exp(-h / p['tau_syn_I'])
        em1 = math.expm1(-h / tau)
        p30 = -tau / c * math.expm1(-h / tau)
        p21e, p21i = h * p11e, h * p11i
        p31e, p32e = _nest_p31(p['tau_syn_E'], tau, c, h), _nest_p32(p['tau_syn_E'], tau, c, h)
        p31i, p32i = _nest_p31(p['tau_syn_I'], tau, c, h), _nest_p32(p['tau_syn_I'], tau, c, h)
        epsc, ipsc = 1.0 * math.e / p['tau_syn_E'], 1.0 * math.e / p['tau_syn_I']
    else:
        p33 = math.exp(-h / tau)
        p30 = 1 / c * (1 - p33) * tau
    for s in range(steps):
        w_ex, w_in = arrivals_pa[0][s], arrivals_pa[1][s]
        if model == 'exp':
            if r == 0:
                y = y * p22 + i_ex * p21e + i_in * p21i + (i_e + 0.0) * p20
            else:
                r -= 1
            i_ex *= p11e
            i_in *= p11i
            i_ex += w_ex
            i_in += w_in
        elif model == 'alpha':
            if r == 0:
                y = (p30 * (0.0 + i_e) + p31e * di_ex + p32e * i_ex + p31i * di_in + p32i * i_in
                     + em1 * y + y)
            else:
                r -= 1
            i_ex = p21e * di_ex + p11e * i_ex
            di_ex *= p11e
            di_ex += epsc * w_ex
            i_in = p21i * di_in + p11i * i_in
            di_in *= p11i
            di_in += ipsc * w_in
        else:
            if r == 0:
                y = p30 * (0.0 + i_e) + p33 * y + (w_ex + w_in)
            else:
                r -= 1
        if y >= theta:
            r, y = ref_count, v_reset
            spikes.append(s)
        vs.append(y + e_l)
    return np.array(vs), spikes


@pytest.mark.parametrize("cls, model", [(_lif.IFCurrExp, 'exp'), (_lif.IFCurrAlpha, 'alpha'),
                                        (_lif.IFCurrDelta, 'delta')])
@pytest.mark.parametrize("tau_syn", [3.0, 20.0])
def test_matches_nest_arithmetic(cls, model, tau_syn):
    rng = np.random.default_rng(3)
    total = 3000
    p = dict(LIF_DEFAULTS, tau_m=20.0, tau_syn_E=tau_syn, tau_syn_I=tau_syn, i_offset=0.85,
             v_reset=-70.0, tau_refrac=2.0)
    arrivals = np.zeros((2, total, 1))
    scale = 4.0 if model == 'delta' else 1.0
    hits = rng.random((2, total)) < 0.05
    arrivals[0, hits[0], 0] = rng.uniform(0, scale, hits[0].sum())
    arrivals[1, hits[1], 0] = -rng.uniform(0, 0.5 * scale, hits[1].sum())
    harness = Harness(cls, k_max=250, **{k: v for k, v in p.items() if k in cls.param_names})
    spikes, recorded = harness.run(total, arrivals=arrivals)
    factor = 1.0 if model == 'delta' else 1000.0   # pyNN.nest: nA -> pA, mV stays mV
    v_nest, spikes_nest = _nest_reference(model, p, arrivals[:, :, 0] * factor, total)
    assert len(spikes_nest) > 10
    assert list(np.flatnonzero(spikes[:, 0])) == spikes_nest
    np.testing.assert_allclose(recorded[0, :, 0], v_nest, rtol=0, atol=1e-12)


# --- NEST itself, when it is installed ---------------------------------------------------

NEST_MODELS = {
    'IFCurrExp': 'iaf_psc_exp', 'IFCurrAlpha': 'iaf_psc_alpha',
    'IFCurrDelta': 'iaf_psc_delta', 'Izhikevich': 'izhikevich',
}


def _run_nest(nest, cls, p, arrivals, total, h=DT):
    """V_m of one NEST neuron set up as pyNN.nest would, recorded at (k+1) h."""
    nest.ResetKernel()
    nest.set_verbosity('M_ERROR')
    nest.SetKernelStatus({'resolution': h})
    if cls is _lif.Izhikevich:
        native = dict(a=p['a'], b=p['b'], c=p['c'], d=p['d'], I_e=p['i_offset'] * 1000.0,
                      V_m=INITIAL['v'], U_m=INITIAL['u'])
        factor = 1.0
    else:
        native = dict(E_L=p['v_rest'], C_m=p['cm'] * 1000.0, tau_m=p['tau_m'],
                      t_ref=p['tau_refrac'], V_reset=p['v_reset'], V_th=p['v_thresh'],
                      I_e=p['i_offset'] * 1000.0, V_m=p['v_rest'])
        if cls is not _lif.IFCurrDelta:
            native.update(tau_syn_ex=p['tau_syn_E'], tau_syn_in=p['tau_syn_I'])
        factor = 1.0 if cls is _lif.IFCurrDelta else 1000.0
    neuron = nest.Create(NEST_MODELS[cls.__name__], params=native)
    # an arrival in step s comes from a spike at s h sent with a delay of one step
    for receptor in (0, 1):
        for s in np.flatnonzero(arrivals[receptor, :, 0]):
            if s < 1:
                continue
            generator = nest.Create('spike_generator', params={'spike_times': [round(s * h, 9)]})
            nest.Connect(generator, neuron, syn_spec={
                'weight': float(arrivals[receptor, s, 0]) * factor, 'delay': h})
    meter = nest.Create('multimeter', params={'record_from': ['V_m'], 'interval': h})
    nest.Connect(meter, neuron)
    recorder = nest.Create('spike_recorder')
    nest.Connect(neuron, recorder)
    nest.Simulate(total * h + h)
    events = meter.get('events')
    steps = np.rint(np.asarray(events['times']) / h).astype(int) - 1
    v = np.full(total, np.nan)
    keep = (steps >= 0) & (steps < total)
    v[steps[keep]] = np.asarray(events['V_m'])[keep]
    spike_steps = np.rint(np.asarray(recorder.get('events')['times']) / h).astype(int) - 1
    return v, [int(s) for s in spike_steps if s < total]


@pytest.mark.parametrize("cls", [_lif.IFCurrExp, _lif.IFCurrAlpha, _lif.IFCurrDelta,
                                 _lif.Izhikevich])
def test_matches_nest(cls):
    nest = pytest.importorskip("nest")
    rng = np.random.default_rng(5)
    total = 5000
    if cls is _lif.Izhikevich:
        p = dict(a=0.02, b=0.2, c=-65.0, d=6.0, i_offset=0.010)
        scale = 3.0
    else:
        p = dict(LIF_DEFAULTS, tau_m=20.0, tau_syn_E=3.0, tau_syn_I=6.0, i_offset=1.5,
                 v_reset=-70.0, tau_refrac=2.0)
        scale = 4.0 if cls is _lif.IFCurrDelta else 1.0
    arrivals = np.zeros((2, total, 1))
    hits = rng.random((2, total)) < 0.03
    hits[:, 0] = False
    arrivals[0, hits[0], 0] = rng.uniform(0, scale, hits[0].sum())
    arrivals[1, hits[1], 0] = -rng.uniform(0, 0.5 * scale, hits[1].sum())
    harness = Harness(cls, k_max=250, **{k: v for k, v in p.items() if k in cls.param_names})
    if cls is _lif.Izhikevich:
        harness.state['v'][:] = INITIAL['v']
        harness.state['u'][:] = INITIAL['u']
    spikes, recorded = harness.run(total, arrivals=arrivals)
    v_nest, spikes_nest = _run_nest(nest, cls, p, arrivals, total)
    assert len(spikes_nest) > 10
    assert list(np.flatnonzero(spikes[:, 0])) == spikes_nest
    difference = np.nanmax(np.abs(recorded[0, :, 0] - v_nest))
    print(f"{cls.__name__}: max |v - v_nest| = {difference:.3g} mV")
    assert difference < 1e-9


@pytest.mark.parametrize("cls", [_lif.IFCurrExp, _lif.IFCurrAlpha, _lif.IFCurrDelta])
@pytest.mark.parametrize("extra", [
    dict(tau_syn_E=20.0, tau_refrac=2.05),                      # tau_syn == tau_m; t_ref off-grid
    dict(tau_syn_E=20.0 + 1e-6, tau_syn_I=19.99, tau_refrac=0.3),  # near the singularity
    dict(tau_refrac=0.0), dict(tau_refrac=1.04)])
def test_matches_nest_edge_cases(cls, extra):
    nest = pytest.importorskip("nest")
    rng = np.random.default_rng(7)
    total = 5000
    p = dict(LIF_DEFAULTS, tau_m=20.0, tau_syn_E=3.0, tau_syn_I=6.0, i_offset=1.5,
             v_reset=-70.0, tau_refrac=2.0)
    p.update(extra)
    scale = 4.0 if cls is _lif.IFCurrDelta else 1.0
    arrivals = np.zeros((2, total, 1))
    hits = rng.random((2, total)) < 0.03
    hits[:, 0] = False
    arrivals[0, hits[0], 0] = rng.uniform(0, scale, hits[0].sum())
    arrivals[1, hits[1], 0] = -rng.uniform(0, 0.5 * scale, hits[1].sum())
    harness = Harness(cls, k_max=250, **{k: v for k, v in p.items() if k in cls.param_names})
    spikes, recorded = harness.run(total, arrivals=arrivals)
    v_nest, spikes_nest = _run_nest(nest, cls, p, arrivals, total)
    assert len(spikes_nest) > 10
    assert list(np.flatnonzero(spikes[:, 0])) == spikes_nest
    assert np.nanmax(np.abs(recorded[0, :, 0] - v_nest)) < 1e-9
