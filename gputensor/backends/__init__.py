"""Backends: one per device type, created lazily on first use."""
from __future__ import annotations

from contextlib import nullcontext

from .base import Backend, KernelTable

_NULL = nullcontext()

_backends: dict[str, Backend] = {}
_seed: list = [None]  # the last manual_seed, applied to backends created later


def get_backend(device_type: str) -> Backend:
    """The backend for ``"cpu"`` or ``"cuda"`` (created once; raises if cuda is unavailable)."""
    b = _backends.get(device_type)
    if b is None:
        if device_type == "cpu":
            from .cpu import CPUBackend
            b = CPUBackend()
        elif device_type == "cuda":
            from .cuda import CUDABackend
            b = CUDABackend()
        else:
            raise ValueError(f"unknown device type {device_type!r}")
        if _seed[0] is not None:
            b.manual_seed(_seed[0])
        _backends[device_type] = b
    return b


def device_guard(device):
    """A context that makes ``device`` (a concrete ``gputensor.device``) current while ops on
    its tensors allocate and launch; nothing to do for cpu."""
    if device is None or device.type != "cuda":
        return _NULL
    return get_backend("cuda").device_guard(device.index)


def enter_device(device):
    """Fast form of ``device_guard`` for hot paths: makes ``device`` current and returns what
    ``exit_device`` needs to restore the previous one (None: nothing changed)."""
    if device is None or device.type != "cuda":
        return None
    b = _backends.get("cuda")
    if b is None or b.count == 1:
        return None
    return b.enter_device(device.index)


def exit_device(prev) -> None:
    if prev is not None:
        _backends["cuda"].set_device(prev)


def seed_all(seed: int) -> None:
    """Seed every backend's generator, now and when created later."""
    _seed[0] = int(seed)
    for b in _backends.values():
        b.manual_seed(int(seed))


def cuda_available() -> bool:
    """True on a GPU with CuPy, or under the Numba CUDA simulator. Never raises."""
    if "cuda" in _backends:
        return True
    from .cuda import _probe_cupy, simulator_enabled
    return simulator_enabled() or _probe_cupy() is not None


def initialized() -> list[Backend]:
    return list(_backends.values())


def __getattr__(name: str):
    """``gputensor.backends.cudnn`` / ``.mps`` / ``.cuda`` as attributes, as in torch (imported
    on first access, so ``import gputensor`` stays light)."""
    if name in ("cudnn", "mps", "cuda"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
