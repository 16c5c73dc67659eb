"""Gaps found by running PyTorch's beginner/intermediate tutorials with ``import gputensor as
torch``: each test pins one fix against torch (values, reprs, errors, gradients)."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check_lib_op, to_gt, to_np

import gputensor as gt
from gputensor import _format
from gputensor.autograd import functional as gtF
from gputensor.nn.utils import rnn as gt_rnn


def _repr(obj) -> str:
    return repr(obj).replace("gputensor.", "torch.")


# --- torch.Size arithmetic -----------------------------------------------------------------

def test_size_arithmetic_keeps_size():
    g, t = gt.Size([2, 3]), torch.Size([2, 3])
    for f in (lambda s: s + (4,), lambda s: (4,) + s, lambda s: s * 2, lambda s: 2 * s,
              lambda s: s + s, lambda s: s[1:] + s[:1]):
        assert type(f(g)) is gt.Size
        assert _repr(f(g)) == repr(f(t))
    assert gt.zeros(3, 4).shape[:-1] + (5,) == (3, 5)
    with pytest.raises(TypeError):
        g + [4]


def test_type_prints_public_class():
    """``print(type(x))`` (the tensors tutorial) names the class as torch does."""
    import pickle
    assert _repr(type(gt.ones(1))) == repr(type(torch.ones(1)))
    assert _repr(type(gt.ones(1).shape)) == repr(type(torch.ones(1).shape))
    x = pickle.loads(pickle.dumps(gt.ones(2)))
    assert type(x) is gt.Tensor and x.tolist() == [1.0, 1.0]


# --- namedtuple results print like torch.return_types -----------------------------------

def test_return_types_repr():
    a = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32)
    for f in (lambda lib, x: x.max(1), lambda lib, x: lib.topk(x, 2), lambda lib, x: x.sort(),
              lambda lib, x: lib.histogram(x.reshape(-1), bins=2)):
        assert _repr(f(gt, gt.tensor(a))) == repr(f(torch, torch.tensor(a)))
    v, i = gt.tensor(a).topk(1)
    assert v.shape == (2, 1) and i.dtype == gt.int64


# --- set_printoptions / get_printoptions ---------------------------------------------------

@pytest.fixture
def printoptions():
    yield
    gt.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("opts", [dict(precision=2), dict(precision=4, sci_mode=False),
                                  dict(sci_mode=True), dict(threshold=5, edgeitems=2),
                                  dict(linewidth=40), dict(profile="short"),
                                  dict(profile="full")])
def test_set_printoptions_matches_torch(printoptions, opts):
    gt.set_printoptions(**opts)
    torch.set_printoptions(**opts)
    for a in (np.array([1.23456, 2.5], np.float32), np.array([1e-6, 1.0], np.float32),
              np.arange(30, dtype=np.float32), np.arange(10),
              np.arange(2000.0, dtype=np.float32).reshape(40, 50)):
        assert _repr(gt.tensor(a)) == repr(torch.tensor(a))
    assert _format.get_printoptions() == torch._tensor_str.get_printoptions()


def test_printoptions_default_profile_restores(printoptions):
    gt.set_printoptions(precision=1, threshold=3, sci_mode=True)
    gt.set_printoptions(profile="default")
    assert _format.get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3,
                                              linewidth=80, sci_mode=None)
    assert repr(gt.tensor([1.23456])) == "tensor([1.2346])"


# --- float(tensor that requires grad) warns once, as torch does ---------------------------

def test_float_of_requires_grad_warns_once(monkeypatch):
    import sys
    monkeypatch.setattr(sys.modules["gputensor.tensor"], "_warned_float", False)
    loss = gt.tensor(0.5, requires_grad=True) * 2
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with gt.no_grad():
            assert float(loss) == 1.0
        assert not w
        assert float(loss) == 1.0
        assert float(loss) == 1.0
        assert float(loss.detach()) == 1.0
    assert len(w) == 1 and "requires_grad=True to a scalar" in str(w[0].message)
    assert issubclass(w[0].category, UserWarning)


# --- torch.autograd.functional ---------------------------------------------------------------

def _cmp(g, t, atol=1e-6):
    if isinstance(t, tuple):
        assert isinstance(g, tuple) and len(g) == len(t)
        for a, b in zip(g, t):
            _cmp(a, b, atol)
        return
    assert tuple(g.shape) == tuple(t.shape)
    np.testing.assert_allclose(to_np(g), t.detach().numpy(), atol=atol, rtol=1e-5)


def _both(arrays, device):
    return (tuple(to_gt(a, device) for a in arrays),
            tuple(torch.tensor(a) for a in arrays))


F1 = lambda lib, x: (x.exp() * x.sin()).sum(dim=-1)  # noqa: E731
F2 = lambda lib, x, y: (x.unsqueeze(-1) * y).tanh()  # noqa: E731
F3 = lambda lib, x, y: ((x ** 3).sum() * y.sum(), x * 2)  # noqa: E731


@pytest.mark.parametrize("fn,n_in,tuple_in", [(F1, 1, False), (F1, 1, True), (F2, 2, True),
                                               (F3, 2, True)])
def test_jacobian_matches_torch(device, rng, fn, n_in, tuple_in):
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal(3)][:n_in]
    g_in, t_in = _both(arrays, device)
    g = gtF.jacobian(lambda *a: fn(gt, *a), g_in if tuple_in else g_in[0])
    t = torch.autograd.functional.jacobian(lambda *a: fn(torch, *a),
                                           t_in if tuple_in else t_in[0])
    _cmp(g, t)


def test_hessian_vjp_jvp_vhp_hvp_match_torch(rng):
    f = lambda lib, x, y: (x.pow(2).sum() * y.sin().sum() + (x * x).exp().sum())  # noqa: E731
    arrays = [rng.standard_normal(3), rng.standard_normal(2)]
    (gx, gy), (tx, ty) = _both(arrays, "cpu")
    G, T = (lambda *a: f(gt, *a)), (lambda *a: f(torch, *a))
    tF = torch.autograd.functional
    _cmp(gtF.hessian(G, (gx, gy)), tF.hessian(T, (tx, ty)))
    _cmp(gtF.hessian(lambda x: G(x, gy), gx), tF.hessian(lambda x: T(x, ty), tx))
    v = (np.ones(3), np.arange(2.0))
    (gvx, gvy), (tvx, tvy) = _both(v, "cpu")
    for name in ("vjp", "vhp", "hvp"):
        vv = ((gvx, gvy), (tvx, tvy)) if name != "vjp" else (None, None)
        _cmp(getattr(gtF, name)(G, (gx, gy), vv[0]), getattr(tF, name)(T, (tx, ty), vv[1]))
    h = lambda lib, x: x.sin() * x  # noqa: E731
    _cmp(gtF.jvp(lambda x: h(gt, x), gx, gvx), tF.jvp(lambda x: h(torch, x), tx, tvx))
    _cmp(gtF.vjp(lambda x: h(gt, x), gx, gvx), tF.vjp(lambda x: h(torch, x), tx, tvx))


def test_jacobian_create_graph_is_differentiable():
    x = gt.tensor([1.0, 2.0], dtype=gt.float64, requires_grad=True)
    j = gtF.jacobian(lambda x: x ** 3, x, create_graph=True)
    assert j.requires_grad
    j.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [6.0, 12.0])
    assert not gtF.jacobian(lambda x: x ** 3, x).requires_grad


def test_autograd_functional_errors_match_torch():
    cases = [(lambda F, lib: F.hessian(lambda x: x * 2, lib.ones(2)), RuntimeError),
             (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(2)), RuntimeError),
             (lambda F, lib: F.jacobian(lambda x: x, [lib.ones(2)]), TypeError),
             (lambda F, lib: F.vjp(lambda x: x * 2, lib.ones(2), lib.ones(3)), RuntimeError)]
    for case, exc in cases:
        with pytest.raises(exc) as t_err:
            case(torch.autograd.functional, torch)
        with pytest.raises(exc) as g_err:
            case(gtF, gt)
        assert str(g_err.value).replace("gputensor", "torch") == str(t_err.value)
    # an output independent of the input: zeros, as torch without strict
    np.testing.assert_array_equal(to_np(gtF.jacobian(lambda x: gt.ones(2), gt.ones(3))),
                                  np.zeros((2, 3)))


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


# --- multinomial ----------------------------------------------------------------------------

def test_multinomial_errors_match_torch():
    cases = [lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
             lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
             lambda lib: lib.multinomial(lib.ones(2), 3),
             lambda lib: lib.multinomial(lib.tensor([-1.0, 1.0]), 1),
             lambda lib: lib.multinomial(lib.zeros(3), 1),
             lambda lib: lib.multinomial(lib.ones(3), 0)]
    for case in cases:
        with pytest.raises(RuntimeError) as t_err:
            case(torch)
        with pytest.raises(RuntimeError, match=str(t_err.value).replace("(", r"\(")
                           .replace(")", r"\)").replace("`", ".")):
            case(gt)


def test_multinomial_samples(device):
    gt.manual_seed(0)
    p = gt.tensor([[1.0, 2.0, 7.0], [0.0, 0.0, 1.0]], device=device)
    s = gt.multinomial(p, 400, replacement=True)
    assert s.shape == (2, 400) and s.dtype == gt.int64 and s.device.type == device
    counts = np.bincount(to_np(s[0]), minlength=3) / 400
    np.testing.assert_allclose(counts, [0.1, 0.2, 0.7], atol=0.08)
    assert (to_np(s[1]) == 2).all()
    w = p[0].multinomial(3)
    assert sorted(to_np(w).tolist()) == [0, 1, 2]
    assert gt.multinomial(gt.tensor([0.0, 1.0, 0.0], device=device), 1).tolist() == [1]
    g1 = gt.multinomial(p, 5, True, generator=gt.Generator().manual_seed(3))
    g2 = gt.multinomial(p, 5, True, generator=gt.Generator().manual_seed(3))
    assert gt.equal(g1, g2)


def test_multinomial_without_replacement_frequencies():
    gt.manual_seed(1)
    first = gt.multinomial(gt.tensor([[1.0, 2.0, 7.0]] * 3000), 2)[:, 0]
    np.testing.assert_allclose(np.bincount(to_np(first), minlength=3) / 3000, [0.1, 0.2, 0.7],
                               atol=0.03)


# --- rot90, diff, ravel, column_stack -----------------------------------------------------

@pytest.mark.parametrize("k,dims", [(1, (0, 1)), (-1, (0, 1)), (2, (1, 0)), (3, (0, 2)),
                                    (4, (1, 2))])
def test_rot90(device, rng, k, dims):
    check_lib_op(lambda lib, x: lib.rot90(x, k, dims), rng.standard_normal((2, 3, 1)),
                 device=device)


@pytest.mark.parametrize("n,dim,extra", [(1, -1, False), (2, 0, False), (1, 1, True),
                                         (0, 0, False)])
def test_diff(device, rng, n, dim, extra):
    a, pre, app = (rng.standard_normal((3, 4)), rng.standard_normal((3, 1)),
                   rng.standard_normal((3, 2)))
    if extra:
        check_lib_op(lambda lib, x, p, q: lib.diff(x, n, dim, prepend=p, append=q), a, pre, app,
                     device=device)
    else:
        check_lib_op(lambda lib, x: x.diff(n, dim), a, device=device)
    b = np.array([True, False, False, True])
    check_lib_op(lambda lib, x: lib.diff(x), b, device=device, grad=False)


def test_ravel_column_stack_is_floating_point(device, rng):
    check_lib_op(lambda lib, x: lib.ravel(x.t()), rng.standard_normal((2, 3)), device=device)
    check_lib_op(lambda lib, x, y, z: lib.column_stack([x, y, z]),
                 rng.standard_normal(()), rng.standard_normal(1), rng.standard_normal((1, 2)),
                 device=device)
    assert gt.is_floating_point(gt.ones(1)) and not gt.is_floating_point(gt.ones(1).long())
    for f in (lambda lib: lib.rot90(lib.ones(2, 2), 1, [0]), lambda lib: lib.diff(lib.tensor(1)),
              lambda lib: lib.column_stack([])):
        with pytest.raises(RuntimeError) as t_err:
            f(torch)
        with pytest.raises(RuntimeError, match=str(t_err.value)):
            f(gt)


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


# --- cosine_similarity, pairwise_distance, cdist and their modules --------------------------

@pytest.mark.parametrize("shapes,kw", [(((3, 4), (3, 4)), dict()), (((2, 3, 4), (1, 4)),
                                                                     dict(dim=-1)),
                                       (((3, 4), (3, 4)), dict(dim=0, eps=1e-3))])
def test_cosine_similarity(device, rng, shapes, kw):
    a, b = (rng.standard_normal(s) for s in shapes)
    check_lib_op(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y, **kw), a, b,
                 device=device)
    check_lib_op(lambda lib, x, y: lib.nn.CosineSimilarity(**kw)(x, y), a, b, device=device,
                 grad=False)
    check_lib_op(lambda lib, x, y: lib.cosine_similarity(x, y, **kw), a, b, device=device,
                 grad=False)


@pytest.mark.parametrize("kw", [dict(), dict(p=1.0, keepdim=True), dict(p=3.0, eps=1e-3)])
def test_pairwise_distance(device, rng, kw):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_lib_op(lambda lib, x, y: lib.nn.functional.pairwise_distance(x, y, **kw), a, b,
                 device=device)
    check_lib_op(lambda lib, x, y: lib.nn.PairwiseDistance(**kw)(x, y), a, b, device=device,
                 grad=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_cdist(device, rng, p):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    check_lib_op(lambda lib, x, y: lib.cdist(x, y, p=p), a, b, device=device)
    z = gt.zeros(2, 3, requires_grad=True)
    gt.cdist(z, gt.zeros(2, 3)).sum().backward()
    assert to_np(z.grad).tolist() == [[0.0] * 3] * 2  # zero distance: zero gradient, as torch


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


# --- Module full backward hooks ------------------------------------------------------------

def _hook_log(lib):
    m = lib.nn.Linear(3, 2)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=lib.float32))
        m.bias.fill_(0.1)
    log = []

    def full(mod, gi, go):
        log.append(("full", [None if g is None else to_np(g).round(4).tolist() for g in gi],
                    [to_np(g).round(4).tolist() for g in go]))

    h = m.register_full_backward_hook(full)
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", len(go))))
    x = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    m(x).sum().backward()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m(lib.tensor([[1.0, 2.0, 3.0]])).pow(2).sum().backward()
    log.append(any("no inputs require gradients" in str(x.message) for x in w))
    h.remove()
    m(x).sum().backward()
    relu = lib.nn.ReLU()
    relu.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    relu.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    y = lib.tensor([1.0, -1.0, 2.0], requires_grad=True)
    z = lib.tensor([1.0, -1.0, 2.0], requires_grad=True)
    (relu(y).sum() + lib.nn.Sequential(relu)(z * 1).sum()).backward()
    log.append((y.grad.tolist(), z.grad.tolist()))
    return log


def test_full_backward_hooks_match_torch():
    assert _hook_log(gt) == _hook_log(torch)


def test_full_backward_hook_errors():
    m = gt.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m(gt.ones(1, 2, requires_grad=True)).sum().backward()
    with gt.no_grad():
        assert not m(gt.ones(1, 2, requires_grad=True)).requires_grad


# --- custom Functions: setup_context style, once_differentiable; anomaly mode -----------

def _cube(lib):
    class MyCube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3, 3 * x ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output[1])

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    r, dx = MyCube.apply(x)
    (r.sum() + dx.sum()).backward()
    return MyCube, x.grad.tolist(), type(r.grad_fn).__name__


def test_function_setup_context_style():
    g_fn, g_grad, g_name = _cube(gt)
    _, t_grad, t_name = _cube(torch)
    assert g_grad == t_grad and g_name == t_name
    x = gt.tensor([0.5, -1.5], dtype=gt.float64, requires_grad=True)
    assert gt.autograd.gradcheck(lambda x: g_fn.apply(x)[0], (x,))


def test_once_differentiable_backward_records_no_graph():
    class Double(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @gt.autograd.function.once_differentiable
        def backward(ctx, g):
            assert not gt.is_grad_enabled()
            return g * 2

    x = gt.ones(2, requires_grad=True)
    (g,) = gt.autograd.grad(Double.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 2.0] and not g.requires_grad


def test_detect_anomaly_names_the_nan_backward():
    x = gt.tensor([0.0, 1.0], requires_grad=True)
    assert not gt.is_anomaly_enabled()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = gt.autograd.detect_anomaly()
    with ctx:
        assert gt.is_anomaly_enabled() and gt.autograd.is_anomaly_check_nan_enabled()
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values "
                                               r"in its 0th output\."):
            (x.sqrt() * 0).sum().backward()
    assert not gt.is_anomaly_enabled()
    with gt.autograd.set_detect_anomaly(True, check_nan=False):
        (x.sqrt() * 0).sum().backward()  # no check
    gt.autograd.set_detect_anomaly(True)
    try:
        assert gt.is_anomaly_enabled()
    finally:
        gt.autograd.set_detect_anomaly(False)
    y = gt.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():  # torch's own anomaly warnings (forward tracebacks)
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="SqrtBackward0"):
            t = torch.tensor([0.0, 1.0], requires_grad=True)
            (t.sqrt() * 0).sum().backward()
    (y.sqrt() * 0).sum().backward()  # off again: nan gradient, no error (as torch)
    assert np.isnan(to_np(y.grad)[0])


def test_dist(device, rng):
    for p in (2, 1, 0, float("inf"), 3.5):
        check_lib_op(lambda lib, x, y: lib.dist(x, y, p), rng.standard_normal((2, 3)),
                     rng.standard_normal(3), device=device, grad=p not in (0,))
    check_lib_op(lambda lib, x, y: x.dist(y), rng.standard_normal(3), rng.standard_normal(3),
                 device=device)


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


# --- memory formats, torch.random ----------------------------------------------------------

def test_memory_formats():
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        assert _repr(getattr(gt, name)) == repr(getattr(torch, name))
    for shape in ((1, 1, 2, 2), (1, 3, 2, 2), (1, 3, 1, 1), (2, 2), (1, 2, 1, 2, 2)):
        a = np.ones(shape, np.float32)
        for fmt in ("contiguous_format", "channels_last", "channels_last_3d"):
            assert gt.tensor(a).is_contiguous(memory_format=getattr(gt, fmt)) == \
                torch.tensor(a).is_contiguous(memory_format=getattr(torch, fmt))
    x = gt.ones(1, 3, 2, 2)
    assert x.to(memory_format=gt.channels_last).shape == (1, 3, 2, 2)
    assert x.contiguous(memory_format=gt.channels_last).is_contiguous()
    assert x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).is_contiguous(
        memory_format=gt.channels_last)


def test_torch_random_module():
    gt.random.manual_seed(3)
    assert gt.random.initial_seed() == 3
    a = gt.rand(2)
    gt.random.manual_seed(3)
    with gt.random.fork_rng():
        gt.rand(5)
    assert gt.equal(gt.rand(2), a)
    state = gt.random.get_rng_state()
    b = gt.rand(3)
    gt.random.set_rng_state(state)
    assert gt.equal(gt.rand(3), b)
    with gt.random.fork_rng(enabled=False):
        gt.rand(1)


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


# --- grad_fn names of views and indexing, as printed in tensors -----------------------------

VIEW_CASES = ["x.view(3, 2)", "x.reshape(3, 2)", "x.t().reshape(6)", "x.flatten()",
              "x.unflatten(1, (3, 1))", "x.view_as(x)", "x.unsqueeze(0)",
              "x.unsqueeze(0).squeeze(0)", "x.unsqueeze(0).squeeze()",
              "x.unsqueeze(0).squeeze((0,))", "x.t()", "x.T", "x.transpose(0, 1)", "x.mT",
              "x.swapaxes(0, 1)", "x.permute(1, 0)", "x[0]", "x[-1]", "x[1:]", "x[:, 1:]",
              "x[:]", "x[...]", "x[:, :]", "x[0, 1]", "x[1:, 0]", "x[0, 1:]", "x[None]",
              "x[:, None]", "x[None, 0]", "x[..., 0]", "x[0, ..., 1:]", "x[[0]]", "x[0, [1]]",
              "x[x > 0]", "x[::2]", "x.narrow(1, 0, 2)", "x.select(1, 0)", "x.chunk(3, 1)[0]",
              "x.split(1)[1]", "x.unbind()[0]", "x.expand(2, 2, 3)", "x.movedim(0, 1)"]


def test_view_and_index_grad_fn_names_match_torch():
    gx, tx = gt.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    for case in VIEW_CASES:
        g, t = eval(case, {"x": gx}), eval(case, {"x": tx})
        assert g.grad_fn.name() == t.grad_fn.name(), case
        assert _repr(g) == repr(t), case
    check_lib_op(lambda lib, y: (y[0] * 2 + y.t()[1].sum() + y.view(-1)[2] +  # renamed
                                 y.unsqueeze(0).squeeze(0)[1:, ::2].sum()),  # nodes still work
                 np.arange(6.0).reshape(2, 3), device="cpu")


FUSED_CASES = ["F.linear(x, w, b)", "F.linear(x, w)", "F.linear(x3, w, b)", "F.linear(x3, w)",
               "x @ w.t()", "x.mm(w.t())", "torch.bmm(x3, x3.transpose(1, 2))",
               "torch.dot(x[0], x[1])", "w.mv(x[0])", "F.mse_loss(x, x.detach() * 2)",
               "F.mse_loss(x, x.detach(), reduction='sum')", "F.cross_entropy(x, y)",
               "F.cross_entropy(x, y, weight=x[0].detach().abs())",
               "F.cross_entropy(x3, y3)", "F.nll_loss(x.log_softmax(1), y)",
               "F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid())",
               "F.binary_cross_entropy_with_logits(x, x.detach().sigmoid())",
               "F.smooth_l1_loss(x, x.detach() * 2)", "F.huber_loss(x, x.detach() * 2)"]


def test_fused_op_grad_fn_names_match_torch(rng):
    """The loss and linear layers' results print torch's node names (the autograd tutorial's
    ``loss.grad_fn``); their gradients are unchanged."""
    a = rng.standard_normal((2, 3)).astype(np.float32)
    a3 = rng.standard_normal((2, 3, 3)).astype(np.float32)
    wa, ba = rng.standard_normal((4, 3)).astype(np.float32), np.ones(4, np.float32)

    def env(lib):
        return dict(torch=lib, F=lib.nn.functional, x=lib.tensor(a, requires_grad=True),
                    x3=lib.tensor(a3, requires_grad=True), w=lib.tensor(wa, requires_grad=True),
                    b=lib.tensor(ba, requires_grad=True), y=lib.tensor([0, 2]),
                    y3=lib.tensor([[0, 1, 2], [2, 1, 0]]))

    for case in FUSED_CASES:
        g_env, t_env = env(gt), env(torch)
        g, t = eval(case, g_env), eval(case, t_env)
        assert g.grad_fn.name() == t.grad_fn.name(), case
        np.testing.assert_allclose(to_np(g), t.detach().numpy(), atol=1e-5, err_msg=case)
        g.sum().backward()
        t.sum().backward()
        for k in ("x", "x3", "w", "b"):
            if t_env[k].grad is not None:
                np.testing.assert_allclose(to_np(g_env[k].grad), t_env[k].grad.numpy(),
                                           atol=1e-5, err_msg=case)
