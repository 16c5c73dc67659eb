"""``torch.special``: the special-function namespace (scipy.special's names, torch's semantics).
Each function is the differentiable op defined in ``ops``; this module only names them."""
from __future__ import annotations

from .ops.activation import log_softmax as _log_softmax, softmax as _softmax
from .ops.pointwise import erf, erfc, erfinv, exp2, expm1, log1p, round, sigmoid as expit
from .ops.reduce_stats import logsumexp
from .ops.special_math import (digamma, i0, lgamma as gammaln, logit, mvlgamma, polygamma, sinc,
                               special_bessel_j0 as bessel_j0, special_bessel_j1 as bessel_j1,
                               special_entr as entr, special_erfcx as erfcx,
                               special_gammainc as gammainc, special_gammaincc as gammaincc,
                               special_i0e as i0e, special_i1 as i1, special_i1e as i1e,
                               special_log_ndtr as log_ndtr, special_ndtr as ndtr,
                               special_ndtri as ndtri, special_xlog1py as xlog1py, xlogy,
                               special_bessel_y0 as bessel_y0, special_bessel_y1 as bessel_y1,
                               special_modified_bessel_i0 as modified_bessel_i0,
                               special_modified_bessel_i1 as modified_bessel_i1,
                               special_modified_bessel_k0 as modified_bessel_k0,
                               special_modified_bessel_k1 as modified_bessel_k1,
                               special_scaled_modified_bessel_k0 as scaled_modified_bessel_k0,
                               special_scaled_modified_bessel_k1 as scaled_modified_bessel_k1,
                               special_spherical_bessel_j0 as spherical_bessel_j0,
                               special_zeta as zeta)
from .tensor import Tensor

psi = digamma


def multigammaln(input: Tensor, p: int) -> Tensor:
    return mvlgamma(input, p)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _log_softmax(input, dim, dtype=dtype)


__all__ = ["erf", "erfc", "erfinv", "erfcx", "expit", "logit", "xlogy", "xlog1py", "exp2",
           "expm1", "log1p", "gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0",
           "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "sinc", "entr", "logsumexp",
           "softmax", "log_softmax", "round", "bessel_j0", "bessel_j1", "gammainc", "gammaincc",
           "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "spherical_bessel_j0", "zeta"]
