"""Timing both paradigms on generated layer configurations (the selector's training data).

For one configuration (sizes, connectivity, presynaptic spike probability per step, window
K, delays) we generate the connections and the presynaptic spike lists (Bernoulli per
neuron and step, fixed seed), then build the engine's real delivery units,
``StaticUnit`` (serial) and ``ParallelUnit`` (parallel), against small stand-in groups
that expose exactly what the units read (``size``, ``dt``, ``n_spikes``, ``spike_k``,
``spike_i``, ``ring``, ``receptor_names``). Recorded per paradigm:

- ``deliver``: CPU seconds of ``deliver()`` per simulated step, the minimum over
  repetitions of a pass over the same windows, the two paradigms' passes alternating
  (timings on a shared 2-core machine are noisy: CPU time leaves out the time slices other
  processes take, the minimum is the least disturbed pass, and alternating makes what
  disturbance is left, such as a contended memory bus, hit both paradigms alike). A pass has at least 256 steps and 24 windows holding a
  spike, within caps on its length;
- ``build``: seconds to construct and ``allocate`` the unit (best of two when cheap);
- ``memory``: bytes of the arrays the unit holds.

BLAS must run on one thread while timing (see ``pin_threads``); multi-threaded BLAS on a
loaded 2-core machine gives timings that vary by 50x from run to run.
"""
import gc
import math
import time

import numpy as np

from .features import FEATURE_NAMES, projection_features

#: columns of the measurement table, besides the raw features
MEASURE_NAMES = ("serial_deliver_s", "parallel_deliver_s", "serial_build_s",
                 "parallel_build_s", "serial_bytes", "parallel_bytes")

# bounds that keep one configuration's build and timing to a fraction of a second
MAX_DENSE_ELEMENTS = 6_000_000      # n_delays x n_pre x n_post (48 MB of float64)
MAX_SYNAPSES = 2_500_000
MAX_EVENTS_PER_PASS = 60_000_000    # spikes x fan-out over the timed steps
MIN_NONEMPTY_WINDOWS = 24
MAX_STEPS = 16384
MAX_RASTER = 40_000_000             # steps x n_pre Bernoulli draws
#: timing passes per paradigm: at least MIN_PASSES, up to REPEATS within the budget
MIN_PASSES = 3
REPEATS = 9
#: shortest timed sample (s): cheap passes are repeated within one sample
MIN_SAMPLE_S = 0.002


def pin_threads():
    """Limit BLAS and OpenMP to one thread with threadpoolctl. Returns the limiter (keep a
    reference) or None when threadpoolctl is not installed: then the caller must have set
    OPENBLAS_NUM_THREADS=1 etc. before numpy was imported (``calibrate`` does, by
    re-running itself in a subprocess)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)


class _PreGroup:
    """What a delivery unit reads from its presynaptic group."""

    def __init__(self, size, dt):
        self.size = size
        self.dt = dt
        self.n_spikes = 0
        self.spike_k = np.zeros(1, dtype=np.intc)
        self.spike_i = np.zeros(1, dtype=np.intc)


class _PostGroup:
    """What a delivery unit reads from its postsynaptic group."""

    receptor_names = ("excitatory",)

    def __init__(self, size, dt, ring_length):
        self.size = size
        self.dt = dt
        self.ring = np.zeros((1, ring_length, size))


def sample_config(rng, spike_probability_range=None):
    """One random layer configuration (a dict), drawn to span the crossover.

    Two populations of configurations, half each. *Broad*: sizes 8-4096, connection
    probability 0.1%-100% (three connector kinds), spike probability per step 1e-4-0.5,
    windows 1-256 steps (all log-uniform), 1-6 distinct delays. *Near the crossover*: the
    same, but spike probability 0.5%-50% and connection probability 5%-100%, where
    neither paradigm wins by much (broad sampling alone is ~90% serial wins). A quarter of
    all configurations are recurrent, and then K <= the smallest delay, as the engine
    imposes. Dense matrices are capped at ``MAX_DENSE_ELEMENTS`` so that one
    configuration takes a fraction of a second. ``spike_probability_range`` (low, high)
    replaces both spike probability ranges (log-uniform still; the same random draws, so
    the rest of the sequence is unchanged): more configurations where a network's
    activity lies, or where a model needs them."""
    focus = rng.random() < 0.5
    while True:
        recurrent = rng.random() < 0.25
        n_pre = int(round(math.exp(rng.uniform(math.log(8), math.log(4096)))))
        if recurrent and rng.random() < 0.6:
            n_post = n_pre
        else:
            n_post = int(round(math.exp(rng.uniform(math.log(8), math.log(4096)))))
        kind = rng.choice(["fixed_probability", "fixed_number_pre", "all_to_all"],
                          p=[0.6, 0.25, 0.15])
        low_p = math.log(0.05 if focus else 1e-3)
        if kind == "fixed_probability":
            p_conn = math.exp(rng.uniform(low_p, 0.0))
            fan_in = None
        elif kind == "fixed_number_pre":
            fan_in = int(round(math.exp(rng.uniform(max(0.0, low_p + math.log(n_pre)),
                                                    math.log(n_pre)))))
            p_conn = fan_in / n_pre
        else:
            p_conn, fan_in = 1.0, n_pre
        if p_conn * n_pre * n_post < 1:
            continue
        n_delays = int(rng.choice([1, 2, 3, 4, 6], p=[0.45, 0.2, 0.15, 0.1, 0.1]))
        max_delay = int(rng.integers(max(n_delays, 1), max(n_delays, 20) + 1))
        delays = np.sort(rng.choice(np.arange(1, max_delay + 1), size=n_delays, replace=False))
        if recurrent:
            window = int(rng.integers(1, delays[0] + 1))
        else:
            window = int(round(math.exp(rng.uniform(0.0, math.log(256)))))
        low_rate, high_rate = math.log(5e-3 if focus else 1e-4), math.log(0.5)
        if spike_probability_range is not None:
            low_rate, high_rate = (math.log(x) for x in spike_probability_range)
        spike_probability = math.exp(rng.uniform(low_rate, high_rate))
        dt = float(rng.choice([0.1, 0.25, 0.5, 1.0]))
        if n_delays * n_pre * n_post > MAX_DENSE_ELEMENTS:
            continue
        if p_conn * n_pre * n_post > MAX_SYNAPSES:
            continue
        return dict(n_pre=n_pre, n_post=n_post, connector=str(kind), p_conn=p_conn,
                    fan_in=fan_in, delays=delays.astype(int).tolist(), window=window,
                    spike_probability=spike_probability, dt=dt, recurrent=bool(recurrent),
                    focus=bool(focus), seed=int(rng.integers(2 ** 31)))


def make_connections(config, rng):
    """(pre_index, post_index, delay_steps) for a configuration."""
    n_pre, n_post = config["n_pre"], config["n_post"]
    if config["connector"] == "all_to_all":
        pre = np.repeat(np.arange(n_pre), n_post)
        post = np.tile(np.arange(n_post), n_pre)
    elif config["connector"] == "fixed_number_pre":
        k = config["fan_in"]
        # k distinct presynaptic neurons per postsynaptic neuron
        keys = rng.random((n_post, n_pre))
        pre = np.argpartition(keys, k - 1, axis=1)[:, :k].ravel() if k < n_pre else \
            np.tile(np.arange(n_pre), n_post)
        post = np.repeat(np.arange(n_post), k)
    else:
        n = n_pre * n_post
        count = max(1, rng.binomial(n, config["p_conn"]))    # a projection has a synapse
        flat = rng.choice(n, size=count, replace=False) if count < n else np.arange(n)
        pre, post = np.divmod(flat, n_post)
    delays = np.asarray(config["delays"])
    delay = delays[rng.integers(0, len(delays), size=pre.size)]
    return pre.astype(np.int64), post.astype(np.int64), delay.astype(np.intc)


def make_spikes(n_pre, probability, window, n_windows, rng):
    """Per window: (spike_k, spike_i, n) sorted by step then neuron, as a group emits them."""
    out = []
    for _ in range(n_windows):
        raster = rng.random((window, n_pre)) < probability
        k, i = np.nonzero(raster)
        out.append((np.ascontiguousarray(k, dtype=np.intc),
                    np.ascontiguousarray(i, dtype=np.intc), int(k.size)))
    return out


def unit_bytes(unit):
    """Bytes of the numpy arrays a delivery unit holds (lists of arrays included), not
    counting the connection arrays it only refers to (``StaticUnit._connections``: the
    projection's own)."""
    total = 0
    for name, value in vars(unit).items():
        if name == "_connections":
            continue
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, (list, tuple)):
            total += sum(v.nbytes for v in value if isinstance(v, np.ndarray))
    return total


def _pass_seconds(unit, pre, windows, window, repetitions=1):
    """CPU time of this thread (s) for ``repetitions`` passes of ``unit.deliver`` over
    ``windows``. CPU time, not wall time: on a loaded machine the scheduler takes the core
    away for whole time slices, which wall time counts and CPU time does not (BLAS and
    OpenMP are pinned to one thread, so all the work is done by this thread)."""
    t0 = time.thread_time()
    for _ in range(repetitions):
        for w, (k, i, n) in enumerate(windows):
            pre.spike_k, pre.spike_i, pre.n_spikes = k, i, n
            unit.deliver(w * window, window)
    return time.thread_time() - t0


def _time_interleaved(units, windows, window, repeats, budget_s):
    """Seconds per simulated step of each unit (a dict name -> (unit, pre group)).

    One untimed pass each first (caches, page faults of fresh arrays), which also says how
    many passes make a timed sample of at least ``MIN_SAMPLE_S`` (a sample of a fraction
    of a millisecond is at the mercy of a single interrupt). Then the minimum over
    samples, the paradigms' samples alternating (A B B A A B ...) so that a disturbance of
    the machine (the other core busy, a frequency change) falls on both alike instead of
    on whichever was timed second: at least ``MIN_PASSES`` samples each, then more, up
    to ``repeats``, while the time spent stays under ``budget_s``."""
    names = list(units)
    repetitions = {}
    for name in names:
        unit, pre = units[name]
        warm = _pass_seconds(unit, pre, windows, window)
        repetitions[name] = max(1, math.ceil(MIN_SAMPLE_S / max(warm, 1e-9)))
    best = {name: math.inf for name in names}
    spent = 0.0
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            unit, pre = units[name]
            elapsed = _pass_seconds(unit, pre, windows, window, repetitions[name])
            best[name] = min(best[name], elapsed / repetitions[name])
            spent += elapsed
        if r + 1 >= MIN_PASSES and spent > budget_s:
            break
    n_steps = window * len(windows)
    return {name: value / n_steps for name, value in best.items()}


def _drawn_synapses(config):
    """What ``measure`` draws for ``config``, from its seed, in this order: (the random
    stream, for the spikes drawn next, pre_index, post_index, delay steps, weights), and
    the ring length its units need."""
    rng = np.random.default_rng(config["seed"])
    pre_index, post_index, delay = make_connections(config, rng)
    weight = rng.normal(0.1, 0.02, size=pre_index.size)
    return (rng, pre_index, post_index, delay, weight,
            config["window"] + max(config["delays"]) + 1)


def unit_sizes(config):
    """(serial bytes, parallel bytes): ``unit_bytes`` of the units ``measure`` builds for
    ``config`` (the same connections and weights), built now, without timing."""
    from ..engine.delivery import StaticUnit
    from ..engine.parallel import ParallelUnit

    _, pre_index, post_index, delay, weight, ring_length = _drawn_synapses(config)
    sizes = []
    for cls in (StaticUnit, ParallelUnit):
        unit = cls("calibration", _PreGroup(config["n_pre"], config["dt"]),
                   _PostGroup(config["n_post"], config["dt"], ring_length), "excitatory",
                   pre_index, post_index, weight, delay)
        unit.allocate(config["window"], ring_length)
        sizes.append(unit_bytes(unit))
    return tuple(sizes)


def measure(config, repeats=REPEATS, budget_s=0.15, min_steps=256):
    """Build both paradigms for ``config`` and time them. Returns (features, measurements),
    two float arrays in ``FEATURE_NAMES`` and ``MEASURE_NAMES`` order."""
    from ..engine.delivery import StaticUnit
    from ..engine.parallel import ParallelUnit

    n_pre, n_post, K = config["n_pre"], config["n_post"], config["window"]
    rng, pre_index, post_index, delay, weight, ring_length = _drawn_synapses(config)
    fan_in = np.bincount(post_index, minlength=n_post)
    # at least min_steps steps and MIN_NONEMPTY_WINDOWS windows that hold a spike (the
    # parallel paradigm skips empty ones: at low activity its cost is in the few others),
    # fewer when the serial pass or the spike raster would be very long
    p = min(config["spike_probability"], 1.0 - 1e-12)
    nonempty = -math.expm1(n_pre * K * math.log1p(-p))
    events_per_step = n_pre * config["spike_probability"] * pre_index.size / n_pre
    steps = max(min_steps, K * math.ceil(MIN_NONEMPTY_WINDOWS / max(nonempty, 1e-9)))
    steps = min(steps, MAX_STEPS, MAX_RASTER // n_pre,
                int(MAX_EVENTS_PER_PASS / max(events_per_step, 1.0)))
    n_windows = max(1, -(-steps // K))
    windows = make_spikes(n_pre, config["spike_probability"], K, n_windows, rng)

    units, build, size = {}, {}, {}
    for name, cls in (("serial", StaticUnit), ("parallel", ParallelUnit)):
        pre = _PreGroup(n_pre, config["dt"])
        post = _PostGroup(n_post, config["dt"], ring_length)
        build[name] = math.inf
        for attempt in range(2):
            gc.collect()
            t0 = time.perf_counter()
            unit = cls("calibration", pre, post, "excitatory", pre_index, post_index, weight,
                       delay)
            unit.allocate(K, ring_length)
            elapsed = time.perf_counter() - t0
            build[name] = min(build[name], elapsed)
            if elapsed > 0.05:
                break
        units[name] = (unit, pre)
        size[name] = unit_bytes(unit)
    deliver = _time_interleaved(units, windows, K, repeats, budget_s)
    del units
    features, _ = projection_features(
        n_pre, n_post, n_synapses=float(pre_index.size), mean_fan_in=float(fan_in.mean()),
        max_fan_in=float(fan_in.max()), spike_probability=config["spike_probability"],
        dt=config["dt"], window=K, n_delays=len(np.unique(delay)),
        min_delay=int(delay.min()), max_delay=int(delay.max()), plastic=False,
        recurrent=config["recurrent"])
    return features, np.array([deliver["serial"], deliver["parallel"], build["serial"],
                               build["parallel"], size["serial"], size["parallel"]],
                              dtype=float)


def machine_description():
    """A dict saying where the timings were taken (stored with the data)."""
    import os
    import platform

    info = {"machine": platform.machine(), "processor": platform.processor(),
            "python": platform.python_version(), "numpy": np.__version__,
            "cpu_count": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture",
                                               "num_threads")}
                        for p in threadpool_info() if p.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = "threadpoolctl not installed; " + ", ".join(
            f"{k}={os.environ.get(k)}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return info


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total, max_seconds=None, enabled=True, label="calibrate"):
        import sys
        self.total = total
        self.max_seconds = max_seconds
        self.enabled = enabled
        self.label = label
        self.stream = sys.stderr
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, done, force=False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        elapsed = now - self.start
        fraction = done / self.total if self.total else 1.0
        if self.max_seconds:
            fraction = max(fraction, elapsed / self.max_seconds)
        fraction = min(fraction, 1.0)
        width = 30
        bar = "#" * int(width * fraction) + "-" * (width - int(width * fraction))
        left = elapsed / fraction - elapsed if fraction > 0 else float("nan")
        self.stream.write(f"\r{self.label}: [{bar}] {done}/{self.total} configurations, "
                          f"{elapsed:6.0f} s elapsed, ~{left:5.0f} s left ")
        self.stream.flush()

    def close(self, done):
        if self.enabled:
            self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _screening_terms(features):
    """The work counts of the pilot cost model that screens candidate configurations
    (``_boundary_filter``): per-window calls, spikes, events and events x log(n_post) for
    the serial paradigm, ``model.cost_terms``' parallel terms as of the 6000-configuration
    dataset (2026-12). Frozen here, apart from the selector's cost model, so that the
    configurations a seed draws stay the same when that model changes
    (``replay_configs``)."""
    from .features import window_work
    X = np.atleast_2d(np.asarray(features, dtype=float))
    c = {name: X[:, FEATURE_NAMES.index(name)] for name in
         ("n_pre", "n_post", "n_synapses", "spike_probability", "window", "n_delays")}
    K = c["window"]
    spikes, events, nonempty, active, gathered, rows, per_row = window_work(c)
    serial = np.column_stack([1.0 / K, spikes, events, events * np.log(c["n_post"] + 1.0)])
    parallel = np.column_stack([
        nonempty / K, nonempty * c["n_delays"] / K, nonempty * rows, spikes,
        np.where(gathered, active, 0.0) * per_row / K, nonempty * rows * per_row,
        nonempty * per_row])
    return serial, parallel


def _boundary_filter(features, measurements):
    """A function config -> predicted |log(serial cost / parallel cost)|, from a cost
    model (``_screening_terms``) fitted on the configurations measured so far; None
    without scipy."""
    try:
        from .model import fit_nonnegative
        features = np.asarray(features, dtype=float)
        measurements = np.asarray(measurements, dtype=float)
        s_terms, p_terms = _screening_terms(features)
        serial_cost = fit_nonnegative(s_terms, measurements[:, 0])
        parallel_cost = fit_nonnegative(p_terms, measurements[:, 1])
    except ImportError:
        return None

    def distance(config):
        n_pre, n_post = config["n_pre"], config["n_post"]
        f, _ = projection_features(
            n_pre, n_post, connection_probability=config["p_conn"],
            spike_probability=config["spike_probability"], dt=config["dt"],
            window=config["window"], n_delays=len(config["delays"]),
            recurrent=config["recurrent"])
        s_terms, p_terms = _screening_terms(f)
        serial, parallel = s_terms @ serial_cost, p_terms @ parallel_cost
        return float(abs(np.log(serial[0] / parallel[0])))
    return distance


#: origin of a configuration in the data: drawn broadly, near the crossover by ranges, or
#: accepted because a pilot cost model put it near the crossover
ORIGINS = ("broad", "focus", "boundary")


def generate(n_samples, seed=12345, max_seconds=None, progress=True, repeats=REPEATS,
             checkpoint=None, checkpoint_every=250, pilot_fraction=0.4,
             boundary_band=1.2, off_band_acceptance=0.1, spike_probability_range=None):
    """Measure ``n_samples`` random configurations (fewer if ``max_seconds`` runs out).

    The first ``pilot_fraction`` come from ``sample_config``. Then a cost model fitted on
    them screens further candidates: those it predicts within a factor
    exp(``boundary_band``) of the crossover are measured, others only with probability
    ``off_band_acceptance``, so that most of the data lies where the choice is hard.

    Returns a dict of arrays: ``features`` (n x len(FEATURE_NAMES)), ``measurements``
    (n x len(MEASURE_NAMES)), ``origin`` (n, index into ``ORIGINS``) and ``seed``.
    ``checkpoint(data)`` is called every ``checkpoint_every`` configurations, so that an
    interrupted run keeps what it measured. ``spike_probability_range``: see
    ``sample_config``."""
    rng = np.random.default_rng(seed)
    limiter = pin_threads()
    try:
        return _generate(rng, n_samples, seed, max_seconds, progress, repeats, checkpoint,
                         checkpoint_every, pilot_fraction, boundary_band,
                         off_band_acceptance, spike_probability_range)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


def _candidates(rng, n_samples, pilot_rows, pilot_fraction, boundary_band,
                off_band_acceptance, spike_probability_range=None):
    """The configurations ``generate`` measures, in order, as (config, origin index).

    ``pilot_rows(n)`` must return the (features, measurements) of the first ``n``
    configurations once they are measured: the boundary filter is fitted on them. The
    sequence depends only on ``rng``'s seed and those pilot rows, so that the
    configurations of a stored dataset can be drawn again (``replay_configs``)."""
    n_pilot = max(1, int(round(pilot_fraction * n_samples)))
    distance = None
    for done in range(n_samples):
        if done == n_pilot and n_pilot >= 50:
            distance = _boundary_filter(*pilot_rows(n_pilot))
        while True:
            config = sample_config(rng, spike_probability_range)
            kind = ORIGINS.index("focus" if config["focus"] else "broad")
            if distance is None:
                break
            if distance(config) < boundary_band:
                kind = ORIGINS.index("boundary")
                break
            if rng.random() < off_band_acceptance:
                break
        yield config, kind


def _generate(rng, n_samples, seed, max_seconds, progress, repeats, checkpoint,
              checkpoint_every, pilot_fraction, boundary_band, off_band_acceptance,
              spike_probability_range):
    bar = Progress(n_samples, max_seconds, enabled=progress)
    start = time.perf_counter()
    features, measurements, origin, configs = [], [], [], []

    def pack():
        return {"features": np.array(features, dtype=float).reshape(-1, len(FEATURE_NAMES)),
                "measurements": np.array(measurements, dtype=float).reshape(-1, 6),
                "origin": np.array(origin, dtype=np.int8), "seed": np.array(seed),
                "configs": list(configs)}

    candidates = _candidates(rng, n_samples, lambda n: (features[:n], measurements[:n]),
                             pilot_fraction, boundary_band, off_band_acceptance,
                             spike_probability_range)
    try:
        for done in range(n_samples):
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                break
            config, kind = next(candidates)
            f, m = measure(config, repeats=repeats)
            features.append(f)
            measurements.append(m)
            origin.append(kind)
            configs.append(config)
            bar.update(done + 1)
            if checkpoint is not None and (done + 1) % checkpoint_every == 0:
                checkpoint(pack())
    except KeyboardInterrupt:
        if progress:
            import sys
            sys.stderr.write("\ninterrupted: keeping the configurations measured so far\n")
    bar.close(len(features))
    return pack()


#: how ``generate`` was called, stored in a dataset's meta so that its configurations can
#: be drawn again (``replay_configs``); older datasets hold the defaults
GENERATE_DEFAULTS = {"pilot_fraction": 0.4, "boundary_band": 1.2, "off_band_acceptance": 0.1,
                     "spike_probability_range": None}


def requested_samples(meta, n_rows):
    """The ``n_samples`` a dataset was generated with (the pilot's size depends on it):
    its meta's ``samples_requested``, else the ``--samples`` of its command, else the
    number of rows it holds."""
    if meta.get("samples_requested"):
        return int(meta["samples_requested"])
    words = str(meta.get("command", "")).split()
    for flag, value in zip(words, words[1:]):
        if flag == "--samples":
            return int(value)
    return int(n_rows)


def replay_configs(data):
    """The configuration of every row of a dataset made by ``generate``: those it stores,
    else drawn again (same seed, and the boundary filter fitted on the dataset's own
    pilot rows, as when it was made).

    Raises ValueError if a drawn configuration does not match its row (a dataset made by
    another version of ``sample_config``, or merged from several runs)."""
    if data.get("configs") is not None:
        return list(data["configs"])
    meta = data.get("meta") or {}
    if meta.get("extended"):
        # merged from several runs (``dataset.merge_datasets``): each part from its own
        # seed and settings
        parts = [(0, int(data["seed"]), {k: v for k, v in meta.items() if k != "extended"})]
        parts += [(int(e["first_row"]), int(e["seed"]), e.get("meta") or {})
                  for e in meta["extended"]]
        bounds = [first for first, _, _ in parts[1:]] + [len(data["features"])]
        configs = []
        for (first, seed, part_meta), end in zip(parts, bounds):
            part = {name: data[name][first:end] for name in
                    ("features", "measurements", "origin", "deliver_repeats",
                     "process_repeats") if data.get(name) is not None}
            configs += replay_configs(dict(part, seed=seed, meta=part_meta))
        return configs
    n_rows = len(data["features"])
    n_samples = requested_samples(meta, n_rows)
    settings = {k: meta.get(k, v) for k, v in GENERATE_DEFAULTS.items()}
    rng = np.random.default_rng(int(data["seed"]))
    from .dataset import first_measurements
    features, measurements = data["features"], np.array(data["measurements"])
    # rows measured again (relabel_near_crossover, relabel_across_processes): the filter
    # saw the first measurements
    measurements[:, :2] = first_measurements(data)
    candidates = _candidates(rng, n_samples, lambda n: (features[:n], measurements[:n]),
                             **settings)
    configs = []
    for row in range(n_rows):
        config, kind = next(candidates)
        if not _config_matches(config, features[row]) or kind != int(data["origin"][row]):
            raise ValueError(f"configuration {row} drawn again does not match the stored "
                             f"row: the data were not made by this version's generate() "
                             f"with seed {int(data['seed'])} and {n_samples} samples")
        configs.append(config)
    return configs


def _config_matches(config, feature_row):
    """Whether a configuration is the one a feature row was measured on (the features
    that do not depend on the drawn connections)."""
    row = dict(zip(FEATURE_NAMES, feature_row))
    return (row["n_pre"] == config["n_pre"] and row["n_post"] == config["n_post"]
            and row["spike_probability"] == config["spike_probability"]
            and row["window"] == config["window"] and row["dt_ms"] == config["dt"]
            and row["n_delays"] <= len(config["delays"])
            and bool(row["recurrent"]) == config["recurrent"])


def _relabel_record(ratio_before, ratio_after, start, load_before, **fields):
    """The dataset meta's record of one relabelling: ``fields``, how many labels changed
    (log ratios of the rows measured, before and after), the seconds since ``start`` and
    the load averages."""
    import os
    return dict(fields,
                labels_changed=int(np.sum((ratio_before > 0) != (ratio_after > 0))),
                seconds=round(time.perf_counter() - start, 1),
                load_average_before=[round(x, 2) for x in load_before],
                load_average_after=[round(x, 2) for x in os.getloadavg()],
                date=time.strftime("%Y-%m-%d %H:%M:%S"))


def relabel_near_crossover(data, band=0.25, repeats=4, progress=True, max_seconds=None):
    """Measure again the configurations whose paradigms are nearly tied, so that their
    labels rest on more than one measurement.

    Rows whose measured |log(serial cost / parallel cost)| is below ``band``, and that
    were not measured again before (a narrower band), are measured ``repeats`` more times
    each (``measure``: the same connections and spikes, min of
    alternating passes per paradigm), and their delivery times are replaced by the
    median, per paradigm, of the per-measurement minimums, the stored measurement
    included. Build times and bytes are kept. A measurement's minimum can be disturbed by
    a burst of load on the other core; the median of several is not, unless most are.

    Returns a new data dict: ``measurements`` updated, ``n_measurements`` (per row, how
    many measurements its delivery times are the median of) and ``deliver_repeats``
    (rows x (repeats + 1) x 2 delivery seconds per step, serial then parallel, NaN where
    not measured); and a dict describing what was done (for the dataset's meta).
    Stops early (keeping what it has) after ``max_seconds``."""
    import os

    measurements = np.array(data["measurements"], dtype=float)
    ratio = np.log(measurements[:, 0] / measurements[:, 1])
    configs = replay_configs(data)
    previous = data.get("n_measurements")
    n_measurements = np.ones(len(measurements), dtype=np.int16) if previous is None \
        else np.array(previous, dtype=np.int16)
    # rows measured again before (a narrower band, or an interrupted run) are kept
    rows = np.flatnonzero((np.abs(ratio) < band) & (n_measurements == 1))
    if data.get("deliver_repeats") is not None:
        samples = np.array(data["deliver_repeats"], dtype=float)
        if samples.shape[1] != repeats + 1:
            raise ValueError(f"this dataset's rows were measured {samples.shape[1]} times "
                             f"each, not {repeats + 1}: give --relabel-repeats "
                             f"{samples.shape[1] - 1}")
    else:
        samples = np.full((len(measurements), repeats + 1, 2), np.nan)
        samples[:, 0, :] = measurements[:, :2]
    bar = Progress(len(rows), max_seconds, enabled=progress, label="relabel")
    load_before = os.getloadavg()
    start = time.perf_counter()
    limiter = pin_threads()
    done = 0
    try:
        for done, row in enumerate(rows):
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                break
            for r in range(1, repeats + 1):
                features, m = measure(configs[row])
                if not np.array_equal(features, data["features"][row]):
                    raise ValueError(f"configuration {row} measured again has features "
                                     f"{features}, the dataset {data['features'][row]}")
                samples[row, r] = m[:2]
            measurements[row, :2] = np.median(samples[row], axis=0)
            n_measurements[row] = repeats + 1
            bar.update(done + 1)
        else:
            done = len(rows)
    except KeyboardInterrupt:
        if progress:
            import sys
            sys.stderr.write("\ninterrupted: keeping the rows measured again so far\n")
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    bar.close(done)
    new_ratio = np.log(measurements[:, 0] / measurements[:, 1])
    relabelled = rows[:done]
    info = _relabel_record(
        ratio[relabelled], new_ratio[relabelled], start, load_before, band=band,
        repeats=repeats, rows_to_measure=int(len(rows)), rows_measured_again=int(done),
        timing=f"rows with |log(serial/parallel)| < {band}: median per paradigm of "
               f"{repeats + 1} measurements (each min of alternating passes), the stored "
               f"one included")
    out = dict(data, measurements=measurements, n_measurements=n_measurements,
               deliver_repeats=samples, configs=configs)
    return out, info


def relabel_across_processes(data, band=0.25, processes=4, progress=True,
                             max_seconds=None):
    """Measure the nearly tied configurations again, once in each of ``processes`` fresh
    Python processes run one after the other, and label each by the median across
    processes, per paradigm.

    Measurements taken in one process agree with each other far better than with those
    of another process: where the process's arrays happen to lie in memory changes a
    paradigm's cost by up to ~20% here, for the life of the process. Repeats in one
    process (``relabel_near_crossover``) share that draw; repeats in several processes do
    not. Rows whose current |log(serial cost / parallel cost)| is below ``band`` are
    measured; their current delivery times (from the process that measured them first,
    or an earlier relabelling's median) count as one process. Build times and bytes are
    kept.

    Returns a new data dict, with ``process_repeats`` (rows x (processes + 1) x 2
    delivery seconds per step, serial then parallel: the current values, then one column
    per process; NaN where not measured), and a dict describing what was done. Stops
    early after ``max_seconds`` (rows a process did not reach keep fewer values)."""
    import os
    import subprocess
    import sys
    import tempfile
    from ..calibrate import _THREAD_VARIABLES
    from .dataset import save_dataset

    measurements = np.array(data["measurements"], dtype=float)
    ratio = np.log(measurements[:, 0] / measurements[:, 1])
    rows = np.flatnonzero(np.abs(ratio) < band)
    configs = replay_configs(data)
    samples = np.full((len(measurements), processes + 1, 2), np.nan)
    samples[:, 0, :] = measurements[:, :2]
    load_before = os.getloadavg()
    start = time.perf_counter()
    env = dict(os.environ, **{name: "1" for name in _THREAD_VARIABLES})
    completed = []
    with tempfile.TemporaryDirectory(prefix="pynn_neuro_relabel_") as tmp:
        data_file = os.path.join(tmp, "data.npz")
        save_dataset(data_file, dict(data, configs=configs), data.get("meta") or {})
        rows_file = os.path.join(tmp, "rows.npy")
        np.save(rows_file, rows)
        for p in range(1, processes + 1):
            left = None if max_seconds is None else max_seconds - (time.perf_counter() - start)
            if left is not None and left <= 0:
                break
            out_file = os.path.join(tmp, f"pass{p}.npy")
            command = [sys.executable, "-m", "pyNN_neuro.selector.measure", data_file,
                       rows_file, out_file, "--label", f"relabel, process {p}/{processes}"]
            if left is not None:
                command += ["--max-seconds", str(left)]
            if not progress:
                command.append("--quiet")
            code = subprocess.call(command, env=env)
            if code != 0:
                raise RuntimeError(f"measuring process {p} of {processes} failed (exit "
                                   f"code {code}): {' '.join(command)}")
            samples[rows, p] = np.load(out_file)
            completed.append(int(np.sum(~np.isnan(samples[rows, p, 0]))))
    measured = samples[rows]
    measurements[rows, :2] = np.nanmedian(measured, axis=1)
    new_ratio = np.log(measurements[:, 0] / measurements[:, 1])
    info = _relabel_record(
        ratio[rows], new_ratio[rows], start, load_before, band=band, processes=processes,
        rows_to_measure=int(len(rows)), rows_measured_per_process=completed,
        rows_measured_again=min(completed or [0]),
        timing=f"rows with |log(serial/parallel)| < {band}: median per paradigm over "
               f"{processes} fresh processes (one measurement each: min of alternating "
               f"passes) and the row's previous value")
    out = dict(data, measurements=measurements, process_repeats=samples, configs=configs)
    return out, info


def _measure_rows_main(argv=None):
    """``python -m pyNN_neuro.selector.measure DATA ROWS OUT``: measure the listed rows
    (a .npy of row indices) of a dataset that stores its configurations, once each, and
    save their delivery seconds per step ((rows, 2): serial, parallel; NaN for rows not
    reached within --max-seconds) to OUT (.npy). The worker of
    ``relabel_across_processes``; BLAS threads pinned by the caller's environment."""
    import argparse
    from .dataset import load_dataset
    parser = argparse.ArgumentParser(prog="python -m pyNN_neuro.selector.measure")
    parser.add_argument("data")
    parser.add_argument("rows")
    parser.add_argument("out")
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--label", default="measure")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    data = load_dataset(args.data)
    if data.get("configs") is None:
        raise SystemExit(f"{args.data} does not store its configurations")
    rows = np.load(args.rows)
    out = np.full((len(rows), 2), np.nan)
    limiter = pin_threads()
    bar = Progress(len(rows), args.max_seconds, enabled=not args.quiet, label=args.label)
    start = time.perf_counter()
    done = 0
    for done, row in enumerate(rows):
        if args.max_seconds is not None and time.perf_counter() - start > args.max_seconds:
            break
        features, m = measure(data["configs"][row])
        if not np.array_equal(features, data["features"][row]):
            raise SystemExit(f"configuration {row} measured again has features {features}, "
                             f"the dataset {data['features'][row]}")
        out[done] = m[:2]
        bar.update(done + 1)
    else:
        done = len(rows)
    bar.close(done)
    if limiter is not None:
        limiter.restore_original_limits()
    np.save(args.out, out)
    return 0


def delay_range_columns(data, configs=None):
    """(min_delay, max_delay) in steps of every row of a dataset, from its configurations
    (``replay_configs``) and their connections drawn again as ``measure`` draws them: for
    datasets stored before these two features existed. Checks each row's synapse count
    and number of distinct delays against the stored ones."""
    configs = replay_configs(data) if configs is None else configs
    from .features import FEATURE_NAMES as names
    n_synapses = data["features"][:, names.index("n_synapses")]
    n_delays = data["features"][:, names.index("n_delays")]
    out = np.zeros((len(configs), 2))
    for row, config in enumerate(configs):
        _, post, delay = make_connections(config, np.random.default_rng(config["seed"]))
        if post.size != n_synapses[row] or len(np.unique(delay)) != n_delays[row]:
            raise ValueError(f"configuration {row}: its connections drawn again do not "
                             f"match the stored synapse and delay counts")
        out[row] = delay.min(), delay.max()
    return out


if __name__ == "__main__":
    import sys
    sys.exit(_measure_rows_main())
