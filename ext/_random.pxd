# cython: language_level=3
"""Counter-based random numbers shared by the kernels.

The n-th number of stream i under a seed is a pure function of (seed, i, n): results do
not depend on the order in which streams are drawn, on windows or on threads.
"""
from libc.stdint cimport uint64_t


cdef inline uint64_t _mix(uint64_t z) noexcept nogil:
    # splitmix64 finaliser: a bijective avalanche on 64 bits
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint64_t stream_key(uint64_t seed, uint64_t stream) noexcept nogil:
    """The part of every number of a stream that does not depend on the counter: a loop
    drawing many numbers of one stream computes it once."""
    return _mix(seed * <uint64_t>0x9E3779B97F4A7C15 + stream)


cdef inline double uniform_of_key(uint64_t key, uint64_t counter) noexcept nogil:
    """The number ``counter`` of the stream whose ``stream_key`` is ``key``."""
    cdef uint64_t z = _mix(key ^ (counter * <uint64_t>0xD1B54A32D192ED03 + <uint64_t>0x632BE59BD9B4E019))
    return ((z >> 11) + 0.5) * (1.0 / 9007199254740992.0)


cdef inline double uniform_open(uint64_t seed, uint64_t stream, uint64_t counter) noexcept nogil:
    """A uniform number in (0, 1), a pure function of (seed, stream, counter)."""
    return uniform_of_key(stream_key(seed, stream), counter)
