"""Device and dtype moves (``Tensor.to``): copies, differentiable."""
from __future__ import annotations

from .. import _dtype as dt
from ..autograd.function import Function
from ..backends import device_guard, get_backend
from ..tensor import Tensor, tensor_method


def _move(a, src, dst):
    """``a`` (on ``src``) as an array on ``dst``: host copies to and from the cpu, a peer copy
    between two cuda devices; ``a`` itself when it already lives there."""
    if src == dst:
        return a
    if src.type == dst.type:  # cuda:i -> cuda:j
        return get_backend(dst.type).copy_to(a, dst.index)
    host = get_backend(src.type).to_numpy(a)
    b = get_backend(dst.type)
    return host if dst.type == "cpu" else b.from_numpy(host, dst.index)


class ToCopy(Function):
    @staticmethod
    def forward(ctx, x: Tensor, device, dtype: dt.dtype):
        ctx.src = (x._device, x._data.dtype)
        arr = x._data
        if device == x._device:
            arr = arr.astype(dtype.np, copy=True)
        else:
            if device.type == "cpu" or device.type == x._device.type:  # cast, then copy
                arr = _move(arr.astype(dtype.np, copy=False), x._device, device)
            else:
                with device_guard(device):
                    arr = _move(arr, x._device, device).astype(dtype.np, copy=False)
            if arr is x._data:
                arr = arr.copy()
        return Tensor._make(arr, device)

    @staticmethod
    def backward(ctx, g):
        device, np_dtype = ctx.src
        return to_copy(g, device, dt._FROM_NP[np_dtype]), None, None


def to_copy(x: Tensor, device, dtype: dt.dtype) -> Tensor:
    get_backend(device.type)  # raises early with a clear message if cuda is unavailable
    return ToCopy.apply(x, device, dtype)


class Clone(Function):
    @staticmethod
    def forward(ctx, x: Tensor):
        return Tensor._make(x._data.copy(), x._device)

    @staticmethod
    def backward(ctx, g):
        return g


@tensor_method
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return Clone.apply(input)


@tensor_method
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    return input if input._data.flags.c_contiguous else Clone.apply(input)


__all__ = ["clone"]
