"""The selector's training data on disk: one compressed ``.npz`` of plain arrays (no
pickle), with the machine description and the command that produced it as JSON text."""
import json
import time

import numpy as np

from .features import FEATURE_NAMES
from .measure import MEASURE_NAMES


#: arrays a dataset holds only when its near-crossover rows were measured again
#: (``measure.relabel_near_crossover``, ``measure.relabel_across_processes``)
OPTIONAL_ARRAYS = ("n_measurements", "deliver_repeats", "process_repeats")


#: the features of datasets stored before ``min_delay`` and ``max_delay`` were added
PREVIOUS_FEATURE_NAMES = FEATURE_NAMES[:14]


def save_dataset(path, data, meta):
    optional = {name: data[name] for name in OPTIONAL_ARRAYS if data.get(name) is not None}
    if data.get("split_rows") is not None:
        optional["split_rows"] = np.asarray(int(data["split_rows"]))
    if data.get("configs") is not None:
        # the configuration of every row (sample_config's dicts), so that it can be
        # measured again without drawing the whole sequence again
        optional["configs"] = np.array(json.dumps(list(data["configs"])))
    np.savez_compressed(
        path, features=data["features"], measurements=data["measurements"],
        origin=data["origin"], seed=np.asarray(data["seed"]),
        feature_names=np.array(FEATURE_NAMES), measure_names=np.array(MEASURE_NAMES),
        meta=np.array(json.dumps(meta, sort_keys=True)), **optional)


def load_dataset(path, upgrade=False):
    """Returns a dict: ``features``, ``measurements``, ``origin``, ``seed``, ``meta``, and
    those of ``OPTIONAL_ARRAYS``, ``configs`` and ``split_rows`` the file holds. A dataset stored before
    the ``min_delay`` and ``max_delay`` features existed is upgraded when ``upgrade``
    (its connections are drawn again: seconds to minutes; ``upgraded`` is then True),
    else refused."""
    with np.load(path, allow_pickle=False) as z:
        names = tuple(str(n) for n in z["feature_names"])
        data = {"features": z["features"], "measurements": z["measurements"],
                "origin": z["origin"], "seed": int(z["seed"]),
                "meta": json.loads(str(z["meta"]))}
        data.update({name: z[name] for name in OPTIONAL_ARRAYS if name in z.files})
        if "configs" in z.files:
            data["configs"] = json.loads(str(z["configs"]))
        if "split_rows" in z.files:
            data["split_rows"] = int(z["split_rows"])
    if names == PREVIOUS_FEATURE_NAMES and upgrade:
        from .measure import delay_range_columns, replay_configs
        data["configs"] = replay_configs(data)
        data["features"] = np.column_stack([data["features"],
                                            delay_range_columns(data, data["configs"])])
        data["meta"] = dict(data["meta"], upgraded=f"min_delay and max_delay added from "
                                                   f"the configurations drawn again "
                                                   f"({time.strftime('%Y-%m-%d')})")
        data["upgraded"] = True     # just now (not saved)
    elif names == PREVIOUS_FEATURE_NAMES:
        raise ValueError(f"{path} has no min_delay and max_delay features: upgrade it with "
                         f"python -m pyNN_neuro.calibrate --data {path} --no-train --out "
                         f"<new file>")
    elif names != FEATURE_NAMES:
        raise ValueError(f"{path}: its features {names} are not this version's "
                         f"{FEATURE_NAMES}; regenerate it with python -m "
                         f"pyNN_neuro.calibrate")
    return data


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


#: what must agree between the machines two datasets were measured on for their rows to
#: be one dataset (timings from another CPU or BLAS would be another function)
SAME_MACHINE_KEYS = ("cpu", "cpu_count", "machine", "blas")


def first_measurements(data):
    """The delivery seconds per step (rows x 2) each row got from the process that
    generated it, before any relabelling: what ``generate``'s boundary filter saw."""
    for name in ("deliver_repeats", "process_repeats"):
        if data.get(name) is not None:
            return np.asarray(data[name])[:, 0, :]
    return np.asarray(data["measurements"])[:, :2]


def _joined_repeats(name, first_column, *parts):
    """The repeat array ``name`` (rows x repeats x 2) of several datasets one after the
    other, as wide as the widest: a part without it has ``first_column(part)`` (rows x
    2) in column 0, NaN elsewhere."""
    width = max(d[name].shape[1] for d in parts if d.get(name) is not None)
    blocks = []
    for d in parts:
        block = np.full((len(d["features"]), width, 2), np.nan)
        if d.get(name) is not None:
            block[:, :d[name].shape[1]] = d[name]
        else:
            block[:, 0] = first_column(d)
        blocks.append(block)
    return np.concatenate(blocks)


def merge_datasets(base, extra, description=None):
    """``base``'s rows followed by ``extra``'s, as one dataset whose held-out split is
    still drawn over ``base``'s own rows only (``split_rows``; ``train.split_dataset``):
    the rows added are for training only, so a model trained on the merged data is
    scored on the same held-out configurations as one trained on ``base`` alone.

    Both must come from the same kind of machine (``SAME_MACHINE_KEYS`` of their
    ``meta["machine"]``), else ValueError. ``description`` (a dict, e.g. the command)
    is added to the meta's ``extended`` list with the extra data's own meta."""
    machines = [(d.get("meta") or {}).get("machine") or {} for d in (base, extra)]
    differ = [k for k in SAME_MACHINE_KEYS if machines[0].get(k) != machines[1].get(k)]
    if differ:
        raise ValueError(f"the datasets were measured on different machines ({', '.join(differ)}"
                         f" differ: {[machines[0].get(k) for k in differ]} against "
                         f"{[machines[1].get(k) for k in differ]}): measure both here")
    n_base, n_extra = len(base["features"]), len(extra["features"])
    merged = {name: np.concatenate([base[name], extra[name]])
              for name in ("features", "measurements", "origin")}
    merged["seed"] = base["seed"]
    merged["split_rows"] = int(base.get("split_rows") or n_base)
    if any(d.get("deliver_repeats") is not None for d in (base, extra)):
        # a part measured once: its first measurement
        merged["deliver_repeats"] = _joined_repeats("deliver_repeats", first_measurements,
                                                    base, extra)
        merged["n_measurements"] = np.concatenate([
            np.asarray(d["n_measurements"]) if d.get("deliver_repeats") is not None
            else np.ones(len(d["features"]), dtype=int) for d in (base, extra)])
    if any(d.get("process_repeats") is not None for d in (base, extra)):
        # a part not measured in other processes: its current value, as
        # measure.relabel_across_processes keeps it
        merged["process_repeats"] = _joined_repeats(
            "process_repeats", lambda d: d["measurements"][:, :2], base, extra)
    if base.get("configs") is not None and extra.get("configs") is not None:
        merged["configs"] = list(base["configs"]) + list(extra["configs"])
    meta = dict(base.get("meta") or {})
    meta["extended"] = list(meta.get("extended", [])) + [dict(
        description or {}, rows=n_extra, first_row=n_base, seed=int(extra["seed"]),
        meta=extra.get("meta"))]
    merged["meta"] = meta
    return merged
