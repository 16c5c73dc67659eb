"""histc, bincount, histogram against torch (values, dtypes, errors) on both devices."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt

F = np.float32


@pytest.mark.parametrize("kw", [{}, {"bins": 4}, {"bins": 3, "min": 0, "max": 2},
                                {"bins": 5, "min": -1.0, "max": 4.0}])
def test_histc(device, rng, kw):
    x = np.array([[1.0, 2.0, 1.0], [4.0, 2.5, -1.0]], dtype=F)
    check_lib_op(lambda L, a: L.histc(a, **kw), x, device=device, grad=False)
    check_lib_op(lambda L, a: a.histc(**kw), rng.standard_normal(9), device=device, grad=False)


def test_histc_edge_cases(device):
    check_lib_op(lambda L, a: L.histc(a, bins=4), np.array([1.0, 1.0], F), device=device,
                 grad=False)
    check_lib_op(lambda L, a: L.histc(a, bins=4), np.zeros(0, F), device=device, grad=False)
    check_lib_op(lambda L, a: L.histc(a, bins=4, min=1, max=3), np.array([1, 2, 3, 4.0], F),
                 device=device, grad=False)
    t = to_gt(np.array([1.0, 2.0], F), device)
    with pytest.raises(RuntimeError, match="torch.histc: max must be larger than min"):
        gt.histc(t, bins=3, min=3, max=1)
    with pytest.raises(RuntimeError, match="bins must be > 0, but got 0 for dimension 0"):
        gt.histc(t, bins=0)
    with pytest.raises(RuntimeError, match=r"range of \[1, inf\] is not finite"):
        gt.histc(to_gt(np.array([1.0, np.inf], F), device), bins=4)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gt.histc(to_gt(np.array([1, 2]), device))


def test_bincount(device):
    x = np.array([1, 2, 2, 5, 0])
    check_lib_op(lambda L, a: L.bincount(a), x, device=device, grad=False)
    check_lib_op(lambda L, a: a.bincount(minlength=9), x, device=device, grad=False)
    for w in (np.linspace(0, 1, 5).astype(F), np.linspace(0, 1, 5), np.arange(5)):
        check_lib_op(lambda L, a, ww: L.bincount(a, weights=ww), x, w, device=device,
                     grad=False)
    check_lib_op(lambda L, a: L.bincount(a, minlength=3), np.zeros(0, np.int64), device=device,
                 grad=False)
    check_lib_op(lambda L, a: L.bincount(a), np.array([1, 3], np.uint8), device=device,
                 grad=False)


def test_bincount_errors(device):
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral "
                                           "inputs."):
        gt.bincount(to_gt(np.array([1, -1]), device))
    with pytest.raises(RuntimeError, match="bincount only supports 1-d"):
        gt.bincount(to_gt(np.array([[1]]), device))
    with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
        gt.bincount(to_gt(np.array([1.0], F), device))
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length"):
        gt.bincount(to_gt(np.array([1, 2]), device), to_gt(np.array([1.0], F), device))
    with pytest.raises(RuntimeError, match="minlength should be >= 0"):
        gt.bincount(to_gt(np.array([1, 2]), device), minlength=-1)


def test_histogram(device):
    x = np.array([1.0, 2.0, 1.0, 4.0, 2.5, -1.0], dtype=F)
    check_lib_op(lambda L, a: tuple(L.histogram(a, 4)), x, device=device, grad=False)
    check_lib_op(lambda L, a: tuple(a.histogram(bins=3, density=True)), x, device=device,
                 grad=False)
    check_lib_op(lambda L, a, w: tuple(L.histogram(a, 3, range=(0.0, 3.0), weight=w,
                                                   density=True)),
                 x, np.full(6, 2.0, F), device=device, grad=False)
    check_lib_op(lambda L, a, e: tuple(L.histogram(a, e)), x, np.array([0.0, 1.0, 3.0, 5.0], F),
                 device=device, grad=False)
    check_lib_op(lambda L, a: tuple(L.histogram(a, 3)), x.astype(np.float64), device=device,
                 grad=False)
    with pytest.raises(RuntimeError, match="input tensor and bins tensors should have the same "
                                           "dtype, but got input with dtype double and bins for "
                                           "dimension 0 with dtype float"):
        gt.histogram(to_gt(x.astype(np.float64), device), to_gt(np.array([0.0, 1.0], F), device))
    out = gt.histogram(to_gt(x, device), 2)
    assert type(out).__name__ == "histogram" and out._fields == ("hist", "bin_edges")
    assert torch.histogram(torch.from_numpy(x), 2).hist.shape == out.hist.shape
