"""``torch.autograd.functional``: jacobian, hessian, vjp, jvp, vhp and hvp of a Python function.

Everything is built on ``autograd.grad``: a Jacobian takes one backward pass per output element
(torch's ``vectorize=False`` strategy), and a Jacobian-vector product uses the double-backward
trick (differentiate the vjp with respect to its cotangent), so no forward-mode AD is needed.
"""
from __future__ import annotations

from typing import Callable

from . import function


def _as_tuple(x, arg: str, fn: str) -> tuple:
    """(items, was_tuple); each item must be a Tensor, as torch checks."""
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, function.Tensor):
            where = f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors"
            raise TypeError(f"{where} but the value at index {i} has type {type(t)}." if is_tuple
                            else f"{where} but the given {arg} has type {type(t)}.")
    return items, is_tuple


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh leaves to differentiate against; with create_graph, a view keeps the caller's graph
    so the result is differentiable with respect to the original inputs."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad
                 else x.detach().requires_grad_(True) for x in inputs)


def _grads(outputs, inputs: tuple, grad_outputs, create_graph: bool) -> tuple:
    """autograd.grad that returns zeros (not None) for inputs the outputs do not reach."""
    from . import grad
    from ..ops.creation import zeros_like
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    res = (grad(outs, inputs, gos, retain_graph=True, create_graph=create_graph,
                allow_unused=True) if outs else (None,) * len(inputs))
    return tuple(zeros_like(x) if g is None else g for x, g in zip(inputs, res))


def _finish(x, create_graph: bool):
    return x if create_graph else x.detach()


def _strip(items: tuple, was_tuple: bool):
    return items if was_tuple else items[0]


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """d func(inputs) / d inputs: each block has shape ``output.shape + input.shape``."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         "Hint: If your function has more outputs than inputs, \"forward-mode\" "
                         "tends to be more performant. Otherwise, prefer to use "
                         "\"reverse-mode\".")
    from ..ops.creation import zeros
    from ..ops.join_split import stack
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    leaves = _prepare(inputs, create_graph)
    outputs, out_tuple = _as_tuple(func(*leaves), "outputs of the user-provided function",
                                   "jacobian")
    if strict and any(not o.requires_grad for o in outputs):
        raise RuntimeError("Output 0 of the user-provided function does not require gradients. "
                           "The outputs must be computed in a differentiable manner from the "
                           "input when running in strict mode.")
    blocks = []
    for out in outputs:
        flat = out.reshape(-1)
        rows = [[] for _ in leaves]
        for k in range(flat.numel()):
            one = zeros(flat.shape, dtype=flat.dtype, device=flat.device)
            one[k] = 1
            for j, g in enumerate(_grads((flat,), leaves, (one,), create_graph)):
                rows[j].append(g)
        per_input = []
        for x, r in zip(leaves, rows):
            shape = tuple(out.shape) + tuple(x.shape)
            j = (stack(r) if r else zeros((0,) + tuple(x.shape), dtype=x.dtype,
                                           device=x.device)).reshape(shape)
            per_input.append(_finish(j, create_graph))
        blocks.append(_strip(tuple(per_input), in_tuple))
    return _strip(tuple(blocks), out_tuple)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """Second derivatives of a function returning one single-element Tensor."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*xs):
        out = func(*xs)
        if isinstance(out, tuple) or not isinstance(out, function.Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def gradient(*xs):
        return jacobian(scalar, xs, create_graph=True, strict=strict)

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return res if in_tuple else res[0][0]


def _vector(v, outputs: tuple, is_tuple: bool, what: str, fn: str) -> tuple:
    from ..ops.creation import ones_like
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element." if what == "output"
                               else "The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        return (ones_like(outputs[0]),)
    v, _ = _as_tuple(v, "v", fn)
    if len(v) != len(outputs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got "
                           f"{len(v)}." if is_tuple else "The given v should contain a single "
                           "Tensor.")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if a.shape != b.shape:
            entry = f"Entry {i} in " if is_tuple else ""
            raise RuntimeError(f"{entry}v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")
    return v


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J)."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    leaves = _prepare(inputs, create_graph)
    outputs, out_tuple = _as_tuple(func(*leaves), "outputs of the user-provided function", "vjp")
    v = _vector(v, outputs, out_tuple, "output", "vjp")
    g = _grads(outputs, leaves, v, create_graph)
    return (_strip(tuple(_finish(o, create_graph) for o in outputs), out_tuple),
            _strip(tuple(_finish(x, create_graph) for x in g), in_tuple))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v), by differentiating the vjp with respect to its cotangent."""
    from ..ops.creation import zeros_like
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    leaves = _prepare(inputs, create_graph)
    v = _vector(v, leaves, in_tuple, "input", "jvp")
    outputs, out_tuple = _as_tuple(func(*leaves), "outputs of the user-provided function", "jvp")
    cot = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
    g = _grads(outputs, leaves, cot, create_graph=True)
    jv = _grads(g, cot, v, create_graph)
    return (_strip(tuple(_finish(o, create_graph) for o in outputs), out_tuple),
            _strip(tuple(_finish(x, create_graph) for x in jv), out_tuple))


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H) for a function returning one single-element Tensor."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    leaves = _prepare(inputs, create_graph)
    out = func(*leaves)
    if isinstance(out, tuple) or not isinstance(out, function.Tensor):
        raise RuntimeError("The function given to vhp should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError("The Tensor returned by the function given to vhp should contain a "
                           "single element")
    v = _vector(v, leaves, in_tuple, "input", "vhp")
    g = _grads((out,), leaves, (None,), create_graph=True)
    res = _grads(g, leaves, v, create_graph)
    return (_finish(out, create_graph),
            _strip(tuple(_finish(x, create_graph) for x in res), in_tuple))


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v); equal to v^T H because the Hessian of a twice-differentiable
    function is symmetric."""
    return vhp(func, inputs, v, create_graph, strict)


__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]
