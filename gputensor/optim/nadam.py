"""NAdam: Adam with Nesterov momentum and torch's momentum-decay schedule (``mu_product``)."""
from __future__ import annotations

from typing import Iterable

from .optimizer import (Optimizer, buffer, check_betas, check_lr, lerp_, new_scalar, new_step,
                        step_count)


class NAdam(Optimizer):
    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["mu_product"] = new_scalar(1.0)
            state["exp_avg"] = buffer(p, 0.0)
            state["exp_avg_sq"] = buffer(p, 0.0)
        grad = -grad if group["maximize"] else grad
        step = step_count(state)
        lr, wd, (beta1, beta2) = float(group["lr"]), group["weight_decay"], group["betas"]
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        md = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        mp = state["mu_product"]
        mp._data *= mu  # rounded to the state's dtype, as torch's tensor is
        mu_product = float(mp._data)
        mu_product_next = mu_product * mu_next
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        lerp_(xp, exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = xp.sqrt(exp_avg_sq / bias_correction2)
        denom += group["eps"]
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param += ((-lr * mu_next) / (1.0 - mu_product_next)) * (exp_avg / denom)
