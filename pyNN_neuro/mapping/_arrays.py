"""Small array helpers shared by the mapper modules (not by the checker)."""
import numpy as np


def sorted_unique(values):
    """Sorted distinct values of an integer array (a sort and a comparison: faster than
    ``np.unique``'s hashing path on large int64 arrays)."""
    values = np.sort(values, kind="stable" if values.dtype.kind == "f" else None)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]
