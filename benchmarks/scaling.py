"""Scaling network: N IF_curr_exp neurons (80% excitatory), fixed fan-in 100 (80 E + 20 I),
each neuron driven by its own Poisson source; 1 s. The same per-neuron input at every N,
so the run time should grow linearly with N.

    python benchmarks/scaling.py pyNN_neuro --n 64000
    python benchmarks/scaling.py brian2 --n 64000      # the same network in native Brian2

``brian2`` (not a PyNN backend) builds the network directly with Brian2's own API
(cython code generation; Brian2 2.9 needs numpy < 2.4), as the issue's anchor does: the
same equations, parameters and connectivity statistics (fan-in drawn with replacement,
which at 80 of 51 200 changes nothing measurable).
"""
import argparse
import time

import numpy as np

import _common


def build_and_run(sim, n, tstop=1000.0, threads=1, seed=42):
    from pyNN.random import NumpyRNG, RandomDistribution
    n_exc = int(n * 0.8)
    n_inh = n - n_exc
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, min_delay=1.0, threads=threads)
    params = dict(tau_m=20.0, cm=0.25, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                  tau_refrac=2.0, tau_syn_E=2.0, tau_syn_I=4.0)
    exc = sim.Population(n_exc, sim.IF_curr_exp(**params), label="E")
    inh = sim.Population(n_inh, sim.IF_curr_exp(**params), label="I")
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    v_init = RandomDistribution("uniform", low=-65.0, high=-50.0, rng=rng)
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=2000.0), label="drive")
    w_exc, w_inh, w_drive = 0.1, -0.4, 0.1
    projections = []
    for post, offset in ((exc, 0), (inh, n_exc)):
        projections.append(sim.Projection(
            exc, post, sim.FixedNumberPreConnector(80, rng=rng),
            sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory"))
        projections.append(sim.Projection(
            inh, post, sim.FixedNumberPreConnector(20, rng=rng),
            sim.StaticSynapse(weight=w_inh, delay=1.0), receptor_type="inhibitory"))
        projections.append(sim.Projection(
            drive[offset:offset + post.size], post, sim.OneToOneConnector(),
            sim.StaticSynapse(weight=w_drive, delay=1.0), receptor_type="excitatory"))
    exc.record("spikes")
    inh.record("spikes")
    build_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(tstop)
    run_time = time.perf_counter() - t0
    # spike counts straight from the recorder: building 64 000 Neo spike trains would
    # take longer than the run
    counts = [sum(p.get_spike_counts().values()) for p in (exc, inh)]
    result = {"simulator": sim.__name__, "workload": f"scaling-{n}", "neurons": n,
              "synapses": int(sum(p.size() for p in projections)),
              "build_s": round(build_time, 3), "run_s": round(run_time, 3),
              "exc_rate_hz": float(counts[0]) / n_exc / (tstop / 1000.0),
              "inh_rate_hz": float(counts[1]) / n_inh / (tstop / 1000.0), "threads": threads,
              "spike_digest": _common.spike_digest([exc, inh])}
    # 100 recurrent targets per spike on average, plus the drive (2000 Hz x 1 target)
    events = (counts[0] + counts[1]) * 100 + n * 2000.0 * tstop / 1000.0
    result["synaptic_events_per_s"] = round(events / max(run_time, 1e-9))
    sim.end()
    return result


def build_and_run_brian2(n, tstop=1000.0, threads=1, seed=42):
    import brian2 as b2
    from brian2 import Hz, ms, mV, nA, nF
    b2.prefs.codegen.target = "cython"
    b2.start_scope()
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    n_exc = int(n * 0.8)
    t0 = time.perf_counter()
    equations = """
    dv/dt = (v_rest - v) / tau_m + (i_exc + i_inh) / c_m : volt (unless refractory)
    di_exc/dt = -i_exc / tau_syn_e : amp
    di_inh/dt = -i_inh / tau_syn_i : amp
    """
    # c_m, not cm: Brian2 reads "cm" as the centimetre
    namespace = dict(v_rest=-65.0 * mV, tau_m=20.0 * ms, c_m=0.25 * nF, tau_syn_e=2.0 * ms,
                     tau_syn_i=4.0 * ms, v_thresh=-50.0 * mV, v_reset=-65.0 * mV)
    cells = b2.NeuronGroup(n, equations, threshold="v >= v_thresh", reset="v = v_reset",
                           refractory=2.0 * ms, method="exact", namespace=namespace)
    cells.v = rng.uniform(-65.0, -50.0, n) * mV
    drive = b2.PoissonGroup(n, 2000.0 * Hz)
    synapses = []
    for source, first, fan_in, on_pre in (
            (cells[:n_exc], 0, 80, "i_exc_post += 0.1*nA"),
            (cells[n_exc:], n_exc, 20, "i_inh_post -= 0.4*nA")):
        syn = b2.Synapses(source, cells, on_pre=on_pre, delay=1.0 * ms)
        size = n - n_exc if first else n_exc
        syn.connect(i=rng.integers(0, size, n * fan_in), j=np.repeat(np.arange(n), fan_in))
        synapses.append(syn)
    syn = b2.Synapses(drive, cells, on_pre="i_exc_post += 0.1*nA", delay=1.0 * ms)
    syn.connect(j="i")
    synapses.append(syn)
    monitor = b2.SpikeMonitor(cells)
    network = b2.Network(cells, drive, *synapses, monitor)
    build_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    network.run(tstop * ms)
    run_time = time.perf_counter() - t0
    counts = np.bincount(np.asarray(monitor.i), minlength=n)
    result = {"simulator": "brian2", "workload": f"scaling-{n}", "neurons": n,
              "synapses": int(sum(len(s) for s in synapses)),
              "build_s": round(build_time, 3), "run_s": round(run_time, 3),
              "exc_rate_hz": float(counts[:n_exc].sum()) / n_exc / (tstop / 1000.0),
              "inh_rate_hz": float(counts[n_exc:].sum()) / (n - n_exc) / (tstop / 1000.0),
              "threads": threads}
    events = counts.sum() * 100 + n * 2000.0 * tstop / 1000.0
    result["synaptic_events_per_s"] = round(events / max(run_time, 1e-9))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.simulator == "brian2":
        _common.emit(build_and_run_brian2(args.n, args.tstop, args.threads))
        return
    _common.emit(build_and_run(_common.simulator(args.simulator), args.n, args.tstop,
                               args.threads))


if __name__ == "__main__":
    main()
