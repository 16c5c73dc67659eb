"""Creation functions: dtype inference, shapes, fills, ranges, random streams, on both devices."""
import numpy as np
import pytest
import torch

import gputensor as gt


def _same(g: gt.Tensor, t: torch.Tensor) -> None:
    assert tuple(g.shape) == tuple(t.shape)
    assert g.dtype.name == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(g.cpu().numpy(), t.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("data", [[1.5, 2], [1, 2], [True, False], 3.5, 7, False, [[1, 2], [3, 4]],
                                  [], [[]], np.array([1, 2], dtype=np.int32),
                                  np.array([1.5], dtype=np.float64), np.float64(2.5),
                                  np.array([1, 2], dtype=np.uint8)])
def test_tensor_dtype_inference_matches_torch(device, data):
    g = gt.tensor(data, device=device)
    _same(g, torch.tensor(data))
    assert g.device.type == device


def test_tensor_from_list_of_zero_dim_tensors(device):
    parts = [gt.tensor(1.5, device=device), gt.tensor(2.0, device=device)]
    _same(gt.tensor(parts), torch.tensor([1.5, 2.0]))


def test_tensor_copies_and_explicit_dtype(device):
    a = np.array([1.0, 2.0])
    g = gt.tensor(a, dtype=gt.float16, device=device, requires_grad=True)
    a[0] = 100.0
    assert g.dtype is gt.float16 and g.requires_grad and g.is_leaf
    assert g.tolist() == [1.0, 2.0]


def test_tensor_rejects_unsupported_data():
    with pytest.raises(TypeError, match="complex128"):
        gt.tensor(np.array([1j]))
    with pytest.raises(RuntimeError, match="floating point"):
        gt.tensor([1, 2], requires_grad=True)


def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gt.from_numpy(a)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.numpy()[1, 2] = -1.0
    assert a[1, 2] == -1.0
    with pytest.raises(TypeError, match="expected np.ndarray"):
        gt.from_numpy([1, 2])


def test_as_tensor_shares_when_it_can(device):
    a = np.ones(3, dtype=np.float32)
    shared = gt.as_tensor(a)
    a[0] = 5.0
    assert shared[0].item() == 5.0
    copied = gt.as_tensor(a, dtype=gt.float64)
    a[1] = 7.0
    assert copied[1].item() == 1.0
    moved = gt.as_tensor(a, device=device)
    assert moved.device.type == device
    t = gt.ones(2, device=device)
    assert gt.as_tensor(t) is t


@pytest.mark.parametrize("name,args,kwargs", [
    ("zeros", (2, 3), {}), ("ones", ((2, 3),), {}), ("zeros", ([3],), {"dtype": "int64"}),
    ("full", ((2, 3), 0.5), {}), ("full", ((3,), 4), {}), ("full", ((2,), True), {}),
    ("eye", (3,), {}), ("eye", (2, 3), {"dtype": "int32"}), ("arange", (5,), {}),
    ("arange", (1, 4), {"dtype": "float32"}), ("arange", (0, 1, 0.25), {}),
    ("arange", (5, 0, -2), {}), ("linspace", (0, 1, 5), {}), ("linspace", (-2, 2, 3), {}),
    ("empty", (0, 3), {}),
])
def test_factories_match_torch(device, name, args, kwargs):
    g_kw = {k: getattr(gt, v) for k, v in kwargs.items()}
    t_kw = {k: getattr(torch, v) for k, v in kwargs.items()}
    g = getattr(gt, name)(*args, device=device, **g_kw)
    t = getattr(torch, name)(*args, **t_kw)
    if name == "empty":
        assert tuple(g.shape) == tuple(t.shape) and g.dtype.name == "float32"
    else:
        _same(g, t)
    assert g.device.type == device


def test_like_and_new_factories(device):
    x = gt.ones(2, 3, dtype=gt.int32, device=device)
    for fn, val in ((gt.zeros_like, 0), (gt.ones_like, 1)):
        y = fn(x)
        assert y.dtype is gt.int32 and y.device == x.device and y.shape == x.shape
        assert (y.cpu().numpy() == val).all()
    f = gt.full_like(x, 7, dtype=gt.float64)
    assert f.dtype is gt.float64 and f.cpu().numpy().tolist() == [[7.0] * 3] * 2
    assert gt.empty_like(x).shape == (2, 3)
    assert gt.rand_like(f).dtype is gt.float64 and gt.randn_like(f).device == x.device
    r = gt.randint_like(x, 3)
    assert r.dtype is gt.int32 and ((r.cpu().numpy() >= 0) & (r.cpu().numpy() < 3)).all()
    n = x.new_zeros(4)
    assert n.dtype is gt.int32 and n.device == x.device and n.shape == (4,)
    assert x.new_ones((1, 2)).tolist() == [[1, 1]]
    assert x.new_full((2,), 3).tolist() == [3, 3]
    assert x.new_tensor([1.7, 2.2]).dtype is gt.int32
    assert x.new_empty(2, dtype=gt.float32).dtype is gt.float32


def test_negative_size_errors():
    with pytest.raises(RuntimeError, match=r"negative dimension: \[2, -1\]"):
        gt.zeros(2, -1)


def test_default_dtype_roundtrip(device):
    assert gt.get_default_dtype() is gt.float32
    gt.set_default_dtype(gt.float64)
    try:
        assert gt.tensor([1.5], device=device).dtype is gt.float64
        assert gt.zeros(2, device=device).dtype is gt.float64
        assert gt.arange(0.0, 1.0, 0.5).dtype is gt.float64
        assert gt.tensor([1]).dtype is gt.int64
        assert "dtype" not in repr(gt.tensor([1.5]))
        assert "dtype=gputensor.float32" in repr(gt.tensor([1.5], dtype=gt.float32))
    finally:
        gt.set_default_dtype(gt.float32)
    with pytest.raises(TypeError, match="floating-point"):
        gt.set_default_dtype(gt.int64)


@pytest.mark.parametrize("fn", [
    lambda d: gt.rand(3, 2, device=d), lambda d: gt.randn(5, device=d),
    lambda d: gt.randint(0, 10, (4,), device=d), lambda d: gt.randperm(6, device=d),
    lambda d: gt.normal(1.0, 2.0, (3,), device=d),
])
def test_random_reproducible_per_device(device, fn):
    gt.manual_seed(123)
    a = fn(device)
    gt.manual_seed(123)
    b = fn(device)
    assert a.device.type == device
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    gt.manual_seed(124)
    assert not np.array_equal(fn(device).cpu().numpy(), a.cpu().numpy())


def test_cuda_stream_independent_of_cpu_draws():
    gt.manual_seed(7)
    first = gt.randn(4, device="cuda").cpu().numpy()
    gt.manual_seed(7)
    gt.randn(10)  # cpu draws do not advance the cuda generator
    np.testing.assert_array_equal(gt.randn(4, device="cuda").cpu().numpy(), first)
    assert gt.cuda.initial_seed() == 7
    gt.cuda.manual_seed(7)  # seeds cuda alone
    np.testing.assert_array_equal(gt.randn(4, device="cuda").cpu().numpy(), first)


def test_random_values_and_ranges(device):
    u = gt.rand(200, device=device).cpu().numpy()
    assert u.dtype == np.float32 and (u >= 0).all() and (u < 1).all()
    n = gt.randn(2000, dtype=gt.float64, device=device).cpu().numpy()
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    r = gt.randint(3, 6, (50,), device=device).cpu().numpy()
    assert set(r.tolist()) <= {3, 4, 5}
    assert gt.randint(4, size=(3,), device=device).shape == (3,)
    assert sorted(gt.randperm(7, device=device).tolist()) == list(range(7))
    m = gt.normal(gt.zeros(3, device=device), gt.ones(3, device=device))
    assert m.shape == (3,) and m.device.type == device and not m.requires_grad
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        gt.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="floating point"):
        gt.rand(2, dtype=gt.int64)


def test_generator_argument_is_used(device):
    g1, g2 = gt.Generator().manual_seed(5), gt.Generator().manual_seed(5)
    a = gt.randn(3, generator=g1, device=device)
    b = gt.randn(3, generator=g2, device=device)
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    assert a.device.type == device
    assert gt.randperm(5, generator=gt.Generator().manual_seed(1)).tolist() == \
        gt.randperm(5, generator=gt.Generator().manual_seed(1)).tolist()
    with pytest.raises(TypeError, match="Generator"):
        gt.rand(2, generator=np.random.default_rng(0))


def test_rng_state_roundtrip():
    state = gt.get_rng_state()
    a = gt.rand(3)
    gt.set_rng_state(state)
    np.testing.assert_array_equal(gt.rand(3).numpy(), a.numpy())
