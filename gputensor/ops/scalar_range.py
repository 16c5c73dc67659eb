"""torch's overflow rules for Python numbers entering integer tensors.

NumPy either wraps silently (``np.array([2**63]).astype(int64)``) or raises ``OverflowError``;
torch instead raises ``ValueError("Overflow when unpacking long long")`` for ints beyond 64 bits
in ``tensor()``, ``RuntimeError("value cannot be converted to type T without overflow")`` for
values a fill or a dtype cannot hold, and wraps scalars of binary ops modulo 2**bits.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt

_INT64 = (-2 ** 63, 2 ** 63)
_C_NAMES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
            "uint64": "uint64_t"}


def _unpack_error() -> ValueError:
    return ValueError("Overflow when unpacking long long")


def check_int64_data(data, arr: np.ndarray, target: dt.dtype | None) -> None:
    """Python ints in ``data`` (lists/scalars, not arrays) must fit int64 unless the target is
    uint64 or floating, as torch's unpacking requires; only suspicious arrays are walked."""
    if isinstance(data, (np.ndarray, np.generic)):
        return
    if target is not None and (target.is_floating_point or target.is_complex
                               or target.np == np.uint64 or target is dt.bool_):
        return
    kind = arr.dtype.kind
    if kind == "f" and target is None and _has_float(data):
        return  # a float among the data: torch infers a float dtype and unpacks ints as doubles
    if kind == "u" and arr.dtype.itemsize == 8:
        if arr.size and int(arr.max()) >= _INT64[1]:
            raise _unpack_error()
    elif kind == "O" or (kind == "f" and arr.size and np.nanmax(np.abs(arr)) >= 2.0 ** 63):
        _walk(data)


def _has_float(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(_has_float(v) for v in x)
    return isinstance(x, (float, complex, np.floating))


def _walk(x) -> None:
    if isinstance(x, (list, tuple)):
        for v in x:
            _walk(v)
    elif isinstance(x, int) and not isinstance(x, bool) and not _INT64[0] <= x < _INT64[1]:
        raise _unpack_error()


def fits(value, d: dt.dtype) -> bool:
    """c10::overflows: may ``value`` be stored in integer dtype ``d``? Unsigned types accept
    negative ints down to -max (they wrap), but no negative floats; nan/inf never fit."""
    if d.is_floating_point or d.is_complex or d is dt.bool_ or isinstance(value, bool):
        return True
    info = np.iinfo(d.np)
    if isinstance(value, float) or isinstance(value, np.floating):
        if math.isnan(value) or math.isinf(value):
            return False
        return info.min <= value <= info.max
    value = int(value)
    if info.min == 0 and value < 0:
        return -value <= info.max
    return info.min <= value <= info.max


def check_fill(value, d: dt.dtype, c_name: bool = True) -> None:
    """RuntimeError as torch's fills (C type names) or ``tensor(x, dtype=)`` (dtype names)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not fits(value, d):
        name = _C_NAMES.get(d.name, d.name) if c_name else d.name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def check_array_fits(arr: np.ndarray, d: dt.dtype) -> None:
    """``tensor(list, dtype=int type)``: every element must fit (one min/max pass)."""
    if arr.size == 0 or arr.dtype.kind not in "iuf" or d.is_floating_point or d.is_complex \
            or d is dt.bool_:
        return
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        check_fill(float("nan"), d, c_name=False)
    lo, hi = arr.min(), arr.max()
    for v in (lo, hi):
        check_fill(float(v) if arr.dtype.kind == "f" else int(v), d, c_name=False)


def wrap_int(value: int, d: dt.dtype):
    """A binary op's Python int scalar as torch sees it: reduced modulo 2**bits when it does
    not fit, OverflowError beyond 64 bits."""
    if not -2 ** 63 <= value < 2 ** 64:
        raise OverflowError("int too big to convert")
    info = np.iinfo(d.np)
    if info.min <= value <= info.max:
        return d.np.type(value)
    bits = info.bits
    value %= 2 ** bits
    if info.min < 0 and value >= 2 ** (bits - 1):
        value -= 2 ** bits
    return d.np.type(value)
