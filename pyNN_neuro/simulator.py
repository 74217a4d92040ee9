"""The simulation state: clock, network registry, deferred build, run, reset.

Building is deferred to the first ``run()`` (as in GeNN's PyNN backend): until then,
populations and projections answer ``get``/``set``/``initialize`` from their own arrays. The
build turns them into engine groups and delivery units; a later ``run()`` reuses it.
Changing the connectivity after a run (a new population, projection or current source)
rebuilds the engine with a log line: neuron state carries over, spikes in flight do not.
"""
import logging

import numpy as np
from pyNN import common, errors
from pyNN.common.control import DEFAULT_MAX_DELAY

from .engine import Simulation
from .engine.delivery import uniform_value
from .hardware import DEFAULT_PROFILE, get_profile
from . import mapping as mapping_compiler
from .mapping.quantise import quantise_projections
from . import paradigms, unrolling

logger = logging.getLogger("pyNN_neuro")

name = "pyNN_neuro"


def delay_steps(delays, dt, writeable=True):
    """Whole steps of each delay (ms): the nearest multiple of dt, halves rounded up. With
    ``writeable=False`` one delay for all gives a read-only broadcast of one value (no
    array of a network's size to fill and fault in)."""
    delays = np.asarray(delays, dtype=float)
    if delays.ndim == 0:
        return np.floor(delays * (1.0 / dt) + 0.5 + 1e-9).astype(np.int64)
    value = uniform_value(delays)
    if value is not None:    # one delay (the usual case): computed once, the same steps
        if not writeable:
            return np.broadcast_to(delay_steps(value, dt), delays.shape)
        return np.full(delays.size, delay_steps(value, dt), dtype=np.int64)
    steps = delays * (1.0 / dt)
    steps += 0.5          # in place, in the order of floor(d / dt + 0.5 + 1e-9)
    steps += 1e-9
    return np.floor(steps, out=steps).astype(np.int64)


def steps_to_ms(steps, dt):
    """Milliseconds of a whole number of steps, without binary noise when 1/dt is whole
    (3 steps of 0.1 ms is 0.3, not 0.30000000000000004)."""
    per_ms = 1.0 / dt
    if abs(per_ms - round(per_ms)) < 1e-9:
        return np.asarray(steps, dtype=float) / round(per_ms)
    return np.asarray(steps, dtype=float) * dt


class ID(int, common.IDMixin):

    def __init__(self, n):
        """Create an ID object with numerical value `n`."""
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """Clock and network of the current simulation (one per process)."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.num_threads = 1
        self.rng_seed = 1234567
        self.spike_precision = "on_grid"
        self.paradigm = "serial"
        self.hardware = get_profile(DEFAULT_PROFILE)
        self.mapper = "default"
        self.unroll = "exact"
        self.write_on_end = []
        self.clear()

    # delays ------------------------------------------------------------------------------

    @property
    def min_delay(self):
        """The smallest delay (ms): the value given to ``setup()``, or with 'auto' the
        smallest delay of any existing connection (dt when there is none)."""
        if self._min_delay == "auto":
            delays = [p._min_delay_ms() for p in self.projections]
            delays = [d for d in delays if d is not None]
            return min(delays) if delays else self.dt
        return self._min_delay

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def max_delay(self):
        if self._max_delay == "auto":
            delays = [p._max_delay_ms() for p in self.projections]
            delays = [d for d in delays if d is not None]
            return max(delays) if delays else self.dt
        return self._max_delay

    @max_delay.setter
    def max_delay(self, value):
        self._max_delay = value

    # time ----------------------------------------------------------------------------------

    @property
    def t(self):
        return self._t

    @t.setter
    def t(self, value):
        self._t = value

    def steps_for(self, t):
        """The whole number of steps nearest to ``t`` ms."""
        return int(round(t / self.dt))

    # network registry ------------------------------------------------------------------------

    def register(self, obj):
        """Record a new population, projection or current source; after a run, the engine
        is rebuilt before the next one."""
        if self.engine is not None:
            self.needs_rebuild = True
        self.network_changed()
        return obj

    def network_changed(self):
        """Connectivity or synapse values changed: the next mapping query recompiles."""
        self.mapping = None

    def configure_mapping(self, mapper, unroll):
        """Mapper and fan-in unrolling mode of ``get_mapping()`` (``setup()`` keywords)."""
        if mapper not in mapping_compiler.MAPPERS:
            raise errors.InvalidParameterValueError(
                f"setup(): mapper must be one of {tuple(mapping_compiler.MAPPERS)}, got {mapper!r}")
        if unroll not in mapping_compiler.UNROLL_MODES:
            raise errors.InvalidParameterValueError(
                f"setup(): unroll must be one of {mapping_compiler.UNROLL_MODES}, got {unroll!r}")
        self.mapper, self.unroll = mapper, unroll
        self.network_changed()

    def clear(self):
        """Forget the whole network (``setup()`` again)."""
        self.recorders = set([])
        self.id_counter = 0
        self.population_counter = 0
        self.segment_counter = -1
        self.write_on_end = []
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.engine = None
        self.mapping = None
        self.needs_rebuild = False
        self.quantise_weights = False
        self.weight_quantisation = None
        self.max_per_core_by_type = {}     # sPyNNaker's set_number_of_neurons_per_core
        self._min_delay = "auto"
        self._max_delay = DEFAULT_MAX_DELAY
        self.reset()

    # build and run -----------------------------------------------------------------------------

    def build(self):
        """Turn the network into engine groups and delivery units. With tree/chain
        unrolling the network is mapped first: the synapses on deeper units of an unrolled
        neuron act later by the depth of their unit (one step per partial-sum hop)."""
        self._apply_quantisation()
        self._apply_unrolling()
        previous = self.engine
        engine = Simulation(self.dt)
        for population in self.populations:
            group = engine.add_group(population._make_group())
            group.current_inputs = []
        for projection in self.projections:
            for unit in projection._make_units():
                engine.add_unit(unit)
        for source in self.current_sources:
            source._connect_to_engine()
        engine.allocate(previous.step if previous is not None else 0)
        for population in self.populations:
            population._configure_recording()
        self.engine = engine
        self.needs_rebuild = False

    def _prepare(self):
        if self.engine is None:
            self.build()
        elif self.needs_rebuild:
            logger.info("pyNN_neuro: the network changed after a run; rebuilding the engine "
                        "(neuron state kept, spikes in flight dropped)")
            self.build()
        for population in self.populations:
            population._push_changes()

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if tstop < self.t - self.dt / 2:
            raise ValueError(f"Cannot run backwards: requested time {tstop} ms is before the "
                             f"current time {self.t} ms")
        self._prepare()
        n_steps = self.steps_for(tstop) - self.engine.step
        self.running = True
        try:
            if n_steps > 0:
                self.engine.run(n_steps)
        finally:
            # on an exception or Ctrl-C the clock stops where the engine stopped, so the
            # data recorded up to there stay retrievable
            reached = self.engine.step
            t = tstop if reached == self.steps_for(tstop) else reached * self.dt
            # drop the binary noise of sums like 10 x 0.05 (0.49999999999999994 -> 0.5)
            self._t = round(t, 9) if abs(t - round(t, 9)) < 1e-12 * max(1.0, abs(t)) else t

    # mapping onto the hardware profile ----------------------------------------------------------

    def _apply_quantisation(self):
        """With ``setup(quantise_weights=True)``: every weight to the profile's weight bits
        (``pyNN_neuro.mapping.quantise``); raises MappingError before any simulation when a
        weight would be lost. Built units take the new weights at once."""
        if not self.quantise_weights:
            self.weight_quantisation = None
            return
        report = quantise_projections(self.projections, self.hardware)
        changed = report.pop("changed")
        built = [prj for prj in changed if prj._units is not None]
        for prj in built:
            for unit, selection in prj._units:
                unit.set("weight", prj._values["weight"][selection])
        if changed:
            paradigms.connections_changed()
        if built:
            paradigms.regrid_all(self)
        previous = self.weight_quantisation
        steps = [(r["population"], r["receptor"], r["scale"]) for r in report["receptors"]]
        if not changed and previous is not None and steps == [
                (r["population"], r["receptor"], r["scale"]) for r in previous["receptors"]]:
            return     # already on their steps: keep the errors of the first rounding
        self.weight_quantisation = report

    def _apply_unrolling(self):
        if self.unroll == "exact":
            for prj in self.projections:
                if prj._unroll_extra_steps is not None:
                    prj._units = None
                prj._unroll_extra_steps = None
            return
        mapping = self.get_mapping(refresh=False)
        added = mapping.legal.syn_added_steps
        start = 0
        for prj, selection, size in self._spec_pieces:
            if prj._unroll_extra_steps is None or len(prj._unroll_extra_steps) != len(prj):
                prj._unroll_extra_steps = np.zeros(len(prj), dtype=np.intc)
            stop = start + size
            if not np.array_equal(prj._unroll_extra_steps[selection], added[start:stop]):
                prj._sync_from_units()
                prj._units = None            # rebuild its units with the new delays
                prj._unroll_extra_steps[selection] = added[start:stop]
            start = stop

    def network_spec(self):
        """The network as the mapping compiler sees it (pure arrays), with the spike counts
        of the run so far when there has been one."""
        index = {id(p): i for i, p in enumerate(self.populations)}
        populations = [(p.label, p.size, not p.celltype.injectable, p._max_per_core_limit())
                       for p in self.populations]
        projections = []
        self._spec_pieces = []
        for prj in self.projections:
            weights = prj._values_of("weight")
            delays = prj._values_of("delay")
            for pre, post, pre_index, post_index, selection in prj._pieces():
                self._spec_pieces.append((prj, selection, pre_index.size))
                projections.append(dict(
                    label=prj.label or f"projection{len(projections)}",
                    pre=index[id(pre)], post=index[id(post)],
                    pre_index=pre_index, post_index=post_index,
                    weight=weights[selection],
                    delay_steps=delay_steps(delays[selection], self.dt),
                    synapse_type=type(prj.synapse_type).__name__,
                    plastic=bool(prj.synapse_type.plastic)))
        counts, duration = None, 0.0
        if self.engine is not None and self.engine.step > 0:
            counts = [p._group.spike_count for p in self.populations]
            duration = self.engine.step * self.dt
        return mapping_compiler.network_spec(populations, projections, spike_counts=counts,
                                             duration_ms=duration, dt_ms=self.dt)

    def get_mapping(self, refresh=True):
        """The network mapped onto ``self.hardware``: compiled on first request after any
        change of connectivity, its counted figures refreshed from the latest run (and, for
        tree/chain unrolling, the deviation of its spikes from an exact-mode run)."""
        if self.mapping is None:
            self._apply_quantisation()
            spec = self.network_spec()
            self.mapping = mapping_compiler.compile(spec, self.hardware, mapper=self.mapper,
                                                    unroll=self.unroll)
        elif refresh and self.engine is not None and self.engine.step > 0:
            self.mapping.update_counts([p._group.spike_count for p in self.populations],
                                       self.engine.step * self.dt, self.dt)
        if refresh:
            if self.unroll != "exact" and self.engine is not None and self.engine.step > 0 \
                    and not self.needs_rebuild:
                self.mapping.spike_deviation = unrolling.spike_deviation(self)
            self.mapping.extra_report["projections"] = paradigms.projection_report(self)
            self.mapping.extra_report["weight_quantisation"] = self.weight_quantisation
        return self.mapping

    def reset(self):
        """Back to t = 0 with initial values; keeps the build, parameters and connectivity."""
        self.running = False
        self._t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        if getattr(self, "engine", None) is not None:
            for population in self.populations:
                population._reinitialize_group()
            self.engine.reset()
            for population in self.populations:
                population._group.recording.clear(0)
            for source in self.current_sources:
                source._reset_recording()


state = State()
