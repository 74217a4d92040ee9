"""Named hardware profiles and how to look them up.

Every figure below comes from the publication or source file named next to it. Tags:
[src] = read in the primary source (a repository file or abstract) when this profile was
written; [paper] = a published figure taken from the team's research note
(shared/reference/mapping.md), not re-read in the paper itself; [estimate] = derived by us
from cited figures, with the derivation given. ``None`` means that no cited source gives
the figure, so reports show it as not available rather than inventing a number.
"""
from .profile import HardwareProfile

LOIHI = HardwareProfile(
    name="loihi",
    # nengo-loihi's block and validation constants [src]; SANA-FE arch/loihi.yaml
    # (axon_in fan_in 4096, axon_out fan_out 4096) [src]
    neurons_per_core=1024,
    axons_per_core=4096,
    output_axons_per_core=4096,
    # [estimate] 1 Mbit of synapse memory per core (nengo-loihi MAX_SYNAPSE_BITS = 16384 x 64)
    # / 16 bits per synapse (SANA-FE loihi.yaml: 8 weight bits, sign, delay and tag bits);
    # Loihi's compressed synapse formats hold more or fewer depending on the connectivity
    synapses_per_core=65536,
    weight_bits=9,                 # 8 magnitude bits + sign (SANA-FE loihi.yaml comment) [src]
    cores_per_chip=128,            # Davies et al., IEEE Micro 38(1), 2018 [paper]
    core_mesh=(8, 4),              # 8 x 4 tiles of 4 cores (SANA-FE loihi.yaml) [src]
    cores_per_router=4,
    chip_mesh=(8, 4),              # [estimate] a 32-chip Nahuku board, arrangement assumed 8 x 4
    max_chips=32,
    energy_synaptic_event_pj=23.6,  # Davies 2018, min. energy per synaptic spike op [paper]
    energy_neuron_update_pj=52.0,   # Davies 2018, active neuron update [paper]
    energy_spike_pj=1.7,            # Davies 2018, within-tile spike energy (SANA-FE loihi.yaml) [src]
    # [estimate] mean of Davies 2018's east-west (3.0 pJ, 4.1 ns) and north-south
    # (4.2 pJ, 6.5 ns) hop figures as transcribed in SANA-FE arch/loihi.yaml [src]
    energy_hop_pj=3.6,
    hop_latency_ns=5.3,
    # packets carry their destination; the per-core output-axon table is modelled by
    # output_axons_per_core instead
    routing_entries_per_router=None,
    native_tick_ms=None,              # barrier-synchronised algorithmic time steps, no fixed tick
    source=("Intel Loihi 1. Limits: nengo-loihi block/validate constants; SANA-FE arch/loihi.yaml "
            "(8x4 tiles x 4 cores, fan-in/fan-out 4096, hop energies and latencies transcribed "
            "from Davies et al. 2018). Energies: Davies et al., 'Loihi: a neuromorphic manycore "
            "processor with on-chip learning', IEEE Micro 38(1), 2018 (23.6 pJ per synaptic op, "
            "52 pJ per neuron update, 1.7 pJ within-tile spike). Estimates: synapses_per_core "
            "(1 Mbit / 16-bit synapses), hop energy/latency (mean of E-W and N-S), 32-chip board "
            "as an 8x4 chip mesh."),
)

TRUENORTH = HardwareProfile(
    name="truenorth",
    neurons_per_core=256,          # Merolla et al., Science 345(6197), 2014 [paper]
    axons_per_core=256,            # 256 x 256 binary crossbar [paper]; SANA-FE truenorth.yaml fan_in 256 [src]
    synapses_per_core=65536,       # 256 x 256 binary synapses [paper]
    weight_bits=9,                 # a signed 9-bit weight per neuron and axon type (4 types) [paper]
    cores_per_chip=4096,           # [paper]
    core_mesh=(64, 64),            # SANA-FE truenorth.yaml: 64 x 64 tiles of one core [src]
    chip_mesh=(4, 4),              # [estimate] the 16-chip NS16e board, as a 4 x 4 array
    max_chips=16,
    energy_synaptic_event_pj=26.0,  # Merolla 2014, system-level energy per synaptic event [paper]
    energy_neuron_update_pj=0.0,    # included in the 26 pJ system-level figure
    energy_spike_pj=0.0,            # included in the 26 pJ system-level figure
    energy_hop_pj=0.0,              # included in the 26 pJ system-level figure
    hop_latency_ns=None,            # not given by the cited sources
    routing_entries_per_router=None,  # each neuron stores its own single destination
    native_tick_ms=1.0,             # 1 kHz global tick [paper]
    max_target_cores_per_neuron=1,  # one target axon per neuron (SANA-FE truenorth.yaml fan_out 1) [src]
    on_chip_plasticity=False,       # weights are programmed off-chip; no learning circuits [paper]
    source=("IBM TrueNorth. Merolla et al., 'A million spiking-neuron integrated circuit with a "
            "scalable communication network and interface', Science 345(6197), 2014: 4096 cores of "
            "256 neurons x 256 axons, 1 ms tick, 26 pJ per synaptic event at system level (which "
            "includes neuron updates and routing, so those are 0 here). SANA-FE arch/truenorth.yaml: "
            "64x64 mesh, fan-in 256, fan-out 1. Estimate: the 16-chip NS16e board as a 4x4 mesh. "
            "Fan-out > 1 core needs splitter neurons, reported but not yet legalised."),
)

SPINNAKER2 = HardwareProfile(
    name="spinnaker2",
    # [estimate] neurons are software-defined; 256 per core is sPyNNaker's usual LIF setting
    neurons_per_core=256,
    # [estimate] 128 KiB SRAM per processing element / 4 bytes per sPyNNaker synaptic word;
    # code and neuron state use part of it, rows held in DRAM add to it
    synapses_per_core=32768,
    # no crossbar: sources are looked up in memory, so every source costs at least one
    # synapse and the synapse budget is the only bound
    axons_per_core=32768,
    weight_bits=16,                # sPyNNaker's 16-bit synaptic weight field
    cores_per_chip=152,            # 152 ARM Cortex-M4F processing elements [paper]
    core_mesh=(8, 5),              # [estimate] quad-PE groups (4 PEs per router) on an 8 x 5 grid
    cores_per_router=4,
    chip_mesh=(8, 6),              # [estimate] a 48-chip board as an 8 x 6 mesh
    max_chips=48,
    energy_synaptic_event_pj=None,  # not given by the cited sources
    energy_neuron_update_pj=None,
    energy_spike_pj=None,
    energy_hop_pj=None,
    hop_latency_ns=None,
    routing_entries_per_router=16384,  # 16K entries, maintainer comment in PACMAN issue 374 [src]
    native_tick_ms=1.0,             # sPyNNaker's default real-time step
    source=("SpiNNaker 2. Mayr, Hoeppner, Furber, 'SpiNNaker 2: a 10 million core processor "
            "system for brain simulation and machine learning', 2019, and Hoeppner et al., 'The "
            "SpiNNaker 2 processing element architecture', 2021: 152 PEs per chip, 128 KiB SRAM "
            "per PE. Router size 16K entries: PACMAN issue 374. Estimates: 256 neurons per core, "
            "32768 synapses per core, 4 PEs per router on an 8x5 grid, 48-chip board. No "
            "per-event energies or hop latency are cited yet, so energy is reported as not "
            "available."),
)

DYNAPSE = HardwareProfile(
    name="dynapse",
    neurons_per_core=256,          # Moradi et al., IEEE TBCAS 12(1), 2018 [paper]
    max_fan_in=64,                 # 64 CAM words (input synapses) per neuron [paper]
    # every neuron has its own 64 CAM words, so a core has no shared row limit below 256 x 64
    axons_per_core=16384,
    synapses_per_core=16384,       # 256 neurons x 64 CAM words [paper]
    weight_bits=2,                 # a CAM word selects one of 4 synapse types with shared analog weights [paper]
    cores_per_chip=4,              # 4 cores, 1024 neurons per chip [paper]
    core_mesh=(2, 2),
    chip_mesh=(2, 2),              # [estimate] a 4-chip board as a 2 x 2 mesh
    max_chips=4,
    energy_synaptic_event_pj=None,  # Moradi 2018 gives per-event energies; not yet transcribed
    energy_neuron_update_pj=None,
    energy_spike_pj=None,
    energy_hop_pj=None,
    hop_latency_ns=None,
    routing_entries_per_router=None,  # SRAM destination tags per neuron, not router tables
    native_tick_ms=None,              # analog, continuous time
    on_chip_plasticity=False,         # no learning circuits (added in its successor DYNAP-SEL) [paper]
    source=("DYNAP-SE (SynSense / INI Zurich). Moradi, Qiao, Stefanini, Indiveri, 'A scalable "
            "multicore architecture with heterogeneous memory structures for dynamic "
            "neuromorphic asynchronous processors (DYNAPs)', IEEE TBCAS 12(1), 2018: 4 cores of "
            "256 neurons per chip, 64 CAM input synapses per neuron, hierarchical routing. The "
            "target of SpiNeMap (Balaji et al., IEEE TVLSI 2020). Estimate: a 4-chip board as a "
            "2x2 mesh. Per-event energies are in the paper but not yet transcribed, so energy is "
            "reported as not available."),
)

PROFILES = {profile.name: profile for profile in (LOIHI, TRUENORTH, SPINNAKER2, DYNAPSE)}

DEFAULT_PROFILE = "loihi"


def get_profile(name_or_profile=None):
    """The :class:`HardwareProfile` for a name (case-insensitive), a profile itself, or the
    default profile (``DEFAULT_PROFILE``) when given ``None``."""
    if name_or_profile is None:
        return PROFILES[DEFAULT_PROFILE]
    if isinstance(name_or_profile, HardwareProfile):
        return name_or_profile
    if isinstance(name_or_profile, str):
        try:
            return PROFILES[name_or_profile.strip().lower()]
        except KeyError:
            raise ValueError(f"Unknown hardware profile {name_or_profile!r}; available: "
                             f"{', '.join(sorted(PROFILES))}, or a HardwareProfile") from None
    raise TypeError(f"hardware must be a profile name or a HardwareProfile, not "
                    f"{type(name_or_profile).__name__}")
