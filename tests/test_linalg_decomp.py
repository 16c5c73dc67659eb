"""Decompositions and solvers against torch: values (or invariant reconstructions), dtypes,
gradients of gauge-invariant losses, float64 gradcheck, and torch's errors."""
import numpy as np
import pytest
import torch

import gputensor as gt
from helpers import check_grad, check_lib_op, compare_torch, device_cases, to_gt, to_np


def _spd(lib, M):
    return M @ M.mT + M.shape[-1] * lib.eye(M.shape[-1], dtype=M.dtype, device=M.device)


def _sym(M):
    return 0.5 * (M + M.mT)


@pytest.mark.parametrize("device,shape", device_cases([(3, 3), (2, 4, 4)], cuda=[(3, 3)]))
def test_det_slogdet_logdet_inv(device, rng, shape):
    shape = (2, 2) if device == "cuda" else shape  # each simulated matmul is a kernel launch
    a = rng.standard_normal(shape).astype(np.float32) + 2 * np.eye(shape[-1], dtype=np.float32)
    check_lib_op(lambda lib, x: lib.linalg.det(x), a, device=device, atol=1e-4)
    check_lib_op(lambda lib, x: lib.det(x), a, device=device, atol=1e-4)
    check_lib_op(lambda lib, x: tuple(lib.linalg.slogdet(x)), a, device=device, atol=1e-4)
    check_lib_op(lambda lib, x: lib.logdet(_spd(lib, x)), a, device=device, atol=1e-4)
    check_lib_op(lambda lib, x: lib.linalg.inv(x), a, device=device, atol=1e-4)
    check_lib_op(lambda lib, x: x.inverse(), a, device=device, atol=1e-4)


def test_det_grad_singular(device):
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])  # rank 2
    b = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]])  # rank 1
    for m in (a, b, np.stack([a, np.eye(3)])) if device == "cpu" else (a,):
        check_lib_op(lambda lib, x: lib.linalg.det(x), m, device=device, grad=False)
        compare_torch(lambda x: gt.linalg.det(x), m, device=device,
                      torch_fn=torch.linalg.det)


def test_logdet_negative_is_nan(device):
    a = np.diag([-1.0, 2.0])
    out = gt.logdet(to_gt(a, device))
    assert np.isnan(to_np(out)) and np.isnan(torch.logdet(torch.tensor(a)).item())
    assert to_np(gt.logdet(to_gt(np.zeros((2, 2)), device))) == -np.inf


@pytest.mark.parametrize("bshape", [(3,), (3, 2), (2, 3, 2)])
def test_solve(device, rng, bshape):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(bshape)
    check_lib_op(lambda lib, x, y: lib.linalg.solve(x, y), a, b, device=device)


def test_solve_batched_vector_and_left(rng):
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    check_lib_op(lambda lib, x, y: lib.linalg.solve(x, y), a, rng.standard_normal((2, 3)),
                 device="cpu")
    check_lib_op(lambda lib, x, y: lib.linalg.solve(x, y, left=False), a,
                 rng.standard_normal((2, 4, 3)), device="cpu")


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
@pytest.mark.parametrize("upper", [True, False])
def test_solve_triangular(rng, upper):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2))
    check_lib_op(lambda lib, x, y: lib.linalg.solve_triangular(x, y, upper=upper), a, b,
                 device="cpu")
    check_lib_op(lambda lib, x, y: lib.linalg.solve_triangular(x, y.mT, upper=upper,
                                                               left=False, unitriangular=True),
                 a, b, device="cpu")
    check_lib_op(lambda lib, x, y: lib.triangular_solve(y, x, upper=upper, transpose=True)[0],
                 a, b, device="cpu")


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("device,shape", device_cases([(3, 3), (2, 4, 4)], cuda=[(3, 3)]))
def test_cholesky_family(device, rng, shape):
    shape = (2, 2) if device == "cuda" else shape
    m = rng.standard_normal(shape)
    check_lib_op(lambda lib, x: lib.linalg.cholesky(_spd(lib, x)), m, device=device)
    if device == "cuda":
        return
    check_lib_op(lambda lib, x: lib.linalg.cholesky(_spd(lib, x), upper=True), m, device=device)
    check_lib_op(lambda lib, x: lib.cholesky(_spd(lib, x)), m, device=device)
    b = rng.standard_normal(shape[:-1] + (2,))
    check_lib_op(lambda lib, x, y: lib.cholesky_solve(y, lib.linalg.cholesky(_spd(lib, x))),
                 m, b, device="cpu")
    check_lib_op(lambda lib, x: lib.cholesky_inverse(lib.linalg.cholesky(_spd(lib, x))), m,
                 device="cpu")


def test_linalg_errors(device):
    z = to_gt(np.zeros((3, 3), np.float32), device)
    with pytest.raises(gt.linalg.LinAlgError, match="linalg.inv: The diagonal element 1 is "
                       "zero, the inversion could not be completed because the input matrix "
                       "is singular."):
        gt.linalg.inv(z)
    assert issubclass(gt.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): The factorization could not "
                       r"be completed because the input is not positive-definite \(the leading "
                       r"minor of order 2 is not positive-definite\)"):
        gt.linalg.cholesky(to_gt(np.stack([np.eye(2), np.diag([1.0, -1.0])]), device))
    with pytest.raises(gt.linalg.LinAlgError, match="The solver failed because the input "
                       "matrix is singular"):
        gt.linalg.solve(z, z)
    with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they "
                       "are 3 by 2 matrices"):
        gt.linalg.det(to_gt(np.zeros((3, 2)), device))
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                       "input. Got Long"):
        gt.linalg.inv(to_gt(np.eye(2, dtype=np.int64), device))


def test_inv_ex_cholesky_ex():
    z = np.stack([np.eye(2), np.zeros((2, 2))]).astype(np.float32)
    g, t = gt.linalg.inv_ex(gt.tensor(z)), torch.linalg.inv_ex(torch.tensor(z))
    np.testing.assert_array_equal(to_np(g.info), t.info.numpy())
    assert g.info.dtype == gt.int32
    c = np.stack([np.eye(2), -np.eye(2)])
    g, t = gt.linalg.cholesky_ex(gt.tensor(c)), torch.linalg.cholesky_ex(torch.tensor(c))
    np.testing.assert_array_equal(to_np(g.info), t.info.numpy())
    np.testing.assert_allclose(to_np(g.L)[0], t.L.numpy()[0])


@pytest.mark.parametrize("device,shape", device_cases([(4, 3), (3, 3), (3, 5), (2, 4, 3)],
                                                      cuda=[(3, 5)]))
def test_qr(device, rng, shape):
    shape = (2, 3) if device == "cuda" else shape
    a = rng.standard_normal(shape)
    g = gt.linalg.qr(to_gt(a, device))
    np.testing.assert_allclose(to_np(g.Q @ g.R), a, atol=1e-10)
    np.testing.assert_allclose(to_np(g.R), np.triu(to_np(g.R)))
    # torch and LAPACK share the Householder sign convention: compare Q, R and gradients
    check_lib_op(lambda lib, x: tuple(lib.linalg.qr(x)), a, device=device)
    r = gt.linalg.qr(to_gt(a, device), mode="r")
    assert tuple(r.Q.shape) == (0,)


@pytest.mark.filterwarnings("ignore:torch.qr is deprecated")
def test_qr_complete_and_legacy(rng):
    a = rng.standard_normal((4, 3))
    compare_torch(lambda x: tuple(gt.linalg.qr(x, mode="complete")), a, device="cpu",
                  torch_fn=lambda x: tuple(torch.linalg.qr(x, mode="complete")), grad=False)
    check_lib_op(lambda lib, x: tuple(lib.qr(x)), a, device="cpu")


def _svd_loss(lib, x, full=False):
    U, S, Vh = lib.linalg.svd(x, full_matrices=full)
    w = lib.arange(U.numel(), dtype=x.dtype, device=x.device).reshape(U.shape) / U.numel()
    v = lib.arange(Vh.numel(), dtype=x.dtype, device=x.device).reshape(Vh.shape) / Vh.numel()
    k = S.shape[-1]
    recon = U[..., :k] @ lib.diag_embed(S) @ Vh[..., :k, :]
    return (U * U * w).sum() + (Vh * Vh * v).sum() + (S * S).sum() + S.sum(), recon


@pytest.mark.parametrize("device,shape", device_cases([(4, 3), (3, 3), (3, 5), (2, 3, 4)],
                                                      cuda=[(4, 3)]))
def test_svd(device, rng, shape):
    shape = (3, 2) if device == "cuda" else shape
    a = rng.standard_normal(shape)
    check_lib_op(lambda lib, x: _svd_loss(lib, x), a, device=device)
    # full_matrices: torch gives the extra columns of U / rows of Vh no gradient (they are not
    # unique, so no finite-difference check); match torch
    compare_torch(lambda x: _svd_loss(gt, x, full=True)[0], a, device="cpu",
                  torch_fn=lambda x: _svd_loss(torch, x, full=True)[0])
    check_lib_op(lambda lib, x: lib.linalg.svdvals(x), a, device=device)
    g = gt.linalg.svd(to_gt(a, device))
    k = min(shape[-2:])
    np.testing.assert_allclose(to_np(g.U[..., :k] * g.S.unsqueeze(-2) @ g.Vh[..., :k, :]), a,
                               atol=1e-10)
    assert tuple(g.U.shape) == shape[:-1] + (shape[-2],)
    assert tuple(g.Vh.shape) == shape[:-2] + (shape[-1], shape[-1])


def test_legacy_svd(rng):
    a = rng.standard_normal((4, 3))
    U, S, V = gt.svd(gt.tensor(a))
    tU, tS, tV = torch.svd(torch.tensor(a))
    assert tuple(V.shape) == tuple(tV.shape) == (3, 3)
    np.testing.assert_allclose(to_np(U @ gt.diag_embed(S) @ V.mT), a, atol=1e-10)


@pytest.mark.parametrize("device,shape", device_cases([(3, 3), (2, 4, 4)], cuda=[(3, 3)]))
def test_eigh(device, rng, shape):
    a = rng.standard_normal(shape)

    def f(lib, x):
        L, Q = lib.linalg.eigh(_sym(x))
        w = lib.arange(Q.numel(), dtype=x.dtype, device=x.device).reshape(Q.shape) / Q.numel()
        return L, (Q * Q * w).sum() + (L * L).sum()

    check_lib_op(f, a, device=device)
    check_lib_op(lambda lib, x: lib.linalg.eigvalsh(_sym(x), UPLO="U"), a, device=device)
    L, Q = gt.linalg.eigh(to_gt(_sym(a), device))
    np.testing.assert_allclose(to_np(Q @ gt.diag_embed(L) @ Q.mT), _sym(a), atol=1e-10)


@pytest.mark.parametrize("device,shape", device_cases([(4, 3), (3, 5), (2, 3, 3)], cuda=[(4, 3)]))
def test_pinv_lstsq(device, rng, shape):
    shape = (3, 2) if device == "cuda" else shape
    a = rng.standard_normal(shape)
    check_lib_op(lambda lib, x: lib.linalg.pinv(x), a, device=device)
    if device == "cuda":
        return
    check_lib_op(lambda lib, x: lib.pinverse(x), a, device=device)
    b = rng.standard_normal(shape[:-1] + (2,))
    check_lib_op(lambda lib, x, y: lib.linalg.lstsq(x, y).solution, a, b, device=device)
    g, t = gt.linalg.lstsq(to_gt(a, device), to_gt(b, device)), torch.linalg.lstsq(
        torch.tensor(a), torch.tensor(b))
    np.testing.assert_array_equal(to_np(g.rank), t.rank.numpy())
    assert g.rank.dtype == gt.int64 and tuple(g.residuals.shape) == tuple(t.residuals.shape)


@pytest.mark.parametrize("device,n", device_cases([0, 1, 2, 3, 5, -1, -2], cuda=[3, -2]))
def test_matrix_power(device, rng, n):
    a = rng.standard_normal((2, 3, 3) if device == "cpu" else (2, 2)) * 0.5 + np.eye(
        3 if device == "cpu" else 2)
    check_lib_op(lambda lib, x: lib.linalg.matrix_power(x, n), a, device=device)
    check_lib_op(lambda lib, x: x.matrix_power(n), a, device="cpu")


# simulator: one case, no gradcheck (each matmul is a simulated kernel)
@pytest.mark.parametrize("device,scale", device_cases([0.1, 1.0, 6.0], cuda=[1.0]))
def test_matrix_exp(device, rng, scale):
    if device == "cuda":
        compare_torch(lambda x: gt.linalg.matrix_exp(x), rng.standard_normal((2, 2)),
                      device=device, torch_fn=torch.linalg.matrix_exp, rtol=1e-6, atol=1e-6)
        return
    a = rng.standard_normal((2, 3, 3)) * scale
    check_lib_op(lambda lib, x: lib.linalg.matrix_exp(x), a, device=device, rtol=1e-6,
                 atol=1e-6)
    check_lib_op(lambda lib, x: lib.matrix_exp(x.float()), a, device="cpu", rtol=1e-4,
                 atol=1e-4, grad=False)


def test_matrix_rank(device, rng):
    a = rng.standard_normal((2, 4, 2)) @ rng.standard_normal((2, 2, 5))
    g = gt.linalg.matrix_rank(to_gt(a, device))
    np.testing.assert_array_equal(to_np(g), torch.linalg.matrix_rank(torch.tensor(a)).numpy())
    assert g.dtype == gt.int64
    assert int(gt.linalg.matrix_rank(to_gt(np.eye(3), device), atol=2.0).sum()) == 0
    assert int(gt.linalg.matrix_rank(to_gt(np.eye(3), device), rtol=0.5)) == 3


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_singular_value_norms(device, rng, ord):
    a = rng.standard_normal((2, 3, 4))
    check_lib_op(lambda lib, x: lib.linalg.matrix_norm(x, ord), a, device=device)
    check_lib_op(lambda lib, x: lib.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=True), a,
                 device="cpu")
    check_lib_op(lambda lib, x: lib.linalg.norm(x[0], ord), a, device="cpu")


def test_dtypes_float32(rng):
    a = (rng.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.float32)
    for name in ("det", "inv", "svdvals", "pinv", "matrix_exp"):
        out = getattr(gt.linalg, name)(gt.tensor(a))
        assert out.dtype == gt.float32, name
    with pytest.raises(RuntimeError, match="Low precision dtypes not supported. Got Half"):
        gt.linalg.inv(gt.tensor(a).half())


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, float("inf")])
def test_cond(rng, p):
    a = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
    # torch's own backward fails for the norm-based p (it modifies inv_ex's output in place)
    check_lib_op(lambda lib, x: lib.linalg.cond(x, p), a, device="cpu", grad=p in (None, 2, -2))
    check_grad(lambda x: gt.linalg.cond(x, p), a, device="cpu")


def test_double_backward(rng):
    """Backwards are built from differentiable ops: second derivatives match finite ones."""
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    fns = [lambda x: gt.linalg.inv(x), lambda x: gt.linalg.det(x),
           lambda x: gt.linalg.slogdet(x).logabsdet,
           lambda x: gt.linalg.cholesky(_spd(gt, x)),
           lambda x: gt.linalg.solve(x, x.sum(0)),
           lambda x: gt.linalg.svdvals(x), lambda x: gt.linalg.eigvalsh(_sym(x)),
           lambda x: gt.linalg.qr(x).R, lambda x: gt.linalg.pinv(x[:2])]
    for f in fns:
        x = gt.tensor(a, requires_grad=True)
        assert gt.autograd.gradgradcheck(f, (x,), atol=1e-5, rtol=1e-3)


def test_solve_ex_tensorinv_tensorsolve_vander(rng):
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3))
    g = gt.linalg.solve_ex(gt.tensor(a), gt.tensor(b))
    np.testing.assert_allclose(to_np(g.result), torch.linalg.solve(torch.tensor(a),
                                                                   torch.tensor(b)).numpy())
    assert to_np(g.info).tolist() == [0, 0] and g.info.dtype == gt.int32
    z = gt.linalg.solve_ex(gt.zeros(2, 2), gt.ones(2))
    assert int(z.info) > 0
    t = rng.standard_normal((4, 6, 8, 3)) + 0.0
    check_lib_op(lambda lib, x: lib.linalg.tensorinv(x, ind=2), t, device="cpu")
    t2 = rng.standard_normal((2, 3, 6))
    check_lib_op(lambda lib, x, y: lib.linalg.tensorsolve(x, y), t2, rng.standard_normal((2, 3)),
                 device="cpu")
    t3 = rng.standard_normal((6, 2, 3))
    check_lib_op(lambda lib, x, y: lib.linalg.tensorsolve(x, y, dims=(0,)), t3,
                 rng.standard_normal((2, 3)), device="cpu")
    v = rng.standard_normal((2, 4))
    check_lib_op(lambda lib, x: lib.linalg.vander(x), v, device="cpu")
    check_lib_op(lambda lib, x: lib.linalg.vander(x, N=6), v, device="cpu")


@pytest.mark.filterwarnings("ignore:torch.lu_solve is deprecated")
@pytest.mark.parametrize("device,shape", device_cases([(3, 3), (2, 4, 4), (4, 3), (3, 5)],
                                                      cuda=[(3, 3)]))
def test_lu_family(device, rng, shape):
    a = rng.standard_normal(shape)
    g, t = gt.linalg.lu_factor(to_gt(a, device)), torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_allclose(to_np(g.LU), t.LU.numpy(), atol=1e-12)
    np.testing.assert_array_equal(to_np(g.pivots), t.pivots.numpy())
    assert g.pivots.dtype == gt.int32
    check_lib_op(lambda lib, x: tuple(lib.linalg.lu(x)[1:]), a, device="cpu",
                 grad=shape[-1] == shape[-2])
    P, L, U = gt.linalg.lu(to_gt(a, device))
    np.testing.assert_allclose(to_np(P @ L @ U), a, atol=1e-12)
    np.testing.assert_array_equal(to_np(P), torch.linalg.lu(torch.tensor(a)).P.numpy())
    if shape[-1] != shape[-2]:
        return
    b = rng.standard_normal(shape[:-1] + (2,))
    for kw in ({}, {"adjoint": True}, {"left": False}):
        bb = np.ascontiguousarray(b.swapaxes(-1, -2)) if kw.get("left") is False else b
        check_lib_op(lambda lib, x, y: lib.linalg.lu_solve(*lib.linalg.lu_factor(x), y, **kw),
                     a, bb, device=device if not kw else "cpu")
    check_lib_op(lambda lib, x, y: lib.lu_solve(y, *lib.linalg.lu_factor(x)), a, b,
                 device="cpu")
    lu_, piv = gt.lu(to_gt(a, device))
    P2, L2, U2 = gt.lu_unpack(lu_, piv)
    np.testing.assert_allclose(to_np(P2 @ L2 @ U2), a, atol=1e-12)


def test_lu_factor_singular():
    with pytest.raises(gt.linalg.LinAlgError, match=r"U\[2,2\] is zero"):
        gt.linalg.lu_factor(gt.tensor([[1.0, 2.0], [2.0, 4.0]]))
    ex = gt.linalg.lu_factor_ex(gt.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert int(ex.info) == int(torch.linalg.lu_factor_ex(torch.tensor([[1.0, 2.0],
                                                                       [2.0, 4.0]])).info)
