"""Brunel (2000) sparse network of excitatory and inhibitory integrate-and-fire neurons.

Model A of N. Brunel, J. Comput. Neurosci. 8:183-208 (2000): N_E = 4 N_I delta-synapse LIF
neurons (IF_curr_delta: each spike makes the membrane jump by J), every neuron receiving
C_E = 0.1 N_E excitatory and C_I = 0.1 N_I inhibitory inputs (fixed in-degree, no
autapses), J = 0.1 mV, inhibitory weight -g J with g = 5, one delay D = 1.5 ms, and
external Poisson drive with eta = nu_ext / nu_thr = 2. These (g, eta) put the network in the
asynchronous-irregular (AI) state.

Brunel's quantities in PyNN terms (rest at 0 mV, as in the paper):

    tau_m = 20 ms, theta = 20 mV -> v_thresh = 20, V_r = 10 mV -> v_reset = 10,
    tau_rp = 2 ms -> tau_refrac = 2, v_rest = 0; weights in mV (IF_curr_delta),
    nu_thr = theta / (J C_E tau_m); each neuron gets its own SpikeSourcePoisson of rate
    C_E * eta * nu_thr (= 20 kHz: C_E external synapses at eta * nu_thr each), weight J.

The full model has 12 500 neurons (C_E = 1000, C_I = 250, 15.6 million synapses) and runs
in about 25 s here; the default is ``--size 2500`` (a few seconds). A smaller network keeps
the full model's in-degrees C_E = 1000, C_I = 250 (connection probability 0.5 at 2500), so
that each neuron sees the same mean and variance of input and the network stays in the AI
state. With ``--sparse`` the in-degrees are 0.1 N_E and 0.1 N_I at every size: at 2500
(C_E = 200) the recurrent inhibition is then 5 times too weak to balance the drive, and the
neurons fire regularly at about 75 Hz (CV ~ 0.2).

    python examples/brunel.py                     # 2500 neurons, 1 s
    python examples/brunel.py --size 12500        # the full model
    python examples/brunel.py --simulator pyNN.nest

Printed: build and run times, mean E and I rates and the mean coefficient of variation of
the inter-spike intervals (CV ~ 1 for irregular firing).
"""
import argparse
import importlib
import json
import time

import numpy as np


def cv_isi(spiketrains, min_spikes=3):
    """Mean CV of the inter-spike intervals of the trains with at least ``min_spikes``."""
    cvs = []
    for t in spiketrains:
        if t.size >= min_spikes:
            isi = np.diff(t)
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def build_and_run(sim, size=2500, tstop=1000.0, g=5.0, eta=2.0, J=0.1, delay=1.5, dt=0.1,
                  seed=20000, threads=1, n_record=500, transient=100.0, sparse=False,
                  v_rest=0.0, v_init="uniform", then_ms=0.0):
    """Build and run the network on ``sim``; return a dict of timings and statistics.

    In-degrees: C_E = 0.1 N_E and C_I = 0.1 N_I with ``sparse=True``; otherwise those of the
    full model (C_E = 1000, C_I = 250, i.e. 0.1 N at N = 12500) at every size up to 12500,
    which keeps the mean and the variance of the input, hence the state of the network.
    Rates and CVs are computed over (transient, tstop + then_ms] from ``n_record`` neurons
    of each population (all of them when a population is smaller); ``run_s`` times the
    first ``tstop`` ms, ``then_run_s`` the ``then_ms`` after them (a second ``run``).

    ``v_rest`` (mV) shifts every potential (rest, reset, threshold): the model is the same
    at any offset. ``v_init="uniform"`` starts each membrane at a random potential between
    rest and threshold; ``v_init="rest"`` starts all of them at rest. pyNN.nest (PyNN 0.13)
    ignores ``initialize(v=...)`` for IF_curr_delta (its translation has no ``v -> V_m``)
    and starts every iaf_psc_delta at NEST's default V_m = -70 mV, so only ``v_rest=-70,
    v_init="rest"`` starts the network in the same state on every backend."""
    from pyNN.random import NumpyRNG, RandomDistribution

    n_exc = int(round(size * 0.8))
    n_inh = size - n_exc
    if sparse or size >= 12500:
        c_exc, c_inh = int(round(0.1 * n_exc)), int(round(0.1 * n_inh))
    else:
        c_exc, c_inh = min(1000, n_exc - 1), min(250, n_inh - 1)
    tau_m, theta, v_reset, t_ref = 20.0, 20.0, 10.0, 2.0
    nu_thr = theta / (J * c_exc * tau_m)            # per ms
    rate_ext = c_exc * eta * nu_thr * 1000.0        # Hz, one source per neuron

    t0 = time.perf_counter()
    sim.setup(timestep=dt, min_delay=delay, max_delay=delay, threads=threads)
    params = dict(tau_m=tau_m, cm=0.25, v_rest=v_rest, v_reset=v_rest + v_reset,
                  v_thresh=v_rest + theta, tau_refrac=t_ref, i_offset=0.0)
    exc = sim.Population(n_exc, sim.IF_curr_delta(**params), label="E")
    inh = sim.Population(n_inh, sim.IF_curr_delta(**params), label="I")
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    if v_init == "uniform":
        v_start = RandomDistribution("uniform", low=v_rest, high=v_rest + theta, rng=rng)
    elif v_init == "rest":
        v_start = v_rest
    else:
        raise ValueError(f"v_init must be 'uniform' or 'rest', not {v_init!r}")
    exc.initialize(v=v_start)
    inh.initialize(v=v_start)
    noise_e = sim.Population(n_exc, sim.SpikeSourcePoisson(rate=rate_ext), label="ext_E")
    noise_i = sim.Population(n_inh, sim.SpikeSourcePoisson(rate=rate_ext), label="ext_I")

    exc_syn = sim.StaticSynapse(weight=J, delay=delay)
    inh_syn = sim.StaticSynapse(weight=-g * J, delay=delay)
    projections = []
    for post in (exc, inh):
        projections.append(sim.Projection(
            exc, post, sim.FixedNumberPreConnector(c_exc, allow_self_connections=False, rng=rng),
            exc_syn, receptor_type="excitatory"))
        projections.append(sim.Projection(
            inh, post, sim.FixedNumberPreConnector(c_inh, allow_self_connections=False, rng=rng),
            inh_syn, receptor_type="inhibitory"))
    projections.append(sim.Projection(noise_e, exc, sim.OneToOneConnector(), exc_syn,
                                      receptor_type="excitatory"))
    projections.append(sim.Projection(noise_i, inh, sim.OneToOneConnector(), exc_syn,
                                      receptor_type="excitatory"))
    exc[:min(n_record, n_exc)].record("spikes")
    inh[:min(n_record, n_inh)].record("spikes")
    build_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    sim.run(tstop)
    run_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    if then_ms > 0:
        sim.run(then_ms)
    then_time = time.perf_counter() - t0

    result = {"simulator": sim.__name__, "neurons": size, "N_E": n_exc, "N_I": n_inh,
              "C_E": c_exc, "C_I": c_inh, "external_rate_hz": rate_ext,
              "synapses": int(sum(p.size() for p in projections[:4])),
              "build_s": round(build_time, 3), "run_s": round(run_time, 3),
              "then_run_s": round(then_time, 3)}
    window = (tstop + then_ms - transient) / 1000.0
    for key, pop in (("exc", exc), ("inh", inh)):
        trains = [np.asarray(st.rescale("ms").magnitude)
                  for st in pop.get_data("spikes").segments[0].spiketrains]
        trains = [t[t > transient] for t in trains]
        result[f"{key}_rate_hz"] = float(np.mean([st.size for st in trains]) / window)
        result[f"{key}_cv_isi"] = cv_isi(trains)
    sim.end()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2500,
                        help="total number of neurons, N_E + N_I (default 2500; the full "
                             "model is 12500)")
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time (ms)")
    parser.add_argument("--g", type=float, default=5.0, help="relative inhibitory strength")
    parser.add_argument("--eta", type=float, default=2.0, help="nu_ext / nu_thr")
    parser.add_argument("--simulator", default="pyNN_neuro",
                        help="PyNN backend module (default pyNN_neuro; e.g. pyNN.nest)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sparse", action="store_true",
                        help="in-degrees 0.1 N_E / 0.1 N_I at every size (default: those of "
                             "the full model, C_E = 1000 and C_I = 250)")
    parser.add_argument("--seed", type=int, default=20000)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    sim = importlib.import_module(args.simulator)
    r = build_and_run(sim, size=args.size, tstop=args.tstop, g=args.g, eta=args.eta,
                      threads=args.threads, seed=args.seed, sparse=args.sparse)
    if args.json:
        print(json.dumps(r))
        return
    print(f"Brunel (2000) network, g={args.g}, eta={args.eta}, on {r['simulator']}")
    print(f"  neurons                 {r['neurons']} (N_E {r['N_E']}, N_I {r['N_I']})")
    print(f"  recurrent synapses      {r['synapses']} (C_E {r['C_E']}, C_I {r['C_I']})")
    print(f"  external rate / neuron  {r['external_rate_hz']:.0f} Hz")
    print(f"  build time              {r['build_s']:.2f} s")
    print(f"  simulation time         {r['run_s']:.2f} s for {args.tstop:g} ms")
    print(f"  excitatory rate         {r['exc_rate_hz']:.2f} Hz   CV(ISI) {r['exc_cv_isi']:.2f}")
    print(f"  inhibitory rate         {r['inh_rate_hz']:.2f} Hz   CV(ISI) {r['inh_cv_isi']:.2f}")


if __name__ == "__main__":
    main()
