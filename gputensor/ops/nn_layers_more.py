"""Functional forms of nn.Bilinear and nn.EmbeddingBag.

Both are compositions of differentiable ops (matmul, gather, sum/max), so gradients and double
backward come from those ops. An embedding bag gathers into a dense (bags, longest bag, dim)
block with a constant validity mask, then reduces over the bag axis.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor
from ._util import wrap
from .activation import _const
from .index import first_outside, index_extremes
from .nn_functional import _renorm_rows


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., k] = input1 @ weight[k] @ input2 + bias[k]``; weight (out, in1, in2)."""
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        for d, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
            if a != b:
                raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                                   f"got {a} and {b}")
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    out, i1, i2 = weight.shape
    if input1.shape[-1] != i1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {i1}")
    if input2.shape[-1] != i2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {i2}")
    if bias is not None and tuple(bias.shape) != (out,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[0] if bias.ndim else 0} but expected {out}")
    batch = tuple(input1.shape[:-1])
    t = input1.reshape(-1, i1).matmul(weight.permute(1, 0, 2).reshape(i1, out * i2))
    y = (t.reshape(-1, out, i2) * input2.reshape(-1, 1, i2)).sum(-1).reshape(batch + (out,))
    return y + bias if bias is not None else y


def _bag_layout(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """Flat indices and bag boundaries ``starts``, ``ends`` (host arrays) for either input form."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets)}")
        b, n = input.shape
        starts = np.arange(b) * n
        return input.reshape(-1), starts, starts + n
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if offsets.dtype not in (dt.int64, dt.int32):
        raise RuntimeError("Expected tensor for argument #2 'offsets' to have one of the following "
                           "scalar types: Long, Int; but got "
                           f"{offsets.dtype} instead (while checking arguments for embedding_bag)")
    off = np.asarray(offsets.cpu().numpy(), dtype=np.int64)
    n = input.shape[0]
    if off.size and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}")
    if off.size and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {off[-1]}")
    if include_last_offset:
        return input, off[:-1], off[1:]
    return input, off, np.append(off[1:], n)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max of each bag's embedding rows; ``padding_idx`` entries are left out of
    every bag (and of the mean's count); an empty bag gives zeros."""
    if not isinstance(input, Tensor) or input.dtype not in (dt.int64, dt.int32):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {got} instead (while "
                           "checking arguments for embedding_bag)")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                "GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                             f"is not None, then it must have the same shape as the input "
                             f"({input.shape})")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("padding_idx must be within the number of embeddings")
        padding_idx %= num
    flat, starts, ends = _bag_layout(input, offsets, include_last_offset)
    if flat._data.size:
        lo, hi = index_extremes(flat._data)
        if lo < 0 or hi >= num:
            pos, val = first_outside(flat._data, 0, num)
            raise RuntimeError(f"Index {pos} of input takes value {val} which is not in the "
                               f"valid range [0, {num})")
    if per_sample_weights is not None:
        per_sample_weights = per_sample_weights.reshape(-1)
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    xp = weight._backend.xp
    lengths = np.maximum(ends - starts, 0)
    width = max(int(lengths.max()) if lengths.size else 0, 1)
    pos = starts[:, None] + np.arange(width)[None, :]  # (bags, width) positions into flat
    valid = np.arange(width)[None, :] < lengths[:, None]
    pos = np.where(valid, pos, 0)
    gather = wrap(xp.asarray(pos), flat) if flat.numel() else None
    if gather is None:  # no indices at all: every bag is empty
        return _const(xp.zeros((len(starts), weight.shape[1])), weight)
    idx = flat[gather]  # (bags, width)
    mask = xp.asarray(valid)
    if padding_idx is not None:
        mask = mask & (idx._data != padding_idx)
    rows = weight[idx]  # (bags, width, dim)
    if mode == "max":
        best = (rows + _const(xp.where(mask, 0.0, -np.inf)[..., None], rows)).max(1)[0]
        return best.masked_fill(wrap(~mask.any(axis=1)[:, None], rows), 0.0)
    scale = _const(mask[..., None], rows)
    if per_sample_weights is not None:
        scale = scale * per_sample_weights[gather].unsqueeze(-1)
    out = (rows * scale).sum(1)
    if mode == "mean":
        out = out * _const(1.0 / xp.maximum(mask.sum(axis=1, keepdims=True), 1), rows)
    return out


__all__ = ["bilinear", "embedding_bag"]
