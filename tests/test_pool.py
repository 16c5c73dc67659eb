"""Pooling ops (max/avg/adaptive, 1-d and 2-d): against torch.nn.functional on cpu and cuda,
gradcheck on both devices, and torch's errors for bad arguments."""
import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn.functional as F
from helpers import check_grad, compare_torch, to_np

TF = torch.nn.functional
X = (2, 3, 7, 9)


def _same(name, *args, **kw):
    """The same call on gputensor and on torch."""
    return (lambda x: getattr(F, name)(x, *args, **kw)), (lambda x: getattr(TF, name)(x, *args,
                                                                                    **kw))


@pytest.mark.parametrize("name, args, kw", [
    ("max_pool2d", (3, 2, 1), {"dilation": (1, 2), "ceil_mode": True}),
    ("max_pool2d", (2,), {}),
    ("avg_pool2d", ((3, 2), (2, 1), 1), {"ceil_mode": True, "count_include_pad": False}),
    ("avg_pool2d", (3, 2, 1), {"divisor_override": 4}),
    ("adaptive_avg_pool2d", ((3, None),), {}),
    ("adaptive_max_pool2d", ((4, 5),), {}),
])
def test_pool2d_matches_torch(name, args, kw, device, rng):
    fn, tfn = _same(name, *args, **kw)
    compare_torch(fn, rng.standard_normal(X).astype(np.float32), device=device, torch_fn=tfn)


@pytest.mark.parametrize("name, args, kw", [
    ("max_pool1d", (3, 2, 1), {"ceil_mode": True}),
    ("avg_pool1d", (3, 2, 1), {"count_include_pad": False}),
    ("adaptive_avg_pool1d", (4,), {}),
    ("adaptive_max_pool1d", (4,), {}),
])
def test_pool1d_matches_torch(name, args, kw, device, rng):
    fn, tfn = _same(name, *args, **kw)
    compare_torch(fn, rng.standard_normal((2, 3, 9)).astype(np.float32), device=device,
                  torch_fn=tfn)


@pytest.mark.parametrize("name, kw", [("max_pool2d", {"kernel_size": 3, "stride": 2,
                                                      "padding": 1, "return_indices": True}),
                                      ("adaptive_max_pool2d", {"output_size": (2, 3),
                                                               "return_indices": True}),
                                      ("max_pool1d", {"kernel_size": 2, "return_indices": True})])
def test_max_pool_indices_match_torch(name, kw, device, rng):
    x = rng.standard_normal(X if "2d" in name else (2, 3, 9)).astype(np.float32)
    y, idx = getattr(F, name)(gt.tensor(x, device=device), **kw)
    ty, tidx = getattr(TF, name)(torch.from_numpy(x), **kw)
    assert idx.dtype == gt.int64 and not idx.requires_grad
    np.testing.assert_array_equal(to_np(idx), tidx.numpy())
    np.testing.assert_array_equal(to_np(y), ty.numpy())


def test_unbatched_input(rng):
    x = rng.standard_normal((3, 7, 9))
    for fn, tfn in (_same("max_pool2d", 2), _same("avg_pool2d", 3, 2, 1),
                    _same("adaptive_avg_pool2d", 2)):
        compare_torch(fn, x, device="cpu", torch_fn=tfn)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2, 1),
    lambda x: F.avg_pool2d(x, 2, 1, 1, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (2, 2)),
    lambda x: F.adaptive_max_pool2d(x, 2),
])
def test_pool_gradcheck(fn, device, rng):
    check_grad(fn, rng.standard_normal((1, 1, 3, 3)), device=device)


def test_pool_double_backward(rng):
    x = gt.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
    for fn in (lambda x: F.avg_pool2d(x, 2, 1), lambda x: F.max_pool2d(x, 2, 1)):
        assert gt.autograd.gradgradcheck(fn, [x])


@pytest.mark.parametrize("call, match", [
    (lambda x: F.max_pool2d(x, 2, padding=2), "pad should be at most half of effective kernel"),
    (lambda x: F.max_pool2d(x, 0), "kernel size should be greater than zero"),
    (lambda x: F.avg_pool2d(x, 2, stride=0), "stride should be greater than zero"),
    (lambda x: F.max_pool2d(x, 8), r"Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), "divisor must be not zero"),
    (lambda x: F.max_pool2d(x[0, 0], 2), r"3D or 4D .* input of size \[7, 7\]"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), "output_size must be positive"),
    (lambda x: F.max_pool2d(x.bool(), 2), "not implemented for 'bool'"),  # ints work, as torch
    (lambda x: F.adaptive_max_pool2d(x.long(), 2), "not implemented for 'int64'"),
])
def test_pool_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call(gt.zeros((1, 3, 7, 7)))
