"""Brunel (2000) sparse E/I network of IF_curr_delta neurons (examples/brunel.py), at a
given size.

    python benchmarks/brunel.py pyNN_neuro --size 10000 --tstop 100
"""
import argparse

import _common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--tstop", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sim = _common.simulator(args.simulator)
    result = _common.example("brunel").build_and_run(sim, size=args.size, tstop=args.tstop,
                                                     threads=args.threads, transient=0.0)
    spikes = (result["exc_rate_hz"] * result["N_E"] + result["inh_rate_hz"] * result["N_I"]) \
        * args.tstop / 1000.0
    out_degree = result["synapses"] / result["neurons"]
    result["synaptic_events_per_s"] = round(spikes * out_degree / max(result["run_s"], 1e-9))
    result["workload"] = f"brunel-{args.size}"
    result["threads"] = args.threads
    _common.emit(result)


if __name__ == "__main__":
    main()
