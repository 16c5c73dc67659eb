"""Edge values that make NumPy warn (x / 0, log(0), overflow, empty means) give torch's inf/nan
silently: no NumPy RuntimeWarning reaches users (pytest turns them into errors here)."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt

X = [0.0, -1.0, 1.0, float("inf"), float("nan")]
CASES = {
    "div0": lambda L, x: x / L.zeros(5),
    "rdiv0": lambda L, x: 1 / L.zeros(5),
    "int_div0": lambda L, x: L.tensor([1, 2]) / L.tensor([0, 0]),
    "floordiv0": lambda L, x: x // L.zeros(5),
    "remainder0": lambda L, x: x % L.zeros(5),
    "fmod0": lambda L, x: L.fmod(x, L.zeros(5)),
    "reciprocal": lambda L, x: L.reciprocal(L.zeros(5)),
    "log": lambda L, x: L.log(x),
    "log2": lambda L, x: L.log2(x),
    "log10": lambda L, x: L.log10(x),
    "log1p": lambda L, x: L.log1p(x - 1),
    "sqrt": lambda L, x: L.sqrt(x),
    "rsqrt": lambda L, x: L.rsqrt(x),
    "pow_neg": lambda L, x: L.zeros(5) ** -1,
    "pow_half": lambda L, x: x ** 0.5,
    "exp_overflow": lambda L, x: L.exp(L.tensor([1000.0])),
    "cosh_overflow": lambda L, x: L.cosh(L.tensor([1000.0])),
    "mul_overflow": lambda L, x: L.tensor([1e38]) * 10,
    "acos": lambda L, x: L.acos(x * 2),
    "asin": lambda L, x: L.asin(x * 2),
    "atan2_00": lambda L, x: L.atan2(L.zeros(5), L.zeros(5)),
    "mean_empty": lambda L, x: L.zeros(0).mean(),
    "mean_empty_dim": lambda L, x: L.zeros(0, 3).mean(0),
    "logsumexp_neginf": lambda L, x: L.logsumexp(L.tensor([-float("inf")] * 2), 0),
    "half_overflow": lambda L, x: L.tensor([70000.0]).half().float(),
    "cumprod": lambda L, x: L.cumprod(x, 0),
    "log_grad": lambda L, x: _grad(L, L.log),
    "sqrt_grad": lambda L, x: _grad(L, L.sqrt),
}


def _grad(L, fn):
    w = L.zeros(3, requires_grad=True)
    fn(w).sum().backward()
    return w.grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_values_are_silent_and_match_torch(name):
    f = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = f(gt, gt.tensor(X))
    want = f(torch, torch.tensor(X))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
