"""Legacy typed constructors: ``gputensor.FloatTensor(2, 3)``, ``gputensor.cuda.LongTensor([1])``.

Each is a class object (as in torch, not a ``Tensor`` subclass) whose instances are plain
``Tensor``s; ``isinstance(t, FloatTensor)`` is true for float32 tensors on its device, which is
how torch code tests them. ``tensor_type(spec)`` turns the names ``Tensor.type()`` accepts
("torch.FloatTensor", "gputensor.cuda.LongTensor", a class) into (dtype, device).
"""
from __future__ import annotations

from . import _dtype as dt
from ._device import CPU, CUDA0, canonical
from .tensor import _LEGACY_NAMES, Size, Tensor

_BY_NAME = {v: k for k, v in _LEGACY_NAMES.items()}


class _TensorType(type):
    """The metaclass: calling a legacy type builds a tensor of its dtype on its device."""

    def __instancecheck__(cls, obj) -> bool:
        return (isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np
                and obj._device.type == cls._device_type)

    def __call__(cls, *args, device=None):
        dev = canonical(cls._device_type if device is None else device)
        if dev.type != cls._device_type:
            raise RuntimeError(f"legacy constructor expects device type: {cls._device_type} but "
                               f"device type: {dev.type} was passed")
        from .ops.creation import tensor, zeros
        if not args:
            return zeros(0, dtype=cls.dtype, device=dev)
        if isinstance(args[0], Size) or all(isinstance(a, int) and not isinstance(a, bool)
                                            for a in args):
            size = tuple(args[0]) if isinstance(args[0], Size) else args
            return zeros(size, dtype=cls.dtype, device=dev)  # torch leaves them uninitialized
        if len(args) > 1:
            raise TypeError(f"new() received an invalid combination of arguments: {args!r}")
        data = args[0]
        if isinstance(data, Tensor):
            if data.dtype is not cls.dtype or data._device != dev:
                raise TypeError(f"expected {cls.dtype} on {dev} (got {data.dtype} on "
                                f"{data._device})")
            return Tensor._make(data._data, data._device)
        if isinstance(data, (int, float, bool, complex)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return tensor(data, dtype=cls.dtype, device=dev)

    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _make_type(dtype_name: str, device_type: str) -> type:
    name = _LEGACY_NAMES[dtype_name]
    module = "gputensor.cuda" if device_type == "cuda" else "gputensor"
    return _TensorType(name, (), {"dtype": getattr(dt, "bool_" if dtype_name == "bool"
                                                   else dtype_name),
                                  "is_cuda": device_type == "cuda", "_device_type": device_type,
                                  "__module__": module, "__qualname__": name,
                                  "__doc__": f"Legacy constructor of {dtype_name} tensors on "
                                             f"{device_type}."})


CPU_TYPES = {n: _make_type(d, "cpu") for d, n in _LEGACY_NAMES.items()}
CUDA_TYPES = {n: _make_type(d, "cuda") for d, n in _LEGACY_NAMES.items()}
globals().update(CPU_TYPES)


def tensor_type(spec):
    """``(dtype, device or None)`` for a ``Tensor.type(spec)`` argument."""
    if isinstance(spec, _TensorType):
        return spec.dtype, CUDA0 if spec.is_cuda else CPU
    if isinstance(spec, str) and spec.endswith("Tensor"):
        parts = spec.split(".")
        if parts[0] in ("torch", "gputensor") and parts[-1] in _BY_NAME and len(parts) in (2, 3) \
                and (len(parts) == 2 or parts[1] == "cuda"):
            return dt.to_dtype(_BY_NAME[parts[-1]]), CUDA0 if len(parts) == 3 else CPU
        raise ValueError(f"invalid type: {spec!r}")
    return dt.to_dtype(spec), None


def set_default_tensor_type(t) -> None:
    """Deprecated in torch 2.1 (as here): set the default dtype and, for a cuda type, device."""
    import warnings

    from ._device import set_default_device
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    dtype, dev = tensor_type(t)
    if not dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    dt.set_default_dtype(dtype)
    set_default_device(dev)


__all__ = list(CPU_TYPES) + ["set_default_tensor_type"]
