"""More elementwise ops: inverse hyperbolic functions, copysign, signbit, bit shifts.

Built on ``pointwise``'s ``_unary`` builder and operand helpers; in-place variants go through
``inplace._inplace`` like every other ``foo_``.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._torch_args import _TORCH_TYPE
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._util import promote, unbroadcast, wrap
from .inplace import _inplace
from .compare import _arrays, _check_tensor, _dunder
from .pointwise import _unary, rsqrt, where


def _quiet(ufunc_name: str):
    """A forward that, like torch, returns NaN out of the domain without NumPy warnings."""
    def forward(xp, a):
        with np.errstate(all="ignore"):
            return getattr(xp, ufunc_name)(a)
    return forward


acosh = _unary("acosh", _quiet("arccosh"), lambda g, x: g * rsqrt(x * x - 1))
asinh = _unary("asinh", _quiet("arcsinh"), lambda g, x: g * rsqrt(x * x + 1))
atanh = _unary("atanh", _quiet("arctanh"), lambda g, x: g / (1 - x * x))
arccosh, arcsinh, arctanh = acosh, asinh, atanh


class Copysign(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = wrap(a._backend.xp.copysign(a._data, b._data if isinstance(b, Tensor) else b), a)
        ctx.shapes = (a._data.shape, b._data.shape if isinstance(b, Tensor) else ())
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """torch: d/da = out / a (0 where a == 0); the sign operand gets a zero gradient."""
        a, out = ctx.saved_tensors
        n = ctx.needs_input_grad
        ga = unbroadcast(g * where(a == 0, 0.0, out / where(a == 0, 1.0, a)), ctx.shapes[0]) \
            if n[0] else None
        gb = unbroadcast(g * 0, ctx.shapes[1]) if n[1] else None
        return ga, gb


@tensor_method
def copysign(input: Tensor, other) -> Tensor:
    """|input| with the sign of ``other`` (a tensor or a number); floating result."""
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return Copysign.apply(*promote(input, other, floating=True))


@tensor_method
def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (including -0.0)."""
    _check_tensor(input, "signbit")
    a = input._data
    xp = input._backend.xp
    return wrap(xp.signbit(a) if a.dtype.kind == "f" else a < 0, input)


def _shift(name: str, kernel: str, left: bool):
    """A shift with torch's semantics for amounts outside [0, bits): a left shift gives 0, a
    right shift gives 0 or -1 (the sign), instead of NumPy's platform-dependent result."""
    def op(input, other) -> Tensor:
        like, a, b = _arrays(input, other, name)
        if a.dtype.kind not in "iu":
            kind = dt.result_type(input, other).name
            raise NotImplementedError(f'"{kernel}_{like.device.type}" not implemented for '
                                      f"'{_TORCH_TYPE.get(kind, kind)}'")
        xp = like._backend.xp
        bits = a.dtype.itemsize * 8
        b = xp.asarray(b)
        over = (b < 0) | (b >= bits) if b.dtype.kind == "i" else b >= bits
        amount = xp.where(over, 0, b).astype(a.dtype)
        if left:
            out = xp.where(over, 0, xp.left_shift(a, amount))
        else:
            sign = xp.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
            out = xp.where(over, sign, xp.right_shift(a, amount))
        return wrap(xp.asarray(out).astype(a.dtype, copy=False), like)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer tensors (torch semantics)."
    return tensor_method(op)


bitwise_left_shift = _shift("bitwise_left_shift", "lshift", left=True)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift", left=False)
Tensor.__lshift__ = _dunder(bitwise_left_shift, swap=False)
Tensor.__rlshift__ = _dunder(bitwise_left_shift, swap=True)
Tensor.__rshift__ = _dunder(bitwise_right_shift, swap=False)
Tensor.__rrshift__ = _dunder(bitwise_right_shift, swap=True)

for _op in (acosh, asinh, atanh, copysign, bitwise_left_shift, bitwise_right_shift):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))
Tensor.arccosh, Tensor.arcsinh, Tensor.arctanh = acosh, asinh, atanh
Tensor.arccosh_, Tensor.arcsinh_, Tensor.arctanh_ = Tensor.acosh_, Tensor.asinh_, Tensor.atanh_
Tensor.__ilshift__ = Tensor.bitwise_left_shift_
Tensor.__irshift__ = Tensor.bitwise_right_shift_
acosh_, asinh_, atanh_ = Tensor.acosh_, Tensor.asinh_, Tensor.atanh_
arccosh_, arcsinh_, arctanh_ = acosh_, asinh_, atanh_

__all__ = ["acosh", "asinh", "atanh", "arccosh", "arcsinh", "arctanh", "acosh_", "asinh_",
           "atanh_", "arccosh_", "arcsinh_", "arctanh_", "copysign", "signbit",
           "bitwise_left_shift", "bitwise_right_shift"]
