"""setup(), end() and the simulation-control functions built by pyNN.common."""
import logging

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN import errors
from pyNN.standardmodels import StandardCellType
from pyNN.recording import get_io

from . import paradigms, simulator
from .hardware import DEFAULT_PROFILE, get_profile

logger = logging.getLogger("pyNN_neuro")

OUR_SETUP_KEYWORDS = {"threads", "rng_seed", "max_delay", "spike_precision", "hardware",
                      "paradigm", "mapper", "unroll", "quantise_weights"}
PARADIGMS = paradigms.SETTINGS

# keywords of other backends' setup() (NEST, NEURON, Brian2, sPyNNaker, GeNN): accepted and
# ignored, so that their scripts run unchanged
FOREIGN_SETUP_KEYWORDS = {
    "verbosity", "t_flush", "use_cvode", "rng_type", "grng_seed", "rng_seeds",
    "rng_seeds_seed", "recording_precision", "kernel_seed", "returned", "default_maxstep",
    "allow_offgrid_spikes", "compatible_output", "rank", "num_processes", "model",
    "use_sparse_connectivity", "morphology_rng", "n_chips_required", "n_boards_required",
    "time_scale_factor", "database_socket_addresses", "use_cpp", "build_path",
    "rtol", "atol", "use_cvode", "cvode_rtol", "nrn_threads", "nthreads",
}


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a new simulation: wipe any previous network, set the time step (ms).

    pyNN_neuro keywords: ``threads`` (kernel threads, default 1), ``rng_seed`` (seed of
    every spike source and noisy current, default 1234567), ``max_delay`` (ms),
    ``spike_precision`` ("on_grid", default, or "off_grid": SpikeSourceArray then records
    the exact times it was given; delivery is on the dt grid either way), ``hardware``
    (a profile name such as "loihi", "truenorth", "spinnaker2", "dynapse", or a
    ``pyNN_neuro.hardware.HardwareProfile``; default "loihi"): the chip that
    ``get_mapping()`` maps the network onto, ``paradigm`` ("auto", default unless
    ``$PYNN_NEURO_PARADIGM`` says otherwise: each projection gets the paradigm the
    selector predicts to be faster, decided before anything is built; "serial":
    event-driven delivery everywhere; "parallel": window-batched dense products wherever
    the synapse type and memory allow, serial elsewhere; a projection's own ``paradigm``
    attribute overrides it; spikes are bit-identical whatever the choice, see
    ``pyNN_neuro.paradigms``).
    ``mapper`` ("default", "slice" or "quality") and ``unroll`` ("exact", default: spikes
    unchanged; "tree" or "chain": fan-in unrolling with partial sums one step per level,
    which delays the affected synapses; the network is then mapped before the first run),
    ``quantise_weights`` (False, default; True: every weight is rounded to the profile's
    ``weight_bits`` with one power-of-two step per receptor of each population, at the
    first run or ``get_mapping()``, and a weight that would round to zero raises
    MappingError; see ``pyNN_neuro.mapping.quantise``).
    Simulator-specific keywords of other backends (``verbosity``, ``spike_precision``, ...)
    are accepted and ignored.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    if not isinstance(timestep, (int, float)) or not timestep > 0:
        raise errors.InvalidParameterValueError(
            f"setup(): timestep must be a positive number of ms, got {timestep!r}")
    threads = extra_params.get("threads", 1)
    if not isinstance(threads, int) or threads < 1:
        raise errors.InvalidParameterValueError(
            f"setup(): threads must be a whole number >= 1, got {threads!r}")
    unknown = set(extra_params) - OUR_SETUP_KEYWORDS - FOREIGN_SETUP_KEYWORDS
    if unknown:
        logger.warning("setup(): pyNN_neuro ignores the unknown keyword(s) %s",
                       ", ".join(sorted(unknown)))
    common.setup(timestep, min_delay, **extra_params)
    hardware = get_profile(extra_params.get("hardware") or DEFAULT_PROFILE)
    paradigm = extra_params.get("paradigm") or paradigms.default_setting()
    if paradigm not in PARADIGMS:
        where = "" if "paradigm" in extra_params else f" (from ${paradigms.SETTING_VARIABLE})"
        raise errors.InvalidParameterValueError(
            f"setup(): paradigm must be one of {PARADIGMS}, got {paradigm!r}{where}")
    state = simulator.state
    state.clear()
    paradigms.forget()
    state.hardware = hardware
    state.paradigm = paradigm
    state.configure_mapping(extra_params.get("mapper", "default"), extra_params.get("unroll", "exact"))
    quantise = extra_params.get("quantise_weights", False)
    if not isinstance(quantise, bool):
        raise errors.InvalidParameterValueError(
            f"setup(): quantise_weights must be True or False, got {quantise!r}")
    state.quantise_weights = quantise
    state.dt = float(timestep)
    state.min_delay = min_delay
    state.max_delay = max_delay
    state.num_threads = threads
    state.rng_seed = int(extra_params.get("rng_seed", 1234567))
    precision = extra_params.get("spike_precision", "on_grid")
    if precision not in ("on_grid", "off_grid"):
        raise errors.InvalidParameterValueError(
            f"setup(): spike_precision must be 'on_grid' or 'off_grid', got {precision!r}")
    # spikes always travel on the dt grid; "off_grid" only makes SpikeSourceArray record
    # the exact times it was given, as NEST's precise spike generator does
    if precision == "off_grid":
        logger.warning("setup(spike_precision='off_grid'): pyNN_neuro's neurons spike on the "
                       "dt grid (as NEST with 'on_grid'; NEST's off-grid models place spikes "
                       "between grid points); only SpikeSourceArray then records the exact "
                       "times it was given")
    state.spike_precision = precision
    return rank()


def end(compatible_output=True):
    """Write the data of record(..., to_file=...) calls and finish."""
    state = simulator.state
    for (population, variables, filename) in state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    state.write_on_end = []


def set_number_of_neurons_per_core(neuron_type, max_permitted):
    """sPyNNaker's limit on how many neurons of a cell type one core may hold, for every
    population of that type (``neuron_type``: the class, as ``sim.IF_curr_exp``, or an
    instance); a population's own ``set_max_atoms_per_core`` takes precedence.
    ``setup(mapper="slice")`` honours it; the connectivity-aware mappers say that they
    do not."""
    from .populations import _core_limit
    cls = neuron_type if isinstance(neuron_type, type) else type(neuron_type)
    if not issubclass(cls, StandardCellType):
        raise errors.InvalidParameterValueError(
            f"set_number_of_neurons_per_core: {neuron_type!r} is not a cell type")
    simulator.state.max_per_core_by_type[cls] = _core_limit(max_permitted, "max_permitted")
    simulator.state.network_changed()


def get_mapping():
    """The network mapped onto the hardware profile given to ``setup()``: a
    ``pyNN_neuro.mapping.Mapping`` with ``summary()``, ``report()``, ``plot(path)`` and
    ``to_json(path)``. Compiled on first request (a run never waits for it); after a run its
    counted figures (spike copies on the network-on-chip, energy) come from that run."""
    return simulator.state.get_mapping()


def compile():  # noqa: A001 (the name PyNN users would look for)
    """Map the network onto the hardware profile now (raising ``MappingError`` if it does
    not fit) and return the mapping; the same as ``get_mapping()``."""
    return simulator.state.get_mapping()


run, run_until = common.build_run(simulator)
run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
