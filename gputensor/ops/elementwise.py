"""Elementwise arithmetic with broadcasting and torch's type promotion."""
from __future__ import annotations

import functools

from ..autograd.function import Function
from ..backends import _backends
from ..tensor import Tensor, tensor_method
from ._util import data, promote, unbroadcast, wrap

_make = Tensor._make


def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else ()


def _shape2(a, b) -> tuple:
    """``(_shape(a), _shape(b))`` in one call (this runs for every recorded binary op)."""
    return (a._data.shape if isinstance(a, Tensor) else (),
            b._data.shape if isinstance(b, Tensor) else ())


def _save_operands(ctx, *xs) -> None:
    """Save tensor operands (version-checked, freed after backward); keep scalars aside."""
    tensors = []
    scalars = []
    for x in xs:  # loops, not generators: each generator is a Python frame
        if isinstance(x, Tensor):
            tensors.append(x)
            scalars.append(None)
        else:
            tensors.append(None)
            scalars.append(x)
    ctx.save_for_backward(*tensors)
    ctx.scalars = scalars


def _saved_operands(ctx) -> tuple:
    out = []
    for t, s in zip(ctx.saved_tensors, ctx.scalars):
        out.append(s if t is None else t)
    return tuple(out)


def _apply(fn, a, b) -> Tensor:
    """``fn(a, b)`` on the backend of whichever operand is a tensor."""
    if isinstance(a, Tensor):
        dev = a._device
        return _make(getattr(_backends[dev.type].xp, fn)(a._data, b._data if isinstance(
            b, Tensor) else b), dev)
    dev = b._device
    return _make(getattr(_backends[dev.type].xp, fn)(a, b._data), dev)


def _apply1(fn, a) -> Tensor:
    dev = a._device
    return _make(getattr(_backends[dev.type].xp, fn)(a._data), dev)


def _lean_of(apply, fn: str):
    """The ``_lean`` of a Function: ``fn`` on the operands' arrays, nothing saved (a partial:
    calling it costs no Python frame of its own)."""
    return staticmethod(functools.partial(apply, fn))


class Add(Function):
    _lean = _lean_of(_apply, "add")

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape2(a, b)
        return _apply("add", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (unbroadcast(g, sa) if n[0] else None, unbroadcast(g, sb) if n[1] else None)


class Sub(Function):
    _lean = _lean_of(_apply, "subtract")

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape2(a, b)
        return _apply("subtract", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (unbroadcast(g, sa) if n[0] else None, unbroadcast(-g, sb) if n[1] else None)


class Mul(Function):
    _lean = _lean_of(_apply, "multiply")

    @staticmethod
    def forward(ctx, a, b):
        # Save only what backward reads (as torch does), so modifying the other operand in
        # place afterwards stays legal: d/da needs b, d/db needs a.
        n = ctx.needs_input_grad
        ctx.shapes = _shape2(a, b)
        _save_operands(ctx, a if n[1] else None, b if n[0] else None)
        return _apply("multiply", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (unbroadcast(g * b, sa) if n[0] else None,
                unbroadcast(g * a, sb) if n[1] else None)


class Div(Function):
    _lean = _lean_of(_apply, "true_divide")

    @staticmethod
    def forward(ctx, a, b):
        # d/da needs b; d/db needs a and b: a is saved only when b needs a gradient.
        ctx.shapes = _shape2(a, b)
        _save_operands(ctx, a if ctx.needs_input_grad[1] else None, b)
        return _apply("true_divide", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        ga = unbroadcast(g / b, sa) if n[0] else None
        gb = unbroadcast(-g * a / (b * b), sb) if n[1] else None
        return ga, gb


class Neg(Function):
    _lean = _lean_of(_apply1, "negative")

    @staticmethod
    def forward(ctx, a):
        return wrap(a._backend.xp.negative(a._data), a)

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = _int_power(a, b) if _negative_int_exponent(b) else _apply("power", a, b)
        _save_operands(ctx, a, b, out if isinstance(b, Tensor) else None)  # out: exponent grad
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = _saved_operands(ctx)
        n = ctx.needs_input_grad
        from .creation import full_like
        from .pointwise import where  # pointwise imports this module
        ga = gb = None
        if n[0]:
            if isinstance(b, Tensor):  # torch defines the gradient as 0 where the exponent is 0
                ga = unbroadcast(g * where(b == 0, 0.0, b * a ** (b - 1)), _shape(a))
            else:
                ga = g * (b * a ** (b - 1)) if b != 0 else g * 0
        if n[1]:
            # d/db a**b = a**b * log(a): 0 where a == 0 and b >= 0, -inf where a == 0 and
            # b < 0 (as torch); log(1) stands in at a == 0 so no inf enters log's graph
            a = a if isinstance(a, Tensor) else full_like(b, a)
            log_a = where((a == 0) & (b < 0), float("-inf"), log(where(a == 0, 1.0, a)))
            gb = unbroadcast(g * out * log_a, _shape(b))
        return ga, gb


def _negative_int_exponent(b) -> bool:
    """NumPy refuses integer arrays to negative integer powers; torch computes them."""
    return isinstance(b, Tensor) and b._data.dtype.kind in "iu" and bool((b._data < 0).any())


def _int_power(a, b) -> Tensor:
    """Integer ``a ** b`` where some ``b < 0``: 1 for base 1, +-1 for base -1, else 0 (torch)."""
    t = a if isinstance(a, Tensor) else b
    xp, x, y = t._backend.xp, data(a), b._data
    pos = xp.power(x, xp.where(y < 0, 0, y))
    odd = xp.where(y % 2 == 0, 1, -1).astype(y.dtype)
    neg = xp.where(x == 1, 1, xp.where(x == -1, odd, 0)).astype(y.dtype)
    return wrap(xp.asarray(xp.where(y < 0, neg, pos)), t)


class RoundedDiv(Function):
    """Division rounded toward -inf ("floor") or zero ("trunc"); its gradient is zero
    (piecewise constant), as for torch.div(..., rounding_mode=...)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = (a if isinstance(a, Tensor) else b)._backend.xp
        x, y = data(a), data(b)
        _check_int_zero(xp, x, y, "division")
        if mode == "floor":
            q = xp.floor_divide(x, y)
        elif xp.asarray(x).dtype.kind == "f":
            q = xp.trunc(x / y)
        else:  # integer division rounded toward zero, exact for large values
            q = xp.sign(x) * xp.sign(y) * xp.floor_divide(xp.abs(x), xp.abs(y))
        return wrap(xp.asarray(q), a if isinstance(a, Tensor) else b)

    @staticmethod
    def backward(ctx, g):
        n = ctx.needs_input_grad
        return (g * 0 if n[0] else None, g * 0 if n[1] else None, None)


class FloorDivide(RoundedDiv):
    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented "
                           "(use torch.div(a, b, rounding_mode='floor') for a zero gradient)")


class Remainder(Function):
    """a - b * round(a / b) with floor ("remainder", sign of b) or trunc ("fmod", sign of a)."""

    @staticmethod
    def forward(ctx, a, b, ufunc):
        t = a if isinstance(a, Tensor) else b
        _check_int_zero(t._backend.xp, data(a), data(b), ufunc)
        _save_operands(ctx, a, b)
        ctx.mode = "floor" if ufunc == "remainder" else "trunc"
        return _apply(ufunc, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        n = ctx.needs_input_grad
        ga = unbroadcast(g, _shape(a)) if n[0] else None
        gb = unbroadcast(-g * div(a, b, rounding_mode=ctx.mode), _shape(b)) if n[1] else None
        return ga, gb, None


def _check_int_zero(xp, x, y, what: str) -> None:
    """Integer division by zero raises, as in torch (NumPy would quietly give 0)."""
    y = xp.asarray(y)
    if y.dtype.kind in "biu" and xp.asarray(x).dtype.kind in "biu" and bool((y == 0).any()):
        raise RuntimeError(f"ZeroDivisionError: integer {what} by zero")


class Exp(Function):
    _lean = _lean_of(_apply1, "exp")

    @staticmethod
    def forward(ctx, a):
        out = wrap(a._backend.xp.exp(a._data), a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    _lean = _lean_of(_apply1, "log")

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return wrap(a._backend.xp.log(a._data), a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


def _float(x: Tensor) -> Tensor:
    """Integer inputs of floating ops (exp, log, ...) compute in the default dtype, as torch."""
    from .. import _dtype as dt
    return x if x._data.dtype.kind == "f" else x.to(dt.get_default_dtype())


# -- public functions (also Tensor methods) -----------------------------------------------------

@tensor_method(names=("__add__", "__radd__"))
def add(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = other * alpha
    return Add.apply(*promote(input, other))


@tensor_method(names=("__sub__",))
def sub(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = other * alpha
    return Sub.apply(*promote(input, other))


subtract = sub


@tensor_method(names=("__mul__", "__rmul__"))
def mul(input, other) -> Tensor:
    return Mul.apply(*promote(input, other))


multiply = mul


@tensor_method(names=("__truediv__",))
def div(input, other, *, rounding_mode=None) -> Tensor:
    if rounding_mode is None:
        return Div.apply(*promote(input, other, floating=True))
    if rounding_mode in ("floor", "trunc"):
        return RoundedDiv.apply(*promote(input, other), rounding_mode)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


divide = true_divide = div


@tensor_method(names=("__neg__",))
def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


negative = neg


@tensor_method(names=("__pow__",))
def pow(input, exponent) -> Tensor:
    if isinstance(exponent, int) and not isinstance(exponent, bool) and exponent < 0 and \
            isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return Pow.apply(*promote(input, exponent))


@tensor_method
def exp(input: Tensor) -> Tensor:
    return Exp.apply(_float(input))


@tensor_method
def log(input: Tensor) -> Tensor:
    return Log.apply(_float(input))


def _rsub(self, other):
    return sub(other, self)


def _rtruediv(self, other):
    return div(other, self)


def _rpow(self, other):
    return pow(other, self)


Tensor.__rsub__ = _rsub
Tensor.__rtruediv__ = _rtruediv
Tensor.__rpow__ = _rpow
Tensor.__pos__ = lambda self: self


@tensor_method(names=("__floordiv__",))
def floor_divide(input, other) -> Tensor:
    """a // b rounded toward -inf (not differentiable, as in torch)."""
    return FloorDivide.apply(*promote(input, other), "floor")


@tensor_method(names=("__mod__",))
def remainder(input, other) -> Tensor:
    """Python-style modulus: the result has the sign of ``other``."""
    return Remainder.apply(*promote(input, other), "remainder")


@tensor_method
def fmod(input, other) -> Tensor:
    """C-style modulus: the result has the sign of ``input``."""
    return Remainder.apply(*promote(input, other), "fmod")


Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
Tensor.__rmod__ = lambda self, other: remainder(other, self)

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
           "negative", "pow", "exp", "log", "floor_divide", "remainder", "fmod"]
