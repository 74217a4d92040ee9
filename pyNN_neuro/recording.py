"""Recorder: PyNN's recording interface over the engine's numpy buffers.

Segment bookkeeping, Neo objects and file output come from ``pyNN.recording.Recorder``;
this class only says what to record and hands back arrays in PyNN units.
"""
import numpy as np
from pyNN import errors, recording

from . import simulator


class Recorder(recording.Recorder):
    _simulator = simulator

    def _indices(self, ids):
        base = self.population
        return np.fromiter((int(i) for i in ids), dtype=np.int64, count=len(ids)) - int(base.first_id)

    @property
    def _group(self):
        return self.population._group

    def _interval_steps(self):
        dt = self._simulator.state.dt
        steps = self.sampling_interval / dt
        if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
            raise errors.InvalidParameterValueError(
                f"sampling_interval ({self.sampling_interval} ms) must be a whole multiple of "
                f"the time step ({dt} ms)")
        return int(round(steps))

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        self._interval_steps()   # checked now, before any run
        if self._group is not None:
            self._apply_to_group()

    def _apply_to_group(self):
        """Tell the engine group what is recorded (at build, or at once after it)."""
        group = self._group
        interval = self._interval_steps()
        for variable, ids in self.recorded.items():
            if not ids:
                continue
            indices = self._indices(sorted(ids))
            if variable.name == "spikes":
                group.recording.record_spikes(indices)
            else:
                name = self.population.celltype.engine_state_name(variable.name)
                group.recording.record_variable(name, indices, interval)
        if hasattr(group, "recording_changed"):
            group.recording_changed()

    def _get_spiketimes(self, ids, clear=False):
        group = self._group
        first_id = int(self.population.first_id)
        if group is None:
            return np.zeros(0, dtype=int), np.zeros(0)
        indices, times = group.recording.spikes()
        wanted = np.zeros(group.size, dtype=bool)
        wanted[self._indices(ids)] = True
        keep = wanted[indices]
        return indices[keep] + first_id, times[keep]

    def _get_all_signals(self, variable, ids, clear=False):
        group = self._group
        indices = self._indices(ids)
        if group is None:
            return np.zeros((0, indices.size)), None
        name = self.population.celltype.engine_state_name(variable.name)
        return group.recording.signals(name, indices), None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        counts = dict.fromkeys((int(i) for i in ids), 0)
        group = self._group
        if group is None or not ids:
            return counts
        indices, _ = group.recording.spikes()
        per_neuron = np.bincount(indices, minlength=group.size)
        first_id = int(self.population.first_id)
        for i in ids:
            counts[int(i)] = int(per_neuron[int(i) - first_id])
        return counts

    def _clear_simulator(self):
        group = self._group
        if group is not None:
            group.recording.clear(group_step(self._simulator.state))

    def _reset(self):
        group = self._group
        if group is not None:
            group.recording.stop_all()
            if hasattr(group, "recording_changed"):
                group.recording_changed()


def group_step(state):
    return state.engine.step if state.engine is not None else 0
