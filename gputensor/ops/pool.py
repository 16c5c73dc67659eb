"""Pooling (max/avg/adaptive, 1-d and 2-d) over the backend's pooling kernels.

Average pools are linear maps y = A x: ``LinearPool`` applies one kernel and its backward is
``LinearPool`` with the transposed kernel, so higher-order gradients reuse the same pair. Max
pools select: ``MaxPool`` returns values and argmax indices, its backward ``ArgmaxScatter``
routes gradients to the argmax, and that op's own backward gathers at the argmax again.
1-d pools run the 2-d kernels on a height-1 image.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..kernels._window import pool_out_size
from ..tensor import Tensor
from .conv import pair, single
from ._util import wrap


class LinearPool(Function):
    """y = apply(x) for a linear pooling map; ``transpose`` computes its adjoint."""

    @staticmethod
    def forward(ctx, x, apply, transpose):
        ctx.maps = (transpose, apply)
        return wrap(apply(x._backend.kernels, x._data), x)

    @staticmethod
    def backward(ctx, g):
        return LinearPool.apply(g, *ctx.maps), None, None


class MaxPool(Function):
    """(values, argmax) = select(x); ``scatter(kernels, g, argmax)`` is the input gradient."""

    @staticmethod
    def forward(ctx, x, select, scatter):
        y, idx = select(x._backend.kernels, x._data)
        idx = wrap(idx, x)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.scatter = scatter
        return wrap(y, x), idx

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        return ArgmaxScatter.apply(g, idx, ctx.scatter), None, None


class ArgmaxScatter(Function):
    """Gradient of a max pool: ``g`` summed into the input positions its outputs selected."""

    @staticmethod
    def forward(ctx, g, idx, scatter):
        ctx.save_for_backward(idx)
        return wrap(scatter(g._backend.kernels, g._data, idx._data), g)

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        picked = gg.flatten(2).gather(2, idx.flatten(2)).reshape(tuple(idx.shape))
        return picked, None, None


# -- argument checks ---------------------------------------------------------------------------

def _batched(input: Tensor, op: str, integers: bool = False) -> tuple:
    """``input`` as (N, C, H, W) and whether it was unbatched (C, H, W). ``integers``: the op
    also takes integer (not bool) tensors, as torch's CPU max_pool2d does."""
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError(f"{op}: non-empty 3D or 4D (batch mode) tensor expected for input, "
                           f"but got input of size {list(input.shape)}")
    kind = input._data.dtype.kind
    if not (kind == "f" or (integers and kind in "iu")):
        raise NotImplementedError(f"\"{op}\" not implemented for '{input.dtype.name}'")
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


def _window_args(op: str, kernel_size, stride, padding, dilation) -> tuple:
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else pair(stride, "stride", op)
    p, d = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got kH: {k[0]} "
                           f"kW: {k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"{op}: stride should be greater than zero, but got dH: {s[0]} "
                           f"dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got dilationH: "
                           f"{d[0]} dilationW: {d[1]}")
    for i in (0, 1):
        eff = (k[i] - 1) * d[i] + 1
        if p[i] < 0 or p[i] > eff // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    return k, s, p, d


def _out_size(x: Tensor, k, s, p, d, ceil_mode: bool, op: str) -> tuple:
    out = tuple(pool_out_size(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in (0, 1))
    if min(out) < 1:
        c, h, w = x.shape[1:]
        raise RuntimeError(f"{op}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}). Output size is too small")
    return out


def _unbatch(outs, unbatched: bool):
    if not unbatched:
        return outs
    return tuple(o.squeeze(0) for o in outs) if isinstance(outs, tuple) else outs.squeeze(0)


# -- 2-d pools ---------------------------------------------------------------------------------

def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows; with ``return_indices`` also the flat H*W argmax indices.
    Integer inputs work too (they never require grad); adaptive max pooling, like torch's, is
    float only."""
    x, unbatched = _batched(input, "max_pool2d", integers=True)
    k, s, p, d = _window_args("max_pool2d", kernel_size, stride, padding, dilation)
    _out_size(x, k, s, p, d, ceil_mode, "max_pool2d")
    x_shape, args = tuple(x.shape), (k, s, p, d, bool(ceil_mode))
    y, idx = MaxPool.apply(
        x, lambda kern, a: kern.max_pool2d_forward(a, *args),
        lambda kern, g, i: kern.max_pool2d_backward(g, i, x_shape, *args))
    return _unbatch((y, idx) if return_indices else y, unbatched)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows (torch's divisor rules for padding and ceil_mode)."""
    x, unbatched = _batched(input, "avg_pool2d")
    k, s, p, _ = _window_args("avg_pool2d", kernel_size, stride, padding, 1)
    _out_size(x, k, s, p, (1, 1), ceil_mode, "avg_pool2d")
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero")
    x_shape = tuple(x.shape)
    args = (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
    y = LinearPool.apply(x, lambda kern, a: kern.avg_pool2d_forward(a, *args),
                         lambda kern, g: kern.avg_pool2d_backward(g, x_shape, *args))
    return _unbatch(y, unbatched)


def _adaptive_size(x: Tensor, output_size, op: str) -> tuple:
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(size))
    if min(out) < 1:
        raise RuntimeError(f"{op}: output_size must be positive, got {out} for input of size "
                           f"{list(x.shape)}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over ``output_size`` windows that tile the input as evenly as possible."""
    x, unbatched = _batched(input, "adaptive_avg_pool2d")
    out, x_shape = _adaptive_size(x, output_size, "adaptive_avg_pool2d"), tuple(x.shape)
    y = LinearPool.apply(x, lambda kern, a: kern.adaptive_avg_pool2d_forward(a, out),
                         lambda kern, g: kern.adaptive_avg_pool2d_backward(g, x_shape))
    return _unbatch(y, unbatched)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows; with ``return_indices`` also the flat H*W argmax indices."""
    x, unbatched = _batched(input, "adaptive_max_pool2d")
    out, x_shape = _adaptive_size(x, output_size, "adaptive_max_pool2d"), tuple(x.shape)
    y, idx = MaxPool.apply(
        x, lambda kern, a: kern.adaptive_max_pool2d_forward(a, out),
        lambda kern, g, i: kern.adaptive_max_pool2d_backward(g, i, x_shape))
    return _unbatch((y, idx) if return_indices else y, unbatched)


# -- 1-d pools: the 2-d ones over a height-1 image ----------------------------------------------

def _as_2d(input: Tensor, op: str) -> Tensor:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected 2D or 3D (batch mode) tensor for input, but got "
                           f"input of size {list(input.shape)}")
    return input.unsqueeze(-2)


def _from_2d(outs):
    return tuple(o.squeeze(-2) for o in outs) if isinstance(outs, tuple) else outs.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    op = "max_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op))
    return _from_2d(max_pool2d(_as_2d(input, op), (1, single(kernel_size, "kernel_size", op)),
                               stride, (0, single(padding, "padding", op)),
                               (1, single(dilation, "dilation", op)), ceil_mode, return_indices))


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    op = "avg_pool1d"
    stride = None if stride is None or stride == () else (1, single(stride, "stride", op))
    return _from_2d(avg_pool2d(_as_2d(input, op), (1, single(kernel_size, "kernel_size", op)),
                               stride, (0, single(padding, "padding", op)), ceil_mode,
                               count_include_pad))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    size = single(output_size, "output_size", "adaptive_avg_pool1d")
    return _from_2d(adaptive_avg_pool2d(_as_2d(input, "adaptive_avg_pool1d"), (1, size)))


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    size = single(output_size, "output_size", "adaptive_max_pool1d")
    return _from_2d(adaptive_max_pool2d(_as_2d(input, "adaptive_max_pool1d"), (1, size),
                                        return_indices))


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"]
