"""Launcher helpers shared by the ``*_cuda`` kernel modules: array module, grid math, buffers.

Launchers receive NumPy arrays under the Numba CUDA simulator and CuPy arrays on a GPU; these
helpers hide the difference so each launcher is written once.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from numba import types as nt

# Accumulator type per storage dtype: float16 sums in float32, the others in their own type.
ACC_TYPES = {np.dtype(np.float16): nt.float32, np.dtype(np.float32): nt.float32,
             np.dtype(np.float64): nt.float64}


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


_SIM_LOCK = threading.RLock()


@contextmanager
def launch_context(x):
    """Where a launch on array ``x`` must happen: on a GPU, with ``x``'s device current for CuPy
    (allocations, the current stream) and for Numba (``gpus[i]`` pushes that device's primary
    context, so the kernel and the stream ``kernel_args`` wraps belong to it); under the
    simulator, which runs one launch at a time (it swaps the kernel's ``cuda`` global while it
    runs), holding a lock so launches from several threads (DataParallel's replicas) take turns.
    """
    if isinstance(x, np.ndarray):
        with _SIM_LOCK:
            yield
        return
    import cupy
    from numba import cuda
    index = x.device.id
    with cupy.cuda.Device(index), cuda.gpus[index]:
        yield


def cdiv(n: int, d: int) -> int:
    """Blocks needed to cover ``n`` items ``d`` at a time."""
    return -(-n // d)


def kernel_args(*arrays) -> tuple:
    """``(arrays as the kernel takes them, stream)`` for a launch ``k[grid, block, stream]``.

    NumPy arrays go to the simulator unchanged. CuPy arrays are wrapped without Numba's
    interop synchronization (which would block the host on every launch) and the kernel runs on
    CuPy's current stream, so it stays ordered with the surrounding CuPy work. Call it, and
    launch, inside ``launch_context(arrays[0])``.
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


def make_tile_fma(cfg: TileConfig):
    """Device function for one K-step of a tiled GEMM: each thread accumulates the BK-deep
    products of its TM rows (strided by BM/TM) and TN columns (strided by BN/TN) of the shared
    tiles ``sa`` (A transposed, BK x BM) and ``sb`` (BK x BN) into its register tile."""
    from numba import cuda
    BK, TM, TN = cfg.bk, cfg.tm, cfg.tn
    RM, RN = cfg.bm // TM, cfg.bn // TN

    @cuda.jit(device=True, inline=True)
    def tile_fma(sa, sb, ra, rb, tile, ty, tx):
        for kk in range(BK):
            for i in range(TM):
                ra[i] = sa[kk, ty + i * RM]
            for j in range(TN):
                rb[j] = sb[kk, tx + j * RN]
            for i in range(TM):
                for j in range(TN):
                    tile[i, j] += ra[i] * rb[j]
    return tile_fma
