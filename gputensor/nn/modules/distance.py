"""PairwiseDistance and CosineSimilarity over ``F.pairwise_distance`` / ``F.cosine_similarity``.

Other torch names of this file resolve lazily (see ``_alias``)."""
from __future__ import annotations

from ...tensor import Tensor
from ._alias import getattr_for
from .module import Module


def _functional():
    from .. import functional  # resolved at call time: the F functions live in ops/stats
    return functional


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return _functional().pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return _functional().cosine_similarity(x1, x2, self.dim, self.eps)


__all__ = ["PairwiseDistance", "CosineSimilarity"]

__getattr__ = getattr_for(__name__)
