"""CPU step kernels of the fused recurrent layers (RNN tanh/relu, LSTM, GRU), Numba-compiled.

One call per time step does all of a step's elementwise work: the gate nonlinearities and the
cell/hidden update forward, the gate gradients backward (the GEMMs run outside, in BLAS).
Arrays are C-contiguous 2-D (bias 1-D), all of one float dtype (float32 or float64: two
specializations per kernel); ``mode`` is one of the ``MODE_*`` codes.

Saved per step for backward (``save``, width ``save_width(mode, H)``): LSTM the activated gates
i, f, g, o and tanh(c'); GRU r, z, n and the recurrent n-term W_hn h + b_hn; RNN nothing (the
derivative comes from h' itself).

float32 uses a rational tanh (Eigen's ``fast_tanh`` form, max error 3e-7; sigmoid(x) =
(1 + tanh(x/2)) / 2) that LLVM vectorizes: libm's scalar tanhf is ~20x slower than NumPy's SIMD
one. float64 uses libm. Loops run over 1-D row slices with ``error_model="numpy"`` (no
zero-division branch), the two things Numba needs to emit SIMD code here.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

MODE_TANH, MODE_RELU, MODE_LSTM, MODE_GRU = 0, 1, 2, 3
GATES = {MODE_TANH: 1, MODE_RELU: 1, MODE_LSTM: 4, MODE_GRU: 3}

_F = np.float32
_ONE, _HALF, _CLAMP = _F(1.0), _F(0.5), _F(7.90531110763549805)
_A1, _A3, _A5, _A7 = (_F(4.89352455891786e-03), _F(6.37261928875436e-04),
                      _F(1.48572235717979e-05), _F(5.12229709037114e-08))
_A9, _A11, _A13 = _F(-8.60467152213735e-11), _F(2.00018790482477e-13), _F(-2.76076847742355e-16)
_B0, _B2 = _F(4.89352518554385e-03), _F(2.26843463243900e-03)
_B4, _B6 = _F(1.18534705686654e-04), _F(1.19825839466702e-06)

_jit = njit(cache=True, error_model="numpy")
_inline = njit(cache=True, error_model="numpy", inline="always")


def save_width(mode: int, hidden: int) -> int:
    """Columns of the per-step ``save`` buffer."""
    return 5 * hidden if mode == MODE_LSTM else 4 * hidden if mode == MODE_GRU else hidden


@_inline
def _tanh_fast(x):
    x = max(min(x, _CLAMP), -_CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@_inline
def _act(a, b, bias, out, sigmoid, approx):
    """out = sigmoid|tanh(a + b + bias) over equal-length 1-D slices."""
    n = out.shape[0]
    if approx:
        if sigmoid:
            for k in range(n):
                out[k] = _HALF * _tanh_fast(_HALF * (a[k] + b[k] + bias[k])) + _HALF
        else:
            for k in range(n):
                out[k] = _tanh_fast(a[k] + b[k] + bias[k])
    elif sigmoid:
        for k in range(n):
            out[k] = 1.0 / (1.0 + math.exp(-(a[k] + b[k] + bias[k])))
    else:
        for k in range(n):
            out[k] = math.tanh(a[k] + b[k] + bias[k])


@_jit
def step_forward(mode, approx, gi, gh, bhh, h_prev, c_prev, h_out, c_out, save):
    """One step: gates from ``gi`` (x W_ih^T + b_ih) and ``gh`` (h W_hh^T, no bias) plus
    ``bhh``; writes h' to ``h_out`` (LSTM: c' to ``c_out``) and what backward needs to ``save``."""
    n_b, n = h_out.shape
    for b in range(n_b):
        gib, ghb, ho = gi[b], gh[b], h_out[b]
        if mode == MODE_LSTM:
            sv = save[b]
            _act(gib[:2 * n], ghb[:2 * n], bhh[:2 * n], sv[:2 * n], True, approx)
            _act(gib[2 * n:3 * n], ghb[2 * n:3 * n], bhh[2 * n:3 * n], sv[2 * n:3 * n], False,
                 approx)
            _act(gib[3 * n:], ghb[3 * n:], bhh[3 * n:], sv[3 * n:4 * n], True, approx)
            i, f, g, o, tc = sv[:n], sv[n:2 * n], sv[2 * n:3 * n], sv[3 * n:4 * n], sv[4 * n:]
            cp, co = c_prev[b], c_out[b]
            for j in range(n):
                co[j] = f[j] * cp[j] + i[j] * g[j]
            if approx:
                for j in range(n):
                    tc[j] = _tanh_fast(co[j])
            else:
                for j in range(n):
                    tc[j] = math.tanh(co[j])
            for j in range(n):
                ho[j] = o[j] * tc[j]
        elif mode == MODE_GRU:
            sv, hp = save[b], h_prev[b]
            _act(gib[:2 * n], ghb[:2 * n], bhh[:2 * n], sv[:2 * n], True, approx)
            r, z, nn, hn = sv[:n], sv[n:2 * n], sv[2 * n:3 * n], sv[3 * n:]
            gin, ghn, bn = gib[2 * n:], ghb[2 * n:], bhh[2 * n:]
            for j in range(n):
                hn[j] = ghn[j] + bn[j]
            if approx:
                for j in range(n):
                    nn[j] = _tanh_fast(gin[j] + r[j] * hn[j])
            else:
                for j in range(n):
                    nn[j] = math.tanh(gin[j] + r[j] * hn[j])
            for j in range(n):
                ho[j] = nn[j] + z[j] * (hp[j] - nn[j])
        elif mode == MODE_TANH:
            _act(gib, ghb, bhh, ho, False, approx)
        else:
            for j in range(n):
                ho[j] = max(gib[j] + ghb[j] + bhh[j], 0.0)


@_jit
def step_backward(mode, dy, dh_rec, carry, dc, save, h_prev, c_prev, h_t, dgi, dgh):
    """Gate gradients of one step. dL/dh' = ``dy`` (from the output) + ``dh_rec`` (dG W_hh of
    the later step) + ``carry`` (the rest of the later step's dL/dh, GRU's z * dh; the final
    state's gradient at the first call). Writes the pre-activation gradients to ``dgi`` (input
    side) and ``dgh`` (recurrent side, differs only for GRU; may be ``dgi`` itself), updates
    ``dc`` (LSTM: dL/dc' in, dL/dc out) and ``carry``."""
    n_b, n = h_t.shape
    for b in range(n_b):
        dyb, drb, cb, gib = dy[b], dh_rec[b], carry[b], dgi[b]
        if mode == MODE_LSTM:
            sv, dcb, cp = save[b], dc[b], c_prev[b]
            i, f, g, o, tc = sv[:n], sv[n:2 * n], sv[2 * n:3 * n], sv[3 * n:4 * n], sv[4 * n:]
            di, df, dg, do = gib[:n], gib[n:2 * n], gib[2 * n:3 * n], gib[3 * n:]
            for j in range(n):
                dh = dyb[j] + drb[j] + cb[j]
                dct = dcb[j] + dh * o[j] * (_ONE - tc[j] * tc[j])
                di[j] = dct * g[j] * i[j] * (_ONE - i[j])
                df[j] = dct * cp[j] * f[j] * (_ONE - f[j])
                dg[j] = dct * i[j] * (_ONE - g[j] * g[j])
                do[j] = dh * tc[j] * o[j] * (_ONE - o[j])
                dcb[j] = dct * f[j]
                cb[j] = 0.0
        elif mode == MODE_GRU:
            sv, hp, ghb = save[b], h_prev[b], dgh[b]
            r, z, nn, hn = sv[:n], sv[n:2 * n], sv[2 * n:3 * n], sv[3 * n:]
            dr, dz, dn = gib[:n], gib[n:2 * n], gib[2 * n:]
            hr, hz, hnn = ghb[:n], ghb[n:2 * n], ghb[2 * n:]
            for j in range(n):
                dh = dyb[j] + drb[j] + cb[j]
                dnj = dh * (_ONE - z[j]) * (_ONE - nn[j] * nn[j])
                drj = dnj * hn[j] * r[j] * (_ONE - r[j])
                dzj = dh * (hp[j] - nn[j]) * z[j] * (_ONE - z[j])
                dr[j], dz[j], dn[j] = drj, dzj, dnj
                hr[j], hz[j], hnn[j] = drj, dzj, dnj * r[j]
                cb[j] = dh * z[j]
        elif mode == MODE_TANH:
            ht = h_t[b]
            for j in range(n):
                gib[j] = (dyb[j] + drb[j] + cb[j]) * (_ONE - ht[j] * ht[j])
                cb[j] = 0.0
        else:
            ht = h_t[b]
            for j in range(n):
                dh = dyb[j] + drb[j] + cb[j]
                gib[j] = dh if ht[j] > 0 else 0.0 * dh
                cb[j] = 0.0


def approx_ok(dtype) -> bool:
    """Whether the fast (vectorized, ~3e-7 error) nonlinearities apply to ``dtype``."""
    return np.dtype(dtype) == np.float32
