"""CUDA pooling (NCHW): max, average and adaptive average/max, forward and backward.

Forward kernels run one thread per output (max also writes the flat H*W input index of its
choice, torch's ``return_indices`` convention). Backward kernels are in gather form: one thread
per input element walks the few outputs whose window can contain it and sums their
contributions, so there are no atomics and the result is deterministic. Threads stride over the
elements (grid-stride loops), so any size fits one launch. float16 is read and accumulated in
float32 and rounded once on store. Integer inputs (max pooling forward only: they never need a
gradient) are compared in int64 by one extra instantiation of the same kernel.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda
from numba import types as nt

from ._launch import ACC_TYPES as _ACC, array_module, cdiv, kernel_args, launch_context
from ._window import pool_out_size

THREADS = 256
_MAX_BLOCKS = 8192

# Window geometry (all int64): (NC, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW,
# count_include_pad, divisor_override or 0). Adaptive kernels take (NC, H, W, OH, OW).
GEO_LEN, ADAPTIVE_GEO_LEN = 15, 5


@cuda.jit(device=True, inline=True)
def _out_pos(t, oh, ow):
    """(plane, oy, ox) of flat output index ``t``."""
    r = t // ow
    return r // oh, r % oh, t % ow


@cuda.jit(device=True, inline=True)
def _tap(pos, pad, k_i, dil, stride, n_out):
    """Output index whose window tap ``k_i`` lands on input ``pos``, or -1 if none does."""
    t = pos + pad - k_i * dil
    if t < 0 or t % stride != 0 or t // stride >= n_out:
        return -1
    return t // stride


@cuda.jit(device=True, inline=True)
def _avg_divisor(geo, oy, ox):
    nc, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, include_pad, override = geo
    if override:
        return override
    hs, ws = oy * sh - ph, ox * sw - pw
    he, we = min(hs + kh, h + ph), min(ws + kw, w + pw)
    if include_pad:
        return (he - hs) * (we - ws)
    return (min(he, h) - max(hs, 0)) * (min(we, w) - max(ws, 0))


@cuda.jit(device=True, inline=True)
def _adaptive_range(o, size, n_out):
    """[start, end) of adaptive window ``o``: floor(o*size/n_out), ceil((o+1)*size/n_out)."""
    return (o * size) // n_out, ((o + 1) * size + n_out - 1) // n_out


def _make_max_forward(acc):
    @cuda.jit
    def max_pool_fwd(x, y, idx, geo):
        nc, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, _, _ = geo
        for t in range(cuda.grid(1), nc * oh * ow, cuda.gridsize(1)):
            p, oy, ox = _out_pos(t, oh, ow)
            best = acc(0)  # replaced by the first in-bounds tap (pick < 0); works for ints
            pick = -1
            for i in range(kh):
                hh = oy * sh - ph + i * dh
                if 0 <= hh < h:
                    for j in range(kw):
                        ww = ox * sw - pw + j * dw
                        if 0 <= ww < w:
                            v = acc(x[(p * h + hh) * w + ww])
                            if pick < 0 or v > best or v != v:  # NaN wins, as in torch
                                best, pick = v, hh * w + ww
            y[t] = best
            idx[t] = pick
    return max_pool_fwd


def _make_max_backward(acc):
    @cuda.jit
    def max_pool_bwd(gy, idx, gx, geo):
        nc, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, _, _ = geo
        for t in range(cuda.grid(1), nc * h * w, cuda.gridsize(1)):
            p, hh, ww = _out_pos(t, h, w)
            s = acc(0)
            for i in range(kh):
                oy = _tap(hh, ph, i, dh, sh, oh)
                if oy >= 0:
                    for j in range(kw):
                        ox = _tap(ww, pw, j, dw, sw, ow)
                        if ox >= 0:
                            o = (p * oh + oy) * ow + ox
                            if idx[o] == hh * w + ww:
                                s += acc(gy[o])
            gx[t] = s
    return max_pool_bwd


def _make_avg_forward(acc):
    @cuda.jit
    def avg_pool_fwd(x, y, geo):
        nc, h, w, oh, ow, kh, kw, sh, sw, ph, pw, _, _, _, _ = geo
        for t in range(cuda.grid(1), nc * oh * ow, cuda.gridsize(1)):
            p, oy, ox = _out_pos(t, oh, ow)
            s = acc(0)
            for hh in range(max(oy * sh - ph, 0), min(oy * sh - ph + kh, h)):
                for ww in range(max(ox * sw - pw, 0), min(ox * sw - pw + kw, w)):
                    s += acc(x[(p * h + hh) * w + ww])
            y[t] = s / acc(_avg_divisor(geo, oy, ox))
    return avg_pool_fwd


def _make_avg_backward(acc):
    @cuda.jit
    def avg_pool_bwd(gy, gx, geo):
        nc, h, w, oh, ow, kh, kw, sh, sw, ph, pw, _, _, _, _ = geo
        for t in range(cuda.grid(1), nc * h * w, cuda.gridsize(1)):
            p, hh, ww = _out_pos(t, h, w)
            s = acc(0)
            for i in range(kh):
                oy = _tap(hh, ph, i, 1, sh, oh)
                if oy >= 0:
                    for j in range(kw):
                        ox = _tap(ww, pw, j, 1, sw, ow)
                        if ox >= 0:
                            g = acc(gy[(p * oh + oy) * ow + ox])
                            s += g / acc(_avg_divisor(geo, oy, ox))
            gx[t] = s
    return avg_pool_bwd


def _make_adaptive_avg_forward(acc):
    @cuda.jit
    def adaptive_avg_fwd(x, y, geo):
        nc, h, w, oh, ow = geo
        for t in range(cuda.grid(1), nc * oh * ow, cuda.gridsize(1)):
            p, oy, ox = _out_pos(t, oh, ow)
            hs, he = _adaptive_range(oy, h, oh)
            ws, we = _adaptive_range(ox, w, ow)
            s = acc(0)
            for hh in range(hs, he):
                for ww in range(ws, we):
                    s += acc(x[(p * h + hh) * w + ww])
            y[t] = s / acc((he - hs) * (we - ws))
    return adaptive_avg_fwd


def _make_adaptive_avg_backward(acc):
    @cuda.jit
    def adaptive_avg_bwd(gy, gx, geo):
        nc, h, w, oh, ow = geo
        for t in range(cuda.grid(1), nc * h * w, cuda.gridsize(1)):
            p, hh, ww = _out_pos(t, h, w)
            s = acc(0)
            y0, y1 = _adaptive_range(hh, oh, h)
            x0, x1 = _adaptive_range(ww, ow, w)
            for oy in range(y0, y1):
                hs, he = _adaptive_range(oy, h, oh)
                for ox in range(x0, x1):
                    ws, we = _adaptive_range(ox, w, ow)
                    s += acc(gy[(p * oh + oy) * ow + ox]) / acc((he - hs) * (we - ws))
            gx[t] = s
    return adaptive_avg_bwd


def _make_adaptive_max_forward(acc):
    @cuda.jit
    def adaptive_max_fwd(x, y, idx, geo):
        nc, h, w, oh, ow = geo
        for t in range(cuda.grid(1), nc * oh * ow, cuda.gridsize(1)):
            p, oy, ox = _out_pos(t, oh, ow)
            hs, he = _adaptive_range(oy, h, oh)
            ws, we = _adaptive_range(ox, w, ow)
            best = acc(-math.inf)
            pick = -1
            for hh in range(hs, he):
                for ww in range(ws, we):
                    v = acc(x[(p * h + hh) * w + ww])
                    if pick < 0 or v > best or v != v:
                        best, pick = v, hh * w + ww
            y[t] = best
            idx[t] = pick
    return adaptive_max_fwd


def _make_adaptive_max_backward(acc):
    @cuda.jit
    def adaptive_max_bwd(gy, idx, gx, geo):
        nc, h, w, oh, ow = geo
        for t in range(cuda.grid(1), nc * h * w, cuda.gridsize(1)):
            p, hh, ww = _out_pos(t, h, w)
            s = acc(0)
            y0, y1 = _adaptive_range(hh, oh, h)
            x0, x1 = _adaptive_range(ww, ow, w)
            for oy in range(y0, y1):
                for ox in range(x0, x1):
                    o = (p * oh + oy) * ow + ox
                    if idx[o] == hh * w + ww:
                        s += acc(gy[o])
            gx[t] = s
    return adaptive_max_bwd


# name -> (factory, array arguments as "x"/"i" (data dtype / int64), geometry length)
_SPECS = {
    "max_pool2d_forward": (_make_max_forward, "xxi", GEO_LEN),
    "max_pool2d_backward": (_make_max_backward, "xix", GEO_LEN),
    "avg_pool2d_forward": (_make_avg_forward, "xx", GEO_LEN),
    "avg_pool2d_backward": (_make_avg_backward, "xx", GEO_LEN),
    "adaptive_avg_pool2d_forward": (_make_adaptive_avg_forward, "xx", ADAPTIVE_GEO_LEN),
    "adaptive_avg_pool2d_backward": (_make_adaptive_avg_backward, "xx", ADAPTIVE_GEO_LEN),
    "adaptive_max_pool2d_forward": (_make_adaptive_max_forward, "xxi", ADAPTIVE_GEO_LEN),
    "adaptive_max_pool2d_backward": (_make_adaptive_max_backward, "xix", ADAPTIVE_GEO_LEN),
}
_KERNELS = {(name, acc): spec[0](acc) for name, spec in _SPECS.items()
            for acc in (nt.float32, nt.float64)}
# integer max pooling (torch's CPU max_pool2d takes ints): compares in int64, so the one extra
# kernel serves every integer dtype; gradients never reach it (integer tensors need none)
_KERNELS["max_pool2d_forward", nt.int64] = _make_max_forward(nt.int64)
_INT_KERNELS = ("max_pool2d_forward",)
_INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8")


def _signature(name: str, t: str) -> str:
    _, args, geo_len = _SPECS[name]
    arrays = ", ".join(f"{t if a == 'x' else 'int64'}[::1]" for a in args)
    return f"void({arrays}, UniTuple(int64, {geo_len}))"


PTX_SIGNATURES = [
    (_KERNELS[name, _ACC[np.dtype(t)]], _signature(name, t), f"{name}_{t}", THREADS)
    for name in _SPECS for t in ("float16", "float32", "float64")
] + [(_KERNELS[name, nt.int64], _signature(name, t), f"{name}_{t}", THREADS)
     for name in _INT_KERNELS for t in _INT_DTYPES]


def _run(name: str, n_threads: int, arrays: tuple, geo: tuple) -> None:
    """Launch kernel ``name`` (specialized for the data dtype) over ``n_threads`` elements."""
    if n_threads == 0:
        return
    dtype = np.dtype(arrays[0].dtype)
    if dtype.kind in "iu" and name in _INT_KERNELS:
        acc = nt.int64
    elif dtype in _ACC:
        acc = _ACC[dtype]
    else:
        raise TypeError(f"{name} kernel: supports float16, float32 and float64, got {dtype}")
    kernel = _KERNELS[name, acc]
    blocks = min(cdiv(n_threads, THREADS), _MAX_BLOCKS)
    with launch_context(arrays[0]):
        flat, stream = kernel_args(*(a.reshape(-1) for a in arrays))
        kernel[blocks, THREADS, stream](*flat, tuple(int(v) for v in geo))


def _contig(x):
    return array_module(x).ascontiguousarray(x)


def _window_geo(x_shape, out_hw, kernel, stride, padding, dilation, include_pad=1,
                override=0) -> tuple:
    n, c, h, w = x_shape
    return (n * c, h, w, *out_hw, *kernel, *stride, *padding, *dilation, int(include_pad),
            int(override or 0))


def _pool_out(x_shape, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    return tuple(pool_out_size(x_shape[2 + i], kernel[i], stride[i], padding[i], dilation[i],
                               ceil_mode) for i in (0, 1))


def max_pool2d_forward(x, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                       ceil_mode: bool) -> tuple:
    """(y, argmax) of max pooling; argmax holds flat H*W input indices (int64)."""
    xp = array_module(x)
    x = _contig(x)
    out = _pool_out(x.shape, kernel, stride, padding, dilation, ceil_mode)
    y = xp.empty(x.shape[:2] + out, x.dtype)
    idx = xp.empty(x.shape[:2] + out, np.int64)
    _run("max_pool2d_forward", y.size, (x, y, idx),
         _window_geo(x.shape, out, kernel, stride, padding, dilation))
    return y, idx


def max_pool2d_backward(gy, argmax, x_shape: tuple, kernel: tuple, stride: tuple,
                        padding: tuple, dilation: tuple, ceil_mode: bool):
    gx = array_module(gy).empty(tuple(x_shape), gy.dtype)
    _run("max_pool2d_backward", gx.size, (_contig(gy), _contig(argmax), gx),
         _window_geo(x_shape, gy.shape[2:], kernel, stride, padding, dilation))
    return gx


def avg_pool2d_forward(x, kernel: tuple, stride: tuple, padding: tuple, ceil_mode: bool,
                       count_include_pad: bool, divisor_override: int | None):
    x = _contig(x)
    out = _pool_out(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    y = array_module(x).empty(x.shape[:2] + out, x.dtype)
    _run("avg_pool2d_forward", y.size, (x, y),
         _window_geo(x.shape, out, kernel, stride, padding, (1, 1), count_include_pad,
                     divisor_override))
    return y


def avg_pool2d_backward(gy, x_shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                        ceil_mode: bool, count_include_pad: bool, divisor_override: int | None):
    gx = array_module(gy).empty(tuple(x_shape), gy.dtype)
    _run("avg_pool2d_backward", gx.size, (_contig(gy), gx),
         _window_geo(x_shape, gy.shape[2:], kernel, stride, padding, (1, 1), count_include_pad,
                     divisor_override))
    return gx


def adaptive_avg_pool2d_forward(x, output_size: tuple):
    x = _contig(x)
    y = array_module(x).empty(x.shape[:2] + tuple(output_size), x.dtype)
    _run("adaptive_avg_pool2d_forward", y.size, (x, y),
         (x.shape[0] * x.shape[1], *x.shape[2:], *output_size))
    return y


def adaptive_avg_pool2d_backward(gy, x_shape: tuple):
    gx = array_module(gy).empty(tuple(x_shape), gy.dtype)
    _run("adaptive_avg_pool2d_backward", gx.size, (_contig(gy), gx),
         (x_shape[0] * x_shape[1], *x_shape[2:], *gy.shape[2:]))
    return gx


def adaptive_max_pool2d_forward(x, output_size: tuple) -> tuple:
    xp = array_module(x)
    x = _contig(x)
    y = xp.empty(x.shape[:2] + tuple(output_size), x.dtype)
    idx = xp.empty(y.shape, np.int64)
    _run("adaptive_max_pool2d_forward", y.size, (x, y, idx),
         (x.shape[0] * x.shape[1], *x.shape[2:], *output_size))
    return y, idx


def adaptive_max_pool2d_backward(gy, argmax, x_shape: tuple):
    gx = array_module(gy).empty(tuple(x_shape), gy.dtype)
    _run("adaptive_max_pool2d_backward", gx.size, (_contig(gy), _contig(argmax), gx),
         (x_shape[0] * x_shape[1], *x_shape[2:], *gy.shape[2:]))
    return gx
