"""Process-wide runtime settings torch exposes at top level: thread counts, deterministic
algorithms, float32 matmul precision.

- Threads: gputensor's cpu work runs in NumPy's BLAS and in Numba kernels. ``set_num_threads``
  applies the count to both (the BLAS pool through ``threadpoolctl`` when it is installed, and
  ``numba.set_num_threads`` capped at Numba's pool size); without them it is only remembered.
  ``get_num_threads`` reports the value set (default: the BLAS pool's size, else the CPU count).
  Inter-op threads are just remembered: gputensor runs ops one after another.
- Determinism: every gputensor kernel is already deterministic (scatter-adds accumulate in a
  fixed order), so ``use_deterministic_algorithms`` only records the mode for the getters.
- ``set_float32_matmul_precision``: recorded; float32 matmuls always run in full float32 (no TF32
  / bfloat16 passes), which is what ``"highest"`` means.
"""
from __future__ import annotations

import builtins
import os
import warnings

_state = {"threads": None, "interop": None, "det": False,
          "det_warn": False, "precision": "highest"}


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def get_num_threads() -> int:
    """Threads used for intra-op parallelism on cpu (see the module docstring)."""
    if _state["threads"] is None:
        _state["threads"] = _blas_threads() or os.cpu_count() or 1
    return _state["threads"]


def set_num_threads(int: int) -> None:  # noqa: A002 (torch's parameter name)
    """Set the cpu thread count for BLAS (via threadpoolctl) and Numba kernels."""
    if not isinstance(int, builtins.int) or int <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _state["threads"] = int
    try:
        from threadpoolctl import threadpool_limits
        _state["limiter"] = threadpool_limits(limits=int, user_api="blas")
    except ImportError:
        pass
    try:
        import numba
        numba.set_num_threads(min(int, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):
        pass


def get_num_interop_threads() -> int:
    """Inter-op thread count (remembered only: gputensor runs ops in order)."""
    return _state["interop"] or get_num_threads()


def set_num_interop_threads(int: int) -> None:  # noqa: A002
    if int <= 0:
        raise RuntimeError("Number of interop threads must be positive")
    _state["interop"] = int


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the mode; gputensor's algorithms are deterministic in either case."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    _state["det"], _state["det_warn"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled() -> bool:
    return _state["det"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["det_warn"]


def set_deterministic_debug_mode(debug_mode) -> None:
    """``"default"``/0, ``"warn"``/1 or ``"error"``/2, as ``use_deterministic_algorithms``."""
    names = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _state["det"]:
        return 0
    return 1 if _state["det_warn"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``"highest"``, ``"high"`` or ``"medium"`` (matmuls stay full float32)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["precision"]


__all__ = ["get_num_threads", "set_num_threads", "get_num_interop_threads",
           "set_num_interop_threads", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode", "set_float32_matmul_precision",
           "get_float32_matmul_precision"]
