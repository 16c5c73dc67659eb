"""nn.init and default layer initialization: distributions (mean / std / bounds over large
tensors) match torch's formulas; fills happen in place, untracked, on the tensor's device."""
import math

import numpy as np
import pytest
import torch
from helpers import to_np

import gputensor as gt
from gputensor import nn
from gputensor.nn import init


def _check_uniform(a, bound, tol=0.02):
    assert a.min() >= -bound and a.max() <= bound
    assert a.min() < -bound * 0.95 and a.max() > bound * 0.95
    assert abs(a.mean()) < tol * bound
    assert abs(a.std() - bound / math.sqrt(3)) < tol * bound


def _check_normal(a, std, mean=0.0, tol=0.02):
    assert abs(a.mean() - mean) < tol * std + 1e-12
    assert abs(a.std() - std) < tol * std


def test_calculate_gain_matches_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(gt.empty(4, 3, 2, 5)) == (30, 40)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(gt.empty(3))


def test_in_place_on_parameters_untracked():
    p = nn.Parameter(gt.empty(300, 200))
    out = init.uniform_(p, -2.0, 3.0)
    assert out is p and p.grad_fn is None and p.requires_grad
    a = to_np(p)
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.03
    init.constant_(p, 0.25)
    assert (to_np(p) == 0.25).all()
    init.zeros_(p)
    assert (to_np(p) == 0).all()
    init.ones_(p)
    assert (to_np(p) == 1).all()


def test_normal_and_trunc_normal():
    t = gt.empty(400, 300)
    _check_normal(to_np(init.normal_(t, 1.5, 0.3)), 0.3, mean=1.5)
    a = to_np(init.trunc_normal_(t, 0.0, 1.0, -1.0, 2.0))
    assert a.min() >= -1.0 and a.max() <= 2.0
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 300), 0.0, 1.0, -1.0, 2.0).numpy()
    assert abs(a.mean() - ref.mean()) < 0.01 and abs(a.std() - ref.std()) < 0.01


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(gain):
    t = gt.empty(300, 500)
    bound = gain * math.sqrt(6.0 / 800)
    _check_uniform(to_np(init.xavier_uniform_(t, gain)), bound)
    _check_normal(to_np(init.xavier_normal_(t, gain)), gain * math.sqrt(2.0 / 800))


@pytest.mark.parametrize("mode,nonlinearity,a", [("fan_in", "relu", 0), ("fan_out", "relu", 0),
                                                 ("fan_in", "leaky_relu", math.sqrt(5))])
def test_kaiming(mode, nonlinearity, a):
    t = gt.empty(200, 50, 3, 3)
    fan = 450 if mode == "fan_in" else 1800
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _check_uniform(to_np(init.kaiming_uniform_(t, a, mode, nonlinearity)), std * math.sqrt(3))
    _check_normal(to_np(init.kaiming_normal_(t, a, mode, nonlinearity)), std)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(t, mode="fan_avg")


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3)])
def test_orthogonal_and_eye(shape, device):
    t = gt.empty(*shape, device=device)
    init.orthogonal_(t, gain=2.0)
    assert t.device.type == device
    m = to_np(t).reshape(shape[0], -1)
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, 4.0 * np.eye(small.shape[0]), atol=1e-5)
    e = gt.empty(3, 4, device=device)
    np.testing.assert_array_equal(to_np(init.eye_(e)), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(gt.empty(2, 2, 2))


def test_init_on_device_uses_device_storage(device):
    t = nn.Parameter(gt.empty(7, 5, device=device))
    init.kaiming_uniform_(t, a=math.sqrt(5))
    assert t.device.type == device and np.abs(to_np(t)).max() <= 1 / math.sqrt(5)


def test_layer_default_inits():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    _check_uniform(to_np(lin.weight), bound)
    b = to_np(lin.bias)
    assert np.abs(b).max() <= bound and abs(b.mean()) < 0.1 * bound
    conv = nn.Conv2d(16, 64, 5)
    _check_uniform(to_np(conv.weight), 1 / math.sqrt(16 * 25), tol=0.03)
    assert np.abs(to_np(conv.bias)).max() <= 1 / math.sqrt(16 * 25)
    emb = nn.Embedding(500, 200)
    _check_normal(to_np(emb.weight), 1.0)
    for norm in (nn.BatchNorm2d(4), nn.LayerNorm(4), nn.GroupNorm(2, 4)):
        assert (to_np(norm.weight) == 1).all() and (to_np(norm.bias) == 0).all()
    bn = nn.BatchNorm1d(3)
    assert (to_np(bn.running_mean) == 0).all() and (to_np(bn.running_var) == 1).all()


def test_seeded_init_is_reproducible():
    gt.manual_seed(5)
    a = to_np(nn.Linear(4, 3).weight).copy()
    gt.manual_seed(5)
    np.testing.assert_array_equal(to_np(nn.Linear(4, 3).weight), a)
