"""Tiled CUDA matmul: C = A @ B with shared-memory tiles and 2-D register blocking.

Each block computes a BM x BN tile of C, walking K in BK-deep steps. Per step the block stages a
BK x BM slice of A (stored transposed, k-major) and a BK x BN slice of B in shared memory; each
thread then accumulates a TM x TN micro-tile in registers (``cuda.local.array``, fully unrolled
because the tile sizes are compile-time constants). A thread's micro-tile rows are
``ty + i * BM/TM`` and columns ``tx + j * BN/TN`` (interleaved, not contiguous), so a warp's
shared-memory reads hit consecutive words: no bank conflicts without vector loads.

Operands are read straight from their storage through element strides, so transposed or sliced
views (``a.mT @ g`` in backward, ``x @ w.T`` in Linear) need no copy; the tile loader picks the
thread mapping that keeps global loads coalesced for either major order, and the row padding
(``PAD``, making rows 4 words apart modulo 32 banks) keeps the k-major stores conflict-free too.
Batch dims broadcast: the grid's z dimension walks the flattened batch, with up to two levels
of per-operand batch strides (0 where an operand is broadcast).

float16 operands are staged and accumulated in float32 and rounded once on store.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda
from numba import types as nt

from ._launch import (ACC_TYPES as _ACC, TileConfig, array_module, cdiv, jit_kernel, kernel_args,
                      launch_context, make_tile_fma, strided_buffer)


CONFIGS = {
    "128x128": TileConfig(128, 128, 8, 8, 8),
    "64x64": TileConfig(64, 64, 8, 4, 4),
    "32x32": TileConfig(32, 32, 8, 4, 4),
}
# Launch bound: at least 2 blocks per SM, i.e. <= 128 registers a thread at 256 threads. The
# 128x128 tile's 64 float64 accumulators alone take 128 registers, so float64 has the small tile.
MIN_BLOCKS_PER_SM = 2
CONFIGS_BY_ACC = {nt.float32: ("128x128", "64x64", "32x32"), nt.float64: ("64x64", "32x32")}
# A tile size is worth it with about one block per SM (A100: 108, H100: 132) to fill the GPU;
# below that the next smaller tile's 4x more blocks win.
_LARGE_TILE_MIN_BLOCKS = 128
_MAX_GRID_YZ = 65535


def _make_kernel(cfg: TileConfig, acc):
    """Compile-time specialization of the tiled kernel for one tile config and accumulator type
    (the shared and local array dtypes must be constants, so each pair is its own kernel)."""
    BM, BN, BK, TM, TN, PAD = cfg
    NT = cfg.threads
    RM, RN = BM // TM, BN // TN
    assert (BM * BK) % NT == 0 and (BN * BK) % NT == 0, cfg
    LA, LB = BM * BK // NT, BN * BK // NT
    SA, SB = (BK, BM + PAD), (BK, BN + PAD)  # shared shapes must be literal constants
    tile_fma = make_tile_fma(cfg)

    @cuda.jit(device=True, inline=True)
    def load_tile(src, base, s_out, s_k, n_out, kdim, out0, k0, dst, tid, k_fast, loads, bo):
        """dst[kk, oo] = X[out0 + oo, k0 + kk] (zero outside X); consecutive threads walk the
        operand's unit-stride axis so global loads coalesce."""
        for step in range(loads):
            e = tid + step * NT
            if k_fast:
                kk, oo = e % BK, e // BK
            else:
                kk, oo = e // bo, e % bo
            o, kx = out0 + oo, k0 + kk
            if o < n_out and kx < kdim:
                dst[kk, oo] = src[np.uint64(base + o * s_out + kx * s_k)]
            else:
                dst[kk, oo] = 0

    @jit_kernel(launch_bounds=(NT, MIN_BLOCKS_PER_SM))
    def gemm(a, b, c, m, n, k, sam, sak, sbk, sbn, nb1, as0, as1, bs0, bs1, nbatch):
        sa = cuda.shared.array(SA, acc)
        sb = cuda.shared.array(SB, acc)
        tile = cuda.local.array((TM, TN), acc)
        ra = cuda.local.array(TM, acc)
        rb = cuda.local.array(TN, acc)
        tid = np.uint32(cuda.threadIdx.x)
        tx, ty = tid % RN, tid // RN
        row0, col0 = cuda.blockIdx.x * BM, cuda.blockIdx.y * BN
        a_kfast = sak == 1 and sam != 1  # else walk rows: also right when both strides are 1
        b_kfast = sbk == 1 and sbn != 1
        for z in range(cuda.blockIdx.z, nbatch, cuda.gridDim.z):
            z0 = z // nb1
            z1 = z - z0 * nb1
            abase, bbase = z0 * as0 + z1 * as1, z0 * bs0 + z1 * bs1
            for i in range(TM):
                for j in range(TN):
                    tile[i, j] = 0
            for k0 in range(0, k, BK):
                load_tile(a, abase, sam, sak, m, k, row0, k0, sa, tid, a_kfast, LA, BM)
                load_tile(b, bbase, sbn, sbk, n, k, col0, k0, sb, tid, b_kfast, LB, BN)
                cuda.syncthreads()
                tile_fma(sa, sb, ra, rb, tile, ty, tx)
                cuda.syncthreads()
            cbase = z * m * n
            for i in range(TM):
                r = row0 + ty + i * RM
                if r < m:
                    for j in range(TN):
                        col = col0 + tx + j * RN
                        if col < n:
                            c[np.uint64(cbase + r * n + col)] = tile[i, j]

    return gemm


_KERNELS = {(name, acc): _make_kernel(CONFIGS[name], acc)
            for acc, names in CONFIGS_BY_ACC.items() for name in names}

_ARGS = "{t}[::1], {t}[::1], {t}[::1], " + ", ".join(["int64"] * 13)
PTX_SIGNATURES = [
    (_KERNELS[name, _ACC[np.dtype(t)]], f"void({_ARGS.format(t=t)})", f"matmul_{t}_{name}",
     CONFIGS[name].threads)
    for t in ("float16", "float32", "float64") for name in CONFIGS_BY_ACC[_ACC[np.dtype(t)]]
]


def _batch_layout(batch: tuple, sa: tuple, sb: tuple) -> list:
    """Batch dims as few ``(size, a_stride, b_stride)`` levels as the strides allow (size-1
    dims dropped, adjacent dims merged where both operands are contiguous across them)."""
    levels: list = []
    for size, x, y in zip(batch, sa, sb):
        if size == 1:
            continue
        if levels and levels[-1][1] == x * size and levels[-1][2] == y * size:
            levels[-1] = (levels[-1][0] * size, x, y)
        else:
            levels.append((size, x, y))
    return levels


def _operand(x, batch: tuple) -> tuple:
    """Flat storage, matrix strides and (broadcast) batch strides of one operand."""
    buf, strides = strided_buffer(x)
    lead = len(batch) - (x.ndim - 2)
    bstr = (0,) * lead + tuple(0 if n == 1 else s for n, s in zip(x.shape[:-2], strides[:-2]))
    return buf, strides[-2:], bstr


def pick_config(m: int, n: int, nbatch: int, dtype) -> str:
    """The tile config for an output of ``nbatch`` m x n matrices of ``dtype``: the largest
    available tile that still gives the GPU enough blocks, else the smallest."""
    names = CONFIGS_BY_ACC[_ACC[np.dtype(dtype)]]
    for name in names[:-1]:
        cfg = CONFIGS[name]
        if cdiv(m, cfg.bm) * cdiv(n, cfg.bn) * nbatch >= _LARGE_TILE_MIN_BLOCKS:
            return name
    return names[-1]


def matmul(a, b, config: str | None = None):
    """C = A @ B for arrays with ndim >= 2: batch dims broadcast, any strides, float16/32/64.

    ``config`` forces one of the dtype's tile configs (default: ``pick_config``).
    """
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul kernel: operands need ndim >= 2, got shapes {a.shape} and "
                         f"{b.shape}")
    (m, k), (k2, n) = a.shape[-2:], b.shape[-2:]
    if k != k2:
        raise ValueError(f"matmul kernel: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({k} != {k2})")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype not in _ACC:
        raise TypeError(f"matmul kernel: supports float16, float32 and float64, got "
                        f"{a.dtype} and {b.dtype}")
    xp = array_module(a)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    c = xp.empty(batch + (m, n), dtype)
    if c.size == 0:
        return c
    if k == 0:
        c[...] = 0
        return c
    ops = [a, b]
    for i in range(3):  # materialize a, then b, until the batch fits the kernel's two levels
        (abuf, (sam, sak), abs_), (bbuf, (sbk, sbn), bbs) = (_operand(x, batch) for x in ops)
        levels = _batch_layout(batch, abs_, bbs)
        if len(levels) <= 2:
            break
        ops[i] = xp.ascontiguousarray(xp.broadcast_to(ops[i], batch + ops[i].shape[-2:]))
    (_, as0, bs0), (nb1, as1, bs1) = [(1, 0, 0)] * (2 - len(levels)) + levels
    nbatch = math.prod(batch)
    name = config or pick_config(m, n, nbatch, dtype)
    if (name, _ACC[dtype]) not in _KERNELS:
        raise ValueError(f"matmul kernel: no tile config {name!r} for {dtype} (available: "
                         f"{', '.join(CONFIGS_BY_ACC[_ACC[dtype]])})")
    cfg = CONFIGS[name]
    kernel = _KERNELS[name, _ACC[dtype]]
    # row tiles on grid x (limit 2**31 - 1): tall outputs such as (batch * seq) x features
    grid = (cdiv(m, cfg.bm), cdiv(n, cfg.bn), min(nbatch, _MAX_GRID_YZ))
    if grid[1] > _MAX_GRID_YZ:
        raise ValueError(f"matmul kernel: {n} output columns exceed the grid's "
                         f"{_MAX_GRID_YZ} x {cfg.bn} limit")
    with launch_context(c):
        (abuf, bbuf, cbuf), stream = kernel_args(abuf, bbuf, c.reshape(-1))
        kernel[grid, cfg.threads, stream](abuf, bbuf, cbuf, m, n, k, sam, sak, sbk, sbn, nb1,
                                          as0, as1, bs0, bs1, nbatch)
    return c
