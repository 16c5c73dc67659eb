"""The rest of F's activations and their layers, against torch (values, grads, gradcheck)."""
import numpy as np
import pytest

import gputensor as gt
from helpers import check_lib_op, to_gt, to_np

torch = pytest.importorskip("torch")


def _x(rng, shape=(3, 5)):
    # kinks (0, +-3, +-0.5) are avoided so finite differences are valid; scaled to reach +-4
    a = rng.uniform(-4, 4, shape)
    return np.where(np.abs(np.abs(a) - np.round(np.abs(a) * 2) / 2) < 0.05, a + 0.11, a)


CASES = [
    ("hardsigmoid", lambda lib, x: lib.nn.functional.hardsigmoid(x)),
    ("hardswish", lambda lib, x: lib.nn.functional.hardswish(x)),
    ("softsign", lambda lib, x: lib.nn.functional.softsign(x)),
    ("selu", lambda lib, x: lib.nn.functional.selu(x)),
    ("celu", lambda lib, x: lib.nn.functional.celu(x)),
    ("celu_a", lambda lib, x: lib.nn.functional.celu(x, alpha=2.5)),
    ("mish", lambda lib, x: lib.nn.functional.mish(x)),
    ("rrelu_eval", lambda lib, x: lib.nn.functional.rrelu(x, 0.1, 0.4)),
    ("glu", lambda lib, x: lib.nn.functional.glu(x, 0)),
    ("glu_last", lambda lib, x: lib.nn.functional.glu(x[:, :4])),
    ("logsigmoid", lambda lib, x: lib.nn.functional.logsigmoid(x)),
    ("softmin", lambda lib, x: lib.nn.functional.softmin(x, 1)),
    ("softmin0", lambda lib, x: lib.nn.functional.softmin(x, dim=0)),
    ("threshold", lambda lib, x: lib.nn.functional.threshold(x, 0.3, -2.0)),
    ("softshrink", lambda lib, x: lib.nn.functional.softshrink(x, 1.0)),
    ("hardshrink", lambda lib, x: lib.nn.functional.hardshrink(x, 1.0)),
    ("tanhshrink", lambda lib, x: lib.nn.functional.tanhshrink(x)),
    ("top_selu", lambda lib, x: lib.selu(x)),
    ("top_celu", lambda lib, x: lib.celu(x, 0.5)),
]


@pytest.mark.parametrize("name,f", CASES, ids=[c[0] for c in CASES])
def test_functional_against_torch(name, f, device, rng):
    x = _x(rng, (4, 5) if name.startswith("glu") else (3, 5))
    check_lib_op(f, x.astype(np.float32), device=device)


def test_softmin_dtype(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    g = gt.nn.functional.softmin(gt.tensor(x), 1, dtype=gt.float64)
    t = torch.nn.functional.softmin(torch.tensor(x), 1, dtype=torch.float64)
    assert g.dtype == gt.float64
    np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6)


def test_prelu_against_torch(device, rng):
    x = _x(rng, (2, 3, 4)).astype(np.float32)
    w = np.array([0.25, -0.5, 1.5], np.float32)
    check_lib_op(lambda lib, x, w: lib.nn.functional.prelu(x, w), x, w, device=device)
    check_lib_op(lambda lib, x, w: lib.nn.functional.prelu(x, w[:1]), x, w, device=device)


def test_kink_gradients_match_torch():
    """torch's conventions exactly at the kinks (hardswish' at +-3, hardsigmoid' at +-3 ...)."""
    pts = np.array([-3.0, -0.5, 0.0, 0.5, 3.0], np.float32)
    for name in ("hardswish", "hardsigmoid", "selu", "celu", "elu", "leaky_relu", "hardtanh",
                 "relu6", "softshrink", "hardshrink", "rrelu"):
        g, t = to_gt(pts, "cpu", True), torch.tensor(pts, requires_grad=True)
        getattr(gt.nn.functional, name)(g).sum().backward()
        getattr(torch.nn.functional, name)(t).sum().backward()
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-6, err_msg=name)


def test_threshold_integer():
    a = np.arange(-2, 5)
    g = gt.nn.functional.threshold(gt.tensor(a), 1, 9)
    t = torch.nn.functional.threshold(torch.tensor(a), 1, 9)
    assert g.dtype == gt.int64 and g.tolist() == t.tolist()


def test_rrelu_training(device):
    gt.manual_seed(3)
    x = gt.tensor(np.linspace(-3, 3, 400), device=device, requires_grad=True)
    y = gt.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    ratio = (y / x).detach().cpu().numpy()
    neg = x.detach().cpu().numpy() < 0
    assert np.all((ratio[neg] >= 0.1) & (ratio[neg] <= 0.3)) and ratio[neg].std() > 0.02
    np.testing.assert_array_equal(ratio[~neg & (x.detach().cpu().numpy() > 0)], 1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy()[neg], ratio[neg], rtol=1e-6)
    m = gt.nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(m(gt.tensor([-1.0])).numpy(), [-0.2])


@pytest.mark.parametrize("bad", [
    (lambda F, x: F.glu(x), "Halving dimension must be even, but dimension 1 is size 3"),
    (lambda F, x: F.glu(x[0, 0]), "glu does not support scalars"),
    (lambda F, x: F.celu(x, 0.0), "alpha cannot be 0 for CELU"),
    (lambda F, x: F.rrelu(x, 0.5, 0.1), "Lower bound should be less than or equal"),
    (lambda F, x: F.prelu(x, x[0, :2]), "Mismatch of parameter numbers and input channel"),
    (lambda F, x: F.softshrink(x, -1.0), "lambda must be in range"),
])
def test_errors_as_torch(bad):
    f, msg = bad
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(RuntimeError, match=msg):
        f(torch.nn.functional, torch.tensor(x))
    with pytest.raises(RuntimeError, match=msg):
        f(gt.nn.functional, gt.tensor(x))


def test_integer_input_raises_not_implemented():
    for name in ("hardsigmoid", "selu", "elu"):
        with pytest.raises(NotImplementedError):
            getattr(torch.nn.functional, name)(torch.arange(3))
        with pytest.raises(NotImplementedError):
            getattr(gt.nn.functional, name)(gt.arange(3))


MODULES = [
    ("Hardsigmoid", (), "Hardsigmoid()"), ("Hardswish", (True,), "Hardswish()"),
    ("Softsign", (), "Softsign()"), ("SELU", (True,), "SELU(inplace=True)"),
    ("CELU", (2.0,), "CELU(alpha=2.0)"), ("Mish", (), "Mish()"), ("GLU", (0,), "GLU(dim=0)"),
    ("LogSigmoid", (), "LogSigmoid()"), ("Softmin", (1,), "Softmin(dim=1)"),
    ("Softmax2d", (), "Softmax2d()"), ("Identity", (3, "x"), "Identity()"),
    ("RReLU", (0.1, 0.3), "RReLU(lower=0.1, upper=0.3)"),
    ("Threshold", (0.1, 2.0), "Threshold(threshold=0.1, value=2.0)"),
    ("Softshrink", (), "Softshrink(0.5)"), ("Hardshrink", (1.0,), "Hardshrink(1.0)"),
    ("Tanhshrink", (), "Tanhshrink()"), ("PReLU", (), "PReLU(num_parameters=1)"),
    ("Unflatten", (1, (2, 2)), "Unflatten(dim=1, unflattened_size=(2, 2))"),
]


@pytest.mark.parametrize("name,args,rep", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, args, rep, rng):
    x = _x(rng, (2, 4, 3, 3)).astype(np.float32)
    g, t = getattr(gt.nn, name)(*args).eval(), getattr(torch.nn, name)(*args).eval()
    assert repr(g) == repr(t) == rep
    np.testing.assert_allclose(g(gt.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_module_paths():
    import gputensor.nn.modules.activation as act
    import gputensor.nn.modules.linear as lin
    assert act.SELU is gt.nn.SELU and act.Softmax2d is gt.nn.Softmax2d
    assert issubclass(lin.NonDynamicallyQuantizableLinear, gt.nn.Linear)
    m = lin.NonDynamicallyQuantizableLinear(3, 2)
    assert repr(m) == repr(torch.nn.modules.linear.NonDynamicallyQuantizableLinear(3, 2))
    assert lin.Identity is gt.nn.Identity


def test_prelu_module_trains(device):
    m = gt.nn.PReLU(3, init=0.1).to(device)
    x = gt.tensor(-np.ones((2, 3, 2), np.float32), device=device)
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.cpu().numpy(), [-4.0, -4.0, -4.0])


def test_rrelu_training_follows_the_seed(device):
    x = gt.tensor(-np.ones(50, np.float32), device=device)
    gt.manual_seed(11)
    a = gt.nn.functional.rrelu(x, training=True)
    gt.manual_seed(11)
    b = gt.nn.functional.rrelu(x, training=True)
    c = gt.nn.functional.rrelu(x, training=True)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    assert not np.array_equal(to_np(a), to_np(c))
    m = gt.nn.RReLU()
    assert m.training and not np.array_equal(to_np(m(x)), to_np(m.eval()(x)))
