"""Scaled dot-product attention (torch's math formulation) and the mask helpers that
MultiheadAttention shares with it."""
from __future__ import annotations

import math

from ..tensor import Tensor
from .activation import softmax
from .creation import full, zeros
from .nn_functional import dropout


def additive_mask(mask: Tensor | None, dtype, name: str, disallow_true: bool) -> Tensor | None:
    """A float mask to add to attention scores: bool masks become 0 / -inf.

    ``disallow_true`` selects the convention: True marks positions to *drop* (nn.MultiheadAttention)
    or positions to *keep* (scaled_dot_product_attention).
    """
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype.name == "bool":
        drop = mask if disallow_true else mask.logical_not()
        return zeros(tuple(mask.shape), dtype=dtype, device=mask.device).masked_fill(
            drop, float("-inf"))
    if not mask.is_floating_point():
        raise TypeError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    if mask.dtype != dtype:
        raise RuntimeError(f"Expected {name} dtype to be bool or float or to match query dtype, "
                           f"but got {name}.dtype: {mask.dtype} and query.dtype: {dtype} instead.")
    return mask


def causal_mask(L: int, S: int, like: Tensor) -> Tensor:
    """Additive (L, S) mask: position i attends to keys 0..i only."""
    return full((L, S), float("-inf"), dtype=like.dtype, device=like.device).triu(1)


def attention_weights(q: Tensor, k: Tensor, mask: Tensor | None, scale: float) -> Tensor:
    """softmax(q k^T * scale + mask) over keys; rows whose keys are all masked give zeros
    (torch's safe softmax) and a zero, not NaN, gradient."""
    scores = (q * scale) @ k.transpose(-2, -1)
    if mask is None:
        return softmax(scores, -1)
    scores = scores + mask
    dead = (scores == float("-inf")).all(-1, keepdim=True)
    return softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)


def _repeat_heads(x: Tensor, n: int) -> Tensor:
    """(..., Hk, S, E) -> (..., Hk * n, S, E), each head repeated n times (grouped queries)."""
    shape = tuple(x.shape)
    x = x.unsqueeze(-3).expand(shape[:-2] + (n,) + shape[-2:])
    return x.reshape(shape[:-3] + (shape[-3] * n,) + shape[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(E) + mask) v over (..., L, E) queries and (..., S, E) keys.

    A bool ``attn_mask`` marks with True the positions that take part; a float one is added.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must be at least 2-D, "
                               f"got shape {tuple(t.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: incompatible shapes query "
                           f"{tuple(query.shape)}, key {tuple(key.shape)}, value "
                           f"{tuple(value.shape)} (need query/key embedding and key/value "
                           "length to match)")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3]:
            raise RuntimeError(f"scaled_dot_product_attention: {query.shape[-3]} query heads "
                               f"are not a multiple of {key.shape[-3]} key/value heads")
        n = query.shape[-3] // key.shape[-3]
        key, value = _repeat_heads(key, n), _repeat_heads(value, n)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    mask = additive_mask(attn_mask, query.dtype, "attn_mask", disallow_true=False)
    if is_causal:
        causal = causal_mask(L, S, query)
        mask = causal if mask is None else mask + causal
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    w = attention_weights(query, key, mask, scale)
    if dropout_p > 0.0:
        w = dropout(w, dropout_p, training=True)
    return w @ value


__all__ = ["scaled_dot_product_attention"]
