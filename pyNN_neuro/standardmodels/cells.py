"""Standard cell types of pyNN_neuro.

Our native parameter and state names are PyNN's own, in PyNN's units (ms, mV, nA, nF, uS,
Hz), so every translation table is the identity; each class says which engine kernel runs
it (the kernels' docstrings give the equations and the integration scheme) and which
parameter values it refuses.
"""
from importlib import import_module

import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, cells

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
                            self._engine_params(population), dt, seed)

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

    def check_native_parameters(self, params, label):
        super().check_native_parameters(params, label)
        alpha = params["alpha"]
        if np.any(alpha < 1) or np.any(np.abs(alpha - np.rint(alpha)) > 1e-12):
            raise errors.InvalidParameterValueError(
                f"population '{label}': SpikeSourceGamma alpha must be a whole number >= 1, "
                f"got {alpha[(alpha < 1) | (np.abs(alpha - np.rint(alpha)) > 1e-12)][0]}")
