"""Rprop: sign-based updates with per-coordinate step sizes grown/shrunk by ``etas``."""
from __future__ import annotations

from typing import Iterable

from .optimizer import Optimizer, buffer, check_lr, new_step, step_count


class Rprop(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["prev"] = buffer(p, 0.0)
            state["step_size"] = buffer(p, float(group["lr"]))
        step_count(state)
        grad = -grad if group["maximize"] else grad
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        prev, step_size = state["prev"]._data, state["step_size"]._data
        sign = xp.sign(grad * prev)
        factor = xp.ones_like(step_size)
        factor[sign > 0] = etaplus
        shrink = sign < 0
        factor[shrink] = etaminus
        step_size *= factor
        xp.clip(step_size, lo, hi, out=step_size)
        grad = grad.copy()
        grad[shrink] = 0  # after a sign change, skip this step and forget the gradient
        param -= xp.sign(grad) * step_size
        prev[...] = grad
