"""pixel_shuffle / pixel_unshuffle and max_unpool1d/2d (with max_pool's indices) against torch
on cpu and cuda: values, gradients, gradcheck, modules, output_size and errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch


@pytest.mark.parametrize("shape, r", [((1, 8, 3, 2), 2), ((2, 1, 9, 2, 1), 3), ((4, 1, 3), 2)])
def test_pixel_shuffle_matches_torch(shape, r, device, rng):
    check_lib_op(lambda lib, x: lib.nn.functional.pixel_shuffle(x, r),
                 rng.standard_normal(shape), device=device)


@pytest.mark.parametrize("shape, r", [((1, 2, 4, 6), 2), ((2, 1, 1, 3, 3), 3), ((3, 2, 2), 1)])
def test_pixel_unshuffle_matches_torch(shape, r, device, rng):
    check_lib_op(lambda lib, x: lib.pixel_unshuffle(x, r), rng.standard_normal(shape),
                 device=device)


def test_pixel_shuffle_roundtrip_modules_and_ints(rng):
    x = gt.tensor(rng.integers(0, 9, (2, 12, 3, 5)))
    ps, pu = gt.nn.PixelShuffle(2), gt.nn.PixelUnshuffle(2)
    assert repr(ps) == repr(torch.nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(pu) == repr(torch.nn.PixelUnshuffle(2))
    y = ps(x)
    assert y.dtype == gt.int64 and tuple(y.shape) == (2, 3, 6, 10)
    np.testing.assert_array_equal(pu(y).numpy(), x.numpy())
    np.testing.assert_array_equal(y.numpy(), torch.nn.PixelShuffle(2)(torch.from_numpy(
        x.numpy())).numpy())


@pytest.mark.parametrize("call", [
    lambda F: F.pixel_shuffle(F_zeros(F, 5, 5), 2),
    lambda F: F.pixel_shuffle(F_zeros(F, 1, 5, 5, 5), 2),
    lambda F: F.pixel_shuffle(F_zeros(F, 1, 4, 5, 5), 0),
    lambda F: F.pixel_unshuffle(F_zeros(F, 1, 4, 5, 6), 2),
    lambda F: F.pixel_unshuffle(F_zeros(F, 1, 4, 6, 5), 2),
    lambda F: F.pixel_unshuffle(F_zeros(F, 1, 4, 6, 5), 0),
    lambda F: F.pixel_unshuffle(F_zeros(F, 6, 5), 1),
])
def test_pixel_shuffle_errors_match_torch(call):
    with pytest.raises(RuntimeError) as want:
        call(torch.nn.functional)
    with pytest.raises(RuntimeError) as got:
        call(gt.nn.functional)
    assert str(got.value) == str(want.value)


def F_zeros(F, *shape):
    return (torch if F is torch.nn.functional else gt).zeros(*shape)


@pytest.mark.parametrize("pool, unpool", [
    (dict(kernel_size=2), dict(kernel_size=2, output_size=(5, 7))),
    (dict(kernel_size=(1, 3), stride=(1, 3)), dict(kernel_size=(1, 3),
                                                   output_size=(1, 2, 5, 7))),
])
def test_max_unpool2d_matches_torch(pool, unpool, device, rng):
    x = rng.standard_normal((1, 2, 5, 7) if device == "cpu" else (1, 1, 2, 6))
    if device != "cpu":
        unpool = dict(unpool, output_size=None)

    def f(lib, x):
        y, idx = lib.nn.functional.max_pool2d(x, return_indices=True, **pool)
        return lib.nn.functional.max_unpool2d(y, idx, **unpool)
    check_lib_op(f, x, device=device)


@pytest.mark.parametrize("pool, unpool", [
    (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, padding=1)),
    (dict(kernel_size=(2, 3), stride=(1, 2)), dict(kernel_size=(2, 3), stride=(1, 2),
                                                   output_size=(1, 2, 5, 7))),
])
def test_max_unpool2d_overlapping_windows(pool, unpool, rng):
    """Overlapping windows can pick one input twice: values and torch's gather gradient still
    match torch (a numerical gradcheck cannot, for torch either)."""
    x = rng.standard_normal((1, 2, 5, 7))

    def f(lib, x):
        y, idx = lib.nn.functional.max_pool2d(x, return_indices=True, **pool)
        return lib.nn.functional.max_unpool2d(y, idx, **unpool)
    compare_torch(lambda x: f(gt, x), x, device="cpu", torch_fn=lambda x: f(torch, x))


def test_max_unpool_unbatched_1d_and_modules(device, rng):
    x = rng.standard_normal((2, 7))

    def f1(lib, x):
        y, idx = lib.nn.functional.max_pool1d(x, 2, return_indices=True)
        return lib.nn.functional.max_unpool1d(y, idx, 2, output_size=[7])
    check_lib_op(f1, x, device=device)
    x3 = rng.standard_normal((2, 4, 4)).astype(np.float32)
    for lib in (torch, gt):
        y, idx = lib.nn.MaxPool2d(2, return_indices=True)(lib.tensor(x3))
        out = lib.nn.MaxUnpool2d(2)(y, idx)
        if lib is torch:
            want = out.numpy()
    np.testing.assert_array_equal(out.numpy(), want)
    assert repr(gt.nn.MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))
    assert repr(gt.nn.MaxUnpool1d(2, 1, 1)) == repr(torch.nn.MaxUnpool1d(2, 1, 1))


@pytest.mark.parametrize("exc, call", [
    (ValueError, lambda F, y, i: F.max_unpool2d(y, i, 2, output_size=(7, 5))),
    (ValueError, lambda F, y, i: F.max_unpool2d(y, i, 2, output_size=(1, 2, 3))),
    (RuntimeError, lambda F, y, i: F.max_unpool2d(y, i.int(), 2)),
    (RuntimeError, lambda F, y, i: F.max_unpool2d(y, i + 30, 2)),
    (RuntimeError, lambda F, y, i: F.max_unpool2d(y, i[..., :1], 2)),
    (RuntimeError, lambda F, y, i: F.max_unpool2d(y[0, 0], i[0, 0], 2)),
    (RuntimeError, lambda F, y, i: F.max_unpool1d(y[0, 0], i[0, 0], 2)),
])
def test_max_unpool_errors_match_torch(exc, call, rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    msgs = []
    for lib in (torch, gt):
        y, i = lib.nn.functional.max_pool2d(lib.tensor(x), 2, return_indices=True)
        with pytest.raises(exc) as err:
            call(lib.nn.functional, y, i)
        msgs.append(str(err.value))
    if "invalid max index" in msgs[0]:  # which offender torch names depends on its threads
        msgs = [m.split(":")[0] + m.split("(")[1] for m in msgs]
    assert msgs[0] == msgs[1]
