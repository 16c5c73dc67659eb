"""nn.functional: activations, softmax family, dropout, embedding, one_hot, pad, norms.

Each op runs through gputensor and torch on the same data (outputs, dtypes and gradients must
match), and is gradchecked in float64 on cpu and the (simulated) cuda device.
"""
import numpy as np
import pytest
import torch
from helpers import check_grad, check_lib_op, compare_torch, to_gt, to_np

import gputensor as gt
import gputensor.nn.functional as F


def fn(name, **kw):
    """``f(lib, x)`` calling ``lib.nn.functional.<name>(x, **kw)``."""
    return lambda lib, *a: getattr(lib.nn.functional, name)(*a, **kw)


ACTIVATIONS = [
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}),
    ("elu", {"alpha": 0.5}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
    ("mish", {}), ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 1.0}),
    ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("relu6", {}),
    ("logsigmoid", {}), ("relu", {}), ("sigmoid", {}), ("tanh", {}),
]


def _away_from_kinks(rng, shape):
    """Values away from the activations' kinks (0, +-1, 6, the softplus threshold)."""
    x = rng.uniform(-3, 8, size=shape)
    for k in (0.0, 1.0, -1.0, 6.0, 0.5, -0.5, 2.0):
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    return x.astype(np.float32)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_vs_torch_and_gradcheck(name, kw, device, rng):
    x = _away_from_kinks(rng, (3, 5))
    check_lib_op(fn(name, **kw), x, device=device, atol=1e-5)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "hardtanh", "relu6", "silu", "mish",
                                  "relu"])
def test_activation_inplace(name, device, rng):
    x = _away_from_kinks(rng, (2, 3))
    a = to_gt(x, device)
    out = getattr(F, name)(a, inplace=True)
    assert out is a
    ref = getattr(torch.nn.functional, name)(torch.from_numpy(x))
    np.testing.assert_allclose(to_np(a), ref.numpy(), atol=1e-6)


def test_activations_reject_integer_input():
    with pytest.raises(RuntimeError, match="int64"):
        F.gelu(gt.tensor([1, 2]))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(gt.tensor([1.0]), approximate="fast")


def test_activation_extremes_are_finite():
    x = np.array([-1e4, -50.0, -20.0, 0.0, 20.0, 50.0, 1e4], dtype=np.float32)
    for name in ("softplus", "logsigmoid", "elu", "silu", "mish", "gelu"):
        g_in = to_gt(x, "cpu", requires_grad=True)
        out = getattr(F, name)(g_in)
        out.sum().backward()
        t_in = torch.from_numpy(x.copy()).requires_grad_(True)
        ref = getattr(torch.nn.functional, name)(t_in)
        ref.sum().backward()
        np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(to_np(g_in.grad), t_in.grad.numpy(), rtol=1e-5, atol=1e-6)


# -- softmax family -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim, device, rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    check_lib_op(fn(name, dim=dim), x, device=device)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_stable_on_huge_logits(name, device):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1.0]], dtype=np.float32)
    compare_torch(lambda t: getattr(t, name)(1), x, device=device,
                  torch_fn=lambda t: getattr(torch, name)(t, 1), atol=1e-4)
    out = to_np(getattr(F, name)(to_gt(x, device), dim=1))
    assert np.isfinite(out).all()


def test_softmax_dtype_and_implicit_dim(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    out = F.softmax(to_gt(x, "cpu"), dim=1, dtype=gt.float64)
    assert out.dtype is gt.float64
    ref = torch.softmax(torch.from_numpy(x), 1, dtype=torch.float64)
    np.testing.assert_allclose(to_np(out), ref.numpy(), rtol=1e-12)
    # dim omitted: torch's legacy choice (dim 1 for 2-D input)
    np.testing.assert_allclose(to_np(F.softmax(to_gt(x, "cpu"))), torch.softmax(
        torch.from_numpy(x), 1).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="int64"):
        F.softmax(gt.tensor([1, 2]), 0)
    with pytest.raises(IndexError):
        F.softmax(to_gt(x, "cpu"), 2)


def test_softmax_double_backward(device, rng):
    x = rng.standard_normal((2, 3))
    for f in (lambda t: F.softmax(t, 1), lambda t: F.log_softmax(t, 0)):
        assert gt.autograd.gradgradcheck(f, [to_gt(x, device, True)], atol=1e-5, rtol=1e-3)


def test_float16_softmax(rng):
    x = rng.standard_normal((3, 7)).astype(np.float16)
    out = F.log_softmax(to_gt(x, "cpu"), 1)
    assert out.dtype is gt.float16
    ref = torch.log_softmax(torch.from_numpy(x).float(), 1).half()
    np.testing.assert_allclose(to_np(out).astype(np.float32), ref.float().numpy(), atol=2e-3)


# -- linear / dropout -----------------------------------------------------------------------------

def test_linear(device, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), x, w, b, device=device)
    check_lib_op(lambda lib, x, w: lib.nn.functional.linear(x, w), x[0], w, device=device)
    with pytest.raises(RuntimeError, match=r"\(6x4 and 3x5\)"):
        F.linear(to_gt(x, device), to_gt(w[:, :3], device))


def test_dropout_statistics_and_gradient():
    x = gt.ones(200, 500, requires_grad=True)
    out = F.dropout(x, p=0.3)
    a = to_np(out)
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((a == 0).mean() - 0.3) < 0.01
    out.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), a)  # grad is the same scaled mask
    assert F.dropout(x, p=0.3, training=False) is x
    assert (to_np(F.dropout(x, p=1.0)) == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, p=1.5)


def test_dropout_gradcheck(device):
    gt.manual_seed(3)
    x = np.linspace(-1, 1, 15).reshape(3, 5)

    def f(t):
        gt.manual_seed(7)  # same mask on every evaluation
        return F.dropout(t, 0.4)
    check_grad(f, x, device=device)


@pytest.mark.parametrize("op,shape", [("dropout2d", (4, 6, 3, 5)), ("dropout1d", (4, 6, 7)),
                                      ("dropout2d", (4, 6, 7))])
def test_channel_dropout_zeroes_whole_channels(op, shape):
    x = gt.ones(*shape)
    a = to_np(getattr(F, op)(x, p=0.5))
    per_channel = a.reshape(shape[0], shape[1], -1)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()
    assert 0 < (per_channel[..., 0] == 0).mean() < 1


def test_dropout_inplace():
    x = gt.ones(50, 40)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and (to_np(x) == 0).any()


# -- embedding / one_hot ------------------------------------------------------------------------------

def test_embedding(device, rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    check_lib_op(lambda lib, w, i: lib.nn.functional.embedding(i, w), w, idx, device=device)
    # padding_idx deliberately drops that row's gradient, so compare with torch (no gradcheck)
    compare_torch(lambda w, i: F.embedding(i, w, padding_idx=2), w, idx, device=device,
                  torch_fn=lambda w, i: torch.nn.functional.embedding(i, w, padding_idx=2))


def test_embedding_errors():
    with pytest.raises(RuntimeError, match="Long or Int"):
        F.embedding(gt.tensor([0.0]), gt.randn(3, 2))
    with pytest.raises(ValueError, match="within num_embeddings"):
        F.embedding(gt.tensor([0]), gt.randn(3, 2), padding_idx=3)


def test_one_hot(device):
    idx = gt.tensor([[0, 3], [1, 1]], device=device)
    out = F.one_hot(idx)
    ref = torch.nn.functional.one_hot(torch.tensor([[0, 3], [1, 1]]))
    assert out.dtype is gt.int64 and out.device.type == device
    np.testing.assert_array_equal(to_np(out), ref.numpy())
    assert tuple(F.one_hot(idx, 6).shape) == (2, 2, 6)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(idx, 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(gt.tensor([-1]))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(gt.tensor([1.0]))


# -- pad ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pads,mode,value", [
    ((1, 2), "constant", None), ((1, 0, 2, 1), "constant", 1.5), ((-1, 2, 0, -1), "constant", 0.0),
    ((2, 1, 1, 2), "reflect", None), ((2, 1, 1, 3), "replicate", None),
    ((1, 2, 2, 0), "circular", None), ((1, 1, 0, 0, 1, 0), "constant", None),
])
def test_pad(pads, mode, value, device, rng):
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    kw = {"mode": mode} if value is None else {"mode": mode, "value": value}
    check_lib_op(lambda lib, t: lib.nn.functional.pad(t, pads, **kw), x, device=device)


def test_pad_double_backward(device, rng):
    x = rng.standard_normal((1, 2, 4))
    for mode in ("constant", "reflect"):
        assert gt.autograd.gradgradcheck(lambda t, mode=mode: F.pad(t, (2, 1), mode=mode) ** 2,
                                         [to_gt(x, device, True)])


def test_pad_errors():
    x = gt.randn(1, 2, 3)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="less than"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="mode"):
        F.pad(x, (1, 1), mode="mirror")


# -- normalization ------------------------------------------------------------------------------

def test_layer_norm(device, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (3, 4), w, b), x, w, b,
                 device=device, atol=1e-4)
    check_lib_op(lambda lib, x: lib.nn.functional.layer_norm(x, [4]), x, device=device,
                 atol=1e-4)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(to_gt(x, device), (3,))


def test_layer_norm_double_backward(device, rng):
    x = rng.standard_normal((2, 5))
    w = rng.standard_normal(5)
    assert gt.autograd.gradgradcheck(lambda t, w: F.layer_norm(t, (5,), w),
                                     [to_gt(x, device, True), to_gt(w, device, True)],
                                     atol=1e-5, rtol=1e-3)


def test_group_norm(device, rng):
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    w = rng.standard_normal(6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b), x, w, b,
                 device=device, atol=1e-4)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(to_gt(x, device), 4)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(training, device, rng):
    x = rng.standard_normal((4, 3, 2, 3)).astype(np.float32)
    w = rng.standard_normal(3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    rm0 = rng.standard_normal(3).astype(np.float32)
    rv0 = rng.uniform(0.5, 2, 3).astype(np.float32)
    stats = {}

    def run(lib, x, w, b):
        rm, rv = lib.tensor(rm0), lib.tensor(rv0)
        if lib is gt:
            rm, rv = rm.to(device), rv.to(device)
        out = lib.nn.functional.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2)
        stats[lib.__name__] = (rm, rv)
        return out
    check_lib_op(run, x, w, b, device=device, atol=1e-4)
    for g, t in zip(stats["gputensor"], stats["torch"]):
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(gt.randn(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(gt.randn(2, 3), gt.zeros(4), gt.ones(3))


def test_normalize(device, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    check_lib_op(fn("normalize"), x, device=device)
    check_lib_op(fn("normalize", p=1.0, dim=0), x, device=device)
