"""Autograd semantics: accumulation, retain_grad, hooks, backward/grad options, grad modes,
custom Functions, version checks and gradcheck, each compared with torch where it has a value."""
import threading
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt


def _leaf(values, device, dtype=gt.float32):
    return gt.tensor(values, dtype=dtype, device=device, requires_grad=True)


def _np(t):
    return t.detach().cpu().numpy()


def test_accumulates_into_leaves_and_reduces_broadcast(device):
    x = _leaf([1.0, 2.0], device)
    b = _leaf([0.5], device)
    for _ in range(2):
        (x * x * b).sum().backward()
    tx, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([0.5], requires_grad=True)
    for _ in range(2):
        (tx * tx * tb).sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())
    np.testing.assert_allclose(_np(b.grad), tb.grad.numpy())
    assert x.grad.device.type == device and not x.grad.requires_grad


def test_leaf_grads_never_alias(device):
    x, w = _leaf([1.0, 2.0], device), _leaf([3.0, 4.0], device)
    ((x + w) * 2).sum().backward()
    x.grad.zero_()
    assert w.grad.tolist() == [2.0, 2.0]
    g = gt.ones(2, device=device)
    x.grad = None
    (x + 0).backward(g)
    g.mul_(5)
    assert x.grad.tolist() == [1.0, 1.0]


def test_non_leaf_grad_warns_and_retain_grad(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 2
    z = x * 3
    z.retain_grad()
    assert z.retains_grad and not y.retains_grad
    ((y * y).sum() + (z * z).sum()).backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    np.testing.assert_allclose(_np(z.grad), [6.0, 12.0])
    x.retain_grad()  # a no-op on leaves
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        gt.ones(2).retain_grad()


def test_hooks_on_leaf_and_non_leaf(device):
    x = _leaf([1.0, 2.0], device)
    seen = []
    h_leaf = x.register_hook(lambda g: g * 10)
    y = x * 3
    h_mid = y.register_hook(lambda g: seen.append(g.tolist()) or g + 1)
    y.sum().backward()
    assert seen == [[1.0, 1.0]]
    assert x.grad.tolist() == [60.0, 60.0]
    h_leaf.remove()
    h_mid.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and len(seen) == 1
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gt.ones(1).register_hook(lambda g: g)


def test_hook_applies_to_autograd_grad(device):
    x = _leaf([1.0], device)
    x.register_hook(lambda g: g * 2)
    (g,) = gt.autograd.grad((x * 5).sum(), x)
    assert g.tolist() == [10.0]


def test_backward_gradient_argument_and_errors(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 2
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2,\)"):
        y.backward(gt.ones(3, device=device))
    y.backward(gt.tensor([1.0, 0.5], device=device))
    assert x.grad.tolist() == [2.0, 1.0]
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        gt.ones(1).backward()


def test_second_backward_needs_retain_graph(device):
    x = _leaf([3.0], device)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [12.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_inputs_limits_accumulation(device):
    x, y = _leaf([1.0], device), _leaf([2.0], device)
    (x * y).sum().backward(inputs=[x])
    assert x.grad.tolist() == [2.0] and y.grad is None


def test_create_graph_backward_gives_differentiable_grad(device):
    x = _leaf([3.0], device, gt.float64)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == pytest.approx(27.0)
    (gg,) = gt.autograd.grad(g.sum(), x)
    assert gg.item() == pytest.approx(18.0)


def test_second_derivative_of_sin(device):
    xs = [0.3, 1.2, -2.0]
    x = _leaf(xs, device, gt.float64)
    (g,) = gt.autograd.grad(gt.sin(x).sum(), x, create_graph=True)
    (gg,) = gt.autograd.grad(g.sum(), x, create_graph=True)
    (ggg,) = gt.autograd.grad(gg.sum(), x)
    np.testing.assert_allclose(_np(g), np.cos(xs))
    np.testing.assert_allclose(_np(gg), -np.sin(xs))
    np.testing.assert_allclose(_np(ggg), -np.cos(xs))


def test_mixed_partials(device):
    x, y = _leaf(2.0, device, gt.float64), _leaf(3.0, device, gt.float64)
    f = x * x * y + y * y * y
    gx, gy = gt.autograd.grad(f, [x, y], create_graph=True)
    (gxy,) = gt.autograd.grad(gx, y, retain_graph=True)
    (gyx,) = gt.autograd.grad(gy, x)
    assert gx.item() == 12.0 and gy.item() == 31.0
    assert gxy.item() == 4.0 and gyx.item() == 4.0


def test_grad_options(device):
    x, y = _leaf(2.0, device), _leaf(3.0, device)
    out = x * 2
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used"):
        gt.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = gt.autograd.grad(out, [x, y], allow_unused=True, retain_graph=True)
    assert gx.item() == 2.0 and gy is None
    gx, gy = gt.autograd.grad(out, [x, y], materialize_grads=True)
    assert gy.item() == 0.0
    assert x.grad is None  # grad() never accumulates
    v = _leaf([1.0, 2.0], device)
    (gv,) = gt.autograd.grad(v * 3, v, grad_outputs=gt.tensor([1.0, -1.0], device=device))
    assert gv.tolist() == [3.0, -3.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        gt.autograd.grad(out, gt.ones(1))


def test_grad_wrt_non_leaf_does_not_run_past_it(device):
    x = _leaf([1.0], device)
    y = x * 3
    z = y * y
    (gy,) = gt.autograd.grad(z.sum(), y)
    assert gy.tolist() == [6.0]
    y.sum().backward()  # y's own graph was not consumed by grad() above
    assert x.grad.tolist() == [3.0]


def test_shared_subgraph_and_multiple_roots(device):
    x = _leaf([1.0, 2.0], device)
    h = x * x
    a, b = (h * 2).sum(), (h * 3).sum()
    gt.autograd.backward([a, b])
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    th = tx * tx
    torch.autograd.backward([(th * 2).sum(), (th * 3).sum()])
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())


def test_unused_outputs_get_zero_gradient(device):
    x = _leaf([1.0, 2.0, 3.0, 4.0], device)
    a, _ = x.split(2)
    (a * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 0.0, 0.0]


@pytest.mark.parametrize("mode", ["ctx", "decorator", "bare"])
def test_no_grad_forms(device, mode):
    x = _leaf([1.0], device)
    if mode == "ctx":
        with gt.no_grad():
            y = x * 2
    elif mode == "decorator":
        y = gt.no_grad()(lambda t: t * 2)(x)
    else:
        @gt.no_grad
        def f(t):
            return t * 2
        y = f(x)
    assert not y.requires_grad and y.grad_fn is None and gt.is_grad_enabled()


def test_enable_set_grad_and_inference_mode(device):
    x = _leaf([1.0], device)
    with gt.no_grad():
        with gt.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with gt.set_grad_enabled(False):
        assert not gt.is_grad_enabled()
    assert gt.is_grad_enabled()
    gt.set_grad_enabled(False)
    assert not gt.is_grad_enabled()
    gt.set_grad_enabled(True)

    @gt.set_grad_enabled(False)
    def f():
        return gt.is_grad_enabled()
    assert gt.is_grad_enabled() and f() is False and gt.is_grad_enabled()
    with gt.inference_mode():
        assert gt.is_inference_mode_enabled() and not (x * 2).requires_grad
    assert not gt.is_inference_mode_enabled()

    @gt.inference_mode()
    def g():
        return gt.is_grad_enabled()
    assert g() is False and gt.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with gt.no_grad():
        t = threading.Thread(target=lambda: seen.append(gt.is_grad_enabled()))
        t.start()
        t.join()
        assert not gt.is_grad_enabled()
    assert seen == [True]


class _Cube(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.k, None


class _SplitSign(gt.autograd.Function):
    """Two differentiable outputs plus a non-differentiable integer mask."""

    @staticmethod
    def forward(ctx, x):
        pos = (x > 0).long()
        ctx.mark_non_differentiable(pos)
        ctx.save_for_backward(x)
        return x * 2, x * x, pos

    @staticmethod
    def backward(ctx, g_double, g_square, g_pos):
        (x,) = ctx.saved_tensors
        assert g_pos is None or float(g_pos.abs().sum()) == 0.0
        return g_double * 2 + g_square * 2 * x


def test_custom_function(device):
    x = _leaf([1.0, -2.0], device, gt.float64)
    y = _Cube.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "_CubeBackward"
    assert "grad_fn=<_CubeBackward>" in repr(y)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert gt.autograd.gradcheck(lambda t: _Cube.apply(t, 2.0), (x,))
    assert gt.autograd.gradgradcheck(lambda t: _Cube.apply(t, 2.0), (x,))


def test_custom_function_multiple_outputs(device):
    x = _leaf([1.0, -2.0], device, gt.float64)
    d, s, pos = _SplitSign.apply(x)
    assert d.requires_grad and s.requires_grad and not pos.requires_grad
    assert pos.tolist() == [1, 0]
    s.sum().backward()  # d gets no gradient: materialized as zeros
    assert x.grad.tolist() == [2.0, -4.0]
    check = gt.autograd.gradcheck(lambda t: _SplitSign.apply(t)[:2], (x.detach().requires_grad_(),))
    assert check


def test_custom_function_needs_input_grad_and_errors(device):
    seen = []

    class Mul(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, g, g  # one too many, and not None: an error

    a, b = _leaf([1.0], device), gt.ones(1, device=device)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Mul.apply(a, b).sum().backward()
    assert seen == [(True, False)]

    class BadShape(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return gt.ones(3, device=g.device)

    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[3\]"):
        BadShape.apply(_leaf([1.0, 2.0], device)).sum().backward()


def test_custom_function_returning_input_keeps_leaf(device):
    class Identity(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _leaf([1.0], device)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_inplace_on_saved_tensor_detected(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; "
                                           "expected version 0"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_errors(device):
    x = _leaf([1.0], device)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with gt.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0]


def test_inplace_rebases_graph(device):
    x = _leaf([1.0, 2.0], device)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    (y * y).sum().backward()
    assert x.grad.tolist() == [12.0, 20.0]


def test_integer_outputs_never_require_grad(device):
    x = _leaf([1.5, 2.5], device)
    i = (x * 2).long()
    assert not i.requires_grad and i.grad_fn is None


def test_next_functions_like_torch(device):
    x = _leaf([1.0], device)
    y = x * gt.ones(1, device=device)
    (acc, nr), (none, zero) = y.grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x and nr == 0
    assert none is None and zero == 0


def test_gradcheck_fails_on_wrong_backward(device):
    class WrongSquare(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = _leaf([1.0, 2.0], device, gt.float64)
    assert gt.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gt.autograd.gradcheck(WrongSquare.apply, (x,))


def test_gradgradcheck_fails_on_wrong_double_backward(device):
    class DetachedSquare(gt.autograd.Function):
        """First derivative right, but computed outside the graph: second derivative is 0."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return (g * 2 * x).detach()

    x = _leaf([1.0, 2.0], device, gt.float64)
    assert gt.autograd.gradcheck(DetachedSquare.apply, (x,))
    assert gt.autograd.gradgradcheck(lambda t: t * t * t, (x,))
    assert not gt.autograd.gradgradcheck(DetachedSquare.apply, (x,), raise_exception=False)


def test_gradcheck_wants_float64():
    x = gt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="float64"):
        gt.autograd.gradcheck(lambda t: t * 2, (x,))


def test_long_chain_backward():
    x = gt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_no_warning_for_leaf_grad_access(device):
    x = _leaf([1.0], device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None


_FUZZ_OPS = [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b * 0.5,
    lambda a, b: (a * b).sum(dim=0, keepdim=True) + a, lambda a, b: a.sin() * b,
    lambda a, b: a[:, :2].sum(dim=1, keepdim=True) * b,
]


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_match_torch(device, seed):
    """Random DAGs (shared nodes, diamonds, fan-out into leaves) give torch's leaf gradients."""
    rng = np.random.default_rng(seed)
    leaves = [rng.standard_normal((3, 4)) for _ in range(3)]
    pools = []
    for lib, dev in ((gt, device), (torch, "cpu")):
        xs = [lib.tensor(v, requires_grad=True, device=dev) if lib is gt
              else torch.tensor(v, requires_grad=True) for v in leaves]
        pools.append((lib, xs, list(xs)))
    picks = [(rng.integers(len(_FUZZ_OPS)), rng.random(2)) for _ in range(12)]
    for op, (u, v) in picks:
        for _, _, pool in pools:
            n = len(pool)
            pool.append(_FUZZ_OPS[op](pool[int(u * n)], pool[int(v * n)]))
    for lib, xs, pool in pools:
        (pool[-1] * 1.0 + pool[-2] * 2.0 + pool[len(pool) // 2]).sum().backward()
    for g, t in zip(pools[0][1], pools[1][1]):
        if t.grad is None:
            assert g.grad is None
        else:
            np.testing.assert_allclose(_np(g.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_custom_inplace_function_with_mark_dirty(device):
    class Double_(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _leaf([1.0, 3.0], device)
    y = x * 1
    out = Double_.apply(y)
    assert out is y and y.grad_fn.name() == "Double_Backward" and y.tolist() == [2.0, 6.0]
    (y * y).sum().backward()
    assert x.grad.tolist() == [8.0, 24.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        Double_.apply(_leaf([1.0], device))


def test_grad_accumulates_in_place_like_torch(device):
    x = _leaf(2.0, device)
    (x * x).backward()
    held = x.grad
    (x * x).backward()
    assert x.grad is held and held.item() == 8.0
