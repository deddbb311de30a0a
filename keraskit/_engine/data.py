"""Rows into tensors, one way for every caller: dense, sparse or too large to copy at once.

Dense data up to ``IN_GRAPH_BYTES`` becomes one tensor per fit (the epoch function gathers
its batches in the graph), and so does sparse data small enough to densify whole
(``SMALL_SPARSE``); larger data is fed a chunk of whole batches at a time, densified per
chunk, so memory stays near the size of the data. Validation, L-BFGS and
inference read chunks of rows through :func:`tensor_chunks`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._tensorflow import tf

#: Rows per call of the inference function; bounds memory on large inputs.
PREDICT_CHUNK = 16384
#: Dense training data up to this size is copied into the graph once per fit; larger data
#: is fed in chunks of whole batches, so that memory stays near the size of the data.
IN_GRAPH_BYTES = 256 << 20
#: Approximate size of one chunk of training rows fed to the epoch function.
CHUNK_BYTES = 32 << 20
#: A sparse ``X`` of at most this many values (16 MB dense in float32, 32 MB in float64;
#: about twice that at the peak, with its copy in the graph) trains densified whole: one
#: copy in the graph, fusable in a search, instead of a chunk densified at every epoch.
#: Keras's own sparse input pipeline is slower still (a 40-row wrapper fit measured
#: 1.7-2.0 s sparse, 1.1-1.3 s dense). Larger ones never are.
SMALL_SPARSE = 1 << 22


def densified_if_small(X):
    """``X`` as a dense array when it is a sparse matrix of at most ``SMALL_SPARSE`` values.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix
        Training rows.

    Returns
    -------
    X : ndarray or scipy sparse matrix
        ``X`` itself unless it was small and sparse.
    """
    if sp.issparse(X) and np.prod(X.shape, dtype=np.int64) <= SMALL_SPARSE:
        return X.toarray()
    return X


def reshuffle(order, rng):
    """``sklearn.utils.shuffle(order, random_state=rng)``, without its input checks.

    The same draws from ``rng`` and the same result (a permutation of ``np.arange`` shuffled
    by ``rng``, indexing ``order``) at a tenth of the cost, which counts once per epoch of
    every member of a fused search.

    Parameters
    ----------
    order : ndarray of shape (n,)
        The previous epoch's order.
    rng : numpy.random.RandomState
        The fit's random stream.

    Returns
    -------
    order : ndarray of shape (n,)
    """
    index = np.arange(len(order))
    rng.shuffle(index)
    return order[index]


def chunk_rows(X):
    """Rows per chunk of ``X`` so that a densified chunk stays near 4 M values."""
    per_row = int(np.prod(X.shape[1:]))
    return max(1, min(PREDICT_CHUNK, (1 << 22) // max(per_row, 1)))


def dense_chunks(X, rows, dtype):
    """Yield ``(slice, dense ndarray)`` chunks of dense or sparse ``X``."""
    for start in range(0, max(X.shape[0], 1), rows):
        part = X[start : start + rows]
        part = part.toarray() if sp.issparse(part) else part
        yield slice(start, start + rows), np.asarray(part, dtype=dtype)


def tensor_chunks(X, Y, sw, dtype):
    """``(X, Y, sw)`` tensors of consecutive chunks of rows.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix
        Input rows (sparse ones are densified a chunk at a time).
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets.
    sw : ndarray of shape (n_samples,)
        Sample weights.
    dtype : tf.DType
        Dtype of every tensor.

    Returns
    -------
    chunks : callable
        Returns an iterable over the chunks each time it is called: the same tensors for
        dense ``X`` (made once), freshly densified ones for sparse ``X``.
    """

    def fresh():
        return (
            (tf.constant(Xc), tf.constant(Y[s], dtype), tf.constant(sw[s], dtype))
            for s, Xc in dense_chunks(X, chunk_rows(X), dtype.as_numpy_dtype)
        )

    if sp.issparse(X):
        return fresh
    made = list(fresh())
    return lambda: made


class TrainingRows:
    """The training rows of a fit, fed to the epoch function in the order of an epoch.

    Parameters
    ----------
    data : records.FitData
        The training data (``rows`` selects from ``X``).
    dtype : tf.DType
        The network's dtype.
    batch_size : int
        Rows per step (a chunk is a whole number of batches).
    """

    def __init__(self, data, dtype, batch_size):
        self.data, self.dtype, self.batch_size = data, dtype, batch_size
        self.in_graph = not sp.issparse(data.X) and data.X.nbytes <= IN_GRAPH_BYTES
        if self.in_graph:  # one copy for the whole fit
            self.tensors = tuple(tf.constant(a, dtype) for a in (data.X, data.Y, data.sw))

    def epoch_index(self, order):
        """Row numbers of ``X`` in epoch order (``order`` ranges over the training rows)."""
        rows = self.data.rows
        return order if rows is None else rows[order].astype(np.int32)

    def chunks(self, index):
        """Yield ``(X, Y, sw, positions)`` tensors covering ``index`` in order."""
        if self.in_graph:
            yield (*self.tensors, tf.constant(index))
            return
        d = self.data
        row_bytes = np.dtype(self.dtype.as_numpy_dtype).itemsize * int(np.prod(d.X.shape[1:]))
        step = self.batch_size * max(1, CHUNK_BYTES // (self.batch_size * row_bytes))
        for start in range(0, len(index), step):
            idx = index[start : start + step]
            Xc = d.X[idx]
            Xc = Xc.toarray() if sp.issparse(Xc) else Xc
            yield (
                tf.constant(np.asarray(Xc, dtype=self.dtype.as_numpy_dtype)),
                tf.constant(d.Y[idx], self.dtype),
                tf.constant(d.sw[idx], self.dtype),
                tf.range(len(idx), dtype=tf.int32),
            )
