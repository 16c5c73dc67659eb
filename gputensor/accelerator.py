"""``gputensor.accelerator``: the device-agnostic accelerator API (torch 2.6+).

The one accelerator gputensor drives is cuda:0 (a real GPU through CuPy, or Numba's CUDA
simulator); with neither, ``current_accelerator()`` is ``None`` and the index functions raise
as torch's do.
"""
from __future__ import annotations

from ._device import CUDA0, device
from .backends import cuda_available, get_backend

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return cuda_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` when cuda (or the simulator) is on, else ``None``."""
    return device("cuda") if cuda_available() else None


def device_count() -> int:
    return 1 if cuda_available() else 0


def _require() -> None:
    if not cuda_available():
        raise RuntimeError(_NONE)


def current_device_index() -> int:
    _require()
    return 0


current_device_idx = current_device_index


def set_device_index(device) -> None:
    """Only index 0 exists (gputensor drives one GPU)."""
    _require()
    idx = device.index if hasattr(device, "index") else device
    if idx not in (None, 0, -1):
        raise RuntimeError(f"gputensor drives one accelerator (cuda:0); got index {idx}")


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    """Wait for all queued work on the accelerator to finish."""
    _require()
    get_backend(CUDA0.type).synchronize()


__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "current_device_idx", "set_device_index", "set_device_idx", "synchronize"]
