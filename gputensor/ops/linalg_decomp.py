"""Matrix decompositions and solvers (``torch.linalg``'s det, inv, solve, cholesky, qr, svd,
eigh, pinv ...), batched over leading dims. Forwards call the backend's ``xp.linalg`` (LAPACK
through NumPy on cpu and the simulator, cuSOLVER through CuPy on a GPU); backwards are torch's
formulas written with differentiable tensor ops, so double backward works.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .linalg import matmul, scalar_name
from .reduce import return_type


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a decomposition failed (singular or not positive-definite)."""

    __module__ = "gputensor.linalg"


_RT = {n: return_type(n, f) for n, f in (
    ("linalg_slogdet", ["sign", "logabsdet"]), ("slogdet", ["sign", "logabsdet"]),
    ("linalg_inv_ex", ["inverse", "info"]), ("linalg_cholesky_ex", ["L", "info"]),
    ("linalg_qr", ["Q", "R"]), ("qr", ["Q", "R"]), ("linalg_svd", ["U", "S", "Vh"]),
    ("svd", ["U", "S", "V"]), ("linalg_eigh", ["eigenvalues", "eigenvectors"]),
    ("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"]),
    ("triangular_solve", ["solution", "cloned_coefficient"]))}


# -- checks and error reporting ---------------------------------------------------------------

def _square(A: Tensor, name: str, float_only: bool = True) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    _floating(A, name)


def _floating(A: Tensor, name: str) -> None:
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {scalar_name(A)}")
    if A._data.dtype.itemsize < 4:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {scalar_name(A)}")


def _raising(xp):
    """Make CuPy raise numpy.linalg.LinAlgError on failed factorizations, as NumPy does."""
    if xp is np:
        return contextlib.nullcontext()
    import cupyx
    return cupyx.errstate(linalg="raise")


def _host(a) -> np.ndarray:
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _first_failure(a, lapack_fn: str):
    """(batch index, LAPACK info) of the first matrix whose factorization fails."""
    from scipy.linalg import lapack
    h = _host(a).astype(np.float64)
    flat = h.reshape((-1,) + h.shape[-2:])
    fn = getattr(lapack, lapack_fn)
    for i, m in enumerate(flat):
        info = fn(m, lower=1)[-1] if lapack_fn == "dpotrf" else fn(m)[-1]
        if info > 0:
            return i, int(info)
    return 0, 1


def _fail(a, name: str, kind: str):
    """torch's LinAlgError for a singular (kind='lu') or non-PD (kind='chol') batch of ``a``."""
    i, info = _first_failure(a, "dpotrf" if kind == "chol" else "dgetrf")
    where = f"(Batch element {i}): " if a.ndim > 2 else ""
    if kind == "chol":
        msg = (f"The factorization could not be completed because the input is not "
               f"positive-definite (the leading minor of order {info} is not positive-definite).")
    else:
        msg = (f"The diagonal element {info} is zero, the inversion could not be completed "
               f"because the input matrix is singular.")
    return LinAlgError(f"{name}: {where}{msg}")


def _eye_like(A: Tensor) -> Tensor:
    xp = A._backend.xp
    n = A.shape[-1]
    return wrap(xp.broadcast_to(xp.eye(n, dtype=A._data.dtype), A._data.shape).copy(), A)


def _diag(v: Tensor) -> Tensor:
    return v.diag_embed()


# -- determinants -----------------------------------------------------------------------------

class Slogdet(Function):
    @staticmethod
    def forward(ctx, A):
        xp = A._backend.xp
        sign, logabs = xp.linalg.slogdet(A._data)
        dtp = A._data.dtype
        s, la = wrap(xp.asarray(sign, dtype=dtp), A), wrap(xp.asarray(logabs, dtype=dtp), A)
        ctx.mark_non_differentiable(s)
        ctx.save_for_backward(A)
        return s, la

    @staticmethod
    def backward(ctx, gs, gl):
        (A,) = ctx.saved_tensors
        return gl[..., None, None] * inverse(A).mT


class Det(Function):
    @staticmethod
    def forward(ctx, A):
        xp = A._backend.xp
        out = wrap(xp.asarray(xp.linalg.det(A._data), dtype=A._data.dtype), A)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        """d det / dA = adj(A)^T: det * A^-T where every A is invertible, else (as torch)
        from the SVD, adj(A)^T = det(U) det(V) U diag(prod_{j != i} s_j) V^T."""
        A, out = ctx.saved_tensors
        if bool((out._data != 0).all()):
            return (g * out)[..., None, None] * inverse(A).mT
        from .linalg_spectral import svd
        U, S, Vh = svd(A, full_matrices=False)
        xp = A._backend.xp
        sign = xp.linalg.det(U._data) * xp.linalg.det(Vh._data)
        eye = _eye_like(A)
        others = (S.unsqueeze(-2) * (1 - eye) + eye).prod(-1)  # prod_{j != i} s_j
        scale = g * wrap(xp.asarray(sign, dtype=A._data.dtype), A)
        return scale[..., None, None] * matmul(U * others.unsqueeze(-2), Vh)


def det(A: Tensor) -> Tensor:
    _square(A, "linalg.det")
    return Det.apply(A)


def slogdet(A: Tensor):
    _square(A, "linalg.slogdet")
    return _RT["linalg_slogdet"](*Slogdet.apply(A))


def logdet(input: Tensor) -> Tensor:
    """log det(A): nan where det < 0, -inf where det == 0 (torch's convention)."""
    _square(input, "linalg.logdet")
    s, la = Slogdet.apply(input)
    from .pointwise import where
    return where(s < 0, float("nan"), la)


# -- inverse and solves -----------------------------------------------------------------------

class Inverse(Function):
    @staticmethod
    def forward(ctx, A, name):
        xp = A._backend.xp
        try:
            with _raising(xp):
                out = xp.linalg.inv(A._data)
        except np.linalg.LinAlgError:
            raise _fail(A._data, name, "lu") from None
        out = wrap(out.astype(A._data.dtype, copy=False), A)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g, _=None):
        (Ai,) = ctx.saved_tensors
        return -matmul(matmul(Ai.mT, g), Ai.mT), None


def inverse(input: Tensor) -> Tensor:
    _square(input, "linalg.inv")
    return Inverse.apply(input, "linalg.inv")


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """(inverse, info): info is 0, or the LAPACK pivot index for a singular matrix."""
    _square(A, "linalg.inv_ex")
    xp = A._backend.xp
    try:
        out = Inverse.apply(A, "linalg.inv_ex")
        info = xp.zeros(A._data.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = xp.asarray(_batch_info(A._data, "dgetrf"), dtype=np.int32)
        out = _masked(A, info, lambda M: Inverse.apply(M, "linalg.inv_ex"), float("nan"))
    return _RT["linalg_inv_ex"](out, wrap(info, A))


def _masked(A: Tensor, info, fn, fill: float) -> Tensor:
    """``fn`` of the batch elements whose info is 0 (the failed ones replaced by the identity
    for the call, then filled with ``fill``), so good elements keep their gradient."""
    from .pointwise import where
    bad = wrap((info != 0)[..., None, None], A)
    out = fn(where(bad, _eye_like(A), A))
    return where(bad, fill, out)


def _batch_info(a, lapack_fn: str) -> np.ndarray:
    from scipy.linalg import lapack
    h = _host(a).astype(np.float64)
    flat = h.reshape((-1,) + h.shape[-2:])
    fn = getattr(lapack, lapack_fn)
    infos = [max(0, (fn(m, lower=1) if lapack_fn == "dpotrf" else fn(m))[-1]) for m in flat]
    return np.asarray(infos, dtype=np.int32).reshape(h.shape[:-2])


class Solve(Function):
    """X = A^-1 B for matrices B (same batch shape as A)."""

    @staticmethod
    def forward(ctx, A, B):
        xp = A._backend.xp
        try:
            with _raising(xp):
                out = xp.linalg.solve(A._data, B._data)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix "
                              "is singular.") from None
        out = wrap(out.astype(A._data.dtype, copy=False), A)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = Solve.apply(A.mT, g)
        gA = -matmul(gB, X.mT) if ctx.needs_input_grad[0] else None
        return gA, gB if ctx.needs_input_grad[1] else None


def _batch_expand(A: Tensor, B: Tensor):
    batch = tuple(np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2])))
    return (A.expand(batch + tuple(A.shape[-2:])), B.expand(batch + tuple(B.shape[-2:])))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Solve AX = B (XA = B when not ``left``); B may be a vector (or a batch of vectors)."""
    _square(A, "linalg.solve")
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {scalar_name(A)} and B of type {scalar_name(B)} instead")
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = "
                           f"B ({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    A2, B2 = _batch_expand(A, Bm)
    X = Solve.apply(A2, B2)
    return X.squeeze(-1) if vector else X


def _tri(A: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    T = A.triu() if upper else A.tril()
    if unitriangular:
        eye = _eye_like(T)
        T = T * (1 - eye) + eye
    return T


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """Solve with the triangle of A (the other entries are ignored, as torch)."""
    _square(A, "linalg.solve_triangular")
    T = _tri(A, upper, unitriangular)
    if not left:
        return solve_triangular(T.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    A2, B2 = _batch_expand(T, B)
    return Solve.apply(A2, B2)


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """Legacy torch.triangular_solve(b, A): (solution, cloned_coefficient)."""
    T = _tri(A, upper, unitriangular)
    X = solve_triangular(T.mT if transpose else T, input, upper=upper != transpose)
    return _RT["triangular_solve"](X, A.clone())


# -- cholesky ---------------------------------------------------------------------------------

class Cholesky(Function):
    @staticmethod
    def forward(ctx, A, name):
        xp = A._backend.xp
        try:
            with _raising(xp):
                L = xp.linalg.cholesky(A._data)
        except np.linalg.LinAlgError:
            raise _fail(A._data, name, "chol") from None
        L = wrap(L.astype(A._data.dtype, copy=False), A)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL, _=None):
        """Murray (2016): S = L^-T Phi(L^T gL) L^-1, gA = (S + S^T) / 2, Phi = tril with the
        diagonal halved (torch's symmetric gradient)."""
        (L,) = ctx.saved_tensors
        P = matmul(L.mT, gL.tril())
        P = P.tril(-1) + 0.5 * P.diagonal(0, -2, -1).diag_embed()
        Linv = Inverse.apply(L, "linalg.cholesky")
        S = matmul(matmul(Linv.mT, P), Linv)
        return 0.5 * (S + S.mT), None


def cholesky(A: Tensor, upper: bool = False) -> Tensor:
    name = "linalg.cholesky"
    _square(A, name)
    L = Cholesky.apply(A, name)
    return L.mT if upper else L


def linalg_cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    return cholesky(A, upper)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    _square(A, "linalg.cholesky_ex")
    xp = A._backend.xp
    try:
        L = cholesky(A, upper)
        info = xp.zeros(A._data.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = xp.asarray(_batch_info(A._data, "dpotrf"), dtype=np.int32)
        L = _masked(A, info, lambda M: cholesky(M, upper), 0.0)
    return _RT["linalg_cholesky_ex"](L, wrap(info, A))


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """Solve A X = B given A's Cholesky factor ``input2`` (torch.cholesky_solve(B, L))."""
    L = input2.mT if upper else input2
    Y = solve_triangular(L, input, upper=False)
    return solve_triangular(L.mT, Y, upper=True)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    L = input.mT if upper else input
    return cholesky_solve(_eye_like(L), L)


# -- qr ---------------------------------------------------------------------------------------

class QR(Function):
    @staticmethod
    def forward(ctx, A, mode):
        xp = A._backend.xp
        dtp = A._data.dtype
        q, r = xp.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
        Q, R = wrap(q.astype(dtp, copy=False), A), wrap(r.astype(dtp, copy=False), A)
        ctx.mode = mode
        ctx.save_for_backward(A, Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        A, Q, R = ctx.saved_tensors
        m, n = A.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        return _qr_backward(gQ, gR, Q, R, m, n), None


def _copyltu(M: Tensor) -> Tensor:
    return M.tril(-1) + M.tril(-1).mT + M.diagonal(0, -2, -1).diag_embed()


def _qr_backward(gQ, gR, Q, R, m, n):
    """Walter & Lehmann / Liao et al.: for m >= n, gA = (gQ + Q copyltu(M)) R^-T with
    M = R gR^T - gQ^T Q; for m < n, split A = [X | Y] with X square."""
    if m >= n:
        M = matmul(R, gR.mT) - matmul(gQ.mT, Q)
        B = gQ + matmul(Q, _copyltu(M))
        return solve_triangular(R.mT, B, upper=False, left=False)  # B R^-T
    X_R, Y_R = R[..., :, :m], R[..., :, m:]
    gU, gV = gR[..., :, :m], gR[..., :, m:]
    Y = matmul(Q, Y_R)
    gX = _qr_backward(gQ + matmul(Y, gV.mT), gU, Q, X_R, m, m)
    from .join_split import cat
    return cat([gX, matmul(Q, gV)], -1)


def qr(A: Tensor, mode: str = "reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    if A.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _floating(A, "linalg.qr")
    Q, R = QR.apply(A, mode)
    if mode == "r":
        Q = wrap(A._backend.xp.zeros((0,), dtype=A._data.dtype), A)
    return _RT["linalg_qr"](Q, R)


def legacy_qr(input: Tensor, some: bool = True):
    return _RT["qr"](*qr(input, "reduced" if some else "complete"))


# Tensor methods torch has
for _name, _fn in (("det", det), ("slogdet", slogdet), ("logdet", logdet),
                   ("inverse", inverse), ("cholesky", cholesky), ("qr", legacy_qr),
                   ("cholesky_solve", cholesky_solve),
                   ("cholesky_inverse", cholesky_inverse), ("triangular_solve", triangular_solve)):
    setattr(Tensor, _name, _fn)

# torch.qr / torch.svd are the legacy forms (``some=``, V rather than Vh)
__all__ = ["det", "slogdet", "logdet", "inverse", "cholesky", "cholesky_solve",
           "cholesky_inverse", "triangular_solve"]  # LinAlgError: gputensor.linalg only
