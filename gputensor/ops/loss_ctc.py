"""Connectionist temporal classification loss (F.ctc_loss) with torch's semantics.

The forward is the alpha recursion in log space over the blank-extended labels, vectorized over
the batch (one step per time frame; samples whose input has ended keep their last alpha). The
backward is torch's alpha-beta formula, including its ``exp(log_probs)`` term: torch's gradient
is the one w.r.t. the logits of a log_softmax, so values agree with torch's exactly and the
gradient through a preceding log_softmax is the true one.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .loss import _check_reduction, _tname

_NEG = -np.inf


def _lse(xp, *arrays):
    """Elementwise log(sum(exp(a))) of equally shaped arrays; -inf where all are -inf."""
    m = arrays[0]
    for a in arrays[1:]:
        m = xp.maximum(m, a)
    safe = xp.where(xp.isfinite(m), m, 0)
    s = sum(xp.exp(a - safe) for a in arrays)
    return xp.log(s) + safe


def _shift(xp, a, k: int):
    """``a`` moved k places right along the last axis, -inf filled."""
    pad = xp.full(a.shape[:-1] + (k,), _NEG, dtype=a.dtype)
    return xp.concatenate([pad, a[..., :-k]], axis=-1) if a.shape[-1] > k else \
        xp.full(a.shape, _NEG, dtype=a.dtype)


def _unshift(xp, a, k: int):
    pad = xp.full(a.shape[:-1] + (k,), _NEG, dtype=a.dtype)
    return xp.concatenate([a[..., k:], pad], axis=-1) if a.shape[-1] > k else \
        xp.full(a.shape, _NEG, dtype=a.dtype)


class CTCLoss(Function):
    """Per-sample negative log-likelihood of the targets; lp (T, N, C), ext (N, L) extended
    labels, skip (N, L) where the s-2 transition is allowed, Tn / Sn lengths (N,)."""

    @staticmethod
    def forward(ctx, log_probs, ext, skip, Tn, Sn, zero_infinity):
        xp = log_probs._backend.xp
        lp = log_probs._data
        T, N, _ = lp.shape
        L = ext.shape[1]
        s = xp.arange(L)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lpe = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T, N, L)), axis=2)
            start = (s[None] < xp.minimum(2 * Sn + 1, 2)[:, None])
            alphas = xp.full((T, N, L), _NEG, dtype=lp.dtype)
            if T:
                alphas[0] = xp.where(start, lpe[0], _NEG)
            for t in range(1, T):
                prev = alphas[t - 1]
                a2 = xp.where(skip, _shift(xp, prev, 2), _NEG)
                new = _lse(xp, prev, _shift(xp, prev, 1), a2) + lpe[t]
                alphas[t] = xp.where((t < Tn)[:, None], new, prev)
            idx = xp.arange(N)
            if T:
                last = alphas[xp.maximum(Tn - 1, 0), idx]  # (N, L)
                end1 = last[idx, 2 * Sn]
                end2 = xp.where(Sn > 0, last[idx, xp.maximum(2 * Sn - 1, 0)], _NEG)
                ll = _lse(xp, end1, end2)
            else:
                ll = xp.full(N, _NEG, dtype=lp.dtype)
            ll = xp.where(Tn == 0, xp.where(Sn == 0, 0.0, _NEG), ll).astype(lp.dtype)
            nll = -ll
        ctx.save_for_backward(log_probs)
        ctx.keep = (alphas, lpe, nll, ext, skip, Tn, Sn, zero_infinity)
        out = xp.where(xp.isinf(nll), 0.0, nll).astype(lp.dtype) if zero_infinity else nll
        return wrap(out, log_probs)

    @staticmethod
    def backward(ctx, g):
        (log_probs,) = ctx.saved_tensors
        alphas, lpe, nll, ext, skip, Tn, Sn, zero_infinity = ctx.keep
        xp = log_probs._backend.xp
        lp = log_probs._data
        T, N, C = lp.shape
        L = ext.shape[1]
        s = xp.arange(L)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            betas = xp.full((T, N, L), _NEG, dtype=lp.dtype)
            ends = (s[None] == 2 * Sn[:, None]) | ((s[None] == 2 * Sn[:, None] - 1) &
                                                  (Sn[:, None] > 0))
            skip_next = _unshift(xp, skip, 2)  # s -> s+2 allowed iff skip at s+2
            nxt = xp.full((N, L), _NEG, dtype=lp.dtype)
            for t in range(T - 1, -1, -1):
                b2 = xp.where(skip_next, _unshift(xp, nxt, 2), _NEG)
                rec = _lse(xp, nxt, _unshift(xp, nxt, 1), b2) + lpe[t]
                init = xp.where(ends, lpe[t], _NEG)
                cur = xp.where((t == Tn - 1)[:, None], init,
                               xp.where((t < Tn - 1)[:, None], rec, _NEG))
                betas[t] = cur
                nxt = cur
            ab = alphas + betas  # (T, N, L); alphas beyond Tn are masked by betas = -inf
            m = ab.max(axis=2, keepdims=True) if L else xp.zeros((T, N, 1), lp.dtype)
            m = xp.where(xp.isfinite(m), m, 0)
            onehot = (ext[:, :, None] == xp.arange(C)).astype(lp.dtype)  # (N, L, C)
            sums = xp.matmul(xp.exp(ab - m).transpose(1, 0, 2), onehot).transpose(1, 0, 2)
            lcab = xp.log(sums) + m
            grad = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
            live = xp.arange(T)[:, None] < Tn[None, :]
            if zero_infinity:
                live = live & ~xp.isinf(nll)[None, :]
            grad = xp.where(live[:, :, None], grad, 0).astype(lp.dtype)
        return wrap(grad, log_probs) * g.reshape(1, N, 1), None, None, None, None, None


def _lengths(name: str, v, xp) -> np.ndarray:
    if isinstance(v, Tensor):
        vals = np.asarray(v.detach().cpu().numpy()).reshape(-1)
    elif isinstance(v, (list, tuple)):
        vals = np.asarray(v).reshape(-1)
    else:
        raise TypeError(f"ctc_loss(): argument '{name}' must be tuple of ints or Tensor, not "
                        f"{type(v).__name__}")
    return vals.astype(np.int64)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of log-probabilities (T, N, C) or unbatched (T, C); targets padded (N, S) or
    concatenated 1-D; lengths as tensors or tuples. 'mean' divides each sample's loss by its
    target length (at least 1), then averages over the batch."""
    _check_reduction(reduction)
    if not isinstance(log_probs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError("ctc_loss(): log_probs and targets must be Tensors")
    if not log_probs.is_floating_point() or log_probs.dtype.name not in ("float32", "float64"):
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for "
                                  f"'{_tname(log_probs)}'")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0)
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, got "
                           f"{log_probs.ndim}-D")
    T, N, C = log_probs.shape
    xp = log_probs._backend.xp
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    il = _lengths("input_lengths", input_lengths, xp)
    tl = _lengths("target_lengths", target_lengths, xp)
    if il.size != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    for v in il:
        if v > T or v < 0:
            raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got "
                               f"value {v} (while checking arguments for "
                               f"ctc_loss_allocate_outputs)")
    tg = np.asarray(targets.detach().cpu().numpy()).astype(np.int64)
    S = int(tl.max()) if N else 0
    if tg.ndim == 1 and not unbatched:  # concatenated targets
        if int(tl.sum()) > tg.size:
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.sum())} at "
                               f"dimension 0, but got size {tg.size} for argument #2 'targets' "
                               f"(while checking arguments for ctc_loss_allocate_outputs)")
        offs = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        pad = np.full((N, S), blank, dtype=np.int64)
        for n in range(N):
            pad[n, :tl[n]] = tg[offs[n]:offs[n] + tl[n]]
        tg = pad
    else:
        if tg.ndim != 2 or tg.shape[0] != N:
            raise RuntimeError(f"ctc_loss: expected targets of shape (N, S) with N={N}, got "
                               f"{list(targets.shape)}")
        if S > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {S} at dimension 1, but "
                               f"got size {tg.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss_allocate_outputs)")
        tg = np.where(np.arange(tg.shape[1])[None] < tl[:, None], tg, blank)[:, :S]
    ext = np.full((N, 2 * S + 1), blank, dtype=np.int64)
    ext[:, 1::2] = tg
    if bool(((ext < 0) | (ext >= C)).any()):
        raise RuntimeError(f"ctc_loss: target index out of range [0, {C})")
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    per = CTCLoss.apply(log_probs, xp.asarray(ext), xp.asarray(skip), xp.asarray(il),
                        xp.asarray(tl), bool(zero_infinity))
    if reduction == "mean":
        denom = wrap(xp.asarray(np.maximum(tl, 1)).astype(log_probs._data.dtype), log_probs)
        return (per / denom).mean()
    if reduction == "sum":
        return per.sum()
    return per.reshape(()) if unbatched else per


__all__ = ["ctc_loss"]
