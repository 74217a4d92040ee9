"""The run loop: windows of K steps over groups in dependency order.

Windows (``window_plan``). A spike emitted in step s acts on its target in step s + d
(d = delay in steps >= 1). Inside a strongly connected set of groups (a cycle of
projections), no spike emitted in a window may act inside the same window, so that
component's window is at most the smallest delay on its cycles (NEST's min-delay
argument). A component on no cycle gets all its input from components that come before
it in topological order, so it can take the whole *macro window* M at once (at most
``DEFAULT_MAX_WINDOW`` steps and ``WINDOW_ELEMENT_BUDGET`` / neurons): feed-forward layers
and spike sources advance M steps per call, a recurrent part beside them as many of its own
shorter windows as M holds. A component on no cycle that feeds a recurrent part keeps its
pace, or, when it is fed by nothing (a spike source) and has at least as many neurons as
the components it feeds, takes up to ``SOURCE_WINDOWS`` of its windows at once: a Poisson
source's cost per window and neuron is then paid less often, for rings longer by the extra
windows. A plastic (STDP) unit needs its pre- and postsynaptic groups
to take turns window by window (postsynaptic spikes travel back to its synapses through
the same delays), so a network with plastic units keeps one window for every group: the
smallest delay on any cycle or of any plastic unit.

Per macro window, for each strongly connected component in topological order: advance it
through the macro window in its own windows; in each, update its groups (current
injection, kernel, spike list, recording), then run the delivery units leaving them;
after a group's update, units that need its spikes as postsynaptic events get them.

Ring buffers hold M + max_delay + 1 slots: a slot written during a macro window is never
one still waiting to be read.
"""
import logging
import signal
import sys
import threading
import time

import numpy as np

from . import _lif, _sources, _synapses
from .delivery import StaticUnit
from .groups import NeuronGroup, RenewalGroup

logger = logging.getLogger("pyNN_neuro")

DEFAULT_MAX_WINDOW = 256
WINDOW_ELEMENT_BUDGET = 4_000_000   # bound on window_max x neurons, for buffer memory
SOURCE_WINDOWS = 4                  # a component fed by nothing advances up to this many
                                    # windows of the components it feeds at once
PROGRESS_INTERVAL_S = 5.0           # a run longer than this prints a progress line this often
#: Poisson drives add their spikes straight into their one-to-one target's ring (same
#: additions as delivering them; False is kept for the tests that compare both ways)
DIRECT_SOURCES = True
#: with threads, integrate-and-fire groups of one component are advanced in one parallel
#: loop (``Simulation._update_together``); False to advance them one by one (tests)
UPDATE_TOGETHER = True
#: units leaving a component run together on the threads (``Simulation._deliver``) when
#: they have at least this many synaptic events in the window, and the busiest thread
#: gets at most this fraction of them
TOGETHER_MIN_EVENTS = 20000
TOGETHER_BALANCE = 0.75


def strongly_connected_components(n_nodes, edges):
    """Tarjan's algorithm (iterative). Returns (component of each node, components in
    topological order of the condensation: sources first)."""
    adjacency = [[] for _ in range(n_nodes)]
    for a, b in edges:
        adjacency[a].append(b)
    index = [None] * n_nodes
    low = [0] * n_nodes
    on_stack = [False] * n_nodes
    stack, components = [], []
    counter = 0
    for root in range(n_nodes):
        if index[root] is not None:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            recurse = False
            for i in range(child, len(adjacency[node])):
                nxt = adjacency[node][i]
                if index[nxt] is None:
                    work.append((node, i + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    component.append(w)
                    if w == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    components.reverse()   # Tarjan emits sinks first
    membership = [0] * n_nodes
    for c, members in enumerate(components):
        for m in members:
            membership[m] = c
    return membership, components


def window_plan(sizes, links, max_window=DEFAULT_MAX_WINDOW):
    """The engine's windows and update schedule (see the module docstring), from the
    network alone.

    ``sizes``: neurons per group; ``links``: (pre group, post group, smallest delay in
    steps, plastic) for every non-empty delivery unit. Returns (window of each group,
    macro window, component of each group, stages): a stage is (window, components in
    topological order, each a list of groups) and advances window by window, every
    component of it in turn, through the macro window; stages follow each other."""
    membership, components = strongly_connected_components(
        len(sizes), [(a, b) for a, b, _, _ in links])
    n = len(components)
    macro = max(1, min(max_window, WINDOW_ELEMENT_BUDGET // (sum(sizes) or 1)))
    cyclic = [None] * n                 # smallest delay on the component's cycles
    consumers = [set() for _ in range(n)]
    for a, b, delay, _ in links:
        ca, cb = membership[a], membership[b]
        if ca == cb:
            cyclic[ca] = delay if cyclic[ca] is None else min(cyclic[ca], delay)
        else:
            consumers[ca].add(cb)
    if any(plastic for *_, plastic in links):
        # pre- and postsynaptic groups of plastic synapses take turns window by window
        bounds = [delay for a, b, delay, plastic in links
                  if plastic or membership[a] == membership[b]]
        macro = min([macro] + bounds)
        windows = [macro] * len(sizes)
        return windows, macro, membership, [(macro, components)]
    bounds = [c for c in cyclic if c is not None and c < macro]
    if bounds:
        shortest = min(bounds)
        macro = macro // shortest * shortest      # no stub window at the end
    own = [min(c, macro) if c is not None else None for c in cyclic]
    # a component on no cycle keeps pace with the components it feeds (so that their
    # ring buffers stay short); one that feeds nothing, or a component that takes the
    # macro window, takes the macro window. One fed by nothing (spike sources, input
    # layers) and at least as large as the components it feeds takes up to
    # SOURCE_WINDOWS of that pace at once, a whole fraction of the macro window: a
    # Poisson source pays a cost per neuron and window, and its targets' rings grow by
    # the extra windows (memory per target neuron, hence the size condition)
    fed = {x for c in range(n) for x in consumers[c]}
    size = [sum(sizes[m] for m in members) for members in components]
    for c in reversed(range(n)):
        if own[c] is None:
            pace = max((own[x] for x in consumers[c]), default=macro)
            if (c not in fed and pace < macro
                    and size[c] >= sum(size[x] for x in consumers[c])):
                whole = macro // pace
                pace *= max(f for f in range(1, SOURCE_WINDOWS + 1) if whole % f == 0)
            own[c] = pace
    # stages: components in a topological order that keeps equal windows together
    indegree = [0] * n
    for c in range(n):
        for x in consumers[c]:
            indegree[x] += 1
    ready = [c for c in range(n) if indegree[c] == 0]
    stages = []
    while ready:
        current = stages[-1][0] if stages else None
        pick = next((c for c in ready if own[c] == current), ready[0])
        ready.remove(pick)
        if own[pick] != current:
            stages.append((own[pick], []))
        stages[-1][1].append(components[pick])
        for x in sorted(consumers[pick]):
            indegree[x] -= 1
            if indegree[x] == 0:
                ready.append(x)
    return [own[c] for c in membership], macro, membership, stages


class Simulation:
    """Groups and delivery units, advanced together from step 0."""

    def __init__(self, dt, max_window=DEFAULT_MAX_WINDOW):
        self.dt = dt
        self.groups = []
        self.units = []
        self.step = 0
        self.max_window = max_window
        self.window = None
        self.allocated = False
        self.broken = None      # why the state is inconsistent (a run failed mid-window)

    def add_group(self, group):
        self.groups.append(group)
        return group

    def add_unit(self, unit):
        self.units.append(unit)
        return unit

    # build ---------------------------------------------------------------------------------

    def allocate(self, step=0):
        """Choose the window, allocate every buffer, fix the update order. ``step`` > 0
        continues a run after a rebuild: groups keep their state and pending input, and
        groups new to the network start recording (and, for sources, firing) now."""
        self.step = step
        gid = {id(g): i for i, g in enumerate(self.groups)}
        links = [(gid[id(u.pre)], gid[id(u.post)], u.min_delay, bool(u.plastic))
                 for u in self.units if u.size]
        windows, window, _, stages = window_plan(
            [g.size for g in self.groups], links, self.max_window)
        self.window = window                 # the macro window
        stage_of = {}
        for number, (_, stage_components) in enumerate(stages):
            for members in stage_components:
                for m in members:
                    stage_of[m] = number
        # a ring holds the slots its writers may fill ahead of its reader: a window when
        # they all share the reader's stage, else the macro window; plus the longest delay
        lead = list(windows)
        longest = [0] * len(self.groups)
        for a, b, _, _ in links:
            if stage_of[a] != stage_of[b]:
                lead[b] = window
        for u in self.units:
            if u.size:
                b = gid[id(u.post)]
                longest[b] = max(longest[b], u.max_delay)
        for i, g in enumerate(self.groups):
            new = not getattr(g, "allocated", False)
            g.allocate(windows[i], lead[i] + longest[i] + 1, step)
            g.allocated = True
            if step:
                g.resume(step)
                if new:
                    g.recording.clear(step)
        for u in self.units:
            u.allocate(windows[gid[id(u.pre)]], u.post.ring_length)
        self._connect_sources_directly()
        self.order = []
        for stage_window, stage_components in stages:
            steps = []
            for members in stage_components:
                groups = [self.groups[m] for m in members]
                member_ids = {id(g) for g in groups}
                leaving = [u for u in self.units if id(u.pre) in member_ids and u.size]
                steps.append((groups, leaving))
            self.order.append((stage_window, steps))
        self.post_units = {}
        for u in self.units:
            if u.needs_post_spikes:
                self.post_units.setdefault(id(u.post), []).append(u)
        self.threads = max((getattr(g, "num_threads", 1) for g in self.groups), default=1)
        # with threads, the integrate-and-fire groups of a component share one parallel
        # loop per window
        self.update_together = {}
        if self.threads > 1 and UPDATE_TOGETHER:
            for _, steps in self.order:
                for groups, _ in steps:
                    lif = [g for g in groups if isinstance(g, NeuronGroup)
                           and isinstance(g.kernel, _lif._BlockKernel)]
                    if 2 <= len(lif) <= _lif.MAX_UPDATE_TOGETHER:
                        self.update_together[id(groups)] = lif
        self.together = {}
        if self.threads > 1:
            for _, steps in self.order:
                for _, leaving in steps:
                    rings = _rings_together(leaving, self.threads)
                    if len(rings) > 1:
                        self.together[id(leaving)] = (
                            rings, {id(u) for _, units, _ in rings for u in units})
        self.allocated = True
        logger.debug("engine: %d groups, %d units, macro window %d steps, %d stages "
                     "(windows %s)", len(self.groups), len(self.units), window, len(stages),
                     [w for w, _ in stages])

    def _connect_sources_directly(self):
        """Let each Poisson source whose spikes feed only serial units of one synapse or
        none per neuron (one-to-one drives, also from parts of one population), each with
        one delay, add them straight into those units' rings: no spike list, no delivery
        pass (the additions are the same). Not for a source whose spikes are recorded; not
        where two neurons of the source reach one ring entry (threads would share it); not
        where the order of additions into a ring could matter: with another writer into
        it, every writer must have its weights on the ring's grid (exact sums, see
        paradigms.ring_quanta)."""
        leaving, writers = {}, {}
        for u in self.units:
            if u.size:
                leaving.setdefault(id(u.pre), []).append(u)
                writers.setdefault((id(u.post), u.receptor), []).append(u)
        for g in self.groups:
            if isinstance(g, RenewalGroup):
                g.set_direct(self._direct_targets(g, leaving.get(id(g), ()), writers))

    @staticmethod
    def _direct_targets(group, units, writers):
        """The list of ``RenewalGroup.set_direct``, or None when the group must keep its
        spike list (see ``_connect_sources_directly``)."""
        if (not DIRECT_SOURCES or group.kind != 0 or not units
                or len(units) > _sources.MAX_DIRECT_TARGETS
                or group.recording.records_spikes):
            return None
        targets = {}
        for u in units:
            if (type(u) is not StaticUnit or u.min_delay != u.max_delay
                    or int(np.diff(u.indptr).max(initial=0)) > 1):
                return None
            into = writers[(id(u.post), u.receptor)]
            if len(into) > 1 and not all(w.fixed_weights and w.quantum is not None
                                         for w in into):
                return None
            targets.setdefault((id(u.post), u.receptor), []).append(u.post_index)
        for posts in targets.values():
            posts = np.concatenate(posts)
            if np.unique(posts).size != posts.size:
                return None
        return [(u.indptr, u.post_index, u.weight, u.min_delay, u.post.ring[u.receptor])
                for u in units]

    # run -----------------------------------------------------------------------------------

    def run(self, n_steps, progress=True):
        """Advance ``n_steps`` steps. On an exception (or Ctrl-C) the state stays at the
        end of the last complete window and the exception propagates."""
        if self.broken:
            raise RuntimeError(f"the previous run stopped part-way through a window "
                               f"({self.broken}); the network state is inconsistent: call "
                               f"reset() before running again")
        if not self.allocated:
            self.allocate()
        end = self.step + n_steps
        for g in self.groups:
            g.recording.reserve(self.step, end)
            g.recording.sample_now(self.step)
        t_wall = time.perf_counter()
        next_report = t_wall + PROGRESS_INTERVAL_S
        report = progress and n_steps > 0
        with _DeferredInterrupt() as interrupt:
            while self.step < end:
                K = min(self.window, end - self.step)
                try:
                    self._advance(self.step, K)
                except BaseException as err:
                    # keep what was recorded up to the last complete window
                    for g in self.groups:
                        g.recording.truncate(self.step)
                    self.broken = f"{type(err).__name__}: {err}"
                    raise
                self.step += K
                if interrupt.requested:
                    # Ctrl-C lands between windows: the state stays consistent
                    raise KeyboardInterrupt(f"run interrupted at t = {self.step * self.dt} ms")
                if report and time.perf_counter() > next_report:
                    next_report = time.perf_counter() + PROGRESS_INTERVAL_S
                    done = 1.0 - (end - self.step) / n_steps
                    print(f"pyNN_neuro: simulated {self.step * self.dt:.1f} ms "
                          f"({100 * done:.0f}% of this run, {time.perf_counter() - t_wall:.1f} s)",
                          file=sys.stderr, flush=True)

    def _advance(self, step0, M):
        end = step0 + M
        for own, steps in self.order:
            for start in range(step0, end, own):
                K = min(own, end - start)
                for groups, leaving in steps:
                    together = self.update_together.get(id(groups))
                    if together is not None:
                        self._update_together(together, start, K)
                    for g in groups:
                        if together is None or g not in together:
                            g.update(start, K)
                        g.recording.collect(start, K)
                        for u in self.post_units.get(id(g), ()):
                            u.after_post_update(start, K)
                    self._deliver(leaving, start, K)

    @staticmethod
    def _update_together(groups, start, K):
        """The ``update`` of integrate-and-fire groups of one component, their kernels in
        one parallel loop (``_lif.update_together``): the same numbers."""
        for g in groups:
            g.before_kernel(start, K)
        _lif.update_together([g.kernel for g in groups], start, K,
                             [g.records_state for g in groups])
        for g in groups:
            g.after_kernel(K)

    def _deliver(self, leaving, start, K):
        """Run the units leaving a component after its window. With threads, units of
        one synapse type (``StaticUnit``) writing into different rings may run at the
        same time, each on one thread (``_synapses.deliver_together``): several mid-sized
        units gain more that way than from splitting each over the threads, which walks
        every spike on every thread. Used when their synaptic events are many and spread
        over the threads well enough (``TOGETHER_BALANCE``); the units of one ring stay
        on one thread, in order, so every ring entry gets its additions in the same
        order as from one thread."""
        plan = self.together.get(id(leaving))
        if plan is not None:
            rings, together = plan
            threads = self.threads
            loads = [sum(u.pre.n_spikes * u.events_per_spike for u in units)
                     for _, units, _ in rings]
            total = sum(loads)
            # pieces of work: a ring's units whole, or, for a ring with more than a
            # thread's share whose units are split by target, each part of its targets
            # (parts never share an entry)
            pieces = []
            for (_, units, splittable), load in zip(rings, loads):
                if splittable and load > total / threads:
                    pieces.extend((load / threads, units, part) for part in range(threads))
                else:
                    pieces.append((load, units, -1))
            if total >= TOGETHER_MIN_EVENTS:
                assignment = [[] for _ in range(threads)]
                load = [0.0] * threads
                for piece in sorted(pieces, key=lambda piece: -piece[0]):
                    t = load.index(min(load))
                    assignment[t].append(piece)
                    load[t] += piece[0]
                if max(load) <= TOGETHER_BALANCE * total:
                    kernels, parts, spikes, jobs = [], [], [], []
                    for mine in assignment:
                        jobs.append([])
                        for _, units, part in mine:
                            for u in units:
                                if u.pre.n_spikes:
                                    jobs[-1].append(len(kernels))
                                    kernels.append(u._bound_rows())
                                    parts.append(part)
                                    spikes.append(u.pre.n_spikes)
                    _synapses.deliver_together(kernels, parts, spikes, start, jobs)
                    for u in leaving:
                        if id(u) not in together:
                            u.deliver(start, K)
                    return
        for u in leaving:
            u.deliver(start, K)

    def reset(self):
        """Back to step 0: initial state, initial weights, empty delay buffers."""
        self.step = 0
        self.broken = None
        for g in self.groups:
            g.restore_initial_state()
            g.clear_inputs()
            g.spike_count[:] = 0
        for u in self.units:
            u.reset()


def _rings_together(leaving, threads):
    """[(ring, units, splittable)]: the rings written only by plain serial units
    (``StaticUnit``, targets not growing along the synapses) among ``leaving``, each with
    its units in order, and whether every one of them has its targets cut into
    ``threads`` parts: the units ``Simulation._deliver`` may run together."""
    rings, others = {}, set()
    for u in leaving:
        ring = (id(u.post), u.receptor)
        if type(u) is StaticUnit and u.size and not u._bound_rows().monotone:
            rings.setdefault(ring, []).append(u)
        else:
            others.add(ring)
    return [(ring, units, all(u._bound_rows().num_threads == threads for u in units))
            for ring, units in rings.items() if ring not in others]


class _DeferredInterrupt:
    """While a run is under way in the main thread, Ctrl-C sets a flag that the run loop
    checks between windows, instead of interrupting a window half-done."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:           # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
            except ValueError:
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
