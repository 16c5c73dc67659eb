"""ASGD: SGD with a decaying step size ``eta`` and a running average ``ax`` of the iterates."""
from __future__ import annotations

from typing import Iterable

from .optimizer import Optimizer, buffer, check_lr, new_scalar, new_step, step_count


class ASGD(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, group, p, grad, state) -> None:
        param = p._data
        lr, lambd = float(group["lr"]), group["lambd"]
        if not state:
            state["step"] = new_step()
            state["eta"] = new_scalar(lr)
            state["mu"] = new_scalar(1.0)
            state["ax"] = buffer(p, 0.0)
        grad = -grad if group["maximize"] else grad
        step = step_count(state)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        # eta and mu live in the (float32) state tensors: read back rounded, exactly as torch.
        eta, mu = float(state["eta"]._data), float(state["mu"]._data)
        param *= 1 - lambd * eta
        param -= eta * grad
        ax = state["ax"]._data
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        # torch builds the new values with ``as_tensor`` (default dtype) before copying them in
        eta = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["eta"]._data[...] = float(new_scalar(eta)._data)
        state["mu"]._data[...] = float(new_scalar(1 / max(1, step - group["t0"]))._data)
