"""The margin, embedding and likelihood losses (F forms), composed of differentiable tensor ops.

Each mirrors torch's ATen/Python definition term by term (same clamps and epsilons), so values
and gradients agree with torch, including at the kinks where torch picks a subgradient.
"""
from __future__ import annotations

import math
from typing import Callable

from .. import _dtype as dt
from ..tensor import Tensor
from ._util import wrap
from .activation import softplus
from .loss import _TORCH_NAMES, _check_reduction, _reduce, _tensor_args, legacy_reduction
from .pointwise import where


def _long_target(target: Tensor) -> None:
    if target.dtype != dt.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{_TORCH_NAMES.get(target.dtype.name, target.dtype.name)}")


def _zeros(like: Tensor) -> Tensor:
    """A constant zero tensor shaped like ``like`` (torch's ``zeros_like`` branch of a where)."""
    return wrap(like._backend.xp.zeros(like._data.shape, like._data.dtype), like)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6) -> Tensor:
    """torch.pairwise_distance: the p-norm of ``x1 - x2 + eps`` over the last dimension."""
    d = x1 - x2 + eps
    if d.ndim == 0:
        d = d.reshape(1)
    return d.norm(p=p, dim=-1)


# -- embedding / ranking losses ------------------------------------------------------------------

def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target == 1, max(0, cos - margin) where target == -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("cosine_embedding_loss", input1=input1, input2=input2, target=target)
    tdim = target.ndim
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if tdim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"{tdim}D target tensor expects {want}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    prod = (input1 * input2).sum(tdim)
    m1 = (input1 * input1).sum(tdim) + 1e-12
    m2 = (input2 * input2).sum(tdim) + 1e-12
    cos = prod / (m1 * m2).sqrt()
    zeros = _zeros(cos)
    loss = where(target == 1, 1 - cos, zeros) + where(target == -1, (cos - margin).clamp(min=0),
                                                       zeros)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """x where target == 1, max(0, margin - x) where target == -1 (both where neither)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("hinge_embedding_loss", input=input, target=target)
    zeros = _zeros(input)
    loss = where(target != 1, (margin - input).clamp(min=0), zeros) + \
        where(target != -1, input, zeros)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (x1 - x2) + margin)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("margin_ranking_loss", input1=input1, input2=input2, target=target)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)), evaluated stably."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("soft_margin_loss", input=input, target=target)
    return _reduce(softplus(-input * target), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _tensor_args("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    return _triplet(anchor, positive, negative,
                    lambda a, b: _pairwise_distance(a, b, p, eps), margin, swap, reduction)


def _triplet(anchor, positive, negative, dist, margin, swap, reduction) -> Tensor:
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {dims[0]}D, positive "
                           f"{dims[1]}D, and negative {dims[2]}D inputs")
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any distance (default: pairwise Euclidean distance)."""
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    return _triplet(anchor, positive, negative, distance_function or _pairwise_distance, margin,
                    swap, reduction)


# -- multi-class / multi-label margin losses -----------------------------------------------------

def _margin_shape(input: Tensor) -> tuple:
    """(frames, classes) as torch's margin criteria read them (0-d input: one class)."""
    n = input.ndim
    if not ((n == 2 and input.shape[1] != 0) or (n == 1 and input.shape[0] != 0) or n == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    if n <= 1:
        return 1, (1 if n == 0 else input.shape[0])
    return input.shape[0], input.shape[1]


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C per sample (y the target class)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _tensor_args("multi_margin_loss", input=input, target=target, weight=weight)
    _long_target(target)
    nframe, C = _margin_shape(input)
    if target.ndim > 1 or target.numel() != nframe:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{nframe}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    if weight is not None and weight.numel() != C:
        raise RuntimeError(f"inconsistent weight size, expected {C} but got "
                           f"{list(weight.shape)}")
    xp = input._backend.xp
    t = target._data.reshape(-1).astype(xp.int64)
    if t.size and bool(((t < 0) | (t >= C)).any()):
        raise RuntimeError("target out of range")
    x = input.reshape(nframe, C)
    onehot = wrap(t[:, None] == xp.arange(C), input)
    x_y = (x * onehot).sum(1, keepdim=True)
    z = (margin - x_y + x).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * wrap(weight._data.astype(input._data.dtype)[t][:, None], input)
    per = where(onehot, z * 0, z).sum(1) / C
    if reduction == "none" and target.ndim == 0:
        per = per.reshape(())
    return _reduce(per, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """sum_{j in targets, k not in targets} max(0, 1 - (x_j - x_k)) / C per sample; a sample's
    targets are its target row's entries before the first -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("multilabel_margin_loss", input=input, target=target)
    _long_target(target)
    nframe, C = _margin_shape(input)
    ok = (target.ndim <= 1 and target.numel() == C) if input.ndim <= 1 else \
        (target.ndim == 2 and tuple(target.shape) == (nframe, C))
    if not ok:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    xp = input._backend.xp
    t = target._data.reshape(nframe, C).astype(xp.int64)
    live = xp.cumprod((t != -1).astype(xp.int64), axis=1).astype(bool)
    if bool((live & ((t < -1) | (t >= C))).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    counts = ((t[:, :, None] == xp.arange(C)) & live[:, :, None]).sum(axis=1)  # (N, C)
    pair = counts[:, :, None] * (counts[:, None, :] == 0)  # (target j, non-target k)
    x = input.reshape(nframe, C)
    z = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)
    per = (z * wrap(pair.astype(input._data.dtype), input)).sum((1, 2)) / C
    if input.ndim <= 1:
        per = per.reshape(())
    return _reduce(per, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-class binary logistic loss, averaged over the classes (last dim)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = target * softplus(-input) + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[input.ndim - 1]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


# -- likelihood losses ----------------------------------------------------------------------------

def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """exp(x) - y x (log_input) or x - y log(x + eps); ``full`` adds Stirling's term for y > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _tensor_args("poisson_nll_loss", input=input, target=target)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:  # Stirling's term where y > 1; as in torch, its gradient is nan at y == 0
        y = target.to(loss.dtype)
        stirling = y * y.log() - y + 0.5 * (2 * math.pi * y).log()
        loss = loss + stirling.masked_fill(y <= 1, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log var + (x - y)^2 / var), var clamped at ``eps`` without a gradient through the
    clamp (as torch: the clamp is applied in no_grad)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = wrap(input._backend.xp.full(input._data.shape, var, input._data.dtype), input)
    elif not isinstance(var, Tensor):
        raise TypeError("any() received an invalid combination of arguments - got (bool), but "
                        "expected one of:")
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamp in no_grad: var + (clamped - var).detach() keeps d/dvar = 1 everywhere
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- fused linear + cross-entropy -----------------------------------------------------------------

def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """cross_entropy(linear(input, W, b)) with torch's shapes: W is (C, *out_features, in).
    ``options`` (torch's chunking knobs) changes only memory use, so the reference path is
    always taken."""
    from .loss import cross_entropy
    from .nn_functional import linear
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and "
                           f"{linear_weight.shape[-1]}, respectively")
    C, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (C, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(C, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, (N, "
                           f"{in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*batch, C, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    n_out = math.prod(out_features, start=C)
    w = linear_weight.reshape(n_out, in_features) if out_features else linear_weight
    b = linear_bias.reshape(n_out) if (out_features and linear_bias is not None) else linear_bias
    logits = linear(input, w, b).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)


__all__ = [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
