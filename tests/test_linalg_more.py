"""tensordot kron cross trace and the torch.linalg namespace against torch: values, dtypes,
gradients (gradcheck in float64) on cpu and cuda, and torch's errors."""
import math
import warnings

import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op

OPS = [
    ("tensordot_int", lambda L, a, b: L.tensordot(a, b, 1), [(2, 3), (3, 2)]),
    ("tensordot_default", lambda L, a, b: L.tensordot(a, b), [(2, 3, 2), (3, 2, 2)]),
    ("tensordot_lists", lambda L, a, b: L.tensordot(a, b, ([0, 2], [2, 0])),
     [(2, 3, 2), (2, 3, 2)]),
    ("tensordot_zero", lambda L, a, b: L.tensordot(a, b, 0), [(2,), (3,)]),
    ("tensordot_kw", lambda L, a, b: L.tensordot(a, b, dims=([1], [0])), [(2, 3), (3,)]),
    ("kron_2d", lambda L, a, b: L.kron(a, b), [(2, 3), (2, 2)]),
    ("kron_mixed_rank", lambda L, a, b: L.kron(a, b), [(2, 3), (3,)]),
    ("kron_3d", lambda L, a, b: a.kron(b), [(2, 1, 2), (1, 2, 2)]),
    ("cross_dim", lambda L, a, b: L.cross(a, b, dim=1), [(2, 3), (2, 3)]),
    ("cross_bcast", lambda L, a, b: L.cross(a, b, dim=-1), [(2, 3), (1, 3)]),
    ("cross_method", lambda L, a, b: a.cross(b, 0), [(3, 2), (3, 2)]),
    ("linalg_cross", lambda L, a, b: L.linalg.cross(a, b), [(2, 2, 3), (2, 1, 3)]),
    ("linalg_cross_dim", lambda L, a, b: L.linalg.cross(a, b, dim=0), [(3, 2), (3, 2)]),
    ("trace", lambda L, a: L.trace(a), [(3, 3)]),
    ("trace_rect", lambda L, a: a.trace(), [(2, 4)]),
    ("vector_norm", lambda L, a: L.linalg.vector_norm(a), [(2, 3)]),
    ("vector_norm_ord", lambda L, a: L.linalg.vector_norm(a, 3, dim=1, keepdim=True), [(2, 3)]),
    ("vector_norm_neg", lambda L, a: L.linalg.vector_norm(a, -2, dim=0), [(2, 3)]),
    ("vector_norm_inf", lambda L, a: L.linalg.vector_norm(a, math.inf, dim=(0, 1)), [(2, 3)]),
    ("matrix_norm_fro", lambda L, a: L.linalg.matrix_norm(a), [(2, 3, 2)]),
    ("matrix_norm_1", lambda L, a: L.linalg.matrix_norm(a, 1), [(2, 3)]),
    ("matrix_norm_-inf", lambda L, a: L.linalg.matrix_norm(a, -math.inf, keepdim=True),
     [(2, 2, 3)]),
    ("norm_default", lambda L, a: L.linalg.norm(a), [(2, 3, 2)]),
    ("norm_dim", lambda L, a: L.linalg.norm(a, dim=1), [(2, 3)]),
    ("norm_matrix_ord", lambda L, a: L.linalg.norm(a, math.inf), [(2, 3)]),
    ("norm_dims_ord", lambda L, a: L.linalg.norm(a, 1, dim=(0, 2)), [(2, 3, 2)]),
    ("vecdot", lambda L, a, b: L.linalg.vecdot(a, b), [(2, 3), (1, 3)]),
    ("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [(2, 3), (3, 2), (2, 3)]),
    ("multi_dot_vec", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), [(3,), (3, 2), (2,)]),
    ("linalg_matmul", lambda L, a, b: L.linalg.matmul(a, b), [(2, 3), (3,)]),
    ("linalg_diagonal", lambda L, a: L.linalg.diagonal(a, offset=1), [(2, 3, 3)]),
]
CUDA = {"tensordot_lists", "kron_mixed_rank", "linalg_cross", "trace", "matrix_norm_1",
        "multi_dot", "vector_norm_ord", "cross_method"}


def _arrays(shapes, rng):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("f,shapes", [o[1:] for o in OPS], ids=[o[0] for o in OPS])
def test_ops_cpu(f, shapes, rng):
    check_lib_op(f, *_arrays(shapes, rng), device="cpu")


@pytest.mark.parametrize("f,shapes", [o[1:] for o in OPS if o[0] in CUDA],
                         ids=[o[0] for o in OPS if o[0] in CUDA])
def test_ops_cuda(f, shapes, rng):
    check_lib_op(f, *_arrays(shapes, rng), device="cuda")


def test_cross_default_dim_warns_and_picks_first_size3(rng):
    a, b = _arrays([(3, 3), (3, 3)], rng)
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is "
                                         "deprecated"):
        out = gt.cross(gt.tensor(a), gt.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.cross(torch.from_numpy(a), torch.from_numpy(b))
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), np.cross(a, b, axis=0), rtol=1e-5, atol=1e-6)


def test_integer_dtypes(device):
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(6, dtype=np.int64).reshape(3, 2) - 2
    check_lib_op(lambda L, x, y: L.tensordot(x, y, 1), a, b, device=device, grad=False)
    check_lib_op(lambda L, x, y: L.kron(x, y), a, b, device=device, grad=False)
    check_lib_op(lambda L, x: L.linalg.cross(x, x.flip(1)), a, device=device, grad=False)
    check_lib_op(lambda L, x: L.trace(x), a.astype(np.int32), device=device, grad=False)


def test_tensordot_tensor_dims(rng):
    a, b = _arrays([(2, 3), (3, 2)], rng)
    check_lib_op(lambda L, x, y: L.tensordot(x, y, L.tensor(1)), a, b, device="cpu", grad=False)
    check_lib_op(lambda L, x, y: L.tensordot(x, y, L.tensor([[1], [0]])), a, b, device="cpu",
                 grad=False)


ERRORS = [
    (lambda L: L.tensordot(L.zeros(2, 3), L.zeros(3, 4, dtype=L.float64), 1),
     "both inputs should have same dtype"),
    (lambda L: L.tensordot(L.zeros(2, 3), L.zeros(4, 4), 1),
     "contracted dimensions need to match, but first has size 3 in dim -1 and second has size 4 "
     "in dim 0"),
    (lambda L: L.tensordot(L.zeros(2, 3), L.zeros(3, 4), -1),
     "tensordot expects dims >= 0, but got dims=-1"),
    (lambda L: L.tensordot(L.zeros(2, 3), L.zeros(3, 4), 3),
     "tensordot expects dims < ndim_a or ndim_b, but got dims=3"),
    (lambda L: L.tensordot(L.zeros(2, 3), L.zeros(3, 4), ([1, 0], [0])),
     "both dimension lists should have same length"),
    (lambda L: L.cross(L.zeros(4, 2), L.zeros(4, 2)), "no dimension of size 3 in input"),
    (lambda L: L.cross(L.zeros(4, 3), L.zeros(4, 3), dim=0),
     "linalg.cross: inputs dimension 0 must have length 3. Got 4 and 4"),
    (lambda L: L.linalg.cross(L.zeros(4, 2), L.zeros(4, 2)),
     "linalg.cross: inputs dimension -1 must have length 3. Got 2 and 2"),
    (lambda L: L.linalg.cross(L.zeros(4, 3), L.zeros(2, 3)),
     "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0"),
    (lambda L: L.linalg.cross(L.zeros(4, 3), L.zeros(3)),
     "linalg.cross: inputs must have the same number of dimensions."),
    (lambda L: L.linalg.cross(L.zeros(4, 3), L.zeros(4, 3, dtype=L.float64)),
     "expected scalar type Float but found Double"),
    (lambda L: L.trace(L.zeros(3)), "trace: expected a matrix, but got tensor with dim 1"),
    (lambda L: L.trace(L.zeros(2, 2, 2)), "trace: expected a matrix, but got tensor with dim 3"),
    (lambda L: L.linalg.vector_norm(L.ones(3, dtype=L.int64)),
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda L: L.linalg.norm(L.ones(2, 2, 2), "fro"),
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    (lambda L: L.linalg.multi_dot([L.ones(2, 2)]),
     "multi_dot(): expected at least 2 tensors but got 1"),
]


@pytest.mark.parametrize("f,msg", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_errors_match_torch(f, msg):
    for lib in (torch, gt):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError) as info:
                f(lib)
        assert str(info.value) == msg, lib.__name__
