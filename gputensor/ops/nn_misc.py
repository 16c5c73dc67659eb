"""Channel shuffle, alpha dropout (SELU-preserving) and Gumbel-softmax sampling.

All three are compositions of differentiable ops (reshape/transpose, a constant affine noise,
softmax), so gradients and double backward come from those ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from ._util import wrap
from .nn_functional import _check_p


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g*k, *) -> (N, k*g, *): channel ``i*k + j`` moves to ``j*g + i``."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return (input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
            .reshape((n, c) + rest))


native_channel_shuffle = channel_shuffle

_ALPHA = 1.7580993408473766  # -SELU's scale * alpha: the value a dropped unit takes


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                   feature: bool) -> Tensor:
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        out = input * 0
    else:
        shape = tuple(input.shape)
        if feature:
            if input.ndim < 2:
                raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
            shape = shape[:2] + (1,) * (input.ndim - 2)
        be = input._backend
        keep = (be.uniform(0.0, 1.0, shape, np.float64) >= p).astype(input._data.dtype)
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
        out = input * wrap(keep * a, input) + wrap(b.astype(input._data.dtype), input)
    if inplace:
        with no_grad():
            input.copy_(out)
        return input
    return out


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps a SELU network's zero mean and unit variance: dropped units are set
    to SELU's negative saturation, then an affine map restores the moments."""
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (one draw per (N, C) plane)."""
    return _alpha_dropout(input, p, training, inplace, feature=True)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample of softmax((logits + Gumbel noise) / tau); ``hard``: one-hot in the forward
    pass with the soft sample's gradient (straight-through)."""
    be = logits._backend
    u = be.uniform(0.0, 1.0, tuple(logits.shape), np.float64)
    with np.errstate(divide="ignore"):
        gumbels = -be.xp.log(-be.xp.log1p(-u))  # -log of an Exp(1) sample
    gumbels = wrap(be.xp.asarray(gumbels).astype(logits._data.dtype), logits)
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = _zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def _zeros_like(t: Tensor) -> Tensor:
    return wrap(t._backend.xp.zeros(tuple(t.shape), dtype=t._data.dtype), t)


__all__ = ["channel_shuffle", "native_channel_shuffle", "alpha_dropout",
           "feature_alpha_dropout", "gumbel_softmax"]
