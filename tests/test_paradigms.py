"""Paradigm invariance: the serial (event-driven) and parallel (window-batched) paradigms
give identical spike trains on the same network and seed."""
import numpy as np
import pytest

import pyNN_neuro as sim
from pyNN import errors


def _spikes(populations):
    return [[np.asarray(st) for st in p.get_data().segments[0].spiketrains]
            for p in populations]


def _assert_identical(a, b):
    assert sum(len(t) for pop in a for t in pop) > 0, "the test network must spike"
    for pop_a, pop_b in zip(a, b):
        for x, y in zip(pop_a, pop_b):
            np.testing.assert_array_equal(x, y)


def recurrent(paradigm, threads=1):
    """A Vogels-Abbott-like recurrent E/I network (800 cells, 2% connectivity)."""
    sim.setup(timestep=0.1, min_delay=0.2, paradigm=paradigm, threads=threads)
    params = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-49.0, v_reset=-60.0,
                  v_thresh=-50.0, cm=0.2, tau_refrac=5.0)
    exc = sim.Population(640, sim.IF_curr_exp(**params))
    inh = sim.Population(160, sim.IF_curr_exp(**params))
    rng = sim.NumpyRNG(seed=7)
    v = sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=v)
    inh.initialize(v=v)
    connector = sim.FixedProbabilityConnector(0.1, rng=rng)
    for pre, w, receptor in ((exc, 0.05, "excitatory"), (inh, -0.3, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, connector, sim.StaticSynapse(weight=w, delay=0.2),
                           receptor_type=receptor)
    for p in (exc, inh):
        p.record("spikes")
    sim.run(300.0)
    out = _spikes([exc, inh])
    sim.end()
    return out


def feed_forward(paradigm):
    """A 5-layer dense feed-forward network driven by Poisson sources, two delays."""
    sim.setup(timestep=0.1, paradigm=paradigm)
    layers = [sim.Population(100, sim.SpikeSourcePoisson(rate=50.0))]
    for i in range(5):
        layers.append(sim.Population(120, sim.IF_curr_exp(tau_refrac=2.0)))
        sim.Projection(layers[-2], layers[-1],
                       sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(i)),
                       sim.StaticSynapse(weight=0.1 if i == 0 else 0.06,
                                         delay=sim.RandomDistribution(
                                             "uniform_int", low=1, high=3,
                                             rng=sim.NumpyRNG(10 + i))))
    for layer in layers[1:]:
        layer.record("spikes")
    sim.run(300.0)
    out = _spikes(layers[1:])
    sim.end()
    return out


def mixed(paradigm):
    """Several cell types (current, conductance, AdEx, Izhikevich) in one network."""
    sim.setup(timestep=0.1, paradigm=paradigm)
    src = sim.Population(80, sim.SpikeSourcePoisson(rate=40.0))
    pops = [sim.Population(50, sim.IF_cond_exp()),
            sim.Population(50, sim.EIF_cond_exp_isfa_ista()),
            sim.Population(50, sim.Izhikevich()),
            sim.Population(50, sim.IF_curr_alpha())]
    weights = [0.02, 0.02, 3.0, 0.6]
    for pop, w in zip(pops, weights):
        sim.Projection(src, pop, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(3)),
                       sim.StaticSynapse(weight=w, delay=1.0))
    sim.Projection(pops[0], pops[3], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.2, delay=1.5))
    sim.Projection(pops[3], pops[0], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.001, delay=2.0))
    for p in pops:
        p.record("spikes")
    sim.run(300.0)
    out = _spikes(pops)
    sim.end()
    return out


@pytest.mark.parametrize("network", [recurrent, feed_forward, mixed])
def test_serial_and_parallel_give_identical_spikes(network):
    _assert_identical(network("serial"), network("parallel"))


def test_parallel_is_thread_invariant():
    _assert_identical(recurrent("parallel", threads=1), recurrent("parallel", threads=2))


def test_per_projection_override_and_errors():
    sim.setup(timestep=0.1)
    a = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0))
    b = sim.Population(10, sim.IF_curr_exp())
    static = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    plastic = sim.Projection(a, b, sim.AllToAllConnector(),
                             sim.TsodyksMarkramSynapse(weight=0.5))
    static.paradigm = "parallel"
    assert static.paradigm == "parallel"
    with pytest.raises(errors.InvalidParameterValueError, match="parallel"):
        plastic.paradigm = "parallel"
    with pytest.raises(errors.InvalidParameterValueError, match="paradigm"):
        static.paradigm = "fast"
    sim.run(10.0)
    assert type(static._units[0][0]).__name__ == "ParallelUnit"
    assert type(plastic._units[0][0]).__name__ == "TsodyksMarkramUnit"
    sim.end()
    with pytest.raises(errors.InvalidParameterValueError, match="paradigm"):
        sim.setup(paradigm="turbo")
    sim.setup(timestep=0.1, paradigm="parallel")
    a = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0))
    b = sim.Population(10, sim.IF_curr_exp())
    sim.Projection(a, b, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(weight=0.5))
    with pytest.raises(errors.InvalidParameterValueError, match="TsodyksMarkramSynapse"):
        sim.run(10.0)
    sim.end()


def test_parallel_weights_follow_set():
    def run(change):
        sim.setup(timestep=0.1, paradigm="parallel")
        a = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0))
        b = sim.Population(5, sim.IF_curr_exp())
        prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
        b.record("spikes")
        sim.run(50.0)
        if change:
            prj.set(weight=0.5)
        sim.run(50.0)
        n = sum(len(t) for t in b.get_data().segments[0].spiketrains)
        sim.end()
        return n
    assert run(True) > run(False)
