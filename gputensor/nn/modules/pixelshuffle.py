"""PixelShuffle / PixelUnshuffle layers (sub-pixel convolution)."""
from __future__ import annotations

from ...ops import pixel_shuffle as PS
from ...tensor import Tensor
from .module import Module


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return PS.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return PS.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


__all__ = ["PixelShuffle", "PixelUnshuffle"]

from ._alias import getattr_for as _getattr_for  # noqa: E402
__getattr__ = _getattr_for(__name__)  # torch names defined in other files
