"""One recurrent layer and direction (RNN tanh/relu, LSTM, GRU) as a single fused Function.

Laid out as cuDNN and torch's native RNNs are: the input projection of every time step is one
GEMM (x W_ih^T + b_ih over the whole sequence); each step runs the hidden GEMM h W_hh^T into a
preallocated buffer and then ONE kernel for all gate nonlinearities and the cell update
(``kernels.rnn_cpu`` / ``kernels.rnn_cuda``). Backward through time is hand-written the same
way: one kernel per step for the gate gradients plus the (B, G) x (G, H) GEMM carrying dL/dh
back, then the weight, bias and input gradients as GEMMs and sums over the whole sequence.

Double backward (``create_graph=True``) rebuilds the layer from differentiable ops
(``rnn_reference``) and differentiates that, so higher-order gradients stay exact.
"""
from __future__ import annotations

import importlib

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap
from .rnn_reference import reference_layer

MODES = {"RNN_TANH": 0, "RNN_RELU": 1, "LSTM": 2, "GRU": 3}
_LSTM, _GRU = 2, 3


class _Env:
    """Kernels, array module and GEMM of one device."""

    def __init__(self, t: Tensor):
        self.cuda = t._device.type == "cuda"
        self.k = importlib.import_module(
            "gputensor.kernels.rnn_cuda" if self.cuda else "gputensor.kernels.rnn_cpu")
        self.xp = t._backend.xp
        self._matmul = t._backend.kernels.matmul if self.cuda else None

    def mm(self, a, b, out=None):
        if not self.cuda:
            return np.matmul(a, b, out=out)
        r = self._matmul(a, b)
        if out is None:
            return r
        out[...] = r
        return out


def _compute_dtype(dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def _arr(t: Tensor | None, xp, cdt):
    return None if t is None else xp.ascontiguousarray(t._data.astype(cdt, copy=False))


def _forward(env: _Env, mode: int, reverse: bool, x, h0, c0, w_ih, w_hh, b_ih, b_hh) -> tuple:
    """(out, h_n, c_n, save, cs) for a time-major contiguous (T, B, I) ``x``."""
    xp, k = env.xp, env.k
    T, B, _ = x.shape
    G, H = w_hh.shape
    dt = x.dtype
    gi = env.mm(x.reshape(T * B, -1), w_ih.T)
    if b_ih is not None:
        gi += b_ih
    gi = gi.reshape(T, B, G)
    bhh = b_hh if b_hh is not None else xp.zeros(G, dt)
    out = xp.empty((T, B, H), dt)
    lstm = mode == _LSTM
    cs = xp.empty((T, B, H), dt) if lstm else None
    save = xp.empty((T, B, k.save_width(mode, H)), dt)
    gh = xp.empty((B, G), dt)
    h = h0 if h0 is not None else xp.zeros((B, H), dt)
    # unused arguments get dummies, each its own: the CUDA simulator copies every argument
    # back after a launch, and one array passed twice loses the kernel's writes
    dummy, dummy_out = xp.zeros((1, 1), dt), xp.zeros((1, 1), dt)
    c = (c0 if c0 is not None else xp.zeros((B, H), dt)) if lstm else dummy
    w_hh_t, approx = w_hh.T, k.approx_ok(dt)
    for n, t in enumerate(range(T - 1, -1, -1) if reverse else range(T)):
        if n == 0 and h0 is None:
            gh.fill(0)
        else:
            env.mm(h, w_hh_t, out=gh)
        c_out = cs[t] if lstm else dummy_out
        k.step_forward(mode, approx, gi[t], gh, bhh, h, c, out[t], c_out, save[t])
        h, c = out[t], c_out
    return out, h.copy(), (c.copy() if lstm else None), save, cs


def _backward(env: _Env, mode: int, reverse: bool, needs: tuple, x, h0, c0, w_ih, w_hh,
              has_bias: bool, out, save, cs, g_out, g_hn, g_cn) -> list:
    """Gradients (x, h0, c0, w_ih, w_hh, b_ih, b_hh) of one layer, None where not needed."""
    xp, k = env.xp, env.k
    T, B, I = x.shape
    G, H = w_hh.shape
    dt = x.dtype
    lstm = mode == _LSTM
    dgi = xp.empty((T, B, G), dt)
    dgh = xp.empty((T, B, G), dt) if mode == _GRU else dgi
    carry = g_hn.copy()
    dummies = [xp.zeros((1, 1), dt) for _ in range(3)]  # distinct arrays: see _forward
    dc = g_cn.copy() if lstm else dummies[0]
    dh_rec = xp.zeros((B, H), dt)
    h_init = h0 if h0 is not None else xp.zeros((B, H), dt)
    c_init = (c0 if c0 is not None else xp.zeros((B, H), dt)) if lstm else dummies[1]
    steps = list(range(T) if reverse else range(T - 1, -1, -1))
    for n, t in enumerate(steps):
        first = t == (T - 1 if reverse else 0)  # the step that read the initial state
        p = t + 1 if reverse else t - 1
        h_prev = h_init if first else out[p]
        c_prev = (c_init if first else cs[p]) if lstm else dummies[1]
        k.step_backward(mode, g_out[t], dh_rec, carry, dc, save[t], h_prev, c_prev, out[t],
                        dgi[t], dgh[t] if mode == _GRU else dummies[2])
        if n < T - 1 or needs[1]:
            env.mm(dgh[t], w_hh, out=dh_rec)
    grads = [None] * 7
    gi2, gh2 = dgi.reshape(T * B, G), dgh.reshape(T * B, G)
    if needs[0]:
        grads[0] = env.mm(gi2, w_ih).reshape(T, B, I)
    if needs[1]:
        grads[1] = dh_rec + carry
    if needs[2] and lstm:
        grads[2] = dc
    if needs[3]:
        grads[3] = env.mm(gi2.T, x.reshape(T * B, I))
    if needs[4]:
        hp = xp.empty((T, B, H), dt)
        if reverse:
            hp[:-1], hp[-1] = out[1:], h_init
        else:
            hp[1:], hp[0] = out[:-1], h_init
        grads[4] = env.mm(gh2.T, hp.reshape(T * B, H))
    if has_bias and needs[5]:
        grads[5] = gi2.sum(0)
    if has_bias and needs[6]:
        grads[6] = gh2.sum(0)
    return grads


class FusedRecurrence(Function):
    """``(out, h_n[, c_n]) = layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)`` for a time-major
    (T, B, I) ``x``; h0/c0/biases may be None (zeros / no bias), c0 is used by LSTM only."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode: str, reverse: bool):
        env = _Env(x)
        code = MODES[mode]
        cdt = _compute_dtype(x._data.dtype)
        arrs = [_arr(t, env.xp, cdt) for t in (x, h0, c0, w_ih, w_hh, b_ih, b_hh)]
        out, h_n, c_n, save, cs = _forward(env, code, reverse, *arrs)
        odt = x._data.dtype
        outs = tuple(wrap(a.astype(odt, copy=False), x) for a in (out, h_n, c_n)
                     if a is not None)
        if ctx._recording:
            ctx.mode, ctx.reverse, ctx.buffers = mode, reverse, (out, save, cs)
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, outs[0])
        return outs

    @staticmethod
    def backward(ctx, g_out, g_hn, g_cn=None):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, _ = ctx.saved_tensors
        if grad_mode._state.enabled:  # create_graph: differentiate the op-by-op layer
            return _differentiable_backward(ctx, (x, h0, c0, w_ih, w_hh, b_ih, b_hh),
                                            (g_out, g_hn, g_cn))
        env = _Env(x)
        cdt = _compute_dtype(x._data.dtype)
        xs, h0a, c0a, wi, wh = (_arr(t, env.xp, cdt) for t in (x, h0, c0, w_ih, w_hh))
        g = [None if t is None else _arr(t, env.xp, cdt) for t in (g_out, g_hn, g_cn)]
        out, save, cs = ctx.buffers
        needs = ctx.needs_input_grad
        grads = _backward(env, MODES[ctx.mode], ctx.reverse, needs, xs, h0a, c0a, wi, wh,
                          b_ih is not None, out, save, cs, *g)
        ins = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        res = [None if a is None else wrap(a.astype(t._data.dtype, copy=False), t)
               for a, t in zip(grads, ins)]
        return (*res, None, None)


def _differentiable_backward(ctx, ins: tuple, grads: tuple) -> tuple:
    from ..autograd import grad as autograd_grad
    from .creation import zeros
    x, h0, c0 = ins[:3]
    shape = (x.shape[1], ins[4].shape[1])
    h0 = h0 if h0 is not None else zeros(shape, dtype=x.dtype, device=x.device)
    if ctx.mode == "LSTM" and c0 is None:
        c0 = zeros(shape, dtype=x.dtype, device=x.device)
    outs = reference_layer(ctx.mode, ctx.reverse, x, h0, c0, *ins[3:])
    pairs = [(o, g) for o, g in zip(outs, grads) if o is not None and g is not None]
    want = [i for i, n in enumerate(ctx.needs_input_grad[:7]) if n]
    got = autograd_grad([o for o, _ in pairs], [ins[i] for i in want],
                        [g for _, g in pairs], create_graph=True, allow_unused=True)
    res = [None] * 9
    for i, gr in zip(want, got):
        res[i] = gr
    return tuple(res)


def fused_layer(mode: str, reverse: bool, x: Tensor, h0: Tensor | None, c0: Tensor | None,
                w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> tuple:
    """(out, h_n, c_n) of one layer/direction; c_n is None except for LSTM."""
    res = FusedRecurrence.apply(x, h0, c0 if mode == "LSTM" else None, w_ih, w_hh, b_ih, b_hh,
                                mode, reverse)
    return res if mode == "LSTM" else (res[0], res[1], None)
