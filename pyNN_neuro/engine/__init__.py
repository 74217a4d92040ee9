"""The simulation engine: neuron groups, delivery units and the windowed run loop.

Pure numpy and Cython; it never imports PyNN (the backend layer translates PyNN objects
into groups and units) nor the mapping compiler.

``ISA`` names the build of the kernel modules in use (``_isa``: the widest vector
instructions the processor has; the numbers are the same at every level).
"""
import os

# Threads that wait between parallel loops spin briefly (3000 rounds of libgomp's pause
# loop, about a hundred microseconds), then sleep, unless the user chose a wait policy or
# a spin count. The run loop enters thousands of short parallel loops per simulated
# second, with serial work between them:
# - spinning without end (OMP_WAIT_POLICY=ACTIVE, or libgomp's default of 300 000 rounds)
#   burns the time slice a partner thread needs on a machine whose cores other processes
#   also use, and the partner's descheduling stalls every loop (two threads ran the
#   16 000-cell scaling network in 30 s instead of 2.4 s at a load of 4 on 2 cores);
# - sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs a wake-up of 50-90 us per loop on
#   this VM (a loop with 53 us of work per thread took 146 us on two threads instead of 58).
# Measured on the 64 000-cell scaling network, 2 threads (1 thread: 4.2-4.6 s):
# - idle machine: 1000 rounds 2.75-3.06 s, 3000 2.61-2.77 s, 5000 2.53-2.73 s, 10 000
#   2.58-2.60 s (passive 3.0-3.4 s);
# - beside one process busy on the other core: 1000 rounds 5.06-5.20 s, 3000 5.10-5.17 s,
#   5000 5.26 s, 10 000 6.09 s (30 000: 8.6 s; passive 4.9-5.6 s).
# 3000 takes most of the idle gain and loses nothing measurable beside a busy process.
# Read by libgomp when the first kernel module loads it, below.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "3000"

from . import _isa  # noqa: E402

ISA = _isa.select()

from .simulation import Simulation  # noqa: F401
from .groups import NeuronGroup, SpikeArrayGroup, RenewalGroup  # noqa: F401
from .delivery import (StaticUnit, StochasticUnit, TsodyksMarkramUnit, STDPUnit,  # noqa: F401
                       StochasticTsodyksMarkramUnit, QuantalUnit)
from .parallel import ParallelUnit  # noqa: F401
