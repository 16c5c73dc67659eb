"""Math on sparse COO tensors: products (``sparse.mm``/``spmm``/``mm``/``@``), sums, softmax and
arithmetic, each through scipy.sparse / cupyx.scipy.sparse (see ``sparse_ops.py``).

``sparse @ dense`` gives gradients to both operands: the dense one gets ``S^T @ G`` (another
sparse product), the sparse one a sparse gradient on its coalesced pattern, as torch's.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._sparse import SparseTensor, sparse_method
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import norm_dims, wrap
from .sparse_ops import (_coalesced_arrays, _index_tensor, _lib, _linear, _make, _pattern,
                         _segment_sum, _spmm, _work_dtype)

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


class _SparseDenseMM(Function):
    """2-D sparse (no dense dims) @ 2-D dense. The sparse operand's gradient is, as in torch,
    masked to its pattern (a sparse tensor) for ``sparse.mm`` and the full dense ``G @ D^T`` for
    ``mm``/``matmul``/``@``/``spmm``."""

    masked = True

    @classmethod
    def forward(cls, ctx, s: SparseTensor, d: Tensor):
        ctx.save_for_backward(s, d)
        sd = s._data
        out = _spmm(s._backend.xp, sd.indices[0], sd.indices[1], sd.values, sd.shape, d._data)
        return wrap(out, d)

    @classmethod
    def backward(cls, ctx, g):
        s, d = ctx.saved_tensors
        n = ctx.needs_input_grad
        gd = cls.apply(s.t(), g) if n[1] else None
        gs = None
        if n[0] and not cls.masked:
            gs = g.mm(d.t())
        elif n[0]:
            idx = _pattern(s._data)
            rows, cols = _index_tensor(idx[0], g), _index_tensor(idx[1], g)
            vals = (g.index_select(0, rows) * d.index_select(0, cols)).sum(-1)
            gs = _make(vals, idx, s._data.shape, True)
        return gs, gd


class SparseAddmm(_SparseDenseMM):
    """``sparse.mm``/``sparse.addmm`` (node named as torch's): masked sparse gradient."""


class Mm(_SparseDenseMM):
    """``mm``/``matmul``/``@`` with a sparse operand: dense gradient, as torch's MmBackward0."""

    masked = False


class SparseSparseMM(Function):
    """2-D sparse @ 2-D sparse -> coalesced sparse (forward only, like few torch programs need)."""

    @staticmethod
    def forward(ctx, a: SparseTensor, b: SparseTensor):
        xp = a._backend.xp
        lib = _lib(xp)
        mats = []
        for s in (a, b):
            d = s._data
            w = _work_dtype(xp, d.dtype)
            mats.append(lib.coo_matrix((d.values.astype(w, copy=False),
                                        (d.indices[0], d.indices[1])), shape=d.shape).tocsr())
        prod = (mats[0] @ mats[1]).tocoo()
        idx = xp.stack([xp.asarray(prod.row), xp.asarray(prod.col)]).astype(np.int64)
        vals = xp.asarray(prod.data).astype(a._data.dtype, copy=False)
        shape = (a.shape[0], b.shape[1])
        idx, vals = _coalesced_arrays(xp, idx, vals, shape)
        return SparseTensor._from_arrays(idx, vals, shape, a._device, True)

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("gputensor: gradients of sparse @ sparse products are not "
                                  "supported; multiply by a dense operand instead")


class SegmentSum(Function):
    """Rows of ``values`` summed by segment id (scatter-add via the sparse library)."""

    @staticmethod
    def forward(ctx, values: Tensor, seg, n: int):
        ctx.seg = seg
        return wrap(_segment_sum(values._backend.xp, seg, n, values._data), values)

    @staticmethod
    def backward(ctx, g):
        return g.index_select(0, _index_tensor(ctx.seg, g)), None, None


class Scale(Function):
    """Values multiplied (or divided) by a Python scalar; the pattern is kept."""

    @staticmethod
    def forward(ctx, s: SparseTensor, c, divide: bool):
        ctx.c, ctx.divide = c, divide
        v = Tensor._make(s._data.values, s._device)
        out = (v / c) if divide else (v * c)
        d = s._data
        return SparseTensor._from_arrays(d.indices, out._data, d.shape, s._device, d.coalesced)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.c if ctx.divide else g * ctx.c), None, None


class SparseAdd(Function):
    """sparse + alpha * sparse: the entries concatenated (coalesced when both inputs are)."""

    @staticmethod
    def forward(ctx, a: SparseTensor, b: SparseTensor, alpha):
        ctx.alpha = alpha
        xp = a._backend.xp
        da, db = a._data, b._data
        rt = dt.result_type(a, b)
        vb = Tensor._make(db.values, b._device)
        vb = (vb * alpha) if alpha != 1 else vb
        idx = xp.concatenate([da.indices, db.indices], axis=1)
        vals = xp.concatenate([da.values.astype(rt.np, copy=False),
                               vb._data.astype(rt.np, copy=False)], axis=0)
        both = da.coalesced and db.coalesced
        if both:
            idx, vals = _coalesced_arrays(xp, idx, vals, da.shape[:da.indices.shape[0]])
        return SparseTensor._from_arrays(idx, vals, da.shape, a._device, both)

    @staticmethod
    def backward(ctx, g):
        return g, (g * ctx.alpha if ctx.alpha != 1 else g), None


# -- products -------------------------------------------------------------------------------------


def _check_mm(a: Tensor, b: Tensor) -> None:
    for t in (a, b):
        if t.ndim != 2:
            raise RuntimeError(f"mm: expected 2-D tensors, got {tuple(a.shape)} @ "
                               f"{tuple(b.shape)}")
        if t.is_sparse and t.dense_dim() != 0:
            raise RuntimeError("mm: sparse operands with dense dimensions (hybrid COO) are not "
                               "supported by gputensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                           f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {_TORCH_NAMES.get(a.dtype.name, a.dtype)} but "
                           f"found {_TORCH_NAMES.get(b.dtype.name, b.dtype)}")


def _sparse_dense_mm(s: SparseTensor, d: Tensor, masked: bool = False) -> Tensor:
    return (SparseAddmm if masked else Mm).apply(s, d)


def sparse_matmul(input: Tensor, other: Tensor, masked: bool = False) -> Tensor:
    """``mm``/``matmul``/``@`` where at least one operand is sparse (1-D dense operands act as
    vectors, as in ``matmul``); ``masked``: the sparse gradient of ``sparse.mm``."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul: both arguments must be tensors")
    if input.is_sparse and not other.is_sparse and other.ndim == 1:
        return sparse_matmul(input, other.unsqueeze(1), masked).squeeze(1)
    if other.is_sparse and not input.is_sparse and input.ndim == 1:
        return sparse_matmul(input.unsqueeze(0), other, masked).squeeze(0)
    _check_mm(input, other)
    if input.is_sparse and other.is_sparse:
        return SparseSparseMM.apply(input, other)
    if input.is_sparse:
        return _sparse_dense_mm(input, other, masked)
    return _sparse_dense_mm(other.t(), input.t(), masked).t()  # D @ S = (S^T @ D^T)^T


def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: sparse @ dense (or sparse), differentiable in both operands."""
    if not mat1.is_sparse and not mat2.is_sparse:
        return mat1.mm(mat2)
    return sparse_matmul(mat1, mat2, masked=True)


def spmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: ``mm`` for a sparse first operand (the sparse gradient is dense)."""
    return sparse_matmul(input, mat2) if input.is_sparse or mat2.is_sparse else input.mm(mat2)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse."""
    prod = mm(mat1, mat2)
    return (mat if beta == 1 else mat * beta) + (prod if alpha == 1 else prod * alpha)


# -- reductions and softmax -----------------------------------------------------------------------


def sparse_sum(input: Tensor, dim=None, dtype=None) -> Tensor:
    """``torch.sparse.sum``: a dense result when every sparse dim is reduced, else sparse."""
    if not input.is_sparse:
        return input.sum(dtype=dtype) if dim is None else input.sum(dim, dtype=dtype)
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    c = input.coalesce()
    if dim is None:
        return c.values().sum()
    dims = norm_dims(dim, input.ndim)
    k = input.sparse_dim()
    vals = c.values()
    dense_axes = tuple(d - k + 1 for d in dims if d >= k)
    if dense_axes:
        vals = vals.sum(dim=dense_axes)
    sparse_axes = [d for d in dims if d < k]
    keep = [d for d in range(k) if d not in sparse_axes]
    shape = tuple(s for i, s in enumerate(input.shape) if i not in dims)
    if not sparse_axes:
        return _make(vals, c._data.indices, shape, True)
    if not keep:
        return vals.sum(0)
    return _make(vals, c._data.indices[keep], shape, False).coalesce()


def _softmax(input: SparseTensor, dim: int, log: bool) -> SparseTensor:
    from ._util import _wrap_dim
    if input.dense_dim() != 0:
        raise RuntimeError("sparse.softmax: hybrid sparse tensors are not supported by gputensor")
    d = _wrap_dim(dim, input.ndim)
    c = input.coalesce()
    xp = c._backend.xp
    idx = c._data.indices
    others = [i for i in range(input.ndim) if i != d]
    key = _linear(xp, idx[others], [input.shape[i] for i in others])
    groups, seg = xp.unique(key, return_inverse=True)
    seg = seg.reshape(-1)
    n = int(groups.shape[0])
    v = c.values()
    if c._nnz() == 0:
        return c
    raw = v._data
    order = xp.lexsort(xp.stack([raw.astype(np.float64), seg.astype(np.float64)]))
    s_seg = seg[order]
    last = xp.concatenate([s_seg[1:] != s_seg[:-1], xp.ones(1, dtype=bool)])
    gmax = xp.zeros(n, dtype=raw.dtype)
    gmax[s_seg[last]] = raw[order][last]
    seg_t = _index_tensor(seg, v)
    shifted = v - Tensor._make(gmax[seg], v._device)
    e = shifted.exp()
    denom = SegmentSum.apply(e, seg, n).index_select(0, seg_t)
    out = shifted - denom.log() if log else e / denom
    return _make(out, idx, input.shape, True)


def softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Softmax along ``dim`` over the specified entries only (unspecified ones count as -inf)."""
    return _softmax(input if dtype is None else input.to(dtype), dim, False)


def log_softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    return _softmax(input if dtype is None else input.to(dtype), dim, True)


# -- SparseTensor arithmetic methods --------------------------------------------------------------


def _is_scalar(x) -> bool:
    return isinstance(x, (int, float, bool, np.number))


@sparse_method(names=("__matmul__",))
def matmul(self, other):
    return sparse_matmul(self, other)


SparseTensor.__rmatmul__ = lambda self, other: sparse_matmul(other, self)
SparseTensor.mm = lambda self, mat2: sparse_matmul(self, mat2)
sparse_method(sparse_sum, name="sum")


@sparse_method(names=("__mul__", "__rmul__"))
def mul(self, other):
    if isinstance(other, Tensor) and other.ndim == 0 and not other.is_sparse:
        if not other.requires_grad:
            other = other.item()
        else:
            c = self.coalesce()
            return _make(c.values() * other, c._data.indices, c.shape, True)
    if _is_scalar(other):
        return Scale.apply(self, other, False)
    if isinstance(other, Tensor) and not other.is_sparse and tuple(other.shape) == self.shape:
        from .sparse_ops import _values_at
        c = self.coalesce()
        idx = c._data.indices
        return _make(c.values() * _values_at(other, idx, tuple(self.shape[:idx.shape[0]])),
                     idx, self.shape, True)
    raise NotImplementedError("gputensor: sparse tensors multiply by scalars, 0-d tensors and "
                              "dense tensors of the same shape only")


@sparse_method(names=("__truediv__",))
def div(self, other):
    if isinstance(other, Tensor) and other.ndim == 0 and not other.requires_grad:
        other = other.item()
    if not _is_scalar(other):
        raise NotImplementedError("gputensor: sparse tensors divide by scalars only")
    return Scale.apply(self, other, True)


@sparse_method(names=("__neg__",))
def neg(self):
    return Scale.apply(self, -1, False)


def _check_same_size(a: Tensor, b: Tensor) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a.shape)} while other has size {list(b.shape)} (FYI: "
                           "dense-sparse addition requires the sizes to match)")


@sparse_method(names=("__add__",))
def add(self, other, *, alpha=1):
    if isinstance(other, SparseTensor):
        _check_same_size(self, other)
        if self.sparse_dim() != other.sparse_dim():
            raise RuntimeError("add: expected both sparse tensors to have the same sparse_dim")
        return SparseAdd.apply(self, other, alpha)
    raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")


@sparse_method(names=("__sub__",))
def sub(self, other, *, alpha=1):
    return add(self, other, alpha=-alpha)


def _radd(self, other):
    if isinstance(other, Tensor):  # dense + sparse -> dense
        _check_same_size(other, self)
        return other + self.to_dense()
    raise RuntimeError("add: a scalar cannot be added to a sparse tensor")


SparseTensor.__radd__ = _radd
SparseTensor.__rsub__ = lambda self, other: _radd(-self, other)

__all__ = ["mm", "spmm", "addmm", "sparse_sum", "softmax", "log_softmax", "sparse_matmul"]


def _zero_preserving(name: str):
    """A unary op with f(0) == 0 applied to the (coalesced) values, as torch does for sparse."""
    def op(self):
        c = self.coalesce()
        return _make(getattr(c.values(), name)(), c._data.indices, c.shape, True)
    op.__name__ = name
    return op


for _name in ("abs", "relu", "sin", "tan", "tanh", "sqrt", "asin", "atan", "sinh", "asinh",
              "atanh", "expm1", "log1p", "sign", "sgn", "trunc", "floor", "ceil", "round",
              "erf", "square", "deg2rad", "rad2deg"):
    if hasattr(Tensor, _name):
        setattr(SparseTensor, _name, _zero_preserving(_name))
