"""BatchNorm1d/2d/3d, LayerNorm, GroupNorm with torch's parameters, buffers and defaults."""
from __future__ import annotations

from ... import _dtype as dt
from ..._device import canonical
from ...autograd.grad_mode import no_grad
from ...ops import creation
from ...ops import nn_functional as NF
from ...tensor import Tensor
from .. import init
from .linear import empty_parameter
from .module import Module


def _buffer(fill: float, shape, device, dtype) -> Tensor:
    dtype = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return creation.full(shape, fill, dtype=dtype, device=canonical(device))


def _affine_params(module: Module, affine: bool, bias: bool, shape: tuple, device,
                   dtype) -> None:
    """Register ``weight`` (and ``bias`` unless ``bias=False``) of ``shape``, or None for both."""
    module.register_parameter("weight", empty_parameter(*shape, device=device, dtype=dtype)
                              if affine else None)
    module.register_parameter("bias", empty_parameter(*shape, device=device, dtype=dtype)
                              if affine and bias else None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """Normalizes over every dim but the channel dim (1) using batch statistics in training and
    the running estimates (momentum 0.1, unbiased variance) in eval."""

    _expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_params(self, affine, bias, (num_features,), device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", _buffer(0.0, (num_features,), device, dtype))
            self.register_buffer("running_var", _buffer(1.0, (num_features,), device, dtype))
            self.register_buffer("num_batches_tracked",
                                 _buffer(0, (), device, dt.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            with no_grad():
                self.num_batches_tracked._assign(creation.zeros_like(self.num_batches_tracked))

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._expected_dims:
            raise ValueError(f"expected {' or '.join(f'{d}D' for d in self._expected_dims)} "
                             f"input (got {input.ndim}D input)")
        if input.ndim >= 2 and input.shape[1] != self.num_features:
            raise RuntimeError(f"{type(self).__name__}: expected {self.num_features} channels "
                               f"(dim 1), got input of shape {list(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked._assign(self.num_batches_tracked + 1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return NF.batch_norm(input, self.running_mean if track else None,
                             self.running_var if track else None, self.weight, self.bias,
                             use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    _expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    _expected_dims = (5,)


class LayerNorm(Module):
    """Normalizes over the trailing ``normalized_shape`` dims; weight ones, bias zeros."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_params(self, elementwise_affine, bias, self.normalized_shape, device, dtype)
        _reset_affine(self)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return NF.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        _affine_params(self, affine, bias, (num_channels,), device, dtype)
        _reset_affine(self)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return NF.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "LayerNorm"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files (MultiheadAttention)
