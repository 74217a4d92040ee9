"""Vogels-Abbott benchmark (Brette et al. 2007, benchmarks 1 and 2) with the parameters of
PyNN's examples/VAbenchmarks.py: 4000 cells, 2% connectivity, 1 s.

    python benchmarks/va.py pyNN_neuro CUBA
    python benchmarks/va.py pyNN.nest COBA
"""
import argparse

import _common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator", help="PyNN backend module, e.g. pyNN_neuro or pyNN.nest")
    parser.add_argument("benchmark", choices=["CUBA", "COBA"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sim = _common.simulator(args.simulator)
    result = _common.example("vogels_abbott").build_and_run(sim, args.benchmark,
                                                            threads=args.threads)
    n_exc = int(round(result["neurons"] * 0.8))
    spikes = (result["exc_rate_hz"] * n_exc
              + result["inh_rate_hz"] * (result["neurons"] - n_exc))    # over 1 s
    # recurrent synapses are spread uniformly over the cells: mean out-degree x spikes
    result["synaptic_events_per_s"] = round(spikes * result["synapses"] / result["neurons"]
                                            / max(result["run_s"], 1e-9))
    result["workload"] = f"va-{args.benchmark}"
    result["threads"] = args.threads
    _common.emit(result)


if __name__ == "__main__":
    main()
