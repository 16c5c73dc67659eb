"""Quantiles (quantile, nanquantile with every interpolation mode), pdist and histogramdd.

Order statistics sort (differentiably) and gather, so gradients flow to the chosen elements as
in torch; pdist is a composition of differentiable ops over the i < j row pairs.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .reduce import return_type

_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


# -- quantiles --------------------------------------------------------------------------------

def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    name = "nanquantile" if ignore_nan else "quantile"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if interpolation not in _INTERP:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    xp = input._backend.xp
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qa = xp.asarray([q], dtype=input._data.dtype)
    else:
        if q.dtype != input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        qa = q._data.reshape(-1)
        if bool(((qa < 0) | (qa > 1)).any()):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        scalar_q = q.ndim == 0
    if dim is None:
        x, out_shape = input.reshape(-1), ((1,) * input.ndim if keepdim else ())
    else:
        d = _wrap_dim(dim, max(input.ndim, 1))
        x = input.reshape(1) if input.ndim == 0 else input.movedim(d, -1)
        shp = list(input.shape)
        if keepdim:
            if shp:
                shp[d] = 1
        elif shp:
            del shp[d]
        out_shape = tuple(shp)
    n = x.shape[-1]
    srt = x.sort(-1).values  # NaN sorts last
    nan = xp.isnan(x._data)
    valid = (n - nan.sum(-1, keepdims=True)) if ignore_nan else xp.full(nan.shape[:-1] + (1,), n)
    pos = qa * (xp.maximum(valid, 1) - 1).astype(qa.dtype)  # (..., Q)
    lo = xp.floor(pos)
    if interpolation == "nearest":
        lo = hi = xp.round(pos)  # half to even, as torch
    else:
        hi = xp.ceil(pos)
    lo_i = wrap(lo.astype(np.int64), x)
    hi_i = wrap(hi.astype(np.int64), x)
    v_lo, v_hi = srt.gather(-1, lo_i), srt.gather(-1, hi_i)
    if interpolation in ("lower", "nearest"):
        out = v_lo
    elif interpolation == "higher":
        out = v_hi
    elif interpolation == "midpoint":
        out = v_lo + (v_hi - v_lo) * 0.5
    else:
        w = wrap((pos - lo).astype(qa.dtype), x)
        out = v_lo + (v_hi - v_lo) * w  # torch's lerp
    bad = (valid == 0) if ignore_nan else nan.any(-1, keepdims=True)
    if bool(bad.any()):
        from .pointwise import where
        out = where(wrap(xp.broadcast_to(bad, out._data.shape), x), float("nan"), out)
    out = out.movedim(-1, 0)  # (Q, ...)
    return out.reshape(out_shape if scalar_q else (qa.shape[0],) + out_shape)


@tensor_method
def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """q-th quantiles along ``dim`` (flattened when None); nan where a slice holds a nan."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


@tensor_method
def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """quantile ignoring nans (nan only where a slice is all nan)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


# -- distances --------------------------------------------------------------------------------

def _pnorm(diff: Tensor, p: float, dim: int = -1, keepdim: bool = False) -> Tensor:
    from ..linalg import vector_norm
    return vector_norm(diff, p, dim, keepdim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Distances between all pairs of rows i < j of an (N, M) input, in row-major order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    xp = input._backend.xp
    i, j = np.triu_indices(n, 1)
    ii, jj = (wrap(xp.asarray(v.astype(np.int64)), input) for v in (i, j))
    return _pnorm(input.index_select(0, ii) - input.index_select(0, jj), p)


_HISTDD = return_type("histogramdd", ["hist", "bin_edges"])


def histogramdd(input: Tensor, bins=10, *, range=None, weight: Tensor | None = None,
                density: bool = False):
    """D-dimensional histogram of the rows of an (..., D) input: (hist, tuple of bin edges).
    ``bins``: an int, D ints, or D edge tensors; ``range``: [lo0, hi0, lo1, hi1, ...]."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"\"histogramdd\" not implemented for '{input.dtype.name}'")
    xp = input._backend.xp
    d = input.shape[-1]
    sample = input._data.reshape(-1, d)
    if isinstance(bins, Tensor) or (isinstance(bins, (list, tuple)) and bins
                                    and isinstance(bins[0], Tensor)):
        edges_in = [b._data for b in (bins if isinstance(bins, (list, tuple)) else [bins])]
        b_arg = edges_in
    else:
        b_arg = [int(b) for b in bins] if isinstance(bins, (list, tuple)) else [int(bins)] * d
    rng = None if range is None else [(float(range[2 * i]), float(range[2 * i + 1]))
                                      for i in builtins.range(d)]
    w = None if weight is None else weight._data.reshape(-1)
    hist, edges = xp.histogramdd(sample, bins=b_arg, range=rng, weights=w, density=density)
    dtp = input._data.dtype
    return _HISTDD(wrap(hist.astype(dtp), input),
                   tuple(wrap(e.astype(dtp), input) for e in edges))


# nanmedian mode aminmax cov corrcoef live in stats_misc; cdist dist pairwise_distance
# cosine_similarity in distance (tests/test_stats.py covers them against torch).
__all__ = ["quantile", "nanquantile", "pdist", "histogramdd"]
