"""Adadelta: per-coordinate step sizes from running averages of squared gradients and updates."""
from __future__ import annotations

from typing import Iterable

from .optimizer import Optimizer, buffer, check_lr, new_step, step_count


class Adadelta(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable,
                                      foreach=foreach, differentiable=differentiable))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["square_avg"] = buffer(p, 0.0)
            state["acc_delta"] = buffer(p, 0.0)
        step_count(state)
        grad = -grad if group["maximize"] else grad
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        if wd != 0:
            grad = grad + wd * param
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps) / std * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= float(group["lr"]) * delta
