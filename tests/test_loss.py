"""Losses: values, dtypes and gradients against PyTorch, gradchecks, stability and errors."""
import contextlib

import numpy as np
import pytest
import torch
from helpers import check_grad, compare_torch, to_gt, to_np

import gputensor as gt

REDUCTIONS = ["none", "mean", "sum"]


def both(make, *arrays, device, **kw):
    """compare_torch with ``make(lib, dev)`` building the gputensor and torch versions."""
    compare_torch(make(gt, device), *arrays, device=device, torch_fn=make(torch, "cpu"), **kw)


def const(lib, dev, a):
    return lib.tensor(np.asarray(a), device=dev)


@pytest.fixture
def xy(rng):
    return rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 0.4}), ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {}), ("huber_loss", {"delta": 0.6})])
def test_regression_losses(name, kw, reduction, xy, device):
    def make(lib, dev):
        return lambda x, y: getattr(lib.nn.functional, name)(x, y, reduction=reduction, **kw)
    both(make, *xy, device=device)
    check_grad(make(gt, device), *xy, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight(name, reduction, xy, rng, device):
    w = rng.uniform(0.1, 2, (3, 5))

    def make(lib, dev):
        return lambda x, y: getattr(lib.nn.functional, name)(
            x, y, reduction=reduction, weight=const(lib, dev, w.astype(np.float32)))
    both(make, *xy, device=device)


def test_regression_broadcast_warns(device):
    x, y = to_gt(np.ones((3, 1), np.float32), device), to_gt(np.zeros(3, np.float32), device)
    with pytest.warns(UserWarning, match="target size"):
        assert gt.nn.functional.mse_loss(x, y).item() == 1.0


def _ce_cases(rng):
    x2 = rng.standard_normal((4, 5))
    x3 = rng.standard_normal((2, 5, 3))
    return {
        "2d": (x2, np.array([1, 0, 4, 2])),
        "3d": (x3, np.array([[1, 2, 0], [4, 4, 3]])),
        "unbatched": (rng.standard_normal(5), np.array(3)),
        "2d_ignored": (x2, np.array([1, -100, 4, 2])),
    }


@pytest.mark.parametrize("case", ["2d", "3d", "unbatched", "2d_ignored"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weighted": True}, {"label_smoothing": 0.2},
                                  {"weighted": True, "label_smoothing": 0.1, "ignore_index": 2}])
def test_cross_entropy_indices(case, reduction, opts, rng, device):
    x, t = _ce_cases(rng)[case]
    w = rng.uniform(0.2, 2.0, 5)
    kw = {k: v for k, v in opts.items() if k != "weighted"}
    t = np.where(t == -100, kw.get("ignore_index", -100), t)

    def make(lib, dev, dtype=np.float32):
        def fn(x, t):
            weight = const(lib, dev, w.astype(dtype)) if opts.get("weighted") else None
            return lib.nn.functional.cross_entropy(x, t, weight=weight, reduction=reduction, **kw)
        return fn
    both(make, x.astype(np.float32), t, device=device)
    check_grad(make(gt, device, np.float64), x, t, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weighted": True, "label_smoothing": 0.3}])
def test_cross_entropy_probabilities(reduction, opts, rng, device):
    x = rng.standard_normal((3, 4, 2))
    p = rng.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1).copy()
    w = rng.uniform(0.2, 2.0, 4)

    def make(lib, dev, dtype=np.float32):
        def fn(x, p):
            weight = const(lib, dev, w.astype(dtype)) if opts.get("weighted") else None
            return lib.nn.functional.cross_entropy(x, p, weight=weight, reduction=reduction,
                                                   label_smoothing=opts.get("label_smoothing", 0.0))
        return fn
    both(make, x.astype(np.float32), p.astype(np.float32), device=device)
    check_grad(make(gt, device, np.float64), x, p, device=device)


def test_cross_entropy_huge_logits(device):
    x = np.array([[1e4, 0.0, -1e4], [-5e3, 5e3, 5e3 - 1.0]], np.float32)
    t = np.array([1, 2])
    both(lambda lib, dev: lib.nn.functional.cross_entropy, x, t, device=device)
    out = gt.nn.functional.cross_entropy(to_gt(x, device), to_gt(t, device), reduction="none")
    assert np.isfinite(to_np(out)).all()
    np.testing.assert_allclose(to_np(out), [1e4, 1.3132616], rtol=1e-6)


def test_cross_entropy_double_backward(rng, device):
    x, t = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    results = []
    for lib, dev in ((gt, device), (torch, "cpu")):
        xt = const(lib, dev, x).requires_grad_(True)
        loss = lib.nn.functional.cross_entropy(xt, const(lib, dev, t), label_smoothing=0.1)
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        (g * g).sum().backward()
        results.append((to_np(g) if lib is gt else g.detach().numpy(),
                        to_np(xt.grad) if lib is gt else xt.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted, rng, device):
    x = rng.standard_normal((4, 3, 2))
    t = np.array([[0, 2], [1, 1], [-100, 0], [2, 2]])
    w = rng.uniform(0.2, 2.0, 3)

    def make(lib, dev, dtype=np.float32):
        def fn(x, t):
            weight = const(lib, dev, w.astype(dtype)) if weighted else None
            return lib.nn.functional.nll_loss(lib.nn.functional.log_softmax(x, 1), t,
                                              weight=weight, reduction=reduction)
        return fn
    both(make, x.astype(np.float32), t, device=device)
    check_grad(make(gt, device, np.float64), x, t, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted, rng, device):
    x = rng.uniform(0.05, 0.95, (3, 4))
    y = rng.uniform(0, 1, (3, 4))
    w = rng.uniform(0.2, 2.0, 4)

    def make(lib, dev, dtype=np.float32):
        def fn(x, y):
            weight = const(lib, dev, w.astype(dtype)) if weighted else None
            return lib.nn.functional.binary_cross_entropy(x, y, weight=weight, reduction=reduction)
        return fn
    both(make, x.astype(np.float32), y.astype(np.float32), device=device)
    check_grad(make(gt, device, np.float64), x, y, device=device)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # torch's inf target grad
def test_binary_cross_entropy_clamps_log(device):
    x = np.array([0.0, 1.0, 0.5], np.float32)
    y = np.array([1.0, 0.0, 1.0], np.float32)
    both(lambda lib, dev: lambda x, y: lib.nn.functional.binary_cross_entropy(x, y, reduction="none"),
         x, y, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"pos_weight": True},
                                  {"weight": True, "pos_weight": True}])
def test_bce_with_logits(reduction, opts, rng, device):
    x = rng.standard_normal((3, 4)) * 3
    y = rng.uniform(0, 1, (3, 4))
    w, pw = rng.uniform(0.2, 2.0, 4), rng.uniform(0.2, 3.0, 4)

    def make(lib, dev, dtype=np.float32):
        def fn(x, y):
            return lib.nn.functional.binary_cross_entropy_with_logits(
                x, y, reduction=reduction,
                weight=const(lib, dev, w.astype(dtype)) if "weight" in opts else None,
                pos_weight=const(lib, dev, pw.astype(dtype)) if "pos_weight" in opts else None)
        return fn
    both(make, x.astype(np.float32), y.astype(np.float32), device=device)
    check_grad(make(gt, device, np.float64), x, y, device=device)


def test_bce_with_logits_stable(device):
    x = np.array([1e4, -1e4, 80.0, -80.0, 0.0], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    both(lambda lib, dev: lambda x, y: lib.nn.functional.binary_cross_entropy_with_logits(
        x, y, reduction="none"), x, y, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, rng, device):
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    t = rng.dirichlet(np.ones(4), size=3)
    t = np.log(t) if log_target else t

    def make(lib, dev):
        return lambda x, t: lib.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target)
    with pytest.warns(UserWarning) if reduction == "mean" else contextlib.nullcontext():
        both(make, x.astype(np.float32), t.astype(np.float32), device=device)
        check_grad(make(gt, device), x, t, device=device)


def test_kl_div_zero_target(device):
    """0 * log(0) counts as 0; the input gradient is -target."""
    t = np.array([[0.0, 0.25, 0.75]], np.float32)
    x = np.log(np.array([[0.2, 0.3, 0.5]], np.float32))
    both(lambda lib, dev: lambda x: lib.nn.functional.kl_div(x, const(lib, dev, t), reduction="sum"),
         x, device=device)


@pytest.mark.parametrize("name,kw,targs", [
    ("MSELoss", {}, "float"), ("L1Loss", {"reduction": "sum"}, "float"),
    ("SmoothL1Loss", {"beta": 0.5}, "float"), ("HuberLoss", {"delta": 0.3}, "float"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 1}, "index"),
    ("NLLLoss", {"reduction": "none"}, "index"), ("BCELoss", {}, "prob"),
    ("BCEWithLogitsLoss", {"reduction": "sum"}, "prob"), ("KLDivLoss", {"reduction": "batchmean"}, "prob")])
def test_loss_modules(name, kw, targs, rng, device):
    x = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    t = {"float": rng.standard_normal((3, 4)).astype(np.float32), "index": np.array([0, 3, 1]),
         "prob": rng.uniform(0, 1, (3, 4)).astype(np.float32)}[targs]
    both(lambda lib, dev: getattr(lib.nn, name)(**kw), x, t, device=device)


def test_weight_buffers_follow_module(device):
    crit = gt.nn.CrossEntropyLoss(weight=gt.tensor([1.0, 2.0, 0.5]))
    assert "weight" in crit.state_dict()
    crit.to(device)
    assert crit.weight.device.type == device
    bce = gt.nn.BCEWithLogitsLoss(pos_weight=gt.ones(3)).to(device)
    assert bce.pos_weight.device.type == device
    x = to_gt(np.zeros((2, 3), np.float32), device)
    assert crit(x, to_gt(np.array([0, 1]), device)).item() == pytest.approx(np.log(3))


def test_legacy_size_average_reduce(xy, device):
    x, y = to_gt(xy[0], device), to_gt(xy[1], device)
    with pytest.warns(UserWarning):
        s = gt.nn.MSELoss(size_average=False)(x, y)
    assert s.item() == pytest.approx(((xy[0] - xy[1]) ** 2).sum(), rel=1e-5)


def test_loss_errors(device):
    F = gt.nn.functional
    x = to_gt(np.zeros((3, 5), np.float32), device)
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(4\)"):
        F.cross_entropy(x, to_gt(np.array([1, 2, 3, 4]), device))
    with pytest.raises(RuntimeError, match="Long or Byte, but got Int"):
        F.cross_entropy(x, to_gt(np.array([1, 2, 3], np.int32), device))
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(x, to_gt(np.array([1, 2, 7]), device))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.nll_loss(x, to_gt(np.array([1, 2, -1]), device))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 3\], got \[2, 2\]"):
        F.cross_entropy(to_gt(np.zeros((2, 5, 3), np.float32), device),
                        to_gt(np.zeros((2, 2), np.int64), device))
    with pytest.raises(RuntimeError, match="for all 5 classes"):
        F.cross_entropy(x, to_gt(np.array([1, 2, 3]), device), weight=gt.ones(4, device=device))
    with pytest.raises(RuntimeError, match="to be Long or Byte, but got Float"):
        F.cross_entropy(x, to_gt(np.zeros(3, np.float32), device))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(to_gt(np.full(3, 0.5, np.float32), device),
                               to_gt(np.ones((3, 1), np.float32), device))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(to_gt(np.full(3, 1.5, np.float32), device),
                               to_gt(np.ones(3, np.float32), device))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, to_gt(np.zeros((3, 1), np.float32), device))
    with pytest.raises(RuntimeError, match="label_smoothing must be between"):
        F.cross_entropy(x, to_gt(np.array([1, 2, 3]), device), label_smoothing=1.5)
    with pytest.raises(TypeError, match="argument 'target' must be Tensor"):
        F.mse_loss(x, np.zeros((3, 5)))


def test_cross_entropy_all_ignored_is_nan(device):
    x = to_gt(np.zeros((2, 3), np.float32), device)
    t = to_gt(np.array([-100, -100]), device)
    with np.errstate(invalid="ignore"):
        assert np.isnan(gt.nn.functional.cross_entropy(x, t).item())
    assert gt.nn.functional.cross_entropy(x, t, reduction="sum").item() == 0.0
