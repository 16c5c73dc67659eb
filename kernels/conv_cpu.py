"""CPU conv2d (NCHW): im2col from a strided view of the padded input, then one BLAS GEMM per
group with the whole batch folded into the GEMM's pixel axis.

The GEMM layout is channel-major, (groups, rows, N*OH*OW): one large GEMM is far faster than N
small ones (OpenBLAS's per-call threading overhead dominates at these sizes), at the price of
one transposing copy of the output. Backward-data is a GEMM into column space followed by
col2im; backward-weight is a GEMM of the output gradient against the same columns. float16
computes in float32 and rounds once.
"""
from __future__ import annotations

import numpy as np

from ._strided_cpu import acc_dtype, col2im, crop, pad2d, padded_hw, windows
from ._window import conv_out_size


def _out_hw(hw: tuple, k: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    return tuple(conv_out_size(hw[i], k[i], stride[i], padding[i], dilation[i]) for i in (0, 1))


def _columns(x: np.ndarray, k: tuple, stride, padding, dilation, groups: int) -> np.ndarray:
    """im2col of ``x`` as (groups, C/g*KH*KW, N*OH*OW) in the accumulation dtype."""
    n, c = x.shape[:2]
    out = _out_hw(x.shape[2:], k, stride, padding, dilation)
    xp = pad2d(x.astype(acc_dtype(x.dtype), copy=False), padding, out, k, stride, dilation)
    win = windows(xp, k, out, stride, dilation).transpose(1, 2, 3, 0, 4, 5)
    return win.reshape(groups, c // groups * k[0] * k[1], n * out[0] * out[1])


def _gemm_layout(a: np.ndarray, groups: int, dtype) -> np.ndarray:
    """(N, C, H, W) -> (groups, C/g, N*H*W), contiguous, for the channel-major GEMMs."""
    n, c, h, w = a.shape  # explicit sizes: -1 is ambiguous for an empty batch
    a = a.astype(dtype, copy=False).reshape(n, groups, c // groups, h * w).transpose(1, 2, 0, 3)
    return a.reshape(groups, c // groups, n * h * w)


def _group_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a[g] @ b[g] for each group, as 2-D BLAS calls (NumPy's stacked matmul falls off BLAS for
    transposed operands and is many times slower here)."""
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    for g in range(a.shape[0]):
        np.matmul(a[g], b[g], out=out[g])
    return out


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: tuple, padding: tuple,
                   dilation: tuple, groups: int) -> np.ndarray:
    """y[:, g*Cog:(g+1)*Cog] = W_g (Cog x K) @ cols_g (K x N*OH*OW); returns (N, Cout, OH, OW)."""
    cout, _, kh, kw = w.shape
    n = x.shape[0]
    cols = _columns(x, (kh, kw), stride, padding, dilation, groups)
    wm = w.astype(cols.dtype, copy=False).reshape(groups, cout // groups, -1)
    oh, ow = _out_hw(x.shape[2:], (kh, kw), stride, padding, dilation)
    y = _group_matmul(wm, cols).reshape(cout, n, oh, ow).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(y, dtype=x.dtype)


def conv2d_backward_data(gy: np.ndarray, w: np.ndarray, x_shape: tuple, stride: tuple,
                         padding: tuple, dilation: tuple, groups: int) -> np.ndarray:
    """dL/dx: columns = W_g^T @ gy_g, scattered back to the image by col2im."""
    n, c, h, wd = x_shape
    cout, cg, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    acc = acc_dtype(gy.dtype)
    wm = w.astype(acc, copy=False).reshape(groups, cout // groups, cg * kh * kw)
    cols = _group_matmul(wm.swapaxes(1, 2), _gemm_layout(gy, groups, acc))
    cols = cols.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
    hwp = padded_hw((h, wd), padding, (oh, ow), (kh, kw), stride, dilation)
    gxp = col2im(cols, hwp, stride, dilation)
    return crop(gxp, padding, (h, wd)).astype(gy.dtype, copy=False)


def conv2d_backward_weight(x: np.ndarray, gy: np.ndarray, w_shape: tuple, stride: tuple,
                           padding: tuple, dilation: tuple, groups: int) -> np.ndarray:
    """dL/dW_g = gy_g (Cog x N*OH*OW) @ cols_g^T (N*OH*OW x K): the batch is the reduction."""
    kh, kw = w_shape[2:]
    cols = _columns(x, (kh, kw), stride, padding, dilation, groups)
    gw = _group_matmul(_gemm_layout(gy, groups, cols.dtype), cols.swapaxes(1, 2))
    return gw.reshape(w_shape).astype(gy.dtype, copy=False)
