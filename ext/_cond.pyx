# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Conductance-based point-neuron kernels integrated with adaptive Runge-Kutta-Fehlberg 4(5).

Units are PyNN's throughout: ms, mV, nA, nF, uS (``a`` of the AdEx models is given in nS, as in
PyNN, and converted to uS once). Synaptic conductances are driven by weights in uS; the
inhibitory receptor takes positive conductance increments.

Models
------
Leaky integrate-and-fire with conductance synapses (``IFCondExp``, ``IFCondAlpha``)::

    cm dv/dt = g_leak (v_rest - V) + g_exc (e_rev_E - V) + g_inh (e_rev_I - V) + I
    g_leak   = cm / tau_m,   V = min(v, v_thresh),   I = i_offset + i_injected

Exponential synapses: ``dg/dt = -g / tau_syn``; a weight ``w`` arriving at step ``s`` is added
to ``g`` at the end of step ``s``. Alpha synapses use a second state ``dg`` (uS/ms)::

    d(dg)/dt = -dg / tau_syn,        dg/dt = dg - g / tau_syn

and an arriving weight is added as ``dg += w e / tau_syn``, which gives the conductance
``w (t / tau_syn) exp(1 - t / tau_syn)`` with peak ``w`` at ``t = tau_syn``.
Spike when ``v >= v_thresh`` at the end of a step; then ``v = v_reset`` and, for
``round(tau_refrac / dt)`` further steps, ``v`` is held at ``v_reset`` (dv/dt = 0, synaptic
currents evaluated at ``v_reset``) while the conductances keep evolving.

Leaky integrate-and-fire with spike-frequency adaptation and relative refractoriness
(``IFCondExpGsfaGrr``; Muller et al. 2007, NEST iaf_cond_exp_sfa_rr): ``IFCondExp`` with two
more conductances, in nS as PyNN gives them, that a spike raises and that then decay::

    cm dv/dt = g_leak (v_rest - V) + g_exc (e_rev_E - V) + g_inh (e_rev_I - V) + I
               + 1e-3 (g_s (e_rev_sfa - V) + g_r (e_rev_rr - V))
    dg_s/dt = -g_s / tau_sfa,   dg_r/dt = -g_r / tau_rr
    on a spike: g_s += q_sfa, g_r += q_rr

With g_s = g_r = 0 (q_sfa = q_rr = 0) every operation of ``IFCondExp`` is done in the same
order and the adaptation adds an exact zero: the same bits as ``IFCondExp``.

Generalized integrate-and-fire (``GIFCondExp``; Mensi et al. 2012, Pozzorini et al. 2015,
NEST gif_cond_exp) with stochastic spiking: ``IFCondExp``'s membrane and synapses (no clamp
of V) with a spike-triggered current eta and a moving threshold gamma, each a sum of
exponentials that a spike raises::

    cm dv/dt = g_leak (v_rest - v) + g_exc (e_rev_E - v) + g_inh (e_rev_I - v) + I - i_eta
    i_eta = sum_k eta_k,  tau_eta_k deta_k/dt = -eta_k,  on a spike eta_k += a_eta_k
    v_t = v_t_star + sum_k gamma_k,  tau_gamma_k dgamma_k/dt = -gamma_k,  gamma_k += a_gamma_k

In NEST's order, a step first takes i_eta and v_t from the elements and decays the elements
by exp(-dt / tau), then integrates v (i_eta held), adds the synaptic input and, unless
refractory, spikes with probability 1 - exp(-lambda0 exp((v - v_t) / delta_v) dt) (lambda0
in Hz); a spike starts round(tau_refrac / dt) refractory steps, at the end of each of
which v is set to v_reset (the spike step itself leaves v as it is, as NEST does). The
uniform number of neuron i at step s is the counter-based (seed, i, s).

Adaptive exponential integrate-and-fire (``EIFCondExp``, ``EIFCondAlpha``)::

    cm dv/dt  = g_leak (v_rest - V) + g_leak delta_T exp((V - v_thresh) / delta_T)
                + g_exc (e_rev_E - V) + g_inh (e_rev_I - V) - w + I
    tau_w dw/dt = a (V - v_rest) - w                         (w in nA, a in nS -> 1e-3 uS)
    V = min(v, v_spike)

with the same synapses as above. The spike condition ``v >= v_spike`` (``v >= v_thresh`` if
``delta_T == 0``, when the exponential term is dropped) is checked after every accepted
Runge-Kutta sub-step, not only at the end of the step: on a spike ``v = v_reset`` and
``w += b``, and the refractory clamp starts at once, for the rest of this step and
``round(tau_refrac / dt)`` more steps. With ``tau_refrac`` shorter than half a step a neuron
can cross ``v_spike`` more than once in one step; each crossing adds ``b`` to ``w`` and the
step is marked as spiking once.

Hodgkin-Huxley after Traub and Miles (``HHCondExp``)::

    cm dv/dt = -gbar_Na m^3 h (v - e_rev_Na) - gbar_K n^4 (v - e_rev_K)
               - g_leak (v - e_rev_leak) + g_exc (e_rev_E - v) + g_inh (e_rev_I - v) + I
    dx/dt    = alpha_x(u) (1 - x) - beta_x(u) x     for x in (m, h, n),   u = v - v_offset

    alpha_m = 0.32 (13 - u) / (exp((13 - u) / 4) - 1)
    beta_m  = 0.28 (u - 40) / (exp((u - 40) / 5) - 1)
    alpha_h = 0.128 exp((17 - u) / 18)
    beta_h  = 4 / (1 + exp((40 - u) / 5))
    alpha_n = 0.032 (15 - u) / (exp((15 - u) / 5) - 1)
    beta_n  = 0.5 exp((10 - u) / 40)

(rates in 1/ms, exponential synapses). There is no reset: a spike is emitted at the end of a
step when ``v >= v_offset + 30 mV`` and ``v`` has fallen during the step (the peak of the
action potential has passed), unless a spike was emitted within the previous 2 ms
(``round(2 ms / dt)`` steps; NEST's default ``t_ref`` of ``hh_cond_exp_traub``, which PyNN does
not expose).

Integration scheme
------------------
Each step ``[s dt, (s+1) dt)`` is covered by one or more sub-steps of the embedded
Runge-Kutta-Fehlberg 4(5) pair; the fifth-order solution is propagated and the difference to
the fourth-order one is the local error estimate ``err``. A sub-step of length ``h`` is
accepted unless ``max_j |err_j| / D_j > 1.1`` with
``D_j = abs_tol_j + rel_tol (c_y |y_j| + c_f |h dy_j/dt|)``; on rejection ``h`` shrinks by
``max(0.2, 0.9 r^(-1/5))`` and the sub-step is retried, after acceptance with ``r < 0.5`` the
next ``h`` grows by ``min(5, 0.9 r^(-1/6))``. The last sub-step of a step is cut to end on the
step boundary, and the proposed ``h`` is carried over to the next step per neuron
(``integration_step`` state, 0 meaning ``dt``). This is the step-size control that NEST applies
through GSL to the same models, with NEST's tolerances translated to PyNN units:

    IFCond*:   abs 1e-3 mV on v and 1e-3 nS (= 1e-6 uS) on conductances, rel 0
               (IFCondExpGsfaGrr: 1e-3 on g_s and g_r, which are in nS)
    EIFCond*:  abs 1e-6 mV / 1e-6 nS / 1e-6 pA, rel 1e-6 with c_y = 0, c_f = 1
    HHCondExp: abs 1e-3 on v (mV), m, h, n and 1e-3 nS on conductances, rel 0

Every step of every neuron does the same arithmetic whatever the number of threads or how a
run is split into ``update`` calls, so results are bit-identical across both.

Update order within a step (as in NEST): integrate with the current injected during the step,
then handle refractoriness / spikes, then add the synaptic input that arrived during the step
(for exponential synapses NEST adds it before the threshold test; the order does not matter
because the conductances do not enter the test), then record.
"""

import numpy as np

from cython.parallel cimport prange
from libc.float cimport DBL_MIN
from libc.math cimport exp, expm1, fabs, INFINITY
from libc.stdint cimport uint64_t
from _random cimport uniform_open

from _kernel_common cimport (DOUBLE_MAX, EULER_E, NEURON_BLOCK, block_count, block_size,
                             copy_flags, copy_values, load_steps, nest_aeif_tolerances,
                             nest_iaf_cond_tolerances, next_slot, rkf_error, rkf_error_ratio,
                             rkf_error_term, rkf_finish, rkf_reject, rkf_stage2, rkf_stage3,
                             rkf_stage4, rkf_stage5, rkf_stage6, rkf_trial_length, rkf_y2,
                             rkf_y3, rkf_y4, rkf_y5, rkf_y6, rkf_y_next, take_input,
                             threads_for)
from pyNN_neuro.engine._checks import (check_dt_and_threads, check_window, io_array,
                                       non_negative, parameter_vector, positive,
                                       rounded_refractory_counts, state_vector)

cdef enum:
    MAX_DIM = 6   # largest state vector integrated by RKF45 (EIFCondAlpha, HHCondExp)

cdef double HH_REFRACTORY_MS = 2.0   # NEST hh_cond_exp_traub default t_ref
# a thread is started for at least this many neuron-steps of a window (about 100 us)
cdef double MIN_NEURON_STEPS_PER_THREAD = 5000.0


# --------------------------------------------------------------------------------------------
# Per-neuron constants seen by the right-hand sides (one struct per model, so that the
# integrator below is compiled once per model with its right-hand side inlined).
# --------------------------------------------------------------------------------------------

ctypedef struct IafExpNeuron:
    double cm               # nF
    double g_leak           # uS
    double v_rest           # mV
    double e_rev_E          # mV
    double e_rev_I          # mV
    double inv_tau_syn_E    # 1/ms
    double inv_tau_syn_I    # 1/ms
    double v_thresh         # mV
    double v_reset          # mV
    double current          # nA, total injected current during the step
    bint refractory

ctypedef struct IafSfaRrNeuron:
    double cm               # nF
    double g_leak           # uS
    double v_rest           # mV
    double e_rev_E          # mV
    double e_rev_I          # mV
    double e_rev_sfa        # mV
    double e_rev_rr         # mV
    double inv_tau_syn_E    # 1/ms
    double inv_tau_syn_I    # 1/ms
    double inv_tau_sfa      # 1/ms
    double inv_tau_rr       # 1/ms
    double v_thresh         # mV
    double v_reset          # mV
    double current          # nA
    bint refractory

ctypedef struct IafAlphaNeuron:
    double cm
    double g_leak
    double v_rest
    double e_rev_E
    double e_rev_I
    double inv_tau_syn_E
    double inv_tau_syn_I
    double v_thresh
    double v_reset
    double current
    bint refractory

ctypedef struct AdexExpNeuron:
    double cm               # nF
    double g_leak           # uS
    double v_rest           # mV
    double e_rev_E          # mV
    double e_rev_I          # mV
    double inv_tau_syn_E    # 1/ms
    double inv_tau_syn_I    # 1/ms
    double v_thresh         # mV, exponential-term midpoint
    double v_spike          # mV, upper bound on V in the right-hand side
    double v_reset          # mV
    double delta_T          # mV (0 disables the exponential term)
    double a_uS             # uS
    double inv_tau_w        # 1/ms
    double current          # nA
    bint refractory

ctypedef struct AdexAlphaNeuron:
    double cm
    double g_leak
    double v_rest
    double e_rev_E
    double e_rev_I
    double inv_tau_syn_E
    double inv_tau_syn_I
    double v_thresh
    double v_spike
    double v_reset
    double delta_T
    double a_uS
    double inv_tau_w
    double current
    bint refractory

ctypedef struct HodgkinHuxleyNeuron:
    double cm               # nF
    double gbar_Na          # uS
    double gbar_K           # uS
    double g_leak           # uS
    double v_offset         # mV
    double e_rev_Na         # mV
    double e_rev_K          # mV
    double e_rev_leak       # mV
    double e_rev_E          # mV
    double e_rev_I          # mV
    double inv_tau_syn_E    # 1/ms
    double inv_tau_syn_I    # 1/ms
    double current          # nA

ctypedef fused neuron_t:
    IafExpNeuron
    IafSfaRrNeuron
    IafAlphaNeuron
    AdexExpNeuron
    AdexAlphaNeuron
    HodgkinHuxleyNeuron


# State vector layouts (indices into y).
cdef enum:
    V = 0
    # exponential-synapse models: [v, g_exc, g_inh, (w)]
    EXP_G_EXC = 1
    EXP_G_INH = 2
    EXP_W = 3
    # IFCondExpGsfaGrr: [v, g_exc, g_inh, g_s, g_r] (g_s, g_r in nS)
    SFA_G_S = 3
    SFA_G_R = 4
    # alpha-synapse models: [v, dg_exc, g_exc, dg_inh, g_inh, (w)]
    ALPHA_DG_EXC = 1
    ALPHA_G_EXC = 2
    ALPHA_DG_INH = 3
    ALPHA_G_INH = 4
    ALPHA_W = 5
    # Hodgkin-Huxley: [v, g_exc, g_inh, m, h, n]
    HH_M = 3
    HH_H = 4
    HH_N = 5


cdef inline double _rate_ratio(double x, double k) noexcept nogil:
    """x / (exp(x / k) - 1), continuous through its removable singularity at x = 0."""
    if fabs(x) < 1e-9 * k:
        return k - 0.5 * x
    return x / (exp(x / k) - 1.0)


ctypedef fused iaf_t:
    IafExpNeuron
    IafAlphaNeuron
    IafSfaRrNeuron


cdef inline double _iaf_dv(const iaf_t* p, double v_state, double g_exc,
                           double g_inh) noexcept nogil:
    """dv/dt of the leaky integrate-and-fire membrane (0 while refractory)."""
    cdef double v = p.v_reset if p.refractory else min(v_state, p.v_thresh)
    return 0.0 if p.refractory else (
        p.g_leak * (p.v_rest - v) + g_exc * (p.e_rev_E - v)
        + g_inh * (p.e_rev_I - v) + p.current) / p.cm


cdef inline void _iaf_alpha_derivatives(const IafAlphaNeuron* p, const double* y,
                                        double* f) noexcept nogil:
    f[V] = _iaf_dv(p, y[V], y[ALPHA_G_EXC], y[ALPHA_G_INH])
    f[ALPHA_DG_EXC] = -y[ALPHA_DG_EXC] * p.inv_tau_syn_E
    f[ALPHA_G_EXC] = y[ALPHA_DG_EXC] - y[ALPHA_G_EXC] * p.inv_tau_syn_E
    f[ALPHA_DG_INH] = -y[ALPHA_DG_INH] * p.inv_tau_syn_I
    f[ALPHA_G_INH] = y[ALPHA_DG_INH] - y[ALPHA_G_INH] * p.inv_tau_syn_I


cdef inline void _derivatives(const neuron_t* p, const double* y, double* f) noexcept nogil:
    """Right-hand side f = dy/dt of the model's ODE at state y (time-invariant within a step)."""
    cdef double v, i_syn, i_spike, u, m, h, n
    cdef double alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n
    if neuron_t is IafExpNeuron:
        f[V] = _iaf_dv(p, y[V], y[EXP_G_EXC], y[EXP_G_INH])
        f[EXP_G_EXC] = -y[EXP_G_EXC] * p.inv_tau_syn_E
        f[EXP_G_INH] = -y[EXP_G_INH] * p.inv_tau_syn_I
    elif neuron_t is IafAlphaNeuron:
        _iaf_alpha_derivatives(p, y, f)
    elif neuron_t is IafSfaRrNeuron:
        # IFCondExp's sum in its order, then the adaptation (nS -> uS)
        v = p.v_reset if p.refractory else min(y[V], p.v_thresh)
        f[V] = 0.0 if p.refractory else (
            p.g_leak * (p.v_rest - v) + y[EXP_G_EXC] * (p.e_rev_E - v)
            + y[EXP_G_INH] * (p.e_rev_I - v) + p.current
            + 1e-3 * (y[SFA_G_S] * (p.e_rev_sfa - v) + y[SFA_G_R] * (p.e_rev_rr - v))) / p.cm
        f[EXP_G_EXC] = -y[EXP_G_EXC] * p.inv_tau_syn_E
        f[EXP_G_INH] = -y[EXP_G_INH] * p.inv_tau_syn_I
        f[SFA_G_S] = -y[SFA_G_S] * p.inv_tau_sfa
        f[SFA_G_R] = -y[SFA_G_R] * p.inv_tau_rr
    elif neuron_t is AdexExpNeuron:
        v = p.v_reset if p.refractory else min(y[V], p.v_spike)
        i_spike = 0.0
        if p.delta_T != 0.0:
            i_spike = p.g_leak * p.delta_T * exp((v - p.v_thresh) / p.delta_T)
        f[V] = 0.0 if p.refractory else (
            p.g_leak * (p.v_rest - v) + i_spike + y[EXP_G_EXC] * (p.e_rev_E - v)
            + y[EXP_G_INH] * (p.e_rev_I - v) - y[EXP_W] + p.current) / p.cm
        f[EXP_G_EXC] = -y[EXP_G_EXC] * p.inv_tau_syn_E
        f[EXP_G_INH] = -y[EXP_G_INH] * p.inv_tau_syn_I
        f[EXP_W] = (p.a_uS * (v - p.v_rest) - y[EXP_W]) * p.inv_tau_w
    elif neuron_t is AdexAlphaNeuron:
        v = p.v_reset if p.refractory else min(y[V], p.v_spike)
        i_spike = 0.0
        if p.delta_T != 0.0:
            i_spike = p.g_leak * p.delta_T * exp((v - p.v_thresh) / p.delta_T)
        f[V] = 0.0 if p.refractory else (
            p.g_leak * (p.v_rest - v) + i_spike + y[ALPHA_G_EXC] * (p.e_rev_E - v)
            + y[ALPHA_G_INH] * (p.e_rev_I - v) - y[ALPHA_W] + p.current) / p.cm
        f[ALPHA_DG_EXC] = -y[ALPHA_DG_EXC] * p.inv_tau_syn_E
        f[ALPHA_G_EXC] = y[ALPHA_DG_EXC] - y[ALPHA_G_EXC] * p.inv_tau_syn_E
        f[ALPHA_DG_INH] = -y[ALPHA_DG_INH] * p.inv_tau_syn_I
        f[ALPHA_G_INH] = y[ALPHA_DG_INH] - y[ALPHA_G_INH] * p.inv_tau_syn_I
        f[ALPHA_W] = (p.a_uS * (v - p.v_rest) - y[ALPHA_W]) * p.inv_tau_w
    else:
        v = y[V]
        m = y[HH_M]
        h = y[HH_H]
        n = y[HH_N]
        f[V] = (p.gbar_Na * m * m * m * h * (p.e_rev_Na - v)
                + p.gbar_K * n * n * n * n * (p.e_rev_K - v)
                + p.g_leak * (p.e_rev_leak - v)
                + y[EXP_G_EXC] * (p.e_rev_E - v) + y[EXP_G_INH] * (p.e_rev_I - v)
                + p.current) / p.cm
        u = v - p.v_offset
        alpha_m = 0.32 * _rate_ratio(13.0 - u, 4.0)
        beta_m = 0.28 * _rate_ratio(u - 40.0, 5.0)
        alpha_h = 0.128 * exp((17.0 - u) / 18.0)
        beta_h = 4.0 / (1.0 + exp((40.0 - u) / 5.0))
        alpha_n = 0.032 * _rate_ratio(15.0 - u, 5.0)
        beta_n = 0.5 * exp((10.0 - u) / 40.0)
        f[HH_M] = alpha_m - (alpha_m + beta_m) * m
        f[HH_H] = alpha_h - (alpha_h + beta_h) * h
        f[HH_N] = alpha_n - (alpha_n + beta_n) * n
        f[EXP_G_EXC] = -y[EXP_G_EXC] * p.inv_tau_syn_E
        f[EXP_G_INH] = -y[EXP_G_INH] * p.inv_tau_syn_I


cdef inline int _error_scale(const neuron_t* p, double* abs_tol, double* rel_tol,
                             double* value_weight, double* slope_weight) noexcept nogil:
    """Fill the per-component absolute tolerances (PyNN units) and the weights of |y| and
    |h dy/dt| in the relative tolerance; return the state dimension."""
    if neuron_t is IafExpNeuron or neuron_t is IafAlphaNeuron:
        nest_iaf_cond_tolerances(abs_tol, MAX_DIM, rel_tol, value_weight, slope_weight)
        return 3 if neuron_t is IafExpNeuron else 5
    elif neuron_t is IafSfaRrNeuron:
        # NEST's 1e-3 on every component in mV / nS: g_s and g_r are kept in nS
        nest_iaf_cond_tolerances(abs_tol, MAX_DIM, rel_tol, value_weight, slope_weight)
        abs_tol[SFA_G_S] = 1e-3
        abs_tol[SFA_G_R] = 1e-3
        return 5
    elif neuron_t is AdexExpNeuron or neuron_t is AdexAlphaNeuron:
        nest_aeif_tolerances(abs_tol, MAX_DIM, rel_tol, value_weight, slope_weight)
        return 4 if neuron_t is AdexExpNeuron else 6
    else:
        rel_tol[0] = 0.0
        value_weight[0] = 1.0
        slope_weight[0] = 0.0
        abs_tol[V] = 1e-3
        abs_tol[EXP_G_EXC] = 1e-6
        abs_tol[EXP_G_INH] = 1e-6
        abs_tol[HH_M] = 1e-3
        abs_tol[HH_H] = 1e-3
        abs_tol[HH_N] = 1e-3
        return 6


cdef inline void _fehlberg_step(const neuron_t* p, double* y, double h, const double* k1,
                                double* err, int dim) noexcept nogil:
    """Advance y in place by one RKF45 step of length h (k1 = dy/dt at y); err = error estimate."""
    cdef double k2[MAX_DIM]
    cdef double k3[MAX_DIM]
    cdef double k4[MAX_DIM]
    cdef double k5[MAX_DIM]
    cdef double k6[MAX_DIM]
    cdef double stage[MAX_DIM]
    rkf_stage2(stage, y, h, k1, dim)
    _derivatives(p, stage, k2)
    rkf_stage3(stage, y, h, k1, k2, dim)
    _derivatives(p, stage, k3)
    rkf_stage4(stage, y, h, k1, k2, k3, dim)
    _derivatives(p, stage, k4)
    rkf_stage5(stage, y, h, k1, k2, k3, k4, dim)
    _derivatives(p, stage, k5)
    rkf_stage6(stage, y, h, k1, k2, k3, k4, k5, dim)
    _derivatives(p, stage, k6)
    rkf_finish(y, err, h, k1, k3, k4, k5, k6, dim)


cdef void _substep(const neuron_t* p, double* y, double* t, double t_end,
                   double* h) noexcept nogil:
    """One accepted adaptive sub-step from t[0] towards t_end (never past it).

    Tries h[0] (cut to t_end - t[0] if longer), shrinks and retries while the error is too
    large, then advances t[0] and leaves the step length proposed for the next sub-step in h[0].
    """
    cdef double y_start[MAX_DIM]
    cdef double k1[MAX_DIM]
    cdef double err[MAX_DIM]
    cdef double slope_end[MAX_DIM]
    cdef double abs_tol[MAX_DIM]
    cdef double rel_tol, value_weight, slope_weight, ratio, t_next
    cdef double t_start = t[0]
    cdef double h_try = h[0]
    cdef int j
    cdef int dim = _error_scale(p, abs_tol, &rel_tol, &value_weight, &slope_weight)

    for j in range(dim):
        y_start[j] = y[j]
        slope_end[j] = 0.0
    _derivatives(p, y, k1)
    while True:
        h_try = rkf_trial_length(h_try, t_start, t_end, &t_next)
        _fehlberg_step(p, y, h_try, k1, err, dim)
        if slope_weight != 0.0:
            _derivatives(p, y, slope_end)
        ratio = rkf_error_ratio(err, y, slope_end, abs_tol, rel_tol, value_weight,
                                slope_weight, h_try, dim)
        if rkf_reject(ratio, t_next, &h_try):
            for j in range(dim):
                y[j] = y_start[j]
            continue
        t[0] = t_next
        h[0] = h_try
        return


cdef inline void _integrate_step(const neuron_t* p, double* y, double dt,
                                 double* h) noexcept nogil:
    """Integrate y over one simulation step [0, dt] with adaptive sub-steps."""
    cdef double t = 0.0
    while t < dt:
        _substep(p, y, &t, dt, h)


# --------------------------------------------------------------------------------------------
# Whole-block steps of the leaky integrate-and-fire models
#
# Between spikes the step control nearly always proposes a sub-step at least as long as dt,
# and then a step is a single Fehlberg step of length dt whose error ratio is at most 1.1.
# IFCondExp and IFCondAlpha therefore try exactly that step for every neuron of a block at
# once (``_iaf_exp_trial``, ``_iaf_alpha_trial``: straight-line code that the compiler
# vectorises across neurons), keep it where the adaptive integrator would have kept it
# (proposal >= dt and ratio <= 1.1), and run the adaptive integrator, unchanged, from the
# saved state for the other neurons. The stage, error and right-hand-side formulas are
# those of the adaptive path (``rkf_y2`` ... ``rkf_error_term``, ``_iaf_dv``), so every
# neuron does the same floating-point operations as before and the results are the same
# to the bit.
# --------------------------------------------------------------------------------------------

# Below this error ratio GSL's growth factor 0.9 ratio**(-1/6) exceeds its cap 5 by far more
# than rounding (0.18**6 is where it equals 5), so the next proposal is exactly 5 dt and
# no pow() is needed.
cdef double GROWTH_CAPPED_RATIO = 0.18 ** 6 * (1.0 - 1e-9)
# The vectorised trial estimates the error ratio with multiplications by 1 / abs_tol
# (within 4e-16 of the divided value); the exact ratio is computed, from the kept error
# terms, only where the estimate lies within this relative margin of the acceptance limit
# 1.1, or where the proposal for the next sub-step has to be exact.
cdef double RATIO_MARGIN = 1e-12
cdef double SURELY_ACCEPTED = 1.1 * (1.0 - RATIO_MARGIN)
cdef double SURELY_REJECTED = 1.1 * (1.0 + RATIO_MARGIN)


cdef inline double _accepted_proposal(double ratio, double dt) noexcept nogil:
    """The sub-step GSL's control proposes after accepting a step of length dt with error
    ratio <= 1.1."""
    cdef double h = dt
    if ratio < GROWTH_CAPPED_RATIO:
        return 5.0 * dt
    rkf_reject(ratio, dt, &h)
    return h


cdef inline double _ratio_estimate(double estimate, double err, double y,
                                   double inverse_tol) noexcept nogil:
    """The running maximum of |err| / abs_tol, estimated by a multiplication; +inf for a
    non-finite component (the exact ratio is then not a plain maximum: such a neuron
    takes the adaptive path)."""
    cdef double r = fabs(err) * inverse_tol
    if not fabs(y) <= DOUBLE_MAX:
        return INFINITY
    return r if r > estimate else estimate


cdef inline double _exact_ratio(const double* trial, const double* err, Py_ssize_t b, int dim,
                                const double* abs_tol, double rel_tol, double value_weight,
                                double slope_weight, double h) noexcept nogil:
    """``rkf_error_ratio`` of lane b from the kept state and error terms (component j of
    lane b at [j * NEURON_BLOCK + b]; no slope term: the iaf tolerances do not weigh it)."""
    cdef double ratio = DBL_MIN
    cdef double r
    cdef int j
    for j in range(dim):
        r = rkf_error_term(err[j * NEURON_BLOCK + b], trial[j * NEURON_BLOCK + b], 0.0,
                           abs_tol[j], rel_tol, value_weight, slope_weight, h)
        if r > ratio:
            ratio = r
    return ratio


cdef inline double _iaf_exp_trial(const IafExpNeuron* p, double h, double v, double g_exc,
                                  double g_inh, const double* inverse_tol, double* trial,
                                  double* err, Py_ssize_t b) noexcept nogil:
    """One Fehlberg step of length h of IFCondExp from (v, g_exc, g_inh) for lane b: the new
    state and the error terms in trial / err (component j at [j * NEURON_BLOCK + b]), the
    estimated error ratio returned."""
    cdef double ie = p.inv_tau_syn_E, ii = p.inv_tau_syn_I
    cdef double k1v, k1e, k1i, k2v, k2e, k2i, k3v, k3e, k3i, k4v, k4e, k4i
    cdef double k5v, k5e, k5i, k6v, k6e, k6i, sv, se, si, estimate
    k1v = _iaf_dv(p, v, g_exc, g_inh)
    k1e = -g_exc * ie
    k1i = -g_inh * ii
    sv = rkf_y2(v, h, k1v)
    se = rkf_y2(g_exc, h, k1e)
    si = rkf_y2(g_inh, h, k1i)
    k2v = _iaf_dv(p, sv, se, si)
    k2e = -se * ie
    k2i = -si * ii
    sv = rkf_y3(v, h, k1v, k2v)
    se = rkf_y3(g_exc, h, k1e, k2e)
    si = rkf_y3(g_inh, h, k1i, k2i)
    k3v = _iaf_dv(p, sv, se, si)
    k3e = -se * ie
    k3i = -si * ii
    sv = rkf_y4(v, h, k1v, k2v, k3v)
    se = rkf_y4(g_exc, h, k1e, k2e, k3e)
    si = rkf_y4(g_inh, h, k1i, k2i, k3i)
    k4v = _iaf_dv(p, sv, se, si)
    k4e = -se * ie
    k4i = -si * ii
    sv = rkf_y5(v, h, k1v, k2v, k3v, k4v)
    se = rkf_y5(g_exc, h, k1e, k2e, k3e, k4e)
    si = rkf_y5(g_inh, h, k1i, k2i, k3i, k4i)
    k5v = _iaf_dv(p, sv, se, si)
    k5e = -se * ie
    k5i = -si * ii
    sv = rkf_y6(v, h, k1v, k2v, k3v, k4v, k5v)
    se = rkf_y6(g_exc, h, k1e, k2e, k3e, k4e, k5e)
    si = rkf_y6(g_inh, h, k1i, k2i, k3i, k4i, k5i)
    k6v = _iaf_dv(p, sv, se, si)
    k6e = -se * ie
    k6i = -si * ii
    trial[V * NEURON_BLOCK + b] = rkf_y_next(v, h, k1v, k3v, k4v, k5v, k6v)
    trial[EXP_G_EXC * NEURON_BLOCK + b] = rkf_y_next(g_exc, h, k1e, k3e, k4e, k5e, k6e)
    trial[EXP_G_INH * NEURON_BLOCK + b] = rkf_y_next(g_inh, h, k1i, k3i, k4i, k5i, k6i)
    err[V * NEURON_BLOCK + b] = rkf_error(h, k1v, k3v, k4v, k5v, k6v)
    err[EXP_G_EXC * NEURON_BLOCK + b] = rkf_error(h, k1e, k3e, k4e, k5e, k6e)
    err[EXP_G_INH * NEURON_BLOCK + b] = rkf_error(h, k1i, k3i, k4i, k5i, k6i)
    estimate = DBL_MIN
    estimate = _ratio_estimate(estimate, err[V * NEURON_BLOCK + b],
                               trial[V * NEURON_BLOCK + b], inverse_tol[V])
    estimate = _ratio_estimate(estimate, err[EXP_G_EXC * NEURON_BLOCK + b],
                               trial[EXP_G_EXC * NEURON_BLOCK + b], inverse_tol[EXP_G_EXC])
    estimate = _ratio_estimate(estimate, err[EXP_G_INH * NEURON_BLOCK + b],
                               trial[EXP_G_INH * NEURON_BLOCK + b], inverse_tol[EXP_G_INH])
    return estimate


cdef inline double _iaf_alpha_trial(const IafAlphaNeuron* p, double h, double v,
                                    double dg_exc, double g_exc, double dg_inh, double g_inh,
                                    const double* inverse_tol, double* trial, double* err,
                                    Py_ssize_t b) noexcept nogil:
    """One Fehlberg step of length h of IFCondAlpha for lane b (layout as
    ``_iaf_exp_trial``, components [v, dg_exc, g_exc, dg_inh, g_inh])."""
    cdef double ie = p.inv_tau_syn_E, ii = p.inv_tau_syn_I
    cdef double k1[5]
    cdef double k2[5]
    cdef double k3[5]
    cdef double k4[5]
    cdef double k5[5]
    cdef double k6[5]
    cdef double y[5]
    cdef double s[5]
    cdef double estimate
    cdef int j
    y[V] = v
    y[ALPHA_DG_EXC] = dg_exc
    y[ALPHA_G_EXC] = g_exc
    y[ALPHA_DG_INH] = dg_inh
    y[ALPHA_G_INH] = g_inh
    _iaf_alpha_derivatives(p, y, k1)
    for j in range(5):
        s[j] = rkf_y2(y[j], h, k1[j])
    _iaf_alpha_derivatives(p, s, k2)
    for j in range(5):
        s[j] = rkf_y3(y[j], h, k1[j], k2[j])
    _iaf_alpha_derivatives(p, s, k3)
    for j in range(5):
        s[j] = rkf_y4(y[j], h, k1[j], k2[j], k3[j])
    _iaf_alpha_derivatives(p, s, k4)
    for j in range(5):
        s[j] = rkf_y5(y[j], h, k1[j], k2[j], k3[j], k4[j])
    _iaf_alpha_derivatives(p, s, k5)
    for j in range(5):
        s[j] = rkf_y6(y[j], h, k1[j], k2[j], k3[j], k4[j], k5[j])
    _iaf_alpha_derivatives(p, s, k6)
    estimate = DBL_MIN
    for j in range(5):
        trial[j * NEURON_BLOCK + b] = rkf_y_next(y[j], h, k1[j], k3[j], k4[j], k5[j], k6[j])
        err[j * NEURON_BLOCK + b] = rkf_error(h, k1[j], k3[j], k4[j], k5[j], k6[j])
        estimate = _ratio_estimate(estimate, err[j * NEURON_BLOCK + b],
                                   trial[j * NEURON_BLOCK + b], inverse_tol[j])
    return estimate


cdef inline bint _trial_accepted(double h, double dt, double estimate, const double* trial,
                                 const double* err, Py_ssize_t b, int dim,
                                 const double* abs_tol, double rel_tol, double value_weight,
                                 double slope_weight) noexcept nogil:
    """Whether the adaptive integrator, proposing h, would have taken lane b's trial of
    length dt as the whole step: h >= dt makes its first sub-step that very trial, and it
    accepts it when the error ratio is at most 1.1."""
    if h < dt or estimate > SURELY_REJECTED:
        return False
    if estimate <= SURELY_ACCEPTED:
        return True
    return _exact_ratio(trial, err, b, dim, abs_tol, rel_tol, value_weight, slope_weight,
                        dt) <= 1.1


cdef inline double _trial_proposal(double dt, double estimate, const double* trial,
                                   const double* err, Py_ssize_t b, int dim,
                                   const double* abs_tol, double rel_tol, double value_weight,
                                   double slope_weight) noexcept nogil:
    """The proposal after lane b's accepted trial, from the exact ratio when it matters."""
    if estimate < GROWTH_CAPPED_RATIO:
        return 5.0 * dt
    return _accepted_proposal(_exact_ratio(trial, err, b, dim, abs_tol, rel_tol, value_weight,
                                           slope_weight, dt), dt)


# --------------------------------------------------------------------------------------------
# Kernel classes
# --------------------------------------------------------------------------------------------

cdef class _ConductanceKernel:
    """Shared buffers, validation and the parallel driver; subclasses supply one neuron's loop.

    Subclasses implement ``_bind(params, state)`` (keep memoryviews, precompute constants) and
    ``_advance(i, slot, K, record)``, which runs neuron ``i`` for ``K`` steps without the GIL
    (``slot``: the ring slot of the first step), or a whole ``_advance_block``.
    """
    cdef readonly Py_ssize_t n
    cdef readonly double dt
    cdef readonly int num_threads
    cdef Py_ssize_t max_steps
    cdef Py_ssize_t ring_length
    cdef bint can_record
    cdef double[:, :, ::1] ring
    cdef double[:, ::1] i_ext
    cdef unsigned char[:, ::1] spiked
    cdef double[:, :, ::1] rec
    cdef double[::1] refractory_steps
    cdef double[::1] integration_step
    cdef double[::1] refractory_counts
    cdef long _step0                    # global step of the window being advanced

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1):
        check_dt_and_threads(dt, num_threads)
        state_names = type(self).state_names
        internal_names = type(self).internal_names
        if state_names[0] not in state:
            raise ValueError(f"state: missing variable '{state_names[0]}'")
        n = np.shape(state[state_names[0]])[0] if np.ndim(state[state_names[0]]) == 1 else -1
        if n < 0:
            raise ValueError(f"state['{state_names[0]}']: expected a 1-D array, "
                             f"got shape {np.shape(state[state_names[0]])}")
        self.n = n
        self.dt = dt
        self.num_threads = num_threads
        n_receptors = len(type(self).receptor_names)
        ring = io_array(ring, 'ring', np.float64, (n_receptors, None, n))
        self.ring = ring
        self.ring_length = ring.shape[1]
        if np.ndim(i_ext) != 2:
            raise ValueError(f"i_ext: expected shape (K_max, {n}), got {np.shape(i_ext)}")
        i_ext = io_array(i_ext, 'i_ext', np.float64, (np.shape(i_ext)[0], n))
        self.i_ext = i_ext
        self.max_steps = i_ext.shape[0]
        self.spiked = io_array(spiked, 'spiked', np.uint8, (self.max_steps, n))
        record_shape = (len(state_names), self.max_steps, n)
        if np.shape(rec) == record_shape:
            self.rec = io_array(rec, 'rec', np.float64, record_shape)
            self.can_record = True
        elif np.size(rec) == 0:
            self.rec = np.zeros((0, 0, 0))    # recording disabled; the buffer is never read
            self.can_record = False
        else:
            raise ValueError(f"rec: expected shape {record_shape} (or an empty array when not "
                             f"recording), got {np.shape(rec)}")
        # checked here: the class's names; a kernel with names per instance checks its own
        state = dict(state, **{name: state_vector(state, name, n)
                               for name in tuple(state_names) + tuple(internal_names)})
        self.refractory_steps = state['refractory_steps']
        self.integration_step = state['integration_step']
        for name in type(self).param_names:
            parameter_vector(params, name, n)
        self._bind(params, state)

    def _bind(self, dict params, dict state):
        # abstract: every concrete kernel class binds its own arrays
        raise NotImplementedError(f"{type(self).__name__} is an abstract kernel base class; "
                                  "use IFCondExp, IFCondAlpha, IFCondExpGsfaGrr, GIFCondExp, "
                                  "EIFCondExp, EIFCondAlpha or HHCondExp")

    cpdef void update(self, long step0, int K, bint record):
        """Advance every neuron by K steps, starting at global step step0."""
        check_window(step0, K, self.max_steps, record, self.can_record,
                     len(type(self).state_names), self.n)
        cdef Py_ssize_t block, first_slot = step0 % self.ring_length
        self._step0 = step0
        for block in prange(block_count(self.n), nogil=True, schedule='static',
                            num_threads=threads_for(self.num_threads, <double>self.n * K,
                                                    MIN_NEURON_STEPS_PER_THREAD,
                                                    block_count(self.n))):
            self._advance_block(block * NEURON_BLOCK, first_slot, K, record)

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        """Neurons first .. first + NEURON_BLOCK - 1 (or up to n) over K steps, the first
        of which reads ring slot ``slot``; by default one neuron after the other."""
        cdef Py_ssize_t i
        for i in range(first, first + block_size(first, self.n)):
            self._advance(i, slot, K, record)

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        pass

    cdef inline double _take_input(self, int receptor, Py_ssize_t slot, Py_ssize_t i) noexcept nogil:
        """Read and clear the synaptic input (uS) in ring slot ``slot`` of a receptor."""
        cdef double w = self.ring[receptor, slot, i]
        self.ring[receptor, slot, i] = 0.0
        return w

    cdef inline double _start_step_length(self, Py_ssize_t i) noexcept nogil:
        cdef double h = self.integration_step[i]
        return h if h > 0.0 else self.dt


cdef class _IafKernel(_ConductanceKernel):
    """Parameter binding and the whole-block step shared by the two leaky
    integrate-and-fire models.

    A block's state is kept component-major (component j of neuron b at
    [j * NEURON_BLOCK + b]) in the layout of the model's state vector: [v, g_exc, g_inh]
    for exponential, [v, dg_exc, g_exc, dg_inh, g_inh] for alpha conductances. The
    weights arriving at a receptor are added, times ``input_scale`` (1 for exponential,
    e / tau_syn for alpha conductances; multiplying by 1 is exact), to component
    ``input_component``."""
    cdef double[::1] cm, g_leak, v_rest, e_rev_E, e_rev_I, inv_tau_syn_E, inv_tau_syn_I
    cdef double[::1] v_thresh, v_reset, i_offset
    cdef double[::1] v, gsyn_exc, gsyn_inh
    cdef bint alpha                             # alpha (else exponential) conductances
    cdef int dim
    cdef double* component[MAX_DIM]             # the state arrays, in state-vector order
    cdef int input_component[2]                 # per receptor: the component inputs go to
    cdef int g_component[2]                     # per receptor: its conductance
    cdef double[::1] input_scale_E, input_scale_I

    def _bind(self, dict params, dict state):
        p = {name: parameter_vector(params, name, self.n) for name in type(self).param_names}
        positive(p, ('cm', 'tau_m', 'tau_syn_E', 'tau_syn_I'))
        self.cm = p['cm']
        self.g_leak = p['cm'] / p['tau_m']
        self.v_rest = p['v_rest']
        self.e_rev_E = p['e_rev_E']
        self.e_rev_I = p['e_rev_I']
        self.inv_tau_syn_E = 1.0 / p['tau_syn_E']
        self.inv_tau_syn_I = 1.0 / p['tau_syn_I']
        self.v_thresh = p['v_thresh']
        self.v_reset = p['v_reset']
        self.i_offset = p['i_offset']
        non_negative(p, ('tau_refrac',))
        self.refractory_counts = rounded_refractory_counts(p['tau_refrac'], self.dt)
        self.v = state['v']
        self.gsyn_exc = state['gsyn_exc']
        self.gsyn_inh = state['gsyn_inh']

    def _bind_components(self, components, input_component, g_component, input_scale_E,
                         input_scale_I):
        """The state arrays in state-vector order, where each receptor's input goes and
        where its conductance is, and the input scales."""
        cdef double[::1] array
        cdef int j
        self.dim = len(components)
        for j in range(self.dim):
            array = components[j]
            self.component[j] = &array[0] if self.n else NULL
        self.input_component[0], self.input_component[1] = input_component
        self.g_component[0], self.g_component[1] = g_component
        self.input_scale_E = input_scale_E
        self.input_scale_I = input_scale_I

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        cdef Py_ssize_t m = block_size(first, self.n)
        cdef double dt = self.dt
        cdef int dim = self.dim
        cdef double state[MAX_DIM * NEURON_BLOCK]
        cdef double trial[MAX_DIM * NEURON_BLOCK]   # trial state of the Fehlberg step
        cdef double err[MAX_DIM * NEURON_BLOCK]     # its error terms
        cdef double estimate[NEURON_BLOCK]          # estimated error ratio
        cdef double h[NEURON_BLOCK]                 # proposed sub-step (ms)
        cdef double steps[NEURON_BLOCK]             # refractory steps left
        cdef double restart[NEURON_BLOCK]           # refractory steps after a spike
        cdef double arrived_exc[NEURON_BLOCK]
        cdef double arrived_inh[NEURON_BLOCK]
        cdef double fired[NEURON_BLOCK]
        cdef bint sure[NEURON_BLOCK]                # trial surely accepted (vector pass)
        cdef bint pending[NEURON_BLOCK]             # lane left to the scalar pass
        cdef bint last, capped
        cdef double abs_tol[MAX_DIM]
        cdef double inverse_tol[MAX_DIM]
        cdef double rel_tol, value_weight, slope_weight
        cdef double* v = &state[V * NEURON_BLOCK]
        cdef double* input_exc = &state[self.input_component[0] * NEURON_BLOCK]
        cdef double* input_inh = &state[self.input_component[1] * NEURON_BLOCK]
        cdef const double* scale_exc = &self.input_scale_E[first]
        cdef const double* scale_inh = &self.input_scale_I[first]
        cdef const double* i_ext
        cdef IafExpNeuron p_exp
        cdef IafAlphaNeuron p_alpha
        cdef Py_ssize_t b, k
        cdef int j
        nest_iaf_cond_tolerances(abs_tol, MAX_DIM, &rel_tol, &value_weight, &slope_weight)
        for j in range(MAX_DIM):
            inverse_tol[j] = 1.0 / abs_tol[j]
        for j in range(dim):
            copy_values(self.component[j] + first, &state[j * NEURON_BLOCK], m)
        load_steps(&self.refractory_steps[first], steps, m)
        load_steps(&self.refractory_counts[first], restart, m)
        for b in range(m):
            h[b] = self._start_step_length(first + b)
        for k in range(K):
            i_ext = &self.i_ext[k, first]
            # one trial step of length dt for every neuron (vectorised)
            if self.alpha:
                for b in range(m):
                    _iaf_neuron(&p_alpha, self, first + b, i_ext[b], steps[b])
                    estimate[b] = _iaf_alpha_trial(
                        &p_alpha, dt, state[b], state[NEURON_BLOCK + b],
                        state[2 * NEURON_BLOCK + b], state[3 * NEURON_BLOCK + b],
                        state[4 * NEURON_BLOCK + b], inverse_tol, trial, err, b)
            else:
                for b in range(m):
                    _iaf_neuron(&p_exp, self, first + b, i_ext[b], steps[b])
                    estimate[b] = _iaf_exp_trial(
                        &p_exp, dt, state[b], state[NEURON_BLOCK + b],
                        state[2 * NEURON_BLOCK + b], inverse_tol, trial, err, b)
            # keep it where the adaptive integrator would have, else integrate adaptively.
            # First, branch-free (vectorised), the lanes whose trial is surely accepted:
            # most of them. Any proposal >= dt makes the next step the same trial of length
            # dt, and below GROWTH_CAPPED_RATIO the proposal is exactly 5 dt; only a stored
            # proposal above that ratio needs the exact error ratio (second pass).
            last = k == K - 1
            for b in range(m):
                sure[b] = (h[b] >= dt) & (estimate[b] <= SURELY_ACCEPTED)
                capped = estimate[b] < GROWTH_CAPPED_RATIO
                h[b] = (5.0 * dt if capped else h[b]) if sure[b] and last else \
                    (dt if sure[b] else h[b])
                pending[b] = (not sure[b]) | (last & (not capped))
            for j in range(dim):
                for b in range(m):
                    state[j * NEURON_BLOCK + b] = trial[j * NEURON_BLOCK + b] if sure[b] \
                        else state[j * NEURON_BLOCK + b]
            for b in range(m):
                if not pending[b]:
                    continue
                if sure[b]:
                    h[b] = _trial_proposal(dt, estimate[b], trial, err, b, dim, abs_tol,
                                           rel_tol, value_weight, slope_weight)
                elif _trial_accepted(h[b], dt, estimate[b], trial, err, b, dim, abs_tol,
                                     rel_tol, value_weight, slope_weight):
                    for j in range(dim):
                        state[j * NEURON_BLOCK + b] = trial[j * NEURON_BLOCK + b]
                    h[b] = dt if not last else _trial_proposal(
                        dt, estimate[b], trial, err, b, dim, abs_tol, rel_tol, value_weight,
                        slope_weight)
                elif self.alpha:
                    _iaf_neuron(&p_alpha, self, first + b, i_ext[b], steps[b])
                    _integrate_lane(&p_alpha, state, b, dim, dt, &h[b])
                else:
                    _iaf_neuron(&p_exp, self, first + b, i_ext[b], steps[b])
                    _integrate_lane(&p_exp, state, b, dim, dt, &h[b])
            # synaptic input, refractoriness, threshold
            take_input(&self.ring[0, slot, first], arrived_exc, m)
            take_input(&self.ring[1, slot, first], arrived_inh, m)
            for b in range(m):
                input_exc[b] = input_exc[b] + arrived_exc[b] * scale_exc[b]
                input_inh[b] = input_inh[b] + arrived_inh[b] * scale_inh[b]
                fired[b] = _iaf_threshold(&v[b], &steps[b], self.v_thresh[first + b],
                                          self.v_reset[first + b], restart[b])
            copy_flags(fired, &self.spiked[k, first], m)
            if record:
                copy_values(v, &self.rec[0, k, first], m)
                copy_values(&state[self.g_component[0] * NEURON_BLOCK], &self.rec[1, k, first], m)
                copy_values(&state[self.g_component[1] * NEURON_BLOCK], &self.rec[2, k, first], m)
            slot = next_slot(slot, self.ring_length)
        for j in range(dim):
            copy_values(&state[j * NEURON_BLOCK], self.component[j] + first, m)
        copy_values(steps, &self.refractory_steps[first], m)
        copy_values(h, &self.integration_step[first], m)


cdef inline void _integrate_lane(const iaf_t* p, double* state, Py_ssize_t b, int dim,
                                 double dt, double* h) noexcept nogil:
    """The adaptive step of lane b of a component-major block state."""
    cdef double y[MAX_DIM]
    cdef int j
    for j in range(dim):
        y[j] = state[j * NEURON_BLOCK + b]
    _integrate_step(p, y, dt, h)
    for j in range(dim):
        state[j * NEURON_BLOCK + b] = y[j]


cdef inline double _iaf_threshold(double* v, double* steps_left, double v_thresh,
                                  double v_reset, double restart) noexcept nogil:
    """End of an iaf step: a refractory neuron counts a step down and stays at v_reset;
    otherwise v >= v_thresh fires (returns 1.0), resets v and starts restart steps of
    refractoriness."""
    cdef double steps = steps_left[0]
    cdef bint fire = (steps == 0.0) & (v[0] >= v_thresh)     # no short circuit: no branch
    cdef double counted_down = steps - 1.0
    v[0] = v_reset if steps > 0.0 or fire else v[0]
    steps_left[0] = counted_down if steps > 0.0 else (restart if fire else steps)
    return 1.0 if fire else 0.0


cdef inline void _iaf_neuron(iaf_t* p, _IafKernel kernel, Py_ssize_t i, double i_ext,
                             double steps_left) noexcept nogil:
    """Fill the right-hand side's constants of neuron i of an iaf kernel, for a step with
    injected current i_ext (nA) and steps_left refractory steps."""
    p.cm = kernel.cm[i]
    p.g_leak = kernel.g_leak[i]
    p.v_rest = kernel.v_rest[i]
    p.e_rev_E = kernel.e_rev_E[i]
    p.e_rev_I = kernel.e_rev_I[i]
    p.inv_tau_syn_E = kernel.inv_tau_syn_E[i]
    p.inv_tau_syn_I = kernel.inv_tau_syn_I[i]
    p.v_thresh = kernel.v_thresh[i]
    p.v_reset = kernel.v_reset[i]
    p.current = kernel.i_offset[i] + i_ext
    p.refractory = steps_left > 0.0


_IAF_PARAMS = ('v_rest', 'cm', 'tau_m', 'tau_refrac', 'tau_syn_E', 'tau_syn_I', 'e_rev_E',
               'e_rev_I', 'v_thresh', 'v_reset', 'i_offset')
_EIF_PARAMS = ('cm', 'tau_refrac', 'v_spike', 'v_reset', 'v_rest', 'tau_m', 'i_offset', 'a', 'b',
               'delta_T', 'tau_w', 'v_thresh', 'e_rev_E', 'tau_syn_E', 'e_rev_I', 'tau_syn_I')
_RECEPTORS = ('excitatory', 'inhibitory')


cdef class IFCondExp(_IafKernel):
    """Leaky integrate-and-fire neuron with exponentially decaying conductances (NEST iaf_cond_exp).

    Parameters (per neuron, float64 arrays): v_rest, v_thresh, v_reset, e_rev_E, e_rev_I (mV);
    cm (nF); tau_m, tau_refrac, tau_syn_E, tau_syn_I (ms); i_offset (nA).
    State: v (mV), gsyn_exc, gsyn_inh (uS); internal: refractory_steps (steps left),
    integration_step (ms, last proposed RKF45 sub-step; 0 means dt).
    """
    state_names = ('v', 'gsyn_exc', 'gsyn_inh')
    internal_names = ('refractory_steps', 'integration_step')
    param_names = _IAF_PARAMS
    receptor_names = _RECEPTORS

    def _bind(self, dict params, dict state):
        _IafKernel._bind(self, params, state)
        self.alpha = False
        ones = np.ones(self.n)
        self._bind_components((self.v, self.gsyn_exc, self.gsyn_inh), (EXP_G_EXC, EXP_G_INH),
                              (EXP_G_EXC, EXP_G_INH), ones, ones)


cdef class IFCondAlpha(_IafKernel):
    """Leaky integrate-and-fire neuron with alpha-shaped conductances (NEST iaf_cond_alpha).

    Parameters as IFCondExp. A weight w (uS) gives g(t) = w (t / tau_syn) exp(1 - t / tau_syn).
    State: v (mV), gsyn_exc, gsyn_inh (uS); internal: refractory_steps, integration_step (ms),
    dgsyn_exc, dgsyn_inh (uS/ms, conductance derivatives).
    """
    state_names = ('v', 'gsyn_exc', 'gsyn_inh')
    internal_names = ('refractory_steps', 'integration_step', 'dgsyn_exc', 'dgsyn_inh')
    param_names = _IAF_PARAMS
    receptor_names = _RECEPTORS

    cdef double[::1] dgsyn_exc, dgsyn_inh

    def _bind(self, dict params, dict state):
        _IafKernel._bind(self, params, state)
        self.dgsyn_exc = state['dgsyn_exc']
        self.dgsyn_inh = state['dgsyn_inh']
        self.alpha = True
        p = {name: parameter_vector(params, name, self.n) for name in ('tau_syn_E', 'tau_syn_I')}
        self._bind_components((self.v, self.dgsyn_exc, self.gsyn_exc, self.dgsyn_inh,
                               self.gsyn_inh), (ALPHA_DG_EXC, ALPHA_DG_INH),
                              (ALPHA_G_EXC, ALPHA_G_INH), EULER_E / p['tau_syn_E'],
                              EULER_E / p['tau_syn_I'])

cdef class IFCondExpGsfaGrr(_IafKernel):
    """Leaky integrate-and-fire neuron with exponential conductances, spike-frequency
    adaptation and relative refractoriness (NEST iaf_cond_exp_sfa_rr; PyNN
    IF_cond_exp_gsfa_grr).

    Parameters: those of IFCondExp, and tau_sfa, tau_rr (ms); e_rev_sfa, e_rev_rr (mV);
    q_sfa, q_rr (nS). State: v (mV), gsyn_exc, gsyn_inh (uS), g_s, g_r (nS); internal:
    refractory_steps, integration_step. IFCondExp's parameters are bound as IFCondExp
    binds them; each neuron is integrated by the adaptive integrator alone (no
    whole-block trial step).
    """
    state_names = ('v', 'gsyn_exc', 'gsyn_inh', 'g_s', 'g_r')
    internal_names = ('refractory_steps', 'integration_step')
    param_names = _IAF_PARAMS + ('tau_sfa', 'e_rev_sfa', 'q_sfa', 'tau_rr', 'e_rev_rr', 'q_rr')
    receptor_names = _RECEPTORS

    cdef double[::1] e_rev_sfa, e_rev_rr, inv_tau_sfa, inv_tau_rr, q_sfa, q_rr
    cdef double[::1] g_s, g_r

    def _bind(self, dict params, dict state):
        _IafKernel._bind(self, params, state)
        p = {name: parameter_vector(params, name, self.n)
             for name in ('tau_sfa', 'e_rev_sfa', 'q_sfa', 'tau_rr', 'e_rev_rr', 'q_rr')}
        positive(p, ('tau_sfa', 'tau_rr'))
        self.e_rev_sfa = p['e_rev_sfa']
        self.e_rev_rr = p['e_rev_rr']
        self.inv_tau_sfa = 1.0 / p['tau_sfa']
        self.inv_tau_rr = 1.0 / p['tau_rr']
        self.q_sfa = p['q_sfa']
        self.q_rr = p['q_rr']
        self.g_s = state['g_s']
        self.g_r = state['g_r']

    cdef void _advance_block(self, Py_ssize_t first, Py_ssize_t slot, int K,
                             bint record) noexcept nogil:
        _ConductanceKernel._advance_block(self, first, slot, K, record)

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        cdef IafSfaRrNeuron p
        cdef double y[MAX_DIM]
        cdef double h = self._start_step_length(i)
        cdef double steps = self.refractory_steps[i]
        cdef double restart = self.refractory_counts[i]
        cdef double fired
        cdef int k, j
        p.e_rev_sfa = self.e_rev_sfa[i]
        p.e_rev_rr = self.e_rev_rr[i]
        p.inv_tau_sfa = self.inv_tau_sfa[i]
        p.inv_tau_rr = self.inv_tau_rr[i]
        y[V] = self.v[i]
        y[EXP_G_EXC] = self.gsyn_exc[i]
        y[EXP_G_INH] = self.gsyn_inh[i]
        y[SFA_G_S] = self.g_s[i]
        y[SFA_G_R] = self.g_r[i]
        for k in range(K):
            _iaf_neuron(&p, self, i, self.i_ext[k, i], steps)
            _integrate_step(&p, y, self.dt, &h)
            y[EXP_G_EXC] += self._take_input(0, slot, i)
            y[EXP_G_INH] += self._take_input(1, slot, i)
            # IFCondExp's end of step; a spike also raises the two adaptation conductances
            fired = _iaf_threshold(&y[V], &steps, p.v_thresh, p.v_reset, restart)
            if fired != 0.0:
                y[SFA_G_S] += self.q_sfa[i]
                y[SFA_G_R] += self.q_rr[i]
            self.spiked[k, i] = <unsigned char>fired
            if record:
                for j in range(5):
                    self.rec[j, k, i] = y[j]
            slot = next_slot(slot, self.ring_length)
        self.v[i] = y[V]
        self.gsyn_exc[i] = y[EXP_G_EXC]
        self.gsyn_inh[i] = y[EXP_G_INH]
        self.g_s[i] = y[SFA_G_S]
        self.g_r[i] = y[SFA_G_R]
        self.refractory_steps[i] = steps
        self.integration_step[i] = h


cdef enum:
    GIF_MAX_ELEMENTS = 16    # exponentials in eta and in gamma


_GIF_PARAMS = ('v_rest', 'cm', 'tau_m', 'tau_refrac', 'tau_syn_E', 'tau_syn_I', 'e_rev_E',
               'e_rev_I', 'v_reset', 'i_offset', 'delta_v', 'v_t_star', 'lambda0')


cdef class GIFCondExp(_ConductanceKernel):
    """Generalized integrate-and-fire neuron with exponential conductances and stochastic
    spiking (NEST gif_cond_exp; PyNN GIF_cond_exp). See the module docstring.

    Parameters: _GIF_PARAMS (PyNN units; lambda0 in Hz) and, for k < n_eta and k < n_gamma,
    tau_eta_k, a_eta_k (ms, nA) and tau_gamma_k, a_gamma_k (ms, mV). State: v (mV),
    gsyn_exc, gsyn_inh (uS), i_eta (nA) and v_t (mV) of the last step; internal:
    refractory_steps, integration_step, eta_k (nA), gamma_k (mV). ``names(n_eta,
    n_gamma)`` gives the names for an instance; ``seed`` the stream of its spike draws.
    """
    state_names = ('v', 'gsyn_exc', 'gsyn_inh', 'i_eta', 'v_t')
    internal_names = ('refractory_steps', 'integration_step')
    param_names = _GIF_PARAMS
    receptor_names = _RECEPTORS

    cdef double[::1] cm, g_leak, v_rest, e_rev_E, e_rev_I, inv_tau_syn_E, inv_tau_syn_I
    cdef double[::1] v_reset, i_offset, delta_v, v_t_star, lambda0_per_ms
    cdef double[::1] v, gsyn_exc, gsyn_inh, i_eta, v_t
    cdef double[:, ::1] eta_decay, a_eta, gamma_decay, a_gamma     # (n, elements)
    cdef double* eta[GIF_MAX_ELEMENTS]
    cdef double* gamma[GIF_MAX_ELEMENTS]
    cdef object _element_arrays             # keeps the arrays behind eta / gamma alive
    cdef readonly int n_eta, n_gamma
    cdef uint64_t seed

    @classmethod
    def names(cls, int n_eta, int n_gamma):
        """dict(state_names, internal_names, param_names, receptor_names) of an instance."""
        return dict(
            state_names=cls.state_names,
            internal_names=cls.internal_names + tuple(f"eta_{k}" for k in range(n_eta))
            + tuple(f"gamma_{k}" for k in range(n_gamma)),
            param_names=cls.param_names
            + tuple(f"{name}_{k}" for k in range(n_eta) for name in ("tau_eta", "a_eta"))
            + tuple(f"{name}_{k}" for k in range(n_gamma) for name in ("tau_gamma", "a_gamma")),
            receptor_names=cls.receptor_names)

    def __init__(self, dict params, dict state, double dt, ring, i_ext, spiked, rec,
                 int num_threads=1, int n_eta=0, int n_gamma=0, uint64_t seed=0):
        if not (0 <= n_eta <= GIF_MAX_ELEMENTS and 0 <= n_gamma <= GIF_MAX_ELEMENTS):
            raise ValueError(f"GIFCondExp: at most {GIF_MAX_ELEMENTS} exponentials in eta and "
                             f"in gamma, got {n_eta} and {n_gamma}")
        self.n_eta = n_eta
        self.n_gamma = n_gamma
        self.seed = seed
        _ConductanceKernel.__init__(self, params, state, dt, ring, i_ext, spiked, rec,
                                    num_threads)

    def _bind(self, dict params, dict state):
        names = type(self).names(self.n_eta, self.n_gamma)
        p = {name: parameter_vector(params, name, self.n) for name in names['param_names']}
        positive(p, ('cm', 'tau_m', 'tau_syn_E', 'tau_syn_I', 'delta_v')
                 + tuple(f"tau_eta_{k}" for k in range(self.n_eta))
                 + tuple(f"tau_gamma_{k}" for k in range(self.n_gamma)))
        non_negative(p, ('tau_refrac', 'lambda0'))
        self.cm = p['cm']
        self.g_leak = p['cm'] / p['tau_m']
        self.v_rest = p['v_rest']
        self.e_rev_E = p['e_rev_E']
        self.e_rev_I = p['e_rev_I']
        self.inv_tau_syn_E = 1.0 / p['tau_syn_E']
        self.inv_tau_syn_I = 1.0 / p['tau_syn_I']
        self.v_reset = p['v_reset']
        self.i_offset = p['i_offset']
        self.delta_v = p['delta_v']
        self.v_t_star = p['v_t_star']
        self.lambda0_per_ms = p['lambda0'] * 1e-3
        self.refractory_counts = rounded_refractory_counts(p['tau_refrac'], self.dt)

        def columns(stem, count):
            return np.ascontiguousarray(
                np.stack([p[f"{stem}_{k}"] for k in range(count)], axis=1)
                if count else np.ones((self.n, 1)))     # a placeholder, never read

        self.eta_decay = np.exp(-self.dt / columns("tau_eta", self.n_eta))
        self.a_eta = columns("a_eta", self.n_eta)
        self.gamma_decay = np.exp(-self.dt / columns("tau_gamma", self.n_gamma))
        self.a_gamma = columns("a_gamma", self.n_gamma)
        arrays = [state_vector(state, f"eta_{k}", self.n) for k in range(self.n_eta)] + \
            [state_vector(state, f"gamma_{k}", self.n) for k in range(self.n_gamma)]
        self._element_arrays = arrays
        cdef double[::1] array
        cdef int k
        for k in range(self.n_eta):
            array = arrays[k]
            self.eta[k] = &array[0] if self.n else NULL
        for k in range(self.n_gamma):
            array = arrays[self.n_eta + k]
            self.gamma[k] = &array[0] if self.n else NULL
        self.v = state['v']
        self.gsyn_exc = state['gsyn_exc']
        self.gsyn_inh = state['gsyn_inh']
        self.i_eta = state['i_eta']
        self.v_t = state['v_t']

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        cdef IafExpNeuron p
        cdef double y[MAX_DIM]
        cdef double h = self._start_step_length(i)
        cdef long refractory = <long> self.refractory_steps[i]
        cdef long counts = <long> self.refractory_counts[i]
        cdef double stc, sfa, rate
        cdef long step
        cdef int k, e
        cdef unsigned char fired
        p.cm = self.cm[i]
        p.g_leak = self.g_leak[i]
        p.v_rest = self.v_rest[i]
        p.e_rev_E = self.e_rev_E[i]
        p.e_rev_I = self.e_rev_I[i]
        p.inv_tau_syn_E = self.inv_tau_syn_E[i]
        p.inv_tau_syn_I = self.inv_tau_syn_I[i]
        p.v_thresh = INFINITY           # no clamp of v in the right-hand side
        p.v_reset = self.v_reset[i]
        p.refractory = False
        y[V] = self.v[i]
        y[EXP_G_EXC] = self.gsyn_exc[i]
        y[EXP_G_INH] = self.gsyn_inh[i]
        step = self._step0
        for k in range(K):
            # this step's spike-triggered current and threshold; the elements decay
            stc = 0.0
            for e in range(self.n_eta):
                stc = stc + self.eta[e][i]
                self.eta[e][i] = self.eta_decay[i, e] * self.eta[e][i]
            sfa = self.v_t_star[i]
            for e in range(self.n_gamma):
                sfa = sfa + self.gamma[e][i]
                self.gamma[e][i] = self.gamma_decay[i, e] * self.gamma[e][i]
            p.current = self.i_offset[i] + self.i_ext[k, i] - stc
            _integrate_step(&p, y, self.dt, &h)
            y[EXP_G_EXC] += self._take_input(0, slot, i)
            y[EXP_G_INH] += self._take_input(1, slot, i)
            fired = 0
            if refractory == 0:
                rate = self.lambda0_per_ms[i] * exp((y[V] - sfa) / self.delta_v[i])
                if rate > 0.0 and uniform_open(self.seed, <uint64_t>i, <uint64_t>(step + k)) \
                        < -expm1(-rate * self.dt):
                    for e in range(self.n_eta):
                        self.eta[e][i] += self.a_eta[i, e]
                    for e in range(self.n_gamma):
                        self.gamma[e][i] += self.a_gamma[i, e]
                    refractory = counts
                    fired = 1
            else:
                refractory -= 1
                y[V] = p.v_reset
            self.spiked[k, i] = fired
            if record:
                self.rec[0, k, i] = y[V]
                self.rec[1, k, i] = y[EXP_G_EXC]
                self.rec[2, k, i] = y[EXP_G_INH]
                self.rec[3, k, i] = stc
                self.rec[4, k, i] = sfa
            slot = next_slot(slot, self.ring_length)
        self.v[i] = y[V]
        self.gsyn_exc[i] = y[EXP_G_EXC]
        self.gsyn_inh[i] = y[EXP_G_INH]
        self.i_eta[i] = stc if K else self.i_eta[i]
        self.v_t[i] = sfa if K else self.v_t[i]
        self.refractory_steps[i] = <double> refractory
        self.integration_step[i] = h


cdef class _AdexKernel(_ConductanceKernel):
    """Parameter binding shared by the two adaptive exponential integrate-and-fire models."""
    cdef double[::1] cm, g_leak, v_rest, e_rev_E, e_rev_I, inv_tau_syn_E, inv_tau_syn_I
    cdef double[::1] v_thresh, v_spike, spike_detect, v_reset, delta_T, a_uS, b, inv_tau_w
    cdef double[::1] i_offset, alpha_scale_E, alpha_scale_I
    cdef double[::1] v, w, gsyn_exc, gsyn_inh

    def _bind(self, dict params, dict state):
        p = {name: parameter_vector(params, name, self.n) for name in type(self).param_names}
        positive(p, ('cm', 'tau_m', 'tau_syn_E', 'tau_syn_I', 'tau_w'))
        non_negative(p, ('delta_T',))
        self.cm = p['cm']
        self.g_leak = p['cm'] / p['tau_m']
        self.v_rest = p['v_rest']
        self.e_rev_E = p['e_rev_E']
        self.e_rev_I = p['e_rev_I']
        self.inv_tau_syn_E = 1.0 / p['tau_syn_E']
        self.inv_tau_syn_I = 1.0 / p['tau_syn_I']
        self.alpha_scale_E = EULER_E / p['tau_syn_E']
        self.alpha_scale_I = EULER_E / p['tau_syn_I']
        self.v_thresh = p['v_thresh']
        self.v_spike = p['v_spike']
        # without the exponential term the model is an IAF neuron spiking at v_thresh
        self.spike_detect = np.where(p['delta_T'] > 0.0, p['v_spike'], p['v_thresh'])
        self.v_reset = p['v_reset']
        self.delta_T = p['delta_T']
        self.a_uS = p['a'] * 1e-3          # PyNN gives a in nS
        self.b = p['b']
        self.inv_tau_w = 1.0 / p['tau_w']
        self.i_offset = p['i_offset']
        non_negative(p, ('tau_refrac',))
        self.refractory_counts = rounded_refractory_counts(p['tau_refrac'], self.dt)
        self.v = state['v']
        self.w = state['w']
        self.gsyn_exc = state['gsyn_exc']
        self.gsyn_inh = state['gsyn_inh']


cdef class EIFCondExp(_AdexKernel):
    """Adaptive exponential integrate-and-fire, exponential conductances (NEST aeif_cond_exp).

    Parameters: v_rest, v_thresh, v_spike, v_reset, e_rev_E, e_rev_I, delta_T (mV); cm (nF);
    tau_m, tau_refrac, tau_w, tau_syn_E, tau_syn_I (ms); a (nS); b, i_offset (nA).
    State: v (mV), w (nA), gsyn_exc, gsyn_inh (uS); internal: refractory_steps, integration_step.
    """
    state_names = ('v', 'w', 'gsyn_exc', 'gsyn_inh')
    internal_names = ('refractory_steps', 'integration_step')
    param_names = _EIF_PARAMS
    receptor_names = _RECEPTORS

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        cdef AdexExpNeuron p
        cdef double y[MAX_DIM]
        cdef double h = self._start_step_length(i)
        cdef double t
        cdef double spike_detect = self.spike_detect[i]
        cdef double b = self.b[i]
        cdef long refractory = <long> self.refractory_steps[i]
        cdef long counts = <long> self.refractory_counts[i]
        cdef int k
        cdef unsigned char fired
        p.cm = self.cm[i]
        p.g_leak = self.g_leak[i]
        p.v_rest = self.v_rest[i]
        p.e_rev_E = self.e_rev_E[i]
        p.e_rev_I = self.e_rev_I[i]
        p.inv_tau_syn_E = self.inv_tau_syn_E[i]
        p.inv_tau_syn_I = self.inv_tau_syn_I[i]
        p.v_thresh = self.v_thresh[i]
        p.v_spike = self.v_spike[i]
        p.v_reset = self.v_reset[i]
        p.delta_T = self.delta_T[i]
        p.a_uS = self.a_uS[i]
        p.inv_tau_w = self.inv_tau_w[i]
        y[V] = self.v[i]
        y[EXP_G_EXC] = self.gsyn_exc[i]
        y[EXP_G_INH] = self.gsyn_inh[i]
        y[EXP_W] = self.w[i]
        for k in range(K):
            p.current = self.i_offset[i] + self.i_ext[k, i]
            p.refractory = refractory > 0
            fired = 0
            t = 0.0
            while t < self.dt:
                _substep(&p, y, &t, self.dt, &h)
                if refractory > 0:
                    y[V] = p.v_reset
                elif y[V] >= spike_detect:
                    y[V] = p.v_reset
                    y[EXP_W] += b
                    # one extra count because the counter is decremented at the end of this step
                    refractory = counts + 1 if counts > 0 else 0
                    p.refractory = refractory > 0
                    fired = 1
            if refractory > 0:
                refractory -= 1
            y[EXP_G_EXC] += self._take_input(0, slot, i)
            y[EXP_G_INH] += self._take_input(1, slot, i)
            self.spiked[k, i] = fired
            if record:
                self.rec[0, k, i] = y[V]
                self.rec[1, k, i] = y[EXP_W]
                self.rec[2, k, i] = y[EXP_G_EXC]
                self.rec[3, k, i] = y[EXP_G_INH]
            slot = next_slot(slot, self.ring_length)
        self.v[i] = y[V]
        self.w[i] = y[EXP_W]
        self.gsyn_exc[i] = y[EXP_G_EXC]
        self.gsyn_inh[i] = y[EXP_G_INH]
        self.refractory_steps[i] = <double> refractory
        self.integration_step[i] = h


cdef class EIFCondAlpha(_AdexKernel):
    """Adaptive exponential integrate-and-fire neuron, alpha conductances (NEST aeif_cond_alpha).

    Parameters and state as EIFCondExp; internal: refractory_steps, integration_step,
    dgsyn_exc, dgsyn_inh (uS/ms).
    """
    state_names = ('v', 'w', 'gsyn_exc', 'gsyn_inh')
    internal_names = ('refractory_steps', 'integration_step', 'dgsyn_exc', 'dgsyn_inh')
    param_names = _EIF_PARAMS
    receptor_names = _RECEPTORS

    cdef double[::1] dgsyn_exc, dgsyn_inh

    def _bind(self, dict params, dict state):
        _AdexKernel._bind(self, params, state)
        self.dgsyn_exc = state['dgsyn_exc']
        self.dgsyn_inh = state['dgsyn_inh']

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        cdef AdexAlphaNeuron p
        cdef double y[MAX_DIM]
        cdef double h = self._start_step_length(i)
        cdef double t
        cdef double spike_detect = self.spike_detect[i]
        cdef double b = self.b[i]
        cdef long refractory = <long> self.refractory_steps[i]
        cdef long counts = <long> self.refractory_counts[i]
        cdef int k
        cdef unsigned char fired
        p.cm = self.cm[i]
        p.g_leak = self.g_leak[i]
        p.v_rest = self.v_rest[i]
        p.e_rev_E = self.e_rev_E[i]
        p.e_rev_I = self.e_rev_I[i]
        p.inv_tau_syn_E = self.inv_tau_syn_E[i]
        p.inv_tau_syn_I = self.inv_tau_syn_I[i]
        p.v_thresh = self.v_thresh[i]
        p.v_spike = self.v_spike[i]
        p.v_reset = self.v_reset[i]
        p.delta_T = self.delta_T[i]
        p.a_uS = self.a_uS[i]
        p.inv_tau_w = self.inv_tau_w[i]
        y[V] = self.v[i]
        y[ALPHA_DG_EXC] = self.dgsyn_exc[i]
        y[ALPHA_G_EXC] = self.gsyn_exc[i]
        y[ALPHA_DG_INH] = self.dgsyn_inh[i]
        y[ALPHA_G_INH] = self.gsyn_inh[i]
        y[ALPHA_W] = self.w[i]
        for k in range(K):
            p.current = self.i_offset[i] + self.i_ext[k, i]
            p.refractory = refractory > 0
            fired = 0
            t = 0.0
            while t < self.dt:
                _substep(&p, y, &t, self.dt, &h)
                if refractory > 0:
                    y[V] = p.v_reset
                elif y[V] >= spike_detect:
                    y[V] = p.v_reset
                    y[ALPHA_W] += b
                    refractory = counts + 1 if counts > 0 else 0
                    p.refractory = refractory > 0
                    fired = 1
            if refractory > 0:
                refractory -= 1
            y[ALPHA_DG_EXC] += self._take_input(0, slot, i) * self.alpha_scale_E[i]
            y[ALPHA_DG_INH] += self._take_input(1, slot, i) * self.alpha_scale_I[i]
            self.spiked[k, i] = fired
            if record:
                self.rec[0, k, i] = y[V]
                self.rec[1, k, i] = y[ALPHA_W]
                self.rec[2, k, i] = y[ALPHA_G_EXC]
                self.rec[3, k, i] = y[ALPHA_G_INH]
            slot = next_slot(slot, self.ring_length)
        self.v[i] = y[V]
        self.w[i] = y[ALPHA_W]
        self.dgsyn_exc[i] = y[ALPHA_DG_EXC]
        self.gsyn_exc[i] = y[ALPHA_G_EXC]
        self.dgsyn_inh[i] = y[ALPHA_DG_INH]
        self.gsyn_inh[i] = y[ALPHA_G_INH]
        self.refractory_steps[i] = <double> refractory
        self.integration_step[i] = h


cdef class HHCondExp(_ConductanceKernel):
    """Traub-Miles Hodgkin-Huxley neuron with exponential conductances (NEST hh_cond_exp_traub).

    Parameters: gbar_Na, gbar_K, g_leak (uS); cm (nF); v_offset, e_rev_Na, e_rev_K, e_rev_leak,
    e_rev_E, e_rev_I (mV); tau_syn_E, tau_syn_I (ms); i_offset (nA).
    State: v (mV), gsyn_exc, gsyn_inh (uS), m, h, n (gating variables, dimensionless);
    internal: refractory_steps (steps during which no new spike is reported), integration_step.
    """
    state_names = ('v', 'gsyn_exc', 'gsyn_inh', 'm', 'h', 'n')
    internal_names = ('refractory_steps', 'integration_step')
    param_names = ('gbar_Na', 'gbar_K', 'g_leak', 'cm', 'v_offset', 'e_rev_Na', 'e_rev_K',
                   'e_rev_leak', 'e_rev_E', 'e_rev_I', 'tau_syn_E', 'tau_syn_I', 'i_offset')
    receptor_names = _RECEPTORS

    cdef double[::1] gbar_Na, gbar_K, g_leak, cm, v_offset, e_rev_Na, e_rev_K, e_rev_leak
    cdef double[::1] e_rev_E, e_rev_I, inv_tau_syn_E, inv_tau_syn_I, i_offset
    cdef double[::1] v, gsyn_exc, gsyn_inh, m, h, n_gate

    def _bind(self, dict params, dict state):
        p = {name: parameter_vector(params, name, self.n) for name in type(self).param_names}
        positive(p, ('cm', 'tau_syn_E', 'tau_syn_I'))
        self.gbar_Na = p['gbar_Na']
        self.gbar_K = p['gbar_K']
        self.g_leak = p['g_leak']
        self.cm = p['cm']
        self.v_offset = p['v_offset']
        self.e_rev_Na = p['e_rev_Na']
        self.e_rev_K = p['e_rev_K']
        self.e_rev_leak = p['e_rev_leak']
        self.e_rev_E = p['e_rev_E']
        self.e_rev_I = p['e_rev_I']
        self.inv_tau_syn_E = 1.0 / p['tau_syn_E']
        self.inv_tau_syn_I = 1.0 / p['tau_syn_I']
        self.i_offset = p['i_offset']
        self.refractory_counts = rounded_refractory_counts(np.full(self.n, HH_REFRACTORY_MS),
                                                           self.dt)
        self.v = state['v']
        self.gsyn_exc = state['gsyn_exc']
        self.gsyn_inh = state['gsyn_inh']
        self.m = state['m']
        self.h = state['h']
        self.n_gate = state['n']

    cdef void _advance(self, Py_ssize_t i, Py_ssize_t slot, int K, bint record) noexcept nogil:
        cdef HodgkinHuxleyNeuron p
        cdef double y[MAX_DIM]
        cdef double h = self._start_step_length(i)
        cdef double v_before, spike_level
        cdef long refractory = <long> self.refractory_steps[i]
        cdef long counts = <long> self.refractory_counts[i]
        cdef int k
        cdef unsigned char fired
        p.cm = self.cm[i]
        p.gbar_Na = self.gbar_Na[i]
        p.gbar_K = self.gbar_K[i]
        p.g_leak = self.g_leak[i]
        p.v_offset = self.v_offset[i]
        p.e_rev_Na = self.e_rev_Na[i]
        p.e_rev_K = self.e_rev_K[i]
        p.e_rev_leak = self.e_rev_leak[i]
        p.e_rev_E = self.e_rev_E[i]
        p.e_rev_I = self.e_rev_I[i]
        p.inv_tau_syn_E = self.inv_tau_syn_E[i]
        p.inv_tau_syn_I = self.inv_tau_syn_I[i]
        spike_level = p.v_offset + 30.0
        y[V] = self.v[i]
        y[EXP_G_EXC] = self.gsyn_exc[i]
        y[EXP_G_INH] = self.gsyn_inh[i]
        y[HH_M] = self.m[i]
        y[HH_H] = self.h[i]
        y[HH_N] = self.n_gate[i]
        for k in range(K):
            p.current = self.i_offset[i] + self.i_ext[k, i]
            v_before = y[V]
            _integrate_step(&p, y, self.dt, &h)
            y[EXP_G_EXC] += self._take_input(0, slot, i)
            y[EXP_G_INH] += self._take_input(1, slot, i)
            fired = 0
            if refractory > 0:
                refractory -= 1
            elif y[V] >= spike_level and v_before > y[V]:
                # above threshold and already past the peak of the action potential
                refractory = counts
                fired = 1
            self.spiked[k, i] = fired
            if record:
                self.rec[0, k, i] = y[V]
                self.rec[1, k, i] = y[EXP_G_EXC]
                self.rec[2, k, i] = y[EXP_G_INH]
                self.rec[3, k, i] = y[HH_M]
                self.rec[4, k, i] = y[HH_H]
                self.rec[5, k, i] = y[HH_N]
            slot = next_slot(slot, self.ring_length)
        self.v[i] = y[V]
        self.gsyn_exc[i] = y[EXP_G_EXC]
        self.gsyn_inh[i] = y[EXP_G_INH]
        self.m[i] = y[HH_M]
        self.h[i] = y[HH_H]
        self.n_gate[i] = y[HH_N]
        self.refractory_steps[i] = <double> refractory
        self.integration_step[i] = h
