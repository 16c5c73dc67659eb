"""Placeholder naive CUDA matmul (one thread per output); the tiled kernel replaces it."""
from __future__ import annotations

import math

import numpy as np
from numba import cuda


@cuda.jit
def _matmul_naive(a, b, c):
    i, j = cuda.grid(2)
    if i < c.shape[0] and j < c.shape[1]:
        acc = 0.0
        for k in range(a.shape[1]):
            acc += a[i, k] * b[k, j]
        c[i, j] = acc


def matmul(a, b):
    """C = A @ B for ndim >= 2 arrays with broadcast batch dims."""
    xp = np if isinstance(a, np.ndarray) else __import__("cupy")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    a3 = xp.ascontiguousarray(xp.broadcast_to(a, batch + (m, k))).reshape(-1, m, k)
    b3 = xp.ascontiguousarray(xp.broadcast_to(b, batch + (k, n))).reshape(-1, k, n)
    if not a3.flags.writeable:  # the simulator writes every argument back
        a3 = a3.copy()
    if not b3.flags.writeable:
        b3 = b3.copy()
    c3 = xp.empty((a3.shape[0], m, n), dtype=np.result_type(a.dtype, b.dtype))
    threads = (16, 16)
    blocks = (math.ceil(m / 16), math.ceil(n / 16))
    for i in range(a3.shape[0]):
        if m and n:
            _matmul_naive[blocks, threads](a3[i], b3[i], c3[i])
    return c3.reshape(batch + (m, n))
