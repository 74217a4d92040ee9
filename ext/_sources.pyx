# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
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
from libc.math cimport INFINITY
from libc.stdint cimport uint64_t, int64_t, int32_t
from libc.string cimport memcpy, memset
from cython.parallel cimport prange
from _random cimport stream_key, uniform_of_key, uniform_open
from _kernel_common cimport threads_for

cnp.import_array()

cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    #if defined(__AVX512F__)
    #include <immintrin.h>
    #endif
    /* ln 2 as a sum: PNN_LN2_HI keeps 21 significant bits, so k * PNN_LN2_HI is exact for
       every exponent k a double has; PNN_LN2_LO is the rest, rounded. */
    #define PNN_LN2_HI 0x1.62e42p-1
    #define PNN_LN2_LO 0x1.fdf473de6af28p-22

    /* Natural logarithm of a positive normal double x (here: uniform numbers in (0, 1)),
       within one unit in the last place, without branches or tables, so that a loop
       calling it vectorises; plain IEEE operations (no fused multiply-add, see setup.py),
       so every instruction-set build gives the same bits.

       x = 2^k z with z in [sqrt(1/2), sqrt(2)): subtracting the bits of sqrt(1/2) from
       those of x leaves k in the exponent field. With f = z - 1 and s = f / (2 + f),
       log z = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R), R = 2 (s^2/3 + s^4/5 + ...); the
       series is cut after s^18/19, where the next term is below 2^-55 of the result for
       |s| <= 3 - 2 sqrt(2). */
    static inline double pnn_log(double x) {
        uint64_t bits, z_bits;
        double z, f, s, s2, p, r, half_f2, k;
        int64_t e;
        memcpy(&bits, &x, sizeof bits);
        e = (int64_t)(bits - 0x3FE6A09E667F3BCDULL) >> 52;
        z_bits = bits - ((uint64_t)e << 52);
        memcpy(&z, &z_bits, sizeof z);
        f = z - 1.0;
        s = f / (2.0 + f);
        s2 = s * s;
        p = 2.0 / 19.0;
        p = p * s2 + 2.0 / 17.0;
        p = p * s2 + 2.0 / 15.0;
        p = p * s2 + 2.0 / 13.0;
        p = p * s2 + 2.0 / 11.0;
        p = p * s2 + 2.0 / 9.0;
        p = p * s2 + 2.0 / 7.0;
        p = p * s2 + 2.0 / 5.0;
        p = p * s2 + 2.0 / 3.0;
        r = s2 * p;
        half_f2 = 0.5 * f * f;
        k = (double)(int32_t)e;
        return k * PNN_LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * PNN_LN2_LO)) - f);
    }

    /* The step a spike at time t (ms, finite) is emitted in: ceil(t / dt - 1e-9) - 1 (the
       1e-9 absorbs the rounding of t / dt on the grid), the ceiling taken in integers. */
    static inline long pnn_emission_step(double t, double dt) {
        double q = t / dt - 1e-9;
        long s = (long)q;
        s += (double)s < q;
        return s - 1;
    }

    /* One round of a block of Poisson neurons, over the n of them still inside the
       window, held compacted (position j): if t[j] < stop[j], its spike at t[j] is emitted
       in window step rel[j] (its step minus step0, at least 0), the next interval is drawn
       (c[j] advances when the rate is positive) and added to t[j]; otherwise the neuron
       is done (t[j] = infinity, nothing emitted). live[j] says which. The arithmetic of
       a per-neuron loop, without a branch: one loop that vectorises. It runs over whole
       groups of 8 (the arrays hold at least n rounded up to 8 valid numbers): a scalar
       remainder would cost as much as the vectors in a block's last rounds, when few
       neurons are left. rel and live are 64-bit like the rest, so that the compiler
       vectorises in groups of 8 (one byte flag made it take 64 at a time, and run the
       rest through a scalar loop). */
    static inline void pnn_poisson_round(int n, double* restrict t,
                                         const double* restrict stop,
                                         const double* restrict rate,
                                         uint64_t* restrict c,
                                         const uint64_t* restrict key,
                                         int64_t* restrict rel, int64_t* restrict live,
                                         double dt, long step0) {
        int n8 = (n + 7) & ~7;
        for (int j = 0; j < n8; j++) {
            double tj = t[j], r = rate[j];
            int64_t alive = tj < stop[j];
            /* a live time is finite and before the window's end; the padding's may be
               infinite, and converting that to an integer is undefined */
            long s = pnn_emission_step(alive ? tj : 0.0, dt) - step0;
            double x = (-pnn_log(pnn_uniform_of_key(key[j], c[j])) * 1000.0) / r;
            double interval = r > 0.0 ? x : INFINITY;
            rel[j] = s < 0 ? 0 : s;
            t[j] = alive ? tj + interval : INFINITY;
            c[j] += (uint64_t)(alive & (int64_t)(r > 0.0));
            live[j] = alive;
        }
    }

    /* After a round: note each live neuron's step (steps[lane * rounds + round]); for
       each neuron whose next spike is at or after t_end (it leaves the block's rounds),
       note its count (round + 1 if it spiked in this round: every earlier round it was
       in, it did), time and counter per lane; and keep, compacted in order, the others.
       Returns how many are kept. ``pnn_poisson_note_kept`` notes the same for those
       still kept when the rounds stop. The AVX-512 build moves 8 neurons at a time
       (compress and scatter instructions); both forms write the same numbers. */
    static inline void pnn_poisson_leave(int a, int round, int64_t live, double t,
                                         uint64_t c, int* restrict n_steps,
                                         double* restrict t_lane, uint64_t* restrict c_lane) {
        n_steps[a] = round + (int)live;
        t_lane[a] = t;
        c_lane[a] = c;
    }
    static inline int pnn_poisson_keep(int n, double t_end, int round, int rounds,
                                       double* restrict t, double* restrict stop,
                                       double* restrict rate, uint64_t* restrict c,
                                       uint64_t* restrict key, int* restrict lane,
                                       const int64_t* restrict rel,
                                       const int64_t* restrict live,
                                       int* restrict steps, int* restrict n_steps,
                                       double* restrict t_lane, uint64_t* restrict c_lane) {
        int m = 0, j = 0;
    #if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
        const __m512d end = _mm512_set1_pd(t_end);
        const __m256i row = _mm256_set1_epi32(rounds), at = _mm256_set1_epi32(round);
        for (; j + 8 <= n; j += 8) {
            __m512d tj = _mm512_loadu_pd(t + j), sj = _mm512_loadu_pd(stop + j);
            __m512d rj = _mm512_loadu_pd(rate + j);
            __m512i cj = _mm512_loadu_si512(c + j), kj = _mm512_loadu_si512(key + j);
            __m512i lj = _mm512_loadu_si512(live + j);
            __m256i aj = _mm256_loadu_si256((const __m256i*)(lane + j));
            __mmask8 kept = _mm512_cmp_pd_mask(tj, end, _CMP_LT_OQ), left = (__mmask8)~kept;
            _mm256_i32scatter_epi32(steps, _mm256_add_epi32(_mm256_mullo_epi32(aj, row), at),
                                    _mm512_cvtepi64_epi32(_mm512_loadu_si512(rel + j)), 4);
            if (left) {
                __m256i count = _mm256_add_epi32(at, _mm512_cvtepi64_epi32(lj));
                _mm256_mask_i32scatter_epi32(n_steps, left, aj, count, 4);
                _mm512_mask_i32scatter_pd(t_lane, left, aj, tj, 8);
                _mm512_mask_i32scatter_epi64(c_lane, left, aj, cj, 8);
            }
            /* compacted into registers, then stored whole: the lanes past the kept ones
               land at places already read (m <= j) and become padding */
            _mm512_storeu_pd(t + m, _mm512_maskz_compress_pd(kept, tj));
            _mm512_storeu_pd(stop + m, _mm512_maskz_compress_pd(kept, sj));
            _mm512_storeu_pd(rate + m, _mm512_maskz_compress_pd(kept, rj));
            _mm512_storeu_si512(c + m, _mm512_maskz_compress_epi64(kept, cj));
            _mm512_storeu_si512(key + m, _mm512_maskz_compress_epi64(kept, kj));
            _mm256_storeu_si256((__m256i*)(lane + m), _mm256_maskz_compress_epi32(kept, aj));
            m += __builtin_popcount((unsigned)kept);
        }
    #endif
        for (; j < n; j++) {
            int a = lane[j];
            double tj = t[j], sj = stop[j], rj = rate[j];
            uint64_t cj = c[j], kj = key[j];
            steps[a * rounds + round] = (int)rel[j];
            /* for a kept neuron too, without a branch: it spiked (live), so these are
               its numbers so far, and the round it leaves writes them again */
            pnn_poisson_leave(a, round, live[j], tj, cj, n_steps, t_lane, c_lane);
            t[m] = tj; stop[m] = sj; rate[m] = rj; c[m] = cj; key[m] = kj; lane[m] = a;
            m += tj < t_end;
        }
        return m;
    }
    static inline void pnn_poisson_note_kept(int n, int rounds, const double* restrict t,
                                             const uint64_t* restrict c,
                                             const int* restrict lane,
                                             int* restrict n_steps, double* restrict t_lane,
                                             uint64_t* restrict c_lane) {
        for (int j = 0; j < n; j++)
            pnn_poisson_leave(lane[j], rounds - 1, 1, t[j], c[j], n_steps, t_lane, c_lane);
    }
    """
    double pnn_log(double x) nogil
    long pnn_emission_step(double t, double dt) nogil
    void pnn_poisson_round(int n, double* t, const double* stop, const double* rate,
                           uint64_t* c, const uint64_t* key, int64_t* rel, int64_t* live,
                           double dt, long step0) nogil
    int pnn_poisson_keep(int n, double t_end, int round, int rounds, double* t, double* stop,
                         double* rate, uint64_t* c, uint64_t* key, int* lane, const int64_t* rel,
                         const int64_t* live, int* steps, int* n_steps, double* t_lane,
                         uint64_t* c_lane) nogil
    void pnn_poisson_note_kept(int n, int rounds, const double* t, const uint64_t* c,
                               const int* lane, int* n_steps, double* t_lane,
                               uint64_t* c_lane) nogil


cdef extern from *:
    """
    /* The x86-64 ISA level of this processor (1, or 3 for x86-64-v3, 4 for x86-64-v4) as
       far as pyNN_neuro's builds go; 1 where the compiler cannot tell. */
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    static int pyNN_neuro_cpu_level(void) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("x86-64-v4")) return 4;
        if (__builtin_cpu_supports("x86-64-v3")) return 3;
        return 1;
    }
    #else
    static int pyNN_neuro_cpu_level(void) { return 1; }
    #endif
    """
    int pyNN_neuro_cpu_level()


cdef extern from *:
    """
    /* Append the flagged neurons of one row of n flags (step k; the row's first flag is
       neuron ``first``) to the spike list from place count on, in neuron order (spike_k
       may be NULL: neurons only); returns the new length. 64 flags are tested together (one vector or-reduction), then each
       nonzero 8-byte word is walked by its set bytes. */
    static inline int pnn_compact_row(const unsigned char* row, Py_ssize_t n,
                                      Py_ssize_t first, int k, int* spike_k, int* spike_i,
                                      int count) {
        Py_ssize_t base = 0, i;
        for (; base + 64 <= n; base += 64) {
            uint64_t w[8], any = 0;
            memcpy(w, row + base, 64);
            for (int j = 0; j < 8; j++)
                any |= w[j];
            if (!any)
                continue;
            for (int j = 0; j < 8; j++) {
                uint64_t x = w[j];
                while (x) {
                    int byte = __builtin_ctzll(x) >> 3;
                    i = first + base + 8 * j + byte;
                    if (spike_k)
                        spike_k[count] = k;
                    spike_i[count] = (int)i;
                    count++;
                    x &= ~(0xFFULL << (8 * byte));
                }
            }
        }
        for (i = base; i < n; i++) {
            if (row[i]) {
                if (spike_k)
                    spike_k[count] = k;
                spike_i[count] = (int)(first + i);
                count++;
            }
        }
        return count;
    }
    /* spike_count[spike_i[m]] += 1 for m < n, asking for the counter 16 spikes ahead:
       the counters of a large population have left the caches by the time its spikes
       are listed, and one after the other each addition would wait for its line */
    static inline void pnn_count_spikes(const int* spike_i, int n, int64_t* spike_count) {
        int m;
        for (m = 0; m + 16 < n; m++) {
            __builtin_prefetch(&spike_count[spike_i[m + 16]], 1, 3);
            spike_count[spike_i[m]] += 1;
        }
        for (; m < n; m++)
            spike_count[spike_i[m]] += 1;
    }
    """
    int pnn_compact_row(const unsigned char* row, Py_ssize_t n, Py_ssize_t first, int k,
                        int* spike_k, int* spike_i, int count) nogil
    void pnn_count_spikes(const int* spike_i, int n, int64_t* spike_count) nogil


def cpu_level():
    """The x86-64 instruction-set level of this processor, among those pyNN_neuro builds
    for: 4 (x86-64-v4), 3 (x86-64-v3) or 1 (baseline, or not known)."""
    return pyNN_neuro_cpu_level()


def log_array(double[::1] x):
    """The kernels' logarithm (``pnn_log``) of every element of x (positive, normal):
    exposed for the tests that hold it within one unit in the last place of libm's."""
    out = np.empty(x.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = pnn_log(x[i])
    return out


def uniform_array(uint64_t seed, cnp.uint64_t[::1] streams, cnp.uint64_t[::1] counters):
    """Vectorised access to the counter-based generator (used by noisy current sources)."""
    cdef Py_ssize_t i, n = streams.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = uniform_open(seed, streams[i], counters[i])
    return out


cdef class Compaction:
    """Turns a kernel's spike flags ``spiked`` (K_max, n) into the window's spike list,
    ordered by step then neuron (``spike_k``, ``spike_i``), and adds the spikes to the
    per-neuron counts of the whole run (``spike_count``, int64). Bound once to the arrays.

    Flags are scanned 64 at a time (``pnn_compact_row``): a window usually holds few
    spikes, so most 64-byte pieces of a row are zero and are skipped with one test.

    With ``num_threads`` > 1 and enough flags, thread t scans neurons t n / T ..
    (t + 1) n / T - 1 of every step into a list of its own, and the lists are joined
    step by step, thread 0's part first: neuron order within a step, the same list as
    one thread makes."""
    cdef const unsigned char[:, ::1] spiked
    cdef int[::1] spike_k
    cdef int[::1] spike_i
    cdef cnp.int64_t[::1] spike_count
    cdef int num_threads
    cdef int[::1] part_i              # thread t's neurons, step after step
    cdef int[:, ::1] part_count       # (threads, K_max + 1): thread t's spikes per step

    def __init__(self, const unsigned char[:, ::1] spiked, int[::1] spike_k, int[::1] spike_i,
                 cnp.int64_t[::1] spike_count, int num_threads=1):
        if spike_k.shape[0] < spiked.shape[0] * spiked.shape[1] or \
                spike_i.shape[0] < spike_k.shape[0] or spike_count.shape[0] != spiked.shape[1]:
            raise ValueError("Compaction: spike_k and spike_i need K_max x n entries and "
                             "spike_count n")
        self.spiked = spiked
        self.spike_k = spike_k
        self.spike_i = spike_i
        self.spike_count = spike_count
        self.num_threads = max(1, min(num_threads, <int>MAX_SOURCE_THREADS))
        if self.num_threads > 1:
            self.part_i = np.empty(max(1, spiked.shape[0] * spiked.shape[1]), dtype=np.intc)
            self.part_count = np.zeros((self.num_threads, spiked.shape[0] + 1), dtype=np.intc)

    cpdef int run(self, int K):
        """Compact the flags of the first K steps; return the number of spikes."""
        cdef Py_ssize_t k, n = self.spiked.shape[1]
        cdef int count = 0
        cdef int threads = threads_for(self.num_threads, <double>n * K,
                                       MIN_FLAGS_PER_THREAD, self.num_threads)
        if threads > 1:
            return self._run_threads(K, threads)
        with nogil:
            for k in range(K):
                count = pnn_compact_row(&self.spiked[k, 0], n, 0, <int>k,
                                        &self.spike_k[0], &self.spike_i[0], count)
            pnn_count_spikes(&self.spike_i[0], count, &self.spike_count[0])
        return count

    cdef int _run_threads(self, int K, int threads):
        cdef Py_ssize_t n = self.spiked.shape[1], k, lo
        cdef int t, m, total = 0, place
        for t in prange(threads, nogil=True, num_threads=threads, schedule='static'):
            self._scan_part(t, threads, K)
        # join: step by step, the threads' parts in order
        with nogil:
            for k in range(K):
                for t in range(threads):
                    lo = <Py_ssize_t>t * n // threads * K     # thread t's list starts here
                    place = self.part_count[t, 0]             # its spikes before step k
                    for m in range(place, place + self.part_count[t, k + 1]):
                        self.spike_k[total] = <int>k
                        self.spike_i[total] = self.part_i[lo + m]
                        total += 1
                    self.part_count[t, 0] = place + self.part_count[t, k + 1]
        return total

    cdef void _scan_part(self, int t, int threads, int K) noexcept nogil:
        """Thread t's neurons over K steps into its part of ``part_i`` (from t n / T * K),
        its count of step k in part_count[t, k + 1], its spikes counted per neuron;
        part_count[t, 0] set to 0 for the join."""
        cdef Py_ssize_t n = self.spiked.shape[1]
        cdef Py_ssize_t lo = <Py_ssize_t>t * n // threads, hi = <Py_ssize_t>(t + 1) * n // threads
        cdef int* mine = &self.part_i[lo * K] if n else NULL
        cdef int count = 0, before, k
        for k in range(K):
            before = count
            count = pnn_compact_row(&self.spiked[k, lo], hi - lo, lo, k, NULL, mine, count)
            self.part_count[t, k + 1] = count - before
        pnn_count_spikes(mine, count, &self.spike_count[0])
        self.part_count[t, 0] = 0


cdef class SpikeAppender:
    """Appends the recorded part of a window's spike list to a group's recording arrays:
    global steps (int64) and neuron indices (int32), keeping only neurons whose ``mask``
    byte is set (all of them when ``all_recorded``). The arrays are passed at every call
    and taken up again only when they are not those of the previous call, so a call costs
    no buffer acquisition."""
    cdef object _k_obj, _i_obj, _mask_obj, _steps_obj, _ids_obj
    cdef const int[::1] _k
    cdef const int[::1] _i
    cdef const unsigned char[::1] _mask
    cdef cnp.int64_t[::1] _steps
    cdef int[::1] _ids

    cpdef Py_ssize_t append(self, spike_k, spike_i, int n, long step0, mask,
                            bint all_recorded, steps, ids, Py_ssize_t size):
        """Append to steps/ids from position ``size`` (they must have room for n more);
        return the new size."""
        if spike_k is not self._k_obj:
            self._k, self._k_obj = spike_k, spike_k
        if spike_i is not self._i_obj:
            self._i, self._i_obj = spike_i, spike_i
        if mask is not self._mask_obj:
            self._mask, self._mask_obj = mask, mask
        if steps is not self._steps_obj:
            self._steps, self._steps_obj = steps, steps
        if ids is not self._ids_obj:
            self._ids, self._ids_obj = ids, ids
        if size + n > self._steps.shape[0] or size + n > self._ids.shape[0]:
            raise ValueError("SpikeAppender: the recording arrays are full")
        cdef Py_ssize_t m
        cdef int i
        with nogil:
            for m in range(n):
                i = self._i[m]
                if all_recorded or self._mask[i]:
                    self._steps[size] = step0 + self._k[m]
                    self._ids[size] = i
                    size += 1
        return size


cdef enum:
    POISSON_LANES = 256      # neurons of a Poisson source advanced together
    POISSON_ROUNDS = 16     # spikes per neuron and window kept before it goes on alone
    MAX_SOURCE_THREADS = 64
    MAX_DIRECT = 8          # rings a Poisson source may add its spikes into directly

# a thread is started for at least this many neuron-steps of a window
cdef double MIN_NEURON_STEPS_PER_THREAD = 50000.0
# ... or this many spike flags to compact (a scan takes about 0.3 ns per flag)
cdef double MIN_FLAGS_PER_THREAD = 200000.0


ctypedef struct SpikeBuffer:
    int* k                  # steps within the window, in neuron order
    int* i                  # neurons
    int* per_step           # count of spikes per step, at [step + 1]
    int capacity
    int count
    int overflow


cdef class SpikeArraySource:
    """Replays given spike times (SpikeSourceArray).

    ``steps`` holds, sorted by step then neuron, the emission step of every spike and
    ``neurons`` the matching neuron index; ``position`` is the first not yet emitted.
    Emitted spikes are added to ``spike_count`` (per neuron, whole run).
    """
    cdef public cnp.int64_t[::1] steps
    cdef public int[::1] neurons
    cdef public Py_ssize_t position
    cdef int[::1] spike_k
    cdef int[::1] spike_i
    cdef cnp.int64_t[::1] spike_count

    def __init__(self, cnp.int64_t[::1] steps, int[::1] neurons, int[::1] spike_k, int[::1] spike_i,
                 cnp.int64_t[::1] spike_count):
        if steps.shape[0] != neurons.shape[0]:
            raise ValueError("steps and neurons must have the same length")
        self.steps = steps
        self.neurons = neurons
        self.spike_k = spike_k
        self.spike_i = spike_i
        self.spike_count = spike_count
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
                self.spike_count[self.spike_i[count]] += 1
                count += 1
                self.position += 1
        return count


#: most units a Poisson source adds its spikes into directly (``RenewalSource.set_direct``)
MAX_DIRECT_TARGETS = MAX_DIRECT


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
    step are all emitted (the list then repeats the neuron). Emitted spikes are added to
    ``spike_count`` (per neuron, whole run).

    A window is generated neuron by neuron (each neuron's next spike time is kept in
    ``next_time``), then put in step order by a stable counting sort. The Poisson kind
    has its own loop (``_poisson_block``) and, with ``num_threads`` > 1, its blocks of
    neurons are shared among threads in contiguous ranges, each thread writing its own
    unsorted list: within a step the spikes of thread 0 come first, then those of thread
    1..., which is neuron order, so the list is the same for any number of threads.
    """
    cdef public int kind
    cdef double dt
    cdef uint64_t seed
    cdef double[::1] rate, start, duration, tau_refrac, alpha, beta
    cdef public double[::1] next_time   # ms; continuous time of the next spike
    cdef public cnp.uint64_t[::1] counter
    cdef int[::1] spike_k
    cdef int[::1] spike_i
    cdef cnp.int64_t[::1] spike_count
    # per thread: an unsorted list (capacity entries) and its counts per step
    cdef int[::1] sort_k, sort_i, step_start
    cdef int num_threads
    cdef public int overflow
    # a Poisson source feeding units of one synapse or none per neuron (distinct targets,
    # one delay each) may add its spikes straight into their rings
    cdef int n_direct
    cdef const cnp.int64_t* direct_indptr[MAX_DIRECT]
    cdef const int* direct_post[MAX_DIRECT]
    cdef const double* direct_weight[MAX_DIRECT]
    cdef double* direct_ring[MAX_DIRECT]
    cdef Py_ssize_t direct_length[MAX_DIRECT]     # ring slots
    cdef Py_ssize_t direct_stride[MAX_DIRECT]     # elements between slots
    cdef int direct_delay[MAX_DIRECT]
    # per target, the offset into its ring of the row a spike in window step k reaches
    # (row (slot0 + delay + k) mod L), set at every window: no wrap-around per spike
    cdef Py_ssize_t[:, ::1] direct_offset
    cdef list direct_arrays                       # keeps the arrays alive

    def __init__(self, int kind, dict params, double dt, uint64_t seed,
                 double[::1] next_time, cnp.uint64_t[::1] counter,
                 int[::1] spike_k, int[::1] spike_i, cnp.int64_t[::1] spike_count,
                 int num_threads=1):
        n = next_time.shape[0]
        self.num_threads = max(1, num_threads) if kind == 0 else 1
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
        self.spike_count = spike_count
        self.sort_k = np.empty(self.num_threads * spike_k.shape[0], dtype=np.intc)
        self.sort_i = np.empty(self.num_threads * spike_k.shape[0], dtype=np.intc)
        self.step_start = np.empty(self.num_threads * 2, dtype=np.intc)
        self.overflow = 0
        self.n_direct = 0
        self.direct_arrays = []
        self.direct_offset = np.zeros((MAX_DIRECT, 1), dtype=np.intp)

    cdef inline double _interval(self, Py_ssize_t i) noexcept nogil:
        cdef double r, isi
        cdef int j, a
        if self.kind == 0:
            r = self.rate[i]
            if r <= 0.0:
                return INFINITY
            isi = -pnn_log(uniform_open(self.seed, i, self.counter[i])) * 1000.0 / r
            self.counter[i] += 1
            return isi
        elif self.kind == 1:
            r = self.rate[i]
            if r <= 0.0:
                return INFINITY
            r = r / (1.0 - r * self.tau_refrac[i] / 1000.0)
            isi = self.tau_refrac[i] - pnn_log(uniform_open(self.seed, i, self.counter[i])) * 1000.0 / r
            self.counter[i] += 1
            return isi
        else:
            if self.beta[i] <= 0.0:
                return INFINITY
            a = <int>(self.alpha[i] + 0.5)
            isi = 0.0
            for j in range(a):
                isi -= pnn_log(uniform_open(self.seed, i, self.counter[i]))
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
        return how many (0 with direct targets: the spikes went into their rings)."""
        cdef double t_end = (step0 + K) * self.dt
        cdef Py_ssize_t n = self.next_time.shape[0]
        cdef Py_ssize_t n_blocks = (n + POISSON_LANES - 1) // POISSON_LANES
        cdef int threads = threads_for(min(self.num_threads, <int>MAX_SOURCE_THREADS),
                                       <double>n * K, MIN_NEURON_STEPS_PER_THREAD, n_blocks)
        cdef int t
        cdef SpikeBuffer buffers[MAX_SOURCE_THREADS]
        cdef Py_ssize_t k, slot
        if self.n_direct and self.direct_offset.shape[1] < K:
            self.direct_offset = np.zeros((MAX_DIRECT, K), dtype=np.intp)
        for t in range(self.n_direct):
            slot = (step0 + self.direct_delay[t]) % self.direct_length[t]
            for k in range(K):
                self.direct_offset[t, k] = slot * self.direct_stride[t]
                slot += 1
                if slot == self.direct_length[t]:
                    slot = 0
        if self.step_start.shape[0] < self.num_threads * (K + 1):
            self.step_start = np.empty(self.num_threads * (K + 1), dtype=np.intc)
        for t in range(threads):
            self._buffer(&buffers[t], t, K)
        if threads == 1:
            with nogil:
                if self.kind == 0:
                    self._poisson(&buffers[0], 0, n_blocks, step0, t_end)
                else:
                    self._renewal(&buffers[0], step0, t_end)
        else:
            for t in prange(threads, nogil=True, num_threads=threads, schedule='static'):
                self._poisson(&buffers[t], t * n_blocks // threads,
                              (t + 1) * n_blocks // threads, step0, t_end)
        return self._order_by_step(buffers, threads, K)

    cdef void _buffer(self, SpikeBuffer* buffer, int t, int K):
        """Thread t's empty unsorted list."""
        cdef Py_ssize_t capacity = self.spike_k.shape[0]
        buffer.k = &self.sort_k[t * capacity]
        buffer.i = &self.sort_i[t * capacity]
        buffer.per_step = &self.step_start[t * (K + 1)]
        memset(buffer.per_step, 0, (K + 1) * sizeof(int))
        buffer.capacity = <int>capacity
        buffer.count = 0
        buffer.overflow = 0

    def set_direct(self, targets):
        """Add each spike of a Poisson source straight into rings instead of the spike
        list, which stays empty (spike counts are kept). ``targets``: up to MAX_DIRECT
        tuples (indptr, post, weight, delay, ring), one per unit of at most one synapse
        per neuron (indptr[i + 1] - indptr[i] <= 1), no two synapses of any of them
        reaching the same entry of one ring (the engine checks this): a spike of neuron i
        in step s adds weight[indptr[i]] to ring[(s + delay) % L, post[indptr[i]]] when
        neuron i has that synapse, the additions the serial delivery of those units would
        make. ``weight`` is read at every spike (changes in place take effect)."""
        cdef cnp.int64_t[::1] indptr
        cdef int[::1] post
        cdef double[::1] weight
        cdef double[:, ::1] ring
        cdef int t
        if self.kind != 0 and len(targets):
            raise ValueError("only Poisson sources add their spikes straight into rings")
        if len(targets) > MAX_DIRECT:
            raise ValueError(f"at most {MAX_DIRECT} direct targets, got {len(targets)}")
        self.n_direct = 0
        self.direct_arrays = []
        for t, (indptr_a, post_a, weight_a, delay, ring_a) in enumerate(targets):
            indptr, post, weight, ring = indptr_a, post_a, weight_a, ring_a
            if indptr.shape[0] != self.next_time.shape[0] + 1:
                raise ValueError(f"indptr: expected {self.next_time.shape[0] + 1} row "
                                 f"pointers, got {indptr.shape[0]}")
            if not 0 <= delay < ring.shape[0]:
                raise ValueError(f"delay {delay} steps does not fit a ring of "
                                 f"{ring.shape[0]} slots")
            self.direct_indptr[t] = &indptr[0]
            self.direct_post[t] = &post[0] if post.shape[0] else NULL
            self.direct_weight[t] = &weight[0] if weight.shape[0] else NULL
            self.direct_ring[t] = &ring[0, 0] if ring.shape[0] and ring.shape[1] else NULL
            self.direct_length[t] = ring.shape[0]
            self.direct_stride[t] = ring.shape[1]
            self.direct_delay[t] = delay
            self.direct_arrays.append((indptr_a, post_a, weight_a, ring_a))
        self.n_direct = len(targets)

    @property
    def is_direct(self):
        return self.n_direct > 0

    cdef inline void _add_direct(self, long s, long step0, Py_ssize_t i) noexcept nogil:
        """``_emit`` for a source with direct targets: the spike's weight into each
        target's ring row for its step (``direct_offset``)."""
        cdef Py_ssize_t j
        cdef int t
        if s < step0:
            s = step0
        self.spike_count[i] += 1
        for t in range(self.n_direct):
            j = self.direct_indptr[t][i]
            if self.direct_indptr[t][i + 1] > j:
                self.direct_ring[t][self.direct_offset[t, s - step0] + self.direct_post[t][j]] \
                    += self.direct_weight[t][j]

    cdef inline void _add_direct_steps(self, int t, const int* steps, int n,
                                       Py_ssize_t i) noexcept nogil:
        """The additions of ``_add_direct`` into direct target t for n spikes of neuron i
        in window steps steps[0 .. n - 1] (not counted: the caller counts them). A ring
        entry gets spikes of one neuron through one target only (``set_direct``), so
        taking the targets one after the other leaves the same sums."""
        cdef Py_ssize_t j = self.direct_indptr[t][i]
        cdef const Py_ssize_t* offset = &self.direct_offset[t, 0]
        cdef double* target
        cdef double w
        cdef int m
        if self.direct_indptr[t][i + 1] == j:
            return
        target = self.direct_ring[t] + self.direct_post[t][j]
        w = self.direct_weight[t][j]
        for m in range(n):
            target[offset[steps[m]]] += w

    cdef inline void _emit_steps(self, SpikeBuffer* out, const int* steps, int n,
                                 Py_ssize_t i) noexcept nogil:
        """``_emit`` for n spikes of neuron i in window steps steps[0 .. n - 1]."""
        cdef int m, k, count = out.count
        cdef int* out_k = out.k
        cdef int* out_i = out.i
        cdef int* per_step = out.per_step
        if count + n > out.capacity:
            out.overflow += n
            return
        for m in range(n):
            k = steps[m]
            out_k[count + m] = k
            out_i[count + m] = <int>i
            per_step[k + 1] += 1
        out.count = count + n
        self.spike_count[i] += n

    cdef inline void _emit(self, SpikeBuffer* out, long s, long step0,
                           Py_ssize_t i) noexcept nogil:
        """Append a spike of neuron i in global step s (at least step0) to an unsorted
        list, and count it in its step's bin."""
        if s < step0:
            s = step0
        if out.count < out.capacity:
            out.k[out.count] = <int>(s - step0)
            out.i[out.count] = <int>i
            out.per_step[s - step0 + 1] += 1
            self.spike_count[i] += 1
            out.count += 1
        else:
            out.overflow += 1

    cdef void _renewal(self, SpikeBuffer* out, long step0, double t_end) noexcept nogil:
        cdef Py_ssize_t i, n = self.next_time.shape[0]
        cdef double t, stop
        for i in range(n):
            stop = self.start[i] + self.duration[i]
            t = self.next_time[i]
            while t < t_end:
                if t >= stop:
                    t = INFINITY
                    break
                self._emit(out, pnn_emission_step(t, self.dt), step0, i)
                t = t + self._interval(i)
            self.next_time[i] = t

    cdef void _poisson(self, SpikeBuffer* out, Py_ssize_t first_block, Py_ssize_t end_block,
                       long step0, double t_end) noexcept nogil:
        """Kind 0: the arithmetic of ``_renewal`` with ``_interval``'s Poisson case inlined,
        for the neuron blocks first_block .. end_block - 1 (``_poisson_block``)."""
        cdef Py_ssize_t block, n = self.next_time.shape[0]
        for block in range(first_block, end_block):
            self._poisson_block(out, block * POISSON_LANES,
                                min(n - block * POISSON_LANES, <Py_ssize_t>POISSON_LANES),
                                step0, t_end)

    cdef void _poisson_block(self, SpikeBuffer* out, Py_ssize_t first, Py_ssize_t lanes,
                             long step0, double t_end) noexcept nogil:
        """Neurons first .. first + lanes - 1 of a Poisson source over one window.

        Each neuron's spike train is generated exactly as a per-neuron loop would, but the
        neurons advance together in rounds: a round emits the current spike of every neuron
        still inside the window and draws its next interval (``pnn_poisson_round``).
        Intervals of different neurons do not depend on each other, so the neurons still
        in the window are kept compacted in arrays of their own (``pnn_poisson_keep``,
        without branches, where a per-neuron loop would mispredict its exit once per
        neuron), and a round's steps, random numbers, logarithms (``pnn_log``, our own,
        branch-free) and divisions are computed as vectors, 8 neurons at a time with
        AVX-512. Steps are kept per neuron (up to POISSON_ROUNDS; a neuron with more
        continues alone) and appended to the list in neuron order."""
        # per neuron (lane)
        cdef double t_lane[POISSON_LANES]
        cdef uint64_t c_lane[POISSON_LANES]
        cdef int n_steps[POISSON_LANES]
        cdef int steps[POISSON_LANES * POISSON_ROUNDS]
        # the neurons still in the window, compacted
        cdef double t[POISSON_LANES]
        cdef double stop[POISSON_LANES]
        cdef double rate[POISSON_LANES]
        cdef uint64_t c[POISSON_LANES]
        cdef uint64_t key[POISSON_LANES]
        cdef int lane[POISSON_LANES]
        cdef int64_t rel[POISSON_LANES]
        cdef int64_t live[POISSON_LANES]
        cdef int n_active = 0, round_, j, a, n
        cdef Py_ssize_t b, i
        cdef double tb, r, stop_b
        cdef uint64_t kb, cb
        for b in range(lanes):
            t_lane[b] = self.next_time[first + b]
            n_steps[b] = 0
            lane[n_active] = <int>b
            n_active += t_lane[b] < t_end
        for j in range(n_active, min(POISSON_LANES, (n_active + 7) // 8 * 8)):
            # numbers that keep the rounds' padding harmless (and not subnormal)
            t[j] = 0.0
            stop[j] = 0.0
            rate[j] = 1.0
            c[j] = 0
            key[j] = 0
        for j in range(n_active):
            i = first + lane[j]
            t[j] = t_lane[lane[j]]
            stop[j] = self.start[i] + self.duration[i]
            rate[j] = self.rate[i]
            c[j] = self.counter[i]
            key[j] = stream_key(self.seed, i)
        round_ = 0
        while n_active and round_ < POISSON_ROUNDS:
            pnn_poisson_round(n_active, t, stop, rate, c, key, rel, live, self.dt, step0)
            n_active = pnn_poisson_keep(n_active, t_end, round_, POISSON_ROUNDS, t, stop,
                                        rate, c, key, lane, rel, live, steps, n_steps,
                                        t_lane, c_lane)
            round_ += 1
        pnn_poisson_note_kept(n_active, round_, t, c, lane, n_steps, t_lane, c_lane)
        for b in range(lanes):
            i = first + b
            n = n_steps[b]
            if n == 0:
                self.next_time[i] = t_lane[b]
                continue
            if self.n_direct:
                self.spike_count[i] += n
                for j in range(self.n_direct):
                    self._add_direct_steps(j, &steps[b * POISSON_ROUNDS], n, i)
            else:
                self._emit_steps(out, &steps[b * POISSON_ROUNDS], n, i)
            tb = t_lane[b]
            cb = c_lane[b]
            if n == POISSON_ROUNDS and tb < t_end:
                # more spikes in this window than rounds: the rest one by one
                r = self.rate[i]
                kb = stream_key(self.seed, i)
                stop_b = self.start[i] + self.duration[i]
                while tb < t_end:
                    if tb >= stop_b:
                        tb = INFINITY
                        break
                    if self.n_direct:
                        self._add_direct(pnn_emission_step(tb, self.dt), step0, i)
                    else:
                        self._emit(out, pnn_emission_step(tb, self.dt), step0, i)
                    if r <= 0.0:
                        tb = INFINITY
                    else:
                        tb = tb + (-pnn_log(uniform_of_key(kb, cb)) * 1000.0) / r
                        cb += 1
            self.next_time[i] = tb
            self.counter[i] = cb

    cdef void _scatter(self, SpikeBuffer* b) noexcept nogil:
        """One unsorted list to its places in spike_k/spike_i (``per_step[k]``: the place
        of its next spike of step k)."""
        cdef int m, k, pos
        for m in range(b.count):
            k = b.k[m]
            pos = b.per_step[k]
            self.spike_k[pos] = k
            self.spike_i[pos] = b.i[m]
            b.per_step[k] = pos + 1

    cdef int _order_by_step(self, SpikeBuffer* buffers, int threads, int K):
        """Scatter the unsorted lists into spike_k/spike_i by step, thread after thread
        within a step: a stable counting sort whose per-step counts ``_emit`` made.
        Returns the number of spikes (0, with ``overflow`` set, if they do not fit)."""
        cdef int t, k, m, pos, total = 0
        for t in range(threads):
            total += buffers[t].count
            self.overflow += buffers[t].overflow
        if total > self.spike_k.shape[0]:
            self.overflow += total - self.spike_k.shape[0]
        if self.overflow:
            return 0
        # per_step[k] of thread t becomes where its first spike of step k goes
        pos = 0
        for k in range(K):
            for t in range(threads):
                m = buffers[t].per_step[k + 1]
                buffers[t].per_step[k] = pos
                pos += m
        # each thread's spikes go to places no other thread's go: the threads that made
        # the lists scatter them
        if threads == 1:
            self._scatter(&buffers[0])
        else:
            for t in prange(threads, nogil=True, num_threads=threads, schedule='static'):
                self._scatter(&buffers[t])
        return total
