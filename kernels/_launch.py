"""Launcher helpers shared by the ``*_cuda`` kernel modules: array module, grid math, buffers.

Launchers receive NumPy arrays under the Numba CUDA simulator and CuPy arrays on a GPU; these
helpers hide the difference so each launcher is written once.
"""
from __future__ import annotations

from typing import NamedTuple

import os

import numpy as np


def simulator_enabled() -> bool:
    """True when Numba's CUDA simulator runs the kernels (arrays are NumPy)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def jit_kernel(launch_bounds: tuple | None = None):
    """``cuda.jit`` for a kernel with launch bounds ``(max threads, min blocks per SM)``, which
    cap its registers; the simulator's ``jit`` has no such option and runs it without."""
    from numba import cuda
    if launch_bounds is None or simulator_enabled():
        return cuda.jit
    return cuda.jit(launch_bounds=launch_bounds)


def array_module(x):
    """``numpy`` for NumPy arrays, ``cupy`` for anything else (CuPy device arrays)."""
    if isinstance(x, np.ndarray):
        return np
    import cupy
    return cupy


def cdiv(n: int, d: int) -> int:
    """Blocks needed to cover ``n`` items ``d`` at a time."""
    return -(-n // d)


def kernel_args(*arrays) -> tuple:
    """``(arrays as the kernel takes them, stream)`` for a launch ``k[grid, block, stream]``.

    NumPy arrays go to the simulator unchanged. CuPy arrays are wrapped without Numba's
    interop synchronization (which would block the host on every launch) and the kernel runs on
    CuPy's current stream, so it stays ordered with the surrounding CuPy work.
    """
    if isinstance(arrays[0], np.ndarray):
        return arrays, 0
    import cupy
    from numba import cuda
    ptr = cupy.cuda.get_current_stream().ptr
    stream = cuda.external_stream(ptr) if ptr else cuda.default_stream()
    return tuple(cuda.as_cuda_array(x, sync=False) for x in arrays), stream


def strided_buffer(x) -> tuple:
    """A 1-D contiguous view of the memory ``x`` spans, and ``x``'s strides in elements.

    Lets a kernel index a transposed, sliced or broadcast (stride 0) operand directly from its
    storage, with no copy. ``x`` must be non-empty. Negative or unaligned strides, which no
    flat view can express, and read-only NumPy arrays (the simulator writes every argument back)
    fall back to a contiguous copy.
    """
    xp = array_module(x)
    item = x.dtype.itemsize
    if not all(s >= 0 and s % item == 0 for s in x.strides):
        x = xp.ascontiguousarray(x)
    elif xp is np and not x.flags.writeable:
        x = x.copy()
    strides = tuple(s // item for s in x.strides)
    span = 1 + sum((n - 1) * s for n, s in zip(x.shape, strides))
    buf = xp.lib.stride_tricks.as_strided(x, shape=(span,), strides=(item,))
    return buf, strides


class TileConfig(NamedTuple):
    """Block tile BM x BN, K-step BK, per-thread micro-tile TM x TN, shared-memory row pad."""
    bm: int
    bn: int
    bk: int
    tm: int
    tn: int
    pad: int = 4

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)
