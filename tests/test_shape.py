"""Shape ops: values, dtypes and gradients against torch on cpu and cuda; torch-like errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gputensor as gt
from helpers import check_lib_op

F = np.float32

# (name, f(lib, *tensors), input shapes)
UNARY = [
    ("reshape", lambda L, x: x.reshape(5, -1), [(3, 5)]),
    ("view", lambda L, x: x.view(1, 15), [(3, 5)]),
    ("permute", lambda L, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("transpose", lambda L, x: L.transpose(x, 0, -1), [(2, 3, 4)]),
    ("T", lambda L, x: x.T, [(3, 5)]),
    ("mT", lambda L, x: x.mT, [(2, 3, 4)]),
    ("expand", lambda L, x: x.expand(2, 3, -1), [(3, 1)]),
    ("flatten", lambda L, x: L.flatten(x, 1), [(2, 3, 4)]),
    ("flatten_mid", lambda L, x: x.flatten(0, 1), [(2, 3, 4)]),
    ("flatten_0d", lambda L, x: x.sum().flatten(), [(3,)]),
    ("unflatten", lambda L, x: x.unflatten(1, (2, -1)), [(3, 4)]),
    ("squeeze_all", lambda L, x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda L, x: L.squeeze(x, -2), [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda L, x: x.squeeze((0, 1)), [(1, 3, 1, 2)]),
    ("unsqueeze", lambda L, x: L.unsqueeze(x, -1), [(3, 2)]),
    ("movedim", lambda L, x: L.movedim(x, 0, -1), [(2, 3, 4)]),
    ("moveaxis_multi", lambda L, x: x.moveaxis((0, 1), (2, 0)), [(2, 3, 4)]),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), [(3, 2)]),
    ("tile", lambda L, x: L.tile(x, (2,)), [(3, 2)]),
    ("flip", lambda L, x: L.flip(x, (0, 2)), [(2, 3, 4)]),
    ("fliplr", lambda L, x: L.fliplr(x), [(3, 4)]),
    ("flipud", lambda L, x: x.flipud(), [(3, 4)]),
    ("roll", lambda L, x: L.roll(x, (1, -2), (0, 1)), [(3, 5)]),
    ("roll_flat", lambda L, x: x.roll(4), [(3, 5)]),
    ("narrow", lambda L, x: L.narrow(x, 1, 1, 3), [(3, 5)]),
    ("narrow_neg", lambda L, x: x.narrow(-1, -2, 2), [(3, 5)]),
    ("select", lambda L, x: L.select(x, 1, -1), [(3, 5)]),
    ("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    ("atleast_2d", lambda L, x: L.atleast_2d(x), [(3,)]),
    ("atleast_3d", lambda L, x: L.atleast_3d(x), [(3, 2)]),
    ("diagonal", lambda L, x: L.diagonal(x, 1), [(3, 4)]),
    ("diagonal_dims", lambda L, x: x.diagonal(-1, 0, 2), [(3, 2, 4)]),
    ("diag_vec", lambda L, x: L.diag(x, -1), [(3,)]),
    ("diag_mat", lambda L, x: L.diag(x, 1), [(3, 4)]),
    ("tril", lambda L, x: L.tril(x), [(3, 4)]),
    ("triu_batched", lambda L, x: x.triu(1), [(2, 3, 3)]),
    ("split_int", lambda L, x: L.split(x, 2, 1), [(3, 5)]),
    ("split_sizes", lambda L, x: x.split([1, 2], 0), [(3, 5)]),
    ("chunk", lambda L, x: L.chunk(x, 3, 1), [(3, 5)]),
    ("unbind", lambda L, x: L.unbind(x, 1), [(3, 2)]),
    ("tensor_split_n", lambda L, x: L.tensor_split(x, 3, 1), [(2, 5)]),
    ("tensor_split_idx", lambda L, x: x.tensor_split([1, 4, 9], 1), [(2, 5)]),
    ("cat", lambda L, a, b: L.cat([a, b], 1), [(3, 2), (3, 4)]),
    ("cat_neg", lambda L, a, b: L.concat((a, b), -2), [(2, 3), (1, 3)]),
    ("stack", lambda L, a, b: L.stack([a, b], 1), [(3, 2), (3, 2)]),
    ("hstack_1d", lambda L, a, b: L.hstack([a, b]), [(3,), (2,)]),
    ("hstack", lambda L, a, b: L.hstack([a, b]), [(2, 3), (2, 1)]),
    ("vstack", lambda L, a, b: L.vstack([a, b]), [(3,), (2, 3)]),
    ("dstack", lambda L, a, b: L.dstack([a, b]), [(2, 3), (2, 3)]),
    ("expand_as", lambda L, a, b: a.expand_as(b), [(3, 1), (2, 3, 4)]),
    ("view_as", lambda L, a, b: a.view_as(b), [(3, 4), (2, 6)]),
    ("reshape_as", lambda L, a, b: a.t().reshape_as(b), [(3, 4), (2, 6)]),
    ("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b), [(3, 1), (2, 1, 4)]),
]


@pytest.mark.parametrize("name,f,shapes", UNARY, ids=[u[0] for u in UNARY])
def test_shape_op_matches_torch_with_grad(device, rng, name, f, shapes):
    arrays = [rng.standard_normal(s).astype(F) for s in shapes]
    check_lib_op(f, *arrays, device=device)


def test_cat_promotes_dtypes_like_torch(device):
    check_lib_op(lambda L, a, b: L.cat([a, b]), np.arange(3, dtype=np.int32),
                 np.ones(2, dtype=np.float16), device=device, grad=False)
    check_lib_op(lambda L, a, b: L.cat([a, b]), np.arange(3, dtype=np.int64),
                 np.ones(2, dtype=np.float32), device=device)


def test_cat_skips_legacy_empty(device):
    check_lib_op(lambda L, a, b: L.cat([a, b]), np.ones((2, 3), F), np.zeros(0, F),
                 device=device)


def test_cat_integer_and_bool(device):
    check_lib_op(lambda L, a, b: L.stack([a, b], -1), np.array([True, False]),
                 np.array([False, False]), device=device, grad=False)


def test_repeat_rejects_fewer_dims(device):
    x = gt.zeros(5, 3, device=device)
    with pytest.raises(RuntimeError, match="can not be smaller"):
        x.repeat(2)


def test_cat_size_mismatch_names_both_shapes(device):
    a, b = gt.zeros(2, 3, device=device), gt.zeros(2, 4, device=device)
    with pytest.raises(RuntimeError, match=r"Expected size 3 but got size 4 for tensor number 1"
                                           r".*\[2, 3\] and \[2, 4\]"):
        gt.cat([a, b])


def test_cat_stack_devices_named():
    a, b = gt.zeros(2), gt.zeros(2, device="cuda")
    for op in (gt.cat, gt.stack):
        with pytest.raises(RuntimeError, match="cpu and cuda:0"):
            op([a, b])


@pytest.mark.parametrize("call,exc,msg", [
    (lambda x: gt.cat([]), RuntimeError, "non-empty list"),
    (lambda x: gt.cat([x, x.sum()]), RuntimeError, "same number of dimensions"),
    (lambda x: gt.cat([x.sum(), x.sum()]), RuntimeError, "zero-dimensional"),
    (lambda x: gt.cat(x), TypeError, "tuple or list of Tensors"),
    (lambda x: gt.stack([x, x.t()]), RuntimeError, r"\[2, 3\] at entry 0 and \[3, 2\] at entry 1"),
    (lambda x: x.squeeze(2), IndexError, "Dimension out of range"),
    (lambda x: x.unsqueeze(3), IndexError, "Dimension out of range"),
    (lambda x: x.narrow(1, 2, 2), RuntimeError, r"start \(2\) \+ length \(2\) exceeds dimension "
                                                r"size \(3\)"),
    (lambda x: x.split([1, 1], 1), RuntimeError, "sum exactly to 3"),
    (lambda x: x.chunk(0), RuntimeError, "greater than 0"),
    (lambda x: x.unflatten(1, (2, 2)), RuntimeError, "don't multiply up"),
    (lambda x: x.flatten(1, 0), RuntimeError, "start_dim"),
    (lambda x: x.flip(0, 0), RuntimeError, "duplicates"),
    (lambda x: x.roll((1, 2), 0), RuntimeError, "shifts and dimensions must align"),
    (lambda x: x.movedim((0, 1), 0), RuntimeError, "same number of dims"),
    (lambda x: x.diagonal(0, 1, 1), RuntimeError, "cannot be identical"),
    (lambda x: x.sum(0).tril(), RuntimeError, "at least 2"),
    (lambda x: x.select(1, 3), IndexError, "index 3 out of range"),
    (lambda x: x.expand(4, 3), RuntimeError, "must match the existing size"),
    (lambda x: gt.broadcast_tensors(x, gt.zeros(4, device=x.device)), RuntimeError,
     r"size of tensor a \(3\) must match the size of tensor b \(4\)"),
])
def test_shape_errors(device, call, exc, msg):
    x = gt.zeros(2, 3, device=device)
    with pytest.raises(exc, match=msg):
        call(x)


def test_double_backward_through_cat_and_narrow(device):
    x = gt.tensor([1.0, 2.0, 3.0], dtype=gt.float64, device=device, requires_grad=True)
    y = (gt.cat([x, x.narrow(0, 1, 2)]) ** 3).sum()
    (g,) = gt.autograd.grad(y, x, create_graph=True)
    (gg,) = gt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.cpu().numpy(), [6.0, 24.0, 36.0])


# -- property tests (cpu) ---------------------------------------------------------------------

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, data=st.data())
def test_split_cat_round_trip(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    size = data.draw(st.integers(1, shape[dim] + 1))
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = gt.tensor(a)
    parts = x.split(size, dim)
    assert [tuple(p.shape) for p in parts] == [p.shape for p in
                                               np.array_split(a, range(size, shape[dim], size),
                                                              axis=dim)]
    np.testing.assert_array_equal(gt.cat(parts, dim).numpy(), a)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, data=st.data())
def test_stack_unbind_chunk_round_trip(shape, data):
    import torch
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    n = data.draw(st.integers(1, 3))
    arrays = [np.random.default_rng(i).standard_normal(shape) for i in range(n)]
    s = gt.stack([gt.tensor(a) for a in arrays], dim)
    ref = torch.stack([torch.tensor(a) for a in arrays], dim)
    np.testing.assert_array_equal(s.numpy(), ref.numpy())
    for got, a in zip(s.unbind(dim), arrays):
        np.testing.assert_array_equal(got.numpy(), a)
    k = data.draw(st.integers(1, 5))
    d2 = data.draw(st.integers(0, len(shape) - 1))
    got = [tuple(c.shape) for c in gt.tensor(arrays[0]).chunk(k, d2)]
    assert got == [tuple(c.shape) for c in torch.tensor(arrays[0]).chunk(k, d2)]
