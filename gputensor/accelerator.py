"""``gputensor.accelerator``: the device-agnostic accelerator API (torch 2.6+).

The accelerator is cuda (the GPUs CuPy sees, or Numba's CUDA simulator with
``GPUTENSOR_SIM_DEVICES`` devices); with neither, ``current_accelerator()`` is ``None`` and the
index functions raise as torch's do.
"""
from __future__ import annotations

from ._device import device
from .backends import cuda_available, get_backend

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return cuda_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` when cuda (or the simulator) is on, else ``None``."""
    return device("cuda") if cuda_available() else None


def device_count() -> int:
    return get_backend("cuda").count if cuda_available() else 0


def _require() -> None:
    if not cuda_available():
        raise RuntimeError(_NONE)


def current_device_index() -> int:
    _require()
    return get_backend("cuda").current_device()


current_device_idx = current_device_index


def set_device_index(device) -> None:
    """Make ``device`` (an index, "cuda:1", a device) the current one; -1 does nothing."""
    _require()
    from . import cuda
    cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    """Wait for all queued work on the accelerator to finish."""
    _require()
    from . import cuda
    cuda.synchronize(device)


__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "current_device_idx", "set_device_index", "set_device_idx", "synchronize"]
