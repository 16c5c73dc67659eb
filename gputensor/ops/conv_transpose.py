"""Transposed convolutions (conv_transpose1d/2d): the conv backward-data computation as a forward.

A transposed convolution of ``x`` with weight (Cin, Cout/g, kH, kW) is exactly dL/dinput of the
conv2d whose weight that is (out_channels = Cin) evaluated at output gradient ``x``, so it runs
as ``ConvBackwardData``: its gradients are conv2d (input) and conv backward-weight (weight), all
on the backend's hand-written conv kernels. When ``output_padding`` reaches past the stride
(allowed when dilation > stride), no conv input size maps back onto ``x``'s size, so the full,
unpadded result is computed and cropped/zero-extended instead.
"""
from __future__ import annotations

from ..kernels._window import conv_out_size
from ..tensor import Tensor
from .conv import ConvBackwardData, ConvParams, pair, single
from .conv_checks import check_dtypes, check_transposed_kernel, check_weight_rows
from .nn_functional import pad as _pad


def _transposed_size(size: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _check(x: Tensor, w: Tensor, bias, s, p, op, d, groups: int, name: str) -> None:
    xs, ws = list(x.shape), list(w.shape)
    check_dtypes(x, w, bias)
    if not x.is_floating_point():
        raise RuntimeError(f"{name}: expected floating point input and weight, got "
                           f"{x.dtype.name}")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(op) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(s) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(d) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    check_channels(xs, ws, groups, bias)
    check_transposed_kernel(ws, d[1:] if name == "conv_transpose1d" else d)
    if any(op[i] >= s[i] and op[i] >= d[i] for i in (0, 1)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {op[0]} output_padding_width: {op[1]} "
                           f"stride_height: {s[0]} stride_width: {s[1]} dilation_height: {d[0]} "
                           f"dilation_width: {d[1]}")


def check_channels(xs: list, ws: list, groups: int, bias) -> None:
    """torch's weight/input/bias channel checks for a transposed convolution of any rank."""
    check_weight_rows(ws, groups)
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{ws}] instead")
    if xs[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {ws}, expected input{xs} to have "
                           f"{ws[0]} channels, but got {xs[1]} channels instead")
    cout = ws[1] * groups
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given transposed=1, weight of size {ws}, expected bias to be "
                           f"1-dimensional with {cout} elements, but got bias of size "
                           f"{list(bias.shape)} instead")


def _conv_transpose(x: Tensor, w: Tensor, bias, s, p, op, d, groups: int, name: str) -> Tensor:
    """(N, Cin, H, W) -> (N, Cout, Hout, Wout); arguments already validated 2-tuples."""
    _check(x, w, bias, s, p, op, d, groups, name)
    k = tuple(w.shape[2:])
    hw = tuple(x.shape[2:])
    out = tuple(_transposed_size(hw[i], k[i], s[i], p[i], d[i], op[i]) for i in (0, 1))
    if min(out) < 1:
        raise RuntimeError(f"Given input size per channel: ({hw[0]} x {hw[1]}). Calculated "
                           f"output size per channel: ({out[0]} x {out[1]}). Output size is too "
                           f"small")
    n, cout = x.shape[0], w.shape[1] * groups
    if all(conv_out_size(out[i], k[i], s[i], p[i], d[i]) == hw[i] for i in (0, 1)):
        y = ConvBackwardData.apply(x, w, (n, cout) + out, ConvParams(s, p, d, groups))
    else:  # output_padding >= stride: full result, then crop the padding and zero-extend
        full = tuple(_transposed_size(hw[i], k[i], s[i], 0, d[i], 0) for i in (0, 1))
        y = ConvBackwardData.apply(x, w, (n, cout) + full, ConvParams(s, (0, 0), d, groups))
        y = y[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1]]
        extra = (out[1] - y.shape[3], out[0] - y.shape[2])
        if any(extra):
            y = _pad(y, (0, extra[0], 0, extra[1]))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y


def _tuple_arg(value, name: str, n: int) -> tuple:
    if isinstance(value, str):
        raise TypeError(f"conv_transpose{n}d(): argument '{name}' must be tuple of ints, not str")
    if n == 1:
        if isinstance(value, (tuple, list)) and len(value) != 1:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(value)}")
        return (single(value, name, "conv_transpose1d"),)
    if isinstance(value, (tuple, list)) and len(value) not in (1, 2):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 values "
                           f"to match the convolution dimensions, but got {name}={list(value)}")
    return pair(value, name, "conv_transpose2d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution of (N, Cin, H, W) or (Cin, H, W) ``input`` with a
    (Cin, Cout/groups, kH, kW) weight."""
    name = "conv_transpose2d"
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"{name}: expected a 4-D weight (in_channels, out_channels/groups, "
                           f"kH, kW), but got weight of size {list(weight.shape)}")
    args = [_tuple_arg(v, nm, 2) for v, nm in ((stride, "stride"), (padding, "padding"),
                                                (output_padding, "output_padding"),
                                                (dilation, "dilation"))]
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    y = _conv_transpose(x, weight, bias, *args[:3], args[3], int(groups), name)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of (N, Cin, L) or (Cin, L): the 2-d one on a height-1 image."""
    name = "conv_transpose1d"
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"{name}: expected a 3-D weight (in_channels, out_channels/groups, "
                           f"kL), but got weight of size {list(weight.shape)}")
    s, p, op, d = (_tuple_arg(v, nm, 1)[0] for v, nm in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
        (dilation, "dilation")))
    check_weight_rows(list(weight.shape), int(groups))  # named with the 1-d weight shape
    unbatched = input.ndim == 2
    x = (input.unsqueeze(0) if unbatched else input).unsqueeze(-2)
    y = _conv_transpose(x, weight.unsqueeze(-2), bias, (1, s), (0, p), (0, op), (1, d),
                        int(groups), name).squeeze(-2)
    return y.squeeze(0) if unbatched else y


__all__ = ["conv_transpose1d", "conv_transpose2d"]
