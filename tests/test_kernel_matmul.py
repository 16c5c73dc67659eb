"""The tiled CUDA matmul kernel (run on Numba's CUDA simulator) against NumPy, and its wiring into
the cuda backend. Shapes are small, odd and never tile multiples."""
import numpy as np
import pytest
from helpers import check_grad, compare_torch

import gputensor as gt
from gputensor.backends import get_backend
from gputensor.backends.cuda import CUDABackend
from gputensor.kernels import matmul_cuda
from gputensor.kernels._launch import strided_buffer

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _rand(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _check(a, b, config=None):
    c = matmul_cuda.matmul(a, b, config=config)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert c.shape == want.shape and c.dtype == np.result_type(a.dtype, b.dtype)
    tol = TOL[c.dtype.type] * max(1, a.shape[-1])
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("config", ["32x32", "64x64", "128x128"])
def test_odd_shape_both_tile_configs(rng, config):
    _check(_rand(rng, (33, 29)), _rand(rng, (29, 47)), config)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 1, 5), (1, 13, 1), (6, 11, 1), (1, 9, 70)])
def test_degenerate_shapes(rng, m, k, n):
    _check(_rand(rng, (m, k)), _rand(rng, (k, n)))


def test_k_spanning_several_steps_float64(rng):
    _check(_rand(rng, (9, 37), np.float64), _rand(rng, (37, 5), np.float64))


def test_float16_accumulates_in_float32(rng):
    a, b = _rand(rng, (13, 67), np.float16), _rand(rng, (67, 9), np.float16)
    c = matmul_cuda.matmul(a, b)
    assert c.dtype == np.float16
    exact = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    # float32 accumulation then one rounding: within one float16 ulp of the rounded exact sum
    np.testing.assert_allclose(c.astype(np.float32), exact.astype(np.float32),
                               rtol=2 ** -10, atol=2 ** -14)


def test_empty_and_k0(rng):
    assert matmul_cuda.matmul(_rand(rng, (0, 3)), _rand(rng, (3, 4))).shape == (0, 4)
    c = matmul_cuda.matmul(_rand(rng, (3, 0)), _rand(rng, (0, 4)))
    assert c.shape == (3, 4) and not c.any()


def test_transposed_and_strided_operands(rng):
    at = _rand(rng, (11, 7)).T  # (7, 11), column-major
    bt = _rand(rng, (5, 11)).T  # (11, 5), column-major: the x @ w.T of Linear
    _check(at, bt)
    sliced = _rand(rng, (15, 22))[::2, 1::2]  # (8, 11), both strides > 1
    _check(sliced, bt)


def test_strided_buffer_views_without_copy(rng):
    x = _rand(rng, (4, 6, 5)).transpose(0, 2, 1)
    buf, strides = strided_buffer(x)
    assert np.shares_memory(buf, x) and strides == (30, 1, 5) and buf.ndim == 1
    ro = np.broadcast_to(_rand(rng, (1, 3)), (4, 3))  # read-only: the simulator needs a copy
    buf, strides = strided_buffer(ro)
    assert buf.flags.writeable and not np.shares_memory(buf, ro)


def test_batched_with_broadcast(rng):
    _check(_rand(rng, (2, 1, 5, 7)), _rand(rng, (3, 7, 4)))  # -> (2, 3, 5, 4)
    _check(_rand(rng, (5, 7)), _rand(rng, (3, 7, 4)))  # 2-D operand broadcast over the batch
    _check(_rand(rng, (3, 7, 5)).transpose(0, 2, 1), _rand(rng, (1, 7, 2)))


def test_batch_layout_beyond_two_levels(rng):
    # (2, 2, 3) batch where neither operand's strides merge: materialized, still correct
    a, b = _rand(rng, (2, 1, 3, 3, 5)), _rand(rng, (2, 1, 5, 2))
    assert len(matmul_cuda._batch_layout((2, 2, 3), (45, 0, 15), (0, 10, 0))) == 3
    _check(a, b)


def test_read_only_broadcast_input(rng):
    a = np.broadcast_to(_rand(rng, (1, 4, 3)), (3, 4, 3))
    _check(a, _rand(rng, (3, 3, 2)))


def test_pick_config():
    assert matmul_cuda.pick_config(2048, 2048, 1, np.float32) == "128x128"
    assert matmul_cuda.pick_config(1024, 512, 1, np.float32) == "64x64"
    assert matmul_cuda.pick_config(64, 256, 1, np.float32) == "32x32"
    assert matmul_cuda.pick_config(4096, 4096, 1, np.float64) == "64x64"


def test_errors(rng):
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        matmul_cuda.matmul(_rand(rng, (3, 4)), _rand(rng, (5, 2)))
    with pytest.raises(TypeError, match="int64"):
        matmul_cuda.matmul(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))
    with pytest.raises(ValueError, match="ndim >= 2"):
        matmul_cuda.matmul(_rand(rng, (3,)), _rand(rng, (3, 2)))
    with pytest.raises(ValueError, match="128x128"):
        matmul_cuda.matmul(_rand(rng, (3, 2), np.float64), _rand(rng, (2, 2), np.float64),
                           config="128x128")


def test_tensor_matmul_uses_kernel(rng, monkeypatch):
    calls = []
    real = matmul_cuda.matmul
    backend = get_backend("cuda")
    assert backend.kernels.matmul is real
    monkeypatch.setattr(backend.kernels, "_loaded", {"matmul": lambda a, b: calls.append(1)
                                                     or real(a, b)})
    a, b = gt.randn(5, 7, device="cuda"), gt.randn(7, 3, device="cuda")
    c = a @ b
    assert calls and c.device.type == "cuda"
    np.testing.assert_allclose(c.cpu().numpy(), a.cpu().numpy() @ b.cpu().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_cublas_switch(monkeypatch):
    backend = get_backend("cuda")
    backend.use_cublas(True)
    try:
        assert backend.kernels.matmul is backend.xp.matmul
    finally:
        backend.use_cublas(False)
    assert backend.kernels.matmul is matmul_cuda.matmul
    monkeypatch.setenv("GPUTENSOR_MATMUL", "cublas")
    assert CUDABackend().kernels.matmul is backend.xp.matmul


def test_matmul_op_grad_and_torch(rng, device):
    # backward runs g @ b.mT and a.mT @ g: transposed operands through the kernel
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check_grad(lambda x, y: x @ y, a, b, device=device)
    a3 = rng.standard_normal((2, 3, 4)).astype(np.float32)
    compare_torch(lambda x, y: x @ y, a3, b.astype(np.float32), device=device)
