"""``SyncBatchNorm``: batch normalization whose batch statistics span every rank.

In training with an initialized process group of more than one rank, each rank all-reduces its
per-channel sum, sum of squares and count (one float64 buffer) so that every rank normalizes with
the statistics of the global batch; backward all-reduces the per-channel sums of ``dy`` and
``dy * (x - mean)`` the input gradient needs, as torch's does (the weight and bias gradients stay
local: DistributedDataParallel averages them). Otherwise (eval, no process group, one rank) it
is plain batch norm. Unlike torch, which accepts only accelerator inputs here, cpu tensors are
synchronized too: gputensor's collectives run on either device.
"""
from __future__ import annotations

from typing import Any

from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops import nn_functional as NF
from ...ops.join_split import cat
from ...tensor import Tensor
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _dist():
    """``gputensor.distributed``, or None where it cannot load (no mpi4py): no process group."""
    try:
        from ... import distributed  # the public face, imported late: nn sits below it
    except ImportError:
        return None
    return distributed


class _SyncBatchNormFunction(Function):
    """Normalize with statistics all-reduced over ``process_group``."""

    @staticmethod
    def forward(ctx, input: Tensor, weight, bias, running_mean, running_var, eps: float,
                momentum: float, process_group) -> Tensor:
        dist = _dist()
        c = input.shape[1]
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        x64 = input.double()
        local_count = input.numel() // c
        stats = cat([x64.sum(dims), (x64 * x64).sum(dims),
                     x64.new_full((1,), float(local_count))])
        dist.all_reduce(stats, group=process_group)
        count = int(round(stats[2 * c].item()))
        if count <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {count}")
        mean64 = stats[:c] / count
        var64 = (stats[c:2 * c] / count - mean64 * mean64).clamp(min=0.0)
        mean, invstd = mean64.to(input.dtype), (var64 + eps).rsqrt().to(input.dtype)
        if running_mean is not None:
            running_mean.copy_(running_mean * (1 - momentum) + mean64.to(running_mean.dtype)
                               * momentum)
        if running_var is not None:
            unbiased = var64 * (count / (count - 1))
            running_var.copy_(running_var * (1 - momentum) + unbiased.to(running_var.dtype)
                              * momentum)
        out = (input - mean.view(shape)) * invstd.view(shape)
        if weight is not None:
            out = out * weight.view(shape)
        if bias is not None:
            out = out + bias.view(shape)
        ctx.save_for_backward(input, weight, mean, invstd)
        ctx.sync = (process_group, count, dims, shape)
        return out

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        input, weight, mean, invstd = ctx.saved_tensors
        process_group, count, dims, shape = ctx.sync
        c = input.shape[1]
        xmu = input - mean.view(shape)
        sum_dy = grad_output.sum(dims)
        sum_dy_xmu = (grad_output * xmu).sum(dims)
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_input = grad_weight = grad_bias = None
        if need_input:
            combined = cat([sum_dy, sum_dy_xmu])
            with no_grad():
                _dist().all_reduce(combined, group=process_group)
            mean_dy = (combined[:c] / count).view(shape)
            mean_dy_xmu = (combined[c:] / count).view(shape)
            scale = invstd.view(shape)
            if weight is not None:
                scale = scale * weight.view(shape)
            grad_input = (grad_output - mean_dy - xmu * (invstd * invstd).view(shape)
                          * mean_dy_xmu) * scale
        if weight is not None and need_weight:
            grad_weight = sum_dy_xmu * invstd
        if need_bias:
            grad_bias = sum_dy
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """torch.nn.SyncBatchNorm: BatchNorm over N and the spatial dims of every rank's batch."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any | None = None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked._assign(self.num_batches_tracked + 1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        running_mean = self.running_mean if track else None
        running_var = self.running_var if track else None
        group, need_sync = None, False
        if bn_training and self.training:
            dist = _dist()
            if dist is not None and dist.is_available() and dist.is_initialized():
                group = self.process_group or getattr(getattr(dist, "group", None), "WORLD",
                                                      None)
                need_sync = dist.get_world_size(group) > 1
        if not need_sync:
            return NF.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                 bn_training, factor, self.eps)
        if not input.is_floating_point():
            raise RuntimeError(f"SyncBatchNorm: expected a floating point input, got "
                               f"{input.dtype}")
        return _SyncBatchNormFunction.apply(input, self.weight, self.bias, running_mean,
                                            running_var, self.eps, factor, group)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every BatchNorm*d in ``module`` (recursively) by a SyncBatchNorm sharing its
        parameters and buffers; a BatchNorm passed in directly is returned converted."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
