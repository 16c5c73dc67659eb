"""Adamax: Adam with the infinity norm of past gradients in place of the second moment."""
from __future__ import annotations

from typing import Iterable

from .optimizer import Optimizer, buffer, check_betas, check_lr, lerp_, new_step, step_count


class Adamax(Optimizer):
    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["exp_avg"] = buffer(p, 0.0)
            state["exp_inf"] = buffer(p, 0.0)
        grad = -grad if group["maximize"] else grad
        step = step_count(state)
        (beta1, beta2), wd = group["betas"], group["weight_decay"]
        if wd != 0:
            grad = grad + wd * param
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        lerp_(xp, exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + group["eps"], out=exp_inf)
        clr = float(group["lr"]) / (1 - beta1 ** step)
        param -= clr * (exp_avg / exp_inf)
