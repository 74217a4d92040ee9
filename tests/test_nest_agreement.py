"""Agreement of pyNN_neuro with NEST 3.10.0 (through pyNN.nest), script for script.

Each test builds the same PyNN network twice in one process, first on ``pyNN.nest`` (with
``setup(timestep=dt, min_delay=dt, spike_precision="on_grid")``, the setting under which
pyNN.nest's min_delay shifts of spike sources and current sources cancel) and then on
``pyNN_neuro`` (``sim.end()`` in between), and compares the results against the targets:

* IF_curr_exp, IF_curr_alpha (SpikeSourceArray exc + inh with two delays, DCSource), dt 0.1
  and 0.01: identical spike steps, max |dv| <= 1e-6 mV;
* IF_cond_exp, IF_cond_alpha, EIF_cond_{exp,alpha}_isfa_ista, Izhikevich, HH_cond_exp (dt
  0.01, DC + spike input): the same number of spikes, each within 2 dt;
* IF_cond_exp_gsfa_grr against NEST's iaf_cond_exp_sfa_rr created directly (pyNN.nest 0.13
  cannot initialise it: its variable_map lacks PyNN's g_r and g_s): the same spike steps,
  and v, g_s, g_r close;
* Vogels-Abbott CUBA and COBA (``examples/vogels_abbott.py``): rates within 10 %;
* TsodyksMarkramSynapse (20 Hz train into IF_curr_exp, tau_facil 0 and 500): max |dv| <= 1e-6;
* GIF_cond_exp (stochastic spiking): with a sharp escape the same spike times up to two steps;
  with a soft one, over 2000 cells, rates within 4 and mean v, v_t, i_eta within 5 standard
  errors;
* MultiQuantalSynapse (NEST's quantal_stp_synapse; stochastic): the mean conductance of 2000
  cells within 5 standard errors at every sample, with NEST's initial state and with
  Projection.initialize;
* STDP (SpikePairRule with additive and multiplicative weight dependence, delays 1 and 3 ms,
  20 seeded sources onto one DC-driven IF_curr_exp): final weights within 1e-9 nA.

The module is skipped unless ``nest`` imports (tox env ``reference``). With ``pytest -s`` a
table of the measured differences is printed at the end.

Known differences, each isolated in its own strict xfail (the reason says why) next to a
variant of the case that avoids it and must agree:

* SpikeSourceArray times: pyNN.nest passes ``t - min_delay`` to NEST, and NEST's
  ``Time::ms_stamp`` rounds a difference that lands just above a grid point up by one step
  (at dt = 0.01, 35.7 -> 35.71 and 150.05 -> 150.06; at dt = 0.1 e.g. 64.4, 64.9, ...);
  pyNN_neuro emits on the nominal step. With the times NEST actually emitted, the
  current-based cells agree to 1e-13 mV and every other cell type on the same spike steps.
* DCSource with start < 2 dt (min_delay = dt): pyNN.nest clips the device start at 0 and the
  current first acts from t = 2 dt; pyNN_neuro applies it from ``start``.
"""
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

nest = pytest.importorskip("nest", reason="NEST (nest-simulator 3.10.0) is not installed")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyNN.nest as nest_sim
import pyNN_neuro as neuro_sim
from pyNN.parameters import Sequence

try:
    nest.set_verbosity("M_ERROR")
except Exception:  # pragma: no cover - newer NEST spells it differently
    pass

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")

SIMULATORS = [("nest", nest_sim), ("neuro", neuro_sim)]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

RESULTS = []   # rows of the summary table: (case, quantity, value, target)


@pytest.fixture(scope="module", autouse=True)
def summary_table():
    yield
    if not RESULTS:
        return
    width = max(len(r[0]) for r in RESULTS)
    qwidth = max(len(r[1]) for r in RESULTS)
    lines = ["", "pyNN_neuro vs pyNN.nest (NEST %s)" % getattr(nest, "__version__", "?"),
             f"{'case':<{width}}  {'quantity':<{qwidth}}  {'measured':>12}  target"]
    for case, quantity, value, target in RESULTS:
        text = f"{value:12.3e}" if isinstance(value, float) else f"{value!s:>12}"
        lines.append(f"{case:<{width}}  {quantity:<{qwidth}}  {text}  {target}")
    print("\n".join(lines))


def _setup(sim, dt):
    if sim is nest_sim:
        sim.setup(timestep=dt, min_delay=dt, spike_precision="on_grid")
    else:
        sim.setup(timestep=dt, min_delay=dt)


def _both(run, *args, **kwargs):
    """Run ``run(sim, ...)`` on NEST, then on pyNN_neuro; return the two results."""
    out = {}
    for name, sim in SIMULATORS:
        try:
            out[name] = run(sim, *args, **kwargs)
        finally:
            sim.end()
    return out["nest"], out["neuro"]


# single neurons ------------------------------------------------------------------------------

EXC_TIMES = [10.0, 10.3, 20.0, 35.7, 50.0, 60.0, 100.0, 150.05]
INH_TIMES = [15.0, 40.0, 120.0]

# pyNN.nest hands NEST's spike_generator the times t - min_delay; for some grid times that
# difference lands just above a grid point in binary (35.7 - 0.01 = 35.690000000000005) and
# NEST's Time::ms_stamp (nest_time.cpp, Time::fromstamp: truncate to tics, then move up one
# step if the grid time is below t) puts the spike one step late: at dt = 0.01, 35.7 is
# emitted at 35.71 and 150.05 at 150.06. pyNN_neuro emits them at 35.70 / 150.05.
NEST_SSA_SHIFT = ("pyNN.nest/NEST emits SpikeSourceArray times 35.7 and 150.05 one step late at "
                  "dt=0.01 (fl(t - min_delay) rounded up by Time::ms_stamp); pyNN_neuro "
                  "emits them on the nominal step (ceil(t/dt - 1e-9)). See "
                  "test_ssa_emission_times and the report in the module docstring.")


def run_single(sim, celltype, dt, tstop, w_exc, w_inh, dc_amp, dc_start, dc_stop,
               params=None, exc_delay=1.0, inh_delay=0.3, exc_times=EXC_TIMES,
               inh_times=INH_TIMES):
    """One neuron, an excitatory and an inhibitory SpikeSourceArray (two delays), a DCSource."""
    _setup(sim, dt)
    cell = sim.Population(1, getattr(sim, celltype)(**(params or {})), label="cell")
    exc = sim.Population(1, sim.SpikeSourceArray(spike_times=list(exc_times)), label="exc")
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=list(inh_times)), label="inh")
    sim.Projection(exc, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=exc_delay), receptor_type="excitatory")
    sim.Projection(inh, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=inh_delay), receptor_type="inhibitory")
    sim.DCSource(amplitude=dc_amp, start=dc_start, stop=dc_stop).inject_into(cell)
    cell.record(["v", "spikes"])
    exc.record("spikes")
    inh.record("spikes")
    sim.run(tstop)
    seg = cell.get_data().segments[0]
    v = seg.filter(name="v")[0]

    def emitted(pop):
        return np.asarray(pop.get_data().segments[0].spiketrains[0].rescale("ms").magnitude)

    return {"t": np.asarray(v.times.rescale("ms").magnitude),
            "v": np.asarray(v.magnitude)[:, 0],
            "spikes": np.asarray(seg.spiketrains[0].rescale("ms").magnitude),
            "exc_emitted": emitted(exc), "inh_emitted": emitted(inh)}


def _spike_steps(spikes, dt):
    return np.rint(np.asarray(spikes) / dt).astype(int)


def _check_exact(case, ref, ours, dt):
    assert ref["t"].shape == ours["t"].shape
    np.testing.assert_allclose(ours["t"], ref["t"], rtol=0, atol=1e-9)
    dv = float(np.max(np.abs(ours["v"] - ref["v"])))
    RESULTS.append((case, "max |dv| (mV)", dv, "<= 1e-6"))
    steps_ref, steps_ours = _spike_steps(ref["spikes"], dt), _spike_steps(ours["spikes"], dt)
    if steps_ref.size == steps_ours.size:
        diff = int(np.max(np.abs(steps_ref - steps_ours))) if steps_ref.size else 0
        RESULTS.append((case, "max |dt_spike| (dt)", diff, "0"))
    else:
        RESULTS.append((case, "spikes nest/ours", f"{steps_ref.size}/{steps_ours.size}", "equal"))
    assert ref["spikes"].size >= 5
    np.testing.assert_array_equal(steps_ours, steps_ref)
    assert dv <= 1e-6


CURRENT_CASES = [pytest.param(celltype, dt, id=f"{celltype}-dt{dt}", marks=(
                     [pytest.mark.xfail(strict=True, reason=NEST_SSA_SHIFT)] if dt == 0.01 else []))
                 for celltype in ("IF_curr_exp", "IF_curr_alpha") for dt in (0.1, 0.01)]


@pytest.mark.parametrize("celltype,dt", CURRENT_CASES)
def test_current_based_exact(celltype, dt):
    """The same script on both: 0.5 / -0.3 nA synapses (delays 1.0 / 0.3 ms), 1 nA DC 20-180 ms."""
    ref, ours = _both(run_single, celltype, dt, 200.0, 0.5, -0.3, 1.0, 20.0, 180.0)
    _check_exact(f"{celltype} dt={dt}", ref, ours, dt)


@pytest.mark.parametrize("dt", [0.1, 0.01])
@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_curr_alpha"])
def test_current_based_exact_nest_source_times(celltype, dt):
    """As above, but pyNN_neuro's sources get the times NEST's sources actually emitted: this
    separates the neuron and synapse dynamics from the source time rounding."""
    args = (celltype, dt, 200.0, 0.5, -0.3, 1.0, 20.0, 180.0)
    ref = run_single(nest_sim, *args)
    nest_sim.end()
    ours = run_single(neuro_sim, *args, exc_times=ref["exc_emitted"],
                      inh_times=ref["inh_emitted"])
    neuro_sim.end()
    _check_exact(f"{celltype} dt={dt} (NEST's source times)", ref, ours, dt)


@pytest.mark.parametrize("dt", [
    0.1, pytest.param(0.01, marks=pytest.mark.xfail(strict=True, reason=NEST_SSA_SHIFT))])
def test_ssa_emission_times(dt):
    """The times at which a SpikeSourceArray emits (recorded) are the same grid steps."""
    ref, ours = _both(run_single, "IF_curr_exp", dt, 200.0, 0.5, -0.3, 1.0, 20.0, 180.0)
    for key in ("exc_emitted", "inh_emitted"):
        diff = np.setxor1d(_spike_steps(ref[key], dt), _spike_steps(ours[key], dt)) * dt
        RESULTS.append((f"SpikeSourceArray dt={dt}", f"{key[:3]} steps differing",
                        str(np.round(diff, 2).tolist()) if diff.size else "none", "none"))
    for key in ("exc_emitted", "inh_emitted"):
        np.testing.assert_array_equal(_spike_steps(ours[key], dt), _spike_steps(ref[key], dt))


# (celltype, exc weight, inh weight, DC amplitude, extra parameters)
NONLINEAR = [
    ("IF_cond_exp", 0.01, 0.02, 1.0, {}),
    ("IF_cond_alpha", 0.01, 0.02, 1.0, {}),
    ("EIF_cond_exp_isfa_ista", 0.01, 0.02, 1.0, {}),
    ("EIF_cond_alpha_isfa_ista", 0.01, 0.02, 1.0, {}),
    ("Izhikevich", 5.0, -5.0, 0.01, {}),
    ("HH_cond_exp", 0.02, 0.05, 1.0, {}),
]


@pytest.mark.parametrize("celltype,w_exc,w_inh,dc,params", NONLINEAR,
                         ids=[c[0] for c in NONLINEAR])
def test_nonlinear_spike_times(celltype, w_exc, w_inh, dc, params):
    dt = 0.01
    ref, ours = _both(run_single, celltype, dt, 200.0, w_exc, w_inh, dc, 50.0, 180.0, params)
    case = f"{celltype} dt={dt}"
    n_ref, n_ours = ref["spikes"].size, ours["spikes"].size
    RESULTS.append((case, "spikes nest/ours", f"{n_ref}/{n_ours}", "equal"))
    if n_ref == n_ours and n_ref:
        diff = float(np.max(np.abs(ours["spikes"] - ref["spikes"]))) / dt
        RESULTS.append((case, "max |dt_spike| (dt)", diff, "<= 2"))
    RESULTS.append((case, "max |dv| (mV, info)", float(np.max(np.abs(ours["v"] - ref["v"]))), "-"))
    assert n_ref > 3
    assert n_ours == n_ref, (ref["spikes"], ours["spikes"])
    assert np.all(np.abs(ours["spikes"] - ref["spikes"]) <= 2 * dt + 1e-9), \
        (ref["spikes"], ours["spikes"])


@pytest.mark.parametrize("celltype,w_exc,w_inh,dc,params", NONLINEAR,
                         ids=[c[0] for c in NONLINEAR])
def test_nonlinear_nest_source_times(celltype, w_exc, w_inh, dc, params):
    """As above, with pyNN_neuro's sources given the times NEST's sources emitted (see
    NEST_SSA_SHIFT): the spikes are then on the same steps; |dv| is reported."""
    dt = 0.01
    args = (celltype, dt, 200.0, w_exc, w_inh, dc, 50.0, 180.0, params)
    ref = run_single(nest_sim, *args)
    nest_sim.end()
    ours = run_single(neuro_sim, *args, exc_times=ref["exc_emitted"],
                      inh_times=ref["inh_emitted"])
    neuro_sim.end()
    case = f"{celltype} dt={dt} (NEST's source times)"
    RESULTS.append((case, "spikes nest/ours", f"{ref['spikes'].size}/{ours['spikes'].size}",
                    "equal"))
    RESULTS.append((case, "max |dv| (mV, info)", float(np.max(np.abs(ours["v"] - ref["v"]))),
                    "-"))
    np.testing.assert_array_equal(_spike_steps(ours["spikes"], dt), _spike_steps(ref["spikes"], dt))


# IF_cond_exp_gsfa_grr ---------------------------------------------------------------------------

GSFA_GRR = dict(cm=0.5, tau_m=15.0, v_rest=-65.0, v_thresh=-52.0, v_reset=-68.0, tau_refrac=1.0,
                tau_syn_E=2.0, tau_syn_I=6.0, e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.9,
                tau_sfa=120.0, e_rev_sfa=-75.0, q_sfa=12.0, tau_rr=2.5, e_rev_rr=-75.0,
                q_rr=1500.0)
GSFA_EXC = [30.0, 30.5, 31.0, 95.0, 96.0, 97.0, 160.0]
GSFA_INH = [60.0, 130.0]


def run_gsfa_grr_nest(dt, tstop):
    """NEST's iaf_cond_exp_sfa_rr with GSFA_GRR in NEST's units, fed by spike generators
    whose spikes arrive (1 ms delay) when pyNN_neuro's do."""
    p = GSFA_GRR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt})
    cell = nest.Create("iaf_cond_exp_sfa_rr", params={
        "C_m": p["cm"] * 1000.0, "g_L": p["cm"] / p["tau_m"] * 1000.0, "E_L": p["v_rest"],
        "V_th": p["v_thresh"], "V_reset": p["v_reset"], "t_ref": p["tau_refrac"],
        "tau_syn_ex": p["tau_syn_E"], "tau_syn_in": p["tau_syn_I"], "E_ex": p["e_rev_E"],
        "E_in": p["e_rev_I"], "I_e": p["i_offset"] * 1000.0, "tau_sfa": p["tau_sfa"],
        "E_sfa": p["e_rev_sfa"], "q_sfa": p["q_sfa"], "tau_rr": p["tau_rr"],
        "E_rr": p["e_rev_rr"], "q_rr": p["q_rr"], "V_m": -65.0})
    exc = nest.Create("spike_generator", params={"spike_times": GSFA_EXC})
    inh = nest.Create("spike_generator", params={"spike_times": GSFA_INH})
    nest.Connect(exc, cell, syn_spec={"weight": 20.0, "delay": 1.0})
    nest.Connect(inh, cell, syn_spec={"weight": -40.0, "delay": 1.0})
    meter = nest.Create("multimeter", params={"record_from": ["V_m", "g_sfa", "g_rr"],
                                              "interval": dt})
    recorder = nest.Create("spike_recorder")
    nest.Connect(meter, cell)
    nest.Connect(cell, recorder)
    nest.Simulate(tstop)
    events = meter.get("events")
    order = np.argsort(events["times"])
    return {"spikes": np.sort(np.asarray(recorder.get("events")["times"])),
            "v": np.asarray(events["V_m"])[order], "g_s": np.asarray(events["g_sfa"])[order],
            "g_r": np.asarray(events["g_rr"])[order]}


def run_gsfa_grr_neuro(dt, tstop):
    sim = neuro_sim
    sim.setup(timestep=dt, min_delay=dt)
    cell = sim.Population(1, sim.IF_cond_exp_gsfa_grr(**GSFA_GRR), label="cell")
    for times, weight, receptor in ((GSFA_EXC, 0.02, "excitatory"),
                                    (GSFA_INH, 0.04, "inhibitory")):
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
        sim.Projection(src, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor)
    cell.record(["spikes", "v", "g_s", "g_r"])
    sim.run(tstop)
    seg = cell.get_data().segments[0]
    out = {"spikes": np.asarray(seg.spiketrains[0].rescale("ms").magnitude)}
    for name in ("v", "g_s", "g_r"):
        # NEST's multimeter starts at t = dt, PyNN's recording at t = 0
        out[name] = np.asarray(seg.filter(name=name)[0].magnitude)[1:, 0]
    sim.end()
    return out


def test_gsfa_grr_against_nest():
    """Adaptation (q_sfa) lengthens the intervals of a DC-driven neuron, the relative
    refractory conductance (q_rr) pulls v below v_reset after each spike; spike input on
    both receptors. NEST integrates with GSL's RKF45, pyNN_neuro with its own RKF45 and the
    same step-size control and tolerances, so v may differ by rounding only."""
    dt, tstop = 0.1, 250.0
    ref = run_gsfa_grr_nest(dt, tstop)
    ours = run_gsfa_grr_neuro(dt, tstop)
    case = "IF_cond_exp_gsfa_grr dt=0.1 (iaf_cond_exp_sfa_rr)"
    RESULTS.append((case, "spikes nest/ours", f"{ref['spikes'].size}/{ours['spikes'].size}",
                    "equal"))
    n = min(ref["v"].size, ours["v"].size)
    for name, target in (("v", 1e-6), ("g_s", 1e-6), ("g_r", 1e-6)):
        diff = float(np.max(np.abs(ours[name][:n] - ref[name][:n])))
        RESULTS.append((case, f"max |d{name}|", diff, f"<= {target}"))
        assert diff <= target, name
    assert ref["spikes"].size >= 5
    intervals = np.diff(ref["spikes"])
    assert intervals[-1] > intervals[0]          # the neuron adapts
    np.testing.assert_array_equal(_spike_steps(ours["spikes"], dt),
                                  _spike_steps(ref["spikes"], dt))


# MultiQuantalSynapse (stochastic: statistics) ---------------------------------------------------

QUANTAL_TIMES = [10.0, 15.0, 20.0, 25.0, 30.0, 150.0, 155.0, 160.0]


def run_quantal(sim, initialize, n_targets=2000):
    """One source, n_targets IF_cond_exp cells each behind its own quantal synapse
    (inhibitory receptor): the mean and standard deviation over the cells of gsyn_inh."""
    _setup(sim, 0.1)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=QUANTAL_TIMES))
    cells = sim.Population(n_targets, sim.IF_cond_exp(tau_syn_I=4.0))
    prj = sim.Projection(source, cells, sim.AllToAllConnector(),
                         sim.MultiQuantalSynapse(U=0.6, n=4, tau_rec=50.0, tau_facil=30.0,
                                                 weight=0.005, delay=1.0),
                         receptor_type="inhibitory")
    if initialize and sim is nest_sim:
        # pyNN.nest 0.13 passes a as a float, which NEST 3.10 refuses: set it directly
        prj.nest_connections.set({"a": 4, "u": 0.6})
    elif initialize:
        prj.initialize(a=4, u=0.6)
    cells.record("gsyn_inh")
    sim.run(200.0)
    g = np.asarray(cells.get_data().segments[0].filter(name="gsyn_inh")[0].magnitude)
    return g.mean(axis=1), g.std(axis=1)


@pytest.mark.parametrize("initialize", [False, True], ids=["nest-initial-state", "initialized"])
def test_quantal_release_statistics(initialize):
    """Different random streams, so the comparison is statistical: at every sample the mean
    conductance over 2000 cells agrees within 5 standard errors. It tests the release and
    recovery order of NEST 3.10 and its initial state (u = 0.5, one site) or the one set
    by Projection.initialize."""
    (mean_ref, sd_ref), (mean_ours, sd_ours) = _both(run_quantal, initialize)
    se = np.sqrt((sd_ref ** 2 + sd_ours ** 2) / 2000)
    worst = float(np.max(np.abs(mean_ours - mean_ref) / (se + 1e-12)))
    case = f"MultiQuantalSynapse ({'initialized' if initialize else 'NEST initial state'})"
    RESULTS.append((case, "max |d mean g| / SE", worst, "<= 5"))
    assert mean_ref.max() > 0
    assert worst <= 5.0


# GIF_cond_exp (stochastic spiking) -------------------------------------------------------------

GIF = dict(v_rest=-65.0, cm=0.5, tau_m=15.0, tau_refrac=3.0, tau_syn_E=3.0, tau_syn_I=5.0,
           v_reset=-68.0, i_offset=0.75, delta_v=0.01, v_t_star=-52.0, lambda0=1e5,
           tau_eta=[5.0, 50.0], a_eta=[0.05, 0.02], tau_gamma=[10.0, 100.0], a_gamma=[3.0, 1.0])


def run_gif(sim, n, params, tstop):
    """n GIF cells, DC-driven, with a burst of excitatory input at 30-32 ms."""
    _setup(sim, 0.1)
    cells = sim.Population(n, sim.GIF_cond_exp(**params))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[30.0, 31.0, 32.0, 200.0]))
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="excitatory")
    cells.record(["spikes", "v", "v_t", "i_eta"])
    sim.run(tstop)
    seg = cells.get_data().segments[0]
    out = {name: np.asarray(seg.filter(name=name)[0].magnitude) for name in ("v", "v_t", "i_eta")}
    out["spikes"] = [np.asarray(st.rescale("ms").magnitude) for st in seg.spiketrains]
    return out


def test_gif_sharp_escape_spike_times():
    """delta_v = 0.01 mV and lambda0 = 1e5 Hz: a neuron fires within a step or two of v
    crossing v_t, so both simulators give the same spike times up to a step or two:
    this checks the spike-triggered current, the moving threshold and the refractory reset
    step by step."""
    ref, ours = _both(run_gif, 3, GIF, 190.0)
    case = "GIF_cond_exp sharp escape"
    for a, b in zip(ref["spikes"], ours["spikes"]):
        RESULTS.append((case, "spikes nest/ours", f"{a.size}/{b.size}", "equal"))
        assert a.size == b.size and a.size >= 7
        # a step of jitter shifts the following spikes too: at most two steps in all
        diff = float(np.max(np.abs(a - b)))
        RESULTS.append((case, "max |dt_spike| (ms)", diff, "<= 0.2"))
        assert diff <= 0.2 + 1e-9


def test_gif_firing_statistics():
    """A soft escape (delta_v 2 mV, lambda0 20 Hz) on 2000 cells: the mean rates agree
    within 4 standard errors and the mean v, v_t and i_eta within 5 at every sample."""
    params = dict(GIF, delta_v=2.0, lambda0=20.0)
    ref, ours = _both(run_gif, 2000, params, 500.0)
    counts = [np.array([t.size for t in r["spikes"]]) for r in (ref, ours)]
    se_rate = np.sqrt(sum(c.var() for c in counts) / 2000)
    diff = abs(counts[0].mean() - counts[1].mean()) / se_rate
    case = "GIF_cond_exp soft escape, 2000 cells"
    RESULTS.append((case, "rate nest/ours (Hz)",
                    f"{counts[0].mean() / 0.5:.2f}/{counts[1].mean() / 0.5:.2f}", "equal"))
    RESULTS.append((case, "|d rate| / SE", float(diff), "<= 4"))
    assert diff <= 4.0
    for name in ("v", "v_t", "i_eta"):
        se = np.sqrt((ref[name].var(axis=1) + ours[name].var(axis=1)) / 2000) + 1e-12
        worst = float(np.max(np.abs(ref[name].mean(axis=1) - ours[name].mean(axis=1)) / se))
        RESULTS.append((case, f"max |d mean {name}| / SE", worst, "<= 5"))
        assert worst <= 5.0


# Tsodyks-Markram ------------------------------------------------------------------------------

def run_tm(sim, dt, tau_facil):
    _setup(sim, dt)
    cell = sim.Population(1, sim.IF_curr_exp(), label="cell")
    times = np.arange(10.0, 511.0, 50.0)   # 20 Hz
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=times), label="src")
    syn = sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, tau_facil=tau_facil,
                                    weight=0.5, delay=1.0)
    sim.Projection(src, cell, sim.AllToAllConnector(), syn, receptor_type="excitatory")
    cell.record("v")
    sim.run(600.0)
    v = cell.get_data().segments[0].filter(name="v")[0]
    return np.asarray(v.magnitude)[:, 0]


@pytest.mark.parametrize("dt", [0.1, 0.01])
@pytest.mark.parametrize("tau_facil", [0.0, 500.0])
def test_tsodyks_markram(tau_facil, dt):
    ref, ours = _both(run_tm, dt, tau_facil)
    assert ref.shape == ours.shape
    dv = float(np.max(np.abs(ours - ref)))
    RESULTS.append((f"TsodyksMarkram tau_facil={tau_facil:g} dt={dt}", "max |dv| (mV)", dv,
                    "<= 1e-6"))
    assert ref.max() - ref.min() > 0.3        # the PSPs are there
    assert dv <= 1e-6


# STDP -----------------------------------------------------------------------------------------

def stdp_trains(n=20, tstop=1000.0, rate=15.0, seed=12345):
    rng = np.random.default_rng(seed)
    trains = []
    for _ in range(n):
        t = np.sort(rng.uniform(1.0, tstop - 5.0, rng.poisson(rate * tstop / 1000.0)))
        trains.append(np.unique(np.round(np.round(t / 0.1) * 0.1, 1)))
    return trains


TRAINS = stdp_trains()


def run_stdp(sim, wdep, delay, dt=0.1, tstop=1000.0, dc_start=1.0, flush=False):
    """20 seeded SpikeSourceArrays -> one DC-driven IF_curr_exp through STDP synapses.

    ``flush``: the DC stops at 950 ms and every source fires once more at 990 ms, after the
    last postsynaptic spike has reached the synapses)."""
    trains, dc_stop = TRAINS, tstop + 10.0
    if flush:
        trains = [np.append(t[t < 980.0], 990.0) for t in TRAINS]
        dc_stop = 950.0
    _setup(sim, dt)
    post = sim.Population(1, sim.IF_curr_exp(), label="post")
    pre = sim.Population(len(trains), sim.SpikeSourceArray(
        spike_times=[Sequence(t) for t in trains]), label="pre")
    sim.DCSource(amplitude=1.0, start=dc_start, stop=dc_stop).inject_into(post)
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.012),
        weight_dependence=getattr(sim, wdep)(w_min=0.0, w_max=0.05),
        weight=0.02, delay=delay)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, receptor_type="excitatory")
    post.record("spikes")
    sim.run(tstop)
    return {"w": np.asarray(prj.get("weight", format="array"), float).ravel(),
            "post": np.asarray(post.get_data().segments[0].spiketrains[0].magnitude)}


STDP_CASES = [pytest.param(wdep, delay, id=f"{wdep[:-16]}-d{delay:g}")
              for wdep in ("AdditiveWeightDependence", "MultiplicativeWeightDependence")
              for delay in (1.0, 3.0)]


def _check_stdp(case, ref, ours):
    dw = float(np.max(np.abs(ours["w"] - ref["w"])))
    RESULTS.append((case, "max |dw| (nA)", dw, "<= 1e-9"))
    RESULTS.append((case, "post spikes nest/ours",
                    f"{ref['post'].size}/{ours['post'].size}", "equal"))
    assert np.ptp(ref["w"]) > 1e-4           # the weights did change
    np.testing.assert_array_equal(_spike_steps(ours["post"], 0.1), _spike_steps(ref["post"], 0.1))
    assert dw <= 1e-9


@pytest.mark.parametrize("wdep,delay", STDP_CASES)
def test_stdp_final_weights(wdep, delay):
    """Projection.get reports each weight as of its synapse's last presynaptic spike, as
    NEST does (a postsynaptic spike potentiates only when the next presynaptic one comes)."""
    ref, ours = _both(run_stdp, wdep, delay)
    _check_stdp(f"STDP {wdep[:-16]} d={delay:g}", ref, ours)


@pytest.mark.parametrize("wdep,delay", STDP_CASES)
def test_stdp_final_weights_flushed(wdep, delay):
    """As above, but a last presynaptic spike of every source after the last postsynaptic
    spike makes NEST fold all pairings into the weights it reports."""
    ref, ours = _both(run_stdp, wdep, delay, flush=True)
    _check_stdp(f"STDP {wdep[:-16]} d={delay:g} flushed", ref, ours)


# DCSource starting at t < 2 dt -----------------------------------------------------------------

DC_EARLY = ("pyNN.nest gives NEST start - min_delay clipped at 0 (electrodes.py "
            "_delay_correction), and a dc_generator with start 0 acts like one with start dt, "
            "so a DCSource with start 0 or dt first acts in the update from 2 dt (v moves at "
            "sample 3); pyNN_neuro applies it from update start/dt (sample start/dt + 1).")


@pytest.mark.parametrize("dc_start", [
    pytest.param(0.0, marks=pytest.mark.xfail(strict=True, reason=DC_EARLY)),
    pytest.param(0.1, marks=pytest.mark.xfail(strict=True, reason=DC_EARLY)),
    0.2, 0.5])
def test_dc_source_early_start(dc_start):
    ref, ours = _both(run_single, "IF_curr_exp", 0.1, 50.0, 0.0, 0.0, 1.0, dc_start, 40.0,
                      exc_times=[], inh_times=[])
    dv = float(np.max(np.abs(ours["v"] - ref["v"])))
    RESULTS.append((f"DCSource start={dc_start} dt=0.1", "max |dv| (mV)", dv, "<= 1e-6"))
    assert dv <= 1e-6


# Vogels-Abbott --------------------------------------------------------------------------------

def _vogels_abbott():
    spec = importlib.util.spec_from_file_location("_va_example", EXAMPLES / "vogels_abbott.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("benchmark", ["CUBA", "COBA"])
def test_vogels_abbott_rates(benchmark):
    va = _vogels_abbott()
    ref = va.build_and_run(nest_sim, benchmark)      # calls sim.end() itself
    ours = va.build_and_run(neuro_sim, benchmark)
    for pop in ("exc", "inh"):
        key = f"{pop}_rate_hz"
        ratio = ours[key] / ref[key]
        RESULTS.append((f"Vogels-Abbott {benchmark}", f"{pop} rate ours/nest",
                        f"{ours[key]:.2f}/{ref[key]:.2f}={ratio:.3f}", "0.9..1.1"))
    for pop in ("exc", "inh"):
        key = f"{pop}_rate_hz"
        assert ref[key] > 1.0
        assert abs(ours[key] / ref[key] - 1.0) <= 0.10, (ref, ours)
