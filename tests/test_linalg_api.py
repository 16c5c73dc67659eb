"""The product API (outer mm bmm dot inner vdot mv matmul addmm baddbmm addbmm addmv addr) and
logspace / bernoulli against torch, on cpu and cuda: values, dtypes, gradients and errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op

# every rank combination torch.matmul dispatches differently, and broadcast batch dims
MATMUL_SHAPES = [
    ((3,), (3,)),            # dot
    ((3,), (3, 2)),          # 1-D @ 2-D
    ((2, 3), (3,)),          # 2-D @ 1-D
    ((2, 3), (3, 4)),        # mm
    ((2, 2, 3), (3,)),       # N-D @ 1-D
    ((3,), (2, 3, 2)),       # 1-D @ N-D
    ((2, 2, 3), (3, 2)),     # N-D @ 2-D
    ((2, 3), (2, 3, 2)),     # 2-D @ N-D
    ((2, 2, 3), (2, 3, 2)),  # bmm
    ((2, 1, 1, 2), (3, 2, 1)),   # broadcast batch dims
    ((1, 1, 2), (2, 1, 2, 1)),   # broadcast, other has more dims
]


def _arr(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_ranks(sa, sb, device, rng):
    check_lib_op(lambda L, a, b: L.matmul(a, b), _arr(rng, *sa), _arr(rng, *sb), device=device)


def test_matmul_operator_and_method(device, rng):
    a, b = _arr(rng, 3), _arr(rng, 3, 2)
    check_lib_op(lambda L, x, y: x @ y, a, b, device=device, grad=False)
    check_lib_op(lambda L, x, y: x.matmul(y), b.T.copy(), a, device=device, grad=False)


def test_matmul_1d_2d_values(device):
    """The 1-D @ 2-D case by hand: [1, 2] @ [[1, 2, 3], [4, 5, 6]] = [9, 12, 15]."""
    a = gt.tensor([1.0, 2.0], device=device)
    b = gt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    assert (a @ b).tolist() == [9.0, 12.0, 15.0]
    assert (b.T @ a).tolist() == [9.0, 12.0, 15.0]


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_matmul(dtype, device):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    b = np.arange(12, dtype=dtype).reshape(3, 4) - 5
    check_lib_op(lambda L, x, y: L.matmul(x, y), a, b, device=device, grad=False)
    check_lib_op(lambda L, x, y: L.mv(x, y), a, b[:, 0].copy(), device=device, grad=False)
    check_lib_op(lambda L, x: L.dot(x, x), b[0].copy(), device=device, grad=False)


PRODUCTS = [
    ("mm", lambda L, a, b: L.mm(a, b), [(2, 3), (3, 4)]),
    ("mm_method", lambda L, a, b: a.mm(b), [(3, 2), (2, 2)]),
    ("bmm", lambda L, a, b: L.bmm(a, b), [(2, 3, 2), (2, 2, 3)]),
    ("dot", lambda L, a, b: L.dot(a, b), [(4,), (4,)]),
    ("vdot", lambda L, a, b: L.vdot(a, b), [(4,), (4,)]),
    ("inner_1d", lambda L, a, b: L.inner(a, b), [(3,), (3,)]),
    ("inner_nd", lambda L, a, b: L.inner(a, b), [(2, 3), (2, 2, 3)]),
    ("inner_scalar", lambda L, a, b: L.inner(a, b), [(), (2, 3)]),
    ("mv", lambda L, a, b: L.mv(a, b), [(2, 3), (3,)]),
    ("outer", lambda L, a, b: L.outer(a, b), [(3,), (2,)]),
    ("ger", lambda L, a, b: a.ger(b), [(2,), (3,)]),
    ("addmm", lambda L, c, a, b: L.addmm(c, a, b), [(2, 4), (2, 3), (3, 4)]),
    ("addmm_scaled", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0),
     [(4,), (2, 3), (3, 4)]),
    ("addmm_beta0", lambda L, c, a, b: c.addmm(a, b, beta=0), [(2, 4), (2, 3), (3, 4)]),
    ("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, alpha=-1.5), [(2, 3, 2), (2, 3, 2),
                                                                    (2, 2, 2)]),
    ("baddbmm_bcast", lambda L, c, a, b: L.baddbmm(c, a, b, beta=2), [(3, 2), (2, 3, 2),
                                                                      (2, 2, 2)]),
    ("addbmm", lambda L, c, a, b: L.addbmm(c, a, b), [(3, 2), (2, 3, 2), (2, 2, 2)]),
    ("addmv", lambda L, c, a, b: L.addmv(c, a, b, beta=3, alpha=0.5), [(2,), (2, 3), (3,)]),
    ("addr", lambda L, c, a, b: L.addr(c, a, b), [(2, 3), (2,), (3,)]),
]


@pytest.mark.parametrize("f,shapes", [p[1:] for p in PRODUCTS], ids=[p[0] for p in PRODUCTS])
def test_products(f, shapes, device, rng):
    check_lib_op(f, *[_arr(rng, *s) for s in shapes], device=device)


def test_outer_values_and_promotion(device):
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array([1, -1], np.int64)
    check_lib_op(lambda L, x, y: L.outer(x, y), a, b, device=device, grad=False)
    out = gt.outer(gt.tensor([1.0, 2.0], device=device), gt.tensor([3.0, 4.0, 5.0], device=device))
    assert out.tolist() == [[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]


def test_addmm_beta0_ignores_nan():
    c = np.full((2, 2), np.nan, np.float32)
    a = np.eye(2, dtype=np.float32)
    check_lib_op(lambda L, x, y: L.addmm(x, y, y, beta=0), c, a, device="cpu", grad=False)


def test_addmm_integer_scalars():
    ones = np.ones((2, 2), np.int64)
    check_lib_op(lambda L, x: L.addmm(x, x, x, beta=0.5, alpha=1.5), ones, device="cpu",
                 grad=False)


ERRORS = [
    ("matmul", [(2, 3), (4, 5)], "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("matmul", [(3,), (4, 5)], "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
    ("matmul", [(2, 3, 4), (5, 6)], "mat1 and mat2 shapes cannot be multiplied (6x4 and 5x6)"),
    ("matmul", [(3,), (4,)], "inconsistent tensor size, expected tensor [3] and src [4] to have "
                             "the same number of elements, but got 3 and 4 elements respectively"),
    ("matmul", [(2, 3), (4,)], "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("matmul", [(2, 2, 3), (4,)], "size mismatch, got input (4), mat (4x3), vec (4)"),
    ("matmul", [(2, 3, 4), (2, 5, 6)], "Expected size for first two dimensions of batch2 tensor "
                                       "to be: [2, 4] but got: [2, 5]."),
    ("matmul", [(2, 3), (2, 4, 5)], "Expected size for first two dimensions of batch2 tensor to "
                                    "be: [2, 3] but got: [2, 4]."),
    ("matmul", [(2, 3, 4), (3, 4, 6)], "The size of tensor a (2) must match the size of tensor b "
                                       "(3) at non-singleton dimension 0"),
    ("matmul", [(), (3,)], "both arguments to matmul need to be at least 1D, but they are 0D "
                           "and 1D"),
    ("mm", [(2, 3), (4, 5)], "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("mm", [(3,), (3, 4)], "self must be a matrix"),
    ("mm", [(2, 3), (3,)], "mat2 must be a matrix"),
    ("bmm", [(2, 2, 3), (2, 4, 5)], "Expected size for first two dimensions of batch2 tensor to "
                                    "be: [2, 3] but got: [2, 4]."),
    ("bmm", [(2, 2, 3), (3, 3, 5)], "Expected size for first two dimensions of batch2 tensor to "
                                    "be: [2, 3] but got: [3, 3]."),
    ("bmm", [(2, 3), (3, 5)], "batch1 must be a 3D tensor"),
    ("bmm", [(2, 3, 4), (4, 5)], "batch2 must be a 3D tensor"),
    ("dot", [(3,), (4,)], "inconsistent tensor size, expected tensor [3] and src [4] to have the "
                          "same number of elements, but got 3 and 4 elements respectively"),
    ("dot", [(3, 2), (3, 2)], "1D tensors expected, but got 2D and 2D tensors"),
    ("vdot", [(3, 1), (3,)], "1D tensors expected, but got 2D and 1D tensors"),
    ("inner", [(2, 3), (4, 5)], "inner() the last dimension must match on both input tensors but "
                                "got shapes [2, 3] and [4, 5]"),
    ("mv", [(3,), (3,)], "vector + matrix @ vector expected, got 1, 1, 1"),
    ("mv", [(2, 3), (3, 1)], "vector + matrix @ vector expected, got 1, 2, 2"),
    ("mv", [(2, 3), (4,)], "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("outer", [(3, 1), (4,)], "outer: Expected 1-D argument self, but got 2-D"),
    ("outer", [(2,), (3, 1)], "outer: Expected 1-D argument vec2, but got 2-D"),
    ("addmm", [(2, 4), (3,), (3, 4)], "mat1 must be a matrix, got 1-D tensor"),
    ("addmm", [(2, 4), (2, 3), (4, 4)], "mat1 and mat2 shapes cannot be multiplied (2x3 and "
                                        "4x4)"),
    ("addmm", [(3, 4), (2, 3), (3, 4)], "The expanded size of the tensor (2) must match the "
                                        "existing size (3) at non-singleton dimension 0.  Target "
                                        "sizes: [2, 4].  Tensor sizes: [3, 4]"),
    ("baddbmm", [(2, 3, 4), (2, 3, 5), (2, 4, 4)], "Expected size for first two dimensions of "
                                                   "batch2 tensor to be: [2, 5] but got: [2, 4]."),
]


@pytest.mark.parametrize("name,shapes,msg", ERRORS, ids=[f"{e[0]}{e[1]}" for e in ERRORS])
def test_errors_match_torch(name, shapes, msg):
    for lib in (torch, gt):
        with pytest.raises(RuntimeError) as info:
            getattr(lib, name)(*[lib.zeros(s) for s in shapes])
        assert str(info.value) == msg, lib.__name__


DTYPE_ERRORS = [
    ("matmul", [(2, 3), (3, 2)], "expected m1 and m2 to have the same dtype, but got: float != "
                                 "double"),
    ("matmul", [(3,), (3,)], "dot : expected both vectors to have same dtype, but found Float "
                             "and Double"),
    ("matmul", [(2, 3), (3,)], "addmv input tensors must have the same dtype, but got Double, "
                               "Float, and Double"),
    ("matmul", [(2, 2, 3), (2, 3, 2)], "expected scalar type Float but found Double"),
    ("bmm", [(2, 3, 4), (2, 4, 5)], "expected scalar type Float but found Double"),
    ("inner", [(2, 3), (4, 3)], "both inputs should have same dtype"),
]


@pytest.mark.parametrize("name,shapes,msg", DTYPE_ERRORS, ids=[f"{e[0]}{e[1]}"
                                                                for e in DTYPE_ERRORS])
def test_dtype_errors_match_torch(name, shapes, msg):
    for lib in (torch, gt):
        with pytest.raises(RuntimeError) as info:
            getattr(lib, name)(lib.zeros(shapes[0]), lib.zeros(shapes[1], dtype=lib.float64))
        assert str(info.value) == msg, lib.__name__


def test_non_tensor_argument():
    for lib in (torch, gt):
        with pytest.raises(TypeError, match="argument 'mat2' \\(position 2\\) must be Tensor, not "
                                            "int"):
            lib.mm(lib.zeros(2, 3), 3)


# -- logspace ---------------------------------------------------------------------------------

LOGSPACE = [
    ((0, 2, 5), {}),
    ((0, 2, 5), {"base": 2.0}),
    ((-1, 1, 4), {"dtype": "float64"}),
    ((0, 3, 4), {"dtype": "int64"}),
    ((2, 0, 1), {}),
    ((0, 1, 0), {}),
    ((1, -2, 7), {"base": 3}),
]


@pytest.mark.parametrize("args,kw", LOGSPACE, ids=[str(a) + str(k) for a, k in LOGSPACE])
def test_logspace(args, kw, device):
    gkw = {k: getattr(gt, v) if k == "dtype" else v for k, v in kw.items()}
    tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
    g, t = gt.logspace(*args, device=device, **gkw), torch.logspace(*args, **tkw)
    assert g.device.type == device
    assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(g.cpu().numpy(), t.numpy(), rtol=1e-6)


def test_logspace_requires_grad():
    assert gt.logspace(0, 1, 3, requires_grad=True).requires_grad


# -- bernoulli --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_bernoulli_shape_dtype_values(dtype, device):
    p = gt.full((3, 5), 0.5, dtype=getattr(gt, dtype), device=device)
    out = gt.bernoulli(p)
    assert out.shape == (3, 5) and out.dtype == p.dtype and out.device.type == device
    assert set(np.unique(out.cpu().numpy())) <= {0.0, 1.0}
    assert p.bernoulli().shape == (3, 5)


def test_bernoulli_statistics(device):
    probs = gt.tensor([0.0, 0.2, 0.7, 1.0], device=device).repeat(4000, 1)
    means = gt.bernoulli(probs).mean(0).cpu().numpy()
    assert means[0] == 0.0 and means[3] == 1.0
    np.testing.assert_allclose(means[1:3], [0.2, 0.7], atol=0.03)
    fixed = gt.bernoulli(gt.zeros(20000, device=device), 0.3)
    assert abs(fixed.mean().item() - 0.3) < 0.02


def test_bernoulli_generator_reproducible():
    p = gt.full((200,), 0.5)
    a = gt.bernoulli(p, generator=gt.Generator().manual_seed(7))
    b = gt.bernoulli(p, generator=gt.Generator().manual_seed(7))
    c = gt.bernoulli(p, generator=gt.Generator().manual_seed(8))
    assert gt.equal(a, b) and not gt.equal(a, c)
    gt.manual_seed(3)
    d = gt.bernoulli(p)
    gt.manual_seed(3)
    assert gt.equal(d, gt.bernoulli(p))


def test_bernoulli_errors():
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1 to be true"):
            lib.bernoulli(lib.full((3,), 1.5))
        with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got "
                                               r"p=1.3"):
            lib.bernoulli(lib.zeros(3), 1.3)
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            lib.bernoulli(lib.ones(3, dtype=lib.int64))
