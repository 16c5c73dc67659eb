"""Sparse COO tensors: construction, conversion and their autograd ``Function``s.

The arrays live in ``SparseTensor._data`` (``gputensor/_sparse.py``); the math runs through the
sparse library of the backend's array module: scipy.sparse for NumPy arrays (cpu and the
simulated cuda device), cupyx.scipy.sparse for CuPy arrays (a real GPU). Duplicate summation
(coalesce, to_dense) is a product with a 0/1 selection matrix in that library.

Gradients follow the dense meaning of a sparse tensor: the gradient of a sparse input is a sparse
tensor (with the input's coalesced pattern) or a dense one, and ``values``' gradient at an index
is the output gradient there, so uncoalesced inputs with duplicates get correct gradients.
Products and sums are in ``sparse_math.py``.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .. import _layout
from .._device import canonical
from .._sparse import SparseTensor, sparse_method
from ..autograd.function import Function
from ..backends import get_backend
from ..tensor import Tensor, tensor_method
from .convert import _move

# -- array helpers (backend arrays in, backend arrays out) ----------------------------------------


def _lib(xp):
    """The sparse-matrix library matching array module ``xp``."""
    if xp is np:
        import scipy.sparse as sp
    else:  # CuPy on a real GPU
        import cupyx.scipy.sparse as sp
    return sp


def _work_dtype(xp, np_dtype):
    """A dtype the sparse library multiplies in (scipy: no float16/bool; cupyx: floats only)."""
    k = np.dtype(np_dtype)
    if xp is np:
        return np.float32 if k == np.float16 else (np.int64 if k == np.bool_ else k)
    return k if k in (np.float32, np.float64) else (np.float32 if k == np.float16 else np.float64)


def _spmm(xp, rows, cols, vals, shape: tuple, dense):
    """``coo(vals, (rows, cols), shape) @ dense`` (dense 2-D) by the sparse library; duplicate
    entries sum. The result has ``vals``' dtype."""
    n, m = shape
    k = dense.shape[1]
    if n == 0 or m == 0 or k == 0 or vals.shape[0] == 0:
        return xp.zeros((n, k), dtype=vals.dtype)
    w = _work_dtype(xp, vals.dtype)
    mat = _lib(xp).coo_matrix((vals.astype(w, copy=False), (rows, cols)), shape=(n, m)).tocsr()
    out = xp.asarray(mat @ xp.ascontiguousarray(dense.astype(w, copy=False)))
    return out.astype(vals.dtype, copy=False)


def _prod(sizes) -> int:
    n = 1
    for s in sizes:
        n *= int(s)
    return n


def _segment_sum(xp, seg, n: int, values):
    """Rows of ``values`` (nnz x ...) summed into ``n`` segments by id ``seg``."""
    nnz = values.shape[0]
    rest = values.shape[1:]
    v2 = values.reshape(nnz, _prod(rest))
    sel = xp.ones(nnz, dtype=values.dtype)
    out = _spmm(xp, seg, xp.arange(nnz), sel, (n, nnz), v2)
    return out.reshape((n,) + tuple(rest))


def _linear(xp, indices, sizes):
    """Row-major linear index of each column of ``indices`` into a grid of ``sizes``."""
    lin = xp.zeros(indices.shape[1], dtype=np.int64)
    for d, s in enumerate(sizes):
        lin = lin * int(s) + indices[d]
    return lin


def _unravel(xp, lin, sizes):
    if len(sizes) == 0:
        return xp.zeros((0, lin.shape[0]), dtype=np.int64)
    return xp.stack(xp.unravel_index(lin, tuple(sizes))).astype(np.int64)


def _coalesced_arrays(xp, indices, values, sizes):
    """(indices, values) with duplicates summed and indices sorted row-major, as torch's."""
    if values.shape[0] == 0:
        return indices.copy(), values.copy()
    uniq, inv = xp.unique(_linear(xp, indices, sizes), return_inverse=True)
    vals = _segment_sum(xp, inv.reshape(-1), int(uniq.shape[0]), values)
    return _unravel(xp, uniq, sizes), vals


def _pattern(s) -> object:
    """The coalesced index pattern (no values) of sparse storage ``s``."""
    if s.coalesced:
        return s.indices
    xp = get_backend_of(s)
    sizes = s.shape[:s.indices.shape[0]]
    return _unravel(xp, xp.unique(_linear(xp, s.indices, sizes)), sizes)


def get_backend_of(s):
    """``xp`` for a storage's arrays (NumPy arrays are NumPy's even on the simulated cuda)."""
    return np if isinstance(s.values, np.ndarray) else get_backend("cuda").xp


def _dense_array(s):
    xp = get_backend_of(s)
    k = s.indices.shape[0]
    sizes = s.shape[:k]
    out = _segment_sum(xp, _linear(xp, s.indices, sizes), _prod(sizes), s.values)
    return out.reshape(s.shape)


# -- differentiable building blocks -----------------------------------------------------------


def _index_tensor(arr, like: Tensor) -> Tensor:
    return Tensor._make(arr, like._device)


def _values_at(g: Tensor, indices, sizes: tuple) -> Tensor:
    """The gradient ``g`` (sparse or dense, of a tensor whose sparse sizes are ``sizes``) read at
    each column of ``indices``: duplicates each get the full value; differentiable in ``g``."""
    xp = g._backend.xp
    nnz = indices.shape[1]
    if not g.is_sparse:
        flat = g.reshape((_prod(sizes),) + tuple(g.shape[len(sizes):]))
        return flat.index_select(0, _index_tensor(_linear(xp, indices, sizes), g))
    gs = g._data
    if gs.coalesced and (gs.indices is indices or (gs.indices.shape == indices.shape and bool(
            xp.array_equal(gs.indices, indices)))):
        return g.values()
    gc = g.coalesce()
    dense_shape = tuple(gc.shape[len(sizes):])
    if gc._nnz() == 0 or nnz == 0:
        return Tensor._make(xp.zeros((nnz,) + dense_shape, dtype=gs.dtype), g._device)
    lin_g = _linear(xp, gc._data.indices, sizes)
    lin_i = _linear(xp, indices, sizes)
    pos = xp.minimum(xp.searchsorted(lin_g, lin_i), lin_g.shape[0] - 1)
    found = (lin_g[pos] == lin_i).astype(gs.dtype).reshape((nnz,) + (1,) * len(dense_shape))
    return gc.values().index_select(0, _index_tensor(pos, g)) * Tensor._make(found, g._device)


class SparseCooTensorWithDimsAndTensors(Function):
    """values -> sparse tensor with fixed ``indices`` (node named as torch's)."""

    @staticmethod
    def forward(ctx, values: Tensor, indices, shape: tuple, coalesced: bool):
        ctx.indices, ctx.sizes = indices, tuple(shape[:indices.shape[0]])
        return SparseTensor._from_arrays(indices, values._data, shape, values._device, coalesced)

    @staticmethod
    def backward(ctx, g):
        return _values_at(g, ctx.indices, ctx.sizes), None, None, None


def _make(values: Tensor, indices, shape: tuple, coalesced: bool) -> SparseTensor:
    return SparseCooTensorWithDimsAndTensors.apply(values, indices, tuple(shape), coalesced)


class Values(Function):
    """A coalesced sparse tensor's values (an alias of its storage)."""

    @staticmethod
    def forward(ctx, s: SparseTensor):
        ctx.indices, ctx.shape = s._data.indices, s._data.shape
        return Tensor._make(s._data.values, s._device)

    @staticmethod
    def backward(ctx, g):
        return _make(g, ctx.indices, ctx.shape, True)


class Coalesce(Function):
    @staticmethod
    def forward(ctx, s: SparseTensor):
        d = s._data
        idx, vals = _coalesced_arrays(s._backend.xp, d.indices, d.values,
                                      d.shape[:d.indices.shape[0]])
        return SparseTensor._from_arrays(idx, vals, d.shape, s._device, True)

    @staticmethod
    def backward(ctx, g):
        return g  # same dense value: the gradient passes through


class ToDense(Function):
    @staticmethod
    def forward(ctx, s: SparseTensor):
        ctx.storage = s._data
        return Tensor._make(_dense_array(s._data), s._device)

    @staticmethod
    def backward(ctx, g):
        d = ctx.storage  # torch's grad.sparse_mask(input): the input's coalesced pattern
        idx = _pattern(d)
        return _make(_values_at(g, idx, d.shape[:idx.shape[0]]), idx, d.shape, True)


class ToSparse(Function):
    @staticmethod
    def forward(ctx, x: Tensor, sparse_dim: int):
        xp = x._backend.xp
        a = x._data
        if sparse_dim == 0:
            idx = xp.zeros((0, 1), dtype=np.int64)
            vals = a.reshape((1,) + a.shape).copy()
        else:
            mask = a != 0
            if sparse_dim < a.ndim:
                mask = mask.any(axis=tuple(range(sparse_dim, a.ndim)))
            nz = xp.nonzero(mask)
            idx = xp.stack(nz).astype(np.int64) if nz else xp.zeros((0, 0), np.int64)
            vals = a[nz]
        return SparseTensor._from_arrays(idx, vals, a.shape, x._device, True)

    @staticmethod
    def backward(ctx, g):
        return (g.to_dense() if g.is_sparse else g), None


class SparseToCopy(Function):
    @staticmethod
    def forward(ctx, s: SparseTensor, device, dtype: dt.dtype):
        ctx.src = (s._device, s.dtype)
        d = s._data
        idx = _move(d.indices, s._device, device)
        vals = _move(d.values, s._device, device).astype(dtype.np, copy=False)
        if idx is d.indices:
            idx = idx.copy()
        if vals is d.values:
            vals = vals.copy()
        return SparseTensor._from_arrays(idx, vals, d.shape, device, d.coalesced)

    @staticmethod
    def backward(ctx, g):
        dev, dtype = ctx.src
        return g.to(dev, dtype), None, None


class SparseClone(Function):
    @staticmethod
    def forward(ctx, s: SparseTensor):
        d = s._data
        return SparseTensor._from_arrays(d.indices.copy(), d.values.copy(), d.shape, s._device,
                                         d.coalesced)

    @staticmethod
    def backward(ctx, g):
        return g


class SparseTranspose(Function):
    @staticmethod
    def forward(ctx, s: SparseTensor, d0: int, d1: int):
        ctx.dims = (d0, d1)
        d = s._data
        idx = d.indices.copy()
        idx[[d0, d1]] = d.indices[[d1, d0]]
        shape = list(d.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        return SparseTensor._from_arrays(idx, d.values, tuple(shape), s._device,
                                         d.values.shape[0] <= 1 and d.coalesced)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*ctx.dims), None, None


# -- public construction ----------------------------------------------------------------------


def _as_array(x, device, dtype=None) -> Tensor:
    from .creation import tensor
    if isinstance(x, Tensor):
        if device is not None and x._device != device:
            x = x.to(device)
        return x if dtype is None or x.dtype is dtype else x.to(dtype)
    return tensor(x, dtype=dtype, device=device)


def _check_indices(idx: Tensor, shape: tuple) -> None:
    if idx._data.shape[1] == 0:
        return
    be = idx._backend
    lo = be.to_numpy(idx._data.min(axis=1))
    hi = be.to_numpy(idx._data.max(axis=1))
    for d in range(len(lo)):
        if lo[d] < 0:
            raise RuntimeError(f"found negative index {int(lo[d])} for dim {d}")
        if hi[d] >= shape[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                               f"{shape[d]} but found index {int(hi[d])}")


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor from ``indices`` (sparse_dim x nnz) and ``values`` (nnz x dense dims).

    Indices are always validated against ``size`` (torch does so only with
    ``check_invariants=True``); the result is differentiable in ``values``.
    """
    dev = canonical(device) if device is not None else (
        values._device if isinstance(values, Tensor) else None)
    dtype = dt.to_dtype(dtype) if dtype is not None else None
    v = _as_array(values, dev, dtype)
    dev = v._device
    i = _as_array(indices, dev)
    if i.dtype is not dt.int64:
        i = i.to(dt.int64)
    if i.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(i.shape)}")
    k, nnz = i._data.shape
    if v.ndim == 0 or v._data.shape[0] != nnz:
        got = v._data.shape[0] if v.ndim else "a 0-d tensor"
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {got}")
    dense = tuple(v._data.shape[1:])
    if size is None:
        hi = i._backend.to_numpy(i._data.max(axis=1)) + 1 if nnz else np.zeros(k, np.int64)
        shape = tuple(int(h) for h in hi) + dense
    else:
        shape = tuple(int(s) for s in (size if not isinstance(size, int) else (size,)))
        if len(shape) != k + len(dense):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: "
                               f"len(size) = {len(shape)}, sparse_dim = {k}, dense_dim = "
                               f"{len(dense)}")
        if shape[k:] != dense:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *shape[k:]]}, got "
                               f"{[nnz, *dense]}")
        _check_indices(i, shape)
    coalesced = bool(is_coalesced) or nnz <= 1
    out = _make(v, i._data, shape, coalesced)
    if requires_grad:
        out = out.detach().requires_grad_(True)
    return out


class _LegacySparse:
    """``gputensor.sparse.FloatTensor(indices, values, size)`` and friends (torch's legacy
    constructors, still used by published GCN code)."""

    def __init__(self, dtype: dt.dtype, device: str = "cpu"):
        self.dtype, self.device = dtype, device

    def __call__(self, *args):
        if args and all(isinstance(a, int) for a in args):  # FloatTensor(3, 4): empty
            return sparse_coo_tensor(np.zeros((len(args), 0), np.int64), np.zeros(0, self.dtype.np),
                                     args, dtype=self.dtype, device=self.device)
        return sparse_coo_tensor(*args, dtype=self.dtype, device=self.device)


# -- methods --------------------------------------------------------------------------------------


@tensor_method
def to_sparse(input: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None,
              dense_dim=None) -> SparseTensor:
    if layout is not None and layout is not _layout.sparse_coo:
        raise NotImplementedError(f"to_sparse: layout {layout} is not supported by gputensor "
                                  "(only gputensor.sparse_coo)")
    k = input.ndim if sparse_dim is None else int(sparse_dim)
    if input.is_sparse:
        if k != input.sparse_dim():
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim "
                               "argument !=self.sparse_dim() is not supported")
        return input
    if not 0 <= k <= input.ndim:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{input.ndim}] "
                           f"range, but {k} is given")
    return ToSparse.apply(input, k)


@tensor_method
def to_dense(input: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    if not input.is_sparse:
        return input
    if dtype is not None:
        raise RuntimeError("dtype argument is not supported by sparse_to_dense")
    return ToDense.apply(input)


def _need_sparse(name: str):
    def dense_version(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected sparse coordinate tensor layout but got Strided")
    dense_version.__name__ = name
    return dense_version


for _n in ("coalesce", "is_coalesced", "indices", "values", "_indices", "_values", "_nnz"):
    setattr(Tensor, _n, _need_sparse(_n))
Tensor.sparse_dim = lambda self: 0
Tensor.dense_dim = lambda self: self.ndim


@sparse_method
def coalesce(self: SparseTensor) -> SparseTensor:
    return self if self._data.coalesced else Coalesce.apply(self)


def _coalesced_only(what: str, self: SparseTensor) -> None:
    if not self._data.coalesced:
        raise RuntimeError(f"Cannot get {what} on an uncoalesced tensor, please call .coalesce() "
                           "first")


@sparse_method
def indices(self: SparseTensor) -> Tensor:
    _coalesced_only("indices", self)
    return self._indices()


@sparse_method
def values(self: SparseTensor) -> Tensor:
    _coalesced_only("values", self)
    return Values.apply(self)


@sparse_method
def to(self: SparseTensor, *args, **kwargs) -> SparseTensor:
    # Tensor.to parses torch's many signatures; run it on an empty probe to learn the target.
    probe = Tensor._make(self._backend.xp.empty(0, dtype=self._data.dtype), self._device)
    r = Tensor.to(probe, *args, **kwargs)
    if r is probe:
        return self
    return SparseToCopy.apply(self, r._device, r.dtype)


SparseTensor.contiguous = lambda self, memory_format=None: self  # nothing to compact


@sparse_method
def clone(self: SparseTensor, *, memory_format=None) -> SparseTensor:
    return SparseClone.apply(self)


@sparse_method
def transpose(self: SparseTensor, dim0: int, dim1: int) -> SparseTensor:
    from ._util import _wrap_dim
    d0, d1 = _wrap_dim(dim0, self.ndim), _wrap_dim(dim1, self.ndim)
    k = self.sparse_dim()
    if d0 >= k or d1 >= k:
        raise RuntimeError("transpose: gputensor transposes sparse dimensions only, got dims "
                           f"{dim0} and {dim1} of a tensor with sparse_dim {k}")
    return SparseTranspose.apply(self, d0, d1) if d0 != d1 else self


@sparse_method
def t(self: SparseTensor) -> SparseTensor:
    if self.sparse_dim() > 2 or self.dense_dim() != 0:
        raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but "
                           f"self is {self.sparse_dim()} sparse and {self.dense_dim()} dense")
    return transpose(self, 0, 1) if self.ndim == 2 else self


__all__ = ["sparse_coo_tensor"]
