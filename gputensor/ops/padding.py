"""``F.pad`` in torch's four modes, with negative amounts (cropping) in every mode.

Constant padding writes the (cropped) input into a filled array; the other modes gather along
each padded dim with a precomputed index (its backward scatter-adds, so double backward is the
gather again). Reflect and replicate index relative to the *original* edges (a negative amount
crops, a positive one reflects/replicates the original border), while circular crops first and
then wraps around the cropped extent; both as torch does.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .index import _add_at

_NON_CONSTANT = ("reflect", "replicate", "circular")


class ConstantPad(Function):
    """Pad (or crop, for negative amounts) with a constant; the backward is the inverse crop."""

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        xp, a = x._backend.xp, x._data
        shape = tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, pads))
        out = xp.full(shape, value, dtype=a.dtype)
        src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(a.shape, pads))
        dst = tuple(slice(max(lo, 0), max(lo, 0) + max(s - max(-lo, 0) - max(-hi, 0), 0))
                    for s, (lo, hi) in zip(a.shape, pads))
        out[dst] = a[src]
        return wrap(out, x)

    @staticmethod
    def backward(ctx, g):
        return ConstantPad.apply(g, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None


class IndexPad(Function):
    """Pad by gathering along each padded dim (reflect / replicate / circular)."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.in_shape = index, x._data.shape
        a = x._data
        for d, idx in index:
            a = x._backend.xp.take(a, idx, axis=d)
        return wrap(a, x)

    @staticmethod
    def backward(ctx, g):
        return IndexPadBackward.apply(g, ctx.index, ctx.in_shape), None


class IndexPadBackward(Function):
    """Scatter-add a padded gradient back onto the input (adjoint of IndexPad)."""

    @staticmethod
    def forward(ctx, g, index, in_shape):
        ctx.index = index
        xp, a = g._backend.xp, g._data
        for d, idx in reversed(index):
            shape = list(a.shape)
            shape[d] = in_shape[d]
            out = xp.zeros(shape, dtype=a.dtype)
            _add_at(xp, out, (slice(None),) * d + (idx,), a)
            a = out
        return wrap(a, g)

    @staticmethod
    def backward(ctx, gg):
        return IndexPad.apply(gg, ctx.index), None, None


def _source_positions(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each output position along one dim, the input position it copies."""
    if mode == "circular":
        start, m = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        pos = np.arange(-max(lo, 0), m + max(hi, 0))
        return start + pos % m if m > 0 else pos[:0]
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    period = 2 * (n - 1)  # reflect
    if period == 0:
        return np.zeros_like(pos)
    pos = np.abs(pos) % period
    return np.where(pos >= n, period - pos, pos)


def _check_non_constant(input: Tensor, pairs: list, k: int, mode: str) -> None:
    """torch's shape rules for reflect / replicate / circular padding of the last ``k`` dims."""
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {2 * k} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    dims = range(input.ndim - 1, input.ndim - k - 1, -1)  # innermost first, as torch checks
    sizes = {d: input.shape[d] for d in dims}
    outs = {d: sizes[d] + sum(pairs[d]) for d in dims}
    for d in dims:
        lo, hi = pairs[d]
        if mode == "reflect" and (lo >= sizes[d] or hi >= sizes[d]):
            raise RuntimeError(f"Argument #{2 * k + 2}: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {d} of input {list(input.shape)}")
        if mode == "circular":
            cropped = sizes[d] - max(-lo, 0) - max(-hi, 0)
            if lo > sizes[d] or hi > sizes[d] or (cropped <= 0 < outs[d]):
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if outs[d] < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
    if mode != "circular" and any(outs[d] < (1 if k == 1 else 0) for d in dims):
        names = "DHW"[3 - k:]
        order = sorted(dims)
        ins = ", ".join(f"{c}: {sizes[d]}" for c, d in zip(names, order))
        got = " ".join(f"{c}: {outs[d]}" for c, d in zip(names, order))
        raise RuntimeError(f"input ({ins}) is too small. Calculated output {got}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """torch's ``F.pad``: ``pad`` lists (left, right) amounts starting from the last dim;
    negative amounts crop."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = [(0, 0)] * (input.ndim - k) + [(pad[2 * i], pad[2 * i + 1])
                                           for i in reversed(range(k))]
    if mode == "constant":
        if any(s - max(-lo, 0) - max(-hi, 0) < 0 for s, (lo, hi) in zip(input.shape, pairs)):
            raise RuntimeError("narrow(): length must be non-negative.")
        return ConstantPad.apply(input, tuple(pairs), 0 if value is None else value)
    if mode not in _NON_CONSTANT:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant(input, pairs, k, mode)
    xp = input._backend.xp
    index = tuple((d, xp.asarray(_source_positions(input.shape[d], lo, hi, mode)))
                  for d, (lo, hi) in enumerate(pairs) if lo or hi)
    return IndexPad.apply(input, index) if index else input.clone()


__all__ = ["pad"]
