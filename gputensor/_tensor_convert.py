"""``Tensor``'s dtype and device conversion methods: ``to``, ``cpu``, ``cuda``, ``type``,
``float``, ``double``, ``half``, ``long``, ``int`` ... ``type_as``.

They are written in a namespace class, so that inside them ``float``/``int``/``bool``/``type`` are
still the builtins, and ``tensor.py`` copies them into ``Tensor``'s own class dict: they are
ordinary Tensor methods (qualname ``Tensor.to``), listed by the stub generator like any other.
"""
from __future__ import annotations

from . import _dtype as dt
from ._device import canonical
from ._device import device as _device_cls

Tensor = None  # ``gputensor.tensor.Tensor``, set by tensor.py right after the class is made

_LEGACY_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                 "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


class ConversionMethods:
    """Not a base class: a namespace whose functions become ``Tensor`` methods."""

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)`` (each optionally
        followed by ``non_blocking, copy``); differentiable. Returns ``self`` when nothing changes
        unless ``copy=True``."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        flags = [kwargs.pop("non_blocking", False), kwargs.pop("copy", False)]
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        n_flags = 0
        for a in args:
            if isinstance(a, bool):
                if n_flags == 2:
                    raise TypeError(f"to() received too many positional flags: {args!r}")
                flags[n_flags] = a
                n_flags += 1
            elif isinstance(a, Tensor):
                device, dtype = a._device, a.dtype
            elif isinstance(a, dt.dtype) or a in (float, int, bool):
                dtype = a
            elif isinstance(a, (str, _device_cls, int)):
                device = a
            elif a is not None:
                try:
                    dtype = dt.to_dtype(a)
                except TypeError:
                    raise TypeError(f"to() received an invalid argument {a!r}") from None
        dev = self._device if device is None else canonical(device)
        dty = self.dtype if dtype is None else dt.to_dtype(dtype)
        if dev == self._device and dty.np == self._data.dtype and not flags[1]:
            return self
        from .ops.convert import to_copy
        return to_copy(self, dev, dty)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> "Tensor":
        return self.to("cuda" if device is None else device)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without ``dtype``, the legacy type name (``gputensor.cuda.FloatTensor``); with one, a
        cast."""
        if dtype is None:
            return f"gputensor.{'cuda.' if self.is_cuda else ''}{_LEGACY_NAMES[self.dtype.name]}"
        from ._legacy import tensor_type  # "torch.FloatTensor", gputensor.cuda.LongTensor, ...
        dty, dev = tensor_type(dtype)
        return self.to(dty) if dev is None else self.to(dev, dty)

    def float(self) -> "Tensor":
        return self.to(dt.float32)

    def double(self) -> "Tensor":
        return self.to(dt.float64)

    def half(self) -> "Tensor":
        return self.to(dt.float16)

    def long(self) -> "Tensor":
        return self.to(dt.int64)

    def int(self) -> "Tensor":
        return self.to(dt.int32)

    def short(self) -> "Tensor":
        return self.to(dt.int16)

    def byte(self) -> "Tensor":
        return self.to(dt.uint8)

    def char(self) -> "Tensor":
        return self.to(dt.int8)

    def bool(self) -> "Tensor":
        return self.to(dt.bool_)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)
