"""Features of one projection that are known before either paradigm builds anything.

Every feature is a plain number the network spec already holds (population sizes, the
connector's probability or the number of connections, fan-in counts, the declared or
piloted presynaptic rate, the timestep, the engine's window, the delays, the synapse
type). Nothing here needs the CSR rows of the serial paradigm or the dense matrices of
the parallel one: the point of predicting (P1 in papers.md) is to build only one of them.

``projection_features`` returns the raw vector (``FEATURE_NAMES``, in natural units).
``model_inputs`` turns raw vectors into what the classifiers see: logarithms of the
sizes and counts, plus the derived ratios that carry most of the signal (expected
synaptic events per step against dense multiply-adds per step).
"""
import math

import numpy as np

FEATURE_NAMES = (
    "n_pre",                   # presynaptic neurons
    "n_post",                  # postsynaptic neurons
    "connection_probability",  # expected synapses / (n_pre x n_post)
    "n_synapses",              # expected synapse count
    "mean_fan_in",             # synapses per postsynaptic neuron, mean
    "max_fan_in",              # synapses per postsynaptic neuron, largest
    "rate_hz",                 # expected presynaptic rate (Hz)
    "dt_ms",                   # timestep (ms)
    "spike_probability",       # rate x dt: expected spikes per presynaptic neuron per step
    "window",                  # K: steps per engine window
    "n_delays",                # distinct delays (the parallel paradigm needs one matrix each)
    "plastic",                 # 1 if the synapses are plastic (serial paradigm only)
    "recurrent",               # 1 if the projection lies on a cycle of projections
    "weight_bytes",            # bytes per weight (the engine stores float64: 8)
    "min_delay",               # smallest delay (steps)
    "max_delay",               # largest delay (steps): with K, sets the ring's length
)

#: the names of the columns of ``model_inputs``
MODEL_INPUT_NAMES = (
    "log_n_pre", "log_n_post", "log_connection_probability", "log_n_synapses",
    "log_mean_fan_in", "log_max_fan_in", "log_spike_probability", "log_window",
    "n_delays", "recurrent", "weight_bytes",
    "log_events_per_step",          # n_pre x spike_probability x fan_out
    "log_dense_macs_per_step",      # n_pre x n_post x n_delays
    "log_events_over_macs",         # the serial / parallel work ratio
    "log_spikes_per_window",        # expected presynaptic spikes in one window
    "log_p_window_nonempty",        # the parallel paradigm skips empty windows
    "log_post_per_step_per_delay",  # n_post x n_delays / K ... ring writes per step
    "log_active_fraction",          # presynaptic neurons spiking in a window / n_pre
    "log_parallel_macs_per_step",   # multiply-adds of the products actually taken
    "delay_spread_over_ring",       # (max - min delay) / (K + max delay + 1): how often
                                    # the serial kernel's per-synapse ring slot wraps
)


def active_rows(n_pre, spike_probability, window):
    """(expected presynaptic neurons that spike in a window of ``window`` steps, whether
    the parallel paradigm then takes its products over those rows only); arrays or
    numbers. See ``pyNN_neuro.engine.parallel``."""
    from ..engine.parallel import GATHER_BELOW
    p = np.clip(spike_probability, 0.0, 1.0 - 1e-12)
    active = -np.expm1(window * np.log1p(-p)) * n_pre
    return active, active < GATHER_BELOW * n_pre


def window_work(c):
    """What both paradigms' cost models count, from the columns ``c`` (a dict of arrays:
    n_pre, n_post, n_synapses, spike_probability, window, n_delays): (spikes and synaptic
    events per step, the probability that a window holds a spike, the active rows of a
    window, whether the parallel paradigm gathers them, the rows its products take, and
    targets x delays per row). The selector's cost model and the frozen screening model of
    ``measure._screening_terms`` both start from these: a change here changes which
    configurations a calibration seed draws (tests/test_selector.py checks it)."""
    n_pre, p_spike = c["n_pre"], c["spike_probability"]
    spikes = n_pre * p_spike
    p = np.clip(p_spike, 0.0, 1.0 - 1e-12)
    active, gathered = active_rows(n_pre, p, c["window"])
    return (spikes, spikes * c["n_synapses"] / n_pre,
            -np.expm1(n_pre * c["window"] * np.log1p(-p)), active, gathered,
            np.where(gathered, active, n_pre), c["n_post"] * c["n_delays"])


def _expected_max_fan_in(n_pre, n_post, p):
    """Largest of n_post Binomial(n_pre, p) counts, approximated (normal tail)."""
    mean = n_pre * p
    sd = math.sqrt(max(n_pre * p * (1.0 - p), 0.0))
    z = math.sqrt(2.0 * math.log(max(n_post, 2)))
    return float(min(n_pre, math.ceil(mean + z * sd)))


def projection_features(n_pre, n_post, *, connection_probability=None, n_synapses=None,
                        mean_fan_in=None, max_fan_in=None, rate_hz=None,
                        spike_probability=None, dt=0.1, window=1, n_delays=1,
                        min_delay=None, max_delay=None, plastic=False, recurrent=False,
                        dtype=np.float64):
    """The feature vector of one projection, from plain numbers.

    Give the connectivity as ``connection_probability`` or ``n_synapses`` (the expected
    count; with both, ``n_synapses`` wins), and the presynaptic activity as ``rate_hz``
    (with ``dt`` in ms) or ``spike_probability`` (expected spikes per neuron per step).
    ``mean_fan_in`` defaults to n_synapses / n_post; ``max_fan_in`` to the expected largest
    of n_post binomial counts. ``window`` is the engine's K (steps per window); ``n_delays``
    the number of distinct delays in steps, ``min_delay`` and ``max_delay`` the smallest
    and largest (steps; by default 1 and ``n_delays``, the narrowest range that holds
    ``n_delays`` delays).

    Returns ``(vector, FEATURE_NAMES)``, the vector a float64 array in natural units.
    """
    n_pre = int(n_pre)
    n_post = int(n_post)
    if n_pre < 1 or n_post < 1:
        raise ValueError(f"n_pre and n_post must be >= 1, got {n_pre} and {n_post}")
    if dt <= 0:
        raise ValueError(f"dt must be > 0 ms, got {dt}")
    if n_synapses is None:
        if connection_probability is None:
            raise ValueError("give connection_probability or n_synapses")
        n_synapses = float(connection_probability) * n_pre * n_post
    n_synapses = float(n_synapses)
    if not 0 <= n_synapses <= n_pre * n_post * 1e6:
        raise ValueError(f"n_synapses must be >= 0, got {n_synapses}")
    p = n_synapses / (n_pre * n_post)
    if mean_fan_in is None:
        mean_fan_in = n_synapses / n_post
    if max_fan_in is None:
        max_fan_in = _expected_max_fan_in(n_pre, n_post, min(p, 1.0)) if p <= 1 else mean_fan_in
    if spike_probability is None:
        if rate_hz is None:
            raise ValueError("give rate_hz or spike_probability")
        spike_probability = float(rate_hz) * dt / 1000.0
    if rate_hz is None:
        rate_hz = float(spike_probability) * 1000.0 / dt
    if spike_probability < 0:
        raise ValueError(f"the presynaptic rate must be >= 0, got {rate_hz} Hz")
    window = int(window)
    n_delays = int(n_delays)
    if window < 1:
        raise ValueError(f"window must be >= 1 step, got {window}")
    if n_delays < 1:
        raise ValueError(f"n_delays must be >= 1, got {n_delays}")
    min_delay = 1 if min_delay is None else int(min_delay)
    max_delay = min_delay + n_delays - 1 if max_delay is None else int(max_delay)
    if min_delay < 0 or max_delay - min_delay + 1 < n_delays:
        raise ValueError(f"delays from {min_delay} to {max_delay} steps cannot hold "
                         f"{n_delays} distinct delays")
    vector = np.array([n_pre, n_post, p, n_synapses, float(mean_fan_in), float(max_fan_in),
                       float(rate_hz), float(dt), float(spike_probability), window, n_delays,
                       float(bool(plastic)), float(bool(recurrent)),
                       float(np.dtype(dtype).itemsize), min_delay, max_delay], dtype=float)
    return vector, FEATURE_NAMES


def features_from_connections(pre_index, post_index, delay_steps, n_pre, n_post, *,
                              rate_hz=None, spike_probability=None, dt=0.1, window=1,
                              plastic=False, recurrent=False, dtype=np.float64):
    """``projection_features`` from a projection's connection arrays (the network spec's,
    in any order): exact synapse count, fan-ins and number of distinct delays. Costs one
    ``bincount`` and one ``unique``, far less than building either paradigm."""
    post_index = np.asarray(post_index)
    fan_in = np.bincount(post_index, minlength=int(n_post)) if post_index.size else np.zeros(1)
    delays = np.unique(np.asarray(delay_steps)) if post_index.size else np.ones(1)
    return projection_features(
        n_pre, n_post, n_synapses=float(post_index.size), mean_fan_in=float(fan_in.mean()),
        max_fan_in=float(fan_in.max()), rate_hz=rate_hz, spike_probability=spike_probability,
        dt=dt, window=window, n_delays=len(delays), min_delay=int(delays[0]),
        max_delay=int(delays[-1]), plastic=plastic, recurrent=recurrent, dtype=dtype)


def model_inputs(features):
    """Map raw feature vectors (rows in ``FEATURE_NAMES`` order) to classifier inputs
    (``MODEL_INPUT_NAMES``). Accepts one vector or a 2-D array; returns a 2-D array."""
    X = np.atleast_2d(np.asarray(features, dtype=float))
    col = {name: X[:, i] for i, name in enumerate(FEATURE_NAMES)}
    tiny = 1e-12
    n_pre, n_post = col["n_pre"], col["n_post"]
    p_spike = np.clip(col["spike_probability"], tiny, None)
    K = col["window"]
    fan_out = col["n_synapses"] / n_pre
    events = n_pre * p_spike * fan_out
    macs = n_pre * n_post * col["n_delays"]
    spikes_per_window = n_pre * p_spike * K
    # P(window has a spike) = 1 - (1 - p)^(n_pre K); log of it, computed stably
    log_empty = n_pre * K * np.log1p(-np.clip(p_spike, 0, 1 - 1e-12))
    p_nonempty = -np.expm1(log_empty)
    active, gathered = active_rows(n_pre, p_spike, K)
    # rows of the product per window, per step of a window that holds a spike
    rows = np.where(gathered, active, n_pre)
    out = np.column_stack([
        np.log(n_pre), np.log(n_post),
        np.log(np.clip(col["connection_probability"], tiny, None)),
        np.log1p(col["n_synapses"]),
        np.log1p(col["mean_fan_in"]), np.log1p(col["max_fan_in"]),
        np.log(p_spike), np.log(K), col["n_delays"], col["recurrent"], col["weight_bytes"],
        np.log(events + tiny), np.log(macs), np.log(events + tiny) - np.log(macs),
        np.log(spikes_per_window + tiny), np.log(np.clip(p_nonempty, tiny, None)),
        np.log(n_post * col["n_delays"] / K),
        np.log(np.clip(active / n_pre, tiny, None)),
        np.log(np.clip(rows * n_post * col["n_delays"] * p_nonempty, tiny, None)),
        delay_spread_over_ring(col["min_delay"], col["max_delay"], K),
    ])
    return out


def delay_spread_over_ring(min_delay, max_delay, window):
    """(max delay - min delay) / (K + max delay + 1), the ring's length in steps. With
    several delays the serial kernel finds each synapse's ring slot by adding its delay
    to the spike's slot and wrapping around the ring; the fraction of spike slots for
    which some of a row's synapses wrap and others do not (an unpredictable branch per
    synapse) is about this."""
    return (max_delay - min_delay) / (window + max_delay + 1.0)
