"""The loss functions torch exposes at top level (``torch.kl_div``, ``torch.ctc_loss``, ...).

These are ATen's signatures, not ``F``'s: ``reduction`` is an int enum (0 none, 1 mean, 2 sum)
and, as torch's bindings parse it, defaults to 0 (no reduction).
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from . import loss as L
from . import loss_ctc, loss_more as M

_ENUM = {0: "none", 1: "mean", 2: "sum"}


def _red(name: str, reduction) -> str:
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{name}(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__}")
    if reduction not in _ENUM:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _ENUM[reduction]


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 0) -> Tensor:
    return L.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_red("binary_cross_entropy_with_logits", reduction),
        pos_weight=pos_weight)


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *,
           log_target: bool = False) -> Tensor:
    red = _red("kl_div", reduction)
    with warnings.catch_warnings():  # ATen's kl_div has no 'mean' deprecation warning; F's has
        warnings.simplefilter("ignore")
        return L.kl_div(input, target, reduction=red, log_target=log_target)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    return M.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_red("cosine_embedding_loss", reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    return loss_ctc.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                             _red("ctc_loss", reduction), zero_infinity)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 0) -> Tensor:
    return M.hinge_embedding_loss(input, target, margin,
                                  reduction=_red("hinge_embedding_loss", reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    return M.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_red("margin_ranking_loss", reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    return M.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_red("poisson_nll_loss", reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        reduction: int = 0) -> Tensor:
    red = _red("triplet_margin_loss", reduction)
    return M._triplet(anchor, positive, negative,
                      lambda a, b: M._pairwise_distance(a, b, p, eps), margin, swap, red)


__all__ = [
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "ctc_loss",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "poisson_nll_loss",
    "triplet_margin_loss",
]
