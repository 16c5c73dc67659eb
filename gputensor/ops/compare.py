"""Comparisons, logical, bitwise and predicate ops: bool (or integer) results that never require
grad, with their dunders (``==``, ``<``, ``&``, ``~`` ...). Split from ``pointwise.py``, which
re-exports them."""
from __future__ import annotations

from .. import _dtype as dt
from .._errors import check_broadcast
from ..tensor import Tensor, tensor_method
from ._util import data, wrap


def _check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _is_operand(x) -> bool:
    return isinstance(x, (Tensor, int, float, bool)) or (
        hasattr(x, "dtype") and getattr(x, "ndim", None) == 0)


def _arrays(a, b, name: str, cast: bool = True):
    """Backend arrays of a binary non-differentiable op, on one device, in the common dtype."""
    for x in (a, b):
        if not _is_operand(x):
            raise TypeError(f"{name}(): expected a Tensor or a number, got {type(x).__name__}")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._device != b._device:
        raise RuntimeError(f"{name}: expected all tensors to be on the same device, but found "
                           f"at least two devices, {a._device} and {b._device}!")
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.shape != b._data.shape:
        check_broadcast(a._data.shape, b._data.shape)  # torch's RuntimeError, not NumPy's
    if not cast:
        return like, data(a), data(b)
    rt = dt.result_type(a, b).np
    conv = [x._data.astype(rt, copy=False) if isinstance(x, Tensor) else rt.type(x)
            for x in (a, b)]
    return like, conv[0], conv[1]


def _binary_bool(name: str, ufunc: str, dunders: tuple = (), reflected: tuple = (),
                 cast: bool = True):
    """A comparison or logical op returning a bool tensor, with its dunder methods."""
    def op(input, other) -> Tensor:
        like, a, b = _arrays(input, other, name, cast)
        return wrap(getattr(like._backend.xp, ufunc)(a, b), like)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting; returns a bool tensor."
    tensor_method(op)
    for d in dunders:
        setattr(Tensor, d, _dunder(op, swap=False))
    for d in reflected:
        setattr(Tensor, d, _dunder(op, swap=True))
    return op


def _dunder(op, swap: bool):
    """A binary dunder that defers (NotImplemented) on operands that are not tensors or numbers,
    so ``t == None`` is False as in torch."""
    def method(self, other):
        if not _is_operand(other):
            return NotImplemented
        return op(other, self) if swap else op(self, other)
    return method


eq = _binary_bool("eq", "equal", ("__eq__",))
ne = _binary_bool("ne", "not_equal", ("__ne__",))
lt = _binary_bool("lt", "less", ("__lt__",))
le = _binary_bool("le", "less_equal", ("__le__",))
gt = _binary_bool("gt", "greater", ("__gt__",))
ge = _binary_bool("ge", "greater_equal", ("__ge__",))
logical_and = _binary_bool("logical_and", "logical_and", cast=False)
logical_or = _binary_bool("logical_or", "logical_or", cast=False)
logical_xor = _binary_bool("logical_xor", "logical_xor", cast=False)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
for _alias, _op in (("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
                    ("not_equal", ne)):
    setattr(Tensor, _alias, _op)


@tensor_method
def logical_not(input: Tensor) -> Tensor:
    _check_tensor(input, "logical_not")
    return wrap(input._backend.xp.logical_not(input._data), input)


def _bitwise(name: str, ufunc: str, dunder: str, rdunder: str):
    """A bitwise op for integer and bool tensors (torch refuses floats)."""
    def op(input, other) -> Tensor:
        like, a, b = _arrays(input, other, name)
        if a.dtype.kind not in "biu":
            raise NotImplementedError(f'"{name}" not implemented for '
                                      f"'{dt.result_type(input, other).name}' "
                                      f"(operands must be integer or bool)")
        return wrap(getattr(like._backend.xp, ufunc)(a, b), like)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer or bool tensors."
    tensor_method(op)
    setattr(Tensor, dunder, _dunder(op, swap=False))
    setattr(Tensor, rdunder, _dunder(op, swap=True))
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and", "__and__", "__rand__")
bitwise_or = _bitwise("bitwise_or", "bitwise_or", "__or__", "__ror__")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor", "__xor__", "__rxor__")


@tensor_method(names=("__invert__",))
def bitwise_not(input: Tensor) -> Tensor:
    _check_tensor(input, "bitwise_not")
    if input._data.dtype.kind not in "biu":
        raise NotImplementedError(f"\"bitwise_not\" not implemented for '{input.dtype.name}'")
    return wrap(input._backend.xp.invert(input._data), input)


def _predicate(name: str, ufunc: str):
    def op(input: Tensor) -> Tensor:
        _check_tensor(input, name)
        return wrap(getattr(input._backend.xp, ufunc)(input._data), input)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` test; a bool tensor."
    return tensor_method(op)


isnan = _predicate("isnan", "isnan")
isinf = _predicate("isinf", "isinf")
isfinite = _predicate("isfinite", "isfinite")
isposinf = _predicate("isposinf", "isposinf")
isneginf = _predicate("isneginf", "isneginf")


@tensor_method
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (infinities equal only themselves)."""
    like, a, b = _arrays(input, other, "isclose")
    return wrap(like._backend.xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), like)


@tensor_method
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@tensor_method
def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    if input._data.shape != other._data.shape:
        return False
    return bool(eq(input, other)._data.all())


__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
           "bitwise_or", "bitwise_xor", "bitwise_not", "isnan", "isinf", "isfinite", "isposinf",
           "isneginf", "isclose", "allclose", "equal"]
