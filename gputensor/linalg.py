"""``torch.linalg``: norms, products and the cross product built on gputensor's differentiable
ops, and the decompositions and solvers of ``ops.linalg_decomp``. (Non-symmetric ``eig`` is not
provided: it needs complex dtypes.)"""
from __future__ import annotations

import math

from .ops.einsum import einsum
from .ops.linalg import linalg_cross, matmul, scalar_name
from .ops.reduce import amax, amin
from .ops.reduce_stats import norm as _norm
from .ops.linalg_decomp import (LinAlgError, cholesky_ex, det, inv_ex,  # noqa: F401
                                linalg_cholesky as cholesky, qr, slogdet, solve,
                                solve_triangular, inverse as inv)
from .ops.linalg_lu import lu, lu_factor, lu_factor_ex, lu_solve  # noqa: F401
from .ops.linalg_spectral import (eigh, eigvalsh, lstsq, matrix_exp, matrix_power,  # noqa: F401
                                  matrix_rank, pinv, svd, svdvals)
from .ops.reduce import return_type
from .tensor import Tensor, _wrap_dim

_SOLVE_EX = return_type("linalg_solve_ex", ["result", "info"])


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements by default); ord may be +-inf or 0."""
    if dtype is not None:
        x = x.to(dtype)
    if not x.is_floating_point():
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {scalar_name(x)}")
    if isinstance(dim, int):
        dim = (dim,)
    dim = tuple(range(x.ndim)) if dim is None else tuple(dim)
    if isinstance(ord, (int, float)) and ord < 0 and ord != -math.inf:
        return (x.abs() ** ord).sum(dim, keepdim) ** (1.0 / ord)
    return _norm(x, ord, dim, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """'fro', 1, -1, inf and -inf matrix norms over the two dims ``dim``."""
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    d0, d1 = (_wrap_dim(d, A.ndim) for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(inner, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, outer, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    if ord in (2, -2, "nuc"):
        perm = [i for i in range(A.ndim) if i not in (d0, d1)] + [d0, d1]
        s = svdvals(A.permute(perm))
        out = s.sum(-1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """vector_norm or matrix_norm as torch.linalg.norm picks them from ``ord`` and ``dim``."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or (dim is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, "fro" if ord is None else ord, dim or (-2, -1), keepdim,
                           dtype=dtype)
    if ord is not None and dim is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def cond(A: Tensor, p=None) -> Tensor:
    """Condition number: sigma_max / sigma_min for p = None, 2 (inverted for -2), else
    ||A||_p ||A^-1||_p."""
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = amax(s, -1), amin(s, -1)
        return big / small if p != -2 else small / big
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """(result, info): info > 0 where A is singular (the result is then nan)."""
    xp = A._backend.xp
    try:
        out = solve(A, B, left=left)
        return _SOLVE_EX(out, Tensor._make(xp.zeros(A.shape[:-2], dtype="int32"), A._device))
    except LinAlgError:
        if check_errors:
            raise
    info = inv_ex(A).info
    eye = A.new_ones(A.shape[-1:]).diag_embed()
    A_ok = A * (info == 0)[..., None, None].to(A.dtype) + eye * (info != 0)[..., None, None].to(
        A.dtype)
    out = solve(A_ok, B, left=left)
    mask = (info != 0).reshape(tuple(info.shape) + (1,) * (out.ndim - info.ndim))
    return _SOLVE_EX(out.masked_fill(mask, float("nan")), info)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A seen as a map from its first ``ind`` dims to the rest."""
    out_shape, in_shape = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows = math.prod(out_shape)
    if rows != math.prod(in_shape):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(in_shape)} != {rows}")
    return inv(A.reshape(rows, -1)).reshape(in_shape + out_shape)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B; ``dims`` of A are moved to the end first."""
    if dims is not None:
        rest = [d for d in range(A.ndim) if d not in [d % A.ndim for d in dims]]
        A = A.permute(rest + [d % A.ndim for d in dims])
    x_shape = tuple(A.shape[B.ndim:])
    return solve(A.reshape(B.numel(), -1), B.reshape(-1)).reshape(x_shape)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, unlike NumPy's default)."""
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    from .ops.scan import cumprod
    ones = x.unsqueeze(-1).new_ones(tuple(x.shape) + (1,))
    pows = x.unsqueeze(-1).expand(tuple(x.shape) + (n - 1,))
    from .ops.join_split import cat
    return cumprod(cat([ones, pows], -1), -1)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    return linalg_cross(input, other, dim=dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    return (x * y).sum(dim)


def multi_dot(tensors) -> Tensor:
    """A chain of matrix products (first/last may be 1-d), in opt_einsum's cheapest order."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    letters = [chr(ord("a") + i) for i in range(len(ts) + 1)]
    terms = [letters[i] + letters[i + 1] for i in range(len(ts))]
    if ts[0].ndim == 1:
        terms[0] = terms[0][1]
    if ts[-1].ndim == 1:
        terms[-1] = terms[-1][0]
    out = (terms[0][0] if ts[0].ndim == 2 else "") + (terms[-1][-1] if ts[-1].ndim == 2 else "")
    return einsum(",".join(terms) + "->" + out, *ts)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return A.diagonal(offset, dim1, dim2)


__all__ = ["vector_norm", "matrix_norm", "norm", "cross", "vecdot", "multi_dot", "diagonal",
           "matmul", "LinAlgError", "det", "slogdet", "inv", "inv_ex", "solve", "cholesky",
           "cholesky_ex", "qr", "svd", "svdvals", "eigh", "eigvalsh", "lstsq", "pinv",
           "matrix_power", "matrix_exp", "matrix_rank", "solve_triangular", "cond", "solve_ex",
           "tensorinv", "tensorsolve", "vander", "lu", "lu_factor", "lu_factor_ex", "lu_solve"]
