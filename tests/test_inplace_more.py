"""In-place forms added for issue 8 (ops/inplace_more.py, ops/inplace_views.py) against torch:
unary/matrix ``foo_`` methods with gradients, comparison/logical in-place dtype rules,
top-level ``torch.foo_``, fill_diagonal_, view in-place ops, resize_, random fills."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt, to_np

F = np.float32
pytestmark = pytest.mark.filterwarnings(r"ignore:index_reduce\(\) is in beta")


@pytest.mark.parametrize("name,lo,hi", [("acos_", -0.9, 0.9), ("asin_", -0.9, 0.9),
                                        ("atan_", -2, 2), ("arccos_", -0.9, 0.9),
                                        ("arcsin_", -0.9, 0.9), ("arctan_", -2, 2),
                                        ("sinh_", -2, 2), ("cosh_", -2, 2), ("sgn_", -2, 2)])
def test_unary_inplace_methods(device, rng, name, lo, hi):
    x = rng.uniform(lo, hi, (3, 5)).astype(F)
    # torch's sgn gradient is a ZeroTensor that helpers can't read: compare values only
    check_lib_op(lambda L, a: getattr(a * 1, name)(), x, device=device, grad=name != "sgn_")


def test_arctan2_inplace(rng):
    a, b = rng.standard_normal((3, 4)).astype(F), rng.standard_normal((4,)).astype(F)
    check_lib_op(lambda L, x, y: (x * 1).arctan2_(y), a, b, device="cpu")


@pytest.mark.parametrize("name,shapes", [("addmm_", [(3, 4), (3, 2), (2, 4)]),
                                         ("addbmm_", [(3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("baddbmm_", [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("addmv_", [(3,), (3, 2), (2,)]),
                                         ("addr_", [(3, 4), (3,), (4,)])])
def test_matrix_inplace(rng, name, shapes):
    arrs = [rng.standard_normal(s).astype(F) for s in shapes]
    check_lib_op(lambda L, a, b, c: getattr(a * 1, name)(b, c, beta=0.5, alpha=2.0), *arrs,
                 device="cpu")


def test_matrix_inplace_cuda(rng):
    arrs = [rng.standard_normal(s).astype(F) for s in [(3, 5), (3, 2), (2, 5)]]
    check_lib_op(lambda L, a, b, c: (a * 1).addmm_(b, c), *arrs, device="cuda")


@pytest.mark.parametrize("name", ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "less_",
                                  "greater_equal_", "less_equal_", "not_equal_", "logical_and_",
                                  "logical_or_", "logical_xor_"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_comparison_inplace_dtype(name, dtype):
    a = np.array([[0, 1, 2], [3, 1, 0]]).astype(dtype)
    b = np.array([1.5, 1.0, 0.0], F)
    outs = []
    for L in (gt, torch):
        x = L.tensor(a.copy())
        r = getattr(x, name)(L.tensor(b))
        assert r is x
        outs.append((str(x.dtype).split(".")[-1], x.tolist()))
    assert outs[0] == outs[1]


def test_comparison_inplace_grad_is_zero(device):
    check_lib_op(lambda L, a: (a * 1).lt_(0.5) * a, np.array([0.1, 0.7, 0.3], F), device=device)
    x = to_gt(np.array([1.0, 2.0], F), device, requires_grad=True)
    y = x * 1
    y.logical_not_()
    assert y.tolist() == [0.0, 0.0] and y.requires_grad
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        gt.ones(3).lt_(gt.ones(2, 3))


def test_top_level_inplace_forms():
    names = ("abs_ acos_ arccos_ arcsin_ arctan_ asin_ atan_ ceil_ clamp_ clip_ cos_ cosh_ "
             "erf_ erfc_ exp2_ exp_ expm1_ fix_ floor_ frac_ log10_ log1p_ log2_ log_ neg_ "
             "negative_ reciprocal_ round_ rsqrt_ sigmoid_ sin_ sinh_ sqrt_ square_ tan_ tanh_ "
             "trunc_ zero_").split()
    base = np.array([0.2, 0.5, 0.7], F)
    for n in names:
        args = (0.1, 0.6) if n in ("clamp_", "clip_") else ()
        g, t = gt.tensor(base.copy()), torch.tensor(base.copy())
        rg, rt = getattr(gt, n)(g, *args), getattr(torch, n)(t, *args)
        assert rg is g and rt is t
        np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-6, err_msg=n)
    g, t = gt.ones(2), torch.ones(2)
    gt.fill_(g, 4.0), torch.fill_(t, 4.0)
    assert g.tolist() == t.tolist()
    g = gt.tensor([1.0, float("nan")])
    gt.nan_to_num_(g, nan=3.0)
    assert g.tolist() == [1.0, 3.0]
    g = gt.ones(3)
    gt.addmv_(g, gt.ones(3, 2), gt.ones(2))
    assert g.tolist() == [3.0, 3.0, 3.0]
    with pytest.raises(TypeError):
        gt.sin_(1.0)


def test_fill_out_of_place(device):
    check_lib_op(lambda L, a, v: L.fill(a, v.sum()) * a, np.ones((2, 3), F), np.array([2.0], F),
                 device=device)
    assert gt.fill(gt.ones(2, dtype=gt.int64), 3).dtype is gt.int64


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), True), ((7, 3), False),
                                        ((3, 7), True), ((3, 3, 3), False), ((5, 4), True)])
def test_fill_diagonal(shape, wrap):
    g, t = gt.zeros(*shape), torch.zeros(*shape)
    g.fill_diagonal_(2.5, wrap=wrap)
    t.fill_diagonal_(2.5, wrap=wrap)
    np.testing.assert_array_equal(to_np(g), t.numpy())


def test_fill_diagonal_grad_and_errors(device, rng):
    x = rng.standard_normal((4, 3)).astype(F)
    check_lib_op(lambda L, a: (a * 1).fill_diagonal_(0.5), x, device=device)
    with pytest.raises(RuntimeError, match="equal length"):
        gt.zeros(2, 3, 4).fill_diagonal_(1)
    with pytest.raises(RuntimeError):
        gt.zeros(3).fill_diagonal_(1)


def test_view_inplace_ops(device, rng):
    x = rng.standard_normal((2, 3)).astype(F)
    check_lib_op(lambda L, a: (a * 1).t_(), x, device=device)
    check_lib_op(lambda L, a: (a * 1).transpose_(0, 1) * L.arange(2.0), x, device="cpu")
    check_lib_op(lambda L, a: (a * 1).swapaxes_(0, 1), x, device="cpu")
    check_lib_op(lambda L, a: (a * 1).swapdims_(1, 0), x, device="cpu")
    check_lib_op(lambda L, a: (a * 1).unsqueeze_(1), x, device="cpu")
    check_lib_op(lambda L, a: (a * 1).unsqueeze_(0).squeeze_(), x, device="cpu")
    check_lib_op(lambda L, a: (a * 1).unsqueeze_(2).squeeze_(2), x, device="cpu")
    leaf = gt.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.t_()
    y = gt.ones(2, 3)
    v = y.t_()
    assert v is y and tuple(y.shape) == (3, 2)
    y[0, 1] = 5.0  # still the same storage, now transposed
    with pytest.raises(IndexError):
        gt.ones(2, 2).unsqueeze_(5)


def test_resize(device):
    for sizes in [(2, 3), (2, 2), (4,), (0,)]:
        g = gt.arange(6.0, device=device)
        t = torch.arange(6.0)
        g.resize_(*sizes), t.resize_(*sizes)
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_array_equal(to_np(g), t.numpy())
    g = gt.arange(6.0)
    g.resize_(3, 3)
    assert tuple(g.shape) == (3, 3) and g.reshape(-1)[:6].tolist() == list(range(6))
    a = gt.arange(4.0)
    gt.resize_as_(a, gt.ones(2, 2))
    assert a.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        gt.ones(2, requires_grad=True).resize_(3)


def test_index_write_inplace_methods(device, rng):
    x = rng.standard_normal((4, 3)).astype(F)
    src = rng.standard_normal((2, 3)).astype(F)
    idx = np.array([3, 0])
    check_lib_op(lambda L, a, s, i: (a * 1).index_copy_(0, i, s), x, src, idx, device=device)
    check_lib_op(lambda L, a, s, i: (a * 1).index_reduce_(0, i, s, "amax"), x, src, idx,
                 device="cpu")
    mask = np.array([[True, False, True], [False, False, True], [True, True, False],
                     [False, False, False]])
    check_lib_op(lambda L, a, m, s: (a * 1).masked_scatter_(m, s), x, mask,
                 rng.standard_normal((3, 3)).astype(F), device="cpu")
    check_lib_op(lambda L, a, i, s: (a * 1).put_(i, s, accumulate=True), x, np.array([1, -1, 1]),
                 rng.standard_normal(3).astype(F), device="cpu")
    check_lib_op(lambda L, a: (a * 1).renorm_(2, 0, 1.0), x, device="cpu")


@pytest.mark.parametrize("name,args", [("cauchy_", (0.5, 2.0)), ("log_normal_", (0.0, 0.5)),
                                       ("geometric_", (0.3,)), ("normal_", (1.0, 2.0)),
                                       ("uniform_", (-1.0, 1.0)), ("exponential_", (2.0,)),
                                       ("random_", (0, 5)), ("bernoulli_", (0.3,))])
def test_random_fills(device, name, args):
    x = gt.empty(4001 if device == "cpu" else 301, device=device)
    assert getattr(x, name)(*args) is x
    v = to_np(x)
    tv = getattr(torch.empty(200001), name)(*args).numpy()
    assert x.dtype is gt.float32 and np.isfinite(v).all()
    if name == "cauchy_":  # median/quartiles (the mean does not exist)
        np.testing.assert_allclose(np.percentile(v, [25, 50, 75]), [-1.5, 0.5, 2.5], atol=0.4)
    elif name == "geometric_":
        assert v.min() >= 1 and np.all(v == np.round(v))
        np.testing.assert_allclose(v.mean(), tv.mean(), rtol=0.15)
    else:
        np.testing.assert_allclose(v.mean(), tv.mean(), rtol=0.15, atol=0.05)


def test_random_fill_errors():
    for L in (gt, torch):
        with pytest.raises(RuntimeError):
            L.zeros(3, dtype=L.int64).cauchy_()
        with pytest.raises(RuntimeError):
            L.zeros(3).geometric_(1.5)
        with pytest.raises(RuntimeError):
            L.zeros(3).log_normal_(0.0, -1.0)
    g = gt.zeros(3, dtype=gt.int64).geometric_(0.5)
    assert g.dtype is gt.int64 and g.min().item() >= 1
