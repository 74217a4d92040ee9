"""sim.NativeRNG: pyNN_neuro's own generator (numpy's PCG64) wherever PyNN takes an rng."""
import copy

import numpy as np
import pytest
from pyNN.random import NumpyRNG, RandomDistribution


def test_same_seed_same_numbers_other_seed_other_numbers(sim):
    a, b, c = sim.NativeRNG(seed=5), sim.NativeRNG(seed=5), sim.NativeRNG(seed=6)
    x = a.next(1000, "normal", {"mu": 0.0, "sigma": 1.0})
    np.testing.assert_array_equal(x, b.next(1000, "normal", {"mu": 0.0, "sigma": 1.0}))
    assert not np.array_equal(x, c.next(1000, "normal", {"mu": 0.0, "sigma": 1.0}))
    # not NumpyRNG's numbers for the same seed
    assert not np.array_equal(
        sim.NativeRNG(seed=5).next(10), NumpyRNG(seed=5).next(10))


@pytest.mark.parametrize("name,params,mean,var", [
    ("uniform", {"low": 2.0, "high": 4.0}, 3.0, 4.0 / 12),
    ("normal", {"mu": 1.5, "sigma": 0.5}, 1.5, 0.25),
    ("exponential", {"beta": 2.0}, 2.0, 4.0),
    ("gamma", {"k": 3.0, "theta": 0.5}, 1.5, 0.75),
    ("poisson", {"lambda_": 4.0}, 4.0, 4.0),
    ("binomial", {"n": 10, "p": 0.3}, 3.0, 2.1),
    ("lognormal", {"mu": 0.0, "sigma": 0.25}, np.exp(0.25 ** 2 / 2),
     (np.exp(0.25 ** 2) - 1) * np.exp(0.25 ** 2)),
    ("uniform_int", {"low": 0, "high": 10}, 4.5, (10 ** 2 - 1) / 12),
])
def test_distributions_have_pynn_parameterisation(sim, name, params, mean, var):
    x = np.asarray(sim.NativeRNG(seed=11).next(200_000, name, params), dtype=float)
    assert x.mean() == pytest.approx(mean, rel=0.01, abs=0.01)
    assert x.var() == pytest.approx(var, rel=0.03)
    if name == "uniform_int":
        assert x.min() == 0 and x.max() == 9      # high is excluded, as in NumpyRNG


def test_clipped_normals_stay_in_bounds(sim):
    rng = sim.NativeRNG(seed=3)
    x = rng.next(10_000, "normal_clipped", {"mu": 0.0, "sigma": 1.0, "low": -0.5, "high": 1.0})
    assert x.min() >= -0.5 and x.max() <= 1.0 and np.unique(x).size == x.size
    y = rng.next(10_000, "normal_clipped_to_boundary",
                 {"mu": 0.0, "sigma": 1.0, "low": -0.5, "high": 1.0})
    assert (y == -0.5).sum() > 2000 and (y == 1.0).sum() > 1000


def test_bad_distribution_or_parameters_name_them(sim):
    rng = sim.NativeRNG(seed=1)
    with pytest.raises(KeyError, match="vonmisses"):
        rng.next(3, "vonmisses", {"mu": 0.0})
    with pytest.raises(KeyError, match="sigma"):
        rng.next(3, "normal", {"mu": 0.0})


def test_seed_none_is_drawn_and_kept(sim):
    rng = sim.NativeRNG()
    assert isinstance(rng.seed, int)
    again = sim.NativeRNG(seed=rng.seed)
    np.testing.assert_array_equal(rng.next(5), again.next(5))


def test_deepcopy_continues_the_same_stream(sim):
    rng = sim.NativeRNG(seed=9)
    rng.next(7)
    twin = copy.deepcopy(rng)
    np.testing.assert_array_equal(rng.next(20), twin.next(20))
    assert twin.seed == 9


def test_used_by_connectors_weights_and_sample(sim):
    def build(seed):
        sim.setup(timestep=0.1)
        a = sim.Population(30, sim.SpikeSourcePoisson(rate=50.0))
        b = sim.Population(20, sim.IF_cond_exp())
        rng = sim.NativeRNG(seed=seed)
        w = RandomDistribution("normal_clipped", mu=0.01, sigma=0.002, low=0.0, high=1.0,
                               rng=rng)
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.3, rng=rng),
                             sim.StaticSynapse(weight=w, delay=1.0))
        sample = b.sample(5, rng=rng)
        b.record("spikes")
        sim.run(50.0)
        out = (prj.get("weight", format="list"), list(sample.all_cells.astype(int)),
               b.get_spike_counts())
        sim.end()
        return out

    first, second, other = build(4), build(4), build(5)
    assert first[0] == second[0] and first[1] == second[1] and first[2] == second[2]
    assert first[0] != other[0]
    weights = np.array([w for _, _, w in first[0]])
    assert 100 < weights.size < 260 and np.all(weights > 0.0)
