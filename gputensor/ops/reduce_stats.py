"""Statistical and norm reductions: var/std (and their ``_mean`` forms), logsumexp, norm.

var, std and logsumexp are compositions of differentiable ops; ``PNorm`` is a Function with its
own backward. Split from ``reduce.py``, which re-exports these names."""
from __future__ import annotations

import builtins
import math
import warnings

from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._util import wrap
from .reduce import _dims, _expand_back, _out_shape, _require_float, amax, amin, mean


def _correction(dim, unbiased, correction):
    """Accept torch's spellings: var(x, dim, unbiased), var(x, unbiased), correction=."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is not None and unbiased is not None:
        raise RuntimeError("var/std: cannot pass both 'unbiased' and 'correction'")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _var(input: Tensor, dim, unbiased, keepdim: bool, correction, name: str) -> Tensor:
    dim, correction = _correction(dim, unbiased, correction)
    _require_float(input, name)
    dims = _dims(input, dim)
    n = math.prod(input._data.shape[d] for d in dims)
    if n - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=4)
    centered = input - input.mean(dims, keepdim=True)
    return (centered * centered).sum(dims, keepdim=keepdim) / builtins.max(n - correction, 0)


@tensor_method
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``)."""
    return _var(input, dim, unbiased, keepdim, correction, "var")


class _SqrtOfVar(Function):
    """std from var: torch's std backward gives 0 (not nan) where std is 0."""

    @staticmethod
    def forward(ctx, v):
        out = v._backend.xp.sqrt(v._data)
        ctx.save_for_backward(wrap(out, v))
        return wrap(out, v)

    @staticmethod
    def backward(ctx, g):
        from .pointwise import where
        (s,) = ctx.saved_tensors
        return where(s == 0, 0.0, g / (2 * s))


def _std(input: Tensor, dim, unbiased, keepdim: bool, correction, name: str) -> Tensor:
    return _SqrtOfVar.apply(_var(input, dim, unbiased, keepdim, correction, name))


@tensor_method
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    return _std(input, dim, unbiased, keepdim, correction, "std")


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    mdim = None if isinstance(dim, bool) else dim
    return (_var(input, dim, unbiased, keepdim, correction, "var_mean"),
            mean(input, mdim, keepdim))


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    mdim = None if isinstance(dim, bool) else dim
    return (_std(input, dim, unbiased, keepdim, correction, "std_mean"),
            mean(input, mdim, keepdim))


@tensor_method
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` without overflow (the max is factored out)."""
    from .elementwise import _float
    from .compare import isfinite
    from .pointwise import where
    x = _float(input)
    dims = _dims(x, dim)
    m = amax(x.detach(), dims, keepdim=True) if x.numel() else x.detach().sum(dims, True)
    m = where(isfinite(m), m, 0.0)
    out = (x - m).exp().sum(dims, keepdim=True).log() + m
    return out if keepdim else out.reshape(_out_shape(x._data.shape, dims, False))


class PNorm(Function):
    """(sum |x|^p)^(1/p) for finite p > 0; its gradient is 0 where the norm is 0 (as torch)."""

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xp = x._backend.xp
        a = xp.abs(x._data)
        if p == 2:
            out = xp.sqrt(xp.sum(a * a, axis=dims, keepdims=keepdim))
        elif p == 1:
            out = xp.sum(a, axis=dims, keepdims=keepdim)
        else:
            out = xp.sum(a ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
        out = wrap(xp.asarray(out, dtype=x._data.dtype), x)
        ctx.meta = (x._data.shape, p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        from .pointwise import where
        x, out = ctx.saved_tensors
        shape, p, dims, keepdim = ctx.meta
        g, out = (_expand_back(t, shape, dims, keepdim) for t in (g, out))
        if p == 1:
            return g * x.sign(), None, None, None
        scale = out if p == 2 else out ** (p - 1)
        scale = where(out == 0, 1.0, scale)
        num = x if p == 2 else x.sign() * x.abs() ** (p - 1)
        return g * num / scale, None, None, None


@tensor_method
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): p = 'fro'/2, 1, inf, -inf, 0, any
    other positive number."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "norm")
    dims = _dims(input, dim)
    if p in ("fro", None):
        p = 2
    if p == "nuc":
        raise NotImplementedError("norm(p='nuc') (nuclear norm) is not supported")
    if not isinstance(p, (int, float)):
        raise ValueError(f"norm(): unsupported p={p!r}")
    if p == math.inf:
        return amax(input.abs(), dims, keepdim)
    if p == -math.inf:
        return amin(input.abs(), dims, keepdim)
    if p == 0:
        return (input != 0).sum(dims, keepdim).to(input.dtype)
    if p < 0:
        raise ValueError(f"norm(): negative p={p} is not supported")
    return PNorm.apply(input, float(p), dims, keepdim)


__all__ = ["var", "std", "var_mean", "std_mean", "logsumexp", "norm"]
