"""erf / erfc / erfinv: float64 results to ~1 ulp of torch's (GELU's exact form depends on it),
the input dtype kept, domain edges and gradients (first and second order) as torch."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt, to_np

FUNCS = ["erf", "erfc", "erfinv"]


def _wide(name: str, rng) -> np.ndarray:
    """Points over the whole useful range: tiny |x| (erf's relative accuracy), the tails
    (erfc's), and erfinv's (-1, 1) up to one ulp from the ends."""
    if name == "erfinv":
        return np.concatenate([rng.uniform(-1, 1, 400), 1 - 10.0 ** rng.uniform(-15.5, -1, 60),
                               -1 + 10.0 ** rng.uniform(-15.5, -1, 60),
                               10.0 ** rng.uniform(-300, -1, 60), [0.0, -0.0]])
    return np.concatenate([rng.uniform(-6, 6, 400), 10.0 ** rng.uniform(-300, 0, 60),
                           -(10.0 ** rng.uniform(-300, 0, 60)), rng.uniform(3, 26.5, 120),
                           [0.0, -0.0]])


@pytest.mark.parametrize("name", FUNCS)
def test_float64_matches_torch_to_an_ulp(name, rng):
    x = _wide(name, rng)
    got = getattr(gt, name)(gt.tensor(x)).numpy()
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


@pytest.mark.parametrize("name", FUNCS)
def test_float64_on_cuda(name, rng):
    x = _wide(name, rng)[::37]  # few points: the simulator is slow
    got = to_np(getattr(gt, name)(gt.tensor(x, device="cuda")))
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


def test_exact_gelu_float64_matches_torch(device, rng):
    x = np.concatenate([rng.uniform(-8, 8, 9), [0.0, 1e-8, -2.5]])
    got = to_np(gt.nn.functional.gelu(to_gt(x, device)))
    want = torch.nn.functional.gelu(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-17)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_low_precision_keeps_dtype(name, dtype, rng):
    x = (rng.uniform(-0.99, 0.99, 257) if name == "erfinv" else rng.uniform(-5, 5, 257))
    x = x.astype(dtype)
    got = getattr(gt, name)(gt.tensor(x))
    want = getattr(torch, name)(torch.tensor(x))
    assert got.dtype.name == dtype
    tol = dict(float32=dict(rtol=3e-7, atol=1e-7), float16=dict(rtol=1e-3, atol=1e-3))[dtype]
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               want.numpy().astype(np.float64), **tol)


@pytest.mark.parametrize("name", FUNCS)
def test_integer_and_bool_inputs_compute_in_default_dtype(name):
    for vals in ([0, 1, -1, 2], [True, False]):
        got = getattr(gt, name)(gt.tensor(vals))
        want = getattr(torch, name)(torch.tensor(vals))
        assert got.dtype.name == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("name", FUNCS)
def test_special_values_and_no_warnings(name):
    x = np.array([np.inf, -np.inf, np.nan, 1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 1e300, -1e300,
                  5e-324, 27.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(gt, name)(gt.tensor(x)).numpy()
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)  # inf, nan and 0 exactly
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want[ok]))  # erf(-0) = -0


@pytest.mark.parametrize("name", FUNCS)
def test_values_and_gradients_match_torch(name, device, rng):
    x = rng.uniform(-0.9, 0.9, (3, 5)) if name == "erfinv" else rng.uniform(-2.5, 2.5, (3, 5))
    check_lib_op(lambda lib, t: getattr(lib, name)(t), x, device=device, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", FUNCS)
def test_second_order_gradients(name, device, rng):
    x = rng.uniform(-0.8, 0.8, (5,)) if name == "erfinv" else rng.uniform(-2, 2, (5,))
    t = to_gt(x, device, requires_grad=True)
    assert gt.autograd.gradgradcheck(lambda a: getattr(gt, name)(a), [t])


@pytest.mark.parametrize("name", FUNCS)
def test_method_and_inplace_forms(name, rng):
    x = rng.uniform(-0.9, 0.9, 7)
    want = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(getattr(gt.tensor(x), name)().numpy(), want, rtol=2e-15)
    t = gt.tensor(x)
    assert getattr(t, name + "_")() is t
    np.testing.assert_allclose(t.numpy(), want, rtol=2e-15)


def test_erfinv_inverts_erf(rng):
    x = rng.uniform(-3, 3, 101)
    np.testing.assert_allclose(gt.erfinv(gt.erf(gt.tensor(x))).numpy(), x, rtol=1e-12)
