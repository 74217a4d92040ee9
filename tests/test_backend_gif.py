"""GIF_cond_exp through the PyNN API: list parameters (ArrayParameter), recording of the
moving threshold and the spike-triggered current, set() and errors."""
import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import ArrayParameter


def _gif(sim, n=4, **params):
    values = dict(tau_refrac=2.0, v_reset=-68.0, i_offset=0.9, delta_v=0.01, v_t_star=-52.0,
                  lambda0=1e5, tau_eta=ArrayParameter([5.0, 50.0]),
                  a_eta=ArrayParameter([0.05, 0.02]), tau_gamma=ArrayParameter([10.0]),
                  a_gamma=ArrayParameter([3.0]))
    values.update(params)
    return sim.Population(n, sim.GIF_cond_exp(**values))


def test_records_threshold_and_spike_triggered_current(sim):
    p = _gif(sim)
    p.record(["spikes", "v", "v_t", "i_eta", "gsyn_exc"])
    sim.run(300.0)
    seg = p.get_data().segments[0]
    counts = [len(st) for st in seg.spiketrains]
    assert min(counts) >= 3
    v_t = np.asarray(seg.filter(name="v_t")[0].magnitude)
    i_eta = np.asarray(seg.filter(name="i_eta")[0].magnitude)
    first = int(round(float(seg.spiketrains[0][0]) / 0.1))
    # the step after the spike: threshold up by a_gamma, current up by the sum of a_eta
    assert v_t[first + 1, 0] == pytest.approx(-52.0 + 3.0)
    assert i_eta[first + 1, 0] == pytest.approx(0.07)
    assert str(seg.filter(name="i_eta")[0].units.dimensionality) == "nA"


def test_per_neuron_lists_and_set_after_run(sim):
    p = _gif(sim, n=2, tau_gamma=ArrayParameter([100.0]),
             a_gamma=[ArrayParameter([0.0]), ArrayParameter([8.0])])
    p.record("spikes")
    sim.run(300.0)
    strong, none = [len(st) for st in reversed(p.get_data().segments[0].spiketrains)]
    assert none > strong          # more threshold adaptation, fewer spikes
    p.set(lambda0=0.0)            # no escape: silent from now on
    sim.run(200.0)
    assert [len(st) for st in p.get_data().segments[0].spiketrains] == [none, strong]


def test_element_lists_must_match(sim):
    with pytest.raises(errors.InvalidParameterValueError, match="tau_eta and a_eta"):
        p = _gif(sim, a_eta=ArrayParameter([0.05]))
        sim.run(1.0)
    sim.end()
    sim.setup()
    with pytest.raises(errors.InvalidParameterValueError, match="tau_gamma"):
        p = _gif(sim, tau_gamma=ArrayParameter([-1.0]))
        sim.run(1.0)


def test_same_spikes_with_threads_and_seed(sim):
    runs = []
    for threads, seed in ((1, 5), (2, 5), (1, 6)):
        sim.setup(timestep=0.1, threads=threads, rng_seed=seed)
        p = _gif(sim, n=50, delta_v=1.5, lambda0=30.0)
        p.record("spikes")
        sim.run(200.0)
        runs.append([list(np.asarray(st)) for st in p.get_data().segments[0].spiketrains])
        sim.end()
    assert sum(map(len, runs[0])) > 20
    assert runs[0] == runs[1] and runs[0] != runs[2]
