# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: language = c++
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Event-driven spike delivery (the serial paradigm) for static and plastic synapses.

A delivery unit is the set of synapses from one neuron group to one receptor of another,
stored as CSR rows by presynaptic neuron: ``indptr`` (n_pre + 1), ``post`` (target neuron),
``weight`` (nA, uS or mV: the unit of the receptor), ``delay`` (whole steps, >= 1).

Timing (as NEST): a spike emitted in step s reaches the postsynaptic ring buffer slot
(s + delay) modulo L, and the neuron kernel consumes that slot in step s + delay, so the
synaptic response starts at the spike time plus the delay.

Plastic synapses follow NEST's conventions for ``tsodyks_synapse`` (short-term plasticity
with a fixed "in use" time constant tau_psc), ``stdp_synapse`` (all-to-all spike pairing
with the whole delay dendritic) and ``vogels_sprekeler_synapse``; the equations are in the
class docstrings. Events are processed in time order inside a window, so the result does
not depend on the window length.
"""
import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport exp, expm1, pow, fabs, copysign
from libcpp.vector cimport vector
from libc.stdint cimport uint64_t
from _random cimport stream_key, uniform_of_key, uniform_open
from _kernel_common cimport threads_for

cnp.import_array()

cdef extern from *:
    """
    /* Add the weights of synapses j0 .. j1 - 1 into row[post[j]], touching ahead the
       target PNN_TOUCH_AHEAD synapses further on: targets are scattered over a ring row
       larger than the core's cache, so without it every addition waits for its line.
       The last PNN_TOUCH_AHEAD synapses of a row touch instead the first targets of the
       next spike's row (synapses n0 .. n1 - 1 into ring row ``next``), so that short rows
       are covered too. The hints change no value. The distance is the best of 8, 16,
       32, 48, 64 and 96 on the 64 000-neuron scaling benchmark (benchmarks/scaling.py),
       where the rings miss the core's caches: 48 took delivery from 0.81 s to 0.65 s. */
    static inline void pnn_touch(const int* post, const double* weight, Py_ssize_t j) {
        __builtin_prefetch(&post[j], 0, 3);
        __builtin_prefetch(&weight[j], 0, 3);
    }
    #define PNN_TOUCH_AHEAD 48
    /* weight NULL: every synapse has the weight w (no weight array to stream through
       the caches beside the targets); inlined with a constant, the test goes away */
    static inline void pnn_add_synapses(double* row, const int* post, const double* weight,
                                        double w, Py_ssize_t j0, Py_ssize_t j1,
                                        const double* next, Py_ssize_t n0, Py_ssize_t n1) {
        Py_ssize_t j, ahead = j1 - PNN_TOUCH_AHEAD, q;
        for (j = j0; j < ahead; j++) {
            __builtin_prefetch(&row[post[j + PNN_TOUCH_AHEAD]], 1, 3);
            row[post[j]] += weight ? weight[j] : w;
        }
        j = j0 > ahead ? j0 : ahead;
        for (q = n0; j < j1 && q < n1; j++, q++) {
            __builtin_prefetch(&next[post[q]], 1, 3);
            row[post[j]] += weight ? weight[j] : w;
        }
        for (; j < j1; j++)
            row[post[j]] += weight ? weight[j] : w;
    }
    static inline void pnn_add_row(double* row, const int* post, const double* weight,
                                   Py_ssize_t j0, Py_ssize_t j1, const double* next,
                                   Py_ssize_t n0, Py_ssize_t n1) {
        pnn_add_synapses(row, post, weight, 0.0, j0, j1, next, n0, n1);
    }
    static inline void pnn_add_value(double* row, const int* post, double w,
                                     Py_ssize_t j0, Py_ssize_t j1, const double* next,
                                     Py_ssize_t n0, Py_ssize_t n1) {
        pnn_add_synapses(row, post, NULL, w, j0, j1, next, n0, n1);
    }
    """
    void pnn_touch(const int* post, const double* weight, Py_ssize_t j) nogil
    void pnn_add_row(double* row, const int* post, const double* weight, Py_ssize_t j0,
                     Py_ssize_t j1, const double* next, Py_ssize_t n0, Py_ssize_t n1) nogil
    void pnn_add_value(double* row, const int* post, double w, Py_ssize_t j0,
                       Py_ssize_t j1, const double* next, Py_ssize_t n0, Py_ssize_t n1) nogil


def csr_order(const cnp.int64_t[::1] pre, const cnp.int64_t[::1] post, Py_ssize_t n_pre,
              Py_ssize_t n_post, bint with_targets=False, bint with_order=True):
    """(order, indptr): the connection positions sorted by presynaptic neuron, then
    postsynaptic neuron, ties in connection order (the order of numpy's
    ``lexsort((post, pre))``), and the CSR row pointer over n_pre rows. With
    ``with_targets``, also ``post[order]`` as C ints (written during the sort: no
    separate gather over the connections). Without ``with_order``, order is None and
    not written (a unit whose weights and delays are each one value needs only the
    row pointer and the targets: one array of 8 bytes per connection less to fill).

    Two stable counting sorts, by post then by pre, O(n); the first is skipped when the
    connections already come ordered by postsynaptic neuron (as connectors make them)."""
    cdef Py_ssize_t n = pre.shape[0], m, j, place
    order_array = np.empty(n if with_order else 0, dtype=np.int64)
    indptr_array = np.zeros(n_pre + 1, dtype=np.int64)
    cdef cnp.int64_t[::1] order = order_array
    cdef cnp.int64_t[::1] indptr = indptr_array
    cdef cnp.int64_t[::1] by_post
    cdef cnp.int64_t[::1] start
    cdef bint sorted_by_post = True
    if post.shape[0] != n:
        raise ValueError("csr_order: pre and post differ in length")
    for m in range(n):
        if pre[m] < 0 or pre[m] >= n_pre or post[m] < 0 or post[m] >= n_post:
            raise ValueError(f"csr_order: connection {m} ({pre[m]} -> {post[m]}) is out of "
                             f"range for {n_pre} x {n_post} neurons")
        if m and post[m] < post[m - 1]:
            sorted_by_post = False
    if not sorted_by_post:
        by_post = np.empty(n, dtype=np.int64)
        start = np.zeros(n_post + 1, dtype=np.int64)
        with nogil:
            for m in range(n):
                start[post[m] + 1] += 1
            for j in range(n_post):
                start[j + 1] += start[j]
            for m in range(n):
                by_post[start[post[m]]] = m
                start[post[m]] += 1
    with nogil:
        for m in range(n):
            indptr[pre[m] + 1] += 1
        for j in range(n_pre):
            indptr[j + 1] += indptr[j]
    start = indptr_array[:n_pre].copy()
    targets_array = np.empty(n if with_targets else 0, dtype=np.intc)
    cdef int[::1] targets = targets_array
    with nogil:
        for m in range(n):
            # the identity permutation when sorted by post: no array of it to read
            j = m if sorted_by_post else by_post[m]
            place = start[pre[j]]
            if with_order:
                order[place] = j
            if with_targets:
                targets[place] = <int>post[j]
            start[pre[j]] = place + 1
    order_result = order_array if with_order else None
    if with_targets:
        return order_result, indptr_array, targets_array
    return order_result, indptr_array


# a thread is started for at least this many synaptic events of a window
cdef double MIN_EVENTS_PER_THREAD = 20000.0


cdef inline Py_ssize_t _arrival_slot(Py_ssize_t first, int delay, Py_ssize_t L) noexcept nogil:
    """(first + delay) mod L for 0 <= first < L and delay >= 0, without dividing: in the
    engine delay < L, so at most one subtraction."""
    cdef Py_ssize_t slot = first + delay
    while slot >= L:
        slot -= L
    return slot


cdef bint _all_equal(const int[::1] a) noexcept:
    """Whether every element equals the first (stops at the first that does not)."""
    cdef Py_ssize_t j
    for j in range(1, a.shape[0]):
        if a[j] != a[0]:
            return False
    return True


cdef bint _nondecreasing(const int[::1] a) noexcept:
    """Whether a never decreases (stops at the first decrease: for random targets, at
    the end of the first row)."""
    cdef Py_ssize_t j
    for j in range(1, a.shape[0]):
        if a[j] < a[j - 1]:
            return False
    return True


ctypedef struct DeliveryJob:
    # what StaticDelivery._deliver needs, as plain pointers (see _run_job)
    const cnp.int64_t* row_start    # synapses row_start[i] .. row_end[i] - 1 of row i
    const cnp.int64_t* row_end
    const int* post
    const double* weight
    const int* delay
    const int* spike_k
    const int* spike_i
    int n_spikes
    double* ring                    # ring[slot * stride + target]
    Py_ssize_t L
    Py_ssize_t stride
    long step0
    int uniform_delay               # or -1
    bint weight_uniform
    double weight_value


cdef void _run_job(DeliveryJob* job) noexcept nogil:
    """Serial delivery (``StaticDelivery``): each spike's row added into the ring slots of
    its arrival."""
    cdef Py_ssize_t m, j, L = job.L, n0, n1
    cdef Py_ssize_t first = 0          # ring slot of the current spike's step
    cdef int i, k = -1
    cdef double* row
    cdef double* next_row
    cdef const cnp.int64_t* row_start = job.row_start
    cdef const cnp.int64_t* row_end = job.row_end
    for m in range(job.n_spikes):
        if job.spike_k[m] != k:        # the list is ordered by step
            k = job.spike_k[m]
            first = (job.step0 + k) % L
        i = job.spike_i[m]
        if m + 3 < job.n_spikes:
            pnn_touch(job.post, job.weight, row_start[job.spike_i[m + 3]])
        if job.uniform_delay >= 0:
            row = job.ring + _arrival_slot(first, job.uniform_delay, L) * job.stride
            # the next spike's row, whose first targets the end of this one touches
            next_row = row
            n0 = n1 = 0
            if m + 1 < job.n_spikes:
                if job.spike_k[m + 1] != k:
                    next_row = job.ring + _arrival_slot(
                        (job.step0 + job.spike_k[m + 1]) % L, job.uniform_delay, L) * job.stride
                n0 = row_start[job.spike_i[m + 1]]
                n1 = row_end[job.spike_i[m + 1]]
            if job.weight_uniform:
                pnn_add_value(row, job.post, job.weight_value, row_start[i], row_end[i],
                              next_row, n0, n1)
            else:
                pnn_add_row(row, job.post, job.weight, row_start[i], row_end[i],
                            next_row, n0, n1)
        elif job.weight_uniform:
            for j in range(row_start[i], row_end[i]):
                job.ring[_arrival_slot(first, job.delay[j], L) * job.stride + job.post[j]] += \
                    job.weight_value
        else:
            for j in range(row_start[i], row_end[i]):
                job.ring[_arrival_slot(first, job.delay[j], L) * job.stride + job.post[j]] += \
                    job.weight[j]


cdef class StaticDelivery:
    """The serial paradigm for a unit of static synapses, bound once to its arrays: CSR
    rows (``indptr``, ``post``, ``weight``, ``delay``), the presynaptic group's window
    spike list (``spike_k``, ``spike_i``) and the target ring (L, n_post). ``weight`` is
    read at every delivery, so changes made to it in place take effect at once.

    The slot of a spike's step is computed once per step; when every synapse of the unit
    has the same delay (the common case) the target ring row is then fixed for the whole
    CSR row, and an event costs one load of the target, one of the weight and one add;
    when every synapse also has the same weight (``uniform_weight``, which the owner sets
    and keeps up to date), not even the weight is loaded.

    With ``num_threads`` > 1 (and rows sorted by target, as the engine's CSR order makes
    them), thread t owns the targets t n_post / T .. (t + 1) n_post / T - 1: it walks every
    spike but adds only the part of each row that falls in its range. Every ring entry is
    then written by one thread, in spike order, exactly as with one thread: the same sums
    to the bit. A window with few events is delivered by one thread.

    When the targets grow along the whole synapse array (one-to-one projections, and any
    whose rows do not interleave), a thread's synapses are one contiguous range and, the
    spike list being ordered by step then neuron, the spikes that reach them are one run
    per step, found by bisection: the thread walks only its own spikes. Walking every spike
    would cost each thread as much as delivering them all, where a spike has one or two
    synapses. One thread skips the same way the spikes of neurons without synapses here
    (a drive from a part of a population of sources)."""
    cdef const cnp.int64_t[::1] indptr
    cdef const int[::1] post
    cdef const double[::1] weight
    cdef const int[::1] delay
    cdef readonly object spike_k, spike_i, ring     # the bound arrays (identity checks)
    cdef const int[::1] _spike_k, _spike_i
    cdef double[:, ::1] _ring
    cdef int uniform_delay                          # the common delay, or -1
    cdef readonly int num_threads
    cdef cnp.int64_t[:, ::1] segment                # (threads + 1, n_pre) row cut points
    cdef cnp.int64_t[::1] cut                       # monotone targets: thread t's synapses
    cdef readonly bint monotone                     # ... are cut[t] .. cut[t + 1] - 1
    cdef bint single                                # no row has more than one synapse
    cdef double events_per_spike
    cdef bint weight_uniform                        # every weight is weight_value
    cdef double weight_value

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                 int[::1] delay, spike_k, spike_i, ring, int num_threads=1):
        self.indptr = indptr
        self.post = post
        self.weight = weight
        self.delay = delay
        self.uniform_delay = -1
        if delay.shape[0] and _all_equal(delay):
            self.uniform_delay = delay[0]
        self.events_per_spike = post.shape[0] / max(1, indptr.shape[0] - 1)
        self.bind(spike_k, spike_i, ring)
        self.num_threads = 1
        self.monotone = post.shape[0] > 0 and _nondecreasing(post)
        self.single = bool(np.all(np.diff(indptr) <= 1))
        if self.monotone:
            self.num_threads = max(1, num_threads)
            bounds = (np.arange(self.num_threads + 1, dtype=np.int64) * self._ring.shape[1]
                      // self.num_threads)
            self.cut = np.searchsorted(np.asarray(post), bounds).astype(np.int64)
            self.cut[self.num_threads] = post.shape[0]
        elif num_threads > 1 and self._rows_sorted_by_target():
            self.num_threads = num_threads
            self.segment = self._cut_rows(num_threads, self._ring.shape[1])

    @property
    def uniform_weight(self):
        """The weight every synapse has, which the kernel then uses instead of reading
        ``weight`` (None: read ``weight`` at every delivery). Whoever changes ``weight``
        in place while this is set must set it again."""
        return self.weight_value if self.weight_uniform else None

    @uniform_weight.setter
    def uniform_weight(self, value):
        self.weight_uniform = value is not None
        self.weight_value = value if value is not None else 0.0

    def bind(self, spike_k, spike_i, ring):
        """(Re)attach the presynaptic spike list and the target ring."""
        self.spike_k, self.spike_i, self.ring = spike_k, spike_i, ring
        self._spike_k = spike_k
        self._spike_i = spike_i
        self._ring = ring

    def _rows_sorted_by_target(self):
        cdef Py_ssize_t i, j
        for i in range(self.indptr.shape[0] - 1):
            for j in range(self.indptr[i] + 1, self.indptr[i + 1]):
                if self.post[j] < self.post[j - 1]:
                    return False
        return True

    def _cut_rows(self, int threads, Py_ssize_t n_post):
        """segment[t, i]: the first position of row i whose target belongs to thread t
        (segment[threads, i] = the row's end)."""
        cdef Py_ssize_t n_pre = self.indptr.shape[0] - 1, i, j
        cdef int t
        cuts = np.empty((threads + 1, n_pre), dtype=np.int64)
        cdef cnp.int64_t[:, ::1] c = cuts
        for i in range(n_pre):
            j = self.indptr[i]
            for t in range(threads):
                while j < self.indptr[i + 1] and self.post[j] < t * n_post // threads:
                    j += 1
                c[t, i] = j
            c[threads, i] = self.indptr[i + 1]
        return cuts

    cpdef void deliver(self, long step0, int n_spikes):
        """Add the weight of every synapse of the first n_spikes spikes of the list (steps
        counted from global step step0) into its target's ring slot."""
        cdef int t, threads = threads_for(self.num_threads, n_spikes * self.events_per_spike,
                                          MIN_EVENTS_PER_THREAD, self.num_threads)
        if self.monotone and threads == 1:
            with nogil:
                self._deliver_range(step0, n_spikes, 0, self.post.shape[0])
        elif threads == 1:
            with nogil:
                self._deliver(step0, n_spikes, &self.indptr[0], &self.indptr[1])
        elif self.monotone:
            for t in prange(self.num_threads, nogil=True, num_threads=threads,
                            schedule='static'):
                self._deliver_range(step0, n_spikes, self.cut[t], self.cut[t + 1])
        else:
            for t in prange(self.num_threads, nogil=True, num_threads=threads,
                            schedule='static'):
                self._deliver(step0, n_spikes, &self.segment[t, 0], &self.segment[t + 1, 0])

    cdef inline double _weight(self, Py_ssize_t j) noexcept nogil:
        return self.weight_value if self.weight_uniform else self.weight[j]

    cdef void _deliver_range(self, long step0, int n_spikes, cnp.int64_t first_synapse,
                             cnp.int64_t end_synapse) noexcept nogil:
        """The synapses first_synapse .. end_synapse - 1 of the spikes' rows, for targets
        that grow along the synapse array: per step, the spikes whose rows meet that
        range are one run of the list (rows and their synapse ranges grow with the
        neuron), found by bisection."""
        cdef Py_ssize_t m = 0, lo, hi, mid, end_step, j, j_end, L = self._ring.shape[0]
        cdef Py_ssize_t slot, row_slot
        cdef int k, i
        while m < n_spikes:
            k = self._spike_k[m]
            slot = (step0 + k) % L
            # end of this step's spikes
            lo = m
            hi = n_spikes
            while lo < hi:
                mid = (lo + hi) // 2
                if self._spike_k[mid] > k:
                    hi = mid
                else:
                    lo = mid + 1
            end_step = lo
            # first spike whose row ends after first_synapse
            lo = m
            hi = end_step
            while lo < hi:
                mid = (lo + hi) // 2
                if self.indptr[self._spike_i[mid] + 1] > first_synapse:
                    hi = mid
                else:
                    lo = mid + 1
            if self.single and self.uniform_delay >= 0:
                # one synapse or none per row (one-to-one): no clipping, one slot
                row_slot = _arrival_slot(slot, self.uniform_delay, L)
                while lo < end_step:
                    i = self._spike_i[lo]
                    j = self.indptr[i]
                    if j >= end_synapse:
                        break
                    if self.indptr[i + 1] > j:
                        self._ring[row_slot, self.post[j]] += self._weight(j)
                    lo += 1
            while lo < end_step:
                i = self._spike_i[lo]
                j = self.indptr[i]
                if j >= end_synapse:
                    break
                j_end = self.indptr[i + 1]
                if j < first_synapse:
                    j = first_synapse
                if j_end > end_synapse:
                    j_end = end_synapse
                if self.uniform_delay >= 0:
                    row_slot = _arrival_slot(slot, self.uniform_delay, L)
                    while j < j_end:
                        self._ring[row_slot, self.post[j]] += self._weight(j)
                        j += 1
                else:
                    while j < j_end:
                        self._ring[_arrival_slot(slot, self.delay[j], L), self.post[j]] += \
                            self._weight(j)
                        j += 1
                lo += 1
            m = end_step

    cdef void _deliver(self, long step0, int n_spikes, const cnp.int64_t* row_start,
                       const cnp.int64_t* row_end) noexcept nogil:
        """The spikes' synapses from row_start[i] to row_end[i] - 1 of each row i."""
        cdef DeliveryJob job
        self._job(&job, step0, n_spikes)
        job.row_start = row_start
        job.row_end = row_end
        _run_job(&job)

    cdef void _job(self, DeliveryJob* job, long step0, int n_spikes) noexcept nogil:
        """This unit's delivery of the first n_spikes spikes of its list, whole rows."""
        job.row_start = &self.indptr[0]
        job.row_end = &self.indptr[1]
        job.post = &self.post[0] if self.post.shape[0] else NULL
        job.weight = &self.weight[0] if self.weight.shape[0] else NULL
        job.delay = &self.delay[0] if self.delay.shape[0] else NULL
        job.spike_k = &self._spike_k[0] if self._spike_k.shape[0] else NULL
        job.spike_i = &self._spike_i[0] if self._spike_i.shape[0] else NULL
        job.n_spikes = n_spikes
        job.ring = &self._ring[0, 0] if self._ring.shape[0] and self._ring.shape[1] else NULL
        job.L = self._ring.shape[0]
        job.stride = self._ring.shape[1]
        job.step0 = step0
        job.uniform_delay = self.uniform_delay
        job.weight_uniform = self.weight_uniform
        job.weight_value = self.weight_value


def deliver_together(list units, list parts, list n_spikes, long step0, list threads_jobs):
    """Deliver several StaticDelivery units at once: thread t delivers, in order, the
    jobs whose positions in ``units`` are listed in threads_jobs[t]. Job u is unit
    units[u] with the first n_spikes[u] spikes of its list (steps counted from step0),
    whole when parts[u] is -1, else only its synapses onto the part parts[u] of its
    targets (the unit's own thread split, see ``StaticDelivery``: parts[u] < its
    ``num_threads``). Every ring entry must be reached by the jobs of one thread only
    (then it receives its additions in the order of that thread's list)."""
    cdef int n_threads = len(threads_jobs), t, a, u, part
    cdef vector[DeliveryJob] jobs = vector[DeliveryJob](len(units))
    cdef vector[int] order
    cdef vector[int] offset
    cdef StaticDelivery unit
    for u in range(len(units)):
        unit = units[u]
        part = parts[u]
        unit._job(&jobs[u], step0, n_spikes[u])
        if part >= 0:
            if part >= unit.num_threads or unit.monotone:
                raise ValueError(f"unit {u} has no target part {part}")
            jobs[u].row_start = &unit.segment[part, 0]
            jobs[u].row_end = &unit.segment[part + 1, 0]
    offset.push_back(0)
    for t in range(n_threads):
        for u in threads_jobs[t]:
            order.push_back(u)
        offset.push_back(order.size())
    for t in prange(n_threads, nogil=True, num_threads=n_threads, schedule='static'):
        for a in range(offset[t], offset[t + 1]):
            _run_job(&jobs[order[a]])


def deliver_stochastic(int[::1] spike_k, int[::1] spike_i, int n_spikes, long step0,
                       cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                       int[::1] delay, double[::1] p_transmit, uint64_t seed,
                       double[:, ::1] ring):
    """Like ``deliver_static``, but synapse j transmits each spike with probability
    p_transmit[j] (NEST's bernoulli_synapse). The draw for synapse j at step s is the
    counter-based uniform number (seed, j, 64 s + r), r counting repeated spikes of one
    neuron in one step (the list is ordered by step, then neuron): reproducible whatever
    the window."""
    cdef Py_ssize_t m, j, first, L = ring.shape[0]
    cdef long s
    cdef int i
    cdef uint64_t repeat = 0
    with nogil:
        for m in range(n_spikes):
            s = step0 + spike_k[m]
            first = s % L
            i = spike_i[m]
            if m > 0 and spike_k[m - 1] == spike_k[m] and spike_i[m - 1] == i:
                repeat += 1
            else:
                repeat = 0
            for j in range(indptr[i], indptr[i + 1]):
                if uniform_open(seed, <uint64_t>j, <uint64_t>s * 64 + repeat) < p_transmit[j]:
                    ring[_arrival_slot(first, delay[j], L), post[j]] += weight[j]


cdef class TsodyksMarkramUnit:
    """Short-term depression and facilitation (Tsodyks, Uziel & Markram 2000), as NEST's
    ``tsodyks_synapse``.

    Each synapse holds the fractions x (recovered), y (in use) and z = 1 - x - y
    (inactive) of its resources and the utilisation u. At a presynaptic spike, h ms after
    the previous one::

        u <- u * exp(-h / tau_facil)            (u <- 0 when tau_facil = 0)
        x <- x + Pxy * y + (1 - exp(-h / tau_rec)) * z
        y <- y * exp(-h / tau_psc)
        u <- u + U * (1 - u)
        transmitted weight = weight * u * x;  then x <- x - u * x,  y <- y + u * x

    with Pxy = ((exp(-h/tau_rec) - 1) tau_rec - (exp(-h/tau_psc) - 1) tau_psc)
    / (tau_psc - tau_rec). tau_psc is the postsynaptic time constant of the receptor.
    Initial state: x = 1, y = 0, u = 0, last spike at t = 0.
    """
    cdef cnp.int64_t[::1] indptr
    cdef int[::1] post
    cdef double[::1] weight, U, tau_rec, tau_facil, tau_psc
    cdef int[::1] delay
    cdef public double[::1] x, y, u, last_spike
    cdef double dt

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight, int[::1] delay,
                 double[::1] U, double[::1] tau_rec, double[::1] tau_facil, double[::1] tau_psc,
                 double[::1] x, double[::1] y, double[::1] u, double[::1] last_spike, double dt):
        self.indptr = indptr
        self.post = post
        self.weight = weight
        self.delay = delay
        self.U = U
        self.tau_rec = tau_rec
        self.tau_facil = tau_facil
        self.tau_psc = tau_psc
        self.x = x
        self.y = y
        self.u = u
        self.last_spike = last_spike
        self.dt = dt

    def deliver(self, int[::1] spike_k, int[::1] spike_i, int n_spikes, long step0, double[:, ::1] ring):
        cdef Py_ssize_t m, j, L = ring.shape[0]
        cdef long s
        cdef int i
        cdef double t, h, puu, pyy, pzz, pxy, z, dy
        with nogil:
            for m in range(n_spikes):
                s = step0 + spike_k[m]
                t = (s + 1) * self.dt
                i = spike_i[m]
                for j in range(self.indptr[i], self.indptr[i + 1]):
                    h = t - self.last_spike[j]
                    puu = 0.0 if self.tau_facil[j] == 0.0 else exp(-h / self.tau_facil[j])
                    pyy = exp(-h / self.tau_psc[j])
                    pzz = expm1(-h / self.tau_rec[j])   # exp(-h/tau_rec) - 1
                    pxy = (pzz * self.tau_rec[j] - (pyy - 1.0) * self.tau_psc[j]) / (self.tau_psc[j] - self.tau_rec[j])
                    z = 1.0 - self.x[j] - self.y[j]
                    self.u[j] = self.u[j] * puu
                    self.x[j] = self.x[j] + pxy * self.y[j] - pzz * z
                    self.y[j] = self.y[j] * pyy
                    self.u[j] = self.u[j] + self.U[j] * (1.0 - self.u[j])
                    dy = self.u[j] * self.x[j]
                    self.x[j] -= dy
                    self.y[j] += dy
                    self.last_spike[j] = t
                    ring[_arrival_slot(s % L, self.delay[j], L), self.post[j]] += dy * self.weight[j]


cdef class _StochasticRelease:
    """What the stochastic short-term plasticity kernels share: CSR rows, per-synapse
    parameters U, tau_rec, tau_facil, and per synapse a counter of the numbers drawn from
    its counter-based stream (seed, synapse), so that releases do not depend on windows
    or threads."""
    cdef cnp.int64_t[::1] indptr
    cdef int[::1] post
    cdef double[::1] weight, U, tau_rec, tau_facil
    cdef int[::1] delay
    cdef public cnp.uint64_t[::1] counter
    cdef uint64_t seed
    cdef double dt

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                 int[::1] delay, double[::1] U, double[::1] tau_rec, double[::1] tau_facil,
                 cnp.uint64_t[::1] counter, uint64_t seed, double dt):
        self.indptr = indptr
        self.post = post
        self.weight = weight
        self.delay = delay
        self.U = U
        self.tau_rec = tau_rec
        self.tau_facil = tau_facil
        self.counter = counter
        self.seed = seed
        self.dt = dt


cdef class StochasticTsodyksMarkramUnit(_StochasticRelease):
    """Stochastic short-term depression and facilitation (Fuhrmann et al. 2002), as PyNN's
    NEST extension ``stochastic_stp_synapse``: each synapse has one release site, recovered
    (R = 1) or not (R = 0). At a presynaptic spike at time t (ms)::

        u <- u exp(-(t - t_last) / tau_facil) + U (1 - u exp(...))   (u <- U if tau_facil = 0)
        if R = 0: R <- 1 with probability 1 - exp(-(t - t_surv) / tau_rec), else t_surv <- t
        if R = 1: release with probability u: the weight is transmitted, R <- 0, t_surv <- t
        t_last <- t

    Initial state: u = 0, R = 1, t_surv = t_last = 0. The random numbers of synapse j are
    the counter-based stream (seed, j), one number per draw (``counter[j]`` counts them): the
    same releases whatever the window or the number of threads.
    """
    cdef public double[::1] u, recovered, t_surv, t_last

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                 int[::1] delay, double[::1] U, double[::1] tau_rec, double[::1] tau_facil,
                 cnp.uint64_t[::1] counter, uint64_t seed, double dt, double[::1] u,
                 double[::1] recovered, double[::1] t_surv, double[::1] t_last):
        _StochasticRelease.__init__(self, indptr, post, weight, delay, U, tau_rec, tau_facil,
                                    counter, seed, dt)
        self.u = u
        self.recovered = recovered
        self.t_surv = t_surv
        self.t_last = t_last

    def deliver(self, int[::1] spike_k, int[::1] spike_i, int n_spikes, long step0,
                double[:, ::1] ring):
        cdef Py_ssize_t m, j, L = ring.shape[0]
        cdef long s
        cdef int i
        cdef double t
        cdef uint64_t key
        with nogil:
            for m in range(n_spikes):
                s = step0 + spike_k[m]
                t = (s + 1) * self.dt
                i = spike_i[m]
                for j in range(self.indptr[i], self.indptr[i + 1]):
                    if self.tau_facil[j] > 1e-10:
                        self.u[j] = self.u[j] * exp(-(t - self.t_last[j]) / self.tau_facil[j])
                        self.u[j] = self.u[j] + self.U[j] * (1.0 - self.u[j])
                    else:
                        self.u[j] = self.U[j]
                    key = stream_key(self.seed, <uint64_t>j)
                    if self.recovered[j] == 0.0:
                        if uniform_of_key(key, self.counter[j]) > \
                                exp(-(t - self.t_surv[j]) / self.tau_rec[j]):
                            self.recovered[j] = 1.0
                        else:
                            self.t_surv[j] = t
                        self.counter[j] += 1
                    if self.recovered[j] == 1.0:
                        if uniform_of_key(key, self.counter[j]) < self.u[j]:
                            self.recovered[j] = 0.0
                            self.t_surv[j] = t
                            ring[_arrival_slot(s % L, self.delay[j], L), self.post[j]] += \
                                self.weight[j]
                        self.counter[j] += 1
                    self.t_last[j] = t


cdef class QuantalUnit(_StochasticRelease):
    """Multiquantal release with short-term depression and facilitation (Fuhrmann et al.
    2002, Loebel et al. 2009), as NEST 3.10's ``quantal_stp_synapse``: n release sites, of
    which ``available`` are ready. At a presynaptic spike at time t (ms), h = t - t_last::

        u <- U + u (1 - U) exp(-h / tau_facil)        (u <- U if tau_facil = 0)
        each unavailable site recovers with probability 1 - exp(-h / tau_rec)
        each available site releases with probability u; the weight transmitted is
            (number released) * weight, and the released sites become unavailable
        t_last <- t

    except at a synapse's first spike, which releases with the initial u and availability
    (no update, no recovery). NEST 3.10 does both, measured through its own API (mean a
    and u of 4000 connections after each spike of a train); its published sources show
    two other orders. Initial state as NEST gives it through pyNN.nest: u = 0.5 and one
    available site, whatever U and n (``Projection.initialize`` sets others), t_last < 0
    for "no spike yet". Random numbers: the counter-based stream (seed, j) of synapse j,
    one number per site and draw.
    """
    cdef int[::1] n_sites
    cdef public double[::1] u, t_last
    cdef public int[::1] available

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                 int[::1] delay, double[::1] U, double[::1] tau_rec, double[::1] tau_facil,
                 cnp.uint64_t[::1] counter, uint64_t seed, double dt, int[::1] n_sites,
                 double[::1] u, int[::1] available, double[::1] t_last):
        _StochasticRelease.__init__(self, indptr, post, weight, delay, U, tau_rec, tau_facil,
                                    counter, seed, dt)
        self.n_sites = n_sites
        self.u = u
        self.available = available
        self.t_last = t_last

    def deliver(self, int[::1] spike_k, int[::1] spike_i, int n_spikes, long step0,
                double[:, ::1] ring):
        cdef Py_ssize_t m, j, L = ring.shape[0]
        cdef long s
        cdef int i, site, released
        cdef double t, h, p_recover, u_decay
        cdef uint64_t key, c
        with nogil:
            for m in range(n_spikes):
                s = step0 + spike_k[m]
                t = (s + 1) * self.dt
                i = spike_i[m]
                for j in range(self.indptr[i], self.indptr[i + 1]):
                    key = stream_key(self.seed, <uint64_t>j)
                    c = self.counter[j]
                    if self.t_last[j] >= 0.0:
                        h = t - self.t_last[j]
                        u_decay = 0.0 if self.tau_facil[j] < 1e-10 else \
                            exp(-h / self.tau_facil[j])
                        self.u[j] = self.U[j] + self.u[j] * (1.0 - self.U[j]) * u_decay
                        p_recover = 1.0 - exp(-h / self.tau_rec[j])
                        for site in range(self.n_sites[j] - self.available[j]):
                            self.available[j] += uniform_of_key(key, c) < p_recover
                            c += 1
                    released = 0
                    for site in range(self.available[j]):
                        released = released + (uniform_of_key(key, c) < self.u[j])
                        c += 1
                    if released > 0:
                        ring[_arrival_slot(s % L, self.delay[j], L), self.post[j]] += \
                            released * self.weight[j]
                        self.available[j] -= released
                    self.counter[j] = c
                    self.t_last[j] = t


cdef enum:
    # weight dependences
    ADDITIVE = 0
    MULTIPLICATIVE = 1
    ADDITIVE_POT_MULTIPLICATIVE_DEP = 2
    GUTIG = 3

cdef enum:
    # timing dependences
    SPIKE_PAIR = 0
    VOGELS_2011 = 1

WEIGHT_RULES = {"additive": ADDITIVE, "multiplicative": MULTIPLICATIVE,
                "additive_potentiation_multiplicative_depression": ADDITIVE_POT_MULTIPLICATIVE_DEP,
                "gutig": GUTIG}
TIMING_RULES = {"spike_pair": SPIKE_PAIR, "vogels_2011": VOGELS_2011}


cdef class STDPUnit:
    """Spike-timing-dependent plasticity with all-to-all spike pairing (NEST's
    ``stdp_synapse``; with ``rule = VOGELS_2011`` NEST's ``vogels_sprekeler_synapse``).

    The whole delay d is dendritic: the synapse sees a presynaptic spike at its emission
    time t_pre and a postsynaptic spike at t_post + d. At the synapse, in time order
    (at equal times the postsynaptic event first):

    * postsynaptic event at time a: w <- facilitate(w, K+(a)), with the presynaptic trace
      K+(a) = sum over earlier presynaptic spikes of exp(-(a - t_pre) / tau_plus);
    * presynaptic spike at t_pre: w <- depress(w, K-(t_pre)), with the postsynaptic trace
      K-(t) = sum over postsynaptic events strictly before t of exp(-(t - a) / tau_minus);
      then the spike is transmitted with the new w.

    Weight dependences, with w in [w_min, w_max] (clipped after every update):

    =====================  ============================  ==================================
    dependence             facilitate: w += ...          depress: w -= ...
    =====================  ============================  ==================================
    additive               A_plus * w_max * K            A_minus * w_max * K
    multiplicative         A_plus * (w_max - w) * K      A_minus * (w - w_min) * K
    add. pot., mult. dep.  A_plus * w_max * K            A_minus * (w - w_min) * K
    Gutig                  A_plus * w_max (1-w/w_max)^mu_plus K   A_minus * w_max (w/w_max)^mu_minus K
    =====================  ============================  ==================================

    Vogels & Sprekeler (2011), inhibitory plasticity: both traces use tau; the postsynaptic
    event gives |w| += eta K+, the presynaptic spike gives |w| += eta K- then |w| -= eta
    alpha with alpha = 2 rho tau / 1000 (rho in Hz), |w| clipped to [0, w_max], sign kept.
    """
    cdef cnp.int64_t[::1] indptr
    cdef int[::1] post
    cdef public double[::1] weight
    # the weight as of each synapse's last presynaptic spike: what NEST reports, since it
    # applies potentiation only when the next presynaptic spike arrives
    cdef public double[::1] reported_weight
    cdef int[::1] delay
    cdef double[::1] tau_plus, tau_minus, A_plus, A_minus, w_min, w_max, mu_plus, mu_minus
    cdef double[::1] eta, rho
    # synapse indices grouped by postsynaptic neuron (CSC order)
    cdef cnp.int64_t[::1] col_ptr
    cdef cnp.int64_t[::1] col_syn
    # per presynaptic neuron: trace value just after its last spike, and that spike's time
    cdef public double[::1] k_plus, last_pre
    # per synapse: postsynaptic trace just after its last postsynaptic event, and its time
    cdef public double[::1] k_minus, last_post
    cdef int weight_rule, timing_rule
    cdef double dt
    cdef vector[vector[cnp.int64_t]] buckets
    cdef long n_buckets

    def __init__(self, cnp.int64_t[::1] indptr, int[::1] post, double[::1] weight,
                 double[::1] reported_weight, int[::1] delay,
                 dict params, int weight_rule, int timing_rule,
                 cnp.int64_t[::1] col_ptr, cnp.int64_t[::1] col_syn,
                 double[::1] k_plus, double[::1] last_pre, double[::1] k_minus, double[::1] last_post,
                 double dt, long n_buckets):
        n_syn = post.shape[0]
        self.indptr = indptr
        self.post = post
        self.weight = weight
        self.reported_weight = reported_weight
        self.delay = delay
        zeros = np.zeros(n_syn)
        get = lambda name: params[name] if name in params else zeros
        self.tau_plus = get("tau_plus")
        self.tau_minus = get("tau_minus")
        self.A_plus = get("A_plus")
        self.A_minus = get("A_minus")
        self.w_min = get("w_min")
        self.w_max = get("w_max")
        self.mu_plus = get("mu_plus")
        self.mu_minus = get("mu_minus")
        self.eta = get("eta")
        self.rho = get("rho")
        if timing_rule == VOGELS_2011:
            self.tau_plus = params["tau"]
            self.tau_minus = params["tau"]
        self.weight_rule = weight_rule
        self.timing_rule = timing_rule
        self.col_ptr = col_ptr
        self.col_syn = col_syn
        self.k_plus = k_plus
        self.last_pre = last_pre
        self.k_minus = k_minus
        self.last_post = last_post
        self.dt = dt
        self.n_buckets = n_buckets
        self.buckets.resize(n_buckets)

    def clear_pending(self):
        """Forget postsynaptic events still travelling back to the synapses (reset)."""
        cdef long b
        for b in range(self.n_buckets):
            self.buckets[b].clear()

    cdef inline double _facilitate(self, Py_ssize_t j, double w, double k) noexcept nogil:
        cdef double w_max = self.w_max[j], w_min = self.w_min[j], a
        if self.timing_rule == VOGELS_2011:
            a = fabs(w) + self.eta[j] * k
            if a > w_max:
                a = w_max
            return copysign(a, w)
        if self.weight_rule == ADDITIVE or self.weight_rule == ADDITIVE_POT_MULTIPLICATIVE_DEP:
            w = w + self.A_plus[j] * w_max * k
        elif self.weight_rule == MULTIPLICATIVE:
            w = w + self.A_plus[j] * (w_max - w) * k
        else:
            a = 1.0 - w / w_max
            w = w + self.A_plus[j] * w_max * (pow(a, self.mu_plus[j]) if a > 0.0 else 0.0) * k
        if w > w_max:
            w = w_max
        if w < w_min:
            w = w_min
        return w

    cdef inline double _depress(self, Py_ssize_t j, double w, double k) noexcept nogil:
        cdef double w_max = self.w_max[j], w_min = self.w_min[j], a
        if self.timing_rule == VOGELS_2011:
            a = fabs(w) + self.eta[j] * k
            if a > w_max:
                a = w_max
            w = copysign(a, w)
            a = fabs(w) - self.eta[j] * 2.0 * self.rho[j] * self.tau_plus[j] / 1000.0
            if a < 0.0:
                a = 0.0
            return copysign(a, w)
        if self.weight_rule == ADDITIVE:
            w = w - self.A_minus[j] * w_max * k
        elif self.weight_rule == MULTIPLICATIVE or self.weight_rule == ADDITIVE_POT_MULTIPLICATIVE_DEP:
            w = w - self.A_minus[j] * (w - w_min) * k
        else:
            a = w / w_max
            w = w - self.A_minus[j] * w_max * (pow(a, self.mu_minus[j]) if a > 0.0 else 0.0) * k
        if w > w_max:
            w = w_max
        if w < w_min:
            w = w_min
        return w

    def push_post(self, int[::1] post_k, int[::1] post_i, int n_post_spikes, long step0):
        """Send the postsynaptic spikes of a window back towards their synapses: each one
        reaches synapse j delay[j] steps later (the engine keeps delay >= window length)."""
        cdef Py_ssize_t m, c
        cdef long s, arrival
        cdef int p
        cdef cnp.int64_t jj
        with nogil:
            for m in range(n_post_spikes):
                p = post_i[m]
                s = step0 + post_k[m]
                for c in range(self.col_ptr[p], self.col_ptr[p + 1]):
                    jj = self.col_syn[c]
                    arrival = s + self.delay[jj]
                    self.buckets[arrival % self.n_buckets].push_back(jj)

    def deliver(self, int[::1] spike_k, int[::1] spike_i, int n_spikes,
                long step0, int K, double[:, ::1] ring):
        """Process one window step by step: first the postsynaptic events arriving in the
        step, then the presynaptic spikes of the step (``spike_k`` ordered by step)."""
        cdef Py_ssize_t m, j, c, L = ring.shape[0]
        cdef long s, b
        cdef int i, k
        cdef double t, kp, km
        cdef cnp.int64_t jj
        cdef Py_ssize_t pre_cursor = 0
        with nogil:
            for k in range(K):
                s = step0 + k
                t = (s + 1) * self.dt
                b = s % self.n_buckets
                for c in range(<Py_ssize_t>self.buckets[b].size()):
                    jj = self.buckets[b][c]
                    i = self._pre_of(jj)
                    kp = self.k_plus[i] * exp((self.last_pre[i] - t) / self.tau_plus[jj])
                    self.weight[jj] = self._facilitate(jj, self.weight[jj], kp)
                    if self.last_post[jj] == t:
                        self.k_minus[jj] += 1.0
                    else:
                        self.k_minus[jj] = self.k_minus[jj] * exp((self.last_post[jj] - t) / self.tau_minus[jj]) + 1.0
                    self.last_post[jj] = t
                self.buckets[b].clear()
                while pre_cursor < n_spikes and spike_k[pre_cursor] == k:
                    i = spike_i[pre_cursor]
                    for j in range(self.indptr[i], self.indptr[i + 1]):
                        if self.last_post[j] == t:
                            # the trace excludes events at exactly t_pre
                            km = self.k_minus[j] - 1.0
                        else:
                            km = self.k_minus[j] * exp((self.last_post[j] - t) / self.tau_minus[j])
                        self.weight[j] = self._depress(j, self.weight[j], km)
                        self.reported_weight[j] = self.weight[j]
                        ring[_arrival_slot(s % L, self.delay[j], L), self.post[j]] += self.weight[j]
                    if self.indptr[i + 1] > self.indptr[i]:
                        j = self.indptr[i]
                        self.k_plus[i] = self.k_plus[i] * exp((self.last_pre[i] - t) / self.tau_plus[j]) + 1.0
                    self.last_pre[i] = t
                    pre_cursor += 1

    cdef inline int _pre_of(self, cnp.int64_t j) noexcept nogil:
        # binary search of the CSR row that holds synapse j
        cdef Py_ssize_t lo = 0, hi = self.indptr.shape[0] - 1, mid
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.indptr[mid] <= j:
                lo = mid
            else:
                hi = mid
        return <int>lo
