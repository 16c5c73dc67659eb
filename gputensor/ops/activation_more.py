"""The rest of torch.nn.functional's activations: hardsigmoid, hardswish, selu, celu, rrelu, glu,
threshold, prelu, the shrinks and the ``foo_`` in-place forms.

Piecewise-linear ones go through ``_piecewise`` (constant masks, nothing of the input saved), so
their in-place forms need no copy; smooth ones through ``_smooth``. Gradients at the kinks are
torch's (e.g. hardswish' is 0 at -3 and 1 at 3).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap_dim
from . import pointwise as pw
from .activation import (_elu, _piecewise, _require_float, _smooth, elu, hardtanh, leaky_relu,
                         softmax)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; gradient 1/6 strictly inside (-3, 3)."""
    _require_float(input, "hardsigmoid")
    a = input._data
    mid = (a > -3) & (a < 3)
    return _piecewise(input, mid / 6.0, 0.5 * mid + (a >= 3), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; gradient x/3 + 1/2 strictly inside (-3, 3), as torch."""
    _require_float(input, "hardswish")

    def fn(x: Tensor) -> Tensor:
        a = x._data
        mid = (a > -3) & (a < 3)
        return x * _piecewise(x, mid / 6.0, 0.5 * mid + (a >= 3), False)
    return _smooth(input, fn, inplace)


def softsign(input: Tensor) -> Tensor:
    return input / (pw.abs(input) + 1)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    _require_float(input, "elu")
    return _smooth(input, lambda x: _elu(x, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * expm1(x / alpha))``."""
    _require_float(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _smooth(input, lambda x: _elu(x, alpha, 1.0, 1.0 / alpha), inplace,
                   "elu" if alpha < 0 else None)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each negative element gets a slope drawn from
    U(lower, upper) (the default generator's stream, not torch's); in eval the mean slope."""
    _require_float(input, "rrelu_with_noise")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    be, a = input._backend, input._data
    slope = be.uniform(lower, upper, a.shape, np.float64)
    return _piecewise(input, be.xp.where(a >= 0, 1.0, slope), None, inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` for the two halves ``a, b`` of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * pw.sigmoid(b)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x if x > threshold else value`` (any dtype); gradient 1 where ``x > threshold``."""
    a = input._data
    keep = a > threshold
    return _piecewise(input, keep, input._backend.xp.where(keep, 0, value), inplace)


_threshold = threshold


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learnable slope per channel (dim 1), or one shared slope."""
    _require_float(input, "prelu")
    n = weight.numel()
    if n != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        c = input.shape[1] if input.ndim >= 2 else 1
        if c != n:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {c}.")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        weight = weight.reshape(())
    pos = input._backend.xp.greater(input._data, 0)
    return _piecewise(input, pos, None, False) + weight * _piecewise(input, ~pos, None, False)


def _check_lambd(input: Tensor, lambd: float) -> None:
    if lambd < 0:
        name = {"float32": "Float", "float64": "Double", "float16": "Half"}.get(
            input.dtype.name, input.dtype.name)
        raise RuntimeError(f"lambda must be in range [0, 3.40282e+38] for input dtype {name}, "
                           f"but found {lambd:g}")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _require_float(input, "softshrink")
    _check_lambd(input, lambd)
    a = input._data
    hi, lo = a > lambd, a < -lambd
    return _piecewise(input, hi | lo, lambd * lo - lambd * hi, False)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    _require_float(input, "hardshrink")
    a = input._data
    return _piecewise(input, (a > lambd) | (a < -lambd), None, False)


def tanhshrink(input: Tensor) -> Tensor:
    return input - pw.tanh(input)


def softmax2d(input: Tensor) -> Tensor:
    if input.ndim not in (3, 4):
        raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
    return softmax(input, -3)


# -- in-place forms (torch.nn.functional.foo_) ----------------------------------------------------

def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, True)


def relu_(input: Tensor) -> Tensor:
    return pw.relu(input, inplace=True)


__all__ = [
    "celu", "celu_", "elu_", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh_",
    "leaky_relu_", "prelu", "relu_", "rrelu", "rrelu_", "selu", "selu_",
    "softshrink", "softsign", "tanhshrink", "threshold", "threshold_",
]
