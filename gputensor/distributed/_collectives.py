"""Tensor collectives with torch.distributed's signatures; results are written in place.

Each call starts one non-blocking engine operation and wraps it in a ``Work``: returned as-is
for ``async_op=True``, waited on (against the group's timeout) otherwise. Set
``TORCH_DISTRIBUTED_DEBUG=DETAIL`` to have every collective first compare its name, shapes and
dtypes across ranks (torch's collective fingerprint check), naming the ranks that disagree.
"""
from __future__ import annotations

from ._buffers import (ReduceOp, assign, check_list, check_tensor, engine_for, inout, op_plan,
                       same_shape, split_into, stacked, to_engine, work_dtype)
from ._errors import DistBackendError
from ._group import peer_index, resolve
from ._mpi import mpi
from ._work import Work


def start(pg, name: str, launch, finish=None, outputs=None, async_op: bool = False):
    """Launch ``launch()`` (-> pending), wrap it in a Work, and wait unless ``async_op``."""
    me = pg.ranks[pg.rank()]
    try:
        pending = launch()
    except mpi().Exception as exc:
        raise DistBackendError(f"[Rank {me}] {name} failed in MPI: {exc}") from None
    work = Work(pending, name, me, pg.timeout, finish, outputs)
    if async_op:
        return work
    work.wait()
    return None


def fingerprint(pg, name: str, tensors, extra=None) -> None:
    """Under TORCH_DISTRIBUTED_DEBUG=DETAIL (read at init_process_group, as torch does), check
    that all ranks run the same collective on tensors of the same shapes and dtypes."""
    if not pg.debug_detail:
        return
    mine = (name, tuple((tuple(t.shape), str(t.dtype)) for t in tensors), extra)
    everyone = pg.comm.allgather(mine)
    for r, fp in enumerate(everyone):
        if fp != everyone[0]:
            def show(f):
                shapes = ", ".join(f"{list(s)} {d}" for s, d in f[1])
                return f"CollectiveFingerPrint(OpType={f[0].upper()}, TensorShape/Dtype=[{shapes}])"
            raise RuntimeError(
                f"Detected mismatch between collectives on ranks. Rank {pg.ranks[0]} is running "
                f"collective: {show(everyone[0])}, but Rank {pg.ranks[r]} is running collective: "
                f"{show(fp)}.")


def _avg(buf, eng, pg):
    if not getattr(eng, "native_avg", False):
        eng.xp.true_divide(buf, pg.size(), out=buf)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group; every rank ends with the result (in place)."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    opn = op_plan(op, tensor._data.dtype, "all_reduce")
    fingerprint(pg, "all_reduce", [tensor], opn)
    eng = engine_for(pg, tensor)
    buf, writeback = inout(tensor, eng, reducing=True)

    def finish():
        if opn == "AVG":
            _avg(buf, eng, pg)
        writeback()
    return start(pg, "all_reduce", lambda: eng.allreduce(buf, opn), finish, [tensor], async_op)


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, src, group_src, "src")
    fingerprint(pg, "broadcast", [tensor], root)
    eng = engine_for(pg, tensor)
    buf, writeback = inout(tensor, eng)
    return start(pg, "broadcast", lambda: eng.bcast(buf, root), writeback, [tensor], async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst=None):
    """Reduce onto ``dst``; other ranks' tensors are left as they were."""
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, dst, group_dst, "dst")
    opn = op_plan(op, tensor._data.dtype, "reduce")
    fingerprint(pg, "reduce", [tensor], (opn, root))
    eng = engine_for(pg, tensor)
    is_root = pg.rank() == root
    buf = to_engine(tensor._data, eng, work_dtype(tensor._data.dtype, eng, True))
    if not is_root and buf is tensor._data and eng.name == "nccl":
        buf = buf.copy()  # MPI only reads non-root buffers; NCCL may use them as scratch

    def finish():
        if is_root:
            if opn == "AVG":
                _avg(buf, eng, pg)
            assign(tensor, buf)
    return start(pg, "reduce", lambda: eng.reduce(buf, opn, root), finish, [tensor], async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    check_list(tensor_list, "tensor_list")
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    if len(tensor_list) != pg.size():
        raise RuntimeError(f"all_gather: invalid output tensor list at index 0 (expected length "
                           f"{pg.size()}, got {len(tensor_list)})")
    same_shape(tensor_list, tensor, "all_gather", "tensor size")
    fingerprint(pg, "all_gather", [tensor])
    eng = engine_for(pg, tensor)
    send = to_engine(tensor._data, eng)
    recv = eng.xp.empty((pg.size() * send.size,), dtype=send.dtype)
    return start(pg, "all_gather", lambda: eng.allgather(send, recv),
                 lambda: split_into(recv, tensor_list), tensor_list, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Gather into one tensor: shape (world*n, ...) concatenated or (world, n, ...) stacked."""
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    pg = resolve(group)
    if pg is None:
        return None
    if output_tensor.dtype != input_tensor.dtype:
        raise RuntimeError("output tensor must have the same type as input tensor")
    if output_tensor.numel() != pg.size() * input_tensor.numel():
        raise RuntimeError(f"output tensor size must be equal to world_size times input tensor "
                           f"size (output {tuple(output_tensor.shape)}, input "
                           f"{tuple(input_tensor.shape)}, world_size {pg.size()})")
    fingerprint(pg, "all_gather_into_tensor", [input_tensor])
    eng = engine_for(pg, input_tensor)
    send = to_engine(input_tensor._data, eng)
    recv, writeback = inout(output_tensor, eng)
    return start(pg, "all_gather_into_tensor", lambda: eng.allgather(send, recv), writeback,
                 [output_tensor], async_op)


def _reduce_scatter(pg, name, output, send, opn, eng, async_op):
    recv, writeback = inout(output, eng, reducing=True)

    def finish():
        if opn == "AVG":
            _avg(recv, eng, pg)
        writeback()
    return start(pg, name, lambda: eng.reduce_scatter(send, recv, opn), finish, [output],
                 async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    check_tensor(output, "output")
    check_list(input_list, "input_list")
    pg = resolve(group)
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise RuntimeError(f"reduce_scatter: input list size {len(input_list)} does not match "
                           f"the group size {pg.size()}")
    same_shape(input_list, output, "reduce_scatter", "input tensor")
    opn = op_plan(op, output._data.dtype, "reduce_scatter")
    fingerprint(pg, "reduce_scatter", [output], opn)
    eng = engine_for(pg, output)
    send = stacked(input_list, eng, work_dtype(output._data.dtype, eng, True))
    return _reduce_scatter(pg, "reduce_scatter", output, send, opn, eng, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    if input.numel() != pg.size() * output.numel():
        raise RuntimeError(f"input tensor must be the same size as output size times world "
                           f"size (input {tuple(input.shape)}, output {tuple(output.shape)}, "
                           f"world_size {pg.size()})")
    if input.dtype != output.dtype:
        raise RuntimeError("input tensor must have the same type as output tensor")
    opn = op_plan(op, output._data.dtype, "reduce_scatter_tensor")
    fingerprint(pg, "reduce_scatter_tensor", [output], opn)
    eng = engine_for(pg, output)
    send = to_engine(input._data, eng, work_dtype(input._data.dtype, eng, True))
    return _reduce_scatter(pg, "reduce_scatter_tensor", output, send, opn, eng, async_op)


def _root_list(lst, is_root, size, name, where, check_len_msg):
    if is_root:
        if not lst:
            raise ValueError(f"Argument ``{name}`` must be specified on {where} rank.")
        if len(lst) != size:
            raise RuntimeError(check_len_msg)
    elif lst:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{where} ranks.")


def gather(tensor, gather_list=None, dst=None, group=None, async_op: bool = False,
           group_dst=None):
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, dst, group_dst, "dst")
    is_root = pg.rank() == root
    _root_list(gather_list, is_root, pg.size(), "gather_list", "destination",
               f"gather: Incorrect output list size {len(gather_list or [])}. Output list size "
               f"should be {pg.size()}, same as size of the process group.")
    if is_root:
        check_list(gather_list, "gather_list")
        same_shape(gather_list, tensor, "gather", "output tensor")
    fingerprint(pg, "gather", [tensor], root)
    eng = engine_for(pg, tensor)
    send = to_engine(tensor._data, eng)
    recv = eng.xp.empty((pg.size() * send.size,), dtype=send.dtype) if is_root else None
    finish = (lambda: split_into(recv, gather_list)) if is_root else None
    return start(pg, "gather", lambda: eng.gather(send, recv, root), finish,
                 list(gather_list or []), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op: bool = False,
            group_src=None):
    check_tensor(tensor)
    pg = resolve(group)
    if pg is None:
        return None
    root = peer_index(pg, src, group_src, "src")
    is_root = pg.rank() == root
    _root_list(scatter_list, is_root, pg.size(), "scatter_list", "source",
               f"scatter: Incorrect input list size {len(scatter_list or [])}. Input list size "
               f"should be {pg.size()}, same as size of the process group.")
    if is_root:
        check_list(scatter_list, "scatter_list")
        same_shape(scatter_list, tensor, "scatter", "input tensor")
    fingerprint(pg, "scatter", [tensor], root)
    eng = engine_for(pg, tensor)
    send = stacked(scatter_list, eng, tensor._data.dtype) if is_root else None
    recv, writeback = inout(tensor, eng)
    return start(pg, "scatter", lambda: eng.scatter(send, recv, root), writeback, [tensor],
                 async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """Rank i's input_tensor_list[j] lands in rank j's output_tensor_list[i] (sizes may vary)."""
    check_list(output_tensor_list, "output_tensor_list")
    check_list(input_tensor_list, "input_tensor_list")
    pg = resolve(group)
    if pg is None:
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise RuntimeError(f"all_to_all: tensor lists must have the group size {n} (got "
                           f"{len(output_tensor_list)} outputs, {len(input_tensor_list)} inputs)")
    dtypes = {t.dtype for t in list(output_tensor_list) + list(input_tensor_list)}
    if len(dtypes) != 1:
        raise RuntimeError(f"all_to_all: all tensors must share one dtype, got "
                           f"{sorted(map(str, dtypes))}")
    fingerprint(pg, "all_to_all", [])
    eng = engine_for(pg, input_tensor_list[0])
    send = stacked(input_tensor_list, eng)
    recv = eng.xp.empty((sum(t.numel() for t in output_tensor_list),), dtype=send.dtype)
    sc = [t.numel() for t in input_tensor_list]
    rc = [t.numel() for t in output_tensor_list]
    return start(pg, "all_to_all", lambda: eng.alltoallv(send, sc, recv, rc),
                 lambda: split_into(recv, output_tensor_list), output_tensor_list, async_op)


def _split_counts(t, splits, n, what):
    rows = t.shape[0] if t.dim() else 1
    row = t.numel() // rows if rows else 0
    if splits is None or len(splits) == 0:
        if rows % n:
            raise RuntimeError(f"Tensor's dim 0 does not divide equally across group size "
                               f"({what} shape {tuple(t.shape)}, group size {n})")
        return [rows // n * row] * n
    splits = [int(s) for s in splits]
    if len(splits) != n or sum(splits) != rows:
        raise RuntimeError(f"Split sizes doesn't match total dim 0 size ({what} split sizes "
                           f"{splits}, dim 0 size {rows}, group size {n})")
    return [s * row for s in splits]


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op: bool = False):
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = resolve(group)
    if pg is None:
        return None
    if output.dtype != input.dtype:
        raise RuntimeError("all_to_all_single: output and input must have the same dtype")
    n = pg.size()
    sc = _split_counts(input, input_split_sizes, n, "input")
    rc = _split_counts(output, output_split_sizes, n, "output")
    fingerprint(pg, "all_to_all_single", [])
    eng = engine_for(pg, input)
    send = to_engine(input._data, eng)
    recv, writeback = inout(output, eng)
    return start(pg, "all_to_all_single", lambda: eng.alltoallv(send, sc, recv, rc), writeback,
                 [output], async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Synchronize the group (always over MPI, whatever the tensor backend)."""
    pg = resolve(group)
    if pg is None:
        return None
    return start(pg, "barrier", pg.mpi.barrier, None, [], async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    pg = resolve(group)
    if pg is None:
        return None
    work = start(pg, "monitored_barrier", pg.mpi.barrier, None, [], True)
    work.wait(timeout)
    return None
