"""Gaps found by running PyTorch's beginner/intermediate tutorials with ``import gputensor as
torch``: each test pins one fix against torch (values, reprs, errors, gradients). This file:
tensor-level gaps (Size, printing, ops, grad_fn names); autograd and nn gaps are in
``test_tutorial_gaps_autograd.py`` and ``test_tutorial_gaps_nn.py``."""
import warnings

import numpy as np
import pytest
import torch
from helpers import check_lib_op, to_np

import gputensor as gt
from gputensor import _format


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


# --- dist ---------------------------------------------------------------------------------

def test_dist(device, rng):
    for p in (2, 1, 0, float("inf"), 3.5):
        check_lib_op(lambda lib, x, y: lib.dist(x, y, p), rng.standard_normal((2, 3)),
                     rng.standard_normal(3), device=device, grad=p not in (0,))
    check_lib_op(lambda lib, x, y: x.dist(y), rng.standard_normal(3), rng.standard_normal(3),
                 device=device)


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
