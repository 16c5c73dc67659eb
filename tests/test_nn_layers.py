"""nn layers vs torch: same weights (loaded from torch's state_dict), same input; outputs,
input gradients, parameter gradients and buffers must match. Inputs are also gradchecked in
float64 through the module on both devices."""
import numpy as np
import pytest
import torch
from helpers import check_grad, to_gt, to_np

import gputensor as gt
from gputensor import nn


def load_from_torch(g_mod, t_mod, device):
    """Copy torch's state_dict into the gputensor module, then move it to ``device``."""
    sd = {k: gt.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()}
    g_mod.load_state_dict(sd)
    return g_mod.to(device)


def compare_module(g_mod, t_mod, x, device, atol=1e-5, rtol=1e-4, train=True, seed=0):
    load_from_torch(g_mod, t_mod, device)
    t_mod.zero_grad()
    g_mod.train(train)
    t_mod.train(train)
    floating = x.dtype.kind == "f"
    gx = to_gt(x, device, requires_grad=floating)
    tx = torch.from_numpy(x.copy()).requires_grad_(floating)
    go, to = g_mod(gx), t_mod(tx)
    if isinstance(to, tuple):
        go, to = go[0], to[0]
    assert tuple(go.shape) == tuple(to.shape)
    assert go.dtype.name == str(to.dtype).replace("torch.", "")
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), atol=atol, rtol=rtol)
    w = np.random.default_rng(seed).standard_normal(tuple(to.shape)).astype(np.float32)
    (go * to_gt(w, device)).sum().backward()
    (to * torch.from_numpy(w)).sum().backward()
    if floating:
        np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), atol=atol, rtol=rtol)
    g_params = dict(g_mod.named_parameters())
    for name, tp in t_mod.named_parameters():
        gp = g_params[name]
        assert (gp.grad is None) == (tp.grad is None), name
        if tp.grad is not None:
            np.testing.assert_allclose(to_np(gp.grad), tp.grad.numpy(), atol=atol, rtol=rtol,
                                       err_msg=name)
    g_bufs = dict(g_mod.named_buffers())
    for name, tb in t_mod.named_buffers():
        np.testing.assert_allclose(to_np(g_bufs[name]), tb.numpy(), atol=atol, rtol=rtol,
                                   err_msg=name)


def gradcheck_module(g_mod, x, device):
    g_mod.double().to(device)
    check_grad(lambda t: g_mod(t), x, device=device)


LAYERS = [
    ("Linear", (4, 3), {}, (2, 4)),
    ("Linear", (4, 3), {"bias": False}, (2, 3, 4)),
    ("Identity", (), {}, (2, 3)),
    ("Flatten", (), {}, (2, 3, 2)),
    ("Unflatten", (1, (2, 3)), {}, (2, 6)),
    ("ReLU", (), {}, (3, 5)), ("LeakyReLU", (0.1,), {}, (3, 5)), ("ELU", (), {}, (3, 5)),
    ("GELU", (), {}, (3, 5)), ("GELU", (), {"approximate": "tanh"}, (3, 5)),
    ("SiLU", (), {}, (3, 5)), ("Softplus", (), {"beta": 2.0}, (3, 5)),
    ("Sigmoid", (), {}, (3, 5)), ("Tanh", (), {}, (3, 5)), ("Softmax", (1,), {}, (3, 5)),
    ("LogSoftmax", (1,), {}, (3, 5)), ("Softmin", (0,), {}, (3, 5)),
    ("Hardtanh", (), {}, (3, 5)), ("ReLU6", (), {}, (3, 5)), ("Mish", (), {}, (3, 5)),
    ("LogSigmoid", (), {}, (3, 5)),
    ("LayerNorm", (5,), {}, (3, 5)), ("LayerNorm", ((2, 3),), {}, (2, 2, 3)),
    ("LayerNorm", (5,), {"elementwise_affine": False}, (3, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 3)),
    ("BatchNorm1d", (3,), {}, (4, 3)), ("BatchNorm1d", (3,), {}, (4, 3, 2)),
    ("BatchNorm2d", (3,), {}, (2, 3, 2, 3)),
    ("BatchNorm2d", (3,), {"affine": False}, (2, 3, 2, 3)),
    ("BatchNorm2d", (3,), {"momentum": None}, (2, 3, 2, 3)),
    ("BatchNorm1d", (3,), {"track_running_stats": False}, (4, 3)),
    ("Conv1d", (2, 3, 3), {"padding": 1}, (2, 2, 5)),
    ("Conv2d", (2, 3, 3), {"padding": 1}, (1, 2, 5, 5)),
    ("Conv2d", (2, 4, (2, 3)), {"stride": 2, "groups": 2, "bias": False}, (1, 2, 5, 7)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (1, 2, 4, 5)),
    ("MaxPool2d", (2, 2), {}, (1, 2, 5, 6)), ("AvgPool2d", (2,), {}, (1, 2, 5, 6)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (1, 2, 5, 6)),
    ("AdaptiveMaxPool2d", (2,), {}, (1, 2, 5, 6)),
]


# smaller inputs where the simulated-cuda numerical gradcheck would be slow
GRADCHECK_SHAPES = {"Linear": (2, 4), "Conv1d": (1, 2, 4), "Conv2d": (1, 2, 3, 4),
                    "MaxPool2d": (1, 1, 4, 5), "AvgPool2d": (1, 1, 4, 5),
                    "AdaptiveAvgPool2d": (1, 1, 4, 5), "AdaptiveMaxPool2d": (1, 1, 4, 5)}


def _input(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    return np.where(np.abs(x) < 0.05, x + 0.1, x).astype(np.float32)  # away from kinks at 0


@pytest.mark.parametrize("name,args,kw,shape", LAYERS, ids=[f"{n}-{i}" for i, (n, *_) in
                                                            enumerate(LAYERS)])
def test_layer_matches_torch(name, args, kw, shape, device, rng):
    x = _input(shape, rng)
    t_mod = getattr(torch.nn, name)(*args, **kw)
    compare_module(getattr(nn, name)(*args, **kw), t_mod, x, device, atol=1e-4)
    if name.startswith("BatchNorm"):  # a second step checks the running-stat recurrences
        compare_module(getattr(nn, name)(*args, **kw), t_mod, x * 2 + 1, device, atol=1e-4)


@pytest.mark.parametrize("name,args,kw,shape", LAYERS, ids=[f"{n}-{i}" for i, (n, *_) in
                                                            enumerate(LAYERS)])
def test_layer_gradcheck(name, args, kw, shape, device, rng):
    shape = GRADCHECK_SHAPES.get(name, shape)
    if "Pool" in name and "Avg" not in name:
        x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1  # distinct values: no ties
    else:
        x = _input(shape, rng)
    gradcheck_module(getattr(nn, name)(*args, **kw), x, device)


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_eval_uses_running_stats(name, device, rng):
    shape = (4, 3) if name == "BatchNorm1d" else (2, 3, 2, 3)
    t_mod = getattr(torch.nn, name)(3)
    t_mod.running_mean.uniform_(-1, 1)
    t_mod.running_var.uniform_(0.5, 2)
    compare_module(getattr(nn, name)(3), t_mod, _input(shape, rng), device, atol=1e-4,
                   train=False)


def test_batchnorm_buffers_and_errors():
    bn = nn.BatchNorm2d(3)
    assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype is gt.int64
    bn(gt.randn(2, 3, 2, 2))
    bn(gt.randn(2, 3, 2, 2))
    assert bn.num_batches_tracked.item() == 2
    with pytest.raises(ValueError, match="expected 4D input"):
        bn(gt.randn(2, 3))
    with pytest.raises(RuntimeError, match="expected 3 channels"):
        bn(gt.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(gt.randn(1, 3))


def test_embedding_layer(device, rng):
    idx = np.array([[0, 1, 4], [1, 5, 1]])
    compare_module(nn.Embedding(6, 3, padding_idx=1), torch.nn.Embedding(6, 3, padding_idx=1),
                   idx, device)
    emb = nn.Embedding(6, 3, padding_idx=1).to(device)
    assert (to_np(emb.weight[1]) == 0).all()
    out = emb(to_gt(idx, device))
    out.sum().backward()
    g = to_np(emb.weight.grad)
    assert (g[1] == 0).all() and g[0].sum() == 3 and g[4].sum() == 3


def test_embedding_from_pretrained():
    w = gt.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(to_np(emb(gt.tensor([1, 0]))), [[3, 4], [1, 2]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"


def test_dropout_layers_train_and_eval():
    for layer, x in ((nn.Dropout(0.5), gt.ones(40, 50)), (nn.Dropout2d(0.5), gt.ones(4, 10, 5, 3))):
        y = layer(x)
        assert (to_np(y) == 0).any() and (to_np(y) == 2).any()
        layer.eval()
        assert layer(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)


def test_layer_reprs_match_torch():
    cases = [("Linear", (3, 4), {}), ("Conv2d", (3, 32, 3), {"padding": 1}),
             ("Conv2d", (3, 8, 3), {"stride": 2, "bias": False, "groups": 1}),
             ("Conv1d", (2, 4, 5), {"dilation": 2}),
             ("MaxPool2d", (2, 2), {}), ("BatchNorm2d", (4,), {}), ("LayerNorm", (5,), {}),
             ("GroupNorm", (2, 4), {}), ("Dropout", (0.3,), {}), ("ReLU", (), {}),
             ("ReLU", (), {"inplace": True}), ("LeakyReLU", (0.2,), {}), ("GELU", (), {}),
             ("Softmax", (1,), {}), ("Flatten", (), {}), ("Embedding", (10, 3), {}),
             ("Hardtanh", (), {}), ("ELU", (), {}), ("Softplus", (), {}),
             ("BatchNorm1d", (3,), {"affine": False}), ("GroupNorm", (2, 4), {"bias": False}),
             ("BatchNorm2d", (3,), {"bias": False}), ("LayerNorm", (5,), {"bias": False}),
             ("LayerNorm", ((2, 3),), {"elementwise_affine": False})]
    for name, args, kw in cases:
        assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def test_linear_errors_and_dtype():
    lin = nn.Linear(3, 2, dtype=gt.float64)
    assert lin.weight.dtype is gt.float64 and tuple(lin.weight.shape) == (2, 3)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        nn.Linear(3, 2)(gt.randn(4, 5))


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
