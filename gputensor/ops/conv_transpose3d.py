"""conv_transpose3d as the adjoint of conv3d's depth unfolding: one conv_transpose2d, then a
scatter-add along depth.

conv3d (``ops/conv3d.py``) stacks the KD strided depth taps of its input next to each group's
channels and runs one conv2d with weight (Cout, KD*C/g, kH, kW). Its adjoint reverses the two
steps: every input depth slice becomes a batch item of one conv_transpose2d with the same
folded weight, giving (N*D, g*KD*Cout/g, OH, OW) columns; column tap t of input depth i then
lands on output depth i*stride + t*dilation - padding (the scatter-add, as zero-insertion by the
stride and one shifted pad per tap). conv_transpose2d runs the backend's hand-written
``ConvBackwardData`` kernel, so the gradients are conv2d (to the input: together with the shape
ops' adjoints this is conv3d) and conv backward-weight (to the weight), also on those kernels.
"""
from __future__ import annotations

from ..tensor import Tensor
from .conv_checks import check_transposed_kernel
from .conv_transpose import _conv_transpose, check_channels
from .padding import pad as _pad

_DTYPE_NAMES = {"float64": "Double", "float32": "Float", "float16": "Half",
                "bfloat16": "BFloat16"}
_AXES = ("depth", "height", "width")


def _arg(value, name: str, dims: int) -> tuple:
    """torch's int[3] argument: an int or 1-list is repeated; the length must match the weight."""
    if isinstance(value, str):
        raise TypeError(f"conv_transpose3d(): argument '{name}' must be tuple of ints, not str")
    if isinstance(value, (tuple, list)):
        vals = [int(v) for v in value]
        if len(vals) == 1:
            vals = vals * 3
    else:
        vals = [int(value)] * 3
    if len(vals) != dims:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dims} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={vals}")
    return tuple(vals)


def _dtype_name(t: Tensor) -> str:
    return _DTYPE_NAMES.get(t.dtype.name, t.dtype.name)


def _check(x: Tensor, w: Tensor, bias, s, p, op, d, g: int) -> tuple:
    """torch's checks in torch's order; returns the output size (OD, OH, OW)."""
    xs, ws = list(x.shape), list(w.shape)
    for other in (w, bias):
        if other is not None and other.dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {_dtype_name(x)} but found "
                               f"{_dtype_name(other)}")
    if not x.is_floating_point():
        raise RuntimeError(f"conv_transpose3d: expected floating point input and weight, got "
                           f"{x.dtype.name}")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(op) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(s) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(d) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if g <= 0:
        raise RuntimeError("non-positive groups is not supported")
    check_channels(xs, ws, g, bias)
    check_transposed_kernel(ws, d)
    if min(d) == 0:
        raise RuntimeError("dilation should be greater than zero, but got " + ", ".join(
            f"dilation_{a}: {v}" for a, v in zip(_AXES, d)))
    if any(op[i] >= s[i] and op[i] >= d[i] for i in range(3)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           "got " + " ".join(f"{nm}_{a}: {v}" for nm, vals in (
                               ("output_padding", op), ("stride", s), ("dilation", d))
                               for a, v in zip(_AXES, vals)))
    out = tuple((xs[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op[i] + 1
                for i in range(3))
    if min(out) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, xs[2:]))}). "
                           f"Calculated output size per channel: "
                           f"({' x '.join(map(str, out))}). Output size is too small")
    return out


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution of (N, Cin, D, H, W) or (Cin, D, H, W) ``input`` with a
    (Cin, Cout/groups, kD, kH, kW) weight."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, "
                           f"but got input of size: {list(input.shape)}")
    dims = weight.ndim - 2
    s, p, op, d = (_arg(v, nm, dims) for v, nm in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
        (dilation, "dilation")))
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    g = int(groups)
    out = _check(x, weight, bias, s, p, op, d, g)
    y = _conv_transpose3d(x, weight, s, p, op, d, g, out[0])
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def _conv_transpose3d(x: Tensor, w: Tensor, s, p, op, d, g: int, od: int) -> Tensor:
    n, cin, depth, h, wd = x.shape
    cg, kd = w.shape[1], w.shape[2]
    cout = cg * g
    # conv3d's folded weight: (Cin, KD*Cout/g, kH, kW), channel t*cg + c within each group
    w2 = w.permute(0, 2, 1, 3, 4).reshape(cin, kd * cg, w.shape[3], w.shape[4])
    x2 = x.permute(0, 2, 1, 3, 4).reshape(n * depth, cin, h, wd)
    cols = _conv_transpose(x2, w2, None, s[1:], p[1:], op[1:], d[1:], g, "conv_transpose3d")
    oh, ow = cols.shape[2:]
    cols = cols.reshape(n, depth, g, kd, cg, oh, ow)
    if s[0] > 1:  # zero-insertion: input depth i sits at i*stride
        cols = _pad(cols.unsqueeze(2), (0, 0) * 5 + (0, s[0] - 1))
        cols = cols.reshape(n, depth * s[0], g, kd, cg, oh, ow)
    span = cols.shape[1]
    y = None
    for t in range(kd):  # tap t shifted by t*dilation - padding, cropped/extended to od
        lo = t * d[0] - p[0]
        a, b = max(lo, 0), min(lo + span, od)
        if a >= b and (y is not None or t < kd - 1):
            continue  # wholly in the cropped padding (kept once if nothing lands at all)
        a, b = (a, b) if a < b else (0, 0)
        piece = cols[:, a - lo:b - lo, :, t] if a < b else cols[:, :0, :, t]
        piece = _pad(piece, (0, 0) * 4 + (a, od - b))
        y = piece if y is None else y + piece
    return y.reshape(n, od, cout, oh, ow).permute(0, 2, 1, 3, 4)


__all__ = ["conv_transpose3d"]
