"""DLPack exchange: ``Tensor.__dlpack__``/``__dlpack_device__`` (so ``numpy.from_dlpack`` and
``torch.from_dlpack`` read gputensor tensors without a copy), ``to_dlpack`` and
``from_dlpack`` (any object with ``__dlpack__``: NumPy, CuPy, torch tensors). Device memory
arrives as a cuda tensor through CuPy on a real GPU; everything else as a cpu tensor."""
from __future__ import annotations

import numpy as np

from ._device import device
from .tensor import Tensor

_CUDA = 2  # DLPack's kDLCUDA


def _dlpack(self: Tensor, *args, **kwargs):
    return self._data.__dlpack__(*args, **kwargs)


def _dlpack_device(self: Tensor):
    return self._data.__dlpack_device__()


Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = _dlpack_device


def to_dlpack(tensor: Tensor):
    """A DLPack capsule sharing ``tensor``'s memory."""
    return tensor._data.__dlpack__()


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor`` (an object with ``__dlpack__``)."""
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError("from_dlpack: expected an object with __dlpack__ (a DLPack capsule "
                        "alone cannot be imported by gputensor's NumPy/CuPy backends)")
    dev_type = ext_tensor.__dlpack_device__()[0]
    if dev_type == _CUDA:
        import cupy
        return Tensor._make(cupy.from_dlpack(ext_tensor), device("cuda"))
    return Tensor._make(np.from_dlpack(ext_tensor), device("cpu"))


__all__ = ["to_dlpack", "from_dlpack"]
