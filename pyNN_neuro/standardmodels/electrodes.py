"""Current sources with PyNN's timing semantics.

The current of a source is a function of time i(t) (nA). The engine integrates step s, the
interval [s dt, (s + 1) dt], with the value i(s dt): a current that starts at ``start`` acts
on the step that begins at ``start``, so the membrane first moves at start + dt, and it
stops acting on the step that begins at ``stop``. Recording a source gives i(t) at
t = 0, dt, ..., t_stop.

* DCSource: amplitude for start <= t < stop.
* StepCurrentSource: amplitudes[k] from times[k] (rounded to the dt grid) to the next time.
* ACSource: offset + amplitude sin(2 pi frequency (t - start) / 1000 + phase pi / 180)
  for start <= t < stop (the phase holds at ``start``).
* NoisyCurrentSource: mean + stdev * N_j for start <= t < stop, with a new standard normal
  N_j every ``dt`` ms of the source (j = floor((t - start) / dt_noise)), independent for
  every target neuron and reproducible from the seed.
"""
import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from ..engine import _sources
from ..simulator import state


class _CurrentSource:
    """Engine glue shared by all current sources."""

    def __init__(self, **parameters):
        self._targets = {}       # population -> (population, sorted neuron indices)
        self._recorded = False
        self._record_values = []
        # PyNN hands over only the parameters the user gave; start from the defaults
        self._native = {name: (value.value if isinstance(value, Sequence) else value)
                        for name, value in self.default_parameters.items()}
        self._index = len(state.current_sources)
        super().__init__(**parameters)
        self.set_parameters(**parameters)
        state.current_sources.append(self)

    # parameters ----------------------------------------------------------------------------

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            if isinstance(value, Sequence):
                value = value.value
            self._native[name] = value
        self._validate()

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native))

    def _validate(self):
        for name in ("start", "stop"):
            if name in self._native and self._native[name] < 0:
                raise errors.InvalidParameterValueError(
                    f"{type(self).__name__}: {name} = {self._native[name]} ms must be >= 0")

    # targets -----------------------------------------------------------------------------------

    def inject_into(self, cells):
        """Inject this current into ``cells`` (Population, PopulationView, Assembly or IDs)."""
        from ..projections import _resolve
        from pyNN import common
        if isinstance(cells, (common.BasePopulation, common.Assembly)):
            bases, base_ids, base_indices = _resolve(cells)
            groups = [(b, base_indices[base_ids == k]) for k, b in enumerate(bases)]
        else:
            by_parent = {}
            for cell in cells:
                parent = cell.parent
                base = getattr(parent, "grandparent", parent)
                by_parent.setdefault(id(base), (base, []))[1].append(base.id_to_index(int(cell)))
            groups = [(b, np.asarray(idx)) for b, idx in by_parent.values()]
        for base, indices in groups:
            if not base.celltype.injectable:
                raise TypeError(f"Can't inject current into a spike source ({base.label})")
            old = self._targets.get(id(base), (base, np.zeros(0, dtype=np.intp)))[1]
            self._targets[id(base)] = (base, np.union1d(old, indices).astype(np.intp))
        state.register(self)
        if state.engine is not None:
            state.needs_rebuild = True

    @property
    def _seed(self):
        """Seed of this source's noise: fixed by the global seed and the creation order."""
        return int(np.random.SeedSequence([state.rng_seed, 1_000_003, self._index]
                                          ).generate_state(1, np.uint64)[0])

    def _connect_to_engine(self):
        for k, (base, indices) in enumerate(self._targets.values()):
            # the recorded trace is the current of the first target neuron
            base._make_group().current_inputs.append(self._injector(indices, records=(k == 0)))

    def _injector(self, indices, records):
        dt = state.dt
        seed = self._seed

        def inject(i_ext, step0, K):
            times = (step0 + np.arange(K)) * dt
            values = self._current(times, indices.size, seed)
            if values.ndim == 1:
                i_ext[:K, indices] += values[:, np.newaxis]
            else:
                i_ext[:K, indices] += values
            if records and self._recorded:
                self._record_values.append((step0, (values if values.ndim == 1 else values[:, 0]).copy()))
        return inject

    # recording ---------------------------------------------------------------------------------

    def record(self):
        self._recorded = True

    def _reset_recording(self):
        self._record_values = []

    def _get_data(self):
        """Times 0, dt, ..., t (ms) and the current (nA) at each."""
        dt = state.dt
        n_steps = state.steps_for(state.t)
        values = np.zeros(n_steps + 1)
        for step0, chunk in self._record_values:
            end = min(step0 + chunk.size, n_steps)
            if end > step0:
                values[step0:end] = chunk[:end - step0]
        last = self._current(np.array([n_steps * dt]), 1, self._seed)
        values[n_steps] = last[0] if last.ndim == 1 else last[0, 0]
        return np.arange(n_steps + 1) * dt, values

    def _window(self, times):
        return (times >= self._native["start"] - 1e-9 * state.dt) & \
               (times < self._native["stop"] - 1e-9 * state.dt)


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))

    def _current(self, times, n_targets, seed):
        return np.where(self._window(times), float(self._native["amplitude"]), 0.0)


class ACSource(_CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"), ("frequency", "frequency"),
                                      ("offset", "offset"), ("phase", "phase"))

    def _current(self, times, n_targets, seed):
        p = self._native
        wave = p["offset"] + p["amplitude"] * np.sin(
            2 * np.pi * p["frequency"] * (times - p["start"]) / 1000.0 + p["phase"] * np.pi / 180.0)
        return np.where(self._window(times), wave, 0.0)


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def _validate(self):
        times = np.asarray(self._native.get("times", []), dtype=float).ravel()
        amplitudes = np.asarray(self._native.get("amplitudes", []), dtype=float).ravel()
        if times.size != amplitudes.size:
            raise errors.InvalidParameterValueError(
                f"StepCurrentSource: {times.size} times but {amplitudes.size} amplitudes")
        if times.size and times.min() < 0:
            raise errors.InvalidParameterValueError(
                f"StepCurrentSource: times must be >= 0, got {times.min()} ms")
        if np.any(np.diff(times) < 0):
            raise errors.InvalidParameterValueError(
                f"StepCurrentSource: times must be in increasing order, got {times[:10]}")
        # onto the dt grid; of several times that land on one step the last amplitude holds
        dt = state.dt
        steps = np.floor(times / dt + 0.5 + 1e-9).astype(np.int64)
        keep = np.ones(steps.size, dtype=bool)
        keep[:-1] = steps[1:] != steps[:-1]
        self._native["times"] = steps[keep] * dt
        self._native["amplitudes"] = amplitudes[keep]
        self._steps = steps[keep]

    def _current(self, times, n_targets, seed):
        steps = np.rint(np.asarray(times) / state.dt).astype(np.int64)
        k = np.searchsorted(self._steps, steps, side="right") - 1
        amplitudes = np.asarray(self._native["amplitudes"], dtype=float)
        return np.where(k >= 0, amplitudes[np.maximum(k, 0)] if amplitudes.size else 0.0, 0.0)


class NoisyCurrentSource(_CurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean"), ("stdev", "stdev"), ("start", "start"),
                                      ("stop", "stop"), ("dt", "dt"))

    def _validate(self):
        super()._validate()
        noise_dt = self._native.get("dt")
        if noise_dt is not None:
            ratio = noise_dt / state.dt
            if noise_dt <= 0 or abs(ratio - round(ratio)) > 1e-9:
                raise errors.InvalidParameterValueError(
                    f"NoisyCurrentSource: dt = {noise_dt} ms must be a positive multiple of the "
                    f"time step {state.dt} ms")

    def _current(self, times, n_targets, seed):
        p = self._native
        interval = np.floor((times - p["start"]) / p["dt"] + 1e-9).astype(np.int64)
        interval = np.maximum(interval, 0).astype(np.uint64)
        streams = np.repeat(np.arange(n_targets, dtype=np.uint64)[np.newaxis, :], times.size, 0)
        counters = np.repeat(interval[:, np.newaxis], n_targets, 1) * np.uint64(2)
        u1 = _sources.uniform_array(seed, streams.ravel(), counters.ravel())
        u2 = _sources.uniform_array(seed, streams.ravel(), (counters + np.uint64(1)).ravel())
        normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)
        values = p["mean"] + p["stdev"] * normal.reshape(times.size, n_targets)
        return np.where(self._window(times)[:, np.newaxis], values, 0.0)
