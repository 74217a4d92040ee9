"""The selector's training data on disk: one compressed ``.npz`` of plain arrays (no
pickle), with the machine description and the command that produced it as JSON text."""
import json

import numpy as np

from .features import FEATURE_NAMES
from .measure import MEASURE_NAMES


def save_dataset(path, data, meta):
    np.savez_compressed(
        path, features=data["features"], measurements=data["measurements"],
        origin=data["origin"], seed=np.asarray(data["seed"]),
        feature_names=np.array(FEATURE_NAMES), measure_names=np.array(MEASURE_NAMES),
        meta=np.array(json.dumps(meta, sort_keys=True)))


def load_dataset(path):
    """Returns a dict: ``features``, ``measurements``, ``origin``, ``seed``, ``meta``."""
    with np.load(path, allow_pickle=False) as z:
        names = tuple(str(n) for n in z["feature_names"])
        if names != FEATURE_NAMES:
            raise ValueError(f"{path}: its features {names} are not this version's "
                             f"{FEATURE_NAMES}; regenerate it with python -m "
                             f"pyNN_neuro.calibrate")
        return {"features": z["features"], "measurements": z["measurements"],
                "origin": z["origin"], "seed": int(z["seed"]),
                "meta": json.loads(str(z["meta"]))}


def costs(data, run_steps=None):
    """(serial, parallel) cost per configuration: seconds of delivery per simulated step,
    plus the build time divided by ``run_steps`` when that is given (a build is paid once
    per run of that many steps)."""
    m = data["measurements"]
    serial, parallel = m[:, 0].copy(), m[:, 1].copy()
    if run_steps:
        serial += m[:, 2] / run_steps
        parallel += m[:, 3] / run_steps
    return serial, parallel
