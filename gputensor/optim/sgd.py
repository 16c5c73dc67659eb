"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch's update),
per parameter, ``foreach`` (flat NumPy / CuPy buffers) or ``fused`` (one kernel per bucket)."""
from __future__ import annotations

from typing import Iterable

from ..backends import enter_device, exit_device
from . import _multi
from .optimizer import Optimizer, buffer, check_hparams


class SGD(Optimizer):
    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        check_hparams(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))
        _multi.check_flags(foreach, fused, differentiable)

    def _step_group(self, group, params, grads) -> None:
        path = _multi.choose_path(group, params)
        sparse = any(g.is_sparse for g in grads)
        if path == "fused":
            for p in params:
                _multi.check_fused_param(p)
            if sparse:
                raise RuntimeError("`_fused_sgd` does not support sparse gradients")
        if sparse:  # torch's sparse update, computed on the densified gradient
            return self._sparse_step(group, params, grads)
        if path == "single":
            return super()._step_group(group, params, grads)
        names = ("momentum_buffer",) if group["momentum"] != 0 else ()
        _multi.run_buckets(self, group, params, grads, names, {}, False,
                           _fused if path == "fused" else _foreach)

    def _sparse_step(self, group, params, grads) -> None:
        for p, grad in zip(params, grads):
            grad = grad.to_dense() if grad.is_sparse else grad
            restore = enter_device(p._device)
            try:
                self._update(group, p, grad._data, self.state[p])
            finally:
                exit_device(restore)
            p._version.value += 1

    def _update(self, group, p, grad, state) -> None:
        param = p._data
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = buffer(p, grad)
            else:
                b = buf._data
                b *= momentum
                b += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        param -= group["lr"] * grad


def _foreach(group, b, fresh) -> None:
    _flat_step(group, b, fresh, None)


def _fused(group, b, fresh) -> None:
    """One kernel per bucket: Numba on the cpu (parameters updated in place through their
    addresses), CUDA on cuda; other dtypes and non-contiguous parameters take the flat path."""
    import numpy as np
    from ..kernels.optim_cpu import scalar, sgd_step
    if not _multi.kernel_dtype(b):
        return _flat_step(group, b, fresh, None)
    if b.device.type == "cuda":
        from ..kernels.optim_cuda import sgd_flat
        return _flat_step(group, b, fresh, sgd_flat)
    addrs = b.addresses() if b.device.type == "cpu" else None
    if addrs is None:
        return _flat_step(group, b, fresh, None)
    t = b.dtype
    mask = np.zeros(len(b.params), np.bool_)
    mask[fresh] = True
    bufs = b.flat.get("momentum_buffer", b.gbuf)
    sgd_step(addrs, b.offsets, b.gather_grads(), bufs, scalar(t, group["lr"]),
             scalar(t, group["weight_decay"]), scalar(t, group["momentum"]),
             scalar(t, 1 - group["dampening"]), bool(group["nesterov"]),
             bool(group["maximize"]), mask)


def _flat_step(group, b, fresh, kernel) -> None:
    """The bucket's update in a few whole-buffer array calls (or one CUDA ``kernel``)."""
    xp = b.xp
    g = b.gather_grads()
    p = b.gather_params()
    lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
    if kernel is not None:
        bufs = b.flat.get("momentum_buffer", g)
        mask = xp.zeros(b.total, xp.bool_)
        for i in fresh:
            mask[int(b.offsets[i]):int(b.offsets[i + 1])] = True
        kernel(p, g, bufs, mask, lr, wd, momentum, 1 - group["dampening"],
               bool(group["nesterov"]), bool(group["maximize"]))
        return b.scatter_params()
    t = b.scratch()
    if group["maximize"]:
        xp.negative(g, out=g)
    if wd != 0:
        xp.multiply(p, wd, out=t)
        g += t
    if momentum != 0:
        buf = b.flat["momentum_buffer"]
        if len(fresh) == len(b.params):
            xp.copyto(buf, g)
        else:
            buf *= momentum
            xp.multiply(g, 1 - group["dampening"], out=t)
            buf += t
            for i in fresh:
                lo, hi = int(b.offsets[i]), int(b.offsets[i + 1])
                buf[lo:hi] = g[lo:hi]
        if group["nesterov"]:
            xp.multiply(buf, momentum, out=t)
            g += t
        else:
            g = buf
    xp.multiply(g, lr, out=t)
    p -= t
    b.scatter_params()
