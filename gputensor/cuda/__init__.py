"""``gputensor.cuda``: availability and housekeeping of the cuda device."""
from __future__ import annotations

from ..backends import cuda_available, get_backend


def is_available() -> bool:
    """True with a GPU visible to CuPy, or under ``NUMBA_ENABLE_CUDASIM=1``. Never raises."""
    return cuda_available()


def device_count() -> int:
    """GPUs CuPy sees, or the simulator's ``GPUTENSOR_SIM_DEVICES`` (1 unless set)."""
    return _require().count if is_available() else 0


def current_device() -> int:
    """This thread's current cuda device (what ``"cuda"`` without an index means)."""
    return _require().current_device()


def _index(device, optional: bool = False) -> int | None:
    """torch's ``_get_device_index``: an int, ``"cuda:1"``, ``device("cuda", 1)``; ``"cuda"``
    or ``None`` is the current device (None stays None when ``optional``)."""
    from .._device import device as _Device
    if device is None:
        return None if optional else current_device()
    if isinstance(device, str):
        device = _Device(device)
    if isinstance(device, _Device):
        if device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        return current_device() if device.index is None else device.index
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:"
                     f"{device}")


def set_device(device) -> None:
    """Make ``device`` this thread's current cuda device (a negative index does nothing, as
    in torch)."""
    b = _require()
    i = _index(device)
    if i >= 0:
        b.set_device(i)


class device:
    """``with gputensor.cuda.device(1):``: device 1 is current inside the block (None or -1:
    no change)."""

    def __init__(self, device) -> None:
        self.idx = -1 if device is None else _index(device)
        self.prev_idx = -1

    def __enter__(self) -> "device":
        if self.idx >= 0:
            b = _require()
            self.prev_idx = b.current_device()
            b.set_device(self.idx)
        return self

    def __exit__(self, *exc) -> bool:
        if self.idx >= 0 and self.prev_idx != self.idx:
            _require().set_device(self.prev_idx)
        return False


class device_of(device):
    """``with gputensor.cuda.device_of(t):``: ``t``'s device is current (no change for a cpu
    tensor)."""

    def __init__(self, obj) -> None:
        super().__init__(obj.get_device() if obj.is_cuda else -1)


def get_device_name(device=None) -> str:
    b = _require()
    i = b.check_index(_index(device))
    if b.mode == "simulator":
        return "Numba CUDA simulator"
    props = b.xp.cuda.runtime.getDeviceProperties(i)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def is_simulator() -> bool:
    return is_available() and _require().mode == "simulator"


def synchronize(device=None) -> None:
    """Wait for the work queued on ``device`` (the current device when None)."""
    b = _require()
    b.synchronize(b.check_index(_index(device)))


def manual_seed(seed: int) -> None:
    """Seed the current cuda device's generator only (``gputensor.manual_seed`` seeds all)."""
    b = _require()
    b.manual_seed(int(seed), b.current_device())


def manual_seed_all(seed: int) -> None:
    """Seed every cuda device's generator."""
    _require().manual_seed(int(seed))


def initial_seed() -> int:
    return _require().initial_seed()


def get_rng_state(device="cuda"):
    b = _require()
    with b.device_guard(b.check_index(_index(device))):
        return b.get_rng_state()


def set_rng_state(state, device="cuda") -> None:
    b = _require()
    with b.device_guard(b.check_index(_index(device))):
        b.set_rng_state(state)


def is_initialized() -> bool:
    """Whether the cuda backend has been created (it is, lazily, on first cuda use)."""
    from ..backends import _backends
    return "cuda" in _backends


def memory_allocated(device=None) -> int:
    """Bytes in use in CuPy's memory pool of ``device`` (0 under the simulator)."""
    b = _require()
    if b.mode == "simulator":
        return 0
    with b.device_guard(b.check_index(_index(device))):  # CuPy's pool reports the current device
        return int(b.xp.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes held by CuPy's memory pool of ``device`` (0 under the simulator)."""
    b = _require()
    if b.mode == "simulator":
        return 0
    with b.device_guard(b.check_index(_index(device))):
        return int(b.xp.get_default_memory_pool().total_bytes())


def max_memory_allocated(device=None) -> int:
    """CuPy's pool keeps no peak; the current use is the best lower bound it gives."""
    return memory_allocated(device)


def reset_peak_memory_stats(device=None) -> None:
    _require()


def empty_cache() -> None:
    b = _require()
    if b.mode == "gpu":
        b.xp.get_default_memory_pool().free_all_blocks()


def _legacy_types() -> dict:
    from .._legacy import CUDA_TYPES
    return CUDA_TYPES


def __getattr__(name: str):
    """``gputensor.cuda.FloatTensor`` etc.: legacy constructors of cuda tensors."""
    types = _legacy_types()
    if name in types:
        return types[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _require():
    if not is_available():
        raise RuntimeError("CUDA is not available: no GPU visible to CuPy, and "
                           "NUMBA_ENABLE_CUDASIM=1 is not set (check gputensor.cuda.is_available() "
                           "first)")
    return get_backend("cuda")


__all__ = ["is_available", "device_count", "current_device", "set_device", "device",
           "device_of", "get_device_name",
           "is_simulator", "synchronize", "manual_seed", "manual_seed_all", "initial_seed",
           "get_rng_state", "set_rng_state", "is_initialized", "memory_allocated",
           "memory_reserved", "max_memory_allocated", "reset_peak_memory_stats", "empty_cache"]
