"""Diagonals (writable views, as in torch) and triangles (tril/triu). Split from ``shape.py``,
which re-exports them."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap


def _need_dims(input: Tensor, n: int, op: str) -> None:
    if input._data.ndim < n:
        raise RuntimeError(f"{op}: input tensor must have at least {n} dimension(s), got shape "
                           f"{list(input.shape)}")


# -- diagonals and triangles ------------------------------------------------------------------

def _writable(arr):
    """NumPy hands out diagonals read-only; torch's diagonal is a writable view."""
    flags = arr.flags
    if hasattr(flags, "writeable") and not flags.writeable:
        flags.writeable = True
    return arr


class Diagonal(Function):
    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.meta = (x._data.shape, offset, d1, d2)
        return x._view_of(_writable(x._data.diagonal(offset, d1, d2)))

    @staticmethod
    def backward(ctx, g):
        return (DiagonalInto.apply(g, *ctx.meta),) + (None,) * 3


class DiagonalInto(Function):
    """A zero tensor of ``shape`` whose ``diagonal(offset, d1, d2)`` is ``g``."""

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.meta = (offset, d1, d2)
        out = g._backend.xp.zeros(shape, dtype=g._data.dtype)
        _writable(out.diagonal(offset, d1, d2))[...] = g._data
        return wrap(out, g)

    @staticmethod
    def backward(ctx, gg):
        return (Diagonal.apply(gg, *ctx.meta),) + (None,) * 4


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    nd = input._data.ndim
    _need_dims(input, 2, "diagonal")
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)


@tensor_method
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d: a square matrix with ``input`` on the given diagonal; 2-d: a copy of that diagonal."""
    if input._data.ndim == 1:
        n = input._data.shape[0] + abs(int(diagonal))
        return DiagonalInto.apply(input, (n, n), int(diagonal), 0, 1)
    if input._data.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input._data.ndim}D "
                           f"(shape {list(input.shape)})")
    return Diagonal.apply(input, int(diagonal), 0, 1).clone()


class Triangle(Function):
    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.meta = (k, upper)
        xp = x._backend.xp
        return wrap((xp.triu if upper else xp.tril)(x._data, k), x)

    @staticmethod
    def backward(ctx, g):
        return Triangle.apply(g, *ctx.meta), None, None


@tensor_method
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    _need_dims(input, 2, "tril")
    return Triangle.apply(input, int(diagonal), False)


@tensor_method
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    _need_dims(input, 2, "triu")
    return Triangle.apply(input, int(diagonal), True)


def _inplace_triangle(op):
    def method(self: Tensor, diagonal: int = 0) -> Tensor:
        return self._assign(op(self, diagonal))
    method.__name__ = op.__name__ + "_"
    return method


Tensor.tril_ = _inplace_triangle(tril)
Tensor.triu_ = _inplace_triangle(triu)

__all__ = ["diagonal", "diag", "tril", "triu"]
