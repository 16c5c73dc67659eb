"""Bilinear, EmbeddingBag, Embedding(max_norm), BatchNorm3d, Dropout1d/3d and integer max
pooling, against torch (issue 8: these were never exercised, so deliberate bugs went unseen)."""
import warnings

import numpy as np
import pytest

import gputensor as gt
from helpers import check_lib_op, to_np

torch = pytest.importorskip("torch")


def _copy_params(src, dst):
    """Give the gputensor module ``dst`` the torch module ``src``'s parameters and buffers."""
    dst.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                         for k, v in src.state_dict().items()})


# -- Bilinear ---------------------------------------------------------------------------------

# simulated matmuls are slow: one batch shape covers the cuda path
@pytest.mark.parametrize("batch,device", [((), "cpu"), ((2,), "cpu"), ((2, 3), "cpu"),
                                          ((2,), "cuda")])
def test_bilinear_functional(batch, device, rng):
    x1 = rng.standard_normal(batch + (2,)).astype(np.float32)
    x2 = rng.standard_normal(batch + (3,)).astype(np.float32)
    out = 4 if device == "cpu" else 2
    w = rng.standard_normal((out, 2, 3)).astype(np.float32)
    b = rng.standard_normal(out).astype(np.float32)
    check_lib_op(lambda lib, a, c, w, b: lib.nn.functional.bilinear(a, c, w, b),
                 x1, x2, w, b, device=device)
    if device == "cpu":
        check_lib_op(lambda lib, a, c, w: lib.bilinear(a, c, w), x1, x2, w, device=device)


def test_bilinear_module_init_and_errors(rng):
    gt.manual_seed(0)
    m = gt.nn.Bilinear(5, 3, 4)
    assert repr(m) == repr(torch.nn.Bilinear(5, 3, 4))
    assert tuple(m.weight.shape) == (4, 5, 3) and tuple(m.bias.shape) == (4,)
    bound = 1 / np.sqrt(5)
    for p in (m.weight, m.bias):
        a = to_np(p)
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 3
    assert gt.nn.Bilinear(2, 2, 1, bias=False).bias is None
    t = torch.nn.Bilinear(5, 3, 4)
    _copy_params(t, m)
    x1, x2 = rng.standard_normal((2, 5)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(to_np(m(gt.tensor(x1, dtype=gt.float32),
                                       gt.tensor(x2, dtype=gt.float32))),
                               t(torch.tensor(x1).float(), torch.tensor(x2).float()).detach(),
                               rtol=1e-5, atol=1e-6)
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="input batch dimensions do not match"):
            lib.nn.functional.bilinear(lib.zeros(2, 3), lib.zeros(3, 4), lib.zeros(5, 3, 4))
        with pytest.raises(RuntimeError, match="input1 size does not match weight size"):
            lib.nn.functional.bilinear(lib.zeros(2, 3), lib.zeros(2, 4), lib.zeros(5, 2, 4))
        with pytest.raises(RuntimeError, match="bias size does not match weight size"):
            lib.nn.functional.bilinear(lib.zeros(2, 3), lib.zeros(2, 4), lib.zeros(5, 3, 4),
                                       lib.zeros(4))


# -- EmbeddingBag -----------------------------------------------------------------------------

BAGS = [
    ({"mode": "sum"}, [0, 3, 3, 7]),
    ({"mode": "mean"}, [0, 2, 5]),
    ({"mode": "max"}, [0, 4, 4, 6]),
    ({"mode": "mean", "padding_idx": 2}, [0, 3, 6]),
    ({"mode": "max", "padding_idx": 2}, [0, 1, 5]),
    ({"mode": "sum", "padding_idx": 4}, [0, 2, 8]),
    ({"mode": "sum", "include_last_offset": True}, [0, 3, 3, 8]),
    ({"mode": "max", "include_last_offset": True}, [0, 5, 8]),
]
INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 0])


@pytest.mark.parametrize("kw,offsets", BAGS, ids=[f"{k}-{o}" for k, o in BAGS])
def test_embedding_bag_against_torch(kw, offsets, device, rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    off = np.array(offsets)
    check_lib_op(lambda lib, w, i, o: lib.nn.functional.embedding_bag(i, w, o, **kw),
                 w, INDICES, off, device=device)


def test_embedding_bag_per_sample_weights_and_2d(device, rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    psw = rng.standard_normal(8).astype(np.float32)
    check_lib_op(lambda lib, w, p, i, o: lib.nn.functional.embedding_bag(
        i, w, o, mode="sum", per_sample_weights=p), w, psw, INDICES, np.array([0, 3, 3]),
        device=device)
    for mode in ("sum", "mean", "max"):
        check_lib_op(lambda lib, w, i: lib.nn.functional.embedding_bag(i, w, mode=mode), w,
                     INDICES.reshape(2, 4), device=device)


def test_embedding_bag_module(rng):
    t = torch.nn.EmbeddingBag(6, 3, mode="max", padding_idx=1, max_norm=1.0)
    g = gt.nn.EmbeddingBag(6, 3, mode="max", padding_idx=1, max_norm=1.0)
    assert repr(g) == repr(t) == "EmbeddingBag(6, 3, max_norm=1.0, mode='max', padding_idx=1)"
    assert repr(gt.nn.EmbeddingBag(5, 2)) == repr(torch.nn.EmbeddingBag(5, 2))
    assert to_np(g.weight)[1].tolist() == [0.0, 0.0, 0.0]
    _copy_params(t, g)
    i, o = np.array([0, 1, 3, 5, 2]), np.array([0, 2])
    yt = t(torch.tensor(i), torch.tensor(o))
    yg = g(gt.tensor(i), gt.tensor(o))
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(to_np(g.weight), t.weight.detach().numpy(), rtol=1e-5)  # renormed
    pre = gt.nn.EmbeddingBag.from_pretrained(gt.ones(4, 2), mode="sum")
    assert not pre.weight.requires_grad
    assert pre(gt.tensor([[0, 1, 2]])).tolist() == [[3.0, 3.0]]


@pytest.mark.parametrize("call,exc,msg", [
    (lambda F, w: F.embedding_bag(F_idx(F), w), ValueError, "offsets has to be a 1D Tensor"),
    (lambda F, w: F.embedding_bag(F_idx(F), w, F_off(F, [1, 4])), RuntimeError,
     "offsets\\[0\\] has to be 0"),
    (lambda F, w: F.embedding_bag(F_idx(F), w, F_off(F, [0, 9]), include_last_offset=True),
     RuntimeError, "can not be greater than input's length"),
    (lambda F, w: F.embedding_bag(F_idx(F), w, F_off(F, [0, 4]), mode="bad"), ValueError,
     "mode has to be one of sum, mean or max"),
    (lambda F, w: F.embedding_bag(F_idx(F), w, F_off(F, [0, 4]), mode="max",
                                  per_sample_weights=w[0, :1].expand(8)),
     NotImplementedError, "per_sample_weights is only supported for mode='sum'"),
    (lambda F, w: F.embedding_bag(F_idx(F).reshape(2, 4), w, F_off(F, [0, 1])), ValueError,
     "if input is 2D, then offsets has to be None"),
])
def test_embedding_bag_errors(call, exc, msg, rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    for lib in (torch, gt):
        with pytest.raises(exc, match=msg):
            call(lib.nn.functional, lib.tensor(w))


def F_idx(F):
    return (torch if F is torch.nn.functional else gt).tensor(INDICES)


def F_off(F, o):
    return (torch if F is torch.nn.functional else gt).tensor(o)


# -- Embedding(max_norm) ----------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_embedding_max_norm_renorms_looked_up_rows(norm_type, device, rng):
    w = (rng.standard_normal((6, 3)) * 2).astype(np.float32)
    idx = np.array([[1, 2], [4, 1]])
    res = []
    for lib, dev in ((torch, "cpu"), (gt, device)):
        m = lib.nn.Embedding(6, 3, max_norm=1.5, norm_type=norm_type).to(dev)
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w).to(dev))
        out = m(lib.tensor(idx).to(dev))
        (out * out).sum().backward()
        res.append([to_np(out) if lib is gt else out.detach().numpy(),
                    to_np(m.weight) if lib is gt else m.weight.detach().numpy(),
                    to_np(m.weight.grad) if lib is gt else m.weight.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    looked_up = [1, 2, 4]
    untouched = [0, 3, 5]
    np.testing.assert_array_equal(res[1][1][untouched], w[untouched])
    norms = (np.abs(res[1][1][looked_up]) ** norm_type).sum(1) ** (1 / norm_type)
    assert np.all(norms <= 1.5 + 1e-4)


def test_embedding_max_norm_functional_modifies_weight_in_place():
    w = gt.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = gt.nn.functional.embedding(gt.tensor([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(to_np(w), [[0.6, 0.8], [0.3, 0.4], [6.0, 8.0]], rtol=1e-5)
    np.testing.assert_allclose(to_np(out), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-5)


# -- BatchNorm3d ------------------------------------------------------------------------------

def test_batchnorm3d_against_torch(rng):
    x = rng.standard_normal((2, 3, 2, 3, 2)).astype(np.float32) * 2 + 1
    t = torch.nn.BatchNorm3d(3, momentum=0.3)
    g = gt.nn.BatchNorm3d(3, momentum=0.3)
    assert repr(g) == repr(t)
    with torch.no_grad():
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-0.5, 0.5)
    _copy_params(t, g)
    for _ in range(2):
        xt, xg = torch.tensor(x, requires_grad=True), gt.tensor(x, requires_grad=True)
        w = rng.standard_normal(x.shape).astype(np.float32)
        yt, yg = t(xt), g(xg)
        (yt * torch.tensor(w)).sum().backward()
        (yg * gt.tensor(w)).sum().backward()
        np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(to_np(getattr(g, name)), getattr(t, name).numpy(), rtol=1e-5)
    np.testing.assert_allclose(to_np(g.weight.grad), t.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    t.eval()
    g.eval()
    np.testing.assert_allclose(to_np(g(gt.tensor(x))), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    for lib in (torch, gt):
        with pytest.raises(ValueError, match="expected 5D input"):
            lib.nn.BatchNorm3d(3)(lib.zeros(2, 3, 4, 4))


def test_batchnorm3d_on_simulated_cuda(rng):
    x = rng.standard_normal((2, 3, 1, 2, 3)).astype(np.float32)
    t = torch.nn.BatchNorm3d(3)
    g = gt.nn.BatchNorm3d(3).to("cuda")
    xg = gt.tensor(x, device="cuda", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    g(xg).pow(2).sum().backward()
    t(xt).pow(2).sum().backward()
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_np(g.running_var), t.running_var.numpy(), rtol=1e-5)


# -- Dropout1d / Dropout3d --------------------------------------------------------------------

@pytest.mark.parametrize("name,shape,lead", [
    ("Dropout1d", (4, 6, 5), 2), ("Dropout1d", (6, 5), 1),
    ("Dropout3d", (3, 4, 2, 2, 3), 2), ("Dropout3d", (6, 2, 2, 3), 1),
])
def test_channel_dropout_zeroes_whole_channels(name, shape, lead, device):
    gt.manual_seed(0)
    m = getattr(gt.nn, name)(p=0.4)
    x = gt.ones(shape, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # batched and unbatched both silent, as torch
        y = m(x)
    a = to_np(y).reshape(int(np.prod(shape[:lead])), -1)
    assert set(np.unique(a)) <= {0.0, 1 / 0.6} or np.allclose(np.unique(a), [0, 1 / 0.6])
    assert np.all(a.min(1) == a.max(1))  # one decision per channel
    assert 0 < (a[:, 0] == 0).sum() < a.shape[0]
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), to_np(y))
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(getattr(torch.nn, name)(p=0.4))


def test_channel_dropout_scaling_statistics():
    gt.manual_seed(1)
    y = gt.nn.functional.dropout3d(gt.ones(400, 1, 1, 1), p=0.25)
    kept = to_np(y).ravel()
    assert abs((kept == 0).mean() - 0.25) < 0.07
    np.testing.assert_allclose(kept[kept != 0], 1 / 0.75, rtol=1e-6)
    assert gt.nn.functional.dropout1d(gt.ones(3, 4), p=1.0).sum().item() == 0


def test_channel_dropout_rank_rules_as_torch():
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but "
                                               "received a 1D input"):
            lib.nn.Dropout1d()(lib.ones(4))
        with pytest.raises(RuntimeError, match="received a 4D input"):
            lib.nn.Dropout1d()(lib.ones(1, 2, 3, 4))
        for shape in ((3, 3, 3), (1, 1, 2, 3, 3, 3)):
            with pytest.warns(UserWarning, match=f"Received a {len(shape)}-D input to "
                                                 "dropout3d, which is deprecated"):
                y = lib.nn.Dropout3d()(lib.ones(shape))
            assert tuple(y.shape) == shape
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            lib.nn.Dropout3d(p=1.5)


# -- integer max pooling ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8"])
@pytest.mark.parametrize("kw", [
    {"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (2, 3), "dilation": 2, "padding": 1},
])
def test_max_pool2d_integer(dtype, kw, device, rng):
    a = rng.integers(0 if dtype == "uint8" else -60, 60, (1, 2, 5, 6)).astype(dtype)
    a[0, 0] = 0  # ties with the zero padding of uint8 must still pick in-bounds inputs
    g = gt.nn.functional.max_pool2d(gt.tensor(a, device=device), return_indices=True, **kw)
    t = torch.nn.functional.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    assert g[0].dtype.name == dtype and g[1].dtype == gt.int64
    np.testing.assert_array_equal(to_np(g[0]), t[0].numpy())
    np.testing.assert_array_equal(to_np(g[1]), t[1].numpy())


def test_max_pool_integer_layers_and_1d(device):
    a = np.arange(30, dtype=np.int64).reshape(1, 1, 5, 6) % 7
    g = gt.nn.MaxPool2d(2, ceil_mode=True)(gt.tensor(a, device=device))
    t = torch.nn.MaxPool2d(2, ceil_mode=True)(torch.tensor(a))
    assert g.dtype == gt.int64 and to_np(g).tolist() == t.tolist()
    b = a[0].astype(np.int32)
    g1 = gt.nn.functional.max_pool1d(gt.tensor(b, device=device), 2, return_indices=True)
    t1 = torch.nn.functional.max_pool1d(torch.tensor(b), 2, return_indices=True)
    assert to_np(g1[0]).tolist() == t1[0].tolist() and to_np(g1[1]).tolist() == t1[1].tolist()
    for lib in (torch, gt):  # torch's adaptive max pooling and bool pooling are float-only
        with pytest.raises(NotImplementedError):
            lib.nn.functional.adaptive_max_pool2d(lib.tensor(a), 2)
        with pytest.raises(NotImplementedError):
            lib.nn.functional.max_pool2d(lib.tensor(a) > 2, 2)


@pytest.mark.parametrize("dtype", ["int64", "int16", "uint8"])
def test_integer_max_pool_kernels_agree(dtype, rng):
    """The CUDA kernel's int64-compare instantiation against the CPU path, argmax included."""
    from gputensor.kernels import pool_cpu, pool_cuda
    x = rng.integers(0, 5, (1, 2, 5, 4)).astype(dtype)
    args = ((3, 2), (2, 1), (1, 1), (1, 1), True)
    (y, i), (yr, ir) = pool_cuda.max_pool2d_forward(x, *args), pool_cpu.max_pool2d_forward(x, *args)
    assert y.dtype == yr.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(i, ir)
