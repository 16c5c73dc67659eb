"""scatter_reduce and scatter(..., reduce=) against torch; gradients of every reduction,
with and without include_self, gradchecked on both devices."""
import numpy as np
import pytest
import torch

import gputensor as gt
from gputensor.ops import scatter as sc
from helpers import check_lib_op, compare_torch, to_gt, to_np

F = np.float32
REDUCES = ["sum", "prod", "mean", "amax", "amin"]
IDX = np.array([[0, 2, 2, 1], [1, 1, 3, 3]])


def _data(rng):
    x = rng.uniform(0.5, 1.5, (3, 4)).astype(F) * rng.choice([-1, 1], (3, 4))
    src = rng.uniform(0.5, 1.5, (2, 4)).astype(F) * rng.choice([-1, 1], (2, 4))
    return x, src


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(device, rng, reduce, include_self):
    x, src = _data(rng)

    def f(L, a, s):
        return L.scatter_reduce(a, 1, L.tensor(IDX, device=a.device), s, reduce,
                                include_self=include_self)
    check_lib_op(f, x, src, device=device)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
def test_scatter_reduce_zeros_and_ties(device, reduce):
    """prod with zeros in self and src (single and double); amax/amin with ties split."""
    x = np.array([[2.0, 0.0, 1.5, -1.0], [1.0, 3.0, 3.0, 0.5]], dtype=F)
    src = np.array([[0.0, 3.0, 3.0, 1.5], [3.0, 0.0, 0.0, -1.0]], dtype=F)
    idx = np.array([[1, 1, 2, 0], [1, 2, 2, 3]])
    for include_self in (True, False):
        def f(L, a, s):
            return a.scatter_reduce(1, L.tensor(idx, device=a.device), s,
                                    reduce=reduce, include_self=include_self)
        compare_torch(lambda a, s: f(gt if isinstance(a, gt.Tensor) else torch, a, s), x, src,
                      device=device)


def test_scatter_reduce_dim0_ints_and_inplace(device):
    x = np.array([-1, 2, 5, 7])
    idx, src = np.array([0, 0, 1, 3]), np.array([-2, -2, 0, 4])
    for reduce in REDUCES:
        check_lib_op(lambda L, a, i, s: L.scatter_reduce(a, 0, i, s, reduce), x, idx, src,
                     device=device, grad=False)
        check_lib_op(lambda L, a, i, s: a.clone().scatter_reduce_(0, i, s, reduce,
                                                                  include_self=False),
                     x, idx, src, device=device, grad=False)
    f = np.array([1.0, 2.0, 3.0], F)
    check_lib_op(lambda L, a, i, s: a.clone().scatter_reduce_(0, i, s, "mean"), f,
                 np.array([2, 2]), np.array([4.0, 5.0], F), device=device)


def test_scatter_reduce_errors(device):
    x = to_gt(np.ones(2, F), device)
    i = to_gt(np.array([0]), device)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax"
                                           " or amin, got bad"):
        x.scatter_reduce(0, i, to_gt(np.ones(1, F), device), "bad")
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype to be equal to "
                                           r"src.dtype"):
        x.scatter_reduce(0, i, to_gt(np.ones(1), device), "sum")
    with pytest.raises(RuntimeError, match=r"Expected dtype int32/int64 for index"):
        x.scatter_reduce(0, to_gt(np.array([1.0], F), device), x, "bad")  # index checked first
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.scatter_reduce(3, i, x, "bad")
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 2"):
        x.scatter_reduce(0, to_gt(np.array([5]), device), x, "sum")
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply."):
        x.scatter(0, i, to_gt(np.ones(1, F), device), reduce="mean")


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce(device, rng, reduce):
    x, src = _data(rng)
    check_lib_op(lambda L, a, s: L.scatter(a, 1, L.tensor(IDX, device=a.device), s,
                                           reduce=reduce), x, src, device=device, grad=False)
    check_lib_op(lambda L, a: a.scatter(1, L.tensor(IDX, device=a.device), value=2.5,
                                        reduce=reduce), x, device=device, grad=False)
    check_lib_op(lambda L, a: a.clone().scatter_(1, L.tensor(IDX, device=a.device), 1.5,
                                                 reduce=reduce), x, device=device, grad=False)


def test_scatter_tensor_reduce_warns_as_torch(device):
    x = to_gt(np.ones(2, F), device)
    with pytest.warns(UserWarning, match="The reduce argument of torch.scatter with Tensor src "
                                         "is deprecated"):
        x.scatter(0, to_gt(np.array([0]), device), to_gt(np.ones(1, F), device), reduce="add")


@pytest.mark.parametrize("ufunc", ["add", "multiply", "maximum", "minimum"])
def test_segmented_reduce_matches_ufunc_at(rng, ufunc):
    """The backend-neutral path (used where the array library has no ufunc.at, e.g. CuPy)."""
    out = rng.standard_normal(7)
    pos = rng.integers(0, 7, 25)
    vals = rng.standard_normal(25)
    vals[4] = np.nan
    want = out.copy()
    with np.errstate(invalid="ignore"):
        getattr(np, ufunc).at(want, pos, vals)
        got = out.copy()
        sc._segmented_reduce_at(np, ufunc, got, pos, vals)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.array_equal(np.isnan(got), np.isnan(want))


def test_scatter_reduce_double_backward(device, rng):
    x, src = (a.astype(np.float64) for a in _data(rng))
    xs, ss = to_gt(x, device, True), to_gt(src, device, True)
    idx = to_gt(IDX, device)
    for reduce in ("sum", "mean", "prod"):
        assert gt.autograd.gradgradcheck(lambda a, s: a.scatter_reduce(1, idx, s, reduce),
                                         [xs, ss])
    assert to_np(idx).dtype == np.int64
