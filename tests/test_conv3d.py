"""conv3d (one conv2d over depth-unfolded channels), max/avg/adaptive 3-d pooling and their
layers against torch on cpu and cuda: values, indices, gradients, gradcheck, reprs, errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt


@pytest.mark.parametrize("xs, ws, kw", [  # tiny: each gradcheck step is a simulated launch
    ((1, 2, 3, 2, 3), (2, 1, 2, 1, 2), dict(stride=(2, 1, 2), padding=(1, 0, 1),
                                            dilation=(1, 2, 1), groups=2)),
    ((1, 1, 3, 2, 3), (1, 1, 2, 1, 2), dict(padding="same")),
    ((1, 2, 2, 3, 3), (2, 1, 1, 2, 2), dict(padding="valid", groups=2, dilation=(1, 2, 1))),
])
def test_conv3d_matches_torch(xs, ws, kw, device, rng):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, **kw), x, w, b,
                 device=device)


def test_conv3d_larger_cpu(rng):
    x, w = rng.standard_normal((2, 4, 4, 3, 5)), rng.standard_normal((6, 2, 3, 2, 3))
    b = rng.standard_normal(6)
    check_lib_op(lambda lib, x, w, b: lib.nn.functional.conv3d(
        x, w, b, stride=(2, 1, 2), padding=(1, 0, 2), dilation=(1, 2, 1), groups=2), x, w, b,
        device="cpu")


def test_conv3d_unbatched_float32_and_double_backward(rng):
    x = rng.standard_normal((3, 4, 5, 4)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3, 2)).astype(np.float32)
    check_lib_op(lambda lib, x, w: lib.conv3d(x, w, stride=2, padding=1), x, w, device="cpu",
                 grad=False, atol=1e-4)
    inputs = [to_gt(rng.standard_normal((1, 1, 3, 2, 2)), "cpu", True),
              to_gt(rng.standard_normal((2, 1, 2, 1, 2)), "cpu", True)]
    assert gt.autograd.gradgradcheck(lambda x, w: gt.conv3d(x, w, padding=(1, 0, 0)), inputs)


def test_conv3d_module(device, rng):
    m_t = torch.nn.Conv3d(2, 4, (2, 3, 1), stride=(1, 2, 1), padding=1, groups=2)
    m_g = gt.nn.Conv3d(2, 4, (2, 3, 1), stride=(1, 2, 1), padding=1, groups=2, device=device)
    assert repr(m_g) == repr(m_t)
    assert repr(gt.nn.Conv3d(4, 6, 3, padding="same")) == repr(torch.nn.Conv3d(4, 6, 3,
                                                                               padding="same"))
    m_g.weight.data = gt.tensor(m_t.weight.detach().numpy(), device=device)
    m_g.bias.data = gt.tensor(m_t.bias.detach().numpy(), device=device)
    x = rng.standard_normal((1, 2, 3, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(m_g(gt.tensor(x, device=device)).detach().cpu().numpy(),
                               m_t(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    m_c = gt.nn.Conv3d(2, 3, 3, padding=1, padding_mode="circular")
    assert tuple(m_c(gt.zeros(1, 2, 3, 3, 3)).shape) == (1, 3, 3, 3, 3)


@pytest.mark.parametrize("xs, ws, kw", [
    ((2, 3, 3), (1, 2, 1, 1, 1), {}),
    ((1, 3, 3, 3, 3), (1, 2, 1, 1, 1), {}),
    ((1, 2, 3, 3, 3), (1, 2, 4, 1, 1), {}),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(stride=(2, 2))),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(padding="same", stride=2)),
    ((1, 4, 3, 3, 3), (3, 2, 1, 1, 1), dict(groups=2)),
])
def test_conv3d_errors_match_torch(xs, ws, kw):
    with pytest.raises(RuntimeError) as want:
        torch.conv3d(torch.zeros(xs), torch.zeros(ws), **kw)
    with pytest.raises(RuntimeError) as got:
        gt.conv3d(gt.zeros(xs), gt.zeros(ws), **kw)
    assert str(got.value) == str(want.value)


MAX_CASES = [dict(kernel_size=2),
             dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=1, dilation=(1, 2, 1),
                  ceil_mode=True),
             dict(kernel_size=3, stride=2, ceil_mode=True)]


@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool3d_matches_torch(kw, device, rng):
    x = rng.standard_normal((1, 2, 4, 3, 5))
    check_lib_op(lambda lib, x: lib.nn.functional.max_pool3d(x, **kw), x, device=device)
    y_g, i_g = gt.nn.functional.max_pool3d(gt.tensor(x, device=device), return_indices=True,
                                           **kw)
    y_t, i_t = torch.nn.functional.max_pool3d(torch.from_numpy(x), return_indices=True, **kw)
    np.testing.assert_array_equal(i_g.cpu().numpy(), i_t.numpy())
    assert i_g.dtype == gt.int64


def test_max_pool3d_integer_and_unbatched(rng):
    x = rng.integers(-50, 50, (2, 3, 4, 5))
    y_g, i_g = gt.max_pool3d(gt.tensor(x), 2, return_indices=True)
    y_t, i_t = torch.nn.functional.max_pool3d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(y_g.numpy(), y_t.numpy())
    np.testing.assert_array_equal(i_g.numpy(), i_t.numpy())


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),
    dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True, divisor_override=5),
])
def test_avg_pool3d_matches_torch(kw, device, rng):
    x = rng.standard_normal((1, 2, 4, 3, 5))
    check_lib_op(lambda lib, x: lib.nn.functional.avg_pool3d(x, **kw), x, device=device)


@pytest.mark.parametrize("size", [(2, 3, 4), (2, None, 2), 1])
def test_adaptive_avg_pool3d_matches_torch(size, device, rng):
    shape = (1, 2, 4, 3, 5) if device == "cpu" else (1, 1, 3, 2, 3)  # matmul launches
    check_lib_op(lambda lib, x: lib.nn.functional.adaptive_avg_pool3d(x, size),
                 rng.standard_normal(shape), device=device)


def test_pool3d_modules_repr_and_forward(rng):
    x = rng.standard_normal((1, 2, 4, 4, 4)).astype(np.float32)
    for make in (lambda nn: nn.MaxPool3d(2), lambda nn: nn.MaxPool3d(2, 1, 1, 2, True, True),
                 lambda nn: nn.AvgPool3d((2, 1, 2)), lambda nn: nn.AvgPool3d(3, 2, 1, True, False),
                 lambda nn: nn.AdaptiveAvgPool3d((2, None, 3))):
        m_t, m_g = make(torch.nn), make(gt.nn)
        assert repr(m_g) == repr(m_t)
        y_t, y_g = m_t(torch.from_numpy(x)), m_g(gt.tensor(x))
        for a, b in zip(y_g if isinstance(y_g, tuple) else (y_g,),
                        y_t if isinstance(y_t, tuple) else (y_t,)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool3d(x[0, 0], 2),
    lambda F, x: F.avg_pool3d(x[0, 0], 2),
    lambda F, x: F.max_pool3d(x, 2, padding=2),
    lambda F, x: F.avg_pool3d(x, 2, padding=2),
    lambda F, x: F.max_pool3d(x[:, :, :1], 2),
    lambda F, x: F.avg_pool3d(x[:, :, :1], 2),
    lambda F, x: F.max_pool3d(x, 0),
    lambda F, x: F.adaptive_avg_pool3d(x[0, 0], 2),
])
def test_pool3d_errors_match_torch(call):
    with pytest.raises(RuntimeError) as want:
        call(torch.nn.functional, torch.zeros(1, 2, 3, 3, 3))
    with pytest.raises(RuntimeError) as got:
        call(gt.nn.functional, gt.zeros(1, 2, 3, 3, 3))
    assert str(got.value) == str(want.value)
