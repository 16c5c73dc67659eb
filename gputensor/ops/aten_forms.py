"""torch's top-level (ATen-signature) forms of functional ops, whose argument order differs
from ``torch.nn.functional``'s: ``torch.embedding(weight, input, ...)``,
``torch.layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable)``,
``torch.group_norm``, ``torch.batch_norm(input, weight, bias, running_mean, running_var,
training, momentum, eps, cudnn_enabled)``, ``torch.constant_pad_nd`` and ``frobenius_norm``."""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from . import nn_functional as nf
from . import padding as pd
from . import reduce_stats as rs


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``indices`` (``padding_idx=-1`` means none, as in ATen)."""
    return nf.embedding(indices, weight, padding_idx=None if padding_idx == -1 else padding_idx,
                        scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    return nf.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    return nf.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool = True) -> Tensor:
    return nf.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """``F.pad(input, pad, "constant", value)``."""
    return pd.pad(input, pad, "constant", value)


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (deprecated in torch, which warns once)."""
    if not _warned["frobenius_norm"]:
        _warned["frobenius_norm"] = True
        warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT "
                      "compatibility. It will be removed in a future PyTorch release. Please use "
                      "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning,
                      stacklevel=3)  # past the keyword adapter (_torch_args)
    return rs.norm(input, 2, dim, keepdim)


_warned = {"frobenius_norm": False}


__all__ = ["embedding", "layer_norm", "group_norm", "batch_norm", "constant_pad_nd",
           "frobenius_norm"]
