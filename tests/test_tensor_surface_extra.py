"""Third part of the generic torch surface (ops/strided.py, aten_forms.py, numeric_misc's
gradient/frombuffer, _vmap.py, _dlpack.py) against torch."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_grad, check_lib_op
from test_tensor_surface import _same

F = np.float32

TOP_LEVEL = ("as_strided as_strided_ as_strided_copy as_strided_scatter nonzero_static embedding "
             "layer_norm group_norm batch_norm constant_pad_nd frobenius_norm gradient "
             "frombuffer vmap from_dlpack to_dlpack").split()
METHODS = ("as_strided as_strided_ as_strided_scatter new_empty_strided nonzero_static "
           "dim_order const_data_ptr is_shared share_memory_ is_nested is_quantized is_mkldnn "
           "is_sparse_csr is_xla is_ipu is_maia is_mtia is_vulkan name true_divide_ "
           "map2_ is_set_to resize resize_as as_subclass record_stream").split()


def test_names_exist_where_torch_has_them():
    missing = [f"torch.{n}" for n in TOP_LEVEL if hasattr(torch, n) and not hasattr(gt, n)]
    missing += [n for n in METHODS if hasattr(torch.Tensor, n) and not hasattr(gt.Tensor, n)]
    assert not missing


X = np.arange(12, dtype=F).reshape(3, 4) - 5.0
CASES = {
    "as_strided": lambda L, x: (L.as_strided(x, (2, 2), (1, 2)), x.as_strided((3,), (4,), 1),
                                L.as_strided(x, (2, 3, 2), (4, 1, 2), 2),
                                x[1:].as_strided((2,), (1,)), L.as_strided_copy(x, (2,), (5,))),
    "as_strided_scatter": lambda L, x: (L.as_strided_scatter(x, L.ones(2, 2), (2, 2), (1, 4)),
                                        x.as_strided_scatter(L.zeros(3), (3,), (5,), 0)),
    "nonzero_static": lambda L, x: (L.nonzero_static(x > 0, size=3),
                                    x.nonzero_static(size=15, fill_value=-7),
                                    L.nonzero_static(x[0] > 100, size=2)),
    "predicates": lambda L, x: (x.dim_order(), x.t().dim_order(), x.is_shared(), x.is_nested,
                                x.is_quantized, x.is_mkldnn, x.is_sparse_csr, x.is_xla,
                                x.is_vulkan, x.name, x.new_empty_strided((2, 3), (3, 1)).shape,
                                x.const_data_ptr() == x.data_ptr()),
    "aten_forms": lambda L, x: (L.embedding(x, L.tensor([2, 0, 2])),
                                L.embedding(x, L.tensor([1, 0]), 0),
                                L.layer_norm(x, (4,)), L.layer_norm(x, [3, 4], None, None, 1e-3),
                                L.group_norm(x.reshape(1, 4, 3), 2),
                                L.batch_norm(x, None, None, L.zeros(4), L.ones(4), False, 0.1,
                                             1e-5, True),
                                L.constant_pad_nd(x, (1, 2), 3.5),
                                L.constant_pad_nd(x, (0, 1, -1, 0)),
                                L.frobenius_norm(x, (0, 1)), L.frobenius_norm(x, (1,), True)),
    "gradient": lambda L, x: (L.gradient(x), L.gradient(x * x, spacing=2.0),
                              L.gradient(x * x, dim=1, edge_order=2),
                              L.gradient(x ** 3, spacing=(L.tensor([0.0, 1.0, 3.0, 4.5]),),
                                         dim=1),
                              L.gradient(x ** 3, spacing=(L.tensor([0.0, 1.0, 3.0, 4.5]),),
                                         dim=-1, edge_order=2),
                              L.gradient(x, spacing=[1.5, 0.5]),
                              L.gradient(L.tensor([1, 4, 9, 16]))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_behaves_as_torch(case):
    f = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # frobenius_norm's deprecation (both libraries)
        _same(f(gt, gt.tensor(X)), f(torch, torch.tensor(X)))


def test_as_strided_is_a_view_and_inplace(device):
    x = gt.arange(6.0, device=device)
    v = x.as_strided((2, 2), (1, 2))
    x[0] = 9.0
    assert v.tolist() == [[9.0, 2.0], [1.0, 3.0]]
    y = gt.arange(6.0)
    assert y.as_strided_((3,), (2,)) is y and y.tolist() == [0.0, 2.0, 4.0]
    for L in (gt, torch):
        with pytest.raises(RuntimeError, match="out of bounds"):
            L.as_strided(L.ones(4), (3,), (2,))
        with pytest.raises(RuntimeError, match="mismatch in length"):
            L.as_strided(L.ones(4), (2,), (1, 1))


def test_as_strided_grad(device, rng):
    x = rng.standard_normal(7).astype(F)
    check_lib_op(lambda L, a: L.as_strided(a, (3, 3), (2, 1), 0), x, device=device)
    check_lib_op(lambda L, a: (a * 1).as_strided((2, 2), (3, 1), 1), x, device="cpu")
    # torch's as_strided_scatter backward fails torch's own gradcheck (it gives the input
    # the gradient at the overwritten positions): compare values, gradcheck gputensor alone
    src = rng.standard_normal((2, 2)).astype(F)
    check_lib_op(lambda L, a, s: L.as_strided_scatter(a, s, (2, 2), (1, 3)), x, src,
                 device="cpu", grad=False)
    check_grad(lambda a, s: gt.as_strided_scatter(a, s, (2, 2), (1, 3)), x, src, device=device)


def test_gradient_grad(device, rng):
    y = rng.standard_normal((3, 5)).astype(F)
    check_lib_op(lambda L, a: L.gradient(a, dim=1, edge_order=2), y, device=device)
    xs = np.array([0.0, 0.5, 1.5, 2.0, 3.5], F)
    check_lib_op(lambda L, a, c: L.gradient(a, spacing=(c,), dim=1), y, xs, device="cpu")
    for L in (gt, torch):
        with pytest.raises(RuntimeError):
            L.gradient(L.ones(3), edge_order=3)


def test_frombuffer_shares_memory():
    buf = bytearray(np.array([1, 2, 3], np.int32).tobytes())
    t = gt.frombuffer(buf, dtype=gt.int32)
    assert t.tolist() == [1, 2, 3] and t.dtype is gt.int32
    t[0] = 7
    assert np.frombuffer(buf, np.int32)[0] == 7
    assert gt.frombuffer(buf, dtype=gt.int32, count=1, offset=4).tolist() == [2]


def test_vmap_matches_torch(rng):
    x = rng.standard_normal((4, 3)).astype(F)
    w = rng.standard_normal(3).astype(F)
    for f in (lambda L: L.vmap(L.dot, in_dims=(0, None))(L.tensor(x), L.tensor(w)),
              lambda L: L.vmap(lambda a: (a * 2, a.sum()), out_dims=(1, 0))(L.tensor(x)),
              lambda L: L.vmap(L.vmap(lambda a, b: a * b))(L.tensor(x), L.tensor(x)),
              lambda L: L.vmap(lambda a: a.outer(a), in_dims=1)(L.tensor(x))):
        _same(f(gt), f(torch))
    check_lib_op(lambda L, a, b: L.vmap(L.mv, in_dims=(None, 0))(a, b),
                 rng.standard_normal((2, 3)).astype(F), x, device="cpu")
    with pytest.raises(ValueError):
        gt.vmap(gt.add)(gt.ones(2), gt.ones(3))


def test_dlpack_round_trip(device):
    x = gt.arange(4.0, device=device)
    if device == "cpu":
        t = torch.from_dlpack(x)
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
        t[0] = 5.0  # shared memory
        assert x[0].item() == 5.0
    y = gt.from_dlpack(torch.arange(3))
    assert y.dtype is gt.int64 and y.tolist() == [0, 1, 2]
    assert np.from_dlpack(x).shape == (4,)
    assert gt.to_dlpack(gt.ones(2)) is not None


def test_set_to_resize_subclass_record_stream():
    for L in (gt, torch):
        x = L.arange(6.0)
        assert x.is_set_to(x) and x.is_set_to(x.view(6)) and not x.is_set_to(x.clone())
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            y = x.resize(2, 3)
        assert tuple(y.shape) == (2, 3) and tuple(x.shape) == (6,)
        assert x.record_stream(None) is None if L is gt else True

    class Sub(gt.Tensor):
        pass
    w = gt.ones(2, requires_grad=True)
    s = w.as_subclass(Sub)
    assert type(s) is Sub and s.data_ptr() == w.data_ptr()
    (s * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    with pytest.raises(TypeError):
        w.as_subclass(int)
