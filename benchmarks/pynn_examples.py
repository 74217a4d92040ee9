"""PyNN's own example scripts on pyNN_neuro and on pyNN.nest, side by side.

Downloads the source distribution of the installed PyNN version (its ``examples/`` folder
is not installed with the package), runs every example script once with pyNN_neuro and,
given a Python that has NEST and PyNN (``--nest-python``), once with pyNN.nest, each in a
folder of its own, and compares the Neo files the scripts write (``Results/*.pkl``):
spikes per segment, spike trains equal within 0.1 ms, and per recorded signal the largest
difference and the means.

    python benchmarks/pynn_examples.py --nest-python /path/to/nest-venv/bin/python \\
        --json /tmp/examples.json --doc docs/pynn_examples.md

pyNN_neuro is not a module of the ``pyNN`` package, so PyNN's ``get_simulator("neuro")``
would not find it: each script is run with ``pyNN.neuro`` aliased to ``pyNN_neuro``.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

#: run a script with ``pyNN.neuro`` = pyNN_neuro: argv = [script, "neuro", extra...]
ALIAS_RUNNER = ("import runpy, sys, pyNN_neuro; sys.modules['pyNN.neuro'] = pyNN_neuro; "
                "path = sys.argv[1]; sys.argv = [path, 'neuro'] + sys.argv[2:]; "
                "runpy.run_path(path, run_name='__main__')")

#: extra command-line arguments some examples need
EXTRA_ARGUMENTS = {"VAbenchmarks": ["CUBA"]}

#: why the two simulators differ on an example, found by looking at the data (stop 12,
#: PyNN 0.13.0, NEST 3.10.0); printed in the "note" column of the table
NOTES = {
    "StepCurrentSource": "pyNN.nest's default spike_precision 'off_grid' runs NEST's "
    "precise-timing iaf_psc_exp_ps: its spike at 125.761 ms ends the 5 ms refractory period "
    "inside a step, ours (on the grid, as NEST with 'on_grid') at 125.8 ms",
    "current_injection": "only the NoisyCurrentSource cell differs (random numbers)",
    "tsodyksmarkram": "pyNN.nest with min_delay 'auto' emits the SpikeSourceArray 0.4 ms "
    "late (at t - 0.1 + 0.5: the shift uses min_delay before the 0.5 ms delays raise it); "
    "checked: a source at 10.0 ms is recorded at 10.4 ms by pyNN.nest",
    "stochastic_synapses": "as tsodyksmarkram (source 0.4 ms late in pyNN.nest); the "
    "stochastic synapses also draw different numbers",
    "brunel": "the recorded cells are Population.sample(50) without a seeded rng, a "
    "different sample in every run. Over all 5000 cells, 100-400 ms, with the example's "
    "kernelseed and two others: NEST on_grid 72.1, 74.6, 66.3 Hz (off_grid, pyNN.nest's "
    "default with precise timing, higher), ours 66.3, 72.4, 64.3 Hz: this network's rate "
    "moves by several Hz from one realisation to another, in both simulators. Single cells "
    "(IF_curr_alpha, tau_syn = dt) and a cell-to-cell "
    "connection agree with NEST to 1e-14 mV; pyNN.nest's Poisson sources emit nothing "
    "before 1.3 ms here",
    "VAbenchmarks": "chaotic network: the same statistics (rates within 0.1%), not the same "
    "spikes",
    "small_network": "Poisson input: different random numbers",
    "simpleRandomNetwork": "Poisson input: different random numbers",
    "inhomogeneous_network": "one of nine cells fires one step apart (random connections "
    "and initial values drawn alike, but SpikeSourcePoisson differs)",
    "parameter_changes": "EIF_cond_exp_isfa_ista, RKF45 in both: 1e-6 mV apart after "
    "cell.set(a=...), growing into different spike times over 600 ms",
    "multiquantal_synapses": "stochastic release: different random numbers (the statistics "
    "agree: tests/test_nest_agreement.py)",
}


def examples_folder(work):
    """The ``examples/`` folder of the installed PyNN version's sdist, downloaded into work."""
    import pyNN
    version = pyNN.__version__
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                    ":all:", "-q", "-d", work, f"PyNN=={version}"], check=True)
    archive = glob.glob(os.path.join(work, "*.tar.gz"))[0]
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/examples/" in m.name]
        try:
            tar.extractall(work, members=members, filter="data")
        except TypeError:        # Python before 3.11.4 has no extraction filters
            tar.extractall(work, members=members)
    return glob.glob(os.path.join(work, "*", "examples"))[0], version


def run_example(command, script, folder, timeout, simulator=()):
    """Run ``command script [simulator] [extra arguments]`` in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    name = os.path.splitext(os.path.basename(script))[0]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(command + [script] + list(simulator) +
                              EXTRA_ARGUMENTS.get(name, []), cwd=folder,
                              env=env, capture_output=True, text=True, timeout=timeout)
        rc, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout", ""
    lines = [line for line in err.splitlines() if line.strip()]
    return {"rc": rc, "seconds": round(time.perf_counter() - t0, 2),
            "error": lines[-1][:160] if rc != 0 and lines else ""}


def _data_key(path):
    name = re.sub(r"_(nest|neuro)(?=[_.])", "", os.path.basename(path))
    return re.sub(r"_\d{8}-\d{6}", "", name)


def compare_outputs(nest_folder, neuro_folder):
    """Compare the Neo pickles written under both simulators, file by file."""
    from neo.io import PickleIO
    files = {}
    for side, folder in (("nest", nest_folder), ("neuro", neuro_folder)):
        for path in glob.glob(os.path.join(folder, "Results", "**", "*.pkl"), recursive=True):
            files.setdefault(_data_key(path), {})[side] = path
    rows = []
    for key, pair in sorted(files.items()):
        if len(pair) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blocks = {side: PickleIO(path).read_block() for side, path in pair.items()}
        for number, (a, b) in enumerate(zip(blocks["nest"].segments, blocks["neuro"].segments)):
            row = {"file": key, "segment": number,
                   "spikes": [sum(len(t) for t in a.spiketrains),
                              sum(len(t) for t in b.spiketrains)]}
            if a.spiketrains and len(a.spiketrains) == len(b.spiketrains) and row["spikes"][0]:
                row["equal_trains"] = [sum(
                    1 for x, y in zip(a.spiketrains, b.spiketrains) if len(x) == len(y)
                    and np.allclose(np.asarray(x), np.asarray(y), atol=0.1 + 1e-9)),
                    len(a.spiketrains)]
            signals = {}
            for sa in a.analogsignals:
                match = [s for s in b.analogsignals if s.name == sa.name]
                if not match or np.shape(sa)[1:] != np.shape(match[0])[1:]:
                    continue
                x, y = np.asarray(sa.magnitude), np.asarray(match[0].magnitude)
                n = min(len(x), len(y))
                signals[sa.name] = {"max_abs_diff": float(np.max(np.abs(x[:n] - y[:n]))),
                                    "mean": [float(x.mean()), float(y.mean())]}
            row["signals"] = signals
            rows.append(row)
    return rows


def _markdown(results, version, command):
    lines = ["# PyNN's examples on pyNN_neuro and on pyNN.nest", "",
             f"PyNN {version}'s `examples/`, each run once per simulator, produced by", "",
             "```bash", command, "```", "",
             "Run: the exit status under each simulator (the last error line when it "
             "failed). Compared: the Neo files both runs wrote; trains equal means the same "
             "number of spikes, each within 0.1 ms. Stochastic inputs (Poisson sources, "
             "noisy currents, stochastic synapses and spiking) draw different random "
             "numbers in the two simulators, so only their statistics can agree.", "",
             "| example | pyNN.nest | pyNN_neuro | s (nest / ours) | compared | note |",
             "|---|---|---|---:|---|---|"]
    for name, r in results.items():
        def status(run):
            if run is None:
                return "not run"
            return "ok" if run["rc"] == 0 else f"fails: {run['error'][:90]}"
        parts = []
        for row in r.get("compare", []):
            text = (f"{row['file']} seg {row['segment']}: "
                    f"spikes {row['spikes'][0]}/{row['spikes'][1]}")
            if "equal_trains" in row:
                text += f", trains equal {row['equal_trains'][0]}/{row['equal_trains'][1]}"
            for signal, d in row["signals"].items():
                text += f", {signal} max diff {d['max_abs_diff']:.2g}"
            parts.append(text)
        seconds = " / ".join(f"{run['seconds']:.1f}" if run else "-"
                             for run in (r.get("nest"), r["neuro"]))
        lines.append(f"| {name} | {status(r.get('nest'))} | {status(r['neuro'])} | {seconds} | "
                     f"{'; '.join(parts) or '-'} | {NOTES.get(name, '')} |")
    ours = [n for n, r in results.items() if r["neuro"]["rc"] == 0]
    theirs = [n for n, r in results.items() if r.get("nest") and r["nest"]["rc"] == 0]
    lines += ["", f"pyNN_neuro runs {len(ours)} of {len(results)} examples"
              + (f", pyNN.nest {len(theirs)}" if theirs else "") + ". Run by neither: "
              + (", ".join(n for n in results if n not in ours and n not in theirs) or "none")
              + "; run by pyNN.nest only: "
              + (", ".join(n for n in theirs if n not in ours) or "none") + "."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nest-python", help="a Python with nest-simulator and PyNN")
    parser.add_argument("--examples", help="comma-separated names (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json")
    parser.add_argument("--doc", help="write a markdown table here")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pynn_examples_")
    folder, version = examples_folder(work)
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(folder) if f.endswith(".py"))
    if args.examples:
        names = [n for n in names if n in args.examples.split(",")]
    results = {}
    for name in names:
        script = os.path.join(folder, name + ".py")
        entry = {"neuro": run_example([sys.executable, "-c", ALIAS_RUNNER], script,
                                      os.path.join(work, "neuro"), args.timeout)}
        if args.nest_python:
            entry["nest"] = run_example([args.nest_python], script,
                                        os.path.join(work, "nest"), args.timeout, ["nest"])
        results[name] = entry
        print(f"{name:40s} neuro {entry['neuro']['rc']!s:8s} "
              f"nest {entry.get('nest', {}).get('rc', '-')!s:8s}", flush=True)
    if args.nest_python:
        # the scripts name their files after themselves
        rows = compare_outputs(os.path.join(work, "nest"), os.path.join(work, "neuro"))
        for name in names:
            results[name]["compare"] = [row for row in rows if _belongs(row["file"], name)]
    command = "python benchmarks/pynn_examples.py" + (
        " --nest-python <python with nest-simulator and PyNN>" if args.nest_python else "")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pynn_version": version, "results": results}, f, indent=1)
    if args.doc:
        with open(args.doc, "w") as f:
            f.write(_markdown(results, version, command))
    failed = [n for n, r in results.items() if r["neuro"]["rc"] != 0]
    print(f"pyNN_neuro ran {len(names) - len(failed)} of {len(names)} examples; "
          f"failed: {', '.join(failed) or 'none'}")


def _belongs(data_key, example):
    """Whether a Results file was written by this example: the scripts name their files
    after themselves, some shortened (simple_STDP -> simple_stdp, stochastic_deterministic_
    comparison -> stochastic_comparison)."""
    stem, name = data_key.lower().split(".")[0], example.lower()
    return stem.startswith(name) or stem.startswith(name.replace("_deterministic", ""))


if __name__ == "__main__":
    main()
