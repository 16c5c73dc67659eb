"""CPU pooling (NCHW): max (with argmax as a flat H*W index, torch's ``return_indices``
convention), average, and adaptive average/max.

Each pool reduces to per-axis window bounds (first tap, one past the last, step) clipped to the
input, which the Numba loops in ``pool_cpu_numba`` walk plane by plane: one pass per op, no
padded copy and no window views. float16 computes in float32 and rounds once; integer max pools
run on int64 (exact) and cast back.
"""
from __future__ import annotations

import numpy as np

from . import pool_cpu_numba as nb
from ._strided_cpu import acc_dtype
from ._window import adaptive_end, adaptive_start, pool_out_size


def _planes(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` (N, C, H, W) as a C-contiguous (N*C, H, W) array of ``dtype`` (a view if it is)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape((-1,) + a.shape[2:])


def _fixed_bounds(size: int, out: int, k: int, stride: int, pad: int, dilation: int) -> tuple:
    """(start, end) per output of a dilated window along one axis, clipped to [0, size): the
    first tap inside the input (a step of ``dilation`` past the padding) and the end bound."""
    first = np.arange(out, dtype=np.int64) * stride - pad
    end = np.minimum(first + (k - 1) * dilation + 1, size)
    skip = np.maximum(-first + dilation - 1, 0) // dilation  # taps that fall in the padding
    return first + skip * dilation, end


def _adaptive_bounds(size: int, out: int) -> tuple:
    start = np.array([adaptive_start(o, size, out) for o in range(out)], dtype=np.int64)
    end = np.array([adaptive_end(o, size, out) for o in range(out)], dtype=np.int64)
    return start, end


def _max(x: np.ndarray, rows: tuple, cols: tuple, step: tuple) -> tuple:
    """(y, argmax) over the windows that ``rows``/``cols`` bound (NaN wins, as in torch)."""
    n, c = x.shape[:2]
    out = (rows[0].size, cols[0].size)
    if x.dtype.kind in "iu":
        work = np.dtype(np.int64)
        fill = work.type(np.iinfo(np.int64).min)
    else:
        work = acc_dtype(x.dtype)
        fill = work.type(-np.inf)
    xs = _planes(x, work)
    y = np.empty((xs.shape[0],) + out, dtype=work)
    idx = np.empty((xs.shape[0],) + out, dtype=np.int64)
    nb.run(nb.MAX_FORWARD, xs.size + y.size, xs, rows[0], rows[1], cols[0], cols[1], step[0],
           step[1], fill, y, idx)
    return y.reshape((n, c) + out).astype(x.dtype, copy=False), idx.reshape((n, c) + out)


def _scatter_argmax(gy: np.ndarray, argmax: np.ndarray, x_shape: tuple) -> np.ndarray:
    """dL/dx for max-style pooling: each output's gradient is added to the input it selected."""
    n, c, h, w = x_shape
    acc = acc_dtype(gy.dtype)
    outs = (n * c, gy.shape[2] * gy.shape[3])  # explicit: an empty batch has no -1 to infer
    g = np.ascontiguousarray(gy, dtype=acc).reshape(outs)
    idx = np.ascontiguousarray(argmax, dtype=np.int64).reshape(outs)
    gx = np.zeros((n * c, h * w), dtype=acc)
    nb.run(nb.MAX_BACKWARD, gx.size + g.size, g, idx, gx)
    return gx.reshape(x_shape).astype(gy.dtype, copy=False)


def max_pool2d_forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                       dilation: tuple, ceil_mode: bool) -> tuple:
    """(y, argmax): window maxima (NaN wins, as in torch) and their flat H*W input indices."""
    bounds = [_fixed_bounds(x.shape[2 + i], pool_out_size(x.shape[2 + i], kernel[i], stride[i],
                                                          padding[i], dilation[i], ceil_mode),
                            kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1)]
    return _max(x, bounds[0], bounds[1], tuple(dilation))


def max_pool2d_backward(gy: np.ndarray, argmax: np.ndarray, x_shape: tuple, kernel: tuple,
                        stride: tuple, padding: tuple, dilation: tuple,
                        ceil_mode: bool) -> np.ndarray:
    return _scatter_argmax(gy, argmax, x_shape)


def _avg_geometry(hw: tuple, out: tuple, kernel: tuple, stride: tuple, padding: tuple,
                  count_include_pad: bool, divisor_override, acc) -> tuple:
    """Clipped (rows, cols) window bounds and the (OH, OW) divisors, by torch's rules: the
    window clipped to the padded input (include_pad) or to the input itself, unless
    overridden."""
    bounds, counts = [], []
    for i in (0, 1):
        start = np.arange(out[i], dtype=np.int64) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], hw[i] + padding[i])
        pool = end - start
        start, end = np.maximum(start, 0), np.minimum(end, hw[i])
        bounds.append((start, end))
        counts.append(pool if count_include_pad else np.maximum(end - start, 0))
    if divisor_override:
        div = np.full(out, divisor_override, dtype=acc)
    else:
        div = np.outer(counts[0], counts[1]).astype(acc)
    return bounds[0], bounds[1], div


def _avg(x: np.ndarray, rows: tuple, cols: tuple, div: np.ndarray) -> np.ndarray:
    n, c = x.shape[:2]
    acc = div.dtype
    xs = _planes(x, acc)
    y = np.empty((xs.shape[0],) + div.shape, dtype=acc)
    nb.run(nb.AVG_FORWARD, xs.size + y.size, xs, rows[0], rows[1], cols[0], cols[1], div,
           acc.type(0), y)
    return y.reshape((n, c) + div.shape).astype(x.dtype, copy=False)


def _avg_grad(gy: np.ndarray, x_shape: tuple, rows: tuple, cols: tuple,
              div: np.ndarray) -> np.ndarray:
    g = _planes(gy, div.dtype)
    gx = np.zeros((g.shape[0],) + tuple(x_shape[2:]), dtype=div.dtype)
    nb.run(nb.AVG_BACKWARD, gx.size + g.size, g, rows[0], rows[1], cols[0], cols[1], div, gx)
    return gx.reshape(x_shape).astype(gy.dtype, copy=False)


def avg_pool2d_forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                       ceil_mode: bool, count_include_pad: bool,
                       divisor_override: int | None) -> np.ndarray:
    out = tuple(pool_out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], 1, ceil_mode)
                for i in (0, 1))
    rows, cols, div = _avg_geometry(x.shape[2:], out, kernel, stride, padding,
                                    count_include_pad, divisor_override, acc_dtype(x.dtype))
    return _avg(x, rows, cols, div)


def avg_pool2d_backward(gy: np.ndarray, x_shape: tuple, kernel: tuple, stride: tuple,
                        padding: tuple, ceil_mode: bool, count_include_pad: bool,
                        divisor_override: int | None) -> np.ndarray:
    rows, cols, div = _avg_geometry(x_shape[2:], gy.shape[2:], kernel, stride, padding,
                                    count_include_pad, divisor_override, acc_dtype(gy.dtype))
    return _avg_grad(gy, x_shape, rows, cols, div)


def _adaptive_geometry(hw: tuple, out: tuple, acc) -> tuple:
    rows, cols = _adaptive_bounds(hw[0], out[0]), _adaptive_bounds(hw[1], out[1])
    div = np.outer(rows[1] - rows[0], cols[1] - cols[0]).astype(acc)
    return rows, cols, div


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: tuple) -> np.ndarray:
    rows, cols, div = _adaptive_geometry(x.shape[2:], tuple(output_size), acc_dtype(x.dtype))
    return _avg(x, rows, cols, div)


def adaptive_avg_pool2d_backward(gy: np.ndarray, x_shape: tuple) -> np.ndarray:
    rows, cols, div = _adaptive_geometry(x_shape[2:], gy.shape[2:], acc_dtype(gy.dtype))
    return _avg_grad(gy, x_shape, rows, cols, div)


def adaptive_max_pool2d_forward(x: np.ndarray, output_size: tuple) -> tuple:
    """(y, argmax) over adaptive windows (NaN wins; a later NaN replaces an earlier one)."""
    rows, cols = _adaptive_bounds(x.shape[2], output_size[0]), _adaptive_bounds(x.shape[3],
                                                                                output_size[1])
    return _max(x, rows, cols, (1, 1))


def adaptive_max_pool2d_backward(gy: np.ndarray, argmax: np.ndarray,
                                 x_shape: tuple) -> np.ndarray:
    return _scatter_argmax(gy, argmax, x_shape)
