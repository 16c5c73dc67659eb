"""Numerical gradient checks (float64 central differences), like ``torch.autograd.gradcheck``."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func, inputs):
    from ..tensor import Tensor
    out = _as_tuple(func(*inputs))
    return [o for o in out if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _flat_outputs(func, inputs) -> list:
    return [o._backend.to_numpy(o._data).astype(np.float64).ravel()
            for o in _outputs(func, inputs)]


def _numerical_jacobians(func, inputs, diff_idx, eps):
    """For each differentiable input, a list (per output) of (out_numel, in_numel) arrays.

    ``func`` runs with grad mode as the caller has it: gradgradcheck's ``func`` itself calls
    ``autograd.grad``. Inputs are perturbed in their storage, bypassing version counters.
    """
    base = _outputs(func, inputs)
    jac = []
    for i in diff_idx:
        x = inputs[i]
        flat = x._data.reshape(-1)
        cols = [np.zeros((o.numel(), x.numel())) for o in base]
        for k in range(x.numel()):
            orig = flat[k].item()
            flat[k] = orig + eps
            plus = _flat_outputs(func, inputs)
            flat[k] = orig - eps
            minus = _flat_outputs(func, inputs)
            flat[k] = orig
            for c, p, m in zip(cols, plus, minus):
                c[:, k] = (p - m) / (2 * eps)
        jac.append(cols)
    return jac, base


def _analytical_jacobians(func, inputs, diff_idx):
    from ..tensor import Tensor
    from . import grad as autograd_grad
    outs = _outputs(func, inputs)
    jac = [[np.zeros((o.numel(), inputs[i].numel())) for o in outs] for i in diff_idx]
    diff_inputs = [inputs[i] for i in diff_idx]
    for oi, o in enumerate(outs):
        if not o.requires_grad:
            continue
        xp = o._backend.xp
        for j in range(o.numel()):
            onehot = xp.zeros(o.numel(), dtype=o._data.dtype)
            onehot[j] = 1
            g = Tensor._make(onehot.reshape(o._data.shape), o._device)
            grads = autograd_grad([o], diff_inputs, [g], retain_graph=True, allow_unused=True)
            for ii, gr in enumerate(grads):
                if gr is not None:
                    if tuple(gr.shape) != tuple(diff_inputs[ii].shape):
                        raise GradcheckError(f"gradient for input {diff_idx[ii]} has shape "
                                             f"{tuple(gr.shape)}, expected "
                                             f"{tuple(diff_inputs[ii].shape)}")
                    jac[ii][oi][j, :] = gr._backend.to_numpy(gr._data).astype(np.float64).ravel()
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, check_dtype: bool = True, **_ignored) -> bool:
    """Compare analytical gradients of ``func`` with central differences on float64 inputs.

    Every input that requires grad is perturbed element by element (keep shapes small).
    """
    from ..tensor import Tensor
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff_idx:
        x = inputs[i]
        if check_dtype and x.dtype.np != np.float64:
            raise GradcheckError(f"gradcheck input {i} has dtype {x.dtype}; use float64 "
                                 "(finite differences are not accurate enough otherwise)")
        if not x._data.flags.c_contiguous:
            raise GradcheckError(f"gradcheck input {i} must be contiguous")
    analytical = _analytical_jacobians(func, inputs, diff_idx)
    numerical, _ = _numerical_jacobians(func, inputs, diff_idx, eps)
    for ii, i in enumerate(diff_idx):
        for oi, (a, n) in enumerate(zip(analytical[ii], numerical[ii])):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                err = np.abs(a - n).max()
                msg = (f"Jacobian mismatch for output {oi} with respect to input {i} (max abs "
                       f"error {err:.3g}),\nnumerical:{n}\nanalytical:{a}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """gradcheck of the first derivative (checks backward-of-backward via create_graph)."""
    from ..tensor import Tensor
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._make(o._backend.from_numpy(rng.standard_normal(o._data.shape)),
                                     o._device) for o in outs]

    def first_grad(*xs):
        o = _outputs(func, xs)
        gs = autograd_grad(o, [xs[i] for i in diff_idx], list(grad_outputs), create_graph=True,
                           allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
