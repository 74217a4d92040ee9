"""Choosing paradigms before building: build cost, and run time on a mixed network.

    python benchmarks/paradigms.py                          # both, 3 repetitions each
    python benchmarks/paradigms.py --repeats 5 --json paradigms.json --doc docs/paradigms.md
    python benchmarks/paradigms.py build                    # only measurement (a)
    python benchmarks/paradigms.py run --sim-ms 500         # only measurement (b)

(a) Build. A network of 30 projections (four cortical "areas" of 4000 excitatory and 1000
    inhibitory cells with 2% recurrent connectivity, their Poisson inputs, sparse feed-forward
    links between areas, and a dense three-layer "converted ANN" stack driven at 2 kHz) is
    built two ways, each in a fresh process:

    - *predict*: ``setup(paradigm="auto")``; the selector decides every projection from the
      network spec, then only the chosen units are built (``State.build()``);
    - *both*: for each projection, both units (serial and parallel) are built and their
      ``deliver()`` is timed on Bernoulli spike trains at the same rate estimates "auto"
      uses (declared source rates, the pilot's rates for neurons), the faster is kept and
      the other dropped at once (so at most one spare unit exists at a time), then the
      engine is built around the kept units.

    Build time is the wall time of that step (network construction excluded), peak memory
    the peak of traced allocations during it (``tracemalloc``, a separate process from
    the timed one). Both include the rate estimates and the engine allocation.

(b) Run. A mixed network: a Vogels-Abbott-like recurrent network (3200 + 800 cells, 2%,
    driven at about 14 Hz) and a dense feed-forward stack (1000 Poisson inputs at 2 kHz
    and three all-to-all layers of 1000 cells firing at about 1.6 kHz). It is run with
    ``paradigm="auto"``, ``"serial"`` and ``"parallel"``, alternating, each in a fresh
    process; the spike trains of every population must be identical in all three.

BLAS runs on one thread (as in the selector's calibration): on a shared 2-core machine
multi-threaded BLAS timings are erratic. Medians over ``--repeats`` alternating runs.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# -- networks -------------------------------------------------------------------------------


def areas_network(sim, paradigm, n_areas=4, n_exc=4000, n_inh=1000, seed=5):
    """Measurement (a): 4 x (4 recurrent + 2 input) + 3 inter-area + 3 dense = 30
    projections."""
    sim.setup(timestep=0.1, paradigm=paradigm, rng_seed=seed)
    rng = sim.NumpyRNG(seed=seed)
    cell = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-60.0, v_reset=-60.0,
                v_thresh=-50.0, cm=0.2, tau_refrac=5.0)
    areas = []
    for a in range(n_areas):
        exc = sim.Population(n_exc, sim.IF_curr_exp(**cell), label=f"area{a}_exc")
        inh = sim.Population(n_inh, sim.IF_curr_exp(**cell), label=f"area{a}_inh")
        for p in (exc, inh):
            p.initialize(v=sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng))
        sparse = sim.FixedProbabilityConnector(0.02, rng=rng)
        for pre, w, receptor in ((exc, 0.1, "excitatory"), (inh, -1.0, "inhibitory")):
            for post in (exc, inh):
                sim.Projection(pre, post, sparse, sim.StaticSynapse(weight=w, delay=1.5),
                               receptor_type=receptor, label=f"{pre.label}->{post.label}")
        drive = sim.Population(1000, sim.SpikeSourcePoisson(rate=10.0), label=f"area{a}_in")
        for post in (exc, inh):
            sim.Projection(drive, post, sim.FixedProbabilityConnector(0.05, rng=rng),
                           sim.StaticSynapse(weight=0.2, delay=1.5),
                           label=f"{drive.label}->{post.label}")
        areas.append(exc)
    for a in range(n_areas - 1):
        sim.Projection(areas[a], areas[a + 1], sim.FixedProbabilityConnector(0.01, rng=rng),
                       sim.StaticSynapse(weight=0.05, delay=2.0),
                       label=f"{areas[a].label}->{areas[a + 1].label}")
    stack = [sim.Population(784, sim.SpikeSourcePoisson(rate=2000.0), label="ann_in")]
    for i, size in enumerate((500, 500, 100)):
        stack.append(sim.Population(size, sim.IF_curr_exp(tau_refrac=0.5),
                                    label=f"ann{i + 1}"))
        sim.Projection(stack[-2], stack[-1], sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=sim.RandomDistribution(
                           "uniform", low=0.0, high=0.004, rng=rng), delay=1.5),
                       label=f"{stack[-2].label}->{stack[-1].label}")
    return areas + stack[1:]


def mixed_network(sim, paradigm, seed=11):
    """Measurement (b): sparse low-rate recurrent part + dense high-rate feed-forward
    layers. Returns the populations whose spikes are compared."""
    sim.setup(timestep=0.1, paradigm=paradigm, rng_seed=seed)
    rng = sim.NumpyRNG(seed=3)
    cell = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-60.0, v_reset=-60.0,
                v_thresh=-50.0, cm=0.2, tau_refrac=5.0)
    exc = sim.Population(3200, sim.IF_curr_exp(**cell), label="exc")
    inh = sim.Population(800, sim.IF_curr_exp(**cell), label="inh")
    for p in (exc, inh):
        p.initialize(v=sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng))
    sparse = sim.FixedProbabilityConnector(0.02, rng=rng)
    for pre, w, receptor in ((exc, 0.27, "excitatory"), (inh, -4.5, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, sparse, sim.StaticSynapse(weight=w, delay=1.5),
                           receptor_type=receptor, label=f"{pre.label}->{post.label}")
    drive = sim.Population(1000, sim.SpikeSourcePoisson(rate=20.0), label="drive")
    for post in (exc, inh):
        sim.Projection(drive, post, sim.FixedProbabilityConnector(0.05, rng=rng),
                       sim.StaticSynapse(weight=0.3, delay=1.5), label=f"drive->{post.label}")
    layers = [sim.Population(1000, sim.SpikeSourcePoisson(rate=2000.0), label="ff_in")]
    ff_cell = dict(tau_m=10.0, tau_syn_E=2.0, tau_syn_I=2.0, v_rest=-65.0, v_reset=-65.0,
                   v_thresh=-55.0, cm=0.25, tau_refrac=0.5)
    for i, w in enumerate((0.02, 0.01, 0.01)):
        layers.append(sim.Population(1000, sim.IF_curr_exp(**ff_cell), label=f"ff{i + 1}"))
        sim.Projection(layers[-2], layers[-1], sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=sim.RandomDistribution(
                           "uniform", low=0.0, high=2 * w, rng=sim.NumpyRNG(20 + i)),
                           delay=1.5), label=f"{layers[-2].label}->{layers[-1].label}")
    return [exc, inh] + layers[1:]


# -- one measurement per process -------------------------------------------------------------


def _pin_blas():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1)


def _build_both_keep_faster(state):
    """The alternative to predicting: build both units of every projection, time both,
    keep the faster. Returns {label: paradigm kept}."""
    import numpy as np

    from pyNN_neuro import paradigms
    from pyNN_neuro.engine.parallel import ParallelUnit
    from pyNN_neuro.selector.measure import _PostGroup, _PreGroup
    from pyNN_neuro.simulator import delay_steps

    plan = paradigms.make_plan(state)        # only for the rate estimates and the windows
    quanta = paradigms.quanta(state)
    rng = np.random.default_rng(0)
    kept = {}
    for projection in state.projections:
        projection._units = []
        chosen = []
        for pre, post, pre_index, post_index, selection in projection._pieces():
            values = {name: v[selection] for name, v in projection._values.items()}
            steps = delay_steps(values.pop("delay"), state.dt).astype(np.intc)
            rate = plan.rates[id(pre)][0]
            units = {}
            for paradigm in ("serial", "parallel"):
                if paradigm == "parallel" and ParallelUnit.matrix_bytes(
                        len(np.unique(steps)), pre.size, post.size) > \
                        ParallelUnit.MAX_MATRIX_BYTES:
                    continue
                unit = projection.synapse_type._make_unit(
                    projection.label, pre._make_group(), post, projection.receptor_type,
                    pre_index, post_index, values, steps, paradigm=paradigm)
                unit.ring = (id(post), projection.receptor_type)
                unit.set_quantum(quanta.get(unit.ring), projection._values["weight"][selection])
                units[paradigm] = unit
            K = plan.windows.get(id(projection), plan.window)
            timings = {name: _time_unit(unit, rate, state.dt, K, rng)
                       for name, unit in units.items()}
            best = min(timings, key=timings.get)
            for name in list(units):
                if name != best:
                    del units[name]       # drop the slower one at once
            projection._units.append((units[best], selection))
            chosen.append(best)
        decision = "parallel" if "parallel" in chosen else "serial"
        projection._paradigm_decision = paradigms.Decision(decision, "measured",
                                                           "built both, kept the faster")
        kept[projection.label] = decision
    state.build()
    return kept


def _time_unit(unit, rate_hz, dt, K, rng, min_steps=64, repeats=2):
    """Seconds per step of ``unit.deliver`` on Bernoulli spikes, on stand-in groups."""
    import numpy as np

    from pyNN_neuro.selector.measure import _PostGroup, _PreGroup
    real_pre, real_post = unit.pre, unit.post
    n_windows = max(2, -(-min_steps // K))
    ring_length = K + int(unit.delay.max()) + 1
    pre = _PreGroup(real_pre.size, dt)
    post = _PostGroup(real_post.size, dt, ring_length)
    post.receptor_names = real_post.receptor_names
    post.ring = np.zeros((len(real_post.receptor_names), ring_length, real_post.size))
    unit.pre, unit.post = pre, post
    try:
        unit.allocate(K, ring_length)
        p = min(rate_hz * dt / 1000.0, 1.0)
        windows = []
        for _ in range(n_windows):
            k, i = np.nonzero(rng.random((K, pre.size)) < p)
            windows.append((k.astype(np.intc), i.astype(np.intc), int(k.size)))
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for w, (k, i, n) in enumerate(windows):
                pre.spike_k, pre.spike_i, pre.n_spikes = k, i, n
                unit.deliver(w * K, K)
            best = min(best, time.perf_counter() - t0)
    finally:
        unit.pre, unit.post = real_pre, real_post
    return best / (n_windows * K)


def measure_build(mode, memory):
    """One build of the areas network: 'predict' or 'both'; time or traced peak memory."""
    import tracemalloc

    import pyNN_neuro as sim
    limiter = _pin_blas()
    areas_network(sim, "auto")
    state = sim.simulator.state
    if memory:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "predict":
        state.build()
        kept = {p.label: p._paradigm_decision.paradigm for p in state.projections}
    else:
        kept = _build_both_keep_faster(state)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    result = {"mode": mode, "n_projections": len(state.projections),
              "n_parallel": sum(v == "parallel" for v in kept.values()), "kept": kept}
    if memory:
        result["peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 1024 ** 2
        tracemalloc.stop()
    else:
        result["build_s"] = seconds
        result["build_cpu_s"] = cpu_seconds
    if mode == "predict" and not memory:
        from pyNN_neuro import paradigms
        result["decisions"] = paradigms.projection_report(state)
    sim.end()
    limiter.restore_original_limits()
    return result


def measure_run(mode, sim_ms):
    """One run of the mixed network in paradigm ``mode``: build and run seconds, a hash of
    every population's spike trains, rates, and the report rows."""
    import numpy as np

    import pyNN_neuro as sim
    from pyNN_neuro import paradigms
    limiter = _pin_blas()
    populations = mixed_network(sim, mode)
    for p in populations:
        p.record("spikes")
    state = sim.simulator.state
    t0 = time.perf_counter()
    state.build()
    build_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run(sim_ms)
    run_s, run_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    digest = hashlib.sha256()
    rates = {}
    for p in populations:
        trains = p.get_data().segments[0].spiketrains
        n = 0
        for train in trains:
            times = np.asarray(train.magnitude, dtype=np.float64)
            digest.update(times.tobytes())
            digest.update(b"|")
            n += times.size
        rates[p.label] = n / p.size / (sim_ms / 1000.0)
    rows = paradigms.projection_report(state)
    sim.end()
    limiter.restore_original_limits()
    return {"mode": mode, "build_s": build_s, "run_s": run_s, "run_cpu_s": run_cpu_s,
            "spikes_sha256":
            digest.hexdigest(), "rates_hz": rates, "sim_ms": sim_ms,
            "paradigms": {r["label"]: r["paradigm"] for r in rows}, "decisions": rows}


# -- driver ----------------------------------------------------------------------------------


def _child(args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                          json.dumps(args)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_build(repeats):
    rows = {"predict": [], "both": []}
    for r in range(repeats):
        order = ("predict", "both") if r % 2 == 0 else ("both", "predict")
        for mode in order:
            rows[mode].append(_child({"what": "build", "mode": mode, "memory": False}))
            print(f"build {mode}: {rows[mode][-1]['build_s']:.2f} s", file=sys.stderr)
    memory = {mode: _child({"what": "build", "mode": mode, "memory": True})
              for mode in ("predict", "both")}
    time_ = {m: statistics.median(x["build_s"] for x in rows[m]) for m in rows}
    cpu = {m: statistics.median(x["build_cpu_s"] for x in rows[m]) for m in rows}
    out = {
        "n_projections": rows["predict"][0]["n_projections"],
        "build_s_median": time_,
        "build_cpu_s_median": cpu,
        "build_s_all": {m: [x["build_s"] for x in rows[m]] for m in rows},
        "peak_mb": {m: memory[m]["peak_mb"] for m in memory},
        "parallel_projections": {m: rows[m][0]["n_parallel"] for m in rows},
        "same_choices": rows["predict"][0]["kept"] == rows["both"][0]["kept"],
        "disagreements": {k: (v, rows["both"][0]["kept"][k])
                          for k, v in rows["predict"][0]["kept"].items()
                          if rows["both"][0]["kept"][k] != v},
        "decisions": rows["predict"][0]["decisions"],
    }
    out["time_saving"] = 1.0 - time_["predict"] / time_["both"]
    out["cpu_time_saving"] = 1.0 - cpu["predict"] / cpu["both"]
    out["memory_saving"] = 1.0 - out["peak_mb"]["predict"] / out["peak_mb"]["both"]
    return out


def run_mixed(repeats, sim_ms):
    modes = ("auto", "serial", "parallel")
    rows = {m: [] for m in modes}
    for r in range(repeats):
        order = modes[r % 3:] + modes[:r % 3]
        for mode in order:
            rows[mode].append(_child({"what": "run", "mode": mode, "sim_ms": sim_ms}))
            print(f"run {mode}: build {rows[mode][-1]['build_s']:.2f} s, run "
                  f"{rows[mode][-1]['run_s']:.2f} s", file=sys.stderr)
    keys = ("build_s", "run_s", "run_cpu_s")
    med = {m: {k: statistics.median(x[k] for x in rows[m]) for k in keys} for m in modes}
    hashes = {x["spikes_sha256"] for m in modes for x in rows[m]}
    best_single = min(med["serial"]["run_s"], med["parallel"]["run_s"])
    best_single_total = min(med[m]["build_s"] + med[m]["run_s"] for m in ("serial", "parallel"))
    return {
        "sim_ms": sim_ms, "median": med,
        "all": {m: [{k: x[k] for k in keys} for x in rows[m]] for m in modes},
        "spikes_identical": len(hashes) == 1,
        "rates_hz": rows["auto"][0]["rates_hz"],
        "auto_paradigms": rows["auto"][0]["paradigms"],
        "decisions": rows["auto"][0]["decisions"],
        "speedup_run": best_single / med["auto"]["run_s"],
        "speedup_run_cpu": min(med["serial"]["run_cpu_s"], med["parallel"]["run_cpu_s"])
        / med["auto"]["run_cpu_s"],
        "speedup_total": best_single_total / (med["auto"]["build_s"] + med["auto"]["run_s"]),
    }


def _fmt_cost(row):
    cost = row["predicted_cost"]
    return " / ".join("-" if cost[k] is None else f"{1e6 * cost[k]:.1f}"
                      for k in ("serial", "parallel"))


def markdown(results, command):
    import platform
    lines = ["# Choosing the paradigm before building: measurements", "",
             f"Generated by `{command}` ({time.strftime('%Y-%m-%d %H:%M')}, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared "
             "with other jobs, BLAS on 1 thread; medians of alternating runs, each in a "
             "fresh process). Re-run it to refresh this page. What is measured: see the "
             "docstring of `benchmarks/paradigms.py`.", ""]
    b = results.get("build")
    if b:
        lines += [
            f"## (a) Predict then build one vs build both and keep the faster "
            f"({b['n_projections']} projections)", "",
            "| | build time (s) | build, CPU time (s) | peak traced memory (MB) | "
            "parallel projections |",
            "|---|---:|---:|---:|---:|",
            f"| predict (`paradigm=\"auto\"`) | {b['build_s_median']['predict']:.2f} | "
            f"{b['build_cpu_s_median']['predict']:.2f} | "
            f"{b['peak_mb']['predict']:.0f} | {b['parallel_projections']['predict']} |",
            f"| build both, time both, keep faster | {b['build_s_median']['both']:.2f} | "
            f"{b['build_cpu_s_median']['both']:.2f} | "
            f"{b['peak_mb']['both']:.0f} | {b['parallel_projections']['both']} |", "",
            f"Predicting saves **{100 * b['time_saving']:.0f}%** of the build time in wall "
            f"time, **{100 * b['cpu_time_saving']:.0f}%** in CPU time (target >= 40%; the "
            "build is single-threaded) and **"
            f"{100 * b['memory_saving']:.0f}%** of the peak memory (target >= "
            "30%). All build wall times (s): "
            + "; ".join(f"{m}: {', '.join(f'{x:.2f}' for x in v)}"
                        for m, v in b["build_s_all"].items()) + ".",
            "",
            ("Both ways keep the same paradigm for every projection." if b["same_choices"]
             else "Where the timed choice differs from the predicted one: "
             + ", ".join(f"{k} (predicted {v[0]}, timed {v[1]})"
                         for k, v in b["disagreements"].items()) + "."),
            ""]
    r = results.get("run")
    if r:
        med = r["median"]
        lines += [
            f"## (b) Mixed network: auto vs all-serial vs all-parallel ({r['sim_ms']:g} ms "
            "simulated)", "",
            "| paradigm | build (s) | run (s) | run, CPU time (s) | build + run (s) |",
            "|---|---:|---:|---:|---:|"]
        for m in ("auto", "serial", "parallel"):
            lines.append(f"| {m} | {med[m]['build_s']:.2f} | {med[m]['run_s']:.2f} | "
                         f"{med[m]['run_cpu_s']:.2f} | "
                         f"{med[m]['build_s'] + med[m]['run_s']:.2f} |")
        lines += [
            "",
            f"`auto` runs **{r['speedup_run']:.2f}x** faster than the better single paradigm "
            f"in wall time, **{r['speedup_run_cpu']:.2f}x** in CPU time (target >= 1.5x; "
            "every run is single-threaded, so on an idle machine the two agree, and CPU time "
            "leaves out the time slices other processes take on a shared one); build + run: "
            f"{r['speedup_total']:.2f}x (auto's build includes its pilot of the feed-forward "
            "layers). Run wall times (s): "
            + "; ".join(m + ": " + ", ".join(f"{x['run_s']:.2f}" for x in v)
                        for m, v in r["all"].items()) + ". Spikes of every population identical in "
            f"all runs: **{'yes' if r['spikes_identical'] else 'NO'}**. Rates (Hz): "
            + ", ".join(f"{k} {v:.1f}" for k, v in r["rates_hz"].items()) + ".", "",
            "What `auto` decided (`get_mapping().report()[\"projections\"]`; costs are the "
            "selector's predicted delivery time, us per step):", "",
            "| projection | paradigm | decided by | serial / parallel (us/step) | rate (Hz) |",
            "|---|---|---|---:|---:|"]
        for row in r["decisions"]:
            lines.append(f"| {row['label']} | {row['paradigm']} | {row['decided_by']} | "
                         f"{_fmt_cost(row)} | {row['rate_hz']:.0f} ({row['rate_source']}) |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("all", "build", "run"), default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sim-ms", type=float, default=500.0)
    parser.add_argument("--json", default="paradigms.json", help="where to write the results")
    parser.add_argument("--doc", default=None, help="also write this Markdown page")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        if spec["what"] == "build":
            result = measure_build(spec["mode"], spec["memory"])
        else:
            result = measure_run(spec["mode"], spec["sim_ms"])
        print(json.dumps(result))
        return 0
    results = {}
    if args.what in ("all", "build"):
        results["build"] = run_build(args.repeats)
    if args.what in ("all", "run"):
        results["run"] = run_mixed(args.repeats, args.sim_ms)
    command = "python benchmarks/paradigms.py " + " ".join(argv if argv is not None
                                                           else sys.argv[1:])
    results["command"] = command.strip()
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    text = markdown(results, results["command"])
    print(text)
    if args.doc:
        with open(args.doc, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
