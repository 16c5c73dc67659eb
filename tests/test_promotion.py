"""Type promotion of binary ops against torch.result_type over dtypes and operand kinds."""
import itertools

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import compare_torch, to_gt

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
# operand kinds: a tensor with dims, a 0-dim tensor, Python scalars
KINDS = ["tensor", "zero_dim", "int", "float", "bool"]


def _operand(kind, dtype, lib, device=None):
    if kind in ("int", "float", "bool"):
        return {"int": 3, "float": 2.5, "bool": True}[kind]
    arr = np.ones((2,) if kind == "tensor" else (), dtype=dtype)
    if lib is torch:
        return torch.from_numpy(arr)
    return to_gt(arr, device)


CASES = [(da, db, kb) for da in DTYPES for db in DTYPES for kb in ("tensor", "zero_dim")] + \
    [(da, None, kb) for da in DTYPES for kb in ("int", "float", "bool")]


@pytest.mark.parametrize("da,db,kind_b", CASES)
def test_result_type_grid(da, db, kind_b):
    ta, tb = _operand("tensor", da, torch), _operand(kind_b, db, torch)
    ga, gb = _operand("tensor", da, gt, "cpu"), _operand(kind_b, db, gt, "cpu")
    want = str(torch.result_type(ta, tb)).replace("torch.", "")
    assert gt.result_type(ga, gb).name == want
    assert gt.result_type(gb, ga).name == want
    for op in ("add", "mul"):
        assert getattr(gt, op)(ga, gb).dtype.name == want, op
        assert getattr(gt, op)(gb, ga).dtype.name == want, op


@pytest.mark.parametrize("da,db", list(itertools.product(["int32", "float16", "float64"],
                                                         DTYPES)))
def test_zero_dim_left_operand(device, da, db):
    a = np.array(2, dtype=da)
    b = np.ones(3, dtype=db)
    compare_torch(lambda x, y: x * y, a, b, device=device, grad=False)


def test_documented_examples(device):
    i = to_gt(np.array([1, 2, 3]), device)
    assert (i * 2).dtype == gt.int64
    assert (i * 2.5).dtype == gt.float32
    assert (2.5 * i).dtype == gt.float32
    h = to_gt(np.ones(2, np.float16), device)
    assert (h + 1.0).dtype == gt.float16
    z64 = to_gt(np.array(1.0), device)
    f32 = to_gt(np.ones(2, np.float32), device)
    assert (z64 + f32).dtype == gt.float32
    assert (to_gt(np.ones(2, np.int32), device) + to_gt(np.ones(2, np.int64), device)).dtype \
        == gt.int64
    bb = to_gt(np.array([True, False]), device)
    assert (bb + bb).dtype == gt.bool and (bb + bb).tolist() == [True, False]
    assert (bb * bb).dtype == gt.bool
    assert (bb + 1).dtype == gt.int64 and (bb + 1.0).dtype == gt.float32
    assert (i / 2).dtype == gt.float32 and (i // 2).dtype == gt.int64
    u8 = to_gt(np.array([200], np.uint8), device)
    assert (u8 + to_gt(np.array([1], np.int8), device)).dtype == gt.int16


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "eq", "lt", "maximum",
                                "atan2", "remainder", "where"])
def test_ops_follow_promotion(device, op):
    a = np.array([1.0, 2.0, 3.0], dtype=np.float16)
    b = np.array([2, 1, 3], dtype=np.int32)
    c = np.array([1.5, 0.5, 2.0], dtype=np.float64)

    def f(x, y):
        lib = torch if isinstance(x, torch.Tensor) else gt
        if op == "where":
            return lib.where(x > 1.5, x, y)
        return getattr(lib, op)(x, y)

    for pair in ((a, b), (b, a), (b, c), (a, c)):
        compare_torch(f, *pair, device=device, grad=False, rtol=1e-3, atol=1e-3)


def test_float_ops_on_int_with_scalars(device):
    i = np.array([1, 2, 4])
    compare_torch(lambda x: x ** 2, i, device=device, grad=False)
    compare_torch(lambda x: x ** 0.5, i, device=device, grad=False)
    compare_torch(lambda x: 2 ** x, i, device=device, grad=False)
    compare_torch(lambda x: x % 3, i, device=device, grad=False)
    compare_torch(lambda x: 2.0 - x, i, device=device, grad=False)
