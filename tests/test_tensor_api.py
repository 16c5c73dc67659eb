"""Tensor attributes, conversions, dtype/device moves, printing (compared with torch) and errors."""
import numpy as np
import pytest
import torch

import gputensor as gt

REPR_CASES = [
    [1.5, 2.0], [[1.0, 2.0], [3.0, 4.0]], [1e-5, 1.0], [1e9, 1.0], [0.1, 123.456], 3.5, 1e20,
    [1, 2], [[1, 2], [3, 40]], [True, False], [-1.5, 2.25], [1.123456789, 1000.5],
    [float("nan"), 1.0, float("inf")], [-0.0, 0.0], [12345678.0, 1.0], [0.001, 0.01], [],
    [[]], [[[1.0]]], [100000.0, 1.5], [-3, 5, 0],
]


@pytest.mark.parametrize("data", REPR_CASES, ids=[str(i) for i in range(len(REPR_CASES))])
def test_repr_matches_torch(data):
    assert repr(gt.tensor(data)) == repr(torch.tensor(data)).replace("torch.", "gputensor.")


@pytest.mark.parametrize("make", [
    lambda m: m.arange(2000.0), lambda m: m.arange(1200).reshape(40, 30) / 7,
    lambda m: m.arange(24.0).reshape(2, 3, 4), lambda m: m.arange(25.0) / 12 - 1,
    lambda m: m.tensor([1.5], dtype=m.float16), lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([1.0, 2.0], dtype=m.float64), lambda m: m.zeros(2, 0),
    lambda m: m.zeros(0, dtype=m.int64), lambda m: m.arange(30.0) * 1e5,
    lambda m: m.tensor([[1.0, 2.0]], requires_grad=True),
    lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda m: m.tensor([1e-3] * 20, dtype=m.float64, requires_grad=True) + 1,
])
def test_repr_matches_torch_generated(make):
    assert repr(make(gt)) == repr(make(torch)).replace("torch.", "gputensor.")


def test_repr_cuda_suffix():
    assert repr(gt.tensor([[1.0, 2.0]], device="cuda", requires_grad=True)) == \
        "tensor([[1., 2.]], device='cuda:0', requires_grad=True)"
    assert repr(gt.tensor([1, 2], dtype=gt.int32, device="cuda")) == \
        "tensor([1, 2], device='cuda:0', dtype=gputensor.int32)"
    assert str(gt.tensor(2.5, device="cuda")) == "tensor(2.5000, device='cuda:0')"


def test_format_spec():
    assert f"{gt.tensor(0.123456):.3f}" == "0.123"
    assert f"{gt.tensor([1.0])}" == "tensor([1.])"


def test_attributes(device):
    x = gt.arange(6.0, device=device).reshape(2, 3)
    assert x.shape == (2, 3) and isinstance(x.shape, gt.Size) and x.size() == gt.Size([2, 3])
    assert repr(x.shape) == "gputensor.Size([2, 3])" and x.shape.numel() == 6
    assert isinstance(x.shape[1:], gt.Size) and x.shape[1:] == (3,) and x.shape[-1] == 3
    assert x.size(1) == 3 and x.size(-1) == 3 and x.dim() == 2 and x.ndim == 2
    assert x.numel() == 6 and gt.numel(x) == 6 and len(x) == 2
    assert x.dtype is gt.float32 and x.device.type == device and x.is_cuda == (device == "cuda")
    assert not x.requires_grad and x.grad is None and x.grad_fn is None and x.is_leaf
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2) and x.T.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert x.element_size() == 4 and x.is_floating_point() and x.is_contiguous()
    assert not x.T.is_contiguous() and x.T.contiguous().is_contiguous()
    assert x.stride() == (3, 1)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        x.size(2)
    assert gt.is_tensor(x) and not gt.is_tensor(np.ones(2))


def test_conversions(device):
    x = gt.tensor([[1.5, 2.0]], device=device, requires_grad=True)
    assert x.tolist() == [[1.5, 2.0]]
    assert x[0, 1].item() == 2.0 and isinstance(x[0, 1].item(), float)
    assert gt.tensor([3], device=device).item() == 3
    assert float(gt.tensor(2.5, device=device)) == 2.5 and int(gt.tensor(7, device=device)) == 7
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    with gt.no_grad():
        d.mul_(2)
    assert x.tolist() == [[3.0, 4.0]]  # detach shares storage
    c = x.clone()
    assert c.requires_grad and c.grad_fn is not None
    c.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0]]
    assert x.data.requires_grad is False and x.data.tolist() == [[3.0, 4.0]]
    np.testing.assert_array_equal(np.asarray(x.detach()), [[3.0, 4.0]])


def test_numpy_shares_memory_on_cpu():
    x = gt.zeros(3)
    x.numpy()[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]


@pytest.mark.parametrize("method,dtype", [("float", "float32"), ("double", "float64"),
                                          ("half", "float16"), ("long", "int64"),
                                          ("int", "int32"), ("short", "int16"), ("bool", "bool"),
                                          ("byte", "uint8"), ("char", "int8")])
def test_dtype_methods(device, method, dtype):
    x = gt.tensor([1.7, 0.0, -2.2], device=device)
    y = getattr(x, method)()
    t = getattr(torch.tensor([1.7, 0.0, -2.2]), method)()
    assert y.dtype.name == dtype and y.device.type == device
    np.testing.assert_array_equal(y.cpu().numpy(), t.numpy())


def test_dtype_aliases():
    assert gt.half is gt.float16 and gt.float is gt.float32 and gt.double is gt.float64
    assert gt.long is gt.int64 and gt.int is gt.int32 and gt.short is gt.int16
    assert gt.bool.name == "bool" and gt.float32.is_floating_point and not gt.int64.is_floating_point
    assert gt.float16.itemsize == 2 and repr(gt.float64) == "gputensor.float64"


def test_to_forms(device):
    x = gt.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.to(gt.float32) is x
    y = x.to(device)
    assert y.device.type == device and (y is x) == (device == "cpu")
    assert x.to("cpu", copy=True) is not x
    z = x.to(device, gt.float64)
    assert z.dtype is gt.float64 and z.device.type == device
    w = x.to(dtype=gt.int32, device=device)
    assert w.dtype is gt.int32 and w.device.type == device
    other = gt.zeros(1, dtype=gt.int64, device=device)
    v = x.to(other)
    assert v.dtype is gt.int64 and v.device.type == device
    assert x.to(device, non_blocking=True).device.type == device
    assert x.to(gt.device(device), gt.float16, False, True).dtype is gt.float16
    assert x.type_as(other).dtype is gt.int64
    assert x.type() == "gputensor.FloatTensor" and x.type(gt.float64).dtype is gt.float64
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(devices="cpu")


def test_moving_between_devices_copies_and_is_differentiable():
    x = gt.tensor([1.0, 2.0], requires_grad=True)
    y = x.cuda()
    assert y.device == gt.device("cuda:0") and y.grad_fn is not None
    back = (y * 3).cpu()
    back.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and x.grad.device.type == "cpu"
    with gt.no_grad():
        y.mul_(0)
    assert x.tolist() == [1.0, 2.0]
    h = x.detach().to("cuda").to(gt.float64).cpu()
    assert h.dtype is gt.float64 and h.tolist() == [1.0, 2.0]


def test_tensor_constructor():
    assert gt.Tensor([1, 2]).dtype is gt.float32
    assert gt.Tensor(2, 3).shape == (2, 3)
    assert gt.Tensor().shape == (0,)


def test_error_messages(device):
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype "
                                           "can require gradients"):
        gt.tensor([1, 2], device=device).requires_grad_()
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        gt.ones(2, device=device).item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 2 elements is ambiguous"):
        bool(gt.ones(2, device=device))
    if device == "cuda":
        with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
            gt.ones(2, device=device).numpy()
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        gt.ones(2, requires_grad=True).numpy()
    x = gt.ones(2, device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        x.requires_grad_(False)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(gt.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(3,\)"):
        gt.ones(2).grad = gt.ones(3)


def test_pickle_and_deepcopy(device):
    import copy
    import pickle
    x = gt.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == [1.0, 2.0] and y.requires_grad and y.device.type == device
    z = copy.deepcopy(x)
    assert z is not x and z.tolist() == x.tolist() and z.requires_grad
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    g, t = gt.finfo(getattr(gt, name)), torch.finfo(getattr(torch, name))
    assert (g.bits, g.eps, g.max, g.min, g.tiny, g.resolution) == \
        (t.bits, t.eps, t.max, t.min, t.tiny, t.resolution)
    assert gt.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    g, t = gt.iinfo(getattr(gt, name)), torch.iinfo(getattr(torch, name))
    assert (g.bits, g.min, g.max) == (t.bits, t.min, t.max)
    with pytest.raises(TypeError, match="integer dtype"):
        gt.iinfo(gt.float32)


def test_zero_dim_results_are_writable_tensors(device):
    y = gt.tensor(1.0, device=device) * gt.tensor(2.0, device=device)
    y.add_(1)
    assert y.item() == 3.0 and y.shape == () and y.numel() == 1
