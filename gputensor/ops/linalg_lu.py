"""LU with partial pivoting: ``linalg.lu_factor(_ex) lu lu_unpack lu_solve`` and the legacy
``torch.lu lu_unpack lu_solve``. The factorization is LAPACK's getrf (scipy on NumPy arrays,
cupyx.scipy.linalg on CuPy arrays), one matrix at a time; pivots are 1-based int32 as torch's.
The packed factor is differentiable (square matrices), with torch's formula.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .linalg import matmul
from .linalg_decomp import _eye_like, _floating, solve_triangular
from .reduce import return_type

_LU_FACTOR = return_type("linalg_lu_factor", ["LU", "pivots"])
_LU_FACTOR_EX = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_PLU = return_type("linalg_lu", ["P", "L", "U"])
_UNPACK = return_type("lu_unpack", ["P", "L", "U"])


def _getrf(xp, a):
    """(packed LU, 1-based pivots, info) of every matrix of the batch ``a``."""
    flat = a.reshape((-1,) + a.shape[-2:])
    m, n = a.shape[-2:]
    lus, pivs, infos = [], [], []
    if xp is np:
        from scipy.linalg import lapack
        getrf = lapack.dgetrf if a.dtype == np.float64 else lapack.sgetrf
        for mat in flat:
            lu, piv, info = getrf(mat)
            lus.append(lu), pivs.append(piv + 1), infos.append(max(int(info), 0))
    else:  # CuPy: cuSOLVER getrf through cupyx
        from cupyx.scipy.linalg import lu_factor
        for mat in flat:
            lu, piv = lu_factor(mat, check_finite=False)
            lus.append(lu), pivs.append(piv + 1), infos.append(0)
    k = min(m, n)
    lu = xp.stack(lus).reshape(a.shape) if lus else xp.zeros(a.shape, a.dtype)
    piv = xp.stack([xp.asarray(p) for p in pivs]).reshape(a.shape[:-2] + (k,)) if pivs else \
        xp.zeros(a.shape[:-2] + (k,), np.int32)
    return lu.astype(a.dtype), piv.astype(np.int32), np.asarray(infos, np.int32).reshape(
        a.shape[:-2])


def _perm_matrix(xp, piv, m: int, dtype):
    """P with A = P L U from LAPACK's row swaps (row i <-> row piv[i] - 1, in order)."""
    p = np.asarray(piv.get() if hasattr(piv, "get") else piv).reshape(-1, piv.shape[-1]) - 1
    out = np.zeros((p.shape[0], m, m), dtype=dtype)
    for b, swaps in enumerate(p):
        perm = np.arange(m)
        for i, j in enumerate(swaps):
            perm[i], perm[j] = perm[j], perm[i]
        out[b, perm, np.arange(m)] = 1
    return xp.asarray(out.reshape(piv.shape[:-1] + (m, m)))


class LUFactor(Function):
    @staticmethod
    def forward(ctx, A):
        xp = A._backend.xp
        lu, piv, info = _getrf(xp, A._data)
        LU = wrap(lu, A)
        ctx.piv = piv
        ctx.save_for_backward(LU)
        return LU, wrap(xp.asarray(piv), A), wrap(xp.asarray(info), A)

    @staticmethod
    def backward(ctx, gLU, _gp=None, _gi=None):
        """Square A = P L U: gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T."""
        (LU,) = ctx.saved_tensors
        m, n = LU.shape[-2:]
        if m != n:
            raise NotImplementedError("linalg.lu_factor: the derivative is implemented for "
                                      "square matrices only in gputensor")
        eye = _eye_like(LU)
        L, U = LU.tril(-1) + eye, LU.triu()
        gL, gU = gLU.tril(-1), gLU.triu()
        phi = matmul(L.mT, gL).tril(-1) + matmul(gU, U.mT).triu()
        X = solve_triangular(L.mT, phi, upper=True, unitriangular=True)
        X = solve_triangular(U.mT, X, upper=False, left=False)
        P = wrap(_perm_matrix(LU._backend.xp, ctx.piv, m, LU._data.dtype), LU)
        return matmul(P, X)


def _check(A: Tensor, name: str) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _floating(A, name)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False):
    _check(A, "linalg.lu_factor_ex")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, piv, info = LUFactor.apply(A)
    if check_errors and bool((info._data != 0).any()):
        raise _singular("linalg.lu_factor_ex", info)
    return _LU_FACTOR_EX(LU, piv, info)


def _singular(name: str, info: Tensor):
    from .linalg_decomp import LinAlgError
    flat = np.asarray(info._data.get() if hasattr(info._data, "get") else info._data).reshape(-1)
    b = int(np.nonzero(flat)[0][0])
    where = f"(Batch element {b}): " if info.ndim else ""
    return LinAlgError(f"{name}: {where}U[{flat[b]},{flat[b]}] is zero and using it on "
                       f"lu_solve would result in a division by zero. If you still want to "
                       f"perform the factorization, consider calling linalg.lu(A, pivot) or "
                       f"linalg.lu_factor_ex(A, pivot)")


def lu_factor(A: Tensor, *, pivot: bool = True):
    """(LU, pivots): L below the diagonal (unit diagonal implied), U on and above it."""
    _check(A, "linalg.lu_factor")
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    if bool((info._data != 0).any()):
        raise _singular("torch.linalg.lu_factor", info)
    return _LU_FACTOR(LU, piv)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True):
    """(P, L, U) from a packed factorization; differentiable in LU_data."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    xp = LU_data._backend.xp
    P = wrap(_perm_matrix(xp, LU_pivots._data, m, LU_data._data.dtype), LU_data)
    eye = wrap(xp.eye(m, k, dtype=LU_data._data.dtype), LU_data)
    L = LU_data[..., :, :k].tril(-1) + eye
    U = LU_data[..., :k, :].triu()
    return _UNPACK(P, L, U)


def lu(A: Tensor, *, pivot: bool = True):
    """A = P L U with partial pivoting."""
    _check(A, "linalg.lu")
    LU, piv, _ = lu_factor_ex(A, pivot=pivot)
    return _PLU(*lu_unpack(LU, piv))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """Solve A X = B (X A = B when not ``left``; with A^T when ``adjoint``) from lu_factor."""
    P, L, U = lu_unpack(LU, pivots)
    if not left:
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    if adjoint:  # A^T = U^T L^T P^T
        Y = solve_triangular(U.mT, B, upper=False)
        Y = solve_triangular(L.mT, Y, upper=True, unitriangular=True)
        return matmul(P, Y)
    Y = solve_triangular(L, matmul(P.mT, B), upper=False, unitriangular=True)
    return solve_triangular(U, Y, upper=True)


def legacy_lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """torch.lu: (LU, pivots) or (LU, pivots, infos)."""
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    return (LU, piv, info) if get_infos else (LU, piv)


def legacy_lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    return lu_solve(LU_data, LU_pivots, b)


Tensor.lu = legacy_lu
Tensor.lu_solve = legacy_lu_solve
__all__ = ["lu_unpack"]
