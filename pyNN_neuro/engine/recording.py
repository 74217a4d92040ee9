"""Recording buffers of one group: spikes and sampled state variables.

Samples of a state variable are taken at t0, t0 + interval, ... where t0 is the start of the
recording segment (0 after a reset, the current time after ``get_data(clear=True)``); the
sample at t0 is the state at that time (the initial value at t = 0). Data are kept in numpy
arrays; Neo objects are built by the backend only when asked for.
"""
import numpy as np

from . import _sources


class _Growable:
    """An append-only 1-D array with amortised doubling."""

    def __init__(self, dtype):
        self.data = np.zeros(1024, dtype=dtype)
        self.size = 0

    def extend(self, values):
        n = len(values)
        self.make_room(n)
        self.data[self.size:self.size + n] = values
        self.size += n

    def make_room(self, n):
        """Grow the buffer, if needed, so that n more values fit."""
        if self.size + n > self.data.size:
            new = np.zeros(max(2 * self.data.size, self.size + n), dtype=self.data.dtype)
            new[:self.size] = self.data[:self.size]
            self.data = new

    def view(self):
        return self.data[:self.size]

    def clear(self):
        self.size = 0


class _SampledVariable:
    """The samples of one state variable, in chunks: a new chunk starts whenever the set of
    recorded neurons changes. A chunk is [first sample number, neuron indices, buffer,
    rows filled]; the run loop reserves the buffer rows of a whole run before it starts, so
    the kernels' output is copied straight into place."""

    def __init__(self):
        self.indices = np.zeros(0, dtype=np.intp)
        self.chunks = []

    def _new_chunk(self, first_sample):
        self.chunks.append([first_sample, self.indices, np.zeros((0, self.indices.size)), 0])

    def set_indices(self, indices, first_sample):
        self.indices = np.asarray(sorted(set(indices)), dtype=np.intp)
        self._new_chunk(first_sample)

    def reserve(self, rows):
        chunk = self.chunks[-1]
        buffer, filled = chunk[2], chunk[3]
        if buffer.shape[0] - filled < rows:
            grown = np.empty((filled + rows, buffer.shape[1]))
            grown[:filled] = buffer[:filled]
            chunk[2] = grown

    def append(self, rows):
        self.reserve(rows.shape[0])      # nothing to do when the run reserved the rows
        chunk = self.chunks[-1]
        chunk[2][chunk[3]:chunk[3] + rows.shape[0]] = rows
        chunk[3] += rows.shape[0]

    def keep_samples_before(self, n_samples):
        for chunk in self.chunks:
            chunk[3] = max(0, min(chunk[3], n_samples - chunk[0]))

    def clear(self, first_sample):
        self.chunks = []
        self._new_chunk(first_sample)


class GroupRecording:
    def __init__(self, group):
        self.group = group
        self.spike_mask = np.zeros(group.size, dtype=bool)
        self._spike_mask_bytes = self.spike_mask.view(np.uint8)
        self._spikes_recorded = "none"          # "none", "some" or "all" neurons
        self._appender = _sources.SpikeAppender()
        self.spike_steps = _Growable(np.int64)
        self.spike_ids = _Growable(np.intc)
        self.variables = {}
        self.interval_steps = 1
        self.start_step = 0        # time of sample 0, in steps
        self.n_samples = 0         # samples taken in this segment

    @property
    def records_state(self):
        return any(v.indices.size for v in self.variables.values())

    @property
    def records_spikes(self):
        return bool(self.spike_mask.any())

    # configuration -----------------------------------------------------------------------

    def record_spikes(self, indices):
        self.spike_mask[np.asarray(indices, dtype=np.intp)] = True
        self._spike_mask_changed()

    def _spike_mask_changed(self):
        self._spikes_recorded = ("all" if self.spike_mask.all() else
                                 "some" if self.spike_mask.any() else "none")

    def record_variable(self, name, indices, interval_steps):
        if name not in self.variables:
            self.variables[name] = _SampledVariable()
        var = self.variables[name]
        self.interval_steps = int(interval_steps)
        merged = np.union1d(var.indices, np.asarray(indices, dtype=np.intp))
        var.set_indices(merged, self.n_samples)

    def stop_all(self):
        """Record nothing from now on and forget all data (PyNN's ``record(None)``)."""
        self.spike_mask[:] = False
        self._spike_mask_changed()
        self.variables = {}
        self.spike_steps.clear()
        self.spike_ids.clear()

    def clear(self, current_step):
        """Forget recorded data; the next segment starts at ``current_step``."""
        self.spike_steps.clear()
        self.spike_ids.clear()
        self.start_step = current_step
        self.n_samples = 0
        for var in self.variables.values():
            var.clear(0)

    # data collection (called by the run loop) --------------------------------------------

    def reserve(self, step, end_step):
        """Make room for every sample due from ``step`` to ``end_step`` (a run)."""
        if not self.variables:
            return
        due = (end_step - self.start_step) // self.interval_steps + 1 - self.n_samples
        if due > 0:
            for var in self.variables.values():
                if var.indices.size:
                    var.reserve(due)

    def sample_now(self, current_step):
        """Take the sample due at ``current_step`` from the state arrays, if one is due."""
        if not self.variables:
            return
        due = self.start_step + self.n_samples * self.interval_steps
        if due != current_step:
            return
        for name, var in self.variables.items():
            if var.indices.size:
                var.append(self.group.state[name][var.indices][np.newaxis, :].copy())
        self.n_samples += 1

    def collect(self, step0, K):
        group = self.group
        n = group.n_spikes
        if n and self._spikes_recorded != "none":
            steps, ids = self.spike_steps, self.spike_ids
            steps.make_room(n)
            ids.make_room(n)
            steps.size = ids.size = self._appender.append(
                group.spike_k, group.spike_i, n, step0, self._spike_mask_bytes,
                self._spikes_recorded == "all", steps.data, ids.data, steps.size)
        if not self.variables or group.rec.shape[0] == 0:
            return
        # step k ends at time step0 + k + 1; samples are due at start + m * interval
        first_due = self.start_step + self.n_samples * self.interval_steps
        k_first = first_due - step0 - 1
        if k_first >= K:
            return
        ks = np.arange(k_first, K, self.interval_steps)
        for name, var in self.variables.items():
            if var.indices.size:
                j = group.state_names.index(name)
                var.append(group.rec[j][ks][:, var.indices])
        self.n_samples += ks.size

    def truncate(self, step):
        """Drop data recorded for times after ``step`` (a window interrupted part-way)."""
        steps = self.spike_steps.view()
        keep = int(np.searchsorted(steps, step))   # spikes of steps < step end by ``step``
        self.spike_steps.size = keep
        self.spike_ids.size = keep
        if step < self.start_step:
            return
        allowed = (step - self.start_step) // self.interval_steps + 1
        if self.n_samples <= allowed:
            return
        for var in self.variables.values():
            var.keep_samples_before(allowed)
        self.n_samples = allowed

    # data access -------------------------------------------------------------------------

    def spikes(self):
        """(neuron indices, spike times in ms) of this segment."""
        ids = self.spike_ids.view().copy()
        return ids, self.group.spike_times_of(self.spike_steps.view(), ids)

    def signals(self, name, indices):
        """Array (n_samples, len(indices)) of ``name`` for the neurons ``indices``; NaN
        where a neuron was not yet recorded."""
        indices = np.asarray(indices, dtype=np.intp)
        out = np.full((self.n_samples, indices.size), np.nan)
        var = self.variables.get(name)
        if var is None:
            return out
        for first, chunk_indices, buffer, filled in var.chunks:
            if not filled or not chunk_indices.size:
                continue
            pos = np.searchsorted(chunk_indices, indices)
            pos[pos >= chunk_indices.size] = 0
            found = chunk_indices[pos] == indices
            out[first:first + filled, found] = buffer[:filled][:, pos[found]]
        return out
