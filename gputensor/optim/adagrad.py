"""Adagrad with learning-rate decay and an initial accumulator value (torch's update), per
parameter, ``foreach`` (flat NumPy / CuPy buffers) or ``fused`` (one Numba call per bucket on the
cpu; elsewhere the flat path)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from . import _multi
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
        _multi.check_flags(foreach, fused, differentiable)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group and create its state now, as torch's Adagrad does."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p]["step"] = new_step()
            self.state[p]["sum"] = buffer(p, float(group["initial_accumulator_value"]))

    def _step_group(self, group, params, grads) -> None:
        path = _multi.choose_path(group, params)
        if path == "fused":
            for p in params:
                _multi.check_fused_param(p)
            if any(g.is_sparse for g in grads):
                raise RuntimeError("`fused` does not support sparse grad or complex param")
        if path == "single" or any(g.is_sparse for g in grads):
            return super()._step_group(group, params, grads)
        _multi.run_buckets(self, group, params, grads, ("sum",), {"sum": 0.0}, True,
                           fn=lambda g, b, fresh: _bucket_step(g, b, path == "fused"))

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


def _bucket_step(group: dict, b, fused: bool) -> None:
    xp = b.xp
    lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
    steps = b.bump_steps().tolist()
    clr = [lr / (1 + (t - 1) * group["lr_decay"]) for t in steps]
    addrs = b.addresses() if fused and b.device.type == "cpu" and _multi.kernel_dtype(b) else None
    if addrs is not None:
        from ..kernels.optim_cpu import adagrad_step, scalar
        t = b.dtype
        adagrad_step(addrs, b.offsets, b.gather_grads(), b.flat["sum"], np.asarray(clr, t),
                     scalar(t, wd), scalar(t, eps), bool(group["maximize"]))
        return
    g, p = b.gather_grads(), b.gather_params()
    if group["maximize"]:
        xp.negative(g, out=g)
    if wd != 0:
        g += wd * p
    acc = b.flat["sum"]
    acc += g * g
    std = xp.sqrt(acc)
    std += eps
    xp.divide(g, std, out=std)
    std *= clr[0] if all(c == clr[0] for c in clr) else b.per_param(clr)
    p -= std
    b.scatter_params()
