"""Bad input: a clear PyNN error naming the parameter and the value, before any run."""
import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence


def _assert_names(excinfo, *fragments):
    msg = str(excinfo.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in error message {msg!r}"


def test_unknown_cell_parameter(sim):
    with pytest.raises(errors.NonExistentParameterError) as e:
        sim.Population(2, sim.IF_curr_exp(tau_mem=10.0))
    _assert_names(e, "tau_mem")


def test_unknown_cell_parameter_in_set(sim):
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.NonExistentParameterError) as e:
        p.set(tau_mem=10.0)
    _assert_names(e, "tau_mem")


@pytest.mark.parametrize("model,param,value", [
    ("IF_curr_exp", "tau_m", -10.0),
    ("IF_curr_exp", "tau_m", 0.0),
    ("IF_curr_exp", "cm", -1.0),
    ("IF_curr_exp", "cm", 0.0),
    ("IF_curr_exp", "tau_syn_E", 0.0),
    ("IF_curr_exp", "tau_refrac", -1.0),
    ("IF_cond_exp", "tau_m", -5.0),
    ("IF_cond_alpha", "cm", -0.5),
    ("IF_curr_alpha", "tau_syn_I", -2.0),
    ("IF_curr_delta", "tau_m", -1.0),
    ("EIF_cond_exp_isfa_ista", "tau_w", -1.0),
    ("EIF_cond_exp_isfa_ista", "delta_T", 0.0),
    ("HH_cond_exp", "cm", -0.2),
    ("IF_cond_exp_gsfa_grr", "tau_sfa", 0.0),
    ("IF_cond_exp_gsfa_grr", "tau_rr", -1.0),
    ("SpikeSourcePoisson", "rate", -5.0),
    ("SpikeSourcePoissonRefractory", "rate", -5.0),
    ("SpikeSourceGamma", "beta", -5.0),
    ("IF_curr_exp", "tau_m", float("nan")),
])
def test_out_of_range_parameter_at_creation(sim, model, param, value):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.Population(3, getattr(sim, model)(**{param: value}))
    _assert_names(e, param)
    if np.isfinite(value):
        assert str(value) in str(e.value) or str(int(value)) in str(e.value)


@pytest.mark.parametrize("param,value", [("tau_m", -10.0), ("cm", 0.0)])
def test_out_of_range_parameter_in_set_after_run(sim, param, value):
    p = sim.Population(3, sim.IF_curr_exp())
    sim.run(1.0)
    with pytest.raises(errors.InvalidParameterValueError) as e:
        p[1:2].set(**{param: value})
    _assert_names(e, param)


def test_out_of_range_in_random_distribution(sim):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.Population(100, sim.IF_curr_exp(
            tau_m=sim.RandomDistribution("normal", (0.0, 1.0), rng=sim.NumpyRNG(1))))
    _assert_names(e, "tau_m")


@pytest.mark.parametrize("model", ["IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_curr_delta"])
@pytest.mark.parametrize("v_reset", [-50.0, -40.0])
def test_v_reset_not_below_v_thresh(sim, model, v_reset):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.Population(2, getattr(sim, model)(v_thresh=-50.0, v_reset=v_reset))
    _assert_names(e, "v_reset", "v_thresh")


def test_v_reset_check_applies_to_set(sim):
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError):
        p.set(v_reset=-45.0)


def test_delay_below_dt(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError) as e:
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.05))
    _assert_names(e, "0.05", "0.1")


def test_delay_below_dt_in_from_list(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, a, sim.FromListConnector([(0, 1, 0.1, 1.0), (1, 0, 0.1, 0.01)]),
                       sim.StaticSynapse())


def test_negative_delay(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises((errors.ConnectionError, errors.InvalidParameterValueError)):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=-1.0))


@pytest.mark.parametrize("model", ["IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                                   "HH_cond_exp", "IF_cond_exp_gsfa_grr"])
def test_negative_weight_onto_conductance(sim, model):
    a = sim.Population(2, sim.SpikeSourceArray())
    b = sim.Population(2, getattr(sim, model)())
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.01),
                       receptor_type="inhibitory")


def test_negative_weight_onto_conductance_via_set(sim):
    a = sim.Population(2, sim.SpikeSourceArray())
    b = sim.Population(2, sim.IF_cond_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    with pytest.raises(errors.ConnectionError):
        prj.set(weight=-0.01)


def test_unknown_receptor_type(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1),
                       receptor_type="NMDA")


def test_step_current_source_unsorted_times(sim):
    with pytest.raises(ValueError) as e:   # InvalidParameterValueError is a ValueError
        sim.StepCurrentSource(times=[10.0, 5.0, 20.0], amplitudes=[0.1, 0.2, 0.3])
    _assert_names(e, "times")


def test_step_current_source_unsorted_times_is_pynn_error(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.StepCurrentSource(times=[10.0, 5.0, 20.0], amplitudes=[0.1, 0.2, 0.3])


def test_step_current_source_length_mismatch(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[0.1])


def test_step_current_source_unsorted_times_in_set(sim):
    step = sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[0.1, 0.2])
    with pytest.raises(ValueError):
        step.set_parameters(times=[3.0, 1.0], amplitudes=[0.1, 0.2])


def test_spike_source_array_negative_times(sim):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.Population(1, sim.SpikeSourceArray(spike_times=[-1.0, 5.0]))
    _assert_names(e, "spike_times")


def test_spike_source_array_negative_times_in_set(sim):
    p = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(errors.InvalidParameterValueError):
        p.set(spike_times=[Sequence([1.0]), Sequence([-3.0])])


def test_spike_source_array_unsorted_times(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 1.0]))


def test_gamma_alpha_not_integer(sim):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.Population(1, sim.SpikeSourceGamma(alpha=2.5, beta=10.0))
    _assert_names(e, "alpha")


def test_poisson_refractory_too_fast(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.SpikeSourcePoissonRefractory(rate=600.0, tau_refrac=2.0))


def test_current_source_negative_start(sim):
    with pytest.raises(errors.InvalidParameterValueError) as e:
        sim.DCSource(amplitude=1.0, start=-5.0)
    _assert_names(e, "start")


def test_noisy_current_dt_not_multiple(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.NoisyCurrentSource(mean=0.0, stdev=1.0, dt=0.15)


def test_inject_into_spike_source(sim):
    src = sim.Population(1, sim.SpikeSourcePoisson(rate=10.0))
    with pytest.raises(TypeError):
        sim.DCSource(amplitude=1.0).inject_into(src)


def test_tsodyks_markram_bad_values(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Projection(a, a, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(weight=0.1, U=1.5))
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Projection(a, a, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(weight=0.1, tau_rec=-10.0))


def test_stdp_weight_above_w_max(sim):
    a = sim.Population(2, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.1),
                             weight=0.5)
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Projection(a, a, sim.AllToAllConnector(), stdp)


def test_errors_raised_before_any_simulation(sim):
    """Bad values set between runs fail at set(), not in the middle of the next run."""
    p = sim.Population(2, sim.IF_curr_exp())
    sim.run(5.0)
    with pytest.raises(errors.InvalidParameterValueError):
        p.set(tau_m=-1.0)
    assert sim.get_current_time() == pytest.approx(5.0)


def test_unsupported_cell_type_says_so(sim):
    from pyNN.standardmodels import cells
    with pytest.raises(Exception) as e:
        sim.Population(1, cells.GIF_cond_exp())
    assert type(e.value) is not AttributeError


def test_voltage_dependent_stdp_unsupported(sim):
    with pytest.raises(NotImplementedError):
        sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                          weight_dependence=sim.AdditiveWeightDependence(),
                          voltage_dependence=object())


def test_gamma_alpha_below_one(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.SpikeSourceGamma(alpha=0, beta=10.0))
