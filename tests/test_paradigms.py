"""Paradigm invariance and the choice of paradigm: the serial (event-driven) and parallel
(window-batched) paradigms, and "auto" (the selector's choice per projection), give
bit-identical spike trains on the same network and seed."""
import math

import numpy as np
import pytest

import pyNN_neuro as sim
from pyNN import errors
from pyNN_neuro import paradigms
from pyNN_neuro.engine.delivery import StaticUnit
from pyNN_neuro.engine.parallel import ParallelUnit


def _spikes(populations):
    return [[np.asarray(st) for st in p.get_data().segments[0].spiketrains]
            for p in populations]


def _assert_identical(a, b):
    assert sum(len(t) for pop in a for t in pop) > 0, "the test network must spike"
    for pop_a, pop_b in zip(a, b):
        for x, y in zip(pop_a, pop_b):
            np.testing.assert_array_equal(x, y)


def _finish(populations):
    """Spikes of ``populations`` and the paradigm of each projection's units; end()."""
    out = _spikes(populations)
    used = [type(unit).__name__ for prj in sim.simulator.state.projections
            for unit, _ in prj._units]
    sim.end()
    return out, used


def recurrent(paradigm, threads=1, override=None):
    """A Vogels-Abbott-like recurrent E/I network (800 cells, 10% connectivity).
    ``override``: a paradigm forced on the first projection only."""
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
    projections = []
    for pre, w, receptor in ((exc, 0.05, "excitatory"), (inh, -0.3, "inhibitory")):
        for post in (exc, inh):
            projections.append(sim.Projection(pre, post, connector,
                                              sim.StaticSynapse(weight=w, delay=0.2),
                                              receptor_type=receptor))
    if override:
        projections[0].paradigm = override
    for p in (exc, inh):
        p.record("spikes")
    sim.run(300.0)
    return _finish([exc, inh])


def feed_forward(paradigm):
    """A 5-layer feed-forward network, two delays per layer, driven all-to-all by dense
    high-rate Poisson input (30% spike probability per step: the parallel paradigm's
    regime, clearly enough that "auto" picks it there)."""
    sim.setup(timestep=0.1, paradigm=paradigm)
    layers = [sim.Population(400, sim.SpikeSourcePoisson(rate=3000.0))]
    for i in range(5):
        layers.append(sim.Population(120, sim.IF_curr_exp(tau_refrac=2.0)))
        connector = sim.AllToAllConnector() if i == 0 else \
            sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(i))
        sim.Projection(layers[-2], layers[-1], connector,
                       sim.StaticSynapse(weight=0.0017 if i == 0 else 0.06,
                                         delay=sim.RandomDistribution(
                                             "uniform_int", low=1, high=3,
                                             rng=sim.NumpyRNG(10 + i))))
    for layer in layers[1:]:
        layer.record("spikes")
    sim.run(300.0)
    return _finish(layers[1:])


def mixed(paradigm):
    """Several cell types (current, conductance, AdEx, Izhikevich) in one network, a
    recurrent loop, and one dense high-rate input (40% spike probability per step,
    all-to-all: clearly the parallel paradigm's regime)."""
    sim.setup(timestep=0.1, paradigm=paradigm)
    src = sim.Population(80, sim.SpikeSourcePoisson(rate=40.0))
    dense = sim.Population(600, sim.SpikeSourcePoisson(rate=4000.0))
    pops = [sim.Population(50, sim.IF_cond_exp()),
            sim.Population(50, sim.EIF_cond_exp_isfa_ista()),
            sim.Population(50, sim.Izhikevich()),
            sim.Population(50, sim.IF_curr_alpha())]
    weights = [0.02, 0.02, 3.0, 0.6]
    for pop, w in zip(pops, weights):
        sim.Projection(src, pop, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(3)),
                       sim.StaticSynapse(weight=w, delay=1.0))
    sim.Projection(dense, pops[3], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.00018, delay=1.0))
    sim.Projection(pops[0], pops[3], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.2, delay=1.5))
    sim.Projection(pops[3], pops[0], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.001, delay=2.0))
    for p in pops:
        p.record("spikes")
    sim.run(300.0)
    return _finish(pops)


# invariance --------------------------------------------------------------------------------


@pytest.mark.parametrize("network", [recurrent, feed_forward, mixed])
def test_serial_parallel_and_auto_give_identical_spikes(network):
    serial, used_serial = network("serial")
    parallel, used_parallel = network("parallel")
    auto, used_auto = network("auto")
    assert set(used_serial) == {"StaticUnit"} and set(used_parallel) == {"ParallelUnit"}
    _assert_identical(serial, parallel)
    _assert_identical(serial, auto)
    if network is not recurrent:    # the sparse low-rate recurrent net is all serial
        assert set(used_auto) == {"StaticUnit", "ParallelUnit"}, \
            "auto should mix the paradigms on this network (else the test means little)"


@pytest.mark.parametrize("paradigm", ["serial", "parallel"])
@pytest.mark.parametrize("forced", ["shortest", "one step"])
def test_windows_per_component_leave_spikes_unchanged(monkeypatch, paradigm, forced):
    """Populations on no cycle advance by the whole macro window, the recurrent pair by its
    own shorter one; the spikes are those of one common window for every group."""
    from pyNN_neuro.engine import simulation
    original = simulation.window_plan
    seen = {}

    def spy(sizes, links, max_window=simulation.DEFAULT_MAX_WINDOW):
        windows, macro, membership, stages = original(sizes, links, max_window)
        seen["windows"] = sorted(set(windows))
        return windows, macro, membership, stages

    monkeypatch.setattr(simulation, "window_plan", spy)
    per_component, _ = mixed(paradigm)
    assert len(seen["windows"]) > 1, "the test network should mix window lengths"

    def common(sizes, links, max_window=simulation.DEFAULT_MAX_WINDOW):
        windows, macro, membership, stages = original(sizes, links, max_window)
        K = min(windows) if forced == "shortest" else 1
        in_order = [members for _, components in stages for members in components]
        return [K] * len(sizes), K, membership, [(K, in_order)]

    monkeypatch.setattr(simulation, "window_plan", common)
    uniform, _ = mixed(paradigm)
    _assert_identical(per_component, uniform)


def test_window_plan_stages():
    from pyNN_neuro.engine.simulation import window_plan
    # 0: Poisson drive -> 1 <-> 2 (recurrent, delays 15 and 20); 3 -> 4 -> 5 feed-forward,
    # 2 -> 6 a readout
    sizes = [100] * 7
    links = [(0, 1, 15, False), (1, 2, 15, False), (2, 1, 20, False), (3, 4, 15, False),
             (4, 5, 15, False), (2, 6, 15, False)]
    windows, macro, membership, stages = window_plan(sizes, links, max_window=256)
    assert macro == 255                                 # a whole number of 15-step windows
    assert windows == [15, 15, 15, macro, macro, macro, macro]
    order = [m for _, components in stages for members in components for m in members]
    assert order.index(0) < order.index(1) < order.index(6) and order.index(3) < order.index(5)
    stage_of = {m: i for i, (_, components) in enumerate(stages)
                for members in components for m in members}
    assert stage_of[0] == stage_of[1] == stage_of[2]    # the drive keeps pace with its target
    assert stage_of[3] == stage_of[4] == stage_of[5] != stage_of[0]
    # a macro window of four 15-step windows: a drive (fed by nothing) as large as its
    # targets takes all four at once, in a stage before its target's; a smaller one keeps
    # pace (its targets' rings would grow more than it saves); a layer that is fed keeps
    # pace
    links_ff = links + [(0, 3, 15, False)]
    windows, _, _, _ = window_plan(sizes, links, max_window=60)
    assert windows[0] == 15
    sizes = [200] + [100] * 6
    windows, macro, membership, stages = window_plan(sizes, links, max_window=60)
    assert macro == 60 and windows == [60, 15, 15, 60, 60, 60, 60]
    stage_of = {m: i for i, (_, components) in enumerate(stages)
                for members in components for m in members}
    assert stage_of[0] < stage_of[1] == stage_of[2]
    windows, _, _, _ = window_plan(sizes + [100], links_ff + [(7, 1, 15, False),
                                                             (0, 7, 15, False)],
                                   max_window=60)
    assert windows[7] == 15 and windows[0] == 60
    # a macro window of 17 windows (prime): the drive keeps pace, no stub windows
    windows, _, _, _ = window_plan(sizes, links, max_window=255)
    assert windows[0] == 15
    # plastic synapses anywhere: one window, one stage, as short as any cycle or plastic delay
    windows, macro, _, stages = window_plan(sizes, links + [(3, 4, 7, True)], max_window=256)
    assert windows == [7] * 7 and macro == 7 and len(stages) == 1


def test_auto_with_a_forced_projection_gives_identical_spikes():
    serial, _ = recurrent("serial")
    mixed_run, used = recurrent("auto", override="parallel")
    assert used[0] == "ParallelUnit" and "StaticUnit" in used[1:]
    _assert_identical(serial, mixed_run)


def test_parallel_is_thread_invariant():
    _assert_identical(recurrent("parallel", threads=1)[0], recurrent("parallel", threads=2)[0])


def test_units_sum_exactly_on_the_grid():
    """With the weights on their ring's grid, event-by-event sums and BLAS products leave
    bit-identical ring buffers (multapses, several delays, spikes wrapping round)."""
    from pyNN_neuro.selector.measure import _PostGroup, _PreGroup
    rng = np.random.default_rng(0)
    n_pre, n_post, K, L = 300, 200, 8, 14
    pre, post = rng.integers(0, n_pre, 20000), rng.integers(0, n_post, 20000)
    weight = rng.normal(0.1, 0.05, 20000)
    delay = rng.integers(1, 6, 20000).astype(np.intc)
    bound = np.bincount(post, np.abs(weight), n_post).max()
    quantum = math.ldexp(1.0, math.frexp(bound)[1] + paradigms.HEADROOM_BITS - 53)
    rings = []
    for cls in (StaticUnit, ParallelUnit):
        pre_group, post_group = _PreGroup(n_pre, 0.1), _PostGroup(n_post, 0.1, L)
        unit = cls("t", pre_group, post_group, "excitatory", pre, post, weight, delay)
        unit.set_quantum(quantum, weight)
        unit.allocate(K, L)
        spikes = np.random.default_rng(1)
        for window in range(3):
            k, i = np.nonzero(spikes.random((K, n_pre)) < 0.3)
            pre_group.spike_k, pre_group.spike_i = k.astype(np.intc), i.astype(np.intc)
            pre_group.n_spikes = k.size
            unit.deliver(window * K, K)
        assert np.all(np.round(unit.weight / quantum) * quantum == unit.weight)
        rings.append(post_group.ring)
    np.testing.assert_array_equal(rings[0], rings[1])
    assert np.abs(rings[0]).max() > 1.0


def test_ring_quanta_are_powers_of_two_with_headroom():
    sim.setup(timestep=0.1, paradigm="serial")
    a = sim.Population(30, sim.IF_curr_exp())
    b = sim.Population(20, sim.IF_curr_exp())
    sources = sim.Population(10, sim.SpikeSourceArray(spike_times=[1.0, 1.02, 1.04, 5.0]))
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.3))
    sim.Projection(sources, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.7))
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.2),
                   receptor_type="inhibitory")
    quanta = paradigms.ring_quanta(sim.simulator.state)
    excitatory = quanta[(id(b), "excitatory")]
    inhibitory = quanta[(id(b), "inhibitory")]
    # 30 x 0.3 from neurons, 10 x 0.7 x 3 from sources spiking 3 times in one step
    largest = 30 * 0.3 + 10 * 0.7 * 3
    assert math.frexp(excitatory)[0] == 0.5 and math.frexp(inhibitory)[0] == 0.5
    assert largest * 2 ** paradigms.HEADROOM_BITS <= excitatory * 2 ** 53 < \
        2 * largest * 2 ** paradigms.HEADROOM_BITS
    assert inhibitory < excitatory
    sim.end()


@pytest.mark.parametrize("weight", [0.1, -0.4, 1e-3, 7.77, -0.0, "mixed"])
def test_weight_sums_for_the_quanta_match_a_weighted_bincount_to_the_bit(weight):
    # one weight for all takes a tabulated path; it must give bincount's sums exactly (80
    # copies of 0.1 added one by one are not 80 * 0.1, and the quantum's exponent could
    # flip at a power of two)
    rng = np.random.default_rng(3)
    post = np.sort(rng.integers(0, 500, 200_000))
    weights = rng.normal(size=post.size) if weight == "mixed" else np.full(post.size, weight)
    ours = paradigms._abs_weight_sums(post, weights, 600)
    reference = np.bincount(post, weights=np.abs(weights), minlength=600)
    assert ours.tobytes() == reference.tobytes()


def test_delay_histogram_of_a_broadcast_delay():
    steps = np.broadcast_to(np.int64(7), (1000,))
    assert paradigms._histogram(steps).tolist() == np.bincount(np.full(1000, 7)).tolist()
    mixed = np.array([3, 1, 3, 0])
    assert paradigms._histogram(mixed).tolist() == [1, 1, 0, 2]


def test_weight_changes_after_a_run_keep_the_paradigms_identical():
    def run(paradigm):
        sim.setup(timestep=0.1, paradigm=paradigm)
        a = sim.Population(200, sim.SpikeSourcePoisson(rate=300.0))
        b = sim.Population(60, sim.IF_curr_exp())
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)),
                             sim.StaticSynapse(weight=0.01, delay=0.3))
        b.record("spikes")
        sim.run(60.0)
        unit = prj._units[0][0]
        before = unit.quantum
        prj.set(weight=sim.RandomDistribution("uniform", low=0.02, high=0.3,
                                              rng=sim.NumpyRNG(5)))
        assert unit.quantum > before, "bigger weights need a coarser grid"
        sim.run(60.0)
        out = _spikes([b])
        sim.end()
        return out
    _assert_identical(run("serial"), run("parallel"))


# choosing -------------------------------------------------------------------------------------


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
    plastic.paradigm = "auto"
    sim.run(10.0)
    assert type(static._units[0][0]).__name__ == "ParallelUnit"
    assert type(plastic._units[0][0]).__name__ == "TsodyksMarkramUnit"
    sim.end()
    with pytest.raises(errors.InvalidParameterValueError, match="paradigm"):
        sim.setup(paradigm="turbo")
    # setup(paradigm="parallel") is a default: synapses it cannot take stay serial
    sim.setup(timestep=0.1, paradigm="parallel")
    a = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0))
    b = sim.Population(10, sim.IF_curr_exp())
    tm = sim.Projection(a, b, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(weight=0.5))
    sim.run(10.0)
    assert type(tm._units[0][0]).__name__ == "TsodyksMarkramUnit"
    assert tm._paradigm_decision.decided_by == "rule"
    sim.end()


def test_environment_sets_the_default(monkeypatch):
    monkeypatch.setenv(paradigms.SETTING_VARIABLE, "parallel")
    sim.setup()
    assert sim.simulator.state.paradigm == "parallel"
    sim.setup(paradigm="serial")
    assert sim.simulator.state.paradigm == "serial"
    monkeypatch.setenv(paradigms.SETTING_VARIABLE, "fastest")
    with pytest.raises(errors.InvalidParameterValueError, match=paradigms.SETTING_VARIABLE):
        sim.setup()
    monkeypatch.delenv(paradigms.SETTING_VARIABLE)
    sim.setup()
    assert sim.simulator.state.paradigm == "auto"
    sim.end()


def _plastic_and_dense_network():
    """Dense high-rate input onto three targets: static, short-term plastic, STDP, and a
    static projection sharing its receptor with the STDP one."""
    sim.setup(timestep=0.1, paradigm="auto")
    source = sim.Population(300, sim.SpikeSourcePoisson(rate=3000.0), label="source")
    targets = [sim.Population(200, sim.IF_curr_exp(), label=f"target{i}") for i in range(3)]
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=0.01),
                             weight=0.001, delay=1.0)
    all_to_all = sim.AllToAllConnector()
    static = sim.Projection(source, targets[0], all_to_all,
                            sim.StaticSynapse(weight=0.001, delay=1.0), label="static")
    tm = sim.Projection(source, targets[1], all_to_all,
                        sim.TsodyksMarkramSynapse(weight=0.001, delay=1.0), label="tm")
    plastic = sim.Projection(source, targets[2], all_to_all, stdp, label="stdp")
    beside = sim.Projection(source, targets[2], all_to_all,
                            sim.StaticSynapse(weight=0.001, delay=1.0), label="beside_stdp")
    return static, tm, plastic, beside


def test_auto_picks_serial_for_plastic_synapses():
    static, tm, plastic, beside = _plastic_and_dense_network()
    sim.run(5.0)
    kinds = {p.label: type(p._units[0][0]).__name__ for p in (static, tm, plastic, beside)}
    assert kinds == {"static": "ParallelUnit", "tm": "TsodyksMarkramUnit",
                     "stdp": "STDPUnit", "beside_stdp": "StaticUnit"}
    for projection in (tm, plastic, beside):
        assert projection._paradigm_decision.decided_by == "rule"
    assert static._paradigm_decision.decided_by == "predicted"
    sim.end()


def test_report_rows():
    static, tm, plastic, beside = _plastic_and_dense_network()
    forced = sim.Projection(static.pre, static.post, sim.OneToOneConnector(),
                            sim.StaticSynapse(weight=0.001), label="forced")
    forced.paradigm = "serial"
    rows = {r["label"]: r for r in paradigms.projection_report(sim.simulator.state)}
    assert {r["decided_by"] for r in rows.values()} == {"predicted", "rule", "projection"}
    assert rows["static"]["paradigm"] == "parallel" and rows["tm"]["paradigm"] == "serial"
    assert rows["forced"]["decided_by"] == "projection"
    for label, row in rows.items():
        assert set(row) >= {"label", "paradigm", "decided_by", "reason", "predicted_cost",
                            "rate_hz", "rate_source", "window"}
        assert row["predicted_cost"]["serial"] > 0
        assert row["rate_hz"] == pytest.approx(3000.0) and row["rate_source"] == "declared"
    assert rows["static"]["predicted_cost"]["parallel"] < rows["static"]["predicted_cost"]["serial"]
    assert rows["tm"]["predicted_cost"]["parallel"] is None     # the paradigm cannot take it
    sim.run(5.0)
    report = sim.get_mapping().report()["projections"]
    assert [r["label"] for r in report] == ["static", "tm", "stdp", "beside_stdp", "forced"]
    assert [r["paradigm"] for r in report] == ["parallel", "serial", "serial", "serial",
                                               "serial"]
    sim.end()
    sim.setup(timestep=0.1, paradigm="serial")
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=10.0))
    sim.Projection(a, sim.Population(5, sim.IF_curr_exp()), sim.AllToAllConnector(),
                   label="by_setup")
    sim.run(1.0)
    row, = paradigms.projection_report(sim.simulator.state)
    assert (row["paradigm"], row["decided_by"]) == ("serial", "setup")
    assert row["predicted_cost"]["parallel"] > 0
    sim.end()


def test_memory_limit_rule(monkeypatch):
    monkeypatch.setattr(ParallelUnit, "MAX_MATRIX_BYTES", 1000)
    for setting in ("auto", "parallel"):
        sim.setup(timestep=0.1, paradigm=setting)
        a = sim.Population(300, sim.SpikeSourcePoisson(rate=3000.0))
        b = sim.Population(200, sim.IF_curr_exp())
        prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.001))
        sim.run(1.0)
        assert type(prj._units[0][0]).__name__ == "StaticUnit"
        assert prj._paradigm_decision.decided_by == "rule"
        assert "GiB" in prj._paradigm_decision.reason
        sim.end()
    sim.setup(timestep=0.1)
    a = sim.Population(300, sim.SpikeSourcePoisson(rate=3000.0))
    b = sim.Population(200, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.001))
    prj.paradigm = "parallel"
    with pytest.raises(MemoryError, match="serial"):
        sim.run(1.0)
    sim.end()


@pytest.mark.parametrize("network", [recurrent, feed_forward, mixed])
def test_plan_window_is_the_engine_window(network):
    captured = {}
    original = paradigms.projection_report

    def end():
        state = sim.simulator.state
        captured["plan"] = paradigms.make_plan(state).window
        captured["engine"] = state.engine.window
        original_end()

    original_end = sim.end
    try:
        sim.end = end
        network("auto")
    finally:
        sim.end = original_end
    assert original is paradigms.projection_report
    assert captured["plan"] == captured["engine"]


def test_pilot_estimates_neuron_rates_without_touching_the_run():
    def run(paradigm):
        sim.setup(timestep=0.1, paradigm=paradigm)
        drive = sim.Population(100, sim.SpikeSourcePoisson(rate=400.0))
        layer = sim.Population(400, sim.IF_curr_exp(tau_refrac=0.1, tau_m=5.0),
                               label="layer")
        out = sim.Population(300, sim.IF_curr_exp(), label="out")
        sim.Projection(drive, layer, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(2)),
                       sim.StaticSynapse(weight=0.5, delay=0.1))
        dense = sim.Projection(layer, out, sim.AllToAllConnector(),
                               sim.StaticSynapse(weight=0.0005, delay=0.5), label="dense")
        layer.record("spikes")
        out.record("spikes")
        sim.run(100.0)
        spikes = _spikes([layer, out])
        measured = sum(len(t) for t in spikes[0]) / 400 / 0.1
        decision = dense._paradigm_decision
        sim.end()
        return spikes, decision, measured
    serial, _, measured = run("serial")
    auto, decision, _ = run("auto")
    _assert_identical(serial, auto)
    assert decision.rate_source == "pilot"
    assert measured > 200.0, "the layer must fire fast for the choice to depend on it"
    assert decision.rate_hz == pytest.approx(measured, rel=0.3)
