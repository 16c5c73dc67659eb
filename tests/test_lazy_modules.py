"""Lazy modules: placeholders, materialization on first forward, class swap, optimizers built
before the first forward, state_dict loading, device moves - all as torch does."""
import copy

import numpy as np
import pytest
import torch

import gputensor as gt

nn = gt.nn


def test_uninitialized_parameter_and_buffer():
    p = nn.UninitializedParameter()
    assert repr(p) == "<UninitializedParameter>" and p.requires_grad
    assert isinstance(p, nn.Parameter)
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        p.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p.sum()
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    b = nn.UninitializedBuffer(dtype=gt.float64)
    assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
    b.materialize(4)
    assert type(b) is gt.Tensor and b.dtype == gt.float64 and tuple(b.shape) == (4,)


def test_lazy_linear_materializes_and_becomes_linear(rng):
    m = nn.LazyLinear(3)
    assert repr(m) == repr(torch.nn.LazyLinear(3))
    assert m.has_uninitialized_params()
    assert repr(m.state_dict()["weight"]) == "<UninitializedParameter>"
    opt = gt.optim.SGD(m.parameters(), lr=0.1)  # built before the first forward, as torch allows
    x = gt.tensor(rng.standard_normal((2, 5)).astype(np.float32))
    y = m(x)
    assert type(m) is nn.Linear and type(m.weight) is nn.Parameter
    assert repr(m) == "Linear(in_features=5, out_features=3, bias=True)"
    assert tuple(m.weight.shape) == (3, 5) and tuple(y.shape) == (2, 3)
    assert opt.param_groups[0]["params"][0] is m.weight
    assert not m._forward_pre_hooks
    before = m.weight.detach().clone()
    y.sum().backward()
    opt.step()
    assert not np.allclose(before.numpy(), m.weight.detach().numpy())
    bound = 1 / np.sqrt(5)  # Linear's own init ran with the inferred fan-in
    assert np.abs(before.numpy()).max() <= bound


def test_lazy_linear_adam_and_no_bias(rng):
    m = nn.LazyLinear(4, bias=False)
    opt = gt.optim.Adam(m.parameters(), lr=0.01)
    loss = m(gt.randn(3, 2)).pow(2).sum()
    loss.backward()
    opt.step()
    assert m.bias is None and tuple(m.weight.shape) == (4, 2)


def test_lazy_load_state_dict_and_to():
    src = nn.Linear(4, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m) is nn.LazyLinear and not m.has_uninitialized_params()
    np.testing.assert_array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    out = m(gt.ones(2, 4))
    np.testing.assert_allclose(out.detach().numpy(), src(gt.ones(2, 4)).detach().numpy())
    assert type(m) is nn.Linear
    d = nn.LazyLinear(2).double()
    d(gt.ones(1, 3, dtype=gt.float64))
    assert d.weight.dtype == gt.float64


@pytest.mark.parametrize("ctor,shape,want", [
    ("LazyConv1d(4, 3)", (2, 3, 7), "Conv1d"), ("LazyConv1d(4, 3)", (3, 7), "Conv1d"),
    ("LazyConv2d(4, 3, stride=2, groups=2)", (1, 2, 6, 5), "Conv2d"),
    ("LazyConv3d(2, 2)", (1, 3, 3, 3, 3), "Conv3d"),
    ("LazyConvTranspose1d(4, 3)", (2, 3, 5), "ConvTranspose1d"),
    ("LazyConvTranspose2d(4, 3, stride=2)", (1, 2, 3, 4), "ConvTranspose2d"),
    ("LazyBatchNorm1d()", (4, 3), "BatchNorm1d"),
    ("LazyBatchNorm2d(affine=False)", (2, 3, 2, 2), "BatchNorm2d"),
    ("LazyBatchNorm3d(momentum=0.2)", (2, 3, 2, 2, 2), "BatchNorm3d"),
    ("LazyInstanceNorm1d()", (2, 3, 4), "InstanceNorm1d"),
    ("LazyInstanceNorm2d(affine=False, track_running_stats=False)", (2, 3, 4, 3),
     "InstanceNorm2d"),
    ("LazyInstanceNorm3d()", (2, 3, 2, 3, 2), "InstanceNorm3d"),
])
@pytest.mark.filterwarnings("ignore:input's size at dim=1")  # torch warns too (affine=False)
def test_lazy_layers_match_torch(ctor, shape, want, rng):
    tm, gm = eval("torch.nn." + ctor), eval("nn." + ctor)
    assert repr(gm) == repr(tm)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    x = rng.standard_normal(shape).astype(np.float32)
    tm(torch.tensor(x))
    gm(gt.tensor(x))
    assert type(gm).__name__ == want == type(tm).__name__
    assert repr(gm) == repr(tm)
    for (n, a), (_, b) in zip(gm.state_dict().items(), tm.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), n
    # same forward once the weights agree
    gm.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    np.testing.assert_allclose(gm(gt.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lazy_conv_transpose3d():
    m = nn.LazyConvTranspose3d(2, 2)
    m(gt.randn(1, 3, 2, 2, 2))
    assert type(m) is nn.ConvTranspose3d and tuple(m.weight.shape) == (3, 2, 2, 2, 2)


def test_lazy_errors_and_deepcopy():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(gt.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        nn.LazyConv2d(4, 3)(gt.randn(5, 5))
    m = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(2))
    c = copy.deepcopy(m)
    assert c[0].has_uninitialized_params()
    assert tuple(c(gt.randn(4, 6)).shape) == (4, 2)
    assert type(c[2]) is nn.Linear and m[0].has_uninitialized_params()


def test_lazy_on_device(device):
    m = nn.LazyLinear(3, device=device)
    y = m(gt.randn(2, 4, device=device))
    assert y.device.type == device and m.weight.device.type == device
    b = nn.LazyBatchNorm1d().to(device)
    b(gt.randn(4, 3, device=device))
    assert b.running_mean.device.type == device
