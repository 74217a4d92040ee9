"""Projection for pyNN_neuro: connections kept as arrays, never as per-synapse objects.

PyNN's connectors call ``_convergent_connect`` once per postsynaptic neuron with the
presynaptic indices and native parameter values; we append arrays and consolidate them
once. The arrays stay in "connection order" (the order the connector made them): that is
the order of ``Projection.get(format='list')`` and of ``connections``. At build they are
split by (presynaptic population, postsynaptic population) into engine delivery units;
``set`` writes through to the units and ``get`` reads plastic weights back from them.
"""
import functools
from collections import defaultdict

import numpy as np
from lazyarray import larray as LazyArray
from pyNN import common, errors
from pyNN.random import RandomDistribution
from pyNN.core import is_listlike
from pyNN.space import Space
from pyNN.standardmodels.base import check_weights

from . import paradigms, simulator
from .engine.delivery import uniform_value
from .simulator import delay_steps, steps_to_ms
from .standardmodels.synapses import StaticSynapse

def _compact(values):
    """Connection values kept as the projection's record: one value for every connection
    (the usual weight and delay) becomes a read-only broadcast of that value, so that a
    network's worth of copies is neither held nor scanned again (``uniform_value`` sees a
    broadcast at once); other values stay the array. Writers replace the array."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 and values.size > 1 and values.strides[0] != 0:
        value = uniform_value(values)
        if value is not None:
            return np.broadcast_to(values[:1].copy(), values.shape)
    return values


#: mixed into the seeds of stochastic synapses' random streams (with the run's rng_seed,
#: the projection's creation number and the piece's number)
STOCHASTIC_SEED_TAG = 2_000_003


class Connection(common.Connection):
    """One connection, as a view onto the projection's arrays (made only on request)."""

    def __init__(self, projection, index):
        self._projection = projection
        self._index = index

    @property
    def presynaptic_index(self):
        return int(self._projection._pre_index[self._index])

    @property
    def postsynaptic_index(self):
        return int(self._projection._post_index[self._index])

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        projection = self._projection
        native = projection._native_name(name)
        values = projection._values_of(native)
        if values is None:
            raise AttributeError(f"connection has no attribute '{name}'")
        return float(values[self._index])

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self._projection._set_one(self._projection._native_name(name), self._index, value)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _resolve(neurons):
    """For each index of a Population, PopulationView or Assembly: the base population it
    belongs to (as a position in ``bases``) and its index there."""
    if isinstance(neurons, common.Assembly):
        parts = [_resolve(p) for p in neurons.populations]
        bases, base_ids, base_indices = [], [], []
        for part_bases, part_ids, part_indices in parts:
            remap = []
            for b in part_bases:
                if not any(b is x for x in bases):
                    bases.append(b)
                remap.append(next(k for k, x in enumerate(bases) if x is b))
            base_ids.append(np.asarray(remap, dtype=np.intp)[part_ids])
            base_indices.append(part_indices)
        return bases, np.concatenate(base_ids), np.concatenate(base_indices)
    if isinstance(neurons, common.PopulationView):
        base = neurons.grandparent
        return [base], np.zeros(neurons.size, dtype=np.intp), \
            np.asarray(neurons.index_in_grandparent(np.arange(neurons.size)), dtype=np.intp)
    return [neurons], np.zeros(neurons.size, dtype=np.intp), np.arange(neurons.size)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None,
                 space=Space(), label=None):
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type,
                                   space, label)
        self.synapse_type._check_post(self.post)
        self._pre_chunks, self._post_chunks = [], []
        self._value_chunks = defaultdict(list)
        self._units = None
        self._pre_index = np.zeros(0, dtype=np.intp)
        self._post_index = np.zeros(0, dtype=np.intp)
        # every native attribute exists from the start, so an empty projection answers get()
        self._values = {t["translated_name"]: np.zeros(0)
                        for t in self.synapse_type.translations.values()}
        self._paradigm = None
        self._paradigm_decision = None     # how the units were chosen (mapping report)
        # extra delay steps per connection (connection order) added by tree/chain fan-in
        # unrolling of the hardware mapping; set by the state before the build, else None
        self._unroll_extra_steps = None
        self._initial_synapse_state = {}   # Projection.initialize, connection order
        connector.connect(self)
        self._consolidate()
        state = simulator.state
        self._number = len(state.projections)     # creation order: seeds random streams
        state.projections.append(self)
        state.register(self)

    # connection building ---------------------------------------------------------------------

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("pyNN_neuro does not support multicompartmental models "
                                      "(location_selector)")
        pre = np.asarray(presynaptic_indices, dtype=np.intp).ravel()
        n = pre.size
        if n == 0:
            return
        self._pre_chunks.append(pre)
        self._post_chunks.append(np.full(n, int(postsynaptic_index), dtype=np.intp))
        for name, value in connection_parameters.items():
            if is_listlike(value):
                value = np.asarray(value, dtype=float).ravel()
            self._value_chunks[name].append(np.broadcast_to(np.asarray(value, dtype=float), (n,)))

    def _consolidate(self):
        if self._pre_chunks:
            self._pre_index = np.concatenate([self._pre_index] + self._pre_chunks)
            self._post_index = np.concatenate([self._post_index] + self._post_chunks)
            for name, chunks in self._value_chunks.items():
                old = self._values.get(name, np.zeros(0))
                self._values[name] = np.concatenate([old] + chunks)
        self._pre_chunks, self._post_chunks = [], []
        self._value_chunks = defaultdict(list)
        if "delay" in self._values:
            self._values["delay"] = self._round_delays(self._values["delay"])
        self._values = {name: _compact(values) for name, values in self._values.items()}
        self.synapse_type._check_values(self._values, self)

    def _round_delays(self, delays):
        dt = simulator.state.dt
        if delays.size and delays.min() < dt * (1 - 1e-9):
            raise errors.ConnectionError(
                f"Projection '{self.label}': delay {delays.min()} ms is below the time step "
                f"dt = {dt} ms (delays must be >= dt)")
        return steps_to_ms(delay_steps(delays, dt), dt)

    def __len__(self):
        return int(self._pre_index.size)

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def __getitem__(self, i):
        if isinstance(i, int):
            if i < 0:
                i += len(self)
            if not 0 <= i < len(self):
                raise IndexError(i)
            return Connection(self, i)
        return [Connection(self, j) for j in range(len(self))[i]]

    def _min_delay_ms(self):
        d = self._values.get("delay")
        return float(d.min()) if d is not None and d.size else None

    def _max_delay_ms(self):
        d = self._values.get("delay")
        return float(d.max()) if d is not None and d.size else None

    # attribute access ---------------------------------------------------------------------------

    def _native_name(self, name):
        translations = self.synapse_type.translations
        if name in translations:
            return translations[name]["translated_name"]
        return name

    def _values_of(self, native_name):
        """Current values in connection order (plastic ones read back from the engine)."""
        if native_name not in self._values:
            return None
        if self._units is not None and native_name == "weight" and self.synapse_type.plastic:
            values = self._values["weight"]
            if not values.flags.writeable:       # one value at build: each synapse its own now
                values = self._values["weight"] = values.copy()
            for unit, selection in self._units:
                values[selection] = unit.get("weight")
        return self._values[native_name]

    def _set_one(self, native_name, index, value):
        values = self._values_of(native_name)
        if values is None:
            raise AttributeError(f"connections of this projection have no '{native_name}'")
        new = values.copy()
        new[index] = value
        self._store(native_name, new)

    def _store(self, native_name, values):
        values = np.asarray(values, dtype=float)
        if native_name == "delay":
            values = self._round_delays(values)
        if native_name == "weight" and values.size:
            check_weights(values, self)   # signs that fit the receptor, as at connect time
        self._values[native_name] = values = _compact(values)
        self.synapse_type._check_values(self._values, self)
        simulator.state.network_changed()
        if native_name in ("weight", "delay"):
            paradigms.connections_changed()
        if self._units is None:
            return
        if native_name == "delay":
            self._sync_from_units()
            self._units = None
            simulator.state.needs_rebuild = True
            return
        for unit, selection in self._units:
            unit.set(native_name, self._values[native_name][selection])
        if native_name == "weight":
            # the new weights may need a coarser grid on their receptor (exact sums)
            paradigms.regrid_all(simulator.state)
            simulator.state._apply_quantisation()   # with quantise_weights, onto its steps

    def _set_initial_value_array(self, variable, value):
        """``Projection.initialize``: a state variable of every synapse (``u`` of the
        short-term plasticity types, ``a`` of MultiQuantalSynapse, ...), now and after
        every ``reset()``. The value is one number, a RandomDistribution, one value per
        connection or a (pre, post) array."""
        allowed = self.synapse_type.state_variables
        if variable not in allowed:
            raise errors.NonExistentParameterError(
                variable, f"the state of {type(self.synapse_type).__name__} synapses",
                valid_parameter_names=list(allowed) or ["none"])
        base = value.base_value if isinstance(value, LazyArray) else value
        if isinstance(base, LazyArray):
            base = base.evaluate(simplify=True)
        n = len(self)
        if isinstance(base, RandomDistribution):
            values = np.asarray(base.next(n), dtype=float)
        elif callable(base):
            raise errors.InvalidParameterValueError(
                f"Projection '{self.label}': initialize({variable}=...) takes a number, a "
                f"RandomDistribution or an array, not a function of distance")
        else:
            values = np.asarray(base, dtype=float)
            if values.ndim == 0:
                values = np.full(n, float(values))
            elif values.ndim == 2:
                values = values[self._pre_index, self._post_index]
            elif values.shape != (n,):
                raise errors.InvalidParameterValueError(
                    f"Projection '{self.label}': initialize({variable}=...) needs one value per "
                    f"connection ({n}), got shape {values.shape}")
        low, high = allowed[variable]
        bad = ~((values >= low) & (values <= high))
        if bad.any():
            raise errors.InvalidParameterValueError(
                f"Projection '{self.label}': {variable} = {values[bad][0]} is out of range "
                f"[{low:g}, {high:g}]")
        self.synapse_type._check_state(variable, values, self._values, self)
        self._initial_synapse_state[variable] = values
        for unit, selection in self._units or ():
            unit.initialize(variable, values[selection])

    def _set_attributes(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            if name not in self._values:
                continue
            if np.isscalar(value) or (isinstance(value, np.ndarray) and value.ndim == 0):
                values = np.full(len(self), float(value))
            else:
                values = np.asarray(value, dtype=float)[self._pre_index, self._post_index]
            self._store(name, values)

    def _get_attributes_as_list(self, names):
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre_index.tolist())
            elif name == "postsynaptic_index":
                columns.append(self._post_index.tolist())
            else:
                values = self._values_of(name)
                if values is None:
                    raise errors.NonExistentParameterError(name, self.synapse_type)
                columns.append(values.tolist())
        return list(zip(*columns))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        shape = (self.pre.size, self.post.size)
        address = (self._pre_index, self._post_index)
        arrays = []
        for name in names:
            values = self._values_of(name)
            if values is None:
                raise errors.NonExistentParameterError(name, self.synapse_type)
            out = np.full(shape, np.nan)
            if multiple_synapses in ("first", "last"):
                linear = self._pre_index * shape[1] + self._post_index
                if multiple_synapses == "first":
                    _, chosen = np.unique(linear, return_index=True)
                else:
                    _, from_end = np.unique(linear[::-1], return_index=True)
                    chosen = linear.size - 1 - from_end
                out[self._pre_index[chosen], self._post_index[chosen]] = values[chosen]
            else:
                combine = {"sum": np.add, "min": np.minimum, "max": np.maximum}[multiple_synapses]
                start = {"sum": 0.0, "min": np.inf, "max": -np.inf}[multiple_synapses]
                acc = np.full(shape, start)
                combine.at(acc, address, values)
                present = np.zeros(shape, dtype=bool)
                present[address] = True
                out[present] = acc[present]
            arrays.append(out)
        return arrays

    # engine glue -----------------------------------------------------------------------------

    def _sync_from_units(self):
        if self._units is not None and self.synapse_type.plastic:
            self._values_of("weight")

    PARADIGMS = paradigms.SETTINGS

    @property
    def paradigm(self):
        """How this projection's spikes are delivered: "serial" (event-driven: each spike
        walks its synapses), "parallel" (window-batched dense products) or "auto" (the
        selector predicts the faster before building; see ``pyNN_neuro.paradigms``).
        ``None`` (the default) follows ``setup(paradigm=...)``. Changing it after a run
        rebuilds."""
        return self._paradigm

    @paradigm.setter
    def paradigm(self, value):
        if value is not None and value not in self.PARADIGMS:
            raise errors.InvalidParameterValueError(
                f"projection '{self.label}': paradigm must be one of {self.PARADIGMS} or None, "
                f"got {value!r}")
        if value not in (None, "auto"):
            self.synapse_type._check_paradigm(value, self.label)
        if value != self._paradigm and self._units is not None:
            self._sync_from_units()
            self._units = None
            simulator.state.needs_rebuild = True
        self._paradigm = value

    def _effective_paradigm(self):
        """The paradigm to build, and remember why (for the mapping report)."""
        state = simulator.state
        decision = paradigms.decide(state, self)
        self.synapse_type._check_paradigm(decision.paradigm, self.label)
        self._paradigm_decision = decision
        return decision.paradigm

    def _pieces(self):
        """The connections split by (presynaptic, postsynaptic) base population: tuples
        (pre population, post population, pre indices, post indices in those populations,
        positions of these connections in connection order: an index array, or
        ``slice(None)`` when the piece is the whole projection, so that ``values[selection]``
        is a view, not a copy)."""
        pre_bases, pre_base_id, pre_base_index = _resolve(self.pre)
        post_bases, post_base_id, post_base_index = _resolve(self.post)
        if len(pre_bases) == 1 and len(post_bases) == 1:
            # one piece holding every connection: no masks over the connections needed,
            # and the indices themselves (read only) when a side is a whole population
            if self._pre_index.size:
                yield (pre_bases[0], post_bases[0],
                       self._pre_index if self.pre is pre_bases[0]
                       else pre_base_index[self._pre_index],
                       self._post_index if self.post is post_bases[0]
                       else post_base_index[self._post_index],
                       slice(None))
            return
        pb = pre_base_id[self._pre_index]
        qb = post_base_id[self._post_index]
        for a, pre_base in enumerate(pre_bases):
            for b, post_base in enumerate(post_bases):
                selection = np.nonzero((pb == a) & (qb == b))[0]
                if selection.size:
                    yield (pre_base, post_base, pre_base_index[self._pre_index[selection]],
                           post_base_index[self._post_index[selection]], selection)

    def _piece_indices(self, number):
        """(pre_index, post_index) of piece ``number`` of ``_pieces``."""
        for k, piece in enumerate(self._pieces()):
            if k == number:
                return piece[2], piece[3]
        raise IndexError(f"Projection '{self.label}' has no piece {number}")

    def _make_units(self):
        """Delivery units, one per (presynaptic, postsynaptic) base population pair, in
        the paradigm decided for this projection, their weights on their receptor's grid
        (``pyNN_neuro.paradigms.ring_quanta``)."""
        state = simulator.state
        if self._units is not None:
            paradigms.put_on_grid(state, self)
            return [unit for unit, _ in self._units]
        self._units = []
        paradigm = self._effective_paradigm()
        for pre_base, post_base, pre_index, post_index, selection in self._pieces():
            values = {name: v[selection] for name, v in self._values.items()}
            # one delay for all stays one broadcast value until the unit fills its own
            # array (no network-sized temporaries)
            steps = delay_steps(values.pop("delay"), simulator.state.dt, writeable=False)
            if self._unroll_extra_steps is not None:
                steps = steps + self._unroll_extra_steps[selection].astype(np.intc)
            # the seed of this piece's random numbers (stochastic synapses): its own, so
            # that no two projections or pieces draw the same streams
            seed = int(np.random.SeedSequence(
                [state.rng_seed, STOCHASTIC_SEED_TAG, self._number, len(self._units)]
            ).generate_state(1, np.uint64)[0])
            unit = self.synapse_type._make_unit(
                self.label, pre_base._make_group(), post_base, self.receptor_type,
                pre_index, post_index, values, steps, paradigm=paradigm, seed=seed)
            unit.ring = (id(post_base), self.receptor_type)
            for name, initial in self._initial_synapse_state.items():
                unit.initialize(name, initial[selection])
            if getattr(unit, "_order", True) is None and (
                    pre_index is not self._pre_index or post_index is not self._post_index):
                # the unit defers its permutation (``StaticUnit.order``): let it draw these
                # index copies again if it needs them, rather than keep them
                unit._connections = functools.partial(self._piece_indices, len(self._units))
            self._units.append((unit, selection))
        paradigms.put_on_grid(state, self)
        return [unit for unit, _ in self._units]
