"""F.affine_grid and F.grid_sample (bilinear, nearest, bicubic) against torch: values,
gradients (input and grid), errors."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_2d_cpu(mode, padding_mode, align_corners, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    grid = rng.uniform(-1.4, 1.4, (2, 3, 4, 2))  # points inside and outside [-1, 1]
    f = lambda lib, a, g: lib.nn.functional.grid_sample(  # noqa: E731
        a, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    compare_torch(lambda a, g: f(gt, a, g), x, grid, device="cpu",
                  torch_fn=lambda a, g: f(torch, a, g))
    if mode != "nearest":  # nearest is piecewise constant in the grid
        check_lib_op(f, x, grid, device="cpu")


@pytest.mark.parametrize("padding_mode", ["zeros", "reflection"])
def test_grid_sample_2d_device(padding_mode, device, rng):
    x = rng.standard_normal((1, 2, 3, 4))
    grid = rng.uniform(-1.3, 1.3, (1, 2, 3, 2))
    check_lib_op(lambda lib, a, g: lib.nn.functional.grid_sample(
        a, g, padding_mode=padding_mode, align_corners=False), x, grid, device=device)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_3d(padding_mode, rng):
    x = rng.standard_normal((1, 2, 3, 4, 3))
    grid = rng.uniform(-1.2, 1.2, (1, 2, 3, 2, 3))
    check_lib_op(lambda lib, a, g: lib.nn.functional.grid_sample(
        a, g, padding_mode=padding_mode, align_corners=True), x, grid, device="cpu")


@pytest.mark.parametrize("align_corners", [True, False])
def test_affine_grid_2d(align_corners, rng):
    theta = rng.standard_normal((2, 2, 3))
    check_lib_op(lambda lib, t: lib.nn.functional.affine_grid(t, (2, 3, 4, 5),
                                                              align_corners=align_corners),
                 theta, device="cpu")


def test_affine_grid_2d_device(device, rng):
    theta = rng.standard_normal((1, 2, 3))  # tiny: the simulated batched matmul is slow
    check_lib_op(lambda lib, t: lib.nn.functional.affine_grid(t, (1, 1, 2, 3),
                                                              align_corners=False),
                 theta, device=device)


def test_affine_grid_3d_and_identity_roundtrip(rng):
    theta = rng.standard_normal((2, 3, 4))
    check_lib_op(lambda lib, t: lib.nn.functional.affine_grid(t, (2, 1, 3, 4, 2),
                                                              align_corners=False),
                 theta, device="cpu")
    # identity transform + align_corners=True samples every pixel exactly
    x = gt.tensor(rng.standard_normal((1, 2, 4, 5)))
    ident = gt.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=gt.float64)
    grid = gt.nn.functional.affine_grid(ident, (1, 2, 4, 5), align_corners=True)
    y = gt.nn.functional.grid_sample(x, grid, align_corners=True)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-12)


def test_grid_sample_errors_and_warning(rng):
    F = gt.nn.functional
    x, g = gt.zeros(1, 1, 3, 3), gt.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match="expected mode"):
        F.grid_sample(x, g, mode="cubic", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.grid_sample(x, gt.zeros(1, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        F.grid_sample(gt.zeros(1, 1, 2, 2, 2), gt.zeros(1, 1, 1, 1, 3), mode="bicubic",
                      align_corners=False)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(gt.zeros(1, 3, 3), (1, 1, 3, 3), align_corners=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.affine_grid(gt.zeros(1, 2, 3), (1, 1, 3, 3), align_corners=True)
