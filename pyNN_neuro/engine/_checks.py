"""Input validation shared by the neuron kernels (ext/_lif.pyx, _cond.pyx, _multisynapse.pyx).

Plain Python, run once per kernel object (``update`` calls only ``check_window``). Every
error is a ValueError whose message starts with the name of the offending argument
(``ring``, ``state['v']``, ``params['tau_m']``, ...) and states what was expected and
what was given.

Two families of array checks coexist, because the kernels accept different inputs:

- ``checked`` / ``checked_arrays`` (``_lif``, ``_multisynapse``): every array must already
  be a float64 (uint8 for ``spiked``) C-contiguous numpy array of the right shape; it is
  used as given, never converted.
- ``io_array`` / ``state_vector`` / ``parameter_vector`` (``_cond``): engine-owned
  buffers are checked the same way but parameters may be any array-like, converted to
  float64.
"""
import numpy as np


# ---------------------------------------------------------------------------------------
# Scalars and the update window
# ---------------------------------------------------------------------------------------

def check_dt_and_threads(dt, num_threads):
    """dt > 0 (ms) and num_threads >= 1."""
    if not dt > 0.0:
        raise ValueError(f"dt: expected a positive time step in ms, got {dt}")
    if num_threads < 1:
        raise ValueError(f"num_threads: expected at least 1, got {num_threads}")


def check_window(step0, K, k_max, record, can_record, n_states, n, k_min=0):
    """Arguments of ``update(step0, K, record)``: k_min <= K <= k_max, step0 >= 0, and a
    recording buffer (n_states, k_max, n) when record is true."""
    if K < k_min or K > k_max:
        raise ValueError(f"K: expected {k_min} <= K <= K_max = {k_max} (rows of i_ext), "
                         f"got {K}")
    if step0 < 0:
        raise ValueError(f"step0: expected a non-negative step index, got {step0}")
    if record and not can_record:
        raise ValueError(f"rec: record=True needs a buffer of shape ({n_states}, {k_max}, {n}); "
                         "this kernel was built without one")


def receptor_count(n_receptors):
    """n_receptors as an int >= 1."""
    if n_receptors < 1:
        raise ValueError(f"n_receptors: expected at least 1, got {n_receptors}")
    return int(n_receptors)


# ---------------------------------------------------------------------------------------
# Arrays used as given (_lif, _multisynapse)
# ---------------------------------------------------------------------------------------

def checked(name, array, dtype, shape=None, ndim=None, writeable=False):
    """Return ``array`` itself after checking type, dtype, shape and C-contiguity."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(array).__name__}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {array.shape}")
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got shape {array.shape}")
    if array.dtype != dtype:
        raise ValueError(f"{name}: expected dtype {np.dtype(dtype)}, got dtype {array.dtype}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    if writeable and not array.flags.writeable:
        raise ValueError(f"{name}: expected a writeable array")
    return array


def checked_arrays(kernel, names, params, state, dt, ring, i_ext, spiked, rec, num_threads,
                   empty_full_rec_records=True):
    """Check every argument of a kernel's constructor against the kernel interface.

    ``kernel`` describes the kernel in messages (e.g. 'IFCurrExp', 'LIFCondExpMulti with 3
    receptors'); ``names`` is a dict of the tuples state_names, internal_names,
    param_names and receptor_names. Returns (n, K_max, params, state, ring, i_ext, spiked,
    rec), params and state restricted to the names, with rec replaced by an empty
    (0, 0, 0) array when no recording buffer was given (None or an empty 3-D array). A
    zero-size rec of exactly the recording shape (n == 0) is a recording buffer if
    ``empty_full_rec_records``, else it means none.
    """
    if not isinstance(params, dict):
        raise ValueError(f"params: expected a dict, got {type(params).__name__}")
    if not isinstance(state, dict):
        raise ValueError(f"state: expected a dict, got {type(state).__name__}")
    check_dt_and_threads(dt, num_threads)
    state_names = tuple(names['state_names']) + tuple(names['internal_names'])
    param_names = tuple(names['param_names'])
    for name in state_names:
        if name not in state:
            raise ValueError(f"state: missing array '{name}' ({kernel} needs {state_names})")
    for name in param_names:
        if name not in params:
            raise ValueError(f"params: missing array '{name}' ({kernel} needs {param_names})")
    first = checked(f"state['{state_names[0]}']", state[state_names[0]], np.float64, ndim=1,
                    writeable=True)
    n = first.shape[0]
    state = {name: checked(f"state['{name}']", state[name], np.float64, (n,), writeable=True)
             for name in state_names}
    params = {name: checked(f"params['{name}']", params[name], np.float64, (n,))
              for name in param_names}
    n_receptors = len(names['receptor_names'])
    ring = checked("ring", ring, np.float64, ndim=3, writeable=True)
    if ring.shape[0] != n_receptors or ring.shape[1] < 1 or ring.shape[2] != n:
        raise ValueError(f"ring: expected shape ({n_receptors}, L, {n}) with L >= 1, "
                         f"got shape {ring.shape}")
    i_ext = checked("i_ext", i_ext, np.float64, ndim=2)
    if i_ext.shape[0] < 1 or i_ext.shape[1] != n:
        raise ValueError(f"i_ext: expected shape (K_max, {n}) with K_max >= 1, "
                         f"got shape {i_ext.shape}")
    k_max = i_ext.shape[0]
    spiked = checked("spiked", spiked, np.uint8, (k_max, n), writeable=True)
    rec_shape = (len(names['state_names']), k_max, n)
    if rec is None or (isinstance(rec, np.ndarray) and rec.size == 0 and rec.ndim == 3
                       and not (empty_full_rec_records and rec.shape == rec_shape)):
        rec = np.zeros((0, 0, 0), dtype=np.float64)
    else:
        rec = checked("rec", rec, np.float64, rec_shape, writeable=True)
    return n, k_max, params, state, ring, i_ext, spiked, rec


def positive(params, names):
    """Every value of params[name] > 0 (NaN fails), for each name."""
    for name in names:
        values = params[name]
        bad = np.flatnonzero(~(values > 0.0))
        if bad.size:
            raise ValueError(f"params['{name}']: expected values > 0, got {values[bad[0]]} "
                             f"at index {bad[0]}")


def non_negative(params, names):
    """Every value of params[name] >= 0 (NaN fails), for each name."""
    for name in names:
        values = params[name]
        bad = np.flatnonzero(~(values >= 0.0))
        if bad.size:
            raise ValueError(f"params['{name}']: expected values >= 0, got {values[bad[0]]} "
                             f"at index {bad[0]}")


# ---------------------------------------------------------------------------------------
# Engine buffers checked in place, parameters converted (_cond)
# ---------------------------------------------------------------------------------------

def io_array(value, name, dtype, shape):
    """Check an engine-owned buffer and return a numpy view of it (never a copy).

    None in shape means any length >= 1 (printed as 'L').
    """
    try:
        array = np.asarray(value)
    except Exception:
        raise ValueError(f"{name}: expected an array, got {type(value).__name__}") from None
    expected = tuple('L' if s is None else s for s in shape)
    ok = array.ndim == len(shape) and all(
        (s is None and a >= 1) or a == s for a, s in zip(array.shape, shape))
    if not ok:
        raise ValueError(f"{name}: expected shape {expected}, got {array.shape}")
    if array.dtype != dtype:
        raise ValueError(f"{name}: expected dtype {np.dtype(dtype)}, got {array.dtype}")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"{name}: expected a writeable C-contiguous array")
    return array


def state_vector(state, name, n):
    """The engine's state array itself (updated in place), checked but never copied."""
    if name not in state:
        raise ValueError(f"state: missing variable '{name}'")
    return io_array(state[name], f"state['{name}']", np.float64, (n,))


def parameter_vector(params, name, n):
    """params[name] as a float64 C-contiguous array of shape (n,) (converted if needed)."""
    if name not in params:
        raise ValueError(f"params: missing parameter '{name}'")
    values = np.ascontiguousarray(params[name], dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(f"params['{name}']: expected shape ({n},), got {np.shape(values)}")
    return values


# ---------------------------------------------------------------------------------------
# Derived per-neuron constants
# ---------------------------------------------------------------------------------------

def rounded_refractory_counts(tau_refrac, dt):
    """round(tau_refrac / dt) per neuron, as float64 (the conductance kernels' rule; NEST
    also rounds t_ref to the time grid). tau_refrac must have been checked >= 0."""
    return np.floor(np.asarray(tau_refrac) / dt + 0.5).astype(np.float64)
