"""``SparseTensor``: a sparse COO tensor, a ``Tensor`` whose storage is COO indices + values.

The canonical data are two backend arrays: ``indices`` (int64, sparse_dim x nnz) and ``values``
(nnz x dense dims), as in torch. Sparse math runs through scipy.sparse (cpu and the simulated
cuda device, whose arrays are NumPy's) or cupyx.scipy.sparse (a real GPU): see
``gputensor/ops/sparse_ops.py``, which attaches the differentiable methods (``to_dense``,
``coalesce``, ``values``, ``to``, arithmetic) to this class.

Dense ops reaching the storage (``x._data``) raise torch's ``NotImplementedError: Could not run
'aten::<op>' with arguments from the 'SparseCPU' backend`` instead of misbehaving.
"""
from __future__ import annotations

import numpy as np

from . import _dtype as dt
from . import _layout
from .backends import _backends
from .tensor import Tensor


def _not_implemented(op: str, backend: str):
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This could be "
        "because the operator doesn't exist for this backend (gputensor supports sparse COO "
        "tensors in sparse.mm/spmm/mm/matmul, sparse.sum, to_dense, coalesce, indices/values, "
        "to/cuda/cpu, +, -, * and / by scalars).")


class _SparseStorage:
    """``SparseTensor._data``: COO arrays plus the metadata the autograd engine reads (``shape``,
    ``dtype``, ``ndim``, ``size``). Array protocols and any other attribute raise torch's
    NotImplementedError, so a dense op given a sparse tensor fails clearly."""

    __slots__ = ("indices", "values", "shape", "coalesced", "backend")

    def __init__(self, indices, values, shape: tuple, coalesced: bool, device_type: str):
        self.indices = indices
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.coalesced = bool(coalesced)
        self.backend = "SparseCPU" if device_type == "cpu" else "SparseCUDA"

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    base = None  # never a view of another array

    def _fail(self, op: str):
        raise _not_implemented(op, self.backend)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail(name)

    def __array__(self, dtype=None, copy=None):
        self._fail("_to_dense")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self._fail(ufunc.__name__)

    def __array_function__(self, func, types, args, kwargs):
        self._fail(func.__name__)

    def __getitem__(self, key):
        self._fail("index")

    def __setitem__(self, key, value):
        self._fail("copy_")

    def __iter__(self):
        self._fail("unbind")

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 0


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout == gputensor.sparse_coo``); see the module docstring."""

    __slots__ = ()
    is_sparse = True

    @classmethod
    def _from_arrays(cls, indices, values, shape, device, coalesced: bool = False,
                     requires_grad: bool = False) -> "SparseTensor":
        """Wrap backend arrays already on ``device`` (no copy, no checks)."""
        return cls._make(_SparseStorage(indices, values, shape, coalesced, device.type), device,
                         requires_grad)

    # -- metadata ----------------------------------------------------------------------------
    @property
    def layout(self):
        return _layout.sparse_coo

    def sparse_dim(self) -> int:
        return int(self._data.indices.shape[0])

    def dense_dim(self) -> int:
        return self._data.values.ndim - 1

    def _nnz(self) -> int:
        return int(self._data.values.shape[0])

    def is_coalesced(self) -> bool:
        return self._data.coalesced

    def is_contiguous(self, memory_format=None) -> bool:
        return False

    def stride(self, dim: int | None = None):
        raise RuntimeError("Sparse tensors do not have strides")

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def _indices(self) -> Tensor:
        """The indices, coalesced or not (an alias, outside autograd, as in torch)."""
        return Tensor._make(self._data.indices, self._device)

    def _values(self) -> Tensor:
        """The values, coalesced or not (an alias, outside autograd, as in torch)."""
        return Tensor._make(self._data.values, self._device)

    # -- autograd state ----------------------------------------------------------------------
    def detach(self) -> "SparseTensor":
        t = SparseTensor._make(self._data, self._device)
        t._version = self._version
        return t

    @property
    def data(self) -> "SparseTensor":
        return SparseTensor._make(self._data, self._device)

    @data.setter
    def data(self, value: "SparseTensor") -> None:
        if not isinstance(value, SparseTensor) or value._device != self._device:
            raise RuntimeError("data: expected a sparse tensor on the same device")
        self._data = value._data

    # -- conversions -------------------------------------------------------------------------
    def numpy(self, *, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def __array__(self, dtype=None, copy=None):
        self.numpy()

    def tolist(self):
        raise RuntimeError("tolist() is not supported for sparse tensors; use "
                           "Tensor.to_dense().tolist()")

    def item(self):
        raise _not_implemented("_local_scalar_dense", self._data.backend)

    def __reduce_ex__(self, protocol):
        be = _backends[self._device.type]
        s = self._data
        return (_rebuild_sparse, (be.to_numpy(s.indices), be.to_numpy(s.values), s.shape,
                                  s.coalesced, str(self._device), self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol")
        s = self._data
        t = SparseTensor._from_arrays(s.indices.copy(), s.values.copy(), s.shape, self._device,
                                      s.coalesced, self.requires_grad)
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            from .tensor import _LEGACY_NAMES
            cuda = "cuda." if self.is_cuda else ""
            return f"gputensor.{cuda}sparse.{_LEGACY_NAMES[self.dtype.name]}"
        return self.to(dt.to_dtype(dtype))

    # -- printing ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        return _sparse_repr(self)

    __str__ = __repr__


def _rebuild_sparse(indices, values, shape, coalesced, device, requires_grad):
    from ._device import canonical
    from .backends import get_backend
    dev = canonical(device)
    be = get_backend(dev.type)
    return SparseTensor._from_arrays(be.from_numpy(indices), be.from_numpy(values), shape, dev,
                                     coalesced, requires_grad)


def _inner_repr(arr: np.ndarray, indent: int) -> str:
    """``tensor([...])`` for a component, formatted as torch does (no dtype/device suffixes)."""
    from . import _format as f
    if arr.size == 0:
        return f"tensor([], size={tuple(arr.shape)})"
    summarize = arr.size > f.THRESHOLD
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    fmt = f._Formatter((f._summarized(arr) if summarize else arr).reshape(-1))
    return "tensor(" + f._body(arr, indent + len("tensor("), summarize, fmt) + ")"


def _sparse_repr(t: SparseTensor) -> str:
    from ._format import LINEWIDTH
    be = _backends[t._device.type]
    s = t._data
    indent = len("tensor(")
    suffixes = []
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    suffixes += [f"size={s.shape}", f"nnz={t._nnz()}"]
    if t.dtype not in (dt.get_default_dtype(), dt.int64, dt.bool_):
        suffixes.append(f"dtype={t.dtype}")
    suffixes.append(f"layout={t.layout}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    ind = "indices="
    val = "values="
    text = ("tensor(" + ind + _inner_repr(be.to_numpy(s.indices), indent + len(ind)) + ",\n"
            + " " * indent + val + _inner_repr(be.to_numpy(s.values), indent + len(val)))
    out = [text]
    last = LINEWIDTH  # torch puts the first suffix of a sparse tensor on a new line
    for sfx in suffixes:
        if last + len(sfx) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + sfx)
            last = indent + len(sfx)
        else:
            out.append(", " + sfx)
            last += len(sfx) + 2
    return "".join(out) + ")"


def sparse_method(fn=None, *, name: str | None = None, names: tuple = ()):
    """Decorator: expose a function as ``SparseTensor.<name>`` (overriding the dense method)."""
    def register(f):
        for n in (name or f.__name__,) + tuple(names):
            setattr(SparseTensor, n, f)
        return f
    return register(fn) if fn is not None else register


__all__ = ["SparseTensor", "sparse_method"]
