"""Splitting a tensor along a dim into views (narrow, select, split, chunk, unbind ...) and
joining tensors (cat, stack and the h/v/d forms). Split from ``shape.py``, which re-exports them."""
from __future__ import annotations

import functools

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .index import Index, Select, Slice


def _size(input: Tensor) -> tuple:
    return input._data.shape


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
    from .shape import unsqueeze
    return cat([unsqueeze(t, d) for t in tensors], d)


def _as_list(tensors) -> list:
    from .shape import _at_least
    out = _at_least(1, tuple(tensors))
    return [out] if isinstance(out, Tensor) else list(out)


def hstack(tensors) -> Tensor:
    parts = _as_list(_tensor_list(tensors, "hstack"))
    return cat(parts, 0 if all(p._data.ndim == 1 for p in parts) else 1)


def vstack(tensors) -> Tensor:
    from .shape import _at_least
    parts = _at_least(2, tuple(_tensor_list(tensors, "vstack")))
    return cat([parts] if isinstance(parts, Tensor) else parts, 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    from .shape import _at_least
    parts = _at_least(3, tuple(_tensor_list(tensors, "dstack")))
    return cat([parts] if isinstance(parts, Tensor) else parts, 2)


__all__ = ["narrow", "select", "split", "chunk", "tensor_split", "unbind", "cat", "concat",
           "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack"]
