"""3-d pooling (max/avg/adaptive avg) from strided window taps, on the backend's array module.

Each of the kD*kH*kW window taps is one strided slice of the padded input (padding -inf for
max, zero for avg, plus right padding for ceil_mode's last windows); the taps are stacked on a
last axis and reduced. Max keeps torch's scan order (first maximum in d, h, w order) and returns
torch's flat D*H*W indices; avg divides by torch's per-window divisor (separable, computed on
the host). Gradients and double backward come from the stack/slice/max/sum ops.
Adaptive average pooling is a separable linear map: one (out, in) averaging matrix per axis,
applied with matmul (the backend's matmul kernel on cuda).
"""
from __future__ import annotations

import numpy as np

from ..kernels._window import adaptive_end, adaptive_start, pool_out_size
from ..tensor import Tensor
from ._util import wrap
from .conv3d import triple
from .nn_functional import pad as _pad
from .join_split import stack


def _batched(input: Tensor, op: str) -> tuple:
    if input.ndim not in (4, 5) or input.numel() == 0:
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def _args(op: str, kernel_size, stride, padding, dilation) -> tuple:
    k = triple(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else triple(stride, "stride", op)
    p, d = triple(padding, "padding", op), triple(dilation, "dilation", op)
    if min(s) <= 0:  # torch checks the stride (which defaults to the kernel) first
        raise RuntimeError("stride should not be zero")
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {k[0]} "
                           f"kH: {k[1]} kW: {k[2]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: {d[0]} "
                           f"dilationH: {d[1]} dilationW: {d[2]}")
    for i in range(3):
        if p[i] < 0 or p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    return k, s, p, d


def _geometry(x: Tensor, k, s, p, d, ceil_mode: bool) -> tuple:
    """Output sizes and the (left, right) padding per axis that every tap slice needs."""
    size = x.shape[2:]
    out = tuple(pool_out_size(size[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(3))
    if min(out) < 1:
        c = x.shape[1]
        raise RuntimeError(f"Given input size: ({c}x{'x'.join(map(str, size))}). Calculated "
                           f"output size: ({c}x{'x'.join(map(str, out))}). Output size is too "
                           f"small")
    right = tuple(max(p[i], (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size[i] - p[i])
                  for i in range(3))
    return out, right


def _taps(xp_: Tensor, k, s, d, out) -> Tensor:
    """(N, C, *out, kD*kH*kW): every window tap of the padded input, in d, h, w order."""
    taps = []
    for a in range(k[0]):
        for b in range(k[1]):
            for c in range(k[2]):
                sl = tuple(slice(t * d[i], t * d[i] + (out[i] - 1) * s[i] + 1, s[i])
                           for i, t in enumerate((a, b, c)))
                taps.append(xp_[(slice(None), slice(None)) + sl])
    return stack(taps, -1)


def _pad3(x: Tensor, p, right, value) -> Tensor:
    amounts = (p[2], right[2], p[1], right[1], p[0], right[0])
    return _pad(x, amounts, value=value) if any(amounts) else x


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over 3-d windows; with ``return_indices`` also torch's flat D*H*W argmax indices."""
    x, unbatched = _batched(input, "max_pool3d")
    k, s, p, d = _args("max_pool3d", kernel_size, stride, padding, dilation)
    out, right = _geometry(x, k, s, p, d, ceil_mode)
    if x.is_floating_point():
        low = float("-inf")
    else:
        info = np.iinfo(x._data.dtype) if x._data.dtype.kind in "iu" else None
        if info is None:
            raise RuntimeError(f"\"max_pool3d\" not implemented for '{x.dtype.name}'")
        low = int(info.min)
    taps = _taps(_pad3(x, p, right, low), k, s, d, out)
    y, arg = taps.max(dim=-1)
    result = y
    if return_indices:
        xp = x._backend.xp
        t = arg._data
        pos = []
        for i, (kk, per) in enumerate(((k[0], k[1] * k[2]), (k[1], k[2]), (k[2], 1))):
            tap = (t // per) % kk
            o = xp.arange(out[i]).reshape([-1 if j == i else 1 for j in range(3)])
            pos.append(o * s[i] - p[i] + tap * d[i])
        size = x.shape[2:]
        flat = (pos[0] * size[1] + pos[1]) * size[2] + pos[2]
        result = (y, wrap(xp.ascontiguousarray(flat.astype(xp.int64)), x))
    if unbatched:
        return tuple(r.squeeze(0) for r in result) if return_indices else result.squeeze(0)
    return result


def _divisor(size: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    if include_pad:
        return full
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over 3-d windows with torch's divisor rules (padding, ceil_mode, override)."""
    x, unbatched = _batched(input, "avg_pool3d")
    k, s, p, _ = _args("avg_pool3d", kernel_size, stride, padding, 1)
    size = x.shape[2:]
    if any(size[i] + 2 * p[i] < k[i] for i in range(3)):
        raise RuntimeError(f"input image (T: {size[0]} H: {size[1]} W: {size[2]}) smaller than "
                           f"kernel size (kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    if not x.is_floating_point():
        raise RuntimeError(f"\"avg_pool3d\" not implemented for '{x.dtype.name}'")
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    out, right = _geometry(x, k, s, p, (1, 1, 1), ceil_mode)
    total = _taps(_pad3(x, p, right, 0.0), k, s, (1, 1, 1), out).sum(dim=-1)
    if divisor_override is not None:
        y = total / float(int(divisor_override))
    else:
        div = [_divisor(size[i], k[i], s[i], p[i], out[i], count_include_pad) for i in range(3)]
        div = np.einsum("i,j,k->ijk", *div).astype(x._data.dtype)
        y = total / wrap(x._backend.xp.asarray(div), x)
    return y.squeeze(0) if unbatched else y


def _average_matrix(size: int, out: int, dtype) -> np.ndarray:
    m = np.zeros((out, size), dtype=dtype)
    for o in range(out):
        a, b = adaptive_start(o, size, out), adaptive_end(o, size, out)
        m[o, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average over ``output_size`` 3-d windows tiling the input (one matmul per axis)."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got "
                           f"{list(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"\"adaptive_avg_pool3d_cpu\" not implemented for "
                           f"'{input.dtype.name}'")
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    if len(size) != 3:
        raise RuntimeError("adaptive_avg_pool3d: output_size must be 3")
    spatial = input.shape[-3:]
    out = tuple(spatial[i] if v is None else int(v) for i, v in enumerate(size))
    if min(out) < 1:
        raise RuntimeError(f"adaptive_avg_pool3d: output_size must be positive, got {out}")
    xp, y = input._backend.xp, input
    for i in range(3):
        axis = input.ndim - 3 + i
        if out[i] == spatial[i]:
            continue
        m = wrap(xp.asarray(_average_matrix(spatial[i], out[i], input._data.dtype).T), input)
        y = (y.movedim(axis, -1) @ m).movedim(-1, axis)
    return y if y is not input else input * 1


__all__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"]
