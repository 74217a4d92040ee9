"""pyNN_neuro demo: a standard PyNN network on a model of neuromorphic hardware.

The Vogels-Abbott balanced network (4000 integrate-and-fire neurons, about 320 000
synapses), written as for any PyNN backend, simulated for 1 s; then its mapping onto the
default hardware profile: how many cores and chips it needs, how full the crossbars are,
how many spikes cross the network-on-chip and what that costs in energy and latency.

    python examples/demo.py                      # writes demo_mapping.png and demo_raster.png
    python examples/demo.py --hardware truenorth --out-dir /tmp
"""
import argparse
import os
import time

import numpy as np

import pyNN_neuro as sim
from pyNN.random import NumpyRNG, RandomDistribution


def build(hardware, n=4000, seed=98765):
    """The CUBA Vogels-Abbott network (parameters of PyNN's examples/VAbenchmarks.py)."""
    sim.setup(timestep=0.1, min_delay=0.2, hardware=hardware)
    params = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-49.0, v_reset=-60.0,
                  v_thresh=-50.0, cm=0.2, tau_refrac=5.0)
    n_exc = n * 4 // 5
    exc = sim.Population(n_exc, sim.IF_curr_exp(**params), label="excitatory")
    inh = sim.Population(n - n_exc, sim.IF_curr_exp(**params), label="inhibitory")
    rng = NumpyRNG(seed=seed)
    v_init = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)
    connector = sim.FixedProbabilityConnector(0.02, rng=rng)
    w_exc, w_inh = 0.27e-3 * 60.0, 4.5e-3 * -20.0      # nA
    for pre, w, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, connector, sim.StaticSynapse(weight=w, delay=0.2),
                           receptor_type=receptor)
    exc.record("spikes")
    inh.record("spikes")
    return exc, inh


def plot_raster(exc, inh, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    offset = 0
    for population, colour in ((exc, "tab:red"), (inh, "tab:blue")):
        trains = population.get_data("spikes").segments[0].spiketrains
        shown = trains[:200]
        for i, train in enumerate(shown):
            ax.plot(np.asarray(train), np.full(len(train), offset + i), ".", ms=1, color=colour)
        offset += len(shown)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (200 excitatory, 200 inhibitory)")
    ax.set_title("Vogels-Abbott CUBA network on pyNN_neuro")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hardware", default=None,
                        help="hardware profile (default: pyNN_neuro's default profile)")
    parser.add_argument("--out-dir", default=".", help="where to write the PNG files")
    args = parser.parse_args()

    t0 = time.perf_counter()
    exc, inh = build(args.hardware)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(1000.0)
    run_s = time.perf_counter() - t0
    print(f"Vogels-Abbott CUBA: {exc.size + inh.size} neurons, built in {build_s:.2f} s, "
          f"1 s simulated in {run_s:.2f} s")
    print(f"rates: excitatory {exc.mean_spike_count():.2f} Hz, "
          f"inhibitory {inh.mean_spike_count():.2f} Hz")

    mapping = sim.get_mapping()
    print()
    print(mapping.summary())
    os.makedirs(args.out_dir, exist_ok=True)
    mapping_png = os.path.join(args.out_dir, "demo_mapping.png")
    raster_png = os.path.join(args.out_dir, "demo_raster.png")
    mapping.plot(mapping_png)
    plot_raster(exc, inh, raster_png)
    print(f"\nwrote {mapping_png} and {raster_png}")
    sim.end()


if __name__ == "__main__":
    main()
