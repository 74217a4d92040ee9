"""Tests of the hardware profiles: the named ones are valid and cite their sources, and
bad values are rejected with an error naming the field, the value and the limit."""
import dataclasses
import json

import pytest

from pyNN_neuro.hardware import (
    DEFAULT_PROFILE, DYNAPSE, LOIHI, PROFILES, SPINNAKER2, TRUENORTH, HardwareProfile, get_profile,
)


def test_named_profiles_are_registered_and_valid():
    assert set(PROFILES) >= {"loihi", "truenorth", "spinnaker2", "dynapse"}
    for name, profile in PROFILES.items():
        assert isinstance(profile, HardwareProfile)
        assert profile.name == name
        assert len(profile.source) > 40, f"{name} must cite where its numbers come from"
        assert profile.__doc__
        assert profile.max_cores == profile.max_chips * profile.cores_per_chip
        json.dumps(profile.as_dict())


def test_issue_figures():
    assert (LOIHI.neurons_per_core, LOIHI.axons_per_core, LOIHI.cores_per_chip) == (1024, 4096, 128)
    assert (TRUENORTH.neurons_per_core, TRUENORTH.axons_per_core, TRUENORTH.cores_per_chip) == (256, 256, 4096)
    assert TRUENORTH.synapses_per_core == 256 * 256
    assert DYNAPSE.fan_in_limit == 64 < DYNAPSE.axons_per_core
    assert SPINNAKER2.routing_entries_per_router == 16384
    # figures no cited source gives stay unknown instead of being invented
    assert SPINNAKER2.energy_synaptic_event_pj is None and DYNAPSE.energy_hop_pj is None


def test_get_profile():
    assert get_profile(None) is PROFILES[DEFAULT_PROFILE] is LOIHI
    assert get_profile("TrueNorth") is TRUENORTH
    assert get_profile(" loihi ") is LOIHI
    custom = dataclasses.replace(LOIHI, name="mine", max_chips=1)
    assert get_profile(custom) is custom
    with pytest.raises(ValueError, match="Unknown hardware profile 'loihi3'.*dynapse"):
        get_profile("loihi3")
    with pytest.raises(TypeError):
        get_profile(42)


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LOIHI.neurons_per_core = 2048


@pytest.mark.parametrize("field, value, message", [
    ("neurons_per_core", 0, "neurons_per_core = 0 must be a positive integer"),
    ("axons_per_core", -3, "axons_per_core = -3 must be a positive integer"),
    ("synapses_per_core", 1.5, "synapses_per_core = 1.5 must be a positive integer"),
    ("weight_bits", True, "weight_bits = True must be a positive integer"),
    ("max_chips", 0, "max_chips = 0"),
    ("cores_per_chip", 129, "gives 128 core slots, fewer than cores_per_chip = 129"),
    ("max_chips", 33, "max_chips = 33 exceeds the 32 places of chip_mesh"),
    ("core_mesh", (8,), "core_mesh = \\(8,\\) must be a tuple"),
    ("chip_mesh", (0, 4), "chip_mesh cols = 0 must be a positive integer"),
    ("energy_hop_pj", -1.0, "energy_hop_pj = -1.0 must be >= 0"),
    ("hop_latency_ns", float("nan"), "hop_latency_ns = nan must be a finite number"),
    ("native_tick_ms", 0.0, "native_tick_ms = 0.0 must be > 0"),
    ("routing_entries_per_router", 0, "routing_entries_per_router = 0"),
    ("max_fan_in", 5000, "max_fan_in = 5000 exceeds axons_per_core = 4096"),
    ("source", " ", "must cite"),
    ("name", "", "name = '' must be a non-empty string"),
])
def test_bad_values_are_rejected(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(LOIHI, **{field: value})


def test_optional_figures_may_be_unknown():
    profile = dataclasses.replace(LOIHI, name="bare", energy_synaptic_event_pj=None,
                                  hop_latency_ns=None, native_tick_ms=None, output_axons_per_core=None)
    assert profile.energy_synaptic_event_pj is None
