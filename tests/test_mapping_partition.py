"""Tests of the connectivity-aware mappers (``default``, ``quality``), their repair and
refinement, the annealing placement and the hypergraph cut in the report."""
import copy
import sys

import numpy as np
import pytest

from pyNN_neuro.hardware import HardwareProfile, get_profile
from pyNN_neuro.mapping import MappingError, check, compile, network_spec
from pyNN_neuro.mapping import partition as partition_module
from pyNN_neuro.mapping.hypergraph import build_hypergraph, km1, source_weights

# tiny crossbars so that small networks exercise unrolling, splitting and output axons
TINY = HardwareProfile(
    name="tiny", neurons_per_core=4, axons_per_core=6, synapses_per_core=40, weight_bits=4,
    cores_per_chip=4, core_mesh=(2, 1), cores_per_router=2, chip_mesh=(8, 8), max_chips=64,
    energy_synaptic_event_pj=1.0, energy_neuron_update_pj=1.0, energy_spike_pj=1.0,
    energy_hop_pj=1.0, hop_latency_ns=1.0, routing_entries_per_router=64, native_tick_ms=1.0,
    max_fan_in=3, output_axons_per_core=12, source="made-up numbers for a test")

# 64 neurons per core on a 16 x 16 mesh: small structured networks spread over many cores
SMALL = HardwareProfile(
    name="small", neurons_per_core=64, axons_per_core=256, synapses_per_core=4096, weight_bits=8,
    cores_per_chip=256, core_mesh=(16, 16), chip_mesh=(1, 1), max_chips=1,
    energy_synaptic_event_pj=1.0, energy_neuron_update_pj=1.0, energy_spike_pj=1.0,
    energy_hop_pj=1.0, hop_latency_ns=1.0, routing_entries_per_router=None, native_tick_ms=None,
    source="made-up numbers for a test")


def load_benchmark():
    """benchmarks/mapping.py as a module (its network generators and bounds)."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "mapping.py")
    loader = importlib.util.spec_from_file_location("mapping_benchmark", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


benchmark = load_benchmark()


def conv_stack(side=24, layers=3, field=3, seed=0):
    """Layers of side x side neurons, each neuron driving the field x field patch around
    its position in the next layer."""
    pre, post = benchmark.conv_patch_pairs(side, field)
    projections = [dict(pre=layer, post=layer + 1, pre_index=pre, post_index=post)
                   for layer in range(layers - 1)]
    counts = np.random.default_rng(seed).poisson(10, layers * side * side)
    return network_spec([(f"layer{i}", side * side) for i in range(layers)], projections,
                        spike_counts=counts, duration_ms=1000.0, dt_ms=1.0)


def random_network(n=600, p=0.03, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.binomial(n * n, p)
    counts = rng.poisson(rng.gamma(2.0, 5.0, n))
    return network_spec([("cells", n)], [dict(pre=0, post=0, pre_index=rng.integers(0, n, m),
                                              post_index=rng.integers(0, n, m))],
                        spike_counts=counts, duration_ms=1000.0, dt_ms=0.1)


@pytest.fixture
def without(monkeypatch):
    """Make an optional package unimportable for one test."""
    def hide(name):
        monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setattr(partition_module, "_mtkahypar", None)
    return hide


# quality on structured and random networks ------------------------------------------------

def test_default_beats_slice_on_a_structured_network():
    spec = conv_stack()
    slice_report = compile(spec, SMALL, mapper="slice").report()
    default = compile(spec, SMALL, mapper="default")
    report = default.report()
    assert check(default) == []
    assert report["hypergraph_cut"] < 0.7 * slice_report["hypergraph_cut"]
    assert report["hops_total"] < 0.6 * slice_report["hops_total"]
    assert report["cores_used"] <= slice_report["cores_used"] + 2
    assert report["synapses"] == spec.n_synapses


def test_default_not_worse_than_slice_on_a_random_network():
    spec = random_network()
    slice_report = compile(spec, SMALL, mapper="slice").report()
    report = compile(spec, SMALL, mapper="default").report()
    assert report["hypergraph_cut"] <= 1.05 * slice_report["hypergraph_cut"]
    assert report["hops_total"] <= 1.05 * slice_report["hops_total"]


def test_fallback_without_pymetis_is_legal_and_not_worse_than_slice(without):
    without("pymetis")
    spec = conv_stack()
    mapping = compile(spec, SMALL, mapper="default")
    assert check(mapping) == []
    # no worse than slice (full cores leave the move refinement no room: see the report)
    assert mapping.report()["hypergraph_cut"] <= compile(spec, SMALL).report()["hypergraph_cut"]


def test_quality_mapper_or_a_clear_error(without):
    spec = conv_stack(side=12)
    try:
        import mtkahypar  # noqa: F401
    except ImportError:
        with pytest.raises(MappingError, match="pip install mtkahypar"):
            compile(spec, SMALL, mapper="quality")
    else:
        mapping = compile(spec, SMALL, mapper="quality")
        assert check(mapping) == []
    without("mtkahypar")
    with pytest.raises(MappingError, match="pip install mtkahypar"):
        compile(spec, SMALL, mapper="quality")


# report, determinism, placement ---------------------------------------------------------------

def test_hypergraph_cut_is_reported_for_every_mapper_and_matches_km1():
    spec = conv_stack(side=12)
    for mapper in ("slice", "default"):
        mapping = compile(spec, SMALL, mapper=mapper)
        report = mapping.report()
        hg = build_hypergraph(spec, mapping.legal, source_weights(spec))
        assert report["hypergraph_cut"] == pytest.approx(km1(hg, mapping.unit_core, mapping.n_cores))
        # no host sources: the cut is exactly the NoC spike copies
        assert report["hypergraph_cut"] == pytest.approx(report["noc_spike_copies"])
        assert report["hypergraph_cut_unit"] == "spikes"
        assert "hypergraph cut" in mapping.summary()


def test_host_sources_do_not_count_their_first_delivery():
    spec = network_spec([("input", 1, True), ("cells", 3)],
                        [dict(pre=0, post=1, pre_index=[0, 0, 0], post_index=[0, 1, 2])],
                        spike_counts=[4, 0, 0, 0], duration_ms=1.0, dt_ms=1.0)
    profile = HardwareProfile(
        name="one", neurons_per_core=1, axons_per_core=4, synapses_per_core=4, weight_bits=8,
        cores_per_chip=4, core_mesh=(4, 1), chip_mesh=(1, 1), max_chips=1,
        energy_synaptic_event_pj=1.0, energy_neuron_update_pj=1.0, energy_spike_pj=1.0,
        energy_hop_pj=1.0, hop_latency_ns=1.0, routing_entries_per_router=None,
        native_tick_ms=None, source="made-up numbers for a test")
    for mapper in ("slice", "default"):
        report = compile(spec, profile, mapper=mapper).report()
        assert report["noc_spike_copies"] == 12 and report["hypergraph_cut"] == 8


def test_same_seed_same_mapping():
    spec = conv_stack(side=16)
    a = compile(spec, SMALL, mapper="default", seed=3)
    b = compile(spec, SMALL, mapper="default", seed=3)
    assert np.array_equal(a.unit_core, b.unit_core)
    assert np.array_equal(a.placement.core_slot, b.placement.core_slot)
    assert a.report()["hops_total"] == b.report()["hops_total"]


def test_placement_modes_never_worse_than_row_major():
    spec = conv_stack(side=20)
    reports = {mode: compile(spec, SMALL, mapper="default", placement=mode).report()
               for mode in ("row_major", "greedy", "anneal")}
    assert reports["anneal"]["placement"] == "anneal"
    cut = {r["hypergraph_cut"] for r in reports.values()}
    assert len(cut) == 1                      # placement does not change the partition
    assert reports["greedy"]["hops_total"] <= reports["row_major"]["hops_total"]
    assert reports["anneal"]["hops_total"] <= reports["greedy"]["hops_total"]
    assert compile(spec, SMALL, mapper="slice").report()["placement"] == "row_major"
    assert compile(spec, SMALL).report()["placement"] == "anneal"     # the default mapper
    with pytest.raises(ValueError, match="placement = 'spiral'"):
        compile(spec, SMALL, mapper="default", placement="spiral")


def test_placement_shapes_for_multicast_trees():
    """The band (by mesh rows) and stripe (by mesh columns) candidates: a random network
    whose sources reach many cores costs fewer tree links on a band as wide as the two
    used chips than chip by chip, and the greedy placement (no annealing, which finds as
    good on a network this small) takes it; no placement is worse than either shape."""
    from pyNN_neuro.mapping.placement import _Traffic, _slot_positions
    wide = HardwareProfile(
        name="two chips side by side", neurons_per_core=4, axons_per_core=64,
        synapses_per_core=4096, weight_bits=8, cores_per_chip=64, core_mesh=(8, 8),
        chip_mesh=(2, 1), max_chips=2, energy_synaptic_event_pj=1.0,
        energy_neuron_update_pj=1.0, energy_spike_pj=1.0, energy_hop_pj=1.0,
        hop_latency_ns=1.0, routing_entries_per_router=None, native_tick_ms=None,
        source="made-up numbers for a test")
    spec = random_network(n=400, p=0.03, seed=2)
    mapping = compile(spec, wide, mapper="default", placement="greedy")
    n = mapping.n_cores
    assert 64 < n <= 128
    traffic = _Traffic(n, mapping.legal, mapping.unit_core, source_weights(spec))
    _, _, x, y = _slot_positions(np.arange(128), wide)
    cost = {name: traffic.tree_cost(x[slots], y[slots]) for name, slots in (
        ("chip by chip", np.arange(n)),
        ("band", np.lexsort((np.arange(128), x, y))[:n]),
        ("stripes", np.lexsort((np.arange(128), y, x))[:n]))}
    assert cost["band"] < cost["chip by chip"]
    hops = mapping.report()["hops_total"]
    assert hops == pytest.approx(traffic.tree_cost(mapping.placement.core_x, mapping.placement.core_y))
    assert hops <= min(cost.values()) * (1 + 1e-12)


def test_default_respects_loihi_output_axons():
    # fan-out 20 over ~19 cores (see test_mapping's slice version of this network)
    rng = np.random.default_rng(5)
    pre = np.repeat(np.arange(6000), 20)
    post = rng.integers(0, 6000, len(pre))
    spec = network_spec([("cells", 6000)], [dict(pre=0, post=0, pre_index=pre, post_index=post)])
    mapping = compile(spec, "loihi", mapper="default")
    assert max(mapping.report()["output_axons_per_core"]) <= 4096
    assert check(mapping) == []


def test_growing_packs_axon_bound_random_cores_tighter_than_slice():
    # fan-in 40 from 1500 sources: 256 axons per core hold about 7 random neurons, more
    # when they share sources; growing picks the ones that do
    rng = np.random.default_rng(2)
    post = np.repeat(np.arange(1500), 40)
    spec = network_spec([("cells", 1500)], [dict(pre=0, post=0, pre_index=rng.integers(0, 1500, len(post)),
                                                  post_index=post)], rates_hz=np.full(1500, 5.0),
                        duration_ms=1000.0)
    slice_report = compile(spec, SMALL, mapper="slice").report()
    mapping = compile(spec, SMALL, mapper="default")
    report = mapping.report()
    assert check(mapping) == []
    assert report["cores_used"] <= 0.95 * slice_report["cores_used"]
    assert report["hypergraph_cut"] < slice_report["hypergraph_cut"]


def test_grown_cores_keep_every_limit_but_output_axons():
    from pyNN_neuro.mapping.grow import grow_partition
    from pyNN_neuro.mapping.legalise import legalise
    from pyNN_neuro.mapping.refine import Limits, UnitIndex, core_loads
    for spec, profile in ((conv_stack(side=16), SMALL), (random_network(), SMALL),
                          (random_network(n=200, p=0.05), TINY)):
        legal = legalise(spec, profile)
        hg = build_hypergraph(spec, legal)
        limits = Limits(profile)
        part = grow_partition(hg, UnitIndex(hg), limits, np.arange(hg.n_units),
                              np.ones(hg.n_units, dtype=np.int64))
        assert part.min() == 0 and np.array_equal(np.unique(part), np.arange(part.max() + 1))
        neurons, axons, synapses, _, _ = core_loads(hg, part, int(part.max()) + 1)
        assert neurons.max() <= limits.neurons and axons.max() <= limits.axons
        assert synapses.max() <= limits.synapses


def test_growing_is_seeded_and_keeps_given_cores():
    from pyNN_neuro.mapping.grow import grow_partition
    from pyNN_neuro.mapping.legalise import legalise
    from pyNN_neuro.mapping.refine import Limits, UnitIndex, core_loads
    spec = random_network()
    legal = legalise(spec, SMALL)
    hg = build_hypergraph(spec, legal)
    index, limits = UnitIndex(hg), Limits(SMALL)
    order = np.random.default_rng(1).permutation(hg.n_units)
    ones = np.ones(hg.n_units, dtype=np.int64)
    first = grow_partition(hg, index, limits, order, ones, seed=4)
    assert np.array_equal(first, grow_partition(hg, index, limits, order, ones, seed=4))
    # cores made before are kept; the others are grown after them, within every limit
    given = np.full(hg.n_units, -1, dtype=np.int64)
    given[:40] = np.arange(40) // 20
    part = grow_partition(hg, index, limits, order, ones, seed=4, unit_core=given)
    assert np.array_equal(part[:40], given[:40]) and part[40:].min() == 2
    assert given[40:].max() == -1          # the caller's array is left alone
    # (the given cores may be over a limit: only the grown ones must fit)
    neurons, axons, synapses, _, _ = (load[2:] for load in core_loads(hg, part, int(part.max()) + 1))
    assert neurons.max() <= limits.neurons and axons.max() <= limits.axons
    assert synapses.max() <= limits.synapses
    with pytest.raises(ValueError, match="permutation"):
        grow_partition(hg, index, limits, np.zeros(hg.n_units, dtype=np.int64), ones)


def test_cores_over_output_axons_are_relieved_not_split():
    from pyNN_neuro.mapping.legalise import legalise
    from pyNN_neuro.mapping.refine import Limits, UnitIndex, core_loads, relieve_output_axons
    # fan-out 20 over many cores; 600 neurons per core would need 600 x ~20 output axons
    rng = np.random.default_rng(5)
    pre = np.repeat(np.arange(6000), 20)
    spec = network_spec([("cells", 6000)], [dict(pre=0, post=0, pre_index=pre,
                                                  post_index=rng.integers(0, 6000, len(pre)))])
    profile = get_profile("loihi")
    legal = legalise(spec, profile)
    hg = build_hypergraph(spec, legal)
    limits = Limits(profile)
    part = np.arange(hg.n_units) // 600
    assert core_loads(hg, part, 10)[3].max() > limits.output_axons
    relieved, n_cores = relieve_output_axons(hg, UnitIndex(hg), part, 10, limits)
    loads = core_loads(hg, relieved, n_cores)
    assert loads[3].max() <= limits.output_axons
    # the original cores keep most of their units; the moved ones went to new cores
    assert np.mean(relieved == part) > 0.5 and n_cores > 10


def test_graph_expansion_is_symmetric_without_loops_or_duplicates():
    from pyNN_neuro.mapping.hypergraph import expand_to_graph
    from pyNN_neuro.mapping.legalise import legalise
    for spec in (conv_stack(side=8), random_network(n=300, p=0.1)):
        legal = legalise(spec, SMALL)
        hg = build_hypergraph(spec, legal)
        for chunk in (1 << 20, 64):     # whole, and in many small pieces
            ptr, adjacent, weight = expand_to_graph(hg, chunk=chunk)
            row = np.repeat(np.arange(hg.n_units), np.diff(ptr))
            forward = np.sort(row * hg.n_units + adjacent)
            backward = np.sort(adjacent.astype(np.int64) * hg.n_units + row)
            assert np.array_equal(forward, backward)
            assert not (row == adjacent).any() and (np.diff(forward) > 0).all()
            assert weight.min() >= 1
            if chunk == 64:
                assert np.array_equal(weight, reference_weight)
            reference_weight = weight


def test_placement_tree_cost_is_the_routed_spike_hops():
    from pyNN_neuro.mapping.placement import _Traffic
    for spec, profile in ((conv_stack(side=16), SMALL), (conv_stack(side=8, layers=2), TINY)):
        mapping = compile(spec, profile, mapper="default")
        weight = source_weights(spec)
        traffic = _Traffic(mapping.n_cores, mapping.legal, mapping.unit_core, weight)
        x, y = mapping.placement.core_x, mapping.placement.core_y
        assert traffic.tree_cost(x, y) == pytest.approx(mapping.report()["hops_total"])
        assert traffic.tree_cost(x, y, cells=7) == pytest.approx(mapping.report()["hops_total"])


def test_benchmark_zero_hop_bound_holds_for_real_mappings():
    """benchmarks/mapping.py bounds the sources any mapping routes without a hop; the
    mappers' own hop-free sources must stay within it."""
    rng = np.random.default_rng(4)
    n, p = 1000, 0.05
    pre, post = benchmark._random_pairs(rng, n, n, p)
    spec = network_spec([("cells", n)], [dict(pre=0, post=0, pre_index=pre, post_index=post)],
                        rates_hz=np.full(n, 10.0), duration_ms=1000.0)
    profile = HardwareProfile(
        name="router of 2", neurons_per_core=64, axons_per_core=1024, synapses_per_core=8192,
        weight_bits=8, cores_per_chip=16, core_mesh=(4, 2), cores_per_router=2, chip_mesh=(2, 2),
        max_chips=4, energy_synaptic_event_pj=1.0, energy_neuron_update_pj=1.0,
        energy_spike_pj=1.0, energy_hop_pj=1.0, hop_latency_ns=1.0,
        routing_entries_per_router=None, native_tick_ms=None, source="made-up numbers for a test")
    bound = benchmark.zero_hop_bound(n, p, np.bincount(post, minlength=n), profile, len(pre))
    assert bound["routers_min"] >= 2 and 0 <= bound["zero_hop_sources_max"] < n // 4
    for mapper in ("slice", "default"):
        mapping = compile(spec, profile, mapper=mapper)
        hop_free = int(np.count_nonzero(mapping.routes.tree_hops == 0))
        assert hop_free <= bound["zero_hop_sources_max"]
        assert mapping.report()["hops_total"] >= 10.0 * (n - bound["zero_hop_sources_max"])


def test_checker_catches_a_wrong_hypergraph_cut():
    mapping = compile(conv_stack(side=8), SMALL, mapper="default")
    broken = copy.deepcopy(mapping)
    broken.figures["hypergraph_cut"] += 1.0
    assert any("hypergraph_cut" in v for v in check(broken))


# property tests ------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@st.composite
def random_specs(draw):
    n_populations = draw(st.integers(1, 3))
    populations = []
    for i in range(n_populations):
        populations.append((f"p{i}", draw(st.integers(0, 40)), draw(st.booleans()) if i else False))
    targets = [i for i, p in enumerate(populations) if not p[2] and p[1] > 0]
    sources = [i for i, p in enumerate(populations) if p[1] > 0]
    projections = []
    if targets:
        for _ in range(draw(st.integers(0, 3))):
            a = draw(st.sampled_from(sources))
            b = draw(st.sampled_from(targets))
            n = draw(st.integers(0, 150))
            rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
            if draw(st.booleans()):      # local: targets near the source's index
                pre = rng.integers(0, populations[a][1], n)
                post = np.clip(pre * populations[b][1] // max(populations[a][1], 1)
                               + rng.integers(-2, 3, n), 0, populations[b][1] - 1)
            else:
                pre = rng.integers(0, populations[a][1], n)
                post = rng.integers(0, populations[b][1], n)
            projections.append(dict(pre=a, post=b, pre_index=pre, post_index=post))
    n = sum(p[1] for p in populations)
    activity = draw(st.sampled_from(["counts", "rates", "none"]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    if activity == "counts":
        return network_spec(populations, projections, spike_counts=rng.poisson(3, n),
                            duration_ms=10.0, dt_ms=0.5)
    if activity == "rates":
        return network_spec(populations, projections, rates_hz=rng.gamma(2.0, 5.0, n),
                            duration_ms=100.0, dt_ms=0.5)
    return network_spec(populations, projections)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=random_specs(), profile=st.sampled_from(["loihi", "truenorth", "dynapse", "spinnaker2"]),
       placement=st.sampled_from(["greedy", "anneal"]))
def test_property_default_mapper_is_legal_on_named_profiles(spec, profile, placement):
    mapping = compile(spec, profile, mapper="default", placement=placement, verify=False)
    assert check(mapping) == []
    report = mapping.report()
    assert report["synapses"] == spec.n_synapses
    if report["noc_spike_copies"] is not None:
        assert report["hypergraph_cut"] <= report["noc_spike_copies"] + 1e-9


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=random_specs(), metis=st.booleans())
def test_property_default_mapper_on_tiny_cores_legal_or_refused(spec, metis):
    # tiny limits force unrolling, splitting and output-axon repair; with and without pymetis
    saved = sys.modules.get("pymetis", "absent")
    if not metis:
        sys.modules["pymetis"] = None
    try:
        mapping = compile(spec, TINY, mapper="default", verify=False)
    except MappingError as err:
        assert "synapses_per_core" in str(err) or "output_axons_per_core" in str(err) \
            or "cores too many" in str(err) or "routing_entries_per_router" in str(err)
        return
    finally:
        if saved == "absent":
            sys.modules.pop("pymetis", None)
        else:
            sys.modules["pymetis"] = saved
    assert check(mapping) == []
    assert int(mapping.core_synapses.sum()) == spec.n_synapses
