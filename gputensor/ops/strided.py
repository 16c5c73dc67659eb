"""Stride-level API: ``as_strided`` (a real view of the storage, differentiable for contiguous
inputs), its ``_``/``_copy``/``_scatter`` forms, ``new_empty_strided``, ``nonzero_static``,
``dim_order``, and the storage/backend predicates torch tensors answer (``is_shared``,
``is_quantized`` ...), which are constant for gputensor tensors."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from . import creation as cr
from . import index_ops as ix
from .inplace_views import _view_inplace
from .tensor_misc import _storage_offset, put
from ._util import wrap


def _storage(x: Tensor):
    """The array holding ``x``'s storage (its root base's) as a flat contiguous view."""
    root = x if x._base is None else x._base
    arr = root._data
    if not arr.flags.c_contiguous:
        raise RuntimeError("as_strided: the tensor's storage is not contiguous in gputensor "
                           "(call .contiguous() first)")
    return root, arr.reshape(-1)


def _positions(size: tuple, stride: tuple, offset: int) -> np.ndarray:
    """Flat storage index of every element of the strided view."""
    pos = np.full(size, offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        pos = pos + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return pos


def _check(x: Tensor, size, stride, offset) -> tuple:
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    offset = _storage_offset(x) if offset is None else int(offset)
    _, flat = _storage(x)
    need = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
    if need > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {x._data.dtype.itemsize} requiring a "
                           f"storage size of {need * x._data.dtype.itemsize} are out of bounds "
                           f"for storage of size {flat.size * x._data.dtype.itemsize}")
    return size, stride, offset


class AsStrided(Function):
    """A strided view of the storage; the gradient adds each view element's grad to the input
    element at the same storage position (elements viewed twice get both)."""

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        xp = x._backend.xp
        _, flat = _storage(x)
        item = flat.dtype.itemsize
        view = xp.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                               strides=tuple(s * item for s in stride))
        ctx.meta = (x._data.shape, _storage_offset(x), size, stride, offset,
                    x._data.flags.c_contiguous)
        return x._view_of(view)

    @staticmethod
    def backward(ctx, g):
        shape, own, size, stride, offset, contiguous = ctx.meta
        if not contiguous:
            raise RuntimeError("as_strided: gputensor differentiates only contiguous inputs")
        n = int(np.prod(shape, dtype=np.int64))
        pos = _positions(size, stride, offset).reshape(-1) - own
        keep = (pos >= 0) & (pos < n)
        idx = wrap(g._backend.xp.asarray(pos[keep]), g)
        vals = g.reshape(-1)
        if not keep.all():
            vals = ix.index_select(vals, 0, wrap(g._backend.xp.asarray(np.flatnonzero(keep)), g))
        grad = ix.index_add(cr.zeros(n, dtype=g.dtype, device=g.device), 0, idx, vals)
        return grad.reshape(shape), None, None, None


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes and (element) strides."""
    size, stride, offset = _check(input, size, stride, storage_offset)
    return AsStrided.apply(input, size, stride, offset)


def as_strided_copy(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    return as_strided(input, size, stride, storage_offset).clone()


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: int | None = None) -> Tensor:
    """A copy of (contiguous) ``input`` with the strided positions set to ``src``."""
    size, stride, offset = _check(input, size, stride, storage_offset)
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    pos = _positions(size, stride, offset - _storage_offset(input))
    return put(input.contiguous(), wrap(input._backend.xp.asarray(pos), input), src)


Tensor.as_strided = as_strided
Tensor.as_strided_ = _view_inplace(as_strided)
Tensor.as_strided_scatter = as_strided_scatter


def as_strided_(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """In-place ``as_strided``: ``input`` becomes the strided view."""
    return input.as_strided_(size, stride, storage_offset)


def _new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                       requires_grad: bool = False, **_) -> Tensor:
    """Uninitialised (zeroed), contiguous: see ``empty_strided``."""
    return cr.empty(tuple(size), dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)


Tensor.new_empty_strided = _new_empty_strided


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero`` padded with ``fill_value`` rows (or truncated) to exactly ``size`` rows."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    nz = ix.nonzero(input)
    xp = input._backend.xp
    k = nz.shape[0]
    if k >= size:
        return wrap(nz._data[:size].copy(), input)
    pad = xp.full((size - k, nz.shape[1]), fill_value, dtype=nz._data.dtype)
    return wrap(xp.concatenate([nz._data, pad]), input)


Tensor.nonzero_static = nonzero_static


def _dim_order(self: Tensor, *, ambiguity_check=False) -> tuple:
    """Dims from outermost to innermost in memory (by decreasing stride, stable)."""
    st = self.stride()
    return tuple(sorted(range(self.ndim), key=lambda d: -st[d]))


Tensor.dim_order = _dim_order
Tensor.const_data_ptr = Tensor.data_ptr
from .._shared_memory import is_shared as _is_shared, share_memory_ as _share_memory_  # noqa: E402
Tensor.is_shared, Tensor.share_memory_ = _is_shared, _share_memory_
for _flag in ("is_nested", "is_quantized", "is_mkldnn", "is_sparse_csr", "is_xla", "is_ipu",
              "is_maia", "is_mtia", "is_vulkan"):
    setattr(Tensor, _flag, property(lambda self: False))
Tensor.name = property(lambda self: None)


def _true_divide_(self: Tensor, other) -> Tensor:
    return self.div_(other)


Tensor.true_divide_ = _true_divide_


def _map2_(self: Tensor, x: Tensor, y: Tensor, callable) -> Tensor:
    """``self[i] = callable(self[i], x[i], y[i])`` (cpu tensors, broadcast x and y)."""
    if self._device.type != "cpu":
        raise TypeError("map2_ is only implemented on CPU tensors")
    self._check_inplace()
    a = self._data
    xs = np.broadcast_to(x.cpu()._data, a.shape).reshape(-1).tolist()
    ys = np.broadcast_to(y.cpu()._data, a.shape).reshape(-1).tolist()
    out = [callable(p, q, r) for p, q, r in zip(a.reshape(-1).tolist(), xs, ys)]
    a[...] = np.asarray(out, dtype=a.dtype).reshape(a.shape)
    self._version.value += 1
    return self


Tensor.map2_ = _map2_


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Same storage, offset, sizes and strides."""
    return (self._data.size == tensor._data.size and self.data_ptr() == tensor.data_ptr()
            and self.shape == tensor.shape and self.stride() == tensor.stride()
            and self._device == tensor._device)


def _resize(self: Tensor, *sizes) -> Tensor:
    """Deprecated out-of-place ``resize``: a resized copy (``resize_`` on a clone)."""
    import warnings
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return self.detach().clone().resize_(*sizes)


def _resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    import warnings
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return self.detach().clone().resize_(tuple(tensor.shape))


def _as_subclass(self: Tensor, cls) -> Tensor:
    """A ``cls`` instance sharing this tensor's data and autograd history."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass: expected a Tensor subclass, got {cls!r}")
    t = object.__new__(cls)
    t._init(self._data, self._device)
    t._version, t._base = self._version, self if self._base is None else self._base
    if self.requires_grad:
        t._grad_fn, t._output_nr, t._requires_grad = self._grad_fn, self._output_nr, True
        if self._grad_fn is None:  # a leaf: the subclass instance is an alias of it
            from .shape import view
            alias = view(self, tuple(self.shape))
            t._grad_fn, t._output_nr = alias._grad_fn, alias._output_nr
    return t


Tensor.is_set_to = _is_set_to
Tensor.resize = _resize
Tensor.resize_as = _resize_as
Tensor.as_subclass = _as_subclass
Tensor.record_stream = lambda self, stream: None  # memory is not pooled per stream here

__all__ = ["as_strided", "as_strided_", "as_strided_copy", "as_strided_scatter",
           "nonzero_static"]
