"""Indexing: getitem/setitem (basic, advanced, boolean), gather/scatter, index_*, masked ops.

Everything reduces to three autograd Functions over a normalized backend key (ints, slices,
None, Ellipsis and backend index arrays): ``Index`` (read; a view when the key is basic),
``IndexInto`` (scatter-add into zeros: Index's backward, and the forward of scatter_add and
index_add) and ``IndexPut`` (out-of-place write: setitem, scatter, masked_fill, index_fill).
Each one's backward is written with the others, so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import data, unbroadcast, wrap

_BASIC = (int, slice, type(None), type(Ellipsis))


class Staged(tuple):
    """A key applied in stages (torch selects integer indices before advanced indexing)."""


def _read(arr, key: tuple):
    if isinstance(key, Staged):
        for k in key:
            arr = arr[k]
        return arr
    return arr[key]


def _target(arr, key: tuple) -> tuple:
    """``(view, last)`` such that writing ``view[last]`` writes ``arr`` at ``key``."""
    if isinstance(key, Staged):
        for k in key[:-1]:
            arr = arr[k]
        return arr, key[-1]
    return arr, key


def _is_advanced(key: tuple) -> bool:
    last = key[-1] if isinstance(key, Staged) else key
    return any(not isinstance(k, _BASIC) for k in last)


def _add_at(xp, target, key: tuple, values) -> None:
    """``target[key] += values`` with repeated indices accumulating (numpy ufunc.at or cupyx)."""
    at = getattr(getattr(xp, "add"), "at", None)
    if at is not None:
        at(target, key, values)
        return
    import cupyx
    key = tuple(k.nonzero() if getattr(k, "dtype", None) == np.bool_ else (k,) for k in key)
    cupyx.scatter_add(target, tuple(i for k in key for i in k), values)


def _shape_mismatch(value_shape, target_shape) -> RuntimeError:
    return RuntimeError(f"shape mismatch: value tensor of shape {list(value_shape)} cannot be "
                        f"broadcast to indexing result of shape {list(target_shape)}")


def _put(arr, key: tuple, value) -> None:
    """``arr[key] = value`` with torch's error for a value that does not broadcast."""
    view, last = _target(arr, key)
    if not getattr(view.flags, "writeable", True):
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location (an expanded tensor). "
                           "Please clone() the tensor before performing the operation.")
    try:
        view[last] = value
    except ValueError:
        raise _shape_mismatch(getattr(value, "shape", ()), view[last].shape) from None


def _sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient down to ``shape`` (which may carry extra leading 1s: setitem
    accepts a value of shape (1, n) for an (n,) target)."""
    core = tuple(shape)
    while len(core) > g.ndim and core[0] == 1:
        core = core[1:]
    return unbroadcast(g, core).reshape(tuple(shape))


class Index(Function):
    """``x[key]``: a view for basic keys, a copy for advanced ones."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (x._data.shape, key)
        out = _read(x._data, key)
        return wrap(out, x) if _is_advanced(key) else x._view_of(out)

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.meta
        return IndexInto.apply(g, shape, key), None


class IndexInto(Function):
    """``zeros(shape)[key] += g`` (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx, g, shape, key):
        ctx.key = key
        xp = g._backend.xp
        out = xp.zeros(shape, dtype=g._data.dtype)
        if _is_advanced(key):
            _add_at(xp, *_target(out, key), g._data)
        else:
            _put(out, key, g._data)
        return wrap(out, g)

    @staticmethod
    def backward(ctx, gg):
        return Index.apply(gg, ctx.key), None, None


class IndexPut(Function):
    """A copy of ``x`` with ``value`` (a tensor of x's dtype, or a scalar) written at ``key``."""

    @staticmethod
    def forward(ctx, x, value, key):
        ctx.key = key
        ctx.value_shape = value._data.shape if isinstance(value, Tensor) else None
        out = x._data.copy()
        _put(out, key, data(value))
        return wrap(out, x)

    @staticmethod
    def backward(ctx, g):
        need_x, need_v = ctx.needs_input_grad[:2]
        gx = IndexPut.apply(g, 0, ctx.key) if need_x else None
        gv = _sum_to(Index.apply(g, ctx.key), ctx.value_shape) if need_v else None
        return gx, gv, None


# -- key normalization -------------------------------------------------------------------------

def _oob(i: int, dim: int, size: int, exc: type = IndexError) -> Exception:
    return exc(f"index {i} is out of bounds for dimension {dim} with size {size}")


def _check_bounds(arr, dim: int, size: int, gather_like: bool = False) -> None:
    """Indexing allows negative indices (IndexError); gather/scatter don't (RuntimeError)."""
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    exc = RuntimeError if gather_like else IndexError
    if hi >= size:
        raise _oob(hi, dim, size, exc)
    if lo < (0 if gather_like else -size):
        raise _oob(lo, dim, size, exc)


def _index_array(item, x: Tensor):
    """An index tensor, list or ndarray as an integer or bool array on ``x``'s backend."""
    if isinstance(item, Tensor):
        if item._device != x._device and item._device.type != "cpu":
            raise RuntimeError(f"indices should be either on cpu or on the same device as the "
                               f"indexed tensor ({x._device}), but got indices on {item._device}")
        kind = item._data.dtype.kind
        if kind not in "biu":
            raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors "
                             f"(got {item.dtype})")
        arr = item._data if item._device == x._device else \
            x._backend.from_numpy(item._backend.to_numpy(item._data))
        return arr.astype(np.bool_) if item._data.dtype == np.uint8 else arr
    host = np.asarray(item)
    if host.dtype.kind not in "biu":
        if host.size:
            raise IndexError(f"index {item!r} is not a valid index: expected integers or bools "
                             f"(got {host.dtype})")
        host = host.astype(np.int64)
    return host if x._device.type == "cpu" else x._backend.from_numpy(host)


def _as_int(v):
    return None if v is None else v.__index__()


_SEQ_WARNING = ("Using a non-tuple sequence for multidimensional indexing is deprecated and will "
                "be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 "
                "this will be interpreted as tensor index, x[torch.tensor(seq)], which will "
                "result either in an error or a different result")


def _sequence_as_tuple(key) -> bool:
    """torch's (NumPy's old) rule: a short non-tuple sequence holding a tensor, sequence, slice,
    None or Ellipsis is a tuple of indices (with a deprecation warning); else one index."""
    if isinstance(key, (Tensor, np.ndarray, str, bytes)) or not isinstance(key, (list, range)):
        return False
    if len(key) >= 32:
        return False
    for k in key:
        if isinstance(k, (Tensor, list, tuple, range, slice, np.ndarray)) or k is None \
                or k is Ellipsis:
            import warnings
            warnings.warn(_SEQ_WARNING, UserWarning, stacklevel=4)
            return True
    return False


def normalize_key(x: Tensor, key) -> tuple:
    """Validate a ``__getitem__`` key against ``x`` and convert it for the backend.

    Ints and index arrays are bounds-checked (IndexError naming the index, dim and size), masks
    must match the dims they cover; a trailing Ellipsis keeps integer results as 0-d arrays.
    """
    if not isinstance(key, tuple):
        key = tuple(key) if _sequence_as_tuple(key) else (key,)
    items, consumed = [], 0
    for k in key:
        if k is None or k is Ellipsis:
            items.append(k)
            continue
        if isinstance(k, bool):  # like a 0-d mask: a new dim of size 1 (True) or 0 (False)
            items.append(_index_array(k, x))
            continue
        if isinstance(k, slice):
            k = slice(_as_int(k.start), _as_int(k.stop), _as_int(k.step))
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            consumed += 1
        elif isinstance(k, (int, np.integer)):
            k = int(k)
            consumed += 1
        elif isinstance(k, (Tensor, list, tuple, np.ndarray, range)):
            k = _index_array(k, x)
            consumed += k.ndim if k.dtype == np.bool_ else 1
        elif hasattr(k, "__index__"):
            k = k.__index__()
            consumed += 1
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(k).__name__})")
        items.append(k)
    nd = x._data.ndim
    n_ellipsis = sum(k is Ellipsis for k in items)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > nd:
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    _check_items(items, x._data.shape, consumed)
    if not n_ellipsis:
        items.append(Ellipsis)
    ints = any(isinstance(k, int) for k in items)
    if ints and _is_advanced(items):
        return Staged((_select_stage(items), tuple(k for k in items if not isinstance(k, int))))
    return tuple(items)


def _select_stage(items: list) -> tuple:
    """The integer part of a mixed key, applied first as torch does (it decides where the
    advanced dims land: ``x[0, :, [1, 2]]`` keeps the advanced dim last, unlike NumPy)."""
    out = []
    for k in items:
        if isinstance(k, int) or k is Ellipsis:
            out.append(k)
        elif isinstance(k, slice):
            out.append(slice(None))
        elif k is not None:
            out.extend([slice(None)] * (k.ndim if k.dtype == np.bool_ else 1))
    return tuple(out)


def _check_items(items: list, shape: tuple, consumed: int) -> None:
    dim = 0
    for k in items:
        if k is Ellipsis:
            dim += len(shape) - consumed
        elif isinstance(k, int):
            if not -shape[dim] <= k < shape[dim]:
                raise _oob(k, dim, shape[dim])
            dim += 1
        elif isinstance(k, slice):
            dim += 1
        elif k is not None:
            if k.dtype == np.bool_:
                covered = tuple(shape[dim:dim + k.ndim])
                if tuple(k.shape) != covered:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does "
                                     f"not match the shape of the indexed tensor {list(shape)} "
                                     f"at index {dim}")
                dim += k.ndim
            else:
                _check_bounds(k, dim, shape[dim])
                dim += 1


# -- getitem / setitem -------------------------------------------------------------------------

# Basic indexing, named as torch's graph node for the key's last step (``x[0]`` prints
# ``grad_fn=<SelectBackward0>``); any advanced index makes it an ``IndexBackward0``.
class Select(Index):
    _torch_name = "SelectBackward0"


class Slice(Index):
    _torch_name = "SliceBackward0"


class IndexUnsqueeze(Index):
    _torch_name = "UnsqueezeBackward0"


class Alias(Index):
    _torch_name = "AliasBackward0"


def _basic_op(key) -> type:
    if isinstance(key, slice):
        return Slice
    op = Alias
    for k in key if isinstance(key, tuple) else (key,):
        if k is None:
            op = IndexUnsqueeze
        elif isinstance(k, slice):
            if k != slice(None):
                op = Slice
        elif isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            op = Select
        elif k is not Ellipsis:
            return Index
    return op


def _getitem(self: Tensor, key) -> Tensor:
    return _basic_op(key).apply(self, normalize_key(self, key))


def _value_like(value, x: Tensor):
    """A setitem/fill value as a scalar or a tensor of ``x``'s dtype on ``x``'s device."""
    if isinstance(value, Tensor):
        if value._device != x._device and value._data.ndim == 0:
            value = value.to(x._device)
        return value if value._data.dtype == x._data.dtype else value.to(x.dtype)
    if isinstance(value, (int, float, bool, np.generic)):
        return value
    host = np.asarray(value, dtype=x._data.dtype)
    return Tensor._make(host if x._device.type == "cpu" else x._backend.from_numpy(host),
                        x._device)


def _setitem(self: Tensor, key, value) -> None:
    """``self[key] = value`` in place; recorded as an IndexPut when autograd needs it."""
    key = normalize_key(self, key)
    value = _value_like(value, self)
    if grad_mode.is_grad_enabled() and (
            self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        self._assign(IndexPut.apply(self, value, key))
        return
    if isinstance(value, Tensor) and value._device != self._device:
        raise RuntimeError(f"expected all tensors to be on the same device, but found at least "
                           f"two devices, {self._device} and {value._device}!")
    _put(self._data, key, data(value))
    self._assign(Tensor._make(self._data, self._device))


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# -- dim-wise index ops ------------------------------------------------------------------------

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


def _dim_key(x: Tensor, dim: int, index: Tensor, op: str) -> tuple:
    """The key selecting ``index`` (a vector) along ``dim``: ``(:, ..., :, index)``."""
    _int_index(index, op)
    if index._data.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector (got shape "
                         f"{list(index.shape)})")
    d = _wrap_dim(dim, x._data.ndim)
    return normalize_key(x, (slice(None),) * d + (index.reshape(-1),))


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    x = _flat(input)
    return Index.apply(x, _dim_key(x, dim, index, "index_select"))


@tensor_method
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    key = _dim_key(input, dim, index, "index_add")
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
    return Index.apply(flat, normalize_key(flat, (index,)))


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


def _inplace(op):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        return self._assign(op(self, *args, **kwargs))
    method.__name__ = op.__name__ + "_"
    method.__doc__ = f"In-place {op.__name__} (through ``Tensor._assign``)."
    return method


for _op in (scatter, scatter_add, masked_fill, index_fill, index_add, index_put):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_fill",
           "index_put", "masked_fill", "masked_select", "nonzero", "argwhere", "take",
           "take_along_dim"]
