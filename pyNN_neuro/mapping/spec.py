"""The network as the mapping compiler sees it: populations and projections as arrays.

Neurons are numbered globally: population ``p`` holds the neurons
``offsets[p] ... offsets[p] + size - 1``, in the order of ``populations``. A projection
holds one entry per synapse (COO form: ``pre_index[k]`` in the presynaptic population
connects to ``post_index[k]`` in the postsynaptic one).

Spike sources. A population with ``is_spike_source=True`` (PyNN's SpikeSourceArray,
SpikeSourcePoisson...) occupies no neuron slots on any core: its spikes are injected from
the host through an input port, which this model puts at the router of mesh position
(0, 0) of chip 0 (where a host link usually sits, as SpiNNaker's Ethernet chip (0, 0)).
Its spikes still travel over the mesh to their target cores and occupy one axon (crossbar
row) on every core they reach, as on Loihi-like chips.

Activity. ``spike_counts`` (spikes per neuron, observed in a run of ``duration_ms``) makes
the traffic and energy figures *counted*; ``rates_hz`` (expected rate per neuron) makes
them *estimated* over ``duration_ms``; with neither, only static figures are reported.
"""
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np


@dataclass
class PopulationSpec:
    """One population: a label, a size, whether it is a host-injected spike source, and at
    most how many of its units one core may hold (``max_per_core``, sPyNNaker's
    ``set_max_atoms_per_core``; None: the profile's limit only)."""
    label: str
    size: int
    is_spike_source: bool = False
    max_per_core: Optional[int] = None


@dataclass
class ProjectionSpec:
    """One projection between two populations (indices into ``NetworkSpec.populations``).

    ``pre_index`` and ``post_index`` index neurons within the pre and post populations;
    ``weight`` (PyNN units) and ``delay_steps`` (time steps) may be ``None`` when unknown.
    ``synapse_type`` names the PyNN synapse type (for messages); ``plastic`` says whether
    its weights change during a run (STDP), which needs on-chip plasticity.
    """
    label: str
    pre: int
    post: int
    pre_index: np.ndarray
    post_index: np.ndarray
    weight: Optional[np.ndarray] = None
    delay_steps: Optional[np.ndarray] = None
    synapse_type: Optional[str] = None
    plastic: bool = False

    def __len__(self):
        return len(self.pre_index)


@dataclass
class NetworkSpec:
    """Populations, projections and (optionally) activity; see the module docstring."""
    populations: List[PopulationSpec]
    projections: List[ProjectionSpec] = field(default_factory=list)
    spike_counts: Optional[np.ndarray] = None
    rates_hz: Optional[np.ndarray] = None
    duration_ms: float = 0.0
    dt_ms: float = 0.1

    def __post_init__(self):
        self.populations = [p if isinstance(p, PopulationSpec) else PopulationSpec(*p)
                            for p in self.populations]
        for i, population in enumerate(self.populations):
            size = population.size
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 0:
                raise ValueError(f"population {i} ({population.label!r}): size = {size!r} must be "
                                 f"a non-negative integer")
            population.size = int(size)
        sizes = np.array([p.size for p in self.populations], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.is_source_neuron = np.repeat(
            np.array([p.is_spike_source for p in self.populations], dtype=bool), sizes)
        for j, projection in enumerate(self.projections):
            self._validate_projection(j, projection)
        self._check_duration(self.duration_ms, self.dt_ms)
        self.spike_counts = self._activity("spike_counts", self.spike_counts)
        self.rates_hz = self._activity("rates_hz", self.rates_hz)

    # sizes and global numbering ---------------------------------------------------------------

    @property
    def n_neurons(self):
        """Neurons in all populations, spike sources included."""
        return int(self.offsets[-1])

    @property
    def n_synapses(self):
        return int(sum(len(p) for p in self.projections))

    def population_of(self, neuron):
        """Index of the population holding each global neuron index."""
        return np.searchsorted(self.offsets, neuron, side="right") - 1

    def synapses(self):
        """Global (pre, post, projection) of every synapse, concatenated over projections."""
        n = self.n_synapses
        pre = np.empty(n, dtype=np.int64)
        post = np.empty(n, dtype=np.int64)
        which = np.empty(n, dtype=np.int32)
        start = 0
        for j, projection in enumerate(self.projections):
            stop = start + len(projection)
            pre[start:stop] = projection.pre_index + self.offsets[projection.pre]
            post[start:stop] = projection.post_index + self.offsets[projection.post]
            which[start:stop] = j
            start = stop
        return pre, post, which

    # validation ----------------------------------------------------------------------------------

    def _validate_projection(self, j, projection):
        n_pop = len(self.populations)
        where = f"projection {j} ({projection.label!r})"
        for name in ("pre", "post"):
            value = getattr(projection, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n_pop:
                raise ValueError(f"{where}: {name} = {value!r} must be a population index in "
                                 f"[0, {n_pop})")
        if self.populations[projection.post].is_spike_source:
            raise ValueError(f"{where}: its target population "
                             f"{self.populations[projection.post].label!r} is a spike source, "
                             f"which cannot receive synapses")
        projection.pre_index = _as_index_array(where, "pre_index", projection.pre_index)
        projection.post_index = _as_index_array(where, "post_index", projection.post_index)
        n = len(projection.pre_index)
        if len(projection.post_index) != n:
            raise ValueError(f"{where}: pre_index has {n} entries but post_index has "
                             f"{len(projection.post_index)}")
        for name, pop in (("pre_index", projection.pre), ("post_index", projection.post)):
            index = getattr(projection, name)
            size = self.populations[pop].size
            if n and (index.min() < 0 or index.max() >= size):
                bad = index.min() if index.min() < 0 else index.max()
                raise ValueError(f"{where}: {name} contains {bad}, outside population "
                                 f"{self.populations[pop].label!r} of size {size}")
        if projection.weight is not None:
            projection.weight = np.asarray(projection.weight, dtype=float).reshape(-1)
            if projection.weight.size == 1 and n != 1:
                projection.weight = np.full(n, projection.weight[0])
            if len(projection.weight) != n:
                raise ValueError(f"{where}: weight has {len(projection.weight)} entries for "
                                 f"{n} synapses")
        if projection.delay_steps is not None:
            projection.delay_steps = np.asarray(projection.delay_steps).reshape(-1)
            if projection.delay_steps.size == 1 and n != 1:
                projection.delay_steps = np.full(n, projection.delay_steps[0])
            if len(projection.delay_steps) != n:
                raise ValueError(f"{where}: delay_steps has {len(projection.delay_steps)} "
                                 f"entries for {n} synapses")
            if n and projection.delay_steps.min() < 0:
                raise ValueError(f"{where}: delay_steps contains {projection.delay_steps.min()}, "
                                 f"delays must be >= 0 steps")

    @staticmethod
    def _check_duration(duration_ms, dt_ms):
        if not np.isfinite(duration_ms) or duration_ms < 0:
            raise ValueError(f"duration_ms = {duration_ms!r} must be a finite number >= 0")
        if not np.isfinite(dt_ms) or dt_ms <= 0:
            raise ValueError(f"dt_ms = {dt_ms!r} must be a finite number > 0")

    def _activity(self, name, values):
        if values is None:
            return None
        values = concatenate_per_neuron(values)
        if values.shape != (self.n_neurons,):
            raise ValueError(f"{name} has {values.size} entries; one per neuron "
                             f"({self.n_neurons}) is needed")
        if not np.all(np.isfinite(values)) or (values.size and values.min() < 0):
            raise ValueError(f"{name} must be finite and >= 0")
        return values


def concatenate_per_neuron(values):
    """One float array over all neurons, from one array or a list of per-population arrays."""
    if isinstance(values, (list, tuple)) and values and np.ndim(values[0]) == 1:
        values = np.concatenate([np.asarray(v, dtype=float) for v in values])
    return np.asarray(values, dtype=float).reshape(-1)


def _as_index_array(where, name, values):
    values = np.asarray(values)
    if values.ndim != 1:
        values = values.reshape(-1)
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if not np.all(np.mod(values, 1) == 0):
            raise ValueError(f"{where}: {name} must hold integer neuron indices")
    return values.astype(np.int64, copy=False)


def network_spec(populations, projections=(), *, spike_counts=None, rates_hz=None,
                 duration_ms=0.0, dt_ms=0.1):
    """Build a :class:`NetworkSpec` from plain Python values and numpy arrays.

    ``populations``: a sequence of ``(label, size)``, ``(label, size, is_spike_source)`` or
    ``(label, size, is_spike_source, max_per_core)`` tuples, dicts with those keys, or
    :class:`PopulationSpec`.
    ``projections``: a sequence of dicts with keys ``pre``, ``post`` (population indices or
    labels), ``pre_index``, ``post_index`` and optionally ``label``, ``weight``,
    ``delay_steps``, ``synapse_type``, ``plastic``; or :class:`ProjectionSpec`.
    ``spike_counts`` / ``rates_hz``: per neuron, as one array over all neurons in population
    order or a list of per-population arrays.
    """
    pops = []
    for item in populations:
        if isinstance(item, PopulationSpec):
            pops.append(item)
        elif isinstance(item, dict):
            pops.append(PopulationSpec(item["label"], item["size"],
                                       bool(item.get("is_spike_source", False)),
                                       item.get("max_per_core")))
        else:
            pops.append(PopulationSpec(*item))
    labels = {p.label: i for i, p in enumerate(pops)}

    def population_index(value):
        if isinstance(value, str):
            if value not in labels:
                raise ValueError(f"unknown population label {value!r}; known: {sorted(labels)}")
            return labels[value]
        return value

    projs = []
    for j, item in enumerate(projections):
        if isinstance(item, ProjectionSpec):
            projs.append(item)
            continue
        projs.append(ProjectionSpec(
            label=item.get("label", f"projection{j}"),
            pre=population_index(item["pre"]), post=population_index(item["post"]),
            pre_index=item["pre_index"], post_index=item["post_index"],
            weight=item.get("weight"), delay_steps=item.get("delay_steps"),
            synapse_type=item.get("synapse_type"), plastic=bool(item.get("plastic", False))))
    return NetworkSpec(pops, projs, spike_counts=spike_counts, rates_hz=rates_hz,
                       duration_ms=duration_ms, dt_ms=dt_ms)
