"""In-place metadata ops: ``squeeze_ unsqueeze_ t_ transpose_ swapaxes_ swapdims_`` (the tensor
becomes its own view: same storage, new shape/strides) and ``resize_ resize_as_``.

A view op's result shares storage with ``self``; taking over its array, grad_fn and output
number makes ``self`` stand for the view in the graph, as torch's in-place view ops do.
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor
from . import shape as sh


def _view_inplace(op):
    def method(self: Tensor, *args) -> Tensor:
        self._check_inplace()
        res = op(self, *args)
        self._data = res._data
        self._version.value += 1
        if res.requires_grad and grad_mode.is_grad_enabled():
            self._grad_fn, self._output_nr = res._grad_fn, res._output_nr
        return self
    method.__name__ = method.__qualname__ = op.__name__ + "_"
    method.__doc__ = f"In-place ``{op.__name__}``: this tensor becomes the view."
    return method


Tensor.squeeze_ = _view_inplace(sh.squeeze)
Tensor.unsqueeze_ = _view_inplace(sh.unsqueeze)
Tensor.t_ = _view_inplace(sh.t)
Tensor.transpose_ = _view_inplace(sh.transpose)
Tensor.swapaxes_ = Tensor.swapdims_ = Tensor.transpose_


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give the tensor shape ``sizes``, keeping its first elements in row-major order; new
    elements (when it grows) are zero here (torch leaves them uninitialised)."""
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                           f"{list(sizes)}")
    xp = self._backend.xp
    n = int(np.prod(sizes, dtype=np.int64))
    if tuple(self._data.shape) == sizes:
        return self
    old = self._data
    if n == old.size and old.flags.c_contiguous:
        self._data = old.reshape(sizes)
    else:
        flat = xp.zeros(n, dtype=old.dtype)
        k = min(n, old.size)
        flat[:k] = old.reshape(-1)[:k]
        self._data = flat.reshape(sizes)
        self._base = None  # new storage: no longer a view
    self._version.value += 1
    return self


def resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    return resize_(self, tuple(the_template.shape))


Tensor.resize_ = resize_
Tensor.resize_as_ = resize_as_

__all__: list[str] = []
