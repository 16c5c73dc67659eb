"""Instance, RMS and local-response normalization, as compositions of differentiable ops.

``instance_norm`` is torch's own reduction to ``batch_norm``: an (N, C, *) input is a
(1, N*C, *) batch, its running statistics are repeated N times and averaged back after the
update. Local response norms sum squares over a window of channels: ``local_response_norm`` with
shifted slices of a zero-padded copy, ``cross_map_lrn2d`` (torch's legacy layer, whose window is
not centred the same way) with a constant 0/1 channel-window matrix.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import nn_functional as NF
from ._util import wrap


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalizes each (sample, channel) plane over its spatial dims."""
    if use_input_stats:
        spatial = int(np.prod(input.shape[2:])) if input.ndim > 2 else 1
        if spatial == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    x = input.reshape((1, n * c) + tuple(input.shape[2:]))
    rm = running_mean.repeat(n) if running_mean is not None else None
    rv = running_var.repeat(n) if running_var is not None else None
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    y = NF.batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            if running_mean is not None:
                running_mean._assign(rm.reshape(n, c).mean(0))
            if running_var is not None:
                running_var._assign(rv.reshape(n, c).mean(0))
    return y.reshape(tuple(input.shape))


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2 over the trailing dims) + eps)`` (eps None: the dtype's epsilon)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps) if input._data.dtype.kind == "f" \
            else float(np.finfo(np.float32).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * (input * input).mean(dims, keepdim=True).add(eps).rsqrt()
    return y * weight if weight is not None else y


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta``."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = (input * input).movedim(1, -1)
    padded = NF.pad(sq, (size // 2, (size - 1) // 2))
    div = padded[..., 0:c]
    for j in range(1, size):
        div = div + padded[..., j:j + c]
    div = (div / size).movedim(-1, 1)
    return input / div.mul(alpha).add(k).pow(beta)


def _cross_map_window(c: int, size: int, dtype) -> np.ndarray:
    """(C, C) matrix: row c marks the channels torch's CrossMapLRN2d sums for output c (its
    running-window update never removes channel 0 - kept, to match its values)."""
    pre = int((size - 1) / 2 + 1)
    m = np.zeros((c, c), dtype=dtype)
    m[0, :min(pre, c)] = 1
    for ch in range(1, c):
        m[ch] = m[ch - 1]
        if ch < c - pre + 1:
            m[ch, ch + pre - 1] += 1
        if ch > pre:
            m[ch, ch - pre] -= 1
    return m


def _channel_mix(t: Tensor, m: np.ndarray) -> Tensor:
    """``out[:, c] = sum_c' m[c, c'] * t[:, c']`` (a constant matrix over the channel dim)."""
    window = wrap(t._backend.xp.asarray(m.T.astype(t._data.dtype)), t)
    return (t.movedim(1, -1) @ window).movedim(-1, 1)


class _CrossMapLRN2d(Function):
    """torch's legacy layer: its forward window (``_cross_map_window``) and its hand-written
    backward, which uses a centred window; the backward is built from differentiable ops."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        ctx.args = (size, alpha, beta, k)
        ctx.save_for_backward(x)
        with no_grad():
            return _CrossMapLRN2d.compute(x, size, alpha, beta, k)[0]

    @staticmethod
    def compute(x, size, alpha, beta, k):
        c = x.shape[1]
        scale = _channel_mix(x * x, _cross_map_window(c, size, np.float64))
        scale = scale.mul(alpha / size).add(k)
        return x * scale.pow(-beta), scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        size, alpha, beta, k = ctx.args
        out, scale = _CrossMapLRN2d.compute(x, size, alpha, beta, k)
        c, shift = x.shape[1], int(size - (size - 1) / 2)
        band = np.zeros((c, c))
        for ch in range(c):
            band[ch, max(ch - shift, 0):max(ch + size - shift, 0)] = 1
        accum = _channel_mix(g * out / scale, band)
        grad = scale.pow(-beta) * g - (2 * alpha * beta / size) * x * accum
        return grad, None, None, None, None


def cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                    k: float = 1) -> Tensor:
    """torch's ``CrossMapLRN2d``: ``x * (k + alpha/size * window sum of x**2)**-beta``."""
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    return _CrossMapLRN2d.apply(input, size, alpha, beta, k)


__all__ = ["instance_norm", "rms_norm", "local_response_norm"]
