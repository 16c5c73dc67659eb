"""InstanceNorm1d/2d/3d (torch's file ``instancenorm``); the Lazy forms are in ``lazy``.

Other torch names of this file resolve lazily (see ``_alias``)."""
from __future__ import annotations

import warnings

from ... import _dtype as dt
from ...ops import norms_more as NM
from ...tensor import Tensor
from ._alias import getattr_for
from .module import Module
from .normalization import _affine_params, _BatchNorm, _buffer


class _InstanceNorm(Module):
    """Per-(sample, channel) statistics; running estimates only with ``track_running_stats``.
    Not a ``_BatchNorm`` (as in torch, ``isinstance(m, _BatchNorm)`` is False), but the same
    parameters, buffers, resets and repr."""

    _no_batch_dim = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_params(self, affine, bias, (num_features,), device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", _buffer(0.0, (num_features,), device, dtype))
            self.register_buffer("running_var", _buffer(1.0, (num_features,), device, dtype))
            self.register_buffer("num_batches_tracked", _buffer(0, (), device, dt.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    reset_running_stats = _BatchNorm.reset_running_stats
    reset_parameters = _BatchNorm.reset_parameters
    extra_repr = _BatchNorm.extra_repr

    def _check_input_dim(self, input: Tensor) -> None:
        nd = self._no_batch_dim
        if input.ndim not in (nd, nd + 1):
            raise ValueError(f"expected {nd}D or {nd + 1}D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.ndim - self._no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You "
                          f"can silence this warning by not passing in num_features, which is "
                          f"not used because affine=False", stacklevel=2)
        if input.ndim == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return NM.instance_norm(input, self.running_mean, self.running_var, self.weight,
                                self.bias, self.training or not self.track_running_stats,
                                self.momentum if self.momentum is not None else 0.0, self.eps)


class InstanceNorm1d(_InstanceNorm):
    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    _no_batch_dim = 4


__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]

__getattr__ = getattr_for(__name__)
