"""Shape ops. Those that are views in torch are views here too (shared storage)."""
from __future__ import annotations

import functools

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Size, Tensor, _wrap_dim, tensor_method
from ._util import norm_dims, wrap
from .index import Index, Select, Slice


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


def _need_dims(input: Tensor, n: int, op: str) -> None:
    if input._data.ndim < n:
        raise RuntimeError(f"{op}: input tensor must have at least {n} dimension(s), got shape "
                           f"{list(input.shape)}")


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


# -- slicing along a dim (views) --------------------------------------------------------------

class Split(Index):
    _torch_name = "SplitBackward0"


class Unbind(Index):
    _torch_name = "UnbindBackward0"


def _slice_dim(input: Tensor, d: int, start: int, stop: int, op: type = Slice) -> Tensor:
    return op.apply(input, (slice(None),) * d + (slice(start, stop), Ellipsis))


@tensor_method
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative (got {length}).")
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _slice_dim(input, d, start, start + length)


@tensor_method
def select(input: Tensor, dim: int, index: int) -> Tensor:
    if input._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, input._data.ndim)
    n, i = input._data.shape[d], int(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return Select.apply(input, (slice(None),) * d + (i, Ellipsis))


def _pieces(input: Tensor, d: int, bounds) -> tuple:
    """Views of ``input`` between consecutive ``bounds`` along dim ``d``."""
    return tuple(_slice_dim(input, d, a, b, Split) for a, b in zip(bounds[:-1], bounds[1:]))


def _cumulative(sizes) -> list:
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    return bounds


@tensor_method
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of chunks of ``split_size`` (an int) or of the given sizes (a list) along ``dim``."""
    d = _wrap_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise RuntimeError(f"split expects split_size be non-negative and positive for a "
                               f"non-empty dim, but got split_size={size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    return _pieces(tensor, d, _cumulative(sizes))


@tensor_method
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[_wrap_dim(dim, input._data.ndim)]
    return split(input, max(-(-n // chunks), 1), dim)


@tensor_method
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """``sections`` near-equal pieces (an int) or pieces cut at the given indices (a list)."""
    d = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"tensor_split(): number of sections must be larger than 0, got {k}")
        bounds = _cumulative([n // k + 1] * (n % k) + [n // k] * (k - n % k))
    else:
        cuts = [min(max(int(i) + (n if i < 0 else 0), 0), n) for i in indices_or_sections]
        bounds = [0] + cuts + [n]
        bounds = [max(b, a) for a, b in zip([0] + bounds[:-1], bounds)]
    return _pieces(input, d, bounds)


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple:
    d = _wrap_dim(dim, input._data.ndim)
    return tuple(Unbind.apply(input, (slice(None),) * d + (i, Ellipsis))
                 for i in range(input._data.shape[d]))


# -- joining ----------------------------------------------------------------------------------

class Cat(Function):
    """Concatenation; ``skip[i]`` marks a legacy empty (0,) input that takes no part."""

    @staticmethod
    def forward(ctx, dim, skip, *tensors):
        ctx.meta = (dim, skip, [t._data.shape[dim] for t, s in zip(tensors, skip) if not s])
        x = tensors[0]
        arrays = [t._data for t, s in zip(tensors, skip) if not s]
        return wrap(x._backend.xp.concatenate(arrays, axis=dim), x)

    @staticmethod
    def backward(ctx, g):
        dim, skip, sizes = ctx.meta
        pieces = iter(_pieces(g, dim, _cumulative(sizes)))
        grads = [g.reshape(-1)[:0] if s else next(pieces) for s in skip]
        return (None, None) + tuple(p if need else None
                                    for p, need in zip(grads, ctx.needs_input_grad[2:]))


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
        if t._device != tensors[0]._device:
            raise RuntimeError(f"{op}(): Expected all tensors to be on the same device, but "
                               f"found at least two devices, {tensors[0]._device} and "
                               f"{t._device}! (tensors 0 and {i})")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """Join along an existing dim; dtypes promote as in torch; legacy empty (0,) tensors skip."""
    tensors = _tensor_list(tensors, "cat")
    rt = functools.reduce(dt.promote_types, (t.dtype for t in tensors))
    numbered = [(i, t) for i, t in enumerate(tensors) if _size(t) != (0,)] or [(0, tensors[0])]
    i0, ref = numbered[0]
    shape = _size(ref)
    if not shape:
        raise RuntimeError(f"zero-dimensional tensor (at position {i0}) cannot be concatenated")
    d = _wrap_dim(dim, len(shape))
    for i, t in numbered[1:]:
        other = _size(t)
        if len(other) != len(shape):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(shape)} "
                               f"and {len(other)} (shapes {list(shape)} and {list(other)})")
        for k, (a, b) in enumerate(zip(shape, other)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {a} but got size {b} for tensor number {i} in "
                                   f"the list (shapes {list(shape)} and {list(other)})")
    kept = {i for i, _ in numbered}
    parts = [t if t.dtype is rt else t.to(rt) for t in tensors]
    return Cat.apply(d, tuple(i not in kept for i in range(len(parts))), *parts)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "stack")
    shape = _size(tensors[0])
    for i, t in enumerate(tensors):
        if _size(t) != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = _wrap_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def _as_list(tensors) -> list:
    out = _at_least(1, tuple(tensors))
    return [out] if isinstance(out, Tensor) else list(out)


def hstack(tensors) -> Tensor:
    parts = _as_list(_tensor_list(tensors, "hstack"))
    return cat(parts, 0 if all(p._data.ndim == 1 for p in parts) else 1)


def vstack(tensors) -> Tensor:
    parts = _at_least(2, tuple(_tensor_list(tensors, "vstack")))
    return cat([parts] if isinstance(parts, Tensor) else parts, 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    parts = _at_least(3, tuple(_tensor_list(tensors, "dstack")))
    return cat([parts] if isinstance(parts, Tensor) else parts, 2)


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

__all__ = ["reshape", "view", "expand", "permute", "transpose", "swapaxes", "swapdims", "t",
           "flatten", "unflatten", "squeeze", "unsqueeze", "expand_as", "view_as", "reshape_as",
           "movedim", "moveaxis", "broadcast_to", "broadcast_shapes", "broadcast_tensors",
           "atleast_1d", "atleast_2d", "atleast_3d", "repeat", "tile", "flip", "fliplr",
           "flipud", "roll", "narrow", "select", "split", "chunk", "tensor_split", "unbind",
           "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "diagonal", "diag", "tril", "triu"]
