"""Shared fixtures of the backend tests (tests/test_backend_*.py)."""
import numpy as np
import pytest


@pytest.fixture
def sim():
    """pyNN_neuro, freshly set up with dt = 0.1 ms; end() afterwards."""
    import pyNN_neuro
    pyNN_neuro.setup(timestep=0.1)
    yield pyNN_neuro
    pyNN_neuro.end()


def spike_arrays(block_or_segment):
    """List of spike-time arrays (ms) of a Neo Block (last segment) or Segment."""
    seg = block_or_segment.segments[-1] if hasattr(block_or_segment, "segments") else block_or_segment
    return [np.asarray(st.magnitude, dtype=float) for st in seg.spiketrains]
