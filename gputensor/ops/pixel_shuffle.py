"""pixel_shuffle / pixel_unshuffle: (*, C*r*r, H, W) <-> (*, C, H*r, W*r) as reshape + permute.

Pure views and one copy, so autograd and every dtype come for free from the shape ops.
"""
from __future__ import annotations

from ..tensor import Tensor


def _check(input: Tensor, factor: int, op: str, what: str) -> int:
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    factor = int(factor)
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {what}, but got {factor}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C*r^2, H, W) into (*, C, H*r, W*r) (sub-pixel convolution's output)."""
    r = _check(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nb = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Inverse of ``pixel_shuffle``: (*, C, H*r, W*r) -> (*, C*r^2, H, W)."""
    r = _check(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *lead, c, h, w = input.shape
    for name, size, axis in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({axis})={size} is not "
                               f"divisible by {r}")
    nb = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


__all__ = ["pixel_shuffle", "pixel_unshuffle"]
