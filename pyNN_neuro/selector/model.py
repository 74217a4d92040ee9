"""Selector models as plain arrays: exported from scikit-learn, evaluated with numpy.

A trained scikit-learn estimator is turned into arrays (the nodes of its trees, or the
coefficients of a linear model) and saved with ``numpy.savez`` next to a JSON
description. Loading needs neither scikit-learn nor pickle, so a model trained with one
version of either loads with any other. ``export`` checks that the arrays reproduce the
estimator's own predictions before anything is written.

Kinds of model (``kind`` in the JSON):

- ``trees_mean_proba``: decision trees, random and extra-trees forests; predicts parallel
  when the mean over trees of the leaf's fraction of "parallel" samples exceeds 1/2;
- ``trees_sum``: gradient boosting, classifier (decision = log-odds of parallel) or
  regressor of log(serial cost / parallel cost); decision = init + learning_rate x sum
  of leaf values (a regressor may be boosted from the cost model's own estimate of that
  log ratio: then the JSON's ``offset`` names that classifier input, which is added);
- ``log_cost_trees``: two gradient boosting regressors, of log(serial cost) and of
  log(parallel cost), each boosted from the cost model's estimate of that log cost
  (arrays prefixed ``serial_`` and ``parallel_``); decision = the difference, the
  predicted log(serial cost / parallel cost);
- ``trees_vote``: AdaBoost (SAMME); decision = weighted vote, +1 parallel, -1 serial;
- ``linear``: a logistic regression behind a standard scaler.

In every kind a positive decision means "parallel". A model may carry a decision
``margin`` (JSON, default 0): the decision is the classifier's score minus the margin, so
that parallel is chosen only when its predicted advantage exceeds it (for a regressor:
parallel predicted faster by more than a factor exp(margin)).
"""
import json

import numpy as np

from .features import MODEL_INPUT_NAMES, model_inputs

#: what the classifier sees: ``model_inputs`` plus the cost model's own estimates
CLASSIFIER_INPUT_NAMES = MODEL_INPUT_NAMES + (
    "log_cost_ratio_estimate",      # log(serial / parallel) from the cost model
    "log_serial_cost_estimate", "log_parallel_cost_estimate")

# cost-model terms, per simulated step (see cost_terms)
SERIAL_TERMS = ("calls", "calls_with_spikes", "spikes", "events_one_delay",
                "events_several_delays", "events_several_delays_wrap", "events_log_synapses")
PARALLEL_TERMS = ("calls", "calls_x_delays", "spike_matrix", "spike_matrix_x_delays",
                  "spikes", "gathered_rows", "multiply_adds", "ring_adds",
                  "presynaptic_scan", "matrix_reads", "matrix_reads_log_size")
#: matrix size (bytes) from which the parallel paradigm's matrix reads slow down
#: (``matrix_reads_log_size``): about where they stop fitting the inner caches
MATRIX_CACHE_SCALE_BYTES = 256 * 1024
SERIAL_BUILD_TERMS = ("constant", "synapses", "synapses_log", "n_pre")
PARALLEL_BUILD_TERMS = ("constant", "synapses", "synapses_log", "n_pre", "dense_elements",
                        "delays", "synapses_x_delays")


def _column(features, name):
    from .features import FEATURE_NAMES
    return np.atleast_2d(np.asarray(features, dtype=float))[:, FEATURE_NAMES.index(name)]


def cost_terms(features):
    """Work counts per simulated step that the delivery time is linear in, for each
    paradigm: (serial terms, parallel terms), arrays (n x len(SERIAL_TERMS)) and
    (n x len(PARALLEL_TERMS)). ``calls`` are per-window overheads (1/K per step); the
    parallel paradigm skips windows without spikes, so its terms are weighted by the
    probability that a window holds one, and takes its products over the window's active
    presynaptic rows when they are few (``features.active_rows``).

    The serial kernel (``StaticDelivery`` in ext/_synapses.pyx) is called for every
    window that holds a spike (``calls_with_spikes``: binding and entering the kernel, on
    top of the unit's own call every window), walks one CSR row per spike (``spikes``),
    and has two paths per synaptic event: when all synapses share one delay, the target
    ring row is fixed per spike (``events_one_delay``); otherwise every synapse loads its
    delay and finds its own ring slot (``events_several_delays``, about twice the cost),
    wrapping around the ring unpredictably for a fraction of the spikes' slots
    (``events_several_delays_wrap``: events x ``features.delay_spread_over_ring``). The
    synapse arrays walked outgrow the caches as the projection grows
    (``events_log_synapses``).

    The parallel unit (``engine.parallel.ParallelUnit.deliver``) fills the window's spike
    matrix (K x rows: ``spike_matrix``) and takes one BLAS product of it with each delay's
    (rows x n_post) weight matrix (``multiply_adds``: K x rows x n_post per delay). The
    BLAS packs its left operand, the spike matrix, once per product whatever the width
    n_post of the result, so that narrow products (few targets per delay) cost more per
    multiply-add than wide ones: ``spike_matrix_x_delays`` (K x rows per delay, which is
    multiply-adds / n_post). Every product's window of results is added into the ring
    (``ring_adds``), the weight rows of the active neurons are gathered first when they
    are few (``gathered_rows``), and the matrices read grow out of the caches
    (``matrix_reads``, ``matrix_reads_log_size``)."""
    from .features import delay_spread_over_ring, window_work
    c = {name: _column(features, name) for name in
         ("n_pre", "n_post", "n_synapses", "spike_probability", "window", "n_delays",
          "min_delay", "max_delay")}
    K = c["window"]
    spikes, events, nonempty, active, gathered, rows, per_row = window_work(c)
    reads = nonempty * rows * per_row / K
    several = (c["n_delays"] > 1).astype(float)
    serial = np.column_stack([
        1.0 / K, nonempty / K, spikes, events * (1.0 - several), events * several,
        events * several * delay_spread_over_ring(c["min_delay"], c["max_delay"], K),
        events * np.log1p(c["n_synapses"])])
    parallel = np.column_stack([
        nonempty / K, nonempty * c["n_delays"] / K, nonempty * rows,
        nonempty * rows * c["n_delays"], spikes,
        np.where(gathered, active, 0.0) * per_row / K, nonempty * rows * per_row,
        nonempty * per_row, nonempty * c["n_pre"] / K, reads,
        reads * np.log1p(c["n_pre"] * per_row * 8.0 / MATRIX_CACHE_SCALE_BYTES)])
    return serial, parallel


def build_terms(features):
    """Counts the build time of each paradigm is linear in (see ``*_BUILD_TERMS``)."""
    c = {name: _column(features, name) for name in
         ("n_pre", "n_post", "n_synapses", "n_delays")}
    nnz = c["n_synapses"]
    one = np.ones_like(nnz)
    serial = np.column_stack([one, nnz, nnz * np.log(nnz + 1.0), c["n_pre"]])
    parallel = np.column_stack([one, nnz, nnz * np.log(nnz + 1.0), c["n_pre"],
                                c["n_pre"] * c["n_post"] * c["n_delays"], c["n_delays"],
                                nnz * c["n_delays"]])
    return serial, parallel


def memory_bytes(features):
    """Bytes of the arrays each paradigm's delivery unit holds (exact for the engine's
    ``StaticUnit`` and ``ParallelUnit`` with float64 weights, given the synapse count):
    (serial, parallel), for weights that differ (as in calibration). The parallel unit
    keeps the serial one's CSR arrays too. ``StaticUnit`` holds less where a value is
    shared, until something asks for the array: a delay shared by every synapse, 4
    bytes per synapse less (counted here); a weight, 8; both, another 8 (no permutation,
    ``StaticUnit.order``)."""
    c = {name: _column(features, name) for name in
         ("n_pre", "n_post", "n_synapses", "window", "n_delays")}
    nnz = c["n_synapses"]
    # weight 8, delay 4 (none when all delays are one), permutation 8, target 4 bytes
    # per synapse; row pointer
    csr = nnz * 24 + (c["n_pre"] + 1) * 8
    serial = csr - np.where(c["n_delays"] == 1, 4 * nnz, 0)
    parallel = (csr + nnz * 8 + c["n_delays"] * 4 +
                c["n_delays"] * c["n_pre"] * c["n_post"] * 8 + c["window"] * c["n_post"] * 8)
    return serial, parallel


def fit_nonnegative(terms, target):
    """Non-negative coefficients x minimising sum(log(terms @ x) - log(target))^2: costs
    span six decades, so errors are weighed as factors, and no work makes a paradigm
    faster. Fitted with x = exp(theta) by nonlinear least squares (needs scipy, as
    training does)."""
    from scipy.optimize import least_squares

    scale = terms.max(axis=0)
    scale = np.where(scale > 0, np.median(target) / np.where(scale > 0, scale, 1.0), 0.0)
    A = terms * scale
    log_target = np.log(target)

    def residuals(theta):
        with np.errstate(over="ignore"):    # a step may overshoot; the solver backs off
            return np.log(A @ np.exp(theta) + 1e-300) - log_target

    best = None
    for start in (0.0, -3.0):
        # Levenberg-Marquardt needs at least as many rows as terms (a tiny calibration
        # may have fewer)
        method = "lm" if len(target) >= terms.shape[1] else "trf"
        result = least_squares(residuals, np.full(terms.shape[1], start), method=method)
        if best is None or result.cost < best.cost:
            best = result
    return np.exp(best.x) * scale


def _trees_from_estimators(estimators, leaf_value):
    """Concatenate the node arrays of fitted sklearn trees; ``leaf_value(tree)`` gives the
    per-node value to store."""
    left, right, feature, threshold, value, offsets = [], [], [], [], [], []
    offset = 0
    for est in estimators:
        t = est.tree_
        offsets.append(offset)
        is_leaf = t.children_left < 0
        left.append(np.where(is_leaf, -1, t.children_left + offset))
        right.append(np.where(is_leaf, -1, t.children_right + offset))
        feature.append(np.where(is_leaf, 0, t.feature))
        threshold.append(np.where(is_leaf, 0.0, t.threshold))
        value.append(leaf_value(t))
        offset += t.node_count
    return {"left": np.concatenate(left).astype(np.int32),
            "right": np.concatenate(right).astype(np.int32),
            "feature": np.concatenate(feature).astype(np.int32),
            "threshold": np.concatenate(threshold).astype(np.float64),
            "value": np.concatenate(value).astype(np.float64),
            "offsets": np.array(offsets, dtype=np.int64)}


def _proba_parallel(tree):
    v = tree.value[:, 0, :]
    return v[:, 1] / v.sum(axis=1)


def _vote(tree):
    return np.where(tree.value[:, 0, 1] > tree.value[:, 0, 0], 1.0, -1.0)


def export_classifier(estimator):
    """Arrays and a kind for a fitted scikit-learn classifier (or a Pipeline ending in
    one). Raises TypeError for estimators this module cannot evaluate."""
    from sklearn.ensemble import (AdaBoostClassifier, ExtraTreesClassifier,
                                  GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    scaler = None
    if isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps]
        if len(steps) == 2 and isinstance(steps[0], StandardScaler):
            scaler, estimator = steps
        elif len(steps) == 1:
            estimator = steps[0]
        else:
            raise TypeError(f"cannot export the pipeline {estimator}")
    if getattr(estimator, "exported_kind", None) == "log_cost_trees":
        # train.LogCostRegressors: one regressor per paradigm
        arrays, extra = {}, {}
        for paradigm in ("serial", "parallel"):
            regressor = getattr(estimator, paradigm)
            trees = _trees_from_estimators(regressor.estimators_[:, 0],
                                           lambda t: t.value[:, 0, 0])
            arrays.update({f"{paradigm}_{k}": v for k, v in trees.items()})
            arrays[f"{paradigm}_init"] = np.array(float(regressor.init_.constant_.ravel()[0]))
            extra[f"{paradigm}_learning_rate"] = float(regressor.learning_rate)
        return "log_cost_trees", arrays, extra
    if isinstance(estimator, GradientBoostingRegressor):
        # trained on log(serial cost / parallel cost): positive means parallel
        arrays = _trees_from_estimators(estimator.estimators_[:, 0],
                                        lambda t: t.value[:, 0, 0])
        return "trees_sum", arrays, {"learning_rate": float(estimator.learning_rate)}
    if list(getattr(estimator, "classes_", [])) != [0, 1]:
        raise TypeError("the classifier must be trained on labels 0 (serial), 1 (parallel)")
    if scaler is not None and not isinstance(estimator, LogisticRegression):
        raise TypeError("a scaler is exported only in front of a logistic regression")
    if isinstance(estimator, DecisionTreeClassifier):
        return "trees_mean_proba", _trees_from_estimators([estimator], _proba_parallel), {}
    if isinstance(estimator, (RandomForestClassifier, ExtraTreesClassifier)):
        return ("trees_mean_proba",
                _trees_from_estimators(estimator.estimators_, _proba_parallel), {})
    if isinstance(estimator, GradientBoostingClassifier):
        arrays = _trees_from_estimators(estimator.estimators_[:, 0],
                                        lambda t: t.value[:, 0, 0])
        return "trees_sum", arrays, {"learning_rate": float(estimator.learning_rate)}
    if isinstance(estimator, AdaBoostClassifier):
        n = len(estimator.estimators_)
        arrays = _trees_from_estimators(estimator.estimators_, _vote)
        arrays["tree_weight"] = np.asarray(estimator.estimator_weights_[:n], dtype=float)
        return "trees_vote", arrays, {}
    if isinstance(estimator, LogisticRegression):
        mean = scaler.mean_ if scaler is not None else np.zeros(estimator.coef_.shape[1])
        scale = scaler.scale_ if scaler is not None else np.ones(estimator.coef_.shape[1])
        return "linear", {"mean": mean, "scale": scale, "coef": estimator.coef_[0],
                          "intercept": np.asarray(estimator.intercept_, dtype=float)}, {}
    raise TypeError(f"cannot export a {type(estimator).__name__}")


def _tree_outputs(X, arrays):
    """Leaf value of every tree for every row: (n_rows x n_trees)."""
    # scikit-learn compares float32 inputs with float64 thresholds
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    left, right = arrays["left"], arrays["right"]
    feature, threshold = arrays["feature"], arrays["threshold"]
    node = np.tile(arrays["offsets"], (X.shape[0], 1))
    rows = np.arange(X.shape[0])[:, None]
    while True:
        inner = left[node] >= 0
        if not inner.any():
            break
        go_left = X[rows, feature[node]] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)
    return arrays["value"][node]


class SelectorModel:
    """A loaded selector: the classifier (arrays) plus the cost model."""

    def __init__(self, kind, arrays, meta):
        self.kind = kind
        self.arrays = arrays
        self.meta = meta
        self.name = meta.get("model", kind)

    # persistence -------------------------------------------------------------------------

    def save(self, path):
        arrays = {f"classifier_{k}": v for k, v in self.arrays.items()}
        np.savez_compressed(path, meta=np.array(json.dumps(dict(self.meta, kind=self.kind),
                                                           sort_keys=True)), **arrays)

    @classmethod
    def load(cls, path):
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k[len("classifier_"):]: z[k] for k in z.files
                      if k.startswith("classifier_")}
        meta["path"] = str(path)
        for key, names in (("serial_terms", SERIAL_TERMS), ("parallel_terms", PARALLEL_TERMS)):
            coefficients = meta.get(key.replace("terms", "cost"))
            if tuple(meta.get(key, ())) != names and (
                    key in meta or coefficients is None or len(coefficients) != len(names)):
                raise ValueError(
                    f"the selector model {path} was fitted to other cost-model terms than "
                    f"this version's {key} {names}: retrain it with python -m "
                    f"pyNN_neuro.calibrate --data <its training data> --model-out {path} "
                    f"(or delete it to use the shipped model)")
        return cls(meta["kind"], arrays, meta)

    # prediction --------------------------------------------------------------------------

    def classifier_inputs(self, features):
        """``CLASSIFIER_INPUT_NAMES`` for raw feature rows: the classifier is stacked on
        the cost model, whose estimated cost ratio is its most telling input."""
        serial, parallel = self.delivery_costs(features)
        serial = np.maximum(serial, 1e-15)
        parallel = np.maximum(parallel, 1e-15)
        return np.column_stack([model_inputs(features), np.log(serial / parallel),
                                np.log(serial), np.log(parallel)])

    @property
    def margin(self):
        """What the score must exceed for parallel to be chosen (0 for models saved
        before margins existed)."""
        return float(self.meta.get("margin") or 0.0)

    def log_costs(self, features):
        """(log serial cost, log parallel cost) per row, seconds per step: the cost
        model's, corrected by the regressors of a ``log_cost_trees`` model."""
        X = self.classifier_inputs(features)
        out = []
        for paradigm in ("serial", "parallel"):
            column = X[:, CLASSIFIER_INPUT_NAMES.index(f"log_{paradigm}_cost_estimate")]
            if self.kind == "log_cost_trees":
                trees = {k[len(paradigm) + 1:]: v for k, v in self.arrays.items()
                         if k.startswith(paradigm + "_")}
                column = column + float(trees["init"]) + \
                    self.meta[f"{paradigm}_learning_rate"] * _tree_outputs(X, trees).sum(axis=1)
            out.append(column)
        return out[0], out[1]

    def score(self, features):
        """The classifier's own score per row, before the margin: for a regressor, the
        predicted log(serial cost / parallel cost)."""
        if self.kind == "log_cost_trees":
            log_serial, log_parallel = self.log_costs(features)
            return log_serial - log_parallel
        X = self.classifier_inputs(features)
        a = self.arrays
        if self.kind == "trees_mean_proba":
            return _tree_outputs(X, a).mean(axis=1) - 0.5
        if self.kind == "trees_sum":
            score = float(a["init"]) + self.meta["learning_rate"] * \
                _tree_outputs(X, a).sum(axis=1)
            offset = self.meta.get("offset")
            if offset:
                score = score + X[:, CLASSIFIER_INPUT_NAMES.index(offset)]
            return score
        if self.kind == "trees_vote":
            w = a["tree_weight"]
            return _tree_outputs(X, a) @ w / w.sum()
        if self.kind == "linear":
            return ((X - a["mean"]) / a["scale"]) @ a["coef"] + float(a["intercept"][0])
        raise ValueError(f"unknown selector model kind {self.kind!r}")

    def decision(self, features):
        """The score minus the margin, per row; > 0 means parallel. Everything that
        chooses or ranks the paradigms (``prefers_parallel``, ``costs``) goes through
        this, so that they never disagree."""
        return self.score(features) - self.margin

    def prefers_parallel(self, features):
        """Boolean per row: the classifier picks the parallel paradigm (before the hard
        rules of ``pyNN_neuro.selector.predict``)."""
        return self.decision(features) > 0

    def delivery_costs(self, features):
        """Predicted delivery seconds per simulated step, (serial, parallel)."""
        s_terms, p_terms = cost_terms(features)
        return (s_terms @ np.asarray(self.meta["serial_cost"]),
                p_terms @ np.asarray(self.meta["parallel_cost"]))

    def costs(self, features):
        """Predicted seconds per simulated step, (serial, parallel): delivery, plus build
        seconds / run_steps if the model was trained so. From the fitted cost model, or
        for ``log_cost_trees`` from its regressors of each log cost; when the selector is
        a regressor, the pair is moved (keeping its geometric mean) to the predicted
        ratio less the margin (``decision``), so that the costs always rank the paradigms
        as the choice does: with a margin, the parallel cost carries that much of a
        penalty for the risk of a wrong call (without one, ``log_cost_trees``' costs are
        its regressors' own)."""
        serial, parallel = self.delivery_costs(features)
        if self.kind == "log_cost_trees":
            serial, parallel = (np.exp(c) for c in self.log_costs(features))
        if self.meta.get("target") in ("log_cost_ratio", "log_costs") and self.arrays:
            middle = np.sqrt(np.maximum(serial, 1e-15) * np.maximum(parallel, 1e-15))
            half = 0.5 * self.decision(features)
            serial, parallel = middle * np.exp(half), middle * np.exp(-half)
        run_steps = self.meta.get("run_steps")
        if run_steps:
            sb, pb = self.build_seconds(features)
            serial = serial + sb / run_steps
            parallel = parallel + pb / run_steps
        return serial, parallel

    def build_seconds(self, features):
        """Predicted seconds to build each paradigm's unit, (serial, parallel)."""
        s_terms, p_terms = build_terms(features)
        return (s_terms @ np.asarray(self.meta["serial_build"]),
                p_terms @ np.asarray(self.meta["parallel_build"]))


def check_export(model, estimator, X_raw):
    """Fraction of rows where the exported model and the estimator disagree (on the
    classifier's own choice: before the margin, which the estimator does not know)."""
    ours = model.score(X_raw) > 0
    Z = model.classifier_inputs(X_raw)
    if hasattr(estimator, "classes_"):
        theirs = estimator.predict(Z).astype(bool)
    else:
        offset = model.meta.get("offset")
        theirs = estimator.predict(Z) + (
            Z[:, CLASSIFIER_INPUT_NAMES.index(offset)] if offset else 0.0) > 0
    return float(np.mean(ours != theirs))
