"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``."""
from __future__ import annotations

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._util import norm_dims, wrap


def _expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input ``shape`` (differentiable)."""
    if not keepdim:
        kshape = tuple(1 if i in dims else s for i, s in enumerate(shape))
        g = g.reshape(kshape)
    return g.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.meta = (x._data.shape, dims, keepdim)
        return wrap(x._backend.xp.sum(x._data, axis=dims, keepdims=keepdim, dtype=np_dtype), x)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return _expand_back(g, shape, dims, keepdim), None, None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.meta = (x._data.shape, dims, keepdim)
        n = 1
        for d in dims:
            n *= x._data.shape[d]
        ctx.n = n
        return wrap(x._backend.xp.mean(x._data, axis=dims, keepdims=keepdim), x)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return _expand_back(g / ctx.n, shape, dims, keepdim), None, None


@tensor_method
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    dims = norm_dims(dim, input.ndim)
    if dtype is not None:
        np_dtype = dt.to_dtype(dtype).np
    elif input._data.dtype.kind in "biu":
        np_dtype = dt.int64.np  # torch sums integers (and bools) in int64
    else:
        np_dtype = None
    return Sum.apply(input, dims, keepdim, np_dtype)


@tensor_method
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype}")
    return Mean.apply(input, norm_dims(dim, input.ndim), keepdim)

__all__ = ["sum", "mean"]
