"""Helpers shared by op definitions: operand coercion, broadcasting, dims."""
from __future__ import annotations

from .. import _dtype as dt
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim
from .scalar_range import wrap_int


def data(x):
    """The backend array of a tensor, or a scalar left as is."""
    return x._data if isinstance(x, Tensor) else x


def wrap(array, like: Tensor) -> Tensor:
    """A new tensor holding ``array`` on ``like``'s device."""
    return Tensor._make(array, like._device)


def first_tensor(*args) -> Tensor:
    for a in args:
        if isinstance(a, Tensor):
            return a
    raise TypeError("expected at least one Tensor argument")


def operand(x, rt: dt.dtype, like: Tensor):
    """Bring an operand to dtype ``rt``: tensors are cast (differentiably), scalars become
    NumPy scalars of that dtype (so no backend re-promotes them)."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == rt.np else x.to(rt)
    if isinstance(x, int) and not isinstance(x, bool) and rt.np.kind in "iu":
        return wrap_int(x, rt)  # torch wraps out-of-range int scalars modulo 2**bits
    if isinstance(x, (int, float, bool)) or hasattr(x, "dtype"):
        return rt.np.type(x)
    raise TypeError(f"unsupported operand type {type(x).__name__} for a tensor op")


def promote(a, b, floating: bool = False):
    """Coerce a binary op's operands to their torch result type (floating: int -> default float)."""
    # Fast paths (same answers as below): two tensors of one dtype; a floating tensor with a
    # Python float/int, which takes the tensor's dtype (torch's scalars never promote a float).
    if isinstance(a, Tensor):
        ad = a._data.dtype
        if isinstance(b, Tensor):
            if ad == b._data.dtype and (not floating or ad.kind == "f"):
                return a, b
        elif ad.kind == "f" and (type(b) is float or type(b) is int):
            return a, ad.type(b)
    elif isinstance(b, Tensor) and (type(a) is float or type(a) is int):
        bd = b._data.dtype
        if bd.kind == "f":
            return bd.type(a), b
    rt = dt.result_type(a, b)
    if floating and not rt.is_floating_point:
        rt = dt.get_default_dtype()
    like = first_tensor(a, b)
    return operand(a, rt, like), operand(b, rt, like)


def unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum ``grad`` down to ``shape`` (undoing broadcasting); differentiable."""
    gshape = grad._data.shape
    if gshape == tuple(shape):
        return grad
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                       if s == 1 and gshape[i + lead] != 1)
    out = grad.sum(dim=dims, keepdim=True) if dims else grad
    return out.reshape(tuple(shape))


def norm_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        return tuple(sorted({_wrap_dim(d, ndim) for d in dim}))
    return (_wrap_dim(dim, ndim),)


__all__ = ["data", "wrap", "operand", "promote", "unbroadcast", "norm_dims", "first_tensor",
           "Tensor", "_wrap_dim"]


class _Named(Function):
    """Identity whose graph node carries torch's name for a fused op (``NllLossBackward0``), so
    a composite op's result prints like torch's (``grad_fn=<...>``). One subclass per name."""

    @staticmethod
    def forward(ctx, x):
        return Tensor._make(x._data, x._device)

    @staticmethod
    def backward(ctx, g):
        return g


_NAMED: dict = {}


def named(out: Tensor, torch_name: str) -> Tensor:
    """``out`` behind an identity node named ``torch_name`` (unchanged when it has no graph)."""
    if out.grad_fn is None:
        return out
    cls = _NAMED.get(torch_name)
    if cls is None:
        cls = _NAMED[torch_name] = type(torch_name, (_Named,), {"_torch_name": torch_name})
    return cls.apply(out)
