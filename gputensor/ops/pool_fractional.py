"""Fractional max pooling (Graham, 2014): max over pseudo-random, overlapping windows.

Window starts follow torch's ``generate_intervals`` from one uniform sample per (sample,
channel, axis), so with the same ``_random_samples`` the result equals torch's. The argmax of
every window is found without grad (first maximum in scan order, as torch), and the values are a
``gather`` of the input at it, so gradients and double backward are gather's.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import wrap


def _intervals(sample: np.ndarray, size: int, out: int, k: int) -> np.ndarray:
    """(..., out) window starts for uniform ``sample`` (...) - torch's generate_intervals."""
    starts = np.empty(sample.shape + (out,), dtype=np.int64)
    if out > 1:
        alpha = (size - k) / (out - 1)
        i = np.arange(out - 1)
        starts[..., :-1] = ((i + sample[..., None]) * alpha).astype(np.int64) - \
            (sample[..., None] * alpha).astype(np.int64)
    starts[..., -1] = size - k
    return starts


def _tuple(v, n: int) -> tuple:
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _fractional(input: Tensor, nd: int, kernel_size, output_size, output_ratio,
                return_indices: bool, samples, name: str):
    if output_size is None and output_ratio is None:
        raise ValueError(f"fractional_max_pool{nd}d requires specifying either an output_size "
                         f"or an output_ratio")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    k = _tuple(kernel_size, nd)
    sizes = tuple(x.shape[2:])
    if output_size is None:
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) \
            else (output_ratio,) * nd
        output_size = [int(sizes[i] * float(ratio[i])) for i in range(nd)]
    out = _tuple(output_size, nd)
    for i in range(nd):
        if out[i] + k[i] - 1 > sizes[i] - (nd == 3):  # torch's 3-d check is strict
            dim = ("time", "height", "width")[3 - nd + i]
            raise RuntimeError(f"{name}{'_out' if nd == 3 else ''}(): pool {dim} {k[i]} too "
                               f"large relative to input "
                               f"{dim} {sizes[i]}")
    n, c = x.shape[:2]
    if samples is None:
        drawn = x._backend.uniform(0.0, 1.0, (n, c, nd), np.float64)  # the device generator
        samples = np.asarray(Tensor._make(drawn, x._device).cpu().numpy())
    else:
        samples = np.asarray(samples.detach().cpu().numpy(), dtype=np.float64)
        if tuple(samples.shape) != (n, c, nd):
            raise RuntimeError(f"{name}(): expected _random_samples of shape {[n, c, nd]}, "
                               f"got {list(samples.shape)}")
    # torch's sample order: (w, h) in 2-d, but (t, h, w) in 3-d
    order = (1, 0) if nd == 2 else (0, 1, 2)
    axes = []
    for i in range(nd):
        starts = _intervals(samples[..., order[i]], sizes[i], out[i], k[i])  # (N, C, out_i)
        pos = starts[..., :, None] + np.arange(k[i])  # (N, C, out_i, k_i)
        axes.append(pos)
    # flat index of every tap: (N, C, *out, *k)
    lin = np.zeros((n, c) + out + k, dtype=np.int64)
    for i, pos in enumerate(axes):
        shape = [n, c] + [1] * (2 * nd)
        shape[2 + i], shape[2 + nd + i] = out[i], k[i]
        stride = int(np.prod(sizes[i + 1:]))
        lin = lin + pos.reshape(shape) * stride
    xp = x._backend.xp
    flat = x._data.reshape(n, c, -1)
    taps = xp.take_along_axis(flat, xp.asarray(lin.reshape(n, c, -1)), 2)
    taps = taps.reshape((n, c) + out + (int(np.prod(k)),))
    arg = xp.expand_dims(taps.argmax(-1), -1)
    idx = xp.take_along_axis(xp.asarray(lin.reshape((n, c) + out + (-1,))), arg, -1)[..., 0]
    idx_t = wrap(xp.ascontiguousarray(idx), x)
    y = x.flatten(2).gather(2, idx_t.flatten(2)).reshape(tuple(idx_t.shape))
    if unbatched:
        y, idx_t = y.squeeze(0), idx_t.squeeze(0)
    return (y, idx_t) if return_indices else y


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Max over ``kernel_size`` windows at pseudo-random starts giving ``output_size``."""
    return _fractional(input, 2, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, "fractional_max_pool2d")


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    return _fractional(input, 3, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, "fractional_max_pool3d")


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


__all__ = ["fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]
