"""conv2d / conv1d / unfold / fold ops: against torch.nn.functional on cpu and cuda, gradcheck on
both devices, torch's errors for bad shapes, and double backward."""
import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn.functional as F
from helpers import check_grad, compare_torch, to_gt


def test_conv2d_matches_torch(device, rng):
    x = rng.standard_normal((2, 6, 7, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    compare_torch(lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 0), (1, 2), 2),
                  x, w, b, device=device,
                  torch_fn=lambda x, w, b: torch.nn.functional.conv2d(x, w, b, (2, 1), (1, 0),
                                                                      (1, 2), 2))


@pytest.mark.parametrize("k", [3, 2])  # odd and even kernels: symmetric / right-heavy padding
def test_conv2d_same_padding_and_unbatched(k, rng):
    x = rng.standard_normal((3, 5, 6))
    w = rng.standard_normal((2, 3, k, k))
    compare_torch(lambda x, w: F.conv2d(x, w, padding="same"), x, w, device="cpu",
                  torch_fn=lambda x, w: torch.nn.functional.conv2d(x, w, padding="same"))


def test_conv2d_gradcheck(device, rng):
    x, w, b = rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((2, 1, 2, 2)), \
        rng.standard_normal(2)
    check_grad(lambda x, w, b: F.conv2d(x, w, b, groups=2, padding=1, stride=2), x, w, b,
               device=device)


def test_conv2d_double_backward(rng):
    x, w = rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((3, 2, 2, 2))
    inputs = [to_gt(x, "cpu", True), to_gt(w, "cpu", True)]
    assert gt.autograd.gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1),
                                     inputs)


def test_conv1d_matches_torch(device, rng):
    x = rng.standard_normal((2, 4, 9)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    compare_torch(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
                  x, w, b, device=device,
                  torch_fn=lambda x, w, b: torch.nn.functional.conv1d(x, w, b, 2, 1, 2, 2))


def test_unfold_fold_match_torch(device, rng):
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    compare_torch(lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1)), x, device=device,
                  torch_fn=lambda x: torch.nn.functional.unfold(x, (2, 3), padding=1,
                                                                stride=(2, 1)))
    cols = rng.standard_normal((1, 12, 12)).astype(np.float32)
    compare_torch(lambda c: F.fold(c, (5, 4), (2, 3), padding=1, stride=(2, 1)), cols,
                  device=device,
                  torch_fn=lambda c: torch.nn.functional.fold(c, (5, 4), (2, 3), padding=1,
                                                              stride=(2, 1)))


def test_fold_gradcheck(rng):
    check_grad(lambda c: F.fold(c, (3, 3), 2), rng.standard_normal((1, 4, 4)), device="cpu")


@pytest.mark.parametrize("xs, ws, kw, match", [
    ((2, 4, 9, 9), (5, 3, 3, 3), {}, r"expected input\[2, 4, 9, 9\] to have 3 channels, but "
                                     r"got 4 channels instead"),
    ((2, 4, 9, 9), (5, 2, 3, 3), {"groups": 2}, r"divisible by 2 at dimension 0"),
    ((1, 3, 2, 2), (4, 3, 3, 3), {}, r"Kernel size: \(3 x 3\). Kernel size can't be greater"),
    ((3, 9, 9), (4, 3, 3), {}, r"4-D weight"),
    ((9, 9), (4, 3, 3, 3), {}, r"input of size: \[9, 9\]"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"stride": 0}, r"non-positive stride"),
])
def test_conv2d_errors_name_shapes(xs, ws, kw, match):
    x, w = gt.zeros(xs), gt.zeros(ws)
    with pytest.raises(RuntimeError, match=match):
        F.conv2d(x, w, **kw)


def test_conv2d_rejects_bias_and_dtype_mismatch():
    x, w = gt.zeros((1, 3, 5, 5)), gt.zeros((4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"bias of size \[3\]"):
        F.conv2d(x, w, gt.zeros(3))
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(x.double(), w)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, stride=2, padding="same")


def test_fold_rejects_wrong_block_count():
    with pytest.raises(RuntimeError, match=r"sliding blocks 2 \* 2 = 4, but got input.size\(2\)=5"):
        F.fold(gt.zeros((1, 4, 5)), (3, 3), 2)
