"""Drawing of a mapping: the used chips, each core coloured by utilisation, each mesh link
drawn with a width and colour that grow with its spike load. Matplotlib is imported here
only, with the Agg backend, so the rest of the package works without it."""
import numpy as np


def plot_mapping(mapping, path):
    """Write a PNG of ``mapping`` to ``path``; returns the path."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize
    except ImportError as err:
        raise ImportError(f"Mapping.plot needs matplotlib (pip install matplotlib): {err}") from err

    profile, placement = mapping.profile, mapping.placement
    cols, rows = profile.core_mesh
    chips = max(placement.chips_used, 1)
    chip_cols = min(profile.chip_mesh[0], chips)
    chip_rows = -(-chips // profile.chip_mesh[0])
    width, height = chip_cols * cols, chip_rows * rows

    # each router is a unit square, split into a sub-grid of its cores
    per_side = int(np.ceil(np.sqrt(profile.cores_per_router)))
    utilisation = np.maximum.reduce([
        mapping.core_units / profile.neurons_per_core,
        mapping.core_axons / profile.axons_per_core,
        mapping.core_synapses / profile.synapses_per_core,
    ]) if mapping.n_cores else np.zeros(0)
    image = np.full((height * per_side, width * per_side), np.nan)
    within = placement.core_slot % profile.cores_per_router
    ix = placement.core_x * per_side + within % per_side
    iy = placement.core_y * per_side + within // per_side
    image[iy, ix] = utilisation

    size = max(4.0, min(14.0, 0.45 * max(width, height) + 3))
    fig, ax = plt.subplots(figsize=(size + 2, size * height / max(width, 1) + 1))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#e8e8e8")   # grey: core slots left empty
    shown = ax.imshow(np.ma.masked_invalid(image), origin="upper", cmap=cmap, vmin=0, vmax=1,
                      extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04,
                 label="core utilisation (max of neuron, axon, synapse fractions)")

    loads = mapping.link_loads
    # a physical link joins two routers: its load is the sum of its two directions
    east, west = loads["east"][:height, :width], loads["west"][:height, :width]
    south, north = loads["south"][:height, :width], loads["north"][:height, :width]
    horizontal = east[:, :-1] + west[:, 1:]     # link (x, y) - (x + 1, y)
    vertical = south[:-1, :] + north[1:, :]     # link (x, y) - (x, y + 1)
    segments, values = [], []
    for y_, x_ in zip(*np.nonzero(horizontal)):
        segments.append([(x_, y_), (x_ + 1, y_)])
        values.append(horizontal[y_, x_])
    for y_, x_ in zip(*np.nonzero(vertical)):
        segments.append([(x_, y_), (x_, y_ + 1)])
        values.append(vertical[y_, x_])
    if segments:
        values = np.asarray(values)
        norm = Normalize(vmin=0, vmax=values.max())
        lines = LineCollection(segments, cmap="Reds", norm=norm,
                               linewidths=0.5 + 4.5 * values / values.max())
        lines.set_array(values)
        ax.add_collection(lines)
        bar = fig.colorbar(lines, ax=ax, orientation="horizontal", fraction=0.05, pad=0.15,
                           label=f"link load ({mapping.figures['link_load_unit']}, both directions)")
        bar.formatter.set_powerlimits((-3, 3))
        bar.update_ticks()
    for gx in range(1, width):
        ax.axvline(gx - 0.5, color="white", linewidth=0.5)
    for gy in range(1, height):
        ax.axhline(gy - 0.5, color="white", linewidth=0.5)
    for cx in range(1, chip_cols):
        ax.axvline(cx * cols - 0.5, color="black", linewidth=1.5)
    for cy in range(1, chip_rows):
        ax.axhline(cy * rows - 0.5, color="black", linewidth=1.5)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_xlabel("router x")
    ax.set_ylabel("router y")
    report = mapping.report()
    ax.set_title(f"{profile.name}: {report['cores_used']} cores on {report['chips_used']} chip(s), "
                 f"{report['units']} units, mapper {report['mapper']}")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
