"""Remaining elementwise ops of torch's surface: angle conversions, ``heaviside``, ``gcd``/``lcm``,
``ldexp``/``frexp``, ``float_power``, ``logaddexp2``, ``nextafter``, ``isin``, and the
complex-number no-ops real tensors have (``real conj resolve_conj resolve_neg conj_physical
isreal``), with their in-place forms. Differentiable ones are compositions of existing ops."""
from __future__ import annotations

import math

from .. import _dtype as dt
from ..tensor import Tensor, tensor_method
from . import elementwise as ew
from . import pointwise as pw
from ._util import promote, wrap
from .elementwise import _float
from .inplace import _inplace
from .reduce import return_type, return_types

return_types.frexp = return_type("frexp", ["mantissa", "exponent"])
return_types.aminmax = return_type("aminmax", ["min", "max"])


@tensor_method
def deg2rad(input: Tensor) -> Tensor:
    return _float(input) * (math.pi / 180.0)


@tensor_method
def rad2deg(input: Tensor) -> Tensor:
    return _float(input) * (180.0 / math.pi)


@tensor_method
def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where input < 0, ``values`` where it is 0, 1 where > 0 (no gradient, as in torch)."""
    if not isinstance(values, Tensor) or values._data.dtype != input._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    xp = input._backend.xp
    a, v = input._data, values._data
    return wrap(xp.where(a == 0, v, (a > 0).astype(a.dtype)), input)


def _integer_binary(name: str, ufunc: str):
    def op(input: Tensor, other: Tensor) -> Tensor:
        a, b = promote(input, other)
        if a._data.dtype.kind not in "iub":
            from .linalg import scalar_name
            raise NotImplementedError(f"\"{name}_{a.device.type}\" not implemented for "
                                      f"'{scalar_name(a)}'")
        return wrap(getattr(a._backend.xp, ufunc)(a._data, b._data), a)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer tensors (non-negative result)."
    return tensor_method(op)


gcd = _integer_binary("gcd", "gcd")
lcm = _integer_binary("lcm", "lcm")


@tensor_method
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other`` in a floating dtype."""
    two = pw.exp2(_float(other) if isinstance(other, Tensor) else float(other))
    return ew.mul(_float(input), two)


@tensor_method
def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent``, |mantissa| in
    [0.5, 1); exponent is int32."""
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = input._backend.xp.frexp(input._data)
    return return_types.frexp(wrap(m, input), wrap(e.astype(dt.int32.np), input))


@tensor_method
def float_power(input, exponent) -> Tensor:
    """``pow`` computed in float64 (torch's double-precision power)."""
    base = input.to(dt.float64) if isinstance(input, Tensor) else float(input)
    exp = exponent.to(dt.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(base, Tensor):
        base = wrap(exp._backend.xp.asarray(base), exp)
    return ew.pow(base, exp)


def float_power_(self: Tensor, exponent) -> Tensor:
    if self._data.dtype != dt.float64.np:
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{_legacy(self.dtype)} but the operation's result requires dtype "
                           f"Double")
    return _inplace(float_power)(self, exponent)


def _legacy(d: dt.dtype) -> str:
    return {"float32": "Float", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}.get(d.name,
                                                                                 d.name)


@tensor_method
def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """``log2(2**a + 2**b)`` without overflow."""
    ln2 = math.log(2.0)
    a, b = promote(input, other, floating=True)
    return pw.logaddexp(a * ln2, b * ln2) / ln2


@tensor_method
def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """The next representable value after ``input`` towards ``other`` (no gradient)."""
    a, b = promote(input, other)
    return wrap(a._backend.xp.nextafter(a._data, b._data), a)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Bool tensor: which of ``elements`` occur in ``test_elements`` (either may be a number)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    xp = like._backend.xp
    e = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    return wrap(xp.isin(e, t, invert=invert), like)


@tensor_method
def isreal(input: Tensor) -> Tensor:
    """True everywhere: gputensor tensors are real."""
    return wrap(input._backend.xp.ones(input._data.shape, dtype=bool), input)


def _identity(name: str, copy: bool = False):
    def op(input: Tensor) -> Tensor:
        return input.clone() if copy else input
    op.__name__ = op.__qualname__ = name
    op.__doc__ = "The input itself: a no-op on real tensors."
    return tensor_method(op)


conj = _identity("conj")
resolve_conj = _identity("resolve_conj")
resolve_neg = _identity("resolve_neg")
conj_physical = _identity("conj_physical")


def real(input: Tensor) -> Tensor:
    return input


def _imag(self: Tensor) -> Tensor:
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


Tensor.real = property(real)
Tensor.imag = property(_imag)
Tensor.conj_physical_ = lambda self: self

for _op in (deg2rad, rad2deg, heaviside, gcd, lcm, ldexp, nextafter):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))
Tensor.float_power_ = float_power_


def _top(name: str):
    def fn(input: Tensor, *args) -> Tensor:
        return getattr(input, name)(*args)
    fn.__name__ = fn.__qualname__ = name
    return fn


deg2rad_, rad2deg_, gcd_, lcm_, ldexp_ = (_top(n) for n in ("deg2rad_", "rad2deg_", "gcd_",
                                                           "lcm_", "ldexp_"))
conj_physical_ = _top("conj_physical_")

__all__ = ["deg2rad", "rad2deg", "heaviside", "gcd", "lcm", "ldexp", "frexp", "float_power",
           "logaddexp2", "nextafter", "isin", "isreal", "conj", "resolve_conj", "resolve_neg",
           "conj_physical", "real", "deg2rad_", "rad2deg_", "gcd_", "lcm_", "ldexp_",
           "conj_physical_"]
