"""torch's argument checks for convolutions of any rank, in torch's order and with its messages.

Shared by conv1d/2d/3d (``check_forward``) and the transposed convolutions
(``check_weight_rows``, ``check_transposed_kernel``), so degenerate kernels, zero channels,
zero strides and negative padding fail the same way everywhere instead of reaching a kernel.
"""
from __future__ import annotations

from .linalg import _CTYPE, same_dtype


def check_dtypes(x, w, bias) -> None:
    """torch's order: the bias against the input first, then the weight against the input."""
    if bias is not None and bias._data.dtype != x._data.dtype:
        name = x._data.dtype.name
        raise RuntimeError(f"Input type ({_CTYPE.get(name, name)}) and bias type "
                           f"({_CTYPE.get(bias._data.dtype.name, bias._data.dtype.name)}) "
                           f"should be the same")
    same_dtype(x, w)


def check_weight_rows(ws: list, groups: int) -> None:
    """A weight needs at least ``groups`` entries along dim 0 (so none may be empty)."""
    if ws[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(ws)} instead")


def _lift(values: tuple) -> tuple:
    """torch reports 1-d convs' dilation and kernel after lifting them to 2-d."""
    return (1,) + tuple(values) if len(values) == 1 else tuple(values)


def _kernel_zero(ks: tuple) -> RuntimeError:
    if len(ks) == 3:
        return RuntimeError(f"kernel size should be greater than zero, but got: {ks[0]} x "
                            f"{ks[1]} x {ks[2]} (TxHxW)")
    kh, kw = _lift(ks)
    return RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kh} "
                        f"kernel_width: {kw}")


def check_forward(xs: list, ws: list, stride: tuple, padding: tuple, dilation: tuple,
                  groups: int) -> None:
    """A (non-transposed) convolution of batched input shape ``xs`` with weight shape ``ws``."""
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    check_weight_rows(ws, groups)
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(ws)}] instead")
    if xs[1] != ws[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(ws)}, expected "
                           f"input{list(xs)} to have {ws[1] * groups} channels, but got "
                           f"{xs[1]} channels instead")
    n = len(ws) - 2
    padded = [xs[2 + i] + 2 * padding[i] for i in range(n)]
    eff = [(ws[2 + i] - 1) * dilation[i] + 1 for i in range(n)]
    if any(padded[i] < eff[i] for i in range(n)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    if min(dilation) == 0:
        raise RuntimeError(f"dilation should be greater than zero, but got "
                           f"{list(_lift(dilation))}")
    if min(ws[2:]) == 0:
        raise _kernel_zero(tuple(ws[2:]))


def check_transposed_kernel(ws: list, dilation: tuple) -> None:
    """The transposed kernels' shape checks (after the channel checks): positive kernel and
    dilation, then a non-empty weight."""
    ks = tuple(ws[2:])
    if len(ks) == 3:
        if min(ws) == 0:
            raise RuntimeError(f"non-empty 5D (n_output_plane x n_input_plane x kernel_depth x "
                               f"kernel_height x kernel_width) tensor expected for weight, but "
                               f"got: {list(ws)}")
        return
    if min(ks) == 0:
        raise _kernel_zero(ks)
    if min(dilation) <= 0:
        dh, dw = _lift(dilation)
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dh}, dilation_width: {dw}")
    if min(ws) == 0:
        raise RuntimeError(f"non-empty 2D or 4D weight tensor expected, but got: "
                           f"{list(ws[:2]) + list(_lift(ks))}")
