"""Elementwise arithmetic with broadcasting and torch's type promotion."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._util import data, promote, unbroadcast, wrap


def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else ()


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        t = a if isinstance(a, Tensor) else b
        return wrap(t._backend.xp.add(data(a), data(b)), t)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (unbroadcast(g, sa) if n[0] else None, unbroadcast(g, sb) if n[1] else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        t = a if isinstance(a, Tensor) else b
        return wrap(t._backend.xp.subtract(data(a), data(b)), t)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (unbroadcast(g, sa) if n[0] else None, unbroadcast(-g, sb) if n[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*(x if isinstance(x, Tensor) else None for x in (a, b)))
        ctx.scalars = (a, b)
        t = a if isinstance(a, Tensor) else b
        return wrap(t._backend.xp.multiply(data(a), data(b)), t)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        n = ctx.needs_input_grad
        return (unbroadcast(g * b, _shape(a)) if n[0] else None,
                unbroadcast(g * a, _shape(b)) if n[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*(x if isinstance(x, Tensor) else None for x in (a, b)))
        ctx.scalars = (a, b)
        t = a if isinstance(a, Tensor) else b
        return wrap(t._backend.xp.true_divide(data(a), data(b)), t)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        n = ctx.needs_input_grad
        ga = unbroadcast(g / b, _shape(a)) if n[0] else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if n[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return wrap(a._backend.xp.negative(a._data), a)

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        t = a if isinstance(a, Tensor) else b
        out = wrap(t._backend.xp.power(data(a), data(b)), t)
        ctx.save_for_backward(*(x if isinstance(x, Tensor) else None for x in (a, b, out)))
        ctx.scalars = (a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        sa, sb = ctx.scalars
        a = sa if a is None else a
        b = sb if b is None else b
        n = ctx.needs_input_grad
        ga = gb = None
        if n[0]:
            ga = unbroadcast(g * b * a ** (b - 1), _shape(a))
        if n[1]:
            # d/db a**b = a**b * log(a); define it as 0 where a == 0 (as torch does)
            la = log(a) if isinstance(a, Tensor) else log(Tensor._make(
                b._backend.xp.asarray(a, dtype=b._data.dtype), b._device))
            la = where(la.isinf() if isinstance(la, Tensor) else la, 0.0, la)
            gb = unbroadcast(g * out * la, _shape(b))
        return ga, gb


class Exp(Function):
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
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        q = Div.apply(*promote(input, other, floating=True))
        res = q.trunc()
        rt = promote(input, other)[0]
        return res if rt._data.dtype.kind == "f" else res.to(rt.dtype)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


divide = true_divide = div


@tensor_method(names=("__neg__",))
def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


negative = neg


@tensor_method(names=("__pow__",))
def pow(input, exponent) -> Tensor:
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


def _inplace(op):
    def method(self, other, **kw):
        return self._assign(op(self, other, **kw))
    method.__name__ = op.__name__ + "_"
    return method


for _op in (add, sub, mul, div, pow):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ipow__ = Tensor.pow_

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative", "pow", "exp", "log"]
