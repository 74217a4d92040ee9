"""Run the benchmarks on several simulators in one session, alternating them (A B A B ...),
and report medians and the ratio pyNN_neuro / anchor for each workload.

    python benchmarks/run.py --repeats 3 \\
        --sim pyNN_neuro --sim pyNN.nest=/path/to/nest-venv/bin/python \\
        --workload va-CUBA --workload va-COBA --workload brunel-10000 \\
        --workload scaling-16000 --workload deep-ff --json results.json

A simulator may carry its own thread count, ``--sim pyNN_neuro@2``, so that one and two
threads alternate too (``--sim pyNN_neuro --sim pyNN_neuro@2 --workload scaling-64000``).

Where a script reports a ``spike_digest`` (scaling.py on pyNN_neuro), the runner also says
whether every pyNN_neuro run of a workload, at every thread count, gave the same spikes.

Each run is a fresh process (``python benchmarks/<script>.py <simulator> ...``), so build
time, run time and peak memory are those of that run alone. A timing is reported only if
the run's firing rates are within 10% of NEST's (when pyNN.nest is one of the simulators);
otherwise the row says so instead.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# workload name -> (script, extra arguments); "<kind>-<size>" forms are parsed below
FIXED = {
    "va-CUBA": ("va.py", ["CUBA"]),
    "va-COBA": ("va.py", ["COBA"]),
    "deep-ff": ("deep_ff.py", []),
}
RATE_KEYS = ("exc_rate_hz", "inh_rate_hz", "mean_rate_hz")


def parse_sim(item, default_threads):
    """"name[=python][@threads]" -> (label, module name, python, threads)."""
    label, _, threads = item.partition("@")
    name, _, python = label.partition("=")
    label = name + (f"@{threads}" if threads else "")
    return label, name, python or sys.executable, int(threads) if threads else default_threads


def command(workload, simulator, python, threads):
    if workload in FIXED:
        script, extra = FIXED[workload]
    elif workload.startswith("brunel-"):
        script, extra = "brunel.py", ["--size", workload.split("-", 1)[1]]
    elif workload.startswith("scaling-"):
        script, extra = "scaling.py", ["--n", workload.split("-", 1)[1]]
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    return [python, os.path.join(HERE, script), simulator] + extra + ["--threads", str(threads)]


def run_once(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def rates(result):
    return {k: result[k] for k in RATE_KEYS if k in result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", action="append", required=True,
                        help="simulator module, optionally =python executable to run it with")
    parser.add_argument("--workload", action="append", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write all runs and the summary here")
    args = parser.parse_args()
    sims = [parse_sim(item, args.threads) for item in args.sim]

    runs = {w: {label: [] for label, *_ in sims} for w in args.workload}
    for workload in args.workload:
        for repeat in range(args.repeats):
            for label, name, python, threads in sims:  # A B A B: drift hits all alike
                result = run_once(command(workload, name, python, threads))
                runs[workload][label].append(result)
                print(f"{workload:>16} {label:>12} run {repeat + 1}: build {result['build_s']:.2f} s,"
                      f" run {result['run_s']:.2f} s, {rates(result)}", file=sys.stderr, flush=True)

    summary = []
    anchor_names = [label for label, *_ in sims if label != "pyNN_neuro"]
    for workload, by_sim in runs.items():
        row = {"workload": workload}
        for name, results in by_sim.items():
            row[name] = {
                "build_s": statistics.median(r["build_s"] for r in results),
                "run_s": statistics.median(r["run_s"] for r in results),
                "peak_memory_mb": statistics.median(r["peak_memory_mb"] for r in results),
                "rates": {k: statistics.median(r[k] for r in results)
                          for k in rates(results[0])},
            }
        digests = {r.get("spike_digest") for name, results in by_sim.items()
                   if name.startswith("pyNN_neuro") for r in results} - {None}
        if digests:    # every pyNN_neuro run, whatever its thread count
            row["pyNN_neuro_spikes_identical"] = len(digests) == 1
        ours = row.get("pyNN_neuro")
        nest = row.get("pyNN.nest")
        if ours and nest:
            ok = all(abs(ours["rates"][k] - v) <= 0.1 * max(abs(v), 1e-9)
                     for k, v in nest["rates"].items() if k in ours["rates"])
            row["rates_match_nest"] = ok
        for anchor in anchor_names:
            if ours and anchor in row:
                a = row[anchor]
                row[f"ratio_vs_{anchor}"] = {
                    "build": ours["build_s"] / a["build_s"],
                    "run": ours["run_s"] / a["run_s"],
                    "build_plus_run": (ours["build_s"] + ours["run_s"])
                    / (a["build_s"] + a["run_s"]),
                }
        summary.append(row)

    print("| workload | simulator | build (s) | run (s) | peak MB | rates (Hz) |")
    print("|---|---|---|---|---|---|")
    for row in summary:
        for name, *_ in sims:
            r = row[name]
            rate_text = ", ".join(f"{k[:-3]} {v:.2f}" for k, v in r["rates"].items())
            print(f"| {row['workload']} | {name} | {r['build_s']:.2f} | {r['run_s']:.2f} | "
                  f"{r['peak_memory_mb']:.0f} | {rate_text} |")
    print()
    for row in summary:
        if "pyNN_neuro_spikes_identical" in row:
            print(f"{row['workload']}: pyNN_neuro spike trains identical in every run and "
                  f"thread count: {'yes' if row['pyNN_neuro_spikes_identical'] else 'NO'}")
        for key, ratio in row.items():
            if key.startswith("ratio_vs_"):
                if row.get("rates_match_nest") is False:
                    print(f"{row['workload']}: rates differ from NEST's by more than 10%: "
                          f"no timing ratio reported")
                    continue
                print(f"{row['workload']}: pyNN_neuro / {key[9:]}: build {ratio['build']:.3f}, "
                      f"run {ratio['run']:.3f}, build+run {ratio['build_plus_run']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repeats": args.repeats, "threads": args.threads, "summary": summary,
                       "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
