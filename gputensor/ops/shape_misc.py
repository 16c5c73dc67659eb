"""Shape functions of torch's surface still missing elsewhere: ``hsplit vsplit dsplit``,
``diagonal_scatter select_scatter slice_scatter`` (out-of-place writes through the
differentiable ``index_put``), the ``*_copy`` forms of view ops, ``unsafe_split``/``unsafe_chunk``
and ``empty_strided``/``empty_permuted``."""
from __future__ import annotations

from ..tensor import Tensor, _wrap_dim, tensor_method
from . import creation as cr
from . import index_ops as ix
from . import shape as sh
from . import diagonals as dg
from . import join_split as js
from .tensor_misc import split_with_sizes


def _directional_split(name: str, dim: int, min_dims: int):
    def op(input: Tensor, indices_or_sections) -> tuple:
        if input.ndim < min_dims:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} "
                               f"dimension, but got a tensor with {input.ndim} dimensions!")
        d = 0 if (name == "hsplit" and input.ndim == 1) else dim
        if isinstance(indices_or_sections, int):
            n, k = input.shape[d], indices_or_sections
            if k == 0 or n % k:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but "
                                   f"the size of the dimension {n} is not divisible by the "
                                   f"split_size {k}!")
        return js.tensor_split(input, indices_or_sections, d)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``tensor_split`` along dim {dim} (equal sections must divide the size)."
    return tensor_method(op)


hsplit = _directional_split("hsplit", 1, 1)
vsplit = _directional_split("vsplit", 0, 2)
dsplit = _directional_split("dsplit", 2, 3)


def _check_src(src: Tensor, target_shape: tuple, op: str) -> None:
    if tuple(src.shape) != tuple(target_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(target_shape)}")


@tensor_method
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    d = _wrap_dim(dim, input.ndim)
    key = (slice(None),) * d + (int(index),)
    _check_src(src, tuple(js.select(input, d, index).shape), "select_scatter")
    return ix.index_put(input, key, src)


@tensor_method
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with ``input[..., start:end:step, ...]`` (at ``dim``) set to ``src``."""
    d = _wrap_dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    _check_src(src, tuple(input[key].shape), "slice_scatter")
    return ix.index_put(input, key, src)


@tensor_method
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with its ``diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    d1, d2 = _wrap_dim(dim1, input.ndim), _wrap_dim(dim2, input.ndim)
    _check_src(src, tuple(dg.diagonal(input, offset, d1, d2).shape), "diagonal_scatter")
    moved = sh.movedim(input, (d1, d2), (-2, -1))
    rows, cols = moved.shape[-2], moved.shape[-1]
    n = max(0, min(rows - max(-offset, 0), cols - max(offset, 0)))
    i = cr.arange(n, device=input.device) + max(-offset, 0)
    j = cr.arange(n, device=input.device) + max(offset, 0)
    out = ix.index_put(moved, (Ellipsis, i, j), src)
    return sh.movedim(out, (-2, -1), (d1, d2))


# -- *_copy forms: the view op's result in new memory --------------------------------------------

def _copy_form(name: str, view):
    def op(input: Tensor, *args, **kwargs):
        out = view(input, *args, **kwargs)
        return tuple(o.clone() for o in out) if isinstance(out, tuple) else out.clone()
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name[:-5]}`` returning new memory instead of a view."
    return op


_COPIES = {
    "alias_copy": lambda x: x, "detach_copy": lambda x: x.detach(),
    "diagonal_copy": dg.diagonal, "expand_copy": lambda x, *s, **k: sh.expand(x, *s),
    "narrow_copy": js.narrow, "permute_copy": sh.permute, "select_copy": js.select,
    "slice_copy": lambda x, dim=0, start=None, end=None, step=1:
        x[(slice(None),) * _wrap_dim(dim, x.ndim) + (slice(start, end, step),)],
    "split_copy": js.split, "split_with_sizes_copy": split_with_sizes,
    "squeeze_copy": sh.squeeze, "t_copy": sh.t, "transpose_copy": sh.transpose,
    "unbind_copy": js.unbind, "unsqueeze_copy": sh.unsqueeze, "view_copy": sh.view,
    "unfold_copy": lambda x, dimension, size, step: x.unfold(dimension, size, step),
}
for _name, _view in _COPIES.items():
    globals()[_name] = _copy_form(_name, _view)
Tensor.narrow_copy = globals()["narrow_copy"]

unsafe_split = js.split
unsafe_chunk = js.chunk
unsafe_split_with_sizes = split_with_sizes
Tensor.unsafe_split, Tensor.unsafe_chunk = js.split, js.chunk
Tensor.unsafe_split_with_sizes = split_with_sizes


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size``; it is contiguous (gputensor does not lay out
    arbitrary strides), which every read or write of its elements cannot tell apart."""
    if len(tuple(size)) != len(tuple(stride)):
        raise RuntimeError("mismatch in length of strides and shape")
    return cr.empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` (contiguous; see ``empty_strided``)."""
    if sorted(physical_layout) != list(range(len(tuple(size)))):
        raise RuntimeError("Dimension mismatch or physical_layout is not a permutation")
    return cr.empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


__all__ = ["hsplit", "vsplit", "dsplit", "select_scatter", "slice_scatter", "diagonal_scatter",
           "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "empty_strided",
           "empty_permuted", *_COPIES]
