"""CUDA conv2d (NCHW) as implicit GEMM: im2col is never materialized; each tile loader computes
the input/weight/gradient address of its GEMM element on the fly.

One shared-memory tiled GEMM body (BM x BN block tile, BK-deep K steps, TM x TN register
micro-tile per thread, interleaved so a warp's shared reads hit consecutive banks) serves all
three passes; only the element addressing differs (grid z walks groups, and split-K slices for
the weight gradient):

==============  =================  ===============  ===================  ======================
pass            M (rows)           N (columns)      K (reduction)        A, B
==============  =================  ===============  ===================  ======================
forward         N*OH*OW            Cout/g           Cin/g*KH*KW          x windows, weight
backward-data   N*H*W              Cin/g            Cout/g*KH*KW         gy taps, weight
backward-weight Cout/g             Cin/g*KH*KW      N*OH*OW (split-K)    gy, x windows
==============  =================  ===============  ===================  ======================

Loads are coalesced along the operand's unit-stride axis (output pixels for x and gy windows,
K for the weight and for backward-weight's operands). Backward-data visits every tap and skips
those that a stride does not reach (a zero), trading some wasted multiply-adds for a kernel
with no atomics. Backward-weight's reduction over N*OH*OW is long while its output is small,
so it is split over grid blocks into float32/64 partial sums that one deterministic sum adds.
float16 operands are staged and accumulated in float32 and rounded once on store.
"""
from __future__ import annotations


import numpy as np
from numba import cuda
from numba import types as nt

from ._launch import (ACC_TYPES as _ACC, TileConfig, array_module, cdiv, kernel_args,
                      launch_context, make_tile_fma)
from ._window import conv_out_size


CONFIGS = {"64x64": TileConfig(64, 64, 8, 4, 4), "128x32": TileConfig(128, 32, 8, 8, 2),
           "16x16": TileConfig(16, 16, 8, 2, 2)}
_SMALL_GEMM = 1024  # M*N up to this: the 64-thread 16x16 tile (no idle threads, more blocks)
_SPLIT_TARGET_BLOCKS = 256  # backward-weight: split K until about this many blocks run
_SPLIT_MIN_K = 512  # ... but give each split at least this much of the reduction
MODES = ("forward", "backward_data", "backward_weight")

# Geometry tuple passed to every kernel (all int64):
# (N, C, H, W, Cout, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, G)
GEO_LEN = 16


@cuda.jit(device=True, inline=True)
def _dims(geo, mode):
    """(M, N, K) of the pass's GEMM for one group."""
    n, c, h, w, co, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, g = geo
    cg, cog = c // g, co // g
    if mode == 0:
        return n * oh * ow, cog, cg * kh * kw
    if mode == 1:
        return n * h * w, cg, cog * kh * kw
    return cog, cg * kh * kw, n * oh * ow


@cuda.jit(device=True, inline=True)
def _x_index(geo, grp, nn, ci, oy, ox, i, j):
    """Flat index of x[nn, grp*Cg + ci] under tap (i, j) of output pixel (oy, ox); -1 in the
    padding."""
    n, c, h, w, co, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, g = geo
    y = oy * sh - ph + i * dh
    x = ox * sw - pw + j * dw
    if y < 0 or y >= h or x < 0 or x >= w:
        return -1
    return ((nn * c + grp * (c // g) + ci) * h + y) * w + x


@cuda.jit(device=True, inline=True)
def _a_index(geo, mode, grp, m, k):
    n, c, h, w, co, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, g = geo
    if mode == 0:  # x window: m = (n, oy, ox), k = (ci, i, j)
        ohw, khw = oh * ow, kh * kw
        r, q = m % ohw, k % khw
        return _x_index(geo, grp, m // ohw, k // khw, r // ow, r % ow, q // kw, q % kw)
    if mode == 1:  # gy tap: m = (n, y, x), k = (o, i, j); zero where the stride skips it
        hw, khw = h * w, kh * kw
        nn, r, o, q = m // hw, m % hw, k // khw, k % khw
        ty = r // w + ph - (q // kw) * dh
        tx = r % w + pw - (q % kw) * dw
        if ty < 0 or tx < 0 or ty % sh != 0 or tx % sw != 0:
            return -1
        oy, ox = ty // sh, tx // sw
        if oy >= oh or ox >= ow:
            return -1
        return ((nn * co + grp * (co // g) + o) * oh + oy) * ow + ox
    ohw = oh * ow  # gy: m = o, k = (n, oy, ox)
    return ((k // ohw) * co + grp * (co // g) + m) * ohw + k % ohw


@cuda.jit(device=True, inline=True)
def _b_index(geo, mode, grp, k, col):
    n, c, h, w, co, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, g = geo
    cg, cog, khw = c // g, co // g, kh * kw
    if mode == 0:  # weight[grp*Cog + col, k]
        return (grp * cog + col) * cg * khw + k
    if mode == 1:  # weight[grp*Cog + o, col, i, j] with k = (o, i, j)
        return ((grp * cog + k // khw) * cg + col) * khw + k % khw
    ohw = oh * ow  # x window: k = (n, oy, ox), col = (ci, i, j)
    r, q = k % ohw, col % khw
    return _x_index(geo, grp, k // ohw, col // khw, r // ow, r % ow, q // kw, q % kw)


@cuda.jit(device=True, inline=True)
def _c_index(geo, mode, grp, split, m, col):
    n, c, h, w, co, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, g = geo
    if mode == 0:  # y[n, grp*Cog + col, oy, ox]
        ohw = oh * ow
        return ((m // ohw) * co + grp * (co // g) + col) * ohw + m % ohw
    if mode == 1:  # gx[n, grp*Cg + col, y, x]
        hw = h * w
        return ((m // hw) * c + grp * (c // g) + col) * hw + m % hw
    nw = (c // g) * kh * kw  # partial[split, grp*Cog + m, col]
    return (split * co + grp * (co // g) + m) * nw + col


def _make_kernel(cfg: TileConfig, mode: int, acc):
    """The tiled implicit-GEMM kernel of one pass, tile config and accumulator type."""
    BM, BN, BK, TM, TN, PAD = cfg
    NT = cfg.threads
    RM, RN = BM // TM, BN // TN
    LA, LB = BM * BK // NT, BN * BK // NT
    A_KFAST = mode == 2  # backward-weight's A (gy) is contiguous along K; the others along M
    SA, SB, TILE = (BK, BM + PAD), (BK, BN + PAD), (TM, TN)  # shapes must be constant tuples
    tile_fma = make_tile_fma(cfg)

    @cuda.jit
    def conv_gemm(a, b, out, geo, kchunk):
        sa = cuda.shared.array(SA, acc)
        sb = cuda.shared.array(SB, acc)
        tile = cuda.local.array(TILE, acc)
        ra = cuda.local.array(TM, acc)
        rb = cuda.local.array(TN, acc)
        tid = cuda.threadIdx.x
        tx, ty = tid % RN, tid // RN
        groups = geo[15]
        grp, split = cuda.blockIdx.z % groups, cuda.blockIdx.z // groups
        m_all, n_all, k_all = _dims(geo, mode)
        k_lo = split * kchunk
        k_hi = min(k_all, k_lo + kchunk)
        row0, col0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        for i in range(TM):
            for j in range(TN):
                tile[i, j] = 0
        for k0 in range(k_lo, k_hi, BK):
            for step in range(LA):
                e = tid + step * NT
                if A_KFAST:
                    kk, mm = e % BK, e // BK
                else:
                    kk, mm = e // BM, e % BM
                idx = -1
                if row0 + mm < m_all and k0 + kk < k_hi:
                    idx = _a_index(geo, mode, grp, row0 + mm, k0 + kk)
                if idx >= 0:
                    sa[kk, mm] = a[idx]
                else:
                    sa[kk, mm] = 0
            for step in range(LB):
                e = tid + step * NT
                kk, nn = e % BK, e // BK
                idx = -1
                if col0 + nn < n_all and k0 + kk < k_hi:
                    idx = _b_index(geo, mode, grp, k0 + kk, col0 + nn)
                if idx >= 0:
                    sb[kk, nn] = b[idx]
                else:
                    sb[kk, nn] = 0
            cuda.syncthreads()
            tile_fma(sa, sb, ra, rb, tile, ty, tx)
            cuda.syncthreads()
        for i in range(TM):
            r = row0 + ty + i * RM
            if r < m_all:
                for j in range(TN):
                    col = col0 + tx + j * RN
                    if col < n_all:
                        out[_c_index(geo, mode, grp, split, r, col)] = tile[i, j]

    return conv_gemm


_KERNELS = {(name, mode, acc): _make_kernel(cfg, m, acc)
            for name, cfg in CONFIGS.items() for m, mode in enumerate(MODES)
            for acc in (nt.float32, nt.float64)}


def _signature(t: str, mode: str) -> str:
    out = str(_ACC[np.dtype(t)]) if mode == "backward_weight" else t
    return f"void({t}[::1], {t}[::1], {out}[::1], UniTuple(int64, {GEO_LEN}), int64)"


PTX_SIGNATURES = [
    (_KERNELS[name, mode, _ACC[np.dtype(t)]], _signature(t, mode), f"conv2d_{mode}_{t}_{name}",
     CONFIGS[name].threads)
    for t in ("float16", "float32", "float64") for mode in MODES for name in CONFIGS
]


def _geometry(x_shape, w_shape, out_hw, stride, padding, dilation, groups) -> tuple:
    return tuple(int(v) for v in (*x_shape, w_shape[0], *w_shape[2:], *out_hw, *stride,
                                  *padding, *dilation, groups))


def _dtype_of(*arrays) -> np.dtype:
    dtype = np.result_type(*(a.dtype for a in arrays))
    if dtype not in _ACC:
        raise TypeError(f"conv2d kernel: supports float16, float32 and float64, got "
                        f"{', '.join(str(a.dtype) for a in arrays)}")
    return dtype


def _host_dims(geo: tuple, mode: str) -> tuple:
    return _dims.py_func(geo, MODES.index(mode))


def _pick_config(mode: str, geo: tuple) -> str:
    """The small tile for tiny GEMMs, the narrow one for at most 32 columns (few channels per
    group), else the square one."""
    m, n, _ = _host_dims(geo, mode)
    if m * n <= _SMALL_GEMM:
        return "16x16"
    return "128x32" if n <= 32 else "64x64"


def _launch(mode: str, a, b, out, geo: tuple, splits: int, kchunk: int) -> None:
    m, n, _ = _host_dims(geo, mode)
    name = _pick_config(mode, geo)
    cfg = CONFIGS[name]
    kernel = _KERNELS[name, mode, _ACC[np.dtype(a.dtype)]]
    xp = array_module(a)
    a, b = (xp.ascontiguousarray(v).reshape(-1) for v in (a, b))
    grid = (cdiv(n, cfg.bn), cdiv(m, cfg.bm), geo[15] * splits)
    with launch_context(out):
        (a, b, flat), stream = kernel_args(a, b, out.reshape(-1))
        kernel[grid, cfg.threads, stream](a, b, flat, geo, kchunk)


def conv2d_forward(x, w, stride: tuple, padding: tuple, dilation: tuple, groups: int):
    """y = conv2d(x, w) for x (N, C, H, W), w (Cout, C/groups, KH, KW); no bias."""
    dtype = _dtype_of(x, w)
    out_hw = tuple(conv_out_size(x.shape[2 + i], w.shape[2 + i], stride[i], padding[i],
                                 dilation[i]) for i in (0, 1))
    y = array_module(x).empty((x.shape[0], w.shape[0]) + out_hw, dtype)
    geo = _geometry(x.shape, w.shape, out_hw, stride, padding, dilation, groups)
    if y.size:
        _launch("forward", x.astype(dtype, copy=False), w.astype(dtype, copy=False), y, geo,
                1, _host_dims(geo, "forward")[2])
    return y


def conv2d_backward_data(gy, w, x_shape: tuple, stride: tuple, padding: tuple,
                         dilation: tuple, groups: int):
    """dL/dx of conv2d, for the input shape ``x_shape``."""
    dtype = _dtype_of(gy, w)
    gx = array_module(gy).empty(tuple(x_shape), dtype)
    geo = _geometry(x_shape, w.shape, gy.shape[2:], stride, padding, dilation, groups)
    if gx.size:
        _launch("backward_data", gy.astype(dtype, copy=False), w.astype(dtype, copy=False),
                gx, geo, 1, _host_dims(geo, "backward_data")[2])
    return gx


def conv2d_backward_weight(x, gy, w_shape: tuple, stride: tuple, padding: tuple,
                           dilation: tuple, groups: int):
    """dL/dw of conv2d, for the weight shape ``w_shape``."""
    dtype = _dtype_of(x, gy)
    xp = array_module(x)
    geo = _geometry(x.shape, w_shape, gy.shape[2:], stride, padding, dilation, groups)
    m, n, k = _host_dims(geo, "backward_weight")
    cfg = CONFIGS[_pick_config("backward_weight", geo)]
    tiles = cdiv(m, cfg.bm) * cdiv(n, cfg.bn) * groups
    splits = max(1, min(cdiv(_SPLIT_TARGET_BLOCKS, tiles), k // _SPLIT_MIN_K))
    kchunk = cdiv(cdiv(k, splits), cfg.bk) * cfg.bk
    splits = cdiv(k, kchunk) if k else 1
    acc = np.float64 if dtype == np.float64 else np.float32
    part = xp.zeros((splits,) + tuple(w_shape), acc)
    if k:
        _launch("backward_weight", gy.astype(dtype, copy=False), x.astype(dtype, copy=False),
                part, geo, splits, kchunk)
    gw = part[0] if splits == 1 else part.sum(axis=0)
    return gw.astype(dtype, copy=False)
