"""Index grids and small numeric routines torch has at top level: ``tril_indices``,
``triu_indices``, ``unravel_index``, ``vander`` and the trapezoid rule (``trapezoid``, ``trapz``,
``cumulative_trapezoid``). The differentiable ones are built from existing ops (slices, sums,
products), so they get gradients on every device."""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..tensor import Tensor, _wrap_dim
from . import shape as sh
from .creation import ones_like, tensor
from .scan import cumsum


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype, device) -> Tensor:
    r, c = np.indices((row, col)).reshape(2, -1)
    keep = (c - r <= offset) if lower else (c - r >= offset)
    return tensor(np.stack([r[keep], c[keep]]).reshape(2, -1), dtype=dtype or dt.int64,
                  device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """2 x N (row, col) coordinates of the lower triangle (``col - row <= offset``)."""
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """2 x N (row, col) coordinates of the upper triangle (``col - row >= offset``)."""
    return _triangle_indices(row, col, offset, False, dtype, device)


def unravel_index(indices, shape) -> tuple:
    """Flat ``indices`` as a tuple of coordinate tensors (torch computes ``i // stride % size``,
    which wraps out-of-range indices)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be integer tensor, but got "
                        f"{type(indices).__name__}")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    xp = indices._backend.xp
    idx = indices._data.astype(np.int64)
    out, stride = [], 1
    for s in reversed(shape):
        out.append(Tensor._make((idx // stride) % s if s else idx * 0, indices._device))
        stride *= s
    return tuple(reversed(out))


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Columns ``x ** (N-1) ... x ** 0`` (``increasing`` reverses them); ``N`` defaults to
    ``len(x)``. Built by repeated multiplication, so integer inputs stay exact."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x.dtype is dt.bool_:
        x = x.long()
    cols, cur = [], ones_like(x)
    for _ in range(n):
        cols.append(cur)
        cur = cur * x
    if not cols:
        return tensor(np.zeros((x.shape[0], 0)), dtype=x.dtype, device=x.device)
    out = sh.stack(cols, dim=1)
    return out if increasing else sh.flip(out, 1)


def _float_input(y: Tensor) -> Tensor:
    return y if y.is_floating_point() else y.to(dt.get_default_dtype())


def _pieces(y: Tensor, d: int):
    n = y.shape[d]
    return sh.narrow(y, d, 1, n - 1), sh.narrow(y, d, 0, n - 1)


def _spacing(y: Tensor, x, dx, d: int, op: str):
    """Widths of the intervals along dim ``d``: a number, or a tensor broadcastable to them."""
    if x is None:
        return 1.0 if dx is None else dx
    if not isinstance(x, Tensor):
        return x  # trapezoid(y, 0.5): a scalar spacing passed positionally
    x = _float_input(x)
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
        hi, lo = x[1:], x[:-1]
        shape = [1] * y.ndim
        shape[d] = -1
        return (hi - lo).reshape(shape)
    hi, lo = _pieces(x, _wrap_dim(d - y.ndim, x.ndim))
    return hi - lo


def _trapezoid_terms(y: Tensor, x, dx, dim: int, op: str):
    y = _float_input(y)
    d = _wrap_dim(dim, y.ndim)
    if y.shape[d] == 0:
        return None, y, d
    hi, lo = _pieces(y, d)
    return (hi + lo) * _spacing(y, x, dx, d, op) / 2, y, d


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Integral of ``y`` along ``dim`` by the trapezoid rule (spacing ``x`` or ``dx``)."""
    terms, y, d = _trapezoid_terms(y, x, dx, dim, "trapezoid")
    if terms is None:
        return y.sum(dim=d)
    return terms.sum(dim=d)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Running trapezoid integral along ``dim`` (one element shorter than ``y`` there)."""
    terms, y, d = _trapezoid_terms(y, x, dx, dim, "cumulative_trapezoid")
    if terms is None:
        return y
    return cumsum(terms, dim=d)


__all__ = ["tril_indices", "triu_indices", "unravel_index", "vander", "trapezoid", "trapz",
           "cumulative_trapezoid"]
