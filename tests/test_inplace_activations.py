"""``inplace=True`` activations after Linear / Conv2d / BatchNorm2d / a plain op, against torch:
forward values, gradients of input and parameters, and the errors torch raises (issue 8: they
used to fail backward with "modified by an inplace operation")."""
import numpy as np
import pytest

import gputensor as gt
from helpers import to_np

torch = pytest.importorskip("torch")

ACTS = {
    "ReLU": lambda nn: nn.ReLU(inplace=True),
    "ReLU6": lambda nn: nn.ReLU6(inplace=True),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.2, inplace=True),
    "ELU": lambda nn: nn.ELU(0.7, inplace=True),
    "SELU": lambda nn: nn.SELU(inplace=True),
    "CELU": lambda nn: nn.CELU(1.3, inplace=True),
    "Hardtanh": lambda nn: nn.Hardtanh(-0.5, 0.6, inplace=True),
    "SiLU": lambda nn: nn.SiLU(inplace=True),
    "Hardswish": lambda nn: nn.Hardswish(inplace=True),
    "Hardsigmoid": lambda nn: nn.Hardsigmoid(inplace=True),
    "Mish": lambda nn: nn.Mish(inplace=True),
    "Threshold": lambda nn: nn.Threshold(0.1, -2.0, inplace=True),
    "RReLU": lambda nn: nn.RReLU(0.1, 0.3, inplace=True).eval(),
    "Dropout_eval": lambda nn: nn.Dropout(inplace=True).eval(),
}

LAYERS = {
    "Linear": (lambda nn: nn.Linear(4, 3), (2, 4)),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(2), (2, 2, 3, 3)),
    "plain": (None, (3, 5)),
}


def _run(lib, act, layer, x_np, params):
    x = lib.tensor(x_np, requires_grad=True)
    if layer is None:
        h = x * 1.5
        mods = []
    else:
        mod = layer(lib.nn)
        with lib.no_grad():
            for p, v in zip(mod.parameters(), params):
                p.copy_(lib.tensor(v))
        h = mod(x)
        mods = list(mod.parameters())
    y = act(lib.nn)(h)
    assert y is h  # written into the layer's output
    w = lib.tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(tuple(y.shape)))
    (y * w).sum().backward()
    return [y] + [x.grad] + [p.grad for p in mods]


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("act", list(ACTS))
def test_inplace_activation_after_layer(act, layer, rng):
    make, shape = LAYERS[layer]
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    params = [] if make is None else [p.detach().numpy().copy()
                                      for p in make(torch.nn).parameters()]
    got = _run(gt, ACTS[act], make, x, params)
    want = _run(torch, ACTS[act], make, x, params)
    for g, t in zip(got, want):
        np.testing.assert_allclose(to_np(g), t.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_inplace_on_simulated_cuda(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for name in ("LeakyReLU", "ELU", "Hardswish", "Hardtanh"):
        g = gt.tensor(x, device="cuda", requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        yg, yt = ACTS[name](gt.nn)(g * 2), ACTS[name](torch.nn)(t * 2)
        yg.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-5)
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-5)


def test_dropout_inplace_training_backward():
    gt.manual_seed(1)
    lin = gt.nn.Linear(4, 6)
    x = gt.randn(5, 4, requires_grad=True)
    y = gt.nn.Dropout(0.5, inplace=True)(lin(x))
    y.sum().backward()
    kept = (to_np(y) != 0).astype(np.float32)
    np.testing.assert_allclose(to_np(x.grad), (2 * kept) @ to_np(lin.weight), rtol=1e-5)


def test_rrelu_inplace_training_backward():
    gt.manual_seed(2)
    x = gt.tensor(np.linspace(-2, 2, 12, dtype=np.float32), requires_grad=True)
    h = x * 1
    y = gt.nn.RReLU(0.1, 0.3, inplace=True)(h)
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), to_np(y) / to_np(x), rtol=1e-5)


@pytest.mark.parametrize("act", list(ACTS))
def test_inplace_on_leaf_requiring_grad_raises(act):
    msg = "a leaf Variable that requires grad is being used in an in-place operation"
    for lib in (torch, gt):
        x = lib.zeros(2, 3, requires_grad=True)
        if act.startswith("Dropout"):
            m = lib.nn.Dropout(inplace=True)  # eval dropout is the identity: train mode writes
        else:
            m = ACTS[act](lib.nn)
        with pytest.raises(RuntimeError, match=msg):
            m(x)


@pytest.mark.parametrize("f", [
    lambda F, h: F.leaky_relu(h, -0.1, inplace=True),
    lambda F, h: F.elu(h, -1.0, inplace=True),
    lambda F, h: F.leaky_relu_(h, -0.1),
])
def test_negative_slope_inplace_backward_raises(f):
    for lib in (torch, gt):
        x = lib.ones(3, requires_grad=True)
        y = f(lib.nn.functional, x * 1)
        with pytest.raises(RuntimeError, match="In-place .* backward calculation is triggered "
                                               "with a negative slope"):
            y.sum().backward()


def test_inplace_without_grad_writes_storage_and_views(rng):
    base = rng.standard_normal((3, 4)).astype(np.float32)
    for name, make in ACTS.items():
        g, t = gt.tensor(base), torch.tensor(base)
        make(gt.nn)(g[1:, ::2])
        make(torch.nn)(t[1:, ::2])
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6, err_msg=name)
        out = make(gt.nn)(g)
        assert out is g


def test_functional_inplace_forms():
    x = np.array([-2.0, -0.5, 0.5, 2.0], np.float32)
    for name, args in (("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.3,)),
                       ("hardtanh_", (-1.0, 1.0)), ("selu_", ()), ("celu_", (2.0,)),
                       ("threshold_", (0.0, 5.0)), ("rrelu_", (0.1, 0.3))):
        g, t = gt.tensor(x), torch.tensor(x)
        getattr(gt.nn.functional, name)(g, *args)
        getattr(torch.nn.functional, name)(t, *args)
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6, err_msg=name)


def test_inplace_on_view_with_grad_raises_clearly():
    """A known difference (README): torch rebases the base's graph; gputensor refuses with a
    clear error instead of computing a wrong gradient."""
    x = gt.randn(3, 4, requires_grad=True)
    y = x * 1
    with pytest.raises(RuntimeError, match="in-place operation on a view of a tensor that "
                                           "requires grad is not supported"):
        gt.nn.functional.relu(y[1:], inplace=True)
