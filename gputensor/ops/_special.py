"""Forwards of the error-function family on backend arrays, by a kept special-function library:
``scipy.special`` for NumPy arrays (cpu and the CUDA simulator), ``cupyx.scipy.special`` for
CuPy arrays (a real GPU). Both are accurate to the working precision (float64: ~1 ulp), which a
hand-written rational fit is not.
"""
from __future__ import annotations

import numpy as np


def _lib(xp):
    """The special-function library matching array module ``xp``."""
    if xp is np:
        import scipy.special as sp
    else:  # CuPy on a real GPU
        import cupyx.scipy.special as sp
    return sp


def _special(fn_name: str):
    """A forward ``(xp, a) -> array`` of ``a``'s dtype; float16 (which neither library has a loop
    for) computes in float32 and rounds back, as torch's half kernels do."""
    def forward(xp, a):
        work = a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)
        with np.errstate(all="ignore"):  # erfinv(+-1) = +-inf, |x| > 1 -> nan, as torch
            out = getattr(_lib(xp), fn_name)(work)
        return out.astype(a.dtype, copy=False)
    forward.__name__ = f"_{fn_name}_forward"
    return forward


def _erfc64(xp, x):
    """float64 erfc to ~1 ulp: the libraries' erfc loses up to ~1e-14 relative in the tail
    (x > 3), so there it is erfcx(x) * exp(-x^2) with x^2 split as z^2 + (x - z)(x + z), z = x
    cut to 1/16 (z^2 is exact), as libm does; 1 - erf(x) near 0, 2 - erfc(-x) below 0."""
    sp = _lib(xp)
    with np.errstate(all="ignore"):
        a = xp.abs(x)
        fin = xp.where(xp.isfinite(a), a, 0.0)
        z = xp.trunc(fin * 16.0) / 16.0
        tail = sp.erfcx(fin) * xp.exp(-z * z) * xp.exp(-(fin - z) * (fin + z))
        tail = xp.where(a == xp.inf, 0.0, tail)
        pos = xp.where(a < 0.5, 1.0 - sp.erf(a), tail)
        return xp.where(x < 0, 2.0 - pos, xp.where(xp.isnan(x), x, pos))


def erfc_forward(xp, a):
    return _erfc64(xp, a) if a.dtype == np.float64 else _erfc_direct(xp, a)


erf_forward = _special("erf")
_erfc_direct = _special("erfc")
_erfinv = _special("erfinv")


def erfinv_forward(xp, a):
    return xp.where(a == 0, a, _erfinv(xp, a))  # erfinv(-0) = -0 as torch (scipy gives +0)
