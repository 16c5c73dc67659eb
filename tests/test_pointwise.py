"""Elementwise math, comparisons and logical ops: values vs torch, gradients by gradcheck."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import gputensor as gt
from helpers import check_grad, check_lib_op, compare_torch, to_gt, to_np

SHAPE = (2, 3)


def _domain(rng, kind):
    """Inputs away from each function's singular or non-differentiable points."""
    u = rng.uniform(0.2, 1.5, SHAPE) * rng.choice([-1.0, 1.0], SHAPE)
    return {"any": u, "pos": np.abs(u) + 0.1, "unit": np.clip(u, -0.9, 0.9) * 0.9}[kind]


UNARY = {"exp": "any", "exp2": "any", "log": "pos", "log2": "pos", "log10": "pos",
         "log1p": "pos", "expm1": "any", "sqrt": "pos", "rsqrt": "pos", "square": "any",
         "sin": "any", "cos": "any", "tan": "unit", "asin": "unit", "acos": "unit",
         "atan": "any", "sinh": "any", "cosh": "any", "tanh": "any", "sigmoid": "any",
         "relu": "any", "abs": "any", "reciprocal": "any", "erf": "any", "erfc": "any",
         "frac": "any", "neg": "any"}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch_and_gradchecks(device, rng, name):
    x = _domain(rng, UNARY[name]).astype(np.float32)
    check_lib_op(lambda lib, a: getattr(lib, name)(a), x, device=device)
    compare_torch(lambda a: getattr(a, name)(), x, device=device)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "sign"])
def test_piecewise_constant_have_zero_grad(device, name):
    x = np.array([[-2.4, -1.2, 0.3], [1.6, 2.7, 3.2]], dtype=np.float32)
    check_lib_op(lambda lib, a: getattr(lib, name)(a), x, device=device)


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "sigmoid", "tanh", "log1p", "erf"])
def test_integer_input_gives_default_float(device, name):
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    compare_torch(lambda a: getattr(a, name)(), x, device=device, grad=False)


@pytest.mark.parametrize("name", ["abs", "neg", "sign", "floor", "relu", "square"])
def test_integer_input_keeps_int(device, name):
    x = np.array([[-3, 0, 2]], dtype=np.int32)
    compare_torch(lambda a: getattr(a, name)(), x, device=device, grad=False)


def test_abs_dunder(device):
    x = to_gt(np.array([-1.5, 2.0]), device)
    assert abs(x).tolist() == [1.5, 2.0]


def test_erf_accuracy_over_wide_range(device):
    x = np.concatenate([np.linspace(-6, 6, 49), [1e-8, -3e-5, 0.49, 0.51, 0.0]])
    for dtype, tol in ((np.float64, 2e-7), (np.float32, 2e-7)):
        got = to_np(gt.erf(to_gt(x.astype(dtype), device)))
        want = torch.erf(torch.from_numpy(x.astype(dtype))).numpy()
        np.testing.assert_allclose(got, want, rtol=tol, atol=1e-30)
        got = to_np(gt.erfc(to_gt(x.astype(dtype), device)))
        want = torch.erfc(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=5e-7, atol=1e-30)


def test_sigmoid_stable_at_extremes(device):
    x = np.array([-100.0, -20.0, 0.0, 20.0, 100.0], dtype=np.float32)
    compare_torch(gt.sigmoid, x, device=device, torch_fn=torch.sigmoid, rtol=1e-5, atol=1e-30)


def test_round_decimals(device):
    x = np.array([1.2345, -2.5, 0.5, 1.5, 12.355], dtype=np.float64)
    for d in (0, 1, 2, -1):
        compare_torch(lambda a: a.round(decimals=d), x, device=device)


def test_double_backward_matches_torch(device, rng):
    x = _domain(rng, "any").astype(np.float64)
    for name in ("sigmoid", "tanh", "sin", "erf", "sqrt"):
        xa = np.abs(x) + 0.1 if name == "sqrt" else x
        g, t = to_gt(xa, device, True), torch.from_numpy(xa).requires_grad_()
        (gg,) = gt.autograd.grad(getattr(g, name)().sum(), g, create_graph=True)
        (tg,) = torch.autograd.grad(getattr(t, name)().sum(), t, create_graph=True)
        (gg2,) = gt.autograd.grad(gg.sum(), g)
        (tg2,) = torch.autograd.grad(tg.sum(), t)
        np.testing.assert_allclose(to_np(gg2), tg2.numpy(), rtol=1e-6, atol=1e-9)


# -- binary ops -----------------------------------------------------------------------------------

BINARY = {"atan2": lambda lib, a, b: lib.atan2(a, b), "hypot": lambda lib, a, b: lib.hypot(a, b),
          "logaddexp": lambda lib, a, b: lib.logaddexp(a, b),
          "maximum": lambda lib, a, b: lib.maximum(a, b),
          "minimum": lambda lib, a, b: lib.minimum(a, b),
          "fmax": lambda lib, a, b: lib.fmax(a, b), "fmin": lambda lib, a, b: lib.fmin(a, b),
          "remainder": lambda lib, a, b: lib.remainder(a, b),
          "fmod": lambda lib, a, b: lib.fmod(a, b), "pow": lambda lib, a, b: lib.pow(a, b)}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_matches_torch_and_gradchecks(device, rng, name):
    a = rng.uniform(0.5, 2.0, (3, 1, 2)).astype(np.float32)
    b = rng.uniform(-1.5, 1.5, (4, 1)).astype(np.float32) + 0.05
    if name in ("remainder", "fmod"):  # keep a / b away from integers (jumps)
        a, b = a * 3 + 0.3, np.full((4, 1), 0.7, np.float32) * rng.choice([-1, 1], (4, 1))
    check_lib_op(BINARY[name], a, b, device=device)


def test_maximum_ties_split_gradient_like_torch(device):
    a = np.array([1.0, 2.0, 3.0, np.nan], dtype=np.float32)
    b = np.array([1.0, 5.0, 0.0, 1.0], dtype=np.float32)
    for name in ("maximum", "minimum", "fmax", "fmin"):
        compare_torch(lambda x, y: BINARY[name](gt, x, y), a, b, device=device,
                      torch_fn=lambda x, y: BINARY[name](torch, x, y))


def test_pow_both_require_grad_and_zero_base(device, rng):
    a = rng.uniform(0.5, 2.0, (2, 3))
    b = rng.uniform(-1.5, 1.5, (2, 3))
    check_grad(lambda x, y: x ** y, a, b, device=device)
    compare_torch(lambda x, y: x ** y, np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.5]),
                  device=device)
    compare_torch(lambda x: 2.0 ** x, np.array([0.5, -1.0]), device=device)
    compare_torch(lambda x: x ** 0, np.array([0.0, 3.0]), device=device)


def test_floor_divide_and_modulo_values(device):
    a = np.array([-7, -3, 0, 3, 7], dtype=np.int64)
    b = np.array([2, -2, 3, -3, 5], dtype=np.int64)
    for f in (lambda x, y: x // y, lambda x, y: x % y, lambda x, y: torch.fmod(x, y)
              if isinstance(x, torch.Tensor) else gt.fmod(x, y),
              lambda x, y: 7 // y, lambda x, y: 7 % y,
              lambda x, y: x.div(y, rounding_mode="trunc"),
              lambda x, y: x.div(y, rounding_mode="floor")):
        compare_torch(f, a, b, device=device, grad=False)
    fa = a.astype(np.float32) + 0.5
    compare_torch(lambda x, y: (x // y, x % y), fa, b.astype(np.float32), device=device,
                  grad=False)


def test_floor_divide_backward_raises_and_div_floor_is_zero(device):
    x = to_gt(np.array([1.5, 2.5]), device, True)
    with pytest.raises(RuntimeError, match="floor_divide"):
        (x // 2).sum().backward()
    compare_torch(lambda a: a.div(2, rounding_mode="floor"), np.array([1.5, -2.5]),
                  device=device)


def test_integer_division_by_zero_raises(device):
    x = to_gt(np.array([1, 2]), device)
    for f in (lambda: x // 0, lambda: x % 0, lambda: gt.fmod(x, 0)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            f()


def test_div_bad_rounding_mode():
    with pytest.raises(RuntimeError, match="rounding_mode"):  # as torch
        gt.div(gt.ones(2), 2, rounding_mode="ceil")


# -- clamp, where, misc ---------------------------------------------------------------------------

def test_clamp_scalar_bounds(device, rng):
    x = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
    check_lib_op(lambda lib, a: lib.clamp(a, -0.5, 0.7), x, device=device)
    check_lib_op(lambda lib, a: lib.clamp(a, min=0.1), x, device=device)
    check_lib_op(lambda lib, a: a.clip(max=0.3), x, device=device)
    check_lib_op(lambda lib, a: a.clamp(1.0, -1.0), x, device=device)  # min > max gives max


def test_clamp_tensor_bounds(device, rng):
    x = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
    lo = rng.uniform(-1.5, -0.2, (4,)).astype(np.float32)
    hi = rng.uniform(0.2, 1.5, (3, 1)).astype(np.float32)
    check_lib_op(lambda lib, a, l, h: lib.clamp(a, l, h), x, lo, hi, device=device)


def test_clamp_int_promotion_and_errors(device):
    x = np.array([1, 2, 3])
    compare_torch(lambda a: a.clamp(min=1.5), x, device=device, grad=False)
    compare_torch(lambda a: a.clamp(0, 2), x, device=device, grad=False)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        gt.clamp(to_gt(x, device))


def test_where(device, rng):
    c = rng.uniform(size=(3, 1)) > 0.5
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    check_lib_op(lambda lib, cc, x, y: lib.where(cc, x, y), c, a, b, device=device)
    check_lib_op(lambda lib, cc, x: lib.where(cc, x, 0.0), c, a, device=device)
    check_lib_op(lambda lib, cc, x: lib.where(cc, 2, x), c, a, device=device)
    compare_torch(lambda cc: gt.where(cc, 1.0, 0), c, device=device,
                  torch_fn=lambda cc: torch.where(cc, 1.0, 0))
    compare_torch(lambda cc, i: gt.where(cc, i, 0.5), c, np.array([1, 2, 3, 4]), device=device,
                  torch_fn=lambda cc, i: torch.where(cc, i, 0.5))


def test_where_requires_bool_condition(device):
    with pytest.raises(RuntimeError, match="boolean"):
        gt.where(to_gt(np.array([1.0, 0.0]), device), 1.0, 0.0)


def test_nan_to_num_lerp_addc(device, rng):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dtype=np.float32)
    compare_torch(gt.nan_to_num, x, device=device, torch_fn=torch.nan_to_num)
    compare_torch(lambda a: a.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), x, device=device)
    a, b, w = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3))
    check_lib_op(lambda lib, x, y, z: lib.lerp(x, y, z), a, b, w, device=device)
    check_lib_op(lambda lib, x, y: x.lerp(y, 0.3), a, b, device=device)
    check_lib_op(lambda lib, x, y, z: lib.addcmul(x, y, z, value=0.5), a, b, w, device=device)
    check_lib_op(lambda lib, x, y, z: lib.addcdiv(x, y, z.abs() + 1, value=2), a, b, w,
                 device=device)


# -- comparisons and logical ops ------------------------------------------------------------------

CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
       "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


@pytest.mark.parametrize("name", sorted(CMP))
def test_comparisons(device, name):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=np.float32)
    b = np.array([2.0, 2.0, 2.0], dtype=np.float64)
    i = np.array([1, 2, 5])
    for f in (CMP[name], lambda x, y: getattr(x, name)(y), lambda x, y: CMP[name](x, 2),
              lambda x, y: CMP[name](2.5, x), lambda x, y: getattr(torch if isinstance(
                  x, torch.Tensor) else gt, name)(x, y)):
        compare_torch(f, a, b, device=device, grad=False)
        compare_torch(f, a, i, device=device, grad=False)
    aliases = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
               "ne": "not_equal"}
    if name in aliases:
        compare_torch(lambda x, y: getattr(x, aliases[name])(y), a, b, device=device, grad=False)


def test_eq_with_non_tensor_and_hash(device):
    x = to_gt(np.array([1.0, 2.0]), device)
    assert (x == None) is False  # noqa: E711
    assert (x != "a") is True
    assert len({x, to_gt(np.array([1.0, 2.0]), device)}) == 2
    assert x in [x]


def test_logical_and_bitwise(device):
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    i = np.array([0b1100, 0b1010, -1, 7], dtype=np.int32)
    j = np.array([0b1010, 0b0110, 5, 0], dtype=np.int64)
    for f in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
              lambda x, y: 3 & x, lambda x, y: x.bitwise_and(y), lambda x, y: x.bitwise_or(y),
              lambda x, y: x.bitwise_xor(y), lambda x, y: x.bitwise_not()):
        compare_torch(f, a, b, device=device, grad=False)
        compare_torch(f, i, j, device=device, grad=False)
    for name in ("logical_and", "logical_or", "logical_xor"):
        compare_torch(lambda x, y: getattr(x, name)(y), i, a, device=device, grad=False)
    compare_torch(lambda x: x.logical_not(), np.array([0.0, 1.5]), device=device, grad=False)


def test_bitwise_on_float_raises(device):
    x = to_gt(np.array([1.0]), device)
    with pytest.raises(RuntimeError, match="bitwise_and.*float"):
        x & x
    with pytest.raises(RuntimeError, match="bitwise_not"):
        ~x


def test_predicates_and_closeness(device):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0], dtype=np.float32)
    y = np.array([np.nan, np.inf, np.inf, 1e-9, 1.000001], dtype=np.float32)
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf"):
        compare_torch(lambda a: getattr(a, name)(), x, device=device, grad=False)
    compare_torch(lambda a, b: a.isclose(b), x, y, device=device, grad=False)
    compare_torch(lambda a, b: a.isclose(b, equal_nan=True, rtol=0, atol=1e-3), x, y,
                  device=device, grad=False)
    gx, gy = to_gt(x[3:], device), to_gt(y[3:], device)
    assert gt.allclose(gx, gy) is True and gt.allclose(gx, gy, rtol=0, atol=1e-12) is False
    assert gt.equal(gx, gx.clone()) is True and gt.equal(gx, gy) is False
    assert gt.equal(gx, gx.reshape(1, 2)) is False


def test_device_mismatch_in_comparison_names_devices():
    with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
        gt.ones(2) == gt.ones(2, device="cuda")


# -- property tests (cpu): broadcasting against numpy's rules and torch ---------------------------

_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=25, deadline=None)
@given(shapes=_shapes, op=st.sampled_from(["add", "mul", "maximum", "atan2", "lt", "eq"]),
       seed=st.integers(0, 2 ** 16))
def test_binary_broadcasting_property(shapes, op, seed):
    rng = np.random.default_rng(seed)
    (sa, sb), result = shapes.input_shapes, shapes.result_shape
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    out = getattr(gt, op)(gt.tensor(a), gt.tensor(b))
    assert tuple(out.shape) == tuple(result)
    want = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b))
    np.testing.assert_allclose(to_np(out), want.numpy(), rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(sa=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
       sb=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
def test_non_broadcastable_shapes_raise(sa, sb):
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        with pytest.raises((RuntimeError, ValueError)):
            gt.add(gt.ones(sa), gt.ones(sb))
    else:
        assert tuple((gt.ones(sa) + gt.ones(sb)).shape) == np.broadcast_shapes(sa, sb)


def test_math_constants_sane():
    assert math.isclose(gt.exp2(gt.tensor(10.0)).item(), 1024.0)
