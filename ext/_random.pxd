# cython: language_level=3
"""Counter-based random numbers shared by the kernels.

The n-th number of stream i under a seed is a pure function of (seed, i, n): results do
not depend on the order in which streams are drawn, on windows or on threads.

The generator is written in C (below) so that loops written in C, such as the Poisson
sources' lanes, can inline it and the compiler can vectorise them; the Cython names are
the same functions.
"""
from libc.stdint cimport uint64_t


cdef extern from *:
    """
    #include <stdint.h>
    /* splitmix64 finaliser: a bijective avalanche on 64 bits */
    static inline uint64_t pnn_mix(uint64_t z) {
        z = (z ^ (z >> 30)) * (uint64_t)0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * (uint64_t)0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /* the part of every number of a stream that does not depend on the counter */
    static inline uint64_t pnn_stream_key(uint64_t seed, uint64_t stream) {
        return pnn_mix(seed * (uint64_t)0x9E3779B97F4A7C15ULL + stream);
    }
    /* number `counter` of the stream whose key is `key`: 53 random bits, centred in
       their interval, so the result lies in (0, 1) (never 0 or 1). The shifted value is
       below 2^53, so converting it as a signed integer is exact (and vectorises). */
    static inline double pnn_uniform_of_key(uint64_t key, uint64_t counter) {
        uint64_t z = pnn_mix(key ^ (counter * (uint64_t)0xD1B54A32D192ED03ULL
                                    + (uint64_t)0x632BE59BD9B4E019ULL));
        return ((double)(int64_t)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }
    """
    uint64_t pnn_stream_key(uint64_t seed, uint64_t stream) nogil
    double pnn_uniform_of_key(uint64_t key, uint64_t counter) nogil


cdef inline uint64_t stream_key(uint64_t seed, uint64_t stream) noexcept nogil:
    """The part of every number of a stream that does not depend on the counter: a loop
    drawing many numbers of one stream computes it once."""
    return pnn_stream_key(seed, stream)


cdef inline double uniform_of_key(uint64_t key, uint64_t counter) noexcept nogil:
    """The number ``counter`` of the stream whose ``stream_key`` is ``key``."""
    return pnn_uniform_of_key(key, counter)


cdef inline double uniform_open(uint64_t seed, uint64_t stream, uint64_t counter) noexcept nogil:
    """A uniform number in (0, 1), a pure function of (seed, stream, counter)."""
    return pnn_uniform_of_key(pnn_stream_key(seed, stream), counter)
