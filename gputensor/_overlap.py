"""torch's memory-overlap rules for in-place writes (``at::has_internal_overlap`` and
``at::get_overlap_status``), applied to backend arrays.

Every in-place write goes through ``Tensor._assign`` (and out= through ``write_out``), which
call ``check_write`` here. torch refuses two kinds of write:

* internal overlap: the destination has a dim of size > 1 and stride 0 (an expanded tensor),
  so one memory location would receive several elements;
* partial overlap: an input and the destination are both non-overlapping and dense, live in the
  same memory and cover it differently (``a[1:].copy_(a[:-1])``, ``a.copy_(a.t())``). Exact
  aliasing (``a.add_(a)``) is fine, and so are layouts torch cannot judge cheaply ("too hard":
  non-dense views); those are computed out of place here, so they get the clean result.

The common case costs a stride scan and one ``may_share_memory`` bounds test per input.
"""
from __future__ import annotations

import numpy as np

_INTERNAL = ("unsupported operation: more than one element of the written-to tensor refers to a "
             "single memory location. Please clone() the tensor before performing the operation.")
_PARTIAL = ("unsupported operation: some elements of the input tensor and the written-to tensor "
            "refer to a single memory location. Please clone() the tensor before performing the "
            "operation.")


def has_internal_overlap(arr) -> bool:
    """A dim of size > 1 with stride 0 (torch's only certain answer; others are "too hard")."""
    if 0 in arr.shape:
        return False
    return any(s == 0 and n > 1 for n, s in zip(arr.shape, arr.strides))


def _dense(arr) -> bool:
    """torch's ``is_non_overlapping_and_dense``: strides a permutation of contiguous ones."""
    dims = sorted((abs(s), n) for n, s in zip(arr.shape, arr.strides) if n != 1)
    expect = arr.itemsize
    for s, n in dims:
        if s != expect:
            return False
        expect *= n
    return True


def _pointer(arr) -> int:
    data = getattr(arr, "data", None)
    ptr = getattr(data, "ptr", None)  # cupy
    return int(ptr) if ptr is not None else int(arr.__array_interface__["data"][0])


def _span(arr) -> tuple:
    """``[begin, end)`` byte addresses of a dense array."""
    lo = hi = _pointer(arr)
    for n, s in zip(arr.shape, arr.strides):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + arr.itemsize


def _may_share(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.may_share_memory(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False  # host and device memory never overlap
    import cupy
    return cupy.may_share_memory(a, b)


def overlap_status(dst, src) -> str:
    """torch's ``get_overlap_status``: "full" (same elements, same layout), "partial" or "no"
    (which includes torch's "too hard": non-dense layouts are assumed not to overlap)."""
    if dst is src:
        return "full"
    if not dst.size or not src.size or not _may_share(dst, src):
        return "no"
    if not (_dense(dst) and _dense(src)):
        return "no"
    (a0, a1), (b0, b1) = _span(dst), _span(src)
    if a0 == b0 and a1 == b1:
        return "full" if dst.strides == src.strides else "partial"
    return "partial" if a0 < b1 and b0 < a1 else "no"


def same_view(a, b) -> bool:
    """The same elements in the same layout (torch's ``copy_`` returns early on these)."""
    return a is b or (a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
                      and _may_share(a, b) and _pointer(a) == _pointer(b))


def check_write(dst, sources=(), internal: bool = True, alias_ok: bool = True) -> None:
    """Raise torch's RuntimeError when writing into array ``dst`` from ``sources`` (arrays or
    tensors; anything else is skipped) is one torch refuses. ``alias_ok=False`` is torch's
    ``assert_no_overlap`` (index_put_, scatter_, index_add_ ...: exact aliasing is refused too);
    otherwise it is ``assert_no_partial_overlap`` (element-wise ops, copy_)."""
    if internal and has_internal_overlap(dst):
        raise RuntimeError(_INTERNAL)
    refused = ("partial",) if alias_ok else ("partial", "full")
    for s in sources:
        arr = getattr(s, "_data", s)
        if hasattr(arr, "strides") and overlap_status(dst, arr) in refused:
            raise RuntimeError(_PARTIAL)


def write_overlapping(dst, new) -> None:
    """Write ``new`` into a destination with internal overlap the way torch's element-wise
    kernels do for the ops it allows there (fill, masked_fill, index_put): only the elements
    that change are stored, so a location shared by several elements takes a written value."""
    changed = new != dst
    dst[changed] = new[changed]
