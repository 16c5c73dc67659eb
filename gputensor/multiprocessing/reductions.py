"""Pickling tensors across processes through shared memory, as ``torch.multiprocessing`` does.

``init_reductions`` registers reducers with ``multiprocessing.reduction.ForkingPickler``: what
queues, pipes and spawned ``Process`` arguments use, while plain ``pickle``/``gputensor.save``
keep ``Tensor.__reduce_ex__`` (a copy). A cpu tensor not yet shared is moved into shared memory in
place, as torch does, when nothing else aliases its array; otherwise (a view, a ``detach()``
twin, a ``.numpy()`` handle: gputensor cannot re-point those) it is sent as a shared copy, so the
sender's aliases stay intact. The receiver maps the same pages from a duplicated fd, so in-place
writes on either side of a shared tensor are seen by both; call ``share_memory_()`` first
(Hogwild) to be sure the sender's own tensor is the shared one.
"""
from __future__ import annotations

import multiprocessing.context as _mpc
import sys
import multiprocessing.reduction as _mpr

import numpy as np

from .._device import CPU
from .._shared_memory import _cuda_error, open_segment, segment_of, shared_copy
from ..tensor import Tensor

_SOLE_REFS = 2
_NON_LEAF = ("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
             "does not support crossing process boundaries.  If you just want to transfer the "
             "data, call detach() on the tensor before serializing (e.g., putting it on the "
             "queue).")


def _sole_owner(t: Tensor) -> bool:
    """Nothing but ``t`` holds its array: no view, no ``detach()`` twin, no ``.numpy()``
    handle (CPython refcount: t's slot and getrefcount's own argument)."""
    return (t._base is None and t._data.flags.owndata and
            sys.getrefcount(t._data) <= _SOLE_REFS)


def _shared_array(t: Tensor) -> np.ndarray:
    if segment_of(t._data) is not None:
        return t._data
    if _sole_owner(t):
        return t.share_memory_()._data  # torch moves the sender's storage too
    arr = shared_copy(t._data)  # moving would silently cut the aliases off: a shared copy
    # A spawning Popen passes the fd number itself to the child at exec time: keep the
    # temporary segment (and so its fd) open as long as that Popen. (The fd-passing server
    # used by queues and pipes dups the fd at once, so needs nothing.)
    popen = _mpc.get_spawning_popen()
    if popen is not None:
        popen.__dict__.setdefault("_gputensor_segments", []).append(segment_of(arr))
    return arr


def rebuild_tensor(kind: str, fd_wrapper, nbytes: int, offset: int, shape: tuple,
                   strides: tuple, dtype, requires_grad: bool) -> Tensor:
    """Receiver side: map the sender's segment and view the tensor's bytes in it."""
    if fd_wrapper is None:
        arr = np.empty(shape, dtype)
    else:
        seg = open_segment(fd_wrapper.detach(), nbytes)
        arr = np.ndarray(shape, dtype, buffer=seg, offset=offset, strides=strides)
    t = Tensor._make(arr, CPU)
    if kind == "parameter":
        from ..nn.parameter import Parameter
        return Parameter(t, requires_grad)
    if requires_grad:
        t.requires_grad = True
    return t


def reduce_tensor(t: Tensor):
    if t._device.type != "cpu":
        raise _cuda_error("sending a tensor to another process")
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError(_NON_LEAF)
    kind = "parameter" if _is_parameter(t) else "tensor"
    if t._data.size == 0:
        return rebuild_tensor, (kind, None, 0, 0, t._data.shape, None, t._data.dtype,
                                t.requires_grad)
    arr = _shared_array(t)
    seg = segment_of(arr)
    return rebuild_tensor, (kind, _mpr.DupFd(seg.fd), len(seg), arr.ctypes.data - seg.address,
                            arr.shape, arr.strides, arr.dtype, t.requires_grad)


def _is_parameter(t: Tensor) -> bool:
    from ..nn.parameter import Parameter
    return isinstance(t, Parameter)


def init_reductions() -> None:
    """Register the tensor reducers (idempotent). Sparse and lazy tensors keep their own."""
    from ..nn.parameter import Parameter
    for cls in (Tensor, Parameter):
        _mpr.ForkingPickler.register(cls, reduce_tensor)


__all__ = ["init_reductions", "reduce_tensor", "rebuild_tensor"]
