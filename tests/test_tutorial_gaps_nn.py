"""Tutorial gaps (see ``test_tutorial_gaps.py``), nn side: ``nn.utils.rnn`` and packed RNNs,
optimizer options, InstanceNorm, parametrize/weight_norm/spectral_norm."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check_lib_op, to_np

import gputensor as gt
from gputensor.nn.utils import rnn as gt_rnn


def _repr(obj) -> str:
    return repr(obj).replace("gputensor.", "torch.")


# --- nn.utils.rnn ------------------------------------------------------------------------

SEQS = [np.arange(1, 4), np.arange(4, 6), np.arange(6, 7)]


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, padding_value=-1),
                                dict(padding_side="left")])
def test_pad_sequence(kw):
    g = gt_rnn.pad_sequence([gt.tensor(s) for s in SEQS], **kw)
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in SEQS], **kw)
    np.testing.assert_array_equal(to_np(g), t.numpy())


@pytest.mark.parametrize("order,enforce", [([0, 1, 2], True), ([1, 2, 0], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_roundtrip_matches_torch(rng, order, enforce, batch_first):
    lengths = [[3, 2, 1][i] for i in order]
    x = rng.standard_normal((3, 3, 2)).astype(np.float32)
    gp = gt_rnn.pack_padded_sequence(gt.tensor(x), lengths, batch_first, enforce)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce)
    np.testing.assert_array_equal(to_np(gp.data), tp.data.numpy())
    np.testing.assert_array_equal(to_np(gp.batch_sizes), tp.batch_sizes.numpy())
    assert gp.batch_sizes.dtype == gt.int64
    for a, b in ((gp.sorted_indices, tp.sorted_indices),
                 (gp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_array_equal(to_np(a), b.numpy())
    gpad, glen = gt_rnn.pad_packed_sequence(gp, batch_first, padding_value=9.0, total_length=4)
    tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, 9.0, total_length=4)
    np.testing.assert_array_equal(to_np(gpad), tpad.numpy())
    np.testing.assert_array_equal(to_np(glen), tlen.numpy())
    assert [to_np(s).tolist() for s in gt_rnn.unpack_sequence(gp)] == \
        [s.tolist() for s in torch.nn.utils.rnn.unpack_sequence(tp)]


def test_pack_errors_match_torch():
    for f in (lambda lib, r: r.pack_padded_sequence(lib.zeros(3, 2), [1, 3]),
              lambda lib, r: r.pack_padded_sequence(lib.zeros(3, 2), [3, 0]),
              lambda lib, r: r.pad_packed_sequence(r.pack_sequence([lib.ones(3)]),
                                                   total_length=2)):
        with pytest.raises(Exception) as t_err:
            f(torch, torch.nn.utils.rnn)
        with pytest.raises(type(t_err.value)) as g_err:
            f(gt, gt_rnn)
        assert str(g_err.value).split("(")[0] == str(t_err.value).split("(")[0]


def _twin(name, *args, device="cpu", **kw):
    t_mod = getattr(torch.nn, name)(*args, **kw)
    g_mod = getattr(gt.nn, name)(*args, **kw)
    g_mod.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    return t_mod, g_mod.to(device)


@pytest.mark.parametrize("name,kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                     ("GRU", dict(batch_first=True)),
                                     ("RNN", dict(bidirectional=True))])
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_on_packed_sequence_matches_torch(rng, name, kw, with_state):
    t_mod, g_mod = _twin(name, 2, 3, **kw)
    lengths = [2, 4, 1]
    bf = kw.get("batch_first", False)
    x = rng.standard_normal((3, 4, 2) if bf else (4, 3, 2)).astype(np.float32)
    dirs = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    h = rng.standard_normal((dirs, 3, 3)).astype(np.float32)
    tx, gx = torch.tensor(x, requires_grad=True), gt.tensor(x, requires_grad=True)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, bf, enforce_sorted=False)
    gp = gt_rnn.pack_padded_sequence(gx, lengths, bf, enforce_sorted=False)
    state = None
    if with_state:
        state = ((torch.tensor(h), torch.tensor(h * 0.5)) if name == "LSTM" else torch.tensor(h),
                 (gt.tensor(h), gt.tensor(h * 0.5)) if name == "LSTM" else gt.tensor(h))
    t_out, t_h = t_mod(tp, state[0] if state else None)
    g_out, g_h = g_mod(gp, state[1] if state else None)
    assert isinstance(g_out, gt_rnn.PackedSequence)
    np.testing.assert_allclose(to_np(g_out.data), t_out.data.detach().numpy(), atol=1e-5)
    for a, b in zip(g_h if name == "LSTM" else (g_h,), t_h if name == "LSTM" else (t_h,)):
        np.testing.assert_allclose(to_np(a), b.detach().numpy(), atol=1e-5)
    t_pad = torch.nn.utils.rnn.pad_packed_sequence(t_out, bf)[0]
    g_pad = gt_rnn.pad_packed_sequence(g_out, bf)[0]
    w = rng.standard_normal(tuple(t_pad.shape)).astype(np.float32)
    (t_pad * torch.tensor(w)).sum().backward()
    (g_pad * gt.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), atol=1e-5)
    for (n, tp_), gp_ in zip(t_mod.named_parameters(), g_mod.parameters()):
        np.testing.assert_allclose(to_np(gp_.grad), tp_.grad.numpy(), atol=1e-5, err_msg=n)


def test_packed_gru_on_device(device, rng):
    t_mod, g_mod = _twin("GRU", 2, 3, device=device)
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1)]
    t_out, t_h = t_mod(torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs]))
    g_out, g_h = g_mod(gt_rnn.pack_sequence([gt.tensor(s, device=device) for s in seqs]))
    np.testing.assert_allclose(to_np(g_out.data), t_out.data.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(to_np(g_h), t_h.detach().numpy(), atol=1e-5)
    assert g_out.data.device.type == device


def test_rnn_module_path_imports():
    from gputensor.nn.utils.rnn import PackedSequence, pack_padded_sequence  # noqa: F401
    assert gt.nn.utils.rnn.pad_sequence is gt_rnn.pad_sequence


# --- optimizers accept and record torch's keyword options ---------------------------------

@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_defaults_and_repr_match_torch(name):
    t_opt = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))])
    g_opt = getattr(gt.optim, name)([gt.nn.Parameter(gt.ones(2))])
    assert list(g_opt.defaults.items()) == list(t_opt.defaults.items())
    assert repr(g_opt) == repr(t_opt)
    assert list(g_opt.state_dict()["param_groups"][0]) == \
        list(t_opt.state_dict()["param_groups"][0])
    kw = dict(differentiable=False, foreach=None)
    getattr(gt.optim, name)([gt.nn.Parameter(gt.ones(2))], **kw)


# --- InstanceNorm --------------------------------------------------------------------------

@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 5)),
                                        ("InstanceNorm2d", (2, 3, 3, 2)),
                                        ("InstanceNorm1d", (3, 5))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True, track_running_stats=True)])
def test_instance_norm_matches_torch(rng, name, shape, kw):
    t_mod = getattr(torch.nn, name)(3, **kw)
    g_mod = getattr(gt.nn, name)(3, **kw)
    assert _repr(g_mod) == repr(t_mod)
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    x = rng.standard_normal(shape).astype(np.float32)
    for train in (True, False):
        t_mod.train(train)
        g_mod.train(train)
        tx, gx = torch.tensor(x, requires_grad=True), gt.tensor(x, requires_grad=True)
        t_out, g_out = t_mod(tx), g_mod(gx)
        np.testing.assert_allclose(to_np(g_out), t_out.detach().numpy(), atol=1e-5)
        (t_out * torch.tensor(x)).sum().backward()
        (g_out * gt.tensor(x)).sum().backward()
        np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), atol=1e-4)
        for k, v in t_mod.state_dict().items():
            np.testing.assert_allclose(to_np(g_mod.state_dict()[k]), v.numpy(), atol=1e-6)


def test_instance_norm_functional_and_errors(device, rng):
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.instance_norm(x, weight=w, bias=b),
                 rng.standard_normal((2, 3, 4)), rng.standard_normal(3), rng.standard_normal(3),
                 device=device)
    for f in (lambda lib: lib.nn.InstanceNorm2d(3)(lib.ones(2, 3)),
              lambda lib: lib.nn.InstanceNorm2d(3, affine=True)(lib.ones(1, 2, 3, 3))):
        with pytest.raises(ValueError) as t_err:
            f(torch)
        with pytest.raises(ValueError) as g_err:
            f(gt)
        assert str(g_err.value).replace("gputensor", "torch") == str(t_err.value)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        gt.nn.functional.instance_norm(gt.ones(2, 3, 1))
    with pytest.warns(UserWarning, match="does not match num_features"):
        gt.nn.InstanceNorm1d(4)(gt.ones(2, 3, 5))


# --- nn.utils.parametrize, weight_norm ------------------------------------------------------

def _param_run(lib):
    nn, P = lib.nn, lib.nn.utils.parametrize

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class Shift(nn.Module):
        def forward(self, X):
            return X + 1.0

    layer = nn.Linear(3, 3)
    with lib.no_grad():
        layer.weight.copy_(lib.arange(9.0).view(3, 3) / 4)
        layer.bias.zero_()
    w_obj = layer.weight
    P.register_parametrization(layer, "weight", Symmetric())
    P.register_parametrization(layer, "weight", Shift())
    out = [repr(layer), list(layer.state_dict()), [n for n, _ in layer.named_parameters()],
           layer.parametrizations.weight.original is w_obj, type(layer).__name__,
           P.is_parametrized(layer), P.is_parametrized(layer, "bias"),
           P.type_before_parametrizations(layer).__name__, layer.weight.tolist()]
    opt = lib.optim.SGD(layer.parameters(), lr=0.1)
    layer(lib.ones(2, 3)).pow(2).sum().backward()
    opt.step()
    out.append(layer.parametrizations.weight.original.detach().numpy().round(5).tolist())
    with P.cached():
        out.append(layer.weight is layer.weight)
    P.remove_parametrizations(layer, "weight")
    out += [repr(layer), list(layer.state_dict()), layer.weight.detach().numpy().round(5).tolist()]
    return out


def test_parametrize_matches_torch():
    assert [str(x).replace("gputensor", "torch") for x in _param_run(gt)] == \
        [str(x) for x in _param_run(torch)]


def test_parametrize_errors_and_deepcopy():
    import copy
    P = gt.nn.utils.parametrize
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(gt.nn.Linear(1, 1), "foo", gt.nn.Identity())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(gt.nn.Linear(1, 1), "weight")
    lin = P.register_parametrization(gt.nn.Linear(2, 2), "weight", gt.nn.Identity())
    dup = copy.deepcopy(lin)
    assert type(dup).__name__ == "ParametrizedLinear" and gt.equal(dup.weight, lin.weight)
    other = P.register_parametrization(gt.nn.Linear(2, 2), "weight", gt.nn.Identity())
    other.load_state_dict(lin.state_dict())
    assert gt.equal(other.weight, lin.weight)


def _wn_run(lib):
    nn, U = lib.nn, lib.nn.utils
    lin = nn.Linear(4, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.arange(12.0).view(3, 4) / 10 - 0.5)
        lin.bias.fill_(0.1)
    sd = {k: v.clone() for k, v in lin.state_dict().items()}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = U.weight_norm(lin)
    res = [[x.category.__name__ for x in w], list(m.state_dict()), to_np(m.weight_g).tolist()]
    m(lib.ones(2, 4)).sum().backward()
    res += [to_np(m.weight_g.grad).round(5).tolist(), to_np(m.weight_v.grad).round(5).tolist()]
    U.remove_weight_norm(m)
    res += [list(m.state_dict()), to_np(m.weight).round(5).tolist()]
    m2 = nn.Linear(4, 3)
    m2.load_state_dict(sd)
    m2 = U.parametrizations.weight_norm(m2)
    res += [repr(m2), list(m2.state_dict()), to_np(m2.weight).round(5).tolist()]
    m2(lib.ones(2, 4)).sum().backward()
    res.append(to_np(m2.parametrizations.weight.original0.grad).round(5).tolist())
    for dim in (None, 1, 2):
        c = nn.Conv1d(2, 3, 2)
        with lib.no_grad():
            c.weight.copy_(lib.arange(12.0).view(3, 2, 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res.append(to_np(U.weight_norm(c, dim=dim).weight_g).round(5).tolist())
    return res


def test_weight_norm_matches_torch():
    assert [str(x) for x in _wn_run(gt)] == [str(x) for x in _wn_run(torch)]


# --- spectral_norm (hook form and parametrization) -----------------------------------------

def _sn_pair(kind, ctor, **kw):
    t_mod, g_mod = getattr(torch.nn, ctor[0])(*ctor[1:]), getattr(gt.nn, ctor[0])(*ctor[1:])
    g_mod.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in
                           t_mod.state_dict().items()})
    if kind == "hook":
        torch.nn.utils.spectral_norm(t_mod, **kw)
        gt.nn.utils.spectral_norm(g_mod, **kw)
        bufs = ("weight_u", "weight_v")
        owner_t, owner_g = t_mod, g_mod
    else:
        torch.nn.utils.parametrizations.spectral_norm(t_mod, **kw)
        gt.nn.utils.parametrizations.spectral_norm(g_mod, **kw)
        bufs = ("_u", "_v")
        owner_t, owner_g = (t_mod.parametrizations.weight[0], g_mod.parametrizations.weight[0])
    for b in bufs:  # same power-iteration start (the random initial vectors differ)
        getattr(owner_g, b).copy_(gt.tensor(getattr(owner_t, b).numpy()))
    return t_mod, g_mod


@pytest.mark.parametrize("kind", ["hook", "param"])
@pytest.mark.parametrize("ctor,kw", [(("Linear", 4, 3), {}), (("Conv2d", 2, 3, 2), {}),
                                     (("ConvTranspose2d", 3, 2, 2), {}),
                                     (("Linear", 4, 3), dict(n_power_iterations=3))])
def test_spectral_norm_matches_torch(rng, kind, ctor, kw):
    t_mod, g_mod = _sn_pair(kind, ctor, **kw)
    assert sorted(g_mod.state_dict()) == sorted(t_mod.state_dict())
    shape = (2, 4) if ctor[0] == "Linear" else (1, ctor[1], 3, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    for train in (True, True, False):
        t_mod.train(train)
        g_mod.train(train)
        t_out, g_out = t_mod(torch.tensor(x)), g_mod(gt.tensor(x))
        np.testing.assert_allclose(to_np(g_out), t_out.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(to_np(g_mod.weight), t_mod.weight.detach().numpy(),
                                   atol=1e-5)
    t_out.pow(2).sum().backward()
    g_out.pow(2).sum().backward()
    for (n, tp), gp in zip(t_mod.named_parameters(), g_mod.parameters()):
        np.testing.assert_allclose(to_np(gp.grad), tp.grad.numpy(), atol=1e-4, err_msg=n)


def test_remove_spectral_norm():
    t_mod, g_mod = _sn_pair("hook", ("Linear", 3, 2))
    torch.nn.utils.remove_spectral_norm(t_mod)
    gt.nn.utils.remove_spectral_norm(g_mod)
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    np.testing.assert_allclose(to_np(g_mod.weight), t_mod.weight.detach().numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        gt.nn.utils.remove_spectral_norm(g_mod)
