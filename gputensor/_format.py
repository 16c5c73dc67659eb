"""torch-style ``repr`` for tensors."""
from __future__ import annotations

import numpy as np

from . import _dtype as dt


def _float_formatter(a: np.ndarray):
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    amax, amin = np.abs(finite).max(), np.abs(finite).min()
    integral = np.all(finite == np.round(finite))
    if integral and amax < 1e8:
        return lambda v: _special(v) or f"{v:.0f}."
    if amax >= 1e8 or (amin < 1e-4 and amin != 0) or (amax / max(amin, 1e-300) > 1e3 and amax > 1e3):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def tensor_repr(t) -> str:
    a = t._backend.to_numpy(t._data)
    prefix = "tensor("
    if a.dtype.kind == "f":
        fmt = {"float_kind": _float_formatter(a.astype(np.float64))}
    elif a.dtype.kind == "b":
        fmt = {"bool": lambda v: "True" if v else "False"}
    else:
        fmt = None
    if a.size == 0:
        body = "[]"
    else:
        body = np.array2string(a, separator=", ", prefix=prefix, formatter=fmt, threshold=1000,
                               edgeitems=3, max_line_width=80)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    default = {"f": dt.get_default_dtype(), "i": dt.int64, "b": dt.bool_}.get(a.dtype.kind)
    if a.size == 0 and a.ndim != 1:
        extras.append(f"size={tuple(a.shape)}")
    if default is None or t.dtype is not default:
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
