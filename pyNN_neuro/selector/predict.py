"""Predicting the paradigm of a projection with a stored model (numpy only)."""
import math
import os

import numpy as np

from .features import FEATURE_NAMES
from .model import SelectorModel, memory_bytes

PARADIGMS = ("serial", "parallel")
_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_cache = {}


def default_model_path():
    """The model shipped with the package (trained on the machine described in
    docs/selector.md)."""
    return os.path.join(_DATA_DIR, "default_model.npz")


def default_data_path():
    """The measurements the shipped model was trained on."""
    return os.path.join(_DATA_DIR, "training_data.npz")


def model_path():
    """The model ``predict`` uses: ``$PYNN_NEURO_SELECTOR_MODEL``; else the one
    ``python -m pyNN_neuro.calibrate`` wrote for this machine; else the shipped default."""
    from . import user_dir
    path = os.environ.get("PYNN_NEURO_SELECTOR_MODEL")
    if path:
        return path
    calibrated = os.path.join(user_dir(), "model.npz")
    if os.path.exists(calibrated):
        return calibrated
    return default_model_path()


def load_model(path=None):
    """Load a selector model (cached by path). ``path=None``: see ``model_path()``;
    ``"default"``: the shipped model."""
    if path is None:
        path = model_path()
    elif path == "default":
        path = default_model_path()
    path = os.path.abspath(path)
    stamp = os.path.getmtime(path)
    cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, SelectorModel.load(path))
        _cache[path] = cached
    return cached[1]


def _as_matrix(features):
    if isinstance(features, tuple) and len(features) == 2 and \
            tuple(features[1]) == FEATURE_NAMES:
        features = features[0]
    X = np.atleast_2d(np.asarray(features, dtype=float))
    if X.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"a feature vector has {len(FEATURE_NAMES)} entries "
                         f"({', '.join(FEATURE_NAMES)}), got {X.shape[1]}; build it with "
                         f"pyNN_neuro.selector.projection_features")
    return X


def _parallel_supported(X):
    """The parallel paradigm takes static synapses only, and its dense matrices must fit
    the engine's limit."""
    from ..engine.parallel import ParallelUnit
    col = {name: X[:, i] for i, name in enumerate(FEATURE_NAMES)}
    dense_bytes = col["n_delays"] * col["n_pre"] * col["n_post"] * 8
    return (col["plastic"] == 0) & (dense_bytes <= ParallelUnit.MAX_MATRIX_BYTES)


def predict_many(features, model=None):
    """Vectorised ``predict``: (paradigms, serial costs, parallel costs), one per row."""
    X = _as_matrix(features)
    model = model if isinstance(model, SelectorModel) else load_model(model)
    supported = _parallel_supported(X)
    parallel_wins = model.prefers_parallel(X) & supported
    serial_cost, parallel_cost = model.costs(X)
    parallel_cost = np.where(supported, parallel_cost, math.inf)
    paradigms = np.where(parallel_wins, "parallel", "serial")
    return paradigms, serial_cost, parallel_cost


def predict(features, model=None):
    """The paradigm to build for one projection, and the predicted cost of each.

    ``features``: the vector of ``projection_features`` (or its ``(vector, names)``
    result). Returns ``(paradigm, {"serial": seconds, "parallel": seconds})``: the
    classifier's choice ("serial" or "parallel") and the cost model's estimate of the
    delivery time per simulated step in each paradigm (plus amortised build time when
    the model was calibrated with ``--run-steps``). Plastic synapses, and projections
    whose dense matrices would exceed the parallel unit's memory limit, always get
    "serial", with an infinite parallel cost. The classifier decides; the costs are for
    reports, and near the crossover they may rank the paradigms the other way.
    """
    X = _as_matrix(features)
    if X.shape[0] != 1:
        raise ValueError("predict() takes one feature vector; use predict_many() for more")
    paradigms, serial, parallel = predict_many(X, model)
    return str(paradigms[0]), {"serial": float(serial[0]), "parallel": float(parallel[0])}


def estimate(features, model=None):
    """Everything the model estimates for one projection: the choice, delivery seconds
    per step, build seconds and bytes of each paradigm."""
    model = model if isinstance(model, SelectorModel) else load_model(model)
    X = _as_matrix(features)
    paradigm, cost = predict(X, model)
    sb, pb = model.build_seconds(X)
    sm, pm = memory_bytes(X)
    return {"paradigm": paradigm, "cost_s_per_step": cost,
            "build_s": {"serial": float(sb[0]), "parallel": float(pb[0])},
            "memory_bytes": {"serial": int(sm[0]), "parallel": int(pm[0])},
            "model": model.name}


def evaluate_model(path=None):
    """Held-out scores of a stored model on the split of its own training data that it
    was not fitted on (recomputed from the seed stored in the model). numpy only."""
    from .dataset import costs, load_dataset
    from .train import scores, split_dataset

    model = load_model(path)
    meta = model.meta
    name = meta.get("training_data") or "training_data.npz"
    candidates = [os.path.join(os.path.dirname(meta["path"]), name),
                  meta.get("training_data_path") or "", default_data_path()]
    data_file = next(c for c in candidates if c and os.path.exists(c))
    data = load_dataset(data_file)
    if len(data["features"]) != meta["n_samples"]:
        raise ValueError(f"{data_file} holds {len(data['features'])} configurations, but "
                         f"the model {meta['path']} was trained on {meta['n_samples']}")
    serial, parallel = costs(data, meta.get("run_steps"))
    train, test = split_dataset(data, meta["split_seed"], meta["test_fraction"])
    X = data["features"][test]
    s = scores(model.prefers_parallel(X), serial[test], parallel[test])
    paradigms, _, _ = predict_many(X, model)
    return {"model": model.name, "model_file": meta["path"], "data_file": data_file,
            "held_out_accuracy": s["accuracy"], "mean_regret": s["mean_regret"],
            "worst_regret": s["worst_regret"], "p95_regret": s["p95_regret"],
            "n_train": int(len(train)), "n_test": int(len(test)),
            "parallel_fraction_test": float(np.mean(parallel[test] < serial[test])),
            "run_steps": meta.get("run_steps"), "margin": model.margin,
            "machine": (meta.get("training_data_meta") or {}).get("machine")}
