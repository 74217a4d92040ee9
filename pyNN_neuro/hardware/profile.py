"""The description of a tile-based neuromorphic chip, as the mapping compiler sees it.

A chip is a mesh of routers; each router serves ``cores_per_router`` cores (1 on TrueNorth,
4 on a Loihi tile). Several chips form a larger mesh (``chip_mesh``), of which at most
``max_chips`` exist. A core is a crossbar: ``neurons_per_core`` columns (neurons, or
partial-sum units after fan-in unrolling) and ``axons_per_core`` rows, one per distinct
presynaptic source that feeds the core. ``synapses_per_core`` bounds the synapse memory.

Energies are per event in picojoules, latencies in nanoseconds, the native tick in ms.
An energy or latency that no cited source gives is ``None`` (the report then says "not
available" instead of inventing a figure); ``0.0`` means the cited figure of another
component already includes it (e.g. TrueNorth's system-level energy per synaptic event).
"""
import math
from dataclasses import dataclass, fields
from typing import Optional, Tuple

_POSITIVE_INTS = ("neurons_per_core", "axons_per_core", "synapses_per_core", "weight_bits",
                  "cores_per_chip", "max_chips", "cores_per_router")
_OPTIONAL_POSITIVE_INTS = ("routing_entries_per_router", "max_fan_in", "output_axons_per_core",
                           "max_target_cores_per_neuron")
_OPTIONAL_NON_NEGATIVE_FLOATS = ("energy_synaptic_event_pj", "energy_neuron_update_pj",
                                 "energy_spike_pj", "energy_hop_pj", "hop_latency_ns")


@dataclass(frozen=True)
class HardwareProfile:
    """Limits, mesh geometry and per-event costs of one neuromorphic chip family.

    Fields (units in the names):

    - ``name``: short identifier, used in reports.
    - ``neurons_per_core``: neuron columns per core (unrolled partial-sum units use them too).
    - ``axons_per_core``: crossbar rows per core = distinct presynaptic sources a core can receive.
    - ``synapses_per_core``: synapses the core's memory holds.
    - ``weight_bits``: bits of one stored synaptic weight, sign included (``setup(quantise_weights=True)``).
    - ``cores_per_chip``: cores on one chip.
    - ``core_mesh``: (cols, rows) of routers inside one chip; router r serves cores
      ``r * cores_per_router ... (r + 1) * cores_per_router - 1``.
    - ``chip_mesh``: (cols, rows) of chips on the largest board or system considered.
    - ``max_chips``: chips available (at most cols x rows of ``chip_mesh``).
    - ``energy_synaptic_event_pj``: energy of one synaptic event (one spike reaching one synapse).
    - ``energy_neuron_update_pj``: energy of one neuron update (one neuron, one time step).
    - ``energy_spike_pj``: energy of one spike leaving a core.
    - ``energy_hop_pj``: energy of one spike packet crossing one mesh link.
    - ``hop_latency_ns``: latency of one mesh hop.
    - ``routing_entries_per_router``: routing-table entries per router, ``None`` when packets
      carry their destination and routers keep no table.
    - ``native_tick_ms``: the chip's own time step, ``None`` when it has none (reported, never imposed).
    - ``source``: where these numbers come from.
    - ``cores_per_router``: cores sharing one router (default 1: ``core_mesh`` is a mesh of cores).
    - ``max_fan_in``: distinct inputs one neuron can have when that is smaller than
      ``axons_per_core`` (DYNAP-SE's per-neuron CAM); ``None`` means ``axons_per_core``.
    - ``output_axons_per_core``: (neuron, destination core) routes a core can hold
      (Loihi's output-axon table); ``None`` when not limited separately.
    - ``max_target_cores_per_neuron``: destination cores one neuron can reach (TrueNorth: 1);
      reported, not yet legalised by splitter neurons.
    - ``on_chip_plasticity``: whether the chip can change its synaptic weights while it
      runs (plastic synapse types such as STDP); ``False`` makes the mapping compiler
      refuse plastic projections.
    """

    name: str
    neurons_per_core: int
    axons_per_core: int
    synapses_per_core: int
    weight_bits: int
    cores_per_chip: int
    core_mesh: Tuple[int, int]
    chip_mesh: Tuple[int, int]
    max_chips: int
    energy_synaptic_event_pj: Optional[float]
    energy_neuron_update_pj: Optional[float]
    energy_spike_pj: Optional[float]
    energy_hop_pj: Optional[float]
    hop_latency_ns: Optional[float]
    routing_entries_per_router: Optional[int]
    native_tick_ms: Optional[float]
    source: str
    cores_per_router: int = 1
    max_fan_in: Optional[int] = None
    output_axons_per_core: Optional[int] = None
    max_target_cores_per_neuron: Optional[int] = None
    on_chip_plasticity: bool = True

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"HardwareProfile: name = {self.name!r} must be a non-empty string")
        for name in _POSITIVE_INTS:
            _check_positive_int(self.name, name, getattr(self, name))
        for name in _OPTIONAL_POSITIVE_INTS:
            if getattr(self, name) is not None:
                _check_positive_int(self.name, name, getattr(self, name))
        for name in _OPTIONAL_NON_NEGATIVE_FLOATS:
            value = getattr(self, name)
            if value is not None:
                _check_real(self.name, name, value, minimum=0.0, strict=False)
        if self.native_tick_ms is not None:
            _check_real(self.name, "native_tick_ms", self.native_tick_ms, minimum=0.0, strict=True)
        if not isinstance(self.on_chip_plasticity, bool):
            raise ValueError(f"HardwareProfile {self.name!r}: on_chip_plasticity = "
                             f"{self.on_chip_plasticity!r} must be True or False")
        for name in ("core_mesh", "chip_mesh"):
            value = getattr(self, name)
            if not (isinstance(value, tuple) and len(value) == 2):
                raise ValueError(f"HardwareProfile {self.name!r}: {name} = {value!r} must be a "
                                 f"tuple (cols, rows) of two positive integers")
            for part, what in zip(value, ("cols", "rows")):
                _check_positive_int(self.name, f"{name} {what}", part)
        slots = self.core_mesh[0] * self.core_mesh[1] * self.cores_per_router
        if slots < self.cores_per_chip:
            raise ValueError(
                f"HardwareProfile {self.name!r}: core_mesh {self.core_mesh} x cores_per_router "
                f"{self.cores_per_router} gives {slots} core slots, fewer than cores_per_chip = "
                f"{self.cores_per_chip}")
        if self.chip_mesh[0] * self.chip_mesh[1] < self.max_chips:
            raise ValueError(
                f"HardwareProfile {self.name!r}: max_chips = {self.max_chips} exceeds the "
                f"{self.chip_mesh[0] * self.chip_mesh[1]} places of chip_mesh {self.chip_mesh}")
        if self.max_fan_in is not None and self.max_fan_in > self.axons_per_core:
            raise ValueError(
                f"HardwareProfile {self.name!r}: max_fan_in = {self.max_fan_in} exceeds "
                f"axons_per_core = {self.axons_per_core} (a neuron's inputs all enter one core)")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(f"HardwareProfile {self.name!r}: source must cite where the "
                             f"numbers come from")

    # derived geometry ---------------------------------------------------------------------

    @property
    def fan_in_limit(self):
        """Distinct presynaptic sources one neuron (or unrolled unit) may have."""
        return self.max_fan_in if self.max_fan_in is not None else self.axons_per_core

    @property
    def max_cores(self):
        """Cores available on all chips together."""
        return self.max_chips * self.cores_per_chip

    @property
    def routers_per_chip(self):
        """Routers actually used by the cores of one chip."""
        return math.ceil(self.cores_per_chip / self.cores_per_router)

    def as_dict(self):
        """The profile as a JSON-serialisable dict."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _check_positive_int(profile, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"HardwareProfile {profile!r}: {name} = {value!r} must be a positive "
                         f"integer (>= 1)")


def _check_real(profile, name, value, minimum, strict):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"HardwareProfile {profile!r}: {name} = {value!r} must be a finite number")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"HardwareProfile {profile!r}: {name} = {value!r} must be "
                         f"{relation} {minimum}")
