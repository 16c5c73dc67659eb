"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize; torch's exact update order,
per parameter, ``foreach`` (flat NumPy / CuPy buffers) or ``fused`` (one kernel per bucket)."""
from __future__ import annotations

import math
from typing import Iterable

from . import _multi
from .optimizer import (Optimizer, buffer, check_betas, check_hparams, lerp_, new_step,
                        step_count)


class Adam(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        check_hparams(lr=lr, eps=eps, weight_decay=weight_decay)
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))
        _multi.check_flags(foreach, fused, differentiable)

    def _step_group(self, group, params, grads) -> None:
        if any(g.is_sparse for g in grads):
            raise RuntimeError("Adam does not support sparse gradients, please consider "
                                   "SparseAdam instead")
        path = _multi.choose_path(group, params)
        if path == "fused":
            for p in params:
                if not self.state[p]:
                    _multi.check_fused_param(p)
        if path == "single":
            return super()._step_group(group, params, grads)
        from ._adam_multi import adam_bucket_step
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
        _multi.run_buckets(self, group, params, grads, names, {n: 0.0 for n in names}, True,
                           fn=lambda g, b, fresh: adam_bucket_step(g, b, path == "fused"))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["exp_avg"] = buffer(p, 0.0)
            state["exp_avg_sq"] = buffer(p, 0.0)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = buffer(p, 0.0)
        grad = -grad if group["maximize"] else grad
        step = step_count(state)
        lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        lerp_(xp, exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]._data
            xp.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        denom = xp.sqrt(second) / bias_correction2_sqrt
        denom += group["eps"]
        param -= step_size * (exp_avg / denom)


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly instead of adding to the gradient."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
