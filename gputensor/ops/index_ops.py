"""Dim-wise index ops: gather/scatter, index_select/add/fill/put, masked_fill/select, nonzero,
take. Built on ``index.py``'s three Functions (``Index``, ``IndexInto``, ``IndexPut``) and its key
normalization; ``index.py`` keeps ``__getitem__``/``__setitem__`` and re-exports these names."""
from __future__ import annotations

import warnings

import numpy as np

from .._overlap import has_internal_overlap
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .index import (Index, IndexInto, IndexPut, _check_bounds, _index_array, _oob, _read,
                    _shape_mismatch, _value_like, check_rows, first_outside, index_extremes,
                    normalize_key)


def _int_index(index: Tensor, op: str) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")


def _along(x: Tensor, dim: int, index: Tensor, op: str) -> tuple:
    """The advanced key that picks ``x[..., index[i, j, k], ...]`` at dim ``dim`` (gather's map)."""
    _int_index(index, op)
    if index._device != x._device:
        raise RuntimeError(f"{op}(): expected index on {x._device}, got index on "
                           f"{index._device}")
    nd = max(x._data.ndim, 1)
    if max(index._data.ndim, 1) != nd:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index shape {list(index.shape)}, input shape "
                           f"{list(x.shape)})")
    xshape, ishape = x._data.shape or (1,), index._data.shape or (1,)
    for d in range(nd):
        if d != dim and ishape[d] > xshape[d]:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d} expected index "
                               f"{list(ishape)} to be no larger than self {list(xshape)} apart "
                               f"from dimension {dim}")
    idx = index._data.reshape(ishape)
    _check_bounds(idx, dim, xshape[dim], gather_like=True)
    xp = x._backend.xp
    key = []
    for d in range(nd):
        if d == dim:
            key.append(idx)
        else:
            shape = [1] * nd
            shape[d] = ishape[d]
            key.append(xp.arange(ishape[d]).reshape(shape))
    return tuple(key)


def _flat(x: Tensor) -> Tensor:
    """0-d tensors index like 1-element 1-d ones in gather/scatter."""
    return x.reshape(1) if x._data.ndim == 0 else x


def _unflat(out: Tensor, like: Tensor) -> Tensor:
    return out.reshape(()) if like._data.ndim == 0 else out


def _src_part(src: Tensor, index: Tensor, x: Tensor, op: str) -> Tensor:
    """The leading ``index.shape`` block of ``src`` (torch reads only that much of it)."""
    if src._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{x.dtype} and {src.dtype})")
    src, ishape = _flat(src), index._data.shape or (1,)
    if src._data.ndim != len(ishape) or any(i > s for i, s in zip(ishape, src._data.shape)):
        raise RuntimeError(f"{op}(): Expected index {list(ishape)} to be no larger than src "
                           f"{list(src.shape)} in every dimension")
    return src[tuple(slice(0, n) for n in ishape)]


@tensor_method
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    x = _flat(input)
    key = _along(x, _wrap_dim(dim, x._data.ndim), _flat(index), "gather")
    return _unflat(Index.apply(x, key), index)


@tensor_method
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """``src`` (tensor) or ``value`` (scalar) written at ``index`` along ``dim``."""
    if src is None and value is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    src = value if src is None else src
    if reduce is not None:
        from .scatter import scatter_with_reduce
        return scatter_with_reduce(input, dim, index, src, reduce)
    x = _flat(input)
    index = _flat(index)
    key = _along(x, _wrap_dim(dim, x._data.ndim), index, "scatter")
    if isinstance(src, Tensor):
        src = _src_part(src, index, x, "scatter")
    return _unflat(IndexPut.apply(x, _value_like(src, x), key), input)


@tensor_method
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    x, index = _flat(input), _flat(index)
    key = _along(x, _wrap_dim(dim, x._data.ndim), index, "scatter_add")
    part = _src_part(src, index, x, "scatter_add")
    return _unflat(x + IndexInto.apply(part, x._data.shape, key), input)


def _dim_key(x: Tensor, dim: int, index: Tensor, op: str, strict: str | None = None) -> tuple:
    """The key selecting ``index`` (a vector) along ``dim``: ``(:, ..., :, index)``.

    Without ``strict`` indices may be negative (index_fill, as in torch). With it they must lie
    in ``[0, size)``: ``"rows"`` raises index_select's IndexError, ``"bounds"`` index_add's
    RuntimeError, ``"copy"`` index_copy's IndexError -- one min/max check either way."""
    _int_index(index, op)
    if index._data.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector (got shape "
                         f"{list(index.shape)})")
    d = _wrap_dim(dim, x._data.ndim)
    if strict is None:
        return normalize_key(x, (slice(None),) * d + (index.reshape(-1),))
    arr = _index_array(index.reshape(-1), x)
    size = x._data.shape[d] if x._data.ndim else 1
    if strict == "rows":
        check_rows(arr, size)
    elif arr.size:
        lo, hi = index_extremes(arr)
        if lo < 0 or hi >= size:
            bad = first_outside(arr, 0, size)[1]
            if strict == "copy":
                raise IndexError(f"{op}_(): " + str(_oob(bad, d, size)))
            raise _oob(bad, d, size, RuntimeError)
    return (slice(None),) * d + (arr, Ellipsis)


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    x = _flat(input)
    return Index.apply(x, _dim_key(x, dim, index, "index_select", strict="rows"))


@tensor_method
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    key = _dim_key(input, dim, index, "index_add", strict="bounds")
    want = _read(input._data, key).shape
    if tuple(source.shape) != tuple(want):
        raise RuntimeError(f"index_add(): source shape {list(source.shape)} does not match the "
                           f"indexed shape {list(want)} (input {list(input.shape)}, dim {dim})")
    if alpha != 1:
        source = source * alpha
    return input + IndexInto.apply(_value_like(source, input), input._data.shape, key)


@tensor_method
def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    return IndexPut.apply(input, _fill_value(value, input, "index_fill"),
                          _dim_key(input, dim, index, "index_fill"))


@tensor_method
def index_put(input: Tensor, indices: tuple, values, accumulate: bool = False) -> Tensor:
    key = normalize_key(input, tuple(indices))
    values = _value_like(values, input)
    if not accumulate:
        return IndexPut.apply(input, values, key)
    target = _read(input._data, key).shape
    if not isinstance(values, Tensor):
        values = Tensor._make(input._backend.xp.full(target, values, input._data.dtype),
                              input._device)
    try:
        values = values.expand(target)
    except RuntimeError:
        raise _shape_mismatch(values.shape, target) from None
    return input + IndexInto.apply(values, input._data.shape, key)


def _fill_value(value, x: Tensor, op: str):
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value._data.ndim} dimension(s).")
    return _value_like(value, x)


def _broadcast_pair(x: Tensor, mask: Tensor, op: str) -> tuple:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {got}")
    try:
        shape = tuple(np.broadcast_shapes(x._data.shape, mask._data.shape))
    except ValueError:
        raise RuntimeError(f"{op}: the shape of the mask {list(mask.shape)} is not broadcastable "
                           f"to the input shape {list(x.shape)}") from None
    if mask._device != x._device:
        raise RuntimeError(f"{op}: expected mask on {x._device}, got mask on {mask._device}")
    return x.expand(shape), x._backend.xp.broadcast_to(mask._data, shape)


@tensor_method
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    x, m = _broadcast_pair(input, mask, "masked_fill")
    return IndexPut.apply(x, _fill_value(value, x, "masked_fill_"), (m,))


@tensor_method
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    x, m = _broadcast_pair(input, mask, "masked_select")
    return Index.apply(x, (m,))


@tensor_method
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of non-zero elements: an (n, ndim) int64 tensor, or one vector per dim."""
    xp, a = input._backend.xp, input._data
    idx = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
    idx = tuple(i.astype(np.int64, copy=False) for i in idx)
    if as_tuple:
        return tuple(wrap(i, input) for i in idx)
    if a.ndim == 0:
        return wrap(xp.zeros((idx[0].shape[0], 0), dtype=np.int64), input)
    return wrap(xp.stack(idx, axis=1), input)


@tensor_method
def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


@tensor_method
def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened input at ``index``; the result has index's shape."""
    _int_index(index, "take")
    flat = input.reshape(-1)
    arr, n = index._data, flat._data.size
    if arr.size:
        lo, hi = index_extremes(arr)
        if lo < -n or hi >= n:
            raise IndexError(f"out of range: tried to access index "
                             f"{first_outside(arr, -n, n)[1]} on a tensor of {n} elements.")
    return Index.apply(flat, (_index_array(index, flat), Ellipsis))


@tensor_method
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = _wrap_dim(dim, input._data.ndim)
    if indices._data.ndim != input._data.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input._data.ndim} and {indices._data.ndim}")
    xs, js = list(input._data.shape), list(indices._data.shape)
    xs[d] = js[d] = 1
    try:
        common = list(np.broadcast_shapes(tuple(xs), tuple(js)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): shapes {list(input.shape)} and "
                           f"{list(indices.shape)} do not broadcast outside dim {d}") from None
    common[d] = input._data.shape[d]
    x = input.expand(common)
    common[d] = indices._data.shape[d]
    return gather(x, d, indices.expand(common))


_EXPANDED_WARNING = ("Use of {}_ on expanded tensors is deprecated. Please clone() the tensor "
                     "before performing this operation. This also applies to advanced indexing "
                     "e.g. tensor[{}] = {}")


def warn_expanded(self: Tensor, name: str) -> None:
    """torch still writes masked_fill_/index_fill_/index_put_ into an expanded tensor, warning."""
    if has_internal_overlap(self._data):
        example = ("indices", "tensor") if name == "index_put" else ("mask", "scalar")
        warnings.warn(_EXPANDED_WARNING.format(name, *example), UserWarning, stacklevel=3)


def _inplace(op, fills: bool):
    """``op_``: index ops refuse any overlap of ``self`` with their tensor arguments; the fills
    (masked_fill_, index_fill_, index_put_) may write into an expanded ``self``, with
    torch's deprecation warning; masked_fill_'s and index_fill_'s 0-d value is not checked."""
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        if fills:
            warn_expanded(self, op.__name__)
        sources = () if op.__name__ in ("masked_fill", "index_fill") else (
            *args, *kwargs.values())
        return self._assign(op(self, *args, **kwargs), sources, fills, alias_ok=False)
    method.__name__ = op.__name__ + "_"
    method.__doc__ = f"In-place {op.__name__} (through ``Tensor._assign``)."
    return method


for _op in (scatter, scatter_add, index_add):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op, fills=False))
for _op in (masked_fill, index_fill, index_put):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op, fills=True))

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_fill",
           "index_put", "masked_fill", "masked_select", "nonzero", "argwhere", "take",
           "take_along_dim"]
