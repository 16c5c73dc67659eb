"""Autograd: the ``Function`` base, the backward engine, grad modes, ``grad`` and ``gradcheck``."""
from __future__ import annotations

from .function import Function, Node
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                        no_grad, set_grad_enabled)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into ``.grad``)."""
    from ..tensor import Tensor
    from .engine import run_backward
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grads = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got shape {tuple(o.shape)}); pass grad_outputs")
            g = Tensor._make(o._backend.xp.ones(o._data.shape, o._data.dtype), o._device)
        grads.append(g)
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                       allow_unused=bool(allow_unused) or materialize_grads)
    if materialize_grads:
        from ..ops.creation import zeros_like
        res = tuple(zeros_like(i) if r is None else r for i, r in zip(inputs, res))
    return res


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    from ..tensor import Tensor
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grad_tensors):
        t.backward(g, retain_graph=True if retain_graph is None and len(tensors) > 1 else retain_graph,
                   create_graph=create_graph, inputs=inputs)


def gradcheck(*args, **kwargs):
    from .checks import gradcheck as _gc
    return _gc(*args, **kwargs)


def gradgradcheck(*args, **kwargs):
    from .checks import gradgradcheck as _ggc
    return _ggc(*args, **kwargs)


__all__ = ["Function", "Node", "grad", "backward", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]
