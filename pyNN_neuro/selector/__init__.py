"""Paradigm selector: predicts, per projection and before building anything, whether the
serial (event-driven) or the parallel (window-batched) paradigm delivers its spikes faster
(P1 in papers.md: decide before compiling, not after building both).

::

    from pyNN_neuro.selector import projection_features, predict
    features, names = projection_features(n_pre, n_post, connection_probability=p,
                                          rate_hz=rate, dt=dt, window=K, n_delays=d,
                                          plastic=False, recurrent=False)
    paradigm, cost = predict(features)   # "serial" | "parallel", {paradigm: s per step}

Parts: ``features`` (what is known before building), ``measure`` (timing the engine's
delivery units on generated configurations), ``train`` (scikit-learn classifiers and the
cost model; needs scikit-learn), ``model`` (trained models as plain arrays, evaluated
with numpy), ``predict`` (loading a model and choosing). ``python -m pyNN_neuro.calibrate``
measures and trains on the user's machine; docs/selector.md compares the classifiers.
"""
import os

from .features import (FEATURE_NAMES, MODEL_INPUT_NAMES, features_from_connections,
                       model_inputs, projection_features)


def user_dir():
    """Where ``python -m pyNN_neuro.calibrate`` writes this machine's data and model:
    ``$PYNN_NEURO_SELECTOR_DIR``, else ``~/.pyNN_neuro/selector``."""
    return os.environ.get("PYNN_NEURO_SELECTOR_DIR") or os.path.join(
        os.path.expanduser("~"), ".pyNN_neuro", "selector")


from .predict import (PARADIGMS, default_data_path, default_model_path,  # noqa: E402
                      estimate, evaluate_model, load_model, model_path, predict,
                      predict_many)

__all__ = ["FEATURE_NAMES", "MODEL_INPUT_NAMES", "PARADIGMS", "default_data_path",
           "default_model_path", "estimate", "evaluate_model", "features_from_connections",
           "load_model", "model_inputs", "model_path", "predict", "predict_many",
           "projection_features", "user_dir"]
