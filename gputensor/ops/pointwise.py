"""Elementwise math beyond arithmetic: unary functions, clamp, where, maximum/minimum.

Unary functions are built by ``_unary`` from a forward (on backend arrays) and a backward
(on tensors, so double backward works). Comparisons, logical, bitwise and predicate ops (bool
or integer results, never requiring grad) live in ``compare.py``.
"""
from __future__ import annotations

import math

from .. import _dtype as dt
from ..autograd.function import Function
from ..backends import _backends
from ..tensor import Tensor, tensor_method
from ._util import data, promote, unbroadcast, wrap
from ._special import erf_forward, erfc_forward, erfinv_forward
from .elementwise import _float, _shape
from .compare import _check_tensor, isfinite

_make = Tensor._make
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0


def _zero_grad(g: Tensor, _saved) -> Tensor:
    """Gradient of piecewise-constant functions (sign, floor, round ...), as torch defines it."""
    from .creation import zeros_like
    return zeros_like(g)


def _unary(name: str, forward, backward, save: str | None = "x", floating: bool = True,
           doc: str = ""):
    """Build the Function for one unary op and its public function (also a Tensor method).

    ``forward(xp, array)`` computes the result; ``backward(g, saved)`` returns the input gradient,
    where ``saved`` is the input (save="x"), the output (save="out") or None.
    ``floating``: integer inputs compute in the default float dtype (exp, sin ...), else they
    keep their dtype (abs, sign, floor ...).
    """
    def fwd(ctx, x):
        out = wrap(forward(x._backend.xp, x._data), x)
        ctx.save_for_backward({"x": x, "out": out}.get(save))
        return out

    def bwd(ctx, g):
        (saved,) = ctx.saved_tensors
        return backward(g, saved)

    def lean(x):  # apply's path when no graph is recorded
        dev = x._device
        return _make(forward(_backends[dev.type].xp, x._data), dev)

    fn_cls = type(name.capitalize(), (Function,), {"forward": staticmethod(fwd),
                                                   "backward": staticmethod(bwd),
                                                   "_lean": staticmethod(lean)})

    def op(input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            _check_tensor(input, name)
        return fn_cls.apply(input if not floating or input._data.dtype.kind == "f"
                            else _float(input))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise ``{name}`` (torch semantics, differentiable)."
    return tensor_method(op)


def _keep_ints(ufunc_name: str):
    """Forward of a rounding op: integer (and bool) inputs are already integral and are copied."""
    def forward(xp, a):
        return a.copy() if a.dtype.kind in "biu" else getattr(xp, ufunc_name)(a)
    return forward


def _ufunc(ufunc_name: str):
    return lambda xp, a: getattr(xp, ufunc_name)(a)


def _sigmoid(xp, a):
    return xp.exp(-xp.logaddexp(0, -a))  # stable for large |a| in every float dtype


def _sign_forward(xp, a):
    return a.copy() if a.dtype.kind == "b" else xp.sign(a)


# -- unary functions ------------------------------------------------------------------------------

exp2 = _unary("exp2", _ufunc("exp2"), lambda g, out: g * out * _LN2, save="out")
log2 = _unary("log2", _ufunc("log2"), lambda g, x: g / (x * _LN2))
log10 = _unary("log10", _ufunc("log10"), lambda g, x: g / (x * _LN10))
log1p = _unary("log1p", _ufunc("log1p"), lambda g, x: g / (x + 1))
expm1 = _unary("expm1", _ufunc("expm1"), lambda g, out: g * (out + 1), save="out")
sqrt = _unary("sqrt", _ufunc("sqrt"), lambda g, out: g / (2 * out), save="out")
rsqrt = _unary("rsqrt", lambda xp, a: 1 / xp.sqrt(a),
               lambda g, out: g * (-0.5) * out * out * out, save="out")
sin = _unary("sin", _ufunc("sin"), lambda g, x: g * cos(x))
cos = _unary("cos", _ufunc("cos"), lambda g, x: -g * sin(x))
tan = _unary("tan", _ufunc("tan"), lambda g, out: g * (1 + out * out), save="out")
asin = _unary("asin", _ufunc("arcsin"), lambda g, x: g * rsqrt(1 - x * x))
acos = _unary("acos", _ufunc("arccos"), lambda g, x: -g * rsqrt(1 - x * x))
atan = _unary("atan", _ufunc("arctan"), lambda g, x: g / (1 + x * x))
sinh = _unary("sinh", _ufunc("sinh"), lambda g, x: g * cosh(x))
cosh = _unary("cosh", _ufunc("cosh"), lambda g, x: g * sinh(x))
tanh = _unary("tanh", _ufunc("tanh"), lambda g, out: g * (1 - out * out), save="out")
sigmoid = _unary("sigmoid", _sigmoid, lambda g, out: g * out * (1 - out), save="out")
reciprocal = _unary("reciprocal", lambda xp, a: 1 / a, lambda g, out: -g * out * out, save="out")
erf = _unary("erf", erf_forward, lambda g, x: g * (_TWO_OVER_SQRT_PI * exp(-x * x)),
             doc="Gauss error function (scipy/cupyx special), exact to the dtype's precision.")
erfc = _unary("erfc", erfc_forward, lambda g, x: g * (-_TWO_OVER_SQRT_PI * exp(-x * x)))
erfinv = _unary("erfinv", erfinv_forward, lambda g, out: g * (_SQRT_PI_OVER_2 * exp(out * out)),
                save="out")
abs = _unary("abs", _ufunc("abs"), lambda g, x: g * sign(x), floating=False)
sign = _unary("sign", _sign_forward, _zero_grad, save=None, floating=False)
floor = _unary("floor", _keep_ints("floor"), _zero_grad, save=None, floating=False)
ceil = _unary("ceil", _keep_ints("ceil"), _zero_grad, save=None, floating=False)
trunc = _unary("trunc", _keep_ints("trunc"), _zero_grad, save=None, floating=False)
_round = _unary("round", _keep_ints("round"), _zero_grad, save=None, floating=False)
frac = _unary("frac", lambda xp, a: a - xp.trunc(a), lambda g, x: g)
absolute, fix, arcsin, arccos, arctan = abs, trunc, asin, acos, atan


def _relu_lean(x):
    dev = x._device
    return _make(_backends[dev.type].xp.maximum(x._data, 0), dev)


class Relu(Function):
    _lean = staticmethod(_relu_lean)

    @staticmethod
    def forward(ctx, x):
        out = _relu_lean(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        o = out._data  # the mask in g's dtype (a constant: comparisons carry no gradient)
        return g * _make(_backends[out._device.type].xp.greater(o, 0).astype(g._data.dtype),
                         out._device)


@tensor_method
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace`` (as in ``F.relu``) writes the result into ``input``."""
    if not isinstance(input, Tensor):
        _check_tensor(input, "relu")
    if input._data.dtype.kind == "b":
        raise RuntimeError('"clamp_min" not implemented for \'Bool\' (relu of a bool tensor)')
    return input._assign(Relu.apply(input)) if inplace else Relu.apply(input)


@tensor_method
def square(input: Tensor) -> Tensor:
    return input * input


@tensor_method(name="round")
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even; ``decimals`` scales by 10**decimals first (as torch does)."""
    if decimals == 0 or input._data.dtype.kind != "f":
        return _round(input)
    scale = 10.0 ** decimals
    return _round(input * scale) / scale


# -- differentiable binary ops --------------------------------------------------------------------

class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape(a), _shape(b))
        like = a if isinstance(a, Tensor) else b
        return wrap(like._backend.xp.where(cond._data, data(a), data(b)), like)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (None, unbroadcast(where(cond, g, 0.0), sa) if n[1] else None,
                unbroadcast(where(cond, 0.0, g), sb) if n[2] else None)


@tensor_method
def where(condition: Tensor, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (either may be a Python scalar);
    ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    _check_tensor(condition, "where")
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if condition._data.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        rt = dt.result_type(input, other)
        input = wrap(condition._backend.xp.asarray(input, dtype=rt.np), condition)
    a, b = promote(input, other)
    return Where.apply(condition, a, b)


class Extremum(Function):
    """maximum/minimum/fmax/fmin: each output element comes from one operand; ``weights`` gives
    the share of the gradient each operand receives (ties split as torch splits them)."""

    @staticmethod
    def forward(ctx, a, b, ufunc, weights):
        xp = a._backend.xp
        out = getattr(xp, ufunc)(a._data, b._data)
        ctx.shapes = (a._data.shape, b._data.shape)
        if any(ctx.needs_input_grad):
            ctx.weights = [w.astype(out.dtype) for w in weights(xp, a._data, b._data)]
        return wrap(out, a)

    @staticmethod
    def backward(ctx, g):
        return tuple(unbroadcast(g * wrap(w, g), s) if need else None
                     for w, s, need in zip(ctx.weights, ctx.shapes, ctx.needs_input_grad)) + (
            None, None)


def _split_ties(loses):
    """Weights for maximum/minimum: the selected operand gets the gradient, ties halve it,
    NaN (selected by both) passes it to both."""
    def weights(xp, a, b):
        half = xp.where(a == b, 0.5, 1.0)
        return half * ~loses(a, b), half * ~loses(b, a)
    return weights


def _prefer_number(ge):
    """Weights for fmax/fmin: ties and NaN in ``b`` go to ``a``."""
    def weights(xp, a, b):
        wa = ge(a, b) | xp.isnan(b)
        return wa, ~wa
    return weights


def _pick(name: str, ufunc: str, weights):
    def op(input: Tensor, other: Tensor) -> Tensor:
        _check_tensor(input, name)
        _check_tensor(other, name)
        return Extremum.apply(*promote(input, other), ufunc, weights)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of two tensors (broadcasting, differentiable)."
    return tensor_method(op)


maximum = _pick("maximum", "maximum", _split_ties(lambda a, b: a < b))
minimum = _pick("minimum", "minimum", _split_ties(lambda a, b: a > b))
fmax = _pick("fmax", "fmax", _prefer_number(lambda a, b: a >= b))
fmin = _pick("fmin", "fmin", _prefer_number(lambda a, b: a <= b))


class Clamp(Function):
    """x limited to [lo, hi] (either may be None, a scalar or a tensor); when lo > hi the
    result is hi, as in torch. The gradient goes to whichever operand was selected."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = x._backend.xp
        out = x._data
        take_lo = take_hi = xp.bool_(False)
        if lo is not None:
            take_lo = out < data(lo)
            out = xp.where(take_lo, data(lo), out)
        if hi is not None:
            take_hi = out > data(hi)
            out = xp.where(take_hi, data(hi), out)
        ctx.shapes = (x._data.shape, _shape(lo), _shape(hi))
        ctx.masks = (~(take_lo | take_hi), take_lo & ~take_hi, take_hi)
        return wrap(out.copy() if out is x._data else out, x)

    @staticmethod
    def backward(ctx, g):
        return tuple(unbroadcast(where(wrap(mask, g), g, 0.0), shape) if need else None
                     for mask, shape, need in zip(ctx.masks, ctx.shapes, ctx.needs_input_grad))


@tensor_method
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit ``input`` to [min, max]; bounds are scalars or tensors, either may be omitted."""
    _check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    rt = dt.result_type(input, *bounds)
    if input._data.dtype != rt.np:
        input = input.to(rt)
    lo, hi = (None if b is None else (b.to(rt) if isinstance(b, Tensor) else rt.np.type(b))
              for b in (min, max))
    return Clamp.apply(input, lo, hi)


clip = clamp
Tensor.clip = clamp


@tensor_method
def clamp_min(input: Tensor, min) -> Tensor:
    return clamp(input, min=min)


@tensor_method
def clamp_max(input: Tensor, max) -> Tensor:
    return clamp(input, max=max)


class Atan2(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return wrap(a._backend.xp.arctan2(a._data, b._data), a)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        n = ctx.needs_input_grad
        return (unbroadcast(g * b / r2, a.shape) if n[0] else None,
                unbroadcast(-g * a / r2, b.shape) if n[1] else None)


class Hypot(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = wrap(a._backend.xp.hypot(a._data, b._data), a)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (unbroadcast(g * a / out, a.shape) if n[0] else None,
                unbroadcast(g * b / out, b.shape) if n[1] else None)


@tensor_method(names=("arctan2",))
def atan2(input: Tensor, other: Tensor) -> Tensor:
    return Atan2.apply(*promote(input, other, floating=True))


arctan2 = atan2


@tensor_method
def hypot(input: Tensor, other: Tensor) -> Tensor:
    return Hypot.apply(*promote(input, other, floating=True))


@tensor_method
def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) without overflow (the max is factored out, outside the graph)."""
    a, b = promote(input, other, floating=True)
    m = maximum(a, b).detach()
    m = where(isfinite(m), m, 0.0)
    return m + log(exp(a - m) + exp(b - m))


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = x._backend.xp
        ctx.save_for_backward(x)
        return wrap(xp.nan_to_num(x._data, copy=True, nan=nan, posinf=posinf, neginf=neginf), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return where(isfinite(x), g, 0.0), None, None, None


@tensor_method
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +/-inf -> ``posinf``/``neginf`` (default: the dtype's largest values)."""
    _check_tensor(input, "nan_to_num")
    if input._data.dtype.kind != "f":
        return input.clone()
    return NanToNum.apply(input, nan, posinf, neginf)


@tensor_method
def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input)."""
    return input + weight * (end - input)


@tensor_method
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return input + value * tensor1 * tensor2


@tensor_method
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return input + value * tensor1 / tensor2


from .elementwise import exp, log  # noqa: E402  (used by backward formulas above)

Tensor.__abs__ = abs
Tensor.absolute = abs
Tensor.fix = trunc
Tensor.arcsin, Tensor.arccos, Tensor.arctan = asin, acos, atan

# Moved to compare.py; still importable from here (``from .pointwise import eq``).
_MOVED = frozenset("""_is_operand _arrays _binary_bool _dunder _bitwise _predicate
    eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and logical_or
    logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not isnan isinf
    isfinite isposinf isneginf isclose allclose equal""".split())


def __getattr__(name: str):
    if name in _MOVED:
        from . import compare
        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["exp2", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos",
           "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
           "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc", "fix", "frac",
           "reciprocal", "erf", "erfc", "abs", "absolute", "nan_to_num", "atan2", "arctan2",
           "hypot", "logaddexp", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum",
           "fmax", "fmin", "where", "lerp", "addcmul", "addcdiv", "erfinv"]
