"""diag_embed meshgrid repeat_interleave Tensor.unfold cartesian_prod block_diag combinations
against torch: values, dtypes, gradients (gradcheck in float64) on cpu and cuda, views, errors."""
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op

OPS = [
    ("diag_embed", lambda L, x: L.diag_embed(x), [(2, 3)]),
    ("diag_embed_offset", lambda L, x: x.diag_embed(1, 0, 2), [(2, 3)]),
    ("diag_embed_neg", lambda L, x: L.diag_embed(x, -2, dim1=-1, dim2=0), [(3,)]),
    ("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [(2,), (3,)]),
    ("meshgrid_xy", lambda L, a, b, c: L.meshgrid(a, b, c, indexing="xy"), [(2,), (3,), (2,)]),
    ("meshgrid_list", lambda L, a, b: L.meshgrid([a, b], indexing="xy"), [(3,), (2,)]),
    ("meshgrid_0d", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [(), (3,)]),
    ("repeat_interleave_int", lambda L, x: L.repeat_interleave(x, 2), [(2, 3)]),
    ("repeat_interleave_dim", lambda L, x: x.repeat_interleave(3, dim=1), [(2, 3)]),
    ("repeat_interleave_neg_dim", lambda L, x: x.repeat_interleave(2, -2), [(2, 1, 3)]),
    ("repeat_interleave_tensor", lambda L, x: L.repeat_interleave(x, L.tensor([1, 0, 2]), 1),
     [(2, 3)]),
    ("repeat_interleave_tensor1", lambda L, x: x.repeat_interleave(L.tensor([2]), dim=0),
     [(2, 3)]),
    ("repeat_interleave_0d_repeats", lambda L, x: x.repeat_interleave(L.tensor(2), dim=1),
     [(2, 3)]),
    ("repeat_interleave_scalar", lambda L, x: L.repeat_interleave(x, 3), [()]),
    ("repeat_interleave_output_size", lambda L, x: x.repeat_interleave(
        L.tensor([1, 2]), dim=0, output_size=3), [(2, 3)]),
    ("unfold", lambda L, x: x.unfold(1, 2, 2), [(2, 5)]),
    ("unfold_overlap", lambda L, x: x.unfold(0, 3, 1), [(5, 2)]),
    ("unfold_neg_dim", lambda L, x: x.unfold(-1, 2, 3), [(2, 2, 7)]),
    ("unfold_twice", lambda L, x: x.unfold(0, 2, 1).unfold(1, 2, 1), [(3, 4)]),
    ("unfold_0d", lambda L, x: x.unfold(0, 1, 1), [()]),
    ("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [(2,), (3,)]),
    ("cartesian_prod3", lambda L, a, b, c: L.cartesian_prod(a, b, c), [(2,), (1,), (2,)]),
    ("cartesian_prod1", lambda L, a: L.cartesian_prod(a), [(3,)]),
    ("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [(2, 3), (3,), ()]),
    ("block_diag_one", lambda L, a: L.block_diag(a), [(2, 2)]),
    ("combinations", lambda L, x: L.combinations(x), [(4,)]),
    ("combinations_r3", lambda L, x: L.combinations(x, r=3), [(4,)]),
    ("combinations_repl", lambda L, x: L.combinations(x, 2, with_replacement=True), [(3,)]),
    ("combinations_r1", lambda L, x: L.combinations(x, r=1), [(3,)]),
    ("combinations_too_long", lambda L, x: L.combinations(x, r=3), [(2,)]),
]
CUDA = {"diag_embed_offset", "meshgrid_xy", "repeat_interleave_tensor", "repeat_interleave_dim",
        "unfold_overlap", "unfold_twice", "cartesian_prod", "block_diag", "combinations_repl"}


def _arrays(shapes, rng):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("f,shapes", [o[1:] for o in OPS], ids=[o[0] for o in OPS])
def test_ops_cpu(f, shapes, rng):
    check_lib_op(f, *_arrays(shapes, rng), device="cpu")


@pytest.mark.parametrize("f,shapes", [o[1:] for o in OPS if o[0] in CUDA],
                         ids=[o[0] for o in OPS if o[0] in CUDA])
def test_ops_cuda(f, shapes, rng):
    check_lib_op(f, *_arrays(shapes, rng), device="cuda")


def test_repeat_interleave_repeats_only(device):
    check_lib_op(lambda L, r: L.repeat_interleave(r), np.array([1, 0, 3], np.int64),
                 device=device, grad=False)
    check_lib_op(lambda L, r: L.repeat_interleave(r, output_size=3), np.array([2, 1], np.int64),
                 device=device, grad=False)


def test_int_and_bool_inputs(device):
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    check_lib_op(lambda L, t: L.repeat_interleave(t, 2, dim=0), x, device=device, grad=False)
    check_lib_op(lambda L, t: t.unfold(1, 2, 1), x, device=device, grad=False)
    check_lib_op(lambda L, t: L.diag_embed(t), x, device=device, grad=False)
    check_lib_op(lambda L, a, b: L.block_diag(a, b), x, np.ones((1, 2), np.float32),
                 device=device, grad=False)
    check_lib_op(lambda L, t: L.combinations(t[0]), x, device=device, grad=False)


def test_unfold_is_a_view_with_torch_strides():
    base = np.arange(10, dtype=np.float32).reshape(2, 5)
    g, t = gt.tensor(base), torch.from_numpy(base.copy())
    gu, tu = g.unfold(1, 2, 2), t.unfold(1, 2, 2)
    assert gu.stride() == tu.stride()
    assert gu._base is g
    g[0, 2] = 100.0
    assert gu[0, 1, 0].item() == 100.0


def test_meshgrid_views_and_warning():
    a, b = gt.arange(2.0), gt.arange(3.0)
    with pytest.warns(UserWarning, match="torch.meshgrid: in an upcoming release, it will be "
                                         "required to pass the indexing argument."):
        x, y = gt.meshgrid(a, b)
    assert x.shape == (2, 3) and y._base is b
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gt.meshgrid(a, b, indexing="ij")


ERRORS = [
    (lambda L: L.diag_embed(L.zeros(2, 3), dim1=0, dim2=0), RuntimeError,
     "diagonal dimensions cannot be identical 0, 0"),
    (lambda L: L.meshgrid(L.zeros(2), L.zeros(3), indexing="bad"), RuntimeError,
     'torch.meshgrid: indexing must be one of "xy" or "ij", but received: bad'),
    (lambda L: L.meshgrid(L.zeros(2), L.zeros(3, dtype=L.float64), indexing="ij"), RuntimeError,
     "meshgrid expects all tensors to have the same dtype"),
    (lambda L: L.meshgrid(indexing="ij"), RuntimeError, "meshgrid expects a non-empty TensorList"),
    (lambda L: L.repeat_interleave(L.tensor(3)), RuntimeError,
     "repeat_interleave only accept 1D vector as repeat"),
    (lambda L: L.repeat_interleave(L.tensor([1, -2])), RuntimeError,
     "repeats can not be negative"),
    (lambda L: L.repeat_interleave(L.zeros(2, 3), L.tensor([1, 2, 0]), dim=0), RuntimeError,
     "repeats must have the same size as input along dim, but got repeats.size(0) = 3 and "
     "input.size(0) = 2"),
    (lambda L: L.repeat_interleave(L.zeros(2, 3), L.tensor([1, 2])), RuntimeError,
     "repeats must have the same size as input along dim, but got repeats.size(0) = 2 and "
     "input.size(0) = 6"),
    (lambda L: L.repeat_interleave(L.zeros(2, 3), -1), RuntimeError,
     "Repeats must be non-negative"),
    (lambda L: L.repeat_interleave(L.zeros(2, 3), 2, dim=1, output_size=5), RuntimeError,
     "repeat_interleave: Invalid output_size, expected 6 but got 5"),
    (lambda L: L.repeat_interleave(L.tensor([1.0, 2.0])), NotImplementedError,
     "\"repeat_interleave_cpu\" not implemented for 'Float'"),
    (lambda L: L.zeros(2, 5).unfold(1, 6, 1), RuntimeError,
     "maximum size for tensor at dimension 1 is 5 but size is 6"),
    (lambda L: L.zeros(2, 5).unfold(1, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda L: L.block_diag(L.zeros(2, 2, 2)), RuntimeError,
     "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input 0 has 3 dimensions"),
    (lambda L: L.combinations(L.zeros(2, 2)), RuntimeError,
     "Expect a 1D vector, but got shape [2, 2]"),
    (lambda L: L.combinations(L.zeros(3), r=-1), RuntimeError,
     "Expect a non-negative number, but got -1"),
    (lambda L: L.cartesian_prod(L.zeros(2, 2)), RuntimeError,
     "Expect a 1D vector, but got shape [2, 2]"),
]


@pytest.mark.parametrize("f,exc,msg", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_match_torch(f, exc, msg):
    for lib in (torch, gt):
        with pytest.raises(exc) as info:
            f(lib)
        assert str(info.value) == msg, lib.__name__


def test_empty_forms():
    for lib in (torch, gt):
        assert tuple(lib.block_diag().shape) == (1, 0)
        assert tuple(lib.combinations(lib.zeros(2), r=0).shape) == (0,)
        assert tuple(lib.combinations(lib.zeros(0)).shape) == (0, 2)
        assert tuple(lib.zeros(2, 5).unfold(1, 0, 1).shape) == (2, 6, 0)


def test_double_backward_of_functions():
    """unfold and block_diag have hand-written backwards: they must be differentiable too."""
    x = gt.randn(3, 5, dtype=gt.float64, requires_grad=True)
    assert gt.autograd.gradgradcheck(lambda t: t.unfold(1, 2, 1) ** 2, [x])
    a = gt.randn(2, 2, dtype=gt.float64, requires_grad=True)
    b = gt.randn(3, dtype=gt.float64, requires_grad=True)
    assert gt.autograd.gradgradcheck(lambda p, q: gt.block_diag(p, q) ** 2, [a, b])
