"""Counting ops: histc, bincount, histogram (none differentiable, as in torch)."""
from __future__ import annotations

import types

import numpy as np

from ..tensor import Tensor, tensor_method
from ._util import wrap
from .reduce import return_type, return_types
from .scan import _torch_name

_histogram_type = return_type("histogram", ["hist", "bin_edges"])
if isinstance(return_types, types.SimpleNamespace):
    return_types.histogram = _histogram_type


def _check(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def _c_name(x: Tensor) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(x.dtype.name,
                                                                              x.dtype.name)


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:g}"


def _edges_range(xp, a, lo: float, hi: float, name: str) -> tuple:
    """torch's range rule: (0, 0) means the data's min/max; an empty range widens by 1."""
    if lo > hi:
        raise RuntimeError(f"{name}: max must be larger than min")
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"{name}: range of [{_fmt(lo)}, {_fmt(hi)}] is not finite")
    return lo, hi


def _bin_counts(xp, a, lo: float, hi: float, bins: int, weights=None):
    """Counts (or weight sums) of ``a`` in ``bins`` equal bins over [lo, hi]; the last bin is
    closed, elements outside (and NaN) are dropped."""
    a = a.reshape(-1)
    with np.errstate(all="ignore"):
        keep = (a >= lo) & (a <= hi)
        pos = ((a - a.dtype.type(lo)) * a.dtype.type(bins) / a.dtype.type(hi - lo))
        pos = xp.where(keep, pos, 0).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)[keep]
    w = None if weights is None else weights.reshape(-1)[keep].astype(np.float64)
    return xp.bincount(pos, weights=w, minlength=bins)[:bins]


def _check_bins(bins) -> None:
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")


@tensor_method
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts in ``bins`` equal-width bins over [min, max] (the data's range when both are
    0), in input's dtype."""
    _check(input, "histc")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_{input.device.type}\" not implemented for "
                                  f"'{_torch_name(input)}'")
    _check_bins(bins)
    xp, a = input._backend.xp, input._data
    lo, hi = _edges_range(xp, a, float(min), float(max), "torch.histc")
    return wrap(_bin_counts(xp, a, lo, hi, int(bins)).astype(a.dtype), input)


@tensor_method
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Occurrences of each value of a 1-D non-negative integer tensor (weight sums with
    ``weights``: float32 weights give float32, anything else float64, as torch)."""
    _check(input, "bincount")
    xp, a = input._backend.xp, input._data
    if a.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_{input.device.type}\" not implemented for "
                                  f"'{_torch_name(input)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if a.ndim != 1 or (a.size and int(a.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = None
    if weights is not None:
        if weights._data.ndim != 1 or weights._data.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        w = weights._data
    out_dtype = np.int64 if w is None else (np.float32 if w.dtype == np.float32 else np.float64)
    if a.size == 0:
        return wrap(xp.zeros(minlength, dtype=out_dtype), input)
    counts = xp.bincount(a.astype(np.int64), weights=None if w is None else
                         w.astype(np.float64), minlength=minlength)
    return wrap(counts.astype(out_dtype), input)


@tensor_method
def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,
              density: bool = False):
    """(hist, bin_edges): ``bins`` equal bins over ``range`` (default: the data's min/max) or
    the given monotonic edges tensor; ``density`` normalizes to unit integral."""
    _check(input, "histogram")
    xp, a = input._backend.xp, input._data
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_torch_name(input)}'")
    w = None if weight is None else weight._data
    if isinstance(bins, Tensor):
        if bins._data.dtype != a.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the "
                               f"same dtype, but got input with dtype {_c_name(input)} and bins "
                               f"for dimension 0 with dtype {_c_name(bins)}")
        edges = bins._data
        flat = a.reshape(-1)
        idx = xp.searchsorted(edges, flat, side="right") - 1
        nb = edges.shape[0] - 1
        idx = xp.where(flat == edges[-1], nb - 1, idx)
        keep = (idx >= 0) & (idx < nb) & (flat >= edges[0]) & (flat <= edges[-1])
        hist = xp.bincount(idx[keep].astype(np.int64), minlength=nb,
                           weights=None if w is None else w.reshape(-1)[keep].astype(np.float64))
        hist = hist[:nb]
    else:
        _check_bins(bins)
        lo, hi = (0.0, 0.0) if range is None else (float(range[0]), float(range[1]))
        lo, hi = _edges_range(xp, a, lo, hi, "torch.histogram")
        edges = xp.linspace(lo, hi, int(bins) + 1).astype(a.dtype)
        hist = _bin_counts(xp, a, lo, hi, int(bins), w)
    hist = hist.astype(a.dtype)
    if density:
        widths = xp.diff(edges)
        with np.errstate(all="ignore"):
            hist = hist / (hist.sum() * widths)
    return _histogram_type(wrap(hist, input), wrap(xp.ascontiguousarray(edges), input))


__all__ = ["histc", "bincount", "histogram"]
