"""torch-style ``repr`` for tensors: same number formats, column widths, line wrapping,
summarization (``...`` past 1000 elements) and suffixes (device, dtype, grad_fn)."""
from __future__ import annotations

import math

import numpy as np

from . import _dtype as dt

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
SCI_MODE = None  # None: chosen per tensor; True/False: forced (set_printoptions(sci_mode=...))

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """torch.set_printoptions: a ``profile`` first, then the given options; ``sci_mode`` is
    always set (None restores the automatic choice), as in torch."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        PRECISION = precision
    if threshold is not None:
        THRESHOLD = threshold
    if edgeitems is not None:
        EDGEITEMS = edgeitems
    if linewidth is not None:
        LINEWIDTH = linewidth
    SCI_MODE = sci_mode


def get_printoptions() -> dict:
    """The current options, as keywords ``set_printoptions`` accepts."""
    return dict(precision=PRECISION, threshold=THRESHOLD, edgeitems=EDGEITEMS,
                linewidth=LINEWIDTH, sci_mode=SCI_MODE)


class _Formatter:
    """One number format and column width for every element of a tensor, chosen as torch does:
    integral floats print as ``3.``, scientific notation when the nonzero finite magnitudes span
    more than 1e3 or reach 1e8 (or, for non-integral values, go below 1e-4)."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max((len(str(v)) for v in values.tolist()), default=1)
            return
        v = values.astype(np.float64)
        v = v[np.isfinite(v) & (v != 0)]
        if v.size == 0:
            return
        mags = np.abs(v)
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool(np.all(v == np.ceil(v)))
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        if SCI_MODE is not None:
            self.sci_mode = bool(SCI_MODE)
        self.width = max(len(self._number(x)) for x in v.tolist())

    def _number(self, v: float) -> str:
        if self.sci_mode:
            return f"{v:.{PRECISION}e}"
        if self.int_mode:
            return f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        return f"{v:.{PRECISION}f}"

    def format(self, v) -> str:
        s = self._number(v) if self.floating else str(v)
        return s.rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements that will be shown (edge items of every dim) when the tensor is summarized."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    cut = summarize and a.shape[0] > 2 * EDGEITEMS
    if a.ndim == 1:
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
        vals = a.tolist()
        items = ([fmt.format(x) for x in vals[:EDGEITEMS]] + [" ..."]
                 + [fmt.format(x) for x in vals[-EDGEITEMS:]]) if cut else [fmt.format(x)
                                                                           for x in vals]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(EDGEITEMS)) + [None] + list(range(len(a) - EDGEITEMS, len(a))) if cut \
        else range(len(a))
    parts = ["..." if i is None else _body(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t) -> str:
    a = t._backend.to_numpy(t._data)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    default = dt.get_default_dtype()
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    else:
        if t.dtype not in (default, dt.int64, dt.bool_):
            suffixes.append(f"dtype={t.dtype}")
        summarize = a.size > THRESHOLD
        if a.dtype == np.float16:
            a = a.astype(np.float32)
        fmt = _Formatter((_summarized(a) if summarize else a).reshape(-1))
        body = _body(a, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
