"""PyNN's connectors, with vectorised paths for the common large cases and one repair.

PyNN's generic path (``MapConnector._standard_connect``) visits the postsynaptic cells one
by one. For ``FixedNumberPreConnector`` without replacement it also shuffles the whole
presynaptic population for every postsynaptic cell, O(n_pre x n_post): 77 s for 64 000
cells with fan-in 100. Our connectors draw all connections of a projection at once and add
them in bulk; they keep PyNN's semantics (how many connections, which ones are allowed,
uniform choice) and are deterministic for a given RNG seed:

- ``FixedNumberPreConnector`` with an integer ``n``. With replacement (and self-connections
  allowed), the draws are exactly PyNN's: one stream of uniform integers, postsynaptic cell
  by cell; excluded self-connections are redrawn after all cells' first draws. Without
  replacement, each cell's ``n mod n_pre`` random sources are drawn as uniform integers
  and repeats (and the cell itself, without self-connections) are redrawn until all are
  distinct: a procedure that treats every allowed source alike, hence a uniform random
  subset, though not PyNN's permutation stream. Dense cases (more than a quarter of the
  population per cell) keep PyNN's path.
- ``OneToOneConnector``: cell i to cell i in one step (also for one-cell populations,
  where PyNN 0.13 with numpy 2 fails on a 0-d mask).

The fast paths take synaptic parameters that are single values or plain random
distributions (drawn in connection order); anything else (arrays, functions of distance,
index expressions, multicompartment location selectors) goes through PyNN's own path.
"""
import numpy as np
from pyNN import connectors
from pyNN.connectors import *  # noqa: F401,F403
from pyNN.random import RandomDistribution, WrappedRNG


def _bulk_values(connector, projection):
    """Per-parameter values for a vectorised connect: a scalar, or a callable ``draw(n)``
    for a plain random distribution; ``None`` when some parameter needs PyNN's path."""
    if connector.location_selector is not None:
        return None
    values = {}
    for name, lazy in connector._parameters_from_synapse_type(projection).items():
        if lazy.is_homogeneous:
            values[name] = lazy.evaluate(simplify=True)
        elif isinstance(lazy.base_value, RandomDistribution) and not lazy.operations:
            values[name] = lazy.base_value.next
        else:
            return None
    return values


def _bulk_connect(connector, projection, pre, post, values):
    """Add the connections (pre[k], post[k]) with ``values`` (from :func:`_bulk_values`)."""
    n = len(pre)
    if n == 0:
        return
    evaluated = {}
    for name, value in values.items():
        if callable(value):
            value = np.atleast_1d(np.asarray(value(n), dtype=float)).reshape(n)
        evaluated[name] = value
    if connector.safe:
        syn = projection.synapse_type
        for name, check in getattr(syn, "parameter_checks", {}).items():
            native = syn.translations[name]["translated_name"]
            if native in evaluated:
                check(evaluated[native], projection)
    projection._pre_chunks.append(np.asarray(pre, dtype=np.intp))
    projection._post_chunks.append(np.asarray(post, dtype=np.intp))
    for name, value in evaluated.items():
        projection._value_chunks[name].append(np.broadcast_to(np.asarray(value, dtype=float), (n,)))


def _later_repeats(rows):
    """Mask of the entries of ``rows`` (2-d, non-negative integers) equal to an entry before
    them in the same row: every repeat but the first occurrence."""
    k = rows.shape[1]
    shift = max(k - 1, 1).bit_length()
    # (value << shift) | position is unique within a row and sorts by value, then by
    # position, so a plain (unstable, vectorised) sort finds the same later occurrences
    # that a stable argsort would, several times faster
    keys = rows << shift
    keys |= np.arange(k)
    keys.sort(axis=1)
    values = keys >> shift
    row, column = np.nonzero(values[:, 1:] == values[:, :-1])
    repeat = np.zeros(rows.shape, dtype=bool)
    repeat[row, keys[row, column + 1] & ((1 << shift) - 1)] = True
    return repeat


def _distinct_rows(rng, n_rows, k, high, exclude=None):
    """``n_rows`` rows of ``k`` distinct uniform integers in [0, high), none equal to
    ``exclude[row]``: draw, then redraw repeats and excluded values (in row-major order)
    until none is left. After the first pass only the rows that were redrawn can hold a
    repeat, so only those are checked again."""
    draws = np.asarray(rng.next(n_rows * k, "uniform_int", {"low": 0, "high": high}),
                       dtype=np.int64).reshape(n_rows, k)
    rows = np.arange(n_rows)
    while rows.size:
        part = draws[rows]
        repeat = _later_repeats(part)
        if exclude is not None:
            repeat |= part == exclude[rows, np.newaxis]
        count = int(repeat.sum())
        if count == 0:
            break
        part[repeat] = np.asarray(rng.next(count, "uniform_int", {"low": 0, "high": high}),
                                  dtype=np.int64).reshape(count)
        touched = repeat.any(axis=1)
        rows = rows[touched]
        draws[rows] = part[touched]
    return draws


class FixedNumberPreConnector(connectors.FixedNumberPreConnector):
    __doc__ = connectors.FixedNumberPreConnector.__doc__

    def connect(self, projection):
        n = self.n
        n_pre, n_post = projection.pre.size, projection.post.size
        exclude_self = not self.allow_self_connections and projection.pre == projection.post
        allowed = n_pre - 1 if exclude_self else n_pre
        values = None
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 \
                and isinstance(self.rng, WrappedRNG) and allowed > 0:
            full_sets, remainder = divmod(int(n), allowed)
            if self.with_replacement or remainder <= allowed // 4:
                values = _bulk_values(self, projection)
        if values is None:
            return super().connect(projection)
        n = int(n)
        cells = np.arange(n_post)
        if self.with_replacement:
            high = n_pre
            if exclude_self:
                sources = _distinct_rows_with_replacement(self.rng, n_post, n, n_pre, cells)
            else:
                sources = np.asarray(self.rng.next(n_post * n, "uniform_int",
                                                   {"low": 0, "high": high}),
                                     dtype=np.int64).reshape(n_post, n) if n else \
                    np.zeros((n_post, 0), dtype=np.int64)
        else:
            parts = []
            if full_sets:
                everyone = np.arange(n_pre)
                base = np.tile(everyone, (n_post, 1))
                if exclude_self:
                    base = base[base != cells[:, np.newaxis]].reshape(n_post, n_pre - 1)
                parts.append(np.tile(base, (1, full_sets)))
            if remainder:
                parts.append(_distinct_rows(self.rng, n_post, remainder, n_pre,
                                            cells if exclude_self else None))
            sources = np.hstack(parts) if parts else np.zeros((n_post, 0), dtype=np.int64)
        _bulk_connect(self, projection, sources.reshape(-1),
                      np.repeat(cells, sources.shape[1]), values)


def _distinct_rows_with_replacement(rng, n_rows, k, high, exclude):
    """Rows of ``k`` uniform integers in [0, high) avoiding ``exclude[row]`` (repeats
    allowed), redrawing excluded values as PyNN's ``_rng_uniform_int_exclude`` does."""
    draws = np.asarray(rng.next(n_rows * k, "uniform_int", {"low": 0, "high": high}),
                       dtype=np.int64).reshape(n_rows, k)
    while True:
        bad = draws == exclude[:, np.newaxis]
        count = int(bad.sum())
        if count == 0:
            return draws
        draws[bad] = np.asarray(rng.next(count, "uniform_int", {"low": 0, "high": high}),
                                dtype=np.int64).reshape(count)


class OneToOneConnector(connectors.OneToOneConnector):
    __doc__ = connectors.OneToOneConnector.__doc__

    def connect(self, projection):
        values = _bulk_values(self, projection)
        if values is None and projection.pre.size > 1 and projection.post.size > 1:
            return super().connect(projection)
        if values is None:       # one-cell populations: evaluate the single pair directly
            first = np.array([0])
            values = {name: (value.evaluate(simplify=True) if value.is_homogeneous
                             else value[first, 0])
                      for name, value in self._parameters_from_synapse_type(projection).items()}
        n = min(projection.pre.size, projection.post.size)
        cells = np.arange(n)
        _bulk_connect(self, projection, cells, cells, values)


class SmallWorldConnector(connectors.SmallWorldConnector):
    __doc__ = connectors.SmallWorldConnector.__doc__

    def connect(self, projection):
        # PyNN declares this connector without a generic implementation (pyNN.nest and
        # pyNN.brian2 have none either): say so instead of a bare NotImplementedError
        raise NotImplementedError(
            f"Projection '{projection.label}': SmallWorldConnector has no implementation in "
            f"PyNN's generic connectors, which pyNN_neuro uses (nor in pyNN.nest); build the "
            f"connection list yourself and pass it to FromListConnector")
