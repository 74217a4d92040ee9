"""Every PyNN connector on Populations, 1-cell Populations and PopulationViews."""
import time

import numpy as np
import pytest
from pyNN.core import IndexBasedExpression
from pyNN.space import Grid2D


class _Diagonal(IndexBasedExpression):
    def __call__(self, i, j):
        return np.where(i == j, 1.0, 0.0)


CONNECTOR_NAMES = ["AllToAll", "OneToOne", "FixedProbability1", "FixedProbability0",
                   "FixedNumberPre", "FixedNumberPost", "FixedTotalNumber", "FromList",
                   "FromListWD", "FromFile", "DistanceDependent", "DisplacementDependent",
                   "IndexBased", "Array"]


def _connector(sim, name, pre, post, tmp_path):
    """(connector, expected sorted list of (i, j)) for projecting pre -> post."""
    n_pre, n_post = pre.size, post.size
    rng = sim.NumpyRNG(seed=17)
    conn_list = sorted({(0, 0), (n_pre - 1, n_post - 1)})
    all_pairs = sorted((i, j) for i in range(n_pre) for j in range(n_post))
    diagonal = [(i, i) for i in range(min(n_pre, n_post))]
    # same x position (Line structure of the base populations)
    xpre, xpost = pre.positions[0], post.positions[0]
    same_place = sorted((i, j) for i in range(n_pre) for j in range(n_post)
                        if abs(xpre[i] - xpost[j]) < 0.5)
    if name == "AllToAll":
        return sim.AllToAllConnector(), all_pairs
    if name == "OneToOne":
        return sim.OneToOneConnector(), diagonal
    if name == "FixedProbability1":
        return sim.FixedProbabilityConnector(1.0, rng=rng), all_pairs
    if name == "FixedProbability0":
        return sim.FixedProbabilityConnector(0.0, rng=rng), []
    if name == "FixedNumberPre":
        return sim.FixedNumberPreConnector(1, rng=rng), \
            lambda pairs: sorted(j for _, j in pairs) == list(range(n_post))
    if name == "FixedNumberPost":
        return sim.FixedNumberPostConnector(1, rng=rng), \
            lambda pairs: sorted(i for i, _ in pairs) == list(range(n_pre))
    if name == "FixedTotalNumber":
        n = min(3, n_pre * n_post)
        return sim.FixedTotalNumberConnector(n, rng=rng), lambda pairs: len(pairs) == n
    if name == "FromList":
        return sim.FromListConnector(conn_list), conn_list
    if name == "FromListWD":
        return sim.FromListConnector([(a, b, 0.3, 2.0) for a, b in conn_list],
                                     column_names=["weight", "delay"]), conn_list
    if name == "FromFile":
        fname = str(tmp_path / f"conn_{n_pre}_{n_post}.txt")
        with open(fname, "w") as f:
            f.write("# columns = ['i', 'j', 'weight', 'delay']\n")
            # two rows always (PyNN's FromFileConnector fails on a one-row file)
            f.write(f"0 {n_post - 1} 0.25 1.5\n")
            f.write(f"{n_pre - 1} 0 0.5 2.0\n")
        return sim.FromFileConnector(fname), sorted([(0, n_post - 1), (n_pre - 1, 0)])
    if name == "DistanceDependent":
        return sim.DistanceDependentProbabilityConnector("d < 0.5", rng=rng), same_place
    if name == "DisplacementDependent":
        return sim.DisplacementDependentProbabilityConnector(
            lambda d: 1.0 * (np.abs(d[0]) < 0.5), rng=rng), same_place
    if name == "IndexBased":
        return sim.IndexBasedProbabilityConnector(_Diagonal(), rng=rng), diagonal
    if name == "Array":
        return sim.ArrayConnector(np.eye(n_pre, n_post, dtype=bool)), diagonal
    raise KeyError(name)




def _cases():
    cases = []
    for view in (False, True):
        for sizes in [(5, 4), (1, 1), (4, 1), (1, 4)]:
            for name in CONNECTOR_NAMES:
                marks = []
                cases.append(pytest.param(name, sizes, view, marks=marks,
                                          id=f"{name}-{sizes[0]}x{sizes[1]}-{'view' if view else 'pop'}"))
    return cases


@pytest.mark.parametrize("name,sizes,view", _cases())
def test_connector(sim, tmp_path, name, sizes, view):
    n_pre, n_post = sizes
    if view:
        pre = sim.Population(n_pre + 3, sim.SpikeSourceArray(spike_times=[1.0]))[2:2 + n_pre]
        post = sim.Population(n_post + 2, sim.IF_curr_exp())[np.arange(1, 1 + n_post)]
    else:
        pre = sim.Population(n_pre, sim.SpikeSourceArray(spike_times=[1.0]))
        post = sim.Population(n_post, sim.IF_curr_exp())
    connector, expected = _connector(sim, name, pre, post, tmp_path)
    prj = sim.Projection(pre, post, connector, sim.StaticSynapse(weight=0.5, delay=1.0))
    pairs = sorted((int(i), int(j)) for i, j, _ in prj.get("weight", format="list"))
    if callable(expected):
        assert expected(pairs), pairs
    else:
        assert pairs == expected
    assert len(prj) == prj.size() == len(pairs) == len(prj.connections)
    w = prj.get("weight", format="array")
    assert w.shape == (n_pre, n_post)
    assert np.count_nonzero(~np.isnan(w)) == len(set(pairs))
    if name == "FromListWD":
        assert all(d == 2.0 for _, _, d in prj.get("delay", format="list"))
    post.record("v")
    sim.run(5.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude
    targets = sorted({j for _, j in pairs})
    moved = np.nonzero(v.max(axis=0) > -65.0 + 1e-9)[0].tolist()
    assert moved == targets


def test_all_to_all_no_self_connections(sim):
    p = sim.Population(5, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.AllToAllConnector(allow_self_connections=False),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    pairs = [(i, j) for i, j, _ in prj.get("weight", format="list")]
    assert len(pairs) == 20 and all(i != j for i, j in pairs)


def test_fixed_number_pre_post_exact(sim):
    a = sim.Population(50, sim.IF_curr_exp())
    b = sim.Population(40, sim.IF_curr_exp())
    rng = sim.NumpyRNG(seed=3)
    pre = sim.Projection(a, b, sim.FixedNumberPreConnector(7, rng=rng), sim.StaticSynapse(weight=0.1))
    post = sim.Projection(a, b, sim.FixedNumberPostConnector(6, rng=rng), sim.StaticSynapse(weight=0.1))
    tot = sim.Projection(a, b, sim.FixedTotalNumberConnector(333, rng=rng), sim.StaticSynapse(weight=0.1))
    lp = np.array([(i, j) for i, j, _ in pre.get("weight", format="list")])
    lq = np.array([(i, j) for i, j, _ in post.get("weight", format="list")])
    assert np.all(np.bincount(lp[:, 1], minlength=40) == 7)
    assert np.all(np.bincount(lq[:, 0], minlength=50) == 6)
    assert len(tot) == 333


def test_fixed_probability_count(sim):
    a = sim.Population(200, sim.IF_curr_exp())
    prj = sim.Projection(a, a, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(5)),
                         sim.StaticSynapse(weight=0.1))
    n = len(prj)
    expected = 0.1 * 200 * 200
    assert abs(n - expected) < 5 * np.sqrt(expected * 0.9)


def test_distance_dependent_on_grid(sim):
    grid = Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0)
    a = sim.Population(25, sim.IF_curr_exp(), structure=grid)
    prj = sim.Projection(a, a, sim.DistanceDependentProbabilityConnector("d < 1.1",
                                                                         allow_self_connections=False,
                                                                         rng=sim.NumpyRNG(1)),
                         sim.StaticSynapse(weight=0.1, delay="0.1 + 0.5 * d"))
    # 5x5 grid: 4 * 5 * 2 neighbour pairs, both directions
    assert len(prj) == 2 * 2 * 4 * 5
    delays = np.array(prj.get("delay", format="list"))[:, 2]
    np.testing.assert_allclose(delays, 0.6, atol=1e-9)


def test_small_world(sim):
    """PyNN 0.13's SmallWorldConnector.connect() is not implemented upstream (pyNN.nest
    raises too): the backend must at least fail loudly, not build an empty projection."""
    grid = Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0)
    a = sim.Population(36, sim.IF_curr_exp(), structure=grid)
    with pytest.raises(NotImplementedError):
        sim.Projection(a, a, sim.SmallWorldConnector(degree=1.1, rewiring=0.2,
                                                     rng=sim.NumpyRNG(3)),
                       sim.StaticSynapse(weight=0.1, delay=1.0))


def test_clone_connector(sim):
    a = sim.Population(10, sim.IF_curr_exp())
    b = sim.Population(8, sim.IF_curr_exp())
    ref = sim.Projection(a, b, sim.FixedProbabilityConnector(0.4, rng=sim.NumpyRNG(9)),
                         sim.StaticSynapse(weight=0.1))
    clone = sim.Projection(a, b, sim.CloneConnector(ref), sim.StaticSynapse(weight=0.2))
    p1 = sorted((i, j) for i, j, _ in ref.get("weight", format="list"))
    p2 = sorted((i, j) for i, j, _ in clone.get("weight", format="list"))
    assert p1 == p2 and len(p1) > 0


def test_clone_connector_single_cell(sim):
    a = sim.Population(1, sim.IF_curr_exp())
    ref = sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    clone = sim.Projection(a, a, sim.CloneConnector(ref), sim.StaticSynapse(weight=0.2))
    assert len(clone) == 1


def test_views_deliver_to_the_right_cells(sim):
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[[1.0], [3.0], [5.0], [7.0]]))
    post = sim.Population(6, sim.IF_curr_exp())
    sim.Projection(src[1:3], post[[0, 5]], sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=1.0, delay=1.0))
    post.record("v")
    sim.run(12.0)
    v = post.get_data().segments[0].analogsignals[0].magnitude
    moved = v.max(axis=0) > -65.0 + 1e-9
    assert moved.tolist() == [True, False, False, False, False, True]
    assert np.argmax(v[:, 0] > -65.0 + 1e-9) == 41     # src 1 spikes at 3 ms, +1 ms delay
    assert np.argmax(v[:, 5] > -65.0 + 1e-9) == 61     # src 2 at 5 ms


def test_assembly_to_assembly_delivery(sim):
    s1 = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    s2 = sim.Population(1, sim.SpikeSourceArray(spike_times=[6.0]))
    p1 = sim.Population(2, sim.IF_curr_exp())
    p2 = sim.Population(2, sim.IF_curr_exp())
    sim.Projection(s1 + s2, p1 + p2, sim.FromListConnector([(0, 3), (1, 0)]),
                   sim.StaticSynapse(weight=1.0, delay=1.0), receptor_type="excitatory")
    p1.record("v")
    p2.record("v")
    sim.run(10.0)
    v1 = p1.get_data().segments[0].analogsignals[0].magnitude
    v2 = p2.get_data().segments[0].analogsignals[0].magnitude
    assert np.argmax(v2[:, 1] > -65.0 + 1e-9) == 31
    assert np.argmax(v1[:, 0] > -65.0 + 1e-9) == 71
    assert np.all(v1[:, 1] == -65.0) and np.all(v2[:, 0] == -65.0)


def test_vogels_abbott_size_builds_fast(sim):
    t0 = time.perf_counter()
    cells = sim.Population(4000, sim.IF_cond_exp())
    exc, inh = cells[:3200], cells[3200:]
    rng = sim.NumpyRNG(seed=1)
    conn = sim.FixedProbabilityConnector(0.02, rng=rng)
    e = sim.Projection(exc, cells, conn, sim.StaticSynapse(weight=0.004, delay=0.2),
                       receptor_type="excitatory")
    i = sim.Projection(inh, cells, conn, sim.StaticSynapse(weight=0.051, delay=0.2),
                       receptor_type="inhibitory")
    sim.run(0.1)   # the engine is built at the first run
    elapsed = time.perf_counter() - t0
    n = len(e) + len(i)
    assert abs(n - 320_000) < 5 * np.sqrt(320_000)
    assert elapsed < 5.0, f"building the VA network took {elapsed:.1f} s"


def _pairs(prj):
    return np.array([(i, j) for i, j, _ in prj.get("weight", format="list")], dtype=int).reshape(-1, 2)


def test_fixed_number_pre_with_replacement_draws_exactly_as_pyNN(sim):
    from pyNN import connectors as generic
    a = sim.Population(30, sim.IF_curr_exp())
    b = sim.Population(20, sim.IF_curr_exp())
    ours = sim.Projection(a, b, sim.FixedNumberPreConnector(12, with_replacement=True,
                                                            rng=sim.NumpyRNG(seed=8)),
                          sim.StaticSynapse(weight=0.1))
    pyNN_s = sim.Projection(a, b, generic.FixedNumberPreConnector(12, with_replacement=True,
                                                                  rng=sim.NumpyRNG(seed=8)),
                            sim.StaticSynapse(weight=0.1))
    np.testing.assert_array_equal(_pairs(ours), _pairs(pyNN_s))


@pytest.mark.parametrize("n", [5, 45, 130])
def test_fixed_number_pre_without_replacement(sim, n):
    p = sim.Population(50, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.FixedNumberPreConnector(n, allow_self_connections=False,
                                                           rng=sim.NumpyRNG(seed=2)),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    pairs = _pairs(prj)
    assert np.all(np.bincount(pairs[:, 1], minlength=50) == n)
    assert not np.any(pairs[:, 0] == pairs[:, 1])
    for j in range(50):
        sources = pairs[pairs[:, 1] == j, 0]
        counts = np.bincount(sources, minlength=50)
        # every allowed source n // 49 times, the remainder once more: no other repeats
        assert counts.max() - counts[counts > 0].min() <= 1 if n >= 49 else counts.max() == 1


def test_fixed_number_pre_chooses_uniformly_and_deterministically(sim):
    a = sim.Population(100, sim.SpikeSourcePoisson(rate=1.0))
    b = sim.Population(2000, sim.IF_curr_exp())
    weights = sim.RandomDistribution("uniform", low=0.1, high=0.2, rng=sim.NumpyRNG(seed=4))

    def draw(seed):
        return sim.Projection(a, b, sim.FixedNumberPreConnector(10, rng=sim.NumpyRNG(seed=seed)),
                              sim.StaticSynapse(weight=weights, delay=1.0))
    prj = draw(1)
    pairs = _pairs(prj)
    counts = np.bincount(pairs[:, 0], minlength=100)          # 200 expected per source
    chi2 = float(((counts - 200.0) ** 2 / 200.0).sum())
    assert chi2 < 160, chi2                                   # 99 dof: p ~ 1e-4
    w = np.array(prj.get("weight", format="list", with_address=False))
    assert 0.1 <= w.min() and w.max() < 0.2 and len(np.unique(w)) > 19000
    np.testing.assert_array_equal(pairs, _pairs(draw(1)))
    assert not np.array_equal(pairs, _pairs(draw(2)))


def test_fixed_number_pre_with_array_weights_takes_pyNN_path(sim):
    a = sim.Population(6, sim.IF_curr_exp())
    b = sim.Population(4, sim.IF_curr_exp())
    w = np.arange(24, dtype=float).reshape(6, 4) / 100 + 0.01
    prj = sim.Projection(a, b, sim.FixedNumberPreConnector(3, rng=sim.NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=w))
    for i, j, value in prj.get("weight", format="list"):
        assert value == pytest.approx(w[int(i), int(j)])


def test_scaling_size_fixed_number_pre_builds_fast(sim):
    cells = sim.Population(20000, sim.IF_curr_exp())
    t0 = time.perf_counter()
    prj = sim.Projection(cells, cells, sim.FixedNumberPreConnector(100, rng=sim.NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    elapsed = time.perf_counter() - t0
    assert len(prj) == 2_000_000
    assert elapsed < 5.0, f"20 000 cells x fan-in 100 took {elapsed:.1f} s (PyNN's path: ~15 s)"


def test_small_world_connector_says_it_is_not_implemented(sim):
    a = sim.Population(10, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError, match="FromListConnector"):
        sim.Projection(a, a, sim.SmallWorldConnector(degree=0.2, rewiring=0.1),
                       sim.StaticSynapse(weight=0.1))
