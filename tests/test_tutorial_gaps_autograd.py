"""Tutorial gaps (see ``test_tutorial_gaps.py``), autograd side: ``torch.autograd.functional``,
Module full backward hooks, custom Functions (setup_context, once_differentiable), anomaly mode."""
import warnings

import numpy as np
import pytest
import torch
from helpers import to_gt, to_np

import gputensor as gt
from gputensor.autograd import functional as gtF


# --- torch.autograd.functional ---------------------------------------------------------------

def _cmp(g, t, atol=1e-6):
    if isinstance(t, tuple):
        assert isinstance(g, tuple) and len(g) == len(t)
        for a, b in zip(g, t):
            _cmp(a, b, atol)
        return
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_allclose(to_np(g), t.detach().numpy(), atol=atol, rtol=1e-5)


def _both(arrays, device):
    return (tuple(to_gt(a, device) for a in arrays),
            tuple(torch.tensor(a) for a in arrays))


F1 = lambda lib, x: (x.exp() * x.sin()).sum(dim=-1)  # noqa: E731
F2 = lambda lib, x, y: (x.unsqueeze(-1) * y).tanh()  # noqa: E731
F3 = lambda lib, x, y: ((x ** 3).sum() * y.sum(), x * 2)  # noqa: E731


@pytest.mark.parametrize("fn,n_in,tuple_in", [(F1, 1, False), (F1, 1, True), (F2, 2, True),
                                               (F3, 2, True)])
def test_jacobian_matches_torch(device, rng, fn, n_in, tuple_in):
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal(3)][:n_in]
    g_in, t_in = _both(arrays, device)
    g = gtF.jacobian(lambda *a: fn(gt, *a), g_in if tuple_in else g_in[0])
    t = torch.autograd.functional.jacobian(lambda *a: fn(torch, *a),
                                           t_in if tuple_in else t_in[0])
    _cmp(g, t)


def test_hessian_vjp_jvp_vhp_hvp_match_torch(rng):
    f = lambda lib, x, y: (x.pow(2).sum() * y.sin().sum() + (x * x).exp().sum())  # noqa: E731
    arrays = [rng.standard_normal(3), rng.standard_normal(2)]
    (gx, gy), (tx, ty) = _both(arrays, "cpu")
    G, T = (lambda *a: f(gt, *a)), (lambda *a: f(torch, *a))
    tF = torch.autograd.functional
    _cmp(gtF.hessian(G, (gx, gy)), tF.hessian(T, (tx, ty)))
    _cmp(gtF.hessian(lambda x: G(x, gy), gx), tF.hessian(lambda x: T(x, ty), tx))
    v = (np.ones(3), np.arange(2.0))
    (gvx, gvy), (tvx, tvy) = _both(v, "cpu")
    for name in ("vjp", "vhp", "hvp"):
        vv = ((gvx, gvy), (tvx, tvy)) if name != "vjp" else (None, None)
        _cmp(getattr(gtF, name)(G, (gx, gy), vv[0]), getattr(tF, name)(T, (tx, ty), vv[1]))
    h = lambda lib, x: x.sin() * x  # noqa: E731
    _cmp(gtF.jvp(lambda x: h(gt, x), gx, gvx), tF.jvp(lambda x: h(torch, x), tx, tvx))
    _cmp(gtF.vjp(lambda x: h(gt, x), gx, gvx), tF.vjp(lambda x: h(torch, x), tx, tvx))


def test_jacobian_create_graph_is_differentiable():
    x = gt.tensor([1.0, 2.0], dtype=gt.float64, requires_grad=True)
    j = gtF.jacobian(lambda x: x ** 3, x, create_graph=True)
    assert j.requires_grad
    j.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [6.0, 12.0])
    assert not gtF.jacobian(lambda x: x ** 3, x).requires_grad


def test_autograd_functional_errors_match_torch():
    cases = [(lambda F, lib: F.hessian(lambda x: x * 2, lib.ones(2)), RuntimeError),
             (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(2)), RuntimeError),
             (lambda F, lib: F.jacobian(lambda x: x, [lib.ones(2)]), TypeError),
             (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(2), lib.ones(3)), RuntimeError)]
    for case, exc in cases:
        with pytest.raises(exc) as t_err:
            case(torch.autograd.functional, torch)
        with pytest.raises(exc) as g_err:
            case(gtF, gt)
        assert str(g_err.value).replace("gputensor", "torch") == str(t_err.value)
    # an output independent of the input: zeros, as torch without strict
    np.testing.assert_array_equal(to_np(gtF.jacobian(lambda x: gt.ones(2), gt.ones(3))),
                                  np.zeros((2, 3)))


# --- Module full backward hooks ------------------------------------------------------------

def _hook_log(lib):
    m = lib.nn.Linear(3, 2)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=lib.float32))
        m.bias.fill_(0.1)
    log = []

    def full(mod, gi, go):
        log.append(("full", [None if g is None else to_np(g).round(4).tolist() for g in gi],
                    [to_np(g).round(4).tolist() for g in go]))

    h = m.register_full_backward_hook(full)
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", len(go))))
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    m(x).sum().backward()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m(lib.tensor([[1.0, 2.0, 3.0]])).pow(2).sum().backward()
    log.append(any("no inputs require gradients" in str(x.message) for x in w))
    h.remove()
    m(x).sum().backward()
    relu = lib.nn.ReLU()
    relu.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    relu.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    y = lib.tensor([1.0, -1.0, 2.0], requires_grad=True)
    z = lib.tensor([1.0, -1.0, 2.0], requires_grad=True)
    (relu(y).sum() + lib.nn.Sequential(relu)(z * 1).sum()).backward()
    log.append((y.grad.tolist(), z.grad.tolist()))
    return log


def test_full_backward_hooks_match_torch():
    assert _hook_log(gt) == _hook_log(torch)


def test_full_backward_hook_errors():
    m = gt.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m(gt.ones(1, 2, requires_grad=True)).sum().backward()
    with gt.no_grad():
        assert not m(gt.ones(1, 2, requires_grad=True)).requires_grad


# --- custom Functions: setup_context style, once_differentiable; anomaly mode -----------

def _cube(lib):
    class MyCube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3, 3 * x ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output[1])

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    r, dx = MyCube.apply(x)
    (r.sum() + dx.sum()).backward()
    return MyCube, x.grad.tolist(), type(r.grad_fn).__name__


def test_function_setup_context_style():
    g_fn, g_grad, g_name = _cube(gt)
    _, t_grad, t_name = _cube(torch)
    assert g_grad == t_grad and g_name == t_name
    x = gt.tensor([0.5, -1.5], dtype=gt.float64, requires_grad=True)
    assert gt.autograd.gradcheck(lambda x: g_fn.apply(x)[0], (x,))


def test_once_differentiable_backward_records_no_graph():
    class Double(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @gt.autograd.function.once_differentiable
        def backward(ctx, g):
            assert not gt.is_grad_enabled()
            return g * 2

    x = gt.ones(2, requires_grad=True)
    (g,) = gt.autograd.grad(Double.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 2.0] and not g.requires_grad


def test_detect_anomaly_names_the_nan_backward():
    x = gt.tensor([0.0, 1.0], requires_grad=True)
    assert not gt.is_anomaly_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = gt.autograd.detect_anomaly()
    with ctx:
        assert gt.is_anomaly_enabled() and gt.autograd.is_anomaly_check_nan_enabled()
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values "
                                               r"in its 0th output\."):
            (x.sqrt() * 0).sum().backward()
    assert not gt.is_anomaly_enabled()
    with gt.autograd.set_detect_anomaly(True, check_nan=False):
        (x.sqrt() * 0).sum().backward()  # no check
    gt.autograd.set_detect_anomaly(True)
    try:
        assert gt.is_anomaly_enabled()
    finally:
        gt.autograd.set_detect_anomaly(False)
    y = gt.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():  # torch's own anomaly warnings (forward tracebacks)
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="SqrtBackward0"):
            t = torch.tensor([0.0, 1.0], requires_grad=True)
            (t.sqrt() * 0).sum().backward()
    (y.sqrt() * 0).sum().backward()  # off again: nan gradient, no error (as torch)
    assert np.isnan(to_np(y.grad)[0])
