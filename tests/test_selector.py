"""The paradigm selector: features, the shipped model (loaded without scikit-learn),
obvious predictions, and a tiny calibration round trip."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pyNN_neuro.selector import (FEATURE_NAMES, default_model_path, evaluate_model,
                                 features_from_connections, load_model, model_inputs,
                                 predict, predict_many, projection_features)
from pyNN_neuro.selector.measure import measure, pin_threads, unit_bytes
from pyNN_neuro.selector.model import memory_bytes


def _features(**kw):
    base = dict(connection_probability=1.0, spike_probability=0.01, dt=0.1, window=1)
    base.update(kw)
    n_pre = base.pop("n_pre", 1024)
    n_post = base.pop("n_post", 1024)
    return projection_features(n_pre, n_post, **base)[0]


# features ------------------------------------------------------------------------------

def test_projection_features_values():
    vector, names = projection_features(200, 100, connection_probability=0.1, rate_hz=20.0,
                                        dt=0.5, window=8, n_delays=3, recurrent=True)
    assert names == FEATURE_NAMES and vector.shape == (len(FEATURE_NAMES),)
    f = dict(zip(names, vector))
    assert f["n_synapses"] == pytest.approx(2000.0)
    assert f["mean_fan_in"] == pytest.approx(20.0)
    assert f["mean_fan_in"] <= f["max_fan_in"] <= 200
    assert f["spike_probability"] == pytest.approx(0.01)     # 20 Hz x 0.5 ms
    assert (f["window"], f["n_delays"], f["plastic"], f["recurrent"]) == (8, 3, 0, 1)
    assert f["weight_bytes"] == 8


def test_projection_features_rate_or_probability_and_counts():
    a = projection_features(50, 50, n_synapses=250, spike_probability=0.002, dt=0.1)[0]
    b = projection_features(50, 50, connection_probability=0.1, rate_hz=20.0, dt=0.1)[0]
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_pre=0, n_post=5, connection_probability=0.1, rate_hz=1.0), "n_pre"),
    (dict(n_pre=5, n_post=5, rate_hz=1.0), "connection_probability"),
    (dict(n_pre=5, n_post=5, connection_probability=0.1), "rate_hz"),
    (dict(n_pre=5, n_post=5, connection_probability=0.1, rate_hz=1.0, window=0), "window"),
    (dict(n_pre=5, n_post=5, connection_probability=0.1, rate_hz=1.0, dt=0), "dt"),
])
def test_projection_features_errors_name_the_parameter(kwargs, word):
    n_pre, n_post = kwargs.pop("n_pre"), kwargs.pop("n_post")
    with pytest.raises(ValueError, match=word):
        projection_features(n_pre, n_post, **kwargs)


def test_features_from_connections():
    pre = np.array([0, 0, 1, 2, 2, 2])
    post = np.array([0, 1, 1, 0, 1, 2])
    delay = np.array([1, 1, 2, 1, 3, 1])
    f = dict(zip(FEATURE_NAMES, features_from_connections(pre, post, delay, 4, 3,
                                                          rate_hz=10.0, dt=1.0)[0]))
    assert f["n_synapses"] == 6 and f["max_fan_in"] == 3 and f["mean_fan_in"] == 2
    assert f["n_delays"] == 3 and f["connection_probability"] == pytest.approx(0.5)
    assert (f["min_delay"], f["max_delay"]) == (1, 3)


def test_delay_range_defaults_and_errors():
    f = dict(zip(FEATURE_NAMES, _features(n_delays=3)))
    assert (f["min_delay"], f["max_delay"]) == (1, 3)     # the narrowest range
    f = dict(zip(FEATURE_NAMES, _features(n_delays=2, min_delay=4, max_delay=9)))
    assert (f["min_delay"], f["max_delay"]) == (4, 9)
    with pytest.raises(ValueError, match="3 distinct delays"):
        _features(n_delays=3, min_delay=2, max_delay=3)


def test_model_inputs_finite_even_at_zero_rate():
    X = np.vstack([_features(spike_probability=0.0), _features(spike_probability=0.5)])
    inputs = model_inputs(X)
    assert inputs.shape[0] == 2 and np.isfinite(inputs).all()


# the shipped model ---------------------------------------------------------------------

def test_shipped_model_loads_without_sklearn_or_pickle():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np\n"
        "from pyNN_neuro.selector import load_model, predict, projection_features\n"
        "m = load_model('default')\n"
        "f = projection_features(64, 64, connection_probability=0.1, rate_hz=5, dt=0.1)[0]\n"
        "print(predict(f, m)[0])\n"
        "assert 'sklearn' not in [k for k, v in sys.modules.items() if v is not None]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("serial", "parallel")
    with np.load(default_model_path(), allow_pickle=False) as z:    # no object arrays
        assert all(z[k].dtype != object for k in z.files)


def test_sparse_low_rate_is_serial():
    paradigm, cost = predict(_features(connection_probability=0.01, rate_hz=2.0,
                                       spike_probability=None, window=10), "default")
    assert paradigm == "serial"
    assert 0 < cost["serial"] < cost["parallel"]


def test_dense_high_rate_large_window_is_parallel():
    paradigm, cost = predict(_features(spike_probability=0.3, window=200), "default")
    assert paradigm == "parallel"
    assert 0 < cost["parallel"] < cost["serial"]


@pytest.mark.parametrize("p", [1e-3, 0.05, 0.3, 0.5])
def test_plastic_is_always_serial(p):
    f = _features(spike_probability=p, window=200, plastic=True)
    paradigm, cost = predict(f, "default")
    assert paradigm == "serial" and cost["parallel"] == np.inf


def test_parallel_never_chosen_beyond_the_dense_memory_limit():
    f = _features(n_pre=40000, n_post=40000, spike_probability=0.4, window=200)
    assert predict(f, "default")[0] == "serial"


def test_predict_many_matches_predict():
    X = np.vstack([_features(spike_probability=p, window=K)
                   for p in (0.001, 0.02, 0.3) for K in (1, 50, 200)])
    paradigms, serial, parallel = predict_many(X, "default")
    for row, paradigm, s, q in zip(X, paradigms, serial, parallel):
        one, cost = predict(row, "default")
        assert one == paradigm
        assert cost == {"serial": pytest.approx(s), "parallel": pytest.approx(q)}


def test_shipped_model_evaluates_on_its_held_out_data():
    report = evaluate_model(default_model_path())
    for key in ("held_out_accuracy", "mean_regret", "worst_regret", "n_train", "n_test",
                "model"):
        assert key in report
    assert report["n_train"] + report["n_test"] >= 2000
    assert report["held_out_accuracy"] > 0.9


def test_evaluate_json_command():
    out = subprocess.run([sys.executable, "-m", "pyNN_neuro.calibrate", "--evaluate",
                          "--json", "--model-file", default_model_path()],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert {"held_out_accuracy", "mean_regret", "worst_regret", "n_train", "n_test",
            "model", "margin"} <= set(report)
    assert report["margin"] == load_model(default_model_path()).margin


# the decision margin -------------------------------------------------------------------

def _with_margin(model, margin):
    from pyNN_neuro.selector.model import SelectorModel
    return SelectorModel(model.kind, model.arrays, dict(model.meta, margin=margin))


def _training_rows(n=400):
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.dataset import load_dataset
    return load_dataset(default_data_path())["features"][:n]


def test_margin_moves_only_the_calls_within_it_to_serial():
    model = load_model("default")
    X = _training_rows()
    score = model.score(X)
    before = model.prefers_parallel(X)
    np.testing.assert_array_equal(before, score > model.margin)
    margin = model.margin + 0.1
    after = _with_margin(model, margin).prefers_parallel(X)
    flipped = before & ~after
    np.testing.assert_array_equal(flipped, (score > model.margin) & (score <= margin))
    assert flipped.any() and not (after & ~before).any()
    # a negative margin favours parallel
    assert (_with_margin(model, -0.1).prefers_parallel(X) >= before).all()


@pytest.mark.parametrize("margin", [-0.05, 0.0, 0.1])
def test_reported_costs_rank_the_paradigms_as_the_choice_does(margin):
    model = _with_margin(load_model("default"), margin)
    X = _training_rows()
    paradigms, serial, parallel = predict_many(X, model)
    supported = np.isfinite(parallel)
    np.testing.assert_array_equal((paradigms == "parallel")[supported],
                                  (parallel < serial)[supported])


def test_model_with_a_margin_round_trips(tmp_path):
    model = _with_margin(load_model("default"), 0.07)
    model.save(tmp_path / "m.npz")
    again = load_model(str(tmp_path / "m.npz"))
    assert again.margin == 0.07 and again.kind == model.kind
    X = _training_rows(100)
    np.testing.assert_array_equal(again.decision(X), model.decision(X))
    np.testing.assert_array_equal(predict_many(X, again)[0], predict_many(X, model)[0])


def test_models_saved_without_a_margin_have_none(tmp_path):
    from pyNN_neuro.selector.model import SelectorModel
    model = load_model("default")
    meta = {k: v for k, v in model.meta.items() if k not in ("margin", "margin_cv")}
    SelectorModel(model.kind, model.arrays, meta).save(tmp_path / "m.npz")
    again = SelectorModel.load(tmp_path / "m.npz")
    X = _training_rows(100)
    assert again.margin == 0.0
    np.testing.assert_array_equal(again.decision(X), model.score(X))


def test_choose_margin_removes_a_bias_towards_parallel():
    from pyNN_neuro.selector.train import choose_margin, margin_table
    # the true log(serial / parallel) densely spread, and scores that overrate parallel
    # by 0.15: only a margin of 0.15 makes no mistake
    log_ratio = np.linspace(-1.0, 1.0, 2001)
    serial, parallel = np.ones_like(log_ratio), np.exp(-log_ratio)
    fold = np.arange(len(log_ratio)) % 5
    table = margin_table(log_ratio + 0.15, fold, serial, parallel)
    assert choose_margin(table) == pytest.approx(0.15)
    row = {r["margin"]: r for r in table}
    assert row[0.15]["worst_regret"] == 0 and row[0.15]["accuracy"] == 1
    assert row[0.0]["worst_regret"] > 0.1 and row[0.0]["rows_above_10pct"] > 0
    # without the bias, no margin
    assert choose_margin(margin_table(log_ratio, fold, serial, parallel)) == 0.0


def test_choose_margin_breaks_ties_by_mean_regret_then_smallest():
    from pyNN_neuro.selector.train import choose_margin
    table = [dict(margin=m, fold_worst_regret=w, mean_regret=r) for m, w, r in
             [(-0.1, 0.2, 0.01), (0.0, 0.2, 0.02), (0.05, 0.2, 0.01), (0.1, 0.3, 0.0)]]
    # 0.1 has the lowest mean regret but a higher worst; -0.1 and 0.05 tie on both
    assert choose_margin(table) == 0.05
    table[2]["mean_regret"] = 0.015
    assert choose_margin(table) == -0.1


def test_shipped_margin_is_the_cross_validated_choice():
    from pyNN_neuro.selector.train import DEFAULT_MODEL, choose_margin
    model = load_model("default")
    assert model.name == DEFAULT_MODEL
    cv = model.meta["margin_cv"]
    assert cv["chosen"] == model.margin == choose_margin(cv["table"])
    assert cv["folds"] >= 5 and len(cv["table"]) > 10


def test_train_and_export_chooses_the_margin_on_training_rows_only(tmp_path):
    pytest.importorskip("sklearn")
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.dataset import load_dataset
    from pyNN_neuro.selector.train import MARGIN_GRID, split, train_and_export
    full = load_dataset(default_data_path())
    data = {key: full[key][:400] for key in ("features", "measurements")}
    data["meta"] = {}
    report = train_and_export(data, str(tmp_path / "auto.npz"),
                              kind="gradient_boosting_regressor")
    model = load_model(str(tmp_path / "auto.npz"))
    assert report["margin"] == model.margin == model.meta["margin_cv"]["chosen"]
    assert model.margin in MARGIN_GRID
    # the held-out rows are not in the cross-validation: change their costs, and the
    # choice stays
    train, test = split(400)
    data["measurements"] = data["measurements"].copy()
    data["measurements"][test, :2] = data["measurements"][test, 1::-1]
    again = train_and_export(data, str(tmp_path / "again.npz"),
                             kind="gradient_boosting_regressor")
    assert again["margin"] == report["margin"]
    fixed = train_and_export(data, str(tmp_path / "fixed.npz"),
                             kind="gradient_boosting_regressor", margin=0.07)
    assert fixed["margin"] == load_model(str(tmp_path / "fixed.npz")).margin == 0.07
    assert load_model(str(tmp_path / "fixed.npz")).meta["margin_cv"] is None


def test_calibrate_refuses_a_bad_margin():
    from pyNN_neuro.calibrate import main
    with pytest.raises(SystemExit, match="--margin"):
        main(["--data", "x.npz", "--margin", "wide"])


# measuring and a tiny calibration ------------------------------------------------------

def _config(n_pre, n_post, p_spike, window, delays=(1,), seed=1):
    return dict(n_pre=n_pre, n_post=n_post, connector="all_to_all", p_conn=1.0,
                fan_in=n_pre, delays=list(delays), window=window, spike_probability=p_spike,
                dt=0.1, recurrent=False, focus=False, seed=seed)


def test_stored_configurations_are_drawn_again_from_the_seed():
    # the shipped data store their configurations; drawing them again from the seed (the
    # pilot rows' first measurements steer the boundary filter) must give the same ones
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.dataset import load_dataset
    from pyNN_neuro.selector.measure import replay_configs
    data = load_dataset(default_data_path())
    stored = data.pop("configs")
    assert replay_configs(data) == stored


def test_stored_configurations_measure_to_their_rows():
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.dataset import load_dataset
    data = load_dataset(default_data_path())
    small = [i for i, c in enumerate(data["configs"]) if c["n_pre"] * c["n_post"] < 2000]
    for row in small[:3]:
        features, _ = measure(data["configs"][row], repeats=1)
        np.testing.assert_array_equal(features, data["features"][row])


def _measured_then_relabelled(tmp_path, monkeypatch, *options):
    """Three configurations measured, then all measured again with ``options``: the
    datasets before and after, and the two files."""
    monkeypatch.setenv("PYNN_NEURO_SELECTOR_DIR", str(tmp_path))
    from pyNN_neuro.calibrate import main
    from pyNN_neuro.selector.dataset import load_dataset
    first, again = tmp_path / "data.npz", tmp_path / "again.npz"
    assert main(["--samples", "3", "--no-train", "--quiet", "--out", str(first)]) == 0
    assert main(["--data", str(first), "--relabel-band", "100", *options, "--no-train",
                 "--quiet", "--out", str(again)]) == 0
    return load_dataset(first), load_dataset(again), first, again


def test_relabel_near_crossover_round_trip(tmp_path, monkeypatch):
    before, after, _, _ = _measured_then_relabelled(tmp_path, monkeypatch,
                                                    "--relabel-repeats", "2")
    assert after["configs"] == before["configs"]
    assert (after["n_measurements"] == 3).all() and after["deliver_repeats"].shape == (3, 3, 2)
    np.testing.assert_array_equal(after["deliver_repeats"][:, 0], before["measurements"][:, :2])
    np.testing.assert_allclose(after["measurements"][:, :2],
                               np.median(after["deliver_repeats"], axis=1))
    np.testing.assert_array_equal(after["measurements"][:, 2:], before["measurements"][:, 2:])
    assert after["meta"]["relabel"][0]["rows_measured_again"] == 3


def test_extended_data_keep_the_held_out_split(tmp_path):
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.dataset import load_dataset, merge_datasets, save_dataset
    from pyNN_neuro.selector.train import split, split_dataset
    full = load_dataset(default_data_path())
    n_base = full.get("split_rows") or len(full["features"])
    base = {key: full[key][:400] for key in ("features", "measurements", "origin")}
    extra = {key: full[key][400:600] for key in ("features", "measurements", "origin")}
    for part in (base, extra):
        part.update(seed=1, meta={"machine": full["meta"]["machine"]})
    merged = merge_datasets(base, extra, {"command": "test"})
    assert merged["split_rows"] == 400 and len(merged["features"]) == 600
    train, test = split_dataset(merged)
    np.testing.assert_array_equal(test, split(400)[1])
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(600))
    assert set(range(400, 600)) <= set(train)
    save_dataset(tmp_path / "merged.npz", merged, merged["meta"])
    again = load_dataset(tmp_path / "merged.npz")
    assert again["split_rows"] == 400
    assert again["meta"]["extended"][0]["first_row"] == 400
    # a dataset that was never extended splits all its rows
    np.testing.assert_array_equal(split_dataset(base)[1], split(400)[1])
    assert n_base <= len(full["features"])
    other = dict(extra, meta={"machine": dict(full["meta"]["machine"], cpu="another CPU")})
    with pytest.raises(ValueError, match="different machines.*cpu"):
        merge_datasets(base, other)


def test_calibrate_extend_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("PYNN_NEURO_SELECTOR_DIR", str(tmp_path))
    from pyNN_neuro.calibrate import main
    from pyNN_neuro.selector.dataset import load_dataset
    from pyNN_neuro.selector.measure import replay_configs
    first, second, merged = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "ab.npz"
    assert main(["--samples", "3", "--no-train", "--quiet", "--out", str(first)]) == 0
    assert main(["--samples", "2", "--seed", "7", "--no-train", "--quiet",
                 "--out", str(second)]) == 0
    with pytest.raises(SystemExit, match="--out"):
        main(["--data", str(first), "--extend", str(second), "--no-train"])
    with pytest.raises(SystemExit, match="no such file"):
        main(["--data", str(first), "--extend", str(tmp_path / "none.npz"),
              "--out", str(merged)])
    assert main(["--data", str(first), "--extend", str(second), "--no-train", "--quiet",
                 "--out", str(merged)]) == 0
    a, b, ab = load_dataset(first), load_dataset(second), load_dataset(merged)
    assert ab["split_rows"] == 3 and len(ab["features"]) == 5
    np.testing.assert_array_equal(ab["measurements"],
                                  np.concatenate([a["measurements"], b["measurements"]]))
    assert ab["configs"] == a["configs"] + b["configs"]
    # each part is drawn again from its own seed
    ab.pop("configs")
    assert replay_configs(ab) == a["configs"] + b["configs"]


def test_models_and_data_of_the_previous_version_are_refused_clearly(tmp_path):
    from pyNN_neuro.selector.dataset import PREVIOUS_FEATURE_NAMES, load_dataset
    from pyNN_neuro.selector.model import SelectorModel
    old = load_model("default")
    meta = dict(old.meta, serial_cost=[1e-7, 1e-8, 1e-9, 1e-11])
    meta.pop("serial_terms")
    SelectorModel(old.kind, old.arrays, meta).save(tmp_path / "old_model.npz")
    with pytest.raises(ValueError, match="retrain"):
        SelectorModel.load(tmp_path / "old_model.npz")
    np.savez(tmp_path / "old_data.npz", features=np.ones((2, 14)),
             measurements=np.ones((2, 6)), origin=np.zeros(2, np.int8), seed=np.array(1),
             feature_names=np.array(PREVIOUS_FEATURE_NAMES), meta=np.array("{}"))
    with pytest.raises(ValueError, match="upgrade"):
        load_dataset(tmp_path / "old_data.npz")


def test_memory_formula_is_exact():
    from pyNN_neuro.selector.measure import _PostGroup, _PreGroup, make_connections
    from pyNN_neuro.engine.delivery import StaticUnit
    from pyNN_neuro.engine.parallel import ParallelUnit
    config = _config(30, 20, 0.1, 7, delays=(1, 3))
    config.update(connector="fixed_probability", p_conn=0.3)
    pre_index, post_index, delay = make_connections(config, np.random.default_rng(0))
    features = features_from_connections(pre_index, post_index, delay, 30, 20,
                                         spike_probability=0.1, window=7)[0]
    expected = memory_bytes(features)
    for cls, bytes_ in zip((StaticUnit, ParallelUnit), expected):
        unit = cls("t", _PreGroup(30, 0.1), _PostGroup(20, 0.1, 11), "excitatory",
                   pre_index, post_index, np.linspace(0.1, 1.0, len(pre_index)), delay)
        unit.allocate(7, 11)
        assert unit_bytes(unit) == bytes_[0]
    # weights all one value: no weight array; delays too: neither a delay array nor the
    # permutation (until asked for)
    same_weight = StaticUnit("t", _PreGroup(30, 0.1), _PostGroup(20, 0.1, 11), "excitatory",
                             pre_index, post_index, np.ones(len(pre_index)), delay)
    assert unit_bytes(same_weight) == expected[0][0] - 8 * len(pre_index)
    one_delay = np.ones(len(pre_index), dtype=np.intc)
    features_one_delay = features_from_connections(pre_index, post_index, one_delay, 30, 20,
                                                   spike_probability=0.1, window=7)[0]
    serial_one_delay = memory_bytes(features_one_delay)[0][0]
    assert serial_one_delay == expected[0][0] - 4 * len(pre_index)
    homogeneous = StaticUnit("t", _PreGroup(30, 0.1), _PostGroup(20, 0.1, 11), "excitatory",
                             pre_index, post_index, np.ones(len(pre_index)), one_delay)
    assert unit_bytes(homogeneous) == serial_one_delay - 16 * len(pre_index)
    homogeneous.order, homogeneous.weight, homogeneous.delay
    assert unit_bytes(homogeneous) == expected[0][0]


def test_measure_returns_features_and_timings():
    features, m = measure(_config(40, 30, 0.05, 10), repeats=2)
    assert features.shape == (len(FEATURE_NAMES),) and m.shape == (6,)
    assert (m[:4] > 0).all() and m[5] > m[4] > 0


def test_tiny_calibration_round_trip(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("PYNN_NEURO_SELECTOR_DIR", str(tmp_path))
    from pyNN_neuro.calibrate import main
    from pyNN_neuro.selector.dataset import load_dataset, save_dataset
    from pyNN_neuro.selector.train import train_and_export

    # the command line: measure a handful of random configurations, no training
    data_file = tmp_path / "data.npz"
    assert main(["--samples", "4", "--no-train", "--quiet", "--out", str(data_file)]) == 0
    assert load_dataset(data_file)["features"].shape == (4, len(FEATURE_NAMES))

    # train, export and reload on configurations chosen to hold both labels
    configs = [_config(16, 16, 0.001, 1, seed=s) for s in range(4)] + \
              [_config(256, 256, 0.5, 128, seed=s) for s in range(4)]
    limiter = pin_threads()     # multi-threaded BLAS on 2 busy cores: erratic timings
    try:
        rows = [measure(c, repeats=5) for c in configs]
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    data = {"features": np.array([r[0] for r in rows]),
            "measurements": np.array([r[1] for r in rows]),
            "origin": np.zeros(len(rows), np.int8), "seed": np.array(0)}
    assert (data["measurements"][:4, 0] < data["measurements"][:4, 1]).all()
    assert (data["measurements"][4:, 1] < data["measurements"][4:, 0]).all()
    save_dataset(tmp_path / "training_data.npz", data, {"command": "test"})
    data = load_dataset(tmp_path / "training_data.npz")
    model_file = str(tmp_path / "model.npz")
    report = train_and_export(data, model_file, kind="decision_tree", test_fraction=0.25,
                              data_path=str(tmp_path / "training_data.npz"))
    assert report["n_train"] == 6 and report["n_test"] == 2
    model = load_model(model_file)
    assert list(predict_many(data["features"], model)[0]) == ["serial"] * 4 + ["parallel"] * 4
    again = evaluate_model(model_file)
    assert again["held_out_accuracy"] == report["held_out_accuracy"]


@pytest.mark.parametrize("kind", ["gradient_boosting", "ada_boost", "random_forest",
                                  "extra_trees", "decision_tree", "logistic_regression",
                                  "gradient_boosting_regressor",
                                  "gradient_boosting_cost_regressors"])
def test_exported_models_agree_with_sklearn(kind):
    pytest.importorskip("sklearn")
    from pyNN_neuro.selector.dataset import load_dataset
    from pyNN_neuro.selector import default_data_path
    from pyNN_neuro.selector.model import check_export
    from pyNN_neuro.selector.train import fit_selector

    data = load_dataset(default_data_path())
    model, estimator = fit_selector(kind, data["features"][:600], data["measurements"][:600])
    assert check_export(model, estimator, data["features"][600:1200]) < 0.005


def test_relabel_across_processes_round_trip(tmp_path, monkeypatch):
    from pyNN_neuro.calibrate import main
    before, after, first, again = _measured_then_relabelled(
        tmp_path, monkeypatch, "--relabel-processes", "2")
    assert after["configs"] == before["configs"]
    samples = after["process_repeats"]
    assert samples.shape == (3, 3, 2) and not np.isnan(samples).any()
    # the previous value is the first column, one more per process, each a measurement
    # of its own (timings never repeat to the bit)
    np.testing.assert_array_equal(samples[:, 0], before["measurements"][:, :2])
    assert not np.array_equal(samples[:, 1], samples[:, 2])
    np.testing.assert_allclose(after["measurements"][:, :2], np.median(samples, axis=1))
    np.testing.assert_array_equal(after["measurements"][:, 2:], before["measurements"][:, 2:])
    info = after["meta"]["relabel"][0]
    assert info["processes"] == 2 and info["rows_measured_per_process"] == [3, 3]
    with pytest.raises(SystemExit, match="--relabel-processes needs --relabel-band"):
        main(["--data", str(first), "--relabel-processes", "2", "--out", str(again)])


def test_spike_probability_range_of_generated_configurations(tmp_path, monkeypatch):
    monkeypatch.setenv("PYNN_NEURO_SELECTOR_DIR", str(tmp_path))
    from pyNN_neuro.calibrate import main
    from pyNN_neuro.selector.dataset import load_dataset
    from pyNN_neuro.selector.measure import replay_configs, sample_config
    out = tmp_path / "data.npz"
    assert main(["--samples", "4", "--no-train", "--quiet", "--seed", "5",
                 "--spike-probability", "0.2:0.4", "--out", str(out)]) == 0
    data = load_dataset(out)
    probability = [c["spike_probability"] for c in data["configs"]]
    assert all(0.2 <= p <= 0.4 for p in probability)
    assert data["meta"]["spike_probability_range"] == [0.2, 0.4]
    stored = data.pop("configs")
    assert replay_configs(data) == stored
    # the same draws as the default ranges: only the spike probabilities differ
    default = sample_config(np.random.default_rng(9))
    narrowed = sample_config(np.random.default_rng(9), (0.2, 0.4))
    assert {k: v for k, v in default.items() if k != "spike_probability"} == \
        {k: v for k, v in narrowed.items() if k != "spike_probability"}
    with pytest.raises(SystemExit, match="--spike-probability must be LOW:HIGH"):
        main(["--samples", "4", "--spike-probability", "0.5:0.1", "--out", str(out)])
