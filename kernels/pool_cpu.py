"""CPU pooling (NCHW) over strided window views: max (with argmax as a flat H*W index, torch's
``return_indices`` convention), average, and adaptive average/max.

Max backward scatters each output gradient to its argmax (a plain assignment when windows cannot
overlap, a ``bincount`` sum when they can); average backward is col2im of the scaled gradient;
adaptive average is separable, so it is two small matmuls with averaging matrices.
"""
from __future__ import annotations

import numpy as np

from ._strided_cpu import acc_dtype, col2im, crop, pad2d, padded_hw, windows
from ._window import adaptive_end, adaptive_start, pool_out_size


def _out_hw(hw, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    return tuple(pool_out_size(hw[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
                 for i in (0, 1))


def _flat_index(local, rows0, cols0, kernel: tuple, dilation: tuple, width: int) -> np.ndarray:
    """Input flat index h*W + w of the window tap ``local`` (0..KH*KW-1) chosen per output:
    the window origin's index plus a per-tap offset (a lookup in a KH*KW table)."""
    origin = rows0[:, None] * width + cols0[None, :]
    taps = np.arange(kernel[0] * kernel[1])
    offset = (taps // kernel[1]) * dilation[0] * width + (taps % kernel[1]) * dilation[1]
    return origin + np.take(offset, local)


def max_pool2d_forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                       dilation: tuple, ceil_mode: bool) -> tuple:
    """(y, argmax): window maxima (NaN wins, as in torch) and their flat H*W input indices.

    One elementwise pass per window tap over strided views (KH*KW passes, no window copy):
    far faster than an argmax over a tiny trailing axis.
    """
    out = _out_hw(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    if x.dtype.kind in "iu":  # integers: widened to int64, padded below every input value
        y, idx = _max_windows(x.astype(np.int64, copy=False), kernel, stride, padding, dilation,
                              out, np.iinfo(np.int64).min)
        return y.astype(x.dtype, copy=False), idx
    return _max_windows(x, kernel, stride, padding, dilation, out, -np.inf)


def _max_windows(x, kernel, stride, padding, dilation, out, fill) -> tuple:
    """Max and argmax over the windows of ``x`` padded with ``fill`` (which never wins)."""
    xp = pad2d(x, padding, out, kernel, stride, dilation, value=fill)
    win = windows(xp, kernel, out, stride, dilation, layout="kernel_last")
    y = win[..., 0, 0].copy()
    local = np.zeros(y.shape, dtype=np.int64)
    for t in range(1, kernel[0] * kernel[1]):
        v = win[..., t // kernel[1], t % kernel[1]]
        better = (v > y) | (v != v)  # a later NaN replaces anything, like torch's kernels
        np.copyto(y, v, where=better)
        np.copyto(local, t, where=better)
    rows0 = np.arange(out[0]) * stride[0] - padding[0]
    cols0 = np.arange(out[1]) * stride[1] - padding[1]
    return y, _flat_index(local, rows0, cols0, kernel, dilation, x.shape[3])


def _scatter_argmax(gy: np.ndarray, argmax: np.ndarray, x_shape: tuple,
                    overlap: bool) -> np.ndarray:
    """dL/dx for max-style pooling: each output's gradient goes to the input it selected."""
    n, c, h, w = x_shape
    planes = np.arange(n * c, dtype=np.int64)[:, None] * (h * w)
    idx = (argmax.reshape(n * c, -1) + planes).ravel()
    if overlap:
        gx = np.bincount(idx, weights=gy.ravel(), minlength=n * c * h * w)
    else:
        gx = np.zeros(n * c * h * w, dtype=gy.dtype)
        gx[idx] = gy.ravel()
    return gx.astype(gy.dtype, copy=False).reshape(x_shape)


def max_pool2d_backward(gy: np.ndarray, argmax: np.ndarray, x_shape: tuple, kernel: tuple,
                        stride: tuple, padding: tuple, dilation: tuple,
                        ceil_mode: bool) -> np.ndarray:
    overlap = any(stride[i] < dilation[i] * (kernel[i] - 1) + 1 for i in (0, 1))
    return _scatter_argmax(gy, argmax, x_shape, overlap)


def _avg_divisor(hw, kernel, stride, padding, out, count_include_pad, divisor_override):
    """Per-output divisor (OH, OW): window size clipped to the padded input (include_pad) or
    to the input itself, unless overridden."""
    if divisor_override:
        return np.full(out, divisor_override, dtype=np.float64)
    counts = []
    for i in (0, 1):
        start = np.arange(out[i]) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], hw[i] + padding[i])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, hw[i])
        counts.append(end - start)
    return np.outer(counts[0], counts[1]).astype(np.float64)


def avg_pool2d_forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                       ceil_mode: bool, count_include_pad: bool,
                       divisor_override: int | None) -> np.ndarray:
    ones = (1, 1)
    out = _out_hw(x.shape[2:], kernel, stride, padding, ones, ceil_mode)
    acc = acc_dtype(x.dtype)
    xp = pad2d(x.astype(acc, copy=False), padding, out, kernel, stride, ones)
    sums = windows(xp, kernel, out, stride, ones, layout="kernel_last").sum(axis=(4, 5))
    div = _avg_divisor(x.shape[2:], kernel, stride, padding, out, count_include_pad,
                       divisor_override).astype(acc)
    return (sums / div).astype(x.dtype, copy=False)


def avg_pool2d_backward(gy: np.ndarray, x_shape: tuple, kernel: tuple, stride: tuple,
                        padding: tuple, ceil_mode: bool, count_include_pad: bool,
                        divisor_override: int | None) -> np.ndarray:
    ones = (1, 1)
    out = gy.shape[2:]
    acc = acc_dtype(gy.dtype)
    div = _avg_divisor(x_shape[2:], kernel, stride, padding, out, count_include_pad,
                       divisor_override).astype(acc)
    g = gy.astype(acc, copy=False) / div
    cols = np.broadcast_to(g[:, :, None, None], g.shape[:2] + tuple(kernel) + tuple(out))
    hwp = padded_hw(x_shape[2:], padding, out, kernel, stride, ones)
    gxp = col2im(cols, hwp, stride, ones)
    return crop(gxp, padding, x_shape[2:]).astype(gy.dtype, copy=False)


def _averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) matrix whose row o averages adaptive window o."""
    m = np.zeros((out, size), dtype=dtype)
    for o in range(out):
        s, e = adaptive_start(o, size, out), adaptive_end(o, size, out)
        m[o, s:e] = 1.0 / (e - s)
    return m


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: tuple) -> np.ndarray:
    acc = acc_dtype(x.dtype)
    ph = _averaging_matrix(x.shape[2], output_size[0], acc)
    pw = _averaging_matrix(x.shape[3], output_size[1], acc)
    return (ph @ x.astype(acc, copy=False) @ pw.T).astype(x.dtype, copy=False)


def adaptive_avg_pool2d_backward(gy: np.ndarray, x_shape: tuple) -> np.ndarray:
    acc = acc_dtype(gy.dtype)
    ph = _averaging_matrix(x_shape[2], gy.shape[2], acc)
    pw = _averaging_matrix(x_shape[3], gy.shape[3], acc)
    return (ph.T @ gy.astype(acc, copy=False) @ pw).astype(gy.dtype, copy=False)


def adaptive_max_pool2d_forward(x: np.ndarray, output_size: tuple) -> tuple:
    """(y, argmax) with one vectorized window reduction per output position."""
    n, c, h, w = x.shape
    oh, ow = output_size
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        hs, he = adaptive_start(i, h, oh), adaptive_end(i, h, oh)
        for j in range(ow):
            ws, we = adaptive_start(j, w, ow), adaptive_end(j, w, ow)
            win = x[:, :, hs:he, ws:we].reshape(n, c, -1)
            local = win.argmax(axis=-1)
            y[:, :, i, j] = np.take_along_axis(win, local[..., None], axis=-1)[..., 0]
            idx[:, :, i, j] = (hs + local // (we - ws)) * w + ws + local % (we - ws)
    return y, idx


def adaptive_max_pool2d_backward(gy: np.ndarray, argmax: np.ndarray,
                                 x_shape: tuple) -> np.ndarray:
    return _scatter_argmax(gy, argmax, x_shape, overlap=True)
