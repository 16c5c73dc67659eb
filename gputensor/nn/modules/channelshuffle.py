"""ChannelShuffle over ``F.channel_shuffle``.

Other torch names of this file resolve lazily (see ``_alias``)."""
from __future__ import annotations

from ...ops import nn_misc as NM
from ...tensor import Tensor
from ._alias import getattr_for
from .module import Module


class ChannelShuffle(Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return NM.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


__all__ = ["ChannelShuffle"]

__getattr__ = getattr_for(__name__)
