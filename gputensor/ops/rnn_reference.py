"""The recurrent step written with ordinary differentiable tensor ops.

Used where the fused kernels cannot serve: PackedSequence inputs (rows finish at different
steps) and double backward (``create_graph=True`` through ``FusedRecurrence``, which rebuilds
the layer from these ops and differentiates that). Gates follow torch: LSTM (i, f, g, o), GRU
(r, z, n) with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
from __future__ import annotations

from ..tensor import Tensor
from .join_split import stack


def reference_step(mode: str, gi: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor,
                   b_hh: Tensor | None) -> tuple:
    """One recurrent step from the precomputed input projection ``gi`` (bias b_ih included);
    returns (h', c') (c' None except for LSTM)."""
    gh = h @ w_hh.t()
    if b_hh is not None:
        gh = gh + b_hh
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
    if mode == "GRU":
        ir, iz, in_ = gi.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
        n = (in_ + r * hn).tanh()
        return n + z * (h - n), None
    pre = gi + gh
    return (pre.tanh() if mode == "RNN_TANH" else pre.relu()), None


def project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    """``x @ w_ih^T + b_ih`` for every leading position as one 2-D matmul."""
    lead = tuple(x.shape[:-1])
    out = x.reshape(-1, x.shape[-1]) @ w_ih.t()
    if b_ih is not None:
        out = out + b_ih
    return out.reshape(lead + (w_ih.shape[0],))


def reference_layer(mode: str, reverse: bool, x: Tensor, h0: Tensor, c0: Tensor | None,
                    w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                    b_hh: Tensor | None) -> tuple:
    """One layer and direction over a time-major (T, B, in) ``x``: (out, h_n, c_n)."""
    gi = project(x, w_ih, b_ih)
    h, c = h0, c0
    ys = [None] * x.shape[0]
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        h, c = reference_step(mode, gi[t], h, c, w_hh, b_hh)
        ys[t] = h
    return stack(ys), h, c
