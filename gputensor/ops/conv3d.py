"""conv3d as one conv2d: the depth taps are unfolded into channels, the rest is the 2-d kernel.

For kernel depth KD, output depth OD: the KD strided depth slices of the (depth-padded) input are
stacked next to each group's channels and each output depth becomes a batch item, giving an
(N*OD, KD*C, H, W) image; the weight (Cout, C/g, KD, kH, kW) becomes (Cout, KD*C/g, kH, kW).
The conv2d over that pair is exactly the 3-d convolution (the GEMM's reduction is C/g*KD*kH*kW,
as a 3-d implicit GEMM's would be), so both devices run their hand-written conv2d kernels
(implicit GEMM on cuda) and the gradients come from conv2d's and the shape ops'.
"""
from __future__ import annotations

from ..kernels._window import conv_out_size
from ..tensor import Tensor
from .conv import conv2d
from .conv_checks import check_dtypes, check_forward
from .nn_functional import pad as _pad
from .join_split import stack


def triple(value, name: str, op: str = "conv3d") -> tuple:
    """An int or a length-3 (or 1) sequence as a 3-tuple of ints (torch's ``_triple``)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * 3
        if len(value) != 3:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 3 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * 3


def _check(x: Tensor, w: Tensor, bias, s, p, d, g: int) -> None:
    xs, ws = list(x.shape), list(w.shape)
    if w.ndim != 5:
        raise RuntimeError(f"conv3d: expected a 5-D weight (out_channels, in_channels/groups, "
                           f"kD, kH, kW), but got weight of size {ws}")
    check_dtypes(x, w, bias)
    if not x.is_floating_point():
        raise RuntimeError(f"conv3d: expected floating point input and weight, got "
                           f"{x.dtype.name}")
    check_forward(xs, ws, s, p, d, g)
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != ws[0]):
        raise RuntimeError(f"Given weight of size {ws}, expected bias to be 1-dimensional with "
                           f"{ws[0]} elements, but got bias of size {list(bias.shape)} instead")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution of (N, C, D, H, W) or (C, D, H, W) ``input``."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got "
                           f"input of size: {list(input.shape)}")
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    s, d, g = triple(stride, "stride"), triple(dilation, "dilation"), int(groups)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string '{padding}' for conv3d, should be one of "
                             f"'valid' or 'same'")
        p = (0, 0, 0)
        if padding == "same":
            if s != (1, 1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            if weight.ndim == 5:  # torch: total d*(k-1), the odd element on the right
                total = [d[i] * (weight.shape[2 + i] - 1) for i in range(3)]
                amounts = []
                for t in reversed(total):
                    amounts += [t // 2, t - t // 2]
                x = _pad(x, tuple(amounts))
    else:
        p = triple(padding, "padding")
    _check(x, weight, bias, s, p, d, g)
    if x.shape[1] == 0:  # torch gives an empty-channel (N, 0, OD, OH, OW) result here
        out = [conv_out_size(x.shape[2 + i], weight.shape[2 + i], s[i], p[i], d[i])
               for i in range(3)]
        y = Tensor._make(x._backend.xp.zeros((x.shape[0], 0, *out), dtype=x._data.dtype),
                         x._device)
        return y.squeeze(0) if unbatched else y
    y = _conv3d(x, weight, s, p, d, g)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def _conv3d(x: Tensor, w: Tensor, s, p, d, g: int) -> Tensor:
    n, c, depth = x.shape[:3]
    cout, cg, kd = w.shape[:3]
    od = conv_out_size(depth, kd, s[0], p[0], d[0])
    if p[0]:
        x = _pad(x, (0, 0, 0, 0, p[0], p[0]))
    span = (od - 1) * s[0] + 1
    taps = [x[:, :, t * d[0]:t * d[0] + span:s[0]] for t in range(kd)]
    cols = stack(taps, 2) if kd > 1 else taps[0].unsqueeze(2)  # (N, C, KD, OD, H, W)
    h, wd = cols.shape[-2:]
    cols = cols.reshape(n, g, cg, kd, od, h, wd).permute(0, 4, 1, 3, 2, 5, 6)
    cols = cols.reshape(n * od, g * kd * cg, h, wd)
    w2 = w.permute(0, 2, 1, 3, 4).reshape(cout, kd * cg, w.shape[3], w.shape[4])
    y = conv2d(cols, w2, None, s[1:], p[1:], d[1:], g)  # (N*OD, Cout, OH, OW)
    return y.reshape(n, od, cout, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4)


__all__ = ["conv3d"]
