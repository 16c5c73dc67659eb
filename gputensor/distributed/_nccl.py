"""NCCL engine (``cupy.cuda.nccl``) for cuda tensors on a real GPU.

The communicator's unique id is created on group rank 0 and broadcast over the group's MPI
communicator. Operations are enqueued on CuPy's current stream (ordered with the kernels that
produced the data); completion is an event recorded after them, which ``Work`` polls with the
group's deadline. Data-movement ops travel as bytes, so every dtype moves; reductions need an
NCCL dtype (bool reduces as uint8 with MAX/MIN, as torch does). Not exercised without a GPU:
under the cuda simulator, ``_buffers.engine_for`` routes "nccl" to MPI instead.
"""
from __future__ import annotations

import numpy as np

from ._work import _Pending


def _nccl():
    from cupy.cuda import nccl
    return nccl


class _Event(_Pending):
    source = None

    def __init__(self):
        import cupy
        self.event = cupy.cuda.Event(block=False, disable_timing=True)
        self.event.record(cupy.cuda.get_current_stream())

    def test(self) -> bool:
        return self.event.done


class NCCLGroup:
    """``ncclGroupStart``/``ncclGroupEnd`` bracket (fuses sends/recvs into one launch)."""

    def begin(self) -> "NCCLGroup":
        _nccl().groupStart()
        return self

    def end(self) -> None:
        _nccl().groupEnd()

    def __enter__(self):
        return self.begin()

    def __exit__(self, *exc):
        self.end()


def _dtype(a):
    nccl = _nccl()
    table = {np.dtype(np.int8): nccl.NCCL_INT8, np.dtype(np.uint8): nccl.NCCL_UINT8,
             np.dtype(np.bool_): nccl.NCCL_UINT8, np.dtype(np.int32): nccl.NCCL_INT32,
             np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.float16): nccl.NCCL_FLOAT16,
             np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64}
    try:
        return table[np.dtype(a.dtype)]
    except KeyError:
        raise RuntimeError(f"Unsupported data type for NCCL process group: {a.dtype}") from None


def _op(op_name: str, a):
    nccl = _nccl()
    if a.dtype == np.bool_:
        op_name = {"SUM": "MAX", "BOR": "MAX", "PRODUCT": "MIN", "BAND": "MIN"}.get(op_name,
                                                                                   op_name)
    table = {"SUM": nccl.NCCL_SUM, "PRODUCT": nccl.NCCL_PROD, "MIN": nccl.NCCL_MIN,
             "MAX": nccl.NCCL_MAX, "AVG": getattr(nccl, "NCCL_AVG", nccl.NCCL_SUM)}
    if op_name not in table:
        raise RuntimeError(f"Cannot use ReduceOp.{op_name} with NCCL")
    return table[op_name]


def _bytes(a):
    import cupy
    return a.view(cupy.uint8).reshape(-1) if a.size else a.reshape(-1).view(cupy.uint8)


class NCCLEngine:
    """Collective primitives on CuPy arrays over one NCCL communicator."""

    name = "nccl"
    reduces_float16 = True

    def __init__(self, mpi_comm, group_ranks: list[int]):
        import cupy
        nccl = _nccl()
        self.xp = cupy
        self.native_avg = hasattr(nccl, "NCCL_AVG")
        self.group_ranks = group_ranks
        self.rank, self.size = mpi_comm.Get_rank(), mpi_comm.Get_size()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi_comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    @staticmethod
    def _stream() -> int:
        import cupy
        return cupy.cuda.get_current_stream().ptr

    def allreduce(self, buf, op_name):
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, _dtype(buf), _op(op_name, buf),
                            self._stream())
        return _Event()

    def bcast(self, buf, root):
        b = _bytes(buf)
        self.comm.broadcast(b.data.ptr, b.data.ptr, b.size, _nccl().NCCL_UINT8, root,
                            self._stream())
        return _Event()

    def reduce(self, buf, op_name, root):
        self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, _dtype(buf), _op(op_name, buf),
                         root, self._stream())
        return _Event()

    def allgather(self, send, recv):
        s, r = _bytes(send), _bytes(recv)
        self.comm.allGather(s.data.ptr, r.data.ptr, s.size, _nccl().NCCL_UINT8, self._stream())
        return _Event()

    def reduce_scatter(self, send, recv, op_name):
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, _dtype(recv),
                                _op(op_name, recv), self._stream())
        return _Event()

    def _p2p(self, sends, recvs):
        """Grouped sends [(bytes, peer)] and recvs [(bytes, peer)]; own slot copied locally."""
        u8, st = _nccl().NCCL_UINT8, self._stream()
        with NCCLGroup():
            for b, peer in sends:
                if peer != self.rank and b.size:
                    self.comm.send(b.data.ptr, b.size, u8, peer, st)
            for b, peer in recvs:
                if peer != self.rank and b.size:
                    self.comm.recv(b.data.ptr, b.size, u8, peer, st)
        return _Event()

    def gather(self, send, recv, root):
        s = _bytes(send)
        if self.rank != root:
            return self._p2p([(s, root)], [])
        r = _bytes(recv)
        n = s.size
        r[root * n:(root + 1) * n] = s
        return self._p2p([], [(r[i * n:(i + 1) * n], i) for i in range(self.size)])

    def scatter(self, send, recv, root):
        r = _bytes(recv)
        if self.rank != root:
            return self._p2p([], [(r, root)])
        s = _bytes(send)
        n = r.size
        r[...] = s[root * n:(root + 1) * n]
        return self._p2p([(s[i * n:(i + 1) * n], i) for i in range(self.size)], [])

    def alltoallv(self, send, scounts, recv, rcounts):
        s, r = _bytes(send), _bytes(recv)
        k = send.dtype.itemsize
        so = np.concatenate(([0], np.cumsum(scounts))).astype(int) * k
        ro = np.concatenate(([0], np.cumsum(rcounts))).astype(int) * k
        me = self.rank
        r[ro[me]:ro[me + 1]] = s[so[me]:so[me + 1]]
        return self._p2p([(s[so[i]:so[i + 1]], i) for i in range(self.size)],
                         [(r[ro[i]:ro[i + 1]], i) for i in range(self.size)])

    def send(self, buf, peer, tag):
        return self._p2p([(_bytes(buf), peer)], [])

    def recv(self, buf, peer, tag):
        if peer is None:
            raise RuntimeError("recv from any source (src=None) is not supported by the NCCL "
                               "backend; pass src=")
        ev = self._p2p([], [(_bytes(buf), peer)])
        ev.source = self.group_ranks[peer]
        return ev

    def free(self) -> None:
        self.comm.destroy()
