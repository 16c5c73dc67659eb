"""Top-level dropout forms torch has besides ``F.*``: ``torch.dropout(input, p, train)``,
``alpha_dropout``, ``feature_dropout``, ``feature_alpha_dropout`` and their ``_`` in-place
variants. Masks come from the device's generator; the output is ``input * scale + shift``
with constant ``scale``/``shift`` arrays, so gradients flow through the existing ops."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ._util import wrap
from .inplace import _inplace

_SELU_NEG = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _check(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep(input: Tensor, p: float, feature: bool):
    """Bernoulli(1 - p) keep-mask, one per (N, C) channel when ``feature``."""
    shape = tuple(input.shape)
    if feature:
        if input.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = shape[:2] + (1,) * (input.ndim - 2)
    keep = input._backend.uniform(0.0, 1.0, shape, np.float64) >= p
    return input._backend.xp.asarray(keep).reshape(shape)


def _dropout(input: Tensor, p: float, train: bool, alpha: bool, feature: bool) -> Tensor:
    _check(p)
    if not train or p == 0.0:
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{input.dtype.name.capitalize()}")
    xp, dtype = input._backend.xp, input._data.dtype
    if p == 1.0:
        return input * 0.0  # torch: input.mul(zeros) for every variant
    keep = _keep(input, p, feature)
    if not alpha:
        scale = wrap((keep / (1.0 - p)).astype(dtype), input)
        return input * scale
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * _SELU_NEG ** 2))
    b = -a * _SELU_NEG * p
    scale = wrap((keep * a).astype(dtype), input)
    shift = wrap(xp.where(keep, b, a * _SELU_NEG + b).astype(dtype), input)
    return input * scale + shift


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout``: zero with probability ``p``, scale the rest by ``1 / (1 - p)``."""
    return _dropout(input, p, train, False, False)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout``: SELU-preserving dropout (mean 0 / variance 1 kept)."""
    return _dropout(input, p, train, True, False)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_dropout``: drop whole channels (dim 1) of an (N, C, ...) input."""
    return _dropout(input, p, train, False, True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return _dropout(input, p, train, True, True)


def _inplace_form(fn):
    method = _inplace(fn)

    def op(input: Tensor, p: float, train: bool) -> Tensor:
        return method(input, p, train)
    op.__name__ = op.__qualname__ = fn.__name__ + "_"
    op.__doc__ = f"In-place ``torch.{fn.__name__}``."
    return op


dropout_ = _inplace_form(dropout)
alpha_dropout_ = _inplace_form(alpha_dropout)
feature_dropout_ = _inplace_form(feature_dropout)
feature_alpha_dropout_ = _inplace_form(feature_alpha_dropout)

__all__ = ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout", "dropout_",
           "alpha_dropout_", "feature_dropout_", "feature_alpha_dropout_"]
