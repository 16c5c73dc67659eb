"""Small statistics and sampling functions of torch's top level: ``aminmax``, ``cov``,
``corrcoef``, ``dist``, ``chain_matmul``, ``binomial``, ``poisson``. The differentiable ones
are compositions of existing ops (reductions, matmul), so they get gradients everywhere."""
from __future__ import annotations

import warnings

import numpy as np

from .._generator import host_rng
from ..tensor import Tensor, tensor_method
from . import linalg as la
from . import pointwise as pw
from . import reduce as rd
from . import reduce_stats as rs
from ._util import wrap
from .elementwise import _float
from .pointwise_misc import return_types
from .reduce import return_type


@tensor_method
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` of all elements or along ``dim``, as ``amin``/``amax`` give them."""
    if input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if dim is None:
        lo, hi = rd.amin(input), rd.amax(input)
        if keepdim:
            shape = (1,) * input.ndim
            lo, hi = lo.reshape(shape), hi.reshape(shape)
        return return_types.aminmax(lo, hi)
    return return_types.aminmax(rd.amin(input, dim, keepdim), rd.amax(input, dim, keepdim))


@tensor_method
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the rows (variables) of ``input`` over its columns (observations), with
    optional integer frequency and float observation weights (NumPy's formula, like torch)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = _float(input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.is_floating_point():
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got "
                               f"fweights with {fweights.dtype.name} dtype")
        w = fweights.to(x.dtype)
    if aweights is not None:
        if not aweights.is_floating_point():
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {aweights.dtype.name} dtype")
        aw = aweights.to(x.dtype)
        w = aw if w is None else w * aw
    if w is None:
        w_sum = float(n)
        avg = x.mean(dim=1, keepdim=True)
        fact = w_sum - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(dim=1, keepdim=True) / w_sum
        fact = w_sum - (correction if aweights is None else
                        correction * (w * aweights.to(x.dtype)).sum() / w_sum)
    if float(fact.detach() if isinstance(fact, Tensor) else fact) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        fact = 0.0
    xm = x - avg
    xw = xm if w is None else xm * w
    with np.errstate(divide="ignore", invalid="ignore"):
        c = la.matmul(xw, xm.t()) / fact
    return c.reshape(()) if input.ndim < 2 or c.shape[0] == 1 else c


@tensor_method
def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation of the rows, clipped to [-1, 1] as in torch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = pw.sqrt(c.diagonal())
    c = c / d.unsqueeze(1) / d.unsqueeze(0)
    return pw.clamp(c, -1.0, 1.0)


@tensor_method
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """``p``-norm of ``input - other`` (broadcast)."""
    return rs.norm(input - other, p)


def chain_matmul(*matrices, out=None) -> Tensor:
    """Deprecated product of 2-D matrices (``linalg.multi_dot``)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:
        return matrices[0].clone()
    result = matrices[0]
    for m in matrices[1:]:
        result = la.mm(result, m)
    return result


def _host_or_device(like: Tensor, generator):
    """Counts come from NumPy's samplers on the host (``generator``'s stream, else the global
    cpu one, which ``manual_seed`` seeds), then move to ``like``'s device."""
    return host_rng(generator)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial(count, prob) samples in ``count``'s dtype (no gradient)."""
    if not count.is_floating_point():
        raise RuntimeError(f"\"binomial_cpu\" not implemented for "
                           f"'{count.dtype.name.capitalize()}'")
    rng = _host_or_device(count, generator)
    n = np.asarray(count.cpu().numpy(), np.int64)
    p = np.clip(np.asarray(prob.cpu().numpy(), np.float64), 0.0, 1.0)
    out = rng.binomial(n, p).astype(count._data.dtype)
    return wrap(count._backend.from_numpy(out) if count.is_cuda else out, count)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson(rate = input) samples in ``input``'s dtype (no gradient)."""
    if not input.is_floating_point():
        raise RuntimeError(f"\"poisson_cpu\" not implemented for "
                           f"'{input.dtype.name.capitalize()}'")
    rng = _host_or_device(input, generator)
    lam = np.asarray(input.cpu().numpy(), np.float64)
    if (lam < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    out = rng.poisson(lam).astype(input._data.dtype)
    return wrap(input._backend.from_numpy(out) if input.is_cuda else out, input)


def _last_dim(input: Tensor, dim: int):
    """``input``'s array with ``dim`` moved last, flattened to (rows, n), and ``dim`` wrapped."""
    from ..tensor import _wrap_dim
    d = _wrap_dim(dim, input.ndim)
    xp = input._backend.xp
    a = xp.moveaxis(input._data.reshape(input._data.shape or (1,)), d, -1)
    return a.reshape(-1, a.shape[-1]), a.shape[:-1], d


def _values_at(input: Tensor, idx, lead: tuple, d: int, keepdim: bool, name: str):
    """(values, indices) namedtuple: ``idx`` per row; values gathered (differentiable)."""
    xp = input._backend.xp
    if input.ndim == 0:
        return getattr(return_types, name)(input.clone(), wrap(xp.zeros((), np.int64), input))
    index = wrap(xp.expand_dims(idx.reshape(lead).astype(np.int64), d), input)
    values = input.gather(d, index)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return getattr(return_types, name)(values, index)


@tensor_method
def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """Most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence, as torch returns them."""
    xp = input._backend.xp
    a, lead, d = _last_dim(input, dim)
    rows, n = a.shape
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    order = xp.argsort(a, axis=-1, kind="stable")
    s = xp.take_along_axis(a, order, axis=-1)
    new_run = xp.concatenate([xp.ones((rows, 1), bool), s[:, 1:] != s[:, :-1]], axis=1)
    run = xp.cumsum(new_run, axis=1) - 1 + xp.arange(rows)[:, None] * n
    length = xp.bincount(run.reshape(-1), minlength=rows * n)[run]
    first = xp.argmax(length, axis=1)
    r = xp.arange(rows)
    last = first + length[r, first] - 1
    return _values_at(input, order[r, last], lead, d, keepdim, "mode")


@tensor_method
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where every element is NaN)."""
    xp = input._backend.xp
    if dim is None:
        flat = input.reshape(-1)
        keep = ~pw.isnan(flat)
        if not bool(keep._data.any()):
            return flat.sum() * float("nan")
        return rd.median(flat[keep])
    a, lead, d = _last_dim(input, dim)
    if a.shape[1] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {d} to have non-zero size.")
    order = xp.argsort(a, axis=-1, kind="stable")  # NaN sorts last
    k = (~xp.isnan(a)).sum(axis=1)
    pos = xp.maximum(k - 1, 0) // 2
    return _values_at(input, order[xp.arange(a.shape[0]), pos], lead, d, keepdim, "nanmedian")


return_types.nanmedian = return_type("nanmedian", ["values", "indices"])


__all__ = ["mode", "nanmedian", "aminmax", "cov", "corrcoef", "dist", "chain_matmul", "binomial",
           "poisson"]

