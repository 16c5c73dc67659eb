"""In-place ops: ``foo_`` methods, augmented assignment, fills, ``copy_`` and random fills.

Each computes its result out of place and writes it with ``Tensor._assign``, which enforces
torch's rules (no in-place on a leaf requiring grad while grad mode is on), bumps the version
counter and rebases the graph. Under ``no_grad`` this simply overwrites storage, which is what
optimizers and ``w -= lr * w.grad`` rely on.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._overlap import same_view
from .._generator import host_rng
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method
from . import elementwise as ew
from . import pointwise as pw
from ._util import unbroadcast, wrap
from .creation import zeros_like
from .scalar_range import check_fill


def _records(*args) -> bool:
    return grad_mode.is_grad_enabled() and any(
        isinstance(a, Tensor) and a.requires_grad for a in args)


def _inplace(op, overlap: str = "partial", expanded_ok: bool = False):
    """``op_``: when the graph records, ``op`` runs on a copy of the old value, since its
    backward may need that value after ``_assign`` overwrites the storage (torch does the same).

    ``overlap`` is the rule torch applies between ``self`` and the tensor arguments: "partial"
    (element-wise ops: exact aliasing allowed), "any" (index ops: aliasing refused too) or
    "none" (matrix ops and masked_scatter_ check nothing)."""
    alias_ok = overlap != "any"

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        self._check_inplace()
        src = self.clone() if _records(self, *args, *kwargs.values()) else self
        sources = () if overlap == "none" else (*args, *kwargs.values())
        return self._assign(op(src, *args, **kwargs), sources, expanded_ok, alias_ok)
    method.__name__ = method.__qualname__ = op.__name__ + "_"
    method.__doc__ = f"In-place ``{op.__name__}`` (through ``Tensor._assign``)."
    return method


_OUT_OF_PLACE = (
    ew.add, ew.sub, ew.mul, ew.div, ew.pow, ew.floor_divide, ew.remainder, ew.fmod, ew.neg,
    ew.exp, ew.log, pw.abs, pw.sqrt, pw.rsqrt, pw.sigmoid, pw.tanh, pw.sin, pw.cos, pw.tan,
    pw.floor, pw.ceil, pw.round, pw.trunc, pw.frac, pw.sign, pw.reciprocal, pw.square, pw.log1p,
    pw.expm1, pw.log2, pw.log10, pw.exp2, pw.erf, pw.clamp, pw.clamp_min, pw.clamp_max, pw.lerp,
    pw.addcmul, pw.addcdiv, pw.atan2, pw.hypot, pw.nan_to_num, pw.bitwise_and, pw.bitwise_or,
    pw.bitwise_xor, pw.bitwise_not, pw.erfc, pw.erfinv)
for _op in _OUT_OF_PLACE:
    setattr(Tensor, _op.__name__ + "_", _inplace(_op))
Tensor.clip_ = Tensor.clamp_
Tensor.relu_ = lambda self: pw.relu(self, inplace=True)
Tensor.subtract_, Tensor.multiply_, Tensor.divide_ = Tensor.sub_, Tensor.mul_, Tensor.div_
Tensor.negative_, Tensor.absolute_, Tensor.fix_ = Tensor.neg_, Tensor.abs_, Tensor.trunc_
for _dunder, _method in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"),
                         ("__itruediv__", "div_"), ("__ipow__", "pow_"),
                         ("__ifloordiv__", "floor_divide_"), ("__imod__", "remainder_"),
                         ("__iand__", "bitwise_and_"), ("__ior__", "bitwise_or_"),
                         ("__ixor__", "bitwise_xor_")):
    setattr(Tensor, _dunder, getattr(Tensor, _method))


class Overwrite(Function):
    """A tensor's new value when it is overwritten (fill, copy, random fill): ``src`` broadcast
    to the target's shape. The old value gets a zero gradient (as in torch); ``src`` gets it."""

    @staticmethod
    def forward(ctx, target, src):
        ctx.src_shape = src._data.shape
        return wrap(target._backend.xp.broadcast_to(src._data, target._data.shape), target)

    @staticmethod
    def backward(ctx, g):
        n = ctx.needs_input_grad
        return (zeros_like(g) if n[0] else None, unbroadcast(g, ctx.src_shape) if n[1] else None)


def _overwrite(self: Tensor, src: Tensor, expanded_ok: bool = False,
               sources: tuple = ()) -> Tensor:
    return self._assign(Overwrite.apply(self, src), sources, expanded_ok)


@tensor_method
def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, converted to this tensor's dtype and device) into this tensor."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    try:
        ok = np.broadcast_shapes(src._data.shape, self._data.shape) == self._data.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast "
                           f"to the destination of shape {list(self.shape)}")
    src = src.to(device=self._device, dtype=self.dtype)
    if same_view(self._data, src._data):  # a no-op write, allowed even when expanded
        return _overwrite(self, src, expanded_ok=True)
    return _overwrite(self, src, sources=(src,))


@tensor_method
def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-dim tensor, which then gets the grad)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions")
        return _overwrite(self, value.to(device=self._device, dtype=self.dtype))
    check_fill(value, self.dtype)
    return _overwrite(self, wrap(self._backend.xp.asarray(value, dtype=self._data.dtype), self),
                      expanded_ok=True)


@tensor_method
def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


# -- random fills ---------------------------------------------------------------------------------

def _sample(self: Tensor, method: str, a, b, generator, np_dtype=None):
    """Draw an array of this tensor's shape from its backend's generator, or from ``generator``
    (a host stream, copied to the device)."""
    shape, np_dtype = self._data.shape, np_dtype or self._data.dtype
    if generator is None:
        arr = getattr(self._backend, method)(a, b, shape, np_dtype)
    else:
        arr = self._backend.from_numpy(
            np.asarray(getattr(host_rng(generator), method)(a, b, size=shape), dtype=np_dtype))
    return self._backend.xp.asarray(arr).reshape(shape)


def _require_float(self: Tensor, name: str) -> None:
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{self.dtype.name}' (it needs a "
                           f"floating point tensor)")


def _fill_random(self: Tensor, arr) -> Tensor:
    return _overwrite(self, wrap(arr.astype(self._data.dtype, copy=False), self))


@tensor_method
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    _require_float(self, "uniform_")
    return _fill_random(self, _sample(self, "uniform", a, b, generator))


@tensor_method
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    _require_float(self, "normal_")
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    return _fill_random(self, _sample(self, "normal", mean, std, generator))


def _random_bound(d: dt.dtype) -> int:
    """torch's default upper bound (exclusive) of ``random_()`` for a dtype."""
    if d.is_floating_point:
        return 2 ** (np.finfo(d.np).nmant + 1) + 1
    if d is dt.bool_:
        return 2
    return int(np.iinfo(d.np).max) + 1


@tensor_method
def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    """Integers uniform in [from, to): ``random_(to)``, ``random_(from, to)`` or ``random_()``."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        to = _random_bound(self.dtype)
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} "
                           f">= to={to}")
    return _fill_random(self, _sample(self, "integers", from_, to, generator, np.int64))


@tensor_method
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """1 with probability ``p`` (a number or a tensor of probabilities), else 0."""
    u = _sample(self, "uniform", 0.0, 1.0, generator, np.float64)
    if isinstance(p, Tensor):
        p = p.to(self._device)._data
    elif not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill_random(self, u < p)


@tensor_method
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    _require_float(self, "exponential_")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    u = _sample(self, "uniform", 0.0, 1.0, generator, np.float64)
    return _fill_random(self, -self._backend.xp.log1p(-u) / lambd)


__all__: list[str] = []
