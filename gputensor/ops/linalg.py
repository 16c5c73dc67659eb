"""Matrix products. The work is done by the backend's ``matmul`` kernel entry (BLAS on cpu, the
hand-written tiled kernel on cuda); integer products use the array library's matmul (the
kernel is floating-point only). Shape and dtype errors follow torch's wording, which depends on
the path torch takes (dot, mv, mm or bmm), so each is checked where torch checks it."""
from __future__ import annotations

import math

from ..autograd import function as _function
from ..autograd.function import Function
from ..backends import _backends
from ..tensor import Tensor, _wrap_dim, tensor_method
from ._util import named, unbroadcast, wrap

# torch's two spellings of a dtype in error messages: ScalarType names and C++ type names
_SCALAR = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
           "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool"}
_CTYPE = {"float32": "float", "float64": "double", "float16": "c10::Half",
          "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
          "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def scalar_name(t: Tensor) -> str:
    return _SCALAR.get(t._data.dtype.name, t._data.dtype.name)


def same_dtype(expected: Tensor, found: Tensor) -> None:
    """torch's generic "expected scalar type X but found Y" check."""
    if expected._data.dtype != found._data.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(expected)} but found "
                           f"{scalar_name(found)}")


def broadcast_batch(sa: tuple, sb: tuple) -> tuple:
    """Broadcast two shapes with torch's message (it names the output dim, scanning from the
    right)."""
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        x, y = pa[i], pb[i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {i}")
        out[i] = y if x == 1 else x
    return tuple(out)


def _matmul_lean(a, b):
    dev = a._device
    be = _backends[dev.type]
    x, y = a._data, b._data
    return Tensor._make(be.kernels.matmul(x, y) if x.dtype.kind == "f" else be.xp.matmul(x, y),
                        dev)


class Matmul(Function):
    """Batched matmul of operands with ndim >= 2 (batch dims broadcast)."""

    _lean = staticmethod(_matmul_lean)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _matmul_lean(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        if not _function._state.enabled and a._data.ndim == 2 and b._data.ndim == 2:
            return _mm_grads(g, a, b, n)  # no create_graph: straight on the arrays
        ga = unbroadcast(Matmul.apply(g, b.mT), a.shape) if n[0] else None
        gb = unbroadcast(Matmul.apply(a.mT, g), b.shape) if n[1] else None
        return ga, gb


def _mm_grads(g, a, b, needs) -> tuple:
    """Matrix gradients g @ b.T and a.T @ g of a 2-D product, not differentiable."""
    dev = g._device
    mm = _backends[dev.type].kernels.matmul
    quiet = _function._quiet_enter()
    try:
        ga = Tensor._make(mm(g._data, b._data.T), dev) if needs[0] else None
        gb = Tensor._make(mm(a._data.T, g._data), dev) if needs[1] else None
    finally:
        _function._quiet_exit(quiet)
    return ga, gb


def _need_tensor(x, fn: str, arg: str, pos: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _mm_checks(a: Tensor, b: Tensor, rows_a: int) -> None:
    """torch's mm checks: equal dtypes, then (rows_a x k) @ (k2 x n) with k == k2."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CTYPE[a._data.dtype.name]} != {_CTYPE[b._data.dtype.name]}")
    if a._data.shape[-1] != b._data.shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows_a}x{a.shape[-1]} "
                           f"and {b.shape[-2]}x{b.shape[-1]})")


def _mv_checks(m: Tensor, v: Tensor) -> None:
    if m._data.dtype != v._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{scalar_name(v)}, {scalar_name(m)}, and {scalar_name(v)}")
    rows = math.prod(m.shape[:-1])
    if m.shape[-1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{m.shape[-1]}), "
                           f"vec ({v.shape[0]})")


def _dot_checks(a: Tensor, b: Tensor) -> None:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{scalar_name(a)} and {scalar_name(b)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")


def _bmm_checks(a: Tensor, b: Tensor, batch_a: int, batch_b: int) -> None:
    ka, kb = a.shape[-1], b.shape[-2]
    if ka != kb or batch_a != batch_b:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch_a}, {ka}] but got: [{batch_b}, {kb}].")
    same_dtype(a, b)


# The same product, named as torch's graph nodes are (``grad_fn=<MmBackward0>``).
class Mm(Matmul):
    _torch_name = "MmBackward0"


class Bmm(Matmul):
    _torch_name = "BmmBackward0"


class UnsafeViewMatmul(Matmul):  # torch folds (..., m, k) @ (k, n) into one mm and views it
    _torch_name = "UnsafeViewBackward0"


@tensor_method(names=("__matmul__",))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """torch.matmul: dot, mv, mm or broadcast bmm by the operands' ranks."""
    if not isinstance(input, Tensor):
        _need_tensor(input, "matmul", "input", 1)
    if not isinstance(other, Tensor):
        _need_tensor(other, "matmul", "other", 2)
    if input.is_sparse or other.is_sparse:  # sparse COO operand: scipy/cupyx product
        from .sparse_math import sparse_matmul
        return sparse_matmul(input, other)
    na, nb = input._data.ndim, other._data.ndim
    if nb == 2 and na == 2:  # the common mm, its checks inlined
        if input._data.dtype != other._data.dtype or \
                input._data.shape[1] != other._data.shape[0]:
            _mm_checks(input, other, input._data.shape[0])
        return Mm.apply(input, other)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    if na == 1 and nb == 1:
        return dot(input, other)
    if nb == 1:  # (..., m, k) @ (k,): torch folds the batch into mv
        _mv_checks(input, other)
        return Matmul.apply(input, other.reshape(-1, 1)).squeeze(-1)
    if nb == 2 and na <= 2:
        _mm_checks(input, other, 1 if na == 1 else input.shape[0])
        if na == 1:
            return Matmul.apply(input.reshape(1, -1), other).squeeze(0)
        return Mm.apply(input, other)
    if nb == 2:  # (..., m, k) @ (k, n): folded into one mm
        _mm_checks(input, other, math.prod(input.shape[:-1]))
        return UnsafeViewMatmul.apply(input, other)
    batch = broadcast_batch(input.shape[:-2], other.shape[:-2])
    _bmm_checks(input, other, math.prod(batch), math.prod(batch))
    if na == 1:
        return Matmul.apply(input.reshape(1, -1), other).squeeze(-2)
    return Matmul.apply(input, other)


Tensor.__rmatmul__ = lambda self, other: matmul(other, self)


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    _need_tensor(input, "mm", "input", 1)
    _need_tensor(mat2, "mm", "mat2", 2)
    if input.is_sparse or mat2.is_sparse:  # sparse COO operand: scipy/cupyx product
        from .sparse_math import sparse_matmul
        return sparse_matmul(input, mat2)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _mm_checks(input, mat2, input.shape[0])
    return Mm.apply(input, mat2)


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    _need_tensor(input, "bmm", "input", 1)
    _need_tensor(mat2, "bmm", "mat2", 2)
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _bmm_checks(input, mat2, input.shape[0], mat2.shape[0])
    return Bmm.apply(input, mat2)


@tensor_method
def dot(input: Tensor, other: Tensor) -> Tensor:
    _need_tensor(input, "dot", "input", 1)
    _need_tensor(other, "dot", "tensor", 2)
    _dot_checks(input, other)
    return named(Matmul.apply(input.reshape(1, -1), other.reshape(-1, 1)).reshape(()),
                 "DotBackward0")


@tensor_method
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """conj(input) . other; tensors here are real, so this is ``dot``."""
    _need_tensor(input, "vdot", "input", 1)
    _need_tensor(other, "vdot", "other", 2)
    return dot(input, other)


@tensor_method
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Contracts the last dims: shape ``input.shape[:-1] + other.shape[:-1]``."""
    _need_tensor(input, "inner", "input", 1)
    _need_tensor(other, "inner", "other", 2)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input._data.dtype != other._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    out = Matmul.apply(input.reshape(-1, input.shape[-1]), other.reshape(-1, other.shape[-1]).mT)
    return out.reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    _need_tensor(input, "mv", "input", 1)
    _need_tensor(vec, "mv", "vec", 2)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    _mv_checks(input, vec)
    return named(Matmul.apply(input, vec.reshape(-1, 1)).squeeze(-1), "MvBackward0")


@tensor_method(names=("ger",))
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    _need_tensor(input, "outer", "input", 1)
    _need_tensor(vec2, "outer", "vec2", 2)
    for t, name in ((input, "self"), (vec2, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


# -- fused "beta * input + alpha * product" forms ------------------------------------------------

def _scaled_sum(input: Tensor, prod: Tensor, beta, alpha) -> Tensor:
    """beta * input + alpha * prod, with input broadcast to prod's shape (torch's expand error)
    and ignored when beta == 0 (so NaNs in it do not propagate, as in torch)."""
    base = input.expand(*prod.shape)
    if prod._data.dtype.kind != "f":  # integer tensors: torch truncates the scalars
        beta, alpha = int(beta), int(alpha)
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return _IgnoreSecond.apply(out, base)
    return out + (base if beta == 1 else base * beta)


class _IgnoreSecond(Function):
    """``a``, with a zero gradient for ``b`` (torch's beta == 0: input gets zeros, not None)."""

    @staticmethod
    def forward(ctx, a, b):
        return wrap(a._data, a)

    @staticmethod
    def backward(ctx, g):
        return g, (g * 0 if ctx.needs_input_grad[1] else None)


def _matrix_arg(t: Tensor, name: str) -> None:
    if t.ndim != 2:
        raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")


@tensor_method
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    _matrix_arg(mat1, "mat1")
    _matrix_arg(mat2, "mat2")
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {scalar_name(input)}"
                           f" and {scalar_name(mat2)}")
    if mat1._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {scalar_name(mat1)}"
                           f" and {scalar_name(mat2)}")
    _mm_checks(mat1, mat2, mat1.shape[0])
    return _scaled_sum(input, Matmul.apply(mat1, mat2), beta, alpha)


@tensor_method
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    same_dtype(input, batch1)
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


@tensor_method
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    same_dtype(input, batch1)
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


@tensor_method
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    same_dtype(input, mat)
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


@tensor_method
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    same_dtype(input, vec1)
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


# -- tensordot, kron, cross, trace ------------------------------------------------------------

def _dims_lists(dims, na: int, nb: int) -> tuple:
    if isinstance(dims, Tensor):
        dims = dims.item() if dims.ndim == 0 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > na or dims > nb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    da, db = dims
    da = [da] if isinstance(da, int) else list(da)
    db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    return da, db


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract ``dims`` of a with those of b as one (M x K) @ (K x N) matmul."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da, db = _dims_lists(dims, a.ndim, b.ndim)
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in dim "
                               f"{y}")
    da, db = [_wrap_dim(d, a.ndim) for d in da], [_wrap_dim(d, b.ndim) for d in db]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(*fa, *da).reshape(-1, k)
    bm = b.permute(*db, *fb).reshape(k, -1)
    return Matmul.apply(am, bm).reshape(tuple(a.shape[d] for d in fa) +
                                        tuple(b.shape[d] for d in fb))


@tensor_method
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: a broadcast product of interleaved unit dims, then merged pairs."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(v for s in sa for v in (s, 1)))
    b = other.reshape(tuple(v for s in sb for v in (1, s)))
    return (a * b).reshape(tuple(x * y for x, y in zip(sa, sb)))


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """torch.linalg.cross: broadcasting operands, ``dim`` of size 3."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    same_dtype(input, other)
    broadcast_batch(input.shape, other.shape)
    a1, a2 = input.roll(-1, d), input.roll(-2, d)  # components (y, z, x) and (z, x, y)
    b1, b2 = other.roll(-1, d), other.roll(-2, d)
    return a1 * b2 - a2 * b1


@tensor_method
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """torch.cross: with ``dim`` omitted, the first dim of size 3 (deprecated in torch, which
    warns)."""
    if dim is None:
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        if input.ndim != other.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        shape = broadcast_batch(input.shape, other.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)


@tensor_method
def trace(input: Tensor) -> Tensor:
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return input.diagonal().sum()


__all__ = ["matmul", "mm", "bmm", "dot", "inner", "vdot", "mv", "outer", "ger", "addmm",
           "baddbmm", "addbmm", "addmv", "addr", "tensordot", "kron", "cross", "trace"]
