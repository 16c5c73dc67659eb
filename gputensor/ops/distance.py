"""Distances and similarities between batches of vectors: ``dist cosine_similarity
pairwise_distance cdist``, composed from differentiable ops (gradients come with them)."""
from __future__ import annotations

from ..tensor import Tensor, _wrap_dim, tensor_method
from .shape import broadcast_tensors


@tensor_method
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """p-norm of ``input - other`` (broadcast), over all elements."""
    return (input - other).norm(p)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1/max(|x1|, eps) * x2/max(|x2|, eps))`` along ``dim`` (inputs broadcast)."""
    x1, x2 = broadcast_tensors(x1, x2)
    d = _wrap_dim(dim, x1.ndim)
    n1 = x1.norm(2, d, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, d, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """p-norm of ``x1 - x2 + eps`` over the last dim."""
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        return diff.abs()
    return diff.norm(p, -1, keepdim=keepdim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distance between every row of ``x1`` (..., P, M) and of ``x2`` (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p, -1)


__all__ = ["dist", "cosine_similarity", "pairwise_distance", "cdist"]
