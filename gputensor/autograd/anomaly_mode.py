"""Anomaly detection (``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``): while on,
a backward function that returns NaN raises, naming the function (torch's check). torch also
records each forward's traceback to print with such errors; gputensor does not."""
from __future__ import annotations

import functools
import warnings

_enabled = False
_check_nan = True


def is_anomaly_enabled() -> bool:
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan


def _set(mode: bool, check_nan: bool) -> tuple:
    global _enabled, _check_nan
    prev = (_enabled, _check_nan)
    _enabled, _check_nan = bool(mode), bool(check_nan)
    return prev


class set_detect_anomaly:
    """Turn anomaly detection on or off: at once, and as a context manager restoring it."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        _set(*self.prev)
        return False


class detect_anomaly:
    """Context manager / decorator enabling anomaly detection inside."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self.prev = _set(True, self.check_nan)

    def __exit__(self, *exc) -> bool:
        _set(*self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def check_outputs(node, grads) -> None:
    """Raise as torch does when ``node``'s backward produced NaN (anomaly mode with check_nan)."""
    for i, g in enumerate(grads if isinstance(grads, tuple) else (grads,)):
        data = getattr(g, "_data", None)
        if data is not None and data.dtype.kind == "f" and bool(g._backend.xp.isnan(data).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               f"output.")
