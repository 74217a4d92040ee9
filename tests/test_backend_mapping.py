"""The backend's view of the mapping: setup(hardware=...), get_mapping(), compile()."""
import json

import numpy as np
import pytest

import pyNN_neuro as sim
from pyNN_neuro.hardware import HardwareProfile
from pyNN_neuro.mapping import MappingError


def _network(hardware="loihi"):
    sim.setup(timestep=0.1, hardware=hardware)
    source = sim.Population(50, sim.SpikeSourcePoisson(rate=20.0), label="input")
    exc = sim.Population(300, sim.IF_curr_exp(), label="exc")
    sim.Projection(source, exc, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(1)),
                   sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.05, rng=sim.NumpyRNG(2)),
                   sim.StaticSynapse(weight=0.1, delay=1.0))
    exc.record("spikes")
    return source, exc


def test_mapping_before_a_run_is_static():
    _network()
    report = sim.get_mapping().report()
    assert report["profile"] == "loihi"
    assert report["cores_used"] >= 1
    assert sum(report["neurons_per_core"]) == 300      # sources occupy no neuron slots
    sim.end()


def test_mapping_counts_come_from_the_run():
    source, exc = _network()
    sim.run(500.0)
    mapping = sim.get_mapping()
    spikes = sum(len(st) for st in exc.get_data().segments[0].spiketrains)
    assert spikes > 0
    assert np.array_equal(mapping.spec.spike_counts[50:350], exc._group.spike_count)
    report = mapping.report()
    json.dumps(report)
    assert report["energy_pj"]["total"] > 0
    # a second run refreshes the counted figures without recompiling
    sim.run(500.0)
    again = sim.get_mapping()
    assert again is mapping
    assert again.spec.duration_ms == pytest.approx(1000.0)
    sim.end()


def test_mapping_does_not_change_spikes():
    """Exact mode: asking for the mapping (before or during a run) changes no spike."""
    def spikes(ask):
        _, exc = _network()
        if ask:
            sim.compile()
        sim.run(200.0)
        if ask:
            sim.get_mapping()
        sim.run(200.0)
        trains = exc.get_data().segments[0].spiketrains
        out = [np.asarray(t) for t in trains]
        sim.end()
        return out
    for a, b in zip(spikes(False), spikes(True)):
        np.testing.assert_array_equal(a, b)


def test_other_profiles_and_bad_names():
    _network("truenorth")
    assert sim.get_mapping().report()["profile"] == "truenorth"
    with pytest.raises(ValueError, match="loihi"):
        sim.setup(hardware="no-such-chip")
    sim.end()


def test_changing_the_network_recompiles():
    source, exc = _network()
    first = sim.get_mapping()
    inh = sim.Population(100, sim.IF_curr_exp(), label="inh")
    sim.Projection(exc, inh, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    second = sim.get_mapping()
    assert second is not first
    assert sum(second.report()["neurons_per_core"]) == 400
    sim.end()


def _wide_network(unroll, delays=None):
    """150 inputs per neuron: more than DYNAP-SE's 64 rows, so every neuron is unrolled."""
    sim.setup(timestep=0.1, hardware="dynapse", unroll=unroll)
    source = sim.Population(200, sim.SpikeSourcePoisson(rate=40.0), label="input")
    cells = sim.Population(40, sim.IF_curr_exp(tau_syn_E=2.0), label="cells")
    prj = sim.Projection(source, cells, sim.FixedNumberPreConnector(150, rng=sim.NumpyRNG(5)),
                         sim.StaticSynapse(weight=0.6, delay=1.0))
    if delays is not None:
        prj.set(delay=delays)
    cells.record("spikes")
    return prj, cells


def _trains(cells):
    return [np.asarray(t) for t in cells.get_data().segments[0].spiketrains]


@pytest.mark.parametrize("unroll, depth", [("tree", 1), ("chain", 2)])
def test_unrolling_delays_the_synapses_on_deeper_units(unroll, depth):
    prj, cells = _wide_network(unroll)
    sim.run(300.0)
    mapping = sim.get_mapping()
    report = mapping.report()
    assert report["unroll"] == unroll and report["max_unroll_depth"] == depth
    assert report["added_latency_ms"] == pytest.approx(depth * 0.1)
    unrolled = _trains(cells)
    # the same spikes as an exact run whose delays include each synapse's added steps
    added = mapping.legal.syn_added_steps            # connection order: one projection piece
    assert added.max() == depth and (added == 0).any()
    delays = prj.get("delay", format="list", with_address=False)
    sim.end()
    i, j = prj._pre_index, prj._post_index
    matrix = np.full((200, 40), np.nan)
    matrix[i, j] = np.asarray(delays) + 0.1 * added
    _, cells = _wide_network("exact", delays=matrix)
    sim.run(300.0)
    shifted = _trains(cells)
    for a, b in zip(unrolled, shifted):
        np.testing.assert_array_equal(a, b)
    sim.end()


def test_unrolling_report_states_the_deviation_from_an_exact_run():
    _, cells = _wide_network("chain")
    sim.run(300.0)
    before = _trains(cells)
    deviation = sim.get_mapping().report()["spike_deviation"]
    assert deviation["compared"] and deviation["steps"] == 3000
    assert deviation["spikes_unrolled"] == sum(len(t) for t in before)
    assert deviation["identical_trains_fraction"] < 1.0
    assert 0.0 < deviation["mean_spike_shift_ms"] <= deviation["max_spike_shift_ms"]
    # the comparison runs elsewhere: the user's recording and clock are untouched
    assert sim.get_current_time() == pytest.approx(300.0)
    for a, b in zip(before, _trains(cells)):
        np.testing.assert_array_equal(a, b)
    sim.run(100.0)                                    # and the run goes on
    assert len(_trains(cells)) == 40
    sim.end()
    _, cells = _wide_network("exact")
    sim.run(300.0)
    assert sum(len(t) for t in _trains(cells)) == deviation["spikes_exact"]
    assert sim.get_mapping().report()["spike_deviation"] is None
    sim.end()


def test_bad_mapper_or_unroll_keywords():
    with pytest.raises(Exception, match="unroll must be one of"):
        sim.setup(unroll="spiral")
    with pytest.raises(Exception, match="mapper must be one of"):
        sim.setup(mapper="magic")


# a chip with room for anything: one core holds every neuron and every input
UNLIMITED = HardwareProfile(
    name="unlimited", neurons_per_core=10**6, axons_per_core=10**6, synapses_per_core=10**8,
    weight_bits=32, cores_per_chip=1, core_mesh=(1, 1), chip_mesh=(1, 1), max_chips=1,
    energy_synaptic_event_pj=1.0, energy_neuron_update_pj=1.0, energy_spike_pj=1.0,
    energy_hop_pj=1.0, hop_latency_ns=1.0, routing_entries_per_router=None, native_tick_ms=None,
    source="no limits: the reference of the mapping-invariance test")


@pytest.mark.parametrize("hardware, mapper", [("dynapse", "default"), ("dynapse", "slice"),
                                              ("loihi", "default"), ("truenorth", "slice")])
def test_exact_mode_spikes_equal_a_run_without_hardware_limits(hardware, mapper):
    """Issue 3's invariance: in exact mode, a network mapped onto a real profile (DYNAP-SE:
    150 inputs per neuron on 64 rows, every neuron unrolled; TrueNorth: the inputs spread
    over several 256-axon cores), compiled before the run and counted after it, spikes
    exactly as on one unlimited core."""
    def trains(profile, mapper):
        sim.setup(timestep=0.1, hardware=profile, mapper=mapper, unroll="exact")
        source = sim.Population(300, sim.SpikeSourcePoisson(rate=30.0), label="input")
        cells = sim.Population(40, sim.IF_curr_exp(tau_syn_E=2.0), label="cells")
        sim.Projection(source, cells, sim.FixedNumberPreConnector(150, rng=sim.NumpyRNG(5)),
                       sim.StaticSynapse(weight=0.6, delay=1.0))
        sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(6)),
                       sim.StaticSynapse(weight=0.2, delay=1.5))
        cells.record("spikes")
        report = sim.compile().report()
        sim.run(300.0)
        after = sim.get_mapping().report()
        out = _trains(cells)
        sim.end()
        return out, report, after
    limited, report, after = trains(hardware, mapper)
    reference, reference_report, _ = trains(UNLIMITED, "slice")
    assert reference_report["cores_used"] == 1 and reference_report["unrolled_units"] == 0
    if hardware == "dynapse":
        assert report["unrolled_units"] > 0
    if hardware == "truenorth":
        assert report["cores_used"] > 1
    assert report["unroll"] == "exact" and after["spike_deviation"] is None
    assert sum(len(t) for t in reference) > 0
    assert len(limited) == len(reference)
    for a, b in zip(limited, reference):
        np.testing.assert_array_equal(a, b)


def test_plastic_projection_on_truenorth_is_refused_by_compile():
    sim.setup(timestep=0.1, hardware="truenorth")
    cells = sim.Population(20, sim.IF_curr_exp(), label="cells")
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(), weight=0.1, delay=1.0)
    sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False), stdp,
                   label="learning")
    with pytest.raises(MappingError, match=r"no on-chip plasticity .*380 synapses do not fit: "
                                           r"'learning' \(STDPMechanism, 380 synapses\)"):
        sim.compile()
    sim.end()


# sPyNNaker's per-core neuron limits ---------------------------------------------------------

def _cores_of(mapping, label):
    """Units of population ``label`` on each core that holds any."""
    p = [q.label for q in mapping.spec.populations].index(label)
    cores = mapping.unit_core[mapping.legal.unit_population == p]
    counts = np.bincount(cores)
    return counts[counts > 0]


def test_max_atoms_per_core_cuts_slices():
    """setup(mapper="slice") cuts a population into slices of at most its limit, as
    sPyNNaker does: a population's own set_max_atoms_per_core, else its cell type's
    set_number_of_neurons_per_core."""
    source, exc = _network()
    sim.end()
    sim.setup(timestep=0.1, hardware="loihi", mapper="slice")
    other = sim.Population(130, sim.IF_curr_exp(), label="other")
    cond = sim.Population(90, sim.IF_cond_exp(), label="cond")
    own = sim.Population(100, sim.IF_curr_exp(), label="own")
    sim.Projection(other, own, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    sim.Projection(other, cond, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 40)
    own.set_max_atoms_per_core(25)
    mapping = sim.get_mapping()
    assert list(_cores_of(mapping, "other")) == [40, 40, 40, 10]
    assert list(_cores_of(mapping, "own")) == [25] * 4
    assert list(_cores_of(mapping, "cond")) == [90]      # another cell type: no limit
    sim.end()


def test_max_atoms_per_core_with_a_connectivity_aware_mapper_warns(caplog):
    source, exc = _network()
    exc.set_max_atoms_per_core(10)
    with caplog.at_level("WARNING"):
        report = sim.get_mapping().report()
    assert "does not take per-population limits" in caplog.text and "exc" in caplog.text
    assert sum(report["neurons_per_core"]) == 300
    sim.end()


@pytest.mark.parametrize("value", [0, -3, 2.5, "many", True])
def test_bad_per_core_limits(value):
    source, exc = _network()
    with pytest.raises(sim.errors.InvalidParameterValueError, match="positive integer"):
        exc.set_max_atoms_per_core(value)
    with pytest.raises(sim.errors.InvalidParameterValueError, match="positive integer"):
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, value)
    with pytest.raises(sim.errors.InvalidParameterValueError, match="not a cell type"):
        sim.set_number_of_neurons_per_core(int, 10)
    sim.end()


def test_spynnaker_additional_parameters():
    """sPyNNaker's Population(..., additional_parameters=...): a seed of the population's
    own (same seed, same spikes, whatever rng_seed), max_atoms_per_core, machine settings
    ignored, anything else refused."""
    def poisson_spikes(rng_seed, extra):
        sim.setup(timestep=0.1, rng_seed=rng_seed, mapper="slice")
        src = sim.Population(30, sim.SpikeSourcePoisson(rate=100.0), label="src",
                             additional_parameters=extra)
        cells = sim.Population(60, sim.IF_curr_exp(), label="cells",
                               additional_parameters={"max_atoms_per_core": 16,
                                                      "spikes_per_second": 50})
        sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
        src.record("spikes")
        sim.run(100.0)
        trains = [list(np.asarray(t)) for t in src.get_data().segments[0].spiketrains]
        cores = list(_cores_of(sim.get_mapping(), "cells"))
        sim.end()
        return trains, cores

    a, cores = poisson_spikes(1, {"seed": 7})
    b, _ = poisson_spikes(2, {"seed": 7})
    c, _ = poisson_spikes(1, {"seed": 8})
    d, _ = poisson_spikes(1, None)
    assert a == b and a != c and a != d
    assert cores == [16, 16, 16, 12]
    sim.setup()
    with pytest.raises(sim.errors.InvalidParameterValueError, match="not known"):
        sim.Population(2, sim.IF_curr_exp(), additional_parameters={"colour": "red"})
    for bad in (-1, 2.5, "abc"):
        with pytest.raises(sim.errors.InvalidParameterValueError, match="seed"):
            sim.Population(2, sim.IF_curr_exp(), additional_parameters={"seed": bad})
    sim.end()
