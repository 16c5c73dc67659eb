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

