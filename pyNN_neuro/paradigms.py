"""How each projection's spikes are delivered, as the mapping report lists it."""


def projection_report(state):
    """One row per projection: its label, the paradigm it runs in, and whether that was
    forced (the projection's own ``paradigm``), set for all (``setup(paradigm=...)``)."""
    rows = []
    for projection in state.projections:
        forced = projection.paradigm is not None
        rows.append({
            "label": projection.label,
            "paradigm": projection.paradigm or state.paradigm,
            "decided_by": "projection" if forced else "setup",
            "predicted_cost": None,
        })
    return rows
