"""reset(): initial values, spike sources replayed, plastic weights restored, in-flight
spikes dropped, a new Neo segment per run, no rebuild."""
import numpy as np
import pytest

from conftest import spike_arrays


def _spikes_of_segment(seg):
    return [np.asarray(st.magnitude) for st in seg.spiketrains]


def test_reset_restores_initial_values(sim):
    p = sim.Population(3, sim.IF_curr_exp(i_offset=[0.0, 0.5, 1.0]))
    p.initialize(v=-60.0)
    p.record("v")
    sim.run(30.0)
    v_end = sim.state.engine.groups[0].state["v"].copy()
    assert not np.allclose(v_end, -60.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    np.testing.assert_array_equal(sim.state.engine.groups[0].state["v"], [-60.0, -60.0, -60.0])
    sim.run(30.0)
    blk = p.get_data()
    assert len(blk.segments) == 2
    a0 = blk.segments[0].analogsignals[0].magnitude
    a1 = blk.segments[1].analogsignals[0].magnitude
    np.testing.assert_array_equal(a0[0], [-60.0, -60.0, -60.0])
    np.testing.assert_array_equal(a0, a1)


def test_initialize_after_first_run_used_by_reset(sim):
    p = sim.Population(2, sim.IF_curr_exp())
    p.record("v")
    sim.run(5.0)
    p.initialize(v=-55.0)
    sim.reset()
    sim.run(5.0)
    seg = p.get_data().segments[1]
    np.testing.assert_array_equal(seg.analogsignals[0].magnitude[0], [-55.0, -55.0])
    # relaxes towards v_rest = -65
    assert np.all(seg.analogsignals[0].magnitude[-1] < -55.0)


def test_initialize_with_random_distribution_reset_reproducible(sim):
    rng = sim.NumpyRNG(seed=42)
    p = sim.Population(10, sim.IF_curr_exp())
    p.initialize(v=sim.RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
    p.record("v")
    sim.run(10.0)
    sim.reset()
    sim.run(10.0)
    blk = p.get_data()
    v0 = blk.segments[0].analogsignals[0].magnitude
    v1 = blk.segments[1].analogsignals[0].magnitude
    assert np.all((v0[0] >= -65.0) & (v0[0] <= -55.0))
    assert np.unique(v0[0]).size == 10
    np.testing.assert_array_equal(v0, v1)


def test_reset_replays_spike_source_array(sim):
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 5.0, 17.3], [2.0, 40.0]]))
    src.record("spikes")
    sim.run(20.0)
    sim.reset()
    sim.run(50.0)
    blk = src.get_data()
    s0 = _spikes_of_segment(blk.segments[0])
    s1 = _spikes_of_segment(blk.segments[1])
    np.testing.assert_allclose(s0[0], [1.0, 5.0, 17.3])
    np.testing.assert_allclose(s0[1], [2.0])
    np.testing.assert_allclose(s1[0], [1.0, 5.0, 17.3])
    np.testing.assert_allclose(s1[1], [2.0, 40.0])


@pytest.mark.parametrize("celltype", ["SpikeSourcePoisson", "SpikeSourcePoissonRefractory",
                                      "SpikeSourceGamma"])
def test_reset_replays_random_sources_identically(sim, celltype):
    params = {"SpikeSourcePoisson": dict(rate=80.0),
              "SpikeSourcePoissonRefractory": dict(rate=80.0, tau_refrac=2.0),
              "SpikeSourceGamma": dict(alpha=3, beta=240.0)}[celltype]
    src = sim.Population(20, getattr(sim, celltype)(**params))
    src.record("spikes")
    sim.run(200.0)
    sim.reset()
    sim.run(200.0)
    sim.reset()
    sim.run(100.0)
    sim.run(100.0)   # split run: same trains as one run
    blk = src.get_data()
    s0, s1, s2 = (_spikes_of_segment(seg) for seg in blk.segments)
    assert sum(a.size for a in s0) > 100
    for a, b, c in zip(s0, s1, s2):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def _tm_network(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 100.0, 10.0)))
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=5.0))
    prj = sim.Projection(src, post, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=1.0, delay=1.0, U=0.5, tau_rec=800.0,
                                                   tau_facil=0.0))
    post.record("v")
    return src, post, prj


def test_reset_restores_tsodyks_markram_state(sim):
    src, post, prj = _tm_network(sim)
    sim.run(100.0)
    sim.reset()
    sim.run(100.0)
    blk = post.get_data()
    v0 = blk.segments[0].analogsignals[0].magnitude
    v1 = blk.segments[1].analogsignals[0].magnitude
    np.testing.assert_array_equal(v0, v1)
    np.testing.assert_array_equal(prj.get("weight", format="array"), [[1.0]])


def _stdp_network(sim, weight_dependence):
    # pre at 10, 30, ... ; post forced to spike 5 ms after each pre by a strong input
    pre_times = np.arange(10.0, 400.0, 20.0)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=pre_times))
    kick = sim.Population(1, sim.SpikeSourceArray(spike_times=pre_times + 4.0))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=10.0, tau_syn_E=1.0))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                            A_minus=0.012),
        weight_dependence=weight_dependence, weight=0.5, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    sim.Projection(kick, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=30.0, delay=1.0))
    post.record("spikes")
    return prj, post


@pytest.mark.parametrize("wd", ["Additive", "Multiplicative"])
def test_stdp_weight_changes_and_reset_restores(sim, wd):
    dep = getattr(sim, wd + "WeightDependence")(w_min=0.0, w_max=1.0)
    prj, post = _stdp_network(sim, dep)
    w0 = prj.get("weight", format="array").copy()
    sim.run(400.0)
    assert post.get_spike_counts()[post[0]] >= 15
    w1 = prj.get("weight", format="array")
    assert w1[0, 0] > w0[0, 0] + 0.01, "pre-before-post pairing must potentiate"
    sim.reset()
    np.testing.assert_array_equal(prj.get("weight", format="array"), w0)
    sim.run(400.0)
    np.testing.assert_allclose(prj.get("weight", format="array"), w1, rtol=0, atol=1e-12)


def test_reset_clears_in_flight_spikes(sim):
    """A spike emitted just before reset, with a long delay, must not arrive afterwards."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[9.5]))
    post = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=5.0))
    post.record("v")
    sim.run(10.0)
    # after reset, remove the spike: nothing should reach the neuron at t ~ 14.6
    src.set(spike_times=[[]])
    sim.reset()
    sim.run(20.0)
    seg = post.get_data().segments[1]
    v = seg.analogsignals[0].magnitude[:, 0]
    np.testing.assert_allclose(v, -65.0, atol=1e-12)


def test_reset_clears_in_flight_spikes_recurrent(sim):
    """Same with a neuron that fired just before the reset through a recurrent projection."""
    p = sim.Population(2, sim.IF_curr_exp(i_offset=[2.0, 0.0]))
    sim.Projection(p, p, sim.FromListConnector([(0, 1)]),
                   sim.StaticSynapse(weight=5.0, delay=8.0))
    p.record(["spikes", "v"])
    sim.run(100.0)
    n0 = p.get_spike_counts()[p[0]]
    assert n0 > 2
    p[0:1].set(i_offset=0.0)
    sim.reset()
    sim.run(100.0)
    v = p.get_data().segments[1].analogsignals[0].magnitude[:, 1]
    np.testing.assert_allclose(v, -65.0, atol=1e-12)


def test_new_segment_each_reset(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"])
    for k in range(3):
        sim.run(50.0 + 10 * k)
        sim.reset()
    blk = p.get_data()
    assert len(blk.segments) == 3
    for k, seg in enumerate(blk.segments):
        assert seg.analogsignals[0].shape[0] == 501 + 100 * k
        assert float(seg.spiketrains[0].t_stop) == pytest.approx(50.0 + 10 * k)


def test_reset_does_not_rebuild_and_repeats_identically(sim):
    rng = sim.NumpyRNG(seed=7)
    src = sim.Population(30, sim.SpikeSourcePoisson(rate=30.0))
    net = sim.Population(50, sim.IF_cond_exp())
    sim.Projection(src, net, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.02, delay=1.0))
    sim.Projection(net, net, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=0.005, delay=0.5))
    net.record(["spikes", "v"])
    sim.run(100.0)
    engine = sim.state.engine
    group = engine.groups[1]
    for _ in range(2):
        sim.reset()
        sim.run(100.0)
    assert sim.state.engine is engine
    assert sim.state.engine.groups[1] is group
    blk = net.get_data()
    assert len(blk.segments) == 3
    ref = _spikes_of_segment(blk.segments[0])
    assert sum(a.size for a in ref) > 0
    for seg in blk.segments[1:]:
        for a, b in zip(ref, _spikes_of_segment(seg)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(seg.analogsignals[0].magnitude,
                                      blk.segments[0].analogsignals[0].magnitude)


def test_parameter_change_after_reset_applies(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.0))
    p.record("spikes")
    sim.run(100.0)
    assert p.get_spike_counts()[p[0]] == 0
    p.set(i_offset=1.0)
    sim.reset()
    sim.run(100.0)
    seg = p.get_data().segments[1]
    assert seg.spiketrains[0].size >= 2


def test_in_flight_spike_delivered_once_after_reset(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[9.5]))
    post = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=5.0))
    post.record("v")
    sim.run(10.0)          # spike in flight
    sim.reset()
    sim.run(20.0)          # nothing in flight at the end
    sim.reset()
    sim.run(20.0)
    segs = post.get_data().segments
    v1 = segs[1].analogsignals[0].magnitude
    v2 = segs[2].analogsignals[0].magnitude
    np.testing.assert_array_equal(v1, v2)
    assert v1.max() > -65.0 + 0.5


def test_poisson_set_then_reset_replays_like_fresh(sim):
    src = sim.Population(5, sim.SpikeSourcePoisson(rate=100.0))
    src.record("spikes")
    sim.run(100.0)
    src.set(rate=200.0)
    sim.reset()
    sim.run(100.0)
    sim.reset()
    sim.run(100.0)
    segs = src.get_data().segments
    for a, b in zip(segs[1].spiketrains, segs[2].spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)


def test_poisson_set_before_first_run_equals_constructor(sim):
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=100.0))
    a.set(rate=200.0)
    a.record("spikes")
    sim.run(100.0)
    ta = [st.magnitude.copy() for st in a.get_data().segments[0].spiketrains]
    sim.setup(timestep=0.1)
    b = sim.Population(5, sim.SpikeSourcePoisson(rate=200.0))
    b.record("spikes")
    sim.run(100.0)
    for x, st in zip(ta, b.get_data().segments[0].spiketrains):
        np.testing.assert_array_equal(x, st.magnitude)


def test_adding_population_after_run_keeps_spikes_in_flight(sim):
    def run(add):
        sim.setup(timestep=0.1)
        s = sim.Population(1, sim.SpikeSourceArray(spike_times=[9.0]))
        p = sim.Population(1, sim.IF_curr_exp())
        p.record("v")
        sim.Projection(s, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=5.0))
        sim.run(10.0)
        if add:
            sim.Population(3, sim.IF_curr_exp())
        sim.run(10.0)
        return p.get_data().segments[0].analogsignals[0].magnitude
    np.testing.assert_array_equal(run(True), run(False))


def test_adding_population_after_run_keeps_state_and_weights(sim):
    """With nothing in flight, a rebuild changes nothing: neuron state, STDP weights carry over."""
    def run(add):
        sim.setup(timestep=0.1)
        base = 10.0 + 50.0 * np.arange(10)
        pre = sim.Population(1, sim.SpikeSourceArray(spike_times=base))
        kick = sim.Population(1, sim.SpikeSourceArray(spike_times=base + 3.3))
        post = sim.Population(1, sim.IF_curr_exp(tau_refrac=10.0, tau_syn_E=1.0))
        post.record("v")
        stdp = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                A_minus=0.012),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
            weight=0.5, delay=1.0)
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
        sim.Projection(kick, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=30.0, delay=1.0))
        sim.run(230.0)
        if add:
            sim.Population(2, sim.IF_curr_exp())
        sim.run(300.0)
        return prj.get("weight", format="array")[0, 0], post.get_data().segments[0].analogsignals[0].magnitude
    w1, v1 = run(False)
    w2, v2 = run(True)
    assert w1 == w2 and w1 != 0.5
    np.testing.assert_array_equal(v1, v2)
