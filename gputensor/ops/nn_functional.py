"""Stateless forms of the core nn layers: linear, dropout, embedding, one_hot, pad, norms.

Normalization shares one Function (``Normalize``) with a hand-derived backward; it also returns
the mean and reciprocal std as differentiable outputs, so double-backward stays exact.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import pointwise as pw
from ._util import promote, wrap
from .elementwise import Add
from .index import check_rows
from .activation import _const, _maybe_inplace, _piecewise, _require_float
from .padding import pad  # noqa: F401  (F.pad lives in ops/padding.py)

# -- linear -----------------------------------------------------------------------------------

def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with torch's error for mismatched feature sizes."""
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        rows = input.numel() // max(input.shape[-1], 1) if input.ndim else 1
        k = input.shape[-1] if input.ndim else 1
        wt = tuple(weight.shape[::-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k} and "
                           f"{'x'.join(map(str, wt))})")
    if bias is not None:  # torch runs an addmm: its dtype checks, in its order
        from .linalg import scalar_name
        for a, b, what in ((bias, weight, "self"), (input, weight, "mat1")):
            if a._data.dtype != b._data.dtype:
                raise RuntimeError(f"{what} and mat2 must have the same dtype, but got "
                                   f"{scalar_name(a)} and {scalar_name(b)}")
    out = input.matmul(weight.t())
    if bias is None:
        return out
    return _AddmmLinear.apply(*promote(out, bias)) if input.ndim == 2 else \
        _ViewLinear.apply(*promote(out, bias))


class _AddmmLinear(Add):  # ``x @ W.T + b`` is one addmm in torch: print its node's name
    _torch_name = "AddmmBackward0"


class _ViewLinear(Add):  # torch's linear of (..., in) input: an addmm, viewed
    _torch_name = "ViewBackward0"


# -- relu with torch.nn.functional's ``inplace`` flag ------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, pw.relu(input), inplace)


# -- dropout ----------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(input: Tensor, p: float, shape: tuple):
    """Keep with probability 1-p, scaled by 1/(1-p) (all zeros when p == 1), broadcast to the
    input's shape (a constant array: the in-place form must not save the input)."""
    be = input._backend
    keep = be.uniform(0.0, 1.0, shape, np.float64) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = (keep * scale).astype(input._data.dtype)
    return be.xp.broadcast_to(mask, input._data.shape)


def _apply_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                   shape: tuple) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    _require_float(input, "dropout")
    return _piecewise(input, _dropout_mask(input, p, shape), None, inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    return _apply_dropout(input, p, training, inplace, tuple(input.shape))


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     dims: int, op: str) -> Tensor:
    """Zero whole channels: dim 1 of an (N, C, *spatial) input, dim 0 of an unbatched one."""
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: Expected {dims + 1}D or {dims + 2}D input, but received a "
                           f"{input.ndim}D input. Note that {op} exists to provide channel-wise "
                           f"dropout on inputs with {dims} spatial dimension, a channel "
                           f"dimension, and an optional batch dimension (i.e. {dims + 1}D or "
                           f"{dims + 2}D inputs).")
    lead = input.ndim - dims
    shape = tuple(input.shape[:lead]) + (1,) * dims
    return _apply_dropout(input, p, training, inplace, shape)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def _warn_dims(op: str, ndim: int, spatial: int) -> None:
    import warnings
    warnings.warn(f"{op}: Received a {ndim}-D input to {op}, which is deprecated and will result "
                  f"in an error in a future release. To retain the behavior and silence this "
                  f"warning, please use dropout instead. Note that {op} exists to provide "
                  f"channel-wise dropout on inputs with {spatial} spatial dimensions, a channel "
                  f"dimension, and an optional batch dimension (i.e. {spatial + 1}D or "
                  f"{spatial + 2}D inputs).", UserWarning, stacklevel=3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout over dim 1 (torch's rules: other ranks warn; 3-D is taken as (N, C, L))."""
    if input.ndim not in (3, 4):
        _warn_dims("dropout2d", input.ndim, 2)
    if input.ndim == 3:
        import warnings
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", UserWarning, stacklevel=2)
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _apply_dropout(input, p, training, inplace, shape)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout; inputs that are not 5-D are unbatched (and warn unless 4-D), as torch."""
    if input.ndim not in (4, 5):
        _warn_dims("dropout3d", input.ndim, 3)
    lead = (1,) if input.ndim == 5 else ()
    shape = tuple(input.shape[:len(lead) + 1]) + (1,) * (input.ndim - len(lead) - 1)
    return _apply_dropout(input, p, training, inplace, shape)


# -- embedding / one_hot ----------------------------------------------------------------------

class _MaskGrad(Function):
    """Identity forward; the gradient is multiplied by a constant mask."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return wrap(x._data, x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def _check_index(input: Tensor, op: str) -> None:
    if not isinstance(input, Tensor) or input.dtype not in (dt.int64, dt.int32):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"{op}: expected indices of type Long or Int, but got {got}")


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``input``; the ``padding_idx`` row gets no gradient."""
    _check_index(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"Padding_idx must be within num_embeddings (got {padding_idx} for "
                             f"{n} embeddings)")
        padding_idx %= n
    check_rows(input._data, n)  # torch never wraps negative rows here
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    out = weight[input]
    if padding_idx is not None and out.requires_grad:
        keep = input._backend.xp.not_equal(input._data, padding_idx)[..., None]
        out = _MaskGrad.apply(out, _const(keep, out))
    return out


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """torch's ``max_norm``: rescale (in place, untracked) looked-up rows whose norm exceeds it."""
    xp = weight._backend.xp
    rows = xp.unique(input._data.reshape(-1))
    w = weight._data
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    w[rows] = w[rows] * scale[:, None].astype(w.dtype)
    weight._version.value += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    if not isinstance(tensor, Tensor) or tensor.dtype is not dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp, a = tensor._backend.xp, tensor._data
    if a.size and int(a.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and int(a.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return wrap((a[..., None] == xp.arange(num_classes)).astype(np.int64), tensor)


# -- normalization ----------------------------------------------------------------------------

class Normalize(Function):
    """``(x - mean) * rstd`` over ``dims``; outputs (xhat, mean, rstd), all differentiable."""

    @staticmethod
    def forward(ctx, x, dims, eps):
        xp = x._backend.xp
        a = x._data.astype(np.float32, copy=False) if x._data.dtype == np.float16 else x._data
        mean = a.mean(axis=dims, keepdims=True)
        centered = a - mean
        rstd = 1.0 / xp.sqrt((centered * centered).mean(axis=dims, keepdims=True) + eps)
        t = x._data.dtype
        xhat = wrap((centered * rstd).astype(t, copy=False), x)
        ctx.dims, ctx.n = dims, a.size // max(mean.size, 1)
        rstd_t = wrap(rstd.astype(t, copy=False), x)
        ctx.save_for_backward(xhat, rstd_t)
        ctx.set_materialize_grads(False)
        return xhat, wrap(mean.astype(t, copy=False), x), rstd_t

    @staticmethod
    def backward(ctx, g_xhat, g_mean, g_rstd):
        xhat, rstd = ctx.saved_tensors
        dims, n = ctx.dims, ctx.n
        gx = None
        if g_xhat is not None:
            gx = (g_xhat - g_xhat.mean(dims, keepdim=True)
                  - xhat * (g_xhat * xhat).mean(dims, keepdim=True)) * rstd
        if g_mean is not None:
            gm = (g_mean / n).expand(tuple(xhat.shape))
            gx = gm if gx is None else gx + gm
        if g_rstd is not None:
            gr = g_rstd * rstd * rstd * xhat * (-1.0 / n)
            gx = gr if gx is None else gx + gr
        return gx, None, None


def _affine(x: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    if weight is not None:
        x = x * weight.reshape(shape)
    if bias is not None:
        x = x + bias.reshape(shape)
    return x


def _check_param(t: Tensor | None, size: tuple, name: str, op: str) -> None:
    if t is not None and tuple(t.shape) != tuple(size):
        raise RuntimeError(f"{op}: expected {name} of shape {tuple(size)}, but got "
                           f"{tuple(t.shape)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    _require_float(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or k > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    _check_param(weight, shape, "weight", "layer_norm")
    _check_param(bias, shape, "bias", "layer_norm")
    xhat = Normalize.apply(input, tuple(range(input.ndim - k, input.ndim)), eps)[0]
    return _affine(xhat, weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    _require_float(input, "group_norm")
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of at least 2 dims (N, C, *), got "
                           f"{list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _check_param(weight, (c,), "weight", "group_norm")
    _check_param(bias, (c,), "bias", "group_norm")
    grouped = input.reshape(n, num_groups, -1)
    xhat = Normalize.apply(grouped, (2,), eps)[0].reshape(tuple(input.shape))
    return _affine(xhat, weight, bias, (c,) + (1,) * (input.ndim - 2))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch statistics when ``training`` (updating running stats with the unbiased variance),
    else the running statistics."""
    _require_float(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (N, C, *), got "
                         f"{input.ndim}D input of size {list(input.shape)}")
    c = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_param(t, (c,), name, "batch_norm")
    shape = (c,) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(input.shape)}")
        xhat, mean, _ = Normalize.apply(input, dims, eps)
        if running_mean is not None and running_var is not None:
            _update_running(input, mean, running_mean, running_var, dims, momentum, count)
        return _affine(xhat, weight, bias, shape)
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when not "
                           "training")
    scale = (running_var.reshape(shape) + eps) ** -0.5
    return _affine((input - running_mean.reshape(shape)) * scale, weight, bias, shape)


def _update_running(input: Tensor, mean: Tensor, running_mean: Tensor, running_var: Tensor,
                    dims: tuple, momentum: float, count: int) -> None:
    xp, a = input._backend.xp, input._data
    var = a.astype(np.float64 if a.dtype == np.float64 else np.float32).var(axis=dims, ddof=1)
    with no_grad():
        new_mean = running_mean._data * (1 - momentum) + mean._data.reshape(-1) * momentum
        new_var = running_var._data * (1 - momentum) + var * momentum
        running_mean._assign(_const(new_mean, running_mean))
        running_var._assign(_const(xp.asarray(new_var), running_var))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    _require_float(input, "normalize")
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps)
    return input / denom.expand_as(input)


__all__ = [
    "batch_norm",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding",
    "group_norm",
    "layer_norm",
    "linear",
    "normalize",
    "one_hot",
    "pad",
    "relu",
]
