"""Activations and the softmax family used by nn (softmax, log_softmax, gelu, silu, elu, ...).

softmax / log_softmax are Functions with hand-derived backward (one fused pass each way, stable
for large logits). Piecewise-linear activations multiply by a constant slope mask, so their
gradient (and its gradient) is exact; smooth ones are compositions of pointwise ops.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim, tensor_method
from . import pointwise as pw
from ._util import wrap


def _require_float(x: Tensor, op: str) -> None:
    """torch raises NotImplementedError (a RuntimeError) for non-float inputs to these ops."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if not x.is_floating_point():
        raise NotImplementedError(f'"{op}" not implemented for \'{x.dtype.name}\' (expected a '
                                  'floating point input)')


def _const(array, like: Tensor) -> Tensor:
    """A constant (no-grad) tensor of ``like``'s dtype and device."""
    return Tensor._make(array.astype(like._data.dtype, copy=False), like._device)


def _maybe_inplace(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    """Write ``result`` into ``input`` when ``inplace``. Only for results whose graph saved no
    reference to ``input``'s storage (else use :func:`_smooth` or :func:`_piecewise`)."""
    return input._assign(result) if inplace else result


def _records(x: Tensor) -> bool:
    return grad_mode.is_grad_enabled() and x.requires_grad


class _Affine(Function):
    """``x * scale (+ shift)`` with constant ``scale``/``shift``: the masks of a piecewise-linear
    activation. Backward needs only ``scale``, never ``x``, so the in-place forms may overwrite
    ``x`` (as torch's relu_/leaky_relu_/hardtanh_ backward needs no old input)."""

    @staticmethod
    def forward(ctx, x, scale, shift):
        ctx.scale = scale
        a = x._data * scale._data
        if shift is not None:
            a = a + shift._data
        return wrap(a.astype(x._data.dtype, copy=False), x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None, None


class _NoInplaceBackward(Function):
    """Identity whose backward raises: torch's in-place leaky_relu_/elu_ with a negative slope
    cannot recover the input from the result, so their backward fails (with torch's message)."""

    @staticmethod
    def forward(ctx, x, message):
        ctx.message = message
        return wrap(x._data, x)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.message)


def _neg_slope_message(op: str) -> str:
    return (f"In-place {op} backward calculation is triggered with a negative slope which is not "
            "supported. This is caused by calling in-place forward function with a negative "
            "slope, please call out-of-place version instead.")


def _piecewise(input: Tensor, scale, shift, inplace: bool) -> Tensor:
    """``input * scale + shift`` for constant arrays (a piecewise-linear activation), written
    into ``input`` when ``inplace``."""
    out = _Affine.apply(input, _const(scale, input),
                        None if shift is None else _const(shift, input))
    return input._assign(out) if inplace else out


def _smooth(input: Tensor, fn, inplace: bool, neg_slope_op: str | None = None) -> Tensor:
    """``fn(input)``, written into ``input`` when ``inplace``. The graph is built on a copy of
    the old value when it records, since ``fn``'s backward needs that value after the write
    (the copy is what torch's saved original would be)."""
    if not inplace:
        return fn(input)
    input._check_inplace()
    src = input.clone() if _records(input) else input
    out = fn(src)
    if neg_slope_op is not None and out.requires_grad:
        out = _NoInplaceBackward.apply(out, _neg_slope_message(neg_slope_op))
    return input._assign(out)


# -- softmax family ---------------------------------------------------------------------------

def _compute_dtype(a):
    """float16 is reduced in float32 (as torch accumulates), then cast back."""
    return np.float32 if a.dtype == np.float16 else a.dtype


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = x._backend.xp
        a = x._data.astype(_compute_dtype(x._data), copy=False)
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        out = wrap(e.astype(x._data.dtype, copy=False), x)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = x._backend.xp
        a = x._data.astype(_compute_dtype(x._data), copy=False)
        z = a - a.max(axis=dim, keepdims=True)
        z -= xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
        out = wrap(z.astype(x._data.dtype, copy=False), x)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True), None


def _softmax_dim(ndim: int) -> int:
    """torch's legacy choice when ``dim`` is omitted."""
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(fn, input: Tensor, dim, dtype, op: str) -> Tensor:
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    _require_float(input, op)
    if dim is None:
        dim = _softmax_dim(input.ndim)
    if input.ndim == 0:
        _wrap_dim(dim, 0)
        return _softmax_like(fn, input.reshape(1), 0, None, op).reshape(())
    dim = _wrap_dim(dim, input.ndim)
    if input.numel() == 0:
        return input.clone()
    return fn.apply(input, dim)


@tensor_method
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return _softmax_like(Softmax, input, dim, dtype, "softmax")


@tensor_method
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    return _softmax_like(LogSoftmax, input, dim, dtype, "log_softmax")


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    return softmax(-input, dim)


# -- piecewise-linear -------------------------------------------------------------------------

def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Slope 1 for x > 0, ``negative_slope`` otherwise (the gradient at 0 is the slope)."""
    _require_float(input, "leaky_relu")
    if inplace:
        input._check_inplace()
    xp = input._backend.xp
    out = _Affine.apply(input, _const(xp.where(input._data > 0, 1.0, negative_slope), input),
                        None)
    if inplace and negative_slope < 0 and out.requires_grad:
        out = _NoInplaceBackward.apply(out, _neg_slope_message("leakyReLu") + (
            " File an issue at https://github.com/pytorch/pytorch if you do require supporting "
            "in-place leakRelu backward calculation with negative slope"))
    return input._assign(out) if inplace else out


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere (as torch)."""
    _require_float(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    xp, a = input._backend.xp, input._data
    inside = (a > min_val) & (a < max_val)
    edge = xp.where(a <= min_val, min_val, 0.0) + xp.where(a >= max_val, max_val, 0.0)
    return _piecewise(input, inside, edge, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


# -- smooth -----------------------------------------------------------------------------------

def _elu(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    """torch's elu family: ``scale * (x if x > 0 else alpha * expm1(x * input_scale))``."""
    pos = _const(input._backend.xp.greater(input._data, 0), input)
    neg = 1 - pos
    # the negative branch sees only non-positive inputs, so expm1 cannot overflow
    out = input * pos + pw.expm1(input * (neg * input_scale)) * (alpha * neg)
    return out * scale if scale != 1.0 else out


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _require_float(input, "elu")
    return _smooth(input, lambda x: _elu(x, alpha, 1.0, 1.0), inplace,
                   "elu" if alpha < 0 else None)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (as torch)."""
    _require_float(input, "softplus")
    lin = _const(input._backend.xp.greater(input._data * beta, threshold), input)
    curved = 1 - lin
    return input * lin + pw.log1p((input * (beta * curved)).exp()) * (curved / beta)


def logsigmoid(input: Tensor) -> Tensor:
    return -softplus(-input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    _require_float(input, "gelu")
    if approximate == "none":
        return 0.5 * input * (1 + pw.erf(input * (1 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1 + pw.tanh(inner))
    raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    _require_float(input, "silu")
    return _smooth(input, lambda x: x * pw.sigmoid(x), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    _require_float(input, "mish")
    return _smooth(input, lambda x: x * pw.tanh(softplus(x)), inplace)


__all__ = [
    "elu",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "relu6",
    "silu",
    "softmax",
    "softmin",
    "softplus",
]
