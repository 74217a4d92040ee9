"""Hardware model: frozen descriptions of tile-based neuromorphic chips.

``HardwareProfile`` holds a chip's per-core limits, mesh geometry and per-event energies
and latencies; ``PROFILES`` holds the named ones (loihi, truenorth, spinnaker2, dynapse),
each citing its sources. This package imports nothing from PyNN.
"""
from .profile import HardwareProfile  # noqa: F401
from .profiles import (  # noqa: F401
    DEFAULT_PROFILE, DYNAPSE, LOIHI, PROFILES, SPINNAKER2, TRUENORTH, get_profile,
)

__all__ = ["HardwareProfile", "PROFILES", "DEFAULT_PROFILE", "get_profile",
           "LOIHI", "TRUENORTH", "SPINNAKER2", "DYNAPSE"]
