"""Spectral decompositions and what is built on them: svd, svdvals, eigh, eigvalsh, pinv,
lstsq, matrix_rank, plus matrix_power and matrix_exp. Forwards call ``xp.linalg``; backwards are
torch's formulas (gauge-invariant losses only for svd/eigh) in differentiable tensor ops.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .linalg import matmul
from .linalg_decomp import _RT, _diag, _eye_like, _floating, _square, inverse


# -- svd and eigh -----------------------------------------------------------------------------

class SVD(Function):
    @staticmethod
    def forward(ctx, A, full_matrices):
        xp = A._backend.xp
        dtp = A._data.dtype
        u, s, vh = xp.linalg.svd(A._data, full_matrices=full_matrices)
        U, S, Vh = (wrap(a.astype(dtp, copy=False), A) for a in (u, s, vh))
        ctx.full = full_matrices
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        """torch's svd_backward (real case); gauge-invariant losses only."""
        U, S, Vh = ctx.saved_tensors
        m, n = U.shape[-2], Vh.shape[-1]
        k = S.shape[-1]
        if ctx.full:  # torch: the extra columns of U / rows of Vh get no gradient
            U, gU, Vh, gVh = U[..., :k], gU[..., :k], Vh[..., :k, :], gVh[..., :k, :]
        V, gV = Vh.mT, gVh.mT
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
        eye = _eye_like(E)
        E = E + eye
        UhgU, VhgV = matmul(U.mT, gU), matmul(Vh, gV)
        inner = ((UhgU - UhgU.mT) * S.unsqueeze(-2) + S.unsqueeze(-1) * (VhgV - VhgV.mT)) / E
        inner = inner * (1 - eye) + _diag(gS)
        gA = matmul(matmul(U, inner), Vh)
        if m > k:
            gUS = gU / S.unsqueeze(-2)
            gA = gA + matmul(gUS - matmul(U, matmul(U.mT, gUS)), Vh)
        if n > k:
            gVS = gV / S.unsqueeze(-2)
            gA = gA + matmul(U, (gVS - matmul(V, matmul(V.mT, gVS))).mT)
        return gA, None


def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.svd")
    return _RT["linalg_svd"](*SVD.apply(A, full_matrices))


def legacy_svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """torch.svd: (U, S, V) with V (not V^H), reduced by default."""
    U, S, Vh = svd(input, full_matrices=not some)
    if not compute_uv:
        return _RT["svd"](U.detach() * 0, S, Vh.detach().mT * 0)
    return _RT["svd"](U, S, Vh.mT)


def svdvals(A: Tensor, *, driver=None) -> Tensor:
    if A.ndim < 2:
        raise RuntimeError("linalg.svdvals: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.svdvals")
    return SVD.apply(A, False)[1]


class Eigh(Function):
    @staticmethod
    def forward(ctx, A, UPLO):
        xp = A._backend.xp
        dtp = A._data.dtype
        w, v = xp.linalg.eigh(A._data, UPLO=UPLO)
        L, Q = wrap(w.astype(dtp, copy=False), A), wrap(v.astype(dtp, copy=False), A)
        ctx.save_for_backward(L, Q)
        return L, Q

    @staticmethod
    def backward(ctx, gL, gQ):
        """gA = Q (diag(gL) + sym-part of (Q^T gQ) / (L_j - L_i)) Q^T, as torch."""
        L, Q = ctx.saved_tensors
        E = L.unsqueeze(-2) - L.unsqueeze(-1)
        eye = _eye_like(E)
        QtgQ = matmul(Q.mT, gQ)
        inner = (0.5 * (QtgQ - QtgQ.mT)) / (E + eye) * (1 - eye)
        inner = inner + _diag(gL)
        gA = matmul(matmul(Q, inner), Q.mT)
        return gA, None


def eigh(A: Tensor, UPLO: str = "L"):
    _square(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _RT["linalg_eigh"](*Eigh.apply(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    return eigh(A, UPLO).eigenvalues


# -- pinv, lstsq, powers, exp, rank -------------------------------------------------------------

class Pinv(Function):
    @staticmethod
    def forward(ctx, A, rtol, hermitian):
        xp = A._backend.xp
        out = xp.linalg.pinv(A._data, rcond=rtol, hermitian=hermitian) if xp is np else \
            xp.linalg.pinv(A._data, rcond=rtol)
        out = wrap(out.astype(A._data.dtype, copy=False), A)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """torch's pinv_backward."""
        A, P = ctx.saved_tensors
        m, n = A.shape[-2:]
        Ph, gh = P.mT, g.mT
        if m <= n:
            K = matmul(gh, P)
            KPh = matmul(K, Ph)
            gA = (-matmul(P, K).mT + KPh - matmul(matmul(A, P), KPh)
                  + matmul(matmul(Ph, P), gh - matmul(K, A)))
        else:
            K = matmul(P, gh)
            PhK = matmul(Ph, K)
            gA = (-matmul(K, P).mT + matmul(matmul(gh - matmul(A, K), P), Ph) + PhK
                  - matmul(matmul(PhK, P), A))
        return gA, None, None


def _default_rtol(A: Tensor) -> float:
    return float(np.finfo(A._data.dtype).eps) * max(A.shape[-2:])


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    if A.ndim < 2:
        raise RuntimeError("linalg.pinv: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.pinv")
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol is not supported by gputensor; use rtol")
    return Pinv.apply(A, _default_rtol(A) if rtol is None else float(rtol), hermitian)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    _floating(input, "pinverse")
    return Pinv.apply(input, rcond, False)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least squares (min-norm) via the pseudo-inverse; rank as gelsy reports it; residuals and
    singular_values empty, as torch's default cpu driver returns them."""
    _floating(A, "linalg.lstsq")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    X = matmul(pinv(A), Bm)
    X = X.squeeze(-1) if vector else X
    xp = A._backend.xp
    empty = wrap(xp.zeros((0,), dtype=A._data.dtype), A)
    return _RT["linalg_lstsq"](X, empty, matrix_rank(A.detach()), empty.clone())


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring (differentiable through matmul); n < 0 inverts first."""
    _square(A, "linalg.matrix_power", float_only=False)
    if n == 0:
        return _eye_like(A) + A * 0
    if n < 0:
        A, n = inverse(A), -n
    out, base = None, A
    while n:
        if n & 1:
            out = base if out is None else matmul(out, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return out


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) by scaling and squaring with a degree-18 Taylor polynomial in differentiable
    matmuls (its gradient is the exact Frechet adjoint up to rounding)."""
    _square(A, "linalg.matrix_exp")
    xp = A._backend.xp
    with np.errstate(all="ignore"):
        nrm = float(xp.abs(A._data).sum(-2).max()) if A.numel() else 0.0
    s = max(0, int(np.ceil(np.log2(nrm))) + 1) if nrm > 0 and np.isfinite(nrm) else 0
    X = A / (2.0 ** s)
    eye = _eye_like(A)
    out, term = eye + X, X
    for k in range(2, 19):
        term = matmul(term, X) / k
        out = out + term
    for _ in range(s):
        out = matmul(out, out)
    return out


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None) -> Tensor:
    """Number of singular values above max(atol, rtol * largest); int64."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_rank: The input tensor A must have at least 2 "
                           "dimensions.")
    _floating(A, "linalg.matrix_rank")
    xp = A._backend.xp
    s = xp.linalg.svd(A._data, compute_uv=False)
    smax = s.max(-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
    if tol is not None:
        atol = tol
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else _default_rtol(A)
    thr = xp.maximum(atol or 0.0, rtol * smax)
    return wrap((s > thr).sum(-1).astype(np.int64), A)


for _name, _fn in (("svd", "legacy_svd"), ("pinverse", "pinverse"),
                   ("matrix_power", "matrix_power"), ("matrix_exp", "matrix_exp")):
    setattr(Tensor, _name, globals()[_fn])

__all__ = ["pinverse", "matrix_power", "matrix_exp"]
