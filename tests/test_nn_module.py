"""Module / Parameter / containers API: registration, traversal, state_dict round trips and
torch-compatible keys, strict loading errors, hooks, train/eval, to(), repr, nn.utils."""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from helpers import to_np

import gputensor as gt
from gputensor import nn


def reference_cnn(lib):
    """The reference CNN's layers (plus a BatchNorm) in either library."""
    m = lib.nn
    return m.Sequential(OrderedDict([
        ("conv1", m.Conv2d(3, 4, 3, padding=1)), ("bn", m.BatchNorm2d(4)), ("relu", m.ReLU()),
        ("pool", m.MaxPool2d(2, 2)), ("flat", m.Flatten()),
        ("head", m.ModuleList([m.Linear(4 * 3 * 3, 5), m.Linear(5, 2)])),
    ]))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.blocks = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        self.scale = nn.Parameter(gt.ones(1))
        self.register_buffer("steps", gt.zeros(()))
        self.register_buffer("cache", gt.zeros(2), persistent=False)

    def forward(self, x):
        return self.blocks(self.fc(x)) * self.scale


def test_parameter_basics():
    t = gt.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, gt.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert type(p * 2) is gt.Tensor and type(p[0]) is gt.Tensor
    assert type(p.detach()) is gt.Tensor
    with gt.no_grad():
        t.add_(1)  # shares storage with the tensor it wraps
    np.testing.assert_array_equal(to_np(p), to_np(t))
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert tuple(nn.Parameter().shape) == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(gt.tensor([1, 2]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p and q.requires_grad
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter)
    np.testing.assert_array_equal(to_np(r), to_np(p))


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.2.weight", "blocks.2.bias"]
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_children()] == ["fc", "blocks"]
    assert [n for n, _ in net.named_modules()] == ["", "fc", "blocks", "blocks.0", "blocks.1",
                                                   "blocks.2"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.fc.named_parameters(prefix="x")] == ["x.weight", "x.bias"]
    assert net.get_submodule("blocks.2") is net.blocks[2]
    assert net.get_parameter("blocks.0.bias") is net.blocks[0].bias
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        net.get_submodule("blocks.nope")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = net.missing


def test_shared_parameters_are_deduplicated():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules():
    net = Net()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = gt.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    net.steps = gt.ones(())  # assigning a tensor to a buffer name keeps it a buffer
    assert "steps" in dict(net.named_buffers())
    with pytest.raises(TypeError, match="child module 'fc'"):
        net.fc = 3
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("blocks", gt.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        net.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        net.register_parameter("w", gt.ones(2))
    del net.fc
    assert "fc" not in dict(net.named_children())
    net.plain = 5
    assert net.plain == 5 and "plain" not in net._modules


def test_state_dict_keys_match_torch():
    g, t = reference_cnn(gt), reference_cnn(torch)
    g_sd, t_sd = g.state_dict(), t.state_dict()
    assert isinstance(g_sd, OrderedDict)
    assert list(g_sd) == list(t_sd)
    for k in t_sd:
        assert tuple(g_sd[k].shape) == tuple(t_sd[k].shape), k
        assert g_sd[k].dtype.name == str(t_sd[k].dtype).replace("torch.", ""), k
    net = Net()
    sd = net.state_dict()
    assert "cache" not in sd and "steps" in sd
    assert not sd["fc.weight"].requires_grad and sd["fc.weight"].grad_fn is None
    assert net.state_dict(keep_vars=True)["fc.weight"] is net.fc.weight


def test_load_state_dict_copies_in_place():
    src, dst = Net(), Net()
    w = dst.fc.weight
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert dst.fc.weight is w  # same Parameter object, new values
    np.testing.assert_array_equal(to_np(dst.fc.weight), to_np(src.fc.weight))
    x = gt.randn(2, 3)
    np.testing.assert_allclose(to_np(dst(x)), to_np(src(x)), rtol=1e-6)


def test_load_state_dict_strict_errors_name_keys():
    net = Net()
    sd = net.state_dict()
    del sd["fc.bias"]
    sd["extra.weight"] = gt.zeros(1)
    sd["blocks.0.weight"] = gt.zeros(5, 5)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "fc.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    assert "size mismatch for blocks.0.weight" in msg and "[5, 5]" in msg
    del sd["blocks.0.weight"]
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc.bias", "blocks.0.weight"]
    assert res.unexpected_keys == ["extra.weight"]


def test_load_torch_state_dict_and_match_outputs(rng):
    t = reference_cnn(torch).eval()
    g = reference_cnn(gt).eval()
    g.load_state_dict({k: gt.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    g_out = g[5][1](g[5][0](g[:5](gt.tensor(x))))
    t_out = t[5][1](t[5][0](t[:5](torch.from_numpy(x))))
    np.testing.assert_allclose(to_np(g_out), t_out.detach().numpy(), atol=1e-5)


def test_train_eval_and_requires_grad():
    net = Net()
    assert net.training and net.blocks[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_zero_grad():
    net = Net()
    net(gt.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grad = net.fc.weight.grad
    net.zero_grad(set_to_none=False)
    assert net.fc.weight.grad is grad and (to_np(grad) == 0).all()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("target", ["cuda", "double", "half"])
def test_to_converts_in_place(target):
    net = Net()
    net(gt.randn(2, 3)).sum().backward()
    weight = net.fc.weight
    if target == "cuda":
        out = net.to("cuda")
        dev, dtype = "cuda", gt.float32
    elif target == "double":
        out = net.double()
        dev, dtype = "cpu", gt.float64
    else:
        out = net.to(gt.float16)
        dev, dtype = "cpu", gt.float16
    assert out is net and net.fc.weight is weight and isinstance(weight, nn.Parameter)
    for p in net.parameters():
        assert p.device.type == dev and p.dtype is dtype and p.requires_grad
        assert p.grad.device.type == dev and p.grad.dtype is dtype
    assert net.steps.device.type == dev and net.cache.device.type == dev
    net.cpu().float()
    assert net.fc.weight.device.type == "cpu" and net.fc.weight.dtype is gt.float32


def test_to_keeps_integer_buffers_and_rejects_int_dtype():
    bn = nn.BatchNorm1d(3).double()
    assert bn.num_batches_tracked.dtype is gt.int64 and bn.running_mean.dtype is gt.float64
    with pytest.raises(TypeError, match="floating point"):
        bn.to(gt.int32)


def test_optimizer_survives_module_to():
    net = nn.Linear(2, 1)
    params = list(net.parameters())
    net.to("cuda")
    assert all(a is b for a, b in zip(params, net.parameters()))
    net(gt.ones(3, 2, device="cuda")).sum().backward()
    assert params[0].grad.device.type == "cuda"


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out) or out + 1)
    out = lin(gt.ones(1, 2))
    np.testing.assert_allclose(to_np(out), to_np(lin.bias + 1)[None], rtol=1e-6)
    assert len(calls) == 1
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(to_np(lin(gt.zeros(1, 2))), to_np(lin.bias)[None], rtol=1e-6)
    assert len(calls) == 1
    order = []
    lin.register_forward_hook(lambda *a: order.append("b"))
    lin.register_forward_hook(lambda *a: order.append("a"), prepend=True)
    lin(gt.ones(1, 2))
    assert order == ["a", "b"]


def test_apply_and_missing_forward():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net" and seen.count("Linear") == 3
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(1)


def test_repr_matches_torch():
    assert repr(reference_cnn(gt)) == repr(reference_cnn(torch)).replace("torch.", "gputensor.")
    same = [gt.nn.Linear(2, 2) for _ in range(3)]
    t_same = [torch.nn.Linear(2, 2) for _ in range(3)]
    assert repr(nn.ModuleList(same)) == repr(torch.nn.ModuleList(t_same))


def test_sequential_api():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[-1] is c and list(seq) == [a, b, c]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    assert tuple(seq(gt.ones(4, 2)).shape) == (4, 1)
    del seq[1]
    assert list(seq._modules) == ["0", "1"] and seq[1] is c
    seq.insert(1, b)
    assert list(seq) == [a, b, c]
    named = nn.Sequential(OrderedDict([("first", a), ("act", b)]))
    assert named.first is a and list(named.state_dict()) == ["first.weight", "first.bias"]
    with pytest.raises(IndexError):
        seq[3]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Linear", "ReLU", "Tanh"]
    assert list(ml.state_dict()) == ["1.weight", "1.bias"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    with pytest.raises(TypeError, match="Modules"):
        ml.append(3)
    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "dec": nn.Linear(2, 1)})
    assert list(md.keys()) == ["enc", "dec"] and "enc" in md and len(md) == 2
    md["act"] = nn.ReLU()
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(md.pop("act"), nn.ReLU) and "act" not in md


def test_parameter_list_and_dict():
    pl = nn.ParameterList([gt.ones(2), nn.Parameter(gt.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(gt.ones(1))
    assert list(dict(pl.named_parameters())) == ["0", "1", "2"]
    pd = nn.ParameterDict({"a": gt.ones(2)})
    pd["b"] = nn.Parameter(gt.zeros(1))
    assert isinstance(pd["a"], nn.Parameter) and list(pd) == ["a", "b"]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = pl
            self.pd = pd
    assert list(Holder().state_dict()) == ["ps.0", "ps.1", "ps.2", "pd.a", "pd.b"]


def test_deepcopy_and_pickle_module():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.fc.weight is not net.fc.weight and isinstance(clone.fc.weight, nn.Parameter)
    x = gt.randn(2, 3)
    np.testing.assert_array_equal(to_np(clone(x)), to_np(net(x)))
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(to_np(restored(x)), to_np(net(x)))


# -- nn.utils -----------------------------------------------------------------------------------

def _torch_params_with_grads(grads):
    params = [torch.nn.Parameter(torch.zeros(len(g))) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    grads = [[3.0, -4.0, 1.0], [0.5, 2.0]]
    g_params = [nn.Parameter(gt.zeros(len(g), device=device)) for g in grads]
    for p, g in zip(g_params, grads):
        p.grad = gt.tensor(g, device=device)
    t_params = _torch_params_with_grads(grads)
    g_total = nn.utils.clip_grad_norm_(g_params, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    assert g_total.device.type == device and g_total.ndim == 0
    np.testing.assert_allclose(g_total.item(), t_total.item(), rtol=1e-6)
    for gp, tp in zip(g_params, t_params):
        np.testing.assert_allclose(to_np(gp.grad), tp.grad.numpy(), rtol=1e-6)


def test_clip_grad_value_and_vectors(device):
    params = [nn.Parameter(gt.zeros(3, device=device)), nn.Parameter(gt.zeros(2, device=device))]
    params[0].grad = gt.tensor([3.0, -4.0, 0.2], device=device)
    params[1].grad = gt.tensor([-0.1, 9.0], device=device)
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_allclose(to_np(params[0].grad), [1.0, -1.0, 0.2], rtol=1e-6)
    np.testing.assert_allclose(to_np(params[1].grad), [-0.1, 1.0], rtol=1e-6)
    vec = nn.utils.parameters_to_vector(params)
    assert tuple(vec.shape) == (5,) and vec.device.type == device
    nn.utils.vector_to_parameters(gt.arange(5.0, device=device), params)
    np.testing.assert_array_equal(to_np(params[0]), [0, 1, 2])
    np.testing.assert_array_equal(to_np(params[1]), [3, 4])
    with pytest.raises(RuntimeError, match="5 elements"):
        nn.utils.vector_to_parameters(gt.zeros(4, device=device), params)
