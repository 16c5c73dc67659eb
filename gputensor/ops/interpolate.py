"""``F.interpolate`` / ``F.upsample*``: nearest, nearest-exact, (bi/tri)linear, bicubic and area.

Every mode torch has for these is separable: each output index along an axis reads a few input
indices with fixed weights. Source indices and weights are computed on the host with torch's
formulas, in torch's precision (float32 for nearest and for float32 data, float64 for float64),
and each axis is resampled by ``index_select`` + weighted sum, so autograd (and double backward)
come from existing ops. Axes are resampled last to first, which reproduces the nesting order of
torch's kernels (h-weights outside w-weights), so results agree to the last bit or so.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..tensor import Tensor
from ._util import wrap
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d

_CUBIC_A = -0.75
_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact")
_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool"}
_LINEAR_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _scale_value(scale, in_size: int, out_size: int, dtype):
    """torch's ``compute_scales_value``: 1/scale_factor when one was given, else in/out."""
    if scale is not None and scale > 0:
        return dtype(1.0 / scale)
    return dtype(in_size) / dtype(out_size)


def _area_scale(scale, in_size: int, out_size: int, align_corners: bool, dtype):
    if align_corners:
        return dtype(in_size - 1) / dtype(out_size - 1) if out_size > 1 else dtype(0)
    return _scale_value(scale, in_size, out_size, dtype)


def _source_index(scale, out_size: int, align_corners: bool, cubic: bool, dtype) -> np.ndarray:
    dst = np.arange(out_size, dtype=dtype)
    if align_corners:
        return scale * dst
    src = scale * (dst + dtype(0.5)) - dtype(0.5)
    return src if cubic else np.maximum(src, dtype(0))


def _nearest(in_size: int, out_size: int, scale, exact: bool) -> tuple:
    if not exact and out_size == in_size:
        idx = np.arange(out_size)
    elif not exact and out_size == 2 * in_size:
        idx = np.arange(out_size) >> 1
    else:
        s = _scale_value(scale, in_size, out_size, np.float32)
        dst = np.arange(out_size)
        src = ((dst + 0.5) * np.float64(s)).astype(np.float32) if exact \
            else dst.astype(np.float32) * s
        idx = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    return [idx], None


def _linear(in_size: int, out_size: int, scale, align_corners: bool, dtype) -> tuple:
    s = _area_scale(scale, in_size, out_size, align_corners, dtype)
    real = _source_index(s, out_size, align_corners, False, dtype)
    i0 = real.astype(np.int64)
    i1 = i0 + (i0 < in_size - 1)
    l1 = (real - i0.astype(dtype)).astype(dtype)
    return [i0, i1], [(dtype(1) - l1).astype(dtype), l1]


def _cubic_weights(t: np.ndarray, dtype) -> list:
    a = dtype(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + dtype(2)) * x - (a + dtype(3))) * x * x + dtype(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - dtype(5) * a) * x + dtype(8) * a) * x - dtype(4) * a
    one = dtype(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _cubic(in_size: int, out_size: int, scale, align_corners: bool, dtype) -> tuple:
    s = _area_scale(scale, in_size, out_size, align_corners, dtype)
    real = _source_index(s, out_size, align_corners, True, dtype)
    base = np.minimum(np.floor(real).astype(np.int64), in_size - 1)
    t = np.clip(real - base.astype(dtype), dtype(0), dtype(1)).astype(dtype)
    idx = [np.clip(base - 1 + k, 0, in_size - 1) for k in range(4)]
    return idx, [w.astype(dtype) for w in _cubic_weights(t, dtype)]


def _resample_axis(x: Tensor, axis: int, idx: list, weights) -> Tensor:
    """sum_k weights[k][o] * x[..., idx[k][o], ...] along ``axis`` (no weights: one gather)."""
    xp = x._backend.xp
    shape = [1] * x.ndim
    shape[axis] = -1
    out = None
    for k, i in enumerate(idx):
        term = x.index_select(axis, wrap(xp.asarray(i), x))
        if weights is not None:
            w = wrap(xp.asarray(weights[k].astype(x._data.dtype)).reshape(shape), x)
            term = term * w
        out = term if out is None else out + term
    return out


def _output_size(input: Tensor, size, scale_factor, recompute_scale_factor) -> tuple:
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] "
                                "or Tuple[int, int, int], but got size with types "
                                f"{[type(v) for v in size]}")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * dim
        scales = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                    f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out = [int(math.floor(float(spatial[i]) * scales[i])) for i in range(dim)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor:
        scales = None
    return out, scales or [None] * dim


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample (N, C, *spatial) ``input`` to ``size`` or by ``scale_factor`` (torch's rules)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    out, scales = _output_size(input, size, scale_factor, recompute_scale_factor)
    if antialias:
        if not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                             "modes and requires a 4-D tensor as input")
        raise NotImplementedError("interpolate: antialias=True is not supported by gputensor")
    rank = input.ndim
    known = (mode in ("nearest", "nearest-exact", "area") and rank in (3, 4, 5)) or \
        _LINEAR_RANK.get(mode) == rank or (mode == "bicubic" and rank == 4)
    if not known:
        want = _LINEAR_RANK.get(mode)
        if want is not None and rank in (3, 4, 5):
            raise NotImplementedError(f"Got {rank}D input, but {mode} mode needs {want}D input")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{rank}D) for the modes: {_MODES} (got {mode})")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"{_kernel_name(mode, rank)}\" not implemented for "
                                  f"'{_TORCH_NAMES.get(input.dtype.name, input.dtype.name)}'")
    if any(o <= 0 for o in out):
        axes = "DHW"[3 - len(out):]
        fmt = (lambda v: ", ".join(f"{a}: {n}" for a, n in zip(axes, v)))
        joint = " and" if rank == 3 else ""  # torch's wording differs by rank
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({fmt(input.shape[2:])}){joint} output ({fmt(out)})")
    if mode == "area":
        return _area(input, out)
    dtype = np.float64 if input._data.dtype == np.float64 else np.float32
    y = input
    for d in reversed(range(rank - 2)):
        n_in, n_out = input.shape[2 + d], out[d]
        if mode in ("nearest", "nearest-exact"):
            idx, wts = _nearest(n_in, n_out, scales[d], mode == "nearest-exact")
        elif mode == "bicubic":
            idx, wts = _cubic(n_in, n_out, scales[d], align_corners, dtype)
        else:
            idx, wts = _linear(n_in, n_out, scales[d], align_corners, dtype)
        y = _resample_axis(y, 2 + d, idx, wts)
    return y


def _kernel_name(mode: str, rank: int) -> str:
    """The torch kernel whose dtype dispatch rejects non-float input (for its message)."""
    if mode == "area":
        return "adaptive_avg_pool3d_cpu" if rank == 5 else "adaptive_avg_pool2d"
    if rank == 4 and mode != "bicubic":
        return f"upsample_{'nearest' if 'nearest' in mode else 'bilinear'}2d_channels_last"
    kind = {"bicubic": "cubic"}.get(mode, "nearest" if "nearest" in mode else "linear")
    return f"compute_indices_weights_{kind}"


def _area(input: Tensor, out: list) -> Tensor:
    if input.ndim == 3:
        return adaptive_avg_pool1d(input, out)
    if input.ndim == 4:
        return adaptive_avg_pool2d(input, out)
    from .pool3d import adaptive_avg_pool3d
    return adaptive_avg_pool3d(input, out)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of ``interpolate`` (warns, as torch does)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]
