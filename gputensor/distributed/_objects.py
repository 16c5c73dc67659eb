"""Object collectives: picklable Python objects travel as uint8 byte buffers over MPI (whatever
the tensor backend), with the same deadline-polled waits as tensor collectives."""
from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ._collectives import start
from ._group import peer_index, resolve


def _bytes(obj: Any) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8).copy()


def _load(buf: np.ndarray) -> Any:
    return pickle.loads(buf.tobytes())


def _sizes(pg, n: int, name: str) -> list[int]:
    mine = np.array([n], dtype=np.int64)
    sizes = np.empty(pg.size(), dtype=np.int64)
    start(pg, name, lambda: pg.mpi.allgather(mine, sizes))
    return sizes.tolist()


def _allgather_bytes(pg, payload: np.ndarray, name: str) -> list[np.ndarray]:
    sizes = _sizes(pg, payload.size, name)
    recv = np.empty(sum(sizes), dtype=np.uint8)
    MPI = pg.mpi
    displs = np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()
    start(pg, name, lambda: _Allgatherv(MPI.comm, payload, recv, sizes, displs))
    return [recv[d:d + s] for d, s in zip(displs, sizes)]


def _Allgatherv(comm, send, recv, sizes, displs):
    from ._mpi import _Req
    return _Req(comm.Iallgatherv(send, [recv, (sizes, displs)]))


def all_gather_object(object_list: list, obj: Any, group=None) -> None:
    """Fill ``object_list`` (length = group size) with every rank's ``obj``."""
    pg = resolve(group)
    if pg is None:
        return None
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must have the group size "
                         f"{pg.size()}, got {len(object_list)}")
    for i, part in enumerate(_allgather_bytes(pg, _bytes(obj), "all_gather_object")):
        object_list[i] = _load(part)
    return None


def gather_object(obj: Any, object_gather_list: list | None = None, dst=None, group=None,
                  group_dst=None) -> None:
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, dst, group_dst, "dst")
    is_root = pg.rank() == root
    if is_root and (object_gather_list is None or len(object_gather_list) != pg.size()):
        raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                         f"rank, with length {pg.size()} (the group size).")
    if not is_root and object_gather_list is not None:
        raise ValueError("Argument ``object_gather_list`` must NOT be specified on "
                         "non-destination ranks.")
    parts = _allgather_bytes(pg, _bytes(obj), "gather_object")
    if is_root:
        for i, part in enumerate(parts):
            object_gather_list[i] = _load(part)
    return None


def broadcast_object_list(object_list: list, src=None, group=None, device=None,
                          group_src=None) -> None:
    """Replace ``object_list``'s items on every rank by the source rank's (in place)."""
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, src, group_src, "src")
    payload = _bytes(list(object_list)) if pg.rank() == root else np.empty(0, np.uint8)
    n = np.array([payload.size], dtype=np.int64)
    start(pg, "broadcast_object_list", lambda: pg.mpi.bcast(n, root))
    if pg.rank() != root:
        payload = np.empty(int(n[0]), dtype=np.uint8)
    start(pg, "broadcast_object_list", lambda: pg.mpi.bcast(payload, root))
    if pg.rank() != root:
        got = _load(payload)
        if len(got) != len(object_list):
            raise RuntimeError(f"broadcast_object_list: source rank {pg.ranks[root]} sent "
                               f"{len(got)} objects but this rank's list has "
                               f"{len(object_list)}")
        object_list[:] = got
    return None


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None,
                        src=None, group=None, group_src=None) -> None:
    """Rank i receives ``scatter_object_input_list[i]`` of ``src`` into ``output_list[0]``."""
    pg = resolve(group)
    if pg is None:
        return None
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    root = peer_index(pg, src, group_src, "src")
    n = pg.size()
    if pg.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != n:
            raise ValueError(f"scatter_object_list: the source rank needs "
                             f"scatter_object_input_list of length {n} (the group size)")
        parts = [_bytes(o) for o in scatter_object_input_list]
        sizes = np.array([p.size for p in parts], dtype=np.int64)
    else:
        parts, sizes = [], np.empty(n, dtype=np.int64)
    start(pg, "scatter_object_list", lambda: pg.mpi.bcast(sizes, root))
    counts = sizes.tolist()
    recv = np.empty(counts[pg.rank()], dtype=np.uint8)
    send = np.concatenate(parts) if parts else None
    displs = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()

    def launch():
        from ._mpi import _Req
        sbuf = [send, (counts, displs)] if send is not None else None
        return _Req(pg.mpi.comm.Iscatterv(sbuf, recv, root=root))
    start(pg, "scatter_object_list", launch)
    scatter_object_output_list[0] = _load(recv)
    return None
