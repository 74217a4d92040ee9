"""The parallel (window-batched) paradigm: static synapses delivered by dense products.

For each distinct delay d the weights form a dense (n_pre x n_post) matrix W_d (multapses
summed). The spikes of a window of K steps are a (K x n_pre) count matrix S, and the
synaptic input the window sends through delay d is one BLAS product S @ W_d, whose row k
lands in the ring slot of step step0 + k + d (P1, P3 in papers.md: the input of many time
steps computed at once; only the neuron update stays sequential, in the kernels).

Only the presynaptic neurons that spiked in the window matter: when they are fewer than
``GATHER_BELOW`` of the population, the product is taken over their rows only
(S[:, active] @ W_d[active]), so the cost per step is about
(distinct active neurons per window) x n_post x n_delays / K multiply-adds rather than
n_pre x n_post x n_delays, and windows without spikes cost nothing.

Exact sums: the weights sit on their receptor ring's power-of-two grid (``set_quantum``,
see ``pyNN_neuro.engine.delivery``), so every addition BLAS makes is exact and the ring
holds, bit for bit, what the serial paradigm would have put there.
"""
import numpy as np

from .delivery import StaticUnit

#: gather the active rows when fewer than this fraction of the presynaptic neurons spiked
#: in the window (the gather copies those rows: worth it only when it skips most of them)
GATHER_BELOW = 0.5


class ParallelUnit(StaticUnit):
    """Static synapses delivered by the parallel (window-batched) paradigm; see the module
    docstring. Cost ~ K x (active presynaptic neurons) x n_post x n_delays / BLAS speed
    per window: it pays for dense layers at high rates."""

    MAX_MATRIX_BYTES = 2 * 1024 ** 3

    def __init__(self, label, pre, post, receptor, pre_index, post_index, weight, delay_steps):
        super().__init__(label, pre, post, receptor, pre_index, post_index, weight, delay_steps)
        self.delays = np.unique(self.delay)
        size = self.matrix_bytes(len(self.delays), pre.size, post.size)
        if size > self.MAX_MATRIX_BYTES:
            raise MemoryError(
                f"projection '{label}': the parallel paradigm needs {len(self.delays)} dense "
                f"{pre.size} x {post.size} weight matrices ({size / 1024 ** 3:.1f} GiB, limit "
                f"{self.MAX_MATRIX_BYTES / 1024 ** 3:.0f} GiB); use the serial paradigm")
        self._pre_of_synapse = np.repeat(np.arange(pre.size), np.diff(self.indptr))
        self.matrices = None

    @staticmethod
    def matrix_bytes(n_delays, n_pre, n_post):
        """Bytes of the dense weight matrices of a projection (float64, one per delay)."""
        return int(n_delays) * int(n_pre) * int(n_post) * 8

    def _build_matrices(self):
        self.matrices = []
        n_pre, n_post = self.pre.size, self.post.size
        for d in self.delays:
            selected = self.delay == d
            # bincount sums multapses (exactly: the weights are on the ring's grid)
            flat = self._pre_of_synapse[selected] * n_post + self.post_index[selected]
            matrix = np.bincount(flat, weights=self.weight[selected],
                                 minlength=n_pre * n_post).reshape(n_pre, n_post)
            self.matrices.append(matrix)

    def allocate(self, window_max, ring_length):
        if self.matrices is None:
            self._build_matrices()
        self._product = np.empty((window_max, self.post.size))

    def deliver(self, step0, K):
        pre = self.pre
        n = pre.n_spikes
        if not n:
            return
        n_pre = pre.size
        k = pre.spike_k[:n]
        i = pre.spike_i[:n]
        spiked = np.bincount(i, minlength=n_pre).astype(bool)
        active = np.flatnonzero(spiked)
        gather = active.size < GATHER_BELOW * n_pre
        if gather:
            width = active.size
            column = (np.cumsum(spiked) - 1)[i]      # rank of each spiking neuron
        else:
            width, column = n_pre, i
        # spike counts per (step, neuron): a source may emit several spikes in one step
        S = np.bincount(k * width + column, minlength=K * width).reshape(K, width).astype(float)
        ring = self.post.ring[self.receptor]
        length = ring.shape[0]
        product = self._product[:K]
        for d, matrix in zip(self.delays, self.matrices):
            np.matmul(S, matrix[active] if gather else matrix, out=product)
            first = (step0 + d) % length
            head = min(K, length - first)       # the window's slots may wrap round the ring
            ring[first:first + head] += product[:head]
            if head < K:
                ring[:K - head] += product[head:]

    def set(self, name, values_in_connection_order):
        super().set(name, values_in_connection_order)
        if name == "weight" and self.matrices is not None:
            self._build_matrices()
