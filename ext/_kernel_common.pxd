# cython: language_level=3
"""Numerics shared by the neuron kernels (_lif, _cond, _multisynapse).

Everything here is ``cdef inline`` or a C constant, so it is compiled into each module that
cimports it (``from _kernel_common cimport ...``) and costs nothing at run time: no module
of this name exists. The Python-level input validation of the kernels lives in
``pyNN_neuro.engine._checks``.

Contents:

- constants (e, double limits, NEST's time grid and propagator stability bound);
- the exact-integration propagators of NEST's IAFPropagator (``current_to_v``,
  ``drive_to_v``);
- NEST's rounding of tau_refrac to whole steps (``nest_refractory_steps``);
- Fehlberg's embedded 4(5) tableau, the stage combinations of one RKF45 step, and GSL's
  step-size control (error ratio, accept / reject / grow decision, trial length) with
  NEST's tolerances of the iaf_cond and aeif_cond models. The right-hand sides, hence the
  calls between the stages, stay in each kernel module.
"""
from libc.float cimport DBL_MIN
from libc.math cimport exp, expm1, fabs, floor, pow


# Constants as static C doubles, so that the compiler may fold them.
cdef extern from *:
    """
    /* numerics::e in NEST; the double nearest to e (== exp(1.0)). */
    static const double KC_EULER_E = 2.718281828459045;
    /* Smallest positive normal double and largest double. */
    static const double KC_DOUBLE_MIN_NORMAL = 2.2250738585072014e-308;
    static const double KC_DOUBLE_MAX = 1.7976931348623157e308;
    /* NEST's IAFPropagator: the regular form of the alpha propagator P31 is used when
       dt > NUMERICAL_STABILITY_FACTOR * tau_m**2 / |tau_m - tau_syn|. */
    static const double KC_NUMERICAL_STABILITY_FACTOR = 1e-7;
    /* NEST's default time grid: 1000 tics per ms. */
    static const double KC_TICS_PER_MS = 1000.0;

    /* Fehlberg's embedded 4(5) tableau: stage weights A, fifth-order solution weights B,
       and (fifth - fourth)-order weights E giving the local error estimate. */
    static const double KC_RKF_A21 = 1.0 / 4.0;
    static const double KC_RKF_A31 = 3.0 / 32.0, KC_RKF_A32 = 9.0 / 32.0;
    static const double KC_RKF_A41 = 1932.0 / 2197.0, KC_RKF_A42 = -7200.0 / 2197.0,
                        KC_RKF_A43 = 7296.0 / 2197.0;
    static const double KC_RKF_A51 = 439.0 / 216.0, KC_RKF_A52 = -8.0,
                        KC_RKF_A53 = 3680.0 / 513.0, KC_RKF_A54 = -845.0 / 4104.0;
    static const double KC_RKF_A61 = -8.0 / 27.0, KC_RKF_A62 = 2.0,
                        KC_RKF_A63 = -3544.0 / 2565.0, KC_RKF_A64 = 1859.0 / 4104.0,
                        KC_RKF_A65 = -11.0 / 40.0;
    static const double KC_RKF_B1 = 16.0 / 135.0, KC_RKF_B3 = 6656.0 / 12825.0,
                        KC_RKF_B4 = 28561.0 / 56430.0, KC_RKF_B5 = -9.0 / 50.0,
                        KC_RKF_B6 = 2.0 / 55.0;
    static const double KC_RKF_E1 = 1.0 / 360.0, KC_RKF_E3 = -128.0 / 4275.0,
                        KC_RKF_E4 = -2197.0 / 75240.0, KC_RKF_E5 = 1.0 / 50.0,
                        KC_RKF_E6 = 2.0 / 55.0;
    """
    const double EULER_E "KC_EULER_E"
    const double DOUBLE_MIN_NORMAL "KC_DOUBLE_MIN_NORMAL"
    const double DOUBLE_MAX "KC_DOUBLE_MAX"
    const double NUMERICAL_STABILITY_FACTOR "KC_NUMERICAL_STABILITY_FACTOR"
    const double TICS_PER_MS "KC_TICS_PER_MS"
    const double A21 "KC_RKF_A21"
    const double A31 "KC_RKF_A31"
    const double A32 "KC_RKF_A32"
    const double A41 "KC_RKF_A41"
    const double A42 "KC_RKF_A42"
    const double A43 "KC_RKF_A43"
    const double A51 "KC_RKF_A51"
    const double A52 "KC_RKF_A52"
    const double A53 "KC_RKF_A53"
    const double A54 "KC_RKF_A54"
    const double A61 "KC_RKF_A61"
    const double A62 "KC_RKF_A62"
    const double A63 "KC_RKF_A63"
    const double A64 "KC_RKF_A64"
    const double A65 "KC_RKF_A65"
    const double B1 "KC_RKF_B1"
    const double B3 "KC_RKF_B3"
    const double B4 "KC_RKF_B4"
    const double B5 "KC_RKF_B5"
    const double B6 "KC_RKF_B6"
    const double E1 "KC_RKF_E1"
    const double E3 "KC_RKF_E3"
    const double E4 "KC_RKF_E4"
    const double E5 "KC_RKF_E5"
    const double E6 "KC_RKF_E6"


# ---------------------------------------------------------------------------------------
# Exact-integration propagators (NEST's libnestutil/iaf_propagator)
# ---------------------------------------------------------------------------------------

cdef inline double current_to_v(double tau_syn, double tau_m, double cm,
                                double h) noexcept nogil:
    """Propagator (mV/nA) from a synaptic current decaying with tau_syn to v over h.

    Exact value tau_syn tau_m / ((tau_m - tau_syn) cm) (exp(-h/tau_m) - exp(-h/tau_syn)),
    written as exp(-h/tau_syn) expm1(h (1/tau_syn - 1/tau_m)) so that no cancellation
    occurs when the time constants are close; where that product is not a positive normal
    number (tau_syn == tau_m makes it inf * 0), the limit h/cm exp(-h/tau_m) is used.
    """
    cdef double beta = tau_syn * tau_m / (tau_m - tau_syn)
    cdef double gamma = beta / cm
    cdef double inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    cdef double p = gamma * exp(-h * (1.0 / tau_syn)) * expm1(h * inv_beta)
    if p >= DOUBLE_MIN_NORMAL and p <= DOUBLE_MAX:
        return p
    return h * (1.0 / cm) * exp(-h * (1.0 / tau_m))


cdef inline double drive_to_v(double tau_syn, double tau_m, double cm,
                              double h) noexcept nogil:
    """Propagator (mV per nA/ms) from the alpha synapse's drive term to v over h.

    Regular form tau_syn tau_m / ((tau_m - tau_syn) cm) exp(-h/tau_syn)
    (beta expm1(h/beta) - h), beta = tau_syn tau_m / (tau_m - tau_syn); within NEST's
    stability bound of the singularity, its limit h^2 / (2 cm) exp(-h/tau_m).
    """
    cdef double beta = tau_syn * tau_m / (tau_m - tau_syn)
    cdef double gamma = beta / cm
    cdef double inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    cdef double h_min_regular = NUMERICAL_STABILITY_FACTOR * tau_m * tau_m / fabs(tau_m - tau_syn)
    if h > h_min_regular:
        return gamma * exp(-h * (1.0 / tau_syn)) * (beta * expm1(h * inv_beta) - h)
    return 0.5 * h * h * (1.0 / cm) * exp(-h * (1.0 / tau_m))


# ---------------------------------------------------------------------------------------
# Neuron blocks and ring slots
#
# The vectorised kernels advance NEURON_BLOCK neurons at a time, step by step through the
# window, keeping the block's state in local arrays: every inner loop is then a branch-free
# loop over neurons whose stores go to memory nothing else can point to, which the compiler
# turns into SIMD code. Threads take whole blocks, so a neuron's arithmetic never depends on
# the thread count. The ring slot of step s is s mod L; a window computes it once and then
# advances it by one per step (``next_slot``) instead of dividing per neuron and step.
# ---------------------------------------------------------------------------------------

cdef enum:
    NEURON_BLOCK = 256


# A block's arrays handed to a model's step function never overlap each other or the
# kernel's parameter arrays; saying so (C's restrict) lets the compiler vectorise the
# step without run-time overlap checks.
cdef extern from *:
    ctypedef double* block_array "double * __restrict__"
    ctypedef const double* const_block_array "const double * __restrict__"


cdef inline Py_ssize_t block_count(Py_ssize_t n) noexcept nogil:
    """Number of neuron blocks covering n neurons."""
    return (n + NEURON_BLOCK - 1) // NEURON_BLOCK


cdef inline Py_ssize_t block_size(Py_ssize_t first, Py_ssize_t n) noexcept nogil:
    """Number of neurons in the block starting at ``first`` (NEURON_BLOCK, or what is left)."""
    return NEURON_BLOCK if n - first > NEURON_BLOCK else n - first


cdef inline int threads_for(int num_threads, double work, double min_work_per_thread,
                            Py_ssize_t n_items) noexcept nogil:
    """Threads worth starting for a call: one per ``min_work_per_thread`` units of work (a
    parallel region costs microseconds, far more on a machine whose cores are busy with
    other processes), at most num_threads and n_items. The result of a call never depends
    on it: threads only share independent items."""
    cdef double wanted = work / min_work_per_thread
    cdef int threads = num_threads
    if wanted < threads:
        threads = <int>wanted if wanted >= 1.0 else 1
    if threads > n_items:
        threads = <int>n_items if n_items >= 1 else 1
    return threads


cdef inline Py_ssize_t next_slot(Py_ssize_t slot, Py_ssize_t ring_length) noexcept nogil:
    """The ring slot after ``slot`` (0 <= slot < ring_length)."""
    slot += 1
    return 0 if slot == ring_length else slot


cdef inline void take_input(double* ring_row, double* arrived, Py_ssize_t m) noexcept nogil:
    """Move the m weights of a ring row into ``arrived`` and clear the row."""
    cdef Py_ssize_t b
    for b in range(m):
        arrived[b] = ring_row[b]
    for b in range(m):
        ring_row[b] = 0.0


cdef inline void copy_values(const double* source, double* target, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t b
    for b in range(m):
        target[b] = source[b]


cdef inline void load_steps(const double* source, double* target, Py_ssize_t m) noexcept nogil:
    """Copy step counters kept as doubles, truncated to whole steps."""
    cdef Py_ssize_t b
    for b in range(m):
        target[b] = <double><Py_ssize_t>source[b]


cdef inline void copy_flags(const double* source, unsigned char* target,
                            Py_ssize_t m) noexcept nogil:
    """target[b] = 1 where source[b] != 0 (spike flags kept as doubles in the vector loop)."""
    cdef Py_ssize_t b
    for b in range(m):
        target[b] = source[b] != 0.0


# ---------------------------------------------------------------------------------------
# Refractoriness
# ---------------------------------------------------------------------------------------

cdef inline double nest_refractory_steps(double tau_refrac, double dt) noexcept nogil:
    """Whole steps a neuron stays refractory, as NEST counts them (a whole number, as double).

    tau_refrac (ms) is rounded to the nearest tic (1 us) and the result rounded up to
    whole steps of dt (ms). If dt is not a whole number of tics, round(tau_refrac / dt).
    """
    cdef double tics_per_step = floor(dt * TICS_PER_MS + 0.5)
    cdef double tics
    if tics_per_step >= 1.0 and fabs(dt * TICS_PER_MS - tics_per_step) <= 1e-9 * tics_per_step:
        tics = floor(tau_refrac * TICS_PER_MS + 0.5)
        return floor((tics + tics_per_step - 1.0) / tics_per_step)
    return floor(tau_refrac / dt + 0.5)


# ---------------------------------------------------------------------------------------
# RKF45: the stage combinations of one Fehlberg step. A kernel's step is
#   stage = rkf_stage2(...); f(stage) -> k2; stage = rkf_stage3(...); f -> k3; ...
#   f(stage6) -> k6; rkf_finish(...)
# with its own right-hand side f between the stages. Each formula is written once, for
# one component (rkf_y2 ... rkf_error); the array versions apply it to every component,
# and a vectorised kernel applies it lane by lane, so both round identically.
# ---------------------------------------------------------------------------------------

cdef inline double rkf_y2(double y, double h, double k1) noexcept nogil:
    return y + h * A21 * k1


cdef inline double rkf_y3(double y, double h, double k1, double k2) noexcept nogil:
    return y + h * (A31 * k1 + A32 * k2)


cdef inline double rkf_y4(double y, double h, double k1, double k2, double k3) noexcept nogil:
    return y + h * (A41 * k1 + A42 * k2 + A43 * k3)


cdef inline double rkf_y5(double y, double h, double k1, double k2, double k3,
                          double k4) noexcept nogil:
    return y + h * (A51 * k1 + A52 * k2 + A53 * k3 + A54 * k4)


cdef inline double rkf_y6(double y, double h, double k1, double k2, double k3, double k4,
                          double k5) noexcept nogil:
    return y + h * (A61 * k1 + A62 * k2 + A63 * k3 + A64 * k4 + A65 * k5)


cdef inline double rkf_y_next(double y, double h, double k1, double k3, double k4, double k5,
                              double k6) noexcept nogil:
    """y plus the fifth-order increment."""
    return y + h * (B1 * k1 + B3 * k3 + B4 * k4 + B5 * k5 + B6 * k6)


cdef inline double rkf_error(double h, double k1, double k3, double k4, double k5,
                             double k6) noexcept nogil:
    """(fifth - fourth)-order local error estimate."""
    return h * (E1 * k1 + E3 * k3 + E4 * k4 + E5 * k5 + E6 * k6)


cdef inline void rkf_stage2(double* stage, const double* y, double h, const double* k1,
                            int dim) noexcept nogil:
    cdef int j
    for j in range(dim):
        stage[j] = rkf_y2(y[j], h, k1[j])


cdef inline void rkf_stage3(double* stage, const double* y, double h, const double* k1,
                            const double* k2, int dim) noexcept nogil:
    cdef int j
    for j in range(dim):
        stage[j] = rkf_y3(y[j], h, k1[j], k2[j])


cdef inline void rkf_stage4(double* stage, const double* y, double h, const double* k1,
                            const double* k2, const double* k3, int dim) noexcept nogil:
    cdef int j
    for j in range(dim):
        stage[j] = rkf_y4(y[j], h, k1[j], k2[j], k3[j])


cdef inline void rkf_stage5(double* stage, const double* y, double h, const double* k1,
                            const double* k2, const double* k3, const double* k4,
                            int dim) noexcept nogil:
    cdef int j
    for j in range(dim):
        stage[j] = rkf_y5(y[j], h, k1[j], k2[j], k3[j], k4[j])


cdef inline void rkf_stage6(double* stage, const double* y, double h, const double* k1,
                            const double* k2, const double* k3, const double* k4,
                            const double* k5, int dim) noexcept nogil:
    cdef int j
    for j in range(dim):
        stage[j] = rkf_y6(y[j], h, k1[j], k2[j], k3[j], k4[j], k5[j])


cdef inline void rkf_finish(double* y, double* err, double h, const double* k1,
                            const double* k3, const double* k4, const double* k5,
                            const double* k6, int dim) noexcept nogil:
    """y += the fifth-order increment; err = (fifth - fourth)-order local error estimate."""
    cdef int j
    for j in range(dim):
        err[j] = rkf_error(h, k1[j], k3[j], k4[j], k5[j], k6[j])
        y[j] = rkf_y_next(y[j], h, k1[j], k3[j], k4[j], k5[j], k6[j])


# ---------------------------------------------------------------------------------------
# RKF45: GSL's step-size control (gsl_odeiv2 "standard" control, as NEST uses it)
# ---------------------------------------------------------------------------------------

cdef inline void nest_iaf_cond_tolerances(double* abs_tol, int dim, double* rel_tol,
                                          double* value_weight,
                                          double* slope_weight) noexcept nogil:
    """NEST iaf_cond_*: 1e-3 absolute on every component in mV / nS (nS -> uS is a factor
    1e-3, so 1e-6 on the conductances), no relative part. Fills abs_tol[0 .. dim-1]."""
    cdef int j
    rel_tol[0] = 0.0
    value_weight[0] = 1.0
    slope_weight[0] = 0.0
    abs_tol[0] = 1e-3
    for j in range(1, dim):
        abs_tol[j] = 1e-6


cdef inline void nest_aeif_tolerances(double* abs_tol, int dim, double* rel_tol,
                                      double* value_weight,
                                      double* slope_weight) noexcept nogil:
    """NEST aeif_cond_*: 1e-6 absolute in mV / nS / pA (1e-9 on conductances in uS and on w
    in nA), plus 1e-6 relative to |h dy/dt| (not to the value). Fills abs_tol[0 .. dim-1]."""
    cdef int j
    rel_tol[0] = 1e-6
    value_weight[0] = 0.0
    slope_weight[0] = 1.0
    abs_tol[0] = 1e-6
    for j in range(1, dim):
        abs_tol[j] = 1e-9


cdef inline double rkf_trial_length(double h, double t_start, double t_end,
                                    double* t_next) noexcept nogil:
    """The length of the next trial sub-step from t_start: h, cut to end exactly on t_end
    if longer than what is left. t_next[0] is set to where that sub-step ends."""
    cdef bint last = h > t_end - t_start
    if last:
        h = t_end - t_start
    t_next[0] = t_end if last else t_start + h
    return h


cdef inline double rkf_error_term(double err, double y, double slope_end, double abs_tol,
                                  double rel_tol, double value_weight, double slope_weight,
                                  double h) noexcept nogil:
    """|err| / D for one component, D = abs_tol + rel_tol (value_weight |y| +
    slope_weight |h dy/dt|), dy/dt at the end of the sub-step in slope_end."""
    return fabs(err) / (abs_tol + rel_tol * (value_weight * fabs(y)
                        + slope_weight * fabs(h * slope_end)))


cdef inline double rkf_error_ratio(const double* err, const double* y,
                                   const double* slope_end, const double* abs_tol,
                                   double rel_tol, double value_weight, double slope_weight,
                                   double h, int dim) noexcept nogil:
    """max_j of ``rkf_error_term``, at least DBL_MIN."""
    cdef double ratio = DBL_MIN
    cdef double r
    cdef int j
    for j in range(dim):
        r = rkf_error_term(err[j], y[j], slope_end[j], abs_tol[j], rel_tol, value_weight,
                           slope_weight, h)
        if r > ratio:
            ratio = r
    return ratio


cdef inline bint rkf_reject(double ratio, double t_next, double* h) noexcept nogil:
    """GSL's decision after a trial sub-step of length h[0] ending at t_next.

    ratio > 1.1: shrink h by max(0.2, 0.9 ratio^(-1/5)) and return True (retry from the
    start of the sub-step), unless the shorter step would no longer move time forward, in
    which case the sub-step is accepted with h unchanged. ratio < 0.5: accept, and grow h by
    min(5, max(1, 0.9 ratio^(-1/6))) for the next sub-step. Otherwise accept with h
    unchanged. On return h[0] is the length to try next.
    """
    cdef double h_tried = h[0]
    cdef double factor
    if ratio > 1.1:
        factor = 0.9 / pow(ratio, 1.0 / 5.0)
        if factor < 0.2:
            factor = 0.2
        h[0] = factor * h_tried
        # retry only if the shorter step still moves time forward
        if h[0] < h_tried and t_next + h[0] != t_next:
            return True
        h[0] = h_tried
    elif ratio < 0.5:
        factor = 0.9 / pow(ratio, 1.0 / 6.0)
        if factor > 5.0:
            factor = 5.0
        if factor < 1.0:
            factor = 1.0
        h[0] = factor * h_tried
    return False
