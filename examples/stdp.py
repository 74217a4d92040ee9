"""Spike-timing-dependent plasticity: competition between Poisson inputs (Song et al. 2000).

100 Poisson inputs, with rates spread from 2 to 20 Hz, project onto a few IF_cond_exp
neurons through additive pair-based STDP (STDPMechanism with SpikePairRule and
AdditiveWeightDependence; depression slightly stronger than potentiation,
A_minus tau_minus > A_plus tau_plus). The weights start uniform in [0, w_max]; additive
STDP pushes them towards 0 or w_max (a bimodal distribution), and keeps the postsynaptic
rate in check. The simulation runs in chunks so that the mean weight and the output rate
can be followed over time; at the end the weight histograms before and after are printed,
together with the mean final weight of the slowest and fastest inputs.

    python examples/stdp.py
    python examples/stdp.py --simulator pyNN.nest     # the same script on NEST
"""
import argparse
import importlib
import json
import time

import numpy as np


def histogram(values, w_max, bins=10, width=40):
    counts, edges = np.histogram(values, bins=bins, range=(0.0, w_max))
    scale = width / max(counts.max(), 1)
    return [f"  {lo * 1000:5.2f}-{hi * 1000:5.2f} nS |{'#' * int(round(c * scale)):<{width}}| {c}"
            for c, lo, hi in zip(counts, edges[:-1], edges[1:])]


def build_and_run(sim, n_inputs=100, n_post=5, tstop=100000.0, chunks=10, w_max=0.004,
                  seed=20250, dt=0.1):
    """Build and run on ``sim``; return a dict with the weights, rates and timings."""
    from pyNN.random import NumpyRNG, RandomDistribution

    t0 = time.perf_counter()
    sim.setup(timestep=dt, min_delay=1.0, max_delay=1.0)
    rates = np.linspace(2.0, 20.0, n_inputs)
    inputs = sim.Population(n_inputs, sim.SpikeSourcePoisson(rate=rates), label="inputs")
    neurons = sim.Population(n_post, sim.IF_cond_exp(tau_m=20.0, v_rest=-70.0, v_reset=-70.0,
                                                     v_thresh=-54.0, tau_refrac=2.0,
                                                     tau_syn_E=5.0, e_rev_E=0.0),
                             label="neurons")
    neurons.initialize(v=-70.0)
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.02, A_minus=0.024),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
        weight=RandomDistribution("uniform", low=0.0, high=w_max, rng=rng),
        delay=1.0)
    prj = sim.Projection(inputs, neurons, sim.AllToAllConnector(), stdp,
                         receptor_type="excitatory")
    neurons.record("spikes")
    w_initial = np.asarray(prj.get("weight", format="array"), dtype=float)
    build_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    history = []
    chunk = tstop / chunks
    previous = 0
    for k in range(chunks):
        sim.run(chunk)
        spikes = neurons.get_data("spikes", clear=False).segments[0].spiketrains
        total = sum(len(st) for st in spikes)
        w = np.asarray(prj.get("weight", format="array"), dtype=float)
        history.append({"t_ms": (k + 1) * chunk, "mean_w_nS": 1000 * float(np.mean(w)),
                        "post_rate_hz": (total - previous) / n_post / (chunk / 1000.0)})
        previous = total
    run_time = time.perf_counter() - t0

    w_final = np.asarray(prj.get("weight", format="array"), dtype=float)
    quarter = n_inputs // 4
    result = {
        "simulator": sim.__name__, "inputs": n_inputs, "neurons": n_post, "tstop_ms": tstop,
        "build_s": round(build_time, 3), "run_s": round(run_time, 3),
        "mean_w_initial_nS": 1000 * float(w_initial.mean()),
        "mean_w_final_nS": 1000 * float(w_final.mean()),
        "mean_dw_nS": 1000 * float((w_final - w_initial).mean()),
        "fraction_near_bounds": float(np.mean((w_final < 0.1 * w_max) | (w_final > 0.9 * w_max))),
        "mean_w_slowest_quarter_nS": 1000 * float(w_final[:quarter].mean()),
        "mean_w_fastest_quarter_nS": 1000 * float(w_final[-quarter:].mean()),
        "post_rate_first_chunk_hz": history[0]["post_rate_hz"],
        "post_rate_last_chunk_hz": history[-1]["post_rate_hz"],
        "history": history,
        "w_initial": w_initial.ravel().tolist(), "w_final": w_final.ravel().tolist(),
        "w_max": w_max,
    }
    sim.end()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", default="pyNN_neuro",
                        help="PyNN backend module (default pyNN_neuro; e.g. pyNN.nest)")
    parser.add_argument("--tstop", type=float, default=100000.0, help="simulated time (ms)")
    parser.add_argument("--neurons", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    sim = importlib.import_module(args.simulator)
    r = build_and_run(sim, n_post=args.neurons, tstop=args.tstop)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("w_initial", "w_final")}))
        return
    print(f"STDP (additive, pair-based) on {r['simulator']}: {r['inputs']} Poisson inputs "
          f"(2-20 Hz) -> {r['neurons']} IF_cond_exp neurons, {r['tstop_ms'] / 1000:g} s")
    print(f"  build time              {r['build_s']:.2f} s")
    print(f"  simulation time         {r['run_s']:.2f} s")
    print("  time (s)   mean weight (nS)   output rate (Hz)")
    for h in r["history"]:
        print(f"  {h['t_ms'] / 1000:7.1f}   {h['mean_w_nS']:16.3f}   {h['post_rate_hz']:16.2f}")
    print(f"  mean weight             {r['mean_w_initial_nS']:.3f} -> {r['mean_w_final_nS']:.3f} nS "
          f"(mean change {r['mean_dw_nS']:+.3f} nS)")
    print(f"  weights within 10% of a bound: {100 * r['fraction_near_bounds']:.0f} %")
    print(f"  mean final weight, slowest / fastest quarter of the inputs: "
          f"{r['mean_w_slowest_quarter_nS']:.3f} / {r['mean_w_fastest_quarter_nS']:.3f} nS")
    print(f"  output rate             {r['post_rate_first_chunk_hz']:.2f} Hz (first chunk) -> "
          f"{r['post_rate_last_chunk_hz']:.2f} Hz (last chunk)")
    print("  initial weights:")
    print("\n".join(histogram(r["w_initial"], r["w_max"])))
    print("  final weights:")
    print("\n".join(histogram(r["w_final"], r["w_max"])))


if __name__ == "__main__":
    main()
