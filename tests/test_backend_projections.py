"""Projection: get/set round trips, formats, multiple synapses, save, size/len/connections,
delay rounding, plastic weights."""
import numpy as np
import pytest
from pyNN import errors


@pytest.fixture
def pops(sim):
    a = sim.Population(4, sim.IF_curr_exp(), label="a")
    b = sim.Population(3, sim.IF_curr_exp(), label="b")
    return a, b


def test_get_after_set_exact_array(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    w = np.random.default_rng(1).uniform(0.0, 1.0, (4, 3))
    prj.set(weight=w)
    np.testing.assert_array_equal(prj.get("weight", format="array"), w)
    sim.run(1.0)
    np.testing.assert_array_equal(prj.get("weight", format="array"), w)
    w2 = w * 0.37
    prj.set(weight=w2)
    np.testing.assert_array_equal(prj.get("weight", format="array"), w2)
    lst = prj.get("weight", format="list")
    assert len(lst) == 12
    for i, j, v in lst:
        assert v == w2[i, j]


def test_get_after_set_exact_scalar_and_random(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    prj.set(weight=0.123456789)
    assert np.all(prj.get("weight", format="array") == 0.123456789)
    prj.set(weight=sim.RandomDistribution("normal", (1.0, 0.1), rng=sim.NumpyRNG(5)))
    w = prj.get("weight", format="array")
    assert np.unique(w).size == 12


def test_set_weights_take_effect_after_run(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 405.0]))
    post = sim.Population(1, sim.IF_curr_exp())
    prj = sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=1.0))
    post.record("v")
    sim.run(400.0)
    prj.set(weight=1.0)
    sim.run(400.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude[:, 0] + 65.0
    peak1 = v[:4000].max()
    peak2 = v[4000:].max()
    assert peak1 > 0.5
    assert peak2 == pytest.approx(2 * peak1, rel=1e-6)


def test_get_list_formats_and_with_address(sim, pops):
    a, b = pops
    conns = [(0, 0, 0.5, 1.0), (3, 2, 0.25, 2.0), (1, 1, 0.75, 0.5)]
    prj = sim.Projection(a, b, sim.FromListConnector(conns, column_names=["weight", "delay"]),
                         sim.StaticSynapse())
    got = prj.get(["weight", "delay"], format="list")
    assert sorted(got) == sorted([(i, j, w, d) for i, j, w, d in conns])
    got = prj.get("weight", format="list", with_address=False)
    assert sorted(got) == [0.25, 0.5, 0.75]
    ws, ds = prj.get(["weight", "delay"], format="array")
    assert ws[3, 2] == 0.25 and ds[3, 2] == 2.0
    assert np.isnan(ws[0, 1])
    assert np.count_nonzero(~np.isnan(ws)) == 3


@pytest.mark.parametrize("rule,expected", [("sum", 0.6), ("last", 0.3),
                                           ("min", 0.1), ("max", 0.3)])
def test_multiple_synapses(sim, pops, rule, expected):
    a, b = pops
    conns = [(0, 0, 0.1, 1.0), (0, 0, 0.2, 1.0), (0, 0, 0.3, 1.0), (1, 2, 0.5, 1.0)]
    prj = sim.Projection(a, b, sim.FromListConnector(conns), sim.StaticSynapse())
    assert len(prj) == 4
    w = prj.get("weight", format="array", multiple_synapses=rule)
    assert w[0, 0] == pytest.approx(expected, abs=1e-15)
    assert w[1, 2] == 0.5


def test_multiple_synapses_all_delivered(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    post = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(src, post, sim.FromListConnector([(0, 0, 0.4, 1.0), (0, 0, 0.4, 1.0),
                                                           (0, 1, 0.8, 1.0)]),
                         sim.StaticSynapse())
    post.record("v")
    sim.run(20.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude
    np.testing.assert_allclose(v[:, 0], v[:, 1], rtol=0, atol=1e-12)


def test_size_len_connections_agree(sim):
    a = sim.Population(30, sim.IF_curr_exp())
    b = sim.Population(20, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(2)),
                         sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0, 1),
                                                                         rng=sim.NumpyRNG(3)),
                                           delay=0.5))
    n = len(prj)
    assert n == prj.size() == prj.size(gather=True) == len(prj.connections)
    assert 100 < n < 260
    lst = prj.get("weight", format="list")
    assert len(lst) == n
    conns = prj.connections
    for c, (i, j, w) in zip(conns, lst):
        assert (c.presynaptic_index, c.postsynaptic_index) == (i, j)
        assert c.weight == w


def test_connection_attribute_set(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    c = prj.connections[1]
    c.weight = 0.77
    w = prj.get("weight", format="array")
    assert w[1, 1] == 0.77 and w[0, 0] == 0.1


def test_save_and_fromfile_roundtrip(sim, pops, tmp_path):
    a, b = pops
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(11)),
                         sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.1, 1.0),
                                                                         rng=sim.NumpyRNG(12)),
                                           delay=sim.RandomDistribution("uniform", (0.5, 3.0),
                                                                        rng=sim.NumpyRNG(13))))
    fname = str(tmp_path / "conns.txt")
    prj.save("all", fname, format="list", gather=True)
    data = np.loadtxt(fname)
    assert data.shape == (len(prj), 4)
    np.testing.assert_allclose(data[:, 2], [w for _, _, w in prj.get("weight", format="list")])
    prj2 = sim.Projection(a, b, sim.FromFileConnector(fname), sim.StaticSynapse())
    assert len(prj2) == len(prj)
    got = np.array(sorted(prj2.get(["weight", "delay"], format="list")))
    want = np.array(sorted(prj.get(["weight", "delay"], format="list")))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    fname2 = str(tmp_path / "weights_array.txt")
    prj.save("weight", fname2, format="array")
    arr = np.loadtxt(fname2)
    # PyNN's array format writes 0 for absent connections
    np.testing.assert_allclose(arr, np.nan_to_num(prj.get("weight", format="array")))


def test_projection_between_views_and_assemblies(sim):
    a = sim.Population(5, sim.IF_curr_exp())
    b = sim.Population(4, sim.IF_curr_alpha())
    c = sim.Population(3, sim.IF_curr_exp())
    # explicit receptor: PyNN guesses an Assembly's default from a set (random order)
    prj = sim.Projection(a[1:4], b + c, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="excitatory")
    assert len(prj) == 3 * 7
    w = prj.get("weight", format="array")
    assert w.shape == (3, 7)
    prj.set(weight=np.arange(21.0).reshape(3, 7) * 0.001)
    np.testing.assert_array_equal(prj.get("weight", format="array"),
                                  np.arange(21.0).reshape(3, 7) * 0.001)
    sim.run(1.0)
    np.testing.assert_array_equal(prj.get("weight", format="array"),
                                  np.arange(21.0).reshape(3, 7) * 0.001)


def test_delay_rounded_to_nearest_step(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    for asked, expected in [(0.26, 0.3), (0.24, 0.2), (1.04, 1.0), (1.06, 1.1), (0.1, 0.1),
                            (5.0, 5.0), (0.19, 0.2)]:
        prj.set(delay=asked)
        d = prj.get("delay", format="array")
        np.testing.assert_allclose(d, expected, rtol=0, atol=1e-12)


def test_delay_used_by_engine_is_the_one_reported(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(3, sim.IF_curr_exp(tau_syn_E=0.5))
    prj = sim.Projection(src, post, sim.FromListConnector([(0, 0, 1.0, 0.25), (0, 1, 1.0, 0.26),
                                                           (0, 2, 1.0, 1.04)]),
                         sim.StaticSynapse())
    post.record("v")
    sim.run(5.0)
    delays = prj.get("delay", format="array")[0]
    v = post.get_data().segments[0].analogsignals[0].magnitude
    for j in range(3):
        first_move = np.argmax(v[:, j] > -65.0 + 1e-12)   # sample index = time / dt
        arrival_step = int(round((1.0 + delays[j]) / 0.1))
        assert first_move == arrival_step + 1, (j, delays[j], first_move)


def test_grid_delays_roundtrip_exactly(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.3))
    np.testing.assert_array_equal(prj.get("delay", format="array"), 0.3)
    for d in (0.7, 2.3, 1.3, 0.6):
        prj.set(delay=d)
        np.testing.assert_array_equal(prj.get("delay", format="array"), d)


def test_delay_ties_round_like_nest(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    for asked, expected in [(0.15, 0.2), (0.25, 0.3), (0.35, 0.4), (0.45, 0.5), (1.05, 1.1)]:
        prj.set(delay=asked)
        np.testing.assert_allclose(prj.get("delay", format="array"), expected, atol=1e-12,
                                   err_msg=f"delay {asked}")


def test_delay_below_dt_raises(sim, pops):
    a, b = pops
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.04))
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    with pytest.raises(errors.ConnectionError):
        prj.set(delay=0.01)


def test_default_delay_is_dt(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    np.testing.assert_allclose(prj.get("delay", format="array"), 0.1)


def test_delay_change_after_run_takes_effect(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 25.0]))
    post = sim.Population(1, sim.IF_curr_exp())
    prj = sim.Projection(src, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    post.record("v")
    sim.run(20.0)
    prj.set(delay=3.0)
    sim.run(20.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    first1 = np.argmax(v > -65.0 + 1e-9)
    assert first1 == 61           # arrives at 5 + 1 ms, visible in the sample at 6.1 ms
    # spike at 25 ms with the new 3 ms delay: v still decays until 28 ms, rises at 28.1 ms
    assert np.all(np.diff(v[240:281]) <= 1e-12)
    assert v[281] > v[280] + 0.01


def test_tsodyks_markram_get_set(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=0.5, delay=1.0, U=0.3, tau_rec=500.0))
    assert np.all(prj.get("U", format="array") == 0.3)
    prj.set(U=0.61, tau_rec=123.0)
    sim.run(1.0)
    assert np.all(prj.get("U", format="array") == 0.61)
    assert np.all(prj.get("tau_rec", format="array") == 123.0)


def test_stdp_parameters_get_set(sim, pops):
    a, b = pops
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=16.0, tau_minus=33.0,
                                                                 A_plus=0.005, A_minus=0.006),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.8),
                             weight=0.4, delay=1.0)
    prj = sim.Projection(a, b, sim.AllToAllConnector(), stdp)
    assert np.all(prj.get("tau_plus", format="array") == 16.0)
    assert np.all(prj.get("w_max", format="array") == 0.8)
    prj.set(A_plus=0.01)
    sim.run(1.0)
    assert np.all(prj.get("A_plus", format="array") == 0.01)
    assert np.all(prj.get("weight", format="array") == 0.4)


def test_get_unknown_synapse_attribute_raises(sim, pops):
    a, b = pops
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    with pytest.raises((errors.NonExistentParameterError, KeyError, AttributeError)):
        prj.get("tau_rec", format="array")


def test_multiple_synapses_first(sim, pops):
    a, b = pops
    conns = [(0, 0, 0.1, 1.0), (0, 0, 0.2, 1.0), (0, 0, 0.3, 1.0), (1, 2, 0.5, 1.0)]
    prj = sim.Projection(a, b, sim.FromListConnector(conns), sim.StaticSynapse())
    w = prj.get("weight", format="array", multiple_synapses="first")
    assert w[0, 0] == 0.1


def test_projection_onto_assembly_default_receptor_is_deterministic():
    import subprocess
    import sys
    code = ("import pyNN_neuro as sim; sim.setup(); "
            "a = sim.Population(2, sim.IF_curr_exp()); b = sim.Population(2, sim.IF_curr_exp()); "
            "prj = sim.Projection(a, a + b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1)); "
            "print(prj.receptor_type)")
    for seed in range(4):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)})
        assert out.returncode == 0, out.stderr[-300:]
        assert out.stdout.strip() == "excitatory"


def test_stdp_weight_set_after_activity_reads_back_exactly(sim):
    src = sim.Population(5, sim.SpikeSourcePoisson(rate=50.0))
    post = sim.Population(3, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.01, A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=5.0),
                             weight=3.0, delay=1.0)
    prj = sim.Projection(src, post, sim.AllToAllConnector(), stdp)
    sim.run(200.0)
    assert not np.all(prj.get("weight", format="array") == 3.0)
    w = np.random.default_rng(3).uniform(0.0, 5.0, (5, 3))
    prj.set(weight=w)
    np.testing.assert_array_equal(prj.get("weight", format="array"), w)
    sim.reset()
    # set() after a run also defines the weights reset() goes back to (as for static synapses)
    np.testing.assert_array_equal(prj.get("weight", format="array"), w)


def test_homogeneous_units_compute_their_permutation_only_when_needed(sim):
    # a unit whose weights and delays are each one value skips the permutation to
    # connection order until set() or get() needs it; between views its index arrays
    # are copies, drawn again then from the projection
    src = sim.Population(30, sim.SpikeSourcePoisson(rate=100.0))
    post = sim.Population(20, sim.IF_curr_exp())
    w = np.random.default_rng(2).uniform(0.1, 0.5, (20, 16))

    def projection(weight):
        return sim.Projection(src[5:25], post[2:18],
                              sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(4)),
                              sim.StaticSynapse(weight=weight, delay=1.0))

    deferred, eager = projection(0.2), projection(w)
    sim.run(5.0)
    unit, unit_eager = deferred._units[0][0], eager._units[0][0]
    assert unit._order is None and callable(unit._connections)
    assert unit_eager._order is not None
    deferred.set(weight=w)
    assert unit._order is not None and unit._connections is None
    np.testing.assert_array_equal(unit.order, unit_eager.order)
    np.testing.assert_array_equal(unit.weight, unit_eager.weight)
    np.testing.assert_array_equal(deferred.get("weight", format="array"),
                                  eager.get("weight", format="array"))


def test_shared_weight_then_weights_that_differ_reach_the_serial_kernel(sim):
    # a shared weight is one number for the serial kernel; set() with weights that
    # differ after it was bound must bind the array (else it would read past a
    # one-element stand-in). The parallel paradigm, which builds matrices, is the
    # reference: on the ring's grid both give the same sums.
    src = sim.Population(40, sim.SpikeSourcePoisson(rate=80.0))
    posts, projections = [], []
    for paradigm in ("serial", "parallel"):
        post = sim.Population(10, sim.IF_curr_exp(tau_refrac=2.0))
        prj = sim.Projection(src, post, sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(8)),
                             sim.StaticSynapse(weight=0.3, delay=1.0))
        prj.paradigm = paradigm
        post.record("v")
        posts.append(post)
        projections.append(prj)
    sim.run(20.0)
    serial_unit = projections[0]._units[0][0]
    assert serial_unit._weight is None and serial_unit._rows is not None
    w = np.random.default_rng(3).uniform(0.0, 0.6, len(projections[0]))
    for prj in projections:
        prj.set(weight=w)
    sim.run(40.0)
    assert serial_unit._weight is not None
    v = [p.get_data().segments[0].analogsignals[0].magnitude for p in posts]
    np.testing.assert_array_equal(v[0], v[1])
    assert np.ptp(v[0][300:]) > 1.0
