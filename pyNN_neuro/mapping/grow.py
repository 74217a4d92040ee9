"""Greedy core growing: fill one core at a time with the units that share its axons.

A core starts from the first unassigned unit (in a given order) and grows by batches of
candidate units taken from the hyperedges it already touches: every candidate is scored
by the share of its pin weight on hyperedges the core already holds minus the share on
new ones, and the best candidates that still fit (neurons, synapses, distinct axons, and
output axons as the caller estimates them) join. The core is closed when no candidate
fits.

Why: on random networks a core is full when its *distinct presynaptic sources* reach
``axons_per_core``, long before its neuron or synapse budget; choosing the units whose
sources overlap most packs more of them per core, so fewer cores (and routers) carry each
spike. On structured networks (grids, convolutions) the same rule grows compact blocks,
because a unit surrounded by the block shares most of its receptive field with it.

Cost: every step gathers the pins of at most ``GATHER_BUDGET`` candidate entries; a step
adds at most a quarter of the core's size (one unit while it has fewer than 8), so a core
of m units takes about 8 + 4 ln(m / 8) steps, plus up to ``RETRIES`` to close it. The
loop runs in a Cython kernel (``ext/mapping/_grow.pyx``): a step is a few thousand
memory reads, which numpy spent more time dispatching than doing.
"""
import numpy as np

from ._grow import grow_cores_kernel
from .refine import core_loads, relieve_output_axons

# candidate pins scored per step, and the candidates of a step: a core's first units
# (and a core of a few large units) choose among MIN_CANDIDATES, the pool grows with the
# batch a core can take, up to MAX_CANDIDATES within the budget. With the loop in Cython a
# step costs little, so the pool is 4x (small cores) and 2x (large ones) what numpy could
# afford: the same seeds then give fewer cores and a lower cut (Vogels-Abbott on
# TrueNorth: 1315 cores instead of 1320, Brunel fan-in 100 on Loihi: 238 instead of 240)
GATHER_BUDGET = 1 << 17
MAX_CANDIDATES = 512
MIN_CANDIDATES = 256
CANDIDATES_PER_BATCH_UNIT = 32
SAMPLED_EDGES = 64         # touched hyperedges whose pins give the candidates of a step
PINS_PER_EDGE = 32         # at most this many pins of each sampled hyperedge
RETRIES = 2                # fresh candidate samples before a core is closed ...
HOPELESS = 1.5             # ... unless every candidate needed 1.5 times what is left


def grow_cores(hg, index, limits, order, seed=0):
    """:func:`grow_partition`, then cores over the output-axon limit relieved.

    A core's output axons (routes of its neurons to the cores that read them) are only
    known once every core is grown; when the profile limits them, cores over the limit
    shed their units of most output axons into new cores
    (:func:`.refine.relieve_output_axons`). Growing a second time with the output axons
    of the first pass gave no fewer cores (Brunel-like networks on Loihi) for twice the
    time. Returns (unit_core, n_cores, loads); cores may still be over a limit (the
    caller repairs or discards them)."""
    part = grow_partition(hg, index, limits, order, np.ones(hg.n_units, dtype=np.int64), seed=seed)
    n_cores = int(part.max()) + 1 if len(part) else 0
    part, n_cores = relieve_output_axons(hg, index, part, n_cores, limits)
    return part, n_cores, core_loads(hg, part, n_cores)


def grow_partition(hg, index, limits, order, unit_output, seed=0, unit_core=None):
    """Cores grown one after another (see the module docstring). ``order``: the order in
    which units seed new cores; ``unit_output``: the output axons each unit brings;
    ``unit_core``: cores already made (-1 for the units to place), kept as they are.
    Returns the core of every unit (new cores numbered after the given ones, in order
    of creation)."""
    n = hg.n_units
    unit_core = np.full(n, -1, dtype=np.int64) if unit_core is None \
        else np.array(unit_core, dtype=np.int64)
    if n == 0:
        return unit_core
    order = np.ascontiguousarray(order, dtype=np.int64)
    if len(order) != n or np.bincount(order, minlength=n).max() != 1:
        raise ValueError(f"order must be a permutation of the {n} units")
    # one extra edge, of weight 0, stands for "no root hyperedge" (spike sources, sources
    # without targets), so that every unit has a root edge to look up
    no_edge = hg.n_edges
    weight = np.append(np.asarray(hg.edge_weight, dtype=float), 0.0)
    mean_fan_in = max(1.0, float(hg.unit_fan_in.mean()))
    grow_cores_kernel(
        np.ascontiguousarray(hg.edge_ptr, dtype=np.int64),
        np.ascontiguousarray(hg.pin_unit, dtype=np.int64),
        np.ascontiguousarray(index.read_ptr, dtype=np.int64),
        np.ascontiguousarray(index.read_edge, dtype=np.int64),
        np.where(index.root_edge >= 0, index.root_edge, no_edge).astype(np.int64),
        weight, np.ascontiguousarray(index.unit_weight, dtype=float),
        np.ascontiguousarray(hg.unit_synapses, dtype=np.int64),
        np.ascontiguousarray(unit_output, dtype=np.int64), order, unit_core,
        int(limits.neurons), float(limits.axons), float(limits.synapses),
        float(limits.output_axons), SAMPLED_EDGES, PINS_PER_EDGE, MIN_CANDIDATES,
        int(np.clip(GATHER_BUDGET / mean_fan_in, 16, MAX_CANDIDATES)),
        CANDIDATES_PER_BATCH_UNIT, RETRIES, HOPELESS, int(seed))
    return unit_core
