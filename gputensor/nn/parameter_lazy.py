"""Placeholders for lazy modules (``UninitializedParameter``/``UninitializedBuffer``) and
``nn.Buffer``, torch's marker that makes ``module.x = nn.Buffer(t)`` register a buffer.

An uninitialized tensor holds an empty array of its eventual dtype and device (so ``.to()`` and
``.cuda()`` on the module carry them); ``materialize(shape)`` gives it storage *in place* and
turns the object into a plain Parameter / Tensor, so an optimizer built before the first
forward pass holds the materialized parameters, as torch's does.
"""
from __future__ import annotations

from .. import _dtype as dt
from .._device import canonical
from ..backends import get_backend
from ..tensor import Tensor
from .parameter import Parameter


def _empty(device, dtype) -> tuple:
    dev = canonical(device) if device is not None else canonical("cpu")
    dtype = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return get_backend(dev.type).xp.empty((0,), dtype.np), dev


class UninitializedTensorMixin:
    """Storage-less until ``materialize``; its shape is unknown, so asking for it is an error."""

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate uninitialized storage of ``shape`` (default: this placeholder's device and
        dtype) and become ``cls_to_become``."""
        if isinstance(shape, int):
            shape = (shape,)
        dev = canonical(device) if device is not None else self._device
        np_dtype = dt.to_dtype(dtype).np if dtype is not None else self._data.dtype
        data = get_backend(dev.type).xp.empty(tuple(int(s) for s in shape), np_dtype)
        with_grad = self.requires_grad
        self._data, self._device = data, dev
        self.__class__ = self.cls_to_become
        self.requires_grad = with_grad

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing "
            "their attributes.")

    def numel(self) -> int:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before accessing their attributes.")

    def detach(self):
        return self

    def to(self, *args, **kwargs):
        t = Tensor._make(self._data, self._device).to(*args, **kwargs)
        new = type(self).__new__(type(self), requires_grad=self.requires_grad)
        new._data, new._device = t._data, t._device
        return new

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        new = type(self)(requires_grad=self.requires_grad, device=self._device,
                         dtype=dt.from_numpy_dtype(self._data.dtype))
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad, self._device,
                             dt.from_numpy_dtype(self._data.dtype)))


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in <method '{name}'>. This error "
            "happens when you are using a `LazyModule` or explicitly manipulating "
            "`torch.nn.parameter.UninitializedParameter` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling torch "
            "functions")
    method.__name__ = name
    return method


# the arithmetic, indexing and reduction entry points (ops that read the shape fail anyway)
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__matmul__", "__rmatmul__", "__pow__", "__neg__",
              "__getitem__", "__setitem__", "add", "sub", "mul", "div", "matmul", "sum", "mean",
              "t", "view", "reshape", "numpy", "tolist", "item", "clone", "add_", "mul_",
              "zero_", "fill_", "uniform_", "normal_"):
    setattr(UninitializedTensorMixin, _name, _refuse(_name))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape a lazy module learns on its first forward pass."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        data, dev = _empty(device, dtype)
        p = cls._make(data, dev)
        p.requires_grad = requires_grad
        return p

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module learns on its first forward pass."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        data, dev = _empty(device, dtype)
        b = cls._make(data, dev)
        b.requires_grad = requires_grad
        return b

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass


class _BufferMeta(type):
    """``isinstance(t, Buffer)``: a tensor made by ``Buffer(...)``."""

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """``Buffer(data=None, *, persistent=True)``: ``data`` detached, marked for a module to
    register as a buffer when assigned as an attribute."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = Tensor._make(*_empty(None, None))
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


def is_lazy(param) -> bool:
    """Whether ``param`` is a lazy module's placeholder."""
    return isinstance(param, UninitializedTensorMixin)


__all__ = ["UninitializedParameter", "UninitializedBuffer", "Buffer", "is_lazy"]
