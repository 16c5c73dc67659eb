"""Dropout layers: active in training mode, identity in eval mode."""
from __future__ import annotations

from ...ops import nn_functional as NF
from ...tensor import Tensor
from .module import Module


class _DropoutNd(Module):
    _fn = staticmethod(NF.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        NF._check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return self._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    _fn = staticmethod(NF.dropout)


class Dropout1d(_DropoutNd):
    _fn = staticmethod(NF.dropout1d)


class Dropout2d(_DropoutNd):
    _fn = staticmethod(NF.dropout2d)


class Dropout3d(_DropoutNd):
    _fn = staticmethod(NF.dropout3d)


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files (MultiheadAttention)
