"""``gputensor.distributed``: torch.distributed's API over MPI (mpi4py) and NCCL (CuPy).

Start jobs with ``gputensor-run --nproc-per-node N script.py`` (torchrun's flags and
environment) or plain ``mpiexec -n N python script.py``. cpu tensors travel over MPI ("gloo" and
"mpi" backends are the same MPI transport); cuda tensors use NCCL on a real GPU ("nccl"), and
MPI on host copies under the cuda simulator. Every wait is bounded by the group's ``timeout``.
See ``_work.py`` for the contract of the ``Work`` objects ``async_op=True`` returns.
"""
from ._buffers import ReduceOp
from ._collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all,
                           all_to_all_single, barrier, broadcast, gather, monitored_barrier,
                           reduce, reduce_scatter, reduce_scatter_tensor, scatter)
from ._errors import DistBackendError, DistError, DistNetworkError, DistStoreError
from ._group import (Backend, GroupMember, ProcessGroup, default_pg_timeout,
                     destroy_process_group, get_backend, get_global_rank, get_group_rank,
                     get_process_group_ranks, get_rank, get_world_size, group,
                     init_process_group, is_available, is_gloo_available, is_initialized,
                     is_mpi_available, is_nccl_available, new_group)
from ._objects import (all_gather_object, broadcast_object_list, gather_object,
                       scatter_object_list)
from ._p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send
from ._work import Future, Work



def is_torchelastic_launched() -> bool:
    """True inside a job started by ``gputensor-run`` (it sets TORCHELASTIC_RUN_ID)."""
    import os
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


__all__ = [
    "Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError", "Future",
    "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "default_pg_timeout", "destroy_process_group", "gather", "gather_object", "get_backend",
    "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "irecv", "is_available",
    "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv", "reduce",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]
