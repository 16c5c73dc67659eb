"""einsum against torch: values, dtypes, gradients (gradcheck in float64) on cpu and cuda, the
equation forms torch accepts, and torch's errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_lib_op, to_gt

# (id, equation, operand shapes); CUDA marks the cases also run on the (slow) simulated device
CASES = [
    ("matmul", "ij,jk->ik", [(2, 3), (3, 4)]),
    ("matmul_implicit", "ij,jk", [(2, 3), (3, 2)]),
    ("bmm", "bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("bmm_batch_last", "ijb,jkb->bki", [(2, 3, 2), (3, 2, 2)]),
    ("outer", "i,j->ij", [(3,), (2,)]),
    ("outer_implicit", "i,j", [(3,), (2,)]),
    ("dot", "i,i->", [(4,)] * 2),
    ("dot_implicit", "i,i", [(4,)] * 2),
    ("hadamard", "ij,ij->ij", [(2, 3)] * 2),
    ("trace", "ii", [(3, 3)]),
    ("trace_explicit", "ii->", [(3, 3)]),
    ("diagonal", "ii->i", [(3, 3)]),
    ("batch_diagonal", "bii->bi", [(2, 3, 3)]),
    ("repeated_three", "iii->i", [(2, 2, 2)]),
    ("repeated_mixed", "iji->ij", [(2, 3, 2)]),
    ("transpose", "ij->ji", [(2, 3)]),
    ("transpose_implicit", "ba", [(2, 3)]),
    ("permute", "ijk->kij", [(2, 3, 2)]),
    ("sum_all", "ij->", [(2, 3)]),
    ("sum_rows", "ij->j", [(2, 3)]),
    ("sum_keep_order", "ijk->ki", [(2, 3, 2)]),
    ("identity", "ij->ij", [(2, 3)]),
    ("mv", "ij,j->i", [(2, 3), (3,)]),
    ("vm", "i,ij->j", [(2,), (2, 3)]),
    ("bilinear", "bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)]),
    ("ellipsis_matmul", "...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("ellipsis_broadcast", "...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    ("ellipsis_implicit", "...ij,jk", [(2, 2, 3), (3, 2)]),
    ("ellipsis_middle", "i...j->j...i", [(2, 3, 1, 2)]),
    ("ellipsis_sum", "...ij->ij", [(2, 2, 3)]),
    ("ellipsis_keep", "...ij->...", [(2, 2, 3)]),
    ("ellipsis_empty", "...ij,...jk->...ik", [(2, 3), (3, 2)]),
    ("size1_broadcast", "ij,ij->ij", [(2, 1), (2, 3)]),
    ("size1_contracted", "ij,jk", [(2, 1), (3, 2)]),
    ("contract_two_dims", "ijk,jkl->il", [(2, 3, 2), (3, 2, 2)]),
    ("sum_out_before", "ij,kl->ik", [(2, 3), (2, 2)]),
    ("chain3", "ij,jk,kl->il", [(2, 3), (3, 2), (2, 3)]),
    ("chain4", "ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 3), (3, 2)]),
    ("chain4_implicit", "ab,bc,cd,de", [(2, 3), (3, 2), (2, 3), (3, 2)]),
    ("three_batch", "bij,bjk,bk->bi", [(2, 2, 3), (2, 3, 2), (2, 2)]),
    ("three_outer", "i,j,k->ijk", [(2,), (3,), (2,)]),
    ("three_scalar", "i,i,i->", [(3,)] * 3),
    ("three_repeated", "ii,ij,j->i", [(2, 2), (2, 3), (3,)]),
    ("uppercase", "Ba,aB->B", [(2, 3), (3, 2)]),
    ("spaces", " i j , j k -> i k ", [(2, 3), (3, 2)]),
]
CUDA = {"matmul", "bmm_batch_last", "outer", "trace", "diagonal", "repeated_mixed",
        "ellipsis_broadcast", "size1_contracted", "chain3", "chain4", "three_repeated",
        "sum_out_before"}


def _arrays(shapes, rng):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("eq,shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_einsum_cpu(eq, shapes, rng):
    check_lib_op(lambda L, *xs: L.einsum(eq, *xs), *_arrays(shapes, rng), device="cpu")


@pytest.mark.parametrize("eq,shapes", [c[1:] for c in CASES if c[0] in CUDA],
                         ids=[c[0] for c in CASES if c[0] in CUDA])
def test_einsum_cuda(eq, shapes, rng):
    check_lib_op(lambda L, *xs: L.einsum(eq, *xs), *_arrays(shapes, rng), device="cuda")


def test_operand_list_and_sublist_forms(device, rng):
    a, b, c = _arrays([(2, 3), (3, 4), (4, 2)], rng)
    check_lib_op(lambda L, x, y: L.einsum("ij,jk", [x, y]), a, b, device=device, grad=False)
    check_lib_op(lambda L, x, y: L.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b, device=device,
                 grad=False)
    check_lib_op(lambda L, x, y, z: L.einsum(x, [0, 1], y, [1, 2], z, [2, 3]), a, b, c,
                 device=device, grad=False)
    check_lib_op(lambda L, x: L.einsum(x, [..., 1], [...]), a, device=device, grad=False)
    check_lib_op(lambda L, x: L.einsum(x, [0, 26]), a, device=device, grad=False)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_operands(dtype, device):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    b = np.arange(12, dtype=dtype).reshape(3, 4)
    check_lib_op(lambda L, x, y: L.einsum("ij,jk->ik", x, y), a, b, device=device, grad=False)
    check_lib_op(lambda L, x: L.einsum("ij->j", x), a, device=device, grad=False)
    check_lib_op(lambda L, x: L.einsum("ij->", x), a, device=device, grad=False)


def test_bool_outer_and_sum():
    a = np.array([True, False, True])
    check_lib_op(lambda L, x: L.einsum("i,j", x, x), a, device="cpu", grad=False)
    check_lib_op(lambda L, x: L.einsum("i->", x), a, device="cpu", grad=False)


def test_double_backward(device, rng):
    a, b = (to_gt(x.astype(np.float64), device, True) for x in _arrays([(2, 3), (3, 2)], rng))
    assert gt.autograd.gradgradcheck(lambda x, y: gt.einsum("ij,jk->ik", x, y), [a, b])


def test_uses_matmul_op(monkeypatch, rng):
    """Two-operand contractions go through the matmul Function (the cuda kernel's entry)."""
    from gputensor.ops import linalg
    calls = []
    orig, orig_lean = linalg.Matmul.forward, linalg.Matmul._lean

    def spy(ctx, a, b):
        calls.append((tuple(a.shape), tuple(b.shape)))
        return orig(ctx, a, b)

    def spy_lean(a, b):  # the no-grad path of the same Function
        calls.append((tuple(a.shape), tuple(b.shape)))
        return orig_lean(a, b)
    monkeypatch.setattr(linalg.Matmul, "forward", staticmethod(spy))
    monkeypatch.setattr(linalg.Matmul, "_lean", staticmethod(spy_lean))
    a, b = (gt.tensor(x) for x in _arrays([(2, 3, 4), (2, 4, 5)], rng))
    gt.einsum("bij,bjk->bik", a, b)
    assert calls == [((2, 3, 4), (2, 4, 5))]
    calls.clear()
    x, y, z = (gt.tensor(t) for t in _arrays([(2, 3), (3, 4), (4, 5)], rng))
    gt.einsum("ij,jk,kl->il", x, y, z)
    assert len(calls) == 2


def test_path_follows_opt_einsum(monkeypatch, rng):
    """For 3+ operands the pairwise order is opt_einsum's: contracting the small pair first."""
    import opt_einsum
    seen = []
    orig = opt_einsum.contract_path

    def spy(*args, **kw):
        out = orig(*args, **kw)
        seen.append(out[0])
        return out
    monkeypatch.setattr(opt_einsum, "contract_path", spy)
    a, b, c = (gt.tensor(t) for t in _arrays([(5, 5), (5, 5), (5, 1)], rng))
    out = gt.einsum("ij,jk,kl->il", a, b, c)
    assert seen and list(seen[0][0]) == [1, 2]  # b @ c first (cheaper than a @ b)
    ta, tb, tc = (torch.from_numpy(t.numpy()) for t in (a, b, c))
    np.testing.assert_allclose(out.numpy(), torch.einsum("ij,jk,kl->il", ta, tb, tc).numpy(),
                               rtol=1e-5, atol=1e-5)


ERRORS = [
    ("ij,jk", [(2, 3), (4, 5)], RuntimeError,
     "einsum(): subscript j has size 4 for operand 1 which does not broadcast with previously "
     "seen size 3"),
    ("ij,jk", [(2, 3)], RuntimeError,
     "einsum(): fewer operands were provided than specified in the equation"),
    ("ij", [(2, 3), (3,)], RuntimeError,
     "einsum(): more operands were provided than specified in the equation"),
    ("ijk", [(2, 3)], RuntimeError,
     "einsum(): the number of subscripts in the equation (3) does not match the number of "
     "dimensions (2) for operand 0 and no ellipsis was given"),
    ("...ijk", [(2, 3)], RuntimeError,
     "einsum(): the number of subscripts in the equation (3) is more than the number of "
     "dimensions (2) for operand 0"),
    ("i.j", [(2, 3)], RuntimeError,
     "einsum(): found '.' for operand 0 that is not part of any ellipsis"),
    ("...i...", [(2, 3)], RuntimeError,
     "einsum(): found '.' for operand 0 for which an ellipsis was already found"),
    ("i1", [(2, 3)], RuntimeError,
     "einsum(): invalid subscript given at index 1 in the equation string, subscripts must be "
     "in [a-zA-Z]"),
    ("i->i->i", [(2,)], RuntimeError,
     "einsum(): invalid subscript given at index 4 in the equation string, subscripts must be "
     "in [a-zA-Z]"),
    ("ij->a", [(2, 3)], RuntimeError,
     "einsum(): output subscript a does not appear in the equation for any input operand"),
    ("ij->ii", [(2, 3)], RuntimeError,
     "einsum(): output subscript i appears more than once in the output"),
    ("ii", [(2, 3)], RuntimeError,
     "einsum(): subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
    ("ij->j..", [(2, 3)], RuntimeError,
     "einsum(): found '.' for output that is not part of any ellipsis (...)"),
    ("i,i->i", [(3,), (2,)], RuntimeError,
     "einsum(): subscript i has size 2 for operand 1 which does not broadcast with previously "
     "seen size 3"),
    ("i,i", [], ValueError,
     "einsum(): must specify the equation string and at least one operand, or at least one "
     "operand and its subscripts list"),
]


@pytest.mark.parametrize("eq,shapes,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(eq, shapes, exc, msg):
    for lib in (torch, gt):
        ops = [lib.zeros(s) for s in shapes]
        with pytest.raises(exc) as info:
            lib.einsum(eq, *ops)
        assert str(info.value).split("\n")[0] == msg, lib.__name__


def test_other_errors():
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        gt.einsum("i,i", gt.zeros(3), gt.zeros(3, dtype=gt.float64))
    with pytest.raises(TypeError, match="must be str, not int"):
        gt.einsum(1, 2)
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 1"):
        gt.einsum("ij", gt.zeros(2, 3), [1])
    with pytest.raises(ValueError, match=r"not within the valid range \[0, 52\)"):
        gt.einsum(gt.zeros(2, 3), [0, 60])
