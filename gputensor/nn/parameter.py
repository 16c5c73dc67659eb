"""Parameter: a leaf Tensor that Modules register as trainable.

A Parameter shares storage (and version counter) with the tensor it is built from, as torch's
does. Ops on Parameters build plain ``Tensor`` objects (they construct results through
``Tensor._make``), so only the module's own leaves are Parameters.
"""
from __future__ import annotations

from .. import _dtype as dt
from .._device import canonical
from ..backends import get_backend
from ..tensor import Tensor


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: ``data`` wrapped as a trainable leaf."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            dev = canonical("cpu")
            data = Tensor._make(get_backend("cpu").xp.empty((0,), dt.get_default_dtype().np), dev)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        p = cls._make(data._data, data._device)
        p._version = data._version
        p.requires_grad = requires_grad
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        """All construction happens in ``__new__`` (Tensor.__init__ would rebuild the storage)."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy(), self._device), self.requires_grad)
        if self.grad is not None:
            p.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (Tensor.__reduce_ex__(self, protocol), self.requires_grad))


def _rebuild_parameter(tensor_reduce, requires_grad: bool) -> Parameter:
    fn, args = tensor_reduce
    return Parameter(fn(*args).detach(), requires_grad)


__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer", "is_lazy"]

from .parameter_lazy import (Buffer, UninitializedBuffer, UninitializedParameter,  # noqa: E402
                             is_lazy)
