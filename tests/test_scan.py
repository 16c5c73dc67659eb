"""Scans (cumsum cumprod cummax cummin logcumsumexp) against torch, gradchecked on both devices."""
import numpy as np
import pytest

import gputensor as gt
from helpers import check_lib_op, compare_torch, to_gt, to_np

F = np.float32
NAN = float("nan")


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod(device, rng, dim):
    x = rng.uniform(0.5, 1.5, (3, 5)).astype(F) * rng.choice([-1, 1], (3, 5))
    check_lib_op(lambda L, a: (L.cumsum(a, dim), L.cumprod(a, dim)), x, device=device)


def test_cumprod_grad_with_zeros_matches_torch(device, rng):
    x = rng.uniform(0.5, 1.5, (3, 6)).astype(F)
    x[0, 2] = 0.0  # one zero
    x[1, 1] = x[1, 4] = 0.0  # two zeros in a row
    x[2, 0] = 0.0  # leading zero
    check_lib_op(lambda L, a: L.cumprod(a, 1), x, device=device)
    check_lib_op(lambda L, a: L.cumprod(a, 0), x.T.copy(), device=device)


def test_cumprod_grad_accurate_for_small_values(device):
    """Products spanning many magnitudes: a backward of the form ``total - cumsum`` cancels
    catastrophically in float32 and dividing by a tiny x amplifies the error; torch flips."""
    x = np.array([[1e3, 1e3, 1e-4, 1e-4, 1e-4, 1e-3, 2e-3]], dtype=F)
    compare_torch(lambda a: a.cumprod(1), x, device=device, rtol=1e-4, atol=0)
    x64 = np.array([[3.0, 1e-7, 1e-7, 2e-6, 0.5]])
    compare_torch(lambda a: a.cumprod(1), x64, device=device, rtol=1e-10, atol=0)


def test_cumprod_double_backward_with_zeros(device):
    x = to_gt(np.array([[0.5, 0.0, 2.0, 1.5], [1.2, 0.7, 0.0, 0.0]]), device, True)
    assert gt.autograd.gradgradcheck(lambda a: a.cumprod(1), [x])


def test_cumsum_inplace_and_0d(device):
    check_lib_op(lambda L, a: a.clone().cumsum_(0), np.arange(5, dtype=F), device=device)
    check_lib_op(lambda L, a: a.clone().cumprod_(0), np.arange(1, 5, dtype=F), device=device)
    check_lib_op(lambda L, a: L.cumsum(a, 0), np.array(2.5, dtype=F), device=device)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cummax_cummin(device, rng, name, dim):
    x = rng.standard_normal((3, 5)).astype(F)
    check_lib_op(lambda L, a: tuple(getattr(L, name)(a, dim)), x, device=device)
    check_lib_op(lambda L, a: tuple(getattr(a, name)(dim=dim)), x, device=device)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_ties_nan_ints(device, name):
    """Ties pick the latest index and NaN propagates with the index of the latest NaN."""
    for data in ([1, 3, 3, 2, 3], [3, 1, 1, 2, 1], [True, False, True]):
        compare_torch(lambda a: tuple(getattr(a, name)(0)), np.array(data), device=device,
                      grad=False)
    x = np.array([1.0, NAN, 3.0, NAN, 2.0], dtype=F)
    compare_torch(lambda a: tuple(getattr(a, name)(0)), x, device=device)
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    compare_torch(lambda a: tuple(getattr(a, name)(1)), ties, device=device)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_0d_empty_and_return_type(device, name):
    out = getattr(gt, name)(to_gt(np.array(2.0, F), device), 0)
    assert type(out).__name__ == name and out.indices.dtype == gt.int64
    assert out.values.shape == () and int(out.indices) == 0
    empty = getattr(gt, name)(to_gt(np.zeros((0, 3), F), device), 0)
    assert empty.values.shape == (0, 3) and empty.indices.dtype == gt.int64
    with pytest.raises(IndexError):
        getattr(gt, name)(to_gt(np.zeros(3, F), device), 1)


@pytest.mark.parametrize("dim", [0, 1])
def test_logcumsumexp(device, rng, dim):
    x = (rng.standard_normal((3, 5)) * 3).astype(F)
    check_lib_op(lambda L, a: L.logcumsumexp(a, dim), x, device=device)
    check_lib_op(lambda L, a: a.logcumsumexp(dim), x, device=device)


def test_logcumsumexp_large_range_and_infinities(device):
    big = np.array([[-300.0, 0.0, 200.0, -50.0, 600.0]])
    check_lib_op(lambda L, a: L.logcumsumexp(a, 1), big, device=device, grad=False)
    compare_torch(lambda a: a.logcumsumexp(1), big, device=device)
    inf = np.array([-np.inf, 1.0, np.inf, 2.0], dtype=F)
    compare_torch(lambda a: a.logcumsumexp(0), inf, device=device, grad=False)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gt.logcumsumexp(to_gt(np.arange(3), device), 0)


def test_logcumsumexp_double_backward(device, rng):
    x = to_gt(rng.standard_normal((2, 4)), device, True)
    assert gt.autograd.gradgradcheck(lambda a: a.logcumsumexp(1), [x])


def test_cumprod_moved_keeps_public_names():
    assert gt.cumsum is gt.ops.scan.cumsum and gt.Tensor.cumprod is gt.ops.scan.cumprod
    assert np.allclose(to_np(gt.tensor([1.0, 2.0, 3.0]).cumprod(0)), [1, 2, 6])
