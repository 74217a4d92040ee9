"""An exception or Ctrl-C inside run() leaves the data recorded so far retrievable, with the
clock at the interruption point."""
import numpy as np
import pytest


class Stop(Exception):
    pass


def test_exception_in_run_callback(sim):
    p = sim.Population(2, sim.IF_curr_exp(i_offset=[1.0, 2.0]))
    p.record(["spikes", "v"])
    calls = []

    def callback(t):
        calls.append(t)
        if t >= 50.0 - 1e-9:
            raise Stop("stop at 50 ms")
        return t + 10.0

    with pytest.raises(Stop):
        sim.run(200.0, callbacks=[callback])
    t = sim.get_current_time()
    assert t == pytest.approx(50.0)
    blk = p.get_data()
    seg = blk.segments[0]
    v = seg.analogsignals[0]
    assert v.shape[0] == 501
    assert float(v.times[-1].rescale("ms")) == pytest.approx(50.0)
    assert seg.spiketrains[1].size > 0
    assert seg.spiketrains[1].magnitude.max() <= 50.0
    # and the simulation can go on
    sim.run(10.0)
    assert p.get_data().segments[0].analogsignals[0].shape[0] == 601


def test_callbacks_called_at_requested_times(sim):
    sim.Population(1, sim.IF_curr_exp())
    seen = []

    def cb(t):
        seen.append(round(t, 6))
        return t + 25.0

    sim.run(100.0, callbacks=[cb])
    assert seen[:4] == [0.0, 25.0, 50.0, 75.0]
    assert sim.get_current_time() == pytest.approx(100.0)


def _interrupt_group(monkeypatch, group, after_calls, exc):
    original = group.update
    calls = {"n": 0}

    def update(step0, K):
        calls["n"] += 1
        if calls["n"] > after_calls:
            raise exc
        return original(step0, K)

    monkeypatch.setattr(group, "update", update)
    return calls


def _uninterrupted_reference(sim, build, t_stop):
    sim.setup(timestep=0.1)
    pops = build(sim)
    sim.run(t_stop)
    out = [p.get_data().segments[0] for p in pops]
    sim.setup(timestep=0.1)
    return out


def _build_two(sim):
    drive = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="drive")
    a = sim.Population(10, sim.IF_curr_exp(i_offset=0.8), label="a")
    b = sim.Population(10, sim.IF_cond_exp(i_offset=0.8), label="b")
    sim.Projection(drive, a, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)),
                   sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(2)),
                   sim.StaticSynapse(weight=0.01, delay=1.0))
    for p in (a, b):
        p.record(["spikes", "v"])
    return [a, b]


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("boom")])
@pytest.mark.parametrize("which", [0, 1])
def test_interrupt_inside_engine(sim, monkeypatch, exc, which):
    ref_a, ref_b = _uninterrupted_reference(sim, _build_two, 300.0)
    pops = _build_two(sim)
    sim.run(0.1)     # build the engine
    engine = sim.state.engine
    group = pops[which]._group
    _interrupt_group(monkeypatch, group, after_calls=2, exc=exc)
    with pytest.raises(type(exc)):
        sim.run(299.9)
    t = sim.get_current_time()
    assert 0.1 <= t < 300.0
    n_samples = int(round(t / 0.1)) + 1
    for p, ref in zip(pops, (ref_a, ref_b)):
        seg = p.get_data().segments[0]
        v = seg.analogsignals[0].magnitude
        # exactly the samples up to the interruption time, equal to the uninterrupted run
        assert v.shape[0] == n_samples, (p.label, v.shape, t)
        np.testing.assert_array_equal(v, ref.analogsignals[0].magnitude[:n_samples])
        for st, st_ref in zip(seg.spiketrains, ref.spiketrains):
            assert np.all(st.magnitude <= t + 1e-9)
            np.testing.assert_array_equal(st.magnitude, st_ref.magnitude[st_ref.magnitude <= t + 1e-9])
    assert float(pops[0].get_data().segments[0].spiketrains[0].t_stop.rescale("ms")) == \
        pytest.approx(t)


@pytest.mark.parametrize("which", [0, 1])
def test_run_after_failure_inside_a_window_needs_reset(sim, monkeypatch, which):
    """An exception inside a window leaves some groups a window ahead of others: the next
    run refuses (saying why) until reset(), after which the run equals a fresh one."""
    ref_a, ref_b = _uninterrupted_reference(sim, _build_two, 300.0)
    pops = _build_two(sim)
    sim.run(0.1)
    group = pops[which]._group
    _interrupt_group(monkeypatch, group, after_calls=2, exc=RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        sim.run(299.9)
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="reset"):
        sim.run(10.0)
    sim.reset()
    sim.run(300.0)
    for p, ref in zip(pops, (ref_a, ref_b)):
        seg = p.get_data().segments[-1]
        np.testing.assert_array_equal(seg.analogsignals[0].magnitude,
                                      ref.analogsignals[0].magnitude)


def test_ctrl_c_stops_between_windows_and_the_run_can_continue(sim, monkeypatch):
    """SIGINT during a window is deferred to the end of the window: the state stays
    consistent, and continuing gives exactly the uninterrupted run."""
    import os
    import signal
    ref_a, ref_b = _uninterrupted_reference(sim, _build_two, 300.0)
    pops = _build_two(sim)
    sim.run(0.1)
    group = pops[1]._group
    original = group.update
    calls = {"n": 0}

    def update(step0, K):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)   # as if the user pressed Ctrl-C now
        original(step0, K)

    monkeypatch.setattr(group, "update", update)
    with pytest.raises(KeyboardInterrupt):
        sim.run(299.9)
    t = sim.get_current_time()
    assert 0.1 < t < 300.0
    monkeypatch.undo()
    sim.run_until(300.0)
    for p, ref in zip(pops, (ref_a, ref_b)):
        seg = p.get_data().segments[0]
        np.testing.assert_array_equal(seg.analogsignals[0].magnitude,
                                      ref.analogsignals[0].magnitude)
        for st, st_ref in zip(seg.spiketrains, ref.spiketrains):
            np.testing.assert_array_equal(st.magnitude, st_ref.magnitude)
