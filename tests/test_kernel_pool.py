"""Pooling kernels: CUDA (simulator) against CPU, forward and backward, float32 and float16."""
import numpy as np
import pytest

from gputensor.kernels import pool_cpu, pool_cuda

SHAPE = (2, 3, 7, 9)


def _close(got, want, dtype):
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-2 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_max_pool(dtype, rng):
    x = rng.standard_normal(SHAPE).astype(dtype)
    args = ((3, 2), (2, 1), (1, 1), (1, 2), True)  # kernel, stride, padding, dilation, ceil
    (y, idx), (yr, ir) = pool_cuda.max_pool2d_forward(x, *args), pool_cpu.max_pool2d_forward(
        x, *args)
    _close(y, yr, dtype)
    np.testing.assert_array_equal(idx, ir)
    gy = rng.standard_normal(y.shape).astype(dtype)  # overlapping windows: gradients add up
    _close(pool_cuda.max_pool2d_backward(gy, idx, SHAPE, *args),
           pool_cpu.max_pool2d_backward(gy, ir, SHAPE, *args), dtype)


def test_max_pool_nan_wins(rng):
    x = rng.standard_normal((1, 1, 3, 5))
    x[0, 0, 1, 2] = np.nan
    y, idx = pool_cuda.max_pool2d_forward(x, (2, 2), (1, 1), (0, 0), (1, 1), False)
    assert np.isnan(y[0, 0, :2, 1:3]).all() and (idx[0, 0, :2, 1:3] == 1 * 5 + 2).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("args", [((3, 2), (2, 1), (1, 1), True, False, None),
                                  ((2, 3), (2, 2), (1, 1), False, True, 5)])
def test_avg_pool(dtype, args, rng):
    x = rng.standard_normal(SHAPE).astype(dtype)
    y = pool_cuda.avg_pool2d_forward(x, *args)
    _close(y, pool_cpu.avg_pool2d_forward(x, *args), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    _close(pool_cuda.avg_pool2d_backward(gy, SHAPE, *args),
           pool_cpu.avg_pool2d_backward(gy, SHAPE, *args), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_adaptive_pools(dtype, rng):
    x = rng.standard_normal(SHAPE).astype(dtype)
    out = (3, 4)  # uneven, overlapping windows on both axes
    y = pool_cuda.adaptive_avg_pool2d_forward(x, out)
    _close(y, pool_cpu.adaptive_avg_pool2d_forward(x, out), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    _close(pool_cuda.adaptive_avg_pool2d_backward(gy, SHAPE),
           pool_cpu.adaptive_avg_pool2d_backward(gy, SHAPE), dtype)
    (y, idx), (yr, ir) = (pool_cuda.adaptive_max_pool2d_forward(x, out),
                          pool_cpu.adaptive_max_pool2d_forward(x, out))
    _close(y, yr, dtype)
    np.testing.assert_array_equal(idx, ir)
    _close(pool_cuda.adaptive_max_pool2d_backward(gy, idx, SHAPE),
           pool_cpu.adaptive_max_pool2d_backward(gy, ir, SHAPE), dtype)


def test_ptx_signatures_cover_every_kernel_and_dtype():
    names = {name for _, _, name, _ in pool_cuda.PTX_SIGNATURES}
    # 8 kernels x 3 float dtypes, plus integer max pooling forward for 5 integer dtypes
    assert len(names) == len(pool_cuda.PTX_SIGNATURES) == 8 * 3 + 5
