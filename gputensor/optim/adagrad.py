"""Adagrad with learning-rate decay and an initial accumulator value (torch's update)."""
from __future__ import annotations

from typing import Iterable

from .optimizer import Optimizer, buffer, check_hparams, new_step, step_count


class Adagrad(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        check_hparams(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                      initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))

    def add_param_group(self, param_group: dict) -> None:
        """Add a group and create its state now, as torch's Adagrad does."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p]["step"] = new_step()
            self.state[p]["sum"] = buffer(p, float(group["initial_accumulator_value"]))

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        step = step_count(state)
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        acc = state["sum"]._data
        acc += grad * grad
        std = xp.sqrt(acc)
        std += group["eps"]
        param -= clr * (grad / std)
