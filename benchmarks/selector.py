"""Compare twelve scikit-learn classifiers as paradigm selectors; write docs/selector.md.

    python benchmarks/selector.py                     # the shipped training data
    python benchmarks/selector.py --data my.npz --out /tmp/selector.md

Every classifier is fitted on the same training split of the measured configurations
(``pyNN_neuro/selector/data/training_data.npz`` by default, made by
``python -m pyNN_neuro.calibrate``) and scored on the same held-out split: accuracy,
mean / 95th-percentile / worst regret (cost of the chosen paradigm / cost of the better
one - 1), fit and predict time. Then the exportable models are refitted with
regret-weighted samples and cross-validated on the training split only; the one with the
lowest cross-validated mean regret is the one ``calibrate`` trains by default. Its
settings (``REGRESSOR_SETTINGS_CANDIDATES``) are compared the same way, on the worst
regret at each candidate's cross-validated decision margin, and the shipped model's
margin table (chosen by ``calibrate`` on the training rows) is reported. Needs
scikit-learn.
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

from pyNN_neuro.selector import default_data_path, default_model_path, load_model
from pyNN_neuro.selector.dataset import costs, load_dataset
from pyNN_neuro.selector.features import FEATURE_NAMES
from pyNN_neuro.selector.measure import ORIGINS, unit_sizes
from pyNN_neuro.selector.model import (CLASSIFIER_INPUT_NAMES, PARALLEL_TERMS, SERIAL_TERMS,
                                      SelectorModel, memory_bytes)
from pyNN_neuro.selector.train import (DEFAULT_MODEL, DEFAULT_WEIGHTED, EXPORTABLE,
                                       MARGIN_FOLDS, REGRESSOR_SETTINGS, choose_margin,
                                       classifiers, fit_cost_model, fit_selector, labels,
                                       margin_table, out_of_fold_scores, regressors, scores,
                                       split_dataset)

HERE = os.path.dirname(os.path.abspath(__file__))

#: settings of the default regressor compared by cross-validation (overrides of
#: ``train.REGRESSOR_SETTINGS``); the first are the settings shipped before
REGRESSOR_SETTINGS_CANDIDATES = (
    {"max_depth": 4, "min_samples_leaf": 1},
    {"max_depth": 6, "min_samples_leaf": 1},
    {"max_depth": 6, "min_samples_leaf": 5},
    {"max_depth": 8, "min_samples_leaf": 5},
)


def _fit_and_score(name, estimator, X_train, y_train, X_test, serial, parallel):
    t0 = time.perf_counter()
    estimator.fit(X_train, y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    predicted = estimator.predict(X_test).astype(bool)
    predict_s = time.perf_counter() - t0
    row = scores(predicted, serial, parallel)
    row.update(name=name, fit_s=fit_s, predict_us=1e6 * predict_s / len(X_test))
    return row


def _exported_row(name, kind, weighted, X_raw_train, m_train, X_raw_test, serial, parallel,
                  run_steps):
    """Fit through ``fit_selector`` (cost model + classifier, exported to arrays) and score
    the exported model, evaluated with numpy as ``predict`` does."""
    t0 = time.perf_counter()
    model, _ = fit_selector(kind, X_raw_train, m_train, run_steps, weighted=weighted)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    predicted = model.prefers_parallel(X_raw_test)
    predict_s = time.perf_counter() - t0
    row = scores(predicted, serial, parallel)
    row.update(name=name, fit_s=fit_s, predict_us=1e6 * predict_s / len(X_raw_test))
    return row


def _cost_model_row(X_raw_train, m_train, X_raw_test, serial, parallel, run_steps):
    t0 = time.perf_counter()
    meta = fit_cost_model(X_raw_train, m_train, run_steps)
    fit_s = time.perf_counter() - t0
    model = SelectorModel("linear", {}, meta)
    t0 = time.perf_counter()
    s, p = model.costs(X_raw_test)
    predict_s = time.perf_counter() - t0
    row = scores(p < s, serial, parallel)
    row.update(name="cost model (non-negative linear, argmin)", fit_s=fit_s,
               predict_us=1e6 * predict_s / len(X_raw_test))
    return row, model


_out_of_fold_cache = {}


def _out_of_fold(kind, weighted, X_raw, measurements, run_steps, settings=None):
    """``train.out_of_fold_scores`` on the training rows, remembered (the same folds as
    ``calibrate``'s choice of the margin)."""
    settings = dict(REGRESSOR_SETTINGS, **settings) if settings else None
    if settings == REGRESSOR_SETTINGS:
        settings = None     # the same fits as the model comparison's
    key = (kind, weighted, tuple(sorted((settings or {}).items())))
    if key not in _out_of_fold_cache:
        _out_of_fold_cache[key] = out_of_fold_scores(kind, X_raw, measurements, run_steps,
                                                     weighted=weighted, settings=settings)
    return _out_of_fold_cache[key]


def _cross_validated_regret(kind, weighted, X_raw, measurements, run_steps):
    """Mean regret and accuracy over the folds, margin 0."""
    from pyNN_neuro.selector.dataset import costs as _costs
    serial, parallel = _costs({"measurements": measurements}, run_steps)
    score, fold = _out_of_fold(kind, weighted, X_raw, measurements, run_steps)
    rows = [scores(score[fold == k] > 0, serial[fold == k], parallel[fold == k])
            for k in np.unique(fold)]
    return (float(np.mean([r["mean_regret"] for r in rows])),
            float(np.mean([r["accuracy"] for r in rows])))


def _settings_rows(X_raw, measurements, run_steps):
    """Every candidate of ``REGRESSOR_SETTINGS_CANDIDATES`` for the default model:
    cross-validated scores at margin 0 and at the margin ``choose_margin`` picks."""
    from pyNN_neuro.selector.dataset import costs as _costs
    serial, parallel = _costs({"measurements": measurements}, run_steps)
    rows = []
    for candidate in REGRESSOR_SETTINGS_CANDIDATES:
        settings = dict(REGRESSOR_SETTINGS, **candidate)
        print(f"cross-validating {DEFAULT_MODEL} {candidate}", file=sys.stderr)
        score, fold = _out_of_fold(DEFAULT_MODEL, False, X_raw, measurements, run_steps,
                                   settings)
        table = margin_table(score, fold, serial, parallel)
        margin = choose_margin(table)
        rows.append({"settings": settings,
                     "at_0": next(r for r in table if r["margin"] == 0.0),
                     "chosen": next(r for r in table if r["margin"] == margin)})
    return rows


def _settings_lines(rows):
    def cell(r):
        return (f"{100 * r['accuracy']:.2f}% | {100 * r['mean_regret']:.3f}% | "
                f"{100 * r['fold_worst_regret']:.1f}% | {100 * r['worst_regret']:.1f}% | "
                f"{r['rows_above_10pct']}")
    best = min(rows, key=lambda r: (round(r["chosen"]["fold_worst_regret"], 9),
                                    round(r["chosen"]["mean_regret"], 9)))
    shipped = best["settings"] == REGRESSOR_SETTINGS
    names = [k for k in REGRESSOR_SETTINGS_CANDIDATES[0]]
    return [
        f"Settings of `{DEFAULT_MODEL}` (500 trees, learning rate 0.05, subsample 0.8; "
        "the candidates differ in " + " and ".join(f"`{n}`" for n in names) + "), "
        f"{MARGIN_FOLDS}-fold cross-validation on the training rows, each candidate at its "
        "own cross-validated margin (below); the settings with the lowest mean over folds "
        "of the worst regret, then the lowest mean regret, are "
        "`pyNN_neuro.selector.train.REGRESSOR_SETTINGS`:",
        "",
        "| " + " | ".join(names) + " | margin | CV accuracy | CV mean regret | "
        "CV worst regret, mean over folds | CV worst regret | CV rows > 10% |",
        "|" + "---:|" * (len(names) + 6),
    ] + [
        "| " + " | ".join(str(r["settings"][n]) for n in names) +
        f" | {r['chosen']['margin']:+.2f} | {cell(r['chosen'])} |" for r in rows
    ] + [
        "",
        "Chosen: " + ", ".join(f"`{n}` {best['settings'][n]}" for n in names) +
        ("" if shipped else " (but the package's REGRESSOR_SETTINGS differ: update "
                            "pyNN_neuro/selector/train.py and retrain)") + ".",
        "",
    ]


def _margin_lines(model):
    """The shipped model's decision margin and the cross-validation that chose it."""
    cv = model.meta.get("margin_cv")
    if not cv:
        return [f"The shipped model's decision margin is {model.margin:g} (given, not "
                "cross-validated).", ""]
    shown = [r for r in cv["table"]
             if (-0.1 <= r["margin"] <= 0.2 and round(100 * r["margin"]) % 2 == 0)
             or r["margin"] == cv["chosen"]]
    return [
        "## Decision margin",
        "",
        "The selector picks parallel only when the predicted log(serial cost / parallel "
        "cost) exceeds a margin stored in the model (`SelectorModel.decision` = score - "
        "margin; `predict`, `predict_many` and the mapping report's predicted costs all go "
        "through it, so the costs always rank the paradigms as the choice does). A "
        "positive margin trades \"parallel predicted, serial faster\" mistakes for the "
        "opposite ones. `python -m pyNN_neuro.calibrate` (`--margin auto`, the default) "
        f"chooses it by {cv['folds']}-fold cross-validation on the training rows only: "
        "every training row is scored by a model (cost model and regressors) fitted on "
        "the other folds (`train.out_of_fold_scores`), and for each margin from "
        f"{cv['table'][0]['margin']:+.2f} to {cv['table'][-1]['margin']:+.2f} in steps of "
        f"0.01 the choices are scored (`train.margin_table`); the rule "
        f"(`train.choose_margin`): {cv['criterion']}, then the margin closest to 0. The "
        "held-out rows play no part. The shipped model's table (from its meta):",
        "",
        "| margin | CV accuracy | CV mean regret | CV worst regret, mean over folds | "
        "CV worst regret | CV 99.5th pct regret | CV rows > 10% |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ] + [
        f"| {'**' if r['margin'] == cv['chosen'] else ''}{r['margin']:+.2f}"
        f"{'**' if r['margin'] == cv['chosen'] else ''} | {100 * r['accuracy']:.2f}% | "
        f"{100 * r['mean_regret']:.3f}% | {100 * r['fold_worst_regret']:.1f}% | "
        f"{100 * r['worst_regret']:.1f}% | {100 * r['p995_regret']:.1f}% | "
        f"{r['rows_above_10pct']} |" for r in shown
    ] + [
        "",
        f"Chosen margin: **{cv['chosen']:+.2f}**"
        + (" (no margin: on the training rows the costly mistakes go both ways, and no "
           "margin away from 0 scores better on the rule)"
           if cv["chosen"] == 0 else "") + ".",
        "",
    ]


def _weightings(name):
    """A regressor of the log cost ratio already weighs errors by their size."""
    return (False,) if name in regressors() else (False, True)


def _table(rows, title_first="classifier"):
    out = [f"| {title_first} | accuracy | mean regret | p95 regret | worst regret | "
           f"fit (s) | predict (us/row) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['name']} | {100 * r['accuracy']:.2f}% | "
                   f"{100 * r['mean_regret']:.2f}% | {100 * r['p95_regret']:.1f}% | "
                   f"{100 * r['worst_regret']:.1f}% | {r['fit_s']:.2f} | "
                   f"{r['predict_us']:.2f} |")
    return "\n".join(out)


def _repeatability(n, seed=7, band=0.5):
    """Spread (max - min) of log(serial cost / parallel cost) over three measurements of
    each of ``n`` generated configurations whose first measurement is within a factor
    exp(``band``) of the crossover: how much of a wrong call near a tie is timing."""
    from pyNN_neuro.selector.measure import measure, sample_config
    rng = np.random.default_rng(seed)
    spreads = []
    while len(spreads) < n:
        config = sample_config(rng)
        first = measure(config)[1]
        if abs(np.log(first[0] / first[1])) > band:
            continue
        ratios = [np.log(m[0] / m[1]) for m in [first] + [measure(config)[1] for _ in "ab"]]
        spreads.append(max(ratios) - min(ratios))
        print(f"repeatability {len(spreads)}/{n}", file=sys.stderr)
    return np.array(spreads)


def _drift(data, n, seed=11):
    """Stored near-ties measured again now: for ``n`` rows drawn from those the data
    measured several times (``n_measurements`` > 1), the log(serial cost / parallel
    cost) of one new measurement minus the stored median. How much the machine's timings
    move between sessions, which no model trained on one session can know. None when
    the data hold no such rows or no configurations."""
    from pyNN_neuro.selector.measure import measure
    counts = data.get("n_measurements")
    configs = data.get("configs")
    if counts is None or not configs:
        return None
    rows = np.flatnonzero(np.asarray(counts) > 1)
    rows = np.random.default_rng(seed).choice(rows, min(n, rows.size), replace=False)
    stored = np.log(data["measurements"][rows, 0] / data["measurements"][rows, 1])
    now = []
    for k, r in enumerate(rows):
        m = measure(configs[r])[1]
        now.append(np.log(m[0] / m[1]))
        print(f"drift {k + 1}/{rows.size}", file=sys.stderr)
    return stored, np.array(now)


def _drift_lines(drift):
    if drift is None:
        return []
    stored, now = drift
    shift = now - stored
    flips = np.sign(now) != np.sign(stored)
    beyond = np.abs(stored) > 0.1
    return [
        f"Timing drift between sessions (this run, `--drift {stored.size}`): {stored.size} "
        "stored near-ties (rows measured several times, their median stored) measured once "
        "again now. New minus stored log(serial cost / parallel cost): median "
        f"{np.median(shift):+.3f}, median absolute {np.median(np.abs(shift)):.3f}, 90th "
        f"percentile absolute {np.percentile(np.abs(shift), 90):.3f}, largest "
        f"{np.abs(shift).max():.3f}; the faster paradigm changed in {flips.sum()} of them, "
        f"{np.sum(flips & beyond)} of those with a stored gap above 10%. A held-out row "
        "whose gap is smaller than this drift can be called wrong by a model that is right "
        "on the day it runs.",
        "",
    ]


def _repeatability_lines(spread):
    if spread is None:
        return []
    return [
        f"Timing repeatability (this run, `--repeatability {len(spread)}`): {len(spread)} "
        "configurations near the crossover, measured three times each; the spread of "
        "log(serial cost / parallel cost) has median "
        f"{np.median(spread):.3f} and maximum {spread.max():.3f} (a spread of 0.1 is a "
        "10% disagreement between two measurements of the same configuration). Where the "
        "two paradigms are within that of each other, a choice the data call wrong may "
        "be right on another run.",
        "",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=default_data_path())
    parser.add_argument("--out", default=os.path.join(HERE, "..", "docs", "selector.md"))
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--run-steps", type=float, default=None)
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument("--repeatability", type=int, default=40, metavar="N",
                        help="measure N configurations near the crossover three times each "
                             "and report how much their log cost ratio varies (0: skip)")
    parser.add_argument("--drift", type=int, default=100, metavar="N",
                        help="measure N stored near-ties once more and report how far "
                             "their log cost ratio moved since they were stored (0: skip)")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits
    threadpool_limits(1)    # fit/predict times comparable from run to run
    import sklearn

    data = load_dataset(args.data)
    X_raw = data["features"]
    serial, parallel = costs(data, args.run_steps)
    M = data["measurements"]
    y = labels(serial, parallel)
    train, test = split_dataset(data, args.seed, args.test_fraction)
    s_test, p_test = serial[test], parallel[test]
    # every classifier sees the same inputs: model_inputs + the cost model's estimates,
    # the cost model being fitted on the training split only
    stacked = SelectorModel("none", {}, fit_cost_model(X_raw[train], M[train], args.run_steps))
    Z = stacked.classifier_inputs(X_raw)

    rows = []
    for name, estimator in classifiers(0).items():
        print(f"fitting {name}", file=sys.stderr)
        rows.append(_fit_and_score(name, estimator, Z[train], y[train], Z[test], s_test,
                                   p_test))
    rows.sort(key=lambda r: (r["mean_regret"], -r["accuracy"]))

    weighted = []
    for name in EXPORTABLE:
        for w in _weightings(name):
            print(f"fitting {name} (exported{', regret-weighted' if w else ''})",
                  file=sys.stderr)
            weighted.append(_exported_row(
                f"{name}{' (weighted)' if w else ''}", name, w, X_raw[train], M[train],
                X_raw[test], s_test, p_test, args.run_steps))
    cost_row, cost_model = _cost_model_row(X_raw[train], M[train], X_raw[test], s_test,
                                           p_test, args.run_steps)
    weighted.append(cost_row)
    weighted.sort(key=lambda r: (r["mean_regret"], -r["accuracy"]))

    baselines = []
    for name, choice in (("always serial", np.zeros(len(test), bool)),
                         ("always parallel", np.ones(len(test), bool))):
        r = scores(choice, s_test, p_test)
        r.update(name=name, fit_s=0.0, predict_us=0.0)
        baselines.append(r)

    spread = _repeatability(args.repeatability) if args.repeatability > 0 else None
    drift = _drift(data, args.drift) if args.drift > 0 else None

    cv = {}
    if not args.no_cv:
        for name in EXPORTABLE:
            for w in _weightings(name):
                print(f"cross-validating {name}{' (weighted)' if w else ''}", file=sys.stderr)
                cv[(name, w)] = _cross_validated_regret(name, w, X_raw[train], M[train],
                                                        args.run_steps)
    chosen = min(cv, key=lambda k: (cv[k][0], -cv[k][1])) if cv else \
        (DEFAULT_MODEL, DEFAULT_WEIGHTED)
    settings_rows = None
    if not args.no_cv and DEFAULT_MODEL in regressors():
        settings_rows = _settings_rows(X_raw[train], M[train], args.run_steps)

    # the shipped model, evaluated exactly as `python -m pyNN_neuro.calibrate --evaluate`
    shipped = None
    if os.path.exists(default_model_path()) and \
            os.path.abspath(args.data) == os.path.abspath(default_data_path()):
        from pyNN_neuro.selector import evaluate_model
        shipped = evaluate_model(default_model_path())

    # cost model quality and memory
    s_pred, p_pred = cost_model.costs(X_raw[test])
    err_s = np.abs(np.log(s_pred / s_test))
    err_p = np.abs(np.log(p_pred / p_test))
    # the formula against units built now (the stored byte columns are as measured then:
    # before 2026-12-07 evening they counted the weights twice, 8 bytes per synapse)
    sm, pm = memory_bytes(X_raw)
    configs = data.get("configs") or []
    n_synapses = X_raw[:, FEATURE_NAMES.index("n_synapses")]
    # (one synapse has one weight: a unit keeps it as a number, see memory_bytes)
    small = [r for r in np.argsort(np.where(n_synapses >= 2, n_synapses, np.inf))[:40]
             if r < len(configs)]
    mem_ok = bool(small) and all(
        np.allclose(unit_sizes(configs[r]), (sm[r], pm[r])) for r in small)

    meta = data["meta"]
    machine = meta.get("machine", {})
    origin = data["origin"]
    by_origin = ", ".join(f"{100 * np.mean(y[origin == i]):.1f}% of the "
                          f"{np.sum(origin == i)} {name}" for i, name in enumerate(ORIGINS)
                          if np.any(origin == i))
    # regret where the better paradigm costs at least 1 us per step (timing noise is
    # largest, relative to the cost, on the smallest configurations)
    big = np.minimum(s_test, p_test) >= 1e-6
    lines = [
        "# Paradigm selector: classifier comparison",
        "",
        "Generated by `" + " ".join(["python benchmarks/selector.py", *sys.argv[1:]])
        + "` (re-run it to refresh this page; it needs scikit-learn; without `--no-cv` it "
        "adds the cross-validated margin and settings tables, about 30 min more). The "
        "data come from "
        f"`{meta.get('command', '?')}` ({meta.get('date', '?')}, "
        f"{meta.get('measure_seconds', '?')} s of measuring).",
        "",
        "## What is measured",
        "",
        f"{len(X_raw)} generated layer configurations (`pyNN_neuro/selector/measure.py`): "
        "the first 40% drawn half broadly, half in ranges near the crossover; the rest "
        "screened by a cost model fitted to those, keeping mostly configurations it puts "
        "within a factor 3.3 of the crossover ('boundary'). Ranges: sizes 8-4096 x 8-4096, "
        "connection probability 0.1-100% (fixed-probability, fixed-number-pre and "
        "all-to-all connectors), presynaptic spike probability per step 1e-4 to 0.5, "
        "windows of 1-256 steps, 1-6 distinct delays, a quarter recurrent (then K <= the "
        "smallest delay). For each, the engine's own `StaticUnit` (serial) and "
        "`ParallelUnit` (parallel) are built on stand-in groups and their `deliver()` is "
        "timed over the same Bernoulli spike trains, BLAS and OpenMP pinned to one thread: "
        "CPU time of the timing thread (so that time slices taken by other processes do "
        "not count), after an untimed warm-up pass, minimum of 3 to 9 samples per "
        "paradigm, the two paradigms' samples alternating, a sample being >= 2 ms of "
        "passes, a pass >= 256 steps and >= 24 windows that hold a spike (within caps on "
        "its length). Build time (best of 2) and bytes of each unit are recorded too.",
        "",
        *_relabel_lines(data),
        *_extension_lines(data),
        "Cost of a paradigm = seconds of `deliver()` per simulated step"
        + (f" + build seconds / {args.run_steps:g} steps" if args.run_steps else
           " (build time not included; `calibrate --run-steps N` adds build time / N)")
        + ". Label = the cheaper paradigm. Regret of a choice = cost(chosen) / "
        "cost(better) - 1.",
        "",
        f"- parallel is faster in {100 * np.mean(y):.1f}% of all configurations "
        f"({by_origin});",
        f"- split: {len(train)} training / {len(test)} held-out configurations "
        f"(random, seed {args.seed}"
        + (f", over the first {data['split_rows']} rows; the rest are training rows"
           if data.get("split_rows") else "")
        + "); held-out rows are used for nothing but the scores below;",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cpu_count', '?')} cores, "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}, "
        f"numpy {machine.get('numpy', '?')}, BLAS {machine.get('blas', '?')} "
        f"(timings with 1 thread); scikit-learn {sklearn.__version__}.",
        "",
        "Features (all known before building either paradigm; "
        "`pyNN_neuro.selector.projection_features`): " + ", ".join(f"`{n}`" for n in
                                                                    FEATURE_NAMES) + ". "
        "The classifiers see " + ", ".join(f"`{n}`" for n in CLASSIFIER_INPUT_NAMES) +
        " (logarithms, the ratio of expected synaptic events to dense multiply-adds, and "
        "the cost model's estimates: each classifier is stacked on the cost model below, "
        "fitted on the training split only).",
        "",
        "## Twelve classifiers (settings in `pyNN_neuro.selector.train.classifiers`), "
        "unweighted, held-out rows",
        "",
        _table(rows),
        "",
        "Baselines on the same held-out rows:",
        "",
        _table(baselines, "baseline"),
        "",
        "## Exportable models (as shipped: arrays evaluated with numpy), and the cost model",
        "",
        "Only these can be exported to plain arrays and evaluated without scikit-learn. "
        "'(weighted)': sample weight = |log(serial cost / parallel cost)| (floor 0.05), so "
        "that near-ties, where a mistake costs little, weigh little. "
        "`gradient_boosting_regressor` is not a classifier: it predicts log(serial cost / "
        "parallel cost), boosted from the cost model's estimate of it, and picks parallel "
        "when that is positive, so it learns how much each choice matters. "
        "`gradient_boosting_cost_regressors` is two such regressors, one per paradigm, "
        "of log(serial cost) and log(parallel cost), each boosted from the cost model's "
        "estimate of that cost; it picks the lower. All rows here with no decision margin; "
        "the last decides by the cost model alone.",
        "",
        _table(weighted, "model"),
        "",
    ]
    if cv:
        lines += [
            "Five-fold cross-validation on the training split only, used to choose the "
            "shipped model without looking at the held-out rows:",
            "",
            "| model | weighted | CV mean regret | CV accuracy |",
            "|---|---|---:|---:|",
        ] + [f"| {k[0]} | {'yes' if k[1] else 'no'} | {100 * v[0]:.2f}% | {100 * v[1]:.2f}% |"
             for k, v in sorted(cv.items(), key=lambda kv: kv[1][0])] + [
            "",
            f"Lowest cross-validated mean regret: **{chosen[0]}"
            f"{' (weighted)' if chosen[1] else ''}**"
            + ("" if chosen == (DEFAULT_MODEL, DEFAULT_WEIGHTED) else
               f" (but the package's DEFAULT_MODEL is {DEFAULT_MODEL}, weighted="
               f"{DEFAULT_WEIGHTED}: update pyNN_neuro/selector/train.py and retrain)") + ".",
            "",
        ]
    if settings_rows:
        lines += _settings_lines(settings_rows)
    shipped_model = load_model(default_model_path()) if shipped else None
    if shipped_model is not None:
        lines += _margin_lines(shipped_model)
    if shipped:
        lines += [
            "## The shipped model",
            "",
            f"`pyNN_neuro/selector/data/default_model.npz`: {shipped['model']}"
            f"{' (regret-weighted)' if load_model(default_model_path()).meta.get('weighted') else ''}"
            f", decision margin {shipped['margin']:+.2f}"
            ", stacked on the cost model, exported to arrays and evaluated with numpy only "
            "(trained, the margin chosen as above, by `python -m pyNN_neuro.calibrate --data "
            "pyNN_neuro/selector/data/training_data.npz --model-out "
            "pyNN_neuro/selector/data/default_model.npz`). "
            "`python -m pyNN_neuro.calibrate --evaluate --json` on this machine:",
            "",
            "| margin | held-out accuracy | mean regret | p95 regret | worst regret | "
            "n_train | n_test |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {shipped['margin']:+.2f} | {100 * shipped['held_out_accuracy']:.2f}% | "
            f"{100 * shipped['mean_regret']:.2f}% | {100 * shipped['p95_regret']:.1f}% | "
            f"{100 * shipped['worst_regret']:.1f}% | {shipped['n_train']} | "
            f"{shipped['n_test']} |",
            "",
            f"Held-out rows where the better paradigm needs >= 1 us per step "
            f"({int(big.sum())} of {len(test)}): worst regret "
            f"{100 * _shipped_worst(big, X_raw[test], s_test, p_test):.1f}%. "
            + _shipped_regret_counts(X_raw[test], s_test, p_test),
            "",
            *_repeatability_lines(spread),
            *_drift_lines(drift),
            "Targets of issue 4: accuracy >= 95%, mean regret <= 2%, worst regret <= 10%: "
            + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in (
                ("accuracy", shipped["held_out_accuracy"] >= 0.95),
                ("mean regret", shipped["mean_regret"] <= 0.02),
                ("worst regret", shipped["worst_regret"] <= 0.10))) + ".",
            "",
        ]
        model = load_model(default_model_path())
        lines += _crossover_examples(model)
    lines += [
        "## Using it",
        "",
        "```python",
        "from pyNN_neuro.selector import projection_features, predict, estimate",
        "features, names = projection_features(1024, 1024, connection_probability=0.1,",
        "                                      rate_hz=50.0, dt=0.1, window=200, n_delays=1,",
        "                                      plastic=False, recurrent=False)",
        "paradigm, cost = predict(features)   # 'serial' | 'parallel', seconds per step each",
        "estimate(features)                   # + build seconds and bytes of each paradigm",
        "```",
        "",
        "`features_from_connections(pre_index, post_index, delay_steps, n_pre, n_post, ...)` "
        "computes exact synapse counts, fan-ins and distinct delays from the network spec's "
        "connection arrays (one `bincount` and one `unique`). `predict` loads "
        "`$PYNN_NEURO_SELECTOR_MODEL`, else the model `python -m pyNN_neuro.calibrate` "
        "wrote for this machine (`~/.pyNN_neuro/selector/model.npz`), else the shipped one; "
        "it needs numpy only. `python -m pyNN_neuro.calibrate --evaluate --json` scores a "
        "model on the held-out part of its own data.",
        "",
        "## Cost model",
        "",
        "`predict()` returns the selector's choice and, for reports, each paradigm's "
        "delivery time per step from a non-negative linear model over work counts "
        "(`pyNN_neuro.selector.model.cost_terms`, whose docstring says what each term "
        "stands for in the kernels: per-window calls, calls of windows with spikes, "
        "spikes, synaptic events on the uniform-delay and on the per-synapse-delay path, "
        "ring wrap-around and cache growth for serial; calls, spike-matrix entries, "
        "spike-matrix packing per product (what makes narrow products dear), "
        "spikes, gathered rows, presynaptic scans, matrix reads, "
        "multiply-adds, ring adds for parallel, weighted by the chance that a window has "
        "a spike). On the held-out "
        f"rows its median error is a factor {np.exp(np.median(err_s)):.2f} (serial) and "
        f"{np.exp(np.median(err_p)):.2f} (parallel); 90th percentile "
        f"{np.exp(np.percentile(err_s, 90)):.2f} and {np.exp(np.percentile(err_p, 90)):.2f}. "
        + _shipped_cost_error(shipped, X_raw[test], s_test, p_test) +
        "Memory is exact from the counts (`memory_bytes`; "
        + (f"matches the units built now for the {len(small)} smallest stored "
           "configurations" if mem_ok else "DOES NOT match the units built now")
        + "). Fitted coefficients (seconds per unit of work): serial "
        + ", ".join(f"{n} {c:.3g}" for n, c in zip(SERIAL_TERMS,
                                                    cost_model.meta["serial_cost"]))
        + "; parallel " + ", ".join(
            f"{n} {c:.3g}" for n, c in zip(PARALLEL_TERMS,
                                           cost_model.meta["parallel_cost"])) + ".",
        "",
        "## Caveats",
        "",
        "- The timings are this machine's (2 shared cores, one BLAS thread). Another CPU "
        "or BLAS moves the crossover: run `python -m pyNN_neuro.calibrate` there (2400 "
        "configurations by default, about 8 minutes here; `--max-seconds` bounds it) and "
        "`predict()` uses the calibrated model automatically.",
        "- Worst regret: " + (_worst_rows_caveat(X_raw[test], s_test, p_test, data, test)
                               if shipped else "see the shipped model's rows above."),
        "- Configurations are capped at 6 million dense weight entries (n_delays x n_pre x "
        "n_post) and 2.5 million synapses to keep calibration short. The classifier sees "
        "ratios (events per multiply-add), which carry over to larger layers, but trees do "
        "not extrapolate: very large layers are predicted from the largest measured ones.",
        "- Only static synapses are timed: plastic synapses are always serial (the "
        "parallel paradigm does not support them), and so are projections whose dense "
        "matrices would exceed the parallel unit's memory limit.",
        "- The engine stores float64 weights only, so `weight_bytes` is 8 in all data.",
        "- The costs are delivery only: the neuron update is the same in both paradigms.",
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.normpath(args.out)}", file=sys.stderr)
    return 0


def _relabel_lines(data):
    """What ``calibrate --relabel-band`` did to the data, from its meta and arrays."""
    upgraded = data["meta"].get("upgraded")
    lines = ["The `min_delay` and `max_delay` features were added to the stored rows "
             f"afterwards (the data's meta: \"{upgraded}\"): each configuration's "
             "connections were drawn again from its stored seed, and their synapse and "
             "distinct-delay counts checked against the row.",
             ""] if upgraded else []
    runs = [r for r in data["meta"].get("relabel") or [] if "processes" not in r]
    lines += _process_relabel_lines(data)
    repeats = data.get("deliver_repeats")
    if not runs or repeats is None:
        return lines
    counts = data["n_measurements"]
    again = np.flatnonzero(counts > 1)
    ratio = np.log(repeats[again, :, 0] / repeats[again, :, 1])
    median = np.log(np.median(repeats[again, :, 0], axis=1) /
                    np.median(repeats[again, :, 1], axis=1))
    first = np.abs(ratio[:, 0] - median)
    shift = np.median(np.median(ratio[:, 1:], axis=1) - ratio[:, 0])
    done = "; ".join(
        f"`{r['command']}` ({r['date']}): {r['rows_measured_again']} rows within "
        f"{r['band']} measured {r['repeats']} more times in {r['seconds']:.0f} s, load "
        f"average {r['load_average_before'][0]:.1f} before and "
        f"{r['load_average_after'][0]:.1f} after, {r['labels_changed']} labels changed"
        for r in runs)
    return lines + [
        "Near-ties measured again (`python -m pyNN_neuro.calibrate --relabel-band B`): "
        f"{len(again)} configurations whose |log(serial cost / parallel cost)| was below "
        "the band were measured again (same connections and spikes, each measurement a "
        "minimum over alternating passes as above), and their delivery costs are the "
        "median per paradigm of all their measurements, the first included. " + done +
        f". The first measurement differs from that median by {np.median(first):.3f} in "
        f"log ratio at the median, {np.percentile(first, 99):.3f} at the 99th percentile "
        f"and {first.max():.3f} at most; the later measurements (on a busier machine) "
        f"differ from the first by {shift:+.3f} at the median.",
        "",
    ]


def _process_relabel_lines(data):
    """What ``calibrate --relabel-processes`` did to the data, from its meta and arrays."""
    runs = [r for r in data["meta"].get("relabel") or [] if "processes" in r]
    samples = data.get("process_repeats")
    if not runs or samples is None:
        return []
    rows = np.flatnonzero(~np.isnan(samples[:, 1:, 0]).all(axis=1))
    ratio = np.log(samples[rows, :, 0] / samples[rows, :, 1])
    before = ratio[:, 0]
    after = np.log(data["measurements"][rows, 0] / data["measurements"][rows, 1])
    spread = np.nanmax(ratio[:, 1:], axis=1) - np.nanmin(ratio[:, 1:], axis=1)
    done = "; ".join(
        f"`{r['command']}` ({r['date']}): {r['rows_to_measure']} rows within {r['band']}, "
        f"measured once in each of {r['processes']} processes "
        f"({', '.join(str(k) for k in r['rows_measured_per_process'])} rows) in "
        f"{r['seconds']:.0f} s, load average {r['load_average_before'][0]:.1f} before and "
        f"{r['load_average_after'][0]:.1f} after, {r['labels_changed']} labels changed"
        for r in runs)
    return [
        "Near-ties measured again in fresh processes (`python -m pyNN_neuro.calibrate "
        "--relabel-band B --relabel-processes P`): where a process's arrays lie in memory "
        "moves a paradigm's cost for the whole life of that process, so measurements "
        "repeated inside one process share that draw. " + done + ". Each such row's "
        "delivery costs are the median per paradigm over the processes, its previous value "
        "counting as one. Across the new processes, the spread (largest minus smallest) "
        f"of one row's log(serial cost / parallel cost) is {np.median(spread):.3f} at the "
        f"median, {np.percentile(spread, 90):.3f} at the 90th percentile and "
        f"{spread.max():.3f} at most; the label moved from the previous value by "
        f"{np.median(np.abs(after - before)):.3f} at the median and "
        f"{np.abs(after - before).max():.3f} at most.",
        "",
    ]


def _extension_lines(data):
    """The rows ``calibrate --extend`` added (training rows only), from the meta."""
    lines = []
    for e in data["meta"].get("extended") or []:
        m = e.get("meta") or {}
        relabel = "; ".join(
            f"then `{r['command']}` ({r['date']}): {r['rows_measured_again']} rows within "
            f"{r['band']} measured "
            + (f"once in each of {r['processes']} processes" if "processes" in r
               else f"{r['repeats']} more times")
            + f" in {r['seconds']:.0f} s, {r['labels_changed']} labels changed"
            for r in m.get("relabel") or [])
        lines.append(
            f"Rows {e['first_row']} to {e['first_row'] + e['rows'] - 1} ({e['rows']} more "
            f"configurations, seed {e['seed']}) come from `{m.get('command', '?')}` "
            f"({m.get('date', '?')}, {m.get('measure_seconds', '?')} s of measuring)"
            + (f"; {relabel}" if relabel else "") + f"; joined by `{e.get('command', '?')}`. "
            "They are training rows only: the held-out split is drawn, as before, over "
            f"the first {data['split_rows']} rows (`calibrate --extend`, "
            "`train.split_dataset`), so the held-out configurations are the same ones "
            "whether a model was trained with these rows or not.")
        lines.append("")
    return lines


def _worst_rows_caveat(X_raw, serial, parallel, data, test):
    model = load_model(default_model_path())
    chosen = np.where(model.prefers_parallel(X_raw), parallel, serial)
    regret = chosen / np.minimum(serial, parallel) - 1.0
    bad = np.flatnonzero(regret > 0.10)
    if not bad.size:
        return "no held-out row has a regret above 10%."
    counts = data.get("n_measurements")
    repeats = data.get("deliver_repeats")
    processes = data.get("process_repeats")
    consistent = measured = 0
    for i in bad:
        row = test[i]
        if processes is not None and not np.isnan(processes[row, 1:, 0]).all():
            r = np.log(processes[row, :, 0] / processes[row, :, 1])
        elif counts is not None and counts[row] > 1:
            r = np.log(repeats[row, :, 0] / repeats[row, :, 1])
        else:
            continue
        r = r[~np.isnan(r)]
        measured += 1
        consistent += bool(np.all(np.sign(r) == np.sign(r[0])))
    ratio = np.exp(np.abs(np.log(serial[bad] / parallel[bad])))
    names = list(FEATURE_NAMES)
    p_spike = X_raw[bad, names.index("spike_probability")]
    n_post = X_raw[bad, names.index("n_post")]
    parallel_wrong = int(np.sum(parallel[bad] > serial[bad]))
    return (f"{bad.size} held-out rows have a regret above 10% (measured cost ratio "
            f"{ratio.min():.2f}-{ratio.max():.2f}, spike probability per step "
            f"{p_spike.min():.2f}-{p_spike.max():.2f}, {n_post.min():.0f}-{n_post.max():.0f} "
            f"targets; {parallel_wrong} of them parallel chosen and serial faster, "
            f"{bad.size - parallel_wrong} the other way); {measured} of them were measured "
            f"several times (in one process or several), and in {consistent} every "
            "measurement agrees on the better paradigm: errors of the model, not of the "
            "timing. The margin that cross-validation on the training rows chose is "
            f"{model.margin:+.2f}; a margin set from the held-out rows instead would be "
            "tuned on the test. The selector is not within the 10% target.")


def _shipped_cost_error(shipped, X_raw, serial, parallel):
    if not shipped:
        return ""
    model = load_model(default_model_path())
    if model.meta.get("target") not in ("log_cost_ratio", "log_costs"):
        return ""
    s, p = model.costs(X_raw)
    e_s, e_p = np.abs(np.log(s / serial)), np.abs(np.log(p / parallel))
    how = ("predicts each paradigm's cost itself (its regressors correct the cost model's"
           + (", and `predict` moves the pair, same geometric mean, by the margin)"
              if model.margin else ")")
           if model.meta.get("target") == "log_costs" else
           "predicts the cost ratio itself, and `predict` moves the cost model's pair to "
           "that ratio (same geometric mean)")
    return (f" The shipped model {how}: median error then "
            f"{np.exp(np.median(e_s)):.2f} (serial), {np.exp(np.median(e_p)):.2f} "
            f"(parallel); 90th percentile {np.exp(np.percentile(e_s, 90)):.2f} and "
            f"{np.exp(np.percentile(e_p, 90)):.2f}. ")


def _shipped_regret_counts(X_raw, serial, parallel):
    model = load_model(default_model_path())
    chosen = np.where(model.prefers_parallel(X_raw), parallel, serial)
    regret = chosen / np.minimum(serial, parallel) - 1.0
    return (f"Held-out rows with regret above 10%: {int(np.sum(regret > 0.10))}; above 5%: "
            f"{int(np.sum(regret > 0.05))}; above 1%: {int(np.sum(regret > 0.01))}.")


def _shipped_worst(mask, X_raw, serial, parallel):
    model = load_model(default_model_path())
    r = scores(model.prefers_parallel(X_raw[mask]), serial[mask], parallel[mask])
    return r["worst_regret"]


def _crossover_examples(model):
    from pyNN_neuro.selector import predict, projection_features
    lines = ["Predictions for a 1024 x 1024 all-to-all projection, one delay "
             "(the reference measurement put the crossover at 2-10% per step for K = 200):",
             "",
             "| spike probability per step | K = 1 | K = 10 | K = 200 |",
             "|---:|---|---|---|"]
    for p in (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3):
        cells = []
        for K in (1, 10, 200):
            f, _ = projection_features(1024, 1024, connection_probability=1.0,
                                       spike_probability=p, dt=0.1, window=K)
            paradigm, cost = predict(f, model)
            cells.append(f"{paradigm} ({1e6 * cost['serial']:.0f} / "
                         f"{1e6 * cost['parallel']:.0f} us)")
        lines.append(f"| {p:g} | " + " | ".join(cells) + " |")
    lines += ["",
              "(in brackets: the selector's predicted serial / parallel microseconds per step)",
              ""]
    return lines


if __name__ == "__main__":
    sys.exit(main())
