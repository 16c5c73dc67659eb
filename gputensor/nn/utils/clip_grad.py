"""Gradient clipping over a set of parameters (in place on their ``.grad``)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from ...autograd.grad_mode import no_grad
from ...ops import creation
from ...tensor import Tensor


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm(xp, a, norm_type: float):
    """The ``norm_type``-norm of a backend array, as a float64 0-d array."""
    a = xp.abs(a.astype(xp.float64).reshape(-1))
    if norm_type == math.inf:
        return a.max() if a.size else xp.asarray(0.0)
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients so their joint ``norm_type``-norm is at most ``max_norm``; returns
    the norm before clipping (a 0-d tensor on the gradients' device)."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return creation.tensor(0.0)
    first = grads[0]
    for g in grads:
        if g.device != first.device:
            raise RuntimeError(f"clip_grad_norm_: gradients on different devices "
                               f"({first.device} and {g.device})")
    xp = first._backend.xp
    total = _norm(xp, xp.stack([_norm(xp, g._data, norm_type) for g in grads]), norm_type)
    total_t = Tensor._make(xp.asarray(total, dtype=first._data.dtype), first._device)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g._assign(g * coef)
    return total_t


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            xp = g._backend.xp
            g._assign(Tensor._make(xp.clip(g._data, -clip_value, clip_value), g._device))


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
