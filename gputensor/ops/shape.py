"""Shape ops. Those that are views in torch are views here too (shared storage)."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer(shape: tuple, numel: int, src: tuple) -> tuple:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {tuple(src)})")
    return shape


class Reshape(Function):
    """Reshape; a view of the input whenever the backend can reshape without copying."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        out = x._data.reshape(shape)
        if x._backend.xp.may_share_memory(out, x._data) if x._data.size else True:
            return x._view_of(out)
        return Tensor._make(out, x._device)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._view_of(x._backend.xp.broadcast_to(x._data, shape))

    @staticmethod
    def backward(ctx, g):
        from ._util import unbroadcast
        return unbroadcast(g, ctx.in_shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._view_of(x._data.transpose(dims))

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return g.permute(tuple(inv)), None


@tensor_method
def reshape(input: Tensor, *shape) -> Tensor:
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    return Reshape.apply(input, shape)


@tensor_method
def view(input: Tensor, *shape) -> Tensor:
    """Like reshape, but errors (as torch) when the result cannot share storage."""
    from .. import _dtype as dt
    if len(shape) == 1 and isinstance(shape[0], dt.dtype):
        raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    xp = input._backend.xp
    out = input._data.reshape(shape)
    if input._data.size and not xp.may_share_memory(out, input._data):
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                           f"(shape {tuple(input.shape)} -> {shape}); use .reshape(...) instead.")
    return Reshape.apply(input, shape)


@tensor_method
def expand(input: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    nd = input._data.ndim
    if len(sizes) < nd:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({nd})")
    lead = len(sizes) - nd
    shape = []
    for i, s in enumerate(sizes):
        cur = input._data.shape[i - lead] if i >= lead else 1
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, new dimension")
            s = cur
        elif cur != 1 and cur != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(input.shape)}")
        shape.append(s)
    shape = tuple(shape)
    if shape == input._data.shape:
        return input
    return Expand.apply(input, shape)


@tensor_method
def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return Permute.apply(input, dims)


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return input
    d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


@tensor_method
def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim - 1, -1, -1))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))

__all__ = ["reshape", "view", "expand", "permute", "transpose", "swapaxes", "swapdims", "t"]
