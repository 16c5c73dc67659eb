"""One way to test an op: gradcheck in float64 on a device, and compare against PyTorch (cpu)."""
from __future__ import annotations

import numpy as np

import gputensor as gt


def to_gt(a, device: str, requires_grad: bool = False) -> gt.Tensor:
    t = gt.tensor(np.asarray(a), device=device)
    return t.requires_grad_(True) if requires_grad else t


def to_np(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def check_grad(fn, *arrays, device: str, atol: float = 1e-5, rtol: float = 1e-3,
               requires_grad=None) -> None:
    """gradcheck ``fn`` on float64 copies of ``arrays`` placed on ``device``.

    Non-float arrays (indices, masks) are passed through without requires_grad.
    """
    inputs = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        want = (a.dtype.kind == "f") if requires_grad is None else requires_grad[i]
        if a.dtype.kind == "f":
            a = a.astype(np.float64)
        inputs.append(to_gt(a, device, want))
    assert gt.autograd.gradcheck(fn, inputs, atol=atol, rtol=rtol)


def compare_torch(fn, *arrays, device: str, torch_fn=None, atol: float = 1e-5,
                  rtol: float = 1e-4, grad: bool = True, seed: int = 0) -> None:
    """Run ``fn`` with gputensor and ``torch_fn`` (default: ``fn``) with torch on the same data.

    Outputs must match; with ``grad``, so must the gradients of ``sum(out * w)`` for a random
    ``w`` with respect to every float input.
    """
    import torch
    torch_fn = torch_fn or fn
    g_in, t_in = [], []
    for a in arrays:
        a = np.asarray(a)
        want = grad and a.dtype.kind == "f"
        g_in.append(to_gt(a, device, want))
        t = torch.from_numpy(a.copy())
        t_in.append(t.requires_grad_(True) if want else t)
    g_out, t_out = fn(*g_in), torch_fn(*t_in)
    g_outs = g_out if isinstance(g_out, (tuple, list)) else (g_out,)
    t_outs = t_out if isinstance(t_out, (tuple, list)) else (t_out,)
    assert len(g_outs) == len(t_outs)
    for go, to in zip(g_outs, t_outs):
        assert tuple(go.shape) == tuple(to.shape), f"shape {tuple(go.shape)} vs torch {tuple(to.shape)}"
        assert go.dtype.name == str(to.dtype).replace("torch.", ""), f"dtype {go.dtype} vs {to.dtype}"
        np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=atol, rtol=rtol)
    if not grad:
        return
    rng = np.random.default_rng(seed)
    g_loss, t_loss = 0, 0
    for go, to in zip(g_outs, t_outs):
        if not to.dtype.is_floating_point or not to.requires_grad:
            continue
        w = rng.standard_normal(tuple(to.shape)).astype(str(to.dtype).replace("torch.", ""))
        g_loss = g_loss + (go * to_gt(w, device)).sum()
        t_loss = t_loss + (to * torch.from_numpy(w)).sum()
    if isinstance(t_loss, int):
        return
    g_loss.backward()
    t_loss.backward()
    for gi, ti in zip(g_in, t_in):
        if ti.requires_grad:
            assert (gi.grad is None) == (ti.grad is None)
            if ti.grad is not None:
                np.testing.assert_allclose(to_np(gi.grad), ti.grad.numpy(), atol=atol, rtol=rtol)


def check_lib_op(f, *arrays, device: str, grad: bool = True, **tol) -> None:
    """``f(lib, *tensors)`` run with lib = gputensor and torch: compare_torch, plus check_grad
    (float64) when ``grad``. Lets one lambda test a module-level function against both."""
    import torch
    compare_torch(lambda *a: f(gt, *a), *arrays, device=device, torch_fn=lambda *a: f(torch, *a),
                  grad=grad, **tol)
    if grad:
        check_grad(lambda *a: f(gt, *a), *arrays, device=device)


def device_cases(cases, cuda=()) -> list:
    """``(device, case)`` parameters: every case on cpu, and only the listed few on the
    simulated cuda device (slow), so no test is collected only to be skipped."""
    return [("cpu", c) for c in cases] + [("cuda", c) for c in cuda]
