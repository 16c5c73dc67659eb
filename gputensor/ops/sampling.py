"""Sampling category indices from weights: ``multinomial`` (used to generate text from a
language model's softmax), written once against the backend's array module.

With replacement: inverse-CDF lookup, one ``searchsorted`` over all rows (each row's CDF shifted
by its row number keeps the concatenation sorted). Without replacement: exponential race
(keys ``E / p``, E ~ Exp(1); the k smallest keys are a weighted sample without replacement).
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor, tensor_method
from ._util import wrap
from .creation import rand
from .linalg import scalar_name


@tensor_method
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """``num_samples`` indices per row of ``input`` (non-negative weights, not necessarily
    normalised), as int64."""
    if not input.is_floating_point():
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{scalar_name(input)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n = input.shape[-1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    xp = input._backend.xp
    p = input._data.reshape(-1, n).astype(np.float64)
    if not bool(xp.all(xp.isfinite(p) & (p >= 0))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = p.sum(-1, keepdims=True)
    if bool(xp.any(total <= 0)):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rows = p.shape[0]
    u = rand(rows, num_samples if replacement else n, generator=generator, dtype=dt.float64,
             device=input.device)._data
    if replacement:
        offset = xp.arange(rows, dtype=np.float64)[:, None]
        cdf = xp.cumsum(p / total, -1)
        cdf[:, -1] = 1.0
        idx = xp.searchsorted((cdf + offset).reshape(-1), (u + offset).reshape(-1), side="right")
        idx = xp.minimum(idx.reshape(rows, num_samples) - (offset * n).astype(np.int64), n - 1)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = -xp.log1p(-u) / p
        idx = xp.argsort(keys, axis=-1)[:, :num_samples]
    idx = idx.astype(np.int64)
    return wrap(idx if input.ndim == 2 else idx.reshape(-1), input)


__all__ = ["multinomial"]
