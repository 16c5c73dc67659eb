"""Sorting and searching ops against torch; value gradients gradchecked on both devices."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch, to_gt, to_np

F = np.float32
NAN = float("nan")


def _distinct(rng, shape):
    """Values without ties (torch's order among ties is unspecified for unstable sorts)."""
    return rng.permutation(np.prod(shape)).reshape(shape).astype(F) / 3 - 2


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_grad(device, rng, dim, descending):
    x = _distinct(rng, (3, 5))
    check_lib_op(lambda L, a: tuple(L.sort(a, dim, descending)), x, device=device)
    check_lib_op(lambda L, a: tuple(a.sort(dim=dim, descending=descending)), x, device=device)
    check_lib_op(lambda L, a: L.argsort(a, dim, descending), x, device=device, grad=False)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_and_nan(device, descending):
    """NaN sorts as the largest value; stable=True keeps equal elements in input order."""
    x = np.array([3.0, NAN, 1.0, 2.0, NAN, 1.0, 3.0], dtype=F)
    compare_torch(lambda a: tuple(a.sort(stable=True, descending=descending)), x, device=device)
    compare_torch(lambda a: a.argsort(stable=True, descending=descending), x, device=device,
                  grad=False)
    ints = np.array([[2, 1, 2, 0, 1], [5, 5, 5, 1, 1]])
    compare_torch(lambda a: tuple(a.sort(dim=1, descending=descending, stable=True)), ints,
                  device=device, grad=False)
    compare_torch(lambda a: tuple(a.sort()), np.array([True, False, True]), device=device,
                  grad=False)


def test_sort_0d_empty_and_types(device):
    out = gt.sort(to_gt(np.array(3.0, F), device))
    assert type(out).__name__ == "sort" and out.indices.dtype == gt.int64
    assert out.values.shape == () and int(out.indices) == 0
    empty = gt.sort(to_gt(np.zeros(0, F), device))
    assert empty.values.shape == (0,) and empty.indices.dtype == gt.int64
    with pytest.raises(IndexError, match="Dimension out of range"):
        gt.sort(to_gt(np.zeros(3, F), device), 1)


def test_msort(device, rng):
    check_lib_op(lambda L, a: L.msort(a), _distinct(rng, (4, 3)), device=device)
    check_lib_op(lambda L, a: a.msort(), _distinct(rng, (5,)), device=device)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_topk(device, rng, largest, dim):
    x = _distinct(rng, (4, 5))
    check_lib_op(lambda L, a: tuple(L.topk(a, 3, dim, largest)), x, device=device)
    check_lib_op(lambda L, a: tuple(a.topk(k=2, dim=dim, largest=largest, sorted=True)), x,
                 device=device)
    check_lib_op(lambda L, a: tuple(a.topk(0, dim)), x, device=device, grad=False)


def test_topk_nan_is_largest_and_errors(device):
    x = np.array([3.0, NAN, 1.0, 2.0, 5.0], dtype=F)
    compare_torch(lambda a: tuple(a.topk(2)), x, device=device)
    compare_torch(lambda a: tuple(a.topk(2, largest=False)), x, device=device)
    t = to_gt(x, device)
    for k in (6, -1):
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            t.topk(k)
    out = gt.topk(to_gt(np.array(4.0, F), device), 1)
    assert out.values.shape == () and int(out.indices) == 0


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_kthvalue(device, rng, keepdim, dim):
    x = _distinct(rng, (3, 5))
    check_lib_op(lambda L, a: tuple(L.kthvalue(a, 2, dim, keepdim)), x, device=device)
    check_lib_op(lambda L, a: tuple(a.kthvalue(1, dim=dim, keepdim=keepdim)), x, device=device)


def test_kthvalue_errors_and_0d(device):
    t = to_gt(np.array([3.0, 1.0, 2.0], F), device)
    for k in (0, 4):
        with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k out of range "
                                               r"for dimension 0"):
            t.kthvalue(k)
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        gt.kthvalue(to_gt(np.zeros(0, F), device), 1)
    out = gt.kthvalue(to_gt(np.array(3.0, F), device), 1)
    assert type(out).__name__ == "kthvalue" and float(out.values) == 3.0


def _unique_cases():
    return [
        (np.array([3, 1, 3, 2, 1, 1]), None),
        (np.array([[3, 1], [3, 2]]), None),
        (np.array([[1, 2], [1, 2], [0, 5], [0, 4]]), 0),
        (np.array([[1, 2, 1], [1, 2, 1]]), 1),
        (np.array([1.0, NAN, 2.0, NAN, 1.0], dtype=F), None),
        (np.zeros(0, dtype=np.int64), None),
        (np.zeros((0, 2)), 0),
    ]


@pytest.mark.parametrize("case", range(7))
def test_unique(device, case):
    x, dim = _unique_cases()[case]
    for inv in (False, True):
        for counts in (False, True):
            compare_torch(lambda a: a.unique(return_inverse=inv, return_counts=counts, dim=dim),
                          x, device=device, grad=False)
    compare_torch(lambda a: (gt if isinstance(a, gt.Tensor) else torch).unique(
        a, sorted=True, dim=dim), x, device=device, grad=False)


@pytest.mark.parametrize("dim", [None, 0])
def test_unique_consecutive(device, dim):
    x = np.array([[1, 1], [1, 1], [2, 3], [1, 1], [1, 1]]) if dim == 0 else \
        np.array([1, 1, 2, 2, 3, 1, 1, 1])
    for inv in (False, True):
        for counts in (False, True):
            check_lib_op(lambda L, a: L.unique_consecutive(a, return_inverse=inv,
                                                           return_counts=counts, dim=dim),
                         x, device=device, grad=False)
    check_lib_op(lambda L, a: a.unique_consecutive(), x, device=device, grad=False)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted(device, rng, right):
    seq = np.array([1.0, 2.0, 2.0, 3.5, 5.0], dtype=F)
    vals = np.array([[0.0, 2.0, 2.5], [5.0, 6.0, 3.5]], dtype=F)
    check_lib_op(lambda L, s, v: L.searchsorted(s, v, right=right), seq, vals, device=device,
                 grad=False)
    side = "right" if right else "left"
    check_lib_op(lambda L, s, v: L.searchsorted(s, v, side=side, out_int32=True), seq, vals,
                 device=device, grad=False)
    rows = np.sort(rng.standard_normal((2, 3, 4)).astype(F), -1)
    check_lib_op(lambda L, s, v: L.searchsorted(s, v, right=right), rows,
                 rng.standard_normal((2, 3, 2)).astype(F), device=device, grad=False)
    check_lib_op(lambda L, s: L.searchsorted(s, 2.5), seq, device=device, grad=False)
    check_lib_op(lambda L, s, v: L.searchsorted(s, v), seq, np.array([1, 4]), device=device,
                 grad=False)


def test_searchsorted_sorter_and_errors(device):
    seq = np.array([3.0, 1.0, 2.0], dtype=F)
    check_lib_op(lambda L, s, o, v: L.searchsorted(s, v, sorter=o), seq, np.array([1, 2, 0]),
                 np.array([1.5, 3.0], dtype=F), device=device, grad=False)
    s2 = to_gt(np.ones((2, 3), F), device)
    with pytest.raises(RuntimeError, match=r"boundaries tensor should be 1 dimension or the first"
                                           r" N-1 dimensions .* but we got boundaries tensor "
                                           r"\[2, 3\] and input value tensor \[3, 1\]"):
        gt.searchsorted(s2, to_gt(np.ones((3, 1), F), device))
    s1 = to_gt(np.ones(3, F), device)
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right' but got bad"):
        gt.searchsorted(s1, s1, side="bad")
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        gt.searchsorted(s1, s1, side="left", right=True)


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(device, right):
    b = np.array([1.0, 2.0, 3.0], dtype=F)
    x = np.array([[0.5, 1.0, 2.0], [2.5, 3.0, 9.0]], dtype=F)
    check_lib_op(lambda L, v, bb: L.bucketize(v, bb, right=right), x, b, device=device,
                 grad=False)
    check_lib_op(lambda L, bb: L.bucketize(2.0, bb, out_int32=True), b, device=device,
                 grad=False)
    with pytest.raises(RuntimeError, match=r"boundaries tensor must be 1 dimension, but got "
                                           r"dim\(2\)"):
        gt.bucketize(to_gt(x, device), to_gt(x, device))


def test_sort_double_backward(device, rng):
    x = to_gt(_distinct(rng, (2, 4)).astype(np.float64), device, True)
    assert gt.autograd.gradgradcheck(lambda a: a.sort(1, True).values * a.topk(2).values.sum(),
                                     [x])
    assert np.array_equal(to_np(gt.argsort(x, 1)), np.argsort(to_np(x), 1))
