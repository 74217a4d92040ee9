"""pyNN_neuro: a PyNN backend for tile-based neuromorphic hardware models.

Use it as any PyNN backend::

    import pyNN_neuro as sim
    sim.setup(timestep=0.1)
    ...

Networks are simulated on the CPU by Cython kernels (exact integration for the linear
models, NEST's conventions for timing); results come back as Neo blocks.
"""
try:
    import numpy  # noqa: F401
    import quantities  # noqa: F401
    import lazyarray  # noqa: F401
    import neo  # noqa: F401
    import pyNN  # noqa: F401
except ImportError as err:  # a missing dependency must surface as ImportError
    raise ImportError(f"pyNN_neuro needs PyNN, neo, quantities, lazyarray and numpy: {err}") from err
try:
    from .engine import _sources, _synapses  # noqa: F401
except ImportError as err:
    raise ImportError("pyNN_neuro's compiled kernels are missing; install it with "
                      f"'pip install .' (a C compiler is needed): {err}") from err

from pyNN import errors, random, space  # noqa: F401
from pyNN.network import Network  # noqa: F401
from pyNN.space import Space  # noqa: F401
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution  # noqa: F401
from .native_rng import NativeRNG  # noqa: F401
from pyNN.parameters import Sequence  # noqa: F401
from .connectors import *  # noqa: F401,F403
from .connectors import FixedNumberPreConnector, OneToOneConnector  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.standardmodels import StandardCellType

from . import simulator
from .simulator import state  # noqa: F401
from .standardmodels.cells import (  # noqa: F401
    IF_curr_exp, IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha, Izhikevich,
    IF_cond_exp_gsfa_grr, GIF_cond_exp,
    EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista, HH_cond_exp,
    SpikeSourceArray, SpikeSourcePoisson, SpikeSourcePoissonRefractory, SpikeSourceGamma,
    PointNeuron, LIF, AdExp, CurrExpPostSynapticResponse, CondExpPostSynapticResponse,
    CondAlphaPostSynapticResponse, CondBetaPostSynapticResponse, ExpPSR, AlphaPSR, BetaPSR,
)
from .standardmodels.synapses import (  # noqa: F401
    StaticSynapse, SimpleStochasticSynapse, TsodyksMarkramSynapse, StochasticTsodyksMarkramSynapse,
    MultiQuantalSynapse, STDPMechanism, SpikePairRule, Vogels2011Rule,
    AdditiveWeightDependence, MultiplicativeWeightDependence,
    AdditivePotentiationMultiplicativeDepression, GutigWeightDependence,
)
from .standardmodels.electrodes import (  # noqa: F401
    DCSource, StepCurrentSource, ACSource, NoisyCurrentSource,
)
from .populations import Population, PopulationView, Assembly  # noqa: F401
from .projections import Projection  # noqa: F401
from .control import (  # noqa: F401
    setup, end, run, run_until, run_for, reset, initialize, get_current_time, get_time_step,
    get_min_delay, get_max_delay, num_processes, rank, get_mapping, compile,
    set_number_of_neurons_per_core,
)
from .hardware import HardwareProfile, get_profile  # noqa: F401
from .mapping import MappingError  # noqa: F401
from .procedural_api import create, connect, record, record_v, record_gsyn, set  # noqa: F401

__version__ = "0.1.0"


def list_standard_models():
    """Names of the standard cell types this backend can simulate."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
