"""Top-level switches torch programs call that have nothing to tune in gputensor.

- ``compile(model)`` returns ``model`` unchanged (used as a call or a decorator): gputensor runs
  eagerly, and torch's compiled module computes the same values.
- ``set_warn_always`` / ``is_warn_always_enabled``: a recorded flag (gputensor warns through
  Python's ``warnings``, whose filters decide repetition).
- ``set_flush_denormal`` returns False, as torch does where the CPU lacks the control.
"""
from __future__ import annotations

_state = {"warn_always": False}


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable: bool = False):
    """``torch.compile``: the model (or function) itself; without one, a decorator."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model


def set_warn_always(b: bool) -> None:
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """False: denormal flushing is not controlled (NumPy keeps IEEE semantics)."""
    return False


def is_vulkan_available() -> bool:
    return False


def compiled_with_cxx11_abi() -> bool:
    return True


__all__ = ["compile", "set_warn_always", "is_warn_always_enabled", "set_flush_denormal",
           "is_vulkan_available", "compiled_with_cxx11_abi"]


class autocast:
    """``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`` as a
    context manager or decorator that changes nothing: gputensor computes every op in its
    inputs' dtype (float32 stays float32), so mixed-precision code runs at full precision.
    ``is_autocast_enabled()`` reports the region as torch would."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, bool(enabled)

    def __enter__(self):
        _autocast_stack.append(self._enabled)
        return self

    def __exit__(self, *exc) -> bool:
        _autocast_stack.pop()
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapped


_autocast_stack: list = []


def is_autocast_enabled(device_type: str | None = None) -> bool:
    return bool(_autocast_stack and _autocast_stack[-1])


__all__ += ["autocast", "is_autocast_enabled"]
