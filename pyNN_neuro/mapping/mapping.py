"""The result of a compile: where every unit and synapse sits, and what it costs.

Counted figures (from per-neuron spike counts of a run), estimated figures (from expected
rates) and static figures (neither) are computed from the same routing; the report says
which in ``activity``. Energy follows the model of the profile's cited constants::

    E = synaptic_events * energy_synaptic_event_pj + neuron_updates * energy_neuron_update_pj
        + spikes_sent * energy_spike_pj + hops * energy_hop_pj

where a synaptic event is one spike reaching one synapse, a neuron update is one neuron in
one time step of the user's dt, spikes_sent counts spikes leaving a neuron core (host
input spikes are not counted there, but their synaptic events and hops are), and hops
are multicast-tree link traversals. Latency is XY hops x ``hop_latency_ns`` (no queueing).
The partial sums of unrolled neurons (exact mode) are not in the energy yet; the report
gives their number of cross-core routes (``partial_sum_routes``).
"""
import json
import math

import numpy as np

from ._arrays import sorted_unique
from .routing import link_loads
from .spec import concatenate_per_neuron

ACTIVITY_LABELS = {
    "counted": "counted from the spike counts of a run",
    "estimated": "estimated from expected rates",
    "static": "static: no spike counts or rates given; per-spike figures only",
}


class Mapping:
    """A compiled mapping of a :class:`NetworkSpec` onto a :class:`HardwareProfile`.

    Arrays (all numpy): ``unit_core`` (core of each unit), ``legal`` (the units and the
    unit of every synapse, see :class:`Legalised`), ``placement`` (core positions),
    ``routes`` (multicast trees). Use :meth:`report`, :meth:`summary`, :meth:`plot`,
    :meth:`to_json`; :meth:`update_counts` refills the counted figures after a run.
    """

    def __init__(self, spec, profile, mapper, legal, unit_core, n_cores, slice_sizes,
                 placement, routes, compile_seconds, peak_memory_mb, placement_mode="row_major"):
        self.spec = spec
        self.profile = profile
        self.mapper = mapper
        self.legal = legal
        self.unit_core = unit_core
        self.n_cores = int(n_cores)
        self.slice_sizes = slice_sizes
        self.placement = placement
        self.placement_mode = placement_mode
        self.routes = routes
        self.compile_seconds = dict(compile_seconds)
        self.peak_memory_mb = peak_memory_mb
        self.tables = None      # routing tables, for profiles whose routers keep them
        # tree/chain: how the run's spikes differ from an exact-mode run (set by the backend)
        self.spike_deviation = None
        # entries the backend adds to the report (e.g. the paradigm of every projection)
        self.extra_report = {}
        self._compute_core_loads()
        self._compute_activity()

    # static, per-core figures -------------------------------------------------------------

    def _compute_core_loads(self):
        legal, n_cores = self.legal, self.n_cores
        self.core_units = np.bincount(self.unit_core, minlength=n_cores).astype(np.int64)
        self.core_synapses = np.bincount(self.unit_core[legal.syn_unit], minlength=n_cores).astype(np.int64)
        base = max(legal.n_sources, 1)
        core_key = sorted_unique(self.unit_core[legal.pair_unit] * base + legal.pair_src)
        self.core_axons = np.bincount(core_key // base, minlength=n_cores).astype(np.int64)
        routes = self.routes
        on_core = routes.source_core >= 0
        self.core_output_axons = np.bincount(routes.source_core[on_core], weights=routes.n_targets[on_core],
                                             minlength=n_cores).astype(np.int64)
        self.core_population = np.full(n_cores, -1, dtype=np.int64)
        self.core_population[self.unit_core] = legal.unit_population
        if legal.n_links:   # tree/chain: each link to another core is a routed message
            self.partial_sum_routes = int(np.count_nonzero(
                self.unit_core[legal.link_child] != self.unit_core[legal.link_parent]))
        else:
            root = legal.root_unit[legal.unit_neuron]
            self.partial_sum_routes = int(np.count_nonzero(self.unit_core != self.unit_core[root]))

    # activity-dependent figures ------------------------------------------------------------

    def update_counts(self, spike_counts, duration_ms, dt_ms):
        """Refill the counted figures from per-neuron ``spike_counts`` (one array over all
        neurons in population order, or a list of per-population arrays) of a run lasting
        ``duration_ms`` with time step ``dt_ms``. No recompilation."""
        self._set_activity(spike_counts=spike_counts, rates_hz=None, duration_ms=duration_ms, dt_ms=dt_ms)

    def update_rates(self, rates_hz, duration_ms, dt_ms):
        """Refill the figures as estimates from expected per-neuron rates (Hz) over
        ``duration_ms``. No recompilation."""
        self._set_activity(spike_counts=None, rates_hz=rates_hz, duration_ms=duration_ms, dt_ms=dt_ms)

    def _set_activity(self, spike_counts, rates_hz, duration_ms, dt_ms):
        spec = self.spec
        spec._check_duration(duration_ms, dt_ms)
        spike_counts = None if spike_counts is None else concatenate_per_neuron(spike_counts)
        rates_hz = None if rates_hz is None else concatenate_per_neuron(rates_hz)
        # validate before changing anything
        spike_counts = spec._activity("spike_counts", spike_counts)
        rates_hz = spec._activity("rates_hz", rates_hz)
        spec.spike_counts, spec.rates_hz = spike_counts, rates_hz
        spec.duration_ms, spec.dt_ms = float(duration_ms), float(dt_ms)
        self._compute_activity()

    def _compute_activity(self):
        spec, routes, profile = self.spec, self.routes, self.profile
        if spec.spike_counts is not None:
            activity, per_neuron = "counted", spec.spike_counts
        elif spec.rates_hz is not None:
            activity, per_neuron = "estimated", spec.rates_hz * spec.duration_ms / 1000.0
        else:
            activity, per_neuron = "static", None
        self.activity = activity
        steps = int(round(spec.duration_ms / spec.dt_ms))
        legal = self.legal
        if per_neuron is None:
            weight = np.ones(len(routes.source))
        else:
            per_neuron = legal.per_source(per_neuron, cap=steps)
            weight = per_neuron[routes.source]
        self._links = link_loads(routes, weight, self.placement.mesh_rows, self.placement.mesh_cols)

        total_weight = float(weight.sum())
        deliveries = float(np.dot(weight, routes.n_targets))
        figures = {
            "mean_hops": _ratio(np.dot(weight, routes.path_hops_sum), deliveries),
            "mean_tree_hops": _ratio(np.dot(weight, routes.tree_hops), total_weight),
            "noc_copies_per_spike": _ratio(np.dot(weight, routes.copies), total_weight),
        }
        active = weight > 0
        figures["max_path_hops"] = int(routes.path_hops_max[active].max()) if active.any() else 0
        loads = self._links
        figures["max_link_load"] = float(max((a.max() for a in loads.values()), default=0.0)) \
            if self.placement.mesh_rows else 0.0
        figures["link_load_unit"] = {"counted": "spikes", "estimated": "expected spikes",
                                     "static": "source trees"}[activity]
        figures["inter_chip_hops"] = self._inter_chip_hops(loads) if activity != "static" else None

        n_neurons = int(np.count_nonzero(~spec.is_source_neuron))
        figures["steps"] = steps
        figures["neuron_updates"] = n_neurons * steps
        if per_neuron is None:
            for name in ("spikes_sent", "input_spikes", "partial_sum_messages", "synaptic_events",
                         "noc_spike_copies", "hops_total"):
                figures[name] = None
        else:
            n = spec.n_neurons
            figures["partial_sum_messages"] = float(per_neuron[n:].sum())
            figures["spikes_sent"] = float(per_neuron[:n][~spec.is_source_neuron].sum())
            figures["input_spikes"] = float(per_neuron[:n][spec.is_source_neuron].sum())
            figures["synaptic_events"] = float(np.dot(weight, routes.fan_out_synapses))
            figures["noc_spike_copies"] = float(np.dot(weight, routes.copies))
            figures["hops_total"] = float(np.dot(weight, routes.tree_hops))
        # KM1: lambda - 1 equals the copies for a neuron; a host source's first delivery
        # is not a cut (its hyperedge has no root pin)
        from_host = routes.source_core < 0
        figures["hypergraph_cut"] = float(np.dot(weight, routes.needed_copies) - weight[from_host].sum())
        figures["energy_pj"] = self._energy(figures)
        latency = profile.hop_latency_ns
        figures["mean_latency_ns"] = None if latency is None or figures["mean_hops"] is None \
            else figures["mean_hops"] * latency
        figures["max_latency_ns"] = None if latency is None else figures["max_path_hops"] * latency
        self.figures = figures

    def _energy(self, figures):
        profile = self.profile
        parts = {
            "synaptic": (figures["synaptic_events"], profile.energy_synaptic_event_pj),
            "neuron": (figures["neuron_updates"], profile.energy_neuron_update_pj),
            "spike": (None if figures["spikes_sent"] is None
                      else figures["spikes_sent"] + figures["partial_sum_messages"],
                      profile.energy_spike_pj),
            "hop": (figures["hops_total"], profile.energy_hop_pj),
        }
        energy = {name: (None if count is None or cost is None else float(count) * cost)
                  for name, (count, cost) in parts.items()}
        energy["total"] = None if any(v is None for v in energy.values()) else float(sum(energy.values()))
        return energy

    def _inter_chip_hops(self, loads):
        cols, rows = self.profile.core_mesh
        x = np.arange(self.placement.mesh_cols)
        y = np.arange(self.placement.mesh_rows)
        crossing_east = (x % cols) == cols - 1
        crossing_west = (x % cols) == 0
        crossing_south = (y % rows) == rows - 1
        crossing_north = (y % rows) == 0
        return float(loads["east"][:, crossing_east].sum() + loads["west"][:, crossing_west].sum()
                     + loads["south"][crossing_south, :].sum() + loads["north"][crossing_north, :].sum())

    # reports ----------------------------------------------------------------------------------

    def report(self):
        """A JSON-serialisable dict of every figure; see the module docstring for the model."""
        profile, legal, spec, f = self.profile, self.legal, self.spec, self.figures
        unrolled = legal.units_per_neuron > 1
        n_cores = self.n_cores
        used_synapses = int(self.core_synapses.sum())
        warnings = []
        target_limit = profile.max_target_cores_per_neuron
        over_target = int(np.count_nonzero((self.routes.source_core >= 0)
                                           & (self.routes.n_targets > target_limit))) \
            if target_limit is not None else 0
        if over_target:
            warnings.append(f"{over_target} neurons reach more than {target_limit} core(s), the "
                            f"per-neuron limit of {profile.name}; splitter neurons are not "
                            f"modelled yet, so this mapping needs them on real hardware")
        if self.partial_sum_routes and not legal.n_links:
            warnings.append(f"{self.partial_sum_routes} partial-sum units sit on another core "
                            f"than their neuron; their partial-sum traffic is not in the energy")
        missing = [k for k, v in f["energy_pj"].items() if v is None and k != "total"]
        if missing and self.activity != "static":
            warnings.append(f"energy components {', '.join(missing)} are not available for "
                            f"profile {profile.name} (no cited constant); total energy omitted")
        return {
            "profile": profile.name,
            "profile_source": profile.source,
            "mapper": self.mapper,
            "unroll": legal.unroll,
            "activity": self.activity,
            "activity_meaning": ACTIVITY_LABELS[self.activity],
            "cores_used": n_cores,
            "cores_available": profile.max_cores,
            "chips_used": self.placement.chips_used,
            "neurons": int(np.count_nonzero(~spec.is_source_neuron)),
            "spike_source_neurons": int(np.count_nonzero(spec.is_source_neuron)),
            "synapses": used_synapses,
            "units": legal.n_units,
            "unrolled_neurons": int(np.count_nonzero(unrolled)),
            "unrolled_units": int(legal.units_per_neuron[unrolled].sum()),
            "max_units_per_neuron": int(legal.units_per_neuron.max()) if len(legal.units_per_neuron) else 0,
            "max_unroll_depth": (legal.max_depth if legal.n_links else 1) if unrolled.any() else 0,
            "added_latency_steps": legal.max_depth,
            "added_latency_ms": legal.max_depth * spec.dt_ms,
            "delayed_synapses": int(np.count_nonzero(legal.syn_added_steps)),
            "mean_added_latency_steps": float(legal.syn_added_steps.mean()) if len(legal.syn_added_steps) else 0.0,
            "partial_sum_links": legal.n_links,
            "spike_deviation": self.spike_deviation,
            "partial_sum_routes": self.partial_sum_routes,
            "max_fan_in": int(legal.fan_in.max()) if len(legal.fan_in) else 0,
            "placement": self.placement_mode,
            "slice_sizes": None if self.slice_sizes is None else
            {p.label: int(s) for p, s in zip(spec.populations, self.slice_sizes) if not p.is_spike_source},
            "neurons_per_core": self.core_units.tolist(),
            "axons_per_core": self.core_axons.tolist(),
            "synapses_per_core": self.core_synapses.tolist(),
            "output_axons_per_core": self.core_output_axons.tolist(),
            "crossbar_utilization": _ratio(used_synapses, n_cores * profile.axons_per_core * profile.neurons_per_core),
            "row_utilization": _ratio(int(self.core_axons.sum()), n_cores * profile.axons_per_core),
            "column_utilization": _ratio(int(self.core_units.sum()), n_cores * profile.neurons_per_core),
            "router_entries_max": int(self.tables.entries.max()) if self.tables is not None and self.tables.entries.size
            else (int(self.routes.router_entries.max()) if self.routes.router_entries.size else 0),
            "router_entries_max_uncompressed": int(self.routes.router_entries.max()) if self.routes.router_entries.size else 0,
            "router_entries_compressed": self.tables is not None,
            "routing": "per key block (core)" if self.routes.by_core else "per source",
            "router_entries_limit": profile.routing_entries_per_router,
            "targets_per_source_max": int(self.routes.n_targets.max()) if len(self.routes.n_targets) else 0,
            "neurons_over_target_core_limit": over_target,
            "duration_ms": spec.duration_ms,
            "dt_ms": spec.dt_ms,
            "native_tick_ms": profile.native_tick_ms,
            "steps": f["steps"],
            "spikes_sent": f["spikes_sent"],
            "input_spikes": f["input_spikes"],
            "partial_sum_messages": f["partial_sum_messages"],
            "synaptic_events": f["synaptic_events"],
            "neuron_updates": f["neuron_updates"],
            "noc_spike_copies": f["noc_spike_copies"],
            "noc_copies_per_spike": f["noc_copies_per_spike"],
            "hypergraph_cut": f["hypergraph_cut"],
            "hypergraph_cut_unit": {"counted": "spikes", "estimated": "expected spikes",
                                    "static": "routes"}[self.activity],
            "hops_total": f["hops_total"],
            "inter_chip_hops": f["inter_chip_hops"],
            "mean_hops": f["mean_hops"],
            "mean_tree_hops": f["mean_tree_hops"],
            "max_link_load": f["max_link_load"],
            "link_load_unit": f["link_load_unit"],
            "energy_pj": dict(f["energy_pj"]),
            "mean_latency_ns": f["mean_latency_ns"],
            "max_latency_ns": f["max_latency_ns"],
            "compile_seconds": dict(self.compile_seconds),
            "peak_memory_mb": self.peak_memory_mb,
            "warnings": warnings,
            **self.extra_report,
        }

    def to_json(self, path):
        """Write :meth:`report` to ``path`` as JSON; returns the path."""
        with open(path, "w") as f:
            json.dump(self.report(), f, indent=1)
        return path

    def summary(self):
        """A short human-readable table of the main figures."""
        r = self.report()

        def spread(values):
            if not values:
                return "-"
            return f"{min(values)} / {np.mean(values):.0f} / {max(values)}"

        def number(value, unit=""):
            if value is None:
                return "n/a"
            if isinstance(value, float) and not value.is_integer():
                text = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.4e}"
            else:
                text = f"{int(value):,}"
            return f"{text} {unit}".rstrip()

        p = self.profile
        energy = r["energy_pj"]
        rows = [
            ("profile", f"{r['profile']}  (mapper {r['mapper']}, placement {r['placement']}, "
                        f"unroll {r['unroll']})"),
            ("cores / chips", f"{r['cores_used']} of {r['cores_available']} / {r['chips_used']}"),
            ("neurons / units / synapses", f"{r['neurons']:,} / {r['units']:,} / {r['synapses']:,}"),
            ("unrolled neurons (units)", f"{r['unrolled_neurons']:,} ({r['unrolled_units']:,})"),
        ]
        if r["partial_sum_links"]:
            rows.append(("added latency", f"up to {r['added_latency_steps']} steps "
                                          f"({r['added_latency_ms']:g} ms) on "
                                          f"{r['delayed_synapses']:,} synapses"))
        deviation = r["spike_deviation"]
        if deviation is not None:
            rows.append(("spikes vs exact mode", (
                f"{deviation['spikes_unrolled']:,} vs {deviation['spikes_exact']:,}, "
                f"{deviation['identical_trains_fraction']:.1%} of trains identical, mean shift "
                f"{deviation['mean_spike_shift_ms']:.3g} ms") if deviation.get("compared")
                else deviation.get("reason", "not compared")))
        rows += [
            ("neurons per core min/mean/max", f"{spread(r['neurons_per_core'])}  (limit {p.neurons_per_core})"),
            ("axons per core min/mean/max", f"{spread(r['axons_per_core'])}  (limit {p.axons_per_core})"),
            ("synapses per core min/mean/max", f"{spread(r['synapses_per_core'])}  (limit {p.synapses_per_core})"),
            ("crossbar utilization", number(r["crossbar_utilization"])),
            ("router entries max", f"{r['router_entries_max']}  (limit {r['router_entries_limit']})"),
            ("activity", r["activity_meaning"]),
            ("NoC spike copies", number(r["noc_spike_copies"])),
            ("hypergraph cut (KM1)", f"{number(r['hypergraph_cut'])} {r['hypergraph_cut_unit']}"),
            ("mean hops / tree hops per spike", f"{number(r['mean_hops'])} / {number(r['mean_tree_hops'])}"),
            ("max link load", f"{number(r['max_link_load'])} {r['link_load_unit']}"),
            ("energy total", number(energy["total"], "pJ")),
            ("  synaptic / neuron / spike / hop",
             " / ".join(number(energy[k]) for k in ("synaptic", "neuron", "spike", "hop")) + " pJ"),
            ("mean latency", number(r["mean_latency_ns"], "ns")),
            ("compile", f"{r['compile_seconds'].get('total', 0.0):.3f} s, peak {number(r['peak_memory_mb'], 'MB')}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"warning: {w}" for w in r["warnings"]]
        return "\n".join(lines)

    def __repr__(self):
        return (f"<Mapping {self.profile.name}: {self.n_cores} cores, {self.legal.n_units} units, "
                f"{len(self.legal.syn_unit)} synapses, {self.activity}>")

    def plot(self, path):
        """Draw the used part of the mesh to ``path`` (PNG): cores coloured by utilisation
        (the largest of their neuron, axon and synapse fractions), links by spike load."""
        from .plot import plot_mapping
        return plot_mapping(self, path)

    @property
    def link_loads(self):
        """Per-direction link loads (dict of (rows, cols) arrays), in ``link_load_unit``."""
        return self._links


def _ratio(numerator, denominator):
    numerator = float(numerator)
    if not denominator:
        return None
    value = numerator / float(denominator)
    return value if math.isfinite(value) else None
