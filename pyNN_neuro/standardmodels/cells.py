"""Standard cell types of pyNN_neuro.

Our native parameter and state names are PyNN's own, in PyNN's units (ms, mV, nA, nF, uS,
Hz), so every translation table is the identity; each class says which engine kernel runs
it (the kernels' docstrings give the equations and the integration scheme) and which
parameter values it refuses.
"""
from importlib import import_module

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations, cells, receptors

from ..engine import NeuronGroup, RenewalGroup, SpikeArrayGroup


def _identity(base):
    return build_translations(*[(name, name) for name in base.default_parameters])


def _kernel(module, name):
    try:
        return getattr(import_module("pyNN_neuro.engine." + module), name)
    except ImportError as err:
        raise ImportError(f"the compiled kernel module pyNN_neuro.engine.{module} is missing: "
                          f"reinstall pyNN_neuro with a C compiler present ({err})") from err


class _Checked:
    """Parameter checks shared by all our cell types: each raises
    InvalidParameterValueError naming the parameter, the bad value and the limit."""
    positive = ()
    non_negative = ()

    def engine_state_name(self, name):
        """The engine's name of the state variable PyNN calls ``name``."""
        return name

    def engine_initial_state(self, initial_state):
        return initial_state

    def check_native_parameters(self, params, label):
        for name in self.positive:
            if name in params:
                _require(params[name], lambda v: v > 0, name, "> 0", label)
        for name in self.non_negative:
            if name in params:
                _require(params[name], lambda v: v >= 0, name, ">= 0", label)
        if "v_reset" in params and "v_thresh" in params and "v_spike" not in params:
            bad = ~(params["v_reset"] < params["v_thresh"])
            if bad.any():
                i = int(np.argmax(bad))
                raise errors.InvalidParameterValueError(
                    f"population '{label}': v_reset ({params['v_reset'][i]} mV) must be below "
                    f"v_thresh ({params['v_thresh'][i]} mV)")


def _require(values, ok, name, limit, label):
    values = np.asarray(values, dtype=float)
    good = ok(values) & np.isfinite(values)
    if not good.all():
        bad = values[~good][0]
        raise errors.InvalidParameterValueError(
            f"population '{label}': parameter '{name}' = {bad} is out of range (must be {limit})")


class _NeuronModel(_Checked):
    kernel = None          # (module, class name) in pyNN_neuro.engine
    positive = ("tau_m", "cm", "tau_syn_E", "tau_syn_I")
    non_negative = ("tau_refrac",)

    def make_group(self, population, dt, num_threads, seed):
        kernel_class = _kernel(*self.kernel)
        params = {name: population._parameters[name] for name in kernel_class.param_names}
        return NeuronGroup(population.label, kernel_class, population.size, params,
                           population._initial_state, dt, num_threads)

    def update_group(self, population, group):
        group.set_parameters(population._parameters)


class IF_curr_exp(_NeuronModel, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(cells.IF_curr_exp)
    kernel = ("_lif", "IFCurrExp")


class IF_curr_alpha(_NeuronModel, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = _identity(cells.IF_curr_alpha)
    kernel = ("_lif", "IFCurrAlpha")


class IF_curr_delta(_NeuronModel, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(cells.IF_curr_delta)
    kernel = ("_lif", "IFCurrDelta")


class IF_cond_exp(_NeuronModel, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity(cells.IF_cond_exp)
    kernel = ("_cond", "IFCondExp")


class IF_cond_alpha(_NeuronModel, cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = _identity(cells.IF_cond_alpha)
    kernel = ("_cond", "IFCondAlpha")


class IF_cond_exp_gsfa_grr(_NeuronModel, cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = _identity(cells.IF_cond_exp_gsfa_grr)
    kernel = ("_cond", "IFCondExpGsfaGrr")
    positive = _NeuronModel.positive + ("tau_sfa", "tau_rr")


class GIF_cond_exp(_NeuronModel, cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__
    translations = _identity(cells.GIF_cond_exp)
    kernel = ("_cond", "GIFCondExp")
    positive = ("tau_m", "cm", "tau_syn_E", "tau_syn_I", "delta_v")
    non_negative = ("tau_refrac", "lambda0")
    #: (time constants, increments) of the two sums of exponentials
    ELEMENTS = (("tau_eta", "a_eta"), ("tau_gamma", "a_gamma"))

    def _element_columns(self, population):
        """The list parameters as (n, elements) float arrays, checked: each pair has the
        same length in every neuron, and the time constants are > 0."""
        columns = {}
        for tau_name, a_name in self.ELEMENTS:
            rows = {}
            for name in (tau_name, a_name):
                # most populations share one list object: convert each object once
                converted = {}
                for v in population._parameters[name]:
                    if id(v) not in converted:
                        converted[id(v)] = np.atleast_1d(
                            np.asarray(getattr(v, "value", v), dtype=float))
                rows[name] = [converted[id(v)] for v in population._parameters[name]]
            lengths = {r.size for name in rows for r in rows[name]}
            if len(lengths) != 1:
                raise errors.InvalidParameterValueError(
                    f"population '{population.label}': {tau_name} and {a_name} must have the "
                    f"same number of elements in every neuron, got lengths {sorted(lengths)}")
            for name in rows:
                columns[name] = np.array(rows[name]).reshape(population.size, -1)
            taus = columns[tau_name]
            if taus.size and not np.all(taus > 0):
                raise errors.InvalidParameterValueError(
                    f"population '{population.label}': every element of {tau_name} must be "
                    f"> 0, got {taus[~(taus > 0)][0]}")
        return columns

    def _engine_params(self, population):
        columns = self._element_columns(population)
        params = {name: population._parameters[name] for name in _kernel(*self.kernel).param_names}
        for tau_name, a_name in self.ELEMENTS:
            for k in range(columns[tau_name].shape[1]):
                params[f"{tau_name}_{k}"] = columns[tau_name][:, k]
                params[f"{a_name}_{k}"] = columns[a_name][:, k]
        return params, columns["tau_eta"].shape[1], columns["tau_gamma"].shape[1]

    def check_native_parameters(self, params, label):
        scalars = {name: value for name, value in params.items() if value.dtype != object}
        super().check_native_parameters(scalars, label)

    def make_group(self, population, dt, num_threads, seed):
        kernel_class = _kernel(*self.kernel)
        params, n_eta, n_gamma = self._engine_params(population)
        return NeuronGroup(population.label, kernel_class, population.size, params,
                           population._initial_state, dt, num_threads,
                           names=kernel_class.names(n_eta, n_gamma),
                           kernel_options={"n_eta": n_eta, "n_gamma": n_gamma, "seed": seed})

    def update_group(self, population, group):
        params, n_eta, n_gamma = self._engine_params(population)
        if (n_eta, n_gamma) != (group.kernel_options["n_eta"], group.kernel_options["n_gamma"]):
            raise errors.InvalidParameterValueError(
                f"population '{population.label}': the number of elements of eta or gamma "
                f"cannot change after the network was built ({n_eta}, {n_gamma} instead of "
                f"{group.kernel_options['n_eta']}, {group.kernel_options['n_gamma']})")
        group.set_parameters(params)


class Izhikevich(_NeuronModel, cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    translations = _identity(cells.Izhikevich)
    kernel = ("_lif", "Izhikevich")
    positive = ()
    non_negative = ()


class EIF_cond_exp_isfa_ista(_NeuronModel, cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = _identity(cells.EIF_cond_exp_isfa_ista)
    kernel = ("_cond", "EIFCondExp")
    positive = _NeuronModel.positive + ("tau_w", "delta_T")


class EIF_cond_alpha_isfa_ista(_NeuronModel, cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = _identity(cells.EIF_cond_alpha_isfa_ista)
    kernel = ("_cond", "EIFCondAlpha")
    positive = _NeuronModel.positive + ("tau_w", "delta_T")


class HH_cond_exp(_NeuronModel, cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    translations = _identity(cells.HH_cond_exp)
    kernel = ("_cond", "HHCondExp")
    positive = ("cm", "tau_syn_E", "tau_syn_I")
    non_negative = ("gbar_Na", "gbar_K", "g_leak")
    # PyNN lists a gap-junction receptor for HH cells; we have no electrical synapses
    receptor_types = ("excitatory", "inhibitory")


# composed cell types: PointNeuron(LIF or AdExp, receptor=PSR, ...) ----------------------------


class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = _identity(cells.LIF)
    family = "LIF"


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = _identity(cells.AdExp)
    family = "AdExp"


class CurrExpPostSynapticResponse(receptors.CurrExpPostSynapticResponse):
    __doc__ = receptors.CurrExpPostSynapticResponse.__doc__
    translations = _identity(receptors.CurrExpPostSynapticResponse)
    family = "CurrExp"
    recordable = ["isyn"]


class CondExpPostSynapticResponse(receptors.CondExpPostSynapticResponse):
    __doc__ = receptors.CondExpPostSynapticResponse.__doc__
    translations = _identity(receptors.CondExpPostSynapticResponse)
    family = "CondExp"
    recordable = ["gsyn"]


class CondAlphaPostSynapticResponse(receptors.CondAlphaPostSynapticResponse):
    __doc__ = receptors.CondAlphaPostSynapticResponse.__doc__
    translations = _identity(receptors.CondAlphaPostSynapticResponse)
    family = "CondAlpha"
    recordable = ["gsyn"]


class CondBetaPostSynapticResponse(receptors.CondBetaPostSynapticResponse):
    __doc__ = receptors.CondBetaPostSynapticResponse.__doc__
    translations = _identity(receptors.CondBetaPostSynapticResponse)
    family = "CondBeta"
    recordable = ["gsyn"]


ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse

# (neuron family, receptor family) -> kernel of pyNN_neuro.engine._multisynapse
_COMPOSED_KERNELS = {
    ("LIF", "CurrExp"): "LIFCurrExpMulti",
    ("LIF", "CondExp"): "LIFCondExpMulti",
    ("LIF", "CondAlpha"): "LIFCondAlphaMulti",
    ("AdExp", "CondExp"): "AdExpCondExpMulti",
    ("AdExp", "CondAlpha"): "AdExpCondAlphaMulti",
    ("LIF", "CondBeta"): "LIFCondBetaMulti",
    ("AdExp", "CondBeta"): "AdExpCondBetaMulti",
}


class PointNeuron(_NeuronModel, cells.PointNeuron):
    """A point neuron (LIF or AdExp) with any number of named receptors of one kind.

    Receptors are numbered in alphabetical order of their names (PyNN's receptor_types);
    receptor k's parameters become the native parameters ``tau_syn_k`` (and ``e_syn_k``),
    its state ``isyn_k`` (current-based) or ``gsyn_k`` (conductance-based).
    """

    def __init__(self, neuron, **post_synaptic_receptors):
        super().__init__(neuron, **post_synaptic_receptors)
        families = {getattr(psr, "family", type(psr).__name__)
                    for psr in post_synaptic_receptors.values()}
        neuron_family = getattr(neuron, "family", type(neuron).__name__)
        if len(families) != 1:
            raise errors.InvalidModelError(
                "pyNN_neuro's PointNeuron needs all receptors of one kind, got "
                f"{sorted(families)}")
        key = (neuron_family, families.pop())
        if key not in _COMPOSED_KERNELS:
            raise errors.InvalidModelError(
                f"pyNN_neuro has no kernel for PointNeuron({key[0]}, {key[1]} receptors); "
                f"available: {sorted(_COMPOSED_KERNELS)}")
        self.kernel = ("_multisynapse", _COMPOSED_KERNELS[key])
        n_receptors = len(self.receptor_types)
        self.positive = ("tau_m", "cm") + tuple(
            f"{name}_{k}" for k in range(n_receptors)
            for name in ("tau_syn", "tau_rise", "tau_decay"))
        if neuron_family == "AdExp":
            self.positive += ("tau_w", "delta_T")
        self._state_suffix = "isyn" if key[1] == "CurrExp" else "gsyn"

    def _receptor_native(self):
        """(PyNN name, native name) of every receptor parameter."""
        pairs = []
        for k, label in enumerate(self.receptor_types):
            for name in self.post_synaptic_receptors[label].default_parameters:
                if name != "locations":
                    pairs.append((f"{label}.{name}", f"{name}_{k}"))
        return pairs

    @property
    def native_parameters(self):
        values = dict(self.neuron.native_parameters.items())
        for label in self.receptor_types:
            space = self.post_synaptic_receptors[label].parameter_space
            k = self.receptor_types.index(label)
            for name in space.keys():
                if name != "locations":
                    values[f"{name}_{k}"] = space[name]
        return ParameterSpace(values)

    def get_native_names(self, *names):
        mapping = dict(self._receptor_native())
        if not names:
            return list(self.neuron.get_native_names()) + list(mapping.values())
        native = []
        for name in names:
            if name in mapping:
                native.append(mapping[name])
            else:
                native.extend(self.neuron.get_native_names(name))
        return native

    def reverse_translate(self, native_parameters):
        mapping = {native: standard for standard, native in self._receptor_native()}
        values = {}
        for name, value in native_parameters.items():
            values[mapping.get(name, name)] = value
        return ParameterSpace(values, shape=native_parameters.shape)

    def translate(self, parameters, copy=True):
        mapping = dict(self._receptor_native())
        values = {}
        for name, value in parameters.items():
            values[mapping.get(name, name)] = value
        return ParameterSpace(values, shape=parameters.shape)

    def get_schema(self):
        schema = {name: type(value) for name, value in self.neuron.default_parameters.items()}
        for standard, _ in self._receptor_native():
            schema[standard] = float
        return schema

    def engine_state_name(self, name):
        if "." in name:
            label, variable = name.split(".", 1)
            return f"{variable}_{self.receptor_types.index(label)}"
        return name

    def engine_initial_state(self, initial_state):
        return {self.engine_state_name(name): value for name, value in initial_state.items()}

    def make_group(self, population, dt, num_threads, seed):
        kernel_class = _kernel(*self.kernel)
        n_receptors = len(self.receptor_types)
        names = dict(kernel_class.names(n_receptors))
        names["receptor_names"] = tuple(self.receptor_types)
        params = {name: population._parameters[name] for name in names["param_names"]}
        return NeuronGroup(population.label, kernel_class, population.size, params,
                           self.engine_initial_state(population._initial_state), dt,
                           num_threads, names=names,
                           kernel_options={"n_receptors": n_receptors})


# spike sources --------------------------------------------------------------------------------


class SpikeSourceArray(_Checked, cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity(cells.SpikeSourceArray)

    @staticmethod
    def _times(population):
        times = []
        for i, seq in enumerate(population._parameters["spike_times"]):
            value = np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
            times.append(value)
        return times

    def check_native_parameters(self, params, label):
        for i, seq in enumerate(params["spike_times"]):
            value = np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
            if value.size and (value.min() < 0 or np.any(np.diff(value) < 0)):
                raise errors.InvalidParameterValueError(
                    f"population '{label}', neuron {i}: spike_times must be non-negative and "
                    f"in increasing order, got {value[:10]}")

    def make_group(self, population, dt, num_threads, seed):
        from ..simulator import state
        return SpikeArrayGroup(population.label, population.size, self._times(population), dt,
                               exact_times=(state.spike_precision == "off_grid"))

    def update_group(self, population, group):
        group.set_spike_times(self._times(population))


class _Renewal(_Checked):
    kind = None
    non_negative = ("rate", "start", "duration", "tau_refrac", "beta")

    def _engine_params(self, population):
        return {name: population._parameters[name] for name in self.default_parameters}

    def make_group(self, population, dt, num_threads, seed):
        return RenewalGroup(population.label, self.kind, population.size,
                            self._engine_params(population), dt, seed, num_threads)

    def update_group(self, population, group):
        group.set_parameters(self._engine_params(population))


class SpikeSourcePoisson(_Renewal, cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity(cells.SpikeSourcePoisson)
    kind = "poisson"


class SpikeSourcePoissonRefractory(_Renewal, cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = _identity(cells.SpikeSourcePoissonRefractory)
    kind = "poisson_refractory"

    def check_native_parameters(self, params, label):
        super().check_native_parameters(params, label)
        product = params["rate"] * params["tau_refrac"] / 1000.0
        if np.any(product >= 1.0):
            raise errors.InvalidParameterValueError(
                f"population '{label}': rate x tau_refrac must be below 1 (a neuron cannot "
                f"fire faster than 1/tau_refrac), got {product.max()}")


class SpikeSourceGamma(_Renewal, cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = _identity(cells.SpikeSourceGamma)
    kind = "gamma"
    # a float default, so that alpha=2.5 reaches our check instead of being cast to 2
    default_parameters = dict(cells.SpikeSourceGamma.default_parameters, alpha=2.0)

    def check_native_parameters(self, params, label):
        super().check_native_parameters(params, label)
        alpha = params["alpha"]
        if np.any(alpha < 1) or np.any(np.abs(alpha - np.rint(alpha)) > 1e-12):
            raise errors.InvalidParameterValueError(
                f"population '{label}': SpikeSourceGamma alpha must be a whole number >= 1, "
                f"got {alpha[(alpha < 1) | (np.abs(alpha - np.rint(alpha)) > 1e-12)][0]}")
