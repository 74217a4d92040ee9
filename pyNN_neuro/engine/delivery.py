"""Delivery units: the synapses from one group to one receptor of another, in CSR order.

A unit is built from connection arrays in the order the backend keeps them (its
"connection order"); ``order`` maps CSR position -> connection position so that attribute
reads and writes from the PyNN layer go straight to the arrays the kernels use.

Exact sums. Units with fixed weights keep them on a grid: multiples of a power of two
``quantum`` chosen per receptor ring (``set_quantum``) so that every sum a ring slot can
receive is a multiple of the quantum below 2**53 quanta. Every addition is then exact, so
the serial paradigm (one addition per synaptic event), the parallel one (a BLAS product
per window, summed in whatever order BLAS likes, multapses pre-summed) and any mix of the
two leave bit-identical values in the rings: same spikes whatever the paradigm. Rounding a
weight to the grid moves it by at most half a quantum, about 2**-47 of the largest input
the receptor can receive in one step (``pyNN_neuro.paradigms.ring_quanta``), far below the
rounding error of a floating-point sum of the same inputs.
"""
import numpy as np

from . import _synapses


def csr_order(pre_index, post_index, n_pre, n_post, with_targets=False, with_order=True):
    """Return (order, indptr): a stable sort of the connections by presynaptic neuron
    (then postsynaptic neuron) and the CSR row pointer over ``n_pre`` rows; with
    ``with_targets`` also the postsynaptic indices in that order (C ints). Without
    ``with_order``, order is None (not computed)."""
    return _synapses.csr_order(np.ascontiguousarray(pre_index, dtype=np.int64),
                               np.ascontiguousarray(post_index, dtype=np.int64), n_pre, n_post,
                               with_targets, with_order)


def uniform_value(values):
    """The value every element of the 1-d array ``values`` holds, bit for bit (so 0.0 and
    -0.0 differ), or None when they differ or there are none. Cheap when they differ
    early: most arrays of a large network are either one value or mixed from the start."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        return None
    if values.strides[0] == 0:          # a broadcast of one value
        return values[0]
    bits = values.view(np.int64) if values.dtype == np.float64 else values
    first = bits[0]
    head = bits[:64]
    if head.min() != first or head.max() != first:
        return None
    if bits.min() != first or bits.max() != first:
        return None
    return values[0]


def on_grid(values, quantum):
    """``values`` rounded to the nearest multiples of ``quantum`` (a power of two, so the
    division and the product are exact); unchanged when ``quantum`` is None."""
    values = np.asarray(values, dtype=float)
    if quantum is None:
        return values
    rounded = values / quantum
    np.round(rounded, out=rounded)
    rounded *= quantum
    return rounded


class StaticUnit:
    plastic = False
    needs_post_spikes = False
    #: whether the weights stay fixed during a run, so that they can live on a grid
    fixed_weights = True

    def __init__(self, label, pre, post, receptor, pre_index, post_index, weight, delay_steps):
        self.label = label
        self.pre = pre
        self.post = post
        self.receptor = post.receptor_names.index(receptor)
        weight = np.asarray(weight, dtype=float)
        weight_value = uniform_value(weight)
        delay_value = uniform_value(np.asarray(delay_steps))
        # the permutation to connection order is needed to gather values that differ, and
        # for attribute access by the PyNN layer: computed now only for the first (a
        # large homogeneous projection skips an array of 8 bytes per synapse)
        homogeneous = weight_value is not None and delay_value is not None
        self._order, self.indptr, self.post_index = csr_order(
            pre_index, post_index, pre.size, post.size, with_targets=True,
            with_order=not homogeneous)
        # (pre_index, post_index), or a function giving them (``Projection._make_units``
        # sets one where they are copies, not to keep those), until ``order`` is computed
        self._connections = (pre_index, post_index) if homogeneous else None
        # A weight or delay that every synapse shares stays one number until something
        # asks for the array (``weight``, ``delay``): the serial kernel does not read
        # them then (12 bytes per synapse neither allocated nor filled). Plastic weights
        # change per synapse: always an array.
        self._weight_value = weight_value if self.fixed_weights else None
        if self._weight_value is not None:
            self._weight = None
        elif weight_value is not None:      # plastic: one array, filled
            self._weight = np.full(self.post_index.size, weight_value)
        else:
            self._weight = np.ascontiguousarray(weight[self._order])
        self._delay_value = delay_value
        self._delay = None if delay_value is not None else \
            np.ascontiguousarray(np.asarray(delay_steps)[self._order], dtype=np.intc)
        # weights that only set() changes need no copy to return to
        self._initial_weight = None if self.fixed_weights else self._weight.copy()
        self.quantum = None

    @property
    def weight(self):
        """The weights in CSR order (an array filled at the first use when they are all
        one value)."""
        if self._weight is None:
            self._weight = np.full(self.post_index.size, self._weight_value)
        return self._weight

    @property
    def delay(self):
        """The delays in steps in CSR order (C ints; filled at the first use when they
        are all one value)."""
        if self._delay is None:
            self._delay = np.full(self.post_index.size, self._delay_value, dtype=np.intc)
        return self._delay

    def set_quantum(self, quantum, weight_in_connection_order):
        """Put the weights on the grid of multiples of ``quantum`` (a power of two, or None
        for none), rounding the exact values given in connection order."""
        if not self.fixed_weights:
            return
        self.quantum = quantum
        self.set("weight", weight_in_connection_order)

    @property
    def order(self):
        """CSR position -> connection position (``csr_order``), computed at the first
        use when the unit was built without it."""
        if self._order is None:
            connections = self._connections
            pre_index, post_index = connections() if callable(connections) else connections
            self._order, _ = csr_order(pre_index, post_index, self.pre.size, self.post.size)
            self._connections = None
        return self._order

    @property
    def size(self):
        return self.post_index.size

    @property
    def events_per_spike(self):
        """Synapses per presynaptic neuron, on average."""
        return self.post_index.size / max(1, self.pre.size)

    @property
    def min_delay(self):
        if not self.size:
            return None
        return int(self._delay_value) if self._delay is None else int(self.delay.min())

    @property
    def max_delay(self):
        if not self.size:
            return 0
        return int(self._delay_value) if self._delay is None else int(self.delay.max())

    def allocate(self, window_max, ring_length):
        self._rows = None        # bound at the first delivery, when the buffers exist

    def deliver(self, step0, K):
        pre = self.pre
        if pre.n_spikes:
            self._bound_rows().deliver(step0, pre.n_spikes)

    def _bound_rows(self):
        """The serial kernel bound to this unit's CSR rows, the presynaptic spike list and
        the target ring; bound again when any of those arrays was replaced."""
        rows = getattr(self, "_rows", None)
        pre, ring = self.pre, self.post.ring
        if rows is None:
            # a shared weight or delay is given as one element: the kernel reads no
            # weight array while ``uniform_weight`` is set (``_weights_changed`` binds
            # the kernel again when the weights become an array), and no delay array
            # when all are one (``StaticDelivery.uniform_delay``)
            self._rows_weight = self._weight if self._weight is not None else \
                np.full(1, self._weight_value)
            delay = self._delay if self._delay is not None else \
                np.full(1, self._delay_value, dtype=np.intc)
            rows = self._rows = _synapses.StaticDelivery(
                self.indptr, self.post_index, self._rows_weight, delay, pre.spike_k,
                pre.spike_i, ring[self.receptor], getattr(self.post, "num_threads", 1))
            self._rows_ring = ring
            self._weights_changed()
        elif (rows.spike_k is not pre.spike_k or rows.spike_i is not pre.spike_i
              or self._rows_ring is not ring):
            rows.bind(pre.spike_k, pre.spike_i, ring[self.receptor])
            self._rows_ring = ring
        return rows

    def _weights_changed(self):
        """Tell the serial kernel whether every weight is one value (it then reads no
        weight array); called whenever ``weight`` is written."""
        rows = getattr(self, "_rows", None)
        if rows is None:
            return
        if self._weight is None:
            rows.uniform_weight = float(self._weight_value)
            return
        if self._rows_weight is not self._weight:
            # bound to the one-element stand-in: bind the array at the next delivery
            self._rows = None
            return
        value = uniform_value(self._weight)
        rows.uniform_weight = float(value) if value is not None else None

    def after_post_update(self, step0, K):
        pass

    def reset(self):
        if self._initial_weight is not None:
            self.weight[:] = self._initial_weight
            self._weights_changed()

    # synapse state set by Projection.initialize ----------------------------------------

    def _state_array(self, name):
        """The array (CSR order) of the synapse state variable ``name``."""
        raise KeyError(f"'{self.label}': {type(self).__name__} synapses have no state "
                       f"variable '{name}'")

    def initialize(self, name, values_in_connection_order):
        """Set the state variable ``name`` of every synapse now, and as the value that
        ``reset()`` restores."""
        target = self._state_array(name)
        values = np.asarray(values_in_connection_order, dtype=float)[self.order]
        target[:] = values
        if not hasattr(self, "_initialized"):
            self._initialized = {}
        self._initialized[name] = values

    def _restore_initialized(self):
        """After a subclass's reset to its default state: the values given to
        ``initialize``."""
        for name, values in getattr(self, "_initialized", {}).items():
            self._state_array(name)[:] = values

    # attribute access in connection order ----------------------------------------------

    def get(self, name):
        if name == "weight" and self._weight is None:
            return np.full(self.size, self._weight_value)
        values = self._array(name)
        out = np.empty_like(values)
        out[self.order] = values
        return out

    def set(self, name, values_in_connection_order):
        values = np.asarray(values_in_connection_order)
        value = uniform_value(values) if values.size == self.size else None
        if value is not None and name == "weight" and self.fixed_weights:
            value = on_grid(np.array([value], dtype=float), self.quantum)[0]
        if value is not None and name == "weight" and self._weight is None:
            # still one number: it stays one
            self._weight_value = value
        elif value is not None:
            # one value (a homogeneous weight): no gather
            self._array(name)[:] = value
        else:
            values = values[self.order]
            if name == "weight" and self.fixed_weights:
                values = on_grid(values, self.quantum)
            self._array(name)[:] = values
        if name == "weight" and self._initial_weight is not None:
            self._initial_weight[:] = self.weight
        if name == "weight":
            self._weights_changed()

    def _array(self, name):
        if name == "weight":
            return self.weight
        raise KeyError(name)


class _ShortTermUnit(StaticUnit):
    """Short-term plasticity units: per-synapse parameters (``parameter_names``) in CSR
    order, per-synapse state arrays (``initial_state``: name -> (dtype, initial value))
    that ``reset`` restores, the PyNN names ``Projection.initialize`` may set
    (``state_variables``: PyNN name -> state array), a counter of random numbers drawn per
    synapse and the ``seed`` of their streams (for the stochastic kernels). Subclasses
    bind the kernel in ``_make``."""
    plastic = True
    fixed_weights = False
    parameter_names = ()
    initial_state = {}
    state_variables = {}

    def __init__(self, label, pre, post, receptor, pre_index, post_index, weight, delay_steps,
                 params, seed=0):
        super().__init__(label, pre, post, receptor, pre_index, post_index, weight, delay_steps)
        self.params = {name: np.ascontiguousarray(
                           np.broadcast_to(np.asarray(params[name], dtype=float),
                                           (len(pre_index),))[self.order])
                       for name in self.parameter_names}
        self.seed = int(seed)
        self.state = {name: np.full(self.size, value, dtype=dtype)
                      for name, (dtype, value) in self.initial_state.items()}
        self.counter = np.zeros(self.size, dtype=np.uint64)
        self._make()

    def deliver(self, step0, K):
        pre = self.pre
        if pre.n_spikes:
            self.kernel.deliver(pre.spike_k, pre.spike_i, pre.n_spikes, step0,
                                self.post.ring[self.receptor])

    def reset(self):
        super().reset()
        for name, (_, value) in self.initial_state.items():
            self.state[name][:] = value
        self.counter[:] = 0
        self._restore_initialized()

    def _state_array(self, name):
        if name in self.state_variables:
            return self.state[self.state_variables[name]]
        return super()._state_array(name)

    def _array(self, name):
        if name in self.params:
            return self.params[name]
        return super()._array(name)


class TsodyksMarkramUnit(_ShortTermUnit):
    """Short-term plasticity; parameters U, tau_rec, tau_facil per synapse, tau_psc from the
    postsynaptic receptor (``_synapses.TsodyksMarkramUnit``)."""
    parameter_names = ("U", "tau_rec", "tau_facil", "tau_psc")
    initial_state = {"x": (float, 1.0), "y": (float, 0.0), "u": (float, 0.0),
                     "last_spike": (float, 0.0)}
    state_variables = {"x": "x", "y": "y", "u": "u"}

    def _make(self):
        p, x = self.params, self.state
        self.kernel = _synapses.TsodyksMarkramUnit(
            self.indptr, self.post_index, self.weight, self.delay, p["U"], p["tau_rec"],
            p["tau_facil"], p["tau_psc"], x["x"], x["y"], x["u"], x["last_spike"], self.pre.dt)


class StochasticTsodyksMarkramUnit(_ShortTermUnit):
    """One release site per synapse (``_synapses.StochasticTsodyksMarkramUnit``)."""
    parameter_names = ("U", "tau_rec", "tau_facil")
    initial_state = {"u": (float, 0.0), "recovered": (float, 1.0), "t_surv": (float, 0.0),
                     "t_last": (float, 0.0)}
    state_variables = {"u": "u"}

    def _make(self):
        p, x = self.params, self.state
        self.kernel = _synapses.StochasticTsodyksMarkramUnit(
            self.indptr, self.post_index, self.weight, self.delay, p["U"], p["tau_rec"],
            p["tau_facil"], self.counter, self.seed, self.pre.dt, x["u"], x["recovered"],
            x["t_surv"], x["t_last"])


class QuantalUnit(_ShortTermUnit):
    """n release sites per synapse (``_synapses.QuantalUnit``); the initial state is NEST
    3.10's (see the kernel)."""
    parameter_names = ("U", "tau_rec", "tau_facil", "n")
    initial_state = {"u": (float, 0.5), "available": (np.intc, 1), "t_last": (float, -1.0)}
    state_variables = {"u": "u", "a": "available"}

    def set(self, name, values_in_connection_order):
        super().set(name, values_in_connection_order)
        if name == "n":
            self.n_sites[:] = self.params["n"]

    def _make(self):
        p, x = self.params, self.state
        self.n_sites = np.ascontiguousarray(p["n"], dtype=np.intc)
        self.kernel = _synapses.QuantalUnit(
            self.indptr, self.post_index, self.weight, self.delay, p["U"], p["tau_rec"],
            p["tau_facil"], self.counter, self.seed, self.pre.dt, self.n_sites, x["u"],
            x["available"], x["t_last"])


class STDPUnit(StaticUnit):
    """Spike-timing-dependent plasticity (see ``_synapses.STDPUnit`` for the equations).

    The whole delay is dendritic (PyNN's default ``dendritic_delay_fraction = 1``).
    """
    plastic = True
    fixed_weights = False
    needs_post_spikes = True

    def __init__(self, label, pre, post, receptor, pre_index, post_index, weight, delay_steps,
                 params, weight_rule, timing_rule):
        super().__init__(label, pre, post, receptor, pre_index, post_index, weight, delay_steps)
        n = self.size
        self.params = {name: np.ascontiguousarray(
                           np.broadcast_to(np.asarray(value, dtype=float), (n,))[self.order])
                       for name, value in params.items()}
        self.weight_rule = _synapses.WEIGHT_RULES[weight_rule]
        self.timing_rule = _synapses.TIMING_RULES[timing_rule]
        # synapses grouped by postsynaptic neuron, for postsynaptic spikes
        self.col_syn = np.argsort(self.post_index, kind="stable").astype(np.int64)
        counts = np.bincount(self.post_index, minlength=post.size)
        self.col_ptr = np.zeros(post.size + 1, dtype=np.int64)
        np.cumsum(counts, out=self.col_ptr[1:])
        self.reported_weight = self.weight.copy()
        self.k_plus = np.zeros(pre.size)
        self.last_pre = np.zeros(pre.size)
        self.k_minus = np.zeros(n)
        self.last_post = np.full(n, -1e300)
        self.kernel = None

    def allocate(self, window_max, ring_length):
        self.kernel = _synapses.STDPUnit(
            self.indptr, self.post_index, self.weight, self.reported_weight, self.delay,
            self.params,
            self.weight_rule, self.timing_rule, self.col_ptr, self.col_syn,
            self.k_plus, self.last_pre, self.k_minus, self.last_post, self.pre.dt,
            window_max + self.max_delay + 1)

    def deliver(self, step0, K):
        pre = self.pre
        self.kernel.deliver(pre.spike_k, pre.spike_i, pre.n_spikes, step0, K,
                            self.post.ring[self.receptor])

    def after_post_update(self, step0, K):
        post = self.post
        if post.n_spikes:
            self.kernel.push_post(post.spike_k, post.spike_i, post.n_spikes, step0)

    def reset(self):
        super().reset()
        self.reported_weight[:] = self.weight
        self.k_plus[:] = 0.0
        self.last_pre[:] = 0.0
        self.k_minus[:] = 0.0
        self.last_post[:] = -1e300
        if self.kernel is not None:
            self.kernel.clear_pending()

    def get(self, name):
        """As NEST: a weight is reported as it was after the synapse's last presynaptic
        spike (later postsynaptic spikes potentiate it only at the next one)."""
        if name == "weight":
            out = np.empty_like(self.reported_weight)
            out[self.order] = self.reported_weight
            return out
        return super().get(name)

    def set(self, name, values_in_connection_order):
        super().set(name, values_in_connection_order)
        if name == "weight":
            self.reported_weight[:] = self.weight

    def _array(self, name):
        if name in self.params:
            return self.params[name]
        return super()._array(name)


class StochasticUnit(StaticUnit):
    """Static synapses that transmit each spike with probability ``p`` (per synapse)."""

    def __init__(self, label, pre, post, receptor, pre_index, post_index, weight, delay_steps,
                 p_transmit, seed):
        super().__init__(label, pre, post, receptor, pre_index, post_index, weight, delay_steps)
        self.p_transmit = np.ascontiguousarray(
            np.broadcast_to(np.asarray(p_transmit, dtype=float), (len(pre_index),))[self.order])
        self.seed = int(seed)

    def deliver(self, step0, K):
        pre = self.pre
        if pre.n_spikes:
            _synapses.deliver_stochastic(pre.spike_k, pre.spike_i, pre.n_spikes, step0,
                                         self.indptr, self.post_index, self.weight, self.delay,
                                         self.p_transmit, self.seed, self.post.ring[self.receptor])

    def _array(self, name):
        if name == "p":
            return self.p_transmit
        return super()._array(name)
