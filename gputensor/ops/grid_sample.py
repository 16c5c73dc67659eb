"""``affine_grid`` and ``grid_sample`` (2-d and 3-d bilinear and nearest; 2-d bicubic) as compositions of
differentiable ops.

A sample point's unnormalized, padded coordinate ``c`` is a differentiable function of the grid;
its lower corner ``floor(c)`` is a constant, so bilinear weights ``c - floor(c)`` carry the grid
gradient and a ``gather`` of the flattened input at the corners carries the input gradient
(double backward follows from those ops). Out-of-range corners are masked (zeros padding).
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from ..tensor import Tensor
from ._util import wrap
from .pointwise import where

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def _align_default(align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(steps: int, align_corners: bool, dtype) -> np.ndarray:
    if steps <= 1:
        return np.zeros(max(steps, 1), dtype=dtype)
    r = np.linspace(-1, 1, steps, dtype=np.float64)
    if not align_corners:
        r = r * (steps - 1) / steps
    return r.astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The (N, *spatial, d) sampling grid of the affine maps ``theta`` (N, d, d+1)."""
    align_corners = _align_default(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, list(size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{given}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{given}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {given}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    n, d = size[0], len(spatial)
    dtype = theta._data.dtype
    axes = [_base_coords(s, align_corners, dtype) for s in reversed(spatial)]  # x, y, (z)
    mesh = np.meshgrid(*reversed(axes), indexing="ij")  # in (D,) H, W order
    base = np.stack([m for m in reversed(mesh)] + [np.ones_like(mesh[0])], axis=-1)
    base = wrap(theta._backend.xp.asarray(base.reshape(1, -1, d + 1)), theta)
    if theta.shape[0] != n:
        raise RuntimeError(f"affine_grid: theta has batch {theta.shape[0]} but size asks {n}")
    grid = base.matmul(theta.transpose(1, 2))
    return grid.reshape([n] + list(spatial) + [d])


def _unnormalize(c: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (c + 1) * ((size - 1) / 2)
    return ((c + 1) * size - 1) / 2


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    if twice_low == twice_high:
        return c * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (c - low).abs()
    flips = (dist.detach() / span).floor()
    extra = dist - flips * span
    even = (flips.remainder(2) == 0)
    return where(even, extra + low, (span - extra) + low)


def _source(c: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    c = _unnormalize(c, size, align_corners)
    if padding_mode == "border":
        c = c.clamp(0, size - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        c = c.clamp(0, size - 1)
    return c


def _gather(flat: Tensor, idx: list, sizes: tuple, out_shape: tuple):
    """Values of ``flat`` (N, C, P) at integer positions ``idx`` (arrays, one per axis), with
    the validity mask of those positions."""
    xp = flat._backend.xp
    valid = None
    lin = None
    for i, s in zip(idx, sizes):
        ok = (i >= 0) & (i < s)
        valid = ok if valid is None else valid & ok
        ic = xp.clip(i, 0, s - 1)
        lin = ic if lin is None else lin * s + ic
    n, c = flat.shape[:2]
    index = wrap(lin.reshape(n, 1, -1).astype(xp.int64), flat).expand(n, c, lin[0].size)
    vals = flat.gather(2, index).reshape((n, c) + out_shape)
    mask = wrap(valid.reshape((n, 1) + out_shape).astype(flat._data.dtype), flat)
    return vals, mask


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Samples ``input`` (N, C, *spatial) at the normalized points of ``grid`` (N, *out, d)."""
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDING:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _align_default(align_corners)
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        want = f"{input.ndim}D" if input.ndim in (4, 5) else "4D or 5D"
        raise RuntimeError(f"grid_sampler(): expected {want} input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    d = input.ndim - 2
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != d:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {d} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and d != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    sizes = tuple(input.shape[2:])
    out_shape = tuple(grid.shape[1:-1])
    if mode == "bicubic":
        return _bicubic(input, grid, sizes, out_shape, padding_mode, align_corners)
    # grid's last axis is (x, y[, z]): axis a of the input uses grid[..., d - 1 - a]
    src = [_source(grid[..., d - 1 - a], sizes[a], padding_mode, align_corners)
           for a in range(d)]
    flat = input.flatten(2)
    xp = input._backend.xp
    if mode == "nearest":
        idx = [xp.rint(s._data).astype(xp.int64) for s in src]
        vals, mask = _gather(flat, idx, sizes, out_shape)
        return vals * mask + (grid.sum(-1) * 0).unsqueeze(1)  # torch: a zero grid gradient
    lows = [xp.floor(s._data) for s in src]
    fracs = [(s - wrap(lo, s)).unsqueeze(1) for s, lo in zip(src, lows)]  # (N, 1, *out)
    out = None
    for corner in itertools.product((0, 1), repeat=d):
        idx = [lo.astype(xp.int64) + k for lo, k in zip(lows, corner)]
        vals, mask = _gather(flat, idx, sizes, out_shape)
        w = None
        for f, k in zip(fracs, corner):
            wk = f if k else 1 - f
            w = wk if w is None else w * wk
        term = vals * (w * mask)
        out = term if out is None else out + term
    return out


_A = -0.75  # torch's cubic convolution coefficient


def _cubic_weights(t: Tensor) -> list:
    """The four cubic-convolution weights of taps -1, 0, 1, 2 at fractional offset ``t``."""
    def near(x):  # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _tap_index(i, size: int, padding_mode: str, align_corners: bool, xp):
    """Integer tap positions after torch's ``compute_coordinates`` (border/reflection)."""
    if padding_mode == "zeros":
        return i
    c = i.astype(xp.float64)
    if padding_mode == "reflection":
        lo2, hi2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo2 == hi2:
            c = c * 0
        else:
            low, span = lo2 / 2, (hi2 - lo2) / 2
            dist = xp.abs(c - low)
            flips = xp.floor(dist / span)
            extra = dist - flips * span
            c = xp.where(flips % 2 == 0, extra + low, span - extra + low)
    return xp.clip(c, 0, size - 1).astype(xp.int64)


def _bicubic(input: Tensor, grid: Tensor, sizes: tuple, out_shape: tuple, padding_mode: str,
             align_corners: bool) -> Tensor:
    """torch's bicubic sampling: 4x4 taps around ``floor(c)``, each tap padded separately."""
    xp = input._backend.xp
    iy = _unnormalize(grid[..., 1], sizes[0], align_corners)
    ix = _unnormalize(grid[..., 0], sizes[1], align_corners)
    y0, x0 = xp.floor(iy._data).astype(xp.int64), xp.floor(ix._data).astype(xp.int64)
    wy = _cubic_weights((iy - wrap(y0.astype(iy._data.dtype), iy)).unsqueeze(1))
    wx = _cubic_weights((ix - wrap(x0.astype(ix._data.dtype), ix)).unsqueeze(1))
    flat, out = input.flatten(2), None
    for a in range(4):
        ya = _tap_index(y0 + a - 1, sizes[0], padding_mode, align_corners, xp)
        for b in range(4):
            xb = _tap_index(x0 + b - 1, sizes[1], padding_mode, align_corners, xp)
            vals, mask = _gather(flat, [ya, xb], sizes, out_shape)
            term = vals * (wy[a] * wx[b] * mask)
            out = term if out is None else out + term
    return out


__all__ = ["affine_grid", "grid_sample"]
