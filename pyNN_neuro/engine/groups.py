"""Neuron groups: the state of one population in the engine, advanced a window at a time.

A group owns its state arrays, the ring buffers its synaptic input arrives in, the
injected-current buffer of the window and the spike list the window produced. The maths
lives in the Cython kernels (``_lif``, ``_cond``, ``_sources``); a group only wires arrays
to them and keeps the bookkeeping in whole steps.

Time convention: global step s integrates [s dt, (s + 1) dt]; a spike emitted in step s
has the time (s + 1) dt.
"""
import logging

import numpy as np

from . import _sources
from .recording import GroupRecording

logger = logging.getLogger("pyNN_neuro")


class Group:
    """What every group offers the run loop: ``update(step0, K)`` then a spike list
    ``spike_k[:n_spikes]`` (step within the window) and ``spike_i[:n_spikes]`` (neuron),
    whose spikes ``update`` has also added to ``spike_count``."""

    receptor_names = ()
    state_names = ()

    def __init__(self, label, size, dt):
        self.label = label
        self.size = int(size)
        self.dt = dt
        self.n_spikes = 0
        self.spike_count = np.zeros(self.size, dtype=np.int64)  # spikes per neuron, whole run
        self.recording = GroupRecording(self)
        self.ring = None

    def allocate(self, window_max, ring_length, step=0):
        """(Re)allocate the window buffers. At a rebuild (``step`` > 0) the synaptic input
        already on its way, in ring slots ``step`` onwards, is carried over."""
        self.window_max = window_max
        self.ring_length = ring_length
        capacity = window_max * self.size
        self.spike_k = np.zeros(capacity, dtype=np.intc)
        self.spike_i = np.zeros(capacity, dtype=np.intc)
        if self.receptor_names:
            old = self.ring
            self.ring = np.zeros((len(self.receptor_names), ring_length, self.size))
            if old is not None and old.shape[0] == self.ring.shape[0]:
                old_length = old.shape[1]
                for s in range(step, step + min(old_length, ring_length)):
                    self.ring[:, s % ring_length] = old[:, s % old_length]

    def clear_inputs(self):
        if self.ring is not None:
            self.ring[...] = 0.0

    def resume(self, step):
        """Continue from ``step`` after the engine was rebuilt (state arrays are kept)."""

    def spike_times_of(self, steps, ids):
        """Times (ms) of spikes emitted in ``steps``: the end of each step."""
        return (steps + 1) * self.dt


class NeuronGroup(Group):
    """A population of model neurons advanced by one of the Cython kernel classes.

    ``params`` maps the kernel's parameter names to float64 arrays (PyNN units);
    ``initial_state`` maps state names to float64 arrays used at build and at every reset.
    """

    def __init__(self, label, kernel_class, size, params, initial_state, dt, num_threads=1,
                 names=None, kernel_options=None):
        super().__init__(label, size, dt)
        self.kernel_class = kernel_class
        # kernels with a variable number of receptors give their names per instance
        names = names or {}
        self.receptor_names = tuple(names.get("receptor_names", kernel_class.receptor_names))
        self.state_names = tuple(names.get("state_names", kernel_class.state_names))
        self.internal_names = tuple(names.get("internal_names", kernel_class.internal_names))
        self.param_names = tuple(names.get("param_names", kernel_class.param_names))
        self.kernel_options = kernel_options or {}
        self.num_threads = num_threads
        self.params = {}
        self.set_parameters(params, rebuild=False)
        self.initial_state = initial_state
        self.state = {name: np.zeros(self.size) for name in self.state_names + self.internal_names}
        self.restore_initial_state()
        self.current_inputs = []   # callables f(i_ext, step0, K) adding nA into i_ext[:K]
        self.kernel = None

    def set_parameters(self, params, rebuild=True):
        for name in self.param_names:
            self.params[name] = np.array(np.broadcast_to(np.asarray(params[name], dtype=float),
                                                         (self.size,)))
        if rebuild and self.kernel is not None:
            self.make_kernel()

    def restore_initial_state(self):
        for name in self.state_names:
            self.state[name][:] = self.initial_state.get(name, 0.0)
        for name in self.internal_names:
            self.state[name][:] = 0.0

    def allocate(self, window_max, ring_length, step=0):
        super().allocate(window_max, ring_length, step)
        self.i_ext = np.zeros((window_max, self.size))
        self.spiked = np.zeros((window_max, self.size), dtype=np.uint8)
        self.compaction = _sources.Compaction(self.spiked, self.spike_k, self.spike_i,
                                              self.spike_count, self.num_threads)
        self._allocate_state_record()
        self.make_kernel()

    def _allocate_state_record(self):
        if self.recording.records_state:
            self.rec = np.zeros((len(self.state_names), self.window_max, self.size))
        else:
            self.rec = np.zeros((0, 0, 0))
        self.records_state = self.rec.shape[0] > 0

    def recording_changed(self):
        if self.kernel is not None and self.records_state != self.recording.records_state:
            self._allocate_state_record()
            self.make_kernel()

    def make_kernel(self):
        self.kernel = self.kernel_class(self.params, self.state, self.dt, self.ring, self.i_ext,
                                        self.spiked, self.rec, self.num_threads,
                                        **self.kernel_options)
        # the integrate-and-fire kernels read only i_ext's first row while it is all
        # zeros (no current source): told so before every window
        self.flags_external_current = hasattr(self.kernel, "external_current")

    def update(self, step0, K):
        self.before_kernel(step0, K)
        self.kernel.update(step0, K, self.records_state)
        self.after_kernel(K)

    def before_kernel(self, step0, K):
        """``update`` up to the kernel's own: the window's injected currents."""
        if self.current_inputs:
            self.i_ext[:K] = 0.0
            for inject in self.current_inputs:
                inject(self.i_ext, step0, K)
        if self.flags_external_current:
            self.kernel.external_current = bool(self.current_inputs)

    def after_kernel(self, K):
        """``update`` after the kernel's: the window's spike list."""
        self.n_spikes = self.compaction.run(K)


class SpikeArrayGroup(Group):
    """SpikeSourceArray: replays the spike times of each neuron.

    A spike wanted at time T is emitted in the step that ends at T rounded up to the dt grid.
    With ``exact_times`` the recording reports T itself (NEST's "off_grid" precision).
    """

    def __init__(self, label, size, spike_times, dt, exact_times=False):
        super().__init__(label, size, dt)
        self.exact_times = exact_times
        self.source = None
        self.set_spike_times(spike_times)

    def set_spike_times(self, spike_times):
        """``spike_times``: one array of times (ms) per neuron."""
        steps, neurons, exact = [], [], []
        for i, times in enumerate(spike_times):
            times = np.asarray(times, dtype=float)
            if times.size:
                # off-grid times go to the next grid point, as NEST's spike generator does
                s = np.ceil(times / self.dt - 1e-9).astype(np.int64) - 1
                steps.append(s)
                neurons.append(np.full(s.size, i, dtype=np.intc))
                exact.append(times)
        if steps:
            steps = np.concatenate(steps)
            neurons = np.concatenate(neurons)
            exact = np.concatenate(exact)
            keep = steps >= 0
            if not keep.all():
                logger.warning("%s: %d spike time(s) <= 0 ms dropped (the first step ends at "
                               "t = dt)", self.label, int((~keep).sum()))
            steps, neurons, exact = steps[keep], neurons[keep], exact[keep]
            order = np.lexsort((exact, neurons, steps))
            self.steps = np.ascontiguousarray(steps[order])
            self.neurons = np.ascontiguousarray(neurons[order])
            self.times = exact[order]
        else:
            self.steps = np.zeros(0, dtype=np.int64)
            self.neurons = np.zeros(0, dtype=np.intc)
            self.times = np.zeros(0)
        if self.source is not None:
            current = self.source_step
            self.make_source()
            self.source.seek(current)

    def allocate(self, window_max, ring_length, step=0):
        super().allocate(window_max, ring_length, step)
        # several spikes of one neuron may fall in one step
        counts = np.bincount(self.steps // max(window_max, 1)) if self.steps.size else [0]
        capacity = max(window_max * self.size, int(np.max(counts)) + 1)
        self.spike_k = np.zeros(capacity, dtype=np.intc)
        self.spike_i = np.zeros(capacity, dtype=np.intc)
        self.source_step = 0
        self.make_source()

    def spike_times_of(self, steps, ids):
        """Times (ms) of recorded spikes: the grid times, or with ``exact_times`` the times
        that were asked for. ``steps``/``ids`` are in emission order."""
        if not self.exact_times or steps.size == 0:
            return (steps + 1) * self.dt
        keys = self.steps * self.size + self.neurons
        wanted = steps * self.size + ids
        run_starts = np.r_[0, np.nonzero(np.diff(wanted))[0] + 1]
        run_lengths = np.diff(np.r_[run_starts, wanted.size])
        rank = np.arange(wanted.size) - np.repeat(run_starts, run_lengths)
        return self.times[np.searchsorted(keys, wanted) + rank]

    def make_source(self):
        self.source = _sources.SpikeArraySource(self.steps, self.neurons, self.spike_k,
                                                self.spike_i, self.spike_count)

    def restore_initial_state(self):
        if self.source is not None:
            self.source.seek(0)
        self.source_step = 0

    def resume(self, step):
        self.source.seek(step)
        self.source_step = step

    def update(self, step0, K):
        self.n_spikes = self.source.update(step0, K)
        self.source_step = step0 + K


class RenewalGroup(Group):
    """SpikeSourcePoisson, SpikeSourcePoissonRefractory and SpikeSourceGamma."""

    KINDS = {"poisson": 0, "poisson_refractory": 1, "gamma": 2}

    def __init__(self, label, kind, size, params, dt, seed, num_threads=1):
        super().__init__(label, size, dt)
        self.kind = self.KINDS[kind]
        self.num_threads = num_threads
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.next_time = np.zeros(self.size)
        self.counter = np.zeros(self.size, dtype=np.uint64)
        self.params = {}
        self.source = None
        self.direct = None     # [(indptr, post, weight, delay, ring)]: see set_direct
        self.time = 0.0
        self.set_parameters(params)

    def set_direct(self, targets):
        """Let the source add its spikes straight into its units' rings (see
        ``RenewalSource.set_direct``; ``targets``: a list of (indptr, post, weight, delay,
        ring)), or go back to a spike list (None). The engine decides
        (``Simulation.allocate``)."""
        self.direct = targets or None
        if self.source is not None:
            self._apply_direct()

    def _apply_direct(self):
        self.source.set_direct(self.direct or [])

    def set_parameters(self, params):
        for name, value in params.items():
            self.params[name] = np.array(np.broadcast_to(np.asarray(value, dtype=float),
                                                         (self.size,)))
        if self.source is not None:
            if self.time == 0.0:
                self.counter[:] = 0   # at t = 0 (e.g. just after a reset) replay from the start
            self.make_source()
            self.source.restart(self.time)

    def _capacity(self, window_max):
        if self.kind == 2:
            rate = self.params["beta"] / np.maximum(self.params["alpha"], 1.0)
        else:
            rate = self.params["rate"]
        expected = float(np.sum(np.maximum(rate, 0.0))) * window_max * self.dt / 1000.0
        return int(2 * window_max * self.size + 4 * expected + 1024)

    def allocate(self, window_max, ring_length, step=0):
        super().allocate(window_max, ring_length, step)
        capacity = self._capacity(window_max)
        self.spike_k = np.zeros(capacity, dtype=np.intc)
        self.spike_i = np.zeros(capacity, dtype=np.intc)
        first = self.source is None
        self.make_source()
        if first:
            self.restore_initial_state()

    def resume(self, step):
        self.time = step * self.dt
        if np.any(self.next_time < self.time):
            # a source created after a run: its processes start now, not at t = 0
            self.source.restart(self.time)

    def make_source(self):
        self.source = _sources.RenewalSource(self.kind, self.params, self.dt, self.seed,
                                             self.next_time, self.counter,
                                             self.spike_k, self.spike_i, self.spike_count,
                                             self.num_threads)
        self._apply_direct()

    def restore_initial_state(self):
        self.counter[:] = 0
        self.time = 0.0
        if self.source is not None:
            self.source.restart(0.0)

    def update(self, step0, K):
        if self.direct is not None and self.recording.records_spikes:
            self.set_direct(None)          # recorded from now on: the spikes need a list
        self.n_spikes = self.source.update(step0, K)
        self.time = (step0 + K) * self.dt
        if self.source.overflow:
            raise RuntimeError(
                f"spike source '{self.label}' produced more spikes in one window than its "
                f"buffer holds ({self.spike_k.size}); its rates are too high for dt={self.dt} ms")
