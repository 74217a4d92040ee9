"""Mapping benchmark (issue 3): the mappers on five networks, and compile-time scaling.

Networks (built directly as NetworkSpec arrays, seeded; rates are expected per-population
rates, so every traffic and energy figure is *estimated* over 1 s):

- ``va``: Vogels-Abbott, 4000 cells (3200 E / 800 I), connection probability 0.02.
- ``brunel100`` / ``brunel1000``: Brunel-like, 12 500 cells (10 000 E / 2500 I), fixed
  number of presynaptic cells per neuron (fan-in 100 or 1000, 80% from E, 20% from I).
- ``conv``: 4 layers of 64 x 64 cells, each cell of layer l drives the 5 x 5 patch around
  its position in layer l + 1.
- ``grid2d``: 10^5 cells on a 316 x 316 grid, Gaussian distance-dependent connection
  probability (about 100 synapses per cell).

For each network x mapper (slice, default, quality when mtkahypar is installed) x profile
it prints cores, hypergraph cut (KM1), spike-hops (``hops_total``), total energy, compile
time (median of ``--repeats``) and peak memory, and the ratios default / slice (hops) and
default / quality (energy) that issue 3's "Done when" names, with a lower bound on the
spike-hops where a target is out of reach for every mapper. Then compile time of the
default mapper over about 10^5, 10^6 and 10^7 synapses, with the fitted log-log exponent
and the peak memory per synapse.

    python benchmarks/mapping.py                       # everything (about 20 minutes)
    python benchmarks/mapping.py --quick               # small networks, no 10^7 point
    python benchmarks/mapping.py --network conv --profile loihi --mapper default
    python benchmarks/mapping.py --json mapping_results.json --doc docs/mapping.md
    python benchmarks/mapping.py --from-json networks.json --from-json scaling.json --doc docs/mapping.md
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

from pyNN_neuro.hardware import get_profile
from pyNN_neuro.mapping import check, compile, network_spec

DURATION_MS = 1000.0
DT_MS = 0.1


# networks -----------------------------------------------------------------------------------

def _spec(populations, projections, rates):
    """A spec with per-population expected rates (Hz) over DURATION_MS."""
    sizes = [size for _, size in populations]
    return network_spec(populations, projections,
                        rates_hz=[np.full(size, rate, dtype=float) for size, rate in zip(sizes, rates)],
                        duration_ms=DURATION_MS, dt_ms=DT_MS)


def _random_pairs(rng, n_pre, n_post, p):
    """Distinct (pre, post) pairs, each present with probability p (PyNN's
    FixedProbabilityConnector): a binomial count of distinct flat indices."""
    total = n_pre * n_post
    m = rng.binomial(total, p)
    flat = np.unique(rng.integers(0, total, int(m * 1.05) + 16))
    flat = rng.permutation(flat)[:m]
    return flat // n_post, flat % n_post


def vogels_abbott(seed=0, scale=1.0):
    """4000 cells (80/20 E/I), p = 0.02 between and within both populations; rates of the
    COBA benchmark's self-sustained state (about 15 Hz)."""
    rng = np.random.default_rng(seed)
    n_exc, n_inh = int(3200 * scale), int(800 * scale)
    sizes = (n_exc, n_inh)
    projections = []
    for a in range(2):
        for b in range(2):
            pre, post = _random_pairs(rng, sizes[a], sizes[b], 0.02)
            projections.append(dict(pre=a, post=b, pre_index=pre, post_index=post))
    return _spec([("exc", n_exc), ("inh", n_inh)], projections, (15.0, 15.0))


def brunel(fan_in=100, seed=0, scale=1.0):
    """12 500 cells (10 000 E / 2500 I), each with ``fan_in`` presynaptic cells (80% E, 20%
    I) drawn with replacement (NEST's fixed_indegree allows multapses); rates of the
    asynchronous irregular state (E 20 Hz, I 30 Hz)."""
    rng = np.random.default_rng(seed)
    n_exc, n_inh = int(10000 * scale), int(2500 * scale)
    n = n_exc + n_inh
    c_exc, c_inh = int(0.8 * fan_in), fan_in - int(0.8 * fan_in)
    projections = []
    for a, (size, c) in enumerate(((n_exc, c_exc), (n_inh, c_inh))):
        for b, (first, stop) in enumerate(((0, n_exc), (n_exc, n))):
            post = np.repeat(np.arange(stop - first), c)
            pre = rng.integers(0, size, len(post))
            projections.append(dict(pre=a, post=b, pre_index=pre, post_index=post))
    return _spec([("exc", n_exc), ("inh", n_inh)], projections, (20.0, 30.0))


def conv_patch_pairs(side, field):
    """(pre, post) cell pairs of a side x side layer driving the field x field patch
    around each cell's position in the next layer (row-major cell ids)."""
    y, x = np.divmod(np.arange(side * side), side)
    r = field // 2
    pre, post = [], []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            ok = (y + dy >= 0) & (y + dy < side) & (x + dx >= 0) & (x + dx < side)
            pre.append(np.flatnonzero(ok))
            post.append(((y + dy) * side + x + dx)[ok])
    return np.concatenate(pre), np.concatenate(post)


def conv_stack(side=64, layers=4, field=5, seed=0):
    """``layers`` layers of side x side cells; each cell of layer l drives the field x field
    patch around its position in layer l + 1. Rates fall with depth (20, 15, 10, 5 Hz)."""
    pre, post = conv_patch_pairs(side, field)
    projections = [dict(pre=l, post=l + 1, pre_index=pre, post_index=post) for l in range(layers - 1)]
    rates = [max(5.0, 20.0 - 5.0 * l) for l in range(layers)]
    return _spec([(f"layer{l}", side * side) for l in range(layers)], projections, rates)


def grid2d(n=100_000, synapses_per_cell=100, sigma=5.0, seed=0):
    """n cells on a square grid (side round(sqrt(n))), row-major ids; a cell at distance d
    (grid units) is connected with probability p0 exp(-d^2 / (2 sigma^2)), p0 chosen for
    ``synapses_per_cell`` on average away from the edges; no self-connections. 10 Hz."""
    rng = np.random.default_rng(seed)
    side = int(round(math.sqrt(n)))
    n = side * side
    p0 = min(1.0, synapses_per_cell / (2 * math.pi * sigma ** 2))
    reach = int(math.ceil(3 * sigma))
    y, x = np.divmod(np.arange(n), side)
    pre, post = [], []
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if dx == 0 and dy == 0:
                continue
            p = p0 * math.exp(-(dx * dx + dy * dy) / (2 * sigma ** 2))
            if p < 1e-4:
                continue
            ok = (y + dy >= 0) & (y + dy < side) & (x + dx >= 0) & (x + dx < side)
            source = np.flatnonzero(ok)
            source = source[rng.random(len(source)) < p]
            pre.append(source)
            post.append(source + dy * side + dx)
    return _spec([("cells", n)], [dict(pre=0, post=0, pre_index=np.concatenate(pre),
                                       post_index=np.concatenate(post))], (10.0,))


NETWORKS = {
    "va": ("Vogels-Abbott 4k, p=0.02", vogels_abbott, "random"),
    "brunel100": ("Brunel 12.5k, fan-in 100", lambda seed=0: brunel(100, seed), "random"),
    "brunel1000": ("Brunel 12.5k, fan-in 1000", lambda seed=0: brunel(1000, seed), "random"),
    "conv": ("conv 4 x 64x64, 5x5", conv_stack, "structured"),
    "grid2d": ("Grid2D 10^5, Gaussian", grid2d, "structured"),
}


def build_network(name, quick=False, seed=0):
    """The network ``name``; ``quick`` shrinks it (about 5x fewer synapses) for a fast run."""
    if not quick:
        return NETWORKS[name][1](seed=seed)
    small = {
        "va": lambda: vogels_abbott(seed, scale=0.5),
        "brunel100": lambda: brunel(100, seed, scale=0.2),
        "brunel1000": lambda: brunel(1000, seed, scale=0.2),
        "conv": lambda: conv_stack(side=32, seed=seed),
        "grid2d": lambda: grid2d(n=20_000, seed=seed),
    }
    return small[name]()


# the scaling families: the network at about 10^5, 10^6 and 10^7 synapses ------------------

SCALING = {
    # Brunel-like, fan-in 100: n = 1000, 10^4, 10^5 cells
    "random": (lambda n, seed=0: brunel(100, seed, scale=n / 12_500), (1_000, 10_000, 100_000)),
    # Grid2D, about 96 synapses per cell: n = 1024, 10^4, 10^5 cells
    "grid2d": (lambda n, seed=0: grid2d(n=n, seed=seed), (1_024, 10_000, 100_000)),
}
# the targets of issue 3's "Done when"
TARGET_HOPS = {"structured": 0.6, "random": 0.9}
TARGET_ENERGY_VS_QUALITY = 1.05
TARGET_SECONDS = {10**6: 10.0, 10**7: 120.0}
TARGET_EXPONENT = 1.2
TARGET_BYTES_PER_SYNAPSE = 200.0


def quality_available():
    try:
        import mtkahypar  # noqa: F401
    except ImportError:
        return False
    return True


def measure(spec, profile, mapper, repeats):
    """Compile ``repeats`` times; the figures of the last mapping (they are deterministic)
    and the median compile time (check included, as ``compile()`` runs it)."""
    seconds, check_seconds, peaks = [], [], []
    for _ in range(repeats):
        mapping = compile(spec, profile, mapper=mapper, progress=False)
        seconds.append(mapping.compile_seconds["total"])
        check_seconds.append(mapping.compile_seconds.get("check", 0.0))
        peaks.append(mapping.peak_memory_mb)
    report = mapping.report()
    energy = report["energy_pj"]
    noc = None if energy["spike"] is None or energy["hop"] is None else energy["spike"] + energy["hop"]
    return {
        "cores": report["cores_used"],
        "chips": report["chips_used"],
        "hypergraph_cut": report["hypergraph_cut"],
        "hops_total": report["hops_total"],
        "noc_spike_copies": report["noc_spike_copies"],
        "energy_total_pj": energy["total"],
        "energy_noc_pj": noc,
        "compile_seconds": statistics.median(seconds),
        "compile_seconds_all": [round(s, 3) for s in seconds],
        "check_seconds": statistics.median(check_seconds),
        "phases": {k: round(v, 3) for k, v in mapping.compile_seconds.items()},
        "peak_memory_mb": max(peaks),
        "bytes_per_synapse": max(peaks) * 2**20 / max(spec.n_synapses, 1),
    }


def ratio(a, b):
    return None if a is None or b is None or not b else a / b


def run_networks(args, skipped):
    """Every network x profile x mapper; ``skipped`` collects where quality was left out."""
    rows = []
    mappers = [m for m in args.mapper if m != "quality" or quality_available()]
    for name in args.network:
        title, _, kind = NETWORKS[name]
        spec = build_network(name, args.quick, args.seed)
        for profile in args.profile:
            results = {}
            for mapper in mappers:
                if mapper == "quality" and (
                        spec.n_synapses > args.quality_max_synapses
                        or ("slice" in results and results["slice"].get("cores", 0) > args.quality_max_cores)):
                    skipped.append(f"{name} / {profile}")
                    continue
                try:
                    results[mapper] = measure(spec, profile, mapper,
                                              args.quality_repeats if mapper == "quality" else args.repeats)
                except Exception as err:  # noqa: BLE001  a network that does not fit is a result
                    results[mapper] = {"error": f"{type(err).__name__}: {err}"}
                print(f"  {name} / {profile} / {mapper}: "
                      + (results[mapper].get("error") or
                         f"{results[mapper]['cores']} cores, {results[mapper]['compile_seconds']:.2f} s"),
                      file=sys.stderr, flush=True)
            default, slice_, quality = (results.get(m, {}) for m in ("default", "slice", "quality"))
            bound = None
            if name == "va" and slice_.get("hops_total"):
                bound = hops_lower_bound_va(spec, profile)
                bound["vs_slice"] = ratio(bound["hops_lower_bound"], slice_["hops_total"])
            rows.append({
                "network": name, "title": title, "kind": kind, "profile": profile,
                "neurons": spec.n_neurons, "synapses": spec.n_synapses, "mappers": results,
                "hops_default_vs_slice": ratio(default.get("hops_total"), slice_.get("hops_total")),
                "hops_target": TARGET_HOPS[kind],
                "energy_default_vs_quality": ratio(default.get("energy_total_pj"),
                                                   quality.get("energy_total_pj")),
                "noc_energy_default_vs_quality": ratio(default.get("energy_noc_pj"),
                                                       quality.get("energy_noc_pj")),
                "hops_lower_bound": bound,
            })
    return rows


# a lower bound on spike-hops for the Vogels-Abbott network ------------------------------

def zero_hop_bound(n, p, fan_in, profile, n_synapses, failure=1e-6):
    """For a network whose every (source, target) pair among ``n`` neurons is connected
    independently with probability ``p`` (PyNN's FixedProbabilityConnector, the ``va``
    network): the most sources that any legal mapping onto ``profile`` can route without
    a single hop, holding for all but a fraction ``failure`` of the networks drawn.

    Argument. A legal mapping needs at least max(n / neurons_per_core, synapses /
    synapses_per_core) cores; when these need two routers or more, a source costs no hop
    only if its core and all its targets sit on one router r. A router holds at most
    m_max neurons (its cores' neuron and synapse budgets, filled with the neurons of
    smallest fan-in). If z sources keep all their targets among the m neurons of r, at
    least n - m neurons are targets of none of them; for a fixed set of z sources that
    count is Binomial(n, (1 - p)^z), so by the union bound over all C(n, z) sets no set
    of z sources does it, except with probability C(n, z) P[Bin(n, (1-p)^z) >= n - m].
    Let z*(m) be the smallest z for which this is below failure / m_max; then router r
    holds fewer than z*(m_r) hop-free sources, and the total is at most the largest sum
    of z*(m_r) - 1 over ways of splitting the n neurons into routers of m_r <= m_max
    neurons (a dynamic program). Every other source costs at least one hop.

    Returns a dict: ``routers_min``, ``m_max``, ``zero_hop_sources_max`` (None when one
    router can hold everything: no bound), ``failure``."""
    from scipy.special import gammaln
    from scipy.stats import binom
    cores_min = max(math.ceil(n / profile.neurons_per_core),
                    math.ceil(n_synapses / profile.synapses_per_core))
    routers_min = math.ceil(cores_min / profile.cores_per_router)
    result = {"routers_min": routers_min, "failure": failure}
    if routers_min < 2:
        return dict(result, m_max=n, zero_hop_sources_max=None)
    by_synapses = int(np.searchsorted(np.cumsum(np.sort(fan_in)),
                                      profile.cores_per_router * profile.synapses_per_core, side="right"))
    m_max = min(n, profile.cores_per_router * profile.neurons_per_core, by_synapses)
    log_choose = gammaln(n + 1) - gammaln(np.arange(n + 1) + 1) - gammaln(n - np.arange(n + 1) + 1)
    budget = math.log(failure / m_max)
    z_star = np.zeros(m_max + 1, dtype=np.int64)
    z = 1
    for m in range(1, m_max + 1):      # z*(m) grows with m: resume from the last one
        while z < n and log_choose[z] + binom.logsf(n - m - 1, n, (1.0 - p) ** z) > budget:
            z += 1
        z_star[m] = z
    free = np.maximum(z_star - 1, 0)
    best = np.zeros(n + 1, dtype=np.int64)
    for total in range(1, n + 1):
        m = np.arange(1, min(m_max, total) + 1)
        best[total] = int((free[m] + best[total - m]).max())
    return dict(result, m_max=int(m_max), zero_hop_sources_max=int(best[n]))


def hops_lower_bound_va(spec, profile, p=0.02):
    """Spike-hops no legal mapping of the ``va`` network onto ``profile`` goes below (see
    :func:`zero_hop_bound`): every source but the hop-free ones costs at least one hop."""
    _, post, _ = spec.synapses()
    fan_in = np.bincount(post, minlength=spec.n_neurons)
    bound = zero_hop_bound(spec.n_neurons, p, fan_in, get_profile(profile), spec.n_synapses)
    spikes = spec.rates_hz * spec.duration_ms / 1000.0
    free = bound["zero_hop_sources_max"]
    bound["hops_lower_bound"] = 0.0 if free is None else \
        float(spikes.sum() - np.sort(spikes)[::-1][:free].sum())
    return bound


# compile-time scaling: every point in a fresh process, so that its peak memory is its own ---

def scaling_point(family, n, seed):
    """Compile one scaling network with the default mapper; figures as a dict.

    The compile runs without its check, then the checker on its own, so that memory is
    the mapper's: ``rss_growth_bytes`` is the process's peak resident memory during the
    compile over its resident memory before it (Linux: the peak is reset through
    /proc/self/clear_refs after the network is built, so the generator's own peak does
    not hide the compile's; this counts the partitioners' C/C++ memory too; ``None``
    where unavailable), ``check_rss_growth_bytes`` the same for the checker.
    ``compile_seconds`` is both together, as ``compile()`` with its default check."""
    import gc
    spec = SCALING[family][0](n, seed)
    gc.collect()
    before = _resident_bytes(reset_peak=True)
    mapping = compile(spec, get_profile("loihi"), mapper="default", progress=False, verify=False)
    peak = _resident_bytes(peak=True)
    before_check = _resident_bytes(reset_peak=True)
    start = time.perf_counter()
    violations = check(mapping)
    check_seconds = time.perf_counter() - start
    check_peak = _resident_bytes(peak=True)
    if violations:
        raise RuntimeError("the checker rejects the mapping: " + "; ".join(violations[:3]))
    growth = (lambda a, b: None if a is None or b is None else max(0, b - a))
    return {"family": family, "neurons": spec.n_neurons, "synapses": spec.n_synapses,
            "cores": mapping.n_cores,
            "compile_seconds": mapping.compile_seconds["total"] + check_seconds,
            "phases": dict({k: round(v, 3) for k, v in mapping.compile_seconds.items()},
                           check=round(check_seconds, 3)),
            "traced_peak_bytes": mapping.peak_memory_mb * 2**20,
            "rss_growth_bytes": growth(before, peak),
            "check_rss_growth_bytes": growth(before_check, check_peak)}


def _resident_bytes(reset_peak=False, peak=False):
    """Current (or peak) resident memory of this process from /proc/self/status."""
    try:
        if reset_peak:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        field = "VmHWM:" if peak else "VmRSS:"
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith(field))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return None


def run_scaling(args):
    import subprocess
    out = {}
    for family in args.scaling:
        sizes = SCALING[family][1][:2] if args.quick else SCALING[family][1]
        points = []
        for n in sizes:
            runs = []
            for _ in range(args.repeats):
                result = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--scaling-point", family, str(n),
                     "--seed", str(args.seed)], capture_output=True, text=True, check=True)
                runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
            seconds = [r["compile_seconds"] for r in runs]
            point = dict(runs[0])
            point["compile_seconds"] = statistics.median(seconds)
            point["compile_seconds_all"] = [round(s, 3) for s in seconds]
            point["traced_peak_bytes"] = max(r["traced_peak_bytes"] for r in runs)
            rss = [r["rss_growth_bytes"] for r in runs if r["rss_growth_bytes"] is not None]
            point["rss_growth_bytes"] = max(rss) if rss else None
            point["traced_bytes_per_synapse"] = point["traced_peak_bytes"] / point["synapses"]
            point["rss_bytes_per_synapse"] = None if not rss else point["rss_growth_bytes"] / point["synapses"]
            checks = [r.get("check_rss_growth_bytes") for r in runs if r.get("check_rss_growth_bytes") is not None]
            point["check_rss_bytes_per_synapse"] = max(checks) / point["synapses"] if checks else None
            points.append(point)
            print(f"  scaling {family} {point['synapses']:,} synapses: "
                  f"{point['compile_seconds']:.2f} s", file=sys.stderr, flush=True)
        log_s = np.log([p["synapses"] for p in points])
        log_t = np.log([p["compile_seconds"] for p in points])
        out[family] = {
            "points": points,
            "exponent": float(np.polyfit(log_s, log_t, 1)[0]) if len(points) > 1 else None,
            "exponent_last_decade": float((log_t[-1] - log_t[-2]) / (log_s[-1] - log_s[-2]))
            if len(points) > 1 else None,
        }
    return out


# output ---------------------------------------------------------------------------------------

def machine():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for package in ("pymetis", "mtkahypar"):
        try:
            from importlib.metadata import version
            versions[package] = version(package)
        except Exception:  # noqa: BLE001  not installed
            versions[package] = None
    memory_gb = None
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1) if memory_gb else None,
            "platform": platform.platform(), "load_average_at_start": list(os.getloadavg()),
            "versions": versions}


def _number(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def _verdict(value, target):
    if value is None:
        return "not measured"
    return "met" if value <= target else "NOT met"


def tables(results):
    """The result tables as Markdown lines (printed and written to the doc alike)."""
    lines = ["| network | profile | mapper | cores | KM1 cut | spike-hops | energy (uJ) | "
             "NoC energy (uJ) | compile (s) | check (s) | peak MB | B/synapse |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results["networks"]:
        for mapper, r in row["mappers"].items():
            label = f"{row['network']} | {row['profile']} | {mapper}"
            if "error" in r:
                lines.append(f"| {label} | {r['error']} |||||||||")
                continue
            uj = (lambda pj: None if pj is None else pj / 1e6)
            lines.append(
                f"| {label} | {r['cores']:,} | {_number(r['hypergraph_cut'])} | "
                f"{_number(r['hops_total'])} | {_number(uj(r['energy_total_pj']), 6)} | "
                f"{_number(uj(r['energy_noc_pj']))} | {r['compile_seconds']:.2f} | "
                f"{r['check_seconds']:.2f} | {r['peak_memory_mb']:.0f} | {r['bytes_per_synapse']:.0f} |")
    lines += ["", "| network | profile | hops default / slice | target | lower bound / slice | "
              "energy default / quality (NoC part) | target |", "|---|---|---:|---|---:|---:|---|"]
    for row in results["networks"]:
        hops = row["hops_default_vs_slice"]
        energy = row["energy_default_vs_quality"]
        bound = (row.get("hops_lower_bound") or {}).get("vs_slice")
        lines.append(
            f"| {row['network']} | {row['profile']} | {_number(hops)} | <= {row['hops_target']} "
            f"({_verdict(hops, row['hops_target'])}) | {_number(bound)} | {_number(energy, 4)} "
            f"({_number(row['noc_energy_default_vs_quality'])}) | <= {TARGET_ENERGY_VS_QUALITY} "
            f"({_verdict(energy, TARGET_ENERGY_VS_QUALITY)}) |")
    if results.get("scaling"):
        lines += ["", "| family | synapses | cores | compile (s, median) | runs (s) | traced peak "
                  "B/synapse | RSS growth B/synapse | checker's RSS growth B/synapse |",
                  "|---|---:|---:|---:|---|---:|---:|---:|"]
        for family, data in results["scaling"].items():
            for p in data["points"]:
                lines.append(
                    f"| {family} | {p['synapses']:,} | {p['cores']:,} | {p['compile_seconds']:.2f} | "
                    f"{', '.join(f'{s:.2f}' for s in p['compile_seconds_all'])} | "
                    f"{p['traced_bytes_per_synapse']:.0f} | {_number(p['rss_bytes_per_synapse'])} | "
                    f"{_number(p.get('check_rss_bytes_per_synapse'))} |")
        lines += ["", "| family | fitted exponent (all points) | exponent of the last decade |",
                  "|---|---:|---:|"]
        for family, data in results["scaling"].items():
            lines.append(f"| {family} | {_number(data['exponent'])} | "
                         f"{_number(data['exponent_last_decade'])} |")
    return lines


def verdicts(results):
    """Issue 3's measurable "Done when" items, each with its value and met / NOT met."""
    lines = []
    for row in results["networks"]:
        hops = row["hops_default_vs_slice"]
        line = (f"- spike-hops default / slice, {row['network']} ({row['kind']}) on {row['profile']}: "
                f"{_number(hops)} (target <= {row['hops_target']}: {_verdict(hops, row['hops_target'])})")
        bound = row.get("hops_lower_bound")
        cores = {m: r.get("cores") for m, r in row["mappers"].items() if m in ("slice", "default")}
        if hops is not None and hops > row["hops_target"] and None not in cores.values():
            line += f"; cores: default {cores['default']:,}, slice {cores['slice']:,}"
            cut = ratio(row["mappers"]["default"].get("hypergraph_cut"),
                        row["mappers"]["slice"].get("hypergraph_cut"))
            line += f"; KM1 cut (spike copies) default / slice {_number(cut)}"
            if not bound or bound.get("vs_slice") is None:
                line += "; no lower bound is computed for this network, so it is not shown out of reach"
        if bound and bound.get("vs_slice") is not None and hops is not None and hops > row["hops_target"]:
            line += (f"; out of reach for any mapping: at most {bound['zero_hop_sources_max']} of "
                     f"{row['neurons']} sources can avoid every hop (every legal mapping needs "
                     f"{bound['routers_min']} routers or more), so spike-hops >= "
                     f"{_number(bound['vs_slice'])} x slice, for all but a fraction "
                     f"{bound['failure']:g} of the networks drawn like this one")
        lines.append(line)
        energy = row["energy_default_vs_quality"]
        if energy is not None:
            default = row["mappers"]["default"]
            share = ratio(default.get("energy_noc_pj"), default.get("energy_total_pj"))
            lines.append(f"- energy default / quality, {row['network']} on {row['profile']}: "
                         f"{_number(energy, 4)} (target <= {TARGET_ENERGY_VS_QUALITY}: "
                         f"{_verdict(energy, TARGET_ENERGY_VS_QUALITY)}); the NoC (spikes sent "
                         f"and hops) is {_number(None if share is None else 100 * share, 2)}% of "
                         f"the default's energy, NoC energy default / quality "
                         f"{_number(row['noc_energy_default_vs_quality'])}")
    for family, data in results.get("scaling", {}).items():
        for p in data["points"]:
            decade = 10 ** round(math.log10(p["synapses"]))
            if decade in TARGET_SECONDS:
                lines.append(f"- compile time, {family}, {p['synapses']:,} synapses: "
                             f"{p['compile_seconds']:.1f} s (target <= {TARGET_SECONDS[decade]:g} s: "
                             f"{_verdict(p['compile_seconds'], TARGET_SECONDS[decade])})")
        lines.append(f"- compile-time exponent, {family}: {_number(data['exponent'])} over all points, "
                     f"{_number(data['exponent_last_decade'])} over the last decade (target <= "
                     f"{TARGET_EXPONENT}: {_verdict(data['exponent'], TARGET_EXPONENT)} / "
                     f"{_verdict(data['exponent_last_decade'], TARGET_EXPONENT)})")
        large = [p for p in data["points"] if p["synapses"] >= 10**6 * 0.9]
        for label, key in (("numpy arrays traced", "traced_bytes_per_synapse"),
                           ("resident memory growth", "rss_bytes_per_synapse")):
            values = [p.get(key) for p in large if p.get(key) is not None]
            worst = max(values) if values else None
            lines.append(f"- peak memory per synapse, {family} (10^6 synapses and up, {label}): "
                         f"{_number(worst)} B (target <= {TARGET_BYTES_PER_SYNAPSE:g}: "
                         f"{_verdict(worst, TARGET_BYTES_PER_SYNAPSE)})")
    return lines


def merge_results(paths):
    """The results of several --json runs as one: their networks and scaling families (a
    later file's network x profile rows and families replace an earlier one's), every
    command, the first machine."""
    merged = None
    for path in paths:
        with open(path) as f:
            results = json.load(f)
        if merged is None:
            merged = dict(results, scaling=dict(results.get("scaling") or {}),
                          quality_skipped=list(results.get("quality_skipped") or []))
            continue
        merged["command"] += "\n" + results["command"]
        again = {(row["network"], row["profile"]) for row in results["networks"]}
        merged["networks"] = [row for row in merged["networks"]
                              if (row["network"], row["profile"]) not in again] + results["networks"]
        merged["scaling"].update(results.get("scaling") or {})
        merged["quality_skipped"] += results.get("quality_skipped") or []
        if results["networks"]:
            merged["repeats"] = results["repeats"]
    return merged


def write_doc(path, results, notes=""):
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    text = [
        "# Mapping compiler: measurements (issue 3)",
        "",
        "Generated by `benchmarks/mapping.py`; every number below comes from these commands "
        "(networks, then compile-time scaling; `--from-json` with their JSON files, in this order, "
        "renders this page):",
        "",
        "```bash",
        results["command"],
        "```",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['platform']}; "
        f"{versions}. Load average at the start of the first command: "
        f"{', '.join(f'{x:.1f}' for x in m['load_average_at_start'])} (the machine is shared, so "
        f"times are noisy: each is the median of {results['repeats']} compiles).",
        "",
        "Traffic and energy are *estimated* from each population's expected rate over 1 s "
        "(`rates_hz`, see the network docstrings in the script). Spike-hops = expected spikes x "
        "links of their XY multicast tree; KM1 cut = expected NoC spike copies; energy = the "
        "profile's model (synaptic events, neuron updates, spikes sent, hops), NoC part = "
        "spikes sent + hops. Compile time includes the independent checker, which `compile()` "
        "runs; peak MB is the tracemalloc peak of the compile (numpy arrays; the checker and the "
        "C++ partitioners' own memory are not in it), B/synapse = that peak / synapses. In the "
        "scaling table the resident-memory growth is measured too (the process's peak over its "
        "memory before the compile, C++ partitioners included), for the mapper and, apart, for "
        "the checker. "
        f"The quality mapper (Mt-KaHyPar) is timed {results['quality_repeats']} time(s) and left out "
        f"above {results['quality_max_cores']} slice cores or {results['quality_max_synapses']:.0e} "
        "synapses" + (f" (here: {', '.join(results['quality_skipped'])})" if results["quality_skipped"] else "")
        + ".",
        "",
    ]
    text += tables(results)
    text += ["", "## Against issue 3's targets", ""] + verdicts(results)
    if notes:
        text += ["", notes]
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller networks (about 5x fewer synapses), no 10^7 scaling point")
    parser.add_argument("--network", action="append", choices=sorted(NETWORKS),
                        help="network(s) to run (repeatable; default: all)")
    parser.add_argument("--profile", action="append",
                        help="hardware profile(s) (repeatable; default: loihi and truenorth)")
    parser.add_argument("--mapper", action="append", choices=("slice", "default", "quality"),
                        help="mapper(s) (repeatable; default: all, quality when mtkahypar imports)")
    parser.add_argument("--repeats", type=int, default=3, help="compiles per figure (median)")
    parser.add_argument("--quality-max-cores", type=int, default=600,
                        help="skip the quality mapper when slice needs more cores than this "
                             "(Mt-KaHyPar took 9 minutes for 1500 cores on 2 threads)")
    parser.add_argument("--quality-max-synapses", type=float, default=2e6,
                        help="skip the quality mapper above this many synapses")
    parser.add_argument("--quality-repeats", type=int, default=1,
                        help="compiles per quality figure (it takes minutes)")
    parser.add_argument("--scaling", action="append", choices=sorted(SCALING),
                        help="scaling family (repeatable; default: all)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the compile-time scaling")
    parser.add_argument("--scaling-only", action="store_true", help="only the compile-time scaling")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write all results to this JSON file")
    parser.add_argument("--doc", help="write the Markdown page (docs/mapping.md) here")
    parser.add_argument("--from-json", metavar="PATH", action="append",
                        help="measure nothing: print (and with --doc write) the results of "
                             "earlier --json runs (repeatable: networks and scaling families "
                             "of later files are added, their commands listed)")
    parser.add_argument("--note", help="a paragraph added to the end of the --doc page "
                                       "(how the runs were made, when that matters)")
    parser.add_argument("--scaling-point", nargs=2, metavar=("FAMILY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scaling_point:
        print(json.dumps(scaling_point(args.scaling_point[0], int(args.scaling_point[1]), args.seed)))
        return 0
    if args.from_json:
        results = merge_results(args.from_json)
        print("\n".join(tables(results) + [""] + verdicts(results)))
        if args.doc:
            write_doc(args.doc, results, args.note or "")
        return 0
    args.network = args.network or list(NETWORKS)
    args.profile = args.profile or ["loihi", "truenorth"]
    args.mapper = args.mapper or ["slice", "default", "quality"]
    args.scaling = args.scaling or list(SCALING)
    results = {"command": "python benchmarks/mapping.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": machine(), "repeats": args.repeats, "quick": args.quick,
               "quality_repeats": args.quality_repeats, "quality_max_cores": args.quality_max_cores,
               "quality_max_synapses": args.quality_max_synapses}
    start = time.perf_counter()
    skipped = []
    results["networks"] = [] if args.scaling_only else run_networks(args, skipped)
    results["quality_skipped"] = skipped
    results["scaling"] = {} if args.no_scaling else run_scaling(args)
    results["wall_seconds"] = time.perf_counter() - start
    print("\n".join(tables(results) + [""] + verdicts(results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.doc:
        write_doc(args.doc, results, args.note or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
