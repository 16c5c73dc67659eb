"""More in-place ops: the unary/matrix ``foo_`` methods ``inplace.py`` lacks, comparison and
logical in-place forms (0/1 written in self's dtype), ``fill_diagonal_``, index/mask/put writes,
extra random fills, and the top-level ``torch.foo_(input, ...)`` forms torch exposes.

Everything goes through ``inplace._inplace`` / ``Tensor._assign`` (graph rebasing, version
bump, torch's cast and leaf rules), so autograd behaves as for the existing in-place ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, tensor_method
from . import linalg as la
from . import pointwise as pw
from . import tensor_misc as tm
from .inplace import Overwrite, _fill_random, _inplace, _overwrite, _require_float, _sample
from ._util import wrap

# -- unary / binary / matrix methods that compute out of place and assign -------------------------
for _op in (pw.acos, pw.asin, pw.atan, pw.sinh, pw.cosh, pw.atan2, tm.sgn, tm.true_divide,
            tm.renorm):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))
for _op in (la.addmm, la.addbmm, la.baddbmm, la.addmv, la.addr, tm.masked_scatter):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op, overlap="none"))
for _op in (tm.index_copy, tm.index_reduce, tm.put):
    setattr(Tensor, _op.__name__ + "_", _inplace(_op, overlap="any"))
Tensor.arccos_, Tensor.arcsin_, Tensor.arctan_ = Tensor.acos_, Tensor.asin_, Tensor.atan_
Tensor.arctan2_ = Tensor.atan2_


# -- comparisons and logical ops: bool results written as 0/1 in self's dtype ---------------------

def _bool_inplace(op):
    """``op_``: torch writes the bool result converted to self's dtype; the old value gets a
    zero gradient (``Overwrite``), as torch's ``LtBackward`` ... give."""
    def method(self: Tensor, *args) -> Tensor:
        self._check_inplace()
        res = op(self, *args)
        if res._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(res.shape)}")
        return _overwrite(self, wrap(res._data.astype(self._data.dtype), self), sources=args)
    method.__name__ = method.__qualname__ = op.__name__ + "_"
    method.__doc__ = f"In-place ``{op.__name__}``: 0/1 in this tensor's dtype."
    return method


for _op in (pw.eq, pw.ne, pw.lt, pw.le, pw.gt, pw.ge, pw.logical_and, pw.logical_or,
            pw.logical_xor, pw.logical_not):
    setattr(Tensor, _op.__name__ + "_", _bool_inplace(_op))
Tensor.greater_, Tensor.greater_equal_ = Tensor.gt_, Tensor.ge_
Tensor.less_, Tensor.less_equal_, Tensor.not_equal_ = Tensor.lt_, Tensor.le_, Tensor.ne_


# -- fill_diagonal_ -------------------------------------------------------------------------------

@tensor_method
def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal when ndim > 2); ``wrap`` restarts it every
    ``ncols + 1`` rows of a tall matrix, as in torch and NumPy."""
    shape = self._data.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    xp = self._backend.xp
    n = self._data.size
    if len(shape) == 2:
        rows, cols = shape
        pos = np.arange(0, n if wrap else min(rows, cols) * cols, cols + 1)
    else:
        stride = sum(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
        pos = np.arange(shape[0]) * stride
    mask = np.zeros(n, dtype=bool)
    mask[pos] = True
    mask = xp.asarray(mask.reshape(shape))
    value = fill_value if isinstance(fill_value, Tensor) else _scalar_like(fill_value, self)
    fill = _inplace(lambda s: pw.where(_array_like(mask, s), value, s), expanded_ok=True)
    return fill(self)


def _scalar_like(v, like: Tensor) -> Tensor:
    return wrap(like._backend.xp.asarray(v, dtype=like._data.dtype), like)


def _array_like(arr, like: Tensor) -> Tensor:
    return wrap(arr, like)


# -- random fills ---------------------------------------------------------------------------------

@tensor_method
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Cauchy samples ``median + sigma * tan(pi * (u - 1/2))``."""
    _require_float(self, "cauchy_")
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    u = _sample(self, "uniform", 0.0, 1.0, generator, np.float64)
    return _fill_random(self, median + sigma * self._backend.xp.tan(math.pi * (u - 0.5)))


@tensor_method
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """``exp`` of normal samples with the given mean and std."""
    _require_float(self, "log_normal_")
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    z = _sample(self, "normal", mean, std, generator, np.float64)
    return _fill_random(self, self._backend.xp.exp(z))


@tensor_method
def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Number of Bernoulli(p) trials up to the first success (values 1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    xp = self._backend.xp
    u = _sample(self, "uniform", 0.0, 1.0, generator, np.float64)
    with np.errstate(divide="ignore"):
        k = xp.ceil(xp.log1p(-u) / math.log1p(-p))
    return _fill_random(self, xp.maximum(k, 1.0))


# -- top-level ``torch.foo_(input, ...)`` forms ---------------------------------------------------

_TOP_LEVEL_INPLACE = (
    "abs_ acos_ addmv_ arccos_ arcsin_ arctan_ asin_ atan_ ceil_ clamp_ clamp_max_ clamp_min_ "
    "clip_ cos_ cosh_ detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ index_put_ "
    "log10_ log1p_ log2_ log_ nan_to_num_ neg_ negative_ reciprocal_ resize_as_ round_ rsqrt_ "
    "sigmoid_ sin_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ zero_ i0_ logit_ sinc_ xlogy_").split()


def _top_level(name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return fn


for _name in _TOP_LEVEL_INPLACE:
    globals()[_name] = _top_level(_name)


def fill(input: Tensor, value) -> Tensor:
    """Out-of-place ``fill_``: a new tensor like ``input`` holding ``value``; ``input`` gets a
    zero gradient and a 0-dim tensor ``value`` the summed one, as in torch."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions")
        return Overwrite.apply(input, value.to(device=input.device, dtype=input.dtype))
    return Overwrite.apply(input, _scalar_like(value, input))


__all__ = _TOP_LEVEL_INPLACE + ["fill"]
