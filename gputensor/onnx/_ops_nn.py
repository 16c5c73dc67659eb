"""Converters for the nn ops: convolutions, pooling, normalization, activations, attention.

Pooling and the activations whose forward computes masks from the data (leaky_relu, elu,
softplus, hardtanh) are captured as whole functions (``_trace.CAPTURED_FUNCTIONS``): their
attributes live in closures or their masks outside any Function.
"""
from __future__ import annotations

import numpy as np

from ..ops import activation as _act
from ..ops import attention as _attn
from ..ops import conv as _conv
from ..ops import conv_transpose as _convt
from ..ops import nn_functional as _nnf
from ..ops import pool as _pool
from ..tensor import Tensor
from ._graph import captured, converter, to_numpy
from ._ops import out_dtype, reduce
from .errors import OnnxExporterError


# -- linear and convolution ---------------------------------------------------------------------

@captured(_nnf.linear)
def _linear(g, rec):
    """Gemm (transB=1) for 2-D input, as torch; MatMul with the transposed weight + Add else."""
    p = rec.params()
    x, w = g.param(rec, "input"), g.param(rec, "weight")
    b = g.param(rec, "bias") if p["bias"] is not None else None
    if p["input"].ndim == 2:
        return g.node("Gemm", [x, w] + ([b] if b else []), transB=1)
    wt = g.const(np.ascontiguousarray(to_numpy(p["weight"]).T), "weight_t")
    y = g.node("MatMul", [x, wt])
    return g.node("Add", [y, b]) if b else y


def _conv_pads(p: dict, w: Tensor, n: int, op: str) -> list:
    """ONNX pads (begins then ends) for an int/tuple or 'same'/'valid' ``padding``."""
    pad = p["padding"]
    if isinstance(pad, str):
        if pad == "valid":
            return [0] * (2 * n)
        d = p["dilation"]
        d = (d,) * n if isinstance(d, int) else tuple(d)
        total = [d[i] * (w.shape[2 + i] - 1) for i in range(n)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    pad = (pad,) * n if isinstance(pad, int) else tuple(pad)
    return list(pad) * 2


def _tuple(v, n: int) -> list:
    return [int(v)] * n if isinstance(v, int) else [int(a) for a in v]


@captured(_conv.conv2d, _conv.conv1d)
def _conv_nd(g, rec):
    """conv1d/conv2d as one Conv node with its bias, as torch exports them."""
    p = rec.params()
    w = p["weight"]
    n = w.ndim - 2
    x = g.param(rec, "input")
    unbatched = p["input"].ndim == n + 1
    if unbatched:
        x = g.node("Unsqueeze", [x, g.ints([0])])
    ins = [x, g.param(rec, "weight")]
    if p["bias"] is not None:
        ins.append(g.param(rec, "bias"))
    y = g.node("Conv", ins, kernel_shape=list(w.shape[2:]), strides=_tuple(p["stride"], n),
               pads=_conv_pads(p, w, n, rec.name), dilations=_tuple(p["dilation"], n),
               group=int(p["groups"]))
    return g.node("Squeeze", [y, g.ints([0])]) if unbatched else y


@converter(_conv.Conv2d)
def _conv2d(g, rec):
    p = rec.args[2]
    w = rec.args[1]
    return g.node("Conv", [g.input(rec, 0), g.input(rec, 1)], kernel_shape=list(w.shape[2:]),
                  strides=list(p.stride), pads=list(p.padding) * 2, dilations=list(p.dilation),
                  group=int(p.groups))


@captured(_convt.conv_transpose2d, _convt.conv_transpose1d)
def _conv_transpose_nd(g, rec):
    """conv_transpose1d/2d as one ConvTranspose node with its bias, as torch exports them."""
    p = rec.params()
    w = p["weight"]
    n = w.ndim - 2
    x = g.param(rec, "input")
    unbatched = p["input"].ndim == n + 1
    if unbatched:
        x = g.node("Unsqueeze", [x, g.ints([0])])
    ins = [x, g.param(rec, "weight")] + ([g.param(rec, "bias")] if p["bias"] is not None else [])
    y = g.node("ConvTranspose", ins, kernel_shape=list(w.shape[2:]),
               strides=_tuple(p["stride"], n), pads=_tuple(p["padding"], n) * 2,
               output_padding=_tuple(p["output_padding"], n),
               dilations=_tuple(p["dilation"], n), group=int(p["groups"]))
    return g.node("Squeeze", [y, g.ints([0])]) if unbatched else y


@converter(_conv.ConvBackwardData)
def _conv_transpose(g, rec):
    """conv_transpose2d: the data gradient of a conv, output size fixed by output_padding."""
    x, w, out_shape, p = rec.args[:4]
    k = w.shape[2:]
    base = [(x.shape[2 + i] - 1) * p.stride[i] - 2 * p.padding[i] + p.dilation[i] * (k[i] - 1) + 1
            for i in (0, 1)]
    extra = [int(out_shape[2 + i]) - base[i] for i in (0, 1)]
    if min(extra) < 0:
        raise OnnxExporterError(f"{rec.name}: unexpected transposed-convolution output size")
    return g.node("ConvTranspose", [g.input(rec, 0), g.input(rec, 1)], kernel_shape=list(k),
                  strides=list(p.stride), pads=list(p.padding) * 2, dilations=list(p.dilation),
                  group=int(p.groups), output_padding=extra)


# -- pooling ------------------------------------------------------------------------------------

def _pool_input(g, rec):
    """(value, unbatched): (C, H, W) inputs get a batch dim for the pooling node."""
    x = g.param(rec, "input")
    if rec.args[0].ndim == 3:
        return g.node("Unsqueeze", [x, g.ints([0])]), True
    return x, False


def _pool_output(g, y: str, unbatched: bool) -> str:
    return g.node("Squeeze", [y, g.ints([0])]) if unbatched else y


def _window(p: dict, op: str) -> tuple:
    k = _conv.pair(p["kernel_size"], "kernel_size", op)
    s = k if p["stride"] is None or p["stride"] == () else _conv.pair(p["stride"], "stride", op)
    return k, s, _conv.pair(p["padding"], "padding", op)


@captured(_pool.max_pool2d)
def _max_pool2d(g, rec):
    p = rec.params()
    if p["return_indices"]:
        raise OnnxExporterError("max_pool2d with return_indices=True is not supported by "
                                "gputensor.onnx")
    k, s, pad = _window(p, "max_pool2d")
    d = _conv.pair(p["dilation"], "dilation", "max_pool2d")
    x, unbatched = _pool_input(g, rec)
    y = g.node("MaxPool", [x], kernel_shape=list(k), strides=list(s), pads=list(pad) * 2,
               dilations=list(d), ceil_mode=int(bool(p["ceil_mode"])))
    return _pool_output(g, y, unbatched)


@captured(_pool.avg_pool2d)
def _avg_pool2d(g, rec):
    p = rec.params()
    if p["divisor_override"] is not None:
        raise OnnxExporterError("avg_pool2d with divisor_override is not supported by "
                                "gputensor.onnx")
    k, s, pad = _window(p, "avg_pool2d")
    x, unbatched = _pool_input(g, rec)
    y = g.node("AveragePool", [x], kernel_shape=list(k), strides=list(s), pads=list(pad) * 2,
               ceil_mode=int(bool(p["ceil_mode"])),
               count_include_pad=int(bool(p["count_include_pad"])))
    return _pool_output(g, y, unbatched)


@captured(_pool.adaptive_avg_pool2d)
def _adaptive_avg_pool2d(g, rec):
    """GlobalAveragePool for output 1x1; an AveragePool when the windows tile evenly."""
    p = rec.params()
    size = p["output_size"]
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    hw = tuple(rec.args[0].shape[-2:])
    size = tuple(hw[i] if v is None else int(v) for i, v in enumerate(size))
    x, unbatched = _pool_input(g, rec)
    if size == (1, 1):
        y = g.node("GlobalAveragePool", [x])
    elif all(hw[i] % size[i] == 0 for i in (0, 1)):
        k = [hw[i] // size[i] for i in (0, 1)]
        y = g.node("AveragePool", [x], kernel_shape=k, strides=k)
    else:
        raise OnnxExporterError(f"adaptive_avg_pool2d: input size {list(hw)} is not a multiple "
                                f"of output size {list(size)}; ONNX has no adaptive pooling")
    return _pool_output(g, y, unbatched)


# -- normalization ------------------------------------------------------------------------------

@converter(_nnf.Normalize)
def _normalize(g, rec):
    """(x - mean) * rstd over ``dims``: LayerNormalization over trailing dims, else by hand."""
    x_t, dims, eps = rec.args[:3]
    x, nd = g.input(rec, 0), x_t.ndim
    dims = sorted(int(d) % nd for d in dims)
    dt = x_t._data.dtype
    if dims == list(range(nd - len(dims), nd)):
        norm_shape = tuple(x_t.shape[nd - len(dims):])
        ones, zeros = g.const(np.ones(norm_shape, dt)), g.const(np.zeros(norm_shape, dt))
        return g.node("LayerNormalization", [x, ones, zeros], n_out=3, axis=-len(dims),
                      epsilon=float(eps))
    mean = reduce(g, "ReduceMean", x, dims, True)
    centered = g.node("Sub", [x, mean])
    var = reduce(g, "ReduceMean", g.node("Mul", [centered, centered]), dims, True)
    rstd = g.node("Reciprocal", [g.node("Sqrt", [g.node("Add", [var, g.value(eps, dtype=dt)])])])
    return [g.node("Mul", [centered, rstd]), mean, rstd]


@captured(_nnf.layer_norm)
def _layer_norm(g, rec):
    """One LayerNormalization node with the affine weight and bias (opset 17)."""
    p = rec.params()
    x_t, dt = p["input"], out_dtype(rec)
    shape = p["normalized_shape"]
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    w = g.param(rec, "weight") if p["weight"] is not None else g.const(np.ones(shape, dt))
    b = g.param(rec, "bias") if p["bias"] is not None else g.const(np.zeros(shape, dt))
    return g.node("LayerNormalization", [g.param(rec, "input"), w, b],
                  axis=-len(shape), epsilon=float(p["eps"]))


@captured(_nnf.batch_norm)
def _batch_norm(g, rec):
    p = rec.params()
    x_t = p["input"]
    if p["training"] or p["running_mean"] is None:
        raise OnnxExporterError("batch_norm in training mode (batch statistics) is not "
                                "supported by gputensor.onnx; export the model in eval mode")
    c, dt = x_t.shape[1], x_t._data.dtype
    w = g.param(rec, "weight") if p["weight"] is not None else g.const(np.ones(c, dt))
    b = g.param(rec, "bias") if p["bias"] is not None else g.const(np.zeros(c, dt))
    return g.node("BatchNormalization", [g.param(rec, "input"), w, b,
                                         g.param(rec, "running_mean"),
                                         g.param(rec, "running_var")],
                  epsilon=float(p["eps"]), momentum=1.0 - float(p["momentum"] or 0.1))


# -- activations with data-dependent masks ------------------------------------------------------

@captured(_act.leaky_relu)
def _leaky_relu(g, rec):
    p = rec.params()
    return g.node("LeakyRelu", [g.param(rec, "input")], alpha=float(p["negative_slope"]))


@captured(_act.elu)
def _elu(g, rec):
    return g.node("Elu", [g.param(rec, "input")], alpha=float(rec.params()["alpha"]))


@captured(_act.hardtanh)
def _hardtanh(g, rec):
    p, dt = rec.params(), out_dtype(rec)
    return g.node("Clip", [g.param(rec, "input"), g.value(p["min_val"], dtype=dt),
                           g.value(p["max_val"], dtype=dt)])


@captured(_act.softplus)
def _softplus(g, rec):
    """torch's threshold (linear above it) only changes values below float precision."""
    p, dt = rec.params(), out_dtype(rec)
    x = g.param(rec, "input")
    beta = float(p["beta"])
    if beta == 1.0:
        return g.node("Softplus", [x])
    y = g.node("Softplus", [g.node("Mul", [x, g.value(beta, dtype=dt)])])
    return g.node("Div", [y, g.value(beta, dtype=dt)])


# -- attention ----------------------------------------------------------------------------------

@captured(_attn.additive_mask)
def _additive_mask(g, rec):
    """A bool mask as 0 / -inf (True drops a position unless ``disallow_true`` is False)."""
    p = rec.params()
    mask = p["mask"]
    if mask is None:
        return []
    m = g.param(rec, "mask")
    if mask._data.dtype != np.bool_:
        return g.node("Identity", [m])
    if not p["disallow_true"]:
        m = g.node("Not", [m])
    dt = out_dtype(rec)
    return g.node("Where", [m, g.value(-np.inf, dtype=dt), g.value(0.0, dtype=dt)])


@captured(_attn.attention_weights)
def _attention_weights(g, rec):
    """softmax(q k^T * scale + mask); rows with every key masked give zeros (torch's safe
    softmax) instead of ONNX Softmax's NaN."""
    p = rec.params()
    dt = out_dtype(rec)
    q, k = g.param(rec, "q"), g.param(rec, "k")
    nd = p["k"].ndim
    perm = list(range(nd - 2)) + [nd - 1, nd - 2]
    scores = g.node("MatMul", [g.node("Mul", [q, g.value(p["scale"], dtype=dt)]),
                               g.node("Transpose", [k], perm=perm)])
    if p["mask"] is None:
        return g.node("Softmax", [scores], axis=-1)
    scores = g.node("Add", [scores, g.param(rec, "mask", dt)])
    w = g.node("Softmax", [scores], axis=-1)
    return g.node("Where", [g.node("IsNaN", [w]), g.value(0.0, dtype=dt), w])

