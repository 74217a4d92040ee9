# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Spike sources and small engine helpers.

Spike sources draw their random numbers from a counter-based generator: the n-th uniform
number of neuron i of a source population is a hash of (seed, i, n). A neuron's spike train
therefore depends only on the seed, never on the window length K, the thread count, or which
other populations exist; ``reset()`` replays it by setting every counter back to zero.

Time convention (shared with the neuron kernels): a spike emitted in global step s carries
the time (s + 1) * dt. A source spike wanted at time T (ms) is emitted in step
s = ceil(T / dt) - 1, so its recorded time is T rounded up to the dt grid; T <= 0 cannot be
emitted (no step ends at t = 0).
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport log, floor, ceil, INFINITY
from libc.stdint cimport uint64_t, int64_t, int32_t
from _random cimport uniform_open

cnp.import_array()


def uniform_array(uint64_t seed, cnp.uint64_t[::1] streams, cnp.uint64_t[::1] counters):
    """Vectorised access to the counter-based generator (used by noisy current sources)."""
    cdef Py_ssize_t i, n = streams.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = uniform_open(seed, streams[i], counters[i])
    return out


def compact_spikes(unsigned char[:, ::1] spiked, int K, int[::1] spike_k, int[::1] spike_i):
    """Turn the (K, n) spike flags of a window into a list ordered by step, then neuron.

    Returns the number of spikes written into ``spike_k`` and ``spike_i``.
    """
    cdef Py_ssize_t k, i, n = spiked.shape[1]
    cdef int count = 0
    for k in range(K):
        for i in range(n):
            if spiked[k, i]:
                spike_k[count] = k
                spike_i[count] = i
                count += 1
    return count


cdef class SpikeArraySource:
    """Replays given spike times (SpikeSourceArray).

    ``steps`` holds, sorted by step then neuron, the emission step of every spike and
    ``neurons`` the matching neuron index; ``position`` is the first not yet emitted.
    """
    cdef public cnp.int64_t[::1] steps
    cdef public int[::1] neurons
    cdef public Py_ssize_t position
    cdef int[::1] spike_k
    cdef int[::1] spike_i

    def __init__(self, cnp.int64_t[::1] steps, int[::1] neurons, int[::1] spike_k, int[::1] spike_i):
        if steps.shape[0] != neurons.shape[0]:
            raise ValueError("steps and neurons must have the same length")
        self.steps = steps
        self.neurons = neurons
        self.spike_k = spike_k
        self.spike_i = spike_i
        self.position = 0

    def seek(self, long step):
        """Skip every spike emitted before ``step`` (after a rebuild at t > 0, or a reset)."""
        cdef Py_ssize_t p = 0, n = self.steps.shape[0]
        while p < n and self.steps[p] < step:
            p += 1
        self.position = p

    cpdef int update(self, long step0, int K):
        """Emit the spikes of steps step0 ... step0 + K - 1; return how many."""
        cdef Py_ssize_t n = self.steps.shape[0]
        cdef int count = 0
        cdef long end = step0 + K
        with nogil:
            while self.position < n and self.steps[self.position] < step0:
                self.position += 1  # spikes in the past (emitted before a rebuild) are dropped
            while self.position < n and self.steps[self.position] < end:
                if count >= self.spike_k.shape[0]:
                    break
                self.spike_k[count] = <int>(self.steps[self.position] - step0)
                self.spike_i[count] = self.neurons[self.position]
                count += 1
                self.position += 1
        return count


cdef class RenewalSource:
    """Renewal-process spike sources: Poisson, Poisson with dead time, and gamma.

    Inter-spike intervals (ms), with u_j independent uniform numbers on (0, 1):

    * ``kind = 0`` Poisson (SpikeSourcePoisson):       ISI = -ln(u) * 1000 / rate
    * ``kind = 1`` Poisson with dead time (SpikeSourcePoissonRefractory):
      ISI = tau_refrac - ln(u) * 1000 / r', with r' = rate / (1 - rate * tau_refrac / 1000),
      so that the mean rate stays ``rate``.
    * ``kind = 2`` gamma with integer shape alpha (SpikeSourceGamma):
      ISI = -sum_{j=1..alpha} ln(u_j) * 1000 / beta (mean alpha / beta seconds).

    Spikes are generated in continuous time inside [start, start + duration) and emitted
    in the step that contains them: a spike at time t lands in step ceil(t / dt) - 1 (its
    recorded time is t rounded up to the dt grid). Several spikes of one neuron in the same
    step are all emitted (the list then repeats the neuron).
    """
    cdef public int kind
    cdef double dt
    cdef uint64_t seed
    cdef double[::1] rate, start, duration, tau_refrac, alpha, beta
    cdef public double[::1] next_time   # ms; continuous time of the next spike
    cdef public cnp.uint64_t[::1] counter
    cdef int[::1] spike_k
    cdef int[::1] spike_i
    cdef public int overflow

    def __init__(self, int kind, dict params, double dt, uint64_t seed,
                 double[::1] next_time, cnp.uint64_t[::1] counter,
                 int[::1] spike_k, int[::1] spike_i):
        n = next_time.shape[0]
        self.kind = kind
        self.dt = dt
        self.seed = seed
        zeros = np.zeros(n)
        self.start = params["start"]
        self.duration = params["duration"]
        if kind == 2:
            self.alpha = params["alpha"]
            self.beta = params["beta"]
            self.rate = zeros
            self.tau_refrac = zeros
        else:
            self.rate = params["rate"]
            self.tau_refrac = params["tau_refrac"] if kind == 1 else zeros
            self.alpha = zeros
            self.beta = zeros
        for name in ("start", "duration"):
            if params[name].shape[0] != n:
                raise ValueError(f"parameter '{name}' has length {params[name].shape[0]}, expected {n}")
        self.next_time = next_time
        self.counter = counter
        self.spike_k = spike_k
        self.spike_i = spike_i
        self.overflow = 0

    cdef inline double _interval(self, Py_ssize_t i) noexcept nogil:
        cdef double r, isi
        cdef int j, a
        if self.kind == 0:
            r = self.rate[i]
            if r <= 0.0:
                return INFINITY
            isi = -log(uniform_open(self.seed, i, self.counter[i])) * 1000.0 / r
            self.counter[i] += 1
            return isi
        elif self.kind == 1:
            r = self.rate[i]
            if r <= 0.0:
                return INFINITY
            r = r / (1.0 - r * self.tau_refrac[i] / 1000.0)
            isi = self.tau_refrac[i] - log(uniform_open(self.seed, i, self.counter[i])) * 1000.0 / r
            self.counter[i] += 1
            return isi
        else:
            if self.beta[i] <= 0.0:
                return INFINITY
            a = <int>(self.alpha[i] + 0.5)
            isi = 0.0
            for j in range(a):
                isi -= log(uniform_open(self.seed, i, self.counter[i]))
                self.counter[i] += 1
            return isi * 1000.0 / self.beta[i]

    def restart(self, double t):
        """Draw each neuron's next spike after time t (ms): at t = 0 after a reset, or after
        a parameter change (the processes are memoryless, or renewed, from t on)."""
        cdef Py_ssize_t i, n = self.next_time.shape[0]
        cdef double t0
        for i in range(n):
            t0 = t if t > self.start[i] else self.start[i]
            self.next_time[i] = t0 + self._interval(i)

    cpdef int update(self, long step0, int K):
        """Emit the spikes of steps step0 ... step0 + K - 1, ordered by step then neuron;
        return how many."""
        cdef Py_ssize_t i, n = self.next_time.shape[0]
        cdef int count = 0
        cdef int cap = self.spike_k.shape[0]
        cdef double t_end = (step0 + K) * self.dt
        cdef double t, stop
        cdef long s
        with nogil:
            for i in range(n):
                stop = self.start[i] + self.duration[i]
                t = self.next_time[i]
                while t < t_end:
                    if t >= stop:
                        t = INFINITY
                        break
                    s = <long>ceil(t / self.dt - 1e-9) - 1
                    if s < step0:
                        s = step0
                    if count < cap:
                        self.spike_k[count] = <int>(s - step0)
                        self.spike_i[count] = <int>i
                        count += 1
                    else:
                        self.overflow += 1
                    t = t + self._interval(i)
                self.next_time[i] = t
        if count > 1 and K > 1:
            _sort_by_step(self.spike_k, self.spike_i, count, K)
        return count


cdef void _sort_by_step(int[::1] spike_k, int[::1] spike_i, int count, int K):
    """Stable counting sort of a spike list by step (neuron order kept within a step)."""
    cdef int[::1] first = np.zeros(K + 1, dtype=np.intc)
    cdef int[::1] k_copy = np.array(spike_k[:count], dtype=np.intc)
    cdef int[::1] i_copy = np.array(spike_i[:count], dtype=np.intc)
    cdef int m, k, pos
    for m in range(count):
        first[k_copy[m] + 1] += 1
    for k in range(K):
        first[k + 1] += first[k]
    for m in range(count):
        k = k_copy[m]
        pos = first[k]
        spike_k[pos] = k
        spike_i[pos] = i_copy[m]
        first[k] = pos + 1
