"""Matrix products. The work is done by the backend's ``matmul`` kernel entry (BLAS on cpu, the
hand-written tiled kernel on cuda)."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from ._util import promote, unbroadcast, wrap


class Matmul(Function):
    """Batched matmul of operands with ndim >= 2 (batch dims broadcast)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return wrap(a._backend.kernels.matmul(a._data, b._data), a)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        ga = unbroadcast(matmul(g, b.mT), a.shape) if n[0] else None
        gb = unbroadcast(matmul(a.mT, g), b.shape) if n[1] else None
        return ga, gb


def _check(a: Tensor, b: Tensor, name: str) -> None:
    sa, sb = tuple(a.shape), tuple(b.shape)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{name}: both arguments need at least 1 dimension, got {sa} @ {sb}")
    ka = sa[-1]
    kb = sb[0] if b.ndim == 1 else sb[-2]
    if ka != kb:
        raise RuntimeError(f"{name}: shapes cannot be multiplied: {sa} @ {sb} "
                           f"(inner sizes {ka} != {kb})")
    if a.ndim > 2 and b.ndim > 2:
        ba, bb = sa[:-2], sb[:-2]
        for x, y in zip(reversed(ba), reversed(bb)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"{name}: batch dimensions do not broadcast: {sa} @ {sb}")


@tensor_method(names=("__matmul__",))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul: both arguments must be tensors")
    _check(input, other, "matmul")
    a, b = promote(input, other)
    if a.ndim == 1 and b.ndim == 1:
        return Matmul.apply(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        return Matmul.apply(a.reshape(1, -1), b).squeeze(-2)
    if b.ndim == 1:
        return Matmul.apply(a, b.reshape(-1, 1)).squeeze(-1)
    return Matmul.apply(a, b)


Tensor.__rmatmul__ = lambda self, other: matmul(other, self)


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {tuple(input.shape)} @ "
                           f"{tuple(mat2.shape)}")
    _check(input, mat2, "mm")
    return Matmul.apply(*promote(input, mat2))


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with equal batch size, got "
                           f"{tuple(input.shape)} @ {tuple(mat2.shape)}")
    _check(input, mat2, "bmm")
    return Matmul.apply(*promote(input, mat2))


@tensor_method
def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.ndim != 1 or other.ndim != 1 or input.shape[0] != other.shape[0]:
        raise RuntimeError(f"dot: expected 1-D tensors of equal size, got {tuple(input.shape)} "
                           f"and {tuple(other.shape)}")
    return matmul(input, other)


inner = vdot = dot


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {tuple(input.shape)} and "
                           f"{tuple(vec.shape)}")
    return matmul(input, vec)


@tensor_method(names=("ger",))
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D tensors, got {tuple(input.shape)} and "
                           f"{tuple(vec2.shape)}")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)

__all__ = ["matmul", "mm", "bmm", "dot", "inner", "vdot", "mv", "outer"]
