"""Conv kernels: the CUDA implicit-GEMM kernels (simulator) against the CPU im2col kernels, and
the CPU kernels against PyTorch, on small odd shapes."""
import numpy as np
import pytest
import torch

from gputensor.kernels import conv_cpu, conv_cuda

# (x shape, w shape, stride, padding, dilation, groups, dtype)
CASES = [
    ((2, 6, 9, 9), (6, 2, 3, 3), (2, 2), (1, 1), (2, 2), 3, np.float32),
    ((2, 3, 7, 8), (4, 3, 2, 3), (1, 2), (0, 1), (1, 1), 1, np.float16),
    ((1, 33, 3, 3), (34, 33, 1, 1), (1, 1), (0, 0), (1, 1), 1, np.float64),  # > 32 channels
]
TOL = {np.float16: 2e-2, np.float32: 1e-4, np.float64: 1e-10}


def _data(case, rng):
    xs, ws, stride, pad, dil, groups, dtype = case
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    y = conv_cpu.conv2d_forward(x, w, stride, pad, dil, groups)
    gy = rng.standard_normal(y.shape).astype(dtype)
    return x, w, gy, (stride, pad, dil, groups)


@pytest.mark.parametrize("case", CASES)
def test_cpu_kernels_match_torch(case, rng):
    x, w, gy, p = _data(case, rng)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, None, *p)
    ty.backward(torch.tensor(gy.astype(np.float64)))
    tol = TOL[case[-1]]
    np.testing.assert_allclose(conv_cpu.conv2d_forward(x, w, *p), ty.detach().numpy(),
                               rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(conv_cpu.conv2d_backward_data(gy, w, x.shape, *p),
                               tx.grad.numpy(), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(conv_cpu.conv2d_backward_weight(x, gy, w.shape, *p),
                               tw.grad.numpy(), rtol=tol, atol=tol * 30)


@pytest.mark.parametrize("case", CASES)
def test_cuda_kernels_match_cpu(case, rng):
    x, w, gy, p = _data(case, rng)
    tol = TOL[case[-1]]
    outs = [(conv_cuda.conv2d_forward(x, w, *p), conv_cpu.conv2d_forward(x, w, *p)),
            (conv_cuda.conv2d_backward_data(gy, w, x.shape, *p),
             conv_cpu.conv2d_backward_data(gy, w, x.shape, *p)),
            (conv_cuda.conv2d_backward_weight(x, gy, w.shape, *p),
             conv_cpu.conv2d_backward_weight(x, gy, w.shape, *p))]
    for got, want in outs:
        assert got.dtype == x.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol,
                                   atol=tol * 10)


@pytest.mark.parametrize("config", sorted(conv_cuda.CONFIGS))
def test_every_tile_config_matches_cpu(config, monkeypatch, rng):
    monkeypatch.setattr(conv_cuda, "_pick_config", lambda mode, geo: config)
    test_cuda_kernels_match_cpu(CASES[0], rng)


def test_backward_weight_split_k_matches_single(monkeypatch, rng):
    x, w, gy, p = _data(CASES[0], rng)
    whole = conv_cuda.conv2d_backward_weight(x, gy, w.shape, *p)
    monkeypatch.setattr(conv_cuda, "_SPLIT_MIN_K", 8)  # 32-long reduction -> 4 splits
    split = conv_cuda.conv2d_backward_weight(x, gy, w.shape, *p)
    np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split, conv_cpu.conv2d_backward_weight(x, gy, w.shape, *p),
                               rtol=1e-4, atol=1e-4)


def test_cuda_kernel_rejects_integer_arrays():
    x = np.ones((1, 1, 3, 3), np.int64)
    with pytest.raises(TypeError, match="int64"):
        conv_cuda.conv2d_forward(x, x, (1, 1), (0, 0), (1, 1), 1)


def test_ptx_signatures_cover_every_pass_and_dtype():
    names = {name for _, _, name, _ in conv_cuda.PTX_SIGNATURES}
    for mode in conv_cuda.MODES:
        for t in ("float16", "float32", "float64"):
            for cfg in conv_cuda.CONFIGS:
                assert f"conv2d_{mode}_{t}_{cfg}" in names
