"""Autograd: the ``Function`` base, the backward engine, grad modes, ``grad`` and ``gradcheck``."""
from __future__ import annotations

from . import function
from .anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled,  # noqa: F401
                           is_anomaly_enabled, set_detect_anomaly)
from .engine import _accumulate, run_backward
from .function import Function, Node
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)


def _tensor_list(x, what: str) -> list:
    Tensor = function.Tensor
    items = [x] if isinstance(x, Tensor) else list(x)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what} must be Tensors, got {type(t).__name__} at index {i}")
    return items


def _make_grads(outputs: list, grad_outputs, what: str) -> list:
    """One gradient tensor per output: given ones are checked and converted, missing ones are
    ones for single-element outputs (an error for others, as in torch)."""
    Tensor = function.Tensor
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{what}: got {len(grad_outputs)} gradients for {len(outputs)} "
                           "tensors")
    grads = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if not o._requires_grad:
                raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                                   "have a grad_fn")
            if o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {tuple(o.shape)}); pass a gradient")
            g = Tensor._make(o._backend.xp.ones(o._data.shape, o._data.dtype), o._device)
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(o._backend.xp.asarray(g, dtype=o._data.dtype), o._device)
            if g._data.shape != o._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{tuple(g.shape)} and output[{i}] has a shape of "
                                   f"{tuple(o.shape)}.")
            if g._device != o._device:
                raise RuntimeError(f"grad_output[{i}] is on {g._device} but output[{i}] is on "
                                   f"{o._device}")
            if g._data.dtype != o._data.dtype:
                g = g.to(o.dtype)
        grads.append(g)
    return grads


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into ``.grad``)."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported")
    outputs = _tensor_list(outputs, "outputs")
    inputs = _tensor_list(inputs, "inputs")
    grads = _make_grads(outputs, grad_outputs, "autograd.grad")
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
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad`` (one backward pass
    from all of them; ``inputs`` limits which tensors accumulate)."""
    tensors = _tensor_list(tensors, "tensors")
    grads = _make_grads(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(tensors, grads, retain_graph, create_graph)
        return
    inputs = _tensor_list(inputs, "inputs")
    if not inputs:
        raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
    res = run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                       allow_unused=True)
    owned = {id(g._data) for g in grads}
    for t, g in zip(inputs, res):
        if g is not None:
            _accumulate(t, g, create_graph, owned)


def gradcheck(*args, **kwargs) -> bool:
    """Compare analytical and numerical Jacobians (see ``checks.gradcheck``)."""
    from .checks import gradcheck as _gc
    return _gc(*args, **kwargs)


def gradgradcheck(*args, **kwargs) -> bool:
    """gradcheck of the first derivative (see ``checks.gradgradcheck``)."""
    from .checks import gradgradcheck as _ggc
    return _ggc(*args, **kwargs)


__all__ = ["Function", "Node", "grad", "backward", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

from . import functional  # noqa: E402,F401  (torch.autograd.functional.jacobian ...)
