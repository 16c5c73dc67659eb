"""Fused CUDA optimizer steps over flat buffers (one launch per (device, dtype) bucket).

The caller gathers parameters and gradients into flat buffers and copies the parameters back;
state lives in flat buffers already. Every element follows the single-tensor update's operation
order with scalars in the parameter dtype (float32 math stays float32), grid-stride loop.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ._launch import cdiv, kernel_args, launch_context

THREADS = 256
_MAX_BLOCKS = 4096


@cuda.jit
def _sgd_kernel(p, g, buf, fresh, lr, wd, momentum, damp, nesterov, maximize):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for k in range(start, p.shape[0], stride):
        x = -g[k] if maximize else g[k]
        if wd != 0:
            x = x + wd * p[k]
        if momentum != 0:
            if fresh[k]:
                b = x
            else:
                b = buf[k] * momentum + damp * x
            buf[k] = b
            x = x + momentum * b if nesterov else b
        p[k] = p[k] - lr * x


@cuda.jit
def _adam_kernel(p, g, exp_avg, exp_avg_sq, max_sq, step_size, bc2, wd, shrink, w1, w1c,
                 beta2, w2, eps, decoupled, amsgrad, maximize):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for k in range(start, p.shape[0], stride):
        x = p[k]
        gk = -g[k] if maximize else g[k]
        if wd != 0:
            if decoupled:
                x = x * shrink
            else:
                gk = gk + wd * x
        a = exp_avg[k]
        if w1 < 0.5:
            a = a + w1 * (gk - a)
        else:
            a = gk - (gk - a) * w1c
        exp_avg[k] = a
        s = exp_avg_sq[k] * beta2 + w2 * (gk * gk)
        exp_avg_sq[k] = s
        if amsgrad:
            if s > max_sq[k]:
                max_sq[k] = s
            s = max_sq[k]
        denom = math.sqrt(s) / bc2[k] + eps
        p[k] = x - step_size[k] * (a / denom)


def _launch(kernel, n: int, arrays: tuple, scalars: tuple) -> None:
    if n == 0:
        return
    with launch_context(arrays[0]):
        args, stream = kernel_args(*arrays)
        kernel[min(cdiv(n, THREADS), _MAX_BLOCKS), THREADS, stream](*args, *scalars)


def sgd_flat(p, g, buf, fresh, lr, wd, momentum, damp, nesterov, maximize) -> None:
    """SGD on flat contiguous ``p``, ``g``, ``buf`` (float32/64) and a bool ``fresh`` mask."""
    t = np.dtype(p.dtype).type
    _launch(_sgd_kernel, p.shape[0], (p, g, buf, fresh),
            (t(lr), t(wd), t(momentum), t(damp), bool(nesterov), bool(maximize)))


def adam_flat(p, g, exp_avg, exp_avg_sq, max_sq, step_size, bc2, wd, shrink, w1, w1c, beta2,
              w2, eps, decoupled, amsgrad, maximize) -> None:
    """Adam / AdamW on flat buffers; ``step_size``, ``bc2``: per-element bias corrections."""
    t = np.dtype(p.dtype).type
    _launch(_adam_kernel, p.shape[0], (p, g, exp_avg, exp_avg_sq, max_sq, step_size, bc2),
            (t(wd), t(shrink), t(w1), t(w1c), t(beta2), t(w2), t(eps), bool(decoupled),
             bool(amsgrad), bool(maximize)))


def _sig(name: str, t: str) -> str:
    v = f"{t}[::1]"
    if name == "sgd":
        return f"void({v}, {v}, {v}, boolean[::1], {t}, {t}, {t}, {t}, boolean, boolean)"
    return (f"void({v}, {v}, {v}, {v}, {v}, {v}, {v}, {t}, {t}, {t}, {t}, {t}, {t}, {t}, "
            "boolean, boolean, boolean)")


PTX_SIGNATURES = [
    (k, _sig(name, t), f"{name}_{t}", THREADS)
    for name, k in (("sgd", _sgd_kernel), ("adam", _adam_kernel))
    for t in ("float32", "float64")
]
