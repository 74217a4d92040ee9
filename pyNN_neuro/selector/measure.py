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

from .features import projection_features

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


def sample_config(rng):
    """One random layer configuration (a dict), drawn to span the crossover.

    Two populations of configurations, half each. *Broad*: sizes 8-4096, connection
    probability 0.1%-100% (three connector kinds), spike probability per step 1e-4-0.5,
    windows 1-256 steps (all log-uniform), 1-6 distinct delays. *Near the crossover*: the
    same, but spike probability 0.5%-50% and connection probability 5%-100%, where
    neither paradigm wins by much (broad sampling alone is ~90% serial wins). A quarter of
    all configurations are recurrent, and then K <= the smallest delay, as the engine
    imposes. Dense matrices are capped at ``MAX_DENSE_ELEMENTS`` so that one
    configuration takes a fraction of a second."""
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
        low_rate = math.log(5e-3 if focus else 1e-4)
        spike_probability = math.exp(rng.uniform(low_rate, math.log(0.5)))
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
    """Bytes of the numpy arrays a delivery unit holds (lists of arrays included)."""
    total = 0
    for value in vars(unit).values():
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


def measure(config, repeats=REPEATS, budget_s=0.15, min_steps=256):
    """Build both paradigms for ``config`` and time them. Returns (features, measurements),
    two float arrays in ``FEATURE_NAMES`` and ``MEASURE_NAMES`` order."""
    from ..engine.delivery import StaticUnit
    from ..engine.parallel import ParallelUnit

    rng = np.random.default_rng(config["seed"])
    n_pre, n_post, K = config["n_pre"], config["n_post"], config["window"]
    pre_index, post_index, delay = make_connections(config, rng)
    weight = rng.normal(0.1, 0.02, size=pre_index.size)
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
    ring_length = K + max(config["delays"]) + 1

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
        dt=config["dt"], window=K, n_delays=len(np.unique(delay)), plastic=False,
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


def _boundary_filter(features, measurements):
    """A function config -> predicted |log(serial cost / parallel cost)|, from a cost
    model fitted on the configurations measured so far; None without scipy."""
    try:
        from .train import fit_cost_model
        from .model import SelectorModel
        model = SelectorModel("none", {}, fit_cost_model(np.array(features),
                                                         np.array(measurements)))
    except ImportError:
        return None

    def distance(config):
        n_pre, n_post = config["n_pre"], config["n_post"]
        f, _ = projection_features(
            n_pre, n_post, connection_probability=config["p_conn"],
            spike_probability=config["spike_probability"], dt=config["dt"],
            window=config["window"], n_delays=len(config["delays"]),
            recurrent=config["recurrent"])
        serial, parallel = model.costs(f)
        return float(abs(np.log(serial[0] / parallel[0])))
    return distance


#: origin of a configuration in the data: drawn broadly, near the crossover by ranges, or
#: accepted because a pilot cost model put it near the crossover
ORIGINS = ("broad", "focus", "boundary")


def generate(n_samples, seed=12345, max_seconds=None, progress=True, repeats=REPEATS,
             checkpoint=None, checkpoint_every=250, pilot_fraction=0.4,
             boundary_band=1.2, off_band_acceptance=0.1):
    """Measure ``n_samples`` random configurations (fewer if ``max_seconds`` runs out).

    The first ``pilot_fraction`` come from ``sample_config``. Then a cost model fitted on
    them screens further candidates: those it predicts within a factor
    exp(``boundary_band``) of the crossover are measured, others only with probability
    ``off_band_acceptance``, so that most of the data lies where the choice is hard.

    Returns a dict of arrays: ``features`` (n x len(FEATURE_NAMES)), ``measurements``
    (n x len(MEASURE_NAMES)), ``origin`` (n, index into ``ORIGINS``) and ``seed``.
    ``checkpoint(data)`` is called every ``checkpoint_every`` configurations, so that an
    interrupted run keeps what it measured."""
    rng = np.random.default_rng(seed)
    limiter = pin_threads()
    try:
        return _generate(rng, n_samples, seed, max_seconds, progress, repeats, checkpoint,
                         checkpoint_every, pilot_fraction, boundary_band,
                         off_band_acceptance)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


def _generate(rng, n_samples, seed, max_seconds, progress, repeats, checkpoint,
              checkpoint_every, pilot_fraction, boundary_band, off_band_acceptance):
    bar = Progress(n_samples, max_seconds, enabled=progress)
    start = time.perf_counter()
    features, measurements, origin = [], [], []
    n_pilot = max(1, int(round(pilot_fraction * n_samples)))
    distance = None

    def pack():
        return {"features": np.array(features, dtype=float).reshape(-1, 14),
                "measurements": np.array(measurements, dtype=float).reshape(-1, 6),
                "origin": np.array(origin, dtype=np.int8), "seed": np.array(seed)}

    try:
        for done in range(n_samples):
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                break
            if done == n_pilot and n_pilot >= 50:
                distance = _boundary_filter(features, measurements)
            while True:
                config = sample_config(rng)
                kind = ORIGINS.index("focus" if config["focus"] else "broad")
                if distance is None:
                    break
                if distance(config) < boundary_band:
                    kind = ORIGINS.index("boundary")
                    break
                if rng.random() < off_band_acceptance:
                    break
            f, m = measure(config, repeats=repeats)
            features.append(f)
            measurements.append(m)
            origin.append(kind)
            bar.update(done + 1)
            if checkpoint is not None and (done + 1) % checkpoint_every == 0:
                checkpoint(pack())
    except KeyboardInterrupt:
        if progress:
            import sys
            sys.stderr.write("\ninterrupted: keeping the configurations measured so far\n")
    bar.close(len(features))
    return pack()
