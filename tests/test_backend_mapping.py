"""The backend's view of the mapping: setup(hardware=...), get_mapping(), compile()."""
import json

import numpy as np
import pytest

import pyNN_neuro as sim


def _network(hardware="loihi"):
    sim.setup(timestep=0.1, hardware=hardware)
    source = sim.Population(50, sim.SpikeSourcePoisson(rate=20.0), label="input")
    exc = sim.Population(300, sim.IF_curr_exp(), label="exc")
    sim.Projection(source, exc, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(1)),
                   sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.05, rng=sim.NumpyRNG(2)),
                   sim.StaticSynapse(weight=0.1, delay=1.0))
    exc.record("spikes")
    return source, exc


def test_mapping_before_a_run_is_static():
    _network()
    report = sim.get_mapping().report()
    assert report["profile"] == "loihi"
    assert report["cores_used"] >= 1
    assert sum(report["neurons_per_core"]) == 300      # sources occupy no neuron slots
    sim.end()


def test_mapping_counts_come_from_the_run():
    source, exc = _network()
    sim.run(500.0)
    mapping = sim.get_mapping()
    spikes = sum(len(st) for st in exc.get_data().segments[0].spiketrains)
    assert spikes > 0
    assert np.array_equal(mapping.spec.spike_counts[50:350], exc._group.spike_count)
    report = mapping.report()
    json.dumps(report)
    assert report["energy_pj"]["total"] > 0
    # a second run refreshes the counted figures without recompiling
    sim.run(500.0)
    again = sim.get_mapping()
    assert again is mapping
    assert again.spec.duration_ms == pytest.approx(1000.0)
    sim.end()


def test_mapping_does_not_change_spikes():
    """Exact mode: asking for the mapping (before or during a run) changes no spike."""
    def spikes(ask):
        _, exc = _network()
        if ask:
            sim.compile()
        sim.run(200.0)
        if ask:
            sim.get_mapping()
        sim.run(200.0)
        trains = exc.get_data().segments[0].spiketrains
        out = [np.asarray(t) for t in trains]
        sim.end()
        return out
    for a, b in zip(spikes(False), spikes(True)):
        np.testing.assert_array_equal(a, b)


def test_other_profiles_and_bad_names():
    _network("truenorth")
    assert sim.get_mapping().report()["profile"] == "truenorth"
    with pytest.raises(ValueError, match="loihi"):
        sim.setup(hardware="no-such-chip")
    sim.end()


def test_changing_the_network_recompiles():
    source, exc = _network()
    first = sim.get_mapping()
    inh = sim.Population(100, sim.IF_curr_exp(), label="inh")
    sim.Projection(exc, inh, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    second = sim.get_mapping()
    assert second is not first
    assert sum(second.report()["neurons_per_core"]) == 400
    sim.end()
