"""gputensor's own versions of the torch functions a checkpoint pickle calls to rebuild tensors.

A torch pickle says "call ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``".
The restricted unpickler maps that name to ``rebuild_tensor_v2`` here, which validates every
argument (types, non-negative sizes and strides, the view staying inside its storage) and then
builds an ``as_strided`` view of the storage's flat array, so tensors that shared a storage in
torch share memory after loading too. Nothing here imports torch.
"""
from __future__ import annotations

import math

from .. import _dtype as dt
from .._device import device as Device
from .._layout import sparse_coo, strided
from ..backends import get_backend
from ..nn.parameter import Parameter
from ..tensor import Size, Tensor


class Forged(ValueError):
    """A checkpoint's contents are inconsistent or would read outside their storage."""


class Unsupported(ValueError):
    """A checkpoint holds something gputensor cannot represent (bfloat16, sparse, quantized...)."""


class StorageType:
    """What ``torch.FloatStorage`` (and friends) stand for in a pickle: an element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: dt.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"StorageType(dtype=gputensor.{self.dtype.name})"


UNTYPED = StorageType("UntypedStorage", dt.uint8)


class Storage:
    """A loaded storage: one flat array (already on its device) that tensors are views of."""

    __slots__ = ("array", "device")

    def __init__(self, array, device: Device):
        self.array, self.device = array, device

    @property
    def dtype(self) -> dt.dtype:
        return dt._FROM_NP[self.array.dtype]

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def view(self, offset: int, numel: int) -> "Storage":
        """Elements ``[offset, offset + numel)`` (legacy files' storage views)."""
        offset, numel = _index(offset, "storage view offset"), _index(numel, "storage view size")
        if offset + numel > len(self):
            raise Forged(f"a storage view [{offset}, {offset + numel}) runs past the end of its "
                         f"{len(self)}-element storage")
        return Storage(self.array[offset:offset + numel], self.device)


def _index(v, what: str) -> int:
    if type(v) is not int or v < 0:
        raise Forged(f"{what} must be a non-negative int, got {v!r:.60}")
    return v


def _ints(v, what: str) -> tuple[int, ...]:
    if not isinstance(v, (tuple, list)):
        raise Forged(f"{what} must be a tuple of ints, got {type(v).__name__}")
    return tuple(_index(x, what) for x in v)


def _as_view(storage, offset, size, stride, dtype: dt.dtype | None = None) -> Tensor:
    if not isinstance(storage, Storage):
        raise Forged(f"a tensor's storage must be a storage, got {type(storage).__name__}")
    offset = _index(offset, "storage offset")
    size, stride = _ints(size, "tensor size"), _ints(stride, "tensor stride")
    if len(size) != len(stride):
        raise Forged(f"tensor size {size} and stride {stride} have different lengths")
    arr = storage.array
    if dtype is not None and dtype.np != arr.dtype:
        if arr.nbytes % dtype.itemsize:
            raise Forged(f"a {arr.nbytes}-byte storage cannot hold {dtype.name} elements")
        arr = arr.view(dtype.np)
    n, itemsize = int(arr.shape[0]), arr.itemsize
    numel = math.prod(size)
    xp = get_backend(storage.device.type).xp
    if numel == 0:
        if offset > n:
            raise Forged(f"storage offset {offset} is past the end of a {n}-element storage")
        return Tensor._make(xp.empty(size, dtype=arr.dtype), storage.device)
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= n:
        raise Forged(f"a tensor of size {list(size)}, stride {list(stride)} at offset {offset} "
                     f"reads element {last} of a {n}-element storage (out of bounds)")
    if numel * itemsize >= 1 << 62:
        raise Forged(f"tensor size {list(size)} is too large")
    data = xp.lib.stride_tricks.as_strided(arr[offset:], shape=size,
                                           strides=tuple(s * itemsize for s in stride))
    return Tensor._make(data, storage.device)


def _set_grad(t: Tensor, requires_grad) -> Tensor:
    if type(requires_grad) is not bool:
        raise Forged(f"requires_grad must be a bool, got {requires_grad!r:.60}")
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_metadata(metadata) -> None:
    if metadata and any(metadata.values() if isinstance(metadata, dict) else [True]):
        raise Unsupported(f"tensor metadata {metadata!r:.80} (conjugate/negative bits) is not "
                          "supported by gputensor")


def rebuild_tensor(storage, storage_offset, size, stride) -> Tensor:
    """``torch._utils._rebuild_tensor``."""
    return _as_view(storage, storage_offset, size, stride)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: the call behind every tensor torch saves."""
    _check_metadata(metadata)
    return _set_grad(_as_view(storage, storage_offset, size, stride), requires_grad)


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      dtype, metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: an untyped storage read as ``dtype``."""
    if not isinstance(dtype, dt.dtype):
        raise Forged(f"dtype must be a dtype, got {dtype!r:.60}")
    _check_metadata(metadata)
    return _set_grad(_as_view(storage, storage_offset, size, stride, dtype), requires_grad)


def rebuild_parameter(data, requires_grad, backward_hooks) -> Parameter:
    """``torch._utils._rebuild_parameter``."""
    if not isinstance(data, Tensor):
        raise Forged(f"a Parameter's data must be a tensor, got {type(data).__name__}")
    if type(requires_grad) is not bool:
        raise Forged(f"requires_grad must be a bool, got {requires_grad!r:.60}")
    return Parameter(data.detach() if data.requires_grad else data, requires_grad)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state) -> Parameter:
    """``torch._utils._rebuild_parameter_with_state``: a Parameter with Python attributes."""
    return set_state(rebuild_parameter(data, requires_grad, backward_hooks), state)


def rebuild_device_tensor_from_cpu_tensor(data, dtype, device, requires_grad) -> Tensor:
    """``torch._utils._rebuild_device_tensor_from_cpu_tensor``."""
    if not isinstance(data, Tensor) or not isinstance(dtype, dt.dtype):
        raise Forged("_rebuild_device_tensor_from_cpu_tensor needs a tensor and a dtype")
    return _set_grad(data.to(device=Device(str(device)), dtype=dtype), requires_grad)


def set_state(obj, state):
    """Python attributes saved with a tensor (``torch._utils._set_obj_state``), dunders refused."""
    if state is None:
        return obj
    dict_state, slots = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    for part in (dict_state, slots):
        if not part:
            continue
        if not isinstance(part, dict):
            raise Forged(f"tensor state must be a dict, got {type(part).__name__}")
        for k, v in part.items():
            if type(k) is not str or k.startswith("__"):
                raise Forged(f"tensor attribute name {k!r:.60} is not allowed")
            setattr(obj, k, v)
    return obj


_REBUILDERS = (rebuild_tensor, rebuild_tensor_v2, rebuild_tensor_v3, rebuild_parameter,
               rebuild_parameter_with_state, rebuild_device_tensor_from_cpu_tensor)


def rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``, for plain Tensors and Parameters only."""
    if not any(func is f for f in _REBUILDERS):
        raise Forged("_rebuild_from_type_v2 can only call tensor rebuild functions, got "
                     f"{func!r:.60}")
    if new_type is not Tensor and new_type is not Parameter:
        raise Unsupported(f"tensor subclass {getattr(new_type, '__name__', new_type)!r:.60} "
                          "(only Tensor and Parameter load)")
    if not isinstance(args, tuple):
        raise Forged("_rebuild_from_type_v2 arguments must be a tuple")
    ret = func(*args)
    if new_type is Parameter and not isinstance(ret, Parameter):
        ret = Parameter(ret, ret.requires_grad)
    return set_state(ret, state)


def unsupported(kind: str):
    """A stand-in for a torch rebuild function gputensor has no counterpart for."""
    def refuse(*args, **kwargs):
        raise Unsupported(f"{kind} tensors are not supported by gputensor")
    refuse.__name__ = f"unsupported_{kind.replace(' ', '_')}"
    return refuse


def get_layout(name) -> object:
    """``torch.serialization._get_layout``: only dense (strided) tensors exist here."""
    table = {"torch.strided": strided, "torch.sparse_coo": sparse_coo}
    if name not in table:
        raise Unsupported(f"layout {name!r:.60} is not supported by gputensor")
    return table[name]


def make_size(dims=()) -> Size:
    """``torch.Size(dims)``."""
    return Size(_ints(dims, "torch.Size"))


def make_device(type_or_str, index=None) -> Device:
    """``torch.device(...)`` for the devices gputensor knows (cpu, cuda)."""
    if not isinstance(type_or_str, (str, int)) or not (index is None or type(index) is int):
        raise Forged(f"torch.device arguments {type_or_str!r:.40}, {index!r:.40} are invalid")
    return Device(type_or_str, index) if index is not None else Device(type_or_str)
