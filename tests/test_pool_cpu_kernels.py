"""CPU pooling kernels (Numba loops in kernels/pool_cpu_numba.py): values, argmax indices and
gradients against torch on both the serial and the parallel build, NaN/-inf/integer/float16
inputs, non-contiguous inputs, gradcheck, and pooling in a forked child."""
import multiprocessing

import numpy as np
import pytest
import torch

import gputensor as gt
import gputensor.nn.functional as F
from gputensor.kernels import pool_cpu, pool_cpu_numba
from helpers import check_grad

TF = torch.nn.functional


@pytest.fixture(params=["serial", "parallel"])
def build(request, monkeypatch):
    """Run each test once on the serial build and once on the parallel one (any size)."""
    monkeypatch.setattr(pool_cpu_numba, "GRAIN", 1 << 62 if request.param == "serial" else 0)
    return request.param


def _run(name, a, *args, grad=True, **kw):
    """(outputs, input gradient) of F.name on gputensor and on torch, for sum(out * w)."""
    results = []
    for lib, fn in ((gt, getattr(F, name)), (torch, getattr(TF, name))):
        x = lib.tensor(a, requires_grad=grad)
        out = fn(x, *args, **kw)
        outs = out if isinstance(out, tuple) else (out,)
        g = None
        if grad:
            w = np.random.default_rng(7).standard_normal(tuple(outs[0].shape))
            (outs[0] * lib.tensor(w.astype(a.dtype))).sum().backward()
            g = x.grad.detach().numpy()
        results.append(([o.detach().numpy() for o in outs], g))
    return results


def _check(name, a, *args, tol=1e-5, grad=True, **kw):
    (ours, g_ours), (ref, g_ref) = _run(name, a, *args, grad=grad, **kw)
    for o, r in zip(ours, ref):
        assert o.dtype == r.dtype and o.shape == r.shape
        if o.dtype.kind in "iu":
            np.testing.assert_array_equal(o, r)
        else:
            np.testing.assert_allclose(o, r, rtol=tol, atol=tol)
    if grad:
        np.testing.assert_allclose(g_ours, g_ref, rtol=tol, atol=tol)


MAX_ARGS = [
    ((2,), {}),
    ((3, 2, 1), {}),
    ((3, 1, 1), {}),  # overlapping windows: gradients add up
    (((3, 2), (2, 1), (1, 1)), {"dilation": (1, 2), "ceil_mode": True}),
    ((3, 2, 1), {"dilation": 2, "ceil_mode": True}),
    (((1, 4), (1, 3)), {"ceil_mode": True}),
]


@pytest.mark.parametrize("args, kw", MAX_ARGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_values_indices_grad(args, kw, dtype, build, rng):
    a = rng.standard_normal((2, 3, 11, 13)).astype(dtype)
    _check("max_pool2d", a, *args, return_indices=True, **kw)


def test_max_pool2d_ties_pick_first(build):
    a = np.zeros((1, 2, 5, 6), dtype=np.float32)
    _check("max_pool2d", a, 3, 1, 1, return_indices=True)


def test_max_pool2d_nan_last_wins_and_neg_inf_windows(build):
    a = np.full((1, 1, 5, 7), -np.inf, dtype=np.float32)
    _check("max_pool2d", a, 3, 2, 1, return_indices=True, grad=False)  # index: first input tap
    a[0, 0, 1, 2] = a[0, 0, 2, 3] = np.nan
    a[0, 0, 4, 6] = 1.0
    _check("max_pool2d", a, 3, 1, 1, return_indices=True, grad=False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
def test_max_pool2d_integers(dtype, build, rng):
    a = rng.integers(-100 if dtype != np.uint8 else 0, 100, (2, 3, 7, 8)).astype(dtype)
    _check("max_pool2d", a, 3, 2, 1, return_indices=True, grad=False, ceil_mode=True)


def test_max_pool2d_float16_rounds_once(build, rng):
    a = rng.standard_normal((2, 3, 9, 7)).astype(np.float16)
    _check("max_pool2d", a, 2, return_indices=True, tol=0, grad=False)
    y, idx = pool_cpu.max_pool2d_forward(a, (3, 3), (1, 1), (1, 1), (1, 1), False)
    gy = rng.standard_normal(y.shape).astype(np.float16)
    gx = pool_cpu.max_pool2d_backward(gy, idx, a.shape, (3, 3), (1, 1), (1, 1), (1, 1), False)
    ref = torch.ops.aten.max_pool2d_with_indices_backward(
        torch.from_numpy(gy), torch.from_numpy(a), [3, 3], [1, 1], [1, 1], [1, 1], False,
        torch.from_numpy(idx))
    assert gx.dtype == np.float16
    np.testing.assert_allclose(gx.astype(np.float32), ref.numpy().astype(np.float32), atol=2e-3,
                               rtol=2e-3)


AVG_ARGS = [
    ((2,), {}),
    ((3, 1, 1), {}),
    ((3, 2, 1), {"count_include_pad": False}),
    (((3, 2), (2, 1), 1), {"ceil_mode": True, "count_include_pad": False}),
    (((3, 2), (2, 3), 1), {"ceil_mode": True}),
    ((3, 2, 1), {"divisor_override": 4}),
    ((4, 3, 2), {"ceil_mode": True, "divisor_override": 3}),
]


@pytest.mark.parametrize("args, kw", AVG_ARGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool2d(args, kw, dtype, build, rng):
    a = rng.standard_normal((2, 3, 11, 12)).astype(dtype)
    _check("avg_pool2d", a, *args, **kw)


def test_avg_pool2d_float16(build, rng):
    a = rng.standard_normal((2, 3, 9, 7)).astype(np.float16)
    _check("avg_pool2d", a, 3, 2, 1, tol=1e-3, grad=False)


@pytest.mark.parametrize("out", [(1, 1), (3, 4), (5, None), (11, 2)])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pools(name, out, build, rng):
    a = rng.standard_normal((2, 3, 7, 10))
    kw = {"return_indices": True} if name == "adaptive_max_pool2d" else {}
    _check(name, a, out, **kw)


def test_adaptive_max_nan(build):
    a = np.arange(2 * 7 * 10, dtype=np.float32).reshape(1, 2, 7, 10)
    a[0, 0, 1, 1] = a[0, 0, 2, 2] = a[0, 1, 6, 9] = np.nan
    _check("adaptive_max_pool2d", a, (3, 4), return_indices=True, grad=False)


@pytest.mark.parametrize("name, args", [("max_pool2d", (3, 2, 1)), ("avg_pool2d", (3, 2, 1)),
                                        ("adaptive_avg_pool2d", ((3, 4),)),
                                        ("adaptive_max_pool2d", ((3, 4),))])
def test_non_contiguous_input(name, args, build, rng):
    a = rng.standard_normal((9, 3, 2, 12)).astype(np.float32)
    ours = getattr(F, name)(gt.tensor(a).permute(2, 1, 0, 3)[:, :, ::2], *args)
    ref = getattr(TF, name)(torch.from_numpy(a).permute(2, 1, 0, 3)[:, :, ::2], *args)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name, args, kw", [
    ("max_pool2d", (3, 2, 1), {"dilation": (2, 1), "ceil_mode": True}),
    ("avg_pool2d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
    ("adaptive_avg_pool2d", ((3, 4),), {}),
    ("adaptive_max_pool2d", ((3, 4),), {}),
])
def test_gradcheck_float64(name, args, kw, build, rng):
    a = rng.standard_normal((1, 2, 7, 9))
    check_grad(lambda x: getattr(F, name)(x, *args, **kw), a, device="cpu")


def test_unbatched_and_1d(build, rng):
    a = rng.standard_normal((3, 7, 9)).astype(np.float32)
    _check("max_pool2d", a, 3, 2, 1, return_indices=True)
    _check("max_pool1d", a[0], 3, 2, 1, return_indices=True)
    _check("avg_pool1d", a[0], 3, 2, 1, count_include_pad=False)


def _pool_in_child(queue):
    x = np.arange(4 * 64 * 32 * 32, dtype=np.float32).reshape(4, 64, 32, 32)
    y, _ = pool_cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    queue.put(float(y[-1, -1, -1, -1]))


def test_forked_child_pools_after_parent_ran_parallel():
    """GNU OpenMP aborts a forked child that starts a parallel region; children run serially."""
    ctx = multiprocessing.get_context("fork")
    x = np.zeros((4, 64, 32, 32), dtype=np.float32)  # above GRAIN: the parallel build
    pool_cpu.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    queue = ctx.Queue()
    child = ctx.Process(target=_pool_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 4 * 64 * 32 * 32 - 1


@pytest.mark.parametrize("name, args", [("max_pool2d", (2,)), ("avg_pool2d", (3, 2, 1)),
                                        ("adaptive_avg_pool2d", ((3, 4),)),
                                        ("adaptive_max_pool2d", ((3, 4),))])
def test_empty_batch(name, args, build):
    _check(name, np.zeros((0, 3, 7, 9), dtype=np.float32), *args)
