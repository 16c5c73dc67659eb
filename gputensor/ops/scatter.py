"""scatter_reduce (sum prod mean amax amin, include_self) and scatter(..., reduce=...).

The forward reduces src into a copy of self at flat positions: NumPy's ``ufunc.at`` on cpu;
elsewhere (CuPy has no general ``ufunc.at``) a sort by position followed by a segmented
Hillis-Steele scan, which needs only argsort and elementwise ops. The backward is torch's
scatter_reduce_backward, written with differentiable ops (gather, scatter_add, where).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .index_ops import _along, _flat, _src_part, _unflat

_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _identity(reduce: str, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _segmented_reduce_at(xp, ufunc: str, out, pos, vals) -> None:
    """``ufunc.at(out, pos, vals)`` from argsort and elementwise ops only (for CuPy)."""
    if pos.size == 0:
        return
    op = getattr(xp, ufunc)
    kind = {"kind": "stable"} if xp is np else {}
    order = xp.argsort(pos, **kind)
    p, v = pos[order], vals[order]
    n, s = p.shape[0], 1
    while s < n:  # element k combines with k-s when both belong to the same position
        same = p[s:] == p[:-s]
        merged = xp.where(same, op(v[:-s], v[s:]), v[s:])
        v = v.copy()
        v[s:] = merged
        s *= 2
    last = xp.ones(n, dtype=bool)
    last[:-1] = p[1:] != p[:-1]
    up = p[last]
    out[up] = op(out[up], v[last])


def _reduce_at(xp, ufunc: str, out, pos, vals) -> None:
    at = getattr(getattr(xp, ufunc), "at", None) if xp is np else None
    if at is not None:
        at(out, pos, vals)
    else:
        _segmented_reduce_at(xp, ufunc, out, pos, vals)


def _flat_positions(xp, key: tuple, shape: tuple, ishape: tuple):
    """Flat (C-order) positions in an array of ``shape`` addressed by the broadcast ``key``."""
    pos = xp.zeros(ishape, dtype=np.int64)
    stride = 1
    for k, size in zip(reversed(key), reversed(shape)):
        pos = pos + xp.asarray(k, dtype=np.int64) * stride
        stride *= size
    return pos.reshape(-1)


def _scatter_reduce_array(xp, x, src, key: tuple, reduce: str, include_self: bool):
    out = xp.array(x, copy=True).reshape(-1)
    pos = _flat_positions(xp, key, x.shape, src.shape)
    vals = xp.ascontiguousarray(src).reshape(-1)
    if not include_self:
        out[pos] = _identity(reduce, x.dtype)
    with np.errstate(all="ignore"):
        _reduce_at(xp, _UFUNC[reduce], out, pos, vals)
        if reduce == "mean":
            count = xp.bincount(pos, minlength=out.shape[0]) + (1 if include_self else 0)
            count = xp.maximum(count, 1).astype(out.dtype)
            out = out // count if out.dtype.kind in "iub" else out / count
    return out.reshape(x.shape).astype(x.dtype, copy=False)


class ScatterReduce(Function):
    @staticmethod
    def forward(ctx, x, src, index, dim, reduce, include_self):
        key = _along(x, dim, index, "scatter_reduce")
        out = wrap(_scatter_reduce_array(x._backend.xp, x._data, src._data, key, reduce,
                                         include_self), x)
        ctx.meta = (dim, reduce, include_self)
        ctx.save_for_backward(x, src, index, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, index, out = ctx.saved_tensors
        dim, reduce, include_self = ctx.meta
        gx, gs = _scatter_reduce_grad(g, x, src, index, out, dim, reduce, include_self)
        n = ctx.needs_input_grad
        return (gx if n[0] else None, gs if n[1] else None, None, None, None, None)


def _scatter_reduce_grad(g, x, src, index, out, dim, reduce, include_self):
    """torch's scatter_reduce_backward (FunctionsManual.cpp)."""
    from .pointwise import where
    if reduce == "sum":
        gx, gs = g, g.gather(dim, index)
    elif reduce == "mean":
        from .creation import ones_like, zeros_like
        n = ones_like(g) if include_self else zeros_like(g)
        n = n.scatter_add(dim, index, ones_like(src))
        n = where(n == 0, 1.0, n)
        gx, gs = g / n, g.gather(dim, index) / n.gather(dim, index)
    elif reduce == "prod":
        from .creation import zeros_like
        masked_x = where(x == 0, 1.0, x)
        gx = g * scatter_reduce(masked_x, dim, index, src, "prod", include_self=include_self) \
            / masked_x
        src_zero = src == 0
        n_zeros = zeros_like(x).scatter_add(dim, index, src_zero.to(x.dtype)).gather(dim, index)
        single = src_zero & (n_zeros == 1)
        masked_src = where(single, 1.0, src)
        masked_result = scatter_reduce(x, dim, index, masked_src, "prod",
                                       include_self=include_self)
        gs = where(single, (g * masked_result).gather(dim, index),
                   (g * out).gather(dim, index) / where(src_zero, 1.0, src))
    else:  # amax / amin: ties share the gradient evenly
        value = out.gather(dim, index)
        x_is = (x == out).to(x.dtype)
        src_is = (src == value).to(x.dtype)
        share = g / x_is.scatter_add(dim, index, src_is)
        gx = x_is * share
        gs = src_is * share.gather(dim, index)
    if not include_self:
        gx = gx.scatter(dim, index, 0.0)
    return gx, gs


def _check_reduce(reduce) -> None:
    if reduce not in _REDUCES + ("max", "min"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")


@tensor_method
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``
    (sum, prod, mean, amax, amin); ``include_self=False`` leaves input's scattered-to values
    out of the reduction."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' (position 4) must be Tensor, not "
                        f"{type(src).__name__}")
    x, idx = _flat(input), _flat(index)
    d = _wrap_dim(dim, x._data.ndim)  # torch checks dim, then index dtype, reduce, src dtype
    if isinstance(index, Tensor) and index._data.dtype.kind not in "iu":
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    _check_reduce(reduce)
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # torch's legacy spellings
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _along(x, d, idx, "scatter_reduce")  # validate before slicing src
    part = _src_part(src, idx, x, "scatter_reduce")
    return _unflat(ScatterReduce.apply(x, part, idx, d, reduce, include_self), input)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place ``scatter_reduce`` (through ``Tensor._assign``)."""
    self._check_inplace()
    source = self.clone() if grad_mode.is_grad_enabled() and self.requires_grad else self
    return self._assign(scatter_reduce(source, dim, index, src, reduce,
                                       include_self=include_self), (src,), alias_ok=False)


Tensor.scatter_reduce_ = scatter_reduce_


def scatter_with_reduce(input: Tensor, dim: int, index: Tensor, src, reduce: str) -> Tensor:
    """``scatter(input, dim, index, src_or_value, reduce='add'|'multiply')`` (index.py's
    scatter delegates here). Unlike torch (whose backward raises "derivative for aten::scatter
    is not implemented") this one is differentiable, as scatter_reduce is."""
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, Tensor):
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                      "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                      "instead for more reduction options.", UserWarning, stacklevel=3)
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        part = src
    else:
        xp = input._backend.xp
        part = wrap(xp.full(index._data.shape, src, dtype=input._data.dtype), input)
    return scatter_reduce(input, dim, index, part, "sum" if reduce == "add" else "prod")


__all__ = ["scatter_reduce"]
