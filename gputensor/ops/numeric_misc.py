"""Index grids and small numeric routines torch has at top level: ``tril_indices``,
``triu_indices``, ``unravel_index``, ``vander`` and the trapezoid rule (``trapezoid``, ``trapz``,
``cumulative_trapezoid``). The differentiable ones are built from existing ops (slices, sums,
products), so they get gradients on every device."""
from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._device import device
from ..tensor import Tensor, _wrap_dim
from . import shape as sh
from . import join_split as js
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
    out = js.stack(cols, dim=1)
    return out if increasing else sh.flip(out, 1)


def _float_input(y: Tensor) -> Tensor:
    return y if y.is_floating_point() else y.to(dt.get_default_dtype())


def _pieces(y: Tensor, d: int):
    n = y.shape[d]
    return js.narrow(y, d, 1, n - 1), js.narrow(y, d, 0, n - 1)


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


def _grad_along(f: Tensor, d: int, h, edge_order: int) -> Tensor:
    """Central differences along ``d``; ``h`` is a number (uniform spacing) or a 1-D tensor of
    coordinates (NumPy's second-order formula for uneven spacing)."""
    n = f.shape[d]
    if n < edge_order + 1:
        raise RuntimeError("torch.gradient expected each dimension size to be at least "
                           "edge_order+1")
    def part(start, length):
        return js.narrow(f, d, start, length)

    def bcast(v):  # a 1-D coordinate difference, shaped to broadcast along d
        shape = [1] * f.ndim
        shape[d] = -1
        return v.reshape(shape)

    if isinstance(h, Tensor):
        x = _float_input(h)
        dx = x[1:] - x[:-1]
        hl, hr = bcast(dx[:-1]), bcast(dx[1:])
        inner = (part(0, n - 2) * (-hr / (hl * (hl + hr)))
                 + part(1, n - 2) * ((hr - hl) / (hl * hr))
                 + part(2, n - 2) * (hl / (hr * (hl + hr))))
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / dx[0]
            last = (part(n - 1, 1) - part(n - 2, 1)) / dx[-1]
        else:
            a1, a2 = dx[0], dx[1]
            first = (part(0, 1) * (-(2 * a1 + a2) / (a1 * (a1 + a2)))
                     + part(1, 1) * ((a1 + a2) / (a1 * a2))
                     + part(2, 1) * (-a1 / (a2 * (a1 + a2))))
            b1, b2 = dx[-2], dx[-1]
            last = (part(n - 3, 1) * (b2 / (b1 * (b1 + b2)))
                    + part(n - 2, 1) * (-(b1 + b2) / (b1 * b2))
                    + part(n - 1, 1) * ((2 * b2 + b1) / (b2 * (b1 + b2))))
    else:
        inner = (part(2, n - 2) - part(0, n - 2)) / (2.0 * h)
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / h
            last = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            first = (part(0, 1) * -1.5 + part(1, 1) * 2.0 - part(2, 1) * 0.5) / h
            last = (part(n - 3, 1) * 0.5 - part(n - 2, 1) * 2.0 + part(n - 1, 1) * 1.5) / h
    return js.cat([first, inner, last], dim=d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Derivative estimates along each of ``dim`` (all dims by default) by central differences
    (``edge_order`` 1 or 2 at the ends), as ``numpy.gradient``; spacing is a number, one number
    per dim, or one coordinate tensor per dim."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    f = _float_input(input)
    dims = list(range(f.ndim)) if dim is None else (
        [dim] if isinstance(dim, int) else list(dim))
    dims = [_wrap_dim(d, f.ndim) for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or "
                               f"it's spacing and dim arguments to have the same length, but "
                               f"got a spacing argument of length {len(spacing)} and a dim "
                               f"argument of length {len(dims)}.")
        hs = list(spacing)
    else:
        hs = [spacing] * len(dims)
    hs = [h if isinstance(h, Tensor) and h.ndim == 1 else
          (float(h) if not isinstance(h, Tensor) else float(h.item())) for h in hs]
    return tuple(_grad_along(f, d, h, edge_order) for d, h in zip(dims, hs))


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over a Python buffer's bytes (shared memory on cpu, as in torch)."""
    arr = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    if not arr.flags.writeable:
        import warnings
        warnings.warn("The given buffer is not writable, and PyTorch does not support "
                      "non-writable tensors.", UserWarning, stacklevel=2)
        arr = arr.copy()
    return Tensor._make(arr, device("cpu"), requires_grad)


__all__ = ["gradient", "frombuffer", "tril_indices", "triu_indices", "unravel_index", "vander",
           "trapezoid", "trapz", "cumulative_trapezoid"]
