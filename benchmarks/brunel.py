"""Brunel (2000) sparse E/I network of IF_curr_delta neurons (examples/brunel.py), at a
given size.

    python benchmarks/brunel.py pyNN_neuro --size 10000 --tstop 100

Every neuron starts at rest, with rest at -70 mV (threshold -50, reset -60): pyNN.nest
ignores ``initialize(v=...)`` for IF_curr_delta and starts each neuron at NEST's default
V_m = -70 mV, so this is the one initial state that every backend gives (with the paper's
random start, NEST ran a different first 100 ms: 28 Hz against 38 Hz elsewhere). From rest
the network starts with synchronous volleys whose details are chaotic, so the firing rates
(compared with NEST's by the runner) are those of a further ``--then`` ms (default 300),
run after the timed ``--tstop`` ms and not timed with them.
"""
import argparse

import _common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--tstop", type=float, default=100.0)
    parser.add_argument("--then", type=float, default=300.0,
                        help="ms run after the timed tstop, over which the rates are measured")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sim = _common.simulator(args.simulator)
    result = _common.example("brunel").build_and_run(sim, size=args.size, tstop=args.tstop,
                                                     threads=args.threads, transient=args.tstop,
                                                     v_rest=-70.0, v_init="rest",
                                                     then_ms=args.then)
    # events in the timed part, at the rates of the part after it
    spikes = (result["exc_rate_hz"] * result["N_E"] + result["inh_rate_hz"] * result["N_I"]) \
        * args.tstop / 1000.0
    out_degree = result["synapses"] / result["neurons"]
    result["synaptic_events_per_s"] = round(spikes * out_degree / max(result["run_s"], 1e-9))
    result["workload"] = f"brunel-{args.size}"
    result["threads"] = args.threads
    _common.emit(result)


if __name__ == "__main__":
    main()
