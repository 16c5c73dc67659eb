"""The rest of torch's pooling functions: ``*_with_indices`` forms, power-average (LP) pools,
adaptive 3-d max pooling and 3-d max unpooling.

LP pools are torch's own composition (``avg_pool(x**p) * kernel volume`` then ``**(1/p)``).
Adaptive max pooling is separable: the max over a box of per-axis adaptive windows is a max
along w, then h, then d, and taking the first argmax at each stage gives torch's first maximum in
(d, h, w) scan order. The indices are found without grad, and the values are a ``gather`` of the
input at them (so gradients and double backward are gather's).
"""
from __future__ import annotations

import numpy as np

from ..kernels._window import adaptive_end, adaptive_start
from ..tensor import Tensor
from . import pool as P
from . import pool3d as P3
from ._util import wrap
from .conv import pair, single
from .conv3d import triple
from .unpool import MaxUnpool, _unpool_output_size


def _stride(stride):
    """torch's top-level forms default ``stride`` to ``[]`` (meaning: the kernel size)."""
    return None if isinstance(stride, (tuple, list)) and len(stride) == 0 else stride


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    return P.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    return P.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    return P3.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return P.adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return P.adaptive_max_pool2d(input, output_size, True)


# -- adaptive 3-d max --------------------------------------------------------------------------

def _window_table(size: int, out: int) -> np.ndarray:
    """(out, longest window) input positions of each adaptive window, short ones padded with
    their own first position (a repeat never changes a max, nor its first argmax)."""
    starts = [adaptive_start(o, size, out) for o in range(out)]
    ends = [adaptive_end(o, size, out) for o in range(out)]
    width = max(e - s for s, e in zip(starts, ends))
    table = np.empty((out, width), dtype=np.int64)
    for o, (s, e) in enumerate(zip(starts, ends)):
        table[o] = s
        table[o, :e - s] = np.arange(s, e)
    return table


def _adaptive_argmax3d(data, out: tuple, xp):
    """Flat D*H*W index of the first maximum of each adaptive window of (N, C, D, H, W) data."""
    size = data.shape[2:]
    vals, pos = data, []
    for axis in (4, 3, 2):  # w, then h, then d
        table = xp.asarray(_window_table(size[axis - 2], out[axis - 2]))

        def windows(a, axis=axis, table=table):
            t = xp.take(a, table.reshape(-1), axis=axis)
            return t.reshape(t.shape[:axis] + table.shape + t.shape[axis + 1:])

        taken = windows(vals)
        arg = xp.expand_dims(taken.argmax(axis=axis + 1), axis + 1)

        def pick(a, axis=axis, arg=arg):
            return xp.take_along_axis(a, arg, axis + 1).squeeze(axis + 1)

        vals = pick(taken)
        pos = [pick(windows(p)) for p in pos]  # inner axes' choices follow this axis' choice
        pos.append(_coords(table, arg.squeeze(axis + 1), axis, xp))
    w_pos, h_pos, d_pos = pos
    return ((d_pos * size[1] + h_pos) * size[2] + w_pos).astype(xp.int64)


def _coords(table, arg, axis: int, xp):
    """Input positions along ``axis`` picked by ``arg`` (the window slot chosen per output)."""
    out = table.shape[0]
    o = xp.arange(out).reshape([-1 if j == axis else 1 for j in range(arg.ndim)])
    return table[xp.broadcast_to(o, arg.shape), arg]


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive 3-d windows; with ``return_indices`` the flat D*H*W argmax indices."""
    if input.ndim < 4:
        raise ValueError("Input dimension should be at least 4")
    if input.ndim not in (4, 5) or any(s == 0 for s in input.shape[1:]):
        raise RuntimeError(f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: "
                           f"{list(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"\"adaptive_max_pool3d_cpu\" not implemented for "
                           f"'{input.dtype.name}'")
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    if len(size) != 3:
        raise RuntimeError("adaptive_max_pool3d(): internal error: output_size.size() must be 3")
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    out = tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(size))
    if min(out) < 1:
        raise RuntimeError(f"adaptive_max_pool3d(): output_size must be positive, got {out}")
    xp = x._backend.xp
    idx = wrap(xp.ascontiguousarray(_adaptive_argmax3d(x._data, out, xp)), x)
    y = x.flatten(2).gather(2, idx.flatten(2)).reshape(tuple(idx.shape))
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    return adaptive_max_pool3d(input, output_size, True)


# -- LP pools (torch's composition) ------------------------------------------------------------

def _lp_finish(out: Tensor, volume: int, norm_type: float) -> Tensor:
    return (out.sign() * out.abs().relu()).mul(volume).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: ``(sum over window of x**p) ** (1/p)``."""
    k = single(kernel_size, "kernel_size", "lp_pool1d")
    out = P.avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return _lp_finish(out, k, norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    kh, kw = pair(kernel_size, "kernel_size", "lp_pool2d")
    out = P.avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, kh * kw, norm_type)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    kd, kh, kw = triple(kernel_size, "kernel_size", "lp_pool3d")
    out = P3.avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, kd * kh * kw, norm_type)


# -- 3-d unpooling -----------------------------------------------------------------------------

def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of ``max_pool3d(return_indices=True)``: zeros except at the argmax positions."""
    k = triple(kernel_size, "kernel_size", "max_unpool3d")
    s = k if stride is None else triple(stride, "stride", "max_unpool3d")
    p = triple(padding, "padding", "max_unpool3d")
    out = _unpool_output_size(input, k, s, p, output_size)
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Input to max_unpooling3d should be a 4d or 5d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{indices.dtype.name}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    plane = out[0] * out[1] * out[2]
    flat = indices._data.reshape(-1)
    bad = (flat < 0) | (flat >= plane)
    if bool(bad.any()):
        first = int(flat[int(bad.argmax())])
        raise RuntimeError(f"Found an invalid max index: {first} (output volumes are of size "
                           f"{out[0]}x{out[1]}x{out[2]})")
    unbatched = input.ndim == 4
    x, i = (input.unsqueeze(0), indices.unsqueeze(0)) if unbatched else (input, indices)
    y = MaxUnpool.apply(x, i, plane).reshape(x.shape[0], x.shape[1], *out)
    return y.squeeze(0) if unbatched else y


__all__ = ["max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "max_unpool3d"]
