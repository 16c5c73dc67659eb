"""Sorting and searching: sort argsort msort topk kthvalue unique unique_consecutive
searchsorted bucketize.

Orders come from the backend's stable argsort (NaN sorts as the largest value, as in torch);
descending order is the ascending one of the reversed array, reversed, so it stays stable.
Values are ``gather``ed at the indices, so their gradient (a scatter into the input) and its
double backward come from ``gather``.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .reduce import return_types


def _check(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def _argsort(xp, a, axis: int, descending: bool = False):
    """Stable argsort along ``axis`` (NaN last ascending, first descending)."""
    kind = {"kind": "stable"} if xp is np else {}
    if not descending:
        return xp.argsort(a, axis=axis, **kind)
    n = a.shape[axis]
    rev = xp.flip(a, axis=axis)
    order = xp.flip(xp.argsort(rev, axis=axis, **kind), axis=axis)
    return (n - 1) - order


def _zero_index(x: Tensor) -> Tensor:
    return wrap(x._backend.xp.zeros(x._data.shape, dtype=np.int64), x)


@tensor_method
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """Indices (int64) that sort ``input`` along ``dim`` (always stable here)."""
    _check(input, "argsort")
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        return _zero_index(input)
    d = _wrap_dim(dim, input._data.ndim)
    idx = _argsort(input._backend.xp, input._data, d, descending)
    return wrap(idx.astype(np.int64, copy=False), input)


@tensor_method
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """(values, indices) sorted along ``dim``; stable whatever ``stable`` says (torch allows a
    stable result when stable=False)."""
    _check(input, "sort")
    if isinstance(dim, bool):  # sort(x, True) is not sort(x, dim=1)
        raise TypeError("sort(): argument 'dim' must be int, not bool")
    idx = argsort(input, dim, descending, stable=stable)
    if input._data.ndim == 0:
        return return_types.sort(input.clone(), idx)
    return return_types.sort(input.gather(_wrap_dim(dim, input._data.ndim), idx), idx)


@tensor_method
def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


@tensor_method
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, in sorted
    order (``sorted=False`` is allowed any order by torch; this returns them sorted)."""
    _check(input, "topk")
    size = input._data.shape[_wrap_dim(dim, input._data.ndim)] if input._data.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        if k == 0:
            raise RuntimeError("selected index k out of range")
        return return_types.topk(input.clone(), _zero_index(input))
    d = _wrap_dim(dim, input._data.ndim)
    idx = argsort(input, d, descending=largest).narrow(d, 0, int(k))
    return return_types.topk(input.gather(d, idx), idx)


@tensor_method
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element along ``dim`` (1-based) and its index."""
    _check(input, "kthvalue")
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        if k != 1:
            raise RuntimeError("kthvalue(): selected number k out of range for dimension 0")
        return return_types.kthvalue(input.clone(), _zero_index(input))
    d = _wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if size == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    idx = argsort(input, d).narrow(d, int(k) - 1, 1)
    values = input.gather(d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return return_types.kthvalue(values, idx)


# -- unique -----------------------------------------------------------------------------------

def _rows(x: Tensor, dim):
    """The array to deduplicate as (n, m) rows (dim given) or (n, 1) elements (dim None)."""
    a = x._data
    if dim is None:
        return a.reshape(-1, 1), None
    d = _wrap_dim(dim, a.ndim)
    moved = x._backend.xp.moveaxis(a, d, 0)
    return moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:]))), (d, moved.shape)


def _lex_order(xp, rows):
    """Stable lexicographic order of ``rows`` (an LSD radix of stable argsorts)."""
    order = xp.arange(rows.shape[0])
    for j in range(rows.shape[1] - 1, -1, -1):
        order = order[_argsort(xp, rows[order, j], 0)]
    return order


def _dedup(x: Tensor, dim, return_inverse: bool, return_counts: bool, sort_first: bool,
           name: str):
    _check(x, name)
    xp = x._backend.xp
    rows, meta = _rows(x, dim)
    n = rows.shape[0]
    order = _lex_order(xp, rows) if sort_first and n else xp.arange(n)
    s = rows[order]
    new = xp.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (s[1:] != s[:-1]).any(axis=1)  # NaN != NaN: NaNs stay distinct, as torch
    starts = xp.nonzero(new)[0]
    uniq = s[starts]
    if meta is None:
        out = uniq.reshape(-1)
    else:
        d, moved_shape = meta
        out = xp.moveaxis(uniq.reshape((uniq.shape[0],) + tuple(moved_shape[1:])), 0, d)
    results = [wrap(xp.ascontiguousarray(out), x)]
    if return_inverse:
        inv = xp.empty(n, dtype=np.int64)
        inv[order] = xp.cumsum(new) - 1
        results.append(wrap(inv.reshape(x._data.shape) if meta is None else inv, x))
    if return_counts:
        ends = xp.concatenate([starts[1:], xp.asarray([n], dtype=starts.dtype)])
        results.append(wrap((ends - starts).astype(np.int64), x))
    return results[0] if len(results) == 1 else tuple(results)


@tensor_method
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """Sorted unique elements (or slices along ``dim``), optionally with the inverse map and
    the counts. NaNs are not merged (as torch); not differentiable."""
    return _dedup(input, dim, return_inverse, return_counts, True, "unique")


@tensor_method
def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    return _dedup(input, dim, return_inverse, return_counts, False, "unique_consecutive")


# -- searchsorted / bucketize ----------------------------------------------------------------

def _as_values(values, like: Tensor) -> Tensor:
    if isinstance(values, Tensor):
        return values
    if isinstance(values, (int, float, bool)):
        return wrap(like._backend.xp.asarray(values), like)
    raise TypeError(f"searchsorted(): argument 'input' must be Tensor or Number, not "
                    f"{type(values).__name__}")


def _search(seq: Tensor, values: Tensor, side: str, out_int32: bool) -> Tensor:
    xp = seq._backend.xp
    rt = dt.result_type(seq, values).np
    s, v = seq._data.astype(rt, copy=False), values._data.astype(rt, copy=False)
    if s.ndim == 1:
        out = xp.searchsorted(s, v.reshape(-1), side=side).reshape(v.shape)
    else:
        s2, v2 = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = xp.stack([xp.searchsorted(s2[i], v2[i], side=side) for i in range(s2.shape[0])]) \
            if s2.shape[0] else xp.zeros(v2.shape, dtype=np.int64)
        out = out.reshape(v.shape)
    return wrap(xp.asarray(out).astype(np.int32 if out_int32 else np.int64), seq)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | None = None
                 ) -> Tensor:
    """Insertion indices of ``input`` into the innermost dim of ``sorted_sequence`` (1-D, or
    with leading dims matching ``input``'s); ``right``/``side='right'`` place after equals."""
    _check(sorted_sequence, "searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if side == "left" and right:
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
    side = side or ("right" if right else "left")
    values = _as_values(input, sorted_sequence)
    sshape, vshape = tuple(sorted_sequence.shape), tuple(values.shape)
    if sorted_sequence._data.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if sorted_sequence._data.ndim > 1 and (values._data.ndim != len(sshape)
                                           or vshape[:-1] != sshape[:-1]):
        if values._data.ndim == 0:
            raise RuntimeError("torch.searchsorted(): input value can be a scalar only when "
                               "boundaries tensor dimension is 1, but we got boundaries tensor "
                               f"dim({len(sshape)}) and input value's dim(0) numel(1)")
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor {list(sshape)} "
                           f"and input value tensor {list(vshape)}")
    if sorter is not None:
        if tuple(sorter.shape) != sshape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(sshape)}and got sorter "
                               f"tensor {list(sorter.shape)}")
        sorted_sequence = sorted_sequence.gather(-1, sorter)
    return _search(sorted_sequence, values, side, out_int32)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """Bucket index of each element for 1-D ``boundaries`` (``right``: b[i-1] <= x < b[i])."""
    _check(boundaries, "bucketize")
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim})")
    return _search(boundaries, _as_values(input, boundaries), "right" if right else "left",
                   out_int32)


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "searchsorted", "bucketize"]
