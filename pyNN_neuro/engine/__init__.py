"""The simulation engine: neuron groups, delivery units and the windowed run loop.

Pure numpy and Cython; it never imports PyNN (the backend layer translates PyNN objects
into groups and units) nor the mapping compiler.
"""
from .simulation import Simulation  # noqa: F401
from .groups import NeuronGroup, SpikeArrayGroup, RenewalGroup  # noqa: F401
from .delivery import StaticUnit, StochasticUnit, TsodyksMarkramUnit, STDPUnit  # noqa: F401
from .parallel import ParallelUnit  # noqa: F401
