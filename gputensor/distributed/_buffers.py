"""Tensor <-> engine buffer plumbing, and the single place that picks a transport.

A contiguous tensor whose storage already lives where the engine works (NumPy for MPI, CuPy for
NCCL) is handed over as-is: results land in the tensor's own memory, no copies. Otherwise
(non-contiguous, a dtype the transport cannot reduce, a GPU tensor over MPI) a staging copy is
made and written back in place when the operation completes.
"""
from __future__ import annotations

import enum

import numpy as np

from ..tensor import Tensor


class ReduceOp(enum.IntEnum):
    """torch's ``ReduceOp`` (``ReduceOp.SUM`` ...; ``ReduceOp.RedOpType`` is the same enum)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {int(self)}>"


ReduceOp.RedOpType = ReduceOp  # type: ignore[attr-defined]


def engine_for(pg, tensor):
    """THE transport choice. cpu -> MPI. cuda -> NCCL on a real GPU when the group's cuda backend
    is "nccl"; under the cuda simulator the arrays are NumPy on the host, so "nccl" falls back
    to MPI here (and only here). "gloo"/"mpi" with cuda tensors stage through host copies."""
    dev = tensor.device.type
    name = pg.device_backends.get(dev)
    if name is None:
        raise RuntimeError(f"No backend type associated with device type {dev}")
    if name == "nccl":
        if dev != "cuda":
            raise RuntimeError(f"No backend type associated with device type {dev}")
        if isinstance(tensor._data, np.ndarray):  # simulator: host fallback over MPI
            return pg.mpi
        return pg.nccl()
    return pg.mpi


def check_tensor(t, name: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(t)} instead.")


def check_list(ts, name: str) -> None:
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(ts)} instead.")


def work_dtype(np_dtype, engine, reducing: bool):
    """dtype the engine computes in: float16 reductions run in float32 over MPI."""
    if reducing and np_dtype == np.float16 and not engine.reduces_float16:
        return np.dtype(np.float32)
    return np_dtype


def _native(arr, engine) -> bool:
    return isinstance(arr, np.ndarray) if engine.xp is np else not isinstance(arr, np.ndarray)


def to_engine(arr, engine, dtype=None):
    """``arr`` as a C-contiguous engine array of ``dtype``; the same object when possible."""
    xp = engine.xp
    dtype = arr.dtype if dtype is None else np.dtype(dtype)
    if _native(arr, engine):
        if arr.dtype == dtype and arr.flags.c_contiguous:
            return arr
        return xp.array(arr, dtype=dtype, order="C", copy=True)
    if xp is np:  # device array -> host staging copy
        return np.array(arr.get(), dtype=dtype, order="C")
    return xp.array(arr, dtype=dtype, order="C")


def assign(t, src) -> None:
    """Write ``src`` (engine array) into tensor ``t``'s own storage and bump its version."""
    dst = t._data
    if src is not dst:
        if isinstance(dst, np.ndarray) and not isinstance(src, np.ndarray):
            src = src.get()
        elif not isinstance(dst, np.ndarray) and isinstance(src, np.ndarray):
            src = t._backend.from_numpy(src)
        dst[...] = src.reshape(dst.shape).astype(dst.dtype, copy=False)
    t._version.value += 1


def inout(t, engine, reducing: bool = False):
    """(buffer, writeback) for a tensor updated in place; writeback is a no-op when the
    buffer is the tensor's own memory."""
    buf = to_engine(t._data, engine, work_dtype(t._data.dtype, engine, reducing))
    return buf, (lambda: assign(t, buf))


def stacked(ts, engine, dtype=None):
    """One contiguous engine buffer holding the tensors of a list back to back (a copy)."""
    xp = engine.xp
    parts = [to_engine(t._data, engine, dtype).reshape(-1) for t in ts]
    return xp.concatenate(parts) if parts else xp.zeros(0, dtype=dtype)


def split_into(buf, ts) -> None:
    """Copy consecutive slices of ``buf`` into each tensor of ``ts`` (in place)."""
    off = 0
    for t in ts:
        n = t._data.size
        assign(t, buf[off:off + n])
        off += n


def same_shape(ts, ref, opname: str, what: str) -> None:
    for i, t in enumerate(ts):
        if tuple(t.shape) != tuple(ref.shape):
            raise RuntimeError(f"{opname}: invalid {what} at index {i} (expected "
                               f"{tuple(ref.shape)}, got {tuple(t.shape)})")
        if t.dtype != ref.dtype:
            raise RuntimeError(f"{opname}: invalid {what} at index {i} (expected dtype "
                               f"{ref.dtype}, got {t.dtype})")


_PLANS: dict = {}


def op_plan(op, np_dtype, opname: str) -> str:
    """Engine op name for a ReduceOp on a dtype (cached); raises torch's errors."""
    key = (op, np_dtype)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _op_plan(op, np_dtype, opname)
        if len(_PLANS) < 256:
            _PLANS[key] = plan
    return plan


def _op_plan(op, np_dtype, opname: str) -> str:
    op = ReduceOp(int(op))
    kind = np.dtype(np_dtype).kind
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind == "f":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op is ReduceOp.AVG and kind != "f":
        raise RuntimeError(f"{opname}: ReduceOp.AVG needs a floating-point tensor, got "
                           f"{np.dtype(np_dtype)} (result type Float can't be cast to the "
                           f"desired output type)")
    if op is ReduceOp.PREMUL_SUM:
        raise RuntimeError("ReduceOp.PREMUL_SUM is only supported through "
                           "_make_nccl_premul_sum, which gputensor does not provide")
    return op.name
