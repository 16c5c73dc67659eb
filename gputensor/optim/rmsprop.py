"""RMSprop (optionally centered, with momentum) following torch's update order, per parameter
or ``foreach`` (flat NumPy / CuPy buffers; torch has no fused RMSprop)."""
from __future__ import annotations

from typing import Iterable

from . import _multi
from .optimizer import Optimizer, buffer, check_hparams, lerp_, new_step, step_count


class RMSprop(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_hparams(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _step_group(self, group, params, grads) -> None:
        if any(g.is_sparse for g in grads):
            raise RuntimeError("RMSprop does not support sparse gradients")
        if _multi.choose_path(group, params) == "single":
            return super()._step_group(group, params, grads)
        names = (("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
                 + (("grad_avg",) if group["centered"] else ()))
        _multi.run_buckets(self, group, params, grads, names, {n: 0.0 for n in names}, True,
                           _bucket_step)

    def _update(self, group, p, grad, state) -> None:
        xp, param = p._backend.xp, p._data
        if not state:
            state["step"] = new_step()
            state["square_avg"] = buffer(p, 0.0)
            if group["momentum"] > 0:
                state["momentum_buffer"] = buffer(p, 0.0)
            if group["centered"]:
                state["grad_avg"] = buffer(p, 0.0)
        grad = -grad if group["maximize"] else grad
        step_count(state)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        alpha = group["alpha"]
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            lerp_(xp, grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._data
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)


def _bucket_step(group: dict, b, fresh) -> None:
    xp = b.xp
    b.bump_steps()
    g, p = b.gather_grads(), b.gather_params()
    if group["maximize"]:
        xp.negative(g, out=g)
    if group["weight_decay"] != 0:
        g += group["weight_decay"] * p
    alpha = group["alpha"]
    square_avg = b.flat["square_avg"]
    square_avg *= alpha
    square_avg += (1 - alpha) * (g * g)
    if group["centered"]:
        grad_avg = b.flat["grad_avg"]
        lerp_(xp, grad_avg, g, 1 - alpha)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += group["eps"]
    if group["momentum"] > 0:
        buf = b.flat["momentum_buffer"]
        buf *= group["momentum"]
        buf += g / avg
        p -= group["lr"] * buf
    else:
        xp.divide(g, avg, out=avg)
        avg *= group["lr"]
        p -= avg
    b.scatter_params()
