"""Indexing: getitem/setitem (basic, advanced, boolean) and the machinery the index ops share.

Everything reduces to three autograd Functions over a normalized backend key (ints, slices,
None, Ellipsis and backend index arrays): ``Index`` (read; a view when the key is basic),
``IndexInto`` (scatter-add into zeros: Index's backward, and the forward of scatter_add and
index_add) and ``IndexPut`` (out-of-place write: setitem, scatter, masked_fill, index_fill).
Each one's backward is written with the others, so higher-order gradients work. The dim-wise ops
(gather, scatter, index_*, masked_*, nonzero, take) live in ``index_ops.py``.
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
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


def index_extremes(arr) -> tuple:
    """``(min, max)`` of a non-empty integer array as Python ints. On cuda this is one device
    reduction pair and a single host sync (the cost every bounds check pays)."""
    if isinstance(arr, np.ndarray):
        return int(arr.min()), int(arr.max())
    import cupy
    lo, hi = cupy.stack([arr.min(), arr.max()]).get().tolist()
    return int(lo), int(hi)


def first_outside(arr, lo: int, hi: int) -> tuple:
    """``(position, value)`` of the first element of flat ``arr`` outside ``[lo, hi)``; only
    called once a check has failed, so the host copy costs nothing on the good path."""
    host = np.asarray(arr.get() if hasattr(arr, "get") else arr).reshape(-1)
    pos = int(np.flatnonzero((host < lo) | (host >= hi))[0])
    return pos, int(host[pos])


def check_rows(arr, size: int, message: str = "index out of range in self") -> None:
    """torch's embedding/index_select rule: every index in ``[0, size)``, else IndexError."""
    if arr.size == 0:
        return
    lo, hi = index_extremes(arr)
    if lo < 0 or hi >= size:
        raise IndexError(message)


def _check_bounds(arr, dim: int, size: int, gather_like: bool = False) -> None:
    """Indexing allows negative indices (IndexError); gather/scatter don't (RuntimeError)."""
    if arr.size == 0:
        return
    lo, hi = index_extremes(arr)
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


def _check_setitem(self: Tensor, key: tuple, value) -> None:
    """torch's overlap rules for ``self[key] = value``: a basic key copies into a view (which
    may not be expanded itself, nor partially overlap ``value``); an advanced key is an
    index_put_ (any overlap with a tensor ``value`` is refused; an expanded ``self`` is
    written with torch's deprecation warning, or masked_fill_'s for a mask and a 0-d value)."""
    from .._overlap import check_write
    if not _is_advanced(key):
        check_write(_read(self._data, key), (value,))
        return
    from .index_ops import warn_expanded
    last = key[-1] if isinstance(key, Staged) else key
    arrays = [k for k in last if not isinstance(k, _BASIC)]
    masked = len(arrays) == 1 and getattr(arrays[0], "dtype", None) == np.bool_ and (
        not isinstance(value, Tensor) or value._data.ndim == 0)
    warn_expanded(self, "index_put")
    if masked:
        warn_expanded(self, "masked_fill")
    else:
        check_write(self._data, (value,), internal=False, alias_ok=False)


def _setitem(self: Tensor, key, value) -> None:
    """``self[key] = value`` in place; recorded as an IndexPut when autograd needs it."""
    key = normalize_key(self, key)
    value = _value_like(value, self)
    self._check_inplace()
    _check_setitem(self, key, value)
    if grad_mode.is_grad_enabled() and (
            self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        self._assign(IndexPut.apply(self, value, key), expanded_ok=True)
        return
    if isinstance(value, Tensor) and value._device != self._device:
        raise RuntimeError(f"expected all tensors to be on the same device, but found at least "
                           f"two devices, {self._device} and {value._device}!")
    _put(self._data, key, data(value))
    self._assign(Tensor._make(self._data, self._device), expanded_ok=True)


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# Moved to index_ops.py; still importable from here (``from .index import gather``).
_MOVED = frozenset("""gather scatter scatter_add index_select index_add index_fill index_put
    masked_fill masked_select nonzero argwhere take take_along_dim _along _flat _unflat
    _src_part _int_index _dim_key _fill_value _broadcast_pair""".split())


def __getattr__(name: str):
    if name in _MOVED:
        from . import index_ops
        return getattr(index_ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__: list = []  # the public index ops are exported by index_ops.py
