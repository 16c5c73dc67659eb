"""Signal windows (``hann_window`` ... ``kaiser_window``), as torch defines them.

A window depends only on its length and parameters, so it is computed on the host in float64
(NumPy's ``cos`` / ``i0``) and then placed on the device in the requested dtype.
``periodic=True`` (torch's default) computes ``N + 1`` points and drops the last, the form
spectral analysis (``stft``) wants.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor
from .creation import tensor


def _window(name: str, n: int, periodic: bool, dtype, device, requires_grad, formula):
    dtype = dtype or dt.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={n}")
    if n <= 1:
        arr = np.ones(n, np.float64)
    else:
        m = n + 1 if periodic else n
        k = np.arange(m, dtype=np.float64)
        arr = formula(k, m - 1)[:n]
    return tensor(arr, dtype=dtype, device=device, requires_grad=requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi k / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, d: 0.5 - 0.5 * np.cos(2 * np.pi * k / d))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi k / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, d: alpha - beta * np.cos(2 * np.pi * k / d))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, d: 0.42 - 0.5 * np.cos(2 * np.pi * k / d)
                   + 0.08 * np.cos(4 * np.pi * k / d))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2k / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, d: 1 - np.abs(2 * k / d - 1))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2k / (N - 1) - 1)^2)) / I0(beta)``."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, d: np.i0(beta * np.sqrt(np.clip(1 - (2 * k / d - 1) ** 2, 0, None)))
                   / np.i0(beta))


__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]
