"""Scans along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Scans that NumPy has no backend-neutral primitive for (running max with its index, running
logaddexp) use a Hillis-Steele scan: log2(n) steps of elementwise ops, so they run unchanged on
NumPy and CuPy. Backward formulas follow torch's (reversed cumsums are computed by flipping, not
as ``total - cumsum``, which cancels catastrophically).
"""
from __future__ import annotations

import numpy as np

from .._torch_args import _TORCH_TYPE
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .reduce import _int_accumulator, _others_replaced, return_types


def _reverse_cumsum(g: Tensor, d: int) -> Tensor:
    """out_i = sum_{k >= i} g_k along ``d`` (differentiable, no cancellation)."""
    return g.flip(d).cumsum(d).flip(d)


def _hillis_steele(xp, arrays: tuple, combine, axis: int) -> tuple:
    """Inclusive scan of ``arrays`` (same shape) along ``axis`` with an associative
    ``combine(earlier, later) -> tuple``, in log2(n) elementwise steps."""
    arrays = tuple(xp.moveaxis(a, axis, -1).copy() for a in arrays)
    n, s = arrays[0].shape[-1], 1
    while s < n:
        merged = combine(tuple(a[..., :-s] for a in arrays), tuple(a[..., s:] for a in arrays))
        new = tuple(a.copy() for a in arrays)
        for a, m in zip(new, merged):
            a[..., s:] = m
        arrays, s = new, 2 * s
    return tuple(xp.moveaxis(a, -1, axis) for a in arrays)


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, d, np_dtype):
        ctx.d = d
        return wrap(x._backend.xp.cumsum(x._data, axis=d, dtype=np_dtype), x)

    @staticmethod
    def backward(ctx, g):
        return _reverse_cumsum(g, ctx.d), None, None


class Cumprod(Function):
    """Backward as torch's cumprod_backward: divide by x only where no zero precedes; with
    zeros, an O(n) masked formula for first-order gradients and the exact O(n^2) one when a
    graph of the gradient is being built (create_graph)."""

    @staticmethod
    def forward(ctx, x, d, np_dtype):
        out = wrap(x._backend.xp.cumprod(x._data, axis=d, dtype=np_dtype), x)
        ctx.d = d
        if ctx.needs_input_grad[0]:
            ctx.has_zero = bool((x._data == 0).any())
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        from .pointwise import where
        x, out = ctx.saved_tensors
        d = ctx.d
        if x.shape[d] <= 1:
            return g, None, None
        if not ctx.has_zero:
            return _reverse_cumsum(g * out, d) / x, None, None
        if grad_mode.is_grad_enabled():
            return _cumprod_grad_quadratic(x, g, d), None, None
        is_zero = x == 0
        nz = is_zero.cumsum(d)
        before = nz == 0  # positions before the first zero: y_k / x_i is exact there
        grad = where(before, _reverse_cumsum(where(before, out * g, 0.0), d)
                     / where(before, x, 1.0), 0.0)
        first = is_zero & (nz == 1)
        between = (nz == 1) & ~is_zero  # after the first zero, before the second
        tail = (where(between, x, 1.0).cumprod(d) * where(nz == 1, g, 0.0)).sum(d, keepdim=True)
        head = out.narrow(d, 0, x.shape[d] - 1)
        from .creation import ones
        from .join_split import cat
        one = ones(tuple(1 if i == d else s for i, s in enumerate(x.shape)), dtype=x.dtype,
                   device=x.device)
        prev = cat([one, head], d)  # y_{i-1} (exclusive cumprod)
        return grad + where(first, tail * prev, 0.0), None, None


def _cumprod_grad_quadratic(x: Tensor, g: Tensor, d: int) -> Tensor:
    """grad_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j, exactly (differentiable)."""
    from .pointwise import where
    xl, gl = x.transpose(d, -1), g.transpose(d, -1)
    n = xl.shape[-1]
    c = _others_replaced(xl).cumprod(-1)
    xp = x._backend.xp
    upper = wrap(xp.triu(xp.ones((n, n), dtype=bool)), x)  # k >= i
    picked = where(upper, c * gl.reshape(tuple(gl.shape[:-1]) + (1, n)), 0.0)
    return picked.sum(-1).transpose(d, -1)


def _cumulative(fn_cls, input: Tensor, dim: int, dtype) -> Tensor:
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        return fn_cls.apply(input.reshape(1), 0, _int_accumulator(input, dtype)).reshape(())
    return fn_cls.apply(input, d, _int_accumulator(input, dtype))


@tensor_method
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _cumulative(Cumsum, input, dim, dtype)


@tensor_method
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _cumulative(Cumprod, input, dim, dtype)


def _running_index(xp, a, d: int, better) -> "array":
    """Index of the running extreme along ``d``: a later element wins ties and NaN counts as
    the extreme (torch's cummax/cummin)."""
    idx = xp.broadcast_to(xp.arange(a.shape[d], dtype=np.int64).reshape(
        tuple(-1 if i == d else 1 for i in range(a.ndim))), a.shape)
    floating = a.dtype.kind == "f"

    def combine(early, late):
        (va, ia), (vb, ib) = early, late
        take = better(vb, va) | (vb == va)
        if floating:
            take = take | xp.isnan(vb)
        return xp.where(take, vb, va), xp.where(take, ib, ia)

    return _hillis_steele(xp, (a, idx), combine, d)[1]


def _cum_extreme(input: Tensor, dim: int, name: str, better):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    xp = input._backend.xp
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        return getattr(return_types, name)(input.clone(),
                                           wrap(xp.zeros((), dtype=np.int64), input))
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.size == 0:
        return getattr(return_types, name)(input.clone(),
                                           wrap(xp.zeros(input._data.shape, np.int64), input))
    idx = wrap(_running_index(xp, input._data, d, better), input)
    return getattr(return_types, name)(input.gather(d, idx), idx)


@tensor_method
def cummax(input: Tensor, dim: int):
    """(values, indices) of the running maximum along ``dim``; gradients flow to the indices."""
    return _cum_extreme(input, dim, "cummax", lambda a, b: a > b)


@tensor_method
def cummin(input: Tensor, dim: int):
    """(values, indices) of the running minimum along ``dim``; gradients flow to the indices."""
    return _cum_extreme(input, dim, "cummin", lambda a, b: a < b)


class Logcumsumexp(Function):
    @staticmethod
    def forward(ctx, x, d):
        xp = x._backend.xp
        with np.errstate(all="ignore"):
            (out,) = _hillis_steele(xp, (x._data,), lambda a, b: (xp.logaddexp(a[0], b[0]),), d)
        out = wrap(out, x)
        ctx.d = d
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """torch's formula: split g by sign and work in log space, so nothing overflows."""
        from .pointwise import where
        x, out = ctx.saved_tensors
        d = ctx.d
        lowest = float(np.finfo(x._data.dtype).min)

        def part(mask):
            log_g = where(mask, where(mask, g.abs(), 1.0).log(), lowest)
            return (logcumsumexp((log_g - out).flip(d), d).flip(d) + x).exp()

        with np.errstate(all="ignore"):
            return part(g > 0) - part(g < 0), None


@tensor_method
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, computed stably with a running logaddexp."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"logcumsumexp_out_{input.device.type}" not implemented for '
                                  f"'{_torch_name(input)}'")
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        return Logcumsumexp.apply(input.reshape(1), 0).reshape(())
    return Logcumsumexp.apply(input, _wrap_dim(dim, input._data.ndim))


def _torch_name(x: Tensor) -> str:
    """The dtype as torch's kernel errors spell it ('Long', 'Int', 'Bool' ...)."""
    return _TORCH_TYPE.get(x.dtype.name, x.dtype.name)


def _inplace_cumulative(op):
    def method(self: Tensor, dim: int, *, dtype=None) -> Tensor:
        return self._assign(op(self.clone(), dim, dtype=dtype))
    method.__name__ = method.__qualname__ = op.__name__ + "_"
    return method


Tensor.cumsum_ = _inplace_cumulative(cumsum)
Tensor.cumprod_ = _inplace_cumulative(cumprod)


__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]
