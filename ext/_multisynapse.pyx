# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Point-neuron kernels with any number of post-synaptic receptors (PyNN ``PointNeuron``).

PyNN composes a cell type from a neuron component and named post-synaptic receptors, e.g.
``PointNeuron(LIF(...), AMPA=CurrExpPostSynapticResponse(tau_syn=1.0), NMDA=...)``. Every
receptor of one cell is of the same kind; each receptor k has its own time constant(s) and,
for conductances, its own reversal potential ``e_syn_k``. The engine maps the PyNN receptor
labels, sorted alphabetically, onto receptors 0 .. R-1 (``receptor_names`` 'r0' .. 'r{R-1}').
Weights of one receptor go to ring[k]; no receptor is excitatory or inhibitory by itself.

Units are PyNN's: ms, mV, nA, nF, uS (``a`` of AdExp in nS, converted to uS once).

Models
------
``LIFCurrExpMulti`` (NEST ``iaf_psc_exp_multisynapse``)::

    cm dv/dt     = cm (v_rest - v) / tau_m + sum_k isyn_k + i_offset + i_ext
    d isyn_k/dt  = -isyn_k / tau_syn_k        (isyn_k jumps by w, nA, signed)

integrated exactly with the propagators of ``_lif.IFCurrExp`` (expm1 form of the
current-to-voltage propagator, valid at tau_syn_k == tau_m), in NEST's order of operations:
integrate V = v - v_rest unless refractory, decay every isyn_k, add the weights arriving in
the step, test ``v >= v_thresh``, reset to v_reset and clamp for refractory_count(tau_refrac,
dt) steps (NEST's time-grid rounding, as in ``_lif``).

Conductance receptors, with the LIF neuron (``LIFCond*Multi``; NEST has no LIF multisynapse
conductance model, these are ``iaf_cond_exp`` / ``iaf_cond_alpha`` with R receptors)::

    cm dv/dt = g_leak (v_rest - V) + sum_k g_k (e_syn_k - V) + i_offset + i_ext
    g_leak = cm / tau_m,   V = min(v, v_thresh)

and with the adaptive exponential neuron (``AdExpCond*Multi``; NEST
``aeif_cond_alpha_multisynapse``, ``aeif_cond_beta_multisynapse``)::

    cm dv/dt    = g_leak (v_rest - V) + g_leak delta_T exp((V - v_thresh) / delta_T)
                  + sum_k g_k (e_syn_k - V) - w + i_offset + i_ext
    tau_w dw/dt = a (V - v_rest) - w,      V = min(v, v_spike)

(the exponential term is dropped when delta_T == 0, and the neuron then spikes at v_thresh).
Conductance of receptor k, weight w_k in uS (>= 0 in practice):

    exponential:  dg/dt = -g / tau_syn                   g += w
    alpha:        d(dg)/dt = -dg / tau_syn,  dg/dt = dg - g / tau_syn,   dg += w e / tau_syn
                  (g(t) = w (t / tau_syn) exp(1 - t / tau_syn), peak w at t = tau_syn)
    beta:         d(dg)/dt = -dg / tau_rise, dg/dt = dg - g / tau_decay,   dg += w g0
                  g0 = (1/tau_rise - 1/tau_decay) / (exp(-t_p/tau_decay) - exp(-t_p/tau_rise)),
                  t_p = tau_rise tau_decay ln(tau_decay / tau_rise) / (tau_decay - tau_rise)
                  (peak w at t_p; the alpha limit e / tau_decay when the two taus coincide,
                  as NEST's beta_normalization_factor)

Integration of the conductance models is the adaptive Runge-Kutta-Fehlberg 4(5) of
``_cond`` with GSL's step control and NEST's tolerances (LIF: abs 1e-3 mV, 1e-6 uS, rel 0;
AdExp: abs 1e-6 mV / 1e-9 uS / 1e-9 nA, rel 1e-6 on |h dy/dt|), the proposed sub-step being
carried from step to step in the internal state ``integration_step`` (0 means dt). Update
order in a step: integrate with the step's injected current, then refractoriness / spike
(LIF: test ``v >= v_thresh`` at the end of the step, then clamp at v_reset for
round(tau_refrac / dt) steps; AdExp: test ``v >= v_spike`` after every accepted sub-step,
``v = v_reset``, ``w += b``, clamp for the rest of the step and round(tau_refrac / dt) more),
then add the weights that arrived in the step (an arrival affects v from the next step on).

With R = 2 receptors, the kernels do the same floating-point operations in the same order as
the two-receptor kernels ``_lif.IFCurrExp`` and ``_cond.IFCondExp``, ``IFCondAlpha``,
``EIFCondExp``, ``EIFCondAlpha`` (receptor 0 = excitatory, 1 = inhibitory) and give
bit-identical results.

Kernel interface
----------------
::

    names = Kernel.names(n_receptors)      # dict(state_names=..., internal_names=...,
                                           #      param_names=..., receptor_names=...)
    kernel = Kernel(params, state, dt, ring, i_ext, spiked, rec, num_threads=1,
                    n_receptors=1)
    kernel.update(step0, K, record)

The same four tuples are instance attributes of a kernel. ``params[name]`` and
``state[name]`` are float64 C-contiguous arrays of length n (state updated in place; every
internal state starts at 0.0). ``ring`` (R, L, n): the weight arriving at receptor k in
global step s is ``ring[k, s % L, i]``, read and set to 0 during step s. ``i_ext`` (K_max, n),
nA, acts during step step0 + k itself. ``spiked`` (K_max, n) uint8 receives 1 where a neuron
fires. ``rec`` (len(state_names), K_max, n) receives the state at the end of each step when
``record`` is true (it may be empty otherwise). ``update`` runs neuron-major under ``prange``
(static schedule); each neuron's arithmetic is independent of the others and of how a run is
split into windows, so results are bit-identical for any num_threads and any K.
"""
import math

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport exp, fabs
from libc.stdlib cimport malloc, free

from _kernel_common cimport (EULER_E, current_to_v, nest_aeif_tolerances,
                             nest_iaf_cond_tolerances, nest_refractory_steps, rkf_error_ratio,
                             rkf_finish, rkf_reject, rkf_stage2, rkf_stage3, rkf_stage4,
                             rkf_stage5, rkf_stage6, rkf_trial_length,
                             threads_for)
from pyNN_neuro.engine._checks import (check_window, checked_arrays, non_negative, positive,
                                       receptor_count, rounded_refractory_counts)


# ---------------------------------------------------------------------------------------
# Shared helpers: refractoriness, beta normalisation, validation
# ---------------------------------------------------------------------------------------

# a thread is started for at least this many neuron-steps of a window (current-based
# kernel; a tenth of it for the conductance kernels, whose steps cost ten times more)
cdef double MIN_NEURON_STEPS_PER_THREAD = 50000.0


def refractory_count(double tau_refrac, double dt):
    """Steps of refractoriness as NEST counts them (same as ``_lif.refractory_count``).

    tau_refrac (ms) is rounded to the nearest tic (1 us) and the result rounded up to
    whole steps of dt (ms). If dt is not a whole number of tics, round(tau_refrac / dt).
    """
    return int(nest_refractory_steps(tau_refrac, dt))


def beta_normalization(double tau_rise, double tau_decay):
    """Factor g0 (1/ms) such that dg += w g0 gives a beta conductance peaking at w.

    As NEST's beta_normalization_factor: the alpha value e / tau_decay when the two time
    constants are equal to within machine epsilon.
    """
    cdef double eps = 2.220446049250313e-16
    cdef double difference = tau_decay - tau_rise
    cdef double peak_value = 0.0
    cdef double t_peak
    if fabs(difference) > eps:
        t_peak = tau_decay * tau_rise * math.log(tau_decay / tau_rise) / difference
        peak_value = exp(-t_peak / tau_decay) - exp(-t_peak / tau_rise)
    if fabs(peak_value) < eps:
        return 1.0 * EULER_E / tau_decay
    return (1.0 / tau_rise - 1.0 / tau_decay) / peak_value


cdef inline double* _data(array) except NULL:
    """Address of the first element of a C-contiguous float64 array (kept alive elsewhere)."""
    cdef size_t address = array.__array_interface__['data'][0]
    if address == 0:
        raise ValueError("internal error: array without data")
    return <double*> address


cdef inline unsigned char* _bytes(array) except NULL:
    cdef size_t address = array.__array_interface__['data'][0]
    if address == 0:
        raise ValueError("internal error: array without data")
    return <unsigned char*> address


_LIF_PARAMS = ('cm', 'tau_refrac', 'v_reset', 'v_rest', 'tau_m', 'i_offset', 'v_thresh')
_ADEXP_PARAMS = ('cm', 'tau_refrac', 'v_spike', 'v_reset', 'v_rest', 'tau_m', 'i_offset', 'a',
                 'b', 'delta_T', 'tau_w', 'v_thresh')


def _names(neuron_params, receptor_params, state_fixed, state_prefix, internal_fixed,
           internal_prefixes, n_receptors):
    n_receptors = receptor_count(n_receptors)
    indexed = lambda prefixes: tuple(f"{prefix}_{k}" for prefix in prefixes
                                     for k in range(n_receptors))
    return dict(state_names=tuple(state_fixed) + indexed((state_prefix,)),
                internal_names=tuple(internal_fixed) + indexed(internal_prefixes),
                param_names=tuple(neuron_params) + indexed(receptor_params),
                receptor_names=tuple(f"r{k}" for k in range(n_receptors)))


# ---------------------------------------------------------------------------------------
# LIF with current-based exponential receptors (exact integration)
# ---------------------------------------------------------------------------------------

cdef class LIFCurrExpMulti:
    """Leaky integrate-and-fire neuron with R exponential current receptors.

    PyNN ``PointNeuron(LIF, <label>=CurrExpPostSynapticResponse, ...)``; NEST
    ``iaf_psc_exp_multisynapse``.

    Equations (ms, mV, nA, nF)::

        cm dv/dt    = cm (v_rest - v) / tau_m + sum_k isyn_k + i_offset + i_ext
        d isyn_k/dt = -isyn_k / tau_syn_k          (k = 0 .. R-1)

    A weight w (nA) arriving at receptor k adds w to isyn_k; its sign alone decides whether
    it depolarises or hyperpolarises.

    Integration: exact. With V = v - v_rest and h = dt, one step is::

        V      <- P22 V + sum_k P21_k isyn_k + P20 (i_offset + i_ext)
        isyn_k <- P11_k isyn_k

    with P22 = exp(-h/tau_m), P11_k = exp(-h/tau_syn_k), P20 = tau_m/cm (1 - P22) and P21_k
    the current-to-voltage propagator in its stable expm1 form (valid at tau_syn_k == tau_m).

    Order of operations in step s (NEST's): integrate V unless refractory (else count one
    refractory step down); decay every isyn_k; add the weights arriving in step s; if
    v >= v_thresh spike at (s+1) dt, v = v_reset, refractory for
    refractory_count(tau_refrac, dt) steps. The synaptic currents keep evolving during
    refractoriness.

    Names for R receptors (see ``names``): state v (mV), isyn_0 .. isyn_{R-1} (nA); internal
    refractory_steps; params cm, tau_refrac, v_reset, v_rest, tau_m, i_offset, v_thresh,
    tau_syn_0 .. tau_syn_{R-1}; receptors r0 .. r{R-1}.
    """

    cdef readonly tuple state_names, internal_names, param_names, receptor_names
    cdef readonly int n_receptors
    cdef readonly double dt
    cdef readonly int num_threads
    cdef readonly Py_ssize_t n
    cdef readonly Py_ssize_t k_max
    cdef bint can_record
    cdef Py_ssize_t ring_length
    cdef list _keep
    cdef double** isyn
    cdef double[::1] v, refractory_steps
    cdef const double[::1] v_rest, i_offset
    cdef double[::1] theta, v_reset_relative, p22, p20
    cdef double[:, ::1] p11, p21          # (n, R)
    cdef double[:, ::1] scratch           # (num_threads, R): one neuron's currents
    cdef Py_ssize_t[::1] refractory_counts
    cdef double[:, :, ::1] ring
    cdef const double[:, ::1] i_ext
    cdef unsigned char[:, ::1] spiked
    cdef double[:, :, ::1] rec

    @classmethod
    def names(cls, int n_receptors=1):
        """dict(state_names, internal_names, param_names, receptor_names) for R receptors."""
        return _names(_LIF_PARAMS, ('tau_syn',), ('v',), 'isyn', ('refractory_steps',), (),
                      n_receptors)

    def __cinit__(self):
        self.isyn = NULL

    def __dealloc__(self):
        free(self.isyn)

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1, int n_receptors=1):
        names = type(self).names(n_receptors)
        n, k_max, params, state, ring, i_ext, spiked, rec = checked_arrays(
            f"{type(self).__name__} with {n_receptors} receptors", names, params, state, dt,
            ring, i_ext, spiked, rec, num_threads)
        R = n_receptors
        tau_syn_names = tuple(f"tau_syn_{k}" for k in range(R))
        positive(params, ('cm', 'tau_m') + tau_syn_names)
        non_negative(params, ('tau_refrac',))
        self.state_names = names['state_names']
        self.internal_names = names['internal_names']
        self.param_names = names['param_names']
        self.receptor_names = names['receptor_names']
        self.n_receptors = R
        self.dt = dt
        self.num_threads = num_threads
        self.n = n
        self.k_max = k_max
        self.can_record = rec.shape[0] > 0
        self.ring_length = ring.shape[1]
        self.v = state['v']
        self.refractory_steps = state['refractory_steps']
        self.ring = ring
        self.i_ext = i_ext
        self.spiked = spiked
        self.rec = rec
        self.v_rest = params['v_rest']
        self.i_offset = params['i_offset']
        self._keep = [state[f"isyn_{k}"] for k in range(R)]
        self.isyn = <double**> malloc(R * sizeof(double*))
        if self.isyn == NULL:
            raise MemoryError()
        cdef int r
        for r in range(R):
            self.isyn[r] = _data(self._keep[r]) if n > 0 else NULL
        self.scratch = np.zeros((num_threads, R))

        self.theta = np.empty(n)
        self.v_reset_relative = np.empty(n)
        self.p22 = np.empty(n)
        self.p20 = np.empty(n)
        self.p11 = np.empty((n, R))
        self.p21 = np.empty((n, R))
        self.refractory_counts = np.empty(n, dtype=np.intp)
        cdef const double[::1] cm = params['cm']
        cdef const double[::1] tau_m = params['tau_m']
        cdef const double[::1] tau_refrac = params['tau_refrac']
        cdef const double[::1] v_reset = params['v_reset']
        cdef const double[::1] v_thresh = params['v_thresh']
        cdef const double[::1] tau_syn
        cdef Py_ssize_t i
        for i in range(n):
            self.theta[i] = v_thresh[i] - self.v_rest[i]
            self.v_reset_relative[i] = v_reset[i] - self.v_rest[i]
            self.p22[i] = exp(-dt / tau_m[i])
            self.p20[i] = tau_m[i] / cm[i] * (1.0 - self.p22[i])
            self.refractory_counts[i] = refractory_count(tau_refrac[i], dt)
        for r in range(R):
            tau_syn = params[f"tau_syn_{r}"]
            for i in range(n):
                self.p11[i, r] = exp(-dt / tau_syn[i])
                self.p21[i, r] = current_to_v(tau_syn[i], tau_m[i], cm[i], dt)

    cpdef void update(self, long step0, int K, bint record):
        """Advance every neuron by K steps, the first being global step step0."""
        check_window(step0, K, self.k_max, record, self.can_record, len(self.state_names),
                     self.n)
        cdef double** isyn = self.isyn
        cdef double[::1] v = self.v, refractory_steps = self.refractory_steps
        cdef const double[::1] v_rest = self.v_rest, i_offset = self.i_offset
        cdef double[::1] theta = self.theta, v_reset_relative = self.v_reset_relative
        cdef double[::1] p22 = self.p22, p20 = self.p20
        cdef double[:, ::1] p11 = self.p11, p21 = self.p21, scratch = self.scratch
        cdef Py_ssize_t[::1] refractory_counts = self.refractory_counts
        cdef double[:, :, ::1] ring = self.ring
        cdef const double[:, ::1] i_ext = self.i_ext
        cdef unsigned char[:, ::1] spiked = self.spiked
        cdef double[:, :, ::1] rec = self.rec
        cdef Py_ssize_t ring_length = self.ring_length
        cdef int num_threads = self.num_threads
        cdef int R = self.n_receptors
        cdef Py_ssize_t n = self.n
        cdef Py_ssize_t i, k, slot, refractory
        cdef int r
        cdef double v_now, v_relative, total
        cdef double* current

        if K == 0 or n == 0:
            return
        num_threads = threads_for(num_threads, <double>n * K, MIN_NEURON_STEPS_PER_THREAD, n)
        for i in prange(n, nogil=True, num_threads=num_threads, schedule='static'):
            current = &scratch[threadid(), 0]
            for r in range(R):
                current[r] = isyn[r][i]
            v_now = v[i]
            refractory = <Py_ssize_t>refractory_steps[i]
            for k in range(K):
                slot = (step0 + k) % ring_length
                v_relative = v_now - v_rest[i]
                if refractory == 0:
                    # same association as _lif.IFCurrExp: ((P22 V + P21_0 I_0) + ...) + P20 I
                    total = v_relative * p22[i]
                    for r in range(R):
                        total = total + current[r] * p21[i, r]
                    v_relative = total + (i_offset[i] + i_ext[k, i]) * p20[i]
                else:
                    refractory = refractory - 1
                for r in range(R):
                    current[r] = current[r] * p11[i, r]
                    current[r] = current[r] + ring[r, slot, i]
                    ring[r, slot, i] = 0.0
                if v_relative >= theta[i]:
                    refractory = refractory_counts[i]
                    v_relative = v_reset_relative[i]
                    spiked[k, i] = 1
                else:
                    spiked[k, i] = 0
                v_now = v_rest[i] + v_relative
                if record:
                    rec[0, k, i] = v_now
                    for r in range(R):
                        rec[1 + r, k, i] = current[r]
            v[i] = v_now
            for r in range(R):
                isyn[r][i] = current[r]
            refractory_steps[i] = <double>refractory


# ---------------------------------------------------------------------------------------
# Conductance receptors: right-hand sides and the RKF45 integrator (as in _cond)
# ---------------------------------------------------------------------------------------

ctypedef struct LifNeuron:
    double cm               # nF
    double g_leak           # uS
    double v_rest           # mV
    double v_thresh         # mV
    double v_reset          # mV
    double current          # nA, total injected current during the step
    bint refractory

ctypedef struct AdexNeuron:
    double cm               # nF
    double g_leak           # uS
    double v_rest           # mV
    double v_thresh         # mV, exponential-term midpoint
    double v_spike          # mV, upper bound of V in the right-hand side
    double v_reset          # mV
    double delta_T          # mV (0 disables the exponential term)
    double a_uS             # uS
    double inv_tau_w        # 1/ms
    double current          # nA
    bint refractory

# Receptor constants of one neuron (pointers into its row of the (n, R) tables).
# State layout y = [v, (w,) receptor block]; exponential: g_k at OFF + k; alpha and beta:
# dg_k at OFF + 2k, g_k at OFF + 2k + 1 (OFF = 1 for LIF, 2 for AdExp).
ctypedef struct ExpSynapses:
    int count
    const double* inv_tau       # 1/tau_syn (1/ms)
    const double* e_syn         # mV

ctypedef struct AlphaSynapses:
    int count
    const double* inv_tau       # 1/tau_syn
    const double* e_syn

ctypedef struct BetaSynapses:
    int count
    const double* inv_tau_rise  # 1/ms
    const double* inv_tau_decay # 1/ms
    const double* e_syn

ctypedef fused neuron_t:
    LifNeuron
    AdexNeuron

ctypedef fused synapses_t:
    ExpSynapses
    AlphaSynapses
    BetaSynapses


cdef inline void _derivatives(const neuron_t* p, const synapses_t* s, const double* y,
                              double* f) noexcept nogil:
    """f = dy/dt at y. The membrane sum is accumulated in the order of _cond's two-receptor
    right-hand sides (leak, [spike current], receptor 0, 1, ..., [- w], + current)."""
    cdef int off = 2 if neuron_t is AdexNeuron else 1
    cdef int k, j
    cdef int count = s.count
    cdef const double* e_syn = s.e_syn
    cdef const double* rate_1
    cdef const double* rate_2
    cdef double v, total, g
    if synapses_t is BetaSynapses:
        rate_1 = s.inv_tau_rise
        rate_2 = s.inv_tau_decay
    else:
        rate_1 = s.inv_tau
        rate_2 = s.inv_tau
    if neuron_t is LifNeuron:
        v = p.v_reset if p.refractory else min(y[0], p.v_thresh)
        total = p.g_leak * (p.v_rest - v)
    else:
        v = p.v_reset if p.refractory else min(y[0], p.v_spike)
        if p.delta_T != 0.0:
            total = p.g_leak * (p.v_rest - v) + p.g_leak * p.delta_T * exp(
                (v - p.v_thresh) / p.delta_T)
        else:
            total = p.g_leak * (p.v_rest - v) + 0.0
    for k in range(count):
        if synapses_t is ExpSynapses:
            j = off + k
            g = y[j]
            f[j] = -g * rate_1[k]
        else:
            j = off + 2 * k
            g = y[j + 1]
            f[j] = -y[j] * rate_1[k]
            f[j + 1] = y[j] - g * rate_2[k]
        total = total + g * (e_syn[k] - v)
    if neuron_t is AdexNeuron:
        total = total - y[1]
        f[1] = (p.a_uS * (v - p.v_rest) - y[1]) * p.inv_tau_w
    f[0] = 0.0 if p.refractory else (total + p.current) / p.cm


cdef inline void _fehlberg_step(const neuron_t* p, const synapses_t* s, double* y, double h,
                                const double* k1, double* err, int dim,
                                double* work) noexcept nogil:
    """Advance y in place by one RKF45 step of length h (k1 = dy/dt at y); err = error
    estimate. work holds 6 * dim doubles (k2 .. k6 and the stage vector)."""
    cdef double* k2 = work
    cdef double* k3 = work + dim
    cdef double* k4 = work + 2 * dim
    cdef double* k5 = work + 3 * dim
    cdef double* k6 = work + 4 * dim
    cdef double* stage = work + 5 * dim
    rkf_stage2(stage, y, h, k1, dim)
    _derivatives(p, s, stage, k2)
    rkf_stage3(stage, y, h, k1, k2, dim)
    _derivatives(p, s, stage, k3)
    rkf_stage4(stage, y, h, k1, k2, k3, dim)
    _derivatives(p, s, stage, k4)
    rkf_stage5(stage, y, h, k1, k2, k3, k4, dim)
    _derivatives(p, s, stage, k5)
    rkf_stage6(stage, y, h, k1, k2, k3, k4, k5, dim)
    _derivatives(p, s, stage, k6)
    rkf_finish(y, err, h, k1, k3, k4, k5, k6, dim)


cdef enum:
    WORK_VECTORS = 12    # y, y_start, k1, err, slope_end, abs_tol, k2..k6, stage


cdef void _substep(const neuron_t* p, const synapses_t* s, double* y, double* t,
                   double t_end, double* h, int dim, double* work) noexcept nogil:
    """One accepted adaptive sub-step from t[0] towards t_end (never past it); GSL's control
    as in _cond. Leaves the step length proposed for the next sub-step in h[0]."""
    cdef double* y_start = work + dim
    cdef double* k1 = work + 2 * dim
    cdef double* err = work + 3 * dim
    cdef double* slope_end = work + 4 * dim
    cdef double* abs_tol = work + 5 * dim
    cdef double* stages = work + 6 * dim
    cdef double rel_tol, value_weight, slope_weight, ratio, t_next
    cdef double t_start = t[0]
    cdef double h_try = h[0]
    cdef int j
    if neuron_t is LifNeuron:
        nest_iaf_cond_tolerances(abs_tol, dim, &rel_tol, &value_weight, &slope_weight)
    else:
        nest_aeif_tolerances(abs_tol, dim, &rel_tol, &value_weight, &slope_weight)

    for j in range(dim):
        y_start[j] = y[j]
        slope_end[j] = 0.0
    _derivatives(p, s, y, k1)
    while True:
        h_try = rkf_trial_length(h_try, t_start, t_end, &t_next)
        _fehlberg_step(p, s, y, h_try, k1, err, dim, stages)
        if slope_weight != 0.0:
            _derivatives(p, s, y, slope_end)
        ratio = rkf_error_ratio(err, y, slope_end, abs_tol, rel_tol, value_weight,
                                slope_weight, h_try, dim)
        if rkf_reject(ratio, t_next, &h_try):
            for j in range(dim):
                y[j] = y_start[j]
            continue
        t[0] = t_next
        h[0] = h_try
        return


ctypedef struct Buffers:
    # engine-owned arrays
    double* ring                  # (R, L, n)
    const double* i_ext           # (K_max, n)
    unsigned char* spiked         # (K_max, n)
    double* rec                   # (n_states, K_max, n)
    double** y_state              # dim pointers: the state array of each component of y
    int* rec_index                # n_states indices into y
    double* refractory_steps
    double* integration_step
    # per-neuron constants (n,) and per-receptor constants (n, R)
    const double* cm
    const double* g_leak
    const double* v_rest
    const double* v_thresh
    const double* v_reset
    const double* i_offset
    const double* refractory_counts
    const double* v_spike
    const double* spike_detect
    const double* delta_T
    const double* a_uS
    const double* b
    const double* inv_tau_w
    const double* rate_1          # 1/tau_syn (exp, alpha) or 1/tau_rise (beta)
    const double* rate_2          # 1/tau_decay (beta)
    const double* e_syn
    const double* input_scale     # e/tau_syn (alpha), g0 (beta)
    # sizes
    Py_ssize_t n
    Py_ssize_t ring_length
    Py_ssize_t k_max
    int n_receptors
    int n_states
    int dim
    double dt


cdef void _run_neuron(neuron_t* p, synapses_t* s, const Buffers* c, Py_ssize_t i,
                      long step0, int K, bint record, double* work) noexcept nogil:
    """Advance neuron i by K steps; work holds WORK_VECTORS * dim doubles."""
    cdef int dim = c.dim
    cdef int off = 2 if neuron_t is AdexNeuron else 1
    cdef int R = c.n_receptors
    cdef Py_ssize_t n = c.n
    cdef double* y = work
    cdef double h = c.integration_step[i]
    cdef double t, weight
    cdef double spike_detect = 0.0
    cdef double b = 0.0
    cdef long refractory = <long> c.refractory_steps[i]
    cdef long counts = <long> c.refractory_counts[i]
    cdef Py_ssize_t slot, at
    cdef int k, j, r
    cdef unsigned char fired
    if not h > 0.0:
        h = c.dt
    if neuron_t is AdexNeuron:
        spike_detect = c.spike_detect[i]
        b = c.b[i]
    for j in range(dim):
        y[j] = c.y_state[j][i]
    for k in range(K):
        p.current = c.i_offset[i] + c.i_ext[k * n + i]
        p.refractory = refractory > 0
        fired = 0
        t = 0.0
        if neuron_t is LifNeuron:
            while t < c.dt:
                _substep(p, s, y, &t, c.dt, &h, dim, work)
            if refractory > 0:
                refractory -= 1
                y[0] = p.v_reset
            elif y[0] >= p.v_thresh:
                refractory = counts
                y[0] = p.v_reset
                fired = 1
        else:
            while t < c.dt:
                _substep(p, s, y, &t, c.dt, &h, dim, work)
                if refractory > 0:
                    y[0] = p.v_reset
                elif y[0] >= spike_detect:
                    y[0] = p.v_reset
                    y[1] += b
                    # one extra count because the counter is decremented at the end of the step
                    refractory = counts + 1 if counts > 0 else 0
                    p.refractory = refractory > 0
                    fired = 1
            if refractory > 0:
                refractory -= 1
        slot = (step0 + k) % c.ring_length
        for r in range(R):
            at = (r * c.ring_length + slot) * n + i
            weight = c.ring[at]
            c.ring[at] = 0.0
            if synapses_t is ExpSynapses:
                y[off + r] += weight
            else:
                y[off + 2 * r] += weight * c.input_scale[i * R + r]
        c.spiked[k * n + i] = fired
        if record:
            for j in range(c.n_states):
                c.rec[(j * c.k_max + k) * n + i] = y[c.rec_index[j]]
    for j in range(dim):
        c.y_state[j][i] = y[j]
    c.refractory_steps[i] = <double> refractory
    c.integration_step[i] = h


cdef enum:
    EXP_SYNAPSE = 0
    ALPHA_SYNAPSE = 1
    BETA_SYNAPSE = 2


cdef class _ConductanceMulti:
    """Validation, constants and the parallel driver shared by the conductance kernels.

    Subclasses set the class attributes ``_adaptive`` (AdExp neuron), ``_synapse``
    ('exp', 'alpha' or 'beta') and define ``names``.
    """
    cdef readonly tuple state_names, internal_names, param_names, receptor_names
    cdef readonly int n_receptors
    cdef readonly double dt
    cdef readonly int num_threads
    cdef readonly Py_ssize_t n
    cdef readonly Py_ssize_t k_max
    cdef bint can_record
    cdef bint adaptive
    cdef int synapse
    cdef Buffers c
    cdef dict _keep
    cdef double[:, ::1] work           # (num_threads, WORK_VECTORS * dim)

    _adaptive = False
    _synapse = 'exp'

    @classmethod
    def names(cls, int n_receptors=1):
        """dict(state_names, internal_names, param_names, receptor_names) for R receptors."""
        neuron = _ADEXP_PARAMS if cls._adaptive else _LIF_PARAMS
        receptor = (('tau_rise', 'tau_decay', 'e_syn') if cls._synapse == 'beta'
                    else ('tau_syn', 'e_syn'))
        internal = (('dgsyn',) if cls._synapse in ('alpha', 'beta') else ())
        return _names(neuron, receptor, ('v', 'w') if cls._adaptive else ('v',), 'gsyn',
                      ('refractory_steps', 'integration_step'), internal, n_receptors)

    def __cinit__(self):
        self.c.y_state = NULL
        self.c.rec_index = NULL

    def __dealloc__(self):
        free(self.c.y_state)
        free(self.c.rec_index)

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1, int n_receptors=1):
        cls = type(self)
        names = cls.names(n_receptors)
        n, k_max, params, state, ring, i_ext, spiked, rec = checked_arrays(
            f"{cls.__name__} with {n_receptors} receptors", names, params, state, dt, ring,
            i_ext, spiked, rec, num_threads)
        R = n_receptors
        beta = cls._synapse == 'beta'
        if beta:
            taus = tuple(f"{prefix}_{k}" for prefix in ('tau_rise', 'tau_decay')
                         for k in range(R))
        else:
            taus = tuple(f"tau_syn_{k}" for k in range(R))
        positive(params, ('cm', 'tau_m') + taus + (('tau_w',) if cls._adaptive else ()))
        non_negative(params, ('tau_refrac',) + (('delta_T',) if cls._adaptive else ()))

        self.state_names = names['state_names']
        self.internal_names = names['internal_names']
        self.param_names = names['param_names']
        self.receptor_names = names['receptor_names']
        self.n_receptors = R
        self.dt = dt
        self.num_threads = num_threads
        self.n = n
        self.k_max = k_max
        self.can_record = rec.shape[0] > 0
        self.adaptive = cls._adaptive
        self.synapse = {'exp': EXP_SYNAPSE, 'alpha': ALPHA_SYNAPSE,
                        'beta': BETA_SYNAPSE}[cls._synapse]

        # derived constants, computed as _cond does (numpy, element-wise)
        p = params
        const = dict(cm=p['cm'], g_leak=p['cm'] / p['tau_m'], v_rest=p['v_rest'],
                     v_thresh=p['v_thresh'], v_reset=p['v_reset'], i_offset=p['i_offset'],
                     refractory_counts=rounded_refractory_counts(p['tau_refrac'], dt))
        if cls._adaptive:
            const.update(v_spike=p['v_spike'],
                         spike_detect=np.where(p['delta_T'] > 0.0, p['v_spike'],
                                               p['v_thresh']),
                         delta_T=p['delta_T'], a_uS=p['a'] * 1e-3, b=p['b'],
                         inv_tau_w=1.0 / p['tau_w'])
        if beta:
            tau_rise = np.stack([p[f"tau_rise_{k}"] for k in range(R)], axis=1)
            tau_decay = np.stack([p[f"tau_decay_{k}"] for k in range(R)], axis=1)
            rate_1 = 1.0 / tau_rise
            rate_2 = 1.0 / tau_decay
            scale = np.array([[beta_normalization(tr, td) for tr, td in zip(row_r, row_d)]
                              for row_r, row_d in zip(tau_rise.tolist(), tau_decay.tolist())],
                             dtype=np.float64).reshape(n, R)
        else:
            tau_syn = np.stack([p[f"tau_syn_{k}"] for k in range(R)], axis=1)
            rate_1 = 1.0 / tau_syn
            rate_2 = rate_1
            scale = EULER_E / tau_syn
        const.update(rate_1=rate_1, rate_2=rate_2, input_scale=scale,
                     e_syn=np.stack([p[f"e_syn_{k}"] for k in range(R)], axis=1))
        const = {name: np.ascontiguousarray(value, dtype=np.float64)
                 for name, value in const.items()}

        # component j of y is backed by the state array y_names[j]
        if cls._synapse == 'exp':
            receptor_block = [f"gsyn_{k}" for k in range(R)]
        else:
            receptor_block = [name for k in range(R) for name in (f"dgsyn_{k}", f"gsyn_{k}")]
        y_names = (['v', 'w'] if cls._adaptive else ['v']) + receptor_block
        dim = len(y_names)
        n_states = len(self.state_names)
        self._keep = dict(const=const, state=state, ring=ring, i_ext=i_ext, spiked=spiked,
                          rec=rec)
        self.work = np.zeros((num_threads, WORK_VECTORS * dim))

        self.c.y_state = <double**> malloc(dim * sizeof(double*))
        self.c.rec_index = <int*> malloc(n_states * sizeof(int))
        if self.c.y_state == NULL or self.c.rec_index == NULL:
            raise MemoryError()
        cdef int j
        for j in range(n_states):
            self.c.rec_index[j] = y_names.index(self.state_names[j])
        self.c.n = n
        self.c.ring_length = ring.shape[1]
        self.c.k_max = k_max
        self.c.n_receptors = R
        self.c.n_states = n_states
        self.c.dim = dim
        self.c.dt = dt
        if n == 0:
            for j in range(dim):
                self.c.y_state[j] = NULL
            return
        for j in range(dim):
            self.c.y_state[j] = _data(state[y_names[j]])
        self.c.ring = _data(ring)
        self.c.i_ext = _data(i_ext)
        self.c.spiked = _bytes(spiked)
        self.c.rec = _data(rec) if self.can_record else NULL
        self.c.refractory_steps = _data(state['refractory_steps'])
        self.c.integration_step = _data(state['integration_step'])
        self.c.cm = _data(const['cm'])
        self.c.g_leak = _data(const['g_leak'])
        self.c.v_rest = _data(const['v_rest'])
        self.c.v_thresh = _data(const['v_thresh'])
        self.c.v_reset = _data(const['v_reset'])
        self.c.i_offset = _data(const['i_offset'])
        self.c.refractory_counts = _data(const['refractory_counts'])
        self.c.rate_1 = _data(const['rate_1'])
        self.c.rate_2 = _data(const['rate_2'])
        self.c.e_syn = _data(const['e_syn'])
        self.c.input_scale = _data(const['input_scale'])
        if cls._adaptive:
            self.c.v_spike = _data(const['v_spike'])
            self.c.spike_detect = _data(const['spike_detect'])
            self.c.delta_T = _data(const['delta_T'])
            self.c.a_uS = _data(const['a_uS'])
            self.c.b = _data(const['b'])
            self.c.inv_tau_w = _data(const['inv_tau_w'])

    cpdef void update(self, long step0, int K, bint record):
        """Advance every neuron by K steps, the first being global step step0."""
        check_window(step0, K, self.k_max, record, self.can_record, len(self.state_names),
                     self.n)
        cdef Py_ssize_t i
        cdef double[:, ::1] work = self.work
        if K == 0 or self.n == 0:
            return
        cdef int threads = threads_for(self.num_threads, <double>self.n * K,
                                       MIN_NEURON_STEPS_PER_THREAD / 10.0, self.n)
        for i in prange(self.n, nogil=True, num_threads=threads, schedule='static'):
            self._advance(i, step0, K, record, &work[threadid(), 0])

    cdef void _advance(self, Py_ssize_t i, long step0, int K, bint record,
                       double* work) noexcept nogil:
        cdef LifNeuron lif
        cdef AdexNeuron adex
        cdef const Buffers* c = &self.c
        if self.adaptive:
            adex.cm = c.cm[i]
            adex.g_leak = c.g_leak[i]
            adex.v_rest = c.v_rest[i]
            adex.v_thresh = c.v_thresh[i]
            adex.v_spike = c.v_spike[i]
            adex.v_reset = c.v_reset[i]
            adex.delta_T = c.delta_T[i]
            adex.a_uS = c.a_uS[i]
            adex.inv_tau_w = c.inv_tau_w[i]
            adex.current = 0.0
            adex.refractory = False
            self._with_synapses(&adex, i, step0, K, record, work)
        else:
            lif.cm = c.cm[i]
            lif.g_leak = c.g_leak[i]
            lif.v_rest = c.v_rest[i]
            lif.v_thresh = c.v_thresh[i]
            lif.v_reset = c.v_reset[i]
            lif.current = 0.0
            lif.refractory = False
            self._with_synapses(&lif, i, step0, K, record, work)

    cdef inline void _with_synapses(self, neuron_t* p, Py_ssize_t i, long step0, int K,
                                    bint record, double* work) noexcept nogil:
        cdef ExpSynapses exp_syn
        cdef AlphaSynapses alpha_syn
        cdef BetaSynapses beta_syn
        cdef const Buffers* c = &self.c
        cdef Py_ssize_t row = i * c.n_receptors
        if self.synapse == EXP_SYNAPSE:
            exp_syn.count = c.n_receptors
            exp_syn.inv_tau = c.rate_1 + row
            exp_syn.e_syn = c.e_syn + row
            _run_neuron(p, &exp_syn, c, i, step0, K, record, work)
        elif self.synapse == ALPHA_SYNAPSE:
            alpha_syn.count = c.n_receptors
            alpha_syn.inv_tau = c.rate_1 + row
            alpha_syn.e_syn = c.e_syn + row
            _run_neuron(p, &alpha_syn, c, i, step0, K, record, work)
        else:
            beta_syn.count = c.n_receptors
            beta_syn.inv_tau_rise = c.rate_1 + row
            beta_syn.inv_tau_decay = c.rate_2 + row
            beta_syn.e_syn = c.e_syn + row
            _run_neuron(p, &beta_syn, c, i, step0, K, record, work)


cdef class LIFCondExpMulti(_ConductanceMulti):
    """Leaky integrate-and-fire neuron with R exponential conductance receptors.

    PyNN ``PointNeuron(LIF, <label>=CondExpPostSynapticResponse, ...)``; NEST ``iaf_cond_exp``
    generalised to R receptors (NEST has no such multisynapse model).

        cm dv/dt  = cm / tau_m (v_rest - V) + sum_k g_k (e_syn_k - V) + i_offset + i_ext
        dg_k/dt   = -g_k / tau_syn_k,        V = min(v, v_thresh)

    A weight w (uS) arriving at receptor k in step s is added to g_k at the end of step s.
    RKF45 with NEST's iaf_cond tolerances; v >= v_thresh at the end of a step -> spike,
    v = v_reset held for round(tau_refrac / dt) steps (conductances keep evolving).

    Names for R receptors: state v (mV), gsyn_0 .. (uS); internal refractory_steps,
    integration_step (ms); params cm, tau_refrac, v_reset, v_rest, tau_m, i_offset,
    v_thresh, tau_syn_0 .., e_syn_0 ..; receptors r0 ...
    """
    _adaptive = False
    _synapse = 'exp'


cdef class LIFCondAlphaMulti(_ConductanceMulti):
    """Leaky integrate-and-fire neuron with R alpha-shaped conductance receptors.

    As LIFCondExpMulti, with (NEST ``iaf_cond_alpha`` generalised to R receptors)::

        d(dg_k)/dt = -dg_k / tau_syn_k,    dg_k/dt = dg_k - g_k / tau_syn_k

    a weight w (uS) adds w e / tau_syn_k to dg_k at the end of its step, giving
    g_k(t) = w (t / tau_syn_k) exp(1 - t / tau_syn_k), peak w at t = tau_syn_k.
    Internal state also dgsyn_0 .. dgsyn_{R-1} (uS/ms).
    """
    _adaptive = False
    _synapse = 'alpha'


cdef class LIFCondBetaMulti(_ConductanceMulti):
    """Leaky integrate-and-fire neuron with R beta-shaped (difference of exponentials)
    conductance receptors.

    As LIFCondAlphaMulti with d(dg_k)/dt = -dg_k / tau_rise_k, dg_k/dt = dg_k - g_k /
    tau_decay_k and dg_k += w g0_k (see ``beta_normalization``): the conductance peaks at w.
    Params per receptor: tau_rise_k, tau_decay_k (ms), e_syn_k (mV).
    """
    _adaptive = False
    _synapse = 'beta'


cdef class AdExpCondExpMulti(_ConductanceMulti):
    """Adaptive exponential integrate-and-fire neuron with R exponential conductances.

    PyNN ``PointNeuron(AdExp, <label>=CondExpPostSynapticResponse, ...)``; NEST
    ``aeif_cond_exp`` generalised to R receptors.

        cm dv/dt    = g_leak (v_rest - V) + g_leak delta_T exp((V - v_thresh) / delta_T)
                      + sum_k g_k (e_syn_k - V) - w + i_offset + i_ext
        tau_w dw/dt = a (V - v_rest) - w,      dg_k/dt = -g_k / tau_syn_k
        V = min(v, v_spike),   g_leak = cm / tau_m

    RKF45 with NEST's aeif tolerances; v >= v_spike (v_thresh if delta_T == 0) is tested
    after every accepted sub-step: v = v_reset, w += b, clamp for the rest of the step and
    round(tau_refrac / dt) more steps. Units: a in nS, b and w in nA.

    Names for R receptors: state v (mV), w (nA), gsyn_0 .. (uS); internal refractory_steps,
    integration_step; params cm, tau_refrac, v_spike, v_reset, v_rest, tau_m, i_offset, a,
    b, delta_T, tau_w, v_thresh, tau_syn_0 .., e_syn_0 ..; receptors r0 ...
    """
    _adaptive = True
    _synapse = 'exp'


cdef class AdExpCondAlphaMulti(_ConductanceMulti):
    """Adaptive exponential integrate-and-fire neuron with R alpha-shaped conductances.

    NEST ``aeif_cond_alpha_multisynapse``. As AdExpCondExpMulti with the alpha receptors of
    LIFCondAlphaMulti (dg_k += w e / tau_syn_k; peak w at tau_syn_k); internal state also
    dgsyn_0 .. dgsyn_{R-1} (uS/ms).
    """
    _adaptive = True
    _synapse = 'alpha'


cdef class AdExpCondBetaMulti(_ConductanceMulti):
    """Adaptive exponential integrate-and-fire neuron with R beta-shaped conductances.

    NEST ``aeif_cond_beta_multisynapse``. As AdExpCondExpMulti with the beta receptors of
    LIFCondBetaMulti (params tau_rise_k, tau_decay_k, e_syn_k; peak w).
    """
    _adaptive = True
    _synapse = 'beta'
