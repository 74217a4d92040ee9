"""Which paradigm delivers each projection's spikes, decided before anything is built.

``setup(paradigm=...)`` sets it for every projection, ``Projection.paradigm`` for one:

- ``"serial"``: event-driven delivery (each spike walks its synapses);
- ``"parallel"``: window-batched dense products (static synapses only);
- ``"auto"`` (the default): the selector (``pyNN_neuro.selector``, P1 in papers.md) predicts
  the faster of the two from features the network spec holds before any unit exists, and
  only the chosen paradigm's unit is built.

Same seeds, same spikes, whatever the paradigm: every unit with fixed weights keeps them on
a power-of-two grid chosen per receptor ring (``ring_quanta``), so every sum a ring receives
is exact and its order (event by event, or BLAS products) cannot change a bit.

What "auto" looks at, per projection and per (presynaptic, postsynaptic) base population
pair (a "piece", which becomes one delivery unit):

- sizes of the two base populations, synapse count, fan-in (from the connection arrays,
  one ``bincount``), number of distinct delays (in steps);
- the window K its presynaptic population advances by, by the engine's own rule
  (``engine.simulation.window_plan``): the whole macro window (up to
  ``DEFAULT_MAX_WINDOW`` steps) for populations on no cycle, at most the smallest delay on
  its cycles for a population on one, one short window for all in a network with plastic
  synapses;
- whether the piece lies on a cycle of projections (``recurrent``);
- the expected presynaptic rate: for spike sources the declared one (SpikeSourcePoisson and
  SpikeSourcePoissonRefractory: mean ``rate``; SpikeSourceGamma: mean ``beta / alpha``;
  SpikeSourceArray: spikes / (neurons x time of the last spike)); for neuron populations the
  rate measured in the run so far when there has been one, else a *pilot*: when the
  choice for some projection from a neuron population depends on its rate (the selector
  answers differently at ``LOW_RATE_HZ`` and at the population's highest possible rate,
  with more than ``PILOT_MIN_SAVING_S_PER_STEP`` at stake), the populations upstream of it
  are simulated on their own groups and event-driven units (every synapse treated as
  static; nothing of the real network is built or touched), with the same seeds, for
  ``PILOT_MIN_MS`` to ``PILOT_MAX_MS`` ms (until each population it is run for has fired
  ``PILOT_MIN_SPIKES`` spikes), and their mean rates are used. Otherwise a neuron population is assumed to
  fire at ``DEFAULT_NEURON_RATE_HZ``.

Rules before prediction (``decided_by = "rule"``): synapses that are not static (plastic,
short-term plastic, stochastic) are serial; so is a projection whose dense matrices would
exceed ``ParallelUnit.MAX_MATRIX_BYTES``, and one whose target receptor also receives
plastic synapses (whose weights cannot stay on the grid: serial then keeps the sums in the
same order as an all-serial run).
"""
import gc
import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
from pyNN.standardmodels import cells as pynn_cells

from .engine.delivery import StaticUnit, uniform_value
from .engine.parallel import ParallelUnit
from .engine.simulation import Simulation, window_plan

logger = logging.getLogger("pyNN_neuro")

#: values of ``setup(paradigm=...)`` and ``Projection.paradigm``
SETTINGS = ("auto", "serial", "parallel")
#: the environment variable that changes the default of ``setup(paradigm=...)`` (used to
#: run whole test suites in one paradigm; spikes do not depend on it)
SETTING_VARIABLE = "PYNN_NEURO_PARADIGM"


def default_setting():
    """``$PYNN_NEURO_PARADIGM`` if set, else "auto"."""
    return os.environ.get(SETTING_VARIABLE) or "auto"

#: assumed rate of a neuron population that has neither run nor been piloted (Hz)
DEFAULT_NEURON_RATE_HZ = 10.0
#: the low end of the rates tried to see whether a choice depends on the rate (Hz)
LOW_RATE_HZ = 0.1
#: a pilot runs at least PILOT_MIN_MS, then until every population it was run for has
#: emitted PILOT_MIN_SPIKES spikes, or PILOT_MAX_MS (simulated ms)
PILOT_MIN_MS = 20.0
PILOT_MAX_MS = 100.0
PILOT_MIN_SPIKES = 1000
#: a pilot is run only if knowing the rate could save at least this (s per step)
PILOT_MIN_SAVING_S_PER_STEP = 2e-6
#: bits of slack between the largest possible sum in a ring slot and 2**53 quanta
HEADROOM_BITS = 6


# -- the network as the selector sees it ------------------------------------------------------


@dataclass(eq=False)
class Piece:
    """What the selector needs to know about the connections of one projection from one
    base population to another (what one delivery unit is built from): counts, not the
    connection arrays, which ``arrays`` regenerates when needed."""
    projection: object
    pre: object
    post: object
    size: int
    mean_fan_in: float
    max_fan_in: float
    n_delays: int
    min_delay: int                 # steps
    max_delay: int = None          # steps (None: unknown to the selector, see features)
    recurrent: bool = False
    window: int = 1                # steps its presynaptic population advances by at once

    @property
    def ring(self):
        """The receptor ring buffer this piece adds into."""
        return (id(self.post), self.projection.receptor_type)

    @property
    def static(self):
        return "parallel" in self.projection.synapse_type.paradigms

    def dense_bytes(self):
        return ParallelUnit.matrix_bytes(self.n_delays, self.pre.size, self.post.size)


def projection_arrays(state, projection):
    """For each piece of ``projection`` (``Projection._pieces`` order): (pre population,
    post population, pre indices, post indices, positions in connection order, delays in
    steps including any delay added by the hardware mapping's unrolling; read-only)."""
    from .simulator import delay_steps
    delays = projection._values["delay"]
    extra = projection._unroll_extra_steps
    for pre, post, pre_index, post_index, selection in projection._pieces():
        steps = delay_steps(delays[selection], state.dt, writeable=False)
        if extra is not None:
            steps = steps + np.asarray(extra)[selection]
        yield pre, post, pre_index, post_index, selection, steps.astype(np.int64, copy=False)


def network_pieces(state):
    """Every projection split as the build will split it, summarised: one ``bincount``
    of the postsynaptic indices and one of the delays per piece. The connection arrays
    are let go at once (a network's worth of index arrays would cost as much memory as
    the units themselves)."""
    pieces = []
    for projection in state.projections:
        for pre, post, _, post_index, _, steps in projection_arrays(state, projection):
            fan_in = np.bincount(post_index, minlength=post.size)
            delays = _histogram(steps)
            pieces.append(Piece(projection, pre, post, int(post_index.size),
                                float(fan_in.mean()), float(fan_in.max()),
                                max(int(np.count_nonzero(delays)), 1),
                                int(np.flatnonzero(delays)[0]), len(delays) - 1))
    return pieces


def _histogram(steps):
    """``np.bincount(steps)``, without a pass over a broadcast of one value."""
    if steps.size and steps.strides[0] == 0:
        counts = np.zeros(int(steps[0]) + 1, dtype=np.int64)
        counts[-1] = steps.size
        return counts
    return np.bincount(steps)


def engine_window(state, pieces):
    """The engine's macro window K (steps) by its own rule (``engine.simulation.window_plan``
    applied to the network spec); marks each piece that lies on a cycle as recurrent and
    gives it the window its presynaptic population will advance by (``Piece.window``)."""
    index = {id(p): i for i, p in enumerate(state.populations)}
    links = [(index[id(pc.pre)], index[id(pc.post)], pc.min_delay,
              bool(pc.projection.synapse_type.plastic)) for pc in pieces if pc.size]
    windows, macro, membership, _ = window_plan([p.size for p in state.populations], links)
    for pc in pieces:
        pc.recurrent = membership[index[id(pc.pre)]] == membership[index[id(pc.post)]]
        pc.window = windows[index[id(pc.pre)]]
    return macro


# -- presynaptic rates ---------------------------------------------------------------------------


def declared_rate(population):
    """(mean rate in Hz, highest rate in Hz) a spike source declares, or None for a
    population of model neurons."""
    celltype = population.celltype
    params = population._parameters
    if isinstance(celltype, pynn_cells.SpikeSourceArray):
        times = [np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
                 for seq in params["spike_times"]]
        n_spikes = sum(t.size for t in times)
        if not n_spikes:
            return 0.0, 0.0
        span_ms = max(float(t.max()) for t in times if t.size)
        rate = 1000.0 * n_spikes / (population.size * max(span_ms, 1e-9))
        return rate, rate
    if isinstance(celltype, pynn_cells.SpikeSourceGamma):
        rates = np.asarray(params["beta"], float) / np.asarray(params["alpha"], float)
    elif "rate" in params and not celltype.injectable:
        rates = np.asarray(params["rate"], dtype=float)
    else:
        return None
    rates = np.maximum(rates, 0.0)
    return (float(rates.mean()), float(rates.max())) if rates.size else (0.0, 0.0)


def _highest_neuron_rate(population, dt):
    """The most a model neuron can fire (Hz): once per refractory period, once per step."""
    refractory = population._parameters.get("tau_refrac")
    refractory = float(np.mean(refractory)) if refractory is not None else 0.0
    return 1000.0 / max(refractory, dt)


def _measured_rate(state, population):
    engine = state.engine
    group = population._group
    if engine is None or engine.step <= 0 or group is None or \
            not any(g is group for g in engine.groups):
        return None
    return float(group.spike_count.mean()) / (engine.step * state.dt / 1000.0)


def _spikes_per_step_bound(population, dt):
    """At most how many spikes one neuron of ``population`` emits in one step (for the
    exact-sum grid): 1 for model neurons; for spike sources from the declared times or a
    far Poisson tail of the declared rates (several spikes of one source may share a step)."""
    celltype = population.celltype
    if celltype.injectable:
        return 1
    if isinstance(celltype, pynn_cells.SpikeSourceArray):
        most = 1
        for seq in population._parameters["spike_times"]:
            t = np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
            if t.size > 1:
                steps = np.ceil(t / dt - 1e-9).astype(np.int64)
                most = max(most, int(np.unique(steps, return_counts=True)[1].max()))
        return most
    rates = declared_rate(population)
    per_step = (rates[1] if rates else 0.0) * dt / 1000.0
    return int(math.ceil(per_step + 10.0 * math.sqrt(per_step) + 10.0))


def _pilot_rates(state, populations, pieces):
    """Mean rates (Hz) of ``populations`` and everything upstream of them, from a
    ``PILOT_MS`` ms simulation on fresh groups with event-driven static units."""
    upstream = {id(p): p for p in populations}
    changed = True
    while changed:
        changed = False
        for pc in pieces:
            if id(pc.post) in upstream and id(pc.pre) not in upstream:
                upstream[id(pc.pre)] = pc.pre
                changed = True
    members = [p for p in state.populations if id(p) in upstream]
    engine = Simulation(state.dt)
    groups = {}
    for population in members:
        # the population's own seed: the same spike sources as the run
        group = population.celltype.make_group(population, state.dt, state.num_threads,
                                               population._group_seed())
        group.current_inputs = []
        groups[id(population)] = engine.add_group(group)
    for projection in state.projections:
        values = projection._values
        for pre, post, pre_index, post_index, selection, steps in \
                projection_arrays(state, projection):
            if id(pre) not in groups or id(post) not in groups:
                continue
            weight = np.array(values["weight"][selection], dtype=float)
            for scale in ("p", "U"):      # stochastic and short-term plastic, on average
                if scale in values:
                    weight *= values[scale][selection]
            engine.add_unit(StaticUnit("pilot", groups[id(pre)], groups[id(post)],
                                       projection.receptor_type, pre_index, post_index,
                                       weight, steps.astype(np.intc)))
    for source in state.current_sources:
        for base, indices in source._targets.values():
            if id(base) in groups:
                groups[id(base)].current_inputs.append(source._injector(indices, records=False))
    engine.allocate(0)
    chunk = max(1, int(round(5.0 / state.dt)))
    least = max(1, int(round(PILOT_MIN_MS / state.dt)))
    most = max(least, int(round(PILOT_MAX_MS / state.dt)))
    wanted = [groups[id(p)] for p in populations]
    while engine.step < most:
        engine.run(min(chunk, most - engine.step), progress=False)
        if engine.step >= least and \
                all(g.spike_count.sum() >= PILOT_MIN_SPIKES for g in wanted):
            break
    seconds = engine.step * state.dt / 1000.0
    rates = {key: float(g.spike_count.mean()) / seconds for key, g in groups.items()}
    del engine, groups
    gc.collect()        # groups and their recorders refer to each other: free them now
    return rates


# -- the decision --------------------------------------------------------------------------------


@dataclass
class Decision:
    """How one projection is delivered and why."""
    paradigm: str                  # "serial" | "parallel"
    decided_by: str                # "predicted" | "projection" | "setup" | "rule"
    reason: str
    cost: dict = field(default_factory=dict)   # predicted seconds per step per paradigm
    rate_hz: float = None          # presynaptic rate used for the prediction
    rate_source: str = None        # "declared" | "measured" | "pilot" | "default" | "none"


@dataclass
class Plan:
    window: int                    # the engine's macro window (steps)
    decisions: dict                # id(projection) -> Decision
    rates: dict                    # id(population) -> (Hz, source)
    model: str = None
    pilot_seconds: float = 0.0
    windows: dict = field(default_factory=dict)   # id(projection) -> its pre's window


def setting_of(state, projection):
    """The paradigm asked for a projection ("auto", "serial", "parallel") and by whom."""
    if projection._paradigm is not None:
        return projection._paradigm, "projection"
    return state.paradigm, "setup"


def _features(pieces, rates, dt):
    from .selector import projection_features
    rows = []
    for pc, rate in zip(pieces, rates):
        rows.append(projection_features(
            pc.pre.size, pc.post.size, n_synapses=pc.size, mean_fan_in=pc.mean_fan_in,
            max_fan_in=pc.max_fan_in, rate_hz=max(rate, 0.0), dt=dt, window=pc.window,
            n_delays=pc.n_delays, min_delay=pc.min_delay, max_delay=pc.max_delay,
            plastic=not pc.static, recurrent=pc.recurrent)[0])
    return np.array(rows).reshape(len(rows), -1)


def _predict(pieces, rates, dt, model):
    """(choice, serial cost, parallel cost) per piece; parallel cost inf where the
    parallel paradigm cannot take the piece."""
    from .selector import predict_many
    if not pieces:
        return np.zeros(0, dtype="<U8"), np.zeros(0), np.zeros(0)
    return predict_many(_features(pieces, rates, dt), model)


def _choose_rates(state, pieces, model, auto_pieces):
    """Rate (Hz) and its source for every population feeding a piece."""
    rates = {}
    undecided = []
    for pc in pieces:
        key = id(pc.pre)
        if key in rates:
            continue
        declared = declared_rate(pc.pre)
        measured = _measured_rate(state, pc.pre)
        if measured is not None:
            rates[key] = (measured, "measured")
        elif declared is not None:
            rates[key] = (declared[0], "declared")
        else:
            undecided.append(pc.pre)
    if undecided and model is not None:
        # pilot only populations on which an "auto" choice hangs, with enough at stake
        undecided_ids = {id(p) for p in undecided}
        candidates = [pc for pc in auto_pieces if id(pc.pre) in undecided_ids]
        low = [LOW_RATE_HZ] * len(candidates)
        high = [_highest_neuron_rate(pc.pre, state.dt) for pc in candidates]
        c_low, s_low, p_low = _predict(candidates, low, state.dt, model)
        c_high, s_high, p_high = _predict(candidates, high, state.dt, model)
        at_stake = np.maximum(np.abs(s_low - p_low), np.abs(s_high - p_high))
        needed = {id(pc.pre): pc.pre for pc, a, b, stake in
                  zip(candidates, c_low, c_high, at_stake)
                  if a != b and np.isfinite(stake) and stake >= PILOT_MIN_SAVING_S_PER_STEP}
        if needed:
            piloted = _cached_pilot(state, list(needed.values()), pieces)
            for p in undecided:
                if id(p) in piloted:
                    rates[id(p)] = (piloted[id(p)], "pilot")
    for p in undecided:
        rates.setdefault(id(p), (DEFAULT_NEURON_RATE_HZ, "default"))
    return rates


_pilot_cache = {}


def _cached_pilot(state, populations, pieces):
    """Pilot rates, remembered for the same network (a report and the build share them)."""
    key = _structure(state)
    cached = _pilot_cache.get("pilot")
    wanted = {id(p) for p in populations}
    if cached is not None and cached[0] == key and wanted <= set(cached[1]):
        return cached[1]
    t0 = time.perf_counter()
    rates = _pilot_rates(state, populations, pieces)
    logger.info("pyNN_neuro: paradigm pilot over %d population(s) took %.2f s",
                len(rates), time.perf_counter() - t0)
    _pilot_cache["pilot"] = (key, rates, _keep_alive(state))
    return rates


def _keep_alive(state):
    # the cache holds the objects its key names, so that their ids cannot be reused
    return (list(state.populations), list(state.projections))


def _structure(state):
    return (state.dt, state.rng_seed, state.num_threads,
            tuple(id(p) for p in state.populations),
            tuple((id(p), len(p), id(p.synapse_type), p.receptor_type,
                   id(p._unroll_extra_steps)) for p in state.projections),
            _connections_version[0])


_connections_version = [0]


def connections_changed():
    """Weights or delays changed (``Projection.set``): plans and grids are recomputed."""
    _connections_version[0] += 1


def forget():
    """A new network (``setup()``): drop every cached plan, grid and pilot."""
    _pilot_cache.clear()
    _plan_cache.clear()
    _quanta_cache.clear()
    _connections_version[0] += 1


def _load_model():
    from .selector import load_model
    try:
        return load_model(), None
    except Exception as error:   # a missing or unreadable model must not stop a simulation
        return None, f"no selector model ({type(error).__name__}: {error})"


def make_plan(state):
    """Decide every projection's paradigm (see the module docstring). Nothing is built."""
    pieces = network_pieces(state)
    window = engine_window(state, pieces)
    by_projection = {}
    for pc in pieces:
        by_projection.setdefault(id(pc.projection), []).append(pc)
    plastic_rings = {pc.ring for pc in pieces if pc.projection.synapse_type.plastic}
    model, model_problem = _load_model()

    rules, auto_pieces = {}, []
    for projection in state.projections:
        setting, asked_by = setting_of(state, projection)
        own = by_projection.get(id(projection), [])
        if setting == "serial" or asked_by == "projection" and setting == "parallel":
            continue     # forced: nothing to check here (the build raises if it cannot)
        if "parallel" not in projection.synapse_type.paradigms:
            rules[id(projection)] = (
                f"{type(projection.synapse_type).__name__} synapses are delivered serially "
                "(the parallel paradigm takes static synapses only)")
        elif any(pc.dense_bytes() > ParallelUnit.MAX_MATRIX_BYTES for pc in own):
            big = max(pc.dense_bytes() for pc in own)
            rules[id(projection)] = (
                f"its dense weight matrices would need {big / 1024 ** 3:.1f} GiB, over the "
                f"parallel paradigm's limit of "
                f"{ParallelUnit.MAX_MATRIX_BYTES / 1024 ** 3:.0f} GiB")
        elif any(pc.ring in plastic_rings for pc in own):
            rules[id(projection)] = (
                "its target receptor also receives plastic synapses, whose sums only the "
                "serial paradigm keeps in the same order in every run")
        elif setting == "auto" and model is None:
            rules[id(projection)] = model_problem
        elif setting == "auto":
            auto_pieces.extend(own)

    t0 = time.perf_counter()
    rates = _choose_rates(state, pieces, model, auto_pieces)
    pilot_seconds = time.perf_counter() - t0
    piece_rates = [rates[id(pc.pre)][0] for pc in pieces]
    if model is not None:
        choices, serial_cost, parallel_cost = _predict(pieces, piece_rates, state.dt,
                                                       model)
    else:
        choices = np.full(len(pieces), "serial")
        serial_cost = parallel_cost = np.full(len(pieces), np.nan)
    at = {id(pc): i for i, pc in enumerate(pieces)}

    decisions = {}
    for projection in state.projections:
        setting, asked_by = setting_of(state, projection)
        own = by_projection.get(id(projection), [])
        rows = [at[id(pc)] for pc in own]
        cost = {"serial": float(np.sum(serial_cost[rows])) if rows else 0.0,
                "parallel": float(np.sum(parallel_cost[rows])) if rows else 0.0}
        cost = {k: (v if np.isfinite(v) else None) for k, v in cost.items()}
        if own:
            rate, source = rates[id(own[0].pre)]
        else:
            rate, source = None, "none"
        if id(projection) in rules:
            decision = Decision("serial", "rule", rules[id(projection)], cost, rate, source)
        elif setting != "auto":
            decision = Decision(setting, asked_by, _forced_reason(setting, asked_by), cost,
                                rate, source)
        elif not own:
            decision = Decision("serial", "rule", "no connections", cost, rate, source)
        else:
            if len(own) == 1:
                paradigm = str(choices[rows[0]])
            else:
                paradigm = "parallel" if cost["parallel"] is not None and \
                    cost["parallel"] < cost["serial"] else "serial"
            decision = Decision(paradigm, "predicted",
                                f"selector {model.name} at {rate:.3g} Hz ({source}), "
                                f"window {own[0].window}", cost, rate, source)
        decisions[id(projection)] = decision
    windows = {key: own[0].window for key, own in by_projection.items() if own}
    return Plan(window, decisions, {k: v for k, v in rates.items()},
                model.name if model is not None else None, pilot_seconds, windows)


_plan_cache = {}


def plan(state):
    """The current plan, recomputed when the network, the settings or the run so far
    changed (a report and the build that follows it share one)."""
    engine = state.engine
    key = (_structure(state), state.paradigm,
           tuple(p._paradigm for p in state.projections),
           id(engine), engine.step if engine is not None else 0, _sources_digest(state))
    cached = _plan_cache.get("plan")
    if cached is not None and cached[0] == key:
        return cached[1]
    result = make_plan(state)
    _plan_cache["plan"] = (key, result, _keep_alive(state), engine)
    return result


def _sources_digest(state):
    """Changes when a spike source's parameters change (they set the declared rates)."""
    digest = []
    for population in state.populations:
        if population.celltype.injectable:
            continue
        for name, values in sorted(population._parameters.items()):
            if values.dtype == object:
                digest.append(tuple(id(v) for v in values))
            else:
                digest.append(hash(values.tobytes()))
    return tuple(digest)


def decide(state, projection):
    """The ``Decision`` for one projection (its units are about to be built). A forced
    paradigm needs no plan; its predicted costs are filled in by the report."""
    setting, asked_by = setting_of(state, projection)
    if setting == "serial" or setting == "parallel" and asked_by == "projection":
        return Decision(setting, asked_by, _forced_reason(setting, asked_by))
    decision = plan(state).decisions[id(projection)]
    if decision.decided_by == "rule" and setting == "parallel":
        logger.warning("pyNN_neuro: projection '%s' is delivered serially although "
                       "setup(paradigm='parallel'): %s", projection.label, decision.reason)
    return decision


def _forced_reason(setting, asked_by):
    return (f"paradigm={setting!r} set by the "
            f"{'projection' if asked_by == 'projection' else 'setup()'}")


# -- exact sums: the grid of each receptor ring ---------------------------------------------------


def ring_quanta(state):
    """{(id(post population), receptor): quantum}: the power of two every fixed weight
    onto that receptor is rounded to a multiple of.

    B = max over postsynaptic neurons of sum over its fixed-weight synapses of |weight| x
    (most spikes its presynaptic neuron can emit in one step) bounds every partial sum a
    ring slot can see; the quantum is the power of two with B x 2**HEADROOM_BITS <= 2**53
    quanta, the finest that keeps every such sum exact. None when all weights are 0.
    """
    bound = {}
    multiplicity = {}
    for projection in state.projections:
        if projection.synapse_type.plastic:
            continue
        weights = projection._values["weight"]
        for pre, post, _, post_index, selection, _ in projection_arrays(state, projection):
            if id(pre) not in multiplicity:
                multiplicity[id(pre)] = _spikes_per_step_bound(pre, state.dt)
            per_post = _abs_weight_sums(post_index, weights[selection],
                                        post.size) * multiplicity[id(pre)]
            ring = (id(post), projection.receptor_type)
            bound[ring] = bound[ring] + per_post if ring in bound else per_post
    quanta = {}
    for ring, per_post in bound.items():
        largest = float(per_post.max()) if per_post.size else 0.0
        if not largest > 0 or not math.isfinite(largest):
            quanta[ring] = None
            continue
        exponent = math.frexp(largest)[1] + HEADROOM_BITS - 53
        quanta[ring] = math.ldexp(1.0, exponent) if exponent > -1000 else None
    return quanta


def _abs_weight_sums(post_index, weights, n_post):
    """``np.bincount(post_index, weights=np.abs(weights), minlength=n_post)``, to the bit.
    With one weight w for all, bin j holds the sum of its c_j copies of |w| added one by
    one from 0 (bincount's order); those sums are tabulated once per count, so the result
    is the same without a weighted pass over the connections."""
    w = uniform_value(weights)
    if w is None or post_index.size == 0:
        return np.bincount(post_index, weights=np.abs(weights), minlength=n_post)
    counts = np.bincount(post_index, minlength=n_post)
    sums = np.zeros(int(counts.max()) + 1)
    # add.accumulate adds one element at a time, in order (no pairwise summation)
    np.cumsum(np.full(sums.size - 1, abs(float(w))), out=sums[1:])
    return sums[counts]


_quanta_cache = {}


def quanta(state):
    """``ring_quanta`` for the current weights (cached until a weight changes)."""
    key = (_structure(state), id(state.engine))
    cached = _quanta_cache.get("quanta")
    if cached is not None and cached[0] == key:
        return cached[1]
    result = ring_quanta(state)
    _quanta_cache["quanta"] = (key, result, _keep_alive(state), state.engine)
    return result


def put_on_grid(state, projection):
    """Give every unit of ``projection`` its ring's quantum (re-rounding its weights from
    the exact values whenever the quantum changes). A unit knows its ring as ``ring``,
    set when the projection built it."""
    if projection._units is None:
        return
    table = quanta(state)
    weights = projection._values["weight"]
    for unit, selection in projection._units:
        if not unit.fixed_weights:
            continue
        q = table.get(unit.ring)
        if unit.quantum != q:
            unit.set_quantum(q, weights[selection])


def regrid_all(state):
    """After a weight change: every live unit onto a ring whose quantum changed."""
    for projection in state.projections:
        put_on_grid(state, projection)


# -- the report ----------------------------------------------------------------------------------


def projection_report(state):
    """One row per projection: label, the paradigm it runs in (or will, before the first
    run), who decided (``decided_by``: "predicted" by the selector, forced by the
    "projection"'s own ``paradigm``, by "setup"(paradigm=...), or a "rule"), why, the
    selector's predicted delivery cost in each paradigm (``predicted_cost``, seconds per
    simulated step; None where a paradigm cannot take the projection), the presynaptic
    rate it assumed and where that rate came from, and the window (steps) its presynaptic
    population advances by."""
    current = plan(state)
    rows = []
    for projection in state.projections:
        planned = current.decisions[id(projection)]
        decision = getattr(projection, "_paradigm_decision", None)
        if decision is None or projection._units is None:
            decision = planned
        elif not decision.cost:      # forced at build: the plan has its predicted costs
            decision = Decision(decision.paradigm, decision.decided_by, decision.reason,
                                planned.cost, planned.rate_hz, planned.rate_source)
        rows.append({
            "label": projection.label,
            "paradigm": decision.paradigm,
            "decided_by": decision.decided_by,
            "reason": decision.reason,
            "predicted_cost": dict(decision.cost),
            "rate_hz": decision.rate_hz,
            "rate_source": decision.rate_source,
            "window": current.windows.get(id(projection), current.window),
        })
    return rows
