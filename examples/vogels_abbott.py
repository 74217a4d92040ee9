"""Vogels-Abbott balanced network (Brette et al. 2007, benchmarks 1 and 2).

4000 integrate-and-fire neurons (3200 excitatory, 800 inhibitory), 2% random connectivity
(about 320 000 synapses), current-based (CUBA) or conductance-based (COBA) exponential
synapses, 0.2 ms delays, dt = 0.1 ms, 1 s of activity. The parameters are those of PyNN's
own examples/VAbenchmarks.py, so the rates can be compared with any PyNN backend.

    python examples/vogels_abbott.py CUBA
    python examples/vogels_abbott.py COBA --simulator pyNN.nest     # the same script on NEST
"""
import argparse
import importlib
import json
import time


def build_and_run(sim, benchmark="CUBA", n=4000, tstop=1000.0, seed=98765, threads=1,
                  record_v=False):
    """Build and run the network on ``sim``; return a dict of timings and rates."""
    from pyNN.random import NumpyRNG, RandomDistribution

    dt, delay, pconn = 0.1, 0.2, 0.02
    area = 20000e-8                       # cm2
    cm = 1.0 * area * 1000                # nF (1 uF/cm2)
    tau_m, v_thresh, v_reset, t_refrac = 20.0, -50.0, -60.0, 5.0
    e_leak = -60.0 if benchmark == "COBA" else -49.0
    n_exc = int(round(n * 4 / 5))
    n_inh = n - n_exc
    if benchmark == "COBA":
        celltype = sim.IF_cond_exp
        w_exc, w_inh = 4e-3, 51e-3        # uS
    else:
        celltype = sim.IF_curr_exp
        w_exc = 1e-3 * 0.27 * (0.0 - -60.0)     # nA, from 0.27 nS at the mean potential
        w_inh = 1e-3 * 4.5 * (-80.0 - -60.0)
    params = dict(tau_m=tau_m, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=e_leak, v_reset=v_reset,
                  v_thresh=v_thresh, cm=cm, tau_refrac=t_refrac)
    if benchmark == "COBA":
        params.update(e_rev_E=0.0, e_rev_I=-80.0)

    t0 = time.perf_counter()
    sim.setup(timestep=dt, min_delay=delay, max_delay=1.0, threads=threads)
    exc = sim.Population(n_exc, celltype(**params), label="Excitatory_Cells")
    inh = sim.Population(n_inh, celltype(**params), label="Inhibitory_Cells")
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    v_init = RandomDistribution("uniform", low=v_reset, high=v_thresh, rng=rng)
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)
    connector = sim.FixedProbabilityConnector(pconn, rng=rng)
    exc_syn = sim.StaticSynapse(weight=w_exc, delay=delay)
    inh_syn = sim.StaticSynapse(weight=w_inh, delay=delay)
    projections = [
        sim.Projection(exc, exc, connector, exc_syn, receptor_type="excitatory"),
        sim.Projection(exc, inh, connector, exc_syn, receptor_type="excitatory"),
        sim.Projection(inh, exc, connector, inh_syn, receptor_type="inhibitory"),
        sim.Projection(inh, inh, connector, inh_syn, receptor_type="inhibitory"),
    ]
    if benchmark == "COBA":
        stim = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0),
                              label="expoisson")
        stim_conn = sim.FixedProbabilityConnector(0.01, rng=rng)
        stim_syn = sim.StaticSynapse(weight=0.1)
        projections.append(sim.Projection(stim, exc, stim_conn, stim_syn, receptor_type="excitatory"))
        projections.append(sim.Projection(stim, inh, stim_conn, stim_syn, receptor_type="excitatory"))
    exc.record("spikes")
    inh.record("spikes")
    if record_v:
        exc[0:2].record("v")
    build_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    sim.run(tstop)
    run_time = time.perf_counter() - t0

    result = {
        "simulator": sim.__name__,
        "benchmark": benchmark,
        "neurons": n,
        "synapses": int(sum(p.size() for p in projections)),
        "build_s": round(build_time, 3),
        "run_s": round(run_time, 3),
        "exc_rate_hz": exc.mean_spike_count() * 1000.0 / tstop,
        "inh_rate_hz": inh.mean_spike_count() * 1000.0 / tstop,
    }
    sim.end()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", nargs="?", default="CUBA", choices=["CUBA", "COBA"])
    parser.add_argument("--simulator", default="pyNN_neuro",
                        help="PyNN backend module (default pyNN_neuro; e.g. pyNN.nest)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    sim = importlib.import_module(args.simulator)
    result = build_and_run(sim, args.benchmark, threads=args.threads)
    if args.json:
        print(json.dumps(result))
        return
    print(f"Vogels-Abbott {result['benchmark']} on {result['simulator']}")
    print(f"  neurons                 {result['neurons']}")
    print(f"  synapses                {result['synapses']}")
    print(f"  build time              {result['build_s']:.2f} s")
    print(f"  simulation time (1 s)   {result['run_s']:.2f} s")
    print(f"  excitatory rate         {result['exc_rate_hz']:.2f} Hz")
    print(f"  inhibitory rate         {result['inh_rate_hz']:.2f} Hz")


if __name__ == "__main__":
    main()
