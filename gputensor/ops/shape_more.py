"""More shape ops: ``diag_embed meshgrid repeat_interleave Tensor.unfold cartesian_prod block_diag
combinations``. Each is a view or is built from differentiable ops, except ``unfold`` (a strided
view, like torch's) and ``block_diag``, which are ``Function``s whose backward is their adjoint."""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import wrap
from .linalg import scalar_name
from .diagonals import DiagonalInto
from .join_split import stack


@tensor_method
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose ``diagonal(offset, dim1, dim2)`` is ``input``'s last dim; zeros elsewhere."""
    nd = input.ndim + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] + abs(int(offset))
    rest = iter(input.shape[:-1])
    shape = tuple(n if i in (d1, d2) else next(rest) for i in range(nd))
    return DiagonalInto.apply(input, shape, int(offset), d1, d2)


def _tensor_args(tensors: tuple) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Grids (expanded views) from 0-d/1-d tensors; 'ij' (matrix) or 'xy' (Cartesian) indexing."""
    ts = _tensor_args(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f'{indexing}')
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != ts[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        out.append(t.reshape(tuple(view)).expand(*shape))
    if swap:  # grids keep the swapped (Cartesian) shape; outputs return to input order
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _repeats_array(repeats: Tensor):
    if repeats.ndim > 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if repeats._data.dtype.kind not in "iu":
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                  f"'{scalar_name(repeats)}'")
    r = np.asarray(repeats.detach().cpu().numpy()).reshape(-1).astype(np.int64)
    if (r < 0).any():
        raise RuntimeError("repeats can not be negative")
    return r


@tensor_method
def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times; with only a 1-d int tensor,
    ``repeat_interleave(r)`` is ``arange(len(r))`` repeated ``r`` times."""
    if repeats is None:
        if input.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        r = _repeats_array(input)
        xp = input._backend.xp
        idx = np.repeat(np.arange(r.size, dtype=np.int64), r)
        return wrap(xp.asarray(idx), input)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _wrap_dim(dim, max(x.ndim, 1))
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[d]
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = int(_repeats_array(repeats)[0])
    if not isinstance(repeats, Tensor):
        repeats = int(repeats)
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        if output_size is not None and output_size != n * repeats:
            raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {n * repeats} "
                               f"but got {output_size}")
        sizes = list(x.shape)
        y = x.unsqueeze(d + 1).expand(*sizes[:d + 1], repeats, *sizes[d + 1:])
        return y.reshape(tuple(sizes[:d]) + (n * repeats,) + tuple(sizes[d + 1:]))
    r = _repeats_array(repeats)
    if r.size != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {r.size} and input.size({d}) = {n}")
    if output_size is not None and output_size != int(r.sum()):
        raise RuntimeError("allocated size does not match required size")
    idx = np.repeat(np.arange(n, dtype=np.int64), r)
    return x.index_select(d, wrap(x._backend.xp.asarray(idx), x))


# -- Tensor.unfold: sliding windows as a strided view ---------------------------------------------

class Unfold(Function):
    @staticmethod
    def forward(ctx, x, d, size, step):
        a = x._data
        n = (a.shape[d] - size) // step + 1
        ctx.meta = (a.shape, d, size, step)
        shape = a.shape[:d] + (n,) + a.shape[d + 1:] + (size,)
        strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:] + (a.strides[d],)
        view = x._backend.xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)
        return x._view_of(view)

    @staticmethod
    def backward(ctx, g):
        return (UnfoldBackward.apply(g, *ctx.meta),) + (None,) * 3


class UnfoldBackward(Function):
    """The adjoint of ``Unfold``: windows summed back into a tensor of ``shape``."""

    @staticmethod
    def forward(ctx, g, shape, d, size, step):
        ctx.meta = (d, size, step)
        out = g._backend.xp.zeros(shape, dtype=g._data.dtype)
        n = g._data.shape[d]
        lead = (slice(None),) * d
        for j in range(size):  # windows at one offset never overlap: a plain strided add
            out[lead + (slice(j, j + step * (n - 1) + 1, step),)] += g._data[..., j]
        return wrap(out, g)

    @staticmethod
    def backward(ctx, gg):
        return (Unfold.apply(gg, *ctx.meta),) + (None,) * 4


def _tensor_unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Tensor.unfold: a view of every ``size``-long window along ``dimension``, ``step`` apart
    (the windows become a new last dim)."""
    x = self.reshape(1) if self.ndim == 0 else self
    d = _wrap_dim(dimension, max(self.ndim, 1))
    if size > x.shape[d]:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {x.shape[d]} but size "
                           f"is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    out = Unfold.apply(x, d, int(size), int(step))
    return out.reshape((size,)) if self.ndim == 0 else out


Tensor.unfold = _tensor_unfold


# -- products of sets ---------------------------------------------------------------------------

def _vector(t: Tensor) -> None:
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors) -> Tensor:
    ts = _tensor_args(tensors)
    for t in ts:
        _vector(t)
    if len(ts) == 1:
        return ts[0].clone()
    return stack([g.reshape(-1) for g in meshgrid(*ts, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of a 1-d tensor's elements, as rows."""
    _vector(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[wrap(input._backend.xp.asarray(idx), input)]


class BlockDiag(Function):
    @staticmethod
    def forward(ctx, *blocks):
        rows = sum(b._data.shape[0] for b in blocks)
        cols = sum(b._data.shape[1] for b in blocks)
        like = blocks[0]
        out = like._backend.xp.zeros((rows, cols), dtype=like._data.dtype)
        spans, r0, c0 = [], 0, 0
        for b in blocks:
            r1, c1 = r0 + b._data.shape[0], c0 + b._data.shape[1]
            out[r0:r1, c0:c1] = b._data
            spans.append((r0, r1, c0, c1))
            r0, c0 = r1, c1
        ctx.spans = spans
        return wrap(out, like)

    @staticmethod
    def backward(ctx, g):
        return tuple(g[r0:r1, c0:c1] for r0, r1, c0, c1 in ctx.spans)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the inputs (0-d -> 1x1, 1-d -> one row)."""
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t.ndim} dimensions")
    if not tensors:
        from .creation import empty
        return empty(1, 0)
    rt = tensors[0].dtype
    for t in tensors[1:]:
        rt = dt.promote_types(rt, t.dtype)
    blocks = [(t.reshape(1, -1) if t.ndim < 2 else t) for t in tensors]
    blocks = [b if b.dtype == rt else b.to(rt) for b in blocks]
    return BlockDiag.apply(*blocks)


__all__ = ["diag_embed", "meshgrid", "repeat_interleave", "cartesian_prod", "combinations",
           "block_diag"]
