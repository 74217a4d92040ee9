"""Training the selector (needs scikit-learn): the classifier comparison, the cost model,
and the export of the chosen model to plain arrays.

Labels: 1 (parallel) when the parallel paradigm's measured cost is lower, else 0.
Regret of a choice: cost(chosen) / cost(better) - 1; 0 when the choice is right, and
small when a wrong choice was a near tie. The held-out split is a fixed-seed random
quarter of the configurations, never seen in fitting nor in choosing the model, its
settings or its decision margin (``choose_margin``: cross-validation on the training
rows only).
"""
import time

import numpy as np

from .dataset import costs
from .model import (CLASSIFIER_INPUT_NAMES, PARALLEL_TERMS, SERIAL_TERMS, SelectorModel,
                    _tree_outputs, build_terms, check_export, cost_terms, export_classifier,
                    fit_nonnegative)

#: the model ``python -m pyNN_neuro.calibrate`` trains unless told otherwise (chosen by
#: ``benchmarks/selector.py``: lowest cross-validated mean regret among exportable models)
DEFAULT_MODEL = "gradient_boosting_cost_regressors"
#: whether it is trained with regret weights (``regret_weights``)
DEFAULT_WEIGHTED = False

#: the regressor of the log cost ratio is boosted from the cost model's own estimate of
#: that ratio (a classifier input), not from a constant: the trees learn the cost model's
#: error, and between their steps the estimate varies smoothly
REGRESSOR_OFFSET = "log_cost_ratio_estimate"

#: decision margins (log cost ratio) that ``choose_margin`` tries: parallel is chosen
#: only when predicted faster by more than a factor exp(margin); negative margins favour
#: parallel
MARGIN_GRID = tuple(round(m, 2) for m in np.arange(-0.20, 0.3001, 0.01))
#: folds of the cross-validation that chooses the margin
MARGIN_FOLDS = 5

#: models that ``model.export_classifier`` can turn into arrays
EXPORTABLE = ("ada_boost", "gradient_boosting", "random_forest", "extra_trees",
              "decision_tree", "logistic_regression", "gradient_boosting_regressor",
              "gradient_boosting_cost_regressors")


def classifiers(seed=0):
    """The twelve scikit-learn classifiers compared (P1 compared twelve), by name."""
    from sklearn.discriminant_analysis import (LinearDiscriminantAnalysis,
                                               QuadraticDiscriminantAnalysis)
    from sklearn.ensemble import (AdaBoostClassifier, ExtraTreesClassifier,
                                  GradientBoostingClassifier, RandomForestClassifier)
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    def scaled(estimator):
        return make_pipeline(StandardScaler(), estimator)

    return {
        "ada_boost": AdaBoostClassifier(
            estimator=DecisionTreeClassifier(max_depth=3), n_estimators=200,
            random_state=seed),
        "gradient_boosting": GradientBoostingClassifier(
            n_estimators=300, max_depth=4, learning_rate=0.1, subsample=0.8,
            random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=200, random_state=seed),
        "extra_trees": ExtraTreesClassifier(n_estimators=200, random_state=seed),
        "decision_tree": DecisionTreeClassifier(min_samples_leaf=2, random_state=seed),
        "logistic_regression": scaled(LogisticRegression(C=10.0, max_iter=2000)),
        "svc_rbf": scaled(SVC(C=10.0, gamma="scale")),
        "k_nearest_neighbours": scaled(KNeighborsClassifier(n_neighbors=5)),
        "gaussian_naive_bayes": scaled(GaussianNB()),
        "linear_discriminant": scaled(LinearDiscriminantAnalysis()),
        "quadratic_discriminant": scaled(QuadraticDiscriminantAnalysis(reg_param=0.01)),
        "mlp": scaled(MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=2000,
                                    early_stopping=True, random_state=seed)),
    }


#: settings of the gradient boosting regressor (chosen by ``benchmarks/selector.py``: the
#: lowest mean over folds of the worst regret, cross-validated on the training rows, among
#: the candidates it lists)
REGRESSOR_SETTINGS = {"n_estimators": 500, "max_depth": 4, "min_samples_leaf": 1,
                      "learning_rate": 0.05, "subsample": 0.8}


class LogCostRegressors:
    """Two gradient boosting regressors, of log(serial cost) and of log(parallel cost),
    each fitted to the error of the cost model's estimate of that log cost (the
    classifier inputs ``log_serial_cost_estimate``, ``log_parallel_cost_estimate``). Each
    paradigm's time depends on its own work counts, which the cost model already tracks;
    cross-validated on the training rows, the pair chooses better than one regressor of
    the ratio (docs/selector.md). ``predict`` gives the predicted log(serial cost / parallel cost), as a regressor of
    the ratio does. Exported as ``log_cost_trees`` (``model.export_classifier``)."""

    exported_kind = "log_cost_trees"

    def __init__(self, seed=0, **settings):
        from sklearn.ensemble import GradientBoostingRegressor
        self.serial = GradientBoostingRegressor(**settings, random_state=seed)
        self.parallel = GradientBoostingRegressor(**settings, random_state=seed)
        self.learning_rate = settings.get("learning_rate", 0.1)

    @staticmethod
    def _estimates(Z):
        return (Z[:, CLASSIFIER_INPUT_NAMES.index("log_serial_cost_estimate")],
                Z[:, CLASSIFIER_INPUT_NAMES.index("log_parallel_cost_estimate")])

    def fit(self, Z, log_serial, log_parallel):
        serial_estimate, parallel_estimate = self._estimates(Z)
        self.serial.fit(Z, log_serial - serial_estimate)
        self.parallel.fit(Z, log_parallel - parallel_estimate)
        return self

    def predict(self, Z):
        serial_estimate, parallel_estimate = self._estimates(Z)
        return (serial_estimate + self.serial.predict(Z)) - \
            (parallel_estimate + self.parallel.predict(Z))


def regressors(seed=0, **settings):
    """Regressors of log(serial cost / parallel cost): positive predicts parallel. Unlike
    a classifier, a regressor is told how much each choice matters. ``settings``
    override ``REGRESSOR_SETTINGS``."""
    from sklearn.ensemble import GradientBoostingRegressor
    settings = dict(REGRESSOR_SETTINGS, **settings)
    return {"gradient_boosting_regressor": GradientBoostingRegressor(
                **settings, random_state=seed),
            "gradient_boosting_cost_regressors": LogCostRegressors(seed, **settings)}


def split(n, seed=12345, test_fraction=0.25):
    """(train indices, test indices): a fixed-seed random split."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def split_dataset(data, seed=12345, test_fraction=0.25):
    """(train indices, test indices) of a dataset: ``split`` over its first
    ``split_rows`` rows (all of them unless it was extended,
    ``dataset.merge_datasets``); the rows after those are always training rows."""
    n = len(data["features"])
    pool = int(data.get("split_rows") or n)
    train, test = split(pool, seed, test_fraction)
    return np.concatenate([train, np.arange(pool, n)]), test


def labels(serial, parallel):
    return (parallel < serial).astype(int)


def scores(prefers_parallel, serial, parallel):
    """Accuracy and regret of boolean choices against measured costs."""
    prefers_parallel = np.asarray(prefers_parallel, dtype=bool)
    chosen = np.where(prefers_parallel, parallel, serial)
    best = np.minimum(serial, parallel)
    regret = chosen / best - 1.0
    return {"accuracy": float(np.mean(prefers_parallel == (parallel < serial))),
            "mean_regret": float(regret.mean()), "worst_regret": float(regret.max()),
            "p95_regret": float(np.percentile(regret, 95))}


def fit_cost_model(features, data_measurements, run_steps=None):
    """Non-negative linear cost and build-time models (seconds per step / seconds),
    fitted to the measured ones in log space (``model.fit_nonnegative``)."""
    m = data_measurements
    s_terms, p_terms = cost_terms(features)
    sb_terms, pb_terms = build_terms(features)
    return {"serial_terms": list(SERIAL_TERMS), "parallel_terms": list(PARALLEL_TERMS),
            "serial_cost": fit_nonnegative(s_terms, m[:, 0]).tolist(),
            "parallel_cost": fit_nonnegative(p_terms, m[:, 1]).tolist(),
            "serial_build": fit_nonnegative(sb_terms, m[:, 2]).tolist(),
            "parallel_build": fit_nonnegative(pb_terms, m[:, 3]).tolist(),
            "run_steps": run_steps}


def fit_selector(kind, X_raw, measurements, run_steps=None, weighted=False, seed=0,
                 estimator=None, margin=0.0, settings=None):
    """Fit the cost model, then the named classifier stacked on it, and export both.

    Returns (SelectorModel, fitted estimator). ``estimator`` overrides the named one (for
    the comparison of non-exportable classifiers: then the model returned has no
    classifier arrays, only the cost model). ``margin`` is stored in the model (see
    ``model.SelectorModel.decision``); ``choose_margin`` chooses one. ``settings``
    override the regressor's (``REGRESSOR_SETTINGS``)."""
    serial, parallel = costs({"measurements": measurements}, run_steps)
    y = labels(serial, parallel)
    cost_model = SelectorModel("none", {}, fit_cost_model(X_raw, measurements, run_steps))
    Z = cost_model.classifier_inputs(X_raw)
    exported = estimator is None
    if exported:
        estimator = dict(classifiers(seed), **regressors(seed, **(settings or {})))[kind]
    offset = None
    if isinstance(estimator, LogCostRegressors):
        # told each paradigm's cost, a regressor already weighs errors by their size
        weighted = False
        estimator.fit(Z, np.log(serial), np.log(parallel))
    else:
        if not hasattr(estimator, "predict_proba") and kind in regressors():
            offset = REGRESSOR_OFFSET
            y = np.log(serial / parallel) - Z[:, CLASSIFIER_INPUT_NAMES.index(offset)]
            weighted = False
        if weighted:
            estimator.fit(Z, y, **_weight_arguments(estimator,
                                                    regret_weights(serial, parallel)))
        else:
            estimator.fit(Z, y)
    if not exported:
        return cost_model, estimator
    model_kind, arrays, extra = export_classifier(estimator)
    target = ("log_costs" if isinstance(estimator, LogCostRegressors) else
              "log_cost_ratio" if kind in regressors() else "label")
    model = SelectorModel(model_kind, arrays, dict(cost_model.meta, **extra, model=kind,
                                                   weighted=weighted, target=target,
                                                   offset=offset, margin=float(margin),
                                                   regressor_settings=dict(
                                                       REGRESSOR_SETTINGS, **(settings or {}))
                                                   if target != "label" else None))
    if model_kind == "trees_sum":
        # the constant term (log-odds of the class prior, or the mean target), read off
        # the estimator
        raw = (estimator.decision_function(Z) if hasattr(estimator, "decision_function")
               else estimator.predict(Z)) - \
            extra["learning_rate"] * _tree_outputs(Z, arrays).sum(axis=1)
        arrays["init"] = np.array(float(np.median(raw)))
    mismatch = check_export(model, estimator, X_raw)
    if mismatch > 1e-3:
        raise RuntimeError(f"the exported {kind} disagrees with scikit-learn on "
                           f"{100 * mismatch:.2f}% of the training rows")
    return model, estimator


def out_of_fold_scores(kind, X_raw, measurements, run_steps=None, weighted=False,
                       folds=MARGIN_FOLDS, seed=0, settings=None):
    """(score of each row, its fold): each row scored (``SelectorModel.score``, before
    any margin) by a model, cost model included, fitted on the other folds only."""
    from sklearn.model_selection import KFold

    score = np.zeros(len(X_raw))
    fold = np.zeros(len(X_raw), dtype=int)
    for k, (fit_rows, rows) in enumerate(
            KFold(folds, shuffle=True, random_state=seed).split(X_raw)):
        model, _ = fit_selector(kind, X_raw[fit_rows], measurements[fit_rows], run_steps,
                                weighted=weighted, seed=seed, settings=settings)
        score[rows] = model.score(X_raw[rows])
        fold[rows] = k
    return score, fold


def margin_table(score, fold, serial, parallel, margins=MARGIN_GRID):
    """For every margin: the out-of-fold choices' accuracy, mean regret, worst regret
    (over all rows, and the mean over folds of each fold's worst), 99.5th percentile of
    the regret, and rows above 10% regret. A list of dicts."""
    best = np.minimum(serial, parallel)
    table = []
    for margin in margins:
        parallel_chosen = score > margin
        regret = np.where(parallel_chosen, parallel, serial) / best - 1.0
        table.append({
            "margin": float(margin),
            "accuracy": float(np.mean(parallel_chosen == (parallel < serial))),
            "mean_regret": float(regret.mean()), "worst_regret": float(regret.max()),
            "fold_worst_regret": float(np.mean([regret[fold == k].max()
                                                for k in np.unique(fold)])),
            "p995_regret": float(np.percentile(regret, 99.5)),
            "rows_above_10pct": int(np.sum(regret > 0.10))})
    return table


def choose_margin(table):
    """The margin of ``margin_table`` with the lowest mean over folds of the worst
    regret (each fold stands for a held-out set of the same kind; the mean of five
    worst cases is less at the mercy of one row than the worst of all), ties broken by
    mean regret, then by the margin closest to 0."""
    best = min(table, key=lambda r: (round(r["fold_worst_regret"], 9),
                                     round(r["mean_regret"], 9), abs(r["margin"])))
    return best["margin"]


def _weight_arguments(estimator, weight):
    from sklearn.pipeline import Pipeline
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__sample_weight": weight}
    return {"sample_weight": weight}


def regret_weights(serial, parallel):
    """Sample weights proportional to what a wrong choice would cost (floor 0.05), so
    the classifier spends its capacity where mistakes are expensive."""
    return np.maximum(np.abs(np.log(serial / parallel)), 0.05)


def train_and_export(data, model_path, kind=DEFAULT_MODEL, run_steps=None, seed=12345,
                     test_fraction=0.25, data_path=None, weighted=None, margin="auto"):
    """Fit ``kind`` and the cost model on the training split, evaluate on the held-out
    split, save the model (plain arrays + JSON) to ``model_path``; return the report.

    ``margin``: a number, or "auto": for the regressor of the log cost ratio, the margin
    of ``MARGIN_GRID`` that ``choose_margin`` picks from a ``MARGIN_FOLDS``-fold
    cross-validation on the training rows (``out_of_fold_scores``; the held-out rows
    play no part); 0 for classifiers, or with fewer than 50 training rows per fold."""
    import os

    import sklearn

    if weighted is None:
        weighted = DEFAULT_WEIGHTED
    X_raw = data["features"]
    M = data["measurements"]
    serial, parallel = costs(data, run_steps)
    train, test = split_dataset(data, seed, test_fraction)
    t0 = time.perf_counter()
    margin_cv = None
    if margin == "auto":
        margin = 0.0
        if kind in regressors() and len(train) >= 50 * MARGIN_FOLDS:
            score, fold = out_of_fold_scores(kind, X_raw[train], M[train], run_steps,
                                             weighted=weighted)
            table = margin_table(score, fold, serial[train], parallel[train])
            margin = choose_margin(table)
            margin_cv = {"folds": MARGIN_FOLDS, "fold_seed": 0,
                         "criterion": "lowest mean over folds of the worst out-of-fold "
                                      "regret, then lowest mean regret",
                         "chosen": margin, "table": table}
    margin = float(margin)
    model, _ = fit_selector(kind, X_raw[train], M[train], run_steps, weighted=weighted,
                            margin=margin)
    fit_seconds = time.perf_counter() - t0
    held_out = scores(model.prefers_parallel(X_raw[test]), serial[test], parallel[test])
    model.meta.update({
        "split_seed": seed, "test_fraction": test_fraction, "n_samples": int(len(X_raw)),
        "split_rows": int(data.get("split_rows") or len(X_raw)),
        "n_train": int(len(train)), "n_test": int(len(test)),
        "training_data": os.path.basename(data_path) if data_path else None,
        "training_data_path": os.path.abspath(data_path) if data_path else None,
        "training_data_meta": data.get("meta"), "held_out": held_out,
        "margin_cv": margin_cv,
        "fit_seconds": round(fit_seconds, 3), "sklearn_version": sklearn.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    model.save(model_path)
    return {"model": kind, "held_out_accuracy": held_out["accuracy"],
            "mean_regret": held_out["mean_regret"], "worst_regret": held_out["worst_regret"],
            "n_train": int(len(train)), "n_test": int(len(test)), "model_path": model_path,
            "margin": margin}
