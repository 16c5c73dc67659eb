"""Special functions and small pointwise ops (lgamma, digamma, polygamma, Bessel i0/i1, xlogy,
gcd, heaviside, frexp, isin ...). Forwards call a kept special-function library through
``_special._lib`` (scipy.special on NumPy arrays, cupyx.scipy.special on CuPy arrays); backwards
are torch's derivative formulas in differentiable tensor ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._special import _lib
from ._util import promote, unbroadcast, wrap
from .inplace import _inplace
from .elementwise import _float
from .pointwise import (_check_tensor, _unary, _zero_grad, cos, exp, log, log1p, sign,
                        where)

_PI = math.pi
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _work(a):
    """float16 has no loop in the special-function libraries: compute in float32."""
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)


def _sp(fn_name: str):
    def forward(xp, a):
        with np.errstate(all="ignore"):
            return getattr(_lib(xp), fn_name)(_work(a)).astype(a.dtype, copy=False)
    forward.__name__ = f"_{fn_name}_forward"
    return forward


# -- unary special functions ------------------------------------------------------------------

def _sinc(xp, a):
    with np.errstate(all="ignore"):
        return xp.sinc(a).astype(a.dtype, copy=False)


def _sinc_grad(g, x):
    px = x * _PI
    safe = where(x == 0, 1.0, x)
    return g * where(x == 0, 0.0, (cos(px) - sinc(x)) / safe)


def _logit_fwd(xp, a):
    with np.errstate(all="ignore"):
        return xp.log(a / (1 - a))


lgamma = _unary("lgamma", _sp("gammaln"), lambda g, x: g * digamma(x))
digamma = _unary("digamma", _sp("psi"), lambda g, x: g * polygamma(1, x))
i0 = _unary("i0", _sp("i0"), lambda g, x: g * special_i1(x))
special_i0e = _unary("special_i0e", _sp("i0e"),
                     lambda g, x: g * (special_i1e(x) - sign(x) * special_i0e(x)))
special_i1 = _unary("special_i1", _sp("i1"),
                    lambda g, x: g * where(x == 0, 0.5, i0(x) - special_i1(x) /
                                           where(x == 0, 1.0, x)))
special_i1e = _unary("special_i1e", _sp("i1e"),
                     lambda g, x: g * where(x == 0, 0.5, special_i0e(x) - special_i1e(x) * (
                         sign(x) + 1 / where(x == 0, 1.0, x))))
sinc = _unary("sinc", _sinc, _sinc_grad)
special_erfcx = _unary("special_erfcx", _sp("erfcx"),
                       lambda g, x: g * (2 * x * special_erfcx(x) - _TWO_OVER_SQRT_PI))
special_ndtr = _unary("special_ndtr", _sp("ndtr"),
                      lambda g, x: g * (_INV_SQRT_2PI * exp(-0.5 * x * x)))
special_ndtri = _unary("special_ndtri", _sp("ndtri"),
                       lambda g, out: g * (math.sqrt(2 * _PI) * exp(0.5 * out * out)), save="out")
special_log_ndtr = _unary("special_log_ndtr", _sp("log_ndtr"),
                          lambda g, x: g * (_INV_SQRT_2PI * exp(-0.5 * x * x -
                                                                special_log_ndtr(x))))
special_entr = _unary("special_entr", _sp("entr"), lambda g, x: g * -(log(x) + 1))
_logit = _unary("logit", _logit_fwd, lambda g, x: g / (x * (1 - x)))


def _nograd(name: str, fn_name: str):
    """A special function torch gives no derivative (its output has no grad_fn)."""
    def op(input: Tensor) -> Tensor:
        _check_tensor(input, name)
        x = _float(input)
        with np.errstate(all="ignore"):
            out = getattr(_lib(x._backend.xp), fn_name)(_work(x._data))
        return wrap(out.astype(x._data.dtype, copy=False), x)
    op.__name__ = op.__qualname__ = name
    return op


special_bessel_j0 = _nograd("special_bessel_j0", "j0")
special_bessel_j1 = _nograd("special_bessel_j1", "j1")
special_bessel_y0 = _nograd("special_bessel_y0", "y0")
special_bessel_y1 = _nograd("special_bessel_y1", "y1")
special_modified_bessel_i0 = _nograd("special_modified_bessel_i0", "i0")
special_modified_bessel_i1 = _nograd("special_modified_bessel_i1", "i1")
special_modified_bessel_k0 = _nograd("special_modified_bessel_k0", "k0")
special_modified_bessel_k1 = _nograd("special_modified_bessel_k1", "k1")
special_scaled_modified_bessel_k0 = _nograd("special_scaled_modified_bessel_k0", "k0e")
special_scaled_modified_bessel_k1 = _nograd("special_scaled_modified_bessel_k1", "k1e")


def special_spherical_bessel_j0(input: Tensor) -> Tensor:
    """sin(x) / x (1 at 0); no derivative, as torch."""
    _check_tensor(input, "spherical_bessel_j0")
    x = _float(input).detach()
    return where(x == 0, 1.0, x.sin() / where(x == 0, 1.0, x))


@tensor_method
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)); with ``eps``, p is clamped to [eps, 1 - eps] first (zero gradient
    outside)."""
    _check_tensor(input, "logit")
    if eps is None:
        return _logit(input)
    x = _float(input)
    return _logit(x.clamp(eps, 1 - eps))


class Polygamma(Function):
    @staticmethod
    def forward(ctx, n, x):
        xp = x._backend.xp
        a = x._data
        with np.errstate(all="ignore"):
            w = _work(a)  # n as an array: cupyx's polygamma broadcasts its arguments as arrays
            out = _lib(xp).polygamma(xp.full_like(w, n), w) if n > 0 else _lib(xp).psi(w)
        ctx.n = n
        ctx.save_for_backward(x)
        return wrap(xp.asarray(out).astype(a.dtype, copy=False), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return None, g * polygamma(ctx.n + 1, x)


@tensor_method(names=())
def polygamma(n: int, input: Tensor) -> Tensor:
    """n-th derivative of digamma."""
    _check_tensor(input, "polygamma")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return Polygamma.apply(int(n), _float(input))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


Tensor.polygamma = _polygamma_method


@tensor_method
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """Multivariate log-gamma: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)."""
    _check_tensor(input, "mvlgamma")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float(input)
    out = lgamma(x)
    for i in range(1, p):
        out = out + lgamma(x - i / 2)
    return out + p * (p - 1) / 4 * math.log(_PI)


# -- binary ops -------------------------------------------------------------------------------

class XLogY(Function):
    """x * log(y) (log1p(y) for xlog1py), 0 where x == 0 unless y is nan."""

    @staticmethod
    def forward(ctx, x, y, one_p):
        xp = x._backend.xp
        a, b = x._data, y._data
        with np.errstate(all="ignore"):
            fn = getattr(_lib(xp), "xlog1py" if one_p else "xlogy")
            out = fn(_work(a), _work(b)).astype(a.dtype, copy=False)
        ctx.one_p = one_p
        ctx.save_for_backward(x, y)
        return wrap(xp.asarray(out), x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        n = ctx.needs_input_grad
        gx = gy = None
        if n[0]:  # torch: g * log(y) (log1p), 0 where x == 0 and y is at/below the pole
            ly = log1p(y) if ctx.one_p else log(y)
            gx = unbroadcast(g * where((x == 0) & (y <= (-1 if ctx.one_p else 0)), 0.0, ly),
                             x.shape)
        if n[1]:
            gy = unbroadcast(g * x / ((y + 1) if ctx.one_p else y), y.shape)
        return gx, gy, None


def _binary_float(name: str, input, other):
    for v in (input, other):
        if not isinstance(v, (Tensor, int, float, bool)):
            raise TypeError(f"{name}(): argument must be Tensor or Number, not {type(v).__name__}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    like = input if isinstance(input, Tensor) else other
    a, b = promote(input, other, floating=True)
    a = a if isinstance(a, Tensor) else wrap(like._backend.xp.asarray(a), like)
    b = b if isinstance(b, Tensor) else wrap(like._backend.xp.asarray(b), like)
    return a, b


@tensor_method
def xlogy(input, other) -> Tensor:
    return XLogY.apply(*_binary_float("xlogy", input, other), False)


def special_xlog1py(input, other) -> Tensor:
    return XLogY.apply(*_binary_float("xlog1py", input, other), True)


class IGamma(Function):
    """Regularized incomplete gamma P(a, x) (Q for igammac); differentiable in x only."""

    @staticmethod
    def forward(ctx, a, x, upper):
        xp = a._backend.xp
        with np.errstate(all="ignore"):
            fn = getattr(_lib(xp), "gammaincc" if upper else "gammainc")
            out = fn(_work(a._data), _work(x._data)).astype(a._data.dtype, copy=False)
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        return wrap(xp.asarray(out), a)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        name = "igammac" if ctx.upper else "igamma"
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        d = exp((a - 1) * log(x) - x - lgamma(a))
        return None, unbroadcast(g * (-d if ctx.upper else d), x.shape), None


class Zeta(Function):
    """Hurwitz zeta(x, q); differentiable in q only (torch: d/dq = -x zeta(x + 1, q))."""

    @staticmethod
    def forward(ctx, x, q):
        xp = x._backend.xp
        with np.errstate(all="ignore"):
            out = _lib(xp).zeta(_work(x._data), _work(q._data)).astype(x._data.dtype, copy=False)
        ctx.save_for_backward(x, q)
        return wrap(xp.asarray(out), x)

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'special_zeta: self' is not "
                                      "implemented.")
        return None, unbroadcast(g * -x * Zeta.apply(x + 1, q), q.shape)


def special_zeta(input, other) -> Tensor:
    return Zeta.apply(*_binary_float("zeta", input, other))


@tensor_method
def igamma(input, other) -> Tensor:
    return IGamma.apply(*_binary_float("igamma", input, other), False)


@tensor_method
def igammac(input, other) -> Tensor:
    return IGamma.apply(*_binary_float("igammac", input, other), True)


class Angle(Function):
    @staticmethod
    def forward(ctx, x):
        xp = x._backend.xp
        a = x._data
        return wrap(xp.where(a < 0, a.dtype.type(_PI), xp.where(xp.isnan(a), a, 0)).astype(
            a.dtype), x)

    @staticmethod
    def backward(ctx, g):
        return _zero_grad(g, None)


@tensor_method
def angle(input: Tensor) -> Tensor:
    """Argument of a real number: pi for negatives, 0 otherwise (nan kept); floating result."""
    _check_tensor(input, "angle")
    return Angle.apply(_float(input))


def imag(input: Tensor) -> Tensor:
    """Real tensors have no imaginary part (torch raises the same)."""
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


_polygamma_method.__name__ = "polygamma"
for _op in (lgamma, digamma, i0, sinc, logit, xlogy, igamma, igammac, mvlgamma,
            _polygamma_method):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))

# torch.special names for the ops above (special.py re-exports them without the prefix)
special_gammainc, special_gammaincc = igamma, igammac
for _n in [n for n in vars(Tensor) if n.startswith("special_")]:
    delattr(Tensor, _n)  # torch.special functions are not Tensor methods

# deg2rad rad2deg heaviside gcd lcm ldexp frexp float_power logaddexp2 nextafter isin isreal real
# live in pointwise_misc, sgn in tensor_misc (tests/test_special.py covers them against torch).
__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc", "logit", "xlogy",
           "igamma", "igammac", "angle", "imag"]
