"""Reductions: values and dtypes vs torch, gradients by gradcheck, over dims and keepdim."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import gputensor as gt
from helpers import check_grad, check_lib_op, compare_torch, to_gt, to_np

DIMS = [None, 0, -1, (0, 2)]


def _x(rng, shape=(2, 3, 4)):
    return rng.uniform(0.5, 1.5, shape).astype(np.float32) * rng.choice([-1, 1], shape)


def _kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std",
                                  "nansum", "norm"])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_over_dims(device, rng, name, dim, keepdim):
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    kw = _kw(dim, keepdim)
    check_lib_op(lambda lib, a: getattr(lib, name)(a, **kw), _x(rng), device=device)


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod(device, rng, dim):
    x = _x(rng, (3, 4))
    kw = _kw(dim, True)
    check_lib_op(lambda lib, a: lib.prod(a, **kw), x, device=device)
    zeros = x.copy()
    zeros[0, 1] = 0.0
    zeros[2, 1] = zeros[2, 3] = 0.0  # one zero and two zeros in a reduced line
    check_lib_op(lambda lib, a: a.prod(**kw), zeros, device=device)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumulative(device, rng, name, dim):
    x = _x(rng, (3, 4))
    check_lib_op(lambda lib, a: getattr(lib, name)(a, dim), x, device=device)
    x[1, 1] = 0.0
    x[2, 0] = x[2, 2] = 0.0
    check_lib_op(lambda lib, a: getattr(a, name)(dim=dim), x, device=device)


def test_cumulative_integer_dtypes(device):
    i = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    compare_torch(lambda a: (a.cumsum(1), a.cumprod(0), a.sum(), a.prod(1)), i, device=device,
                  grad=False)
    compare_torch(lambda a: a.cumsum(0, dtype=gt.float64 if isinstance(a, gt.Tensor)
                                     else torch.float64), i, device=device, grad=False)
    compare_torch(lambda a: a.sum(), np.array([True, True, False]), device=device, grad=False)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim(device, rng, name, keepdim):
    x = _x(rng)
    for d in (0, 1, -1):
        check_lib_op(lambda lib, a: getattr(lib, name)(a, d, keepdim=keepdim), x, device=device)
        g = getattr(to_gt(x, device), name)(dim=d, keepdim=keepdim)
        t = getattr(torch.from_numpy(x), name)(dim=d, keepdim=keepdim)
        values, indices = g
        assert type(g).__name__ == name and g.values is values and g.indices is indices
        np.testing.assert_array_equal(to_np(indices), t.indices.numpy())
        assert indices.dtype == gt.int64


def test_max_min_forms_and_ties(device):
    x = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]], dtype=np.float32)
    for f in (lambda a: a.max(), lambda a: a.min(), lambda a: a.amax(1), lambda a: a.amin(0),
              lambda a: a.max(dim=1).values, lambda a: a.min(0).values,
              lambda a: a.amax(dim=(0, 1), keepdim=True), lambda a: a.median(),
              lambda a: a.norm(float("inf"))):
        compare_torch(f, x, device=device)
    y = np.array([[0.5, 2.0, 3.5]], dtype=np.float32)
    check_lib_op(lambda lib, a, b: lib.max(a, b), x, y, device=device)
    check_lib_op(lambda lib, a, b: a.min(b), x, y, device=device)


def test_argmax_argmin(device, rng):
    x = _x(rng)
    for name in ("argmax", "argmin"):
        for kw in ({}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": 0}):
            compare_torch(lambda a: getattr(a, name)(**kw), x, device=device, grad=False)
    compare_torch(lambda a: a.argmax(), np.array([[1, 5, 5], [0, 2, 7]]), device=device,
                  grad=False)


def test_median(device, rng):
    x = rng.permutation(24).reshape(2, 3, 4).astype(np.float32)
    for d in (0, 1, -1):
        check_lib_op(lambda lib, a: lib.median(a, d).values, x, device=device)
        compare_torch(lambda a: a.median(dim=d, keepdim=True), x, device=device, grad=False)
    check_lib_op(lambda lib, a: a.median(), x, device=device)


def test_var_std_corrections(device, rng):
    x = _x(rng, (3, 5))
    check_lib_op(lambda lib, a: lib.var(a, 1, unbiased=False), x, device=device)
    check_lib_op(lambda lib, a: lib.std(a, False), x, device=device)
    check_lib_op(lambda lib, a: a.var(dim=0, correction=0, keepdim=True), x, device=device)
    check_lib_op(lambda lib, a: a.std(dim=(0, 1), correction=2), x, device=device)
    check_lib_op(lambda lib, a: lib.var_mean(a, 1), x, device=device)
    check_lib_op(lambda lib, a: lib.std_mean(a, dim=0, keepdim=True), x, device=device)


def test_norms(device, rng):
    x = _x(rng, (3, 4))
    for p in (1, 2, 3, 0.5, "fro", float("-inf")):
        check_lib_op(lambda lib, a: a.norm(p, dim=1), x, device=device)
    compare_torch(lambda a: a.norm(0), x, device=device, grad=False)
    compare_torch(lambda a: (a * 0).norm(), x, device=device)  # zero gradient at 0, not nan


def test_boolean_reductions(device):
    x = np.array([[1, 0, 2], [3, 4, 5]], dtype=np.int64)
    for f in (lambda a: a.all(), lambda a: a.any(1), lambda a: a.all(dim=0, keepdim=True),
              lambda a: a.count_nonzero(), lambda a: a.count_nonzero(dim=1),
              lambda a: (a > 1).any()):
        compare_torch(f, x, device=device, grad=False)
    compare_torch(lambda a: a.all(), x.astype(np.uint8), device=device, grad=False)


def test_mean_dtype_and_nan_reductions(device):
    i = np.array([[1, 2], [3, 4]])
    compare_torch(lambda a: a.mean(dtype=gt.float64 if isinstance(a, gt.Tensor)
                                   else torch.float64), i, device=device, grad=False)
    with pytest.raises(RuntimeError, match="mean.*Long|mean.*int64"):
        to_gt(i, device).mean()
    x = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 3.0]], dtype=np.float32)
    compare_torch(lambda a: (a.nansum(), a.nansum(1), a.nanmean(1)), x, device=device)


def test_zero_dim_and_empty(device):
    s = np.array(2.5, dtype=np.float32)
    compare_torch(lambda a: (a.sum(0), a.max(0).values, a.argmax(0), a.amax(), a.prod(0)), s,
                  device=device)
    with pytest.raises(RuntimeError, match=r"numel\(\) == 0"):
        gt.zeros(0, device=device).max()
    with pytest.raises(IndexError, match="Dimension out of range"):
        gt.zeros(2, 3, device=device).sum(2)


def test_max_gradient_goes_to_selected_index(device):
    x = to_gt(np.array([[1.0, 3.0, 3.0]]), device, True)
    x.max(dim=1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0]]
    x.grad = None
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]


def test_logsumexp_stable(device):
    x = np.array([[1000.0, 1000.0], [-1000.0, -np.inf]], dtype=np.float32)
    compare_torch(lambda a: a.logsumexp(1), x, device=device)
    compare_torch(lambda a: a.logsumexp(1), np.array([[1, 2]]), device=device, grad=False)


# -- property test (cpu): random dims and keepdim -------------------------------------------------

@st.composite
def _array_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3,
                         unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims), draw(st.booleans()), draw(st.integers(0, 2 ** 16))


@settings(max_examples=25, deadline=None)
@given(case=_array_and_dims(), op=st.sampled_from(["sum", "mean", "amax", "amin", "var",
                                                    "logsumexp", "nansum"]))
def test_reduction_property(case, op):
    shape, dims, keepdim, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    g = to_gt(x, "cpu", True)
    t = torch.from_numpy(x).requires_grad_()
    go, to = getattr(gt, op)(g, dims, keepdim=keepdim), getattr(torch, op)(t, dims,
                                                                          keepdim=keepdim)
    assert tuple(go.shape) == tuple(to.shape)
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    go.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradcheck_select_double_backward(device, rng):
    x = _x(rng, (3, 4)).astype(np.float64)
    check_grad(lambda a: (a.amax(1) ** 2).sum() + a.max(0).values.prod(), x, device=device)
