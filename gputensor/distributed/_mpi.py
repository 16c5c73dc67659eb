"""MPI engine (mpi4py): the transport for cpu tensors, the "gloo"/"mpi" backends, and the host
fallback of "nccl" under the cuda simulator. Works on contiguous NumPy arrays, handing their
buffers to mpi4py directly (no copies here); every call is non-blocking and returns a pending
request that ``Work`` polls against the process group's deadline.
"""
from __future__ import annotations

import numpy as np

from ._work import _Pending


_MPI = None


def mpi():
    """``mpi4py.MPI``, imported on first use (importing it initializes MPI)."""
    global _MPI
    if _MPI is None:
        from mpi4py import MPI
        _MPI = MPI
    return _MPI


class _Req(_Pending):
    __slots__ = ("req", "status", "group_ranks", "test")

    def __init__(self, req, status=None, group_ranks=None):
        self.req = req
        self.status = status
        self.group_ranks = group_ranks
        # bound methods: Work.wait polls this in its hot loop
        self.test = req.Test if status is None else (lambda: req.Test(status))

    @property
    def source(self):
        if self.status is None:
            return None
        return self.group_ranks[self.status.Get_source()]


def _raw(a: np.ndarray) -> np.ndarray:
    """A view MPI can move as-is: float16 (no portable MPI type) travels as 16-bit words."""
    if a.dtype == np.float16:
        return a.view(np.uint16)
    return a


_OPS: dict = {}


def reduce_op(op_name: str, kind: str):
    """MPI.Op for a ReduceOp name on a buffer of NumPy kind ``kind`` ('b' bool, 'i'/'u', 'f')."""
    op = _OPS.get((op_name, kind))
    if op is None:
        op = _OPS[(op_name, kind)] = _reduce_op(op_name, kind)
    return op


def _reduce_op(op_name: str, kind: str):
    MPI = mpi()
    if kind == "b":  # logical forms: torch treats bool SUM as OR and PRODUCT as AND
        table = {"SUM": MPI.LOR, "MAX": MPI.LOR, "BOR": MPI.LOR, "PRODUCT": MPI.LAND,
                 "MIN": MPI.LAND, "BAND": MPI.LAND, "BXOR": MPI.LXOR}
    else:
        table = {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN,
                 "MAX": MPI.MAX, "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}
    return table[op_name]


class MPIEngine:
    """Collective primitives over one MPI communicator (a private duplicate per group)."""

    xp = np
    name = "mpi"
    reduces_float16 = False  # callers upcast float16 before reductions

    def __init__(self, comm, group_ranks: list[int]):
        self.comm = comm
        self.group_ranks = group_ranks

    def allreduce(self, buf, op_name):
        return _Req(self.comm.Iallreduce(_MPI.IN_PLACE, buf, reduce_op(op_name, buf.dtype.kind)))

    def bcast(self, buf, root):
        return _Req(self.comm.Ibcast(_raw(buf), root=root))

    def reduce(self, buf, op_name, root):
        MPI = mpi()
        op = reduce_op(op_name, buf.dtype.kind)
        if self.comm.Get_rank() == root:
            return _Req(self.comm.Ireduce(MPI.IN_PLACE, buf, op=op, root=root))
        return _Req(self.comm.Ireduce(buf, None, op=op, root=root))

    def allgather(self, send, recv):
        return _Req(self.comm.Iallgather(_raw(send), _raw(recv)))

    def reduce_scatter(self, send, recv, op_name):
        op = reduce_op(op_name, send.dtype.kind)
        return _Req(self.comm.Ireduce_scatter_block(send, recv, op=op))

    def gather(self, send, recv, root):
        return _Req(self.comm.Igather(_raw(send), None if recv is None else _raw(recv), root=root))

    def scatter(self, send, recv, root):
        return _Req(self.comm.Iscatter(None if send is None else _raw(send), _raw(recv), root=root))

    def alltoallv(self, send, scounts, recv, rcounts):
        s, r = _raw(send), _raw(recv)
        if len(set(scounts)) == 1 and len(set(rcounts)) == 1 and scounts[0] == rcounts[0]:
            return _Req(self.comm.Ialltoall(s, r))
        sd = np.concatenate(([0], np.cumsum(scounts)[:-1])).tolist()
        rd = np.concatenate(([0], np.cumsum(rcounts)[:-1])).tolist()
        return _Req(self.comm.Ialltoallv([s, (list(scounts), sd)], [r, (list(rcounts), rd)]))

    def barrier(self):
        return _Req(self.comm.Ibarrier())

    def send(self, buf, peer, tag):
        return _Req(self.comm.Isend(_raw(buf), dest=peer, tag=tag))

    def recv(self, buf, peer, tag):
        MPI = mpi()
        src = MPI.ANY_SOURCE if peer is None else peer
        return _Req(self.comm.Irecv(_raw(buf), source=src, tag=tag), MPI.Status(),
                    self.group_ranks)

    def free(self) -> None:
        MPI = mpi()
        if self.comm != MPI.COMM_NULL and not MPI.Is_finalized():
            self.comm.Free()
