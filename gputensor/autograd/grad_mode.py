"""Thread-local grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator (``@no_grad()`` and bare ``@no_grad``), like
torch's. Every thread starts with grad enabled, whatever the mode of the thread that started it.
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Class attributes are the per-thread defaults (cheaper than ``getattr(..., default)``)."""

    enabled = True
    inference = False


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def _set(on: bool) -> None:
    _state.enabled = on


def is_inference_mode_enabled() -> bool:
    return _state.inference


class _Mode:
    """Base: sets grad mode to ``self._target`` inside, restores the previous value after."""

    _target = True

    def __new__(cls, *args, **kwargs):
        """``@no_grad`` without parentheses: called with the function, return it decorated."""
        if len(args) == 1 and not kwargs and callable(args[0]) and cls._bare_decorator:
            return cls()(args[0])
        return super().__new__(cls)

    _bare_decorator = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._target
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
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
    """Re-enable graph recording inside a ``no_grad`` region."""
    _target = True


class set_grad_enabled(_Mode):
    """``set_grad_enabled(mode)`` takes effect immediately; also a context manager or decorator."""

    _bare_decorator = False

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._target

    def __enter__(self):
        return self

    def __call__(self, fn):
        _state.enabled = self._prev  # as a decorator it must not change the mode now
        return super().__call__(fn)

    def _clone(self):
        return set_grad_enabled(self._target)


class inference_mode(_Mode):
    """Like ``no_grad`` (gputensor has no separate inference tensors); ``mode=False`` turns
    inference mode off and grad recording on, as torch's does."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._target = not self._mode

    def __enter__(self):
        self._prev_inf = _state.inference
        _state.inference = self._mode
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._prev_inf
        return super().__exit__(*exc)

    def _clone(self):
        return inference_mode(self._mode)
