"""Simulation control: setup(), run/run_until/run_for, the clock, min_delay, threads."""
import logging

import numpy as np
import pytest
from pyNN import errors

import pyNN_neuro as sim_module


def test_setup_twice_wipes_everything(sim):
    p = sim.Population(5, sim.IF_curr_exp(i_offset=1.0), label="first")
    q = sim.Population(3, sim.IF_curr_exp())
    sim.Projection(p, q, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    p.record("spikes")
    p.record("v", to_file="/tmp/should_never_be_written.pkl")
    sim.run(10.0)
    assert sim.state.write_on_end
    assert int(q.first_id) == 5
    sim.setup(timestep=0.1)
    st = sim.state
    assert st.t == 0.0
    assert st.id_counter == 0
    assert st.populations == [] and st.projections == [] and st.current_sources == []
    assert len(st.recorders) == 0
    assert st.write_on_end == []
    assert st.engine is None
    r = sim.Population(2, sim.IF_curr_exp())
    assert int(r.first_id) == 0
    assert r.all_cells.tolist() == [0, 1]
    sim.run(5.0)
    assert sim.get_current_time() == pytest.approx(5.0)
    # the old population must not take part any more
    assert len(sim.state.engine.groups) == 1


def test_setup_changes_timestep(sim):
    sim.setup(timestep=0.25)
    assert sim.get_time_step() == 0.25
    p = sim.Population(1, sim.IF_curr_exp())
    p.record("v")
    sim.run(10.0)
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape[0] == 41
    assert float(sig.sampling_period.rescale("ms")) == pytest.approx(0.25)


def test_run_run_until_run_for(sim):
    sim.Population(1, sim.IF_curr_exp())
    assert sim.run(5.0) == pytest.approx(5.0)
    assert sim.get_current_time() == pytest.approx(5.0)
    sim.run_for(2.5)
    assert sim.get_current_time() == pytest.approx(7.5)
    sim.run_until(20.0)
    assert sim.get_current_time() == pytest.approx(20.0)
    sim.run(0.0)
    assert sim.get_current_time() == pytest.approx(20.0)


def test_current_time_exact_after_run_until(sim):
    sim.Population(1, sim.IF_curr_exp())
    sim.run_until(12.7)
    assert sim.get_current_time() == 12.7
    sim.run_until(30.0)
    assert sim.get_current_time() == 30.0


def test_current_time_at_off_grid_time(sim):
    """run_until to a time between grid points: the clock says the time asked for (as
    pyNN.nest), and the engine stops at the nearest step."""
    p = sim.Population(1, sim.IF_curr_exp())
    p.record("v")
    sim.run_until(12.74)
    t = sim.get_current_time()
    assert t == pytest.approx(12.74, abs=0.051)
    sim.run_until(20.0)
    assert sim.get_current_time() == 20.0
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape[0] == 201


def test_many_small_runs_do_not_drift(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    p.record("v")
    for _ in range(100):
        sim.run(0.1)
    assert sim.get_current_time() == pytest.approx(10.0, abs=1e-9)
    assert sim.state.engine.step == 100
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape[0] == 101


def test_run_until_backwards_raises(sim):
    sim.Population(1, sim.IF_curr_exp())
    sim.run(10.0)
    with pytest.raises(ValueError):
        sim.run_until(5.0)
    assert sim.get_current_time() == pytest.approx(10.0)


@pytest.mark.parametrize("bad", [0, 0.0, -0.1])
def test_nonpositive_timestep_raises(bad):
    with pytest.raises((ValueError, errors.InvalidParameterValueError)):
        sim_module.setup(timestep=bad)
    sim_module.setup(timestep=0.1)


def test_min_delay_auto_is_smallest_actual_delay(sim):
    sim.setup(timestep=0.1, min_delay="auto")
    a = sim.Population(3, sim.IF_curr_exp())
    b = sim.Population(3, sim.IF_curr_exp())
    sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1, delay=1.5))
    sim.Projection(b, a, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.1, delay=sim.RandomDistribution("uniform", (0.7, 3.0),
                                                                             rng=sim.NumpyRNG(1))))
    sim.Projection(a, a, sim.FromListConnector([(0, 1, 0.1, 0.4)]), sim.StaticSynapse())
    assert sim.get_min_delay() == pytest.approx(0.4)
    sim.run(5.0)
    assert sim.get_min_delay() == pytest.approx(0.4)


def test_min_delay_auto_without_projection_is_dt(sim):
    sim.setup(timestep=0.05, min_delay="auto")
    sim.Population(2, sim.IF_curr_exp())
    assert sim.get_min_delay() == pytest.approx(0.05)


def test_explicit_min_delay(sim):
    sim.setup(timestep=0.1, min_delay=0.5)
    assert sim.get_min_delay() == pytest.approx(0.5)


def test_threads_keyword(sim):
    sim.setup(timestep=0.1, threads=2)
    assert sim.state.num_threads == 2
    p = sim.Population(10, sim.IF_curr_exp(i_offset=1.0))
    p.record("spikes")
    sim.run(50.0)
    assert p.get_spike_counts()[p[0]] > 0


def test_bad_threads_keyword():
    with pytest.raises((ValueError, errors.InvalidParameterValueError)):
        sim_module.setup(timestep=0.1, threads=0)
    sim_module.setup(timestep=0.1)


def test_foreign_and_unknown_setup_keywords_accepted(sim, caplog):
    sim.setup(timestep=0.1, verbosity="error", spike_precision="on_grid", use_cvode=False,
              time_scale_factor=1, n_chips_required=None, t_flush=0)
    with caplog.at_level(logging.WARNING, logger="pyNN_neuro"):
        sim.setup(timestep=0.1, some_totally_unknown_keyword=42)
    p = sim.Population(1, sim.IF_curr_exp())
    sim.run(1.0)
    assert sim.get_current_time() == pytest.approx(1.0)


def test_off_grid_precision_says_neurons_stay_on_the_grid(sim, caplog):
    with caplog.at_level(logging.WARNING, logger="pyNN_neuro"):
        sim.setup(timestep=0.1, spike_precision="off_grid")
    assert "neurons spike on the dt grid" in caplog.text


def test_setup_returns_rank_and_state_queries(sim):
    assert sim.setup(timestep=0.1) == 0
    assert sim.rank() == 0
    assert sim.num_processes() == 1
    assert sim.get_time_step() == 0.1


def test_end_writes_files(sim, tmp_path):
    import neo
    fname = str(tmp_path / "end_written.pkl")
    p = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"], to_file=fname)
    sim.run(30.0)
    sim.end()
    blk = neo.io.PickleIO(fname).read_block()
    assert len(blk.segments[0].spiketrains) == 2
    assert blk.segments[0].analogsignals[0].shape == (301, 2)


def test_procedural_api(sim):
    cells = sim.create(sim.IF_curr_exp(i_offset=1.0), n=3)
    targets = sim.create(sim.IF_curr_exp(), n=2)
    prj = sim.connect(cells, targets, weight=0.5, delay=1.0, p=1.0)
    assert len(prj) == 6
    sim.record("spikes", cells, "/tmp/proc_api_ignored.pkl")
    sim.run(50.0)
    assert cells.get_spike_counts()[cells[0]] >= 1


def test_missing_dependency_is_an_import_error(tmp_path):
    """PyNN's scenario fixtures skip a backend only on ImportError: a missing dependency
    must surface as one, not as another exception."""
    import subprocess
    import sys
    blocker = tmp_path / "lazyarray.py"
    blocker.write_text("raise ImportError('lazyarray hidden for this test')\n")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "try:\n    import pyNN_neuro\nexcept ImportError as err:\n    print('ImportError', err)\n"
            % str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "ImportError" in out.stdout, out.stdout + out.stderr


def test_long_runs_print_progress(sim, capsys, monkeypatch):
    from pyNN_neuro.engine import simulation
    monkeypatch.setattr(simulation, "PROGRESS_INTERVAL_S", 0.0)
    sim.setup(timestep=0.1)
    sim.Population(10, sim.IF_curr_exp())
    sim.run(100.0)
    err = capsys.readouterr().err
    assert "pyNN_neuro: simulated" in err and "100.0 ms (100% of this run" in err
    sim.end()
