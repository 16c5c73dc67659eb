"""Point-to-point: send / recv / isend / irecv / batch_isend_irecv (torch's signatures)."""
from __future__ import annotations

from ._buffers import check_tensor, engine_for, inout, to_engine
from ._collectives import start
from ._group import peer_index, resolve


def _peer(pg, rank, group_rank, what):
    idx = peer_index(pg, rank, group_rank, what)
    if idx == pg.rank():
        if what == "dst":
            raise ValueError("Invalid destination rank: destination rank should not be the "
                             "same as the rank of the current process.")
        raise ValueError("Invalid source rank: source rank should not be the same as the rank "
                         "of the current process.")
    return idx


def isend(tensor, dst=None, group=None, tag: int = 0, group_dst=None):
    """Start sending ``tensor`` to ``dst``; the returned Work completes once it may be reused."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "dst")
    eng = engine_for(pg, tensor)
    buf = to_engine(tensor._data, eng)
    return start(pg, f"send to rank {pg.ranks[peer]}", lambda: eng.send(buf, peer, tag), None,
                 [tensor], True)


def irecv(tensor, src=None, group=None, tag: int = 0, group_src=None):
    """Start receiving into ``tensor`` (from any rank when ``src`` is None)."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "src")
    eng = engine_for(pg, tensor)
    buf, writeback = inout(tensor, eng)
    who = "any rank" if peer is None else f"rank {pg.ranks[peer]}"
    return start(pg, f"recv from {who}", lambda: eng.recv(buf, peer, tag), writeback,
                 [tensor], True)


def send(tensor, dst=None, group=None, tag: int = 0, group_dst=None) -> None:
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag: int = 0, group_src=None) -> int:
    """Receive into ``tensor``; returns the sender's global rank (-1 for non-members)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    pg = resolve(group)
    if src is not None:
        return int(src)
    if group_src is not None:
        return pg.ranks[group_src]
    return work.source_rank()


class P2POp:
    """One operation of ``batch_isend_irecv``: ``P2POp(isend|irecv, tensor, peer, group, tag)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag: int = 0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed."
                             "isend`` or ``torch.distributed.irecv``.")
        check_tensor(tensor)
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list:
    """Start every operation of the list; returns their Works (wait on all of them)."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = []
    nccl_group = _nccl_batch(p2p_op_list)
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    if nccl_group is not None:
        nccl_group.end()
    return works


def _nccl_batch(ops):
    """NCCL sends/recvs of one batch must be issued inside one ncclGroupStart/End pair (else
    two ranks that both send first deadlock on the GPU); MPI requests need nothing."""
    first = ops[0] if ops else None
    if first is None:
        return None
    pg = resolve(first.group)
    if pg is None or engine_for(pg, first.tensor) is pg.mpi:
        return None
    from ._nccl import NCCLGroup
    return NCCLGroup().begin()
