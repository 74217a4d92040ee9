"""get/set/initialize on Population, PopulationView and Assembly, before and after a run."""
import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence


def test_population_get_set_before_and_after_run(sim):
    p = sim.Population(5, sim.IF_curr_exp(tau_m=15.0))
    assert p.get("tau_m") == 15.0
    p.set(tau_m=np.arange(10.0, 15.0))
    np.testing.assert_array_equal(p.get("tau_m"), np.arange(10.0, 15.0))
    sim.run(10.0)
    np.testing.assert_array_equal(p.get("tau_m"), np.arange(10.0, 15.0))
    p.set(cm=0.5)
    assert p.get("cm") == 0.5
    got = p.get(["tau_m", "cm"], gather=True)
    np.testing.assert_array_equal(got[0], np.arange(10.0, 15.0))
    assert got[1] == 0.5
    sim.run(10.0)
    np.testing.assert_array_equal(sim.state.engine.groups[0].params["cm"], np.full(5, 0.5))


def test_set_random_distribution(sim):
    p = sim.Population(100, sim.IF_curr_exp())
    p.set(tau_m=sim.RandomDistribution("uniform", (10.0, 20.0), rng=sim.NumpyRNG(3)))
    tau = p.get("tau_m")
    assert tau.shape == (100,)
    assert np.all((tau >= 10.0) & (tau <= 20.0)) and np.unique(tau).size == 100
    sim.run(1.0)
    np.testing.assert_array_equal(p.get("tau_m"), tau)


def test_view_get_set(sim):
    p = sim.Population(10, sim.IF_curr_exp())
    view = p[2:8:2]     # 2, 4, 6
    view.set(i_offset=[0.1, 0.2, 0.3])
    expected = np.zeros(10)
    expected[[2, 4, 6]] = [0.1, 0.2, 0.3]
    np.testing.assert_array_equal(p.get("i_offset"), expected)
    np.testing.assert_array_equal(view.get("i_offset"), [0.1, 0.2, 0.3])
    sim.run(5.0)
    view2 = p[[9, 0]]        # PyNN sorts a view's indices: this is cells 0 and 9
    view2.set(i_offset=[0.05, 0.9])
    expected[[0, 9]] = [0.05, 0.9]
    np.testing.assert_array_equal(p.get("i_offset"), expected)
    sim.run(5.0)
    np.testing.assert_array_equal(sim.state.engine.groups[0].params["i_offset"], expected)


def test_view_of_view(sim):
    p = sim.Population(20, sim.IF_curr_exp())
    vv = p[5:15][::3]     # 5, 8, 11, 14
    vv.set(tau_refrac=7.0)
    assert np.nonzero(p.get("tau_refrac") == 7.0)[0].tolist() == [5, 8, 11, 14]


def test_assembly_get_set(sim):
    a = sim.Population(3, sim.IF_curr_exp(), label="a")
    b = sim.Population(2, sim.IF_curr_exp(), label="b")
    asm = a + b
    asm.set(tau_m=12.0)
    assert a.get("tau_m") == 12.0 and b.get("tau_m") == 12.0
    sim.run(5.0)
    asm.set(i_offset=0.25)
    np.testing.assert_array_equal(asm.get("i_offset"), np.full(5, 0.25))
    b.set(i_offset=[0.3, 0.4])
    np.testing.assert_array_equal(asm.get("i_offset"), [0.25, 0.25, 0.25, 0.3, 0.4])
    sim.run(5.0)
    np.testing.assert_array_equal(sim.state.engine.groups[1].params["i_offset"], [0.3, 0.4])


def test_parameter_change_between_runs_takes_effect(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.0))
    p.record("spikes")
    sim.run(100.0)
    assert p.get_spike_counts()[p[0]] == 0
    p.set(i_offset=2.0)
    sim.run(100.0)
    st = p.get_data().segments[0].spiketrains[0].magnitude
    assert st.size >= 3
    assert st.min() > 100.0


def test_view_parameter_change_between_runs(sim):
    p = sim.Population(4, sim.IF_curr_exp(i_offset=0.0))
    p.record("spikes")
    sim.run(50.0)
    p[1:3].set(i_offset=2.0)
    sim.run(100.0)
    counts = p.get_spike_counts()
    assert [counts[c] > 0 for c in p] == [False, True, True, False]


def test_assembly_parameter_change_between_runs(sim):
    a = sim.Population(2, sim.IF_cond_exp(i_offset=0.0))
    b = sim.Population(2, sim.IF_curr_alpha(i_offset=0.0))
    asm = a + b
    asm.record("spikes")
    sim.run(20.0)
    asm.set(i_offset=2.0)
    sim.run(100.0)
    counts = asm.get_spike_counts()
    assert all(counts[c] > 0 for c in asm)


def test_initialize_before_run(sim):
    p = sim.Population(3, sim.IF_curr_exp())
    p.initialize(v=[-70.0, -60.0, -50.5])
    p.record("v")
    sim.run(0.1)
    v = p.get_data().segments[0].analogsignals[0].magnitude
    np.testing.assert_array_equal(v[0], [-70.0, -60.0, -50.5])


def test_initial_values_readable(sim):
    p = sim.Population(3, sim.IF_curr_exp())
    p.initialize(v=-61.0)
    assert p.initial_values["v"].evaluate(simplify=True) == -61.0
    p.initialize(v=[-70.0, -61.0, -60.0])
    np.testing.assert_array_equal(p.initial_values["v"].evaluate(simplify=False),
                                  [-70.0, -61.0, -60.0])


def test_initialize_after_run_sets_current_state(sim):
    """As in NEST: initialize() after a run sets the present value too."""
    p = sim.Population(2, sim.IF_curr_exp())
    p.record("v")
    sim.run(5.0)
    p.initialize(v=-52.0)
    sim.run(5.0)
    v = p.get_data().segments[0].analogsignals[0].magnitude
    assert v[50, 0] == -65.0
    # the first sample after the change has moved from -52 towards -65
    assert -52.0 > v[51, 0] > -53.0


def test_initialize_view_and_assembly_of_views(sim):
    """PyNN's common PopulationView has no initial_values (pyNN.mock fails here); ours
    reads them from the parent, so initialize() works on views and assemblies of views."""
    a = sim.Population(4, sim.IF_curr_exp())
    b = sim.Population(2, sim.IF_cond_exp())
    a[1:3].initialize(v=-55.0)
    (a[3:] + b).initialize(v=-58.0)
    a.record("v")
    b.record("v")
    sim.run(0.1)
    va = a.get_data().segments[0].analogsignals[0].magnitude[0]
    vb = b.get_data().segments[0].analogsignals[0].magnitude[0]
    np.testing.assert_array_equal(va, [-65.0, -55.0, -55.0, -58.0])
    np.testing.assert_array_equal(vb, [-58.0, -58.0])
    assert a[1:3].initial_values["v"].evaluate().tolist() == [-55.0, -55.0]
    assert a.initial_values["v"].evaluate().tolist() == [-65.0, -55.0, -55.0, -58.0]


@pytest.mark.parametrize("model,var,value", [
    ("IF_cond_exp", "gsyn_exc", 0.01),
    ("Izhikevich", "u", -10.0),
    ("EIF_cond_exp_isfa_ista", "w", 0.1),
])
def test_initialize_other_state_variables(sim, model, var, value):
    p = sim.Population(2, getattr(sim, model)())
    p.initialize(**{var: value})
    p.record(var)
    sim.run(0.2)
    sig = p.get_data().segments[0].filter(name=var)[0].magnitude
    np.testing.assert_allclose(sig[0], [value, value])


def test_spike_source_array_set_between_runs(sim):
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    src.record("spikes")
    sim.run(10.0)
    src.set(spike_times=[Sequence([12.0, 15.0]), Sequence([5.0, 11.0])])
    sim.run(10.0)
    trains = src.get_data().segments[0].spiketrains
    np.testing.assert_allclose(trains[0].magnitude, [1.0, 12.0, 15.0])
    # a time already in the past (5.0) is not emitted
    np.testing.assert_allclose(trains[1].magnitude, [2.0, 11.0])


def test_poisson_rate_change_between_runs(sim):
    src = sim.Population(50, sim.SpikeSourcePoisson(rate=0.0))
    src.record("spikes")
    sim.run(200.0)
    src.set(rate=100.0)
    sim.run(200.0)
    seg = src.get_data().segments[0]
    times = np.concatenate([s.magnitude for s in seg.spiketrains])
    assert times.size > 0 and times.min() > 200.0
    rate = times.size / 50 / 0.2
    assert 80.0 < rate < 120.0


def test_get_unknown_parameter_raises(sim):
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises((KeyError, errors.NonExistentParameterError)):   # KeyError in PyNN itself
        p.get("foo")
    with pytest.raises(errors.NonExistentParameterError):
        p.set(foo=1.0)


def test_initialize_assembly_of_populations(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    b = sim.Population(2, sim.IF_cond_exp())
    (a + b).initialize(v=-58.0)
    a.record("v")
    b.record("v")
    sim.run(5.0)
    (a + b).initialize(v=-51.0)
    sim.reset()
    sim.run(0.1)
    for pop in (a, b):
        segs = pop.get_data().segments
        np.testing.assert_array_equal(segs[0].analogsignals[0].magnitude[0], [-58.0, -58.0])
        np.testing.assert_array_equal(segs[1].analogsignals[0].magnitude[0], [-51.0, -51.0])
