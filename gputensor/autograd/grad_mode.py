"""Thread-local grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator, like torch's.
"""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(on: bool) -> None:
    _state.enabled = on


def is_inference_mode_enabled() -> bool:
    return getattr(_state, "inference", False)


class _Mode:
    """Base: sets grad mode to ``self._target`` inside, restores the previous value after."""

    _target = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._target)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)
        return wrapper

    def _clone(self):
        return self.__class__()


class no_grad(_Mode):
    """Disable graph recording (e.g. for evaluation and hand-written parameter updates)."""
    _target = False


class enable_grad(_Mode):
    _target = True


class set_grad_enabled(_Mode):
    """``set_grad_enabled(False)`` takes effect immediately (also usable as a context/decorator)."""

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = is_grad_enabled()
        _set(self._target)

    def __enter__(self):
        return self

    def _clone(self):
        return set_grad_enabled(self._target)


class inference_mode(_Mode):
    """Like ``no_grad`` (gputensor has no separate inference tensors)."""

    def __init__(self, mode: bool = True):
        self._target = not mode
        self._mode = mode

    def __enter__(self):
        self._prev_inf = is_inference_mode_enabled()
        _state.inference = self._mode
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._prev_inf
        return super().__exit__(*exc)

    def _clone(self):
        return inference_mode(self._mode)
