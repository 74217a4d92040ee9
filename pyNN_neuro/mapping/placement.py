"""Placement of cores on the chip mesh: in order, chip by chip, row-major.

Core c lives on chip ``c // cores_per_chip``; inside the chip it takes slot
``c % cores_per_chip``, which belongs to router ``slot // cores_per_router`` at
(``router % cols``, ``router // cols``) of ``core_mesh``. Chips fill ``chip_mesh`` row-major.
Routers are addressed by global mesh coordinates: x = chip_x * core_cols + router_x, and
likewise for y. The host input port sits at router (0, 0).
"""
from dataclasses import dataclass

import numpy as np

from .errors import MappingError


@dataclass
class Placement:
    """Per core: chip, slot within the chip, global router coordinates (x, y)."""
    core_chip: np.ndarray
    core_slot: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    mesh_cols: int
    mesh_rows: int

    @property
    def chips_used(self):
        return int(self.core_chip.max()) + 1 if len(self.core_chip) else 0


def place_in_order(n_cores, profile):
    """Row-major placement of ``n_cores`` cores; ``MappingError`` when they exceed the chips."""
    if n_cores > profile.max_cores:
        chips_needed = -(-n_cores // profile.cores_per_chip)
        raise MappingError(
            f"the network needs {n_cores} cores ({chips_needed} chips of "
            f"{profile.cores_per_chip}) but profile {profile.name!r} has max_chips = "
            f"{profile.max_chips} x {profile.cores_per_chip} cores = {profile.max_cores} "
            f"cores: {n_cores - profile.max_cores} cores too many")
    core = np.arange(n_cores, dtype=np.int64)
    chip = core // profile.cores_per_chip
    slot = core % profile.cores_per_chip
    router = slot // profile.cores_per_router
    cols, rows = profile.core_mesh
    chip_cols, chip_rows = profile.chip_mesh
    x = (chip % chip_cols) * cols + router % cols
    y = (chip // chip_cols) * rows + router // cols
    return Placement(core_chip=chip, core_slot=slot, core_x=x, core_y=y,
                     mesh_cols=chip_cols * cols, mesh_rows=chip_rows * rows)
