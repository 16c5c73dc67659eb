"""Strided-view building blocks of the CPU conv and pooling kernels: padding, im2col windows
(a zero-copy view) and col2im (KH*KW shifted-slice accumulations, no loop over pixels)."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._window import reach


def acc_dtype(dtype) -> np.dtype:
    """Accumulation dtype: float16 math runs in float32 (as on the GPU)."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def padded_hw(hw: tuple, pad: tuple, out: tuple, k: tuple, stride: tuple,
              dilation: tuple) -> tuple:
    """Padded image size: ``pad`` on each side, plus any extra bottom/right rows and columns
    that the ``out`` windows reach (ceil_mode pooling)."""
    return tuple(max(hw[i] + 2 * pad[i], reach(out[i], k[i], stride[i], dilation[i]))
                 for i in (0, 1))


def pad2d(x: np.ndarray, pad: tuple, out: tuple, k: tuple, stride: tuple, dilation: tuple,
          value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) padded as ``padded_hw`` says; ``x`` itself when no padding is needed."""
    n, c, h, w = x.shape
    hp, wp = padded_hw((h, w), pad, out, k, stride, dilation)
    if (hp, wp) == (h, w):
        return x
    xp = np.full((n, c, hp, wp), value, dtype=x.dtype)
    xp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return xp


def windows(xp: np.ndarray, k: tuple, out: tuple, stride: tuple, dilation: tuple,
            layout: str = "kernel_first") -> np.ndarray:
    """Zero-copy view of every window of padded ``xp`` (N, C, Hp, Wp): shape (N, C, KH, KW, OH,
    OW) for ``layout="kernel_first"`` (im2col order) or (N, C, OH, OW, KH, KW) for
    ``"kernel_last"`` (per-window reductions)."""
    sn, sc, sh, sw = xp.strides
    kdims = (k[0], k[1]), (sh * dilation[0], sw * dilation[1])
    odims = (out[0], out[1]), (sh * stride[0], sw * stride[1])
    first, second = (kdims, odims) if layout == "kernel_first" else (odims, kdims)
    shape = xp.shape[:2] + first[0] + second[0]
    return as_strided(xp, shape=shape, strides=(sn, sc) + first[1] + second[1], writeable=False)


def col2im(cols: np.ndarray, padded_hw: tuple, stride: tuple, dilation: tuple,
           dtype=None) -> np.ndarray:
    """Sum window contributions ``cols`` (N, C, KH, KW, OH, OW) back onto a padded (N, C, Hp,
    Wp) image: one shifted, strided slice-add per kernel tap."""
    n, c, kh, kw, oh, ow = cols.shape
    out = np.zeros((n, c) + tuple(padded_hw), dtype=dtype or cols.dtype)
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out


def crop(xp: np.ndarray, pad: tuple, hw: tuple) -> np.ndarray:
    """The (H, W) interior of a padded image, as a contiguous array."""
    return np.ascontiguousarray(xp[:, :, pad[0]:pad[0] + hw[0], pad[1]:pad[1] + hw[1]])
