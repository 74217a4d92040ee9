# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Neuron kernels for the current-based PyNN standard cells.

Four cell types, each advancing a whole population by a window of K time steps of width
``dt`` (ms) with the same arithmetic, in the same order, as the NEST model that
``pyNN.nest`` maps it to. All quantities are in PyNN units: ms, mV, nA, nF.

``IFCurrExp`` (NEST ``iaf_psc_exp``)::

    cm dv/dt        = cm (v_rest - v) / tau_m + isyn_exc + isyn_inh + i_offset + i_ext
    d isyn_exc / dt = -isyn_exc / tau_syn_E     (jumps by w at an excitatory arrival)
    d isyn_inh / dt = -isyn_inh / tau_syn_I     (jumps by w < 0 at an inhibitory arrival)

``IFCurrAlpha`` (NEST ``iaf_psc_alpha``)::

    cm dv/dt        = cm (v_rest - v) / tau_m + isyn_exc + isyn_inh + i_offset + i_ext
    d isyn / dt     = drive - isyn / tau_syn
    d drive / dt    = -drive / tau_syn          (drive jumps by w e / tau_syn at an arrival)

  so that one arrival of weight w at t = 0 gives isyn(t) = w (t / tau_syn) exp(1 - t / tau_syn),
  whose peak is w at t = tau_syn.

``IFCurrDelta`` (NEST ``iaf_psc_delta``)::

    cm dv/dt = cm (v_rest - v) / tau_m + i_offset + i_ext,   v jumps by w (mV) at an arrival

``Izhikevich`` (NEST ``izhikevich``)::

    dv/dt = 0.04 v^2 + 5 v + 140 - u + 1000 (i_offset + i_ext)
    du/dt = a (b v - u)
    v >= 30 mV  ->  v = c,  u = u + d,          v jumps by w (mV) at an arrival

  The factor 1000 is pyNN.nest's conversion of nA into NEST's pA, in which Izhikevich's
  equation is written.

Integration. The three integrate-and-fire models are linear between spikes, so they are
integrated exactly: each step multiplies the state by the matrix exponential of the
system over ``dt`` (the propagators, computed once per neuron in ``__init__``). The
propagator from synaptic current to membrane potential has a removable singularity at
tau_syn == tau_m; it is evaluated with ``expm1`` in the form NEST uses
(libnestutil/iaf_propagator), which stays accurate arbitrarily close to the singularity and
falls back to the limit value at it. As in NEST, each step integrates V = v - v_rest and
tests the threshold in that frame (V >= v_thresh - v_rest); v itself is stored, after every
step, as v_rest + V, so that a run gives the same numbers however it is cut into windows
(NEST carries V from step to step instead: the two differ by rounding, ~1e-14 mV per step,
never systematically; NEST also works in pA and pF, which changes the propagators only by
rounding). ``Izhikevich`` uses NEST's default "consistent integration": one forward-Euler
step of both equations from the values at the start of the step.

Refractoriness (integrate-and-fire models). A spike in step s (spike time (s+1) dt)
resets v to v_reset and clamps it there, without integration, for the next
``refractory_count`` steps, where ``refractory_count`` is tau_refrac expressed in steps the
way NEST does it (tau_refrac rounded to the 1 us tic grid, then rounded up to whole steps;
this is round(tau_refrac / dt) whenever tau_refrac is a multiple of dt). Synaptic currents
keep evolving during refractoriness. The threshold test is ``v >= v_thresh`` after the
update of the step.

Synaptic input. Weights are signed, as PyNN requires for current-based synapses
(excitatory >= 0, inhibitory <= 0); receptor 0 is 'excitatory', 1 is 'inhibitory'.
The input arriving in global step s for receptor r is ``ring[r, s % L, i]``; each kernel
reads it at the point of the step where NEST reads its input buffer, then sets it to 0.

Kernel interface (identical for every class)::

    Kernel(params, state, dt, ring, i_ext, spiked, rec, num_threads=1)
    kernel.update(step0, K, record)

``params[name]`` and ``state[name]`` are float64 C-contiguous arrays of length n; the
state arrays are updated in place. ``ring`` has shape (2, L, n); ``i_ext`` (K_max, n) is
the injected current in nA during each step of the window (it acts on that same step,
like NEST's I_e; a NEST current generator would reach the neuron one step later);
``spiked`` (K_max, n) uint8 receives 1 where a neuron fires; ``rec``
(len(state_names), K_max, n) receives the state at the end of each step when ``record``
is true (it may be empty otherwise).

Execution. ``update`` hands blocks of NEURON_BLOCK neurons to the threads (``prange``);
inside a block the window is walked step by step, each step being one branch-free loop
over the block's neurons (refractoriness and reset are selects, not branches), which the
compiler turns into SIMD code. Each neuron's arithmetic is independent of the others and
identical to a scalar loop (no fused multiply-add, no reassociation), so the result is
bit-identical for any number of threads, any vector width and any split of a run into
windows.
"""
import numpy as np

from cython.parallel cimport prange
from libc.math cimport exp, expm1
from libc.stdint cimport int64_t

from _kernel_common cimport (EULER_E, NEURON_BLOCK, block_array, block_count, block_size,
                             const_block_array, copy_flags, copy_values,
                             current_to_v, drive_to_v, load_steps, nest_refractory_steps,
                             next_slot, take_input, threads_for)
from pyNN_neuro.engine._checks import (check_window, checked_arrays, non_negative,
                                       positive)

cdef extern from *:
    """
    /* IF_curr_exp over a window for a block of m neurons, fused: one loop per step does
       what the generic path's five do (take the ring's input and clear it,
       IFCurrExp._step, _lif_membrane, the spike flag), in the same order of operations
       for each neuron, so the numbers are the same to the bit (see setup.py: no
       contraction into fused multiply-adds). Ring slots, rows of i_ext and rows of
       spiked are ring_stride, i_ext_stride and spiked_stride elements apart; the block's
       state stays in the caller's arrays V, R, IE, II (m elements each), and a step's
       spike flags in F before they are stored as bytes. */
    static void pnn_if_curr_exp_window(
            Py_ssize_t m, int K, Py_ssize_t slot, Py_ssize_t L, Py_ssize_t ring_stride,
            Py_ssize_t i_ext_stride, Py_ssize_t spiked_stride,
            double* __restrict__ V, double* __restrict__ R, double* __restrict__ IE,
            double* __restrict__ II, int64_t* __restrict__ F,
            double* __restrict__ ring_exc, double* __restrict__ ring_inh,
            const double* __restrict__ i_ext, unsigned char* __restrict__ spiked,
            double* __restrict__ v, double* __restrict__ refractory_steps,
            double* __restrict__ isyn_exc, double* __restrict__ isyn_inh,
            const double* __restrict__ v_rest, const double* __restrict__ theta,
            const double* __restrict__ restart, const double* __restrict__ reset_to,
            const double* __restrict__ i_offset, const double* __restrict__ p22,
            const double* __restrict__ p20, const double* __restrict__ p11_exc,
            const double* __restrict__ p11_inh, const double* __restrict__ p21_exc,
            const double* __restrict__ p21_inh) {
        for (Py_ssize_t b = 0; b < m; b++) {
            V[b] = v[b];
            R[b] = (double)(Py_ssize_t)refractory_steps[b];
            IE[b] = isyn_exc[b];
            II[b] = isyn_inh[b];
        }
        for (int k = 0; k < K; k++) {
            double* __restrict__ re = ring_exc + slot * ring_stride;
            double* __restrict__ ri = ring_inh + slot * ring_stride;
            const double* __restrict__ ie = i_ext + k * i_ext_stride;
            unsigned char* __restrict__ sp = spiked + k * spiked_stride;
            for (Py_ssize_t b = 0; b < m; b++) {
                double arrived_exc = re[b], arrived_inh = ri[b];
                re[b] = 0.0;
                ri[b] = 0.0;
                double v_relative = V[b] - v_rest[b];
                double integrated = v_relative * p22[b] + IE[b] * p21_exc[b]
                                    + II[b] * p21_inh[b] + (i_offset[b] + ie[b]) * p20[b];
                double current_exc = IE[b] * p11_exc[b];
                double current_inh = II[b] * p11_inh[b];
                IE[b] = current_exc + arrived_exc;
                II[b] = current_inh + arrived_inh;
                double steps = R[b];
                double counted_down = steps - 1.0;
                double vr = steps == 0.0 ? integrated : v_relative;
                steps = steps == 0.0 ? steps : counted_down;
                double fired = vr >= theta[b] ? 1.0 : 0.0;
                R[b] = fired != 0.0 ? restart[b] : steps;
                V[b] = v_rest[b] + (fired != 0.0 ? reset_to[b] : vr);
                F[b] = fired != 0.0;
            }
            /* the flags as bytes in a loop of their own: a byte store in the loop above
               would make the compiler take 64 neurons at a time, more than the vector
               registers hold */
            for (Py_ssize_t b = 0; b < m; b++)
                sp[b] = (unsigned char)F[b];
            slot = slot + 1 == L ? 0 : slot + 1;
        }
        for (Py_ssize_t b = 0; b < m; b++) {
            v[b] = V[b];
            refractory_steps[b] = R[b];
            isyn_exc[b] = IE[b];
            isyn_inh[b] = II[b];
        }
    }
    """
    void pnn_if_curr_exp_window(
        Py_ssize_t m, int K, Py_ssize_t slot, Py_ssize_t L, Py_ssize_t ring_stride,
        Py_ssize_t i_ext_stride, Py_ssize_t spiked_stride, double* V, double* R,
        double* IE, double* II, int64_t* F,
        double* ring_exc, double* ring_inh, const double* i_ext, unsigned char* spiked,
        double* v, double* refractory_steps, double* isyn_exc, double* isyn_inh,
        const double* v_rest, const double* theta, const double* restart,
        const double* reset_to, const double* i_offset, const double* p22,
        const double* p20, const double* p11_exc, const double* p11_inh,
        const double* p21_exc, const double* p21_inh) nogil


# a thread is started for at least this many neuron-steps of a window (about 100 us)
cdef double MIN_NEURON_STEPS_PER_THREAD = 50000.0
# Izhikevich's equation takes its current in pA; PyNN gives nA.
cdef double PA_PER_NA = 1000.0
# NEST's Izhikevich threshold (mV).
cdef double IZHIKEVICH_V_PEAK = 30.0

RECEPTOR_NAMES = ('excitatory', 'inhibitory')


def refractory_count(double tau_refrac, double dt):
    """Number of whole steps a neuron stays refractory, computed as NEST does.

    tau_refrac (ms) is rounded to the nearest tic (1 us) and the result rounded up to
    whole steps of dt (ms). If dt is not a whole number of tics, round(tau_refrac / dt).
    """
    return int(nest_refractory_steps(tau_refrac, dt))


# ---------------------------------------------------------------------------------------
# Validation, done once per kernel object (see pyNN_neuro.engine._checks)
# ---------------------------------------------------------------------------------------

def _checked_arrays(cls, params, state, dt, ring, i_ext, spiked, rec, num_threads):
    """Check every argument of a kernel's constructor against the kernel interface.

    Returns (n, K_max, params, state, ring, i_ext, spiked, rec) with rec replaced by an
    empty (0, 0, 0) array when recording buffers were not given.
    """
    names = dict(state_names=cls.state_names, internal_names=cls.internal_names,
                 param_names=cls.param_names, receptor_names=cls.receptor_names)
    return checked_arrays(cls.__name__, names, params, state, dt, ring, i_ext, spiked, rec,
                          num_threads, empty_full_rec_records=False)


# ---------------------------------------------------------------------------------------
# What the four kernels share
# ---------------------------------------------------------------------------------------

cdef class _BlockKernel:
    """The engine's buffers, the window check and the driver that hands blocks of
    NEURON_BLOCK neurons to the threads. A subclass binds its state and parameters in
    ``__init__`` (after ``_bind_buffers``) and implements ``_advance_block``."""

    cdef readonly double dt
    cdef readonly int num_threads
    cdef readonly Py_ssize_t n
    cdef readonly Py_ssize_t k_max
    cdef double[:, :, ::1] ring
    cdef const double[:, ::1] i_ext
    cdef unsigned char[:, ::1] spiked
    cdef double[:, :, ::1] rec
    # False when i_ext holds zeros only (no current source): every step then reads its
    # first row, which stays in cache, instead of K rows (the same numbers)
    cdef public bint external_current

    def _bind_buffers(self, params, state, double dt, ring, i_ext, spiked, rec,
                      int num_threads):
        """Check and keep the engine's buffers; return the checked (params, state)."""
        n, k_max, params, state, ring, i_ext, spiked, rec = _checked_arrays(
            type(self), params, state, dt, ring, i_ext, spiked, rec, num_threads)
        self.dt = dt
        self.num_threads = num_threads
        self.n = n
        self.k_max = k_max
        self.ring = ring
        self.i_ext = i_ext
        self.spiked = spiked
        self.rec = rec
        self.external_current = True
        return params, state

    def _check_window(self, long step0, int K, bint record):
        check_window(step0, K, self.k_max, record, self.rec.shape[0] > 0,
                     len(self.state_names), self.n, k_min=1)

    cpdef void update(self, long step0, int K, bint record):
        """Advance every neuron by K steps, the first being global step step0."""
        self._check_window(step0, K, record)
        cdef Py_ssize_t block, first_slot = step0 % self.ring.shape[1]
        for block in prange(block_count(self.n), nogil=True, schedule='static',
                            num_threads=threads_for(self.num_threads, <double>self.n * K,
                                                    MIN_NEURON_STEPS_PER_THREAD,
                                                    block_count(self.n))):
            self._advance_block(block * NEURON_BLOCK, first_slot, K, record)

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        """Neurons first .. first + NEURON_BLOCK - 1 (or up to n) over K steps, the first
        of which reads ring slot ``slot``: step-major over the block, each step a
        branch-free loop over its neurons that the compiler vectorises."""
        pass


cdef enum:
    MAX_TOGETHER = 4            # kernels update_together advances in one parallel loop
    N_WINDOW_CONSTANTS = 11     # per-neuron constants IFCurrExp's fused window reads


MAX_UPDATE_TOGETHER = MAX_TOGETHER


def update_together(list kernels, long step0, int K, records):
    """``kernel.update(step0, K, record)`` for up to MAX_TOGETHER integrate-and-fire
    kernels (populations of one component: none reads what another writes within a
    window), their blocks shared among the threads in one parallel loop, in order:
    kernel 0's blocks, then kernel 1's... A small population then costs no parallel
    region of its own, where a thread's start and the wait for the slower one take a
    large part of its time. Each block is advanced exactly as ``update`` would: the same
    numbers."""
    cdef int n = len(kernels), j, threads = 1
    cdef _BlockKernel kernel, k0 = None, k1 = None, k2 = None, k3 = None
    cdef Py_ssize_t first[MAX_TOGETHER + 1]
    cdef Py_ssize_t slot[MAX_TOGETHER]
    cdef bint record[MAX_TOGETHER]
    cdef Py_ssize_t block, b
    cdef double work = 0.0
    if not 1 <= n <= MAX_TOGETHER or len(records) != n:
        raise ValueError(f"update_together: 1 to {MAX_TOGETHER} kernels and as many record "
                         f"flags, got {n} and {len(records)}")
    first[0] = 0
    for j in range(n):
        kernel = <_BlockKernel?>kernels[j]
        record[j] = bool(records[j])
        kernel._check_window(step0, K, record[j])
        slot[j] = step0 % kernel.ring.shape[1]
        first[j + 1] = first[j] + block_count(kernel.n)
        work += <double>kernel.n * K
        threads = max(threads, kernel.num_threads)
    k0 = kernels[0]
    if n > 1:
        k1 = kernels[1]
    if n > 2:
        k2 = kernels[2]
    if n > 3:
        k3 = kernels[3]
    threads = threads_for(threads, work, MIN_NEURON_STEPS_PER_THREAD, first[n])
    for block in prange(first[n], nogil=True, schedule='static', num_threads=threads):
        j = 0
        while block >= first[j + 1]:
            j = j + 1
        b = (block - first[j]) * NEURON_BLOCK
        if j == 0:
            k0._advance_block(b, slot[0], K, record[0])
        elif j == 1:
            k1._advance_block(b, slot[1], K, record[1])
        elif j == 2:
            k2._advance_block(b, slot[2], K, record[2])
        else:
            k3._advance_block(b, slot[3], K, record[3])


cdef inline double _lif_membrane(double integrated, double v_relative, double* steps_left,
                                 double theta, double restart, double reset_to,
                                 double* fired) noexcept nogil:
    """The end of an integrate-and-fire step, in NEST's order, relative to rest: the
    integrated V unless refractory (then V stays and one refractory step is counted down),
    then the threshold test; a spike sets fired to 1.0, V to reset_to and the refractory
    count to restart. Returns the new V. (Selects only: the caller's loop stays
    branch-free.)"""
    cdef double steps = steps_left[0]
    cdef double counted_down = steps - 1.0
    v_relative = integrated if steps == 0.0 else v_relative
    steps = steps if steps == 0.0 else counted_down
    fired[0] = 1.0 if v_relative >= theta else 0.0
    steps_left[0] = restart if fired[0] != 0.0 else steps
    return reset_to if fired[0] != 0.0 else v_relative


cdef enum:
    MAX_SYNAPTIC_STATE = 4      # synaptic state variables per neuron (IF_curr_alpha: 4)


cdef class _LIFKernel(_BlockKernel):
    """What the three integrate-and-fire kernels share: the membrane (v, refractoriness,
    threshold and reset, ``_lif_membrane``) and the window loop of a block. A model keeps
    its synaptic state in ``synapses`` (variable j of neuron b at [j * NEURON_BLOCK + b])
    and supplies its step: ``_step`` sets, for every neuron of the block, the membrane
    potential relative to rest that integration would give, and advances the synapses."""

    cdef double[::1] v, refractory_steps
    cdef const double[::1] v_rest, i_offset
    cdef double[::1] theta, v_reset_relative, refractory_counts

    def _bind_membrane(self, params, state, double dt):
        """The state and parameters of the membrane, and the derived constants."""
        self.v = state['v']
        self.refractory_steps = state['refractory_steps']
        self.v_rest = params['v_rest']
        self.i_offset = params['i_offset']
        self.theta = params['v_thresh'] - params['v_rest']
        self.v_reset_relative = params['v_reset'] - params['v_rest']
        self.refractory_counts = np.array([refractory_count(t, dt)
                                           for t in params['tau_refrac']], dtype=float)

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        cdef Py_ssize_t m = block_size(first, self.n)
        cdef Py_ssize_t ring_length = self.ring.shape[1]
        cdef double v_now[NEURON_BLOCK]
        cdef double integrated[NEURON_BLOCK]
        cdef double refractory[NEURON_BLOCK]
        cdef double arrived_exc[NEURON_BLOCK]
        cdef double arrived_inh[NEURON_BLOCK]
        cdef double fired[NEURON_BLOCK]
        cdef double restart[NEURON_BLOCK]
        cdef double reset_to[NEURON_BLOCK]
        cdef double synapses[MAX_SYNAPTIC_STATE * NEURON_BLOCK]
        cdef const double* v_rest = &self.v_rest[first]
        cdef const double* theta = &self.theta[first]
        cdef Py_ssize_t b, k
        copy_values(&self.v[first], v_now, m)
        load_steps(&self.refractory_steps[first], refractory, m)
        copy_values(&self.refractory_counts[first], restart, m)
        copy_values(&self.v_reset_relative[first], reset_to, m)
        self._load_synapses(first, m, synapses)
        for k in range(K):
            take_input(&self.ring[0, slot, first], arrived_exc, m)
            take_input(&self.ring[1, slot, first], arrived_inh, m)
            self._step(first, m, &self.i_ext[k if self.external_current else 0, first],
                       arrived_exc, arrived_inh, v_now, synapses, integrated)
            for b in range(m):
                v_now[b] = v_rest[b] + _lif_membrane(integrated[b], v_now[b] - v_rest[b],
                                                     &refractory[b], theta[b], restart[b],
                                                     reset_to[b], &fired[b])
            copy_flags(fired, &self.spiked[k, first], m)
            if record:
                copy_values(v_now, &self.rec[0, k, first], m)
                self._record_synapses(k, first, m, synapses)
            slot = next_slot(slot, ring_length)
        copy_values(v_now, &self.v[first], m)
        copy_values(refractory, &self.refractory_steps[first], m)
        self._store_synapses(first, m, synapses)

    cdef void _step(self, Py_ssize_t first, Py_ssize_t m, const_block_array i_ext,
                    const_block_array arrived_exc, const_block_array arrived_inh,
                    const_block_array v_now, block_array synapses,
                    block_array integrated) noexcept nogil:
        pass

    cdef void _load_synapses(self, Py_ssize_t first, Py_ssize_t m,
                             double* synapses) noexcept nogil:
        pass

    cdef void _store_synapses(self, Py_ssize_t first, Py_ssize_t m,
                              const double* synapses) noexcept nogil:
        pass

    cdef void _record_synapses(self, Py_ssize_t k, Py_ssize_t first, Py_ssize_t m,
                               const double* synapses) noexcept nogil:
        pass


# ---------------------------------------------------------------------------------------
# IF_curr_exp
# ---------------------------------------------------------------------------------------

cdef class IFCurrExp(_LIFKernel):
    """Leaky integrate-and-fire neuron with exponential post-synaptic currents.

    PyNN ``IF_curr_exp``; NEST ``iaf_psc_exp``.

    Equations (ms, mV, nA, nF)::

        cm dv/dt        = cm (v_rest - v) / tau_m + isyn_exc + isyn_inh + i_offset + i_ext
        d isyn_exc / dt = -isyn_exc / tau_syn_E
        d isyn_inh / dt = -isyn_inh / tau_syn_I

    Integration: exact. With V = v - v_rest and h = dt, one step is::

        V        <- P22 V + P21_exc isyn_exc + P21_inh isyn_inh + P20 (i_offset + i_ext)
        isyn_exc <- P11_exc isyn_exc        isyn_inh <- P11_inh isyn_inh

    with P22 = exp(-h/tau_m), P11 = exp(-h/tau_syn), P20 = tau_m/cm (1 - P22) and P21 the
    current-to-voltage propagator in its numerically stable expm1 form (valid also for
    tau_syn == tau_m).

    Order of operations in step s (NEST's):

    1. if not refractory, integrate V as above; otherwise count one refractory step down;
    2. decay isyn_exc, isyn_inh over the step;
    3. add the weights arriving in step s (nA, signed) to isyn_exc, isyn_inh: an arrival
       first moves v in step s + 1;
    4. if v >= v_thresh: spike at (s+1) dt, v = v_reset, refractory for
       refractory_count(tau_refrac, dt) steps (= round(tau_refrac/dt) on the grid).

    State: v (mV), isyn_exc, isyn_inh (nA); internal refractory_steps (steps left).
    """

    state_names = ('v', 'isyn_exc', 'isyn_inh')
    internal_names = ('refractory_steps',)
    param_names = ('v_rest', 'cm', 'tau_m', 'tau_refrac', 'tau_syn_E', 'tau_syn_I',
                   'i_offset', 'v_reset', 'v_thresh')
    receptor_names = RECEPTOR_NAMES

    cdef double[::1] isyn_exc, isyn_inh
    cdef double[::1] p22, p20, p11_exc, p11_inh, p21_exc, p21_inh
    # per-neuron constants of the fused window whose value is the same for every neuron
    # (to the bit): row j holds that value NEURON_BLOCK times, and the window reads it
    # there, in L1, instead of streaming n equal numbers from memory at every window
    cdef double[:, ::1] same_value
    cdef bint same[N_WINDOW_CONSTANTS]

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1):
        params, state = self._bind_buffers(params, state, dt, ring, i_ext, spiked, rec,
                                           num_threads)
        positive(params, ('cm', 'tau_m', 'tau_syn_E', 'tau_syn_I'))
        non_negative(params, ('tau_refrac',))
        self._bind_membrane(params, state, dt)
        self.isyn_exc = state['isyn_exc']
        self.isyn_inh = state['isyn_inh']
        cdef Py_ssize_t n = self.n
        self.p22 = np.empty(n)
        self.p20 = np.empty(n)
        self.p11_exc = np.empty(n)
        self.p11_inh = np.empty(n)
        self.p21_exc = np.empty(n)
        self.p21_inh = np.empty(n)
        cdef const double[::1] cm = params['cm']
        cdef const double[::1] tau_m = params['tau_m']
        cdef const double[::1] tau_syn_e = params['tau_syn_E']
        cdef const double[::1] tau_syn_i = params['tau_syn_I']
        cdef Py_ssize_t i
        for i in range(n):
            self.p11_exc[i] = exp(-dt / tau_syn_e[i])
            self.p11_inh[i] = exp(-dt / tau_syn_i[i])
            self.p22[i] = exp(-dt / tau_m[i])
            self.p21_exc[i] = current_to_v(tau_syn_e[i], tau_m[i], cm[i], dt)
            self.p21_inh[i] = current_to_v(tau_syn_i[i], tau_m[i], cm[i], dt)
            self.p20[i] = tau_m[i] / cm[i] * (1.0 - self.p22[i])
        self._find_same_values()

    def _find_same_values(self):
        """Note which constants of the fused window (in ``_window_constant`` order) hold
        one value for every neuron, compared bit for bit (so -0.0 and 0.0 differ), and
        keep that value in a block-long row."""
        constants = [np.asarray(self.v_rest), np.asarray(self.theta),
                     np.asarray(self.refractory_counts), np.asarray(self.v_reset_relative),
                     np.asarray(self.i_offset), np.asarray(self.p22), np.asarray(self.p20),
                     np.asarray(self.p11_exc), np.asarray(self.p11_inh),
                     np.asarray(self.p21_exc), np.asarray(self.p21_inh)]
        self.same_value = np.zeros((N_WINDOW_CONSTANTS, NEURON_BLOCK))
        cdef int j
        for j, values in enumerate(constants):
            bits = values.view(np.int64)
            self.same[j] = bits.shape[0] > 0 and bool(np.all(bits == bits[0]))
            if self.same[j]:
                self.same_value[j, :] = values[0]

    @property
    def uniform_constants(self):
        """How many of the fused window's per-neuron constants are one value for all."""
        return sum(bool(self.same[j]) for j in range(N_WINDOW_CONSTANTS))

    cdef inline const double* _window_constant(self, int j,
                                               const double* own) noexcept nogil:
        """Where the window reads constant j of a block: its row of equal values, or
        ``own``, the block's part of the per-neuron array."""
        if self.same[j]:
            return &self.same_value[j, 0]
        return own

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        """Without recording, the fused window (``pnn_if_curr_exp_window``): the same
        numbers as the generic path, which records."""
        cdef double V[NEURON_BLOCK]
        cdef double R[NEURON_BLOCK]
        cdef double IE[NEURON_BLOCK]
        cdef double II[NEURON_BLOCK]
        cdef int64_t F[NEURON_BLOCK]
        if record:
            _LIFKernel._advance_block(self, first, slot, K, record)
            return
        pnn_if_curr_exp_window(
            block_size(first, self.n), K, slot, self.ring.shape[1],
            self.ring.strides[1] // sizeof(double),
            self.i_ext.strides[0] // sizeof(double) if self.external_current else 0,
            self.spiked.strides[0], V, R, IE, II, F,
            &self.ring[0, 0, first], &self.ring[1, 0, first], &self.i_ext[0, first],
            &self.spiked[0, first], &self.v[first], &self.refractory_steps[first],
            &self.isyn_exc[first], &self.isyn_inh[first],
            self._window_constant(0, &self.v_rest[first]),
            self._window_constant(1, &self.theta[first]),
            self._window_constant(2, &self.refractory_counts[first]),
            self._window_constant(3, &self.v_reset_relative[first]),
            self._window_constant(4, &self.i_offset[first]),
            self._window_constant(5, &self.p22[first]),
            self._window_constant(6, &self.p20[first]),
            self._window_constant(7, &self.p11_exc[first]),
            self._window_constant(8, &self.p11_inh[first]),
            self._window_constant(9, &self.p21_exc[first]),
            self._window_constant(10, &self.p21_inh[first]))

    cdef void _step(self, Py_ssize_t first, Py_ssize_t m, const_block_array i_ext,
                    const_block_array arrived_exc, const_block_array arrived_inh,
                    const_block_array v_now, block_array synapses,
                    block_array integrated) noexcept nogil:
        cdef block_array current_exc = synapses
        cdef block_array current_inh = &synapses[NEURON_BLOCK]
        cdef const double* v_rest = &self.v_rest[first]
        cdef const double* i_offset = &self.i_offset[first]
        cdef const double* p22 = &self.p22[first]
        cdef const double* p20 = &self.p20[first]
        cdef const double* p11_exc = &self.p11_exc[first]
        cdef const double* p11_inh = &self.p11_inh[first]
        cdef const double* p21_exc = &self.p21_exc[first]
        cdef const double* p21_inh = &self.p21_inh[first]
        cdef Py_ssize_t b
        cdef double v_relative
        for b in range(m):
            v_relative = v_now[b] - v_rest[b]
            integrated[b] = (v_relative * p22[b] + current_exc[b] * p21_exc[b]
                             + current_inh[b] * p21_inh[b] + (i_offset[b] + i_ext[b]) * p20[b])
            current_exc[b] = current_exc[b] * p11_exc[b]
            current_inh[b] = current_inh[b] * p11_inh[b]
            current_exc[b] = current_exc[b] + arrived_exc[b]
            current_inh[b] = current_inh[b] + arrived_inh[b]

    cdef void _load_synapses(self, Py_ssize_t first, Py_ssize_t m,
                             double* synapses) noexcept nogil:
        copy_values(&self.isyn_exc[first], synapses, m)
        copy_values(&self.isyn_inh[first], &synapses[NEURON_BLOCK], m)

    cdef void _store_synapses(self, Py_ssize_t first, Py_ssize_t m,
                              const double* synapses) noexcept nogil:
        copy_values(synapses, &self.isyn_exc[first], m)
        copy_values(&synapses[NEURON_BLOCK], &self.isyn_inh[first], m)

    cdef void _record_synapses(self, Py_ssize_t k, Py_ssize_t first, Py_ssize_t m,
                               const double* synapses) noexcept nogil:
        copy_values(synapses, &self.rec[1, k, first], m)
        copy_values(&synapses[NEURON_BLOCK], &self.rec[2, k, first], m)


# ---------------------------------------------------------------------------------------
# IF_curr_alpha
# ---------------------------------------------------------------------------------------

cdef class IFCurrAlpha(_LIFKernel):
    """Leaky integrate-and-fire neuron with alpha-shaped post-synaptic currents.

    PyNN ``IF_curr_alpha``; NEST ``iaf_psc_alpha``.

    Equations (ms, mV, nA, nF)::

        cm dv/dt   = cm (v_rest - v) / tau_m + isyn_exc + isyn_inh + i_offset + i_ext
        d isyn/dt  = drive - isyn / tau_syn        (for each of exc with tau_syn_E,
        d drive/dt = -drive / tau_syn               inh with tau_syn_I)

    An arrival of weight w (nA, signed) adds w e / tau_syn to ``drive``; alone it gives
    isyn(t) = w (t / tau_syn) exp(1 - t / tau_syn), peak w at t = tau_syn.

    Integration: exact. With V = v - v_rest and h = dt, one step is::

        V     <- V + expm1(-h/tau_m) V - tau_m/cm expm1(-h/tau_m) (i_offset + i_ext)
                   + P31 drive + P32 isyn                  (summed over exc and inh)
        isyn  <- h exp(-h/tau_syn) drive + exp(-h/tau_syn) isyn
        drive <- exp(-h/tau_syn) drive

    P32 is the current-to-voltage propagator of the exponential synapse and P31 its
    counterpart for ``drive``, both in NEST's stable expm1 form with their limits at
    tau_syn == tau_m.

    Order of operations in step s (NEST's):

    1. if not refractory, integrate V from the state at the start of the step; otherwise
       count one refractory step down;
    2. propagate isyn and drive (excitatory, inhibitory);
    3. add e w / tau_syn of the weights arriving in step s to ``drive``: isyn, hence v,
       start to move in step s + 1;
    4. if v >= v_thresh: spike at (s+1) dt, v = v_reset, refractory for
       refractory_count(tau_refrac, dt) steps (= round(tau_refrac/dt) on the grid).

    State: v (mV), isyn_exc, isyn_inh (nA); internal refractory_steps (steps left),
    isyn_exc_drive, isyn_inh_drive (nA/ms).
    """

    state_names = ('v', 'isyn_exc', 'isyn_inh')
    internal_names = ('refractory_steps', 'isyn_exc_drive', 'isyn_inh_drive')
    param_names = ('v_rest', 'cm', 'tau_m', 'tau_refrac', 'tau_syn_E', 'tau_syn_I',
                   'i_offset', 'v_reset', 'v_thresh')
    receptor_names = RECEPTOR_NAMES

    cdef double[::1] isyn_exc, isyn_inh, drive_exc, drive_inh
    cdef double[::1] expm1_membrane, p30
    cdef double[::1] p11_exc, p11_inh, p21_exc, p21_inh
    cdef double[::1] p31_exc, p31_inh, p32_exc, p32_inh
    cdef double[::1] drive_per_weight_exc, drive_per_weight_inh

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1):
        params, state = self._bind_buffers(params, state, dt, ring, i_ext, spiked, rec,
                                           num_threads)
        positive(params, ('cm', 'tau_m', 'tau_syn_E', 'tau_syn_I'))
        non_negative(params, ('tau_refrac',))
        self._bind_membrane(params, state, dt)
        self.isyn_exc = state['isyn_exc']
        self.isyn_inh = state['isyn_inh']
        self.drive_exc = state['isyn_exc_drive']
        self.drive_inh = state['isyn_inh_drive']
        cdef Py_ssize_t n = self.n
        self.expm1_membrane = np.empty(n)
        self.p30 = np.empty(n)
        self.p11_exc = np.empty(n)
        self.p11_inh = np.empty(n)
        self.p21_exc = np.empty(n)
        self.p21_inh = np.empty(n)
        self.p31_exc = np.empty(n)
        self.p31_inh = np.empty(n)
        self.p32_exc = np.empty(n)
        self.p32_inh = np.empty(n)
        self.drive_per_weight_exc = np.empty(n)
        self.drive_per_weight_inh = np.empty(n)
        cdef const double[::1] cm = params['cm']
        cdef const double[::1] tau_m = params['tau_m']
        cdef const double[::1] tau_syn_e = params['tau_syn_E']
        cdef const double[::1] tau_syn_i = params['tau_syn_I']
        cdef Py_ssize_t i
        for i in range(n):
            self.p11_exc[i] = exp(-dt / tau_syn_e[i])
            self.p11_inh[i] = exp(-dt / tau_syn_i[i])
            self.expm1_membrane[i] = expm1(-dt / tau_m[i])
            self.p30[i] = -tau_m[i] / cm[i] * expm1(-dt / tau_m[i])
            self.p21_exc[i] = dt * self.p11_exc[i]
            self.p21_inh[i] = dt * self.p11_inh[i]
            self.p31_exc[i] = drive_to_v(tau_syn_e[i], tau_m[i], cm[i], dt)
            self.p32_exc[i] = current_to_v(tau_syn_e[i], tau_m[i], cm[i], dt)
            self.p31_inh[i] = drive_to_v(tau_syn_i[i], tau_m[i], cm[i], dt)
            self.p32_inh[i] = current_to_v(tau_syn_i[i], tau_m[i], cm[i], dt)
            self.drive_per_weight_exc[i] = 1.0 * EULER_E / tau_syn_e[i]
            self.drive_per_weight_inh[i] = 1.0 * EULER_E / tau_syn_i[i]

    cdef void _step(self, Py_ssize_t first, Py_ssize_t m, const_block_array i_ext,
                    const_block_array arrived_exc, const_block_array arrived_inh,
                    const_block_array v_now, block_array synapses,
                    block_array integrated) noexcept nogil:
        cdef block_array current_exc = synapses
        cdef block_array current_inh = &synapses[NEURON_BLOCK]
        cdef block_array drive_exc = &synapses[2 * NEURON_BLOCK]
        cdef block_array drive_inh = &synapses[3 * NEURON_BLOCK]
        cdef const double* v_rest = &self.v_rest[first]
        cdef const double* i_offset = &self.i_offset[first]
        cdef const double* expm1_membrane = &self.expm1_membrane[first]
        cdef const double* p30 = &self.p30[first]
        cdef const double* p11_exc = &self.p11_exc[first]
        cdef const double* p11_inh = &self.p11_inh[first]
        cdef const double* p21_exc = &self.p21_exc[first]
        cdef const double* p21_inh = &self.p21_inh[first]
        cdef const double* p31_exc = &self.p31_exc[first]
        cdef const double* p31_inh = &self.p31_inh[first]
        cdef const double* p32_exc = &self.p32_exc[first]
        cdef const double* p32_inh = &self.p32_inh[first]
        cdef const double* drive_per_weight_exc = &self.drive_per_weight_exc[first]
        cdef const double* drive_per_weight_inh = &self.drive_per_weight_inh[first]
        cdef Py_ssize_t b
        cdef double v_relative
        for b in range(m):
            v_relative = v_now[b] - v_rest[b]
            integrated[b] = (p30[b] * (i_ext[b] + i_offset[b])
                             + p31_exc[b] * drive_exc[b] + p32_exc[b] * current_exc[b]
                             + p31_inh[b] * drive_inh[b] + p32_inh[b] * current_inh[b]
                             + expm1_membrane[b] * v_relative + v_relative)
            current_exc[b] = p21_exc[b] * drive_exc[b] + p11_exc[b] * current_exc[b]
            drive_exc[b] = drive_exc[b] * p11_exc[b]
            drive_exc[b] = drive_exc[b] + drive_per_weight_exc[b] * arrived_exc[b]
            current_inh[b] = p21_inh[b] * drive_inh[b] + p11_inh[b] * current_inh[b]
            drive_inh[b] = drive_inh[b] * p11_inh[b]
            drive_inh[b] = drive_inh[b] + drive_per_weight_inh[b] * arrived_inh[b]

    cdef void _load_synapses(self, Py_ssize_t first, Py_ssize_t m,
                             double* synapses) noexcept nogil:
        copy_values(&self.isyn_exc[first], synapses, m)
        copy_values(&self.isyn_inh[first], &synapses[NEURON_BLOCK], m)
        copy_values(&self.drive_exc[first], &synapses[2 * NEURON_BLOCK], m)
        copy_values(&self.drive_inh[first], &synapses[3 * NEURON_BLOCK], m)

    cdef void _store_synapses(self, Py_ssize_t first, Py_ssize_t m,
                              const double* synapses) noexcept nogil:
        copy_values(synapses, &self.isyn_exc[first], m)
        copy_values(&synapses[NEURON_BLOCK], &self.isyn_inh[first], m)
        copy_values(&synapses[2 * NEURON_BLOCK], &self.drive_exc[first], m)
        copy_values(&synapses[3 * NEURON_BLOCK], &self.drive_inh[first], m)

    cdef void _record_synapses(self, Py_ssize_t k, Py_ssize_t first, Py_ssize_t m,
                               const double* synapses) noexcept nogil:
        copy_values(synapses, &self.rec[1, k, first], m)
        copy_values(&synapses[NEURON_BLOCK], &self.rec[2, k, first], m)


# ---------------------------------------------------------------------------------------
# IF_curr_delta
# ---------------------------------------------------------------------------------------

cdef class IFCurrDelta(_LIFKernel):
    """Leaky integrate-and-fire neuron with delta (voltage-jump) synapses.

    PyNN ``IF_curr_delta``; NEST ``iaf_psc_delta``.

    Equations (ms, mV, nA, nF)::

        cm dv/dt = cm (v_rest - v) / tau_m + i_offset + i_ext
        v <- v + w                  at each arrival of weight w (mV, signed)

    Integration: exact. With V = v - v_rest and h = dt, one step is::

        V <- P30 (i_offset + i_ext) + P33 V + (sum of weights arriving in step s)

    with P33 = exp(-h/tau_m), P30 = (1/cm) (1 - P33) tau_m.

    Order of operations in step s (NEST's):

    1. if not refractory, integrate V and add the weights arriving in step s (so an
       arrival moves v in the step it arrives); otherwise discard those weights (NEST's
       default ``refractory_input = False``) and count one refractory step down;
    2. if v >= v_thresh: spike at (s+1) dt, v = v_reset, refractory for
       refractory_count(tau_refrac, dt) steps (= round(tau_refrac/dt) on the grid).

    State: v (mV); internal refractory_steps (steps left).
    """

    state_names = ('v',)
    internal_names = ('refractory_steps',)
    param_names = ('v_rest', 'cm', 'tau_m', 'tau_refrac', 'i_offset', 'v_reset', 'v_thresh')
    receptor_names = RECEPTOR_NAMES

    cdef double[::1] p33, p30

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1):
        params, state = self._bind_buffers(params, state, dt, ring, i_ext, spiked, rec,
                                           num_threads)
        positive(params, ('cm', 'tau_m'))
        non_negative(params, ('tau_refrac',))
        self._bind_membrane(params, state, dt)
        cdef Py_ssize_t n = self.n
        self.p33 = np.empty(n)
        self.p30 = np.empty(n)
        cdef const double[::1] cm = params['cm']
        cdef const double[::1] tau_m = params['tau_m']
        cdef Py_ssize_t i
        for i in range(n):
            self.p33[i] = exp(-dt / tau_m[i])
            self.p30[i] = 1.0 / cm[i] * (1.0 - self.p33[i]) * tau_m[i]

    cdef void _step(self, Py_ssize_t first, Py_ssize_t m, const_block_array i_ext,
                    const_block_array arrived_exc, const_block_array arrived_inh,
                    const_block_array v_now, block_array synapses,
                    block_array integrated) noexcept nogil:
        cdef const double* v_rest = &self.v_rest[first]
        cdef const double* i_offset = &self.i_offset[first]
        cdef const double* p33 = &self.p33[first]
        cdef const double* p30 = &self.p30[first]
        cdef Py_ssize_t b
        for b in range(m):
            integrated[b] = (p30[b] * (i_ext[b] + i_offset[b]) + p33[b] * (v_now[b] - v_rest[b])
                             + (arrived_exc[b] + arrived_inh[b]))


# ---------------------------------------------------------------------------------------
# Izhikevich
# ---------------------------------------------------------------------------------------

cdef class Izhikevich(_BlockKernel):
    """Izhikevich (2003) quadratic integrate-and-fire neuron with delta synapses.

    PyNN ``Izhikevich``; NEST ``izhikevich``.

    Equations (ms, mV; a in 1/ms, b in 1/ms, c in mV, d in mV/ms, u in mV/ms)::

        dv/dt = 0.04 v^2 + 5 v + 140 - u + I,     I = 1000 (i_ext + i_offset)
        du/dt = a (b v - u)
        v >= 30 mV  ->  v = c,  u = u + d
        v <- v + w                  at each arrival of weight w (mV, signed)

    I is the injected current in pA (the unit Izhikevich's equation is written in, and
    the one pyNN.nest passes to NEST as I_e), i.e. i_ext and i_offset (nA) times 1000.

    Integration: NEST's default "consistent integration", one forward-Euler step of both
    equations from the values at the start of the step (h = dt)::

        v <- v + (h (0.04 v^2 + 5 v + 140 - u + I) + sum of weights arriving in step s)
        u <- u + h a (b v_old - u)

    then the threshold test v >= 30 mV with reset (spike at (s+1) dt). An arrival moves v
    in the step it arrives. There is no refractory period.

    State: v (mV), u (mV/ms); no internal state.
    """

    state_names = ('v', 'u')
    internal_names = ()
    param_names = ('a', 'b', 'c', 'd', 'i_offset')
    receptor_names = RECEPTOR_NAMES

    cdef double[::1] v, u
    cdef const double[::1] a, b, c, d
    cdef double[::1] i_offset_pa

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1):
        params, state = self._bind_buffers(params, state, dt, ring, i_ext, spiked, rec,
                                           num_threads)
        self.v = state['v']
        self.u = state['u']
        self.a = params['a']
        self.b = params['b']
        self.c = params['c']
        self.d = params['d']
        self.i_offset_pa = np.empty(self.n)
        cdef const double[::1] i_offset = params['i_offset']
        cdef Py_ssize_t i
        for i in range(self.n):
            self.i_offset_pa[i] = i_offset[i] * PA_PER_NA

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        cdef Py_ssize_t m = block_size(first, self.n)
        cdef Py_ssize_t ring_length = self.ring.shape[1]
        cdef double v_now[NEURON_BLOCK]
        cdef double u_now[NEURON_BLOCK]
        cdef double arrived_exc[NEURON_BLOCK]
        cdef double arrived_inh[NEURON_BLOCK]
        cdef double fired[NEURON_BLOCK]
        cdef double reset_to[NEURON_BLOCK]
        cdef double jump[NEURON_BLOCK]
        cdef const double* a = &self.a[first]
        cdef const double* b_ = &self.b[first]
        cdef const double* i_offset_pa = &self.i_offset_pa[first]
        cdef const double* i_ext
        cdef double h = self.dt
        cdef Py_ssize_t b, k
        cdef double v_old, u_old, v_next, u_next
        copy_values(&self.v[first], v_now, m)
        copy_values(&self.u[first], u_now, m)
        copy_values(&self.c[first], reset_to, m)
        copy_values(&self.d[first], jump, m)
        for k in range(K):
            take_input(&self.ring[0, slot, first], arrived_exc, m)
            take_input(&self.ring[1, slot, first], arrived_inh, m)
            i_ext = &self.i_ext[k, first]
            for b in range(m):
                v_old = v_now[b]
                u_old = u_now[b]
                v_next = v_old + (h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old
                                       + i_ext[b] * PA_PER_NA + i_offset_pa[b])
                                  + (arrived_exc[b] + arrived_inh[b]))
                u_next = u_old + h * a[b] * (b_[b] * v_old - u_old)
                fired[b] = 1.0 if v_next >= IZHIKEVICH_V_PEAK else 0.0
                v_now[b] = reset_to[b] if fired[b] != 0.0 else v_next
                u_next = u_next + jump[b] if fired[b] != 0.0 else u_next
                u_now[b] = u_next
            copy_flags(fired, &self.spiked[k, first], m)
            if record:
                copy_values(v_now, &self.rec[0, k, first], m)
                copy_values(u_now, &self.rec[1, k, first], m)
            slot = next_slot(slot, ring_length)
        copy_values(v_now, &self.v[first], m)
        copy_values(u_now, &self.u[first], m)
