"""Dynamics sanity: analytic LIF firing, PSP shape, spike-source statistics, short-term
and spike-timing-dependent plasticity."""
import math

import numpy as np
import pytest


def _lif_times(i_offset, tau_m=20.0, cm=1.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0,
               tau_refrac=2.0, dt=0.1, t_stop=200.0):
    """Spike times of a LIF neuron with constant current on the dt grid (exact
    integration; a spike is emitted at the first grid point at or after the crossing; the
    neuron is clamped at v_reset for tau_refrac, then integrates from there)."""
    R = tau_m / cm
    RI = R * i_offset
    times = []
    t_free, v0 = 0.0, v_rest
    while True:
        # v(t) = v_rest + RI + (v0 - v_rest - RI) exp(-(t - t_free)/tau_m)
        ratio = RI / (RI - (v_thresh - v0)) if v0 == v_rest else \
            (RI + v_rest - v0) / (RI + v_rest - v_thresh)
        t_cross = t_free + tau_m * math.log(ratio)
        t_spike = math.ceil(round(t_cross / dt, 9)) * dt
        if t_spike > t_stop:
            return np.array(times)
        times.append(t_spike)
        t_free, v0 = t_spike + tau_refrac, v_reset


@pytest.mark.parametrize("dt", [0.1, 0.01, 0.25])
@pytest.mark.parametrize("i_offset,tau_refrac,v_reset", [(1.0, 2.0, -65.0), (2.3, 5.0, -60.0),
                                                         (0.9, 0.0, -70.0)])
def test_lif_constant_current_analytic(dt, i_offset, tau_refrac, v_reset):
    import pyNN_neuro as sim
    sim.setup(timestep=dt)
    p = sim.Population(1, sim.IF_curr_exp(i_offset=i_offset, tau_refrac=tau_refrac,
                                          v_reset=v_reset))
    p.record("spikes")
    sim.run(300.0)
    got = p.get_data().segments[0].spiketrains[0].magnitude
    expected = _lif_times(i_offset, tau_refrac=tau_refrac, v_reset=v_reset, dt=dt, t_stop=300.0)
    assert got.size == expected.size
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # first spike: tau_m ln(RI / (RI - (v_th - v_rest))) rounded up to the grid
    t1 = 20.0 * math.log(20 * i_offset / (20 * i_offset - 15.0))
    assert got[0] == pytest.approx(math.ceil(t1 / dt) * dt, abs=1e-9)
    sim.end()


def test_lif_first_spike_default_parameters(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    p.record("spikes")
    sim.run(100.0)
    st = p.get_data().segments[0].spiketrains[0].magnitude
    # 20 ln(20/5) = 27.73 ms -> 27.8; then + 0.1 ms refractory (PyNN's default) + 27.73
    np.testing.assert_allclose(st[:3], [27.8, 55.7, 83.6], atol=1e-9)


@pytest.mark.parametrize("model", ["IF_curr_exp", "IF_curr_alpha", "IF_curr_delta"])
def test_current_source_injected_between_runs(sim, model):
    """Without a current source the integrate-and-fire kernels read one row of zeros
    for every step of a window. A source injected after a first run must act from its
    start exactly as one injected before the first run, step by step inside a window,
    in the kernel that records v (A) and in the one that does not (B)."""
    def run(inject):
        sim.setup(timestep=0.1, min_delay=1.0)
        a = sim.Population(200, getattr(sim, model)(i_offset=0.2))
        b = sim.Population(200, getattr(sim, model)(i_offset=0.2))
        a.record(["spikes", "v"])
        b.record("spikes")
        # changes inside windows (of 10 steps here): a kernel reading one row per
        # window would miss them until the next window
        source = sim.StepCurrentSource(times=[40.3, 70.5], amplitudes=[1.5, 0.4])
        if inject == "early":
            a.inject(source)
            b.inject(source)
        sim.run(30.0)
        if inject == "late":
            a.inject(source)
            b.inject(source)
        sim.run(70.0)
        spikes = [[np.asarray(st.magnitude) for st in p.get_data().segments[0].spiketrains]
                  for p in (a, b)]
        v = np.asarray(a.get_data().segments[0].filter(name="v")[0].magnitude)[:, 0]
        sim.end()
        return spikes, v
    early, late, none = run("early"), run("late"), run("none")
    assert sum(s.size for s in early[0][0]) > 0
    for got in (early[0][1], late[0][0], late[0][1]):
        for x, y in zip(early[0][0], got):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(early[1], late[1])
    # recorded v at t = 0, 0.1, ... ms: the current changes v from the step after 40.3 ms
    # on, inside the window 40-41 ms
    np.testing.assert_array_equal(early[1][:404], none[1][:404])
    assert np.all(early[1][405:410] != none[1][405:410])


@pytest.mark.parametrize("model", ["IF_curr_exp", "IF_curr_alpha"])
def test_psp_shape_exact(sim, model):
    tau_m, tau_s, cm, w = 20.0, 2.0, 0.5, 0.8
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    post = sim.Population(1, getattr(sim, model)(tau_m=tau_m, tau_syn_E=tau_s, cm=cm))
    sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    post.record("v")
    sim.run(60.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    t = np.arange(v.size) * 0.1 - 11.0     # time since arrival at 11 ms
    s = np.clip(t, 0, None)
    if model == "IF_curr_exp":
        psp = w / cm * tau_m * tau_s / (tau_m - tau_s) * (np.exp(-s / tau_m) - np.exp(-s / tau_s))
    else:
        # alpha current w e/tau_s t exp(-t/tau_s) (peak w at t = tau_s)
        a = 1.0 / tau_s - 1.0 / tau_m
        psp = w * math.e / tau_s / cm * (
            (np.exp(-s / tau_m) - np.exp(-s / tau_s)) / a ** 2 - s * np.exp(-s / tau_s) / a)
    np.testing.assert_allclose(v, -65.0 + np.where(t > 0, psp, 0.0), atol=1e-9)


def _isis(trains):
    return np.concatenate([np.diff(t) for t in trains if t.size > 1])


def _source_stats(sim, celltype, n=30, t_stop=10000.0):
    src = sim.Population(n, celltype)
    src.record("spikes")
    sim.run(t_stop)
    trains = [st.magnitude for st in src.get_data().segments[0].spiketrains]
    rate = sum(t.size for t in trains) / n / (t_stop / 1000.0)
    isi = _isis(trains)
    return rate, isi.std() / isi.mean(), trains


def test_poisson_rate_and_cv(sim):
    rate, cv, trains = _source_stats(sim, sim.SpikeSourcePoisson(rate=50.0))
    assert rate == pytest.approx(50.0, rel=0.05)
    assert cv == pytest.approx(1.0, abs=0.05)
    # per neuron, within 5 sigma
    for t in trains:
        assert abs(t.size - 500) < 5 * math.sqrt(500)
    # on the grid; as NEST's poisson_generator, several spikes may fall in one step
    # (probability ~ rate dt / 2 of an ISI)
    isi = _isis(trains)
    assert np.all(isi >= 0)
    assert np.mean(isi == 0.0) < 0.01
    all_times = np.concatenate(trains)
    np.testing.assert_allclose(all_times / 0.1, np.round(all_times / 0.1), atol=1e-6)


def test_poisson_single_neuron_10s(sim):
    rate, cv, trains = _source_stats(sim, sim.SpikeSourcePoisson(rate=50.0), n=1)
    assert rate == pytest.approx(50.0, rel=0.15)
    assert cv == pytest.approx(1.0, abs=0.1)


def test_poisson_start_duration(sim):
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, start=200.0, duration=300.0))
    src.record("spikes")
    sim.run(1000.0)
    times = np.concatenate([st.magnitude for st in src.get_data().segments[0].spiketrains])
    assert times.min() >= 200.0 and times.max() <= 500.0
    assert times.size / 20 / 0.3 == pytest.approx(100.0, rel=0.1)


def test_gamma_rate_and_cv(sim):
    rate, cv, _ = _source_stats(sim, sim.SpikeSourceGamma(alpha=4, beta=200.0))
    assert rate == pytest.approx(50.0, rel=0.05)
    assert cv == pytest.approx(0.5, abs=0.05)


def test_poisson_refractory_rate_and_cv(sim):
    rate, cv, trains = _source_stats(sim, sim.SpikeSourcePoissonRefractory(rate=50.0,
                                                                           tau_refrac=5.0))
    assert rate == pytest.approx(50.0, rel=0.05)
    assert cv == pytest.approx(0.75, abs=0.05)
    assert _isis(trains).min() >= 5.0 - 1e-9


def _tm_peaks(sim, U, tau_rec, tau_facil, gap):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 10.0 + gap]))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=2.0, tau_m=10.0))
    sim.Projection(src, post, sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(weight=1.0, delay=1.0, U=U, tau_rec=tau_rec,
                                             tau_facil=tau_facil))
    post.record("v")
    sim.run(10.0 + 2 * gap)
    v = post.get_data().segments[0].analogsignals[0].magnitude[:, 0] + 65.0
    k = int(round((10.0 + gap) / 0.1))
    return v[:k].max(), v[k:].max()


def test_tsodyks_markram_depression(sim):
    p1, p2 = _tm_peaks(sim, U=0.5, tau_rec=800.0, tau_facil=0.0, gap=200.0)
    assert p2 < p1
    # NEST's tsodyks_synapse: x = 0.5 + y P_xy with y = 0.5 in use, tau_psc = 2 ms
    tau_psc, h = 2.0, 200.0
    pzz, pyy = math.exp(-h / 800.0), math.exp(-h / tau_psc)
    pxy = ((pzz - 1) * 800.0 - (pyy - 1) * tau_psc) / (tau_psc - 800.0)
    x = 0.5 + pxy * 0.5
    assert p2 / p1 == pytest.approx(x, rel=1e-6)


def test_tsodyks_markram_facilitation(sim):
    p1, p2 = _tm_peaks(sim, U=0.1, tau_rec=1.0, tau_facil=500.0, gap=100.0)
    # u jumps 0.1 -> 0.1 + 0.1 (1 - 0.1) e^{-100/500} ... second PSP larger
    assert p2 > 1.5 * p1


def test_tsodyks_markram_static_limit(sim):
    """U = 1, tau_rec -> tiny: every spike releases the full weight."""
    p1, p2 = _tm_peaks(sim, U=1.0, tau_rec=0.001, tau_facil=0.0, gap=400.0)
    assert p2 == pytest.approx(p1, rel=1e-6)


def _stdp_pairing(sim, offset, n_pairs=20, A_plus=0.01, A_minus=0.012, wd="Additive"):
    """Pre at 10 + 50 k, post forced at 10 + 50 k + offset (ms) by a strong kick."""
    base = 10.0 + 50.0 * np.arange(n_pairs)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=base))
    kick_times = base + offset - 1.7     # kick lands 1 ms later; the neuron fires 0.7 ms after
    kick = sim.Population(1, sim.SpikeSourceArray(spike_times=kick_times))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=10.0, tau_syn_E=1.0))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=A_plus,
                                            A_minus=A_minus),
        weight_dependence=getattr(sim, wd if wd.startswith("AdditivePot") else
                                  wd + "WeightDependence")(w_min=0.0, w_max=1.0),
        weight=0.5, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    sim.Projection(kick, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=30.0, delay=1.0))
    post.record("spikes")
    sim.run(base[-1] + 40.0)
    post_times = post.get_data().segments[0].spiketrains[0].magnitude
    return prj.get("weight", format="array")[0, 0], base, post_times


@pytest.mark.parametrize("wd", ["Additive", "Multiplicative",
                                "AdditivePotentiationMultiplicativeDepression", "Gutig"])
def test_stdp_potentiation_pre_before_post(sim, wd):
    w, pre, post = _stdp_pairing(sim, offset=5.0, wd=wd)
    assert post.size == pre.size
    np.testing.assert_allclose(post - pre, 5.0, atol=1e-9)
    assert w > 0.55


@pytest.mark.parametrize("wd", ["Additive", "Multiplicative",
                                "AdditivePotentiationMultiplicativeDepression", "Gutig"])
def test_stdp_depression_post_before_pre(sim, wd):
    w, pre, post = _stdp_pairing(sim, offset=-5.0, wd=wd)
    assert post.size == pre.size
    assert w < 0.45


def test_stdp_additive_matches_nest_all_to_all(sim):
    """NEST's stdp_synapse (all-to-all, the whole delay dendritic): potentiation at a post
    spike by A_plus w_max sum_k exp(-(t_post + d - t_pre_k)/tau_plus), depression at a pre
    spike by A_minus w_max sum_j exp(-(t_pre - d - t_post_j)/tau_minus)."""
    w, pre, post = _stdp_pairing(sim, offset=5.0)
    d = 1.0
    expected = 0.5
    # NEST applies the potentiation of a postsynaptic spike only at the next presynaptic
    # spike, and reports the weight as of the last one: later post spikes do not count
    events = sorted([(t + d, "post", t) for t in post if t + d <= pre[-1]] +
                    [(t, "pre", t) for t in pre])
    for _, kind, t in events:
        if kind == "post":
            expected += 0.01 * sum(math.exp(-(t + d - tp) / 20.0) for tp in pre if tp < t + d)
        else:
            expected -= 0.012 * sum(math.exp(-(t - d - tq) / 20.0) for tq in post if tq < t - d)
        expected = min(max(expected, 0.0), 1.0)
    assert w == pytest.approx(expected, rel=1e-9)


def test_stdp_no_change_without_post_spikes(sim):
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 200.0, 10.0)))
    post = sim.Population(1, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.01, A_minus=0.0),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
                             weight=0.1, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    sim.run(200.0)
    assert prj.get("weight", format="array")[0, 0] == 0.1


def test_stdp_weights_bounded(sim):
    w, _, _ = _stdp_pairing(sim, offset=5.0, A_plus=0.5, A_minus=0.0)
    assert w == 1.0
