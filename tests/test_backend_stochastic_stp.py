"""StochasticTsodyksMarkramSynapse and MultiQuantalSynapse: the kernels' release statistics
against their expectations, and the PyNN-level behaviour (initialize, reset, determinism,
parameter checks)."""
import numpy as np
import pytest
from pyNN import errors

from pyNN_neuro.engine import _synapses

N = 20000          # synapses from one presynaptic neuron: the mean release has SE < 0.4%
DT = 0.1


def _deliver_train(kernel, steps, n):
    """The weight each synapse transmits at each spike of one presynaptic neuron (rows:
    spikes)."""
    ring = np.zeros((4, n))
    out = []
    for s in steps:
        kernel.deliver(np.zeros(1, dtype=np.intc), np.zeros(1, dtype=np.intc), 1, s, ring)
        out.append(ring[s % 4].copy())
        ring[:] = 0.0
    return np.array(out)


def _rows(n):
    return (np.array([0, n], dtype=np.int64), np.arange(n, dtype=np.intc), np.ones(n),
            np.zeros(n, dtype=np.intc))


def _stochastic_tm(n, U, tau_rec, tau_facil, seed=3):
    indptr, post, weight, delay = _rows(n)
    state = dict(u=np.zeros(n), recovered=np.ones(n), t_surv=np.zeros(n), t_last=np.zeros(n),
                 counter=np.zeros(n, dtype=np.uint64))
    kernel = _synapses.StochasticTsodyksMarkramUnit(
        indptr, post, weight, delay, np.full(n, U), np.full(n, tau_rec), np.full(n, tau_facil),
        state["counter"], seed, DT, state["u"], state["recovered"], state["t_surv"],
        state["t_last"])
    return kernel, state


def _quantal(n, U, tau_rec, tau_facil, sites, u0, a0, seed=3):
    indptr, post, weight, delay = _rows(n)
    state = dict(u=np.full(n, u0), available=np.full(n, a0, dtype=np.intc),
                 t_last=np.full(n, -1.0), counter=np.zeros(n, dtype=np.uint64))
    kernel = _synapses.QuantalUnit(
        indptr, post, weight, delay, np.full(n, U), np.full(n, tau_rec), np.full(n, tau_facil),
        state["counter"], seed, DT, np.full(n, sites, dtype=np.intc), state["u"],
        state["available"], state["t_last"])
    return kernel, state


# a train with a long pause: recovery between bursts
STEPS = [99, 149, 199, 249, 299, 1299, 1349, 1399]


def _times(steps):
    return (np.asarray(steps) + 1) * DT


def test_stochastic_tm_depression_matches_its_expectation():
    """tau_facil = 0: u = U. A site that is recovered releases with probability U; one that
    is not recovers (Poisson, rate 1/tau_rec) before the next spike with probability
    1 - exp(-interval / tau_rec). So r, the probability of being recovered at a spike,
    obeys r' = r (1 - U) + (1 - r (1 - U)) (1 - exp(-interval / tau_rec)), r = 1 at first."""
    U, tau_rec = 0.6, 40.0
    kernel, _ = _stochastic_tm(N, U, tau_rec, 0.0)
    released = _deliver_train(kernel, STEPS, N)
    assert set(np.unique(released)) == {0.0, 1.0}
    t = _times(STEPS)
    r, expected = 1.0, []
    for k in range(len(t)):
        expected.append(U * r)
        if k + 1 < len(t):
            stay = r * (1.0 - U)
            r = stay + (1.0 - stay) * (1.0 - np.exp(-(t[k + 1] - t[k]) / tau_rec))
    mean = released.mean(axis=1)
    se = np.sqrt(np.array(expected) * (1 - np.array(expected)) / N)
    assert np.all(np.abs(mean - expected) < 4.5 * se + 1e-12), (mean, expected)
    assert mean[1] < 0.5 * mean[0] and mean[5] > 0.9 * mean[0]   # depression, recovery


def test_stochastic_tm_facilitation_raises_u():
    """u <- u exp(-h / tau_facil) + U (1 - u exp(-h / tau_facil)): with fast recovery the
    release probability follows u, which grows along a train."""
    U, tau_facil = 0.1, 500.0
    kernel, state = _stochastic_tm(N, U, 1e-6, tau_facil)
    released = _deliver_train(kernel, STEPS[:5], N)
    t = _times(STEPS[:5])
    u, last, expected = 0.0, 0.0, []
    for tk in t:
        u = u * np.exp(-(tk - last) / tau_facil)
        u = u + U * (1 - u)
        expected.append(u)
        last = tk
    np.testing.assert_allclose(state["u"], expected[-1], rtol=1e-12)
    mean = released.mean(axis=1)
    se = np.sqrt(np.array(expected) * (1 - np.array(expected)) / N)
    assert np.all(np.abs(mean - expected) < 4.5 * se)
    assert mean[-1] > 2.5 * mean[0]


def test_quantal_release_follows_nest_order():
    """NEST 3.10's quantal_stp_synapse (measured through NEST's API): from the second spike
    on, u <- U + u (1 - U) exp(-h / tau_facil) and each unavailable site recovers with
    probability 1 - exp(-h / tau_rec) (h: the interval that ended at this spike), then each
    available site releases with probability u; the first spike only releases. So the
    expected number released is a u with, before it, a <- a + (n - a) (1 - exp(-h /
    tau_rec)), and after it a <- a (1 - u)."""
    U, tau_rec, tau_facil, sites = 0.5, 60.0, 40.0, 4
    kernel, state = _quantal(N, U, tau_rec, tau_facil, sites, u0=0.3, a0=2)
    released = _deliver_train(kernel, STEPS, N)
    assert released.max() <= sites and np.all(released == np.round(released))
    t = _times(STEPS)
    a, u, last, expected = 2.0, 0.3, None, []
    for tk in t:
        if last is not None:
            h = tk - last
            u = U + u * (1 - U) * np.exp(-h / tau_facil)
            a = a + (sites - a) * (1.0 - np.exp(-h / tau_rec))
        expected.append(a * u)
        a = a - a * u
        last = tk
    mean = released.mean(axis=1)
    se = np.sqrt(sites * 0.25 / N)
    assert np.all(np.abs(mean - expected) < 4.5 * se), (mean, expected)
    np.testing.assert_allclose(state["u"], u, rtol=1e-12)
    assert mean[5] > 2 * mean[4]          # recovered during the pause
    assert np.all(state["available"] >= 0) and np.all(state["available"] <= sites)


def test_same_seed_same_releases_whatever_the_chunking():
    results = []
    for chunks in ([STEPS], [STEPS[:3], STEPS[3:]]):
        kernel, _ = _quantal(500, 0.3, 50.0, 100.0, 3, 0.5, 1)
        results.append(np.concatenate([_deliver_train(kernel, c, 500) for c in chunks]))
    np.testing.assert_array_equal(results[0], results[1])
    other, _ = _quantal(500, 0.3, 50.0, 100.0, 3, 0.5, 1, seed=4)
    assert not np.array_equal(results[0], _deliver_train(other, STEPS, 500))


# PyNN level --------------------------------------------------------------------------------

def _network(sim, synapse, n=400, initialize=None, threads=1, seed=7):
    sim.setup(timestep=DT, min_delay=1.0, threads=threads, rng_seed=seed)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 15.0, 20.0, 25.0,
                                                                   30.0, 150.0, 155.0]))
    cells = sim.Population(n, sim.IF_cond_exp(tau_syn_I=4.0), label="cells")
    prj = sim.Projection(source, cells, sim.AllToAllConnector(), synapse,
                         receptor_type="inhibitory")
    if initialize:
        prj.initialize(**initialize)
    cells.record("gsyn_inh")
    return cells, prj


def _g(cells):
    return np.asarray(cells.get_data().segments[-1].filter(name="gsyn_inh")[0].magnitude)


def _sites_released(g_row):
    """Per target, the number of sites released by one spike, from the conductances it
    left (each site adds the same decayed weight)."""
    unit = g_row[g_row > 0].min()
    counts = g_row / unit
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    return np.round(counts)


@pytest.mark.parametrize("make", [
    lambda sim: sim.StochasticTsodyksMarkramSynapse(U=0.5, tau_rec=80.0, tau_facil=0.0,
                                                     weight=0.01, delay=1.0),
    lambda sim: sim.MultiQuantalSynapse(U=0.5, n=3, tau_rec=80.0, tau_facil=20.0,
                                        weight=0.01, delay=1.0),
], ids=["stochastic_tm", "multiquantal"])
def test_deterministic_across_threads_and_reset(sim, make):
    traces = []
    for threads in (1, 2):
        cells, _ = _network(sim, make(sim), threads=threads)
        sim.run(200.0)
        first = _g(cells)
        sim.reset()
        sim.run(200.0)
        second = _g(cells)
        np.testing.assert_array_equal(first, second)      # reset replays the releases
        traces.append(first)
        sim.end()
    np.testing.assert_array_equal(traces[0], traces[1])
    assert traces[0].max() > 0.0
    # stochastic: the targets do not all receive the same
    assert np.unique(traces[0][120]).size > 1


def test_two_projections_draw_different_releases(sim):
    """Each projection has its own random streams (seeded by its creation number)."""
    sim.setup(timestep=DT, min_delay=1.0)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 20.0, 30.0]))
    a = sim.Population(300, sim.IF_cond_exp())
    b = sim.Population(300, sim.IF_cond_exp())
    for post in (a, b):
        sim.Projection(source, post, sim.AllToAllConnector(),
                       sim.StochasticTsodyksMarkramSynapse(U=0.5, weight=0.01, delay=1.0))
        post.record("gsyn_exc")
    sim.run(40.0)
    ga = np.asarray(a.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude)
    gb = np.asarray(b.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude)
    assert not np.array_equal(ga, gb)


def test_initialize_sets_the_state_and_reset_keeps_it(sim):
    """The multiquantal example's initialize(a=n, u=U): every site available, so the first
    spike releases n U sites on average (NEST's own initial state has one)."""
    n_sites, U = 5, 0.8
    syn = sim.MultiQuantalSynapse(U=U, n=n_sites, tau_rec=100.0, weight=0.01, delay=1.0)
    cells, prj = _network(sim, syn, n=2000, initialize=dict(a=n_sites, u=U))
    sim.run(12.0)
    g = _g(cells)
    released = _sites_released(g[-1])       # by the spike at 10 ms (arriving at 11 ms)
    assert released.max() == n_sites
    assert released.mean() == pytest.approx(n_sites * U, abs=0.1)
    sim.reset()
    sim.run(12.0)
    np.testing.assert_array_equal(_g(cells), g)


def test_default_initial_state_is_nests(sim):
    """Without initialize: u = 0.5 and one available site (NEST 3.10 through pyNN.nest)."""
    syn = sim.MultiQuantalSynapse(U=0.2, n=5, tau_rec=100.0, weight=0.01, delay=1.0)
    cells, _ = _network(sim, syn, n=2000)
    sim.run(12.0)
    released = _sites_released(_g(cells)[-1])
    assert set(released) == {0.0, 1.0}
    assert released.mean() == pytest.approx(0.5, abs=0.05)


def test_initialize_errors_name_the_variable(sim):
    sim.setup(timestep=DT)
    a = sim.Population(2, sim.SpikeSourceArray())
    b = sim.Population(2, sim.IF_cond_exp())
    quantal = sim.Projection(a, b, sim.AllToAllConnector(),
                             sim.MultiQuantalSynapse(n=2, weight=0.01))
    with pytest.raises(errors.NonExistentParameterError, match="x"):
        quantal.initialize(x=0.3)
    with pytest.raises(errors.InvalidParameterValueError, match="u"):
        quantal.initialize(u=1.5)
    static = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    with pytest.raises(errors.NonExistentParameterError, match="u"):
        static.initialize(u=0.3)
    with pytest.raises(errors.InvalidParameterValueError, match="a .available release sites"):
        quantal.initialize(a=3)       # more than n
    with pytest.raises(errors.InvalidParameterValueError, match="a .available release sites"):
        quantal.initialize(a=1.5)


@pytest.mark.parametrize("kwargs,name", [
    (dict(U=1.5), "U"), (dict(tau_rec=0.0), "tau_rec"), (dict(tau_facil=-1.0), "tau_facil"),
    (dict(n=0), "n"), (dict(n=-2), "n")])
def test_bad_parameters_name_them(sim, kwargs, name):
    a = sim.Population(2, sim.SpikeSourceArray())
    b = sim.Population(2, sim.IF_cond_exp())
    synapse = sim.MultiQuantalSynapse if "n" in kwargs else sim.StochasticTsodyksMarkramSynapse
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        sim.Projection(a, b, sim.AllToAllConnector(), synapse(weight=0.01, **kwargs))


def test_tsodyks_markram_initialize_x(sim):
    """Projection.initialize(x=...) on the deterministic TsodyksMarkramSynapse: with half the
    resources recovered at t = 0, the spike at 10 ms finds x = 0.5 + 0.5 (1 - exp(-10 /
    tau_rec)) of them (NEST's tsodyks_synapse recovers z before using x) and transmits
    that fraction of what it transmits from x = 1."""
    peaks = []
    for initial in (None, dict(x=0.5)):
        syn = sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, weight=0.01, delay=1.0)
        cells, _ = _network(sim, syn, n=2, initialize=initial)
        sim.run(12.0)
        peaks.append(_g(cells)[-1, 0])
        sim.end()
    assert peaks[1] == pytest.approx((0.5 + 0.5 * (1 - np.exp(-10.0 / 100.0))) * peaks[0],
                                     rel=1e-9)
