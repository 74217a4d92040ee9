"""Deep feed-forward network: 1000 Poisson inputs, then 10 layers of 1000 IF_curr_exp
neurons, each layer all-to-all onto the next (10 million synapses), high rates; 1 s.
The workload of converted ANNs, where the parallel paradigm should pay.

    python benchmarks/deep_ff.py pyNN_neuro
"""
import argparse
import time

import numpy as np

import _common


def build_and_run(sim, layers=10, width=1000, tstop=1000.0, input_rate=40.0, weight=0.008,
                  threads=1, extra_setup=None, seed=11):
    """Weights are uniform on [0, 2 weight] nA (mean ``weight``) and initial potentials
    uniform between rest and threshold, so that the neurons of a layer do not fire in
    lockstep."""
    from pyNN.random import NumpyRNG, RandomDistribution
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, min_delay=1.0, threads=threads, **(extra_setup or {}))
    params = dict(tau_m=20.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                  tau_refrac=2.0, tau_syn_E=5.0, tau_syn_I=5.0)
    populations = [sim.Population(width, sim.SpikeSourcePoisson(rate=input_rate), label="input")]
    projections = []
    for i in range(layers):
        layer = sim.Population(width, sim.IF_curr_exp(**params), label=f"layer{i + 1}")
        layer.initialize(v=RandomDistribution("uniform", low=-65.0, high=-50.0, rng=rng))
        populations.append(layer)
        w = RandomDistribution("uniform", low=0.0, high=2 * weight, rng=rng)
        projections.append(sim.Projection(populations[-2], populations[-1],
                                          sim.AllToAllConnector(),
                                          sim.StaticSynapse(weight=w, delay=1.0)))
    for p in populations[1:]:
        p.record("spikes")
    build_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(tstop)
    run_time = time.perf_counter() - t0
    rates = [float(sum(p.get_spike_counts().values())) / width / (tstop / 1000.0)
             for p in populations[1:]]
    spikes_sent = (input_rate + sum(rates[:-1])) * width * tstop / 1000.0
    result = {"simulator": sim.__name__, "workload": "deep-ff", "neurons": layers * width,
              "synapses": int(sum(p.size() for p in projections)),
              "build_s": round(build_time, 3), "run_s": round(run_time, 3),
              "layer_rates_hz": [round(r, 2) for r in rates],
              "mean_rate_hz": float(np.mean(rates)), "threads": threads,
              "synaptic_events_per_s": round(spikes_sent * width / max(run_time, 1e-9))}
    sim.end()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator")
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--paradigm", default=None,
                        help="pyNN_neuro only: serial or parallel (default: the backend's)")
    args = parser.parse_args()
    extra = {"paradigm": args.paradigm} if args.paradigm else None
    _common.emit(build_and_run(_common.simulator(args.simulator), tstop=args.tstop,
                               threads=args.threads, extra_setup=extra))


if __name__ == "__main__":
    main()
