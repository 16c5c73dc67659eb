"""Convolutions (conv1d, conv2d, unfold/fold) over the backend's conv kernels.

Three Functions, each linear in both tensor inputs, whose backwards are each other: conv2d's
input gradient is ``ConvBackwardData``, its weight gradient ``ConvBackwardWeight``, and their
own gradients are again conv2d / the other backward. So any order of gradient runs on the same
three kernels. ``unfold``/``fold`` are the conv with a one-hot weight and its transpose.
"""
from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..kernels._window import conv_out_size
from ..tensor import Tensor
from ._util import wrap
from .conv_checks import check_dtypes, check_forward


class ConvParams(NamedTuple):
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int


def pair(value, name: str, op: str) -> tuple:
    """An int or a length-2 sequence as a 2-tuple of ints (torch's ``_pair``)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = (value[0], value[0])
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _kernels(t: Tensor):
    return t._backend.kernels


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, p):
        ctx.save_for_backward(x, w)
        ctx.p = p
        return wrap(_kernels(x).conv2d_forward(x._data, w._data, *p), x)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        n = ctx.needs_input_grad
        gx = ConvBackwardData.apply(g, w, tuple(x.shape), ctx.p) if n[0] else None
        gw = ConvBackwardWeight.apply(x, g, tuple(w.shape), ctx.p) if n[1] else None
        return gx, gw, None


class ConvBackwardData(Function):
    """dL/dx of conv2d from the output gradient and the weight (a transposed convolution)."""

    @staticmethod
    def forward(ctx, gy, w, x_shape, p):
        ctx.save_for_backward(gy, w)
        ctx.p = p
        return wrap(_kernels(gy).conv2d_backward_data(gy._data, w._data, x_shape, *p), gy)

    @staticmethod
    def backward(ctx, gg):
        gy, w = ctx.saved_tensors
        n = ctx.needs_input_grad
        d_gy = Conv2d.apply(gg, w, ctx.p) if n[0] else None
        d_w = ConvBackwardWeight.apply(gg, gy, tuple(w.shape), ctx.p) if n[1] else None
        return d_gy, d_w, None, None


class ConvBackwardWeight(Function):
    """dL/dw of conv2d from the input and the output gradient."""

    @staticmethod
    def forward(ctx, x, gy, w_shape, p):
        ctx.save_for_backward(x, gy)
        ctx.p = p
        return wrap(_kernels(x).conv2d_backward_weight(x._data, gy._data, w_shape, *p), x)

    @staticmethod
    def backward(ctx, gg):
        x, gy = ctx.saved_tensors
        n = ctx.needs_input_grad
        d_x = ConvBackwardData.apply(gy, gg, tuple(x.shape), ctx.p) if n[0] else None
        d_gy = Conv2d.apply(x, gg, ctx.p) if n[1] else None
        return d_x, d_gy, None, None


def _positive(values: tuple, what: str, op: str, allow_zero: bool = False) -> None:
    if any(v < 0 or (v == 0 and not allow_zero) for v in values):
        raise RuntimeError(f"{op}: {'negative' if allow_zero else 'non-positive'} {what} is not "
                           f"supported, got {what}={values}")


def _check_conv(x: Tensor, w: Tensor, bias, p: ConvParams, op: str) -> None:
    xs, ws = list(x.shape), list(w.shape)
    if w.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D weight (out_channels, in_channels/groups, kH, "
                           f"kW), but got weight of size {ws}")
    if x.ndim != 4:
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {op}, but got "
                           f"input of size: {xs}")
    check_dtypes(x, w, bias)
    if not x.is_floating_point():
        raise RuntimeError(f"{op}: expected floating point input and weight, got "
                           f"{x.dtype.name}")
    check_forward(xs, ws, p.stride, p.padding, p.dilation, p.groups)
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != ws[0]):
        raise RuntimeError(f"Given weight of size {ws}, expected bias to be 1-dimensional with "
                           f"{ws[0]} elements, but got bias of size {list(bias.shape)} instead")


def _same_padding(w: Tensor, stride: tuple, dilation: tuple, op: str) -> tuple:
    """Symmetric padding for padding='same' and, per axis, whether one leading output must be
    dropped (odd total padding: torch pads the extra element on the right)."""
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
    total = [dilation[i] * (w.shape[2 + i] - 1) for i in (0, 1)]
    return tuple(t - t // 2 for t in total), tuple(t % 2 for t in total)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) or (C, H, W) ``input``."""
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    stride, dilation = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    trim = (0, 0)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv2d: invalid padding string {padding!r}, expected 'same' or "
                             f"'valid'")
        pad, trim = _same_padding(weight, stride, dilation, "conv2d") if padding == "same" \
            else ((0, 0), (0, 0))
    else:
        pad = pair(padding, "padding", "conv2d")
    p = ConvParams(stride, pad, dilation, int(groups))
    _check_conv(x, weight, bias, p, "conv2d")
    if x.shape[1] == 0:
        y = _no_input_channels(x, weight, p, trim)
        return y.squeeze(0) if unbatched else y
    y = Conv2d.apply(x, weight, p)
    if trim != (0, 0):
        y = y[:, :, trim[0]:, trim[1]:]
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if unbatched else y


def _no_input_channels(x: Tensor, w: Tensor, p: ConvParams, trim: tuple) -> Tensor:
    """torch's result for a convolution over zero input channels: an empty (N, 0, OH, OW)."""
    out = [conv_out_size(x.shape[2 + i], w.shape[2 + i], p.stride[i], p.padding[i],
                         p.dilation[i]) - trim[i] for i in (0, 1)]
    return wrap(x._backend.xp.zeros((x.shape[0], 0, *out), dtype=x._data.dtype), x)


def single(value, name: str, op: str) -> int:
    """An int or a 1-sequence as an int (the 1-d ops' arguments)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return int(value)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of (N, C, L) or (C, L) ``input``: conv2d over a height-1 image."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected 2D (unbatched) or 3D input and a 3-D weight, got "
                           f"input of size {list(input.shape)} and weight of size "
                           f"{list(weight.shape)}")
    op = "conv1d"
    pad = padding if isinstance(padding, str) else (0, single(padding, "padding", op))
    xs = list(input.shape) if input.ndim == 3 else [1] + list(input.shape)
    check_forward(xs, list(weight.shape), (single(stride, "stride", op),),
                  (0 if isinstance(pad, str) else pad[1],), (single(dilation, "dilation", op),),
                  int(groups))  # with the 1-d shapes in the messages, as torch
    y = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, single(stride, "stride", op)),
               pad, (1, single(dilation, "dilation", op)), groups)
    return y.squeeze(-2)


def _one_hot_weight(like: Tensor, channels: int, k: tuple) -> Tensor:
    """(C*KH*KW, 1, KH, KW) weight whose output channel c*KH*KW + q copies tap q of channel c."""
    xp = like._backend.xp
    kk = k[0] * k[1]
    eye = xp.eye(kk, dtype=like._data.dtype).reshape(kk, 1, k[0], k[1])
    return wrap(xp.ascontiguousarray(xp.tile(eye, (channels, 1, 1, 1))), like)


def _unfold_params(kernel_size, dilation, padding, stride, op: str) -> tuple:
    k = pair(kernel_size, "kernel_size", op)
    p = (pair(stride, "stride", op), pair(padding, "padding", op), pair(dilation, "dilation", op))
    for vals, what in ((k, "kernel_size"), (p[0], "stride"), (p[2], "dilation")):
        _positive(vals, what, op)
    _positive(p[1], "padding", op, allow_zero=True)
    return k, p


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*KH*KW, L) sliding blocks (also for (C, H, W) input)."""
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if x.ndim != 4:
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D, size {list(input.shape)})")
    k, (s, pd, d) = _unfold_params(kernel_size, dilation, padding, stride, "unfold")
    c = x.shape[1]
    w = _one_hot_weight(x, c, k)
    p = ConvParams(s, pd, d, c)
    _check_conv(x, w, None, p, "unfold")
    y = Conv2d.apply(x, w, p)
    y = y.reshape(x.shape[0], c * k[0] * k[1], -1)
    return y.squeeze(0) if unbatched else y


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, the adjoint of ``unfold``: sums (N, C*KH*KW, L) blocks into (N, C, H, W)."""
    unbatched = input.ndim == 2
    cols = input.unsqueeze(0) if unbatched else input
    if cols.ndim != 3:
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {input.ndim}D, size {list(input.shape)})")
    out = pair(output_size, "output_size", "fold")
    k, (s, pd, d) = _unfold_params(kernel_size, dilation, padding, stride, "fold")
    kk = k[0] * k[1]
    if cols.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={cols.shape[1]} and "
                           f"kernel_size={k}")
    blocks = [conv_out_size(out[i], k[i], s[i], pd[i], d[i]) for i in (0, 1)]
    if min(blocks) < 1 or blocks[0] * blocks[1] != cols.shape[2]:
        raise RuntimeError(f"Given output_size={out}, kernel_size={k}, dilation={d}, padding="
                           f"{pd}, stride={s}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={cols.shape[2]}.")
    c = cols.shape[1] // kk
    w = _one_hot_weight(cols, c, k)
    gy = cols.reshape(cols.shape[0], c * kk, blocks[0], blocks[1])
    y = ConvBackwardData.apply(gy, w, (cols.shape[0], c) + out, ConvParams(s, pd, d, c))
    return y.squeeze(0) if unbatched else y


__all__ = ["conv2d", "conv1d", "unfold", "fold"]
