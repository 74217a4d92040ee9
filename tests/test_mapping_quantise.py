"""Weight quantisation to the profile's weight bits: setup(quantise_weights=True)."""
import numpy as np
import pytest
from pyNN import errors

import pyNN_neuro as sim
from pyNN_neuro.hardware import get_profile
from pyNN_neuro.mapping import MappingError
from pyNN_neuro.mapping.quantise import levels, quantise, scale_for


def _network(quantise_weights, weights=None, paradigm="serial", hardware="loihi"):
    sim.setup(timestep=0.1, hardware=hardware, quantise_weights=quantise_weights,
              paradigm=paradigm)
    drive = sim.Population(200, sim.SpikeSourcePoisson(rate=40.0), label="drive")
    cells = sim.Population(60, sim.IF_curr_exp(tau_refrac=2.0), label="cells")
    if weights is None:
        weights = sim.RandomDistribution("uniform", low=0.05, high=0.6, rng=sim.NumpyRNG(4))
    exc = sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(5)),
                         sim.StaticSynapse(weight=weights, delay=1.0), label="exc")
    inh = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(6)),
                         sim.StaticSynapse(weight=-0.3, delay=1.5), receptor_type="inhibitory",
                         label="inh")
    cells.record("spikes")
    return cells, exc, inh


def _spikes(population):
    return [np.asarray(t) for t in population.get_data().segments[0].spiketrains]


def test_steps_and_levels():
    for bits in (2, 4, 9, 16):
        for largest in (1e-4, 0.37, 1.0, 3.2, 1e3):
            step = scale_for(largest, bits)
            assert np.log2(step) == int(np.log2(step))               # a power of two
            assert round(largest / step) <= levels(bits)             # the largest fits...
            assert largest / step > levels(bits) / 2                 # ...and the step is tight
    assert levels(9) == 255 and levels(2) == 1


def test_weights_on_steps_within_half_a_step():
    cells, exc, inh = _network(False)
    original = np.array(exc.get("weight", format="list", with_address=False))
    sim.end()
    cells, exc, inh = _network(True)
    sim.run(20.0)
    quantised = np.array(exc.get("weight", format="list", with_address=False))
    report = sim.get_mapping().report()["weight_quantisation"]
    sim.end()
    step = scale_for(original.max(), 9)
    np.testing.assert_array_equal(quantised, quantise(original, step))
    assert np.all(np.abs(quantised - original) <= step / 2)
    row = next(r for r in report["receptors"] if r["receptor"] == "excitatory")
    assert row["scale"] == step and row["population"] == "cells"
    assert 0 < row["max_abs_error"] <= step / 2
    assert report["weight_bits"] == get_profile("loihi").weight_bits


def test_quantised_run_equals_a_run_with_the_rounded_weights():
    cells, exc, inh = _network(False)
    original = exc.get("weight", format="array")          # (pre, post), NaN: no synapse
    exc.set(weight=quantise(original, scale_for(np.nanmax(original), 9)))
    inh.set(weight=quantise([-0.3], scale_for(0.3, 9))[0])    # its own receptor, own step
    sim.run(300.0)
    by_hand = _spikes(cells)
    sim.end()
    cells, exc, inh = _network(True)
    sim.run(300.0)
    automatic = _spikes(cells)
    sim.end()
    assert sum(len(t) for t in by_hand) > 0
    for a, b in zip(by_hand, automatic):
        np.testing.assert_array_equal(a, b)


def test_quantised_spikes_identical_in_both_paradigms():
    results = []
    for paradigm in ("serial", "parallel"):
        cells, _, _ = _network(True, paradigm=paradigm)
        sim.run(200.0)
        results.append(_spikes(cells))
        sim.end()
    assert sum(len(t) for t in results[0]) > 0
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_weights_set_after_a_run_are_quantised():
    cells, exc, _ = _network(True)
    sim.run(10.0)
    exc.set(weight=0.3333)
    values = np.array(exc.get("weight", format="list", with_address=False))
    step = scale_for(0.3333, 9)
    np.testing.assert_array_equal(values, np.full(values.shape, quantise([0.3333], step)[0]))
    sim.run(10.0)
    sim.end()


def test_weights_that_would_vanish_raise_before_any_simulation():
    cells, exc, inh = _network(True, weights=1.0)
    sim.Projection(exc.pre, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.001),
                   label="tiny")
    with pytest.raises(MappingError, match=r"(?s)'tiny'.*12000 synapses|12000 synapses.*'tiny'"):
        sim.run(10.0)
    assert sim.get_current_time() == 0.0
    with pytest.raises(MappingError, match="factor 1000"):
        sim.get_mapping()
    sim.end()


def test_two_bit_profile_holds_one_magnitude_per_sign():
    # DYNAP-SE: 2 bits, one magnitude per sign: equal weights pass (exactly, when that
    # magnitude is a power-of-two step), spread ones do not
    cells, exc, inh = _network(True, weights=0.25, hardware="dynapse")
    report = sim.get_mapping().report()["weight_quantisation"]
    error = {r["receptor"]: r["max_relative_error"] for r in report["receptors"]}
    assert error["excitatory"] == 0.0
    assert error["inhibitory"] == pytest.approx(0.2 / 0.3)     # -0.3 -> -0.5, the one level
    sim.end()
    cells, exc, inh = _network(True, hardware="dynapse")
    with pytest.raises(MappingError, match="2-bit weights"):
        sim.get_mapping()
    sim.end()


def test_bad_setting():
    with pytest.raises(errors.InvalidParameterValueError, match="quantise_weights"):
        sim.setup(quantise_weights="yes")
    sim.setup()
    assert sim.simulator.state.quantise_weights is False
    sim.end()
