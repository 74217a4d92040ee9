"""Calibrate the paradigm selector on this machine: ``python -m pyNN_neuro.calibrate``.

Measures both delivery paradigms on generated layer configurations, then trains the
selector's classifier and its cost model, and writes both (plain ``.npz`` files, no
pickle) where ``pyNN_neuro.selector`` finds them (``~/.pyNN_neuro/selector/`` by default,
or ``PYNN_NEURO_SELECTOR_DIR``). Timing is done with BLAS and OpenMP pinned to one
thread, min-of-N (see ``pyNN_neuro.selector.measure``). Training needs scikit-learn
(``pip install pyNN_neuro[selector]``); predicting with the result does not.

Examples::

    python -m pyNN_neuro.calibrate                       # 2400 configurations, ~10-15 min
    python -m pyNN_neuro.calibrate --samples 500 --max-seconds 120
    python -m pyNN_neuro.calibrate --data old.npz        # retrain only
    python -m pyNN_neuro.calibrate --data old.npz --margin 0   # ... with no decision margin
    python -m pyNN_neuro.calibrate --data old.npz --relabel-band 0.25 --out new.npz
                                   # measure old.npz's near-ties again, then retrain
    python -m pyNN_neuro.calibrate --evaluate --json     # the current model, held-out data
"""
import argparse
import json
import os
import subprocess
import sys
import time

_PIN_MARKER = "PYNN_NEURO_CALIBRATE_PINNED"
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _threads_pinned_or_reexec(argv):
    """Timings need one BLAS thread. With threadpoolctl we pin at run time; without it,
    the thread counts must be in the environment before numpy loads its BLAS, so we run
    ourselves again in a subprocess with them set. Returns an exit code if we re-ran."""
    try:
        import threadpoolctl  # noqa: F401
        return None
    except ImportError:
        pass
    if os.environ.get(_PIN_MARKER):
        return None
    env = dict(os.environ, **{name: "1" for name in _THREAD_VARIABLES}, **{_PIN_MARKER: "1"})
    return subprocess.call([sys.executable, "-m", "pyNN_neuro.calibrate", *argv], env=env)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_neuro.calibrate",
        description="Measure the serial and parallel paradigms on this machine and train "
                    "the paradigm selector.")
    parser.add_argument("--samples", type=int, default=2400,
                        help="layer configurations to measure (default 2400)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop measuring after this many seconds (keeps what it has)")
    parser.add_argument("--out", default=None,
                        help="where to write the measurements (.npz; default "
                             "<selector dir>/training_data.npz)")
    parser.add_argument("--model-out", default=None,
                        help="where to write the trained model (.npz; default "
                             "<selector dir>/model.npz)")
    parser.add_argument("--data", default=None,
                        help="train from this existing measurement file instead of measuring")
    parser.add_argument("--model", default=None,
                        help="classifier to train (default: the shipped default's kind); "
                             "one of the exportable names in pyNN_neuro.selector.train")
    parser.add_argument("--spike-probability", default=None, metavar="LOW:HIGH",
                        help="draw the presynaptic spike probability per step of every "
                             "configuration from LOW to HIGH (log-uniform) instead of the "
                             "default ranges (1e-4 or 5e-3 to 0.5): measure more where a "
                             "network's activity lies, or where a model is weak")
    parser.add_argument("--run-steps", type=float, default=None,
                        help="add each paradigm's build time divided by this many steps to "
                             "its cost (default: delivery time per step only)")
    parser.add_argument("--margin", default="auto", metavar="M",
                        help="decision margin: choose parallel only when the model predicts "
                             "it faster by more than a factor exp(M) (M a log cost ratio; "
                             "negative favours parallel). 'auto' (default): for the "
                             "regressors, the margin with the lowest mean over 5 folds of the "
                             "worst regret, cross-validated on the training rows only "
                             "(pyNN_neuro.selector.train.choose_margin; 5 extra trainings); 0 for "
                             "classifiers")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--relabel-band", type=float, default=None, metavar="B",
                        help="after measuring (or on the --data given), measure again the "
                             "configurations whose |log(serial cost / parallel cost)| < B "
                             "(e.g. 0.25), --relabel-repeats more times each, and keep the "
                             "median per paradigm: labels of near-ties that one disturbed "
                             "measurement does not flip. With --data, the configurations "
                             "are drawn again from the data's seed; the result goes to --out")
    parser.add_argument("--relabel-repeats", type=int, default=4, metavar="N",
                        help="with --relabel-band: extra measurements per configuration "
                             "(default 4: the median of 5)")
    parser.add_argument("--relabel-processes", type=int, default=None, metavar="P",
                        help="with --relabel-band: measure those configurations again "
                             "once in each of P fresh processes, one after the other, "
                             "and keep the median across processes (the row's previous "
                             "value counting as one) instead of --relabel-repeats in "
                             "this process. Where a process's arrays lie in memory moves "
                             "a paradigm's cost for that whole process; repeats in one "
                             "process share it")
    parser.add_argument("--extend", action="append", default=[], metavar="FILE",
                        help="add the configurations measured in FILE (by another run of "
                             "this command on this machine, e.g. with another --seed) as "
                             "training rows only: the held-out split stays the one drawn "
                             "over the first data's own rows, so models trained with and "
                             "without FILE are scored on the same configurations. May be "
                             "repeated; with --data, the merged data go to --out")
    parser.add_argument("--no-train", action="store_true", help="measure only")
    parser.add_argument("--evaluate", action="store_true",
                        help="evaluate a model on the held-out part of its training data "
                             "(default: the model predict() uses); no measuring")
    parser.add_argument("--model-file", default=None,
                        help="with --evaluate: the model file to evaluate")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.evaluate:
        from .selector import evaluate_model
        report = evaluate_model(args.model_file)
        if args.json:
            print(json.dumps(report, indent=2, sort_keys=True))
        else:
            for key in sorted(report):
                print(f"{key}: {report[key]}")
        return 0

    if args.samples < 1:
        raise SystemExit(f"--samples must be >= 1, got {args.samples}")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise SystemExit(f"--max-seconds must be > 0, got {args.max_seconds}")
    if args.relabel_band is not None and not (args.relabel_band > 0 and
                                              args.relabel_repeats >= 1):
        raise SystemExit(f"--relabel-band must be > 0 and --relabel-repeats >= 1, got "
                         f"{args.relabel_band} and {args.relabel_repeats}")
    if args.relabel_processes is not None and (args.relabel_band is None or
                                               args.relabel_processes < 1):
        raise SystemExit(f"--relabel-processes needs --relabel-band and must be >= 1, got "
                         f"{args.relabel_processes}")
    if args.spike_probability is not None:
        try:
            low, high = (float(x) for x in args.spike_probability.split(":"))
        except ValueError:
            low = high = float("nan")
        if not 0 < low < high <= 1:
            raise SystemExit(f"--spike-probability must be LOW:HIGH with 0 < LOW < HIGH "
                             f"<= 1, got {args.spike_probability!r}")
        args.spike_probability = [low, high]
    if args.margin != "auto":
        try:
            args.margin = float(args.margin)
        except ValueError:
            raise SystemExit(f"--margin must be 'auto' or a number, got {args.margin!r}") \
                from None
    if args.data is not None and args.relabel_band is not None and args.out is None:
        raise SystemExit("--relabel-band with --data: give --out for the relabelled data")
    if args.data is not None and args.extend and args.out is None:
        raise SystemExit("--extend with --data: give --out for the merged data")
    for path in args.extend:
        if not os.path.exists(path):
            raise SystemExit(f"--extend {path}: no such file")
    if args.data is None or args.relabel_band is not None:
        code = _threads_pinned_or_reexec(argv)
        if code is not None:
            return code

    from .selector import user_dir
    from .selector.dataset import load_dataset, save_dataset

    directory = user_dir()
    data_path = args.out or os.path.join(directory, "training_data.npz")
    model_path = args.model_out or os.path.join(directory, "model.npz")

    if args.data is not None:
        data = load_dataset(args.data, upgrade=True)
        data_path = args.data
        if data.get("upgraded") and not args.quiet:
            print(f"{args.data}: {data['meta']['upgraded']}", file=sys.stderr)
        if data.get("upgraded") and args.out:
            save_dataset(args.out, data, data["meta"])
            data_path = args.out
    else:
        # check that training will be possible before spending minutes measuring
        if not args.no_train:
            _require_sklearn()
        from .selector.measure import generate, machine_description, pin_threads
        os.makedirs(os.path.dirname(os.path.abspath(data_path)), exist_ok=True)
        limiter = pin_threads()     # so that the description shows the timing threads
        machine = machine_description()
        if limiter is not None:
            limiter.restore_original_limits()
        from .selector.measure import GENERATE_DEFAULTS
        meta = {"command": "python -m pyNN_neuro.calibrate " + " ".join(argv),
                "machine": machine, "samples_requested": args.samples, **GENERATE_DEFAULTS,
                "spike_probability_range": args.spike_probability,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"), "seed": args.seed,
                "timing": "BLAS and OpenMP pinned to 1 thread; deliver: thread CPU time, "
                          "min of 3 to 9 alternating samples per paradigm of >= 2 ms, "
                          "passes over >= 256 steps (or one window); build: best of 2"}
        t0 = time.perf_counter()

        def checkpoint(partial):
            save_dataset(data_path, partial, dict(meta, partial=True))

        data = generate(args.samples, seed=args.seed, max_seconds=args.max_seconds,
                        progress=not args.quiet, checkpoint=checkpoint,
                        spike_probability_range=args.spike_probability)
        meta["measure_seconds"] = round(time.perf_counter() - t0, 1)
        meta["n_samples"] = int(len(data["features"]))
        save_dataset(data_path, data, meta)
        data["meta"] = meta
        if not args.quiet:
            print(f"measured {meta['n_samples']} configurations in "
                  f"{meta['measure_seconds']:.0f} s -> {data_path}", file=sys.stderr)
    if args.extend:
        from .selector.dataset import merge_datasets
        for path in args.extend:
            try:
                data = merge_datasets(data, load_dataset(path), {
                    "command": "python -m pyNN_neuro.calibrate " + " ".join(argv),
                    "file": os.path.basename(path),
                    "date": time.strftime("%Y-%m-%d %H:%M:%S")})
            except ValueError as err:
                raise SystemExit(f"--extend {path}: {err}") from None
        data_path = args.out or data_path
        save_dataset(data_path, data, data["meta"])
        if not args.quiet:
            print(f"{len(data['features'])} configurations ({data['split_rows']} drawn "
                  f"into the held-out split) -> {data_path}", file=sys.stderr)
    if args.relabel_band is not None:
        from .selector.measure import relabel_across_processes, relabel_near_crossover
        if args.relabel_processes is not None:
            data, info = relabel_across_processes(data, band=args.relabel_band,
                                                  processes=args.relabel_processes,
                                                  progress=not args.quiet,
                                                  max_seconds=args.max_seconds)
        else:
            data, info = relabel_near_crossover(data, band=args.relabel_band,
                                                repeats=args.relabel_repeats,
                                                progress=not args.quiet)
        meta = dict(data["meta"] or {})
        meta.setdefault("relabel", []).append(dict(
            info, command="python -m pyNN_neuro.calibrate " + " ".join(argv)))
        data["meta"] = meta
        data_path = args.out or data_path
        save_dataset(data_path, data, meta)
        if not args.quiet:
            print(f"measured {info['rows_measured_again']} of {info['rows_to_measure']} "
                  f"near-tied configurations again in {info['seconds']:.0f} s "
                  f"({info['labels_changed']} labels changed) -> {data_path}",
                  file=sys.stderr)
    if args.no_train:
        return 0

    _require_sklearn()
    from .selector.train import DEFAULT_MODEL, train_and_export
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    report = train_and_export(data, model_path, kind=args.model or DEFAULT_MODEL,
                              run_steps=args.run_steps, seed=args.seed,
                              test_fraction=args.test_fraction, data_path=data_path,
                              margin=args.margin)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(f"model {report['model']} -> {model_path}")
        for key in ("margin", "held_out_accuracy", "mean_regret", "worst_regret", "n_train",
                    "n_test"):
            print(f"  {key}: {report[key]}")
    return 0


def _require_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("training the selector needs scikit-learn: pip install "
                         "'pyNN_neuro[selector]' (or pip install scikit-learn); "
                         "predicting with a trained model does not") from None


if __name__ == "__main__":
    sys.exit(main())
