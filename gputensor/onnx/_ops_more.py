"""More converters: padding, the remaining mask-computing activations, min/max, norms.

Functions whose forward builds masks from the data (hardswish, prelu, selu, celu, threshold ...)
are captured whole, like those in ``_ops_nn``.
"""
from __future__ import annotations

import numpy as np

from ..ops import activation_more as _am
from ..ops import padding as _padding
from ..ops import pointwise as _pw
from ..ops import reduce_stats as _rs
from ._graph import captured, converter
from ._ops import out_dtype, reduce
from .errors import OnnxExporterError

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


@captured(_padding.pad)
def _pad(g, rec):
    """F.pad's (last dim first) pairs as ONNX Pad's begins-then-ends over all dims."""
    p = rec.params()
    x_t, amounts, mode = p["input"], [int(a) for a in p["pad"]], p["mode"]
    if mode not in _PAD_MODES or (mode == "circular" and g.opset < 19):
        raise OnnxExporterError(f"pad: mode {mode!r} needs opset 19 or is not supported")
    nd = x_t.ndim
    begins, ends = [0] * nd, [0] * nd
    for i in range(len(amounts) // 2):
        d = nd - 1 - i
        begins[d], ends[d] = amounts[2 * i], amounts[2 * i + 1]
    ins = [g.param(rec, "input"), g.ints(begins + ends)]
    if mode == "constant":
        ins.append(g.value(0.0 if p["value"] is None else p["value"], dtype=out_dtype(rec)))
    return g.node("Pad", ins, mode=_PAD_MODES[mode])


@captured(_am.hardsigmoid)
def _hardsigmoid(g, rec):
    return g.node("HardSigmoid", [g.param(rec, "input")], alpha=1.0 / 6, beta=0.5)


@captured(_am.hardswish)
def _hardswish(g, rec):
    return g.node("HardSwish", [g.param(rec, "input")])


@captured(_am.selu)
def _selu(g, rec):
    return g.node("Selu", [g.param(rec, "input")])


@captured(_am.celu)
def _celu(g, rec):
    return g.node("Celu", [g.param(rec, "input")], alpha=float(rec.params()["alpha"]))


@captured(_am.threshold)
def _threshold(g, rec):
    """``x if x > threshold else value``."""
    p, dt = rec.params(), out_dtype(rec)
    x = g.param(rec, "input")
    keep = g.node("Greater", [x, g.value(p["threshold"], dtype=dt)])
    return g.node("Where", [keep, x, g.value(p["value"], dtype=dt)])


@captured(_am.prelu)
def _prelu(g, rec):
    """PRelu with the (C,) slope laid along dim 1 (ONNX broadcasts it from the right)."""
    p = rec.params()
    x_t, w_t = p["input"], p["weight"]
    w = g.param(rec, "weight")
    if w_t.numel() > 1 and x_t.ndim > 2:
        w = g.node("Reshape", [w, g.ints([w_t.numel()] + [1] * (x_t.ndim - 2))])
    return g.node("PRelu", [g.param(rec, "input"), w])


@converter(_pw.Extremum)
def _extremum(g, rec):
    """torch.maximum / torch.minimum (and max(a, b) / min(a, b))."""
    kind = rec.args[2]
    if kind not in ("maximum", "minimum", "fmax", "fmin"):
        raise OnnxExporterError(f"{rec.name}: unknown extremum {kind!r}")
    dt = out_dtype(rec)
    return g.node("Max" if kind in ("maximum", "fmax") else "Min",
                  [g.input(rec, 0, dt), g.input(rec, 1, dt)])


@converter(_rs.PNorm)
def _pnorm(g, rec):
    """Vector p-norms over dims: ReduceL1 / ReduceL2, else (sum |x|^p)^(1/p)."""
    x_t, p, dims, keep = rec.args[:4]
    dims = list(range(x_t.ndim)) if dims is None else list(dims)
    x = g.input(rec, 0)
    if p in (1, 2):
        op = "ReduceL1" if p == 1 else "ReduceL2"
        if g.opset >= 18:
            return g.node(op, [x, g.ints(dims)], keepdims=int(bool(keep)))
        return g.node(op, [x], axes=dims, keepdims=int(bool(keep)))
    if not np.isfinite(p) or p == 0:
        raise OnnxExporterError(f"{rec.name}: the {p}-norm is not supported by gputensor.onnx")
    dt = out_dtype(rec)
    powered = g.node("Pow", [g.node("Abs", [x]), g.value(p, dtype=dt)])
    return g.node("Pow", [reduce(g, "ReduceSum", powered, dims, keep), g.value(1.0 / p, dtype=dt)])
