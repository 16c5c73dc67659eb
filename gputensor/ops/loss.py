"""Loss functions (the functional forms of the nn losses) with torch's semantics and errors.

Cross-entropy is one fused Function (log-softmax + weighted negative log-likelihood, with a
hand-written backward): logits of any size stay finite and the backward costs one softmax.
Class-index targets become a per-class coefficient tensor ``q`` (one-hot times class weight,
label smoothing, ignore_index masked out), so cross_entropy and nll_loss share one path.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype as dt
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import named, wrap
from .activation import log_softmax, softplus
from .pointwise import where

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double"}


# -- argument handling ------------------------------------------------------------------------

def legacy_reduction(size_average, reduce, reduction: str = "mean") -> str:
    """torch's deprecated ``size_average``/``reduce`` flags mapped to a ``reduction`` string."""
    if size_average is None and reduce is None:
        return reduction
    ret = "none" if reduce is False else ("sum" if size_average is False else "mean")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _check_reduction(reduction: str, extra: tuple = ()) -> None:
    if reduction not in ("none", "mean", "sum") + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor_args(name: str, **tensors) -> None:
    for arg, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(t).__name__}")


def _tname(t) -> str:
    """torch's short dtype name (Float, Long, ...) of a tensor or dtype."""
    name = getattr(t, "dtype", t).name
    return _TORCH_NAMES.get(name, name)


def _float_pair(name: str, input: Tensor, target: Tensor) -> tuple:
    """Both operands in their common dtype; an integer common dtype has no kernel in torch
    (``"mse_cpu" not implemented for 'Long'``)."""
    _tensor_args(name, input=input, target=target)
    rt = dt.promote_types(input.dtype, target.dtype)
    if not rt.is_floating_point:
        kernel = name[:-5] if name.endswith("_loss") else name
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{_tname(rt)}'")
    return input.to(rt), target.to(rt)


def _same_size(input: Tensor, target: Tensor, hard: bool) -> None:
    """Elementwise losses: torch warns (and broadcasts) or, for the BCE family, refuses."""
    if input.shape == target.shape:
        return
    if hard:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                  f"({input.shape}). This will likely lead to incorrect results due to "
                  "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, reduction: str,
              mean_by_weight: bool = True) -> Tensor:
    """Elementwise loss with torch's optional per-element ``weight``; 'mean' divides by the
    weights' sum (mse, l1) or, as torch's huber_loss does, by the element count."""
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError(f"Weights and input must have the same size (weight "
                         f"{tuple(weight.shape)}, input {tuple(input.shape)}).")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# -- regression losses --------------------------------------------------------------------------

def _regression(name: str, input: Tensor, target: Tensor, reduction: str) -> Tensor:
    """The difference ``input - target`` after the checks every regression loss shares."""
    _check_reduction(reduction)
    _tensor_args(name, input=input, target=target)
    _same_size(input, target, hard=False)
    if name == "huber_loss":  # torch computes huber in the input's dtype
        if not input.is_floating_point() and target.is_floating_point():
            raise RuntimeError(f"result type {_tname(target)} can't be cast to the desired "
                               f"output type {_tname(input)}")
        if input.is_floating_point():
            target = target.to(input.dtype)
    if name == "l1_loss" and not dt.promote_types(input.dtype, target.dtype).is_floating_point:
        return input - target  # torch's l1 of integers is integral ('mean' then refuses)
    input, target = _float_pair(name, input, target)
    return input - target


def _fused(out: Tensor, reduction: str, torch_name: str) -> Tensor:
    """A reduced loss under torch's name for its fused op (as printed: ``grad_fn=<...>``)."""
    return out if reduction == "none" else named(out, torch_name)


def _nll_name(input: Tensor) -> str:
    return "NllLoss2DBackward0" if input.ndim >= 3 else "NllLossBackward0"


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    d = _regression("mse_loss", input, target, reduction)
    return _fused(_weighted(d * d, weight, d, reduction), reduction, "MseLossBackward0")


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    d = _regression("l1_loss", input, target, reduction)
    return _weighted(d.abs(), weight, d, reduction)


def _huber(d: Tensor, delta: float) -> Tensor:
    """Quadratic within ``delta`` of zero, linear (slope ``delta``) outside."""
    a = d.abs()
    return where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = _regression("huber_loss", input, target, reduction)
    return _fused(_weighted(_huber(d, delta), weight, d, reduction, mean_by_weight=False),
                  reduction, "HuberLossBackward0")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Huber loss divided by ``beta`` (so the linear part has slope 1); plain L1 at beta=0."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = _regression("smooth_l1_loss", input, target, reduction)
    return _fused(_reduce(d.abs() if beta == 0 else _huber(d, beta) / beta, reduction),
                  reduction, "SmoothL1LossBackward0")


# -- classification losses ----------------------------------------------------------------------

class SoftmaxCrossEntropy(Function):
    """Per-position ``-sum_c q_c * log_softmax(x)_c`` over class dim ``cdim``.

    backward: dx = g * (softmax(x) * sum_c q - q), dq = -g * log_softmax(x). The forward's
    log-probabilities are reused unless a graph of the backward is being built.
    """

    @staticmethod
    def forward(ctx, x, q, cdim):
        xp = x._backend.xp
        shifted = x._data - x._data.max(axis=cdim, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=cdim, keepdims=True))
        terms = xp.where(q._data != 0, q._data * logp, 0)
        ctx.save_for_backward(x, q)
        ctx.logp, ctx.cdim = logp, cdim
        return wrap(-terms.sum(axis=cdim), x)

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            logp = log_softmax(x, ctx.cdim)
        else:
            logp = wrap(ctx.logp, x)
        g = g.unsqueeze(ctx.cdim)
        gx = g * (logp.exp() * q.sum(ctx.cdim, keepdim=True) - q) if ctx.needs_input_grad[0] \
            else None
        gq = -g * logp if ctx.needs_input_grad[1] else None
        return gx, gq, None


def _class_dim(name: str, input: Tensor) -> int:
    _tensor_args(name, input=input)
    if input.ndim == 0:
        raise RuntimeError(f"{name}(): input must have a class dimension, got a 0-d tensor")
    if not input.is_floating_point():
        raise RuntimeError(f"{name}(): expected a floating point input, but got {input.dtype}")
    return 0 if input.ndim == 1 else 1


def _class_coeffs(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                  smoothing: float, cdim: int) -> tuple:
    """Class-index targets -> (q like input, total weight of the non-ignored targets).

    q = (1 - s) * onehot(t) * w + s / C * w, zero where t == ignore_index.
    """
    C = input.shape[cdim]
    expected = tuple(input.shape[:cdim]) + tuple(input.shape[cdim + 1:])
    if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim == 4 and target.ndim != 3:  # torch's nll_loss2d path
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                           f"targets of dimension: {target.ndim}")
    if tuple(target.shape) != expected:
        if input.ndim == 4:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                               f"{list(target.shape)}")
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    if target.dtype not in (dt.int64, dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_tname(target)}")
    if target._device != input._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found input on "
                           f"{input.device} and target on {target.device}")
    xp = input._backend.xp
    npd = input._data.dtype
    if weight is None:
        w = xp.ones(C, dtype=npd)
    else:
        _tensor_args("cross_entropy", weight=weight)
        if tuple(weight.shape) != (C,):
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or "
                               f"no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        if weight.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {_tname(input)} but found "
                               f"{_tname(weight)}")
        w = weight._data
    t = target._data.astype(xp.int64)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bool(bad.any()):
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    t = xp.where(valid, t, 0)
    onehot = xp.moveaxis(t[..., None] == xp.arange(C), -1, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = C
    wc = w.reshape(wshape)
    q = onehot * wc * (1.0 - smoothing) + (smoothing / C) * wc if smoothing else onehot * wc
    q = (q * xp.expand_dims(valid, cdim)).astype(npd)
    total = (w[t] * valid).sum(dtype=npd)
    return wrap(q, input), wrap(xp.asarray(total), input)


def _reduce_by(per: Tensor, reduction: str, total: Tensor) -> Tensor:
    """'mean' over class-index targets divides by the summed target weights, as torch does;
    with no weight at all (every target ignored, or none) the value is nan and, as in torch,
    the gradient zero."""
    if reduction != "mean":
        return _reduce(per, reduction)
    xp = total._backend.xp
    tw = total._data
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = xp.where(tw == 0, 0, 1 / tw).astype(tw.dtype)
        nan = xp.where(tw == 0, xp.nan, 0).astype(tw.dtype)
    return per.sum() * wrap(inv, total) + wrap(nan, total)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Log-softmax over dim 1 (dim 0 for unbatched input) + NLL; targets are class indices of
    shape (N, d1, ...) or class probabilities shaped like ``input``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if label_smoothing > 1.0:  # torch checks only positive values; negative ones are ignored
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    label_smoothing = max(float(label_smoothing), 0.0)
    cdim = _class_dim("cross_entropy", input)
    _tensor_args("cross_entropy", target=target)
    if not target.is_floating_point():
        q, total = _class_coeffs(input, target, weight, ignore_index, label_smoothing, cdim)
        out = _reduce_by(SoftmaxCrossEntropy.apply(input, q, cdim), reduction, total)
        return out if label_smoothing else _fused(out, reduction, _nll_name(input))
    if target.shape != input.shape:  # torch then reads them as class indices, and refuses
        _class_coeffs(input, target, weight, ignore_index, label_smoothing, cdim)
    input, q = _float_pair("cross_entropy", input, target)
    C = input.shape[cdim]
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / C
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = C
        q = q * weight.to(input.dtype).reshape(shape)
    per = SoftmaxCrossEntropy.apply(input, q, cdim)
    if reduction == "mean":
        return per.sum() / (input.numel() // C)
    return _reduce(per, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets given log-probabilities ``input``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    cdim = _class_dim("nll_loss", input)
    _tensor_args("nll_loss", target=target)
    q, total = _class_coeffs(input, target, weight, ignore_index, 0.0, cdim)
    return _fused(_reduce_by(-(input * q).sum(cdim), reduction, total), reduction,
                  _nll_name(input))


class BinaryCrossEntropy(Function):
    """``-(y log x + (1-y) log(1-x))`` with both logs clamped at -100, as torch does.

    torch's backward: dx = g (x - y) / max(x (1 - x), 1e-12), dy = g (log(1-x) - log x).
    """

    @staticmethod
    def forward(ctx, x, y):
        xp = x._backend.xp
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # log(0) -> -inf, then clamped
            lx = xp.maximum(xp.log(x._data), -100)
            l1x = xp.maximum(xp.log1p(-x._data), -100)
        ctx.save_for_backward(x, y)
        return wrap(-(y._data * lx + (1 - y._data) * l1x), x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - y) / (x * (1 - x)).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gy = g * ((1 - x).log() - x.log())  # unclamped, as torch: inf at x in {0, 1}
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("binary_cross_entropy", input=input, target=target, weight=weight)
    _same_size(input, target, hard=True)
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_tname(target)} but expected {_tname(input)}")
    input, target = _float_pair("binary_cross_entropy", input, target)
    x = input._data
    if bool(((x < 0) | (x > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target)
    return _fused(_reduce(loss if weight is None else loss * weight.to(loss.dtype), reduction),
                  reduction, "BinaryCrossEntropyBackward0")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + BCE in one stable expression: (1 - y) x + (1 + (pw - 1) y) softplus(-x)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("binary_cross_entropy_with_logits", input=input, target=target, weight=weight,
                 pos_weight=pos_weight)
    if input.shape != target.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{_tname(input)}'")
    if not target.is_floating_point():
        raise RuntimeError(f"result type {_tname(input)} can't be cast to the desired output "
                           f"type {_tname(target)}")
    input, target = _float_pair("binary_cross_entropy_with_logits", input, target)
    sp = softplus(-input)
    if pos_weight is not None:
        sp = (1 + (pos_weight - 1) * target) * sp
    loss = (1 - target) * input + sp
    return _fused(_reduce(loss if weight is None else loss * weight.to(loss.dtype), reduction),
                  reduction, "BinaryCrossEntropyWithLogitsBackward0")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log target - input), 0 where target == 0."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, ("batchmean",))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    _tensor_args("kl_div", input=input, target=target)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    input, target = _float_pair("kl_div", input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t) - t * x: 0 at t == 0, where (as in torch) d/dt is nan
        loss = where(target == 0, 0.0, target * target.log()) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]
