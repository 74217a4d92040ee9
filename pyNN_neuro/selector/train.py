"""Training the selector (needs scikit-learn): the classifier comparison, the cost model,
and the export of the chosen model to plain arrays.

Labels: 1 (parallel) when the parallel paradigm's measured cost is lower, else 0.
Regret of a choice: cost(chosen) / cost(better) - 1; 0 when the choice is right, and
small when a wrong choice was a near tie. The held-out split is a fixed-seed random
quarter of the configurations, never seen in fitting nor in choosing the model.
"""
import time

import numpy as np

from .dataset import costs
from .model import (PARALLEL_TERMS, SERIAL_TERMS, SelectorModel, _tree_outputs, build_terms,
                    check_export, cost_terms, export_classifier, fit_nonnegative)

#: the model ``python -m pyNN_neuro.calibrate`` trains unless told otherwise (chosen by
#: ``benchmarks/selector.py``: lowest cross-validated mean regret among exportable models)
DEFAULT_MODEL = "gradient_boosting_regressor"
#: whether it is trained with regret weights (``regret_weights``)
DEFAULT_WEIGHTED = False

#: models that ``model.export_classifier`` can turn into arrays
EXPORTABLE = ("ada_boost", "gradient_boosting", "random_forest", "extra_trees",
              "decision_tree", "logistic_regression", "gradient_boosting_regressor")


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


def regressors(seed=0):
    """Regressors of log(serial cost / parallel cost): positive predicts parallel. Unlike
    a classifier, a regressor is told how much each choice matters."""
    from sklearn.ensemble import GradientBoostingRegressor
    return {"gradient_boosting_regressor": GradientBoostingRegressor(
        n_estimators=500, max_depth=4, learning_rate=0.05, subsample=0.8,
        random_state=seed)}


def split(n, seed=12345, test_fraction=0.25):
    """(train indices, test indices): a fixed-seed random split."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


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
                 estimator=None):
    """Fit the cost model, then the named classifier stacked on it, and export both.

    Returns (SelectorModel, fitted estimator). ``estimator`` overrides the named one (for
    the comparison of non-exportable classifiers: then the model returned has no
    classifier arrays, only the cost model)."""
    serial, parallel = costs({"measurements": measurements}, run_steps)
    y = labels(serial, parallel)
    cost_model = SelectorModel("none", {}, fit_cost_model(X_raw, measurements, run_steps))
    Z = cost_model.classifier_inputs(X_raw)
    exported = estimator is None
    if exported:
        estimator = dict(classifiers(seed), **regressors(seed))[kind]
    if not hasattr(estimator, "predict_proba") and kind in regressors():
        y = np.log(serial / parallel)
        weighted = False
    if weighted:
        estimator.fit(Z, y, **_weight_arguments(estimator, regret_weights(serial, parallel)))
    else:
        estimator.fit(Z, y)
    if not exported:
        return cost_model, estimator
    model_kind, arrays, extra = export_classifier(estimator)
    target = "log_cost_ratio" if kind in regressors() else "label"
    model = SelectorModel(model_kind, arrays, dict(cost_model.meta, **extra, model=kind,
                                                   weighted=weighted, target=target))
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
                     test_fraction=0.25, data_path=None, weighted=None):
    """Fit ``kind`` and the cost model on the training split, evaluate on the held-out
    split, save the model (plain arrays + JSON) to ``model_path``; return the report."""
    import os

    import sklearn

    if weighted is None:
        weighted = DEFAULT_WEIGHTED
    X_raw = data["features"]
    serial, parallel = costs(data, run_steps)
    train, test = split(len(X_raw), seed, test_fraction)
    t0 = time.perf_counter()
    model, _ = fit_selector(kind, X_raw[train], data["measurements"][train], run_steps,
                            weighted=weighted)
    fit_seconds = time.perf_counter() - t0
    held_out = scores(model.prefers_parallel(X_raw[test]), serial[test], parallel[test])
    model.meta.update({
        "split_seed": seed, "test_fraction": test_fraction, "n_samples": int(len(X_raw)),
        "n_train": int(len(train)), "n_test": int(len(test)),
        "training_data": os.path.basename(data_path) if data_path else None,
        "training_data_path": os.path.abspath(data_path) if data_path else None,
        "training_data_meta": data.get("meta"), "held_out": held_out,
        "fit_seconds": round(fit_seconds, 3), "sklearn_version": sklearn.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    model.save(model_path)
    return {"model": kind, "held_out_accuracy": held_out["accuracy"],
            "mean_regret": held_out["mean_regret"], "worst_regret": held_out["worst_regret"],
            "n_train": int(len(train)), "n_test": int(len(test)), "model_path": model_path}
