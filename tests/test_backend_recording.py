"""Recording to Neo: every cell type and variable, sampling, segments, clear, files,
spike counts, Assemblies and PopulationViews, record(None), current sources."""
import os

import neo
import numpy as np
import pytest
import quantities as pq
from pyNN import errors

import pyNN_neuro


def _model_names():
    return list(pyNN_neuro.list_standard_models())


def _make_celltype(sim, name):
    if name == "PointNeuron":
        return sim.PointNeuron(sim.LIF(i_offset=1.0),
                               AMPA=sim.CondExpPostSynapticResponse(),
                               GABAA=sim.CondExpPostSynapticResponse(e_syn=-70.0))
    cls = getattr(sim, name)
    params = {
        "SpikeSourceArray": dict(spike_times=[1.0, 2.5, 10.0]),
        "SpikeSourcePoisson": dict(rate=200.0),
        "SpikeSourcePoissonRefractory": dict(rate=200.0, tau_refrac=1.0),
        "SpikeSourceGamma": dict(alpha=2, beta=400.0),
        "Izhikevich": dict(i_offset=0.02),
        "IF_curr_delta": dict(i_offset=1.0),
        "HH_cond_exp": dict(i_offset=0.5),
    }.get(name)
    if params is None:
        params = dict(i_offset=1.0) if "i_offset" in cls.default_parameters else {}
    return cls(**params)


@pytest.mark.parametrize("name", _model_names())
def test_record_every_variable_of_every_model(sim, name):
    celltype = _make_celltype(sim, name)
    p = sim.Population(3, celltype)
    # input onto every receptor so that synaptic variables move
    if celltype.injectable:
        drive = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 20.0]))
        for receptor in celltype.receptor_types:
            if receptor.startswith("gap"):
                continue
            w = 0.01 if p.conductance_based else (0.5 if receptor in ("excitatory", "AMPA") else -0.5)
            if name in ("IF_curr_delta", "Izhikevich"):
                w = abs(w)
                if receptor == "inhibitory":
                    w = -w
            sim.Projection(drive, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0),
                           receptor_type=receptor)
    variables = list(celltype.recordable)
    p.record(variables)
    sim.run(100.0)
    blk = p.get_data()
    seg = blk.segments[0]
    assert len(seg.spiketrains) == 3
    for st in seg.spiketrains:
        assert float(st.t_stop.rescale("ms")) == pytest.approx(100.0)
        assert float(st.t_start.rescale("ms")) == 0.0
        assert np.all(np.diff(st.magnitude) > 0)
        assert np.all((st.magnitude > 0) & (st.magnitude <= 100.0))
    assert sum(st.size for st in seg.spiketrains) > 0, f"{name} did not spike"
    state_vars = [v for v in variables if v != "spikes"]
    assert sorted(sig.name for sig in seg.analogsignals) == sorted(state_vars)
    initial = celltype.default_initial_values
    for var in state_vars:
        sig = seg.filter(name=var)[0]
        assert sig.shape == (1001, 3), var
        assert float(sig.t_start.rescale("ms")) == 0.0
        assert float(sig.sampling_period.rescale("ms")) == pytest.approx(0.1)
        assert sig.units == pq.Quantity(1.0, celltype.units[var]).units or \
            sig.units.dimensionality == pq.Quantity(1.0, celltype.units[var]).dimensionality
        assert np.all(np.isfinite(sig.magnitude)), var
        if var in initial:
            np.testing.assert_allclose(sig.magnitude[0], initial[var], err_msg=var)
        assert np.ptp(sig.magnitude[:, 0]) > 0, f"{name}.{var} never changes"
        np.testing.assert_array_equal(sig.array_annotations["channel_index"], [0, 1, 2])


def test_sampling_interval(sim):
    p = sim.Population(2, sim.IF_cond_exp(i_offset=1.0))
    p.record("v", sampling_interval=1.0)
    p.record("gsyn_exc", sampling_interval=1.0)
    ref = sim.Population(2, sim.IF_cond_exp(i_offset=1.0))
    ref.record("v")
    sim.run(50.0)
    sim.run(25.0)
    v = p.get_data().segments[0].filter(name="v")[0]
    vr = ref.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (76, 2)
    assert float(v.sampling_period.rescale("ms")) == 1.0
    np.testing.assert_array_equal(v.magnitude, vr.magnitude[::10])


def test_sampling_interval_not_multiple_of_dt_raises(sim):
    p = sim.Population(2, sim.IF_cond_exp())
    with pytest.raises((errors.InvalidParameterValueError, ValueError)):
        p.record("v", sampling_interval=0.25)


def test_samples_start_with_initial_value_and_end_at_t_stop(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.5))
    p.initialize(v=-70.0)
    p.record("v")
    sim.run(10.0)
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape[0] == 101
    assert sig.magnitude[0, 0] == -70.0
    assert float(sig.times[-1].rescale("ms")) == pytest.approx(10.0)
    # exact solution of the membrane equation with constant current at t = 10 ms
    v_inf = -65.0 + 0.5 * 20.0
    expected = v_inf + (-70.0 - v_inf) * np.exp(-10.0 / 20.0)
    assert sig.magnitude[-1, 0] == pytest.approx(expected, abs=1e-9)


def test_get_data_clear_then_more_runs(sim):
    p = sim.Population(2, sim.IF_curr_exp(i_offset=[1.0, 2.0]))
    p.record(["spikes", "v"])
    sim.run(100.0)
    b1 = p.get_data(clear=True)
    s1 = [st.magnitude.copy() for st in b1.segments[0].spiketrains]
    v1 = b1.segments[0].analogsignals[0]
    assert v1.shape[0] == 1001
    sim.run(50.0)
    b2 = p.get_data()
    seg = b2.segments[0]
    v2 = seg.analogsignals[0]
    assert float(v2.t_start.rescale("ms")) == pytest.approx(100.0)
    assert v2.shape[0] == 501   # 100.0 .. 150.0: the first sample is the state at 100
    np.testing.assert_array_equal(v2.magnitude[0], v1.magnitude[-1])
    for st in seg.spiketrains:
        assert st.size > 0 and st.magnitude.min() > 100.0
        assert float(st.t_start.rescale("ms")) == pytest.approx(100.0)
    # the cleared data are gone
    for old, st in zip(s1, seg.spiketrains):
        assert not np.any(np.isin(old, st.magnitude))


def test_segments_after_reset_have_own_data(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"])
    sim.run(60.0)
    sim.reset()
    p.set(i_offset=2.0)
    sim.run(30.0)
    blk = p.get_data()
    assert len(blk.segments) == 2
    assert blk.segments[0].analogsignals[0].shape[0] == 601
    assert blk.segments[1].analogsignals[0].shape[0] == 301
    assert blk.segments[1].spiketrains[0].size > blk.segments[0].spiketrains[0].size * 0.3
    assert blk.segments[1].spiketrains[0].magnitude.max() <= 30.0


def _check_roundtrip(blk_in, blk_out):
    assert len(blk_out.segments) == len(blk_in.segments)
    for s_in, s_out in zip(blk_in.segments, blk_out.segments):
        assert len(s_out.spiketrains) == len(s_in.spiketrains)
        for a, b in zip(s_in.spiketrains, s_out.spiketrains):
            np.testing.assert_allclose(a.magnitude, b.magnitude)
        sig_in = {s.name: s for s in s_in.analogsignals}
        sig_out = {s.name: s for s in s_out.analogsignals}
        assert set(sig_in) == set(sig_out)
        for name in sig_in:
            np.testing.assert_allclose(sig_out[name].magnitude, sig_in[name].magnitude)


def _recorded_network(sim):
    p = sim.Population(3, sim.IF_cond_exp(i_offset=[0.5, 1.0, 1.5]), label="cells")
    p.record(["spikes", "v", "gsyn_exc"])
    sim.run(50.0)
    sim.reset()
    sim.run(20.0)
    return p


def test_write_data_pickle_roundtrip(sim, tmp_path):
    p = _recorded_network(sim)
    fname = str(tmp_path / "data.pkl")
    p.write_data(fname)
    blk = neo.io.PickleIO(fname).read_block()
    _check_roundtrip(p.get_data(), blk)


def test_write_data_nix_roundtrip(sim, tmp_path):
    pytest.importorskip("nixio")
    p = _recorded_network(sim)
    fname = str(tmp_path / "data.h5")
    p.write_data(fname)
    io = neo.io.NixIO(fname, mode="ro")
    try:
        blk = io.read_block()
        _check_roundtrip(p.get_data(), blk)
    finally:
        io.close()


def test_write_data_nix_twice_and_clear(sim, tmp_path):
    pytest.importorskip("nixio")
    p = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"])
    sim.run(40.0)
    fname = str(tmp_path / "cleared.h5")
    p.write_data(fname, clear=True)
    sim.run(40.0)
    blk = p.get_data()
    assert float(blk.segments[0].analogsignals[0].t_start.rescale("ms")) == pytest.approx(40.0)


def test_spike_counts_and_mean(sim):
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0, 2.0], [5.0], []]))
    src.record("spikes")
    sim.run(10.0)
    counts = src.get_spike_counts()
    assert counts == {src[0]: 2, src[1]: 1, src[2]: 0}
    assert src.mean_spike_count() == pytest.approx(1.0)
    sim.run(10.0)
    assert src.get_spike_counts()[src[0]] == 2
    sim.reset()
    sim.run(1.5)
    assert src.get_spike_counts() == {src[0]: 1, src[1]: 0, src[2]: 0}


def test_record_from_view(sim):
    p = sim.Population(6, sim.IF_curr_exp(i_offset=np.linspace(0.5, 3.0, 6)))
    view = p[[1, 4]]
    view.record(["spikes", "v"])
    sim.run(50.0)
    seg = view.get_data().segments[0]
    assert len(seg.spiketrains) == 2
    assert [st.annotations["source_index"] for st in seg.spiketrains] == [1, 4]
    assert seg.analogsignals[0].shape == (501, 2)
    counts = p.get_spike_counts()
    assert set(int(k) for k in counts) == {int(p[1]), int(p[4])}
    # the whole population's data contain only the recorded cells
    full = p.get_data().segments[0]
    assert len(full.spiketrains) == 2
    np.testing.assert_array_equal(full.analogsignals[0].array_annotations["channel_index"], [1, 4])


def test_record_view_then_more_cells(sim):
    p = sim.Population(4, sim.IF_curr_exp(i_offset=1.0))
    p[0:1].record("v")
    sim.run(10.0)
    p[2:3].record("v")
    sim.run(10.0)
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape == (201, 2)
    # cell 2 was not recorded in the first 10 ms
    assert np.all(np.isnan(sig.magnitude[:101, 1]))
    assert not np.any(np.isnan(sig.magnitude[101:, 1]))
    assert not np.any(np.isnan(sig.magnitude[:, 0]))


def test_record_from_assembly(sim):
    a = sim.Population(2, sim.IF_curr_exp(i_offset=2.0), label="A")
    b = sim.Population(3, sim.IF_cond_exp(i_offset=2.0), label="B")
    asm = a + b
    asm.record(["spikes", "v"])
    sim.run(30.0)
    blk = asm.get_data()
    seg = blk.segments[0]
    assert len(seg.spiketrains) == 5
    assert sum(sig.shape[1] for sig in seg.filter(name="v")) == 5
    counts = asm.get_spike_counts()
    assert len(counts) == 5 and all(c > 0 for c in counts.values())
    assert asm.mean_spike_count() > 0


def test_record_none_stops_recording(sim):
    p = sim.Population(2, sim.IF_curr_exp(i_offset=2.0))
    p.record(["spikes", "v"])
    sim.run(20.0)
    p.record(None)
    sim.run(20.0)
    blk = p.get_data()
    seg = blk.segments[-1]
    assert all(st.size == 0 for st in seg.spiketrains) or len(seg.spiketrains) == 0
    assert len(seg.analogsignals) == 0


def test_record_none_then_record_again(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=2.0))
    p.record("spikes")
    sim.run(20.0)
    p.record(None)
    sim.run(20.0)
    p.record("spikes")
    sim.run(20.0)
    times = p.get_data().segments[-1].spiketrains[0].magnitude
    assert times.size > 0 and times.min() > 40.0


@pytest.mark.parametrize("name,var", [("IF_curr_exp", "gsyn_exc"), ("IF_cond_exp", "w"),
                                      ("SpikeSourcePoisson", "v"), ("Izhikevich", "gsyn_inh"),
                                      ("IF_curr_exp", "foo")])
def test_record_unknown_variable_raises(sim, name, var):
    p = sim.Population(2, getattr(sim, name)())
    with pytest.raises(errors.RecordingError):
        p.record(var)


def test_current_source_record(sim):
    p = sim.Population(1, sim.IF_curr_exp())
    dc = sim.DCSource(amplitude=0.5, start=5.0, stop=15.0)
    dc.inject_into(p)
    dc.record()
    step = sim.StepCurrentSource(times=[2.0, 8.0], amplitudes=[0.3, -0.1])
    step.inject_into(p)
    step.record()
    sim.run(20.0)
    sig = dc.get_data()
    t = sig.times.rescale("ms").magnitude
    values = sig.magnitude.ravel()
    assert t[0] == 0.0 and t[-1] == pytest.approx(20.0)
    assert values.size == 201
    on = (t >= 5.0 - 1e-9) & (t < 15.0 - 1e-9)
    np.testing.assert_allclose(values[on], 0.5)
    np.testing.assert_allclose(values[~on], 0.0)
    s = step.get_data().magnitude.ravel()
    assert s[19] == 0.0 and s[20] == 0.3 and s[79] == 0.3 and s[80] == -0.1 and s[-1] == -0.1


def test_current_source_record_after_reset(sim):
    p = sim.Population(1, sim.IF_curr_exp())
    ac = sim.ACSource(amplitude=1.0, offset=0.5, frequency=100.0, phase=0.0, start=0.0, stop=50.0)
    ac.inject_into(p)
    ac.record()
    sim.run(10.0)
    first = ac.get_data().magnitude.ravel().copy()
    sim.reset()
    sim.run(10.0)
    second = ac.get_data().magnitude.ravel()
    np.testing.assert_allclose(first, second)
    t = np.arange(101) * 0.1
    np.testing.assert_allclose(second, 0.5 + np.sin(2 * np.pi * 100.0 * t / 1000.0), atol=1e-12)


def test_record_to_file_written_at_end(sim, tmp_path):
    fname = str(tmp_path / "at_end.pkl")
    p = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"], to_file=fname)
    sim.run(40.0)
    assert not os.path.exists(fname)
    sim.end()
    blk = neo.io.PickleIO(fname).read_block()
    assert blk.segments[0].analogsignals[0].shape == (401, 2)


def test_get_data_variables_filter(sim):
    p = sim.Population(2, sim.IF_cond_exp(i_offset=1.0))
    p.record(["spikes", "v", "gsyn_exc"])
    sim.run(10.0)
    seg = p.get_data("v").segments[0]
    assert [s.name for s in seg.analogsignals] == ["v"]
    assert len(seg.spiketrains) == 0
    seg = p.get_data("spikes").segments[0]
    assert len(seg.analogsignals) == 0 and len(seg.spiketrains) == 2


def test_population_created_after_run_records(sim):
    a = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    a.record("v")
    sim.run(10.0)
    b = sim.Population(1, sim.IF_curr_exp(i_offset=2.0))
    b.record(["v", "spikes"])
    sim.run(20.0)
    seg = b.get_data().segments[0]
    sig = seg.analogsignals[0]
    assert float(sig.t_start.rescale("ms")) == pytest.approx(10.0)
    assert sig.shape[0] == 201
    assert sig.magnitude[0, 0] == -65.0
    assert seg.spiketrains[0].size > 0 and seg.spiketrains[0].magnitude.min() > 10.0
    sim.reset()
    sim.run(5.0)
    assert len(b.get_data().segments) == 2
