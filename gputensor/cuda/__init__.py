"""``gputensor.cuda``: availability and housekeeping of the cuda device."""
from __future__ import annotations

from ..backends import cuda_available, get_backend


def is_available() -> bool:
    """True with a GPU visible to CuPy, or under ``NUMBA_ENABLE_CUDASIM=1``. Never raises."""
    return cuda_available()


def device_count() -> int:
    return 1 if is_available() else 0


def current_device() -> int:
    _require()
    return 0


def set_device(device) -> None:
    _require()


def get_device_name(device=None) -> str:
    b = _require()
    if b.mode == "simulator":
        return "Numba CUDA simulator"
    props = b.xp.cuda.runtime.getDeviceProperties(0)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def is_simulator() -> bool:
    return is_available() and _require().mode == "simulator"


def synchronize(device=None) -> None:
    _require().synchronize()


def manual_seed(seed: int) -> None:
    """Seed the cuda generator only (``gputensor.manual_seed`` seeds every device)."""
    _require().manual_seed(int(seed))


manual_seed_all = manual_seed


def initial_seed() -> int:
    return _require().initial_seed()


def get_rng_state(device=None):
    return _require().get_rng_state()


def set_rng_state(state, device=None) -> None:
    _require().set_rng_state(state)


def is_initialized() -> bool:
    """Whether the cuda backend has been created (it is, lazily, on first cuda use)."""
    from ..backends import _backends
    return "cuda" in _backends


def memory_allocated(device=None) -> int:
    """Bytes in use in CuPy's memory pool (0 under the simulator)."""
    b = _require()
    return 0 if b.mode == "simulator" else int(b.xp.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes held by CuPy's memory pool (0 under the simulator)."""
    b = _require()
    return 0 if b.mode == "simulator" else int(b.xp.get_default_memory_pool().total_bytes())


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


__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name",
           "is_simulator", "synchronize", "manual_seed", "manual_seed_all", "initial_seed",
           "get_rng_state", "set_rng_state", "is_initialized", "memory_allocated",
           "memory_reserved", "max_memory_allocated", "reset_peak_memory_stats", "empty_cache"]
