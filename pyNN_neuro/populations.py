"""Population, PopulationView and Assembly for pyNN_neuro.

A population is index ranges and parameter arrays, never one Python object per neuron
beyond PyNN's own ID integers. Parameters and initial values live here in PyNN units (the
native names of our standard models are PyNN's names); at build they are handed to an
engine group, and later changes are pushed to it before the next run.
"""
import logging

import numpy as np
from pyNN import common, errors
from pyNN.parameters import LazyArray, ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder

logger = logging.getLogger("pyNN_neuro")


class Assembly(common.Assembly):
    _simulator = simulator

    @property
    def receptor_types(self):
        """Receptors every member has, in the order of the first member (PyNN returns a
        set, whose order would make the default receptor depend on the hash seed)."""
        first = list(self.populations[0].receptor_types)
        return [r for r in first if all(r in p.receptor_types for p in self.populations[1:])]


class _ParameterAccess:
    """get/set of native parameters shared by Population and PopulationView."""

    def _get_parameters(self, *names):
        if isinstance(self.celltype, StandardCellType):
            if any(name in self.celltype.computed_parameters() for name in names):
                native_names = self.celltype.get_native_names()
            else:
                native_names = self.celltype.get_native_names(*names)
            native = self._get_native_parameters(*native_names)
            return self.celltype.reverse_translate(native)
        return self._get_native_parameters(*names)

    def _get_native_parameters(self, *names):
        base = self._base_population
        values = {}
        for name in names:
            value = base._parameters[name][self._base_mask]
            values[name] = simplify(value)
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        """``parameter_space`` holds native parameters."""
        base = self._base_population
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            target = base._parameters[name]
            if target.dtype == object:
                if isinstance(value, np.ndarray) and value.dtype != object:
                    value = list(value)
                target[self._base_mask] = value
            else:
                target[self._base_mask] = value
        base.celltype.check_native_parameters(base._parameters, base.label)
        base._parameters_changed = True

    def _set_initial_value_array(self, variable, initial_values):
        base = self._base_population
        initial_values.shape = (self.size,)
        values = initial_values.evaluate(simplify=False)
        base._initial_state[variable][self._base_mask] = values
        if self is not base:
            # keep the parent's own record of initial values in step with the view's change
            base.initial_values[variable] = LazyArray(base._initial_state[variable].copy(),
                                                      shape=(base.size,))
        group = base._group
        engine_name = base.celltype.engine_state_name(variable)
        if group is not None and engine_name in group.state:
            # as in NEST, initialize() also sets the present value
            group.state[engine_name][self._base_mask] = values


class _ViewInitialValues(dict):
    """A view's initial values, read from its parent. ``initialize()`` writes through
    ``_set_initial_value_array`` before it stores here, so storing is a no-op."""

    def __init__(self, view):
        super().__init__()
        self._view = view

    def _parent_values(self, variable):
        base = self._view._base_population
        return base._initial_state[variable][self._view._base_mask]

    def __getitem__(self, variable):
        return LazyArray(self._parent_values(variable).copy(), shape=(self._view.size,))

    def __contains__(self, variable):
        return variable in self._view._base_population._initial_state

    def __setitem__(self, variable, value):
        pass

    def keys(self):
        return self._view._base_population._initial_state.keys()

    def items(self):
        return [(k, self[k]) for k in self.keys()]


class PopulationView(_ParameterAccess, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def initial_values(self):
        """Initial values of this view's neurons (PyNN's common code leaves this out)."""
        return _ViewInitialValues(self)

    @property
    def _base_population(self):
        return self.grandparent

    @property
    def _base_mask(self):
        return self.index_in_grandparent(np.arange(self.size))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


#: sPyNNaker's ``additional_parameters`` that tune its machine (buffers, ring-buffer
#: scaling, splitting); they have no counterpart in the model and are ignored with a note
SPYNNAKER_MACHINE_PARAMETERS = frozenset({
    "spikes_per_second", "ring_buffer_sigma", "incoming_spike_buffer_size",
    "n_steps_per_timestep", "drop_late_spikes", "splitter", "neurons_per_core",
    "rb_left_shifts", "max_expected_summed_weight", "n_synapse_cores"})


class Population(_ParameterAccess, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None, additional_parameters=None):
        """PyNN's arguments, and sPyNNaker's ``additional_parameters`` so that its scripts
        run: ``seed`` seeds this population's random numbers (spike sources, escape
        noise) instead of ``setup(rng_seed=...)``; ``max_atoms_per_core`` is
        ``set_max_atoms_per_core``; its machine settings (``spikes_per_second``,
        ``ring_buffer_sigma``, ...) are logged and ignored; anything else is an error."""
        extra = dict(additional_parameters or {})
        unknown = set(extra) - {"seed", "max_atoms_per_core"} - SPYNNAKER_MACHINE_PARAMETERS
        if unknown:
            raise errors.InvalidParameterValueError(
                f"Population: additional_parameters {sorted(unknown)} are not known; "
                f"pyNN_neuro takes 'seed' and 'max_atoms_per_core' (and ignores sPyNNaker's "
                f"machine settings {sorted(SPYNNAKER_MACHINE_PARAMETERS)})")
        seed = extra.pop("seed", None)
        try:
            good = seed is None or (not isinstance(seed, bool) and float(seed).is_integer()
                                    and seed >= 0)
        except (TypeError, ValueError):
            good = False
        if not good:
            raise errors.InvalidParameterValueError(
                f"Population: additional_parameters seed must be a non-negative integer, "
                f"got {seed!r}")
        self._seed = None if seed is None else int(seed)
        common.Population.__init__(self, size, cellclass, cellparams, structure,
                                   initial_values, label)
        if "max_atoms_per_core" in extra:
            self.set_max_atoms_per_core(extra.pop("max_atoms_per_core"))
        if extra:
            logger.info("Population '%s': sPyNNaker machine settings %s have no effect in "
                        "pyNN_neuro", self.label, sorted(extra))

    @property
    def _base_population(self):
        return self

    @property
    def _base_mask(self):
        return slice(None)

    def _create_cells(self):
        if not isinstance(self.celltype, StandardCellType):
            raise errors.InvalidModelError(
                f"pyNN_neuro supports only its standard cell types, not "
                f"{type(self.celltype).__name__}; see list_standard_models()")
        if not hasattr(self.celltype, "make_group"):
            raise NotImplementedError(
                f"The cell type {type(self.celltype).__name__} is not available in pyNN_neuro")
        state = simulator.state
        id_range = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in id_range], dtype=simulator.ID)
        self._mask_local = np.ones((self.size,), bool)
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        self._index = state.population_counter
        state.population_counter += 1

        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = {}
        for name, value in parameter_space.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                self._parameters[name] = np.array(value, dtype=float)
            else:
                array = np.empty(self.size, dtype=object)
                array[:] = list(value) if isinstance(value, np.ndarray) else [value] * self.size
                self._parameters[name] = array
        self.celltype.check_native_parameters(self._parameters, self.label)
        self._initial_state = {name: np.zeros(self.size)
                               for name in self.celltype.default_initial_values}
        self._parameters_changed = False
        self._group = None
        state.populations.append(self)
        state.register(self)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    # hardware mapping ----------------------------------------------------------------------

    def set_max_atoms_per_core(self, max_atoms_per_core):
        """sPyNNaker's limit on how many neurons (with their unrolled partial-sum units) of
        this population one core may hold; ``setup(mapper="slice")``, which cuts
        populations into slices as sPyNNaker does, honours it (the connectivity-aware
        mappers say that they do not)."""
        self._max_per_core = _core_limit(max_atoms_per_core, "max_atoms_per_core")
        simulator.state.network_changed()

    def _max_per_core_limit(self):
        """The population's own limit, else its cell type's
        (``set_number_of_neurons_per_core``), else None."""
        own = getattr(self, "_max_per_core", None)
        if own is not None:
            return own
        return simulator.state.max_per_core_by_type.get(type(self.celltype))

    # engine glue -------------------------------------------------------------------------

    def _make_group(self):
        """The engine group of this population (made once, reused by rebuilds)."""
        if self._group is None:
            state = simulator.state
            self._group = self.celltype.make_group(self, state.dt, state.num_threads,
                                                   self._group_seed())
            self._parameters_changed = False
        return self._group

    def _group_seed(self):
        """The seed of this population's random numbers: from ``setup(rng_seed=...)`` and
        its creation number, or from sPyNNaker's ``additional_parameters={"seed": ...}``."""
        entropy = [self._seed] if self._seed is not None else \
            [simulator.state.rng_seed, self._index]
        return int(np.random.SeedSequence(entropy).generate_state(2, np.uint64)[0])

    def _reinitialize_group(self):
        group = self._group
        if hasattr(group, "initial_state"):
            group.initial_state = self.celltype.engine_initial_state(self._initial_state)

    def _push_changes(self):
        if self._parameters_changed and self._group is not None:
            self.celltype.update_group(self, self._group)
            self._parameters_changed = False

    def _configure_recording(self):
        self.recorder._apply_to_group()


def _core_limit(value, name):
    """A per-core neuron limit: a positive integer."""
    try:
        whole = not isinstance(value, bool) and float(value).is_integer() and value >= 1
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise errors.InvalidParameterValueError(
            f"{name} must be a positive integer (neurons per core), got {value!r}")
    return int(value)
