"""CUDA step kernels of the fused recurrent layers (RNN tanh/relu, LSTM, GRU).

The same contract as ``rnn_cpu`` (see there for ``save``'s layout and the arguments): one
thread per (batch row, hidden unit) does one step's gate nonlinearities and cell update forward,
or its gate gradients backward; the GEMMs run outside. Arrays are flat and contiguous, float32
or float64 (the caller computes float16 in float32); threads stride over the B*H units.
"""
from __future__ import annotations

import math

from numba import cuda

from ._launch import array_module, cdiv, kernel_args, launch_context
from .rnn_cpu import GATES, MODE_GRU, MODE_LSTM, MODE_TANH, save_width

THREADS = 128
_MAX_BLOCKS = 4096


@cuda.jit(device=True, inline=True)
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@cuda.jit
def rnn_step_fwd(mode, gi, gh, bhh, h_prev, c_prev, h_out, c_out, save, n_b, n):
    g_w = (4 if mode == MODE_LSTM else 3 if mode == MODE_GRU else 1) * n
    s_w = (5 if mode == MODE_LSTM else 4 if mode == MODE_GRU else 1) * n
    for t in range(cuda.grid(1), n_b * n, cuda.gridsize(1)):
        b = t // n
        j = t - b * n
        base = b * g_w
        sb = b * s_w
        if mode == MODE_LSTM:
            i = _sigmoid(gi[base + j] + gh[base + j] + bhh[j])
            f = _sigmoid(gi[base + n + j] + gh[base + n + j] + bhh[n + j])
            g = math.tanh(gi[base + 2 * n + j] + gh[base + 2 * n + j] + bhh[2 * n + j])
            o = _sigmoid(gi[base + 3 * n + j] + gh[base + 3 * n + j] + bhh[3 * n + j])
            c = f * c_prev[t] + i * g
            tc = math.tanh(c)
            c_out[t] = c
            h_out[t] = o * tc
            save[sb + j] = i
            save[sb + n + j] = f
            save[sb + 2 * n + j] = g
            save[sb + 3 * n + j] = o
            save[sb + 4 * n + j] = tc
        elif mode == MODE_GRU:
            r = _sigmoid(gi[base + j] + gh[base + j] + bhh[j])
            z = _sigmoid(gi[base + n + j] + gh[base + n + j] + bhh[n + j])
            hn = gh[base + 2 * n + j] + bhh[2 * n + j]
            nn = math.tanh(gi[base + 2 * n + j] + r * hn)
            h_out[t] = nn + z * (h_prev[t] - nn)
            save[sb + j] = r
            save[sb + n + j] = z
            save[sb + 2 * n + j] = nn
            save[sb + 3 * n + j] = hn
        else:
            pre = gi[t] + gh[t] + bhh[j]
            h_out[t] = math.tanh(pre) if mode == MODE_TANH else max(pre, 0.0)


@cuda.jit
def rnn_step_bwd(mode, dy, dh_rec, carry, dc, save, h_prev, c_prev, h_t, dgi, dgh, n_b, n):
    g_w = (4 if mode == MODE_LSTM else 3 if mode == MODE_GRU else 1) * n
    s_w = (5 if mode == MODE_LSTM else 4 if mode == MODE_GRU else 1) * n
    for t in range(cuda.grid(1), n_b * n, cuda.gridsize(1)):
        b = t // n
        j = t - b * n
        base = b * g_w
        sb = b * s_w
        dh = dy[t] + dh_rec[t] + carry[t]
        if mode == MODE_LSTM:
            i, f = save[sb + j], save[sb + n + j]
            g, o, tc = save[sb + 2 * n + j], save[sb + 3 * n + j], save[sb + 4 * n + j]
            dct = dc[t] + dh * o * (1.0 - tc * tc)
            dgi[base + j] = dct * g * i * (1.0 - i)
            dgi[base + n + j] = dct * c_prev[t] * f * (1.0 - f)
            dgi[base + 2 * n + j] = dct * i * (1.0 - g * g)
            dgi[base + 3 * n + j] = dh * tc * o * (1.0 - o)
            dc[t] = dct * f
            carry[t] = 0.0
        elif mode == MODE_GRU:
            r, z = save[sb + j], save[sb + n + j]
            nn, hn = save[sb + 2 * n + j], save[sb + 3 * n + j]
            dn = dh * (1.0 - z) * (1.0 - nn * nn)
            dr = dn * hn * r * (1.0 - r)
            dz = dh * (h_prev[t] - nn) * z * (1.0 - z)
            dgi[base + j] = dr
            dgi[base + n + j] = dz
            dgi[base + 2 * n + j] = dn
            dgh[base + j] = dr
            dgh[base + n + j] = dz
            dgh[base + 2 * n + j] = dn * r
            carry[t] = dh * z
        else:
            ht = h_t[t]
            if mode == MODE_TANH:
                dgi[t] = dh * (1.0 - ht * ht)
            else:
                dgi[t] = dh if ht > 0 else 0.0
            carry[t] = 0.0


def _signature(t: str, n_arrays: int) -> str:
    return f"void(int64, {', '.join([f'{t}[::1]'] * n_arrays)}, int64, int64)"


PTX_SIGNATURES = [
    (kernel, _signature(t, n_arrays), f"{label}_{t}", THREADS)
    for kernel, n_arrays, label in ((rnn_step_fwd, 8, "rnn_step_fwd"),
                                    (rnn_step_bwd, 10, "rnn_step_bwd"))
    for t in ("float32", "float64")
]


def _launch(kernel, mode: int, arrays: tuple) -> None:
    ref = arrays[5] if kernel is rnn_step_fwd else arrays[7]  # h_out / h_t: (B, H)
    n_b, n = ref.shape
    if n_b * n == 0:
        return
    blocks = min(cdiv(n_b * n, THREADS), _MAX_BLOCKS)
    with launch_context(ref):
        flat, stream = kernel_args(*(a.reshape(-1) for a in arrays))
        kernel[blocks, THREADS, stream](mode, *flat, n_b, n)


def step_forward(mode, approx, gi, gh, bhh, h_prev, c_prev, h_out, c_out, save) -> None:
    """``rnn_cpu.step_forward`` on the GPU (``approx`` is ignored: the GPU's tanh is fast)."""
    _launch(rnn_step_fwd, int(mode), (gi, gh, bhh, h_prev, c_prev, h_out, c_out, save))


def step_backward(mode, dy, dh_rec, carry, dc, save, h_prev, c_prev, h_t, dgi, dgh) -> None:
    """``rnn_cpu.step_backward`` on the GPU."""
    _launch(rnn_step_bwd, int(mode), (dy, dh_rec, carry, dc, save, h_prev, c_prev, h_t, dgi,
                                      dgh))


def approx_ok(dtype) -> bool:
    return False


__all__ = ["GATES", "PTX_SIGNATURES", "save_width", "step_backward", "step_forward",
           "approx_ok", "array_module"]
