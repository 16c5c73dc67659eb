"""Indexing and index ops: values, dtypes and gradients against torch on cpu and cuda."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gputensor as gt
from helpers import check_grad, check_lib_op, compare_torch

F = np.float32
MASK = np.array([[True, False, True, False], [False, False, False, True],
                 [True, True, False, False]])


def _idx(L, x, values):
    """An int64 index tensor on x's device (torch and gputensor alike)."""
    return L.tensor(values, device=x.device)


GETITEM = [
    ("int", lambda L, x: x[1]),
    ("neg_int", lambda L, x: x[-1, -2]),
    ("slice", lambda L, x: x[1:3]),
    ("slice_step", lambda L, x: x[::2, 1::2]),
    ("col", lambda L, x: x[:, 1]),
    ("ellipsis", lambda L, x: x[..., -1]),
    ("none", lambda L, x: x[None, 1, None, 1:]),
    ("scalar", lambda L, x: x[2, 3]),
    ("list", lambda L, x: x[[0, 2]]),
    ("repeated", lambda L, x: x[_idx(L, x, [0, 2, 0, 0])]),
    ("cpu_index", lambda L, x: x[:, L.tensor([3, 0, 3])]),
    ("pair", lambda L, x: x[[0, 1, 1], [1, 2, 1]]),
    ("index_2d", lambda L, x: x[_idx(L, x, [[0, 1], [2, 2]])]),
    ("neg_index", lambda L, x: x[:, _idx(L, x, [-1, -4])]),
    ("mask", lambda L, x: x[L.tensor(MASK, device=x.device)]),
    ("row_mask", lambda L, x: x[L.tensor([True, False, True], device=x.device)]),
    ("mask_and_slice", lambda L, x: x[L.tensor([True, False, True]), 1:]),
    ("adv_then_slice", lambda L, x: x[[2, 0], 1:3]),
    ("slice_then_adv", lambda L, x: x[1:, [0, 3, 3]]),
    ("ellipsis_adv", lambda L, x: x[..., [1, 1]]),
    ("none_adv", lambda L, x: x[None, [0, 1]]),
    ("zero_d_index", lambda L, x: x[L.tensor(1)]),
    ("empty", lambda L, x: x[2:1]),
    ("true", lambda L, x: x[True]),
    ("false_none", lambda L, x: x[None, False, 1:]),
    ("last_step", lambda L, x: x[None][:, -1, :]),
]


@pytest.mark.parametrize("name,f", GETITEM, ids=[g[0] for g in GETITEM])
def test_getitem_matches_torch_with_grad(device, rng, name, f):
    check_lib_op(f, rng.standard_normal((3, 4)).astype(F), device=device)


def test_getitem_separated_advanced_3d(device, rng):
    check_lib_op(lambda L, x: x[[0, 1], :, [2, 0]], rng.standard_normal((2, 3, 4)).astype(F),
                 device=device)


def test_getitem_integer_tensor_values(device):
    check_lib_op(lambda L, x: x[1:, [0, 2]], np.arange(12).reshape(3, 4), device=device,
                 grad=False)


def _set(key, value_fn=lambda L, v: v):
    def f(L, x, v):
        y = x.clone()
        y[key(L, x) if callable(key) else key] = value_fn(L, v)
        return y
    return f


SETITEM = [
    ("row", _set(1), (4,)),
    ("broadcast", _set((slice(None), slice(1, 3))), (3, 1)),
    ("leading_one", _set(0), (1, 4)),
    ("adv_pair", _set(([0, 2], 1)), (2,)),
    ("mask_scalar_tensor", _set(lambda L, x: L.tensor(MASK, device=x.device)), ()),
    ("ellipsis", _set((Ellipsis, 0)), (3,)),
]


@pytest.mark.parametrize("name,f,vshape", SETITEM, ids=[s[0] for s in SETITEM])
def test_setitem_grads_flow_to_base_and_value(device, rng, name, f, vshape):
    check_lib_op(f, rng.standard_normal((3, 4)).astype(F), rng.standard_normal(vshape).astype(F),
                 device=device)


def test_setitem_scalar_and_list_values(device, rng):
    def f(L, x):
        y = x * 2
        y[[0, 2], 1:] = 7.5
        y[1] = L.tensor([1.0, 2.0, 3.0, 4.0], device=x.device)
        return y
    check_lib_op(f, rng.standard_normal((3, 4)).astype(F), device=device)


def test_setitem_value_needs_grad_base_does_not(device):
    v = gt.tensor([2.0, 3.0], requires_grad=True, device=device)
    y = gt.zeros(3, device=device)
    y[1:] = v
    (y * gt.tensor([1.0, 10.0, 100.0], device=device)).sum().backward()
    assert y.requires_grad and v.grad.tolist() == [10.0, 100.0]


def test_setitem_casts_to_tensor_dtype(device):
    y = gt.zeros(3, dtype=gt.int64, device=device)
    y[0] = 2.7
    y[1:] = gt.tensor([1.9, -1.2], device=device)
    assert y.dtype == gt.int64 and y.tolist() == [2, 1, -1]


INDEX_OPS = [
    ("gather", lambda L, x: L.gather(x, 1, _idx(L, x, [[0, 0], [3, 1]])), None),
    ("gather_dim0", lambda L, x: x.gather(0, _idx(L, x, [[2, 0, 1, 2]])), None),
    ("scatter_src", lambda L, x, s: L.scatter(x, 1, _idx(L, x, [[0, 2], [3, 1]]), s), (2, 2)),
    ("scatter_value", lambda L, x: x.scatter(0, _idx(L, x, [[1, 0, 2]]), 2.5), None),
    ("scatter_add", lambda L, x, s: L.scatter_add(x, 1, _idx(L, x, [[0, 0, 3], [1, 1, 1]]), s),
     (2, 3)),
    ("index_select", lambda L, x: L.index_select(x, 1, _idx(L, x, [3, 0, 3])), None),
    ("index_select_0", lambda L, x: x.index_select(0, _idx(L, x, [2, 2])), None),
    ("index_add", lambda L, x, s: L.index_add(x, 0, _idx(L, x, [0, 2, 0]), s, alpha=2),
     (3, 4)),
    ("index_fill", lambda L, x: x.index_fill(1, _idx(L, x, [0, 2]), -1.0), None),
    ("index_put_acc", lambda L, x, s: x.index_put((_idx(L, x, [0, 0]), _idx(L, x, [1, 1])), s,
                                                  accumulate=True), (2,)),
    ("index_put", lambda L, x, s: x.index_put((_idx(L, x, [2, 0]),), s), (4,)),
    ("masked_fill", lambda L, x: L.masked_fill(x, L.tensor(MASK, device=x.device), -2.0), None),
    ("masked_fill_bcast", lambda L, x: x.masked_fill(L.tensor([True, False, False, True],
                                                              device=x.device), 0.5), None),
    ("masked_fill_tensor", lambda L, x, v: x.masked_fill(L.tensor(MASK, device=x.device), v),
     ()),
    ("masked_select", lambda L, x: L.masked_select(x, L.tensor(MASK, device=x.device)), None),
    ("masked_select_bcast", lambda L, x: x.masked_select(L.tensor([[True], [False], [True]],
                                                                  device=x.device)), None),
    ("take", lambda L, x: L.take(x, _idx(L, x, [[0, -1], [5, 5]])), None),
    ("take_along_dim", lambda L, x: L.take_along_dim(x, _idx(L, x, [[0], [3], [1]]), 1), None),
    ("take_along_bcast", lambda L, x: x.take_along_dim(_idx(L, x, [[1, 0, 2, 2]]), 0), None),
    ("take_along_flat", lambda L, x: L.take_along_dim(x, _idx(L, x, [11, 0])), None),
]


@pytest.mark.parametrize("name,f,sshape", INDEX_OPS, ids=[o[0] for o in INDEX_OPS])
def test_index_op_matches_torch_with_grad(device, rng, name, f, sshape):
    arrays = [rng.standard_normal((3, 4)).astype(F)]
    if sshape is not None:
        arrays.append(rng.standard_normal(sshape).astype(F))
    check_lib_op(f, *arrays, device=device)


def _inplace(op):
    def f(L, x, s):
        y = x * 1
        op(L, y, s)
        return y
    return f


INPLACE = [
    ("scatter_", lambda L, y, s: y.scatter_(1, _idx(L, y, [[1, 2, 0, 3], [0, 3, 1, 2],
                                                          [3, 1, 2, 0]]), s)),
    ("scatter_add_", lambda L, y, s: y.scatter_add_(0, _idx(L, y, [[2, 2, 0, 1]] * 3), s)),
    ("masked_fill_", lambda L, y, s: y.masked_fill_(L.tensor(MASK, device=y.device), 3.0)),
    ("index_fill_", lambda L, y, s: y.index_fill_(0, _idx(L, y, [1]), 0.0)),
    ("index_add_", lambda L, y, s: y.index_add_(1, _idx(L, y, [0, 0, 1, 3]), s)),
]


@pytest.mark.parametrize("name,op", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_index_ops(device, rng, name, op):
    check_lib_op(_inplace(op), rng.standard_normal((3, 4)).astype(F),
                 rng.standard_normal((3, 4)).astype(F), device=device)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reads_leading_block_of_larger_src(device, rng):
    """torch reads only index.shape of src (its own src gradient is broken for this case)."""
    def f(L, x, s):
        idx = _idx(L, x, [[0, 2], [3, 1]])
        return L.scatter(x, 1, idx, s), x.scatter_add(1, idx, s), x.scatter(1, idx, s, reduce="add")
    x, s = rng.standard_normal((3, 4)).astype(F), rng.standard_normal((2, 3)).astype(F)
    check_lib_op(f, x, s, device=device, grad=False)
    check_grad(lambda a, b: f(gt, a, b), x, s, device=device)


def test_getitem_int_with_advanced_follows_torch_not_numpy(device, rng):
    a = rng.standard_normal((2, 3, 4)).astype(F)
    assert np.asarray(a)[0, :, [1, 2]].shape == (2, 3)  # NumPy moves the advanced dim first
    check_lib_op(lambda L, x: x[0, :, [1, 2]], a, device=device)
    check_lib_op(_set((0, slice(None), [1, 2])), a, rng.standard_normal((3, 2)).astype(F),
                 device=device)


@pytest.mark.parametrize("shape", [(3, 4), (5,), ()])
def test_nonzero_argwhere(device, shape):
    a = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(F)
    for f in (lambda L, x: L.nonzero(x), lambda L, x: x.nonzero(as_tuple=True),
              lambda L, x: L.argwhere(x)):
        check_lib_op(f, a, device=device, grad=False)


def test_where_one_arg_is_nonzero_tuple(device):
    check_lib_op(lambda L, c: L.where(c), MASK, device=device, grad=False)


def test_setitem_device_rules(device):
    x = gt.zeros(2, 3, device=device)
    x[0] = gt.tensor(4.0)  # a 0-d cpu value may go anywhere, as in torch
    assert x.tolist() == [[4.0] * 3, [0.0] * 3]
    if device == "cuda":
        with pytest.raises(RuntimeError, match="two devices, cuda:0 and cpu"):
            x[1] = gt.ones(3)


def test_write_to_expanded_tensor_raises(device):
    x = gt.zeros(3, 1, device=device).expand(3, 4)
    with pytest.raises(RuntimeError, match="single memory location"):
        x[0] = 5.0  # a row of 4 elements sharing one location
    x[0, 1] = 5.0  # one element: torch allows it (the whole row shows it)
    assert x.tolist()[0] == [5.0] * 4


def test_gather_grad_accumulates_repeats(device):
    x = gt.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    x.gather(0, gt.tensor([2, 2, 0], device=device)).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 2.0]


def test_double_backward_through_getitem(device):
    check = gt.autograd.gradgradcheck
    x = gt.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), device=device, requires_grad=True)
    assert check(lambda t: (t[:, [0, 0, 2]] ** 3).sum() + t[1, 1:].sum() ** 2, (x,))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda x: x[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda x: x[0, -5], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda x: x[:, [1, 7]], IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    (lambda x: x[..., gt.tensor([-5])], IndexError, "index -5 is out of bounds for dimension 1"),
    (lambda x: x[gt.ones(2, 4, dtype=gt.bool)], IndexError,
     r"shape of the mask \[2, 4\] at index 0"),
    (lambda x: x[1, 2, 3], IndexError, "too many indices for tensor of dimension 2"),
    (lambda x: x[..., 1, ...], IndexError, "single ellipsis"),
    (lambda x: x[::-1], ValueError, "step must be greater than zero"),
    (lambda x: x[gt.tensor([1.0])], IndexError, "must be long, int, byte or bool"),
    (lambda x: x["a"], IndexError, "only integers, slices"),
    (lambda x: x.__setitem__([0, 1], gt.ones(3)), RuntimeError,
     r"value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[2, 4\]"),
    (lambda x: x.masked_fill(gt.ones(3, 4, dtype=gt.int64), 1.0), RuntimeError,
     "only supports boolean masks"),
    (lambda x: x.masked_fill(gt.ones(3, 4, dtype=gt.bool), gt.ones(2)), RuntimeError,
     "0-dimensional value tensor"),
    (lambda x: x.masked_fill(gt.ones(2, 4, dtype=gt.bool), 1.0), RuntimeError,
     r"mask \[2, 4\] is not broadcastable to the input shape \[3, 4\]"),
    (lambda x: x.gather(1, gt.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1"),
    (lambda x: x.scatter(1, gt.tensor([[-1]]), 0.0), RuntimeError, "index -1 is out of bounds"),
    (lambda x: x.gather(1, gt.tensor([5])), RuntimeError, "same number of dimensions"),
    (lambda x: x.gather(1, gt.zeros(4, 1, dtype=gt.int64)), RuntimeError,
     r"expected index \[4, 1\] to be no larger than self \[3, 4\] apart from dimension 1"),
    (lambda x: x.gather(0, gt.zeros(1, 1)), RuntimeError, "Expected dtype int64 for index"),
    (lambda x: x.scatter(0, gt.zeros(1, 1, dtype=gt.int64), gt.ones(1, 1, dtype=gt.float64)),
     RuntimeError, "Expected self.dtype to be equal to src.dtype"),
    (lambda x: x.index_select(0, gt.zeros(1, 1, dtype=gt.int64)), IndexError,
     "supposed to be a vector"),
    (lambda x: x.index_select(0, gt.tensor([3])), IndexError, "index out of range in self"),
    (lambda x: x.take(gt.tensor([12])), IndexError, "out of range: tried to access index 12 on "
                                                      "a tensor of 12 elements"),
])
def test_index_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(gt.zeros(3, 4))


def test_cuda_index_on_cpu_tensor_raises():
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same "
                                           "device"):
        gt.zeros(3)[gt.tensor([0], device="cuda")]


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = gt.zeros(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.masked_fill_(gt.tensor([True, False, False], device=device), 1.0)
    with gt.no_grad():
        x[0] = 1.0
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_setitem_bumps_version_and_detects_stale_save(device):
    x = gt.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = x * 1
    z = y * y  # saves y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# -- property tests (cpu): random index expressions vs torch ----------------------------------

@st.composite
def index_expr(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    key, dim, used_ellipsis = [], 0, False
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "mask", "ellipsis"]))
        if kind == "none":
            key.append(None)
            continue
        if kind == "ellipsis":
            if not used_ellipsis:
                used_ellipsis = True
                key.append(Ellipsis)
                dim = len(shape) - sum(1 for k in key if k is not None and k is not Ellipsis)
            continue
        if dim >= len(shape):
            break
        n = shape[dim]
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key.append(slice(draw(st.none() | st.integers(-n - 1, n + 1)),
                             draw(st.none() | st.integers(-n - 1, n + 1)),
                             draw(st.none() | st.integers(1, 3))))
        elif kind == "list":
            key.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        else:
            key.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        dim += 1
    if used_ellipsis and dim > len(shape):
        key = [k for k in key if k is not Ellipsis]
    return shape, tuple(key)


def _as_lib(L, key):
    return tuple(L.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


def _rejected_like_torch(shape, key) -> bool:
    """True (after checking gputensor raises IndexError too) when torch rejects the key, e.g.
    advanced indices that don't broadcast together."""
    import torch
    try:
        torch.zeros(shape)[_as_lib(torch, key)]
    except IndexError:
        with pytest.raises(IndexError):
            gt.zeros(shape)[_as_lib(gt, key)]
        return True
    return False


@settings(max_examples=25, deadline=None)
@given(expr=index_expr())
def test_random_getitem_and_setitem_match_torch(expr):
    shape, key = expr
    if _rejected_like_torch(shape, key):
        return
    a = np.random.default_rng(len(key)).standard_normal(shape)
    compare_torch(lambda x: x[_as_lib(gt, key)], a, device="cpu",
                  torch_fn=lambda x: x[_as_lib(__import__("torch"), key)])

    def put(L):
        def f(x):
            y = x * 1
            y[_as_lib(L, key)] = -1.0
            return y
        return f
    compare_torch(put(gt), a, device="cpu", torch_fn=put(__import__("torch")))


@settings(max_examples=25, deadline=None)
@given(expr=index_expr())
def test_basic_index_is_view_advanced_is_copy(expr):
    shape, key = expr
    if _rejected_like_torch(shape, key):
        return
    x = gt.zeros(shape)
    out = x[_as_lib(gt, key)]
    advanced = any(isinstance(k, (list, np.ndarray)) for k in key)
    assert np.shares_memory(out.numpy(), x.numpy()) == (not advanced and out.numel() > 0)
