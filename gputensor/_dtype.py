"""dtypes with PyTorch's names and type-promotion rules, backed by NumPy dtypes."""
from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type (``gputensor.float32`` ...). Wraps the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = name not in ("uint8", "bool")
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"gputensor.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The gputensor dtype storing ``np_dtype``; raises TypeError for unsupported ones."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"unsupported dtype {np_dtype!r}; gputensor supports "
                        f"{', '.join(d.name for d in ALL)}") from None


def to_dtype(d) -> dtype:
    """Accept a gputensor dtype, a NumPy dtype, a Python type, or a name."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default[0]
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    return from_numpy_dtype(d)


_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d) -> None:
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """Promotion of two dtypes (same table as torch for the supported types)."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def scalar_category(value) -> int:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    return 2


def result_type(*operands) -> dtype:
    """torch.result_type over tensors (with ``.dtype`` and ``.ndim``) and Python scalars.

    Operands rank in three tiers: tensors with dims, zero-dim tensors, Python scalars. The result
    category (bool < int < float) is the highest present; its dtype comes from the highest tier
    holding an operand of that category (a Python float alone gives the default dtype).
    """
    best_cat = -1
    tiers: dict[int, list] = {}
    for op in operands:
        if hasattr(op, "dtype") and isinstance(op.dtype, dtype):
            cat = op.dtype._category
            tier = 2 if op.ndim > 0 else 1
            val = op.dtype
        else:
            cat = scalar_category(op)
            tier = 0
            val = None
        best_cat = max(best_cat, cat)
        tiers.setdefault(tier, []).append((cat, val))
    for tier in (2, 1, 0):
        members = [v for c, v in tiers.get(tier, ()) if c == best_cat]
        if not members:
            continue
        if tier == 0:
            return (bool_, int64, _default[0])[best_cat]
        out = members[0]
        for m in members[1:]:
            out = promote_types(out, m)
        return out
    raise ValueError("result_type needs at least one operand")


class finfo:
    """``gputensor.finfo(dtype)``: machine limits of a floating dtype (eps, max, min, tiny ...)."""

    def __init__(self, type: dtype | None = None):
        d = to_dtype(type) if type is not None else _default[0]
        if not d.is_floating_point:
            raise TypeError(f"finfo() requires a floating point dtype, got {d}")
        info = np.finfo(d.np)
        self.dtype, self.bits = d.name, info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -info.precision

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """``gputensor.iinfo(dtype)``: limits of an integer dtype (bits, min, max)."""

    def __init__(self, type: dtype):
        d = to_dtype(type)
        if d.is_floating_point:
            raise TypeError(f"iinfo() requires an integer dtype, got {d}")
        info = np.iinfo(np.uint8 if d is bool_ else d.np)
        self.dtype, self.bits, self.min, self.max = d.name, info.bits, int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
