"""Weight quantisation to the hardware profile's weight bits (``setup(quantise_weights=True)``).

A chip stores a synaptic weight as a signed integer of ``weight_bits`` bits (sign included)
times a scale shared by many synapses (Loihi: a weight exponent per core and synapse
format; SpiNNaker: a fixed-point shift per synapse type). We share one scale per
receptor of each (base) population, a power of two, the smallest that keeps the largest
weight onto that receptor representable: ``scale = 2 ** ceil(log2(max |w| / L))`` with
``L = 2 ** (weight_bits - 1) - 1`` levels per sign. Every weight becomes
``round(w / scale) * scale`` (ties to even).

Nothing is ever pruned: a non-zero weight that would round to zero (``|w| <= scale / 2``)
means the weights on that receptor span more than the profile's bits hold, and
``quantise_projections`` raises a ``MappingError`` saying which projection, how many
synapses and by what factor the range is exceeded, before anything is simulated.

A power-of-two scale keeps the quantised weights on the power-of-two grid the engine sums
exactly on (``pyNN_neuro.paradigms``), so both paradigms still give identical spikes.
Plastic synapses start from quantised weights; their changes during a run stay in full
precision (the report says so).
"""
import math

import numpy as np

from .errors import MappingError


def levels(weight_bits):
    """Non-zero magnitudes one sign holds with ``weight_bits`` bits, sign bit included."""
    return max(2 ** (int(weight_bits) - 1) - 1, 1)


def scale_for(max_abs_weight, weight_bits):
    """The power-of-two step that represents ``max_abs_weight`` in ``weight_bits`` bits."""
    if not max_abs_weight > 0:
        return 0.0
    return 2.0 ** math.ceil(math.log2(max_abs_weight / levels(weight_bits)))


def quantise(weights, scale):
    """``weights`` rounded to multiples of ``scale`` (ties to even)."""
    if scale == 0.0:
        return np.array(weights, dtype=float)
    return np.round(np.asarray(weights, dtype=float) / scale) * scale


def quantise_projections(projections, profile):
    """Quantise the weights of ``projections`` (PyNN projections of this backend) in place,
    one scale per (postsynaptic base population, receptor type). Returns a report dict;
    raises ``MappingError`` before changing anything when a non-zero weight would round
    to zero. Projections whose weights change are rebuilt or updated by the caller
    (``changed`` in the report: the projections whose weights moved)."""
    bits = profile.weight_bits
    rings = {}
    for prj in projections:
        weights = prj._values_of("weight")
        if weights is None or not weights.size:
            continue
        for _, post, _, _, selection in prj._pieces():
            key = (id(post), prj.receptor_type)
            entry = rings.setdefault(key, {"post": post, "receptor": prj.receptor_type,
                                           "members": []})
            entry["members"].append((prj, selection))
    plans, lost = [], []
    for entry in rings.values():
        largest = max(float(np.max(np.abs(prj._values["weight"][sel]), initial=0.0))
                      for prj, sel in entry["members"])
        scale = scale_for(largest, bits)
        plans.append((entry, scale, largest))
        if scale == 0.0:
            continue
        for prj, sel in entry["members"]:
            w = np.abs(prj._values["weight"][sel])
            vanish = (w > 0) & (np.round(w / scale) == 0)
            if np.any(vanish):
                smallest = float(w[vanish].min())
                lost.append(
                    f"{int(np.count_nonzero(vanish))} synapses of projection '{prj.label}' "
                    f"onto receptor '{entry['receptor']}' of '{entry['post'].label}' (smallest "
                    f"|w| {smallest:.6g}, step {scale:.6g} set by its largest weight "
                    f"{largest:.6g}: the weights span a factor {largest / smallest:.4g}, "
                    f"{(scale / 2) / smallest:.4g}x more than {bits}-bit weights hold)")
    if lost:
        raise MappingError(
            f"quantise_weights: {len(lost)} group(s) of weights would round to zero on "
            f"{profile.name} ({bits}-bit weights, {levels(bits)} levels per sign) and the "
            f"synapses be lost; nothing is pruned, so scale these weights up, drop them, or "
            f"use a profile with more weight bits: " + "; ".join(lost))
    report = {"weight_bits": bits, "levels_per_sign": levels(bits), "receptors": [],
              "changed": [], "plastic_weights": "start quantised, change in full precision"}
    changed = {}
    for entry, scale, largest in plans:
        worst_abs = worst_rel = 0.0
        for prj, sel in entry["members"]:
            before = prj._values["weight"][sel]
            after = quantise(before, scale)
            error = np.abs(after - before)
            if error.size:
                worst_abs = max(worst_abs, float(error.max()))
                nonzero = before != 0
                if np.any(nonzero):
                    worst_rel = max(worst_rel, float(np.max(error[nonzero]
                                                            / np.abs(before[nonzero]))))
            if np.any(after != before):
                changed.setdefault(id(prj), (prj, []))[1].append((sel, after))
        report["receptors"].append({
            "population": entry["post"].label, "receptor": entry["receptor"],
            "scale": scale, "max_abs_weight": largest, "max_abs_error": worst_abs,
            "max_relative_error": worst_rel})
    for prj, pieces in changed.values():
        values = prj._values["weight"].copy()
        for sel, after in pieces:
            values[sel] = after
        prj._values["weight"] = values
        report["changed"].append(prj)
    return report
