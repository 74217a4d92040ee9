"""Standard synapse types of pyNN_neuro (native names = PyNN names, PyNN units).

Weights are nA onto current-based receptors, uS onto conductance-based ones and mV for
IF_curr_delta and Izhikevich; delays are ms, rounded to the nearest multiple of dt.
Each type knows how to become an engine delivery unit (``_make_unit``).
"""
import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from ..engine import ParallelUnit, StaticUnit, StochasticUnit, STDPUnit, TsodyksMarkramUnit
from ..simulator import state


def _identity(*names):
    return build_translations(*[(name, name) for name in names])


class _SynapseBase:
    plastic = False
    paradigms = ("serial",)       # execution paradigms that can deliver this synapse type

    def _get_minimum_delay(self):
        if state._min_delay == "auto":
            return state.dt
        return state._min_delay

    def _check_post(self, post):
        pass

    def _check_values(self, values, projection):
        pass

    def _check_paradigm(self, paradigm, label):
        if paradigm not in self.paradigms:
            raise errors.InvalidParameterValueError(
                f"projection '{label}': the {paradigm} paradigm cannot deliver "
                f"{type(self).__name__} synapses (supported: {', '.join(self.paradigms)})")


class StaticSynapse(_SynapseBase, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity("weight", "delay")
    paradigms = ("serial", "parallel")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial"):
        unit_class = ParallelUnit if paradigm == "parallel" else StaticUnit
        return unit_class(label, pre_group, post_population._make_group(), receptor,
                          pre_index, post_index, values["weight"], delay_steps)


class SimpleStochasticSynapse(_SynapseBase, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = _identity("weight", "delay", "p")

    def _check_values(self, values, projection):
        if "p" in values and np.any((values["p"] < 0) | (values["p"] > 1)):
            raise errors.InvalidParameterValueError(
                "SimpleStochasticSynapse: p must lie in [0, 1], got "
                f"{values['p'][(values['p'] < 0) | (values['p'] > 1)][0]}")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial"):
        seed = np.random.SeedSequence([state.rng_seed, 2_000_003, len(state.projections)]
                                      ).generate_state(1, np.uint64)[0]
        return StochasticUnit(label, pre_group, post_population._make_group(), receptor,
                              pre_index, post_index, values["weight"], delay_steps,
                              values["p"], seed)


class TsodyksMarkramSynapse(_SynapseBase, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity("weight", "delay", "U", "tau_rec", "tau_facil")
    plastic = True

    def _check_values(self, values, projection):
        for name in ("tau_rec",):
            if name in values and np.any(values[name] <= 0):
                raise errors.InvalidParameterValueError(
                    f"TsodyksMarkramSynapse: {name} must be > 0, got {values[name].min()}")
        if "U" in values and np.any((values["U"] < 0) | (values["U"] > 1)):
            raise errors.InvalidParameterValueError(
                f"TsodyksMarkramSynapse: U must lie in [0, 1], got {values['U']}")
        if "tau_facil" in values and np.any(values["tau_facil"] < 0):
            raise errors.InvalidParameterValueError(
                "TsodyksMarkramSynapse: tau_facil must be >= 0")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial"):
        # the "in use" time constant is the postsynaptic one of the receptor (as pyNN.nest)
        name = {"excitatory": "tau_syn_E", "inhibitory": "tau_syn_I"}.get(receptor)
        params = post_population._parameters
        if name in params:
            tau_psc = params[name][post_index]
        else:
            tau_psc = np.full(post_index.size, state.dt)
        values = dict(values, tau_psc=tau_psc)
        return TsodyksMarkramUnit(label, pre_group, post_population._make_group(), receptor,
                                  pre_index, post_index, values["weight"], delay_steps, values)


class STDPMechanism(_SynapseBase, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")
    plastic = True

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0,
                 weight=0.0, delay=None):
        if voltage_dependence is not None:
            raise NotImplementedError("pyNN_neuro does not support voltage-dependent STDP")
        if dendritic_delay_fraction != 1:
            raise ValueError("pyNN_neuro treats the whole synaptic delay as dendritic, as NEST "
                             "does: dendritic_delay_fraction must be 1, got "
                             f"{dendritic_delay_fraction}")
        if timing_dependence is None or weight_dependence is None:
            raise ValueError("STDPMechanism needs both a timing_dependence and a "
                             "weight_dependence in pyNN_neuro")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)

    def _build_translations(self):
        # a fresh dict: never extend the class-level table shared by all instances
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    def _check_values(self, values, projection):
        if "w_max" in values and "w_min" in values and np.any(values["w_max"] < values["w_min"]):
            raise errors.InvalidParameterValueError("STDP: w_max must be >= w_min")
        if "weight" in values and "w_max" in values and values["weight"].size:
            w = np.abs(values["weight"])
            if np.any(w > np.abs(values["w_max"]) * (1 + 1e-12)):
                raise errors.InvalidParameterValueError(
                    f"STDP: initial weight {w.max()} is above w_max {values['w_max'].max()}")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial"):
        params = {k: v for k, v in values.items() if k not in ("weight", "dendritic_delay_fraction")}
        return STDPUnit(label, pre_group, post_population._make_group(), receptor,
                        pre_index, post_index, values["weight"], delay_steps, params,
                        self.weight_dependence.rule_name, self.timing_dependence.rule_name)


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity("w_min", "w_max")
    rule_name = "additive"


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity("w_min", "w_max")
    rule_name = "multiplicative"


class AdditivePotentiationMultiplicativeDepression(
        synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = _identity("w_min", "w_max")
    rule_name = "additive_potentiation_multiplicative_depression"


class GutigWeightDependence(synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = _identity("w_min", "w_max", "mu_plus", "mu_minus")
    rule_name = "gutig"


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity("tau_plus", "tau_minus", "A_plus", "A_minus")
    rule_name = "spike_pair"


class Vogels2011Rule(synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__
    translations = _identity("tau", "eta", "rho")
    rule_name = "vogels_2011"
