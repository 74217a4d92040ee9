"""The simulation engine: neuron groups, delivery units and the windowed run loop.

Pure numpy and Cython; it never imports PyNN (the backend layer translates PyNN objects
into groups and units) nor the mapping compiler.

``ISA`` names the build of the kernel modules in use (``_isa``: the widest vector
instructions the processor has; the numbers are the same at every level).
"""
import os

# Threads that wait at the end of a parallel loop sleep instead of spinning, unless the
# user says otherwise. The run loop enters thousands of short parallel loops per simulated
# second; on a machine whose cores other processes also use, a spinning thread burns the
# time slice its partner needs, and the partner's descheduling stalls every loop: two
# threads ran the 16 000-cell scaling network in 30 s instead of 2.4 s (one thread: 3.2 s)
# at a load of 4 on 2 cores. Read by libgomp when the first kernel module loads it, below.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _isa  # noqa: E402

ISA = _isa.select()

from .simulation import Simulation  # noqa: F401
from .groups import NeuronGroup, SpikeArrayGroup, RenewalGroup  # noqa: F401
from .delivery import StaticUnit, StochasticUnit, TsodyksMarkramUnit, STDPUnit  # noqa: F401
from .parallel import ParallelUnit  # noqa: F401
