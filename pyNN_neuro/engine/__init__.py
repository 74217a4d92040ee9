"""The simulation engine: neuron groups, delivery units and the windowed run loop.

Pure numpy and Cython; it never imports PyNN (the backend layer translates PyNN objects
into groups and units) nor the mapping compiler.

``ISA`` names the build of the kernel modules in use (``_isa``: the widest vector
instructions the processor has; the numbers are the same at every level).
"""
from . import _isa

ISA = _isa.select()

from .simulation import Simulation  # noqa: F401
from .groups import NeuronGroup, SpikeArrayGroup, RenewalGroup  # noqa: F401
from .delivery import StaticUnit, StochasticUnit, TsodyksMarkramUnit, STDPUnit  # noqa: F401
from .parallel import ParallelUnit  # noqa: F401
