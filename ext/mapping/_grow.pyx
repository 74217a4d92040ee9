# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Greedy core growing: the loop over cores and their growth steps.

The algorithm, its parameters and why it is built this way are described in
``pyNN_neuro/mapping/grow.py``, which checks the arrays and calls :func:`grow_cores_kernel`.
Here only the loop runs, without the GIL: per step it samples candidate units on the
core's hyperedges, scores them, and joins the best batch that fits. A step costs the
pins of its candidates (at most ``max_candidates`` units' reading pins), whatever the
size of the network; in numpy the same step was some forty small array operations whose
fixed cost outweighed that work.

Random numbers come from the counter-based generator of ``_random.pxd`` (stream 0 of the
seed, one counter for the whole run): the same seed grows the same cores.
"""
from libc.stdint cimport int32_t, int64_t, uint64_t, INT32_MAX
from libc.stdlib cimport malloc, free, qsort
from _random cimport stream_key, uniform_of_key


cdef struct Scored:
    double score
    int64_t index      # position among the candidates: ties keep the candidates' order


cdef struct Growth:
    # the arrays of the hypergraph (read only)
    const int64_t *edge_ptr
    const int64_t *pin_unit
    const int64_t *read_ptr
    const int64_t *read_edge
    const int64_t *root_edge      # no_edge for a unit that roots no hyperedge
    const double *weight          # per hyperedge, and 0 for no_edge
    const double *unit_weight
    const int64_t *unit_synapses
    const int64_t *unit_output
    const int64_t *order
    int64_t n_units
    int64_t no_edge
    # limits of a core
    int64_t max_neurons
    double max_axons
    double max_synapses
    double max_output
    # parameters
    int64_t sampled_edges
    int64_t pins_per_edge
    int64_t min_candidates
    int64_t max_candidates
    int64_t candidates_per_batch_unit
    int64_t retries
    double hopeless
    # state
    int64_t *unit_core
    # marks in 32 bits, so that they stay in cache on large networks
    int32_t *touched     # per hyperedge: last core with a pin on it
    int32_t *read        # per hyperedge: last core reading it (an axon)
    int32_t *seen        # per unit: last sample that listed it as a candidate
    int32_t n_samples
    int64_t *frontier    # hyperedges touched by the current core, in order of touching
    int64_t n_frontier
    int64_t *candidates
    int64_t *new_axons   # per candidate: axons it would add
    Scored *scored
    int64_t *batch
    uint64_t random_key
    uint64_t random_counter
    # the current core
    int64_t core
    int64_t members
    int64_t axons
    int64_t synapses
    int64_t output


cdef inline int64_t _below(Growth *g, int64_t n) noexcept nogil:
    """A uniform integer in [0, n) (n >= 1)."""
    cdef int64_t k = <int64_t>(uniform_of_key(g.random_key, g.random_counter) * n)
    g.random_counter += 1
    return k if k < n else n - 1


cdef int _compare_units(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *>a)[0], y = (<const int64_t *>b)[0]
    return (x > y) - (x < y)


cdef int _compare_scored(const void *a, const void *b) noexcept nogil:
    # higher score first, then the earlier candidate
    cdef const Scored *x = <const Scored *>a
    cdef const Scored *y = <const Scored *>b
    if x.score != y.score:
        return -1 if x.score > y.score else 1
    return (x.index > y.index) - (x.index < y.index)


cdef void _join(Growth *g, int64_t n_batch) noexcept nogil:
    """The batch joins the current core: its pins are marked, the axons it really adds
    (distinct hyperedges not yet read by the core) counted."""
    cdef int64_t i, p, e, unit
    cdef int64_t core = g.core
    for i in range(n_batch):
        unit = g.batch[i]
        g.unit_core[unit] = core
        g.members += 1
        g.synapses += g.unit_synapses[unit]
        g.output += g.unit_output[unit]
        for p in range(g.read_ptr[unit], g.read_ptr[unit + 1]):
            e = g.read_edge[p]
            if g.read[e] != core:
                g.read[e] = core
                g.axons += 1
            if g.touched[e] != core:
                g.touched[e] = core
                g.frontier[g.n_frontier] = e
                g.n_frontier += 1
        e = g.root_edge[unit]
        if e != g.no_edge and g.touched[e] != core:
            g.touched[e] = core
            g.frontier[g.n_frontier] = e
            g.n_frontier += 1


cdef int64_t _sample_candidates(Growth *g, int64_t limit) noexcept nogil:
    """Free units on a sample of the core's hyperedges (a random window of at most
    ``pins_per_edge`` pins of each), distinct and in increasing order; at most ``limit``
    of them, drawn at random (in random order) when there are more."""
    cdef int64_t n_edges, k, j, e, size, take, start, p, unit, n = 0
    if g.n_frontier == 0:
        return 0
    g.n_samples += 1
    n_edges = g.n_frontier if g.n_frontier <= g.sampled_edges else g.sampled_edges
    for k in range(n_edges):
        e = g.frontier[k] if g.n_frontier <= g.sampled_edges else g.frontier[_below(g, g.n_frontier)]
        size = g.edge_ptr[e + 1] - g.edge_ptr[e]
        take = size if size < g.pins_per_edge else g.pins_per_edge
        start = g.edge_ptr[e] + _below(g, size - take + 1)
        for p in range(start, start + take):
            unit = g.pin_unit[p]
            if g.unit_core[unit] < 0 and g.seen[unit] != g.n_samples:
                g.seen[unit] = g.n_samples
                g.candidates[n] = unit
                n += 1
    qsort(g.candidates, n, sizeof(int64_t), _compare_units)
    if n > limit:
        # the first ``limit`` places of a Fisher-Yates shuffle
        for k in range(limit):
            j = k + _below(g, n - k)
            unit = g.candidates[k]
            g.candidates[k] = g.candidates[j]
            g.candidates[j] = unit
        n = limit
    return n


cdef int64_t _following_units(Growth *g, int64_t position) noexcept nogil:
    """Free units among the next ``4 max_candidates`` of the order (for a core whose
    hyperedges hold no free unit: disconnected parts, sources without targets)."""
    cdef int64_t k, unit, n = 0
    cdef int64_t stop = position + 4 * g.max_candidates
    if stop > g.n_units:
        stop = g.n_units
    for k in range(position, stop):
        unit = g.order[k]
        if g.unit_core[unit] < 0:
            g.candidates[n] = unit
            n += 1
            if n == g.max_candidates:
                break
    return n


cdef int64_t _best_batch(Growth *g, int64_t n_candidates, bint *hopeless) noexcept nogil:
    """The best-scored candidates that fit together, into ``g.batch`` (new axons counted
    without their overlap with each other: an upper bound), at most a quarter of the
    core's size; returns their number. Score: the share of the candidate's pin weight on
    hyperedges the core already holds, minus the share on new ones, so that a unit whose
    pins are all held scores 1 whatever its fan-in. ``hopeless``: nothing fits and no
    candidate needed less than ``g.hopeless`` times what the core has left."""
    cdef int64_t i, k, p, e, unit, n_fit = 0, most
    cdef int64_t core = g.core
    cdef double new_weight, total, demand, least = 1e300
    cdef double axons_left = g.max_axons - g.axons
    cdef double synapses_left = g.max_synapses - g.synapses
    cdef double output_left = g.max_output - g.output
    cdef double axons, synapses, output
    if axons_left < 1e-9:
        axons_left = 1e-9
    if synapses_left < 1e-9:
        synapses_left = 1e-9
    if output_left < 1e-9:
        output_left = 1e-9
    for i in range(n_candidates):
        unit = g.candidates[i]
        g.new_axons[i] = 0
        new_weight = 0.0
        # a reading pin on a new axon is a pin on a hyperedge the core does not hold yet
        # (a hyperedge held only through a root pin counts as new: a slight under-estimate)
        for p in range(g.read_ptr[unit], g.read_ptr[unit + 1]):
            e = g.read_edge[p]
            if g.read[e] != core:
                g.new_axons[i] += 1
                new_weight += g.weight[e]
        e = g.root_edge[unit]
        if g.touched[e] != core:
            new_weight += g.weight[e]
        # the candidate's demand over what the core has left, for its tightest resource
        demand = g.new_axons[i] / axons_left
        if g.unit_synapses[unit] / synapses_left > demand:
            demand = g.unit_synapses[unit] / synapses_left
        if g.unit_output[unit] / output_left > demand:
            demand = g.unit_output[unit] / output_left
        if demand < least:
            least = demand
        if demand <= 1.0:
            total = g.unit_weight[unit] if g.unit_weight[unit] > 1e-300 else 1e-300
            g.scored[n_fit].score = 1.0 - 2.0 * new_weight / total
            g.scored[n_fit].index = i
            n_fit += 1
    hopeless[0] = False
    if n_fit == 0:
        # another sample is worth a try only when some candidate came close (on random
        # networks the overlaps vary little between samples)
        hopeless[0] = least > g.hopeless
        return 0
    qsort(g.scored, n_fit, sizeof(Scored), _compare_scored)
    most = g.members // 4
    if g.max_neurons - g.members < most:
        most = g.max_neurons - g.members
    if most < 1:
        most = 1
    if n_fit > most:
        n_fit = most
    # the longest prefix that fits together (the first candidate always does)
    axons, synapses, output = g.axons, g.synapses, g.output
    for k in range(n_fit):
        i = g.scored[k].index
        unit = g.candidates[i]
        axons += g.new_axons[i]
        synapses += g.unit_synapses[unit]
        output += g.unit_output[unit]
        if k > 0 and (axons > g.max_axons or synapses > g.max_synapses or output > g.max_output):
            return k
        g.batch[k] = unit
    return n_fit


cdef void _grow(Growth *g) noexcept nogil:
    """Cores one after another, each seeded by the first free unit of the order."""
    cdef int64_t position = 0, n_batch, n_candidates, pool, retries
    cdef bint hopeless
    while True:
        while position < g.n_units and g.unit_core[g.order[position]] >= 0:
            position += 1
        if position == g.n_units:
            return
        g.members = g.axons = g.synapses = g.output = 0
        g.n_frontier = 0
        g.batch[0] = g.order[position]
        n_batch = 1
        retries = 0
        while True:
            _join(g, n_batch)
            if g.members >= g.max_neurons:
                break
            # a small core's score differences are small too, so few candidates do; the
            # pool grows with the batch the core can take
            pool = g.candidates_per_batch_unit * (g.members // 4 if g.members >= 4 else 1)
            if pool > g.max_candidates:
                pool = g.max_candidates
            n_candidates = _sample_candidates(g, pool if pool > g.min_candidates else g.min_candidates)
            if n_candidates == 0:
                n_candidates = _following_units(g, position)
                if n_candidates == 0:
                    break
            n_batch = _best_batch(g, n_candidates, &hopeless)
            if n_batch == 0:
                retries += 1
                if retries > g.retries or hopeless:
                    break
        g.core += 1


def grow_cores_kernel(const int64_t[::1] edge_ptr, const int64_t[::1] pin_unit,
                      const int64_t[::1] read_ptr, const int64_t[::1] read_edge,
                      const int64_t[::1] root_edge, const double[::1] weight,
                      const double[::1] unit_weight, const int64_t[::1] unit_synapses,
                      const int64_t[::1] unit_output, const int64_t[::1] order,
                      int64_t[::1] unit_core, int64_t max_neurons, double max_axons,
                      double max_synapses, double max_output, int64_t sampled_edges,
                      int64_t pins_per_edge, int64_t min_candidates, int64_t max_candidates,
                      int64_t candidates_per_batch_unit, int64_t retries, double hopeless,
                      uint64_t seed):
    """Grow cores for the units with ``unit_core`` -1, in place; returns the number of
    cores (given and new). Shapes and dtypes are the caller's to check (``grow.py``):
    ``root_edge`` uses ``no_edge = len(edge_ptr) - 1`` for "none", and ``weight`` has one
    more entry (0) for it; ``order`` is a permutation of the units."""
    cdef Growth g
    cdef int64_t n_edges = edge_ptr.shape[0] - 1
    cdef int64_t n_units = unit_core.shape[0]
    cdef int64_t i, buffer = sampled_edges * pins_per_edge
    if buffer < max_candidates:
        buffer = max_candidates
    # (an empty array still has a valid data pointer, and no loop reads it)
    g.edge_ptr, g.pin_unit = &edge_ptr[0], &pin_unit[0]
    g.read_ptr, g.read_edge = &read_ptr[0], &read_edge[0]
    g.root_edge, g.weight, g.unit_weight = &root_edge[0], &weight[0], &unit_weight[0]
    g.unit_synapses, g.unit_output = &unit_synapses[0], &unit_output[0]
    g.order, g.unit_core = &order[0], &unit_core[0]
    g.n_units, g.no_edge = n_units, n_edges
    g.max_neurons, g.max_axons, g.max_synapses, g.max_output = \
        max_neurons, max_axons, max_synapses, max_output
    g.sampled_edges, g.pins_per_edge = sampled_edges, pins_per_edge
    g.min_candidates, g.max_candidates = min_candidates, max_candidates
    g.candidates_per_batch_unit, g.retries, g.hopeless = candidates_per_batch_unit, retries, hopeless
    g.random_key, g.random_counter = stream_key(seed, 0), 0
    g.core = 0
    for i in range(n_units):
        if g.unit_core[i] >= g.core:
            g.core = g.unit_core[i] + 1
    g.n_samples = 0
    # every sample but RETRIES + 1 per core adds a unit: at most (retries + 2) n_units
    if g.core + (retries + 2) * n_units >= INT32_MAX:
        raise ValueError(f"greedy core growing counts cores and samples in 32 bits: "
                         f"{n_units} units are too many")
    g.touched = <int32_t *>malloc((n_edges + 1) * sizeof(int32_t))
    g.read = <int32_t *>malloc((n_edges + 1) * sizeof(int32_t))
    g.frontier = <int64_t *>malloc((n_edges + 1) * sizeof(int64_t))
    g.seen = <int32_t *>malloc((n_units + 1) * sizeof(int32_t))
    g.candidates = <int64_t *>malloc(buffer * sizeof(int64_t))
    g.new_axons = <int64_t *>malloc(buffer * sizeof(int64_t))
    g.batch = <int64_t *>malloc(buffer * sizeof(int64_t))
    g.scored = <Scored *>malloc(buffer * sizeof(Scored))
    try:
        if (g.touched == NULL or g.read == NULL or g.frontier == NULL or g.seen == NULL
                or g.candidates == NULL or g.new_axons == NULL or g.batch == NULL
                or g.scored == NULL):
            raise MemoryError("greedy core growing: no memory for its work arrays")
        with nogil:
            for i in range(n_edges + 1):
                g.touched[i] = -1
                g.read[i] = -1
            for i in range(n_units):
                g.seen[i] = 0
            _grow(&g)
    finally:
        free(g.touched)
        free(g.read)
        free(g.frontier)
        free(g.seen)
        free(g.candidates)
        free(g.new_axons)
        free(g.batch)
        free(g.scored)
    return g.core
