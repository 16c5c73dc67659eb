"""Shape ops. Those that are views in torch are views here too (shared storage)."""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Size, Tensor, _wrap_dim, tensor_method
from ._util import norm_dims, wrap
from .diagonals import _need_dims


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
        out = x._backend.xp.broadcast_to(x._data, shape)
        if not getattr(out.flags, "writeable", True) and x._data.flags.writeable:
            # NumPy marks broadcasts read-only; torch's expand is a writable view (the ops
            # that may not write through it are refused by ``_overlap``, as in torch)
            out = np.lib.stride_tricks.as_strided(x._data, out.shape, out.strides)
        return x._view_of(out)

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


# Same ops, named as torch's graph nodes are (``grad_fn=<ViewBackward0>`` in printed tensors).
class View(Reshape):
    _torch_name = "ViewBackward0"


class UnsafeView(Reshape):  # torch's reshape of a non-contiguous tensor (a copy)
    _torch_name = "UnsafeViewBackward0"


class Unsqueeze(Reshape):
    _torch_name = "UnsqueezeBackward0"


class Squeeze(Reshape):  # every size-1 dim
    _torch_name = "SqueezeBackward0"


class SqueezeDim(Reshape):
    _torch_name = "SqueezeBackward1"


class SqueezeDims(Reshape):
    _torch_name = "SqueezeBackward2"


class Transpose(Permute):
    _torch_name = "TransposeBackward0"


class T(Permute):
    _torch_name = "TBackward0"


@tensor_method
def reshape(input: Tensor, *shape) -> Tensor:
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    return (View if input._data.flags.c_contiguous else UnsafeView).apply(input, shape)


@tensor_method
def view(input: Tensor, *shape) -> Tensor:
    """Like reshape, but errors (as torch) when the result cannot share storage."""
    if len(shape) == 1 and isinstance(shape[0], dt.dtype):
        raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    xp = input._backend.xp
    out = input._data.reshape(shape)
    if input._data.size and not xp.may_share_memory(out, input._data):
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                           f"(shape {tuple(input.shape)} -> {shape}); use .reshape(...) instead.")
    return View.apply(input, shape)


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
    return Transpose.apply(input, tuple(dims))


swapaxes = swapdims = transpose


@tensor_method
def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return T.apply(input, (1, 0)) if input._data.ndim == 2 else input


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim - 1, -1, -1))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))


# -- views: reshape family -----------------------------------------------------------------------

def _size(input: Tensor) -> tuple:
    return input._data.shape


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = _size(input)
    if not shape:
        return reshape(input, 1)
    s, e = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come "
                           f"after end_dim ({end_dim}) for a {len(shape)}-d tensor")
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


@tensor_method
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    shape = _size(input)
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(k) for k in sizes)
    try:
        sizes = _infer(sizes, shape[d], sizes)
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shape[d]}) in the input tensor") from None
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


@tensor_method
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims (all of them, or those among ``dim``, an int or tuple)."""
    shape = _size(input)
    dims = range(len(shape)) if dim is None else norm_dims(dim, len(shape))
    new = tuple(k for i, k in enumerate(shape) if not (i in dims and k == 1))
    op = Squeeze if dim is None else SqueezeDims if isinstance(dim, (tuple, list)) else SqueezeDim
    return input if new == shape else op.apply(input, new)


@tensor_method
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    shape = _size(input)
    d = _wrap_dim(dim, len(shape) + 1)
    return Unsqueeze.apply(input, shape[:d] + (1,) + shape[d:])


@tensor_method
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, _size(other))


@tensor_method
def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, _size(other))


@tensor_method
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, _size(other))


def _dims_arg(dims) -> tuple:
    return tuple(int(d) for d in dims) if isinstance(dims, (tuple, list)) else (int(dims),)


@tensor_method(names=("moveaxis",))
def movedim(input: Tensor, source, destination) -> Tensor:
    src, dst = _dims_arg(source), _dims_arg(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    nd = input._data.ndim
    src = tuple(_wrap_dim(d, nd) for d in src)
    dst = tuple(_wrap_dim(d, nd) for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {list(src)} or destination "
                           f"{list(dst)}")
    order = [d for d in range(nd) if d not in src]
    for d_dst, d_src in sorted(zip(dst, src)):
        order.insert(d_dst, d_src)
    return Permute.apply(input, tuple(order)) if nd else input


moveaxis = movedim


@tensor_method
def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, tuple(size))


def broadcast_shapes(*shapes) -> Size:
    """The broadcast of ``shapes``, with torch's error naming the clashing sizes."""
    shapes = [(int(s),) if isinstance(s, int) else tuple(s) for s in shapes]
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for s in shapes:
        for i, k in enumerate(s, start=nd - len(s)):
            if k != 1 and out[i] != 1 and k != out[i]:
                raise RuntimeError(f"The size of tensor a ({out[i]}) must match the size of "
                                   f"tensor b ({k}) at non-singleton dimension {i} (shapes "
                                   f"{[list(x) for x in shapes]})")
            if k != 1:
                out[i] = k
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    shape = broadcast_shapes(*(_size(t) for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def _at_least(n: int, tensors) -> Tensor | tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        shape = _size(t)
        if len(shape) < n:
            if n == 3 and len(shape) == 2:
                shape = shape + (1,)
            elif n == 3 and len(shape) == 1:
                shape = (1,) + shape + (1,)
            else:
                shape = (1,) * (n - len(shape)) + shape
            t = Reshape.apply(t, shape)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors):
    return _at_least(1, tensors)


def atleast_2d(*tensors):
    return _at_least(2, tensors)


def atleast_3d(*tensors):
    return _at_least(3, tensors)


# -- copies that rearrange: repeat, tile, flip, roll ----------------------------------------------

class Repeat(Function):
    @staticmethod
    def forward(ctx, x, reps):
        shape = (1,) * (len(reps) - x._data.ndim) + x._data.shape
        ctx.meta = (x._data.shape, shape, reps)
        return wrap(x._backend.xp.tile(x._data.reshape(shape), reps), x)

    @staticmethod
    def backward(ctx, g):
        in_shape, shape, reps = ctx.meta
        split = tuple(k for pair in zip(reps, shape) for k in pair)
        return g.reshape(split).sum(dim=tuple(range(0, 2 * len(reps), 2))).reshape(in_shape), None


@tensor_method
def repeat(input: Tensor, *sizes) -> Tensor:
    reps = _shape_arg(sizes)
    if len(reps) < input._data.ndim:
        raise RuntimeError(f"Number of dimensions of repeat dims ({list(reps)}) can not be "
                           f"smaller than number of dimensions of tensor ({list(input.shape)})")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: repeats "
                           f"{list(reps)}")
    return Repeat.apply(input, reps)


@tensor_method
def tile(input: Tensor, dims) -> Tensor:
    reps = _shape_arg((dims,)) if not isinstance(dims, int) else (dims,)
    return Repeat.apply(input, (1,) * (input._data.ndim - len(reps)) + reps)


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return wrap(x._backend.xp.flip(x._data, axis=dims).copy(), x)

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


@tensor_method
def flip(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    nd = input._data.ndim
    axes = tuple(_wrap_dim(d, nd) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dims has duplicates, original flip dims size={len(dims)}, but "
                           f"unique flip dims size={len(set(axes))} (dims {list(dims)})")
    return Flip.apply(input, axes if nd else ())


@tensor_method
def fliplr(input: Tensor) -> Tensor:
    _need_dims(input, 2, "fliplr")
    return flip(input, 1)


@tensor_method
def flipud(input: Tensor) -> Tensor:
    _need_dims(input, 1, "flipud")
    return flip(input, 0)


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.meta = (shifts, dims)
        return wrap(x._backend.xp.roll(x._data, shifts, axis=dims), x)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.meta
        back = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return Roll.apply(g, back, dims), None, None


@tensor_method
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    if dims is None:
        if not isinstance(shifts, int):
            shifts = tuple(shifts)
            if len(shifts) != 1:
                raise RuntimeError(f"roll: with dims=None, shifts must be a single int (got "
                                   f"{list(shifts)})")
            shifts = shifts[0]
        return Roll.apply(input, int(shifts), None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    nd = input._data.ndim
    return Roll.apply(input, tuple(int(s) for s in shifts), tuple(_wrap_dim(d, nd) for d in dims))


# Moved to join_split.py / diagonals.py; still importable from here (``from .shape import cat``).
_MOVED = {**dict.fromkeys("narrow select split chunk tensor_split unbind cat concat concatenate "
                          "stack hstack vstack row_stack dstack".split(), "join_split"),
          **dict.fromkeys("diagonal diag tril triu Diagonal DiagonalInto".split(), "diagonals")}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["reshape", "view", "expand", "permute", "transpose", "swapaxes", "swapdims", "t",
           "flatten", "unflatten", "squeeze", "unsqueeze", "expand_as", "view_as", "reshape_as",
           "movedim", "moveaxis", "broadcast_to", "broadcast_shapes", "broadcast_tensors",
           "atleast_1d", "atleast_2d", "atleast_3d", "repeat", "tile", "flip", "fliplr", "flipud",
           "roll"]
