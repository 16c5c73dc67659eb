"""Adam / AdamW over one flat bucket: the NumPy / CuPy ``foreach`` math, the fused CPU kernel and
the fused CUDA kernel, each in the single-tensor update's operation order."""
from __future__ import annotations

import math

import numpy as np

from ._multi import kernel_dtype


def adam_bucket_step(group: dict, b, fused: bool) -> None:
    lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
    steps = b.bump_steps()
    step_size = [lr / (1 - beta1 ** t) for t in steps.tolist()]
    bc2 = [math.sqrt(1 - beta2 ** t) for t in steps.tolist()]
    kind = kernel_dtype(b)
    if fused and kind and b.device.type == "cpu":
        addrs = b.addresses()
        if addrs is not None:
            return _fused_cpu(group, b, addrs, step_size, bc2)
    if fused and kind and b.device.type == "cuda":
        return _fused_cuda(group, b, step_size, bc2)
    _foreach(group, b, step_size, bc2)


def _fused_cpu(group, b, addrs, step_size, bc2) -> None:
    from ..kernels.optim_cpu import adam_step, scalar
    t = b.dtype
    lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
    decoupled = bool(group["decoupled_weight_decay"])
    amsgrad = bool(group["amsgrad"])
    w1 = 1 - beta1
    adam_step(addrs, b.offsets, b.gather_grads(), b.flat["exp_avg"], b.flat["exp_avg_sq"],
              b.flat["max_exp_avg_sq"] if amsgrad else b.gbuf,
              np.asarray(step_size, t), np.asarray(bc2, t), scalar(t, wd),
              scalar(t, 1 - lr * wd), scalar(t, w1), scalar(t, 1 - w1), scalar(t, beta2),
              scalar(t, 1 - beta2), scalar(t, group["eps"]), decoupled, amsgrad,
              bool(group["maximize"]))


def _fused_cuda(group, b, step_size, bc2) -> None:
    from ..kernels.optim_cuda import adam_flat
    lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
    amsgrad = bool(group["amsgrad"])
    g, p = b.gather_grads(), b.gather_params()
    adam_flat(p, g, b.flat["exp_avg"], b.flat["exp_avg_sq"],
              b.flat["max_exp_avg_sq"] if amsgrad else g,
              b.per_param(step_size), b.per_param(bc2), wd, 1 - lr * wd, 1 - beta1, beta1,
              beta2, 1 - beta2, group["eps"], bool(group["decoupled_weight_decay"]), amsgrad,
              bool(group["maximize"]))
    b.scatter_params()


def _foreach(group, b, step_size, bc2) -> None:
    """Whole-bucket array calls into kept buffers; each matches the single-tensor expression
    (``lerp_``'s two formulas, ``(1 - beta2) * (g * g)``, ``sqrt(v) / bc2 + eps``) bitwise."""
    xp = b.xp
    lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
    g, p, t = b.gather_grads(), b.gather_params(), b.scratch()
    if group["maximize"]:
        xp.negative(g, out=g)
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p *= 1 - lr * wd
        else:
            xp.multiply(p, wd, out=t)
            g += t
    exp_avg, exp_avg_sq = b.flat["exp_avg"], b.flat["exp_avg_sq"]
    w = 1 - beta1
    xp.subtract(g, exp_avg, out=t)
    if w < 0.5:
        t *= w
        exp_avg += t
    else:
        t *= 1 - w
        xp.subtract(g, t, out=exp_avg)
    exp_avg_sq *= beta2
    xp.multiply(g, g, out=t)
    t *= 1 - beta2
    exp_avg_sq += t
    if group["amsgrad"]:
        second = b.flat["max_exp_avg_sq"]
        xp.maximum(second, exp_avg_sq, out=second)
    else:
        second = exp_avg_sq
    uniform = all(s == step_size[0] for s in step_size)
    xp.sqrt(second, out=t)
    t /= bc2[0] if uniform else b.per_param(bc2)
    t += group["eps"]
    xp.divide(exp_avg, t, out=t)
    t *= step_size[0] if uniform else b.per_param(step_size)
    p -= t
    b.scatter_params()
