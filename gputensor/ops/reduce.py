"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``.

Sums and products are Functions of their own; reductions that pick input elements (max, min,
amax, median ...) share ``Select``, whose gradient goes to the picked elements; nansum is a
composition of differentiable ops. var/std/logsumexp/norm live in ``reduce_stats.py``.
"""
from __future__ import annotations

import builtins
import math
import types
from collections import namedtuple

import numpy as np

from .. import _dtype as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import norm_dims, wrap


def _return_repr(self) -> str:
    """torch's layout: ``torch.return_types.max(\nvalues=...,\nindices=...)``."""
    fields = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
    return f"{type(self).__module__}.{type(self).__name__}(\n{fields})"


def return_type(name: str, fields: list):
    """A ``torch.return_types`` namedtuple class, printed as torch prints it."""
    cls = namedtuple(name, fields)
    cls.__module__ = "gputensor.return_types"
    cls.__qualname__ = name
    cls.__repr__ = _return_repr
    return cls


def _values_indices(name: str):
    return return_type(name, ["values", "indices"])


return_types = types.SimpleNamespace(**{n: _values_indices(n) for n in (
    "max", "min", "median", "mode", "kthvalue", "sort", "topk", "cummax", "cummin")})


def _dims(x: Tensor, dim) -> tuple:
    """Reduced axes; a 0-dim tensor accepts dim 0/-1 (as torch) and reduces nothing."""
    if x._data.ndim == 0:
        norm_dims(dim, 0)  # range check
        return ()
    return norm_dims(dim, x._data.ndim)


def _out_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input ``shape`` (differentiable)."""
    if not keepdim:
        g = g.reshape(_out_shape(shape, dims, True))
    return g.expand(shape)


def _require_float(x: Tensor, name: str) -> None:
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{name}(): input dtype should be floating point, but got "
                           f"{x.dtype.name}")


def _check_nonempty(x: Tensor, dims: tuple, name: str) -> None:
    if x._data.size == 0 and (not dims or builtins.any(x._data.shape[d] == 0 for d in dims)):
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           f"== 0 (input shape {tuple(x.shape)}, reduced dims {list(dims)}). "
                           f"Specify the reduction dim with the 'dim' argument.")


def _sum_lean(x, dims, keepdim, np_dtype):
    dev = x._device
    if dev.type == "cpu":  # the ufunc's reduce: np.sum without its Python wrappers
        return Tensor._make(np.add.reduce(x._data, dims, np_dtype, None, keepdim), dev)
    return wrap(x._backend.xp.sum(x._data, axis=dims, keepdims=keepdim, dtype=np_dtype), x)


class Sum(Function):
    _lean = staticmethod(_sum_lean)

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.meta = (x._data.shape, dims, keepdim)
        return _sum_lean(x, dims, keepdim, np_dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        if grad_mode._state.enabled:  # create_graph: differentiable
            return _expand_back(g, shape, dims, keepdim), None, None, None
        gd = g._data  # else the expanded gradient, filled straight into a new array
        if not keepdim and gd.ndim:
            gd = gd.reshape(_out_shape(shape, dims, True))
        out = g._backend.xp.empty(shape, gd.dtype)
        out[...] = gd
        return Tensor._make(out, g._device), None, None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.meta = (x._data.shape, dims, keepdim)
        ctx.n = math.prod(x._data.shape[d] for d in dims)
        xp = x._backend.xp
        if ctx.n == 0:  # torch: nan, silently (NumPy's mean warns "Mean of empty slice")
            return wrap(xp.sum(x._data, axis=dims, keepdims=keepdim) / x._data.dtype.type(0), x)
        return wrap(xp.mean(x._data, axis=dims, keepdims=keepdim), x)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return _expand_back(g / ctx.n, shape, dims, keepdim), None, None


def _int_accumulator(x: Tensor, dtype):
    """torch accumulates integer (and bool) sums/products in int64 unless ``dtype`` is given."""
    if dtype is not None:
        return dt.to_dtype(dtype).np
    return dt.int64.np if x._data.dtype.kind in "biu" else None


@tensor_method
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dim is None and dtype is None and isinstance(input, Tensor) and \
            input._data.dtype.kind == "f":  # the common full float sum, without helper calls
        return Sum.apply(input, tuple(range(input._data.ndim)), keepdim, None)
    return Sum.apply(input, _dims(input, dim), keepdim, _int_accumulator(input, dtype))


@tensor_method
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.name}")
    return Mean.apply(input, _dims(input, dim), keepdim)


@tensor_method
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero (NaN positions get zero gradient)."""
    from .compare import isnan
    from .pointwise import where
    if input._data.dtype.kind == "f":
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


@tensor_method
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    from .compare import isnan
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "nanmean")
    count = sum(~isnan(input), dim, keepdim)
    return nansum(input, dim, keepdim) / count


# -- products -------------------------------------------------------------------------------------

def _others_replaced(x_last: Tensor) -> Tensor:
    """From (..., n), the (..., n, n) tensor whose row i is x with x_i replaced by 1
    (used for exact products-of-the-others when x holds zeros)."""
    from .creation import eye
    from .pointwise import where
    n = x_last.shape[-1]
    rows = x_last.reshape(tuple(x_last.shape[:-1]) + (1, n)).expand(
        tuple(x_last.shape[:-1]) + (n, n))
    return where(eye(n, dtype=dt.bool_, device=x_last.device), 1.0, rows)


def _to_last(x: Tensor, dims: tuple) -> tuple:
    """Move ``dims`` to the end and flatten them: returns the (..., n) tensor and the undo."""
    keep = tuple(i for i in range(x.ndim) if i not in dims)
    perm = keep + dims
    moved = x.permute(perm)
    flat = moved.reshape(tuple(moved.shape[:len(keep)]) + (-1,))
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return flat, lambda t: t.reshape(tuple(moved.shape)).permute(tuple(inv))


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        out = wrap(x._backend.xp.prod(x._data, axis=dims, keepdims=keepdim, dtype=np_dtype), x)
        ctx.meta = (x._data.shape, dims, keepdim)
        if ctx.needs_input_grad[0]:
            ctx.has_zero = bool((x._data == 0).any())
            ctx.save_for_backward(x, None if ctx.has_zero else out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, dims, keepdim = ctx.meta
        if not ctx.has_zero:
            return _expand_back(g * out, shape, dims, keepdim) / x, None, None, None
        flat, undo = _to_last(x, dims)
        others = undo(_others_replaced(flat).prod(-1))
        return _expand_back(g, shape, dims, keepdim) * others, None, None, None


@tensor_method
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    return Prod.apply(input, _dims(input, dim), keepdim, _int_accumulator(input, dtype))


# cumsum / cumprod live in ops/scan.py with the other scans.


# -- selecting reductions -------------------------------------------------------------------------

class Select(Function):
    """A reduction whose values are input elements (max, min, median ...): the gradient flows
    to them with the fixed ``weights`` (one-hot at the chosen index, or split among ties)."""

    @staticmethod
    def forward(ctx, x, values, weights, dims, keepdim):
        ctx.meta = (x._data.shape, dims, keepdim)
        if ctx.needs_input_grad[0]:
            ctx.weights = weights().astype(x._data.dtype)
        return wrap(values, x)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return _expand_back(g, shape, dims, keepdim) * wrap(ctx.weights, g), None, None, None, None


def _tie_weights(xp, x, values_kept, dims, nan_matches: bool = True):
    """Split evenly among the elements equal to the result. NaN matches NaN for max/min/median
    (torch's evenly_distribute_backward); amax/amin compare with ``==`` only, so a NaN result
    gives 0/0 = NaN gradients across its slice, as torch's amax backward does."""
    def weights():
        hit = (x == values_kept) | (xp.isnan(x) & xp.isnan(values_kept)) \
            if x.dtype.kind == "f" and nan_matches else x == values_kept
        with np.errstate(invalid="ignore", divide="ignore"):
            return hit / hit.sum(axis=dims, keepdims=True)
    return weights


def _index_weights(xp, x, idx_kept, d):
    """One-hot at the chosen index along ``d``."""
    def weights():
        pos = xp.arange(x.shape[d]).reshape(tuple(-1 if i == d else 1 for i in range(x.ndim)))
        return pos == idx_kept
    return weights


def _extreme_all(input: Tensor, dims: tuple, keepdim: bool, ufunc: str, name: str) -> Tensor:
    """amax/amin (and max/min without dim): ties share the gradient."""
    _check_nonempty(input, dims, name)
    xp = input._backend.xp
    kept = getattr(xp, ufunc)(input._data, axis=dims, keepdims=True)
    values = kept if keepdim else kept.reshape(_out_shape(input._data.shape, dims, False))
    weights = _tie_weights(xp, input._data, kept, dims, nan_matches=name in ("max", "min"))
    return Select.apply(input, values, weights, dims, keepdim)


def _arg_along(input: Tensor, d: int, arg_fn):
    """(values, indices) picked along ``d`` by ``arg_fn(array, axis)`` (indices kept-dim)."""
    xp = input._backend.xp
    idx = xp.expand_dims(arg_fn(xp, input._data, d), d)
    return xp.take_along_axis(input._data, idx, axis=d), idx


def _select_along(input: Tensor, dim: int, keepdim: bool, arg_fn, name: str):
    """The (values, indices) namedtuple of max/min/median along one dim."""
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        zero = wrap(input._backend.xp.zeros((), dtype=dt.int64.np), input)
        return getattr(return_types, name)(input.clone(), zero)
    d = _wrap_dim(dim, input._data.ndim)
    _check_nonempty(input, (d,), name)
    xp = input._backend.xp
    values, idx = _arg_along(input, d, arg_fn)
    if not keepdim:
        values, idx_out = values.squeeze(d), idx.squeeze(d)
    else:
        idx_out = idx
    out = Select.apply(input, values, _index_weights(xp, input._data, idx, d), (d,), keepdim)
    return getattr(return_types, name)(out, wrap(idx_out.astype(dt.int64.np), input))


def _argmax(xp, a, d):
    return xp.argmax(a, axis=d)


def _argmin(xp, a, d):
    return xp.argmin(a, axis=d)


def _median_pos(xp, a, d):
    """Index of the lower median along ``d`` (stable order, so ties pick the first)."""
    order = xp.argsort(a, axis=d, kind="stable")
    mid = xp.take(order, [(a.shape[d] - 1) // 2], axis=d)
    return mid.squeeze(d)


def _max_min(input: Tensor, dim, keepdim: bool, ufunc: str, arg_fn, name: str, pairwise):
    if isinstance(dim, Tensor):
        return pairwise(input, dim)
    if dim is None:
        return _extreme_all(input, _dims(input, None), False, ufunc, name)
    return _select_along(input, dim, keepdim, arg_fn, name)


@tensor_method
def max(input: Tensor, dim=None, keepdim: bool = False):
    """max(x) -> value; max(x, dim, keepdim) -> (values, indices); max(x, other) -> maximum."""
    from .pointwise import maximum
    return _max_min(input, dim, keepdim, "max", _argmax, "max", maximum)


@tensor_method
def min(input: Tensor, dim=None, keepdim: bool = False):
    """min(x) -> value; min(x, dim, keepdim) -> (values, indices); min(x, other) -> minimum."""
    from .pointwise import minimum
    return _max_min(input, dim, keepdim, "min", _argmin, "min", minimum)


@tensor_method
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _extreme_all(input, _dims(input, dim), keepdim, "max", "amax")


@tensor_method
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _extreme_all(input, _dims(input, dim), keepdim, "min", "amin")


@tensor_method
def median(input: Tensor, dim=None, keepdim: bool = False):
    """Lower median: of all elements (ties share the gradient), or (values, indices) along dim."""
    if dim is not None:
        return _select_along(input, dim, keepdim, _median_pos, "median")
    flat = input.reshape(-1)
    _check_nonempty(flat, (0,), "median")
    xp = input._backend.xp
    value = xp.sort(flat._data)[(flat._data.size - 1) // 2]
    return Select.apply(flat, value, _tie_weights(xp, flat._data, value, (0,)), (0,), False)


def _arg(input: Tensor, dim, keepdim: bool, arg_fn, name: str) -> Tensor:
    xp = input._backend.xp
    if dim is None:
        _check_nonempty(input, (), name)
        idx = arg_fn(xp, input._data.reshape(-1), 0)
        shape = (1,) * input._data.ndim if keepdim else ()
        return wrap(xp.asarray(idx, dtype=dt.int64.np).reshape(shape), input)
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        return wrap(xp.zeros((), dtype=dt.int64.np), input)
    d = _wrap_dim(dim, input._data.ndim)
    _check_nonempty(input, (d,), name)
    idx = arg_fn(xp, input._data, d).astype(dt.int64.np)
    return wrap(xp.expand_dims(idx, d) if keepdim else idx, input)


@tensor_method
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg(input, dim, keepdim, _argmax, "argmax")


@tensor_method
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg(input, dim, keepdim, _argmin, "argmin")


# -- boolean reductions ---------------------------------------------------------------------------

def _truth(input: Tensor, dim, keepdim: bool, ufunc: str) -> Tensor:
    xp = input._backend.xp
    out = getattr(xp, ufunc)(input._data, axis=_dims(input, dim), keepdims=keepdim)
    out = xp.asarray(out)
    return wrap(out.astype(dt.uint8.np) if input._data.dtype == dt.uint8.np else out, input)


@tensor_method
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element is nonzero (uint8 input gives uint8, as torch)."""
    return _truth(input, dim, keepdim, "all")


@tensor_method
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _truth(input, dim, keepdim, "any")


@tensor_method
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    xp = input._backend.xp
    out = xp.count_nonzero(input._data, axis=_dims(input, dim))
    return wrap(xp.asarray(out, dtype=dt.int64.np), input)


# Moved to reduce_stats.py; still importable from here (``from .reduce import norm``).
_MOVED = frozenset("var std var_mean std_mean logsumexp norm PNorm _correction _var".split())


def __getattr__(name: str):
    if name in _MOVED:
        from . import reduce_stats
        return getattr(reduce_stats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "median",
           "argmax", "argmin", "all", "any", "count_nonzero", "return_types"]
