"""Standard synapse types of pyNN_neuro (native names = PyNN names, PyNN units).

Weights are nA onto current-based receptors, uS onto conductance-based ones and mV for
IF_curr_delta and Izhikevich; delays are ms, rounded to the nearest multiple of dt.
Each type knows how to become an engine delivery unit (``_make_unit``).
"""
import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from ..engine import (ParallelUnit, QuantalUnit, StaticUnit, StochasticTsodyksMarkramUnit,
                      StochasticUnit, STDPUnit, TsodyksMarkramUnit)
from ..simulator import state


def _identity(*names):
    return build_translations(*[(name, name) for name in names])


class _SynapseBase:
    plastic = False
    paradigms = ("serial",)       # execution paradigms that can deliver this synapse type
    #: state variables ``Projection.initialize`` may set: name -> (lowest, highest)
    state_variables = {}

    def _get_minimum_delay(self):
        if state._min_delay == "auto":
            return state.dt
        return state._min_delay

    def _check_post(self, post):
        pass

    def _check_values(self, values, projection):
        pass

    def _check_state(self, name, state, values, projection):
        """Check ``Projection.initialize`` values of state variable ``name`` (connection
        order) against the synapses' parameter ``values``; the ranges of
        ``state_variables`` are checked before."""

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
                   values, delay_steps, paradigm="serial", seed=None):
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
                   values, delay_steps, paradigm="serial", seed=None):
        return StochasticUnit(label, pre_group, post_population._make_group(), receptor,
                              pre_index, post_index, values["weight"], delay_steps,
                              values["p"], seed)


def _check_short_term(values, name):
    """The parameter checks shared by the three Tsodyks-Markram synapse types."""
    if "tau_rec" in values and np.any(values["tau_rec"] <= 0):
        raise errors.InvalidParameterValueError(
            f"{name}: tau_rec must be > 0, got {values['tau_rec'].min()}")
    if "U" in values and np.any((values["U"] < 0) | (values["U"] > 1)):
        bad = values["U"][(values["U"] < 0) | (values["U"] > 1)][0]
        raise errors.InvalidParameterValueError(f"{name}: U must lie in [0, 1], got {bad}")
    if "tau_facil" in values and np.any(values["tau_facil"] < 0):
        raise errors.InvalidParameterValueError(
            f"{name}: tau_facil must be >= 0, got {values['tau_facil'].min()}")


class TsodyksMarkramSynapse(_SynapseBase, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity("weight", "delay", "U", "tau_rec", "tau_facil")
    state_variables = {"x": (0.0, 1.0), "y": (0.0, 1.0), "u": (0.0, 1.0)}
    plastic = True

    def _check_values(self, values, projection):
        _check_short_term(values, "TsodyksMarkramSynapse")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial", seed=None):
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


class StochasticTsodyksMarkramSynapse(_SynapseBase, synapses.StochasticTsodyksMarkramSynapse):
    __doc__ = synapses.StochasticTsodyksMarkramSynapse.__doc__
    translations = _identity("weight", "delay", "U", "tau_rec", "tau_facil")
    state_variables = {"u": (0.0, 1.0)}
    plastic = True

    def _check_values(self, values, projection):
        _check_short_term(values, "StochasticTsodyksMarkramSynapse")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial", seed=None):
        return StochasticTsodyksMarkramUnit(label, pre_group, post_population._make_group(),
                                            receptor, pre_index, post_index, values["weight"],
                                            delay_steps, values, seed)


class MultiQuantalSynapse(_SynapseBase, synapses.MultiQuantalSynapse):
    __doc__ = """Stochastic multiquantal release with short-term depression and facilitation
    (Fuhrmann et al. 2002; Loebel et al. 2009), as NEST's ``quantal_stp_synapse``: n
    release sites, each available site releasing with probability u at a presynaptic
    spike; the transmitted weight is ``weight`` times the number of sites released.

    Arguments: ``U`` (utilisation increment), ``n`` (release sites, an integer >= 1),
    ``tau_rec``, ``tau_facil`` (ms). The first spikes see NEST 3.10's initial state (u =
    0.5, one available site); see ``pyNN_neuro.engine._synapses.QuantalUnit``."""
    translations = _identity("weight", "delay", "U", "n", "tau_rec", "tau_facil")
    state_variables = {"u": (0.0, 1.0), "a": (0.0, float(2 ** 20))}
    plastic = True

    def _check_values(self, values, projection):
        _check_short_term(values, "MultiQuantalSynapse")
        if "n" in values:
            n = np.asarray(values["n"], dtype=float)
            bad = (n < 1) | (n != np.round(n)) | (n > 2 ** 20)
            if np.any(bad):
                raise errors.InvalidParameterValueError(
                    f"MultiQuantalSynapse: n (release sites) must be an integer from 1 to "
                    f"{2 ** 20}, got {n[bad][0]}")

    def _check_state(self, name, state, values, projection):
        if name == "a":
            n = np.broadcast_to(np.asarray(values["n"], dtype=float), state.shape)
            bad = (state > n) | (state != np.round(state))
            if np.any(bad):
                k = int(np.argmax(bad))
                raise errors.InvalidParameterValueError(
                    f"Projection '{projection.label}': a (available release sites) must be an "
                    f"integer from 0 to n = {n[k]:g}, got {state[k]}")

    def _make_unit(self, label, pre_group, post_population, receptor, pre_index, post_index,
                   values, delay_steps, paradigm="serial", seed=None):
        return QuantalUnit(label, pre_group, post_population._make_group(), receptor,
                           pre_index, post_index, values["weight"], delay_steps, values, seed)


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
                   values, delay_steps, paradigm="serial", seed=None):
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
