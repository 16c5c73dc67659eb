"""acosh/asinh/atanh, copysign, signbit, bit shifts against torch; and the numeric fixes of
issue 8 (pow's gradient at base 0, amax/amin's gradient with NaN)."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, compare_torch, to_gt, to_np

F = np.float32
NAN = float("nan")


@pytest.mark.parametrize("name,lo,hi", [("acosh", 1.2, 3.0), ("asinh", -2.0, 2.0),
                                        ("atanh", -0.8, 0.8)])
def test_inverse_hyperbolic(device, rng, name, lo, hi):
    x = rng.uniform(lo, hi, (3, 4)).astype(F)
    check_lib_op(lambda L, a: getattr(L, name)(a), x, device=device)
    check_lib_op(lambda L, a: getattr(a, "arc" + name[1:])(), x, device=device)
    check_lib_op(lambda L, a: getattr(L, "arc" + name[1:])(a), x, device=device)
    # torch has no derivative for the in-place forms ("inplace version of acosh")
    check_lib_op(lambda L, a: getattr(a.clone(), name + "_")(), x, device=device, grad=False)
    check_lib_op(lambda L, a: getattr(L, name)(a), np.array([1, 2]), device=device, grad=False)


def test_inverse_hyperbolic_out_of_domain_is_quiet_nan(device):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_lib_op(lambda L, a: (L.acosh(a), L.atanh(a)), np.array([0.5, -2.0, 1.0], F),
                     device=device, grad=False)


def test_copysign(device, rng):
    a = rng.standard_normal((3, 4)).astype(F)
    a[0, 0] = 0.0
    b = rng.standard_normal((3, 4)).astype(F)
    check_lib_op(lambda L, x, y: L.copysign(x, y), a, b, device=device)
    check_lib_op(lambda L, x, y: x.copysign(y), a, b[:1], device=device)
    check_lib_op(lambda L, x: L.copysign(x, -1.0), a, device=device)
    check_lib_op(lambda L, x: x.clone().copysign_(-2), a, device=device)
    check_lib_op(lambda L, x: L.copysign(x, -1), np.array([1, -2]), device=device, grad=False)
    compare_torch(lambda x, y: x.copysign(y), np.array([1.0, -2.0], F),  # signed zeros
                  np.array([-0.0, 0.0], F), device=device)


def test_signbit(device):
    check_lib_op(lambda L, x: L.signbit(x), np.array([-0.0, 1.0, -2.0, NAN], F), device=device,
                 grad=False)
    check_lib_op(lambda L, x: x.signbit(), np.array([-1, 0, 3]), device=device, grad=False)


def _ints(dtype):
    return np.array([1, -1, 5, -8, 100]).astype(dtype)  # uint8 wraps -1 to 255


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8])
def test_shifts(device, dtype):
    x = _ints(dtype)
    for s in (0, 1, 3, 7):
        check_lib_op(lambda L, a: (a << s, a >> s, L.bitwise_left_shift(a, s),
                                   L.bitwise_right_shift(a, s)), x, device=device, grad=False)
    amounts = np.array([1, 2, 0, 3, 1], dtype=dtype)
    check_lib_op(lambda L, a, b: (a << b, a >> b, a.bitwise_left_shift(b)), x, amounts,
                 device=device, grad=False)


def test_shift_amounts_out_of_range_match_torch(device):
    """Shifting by >= the bit width or by a negative amount: 0 (left), 0 or -1 (right)."""
    for dtype, big in ((np.int32, 40), (np.int64, 64), (np.uint8, 9)):
        check_lib_op(lambda L, a: (a << big, a >> big), np.array([1, 3], dtype),
                     device=device, grad=False)
    check_lib_op(lambda L, a: (a << -1, a >> -1), np.array([1, 8, -8]), device=device,
                 grad=False)


def test_shift_reflected_inplace_and_errors(device):
    check_lib_op(lambda L, a: (3 << a, 3 >> a, L.bitwise_left_shift(2, a)), np.array([1, 2]),
                 device=device, grad=False)
    check_lib_op(lambda L, a: a << 1, np.array([True, False]), device=device, grad=False)
    x = to_gt(np.array([5]), device)
    x <<= 2
    assert to_np(x).tolist() == [20]
    x >>= 1
    assert to_np(x).tolist() == [10]
    assert to_np(x.bitwise_left_shift_(1)).tolist() == [20] and to_np(x).tolist() == [20]
    assert to_np(x.bitwise_right_shift_(2)).tolist() == [5]
    with pytest.raises(NotImplementedError, match="\"lshift_.*\" not implemented for 'Float'"):
        to_gt(np.array([1.0], F), device) << 1
    with pytest.raises(NotImplementedError, match="\"rshift_.*\" not implemented for 'Bool'"):
        to_gt(np.array([True]), device) >> to_gt(np.array([True]), device)


# -- numeric fixes -------------------------------------------------------------------------

def test_pow_grad_at_zero_base_negative_exponent(device):
    """torch: d(0**x)/dx = -inf for x < 0 (not nan); d(x**y)/dy likewise at x == 0."""
    e = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], F)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -1 in pow's forward
        compare_torch(lambda x: 0 ** x, e, device=device)
        compare_torch(lambda x, y: x ** y, np.array([0.0, 0.0, 0.0, 1.0, 0.0], F),
                      np.array([-2.0, -1.5, 0.5, -1.0, 0.0], F), device=device)
        compare_torch(lambda x: x ** -1.5, np.array([0.0, 0.0], F), device=device)
        g = to_gt(e, device, True)
        (0 ** g).sum().backward()
    assert to_np(g.grad).tolist()[:2] == [-np.inf, -np.inf]


def test_pow_double_backward_at_zero_base_matches_torch(device):
    """Second derivatives through pow: equal to torch's where torch's are finite; at base 0
    torch's mixed second derivative is nan (0 * log 0), this one stays finite (0)."""
    xs, ys = np.array([0.0, 0.5, 1.5]), np.array([2.0, 3.0, 2.5])
    outs = []
    for lib, mk in ((gt, lambda a: to_gt(a, device, True)),
                    (torch, lambda a: torch.tensor(a, requires_grad=True))):
        x, y = mk(xs), mk(ys)
        gx, gy = lib.autograd.grad((x ** y).sum(), (x, y), create_graph=True)
        outs.append([np.asarray(t.detach().cpu().numpy()) for t in
                     lib.autograd.grad((gx * gy).sum(), (x, y))])
    for mine, theirs in zip(*outs):
        assert np.isfinite(mine).all()
        np.testing.assert_allclose(mine[1:], theirs[1:], rtol=1e-10)


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_grad_with_nan_matches_torch(device, name):
    """torch's amax backward divides by the count of elements equal to the result: a NaN
    result gives NaN gradients for its whole slice; other slices split ties evenly."""
    x = np.array([[1.0, NAN, 3.0], [3.0, 3.0, 1.0], [1.0, 1.0, 2.0]], F)
    compare_torch(lambda a: getattr(a, name)(1), x, device=device)
    compare_torch(lambda a: getattr(a, name)(), np.array([1.0, NAN, 3.0], F), device=device)
    t = to_gt(np.array([1.0, NAN, 3.0], F), device, True)
    getattr(t, name)().backward()
    assert np.isnan(to_np(t.grad)).all()


def test_max_min_without_dim_still_route_nan_grad(device):
    """max()/min() (evenly_distribute_backward) give the NaN element the gradient."""
    compare_torch(lambda a: a.max(), np.array([1.0, NAN, 3.0], F), device=device)
    compare_torch(lambda a: a.min(), np.array([1.0, NAN, NAN], F), device=device)
