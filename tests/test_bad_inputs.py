"""Bad inputs must fail as torch fails (issue 9): same exception type, torch's message.

Each case runs the same call in torch and in gputensor (cpu and simulated cuda) and requires
both to raise the same type with gputensor's message containing torch's.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import gputensor as gt


def _same_failure(fn, device: str, key: str | None = None) -> None:
    """``fn(lib, device)`` must raise in torch; gputensor must raise the same type and message
    (or, with ``key``, both messages must contain ``key``)."""
    with pytest.raises(Exception) as want:
        fn(torch, "cpu")
    with pytest.raises(type(want.value)) as got:
        fn(gt, device)
    expect = key if key is not None else str(want.value)
    assert expect in str(want.value)
    assert expect in str(got.value), f"{got.value!r} vs torch {want.value!r}"


def _x(lib, dev):
    return lib.arange(12.0).reshape(3, 4).to(dev)


def _i(lib, dev, vals):
    return lib.tensor(vals).to(dev)


INDEX_CASES = {
    "embedding_neg": lambda L, d: L.nn.functional.embedding(_i(L, d, [0, -1]), _x(L, d)),
    "embedding_big": lambda L, d: L.nn.functional.embedding(_i(L, d, [0, 3]), _x(L, d)),
    "Embedding_neg": lambda L, d: L.nn.Embedding(3, 4).to(d)(_i(L, d, [-1])),
    "index_select_neg": lambda L, d: L.index_select(_x(L, d), 0, _i(L, d, [0, -1])),
    "index_select_big": lambda L, d: L.index_select(_x(L, d), 0, _i(L, d, [3])),
    "embedding_bag_neg": lambda L, d: L.nn.functional.embedding_bag(
        _i(L, d, [0, -1]), _x(L, d), _i(L, d, [0])),
    "embedding_bag_big": lambda L, d: L.nn.functional.embedding_bag(
        _i(L, d, [3, 0]), _x(L, d), _i(L, d, [0])),
    "gather_neg": lambda L, d: L.gather(_x(L, d), 0, _i(L, d, [[-1, 0, 0, 0]])),
    "take_big": lambda L, d: L.take(_x(L, d), _i(L, d, [12])),
    "take_negbig": lambda L, d: L.take(_x(L, d), _i(L, d, [-13])),
    "index_add_neg": lambda L, d: _x(L, d).index_add_(0, _i(L, d, [0, -1]), L.ones(2, 4).to(d)),
    "index_add_oop_neg": lambda L, d: L.index_add(_x(L, d), 0, _i(L, d, [-1]),
                                                  L.ones(1, 4).to(d)),
    "index_copy_neg": lambda L, d: _x(L, d).index_copy_(0, _i(L, d, [-1]), L.ones(1, 4).to(d)),
    "index_copy_big": lambda L, d: _x(L, d).index_copy_(0, _i(L, d, [3]), L.ones(1, 4).to(d)),
    "index_fill_big": lambda L, d: _x(L, d).index_fill_(0, _i(L, d, [3]), 1.0),
    "scatter_neg": lambda L, d: _x(L, d).scatter_(0, _i(L, d, [[-1, 0, 0, 0]]), 1.0),
    "scatter_add_big": lambda L, d: _x(L, d).scatter_add_(0, _i(L, d, [[3, 0, 0, 0]]),
                                                          _x(L, d)),
}


@pytest.mark.parametrize("case", sorted(INDEX_CASES))
def test_out_of_range_indices_raise(case, device):
    _same_failure(INDEX_CASES[case], device)


def test_negative_indices_still_allowed_where_torch_allows(device):
    """take and index_fill accept in-range negative indices in torch; keep them working."""
    x = gt.arange(12.0, device=device).reshape(3, 4)
    assert x.take(gt.tensor([-1], device=device)).tolist() == [11.0]
    got = x.clone().index_fill_(0, gt.tensor([-1], device=device), 0.0)
    assert got[2].tolist() == [0.0] * 4


def _conv_case(nd: int, transposed: bool, xs: tuple, ws: tuple, **kw):
    def fn(L, d):
        f = getattr(L.nn.functional, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
        return f(L.ones(xs).to(d), L.ones(ws).to(d), **kw)
    return fn


def _conv_cases():
    out = {}
    for nd in (1, 2, 3):
        sp, one, three, zero = (2,) * nd, (1,) * nd, (3,) * nd, (0,) * nd
        x = (1, 3) + sp
        out[f"c{nd}_kernel0"] = _conv_case(nd, False, x, (4, 3) + zero)
        out[f"c{nd}_out_channels0"] = _conv_case(nd, False, x, (0, 3) + one)
        out[f"c{nd}_kernel_too_big"] = _conv_case(nd, False, x, (4, 3) + three)
        out[f"c{nd}_stride0"] = _conv_case(nd, False, x, (4, 3) + one, stride=0)
        out[f"c{nd}_negative_padding"] = _conv_case(nd, False, x, (4, 3) + one, padding=-1)
        out[f"c{nd}_dilation0"] = _conv_case(nd, False, x, (4, 3) + one, dilation=0)
        out[f"c{nd}_channels"] = _conv_case(nd, False, x, (4, 2) + one)
        out[f"c{nd}_groups_divisible"] = _conv_case(nd, False, (1, 4) + sp, (3, 2) + one,
                                                    groups=2)
        out[f"t{nd}_kernel0"] = _conv_case(nd, True, x, (3, 4) + zero)
        out[f"t{nd}_out_channels0"] = _conv_case(nd, True, x, (3, 0) + one)
        out[f"t{nd}_in_channels0"] = _conv_case(nd, True, (1, 0) + sp, (0, 4) + one)
        out[f"t{nd}_stride0"] = _conv_case(nd, True, x, (3, 4) + one, stride=0)
        out[f"t{nd}_negative_padding"] = _conv_case(nd, True, x, (3, 4) + one, padding=-1)
        out[f"t{nd}_dilation0"] = _conv_case(nd, True, x, (3, 4) + one, dilation=0)
    return out


CONV_CASES = _conv_cases()


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_degenerate_convolutions_raise(case):
    _same_failure(CONV_CASES[case], "cpu")


@pytest.mark.parametrize("case", ["c2_kernel0", "c2_out_channels0", "c1_kernel_too_big",
                                  "t2_out_channels0", "c3_kernel0"])
def test_degenerate_convolutions_raise_on_cuda(case):
    _same_failure(CONV_CASES[case], "cuda")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_zero_input_channels_match_torch_shape(nd, device):
    xs, ws = (1, 0) + (3,) * nd, (4, 0) + (1,) * nd
    f = f"conv{nd}d"
    want = getattr(torch.nn.functional, f)(torch.ones(xs), torch.ones(ws))
    got = getattr(gt.nn.functional, f)(gt.ones(xs, device=device), gt.ones(ws, device=device))
    assert tuple(got.shape) == tuple(want.shape)


def test_conv_module_kernel0_fails_in_forward_like_torch():
    _same_failure(lambda L, d: L.nn.Conv2d(3, 4, 0)(L.ones(1, 3, 2, 2)), "cpu")


OVERFLOW_CASES = {
    "tensor_list_2p63": lambda L, d: L.tensor([2 ** 63], device=d),
    "tensor_2p64": lambda L, d: L.tensor(2 ** 64, device=d),
    "tensor_below_min": lambda L, d: L.tensor([-2 ** 63 - 1], device=d),
    "tensor_mixed": lambda L, d: L.tensor([1, 2 ** 63], device=d),
    "tensor_u8_300": lambda L, d: L.tensor(300, dtype=L.uint8, device=d),
    "tensor_i32_big": lambda L, d: L.tensor(2 ** 40, dtype=L.int32, device=d),
    "tensor_i8_list": lambda L, d: L.tensor([300], dtype=L.int8, device=d),
    "tensor_inf_i64": lambda L, d: L.tensor(float("inf"), dtype=L.int64, device=d),
    "full_2p63": lambda L, d: L.full((2,), 2 ** 63, device=d),
    "full_u8_300": lambda L, d: L.full((2,), 300, dtype=L.uint8, device=d),
    "arange_huge": lambda L, d: L.arange(2 ** 63 - 2, 2 ** 63, device=d),
    "fill_2p63": lambda L, d: L.zeros(2, dtype=L.int64, device=d).fill_(2 ** 63),
    "full_like": lambda L, d: L.full_like(L.zeros(2, dtype=L.int64, device=d), 2 ** 63),
    "mul_2p64": lambda L, d: L.ones(2, dtype=L.int64, device=d) * 2 ** 64,
}


@pytest.mark.parametrize("case", sorted(OVERFLOW_CASES))
def test_integer_overflow_raises(case, device):
    _same_failure(OVERFLOW_CASES[case], device)


@pytest.mark.parametrize("expr", [
    lambda L, d: L.tensor(-1, dtype=L.uint8, device=d),
    lambda L, d: L.tensor([-2 ** 63], device=d),
    lambda L, d: L.tensor([1.5, 2 ** 63], device=d),
    lambda L, d: L.zeros(2, dtype=L.int64, device=d) + 2 ** 63,
    lambda L, d: L.zeros(2, dtype=L.uint8, device=d) + 300,
    lambda L, d: L.zeros(2, dtype=L.int32, device=d) + 2 ** 40,
])
def test_in_range_or_wrapping_values_match_torch(expr, device):
    want, got = expr(torch, "cpu"), expr(gt, device)
    assert str(want.dtype).replace("torch.", "") == got.dtype.name
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


F64, F32, I64 = "float64", "float32", "int64"
DTYPE_CASES = {
    "matmul_long_float": lambda L, d: L.ones(2, 3, dtype=L.int64, device=d) @ L.ones(3, 2,
                                                                                      device=d),
    "mm": lambda L, d: L.mm(L.ones(2, 3, dtype=L.float64, device=d), L.ones(3, 2, device=d)),
    "bmm": lambda L, d: L.bmm(L.ones(1, 2, 3, dtype=L.float64, device=d),
                              L.ones(1, 3, 2, device=d)),
    "addmm": lambda L, d: L.addmm(L.ones(2, 2, device=d), L.ones(2, 3, dtype=L.float64,
                                                                  device=d),
                                  L.ones(3, 2, device=d)),
    "linear_double": lambda L, d: L.nn.Linear(3, 2).to(d)(L.ones(2, 3, dtype=L.float64,
                                                                 device=d)),
    "linear_long": lambda L, d: L.nn.Linear(3, 2).to(d)(L.ones(4, 2, 3, dtype=L.int64,
                                                               device=d)),
    "linear_bias": lambda L, d: L.nn.functional.linear(
        L.ones(2, 3, device=d), L.ones(2, 3, device=d), L.ones(2, dtype=L.float64, device=d)),
    "conv2d_weight": lambda L, d: L.nn.functional.conv2d(
        L.ones(1, 3, 2, 2, dtype=L.float64, device=d), L.ones(4, 3, 1, 1, device=d)),
    "conv2d_bias": lambda L, d: L.nn.functional.conv2d(
        L.ones(1, 3, 2, 2, device=d), L.ones(4, 3, 1, 1, device=d),
        L.ones(4, dtype=L.float64, device=d)),
    "Conv2d_double": lambda L, d: L.nn.Conv2d(3, 4, 1).to(d)(
        L.ones(1, 3, 2, 2, dtype=L.float64, device=d)),
    "conv1d_weight": lambda L, d: L.nn.functional.conv1d(
        L.ones(1, 3, 2, dtype=L.float64, device=d), L.ones(4, 3, 1, device=d)),
    "conv3d_weight": lambda L, d: L.nn.functional.conv3d(
        L.ones(1, 3, 2, 2, 2, dtype=L.float64, device=d), L.ones(4, 3, 1, 1, 1, device=d)),
    "conv_transpose2d": lambda L, d: L.nn.functional.conv_transpose2d(
        L.ones(1, 3, 2, 2, dtype=L.float64, device=d), L.ones(3, 4, 1, 1, device=d)),
}


@pytest.mark.parametrize("case", sorted(DTYPE_CASES))
def test_mismatched_dtypes_raise(case, device):
    _same_failure(DTYPE_CASES[case], device)
