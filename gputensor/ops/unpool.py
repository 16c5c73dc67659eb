"""max_unpool1d/2d: the partial inverse of max pooling, placing each value at its argmax index.

``MaxUnpool`` scatters on the backend's array module; its gradient is a ``gather`` at the same
indices (a differentiable op, so double backward works).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .conv import pair, single


class MaxUnpool(Function):
    @staticmethod
    def forward(ctx, x, idx, plane: int):
        xp = x._backend.xp
        n, c = x.shape[:2]
        flat_i = idx._data.reshape(n, c, -1)
        out = xp.zeros((n, c, plane), dtype=x._data.dtype)
        ni = xp.arange(n).reshape(n, 1, 1)
        ci = xp.arange(c).reshape(1, c, 1)
        out[ni, ci, flat_i] = x._data.reshape(n, c, -1)
        ctx.save_for_backward(idx)
        return wrap(out, x)

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return g.gather(2, idx.flatten(2)).reshape(tuple(idx.shape)), None, None


def _unpool_output_size(input: Tensor, kernel_size, stride, padding, output_size) -> list:
    """torch's ``_unpool_output_size``: the default size, or a checked explicit one."""
    nd = len(kernel_size)
    default = [(input.shape[-nd + d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d]
               for d in range(nd)]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f'between {lo} and {hi})')
    return [int(v) for v in output_size]


def _unpool2d(input: Tensor, indices: Tensor, out: list) -> Tensor:
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if indices.dtype.name != "int64":
        names = {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte"}
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{names.get(indices.dtype.name, indices.dtype.name)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    plane = out[0] * out[1]
    flat = indices._data.reshape(-1)
    bad = (flat < 0) | (flat >= plane)
    if bool(bad.any()):  # torch names one offender (which one varies with its threads)
        last = int(flat[flat.size - 1 - int(bad[::-1].argmax())])
        raise RuntimeError(f"Found an invalid max index: {last} (output volumes are of size "
                           f"{out[0]}x{out[1]})")
    unbatched = input.ndim == 3
    x, i = (input.unsqueeze(0), indices.unsqueeze(0)) if unbatched else (input, indices)
    y = MaxUnpool.apply(x, i, plane).reshape(x.shape[0], x.shape[1], out[0], out[1])
    return y.squeeze(0) if unbatched else y


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of ``max_pool2d(return_indices=True)``: zeros except at the argmax positions."""
    k = pair(kernel_size, "kernel_size", "max_unpool2d")
    s = k if stride is None else pair(stride, "stride", "max_unpool2d")
    p = pair(padding, "padding", "max_unpool2d")
    return _unpool2d(input, indices, _unpool_output_size(input, k, s, p, output_size))


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of ``max_pool1d(return_indices=True)`` (the 2-d one with a width-1 plane)."""
    k = (single(kernel_size, "kernel_size", "max_unpool1d"),)
    s = k if stride is None else (single(stride, "stride", "max_unpool1d"),)
    p = (single(padding, "padding", "max_unpool1d"),)
    out = _unpool_output_size(input, k, s, p, output_size) + [1]
    return _unpool2d(input.unsqueeze(-1), indices.unsqueeze(-1), out).squeeze(-1)


__all__ = ["max_unpool1d", "max_unpool2d"]
