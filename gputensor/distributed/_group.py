"""Process groups: ``init_process_group``, ``new_group``, ranks and backends.

Rendezvous is MPI's own: the job is started by ``gputensor-run`` / ``python -m
gputensor.distributed.run`` or by plain ``mpiexec -n N``; rank and world size come from MPI and
must agree with torchrun's ``RANK`` / ``WORLD_SIZE`` variables when those are set.
"""
from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any

from ._errors import NOT_INITIALIZED
from ._mpi import MPIEngine, mpi

default_pg_timeout = timedelta(minutes=30)  # torch's default for every backend
_BACKENDS = ("gloo", "mpi", "nccl")


class Backend(str):
    """Backend names, as ``torch.distributed.Backend`` (a lower-case ``str``)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    UCC = "ucc"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL}

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {name}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return str.__new__(cls, value)


def _device_backends(backend: str | None) -> dict[str, str]:
    """{"cpu": ..., "cuda": ...} for a backend spec ("gloo", "nccl", "cpu:gloo,cuda:nccl")."""
    if backend is None:
        return dict(Backend.default_device_backend_map)
    spec = str(backend).lower()
    if ":" in spec:
        out = {}
        for part in spec.split(","):
            dev, _, name = part.partition(":")
            out[dev.strip()] = _check_name(name.strip())
        return out
    name = _check_name(spec)
    return {"cuda": "nccl"} if name == "nccl" else {"cpu": name, "cuda": name}


def _check_name(name: str) -> str:
    if name not in _BACKENDS:
        raise ValueError(f"Invalid backend: '{name}'. gputensor.distributed provides "
                         f"{', '.join(repr(b) for b in _BACKENDS)} (all over MPI, with NCCL for "
                         f"cuda tensors on a real GPU)")
    return name


class ProcessGroup:
    """A set of ranks with a private MPI communicator (and, lazily, an NCCL communicator)."""

    def __init__(self, comm, ranks: list[int], device_backends: dict[str, str],
                 timeout: timedelta, name: str):
        self.comm = comm
        self.ranks = ranks  # global ranks, in group-rank order
        self.device_backends = device_backends
        self.timeout = timeout
        self.group_name = name
        self.mpi = MPIEngine(comm, ranks)
        self._nccl: Any = None
        self._rank = comm.Get_rank()
        self.debug_detail = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "").upper() == "DETAIL"

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return len(self.ranks)

    def name(self) -> str:
        return self.backend_name()

    def backend_name(self) -> str:
        names = set(self.device_backends.values())
        if len(names) == 1:
            return names.pop()
        return ",".join(f"{d}:{b}" for d, b in sorted(self.device_backends.items()))

    def nccl(self):
        """The group's NCCL engine, created on first cuda collective (collective over the group)."""
        if self._nccl is None:
            from ._nccl import NCCLEngine
            self._nccl = NCCLEngine(self.comm, self.ranks)
        return self._nccl

    def destroy(self) -> None:
        if self._nccl is not None:
            self._nccl.free()
        self.mpi.free()

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend_name()!r}, ranks={self.ranks})"


class _World:
    default_pg: ProcessGroup | None = None
    groups: list[ProcessGroup] = []
    group_count = 0
    saved_excepthook = None


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:
        return _World.default_pg


class group(metaclass=_WorldMeta):
    """``group.WORLD``: the default process group (``None`` before ``init_process_group``)."""


class GroupMember(metaclass=_WorldMeta):
    NON_GROUP_MEMBER = -100


def is_available() -> bool:
    """True when mpi4py is installed (checked without initializing MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    return _World.default_pg is not None


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401
        return True
    except Exception:
        return False


def _default() -> ProcessGroup:
    if _World.default_pg is None:
        raise ValueError(NOT_INITIALIZED)
    return _World.default_pg


def resolve(group_: ProcessGroup | None) -> ProcessGroup | None:
    """The group to run on, or ``None`` when this rank is not a member (torch then no-ops)."""
    pg = _default() if group_ is None else group_
    if pg is GroupMember.NON_GROUP_MEMBER or (isinstance(pg, int) and pg == -100):
        return None
    return pg


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Join the MPI job as torch's default process group (signature as torch's)."""
    if _World.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if timeout is not None and not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout)}")
    if init_method is not None and store is not None:
        raise ValueError("Cannot specify both init_method and store.")
    device_backends = _device_backends(backend)
    MPI = mpi()
    world = MPI.COMM_WORLD
    size, me = world.Get_size(), world.Get_rank()
    for what, given in (("world_size", world_size), ("WORLD_SIZE", _env_int("WORLD_SIZE"))):
        if given is not None and given != -1 and given != size:
            raise RuntimeError(
                f"init_process_group: {what}={given} but this process belongs to an MPI job of "
                f"{size} process(es). gputensor.distributed rendezvous goes through MPI: start "
                f"the job with `gputensor-run --nproc-per-node {given} script.py` or "
                f"`mpiexec -n {given} python script.py`")
    for what, given in (("rank", rank), ("RANK", _env_int("RANK"))):
        if given is not None and given != -1 and given != me:
            raise RuntimeError(f"init_process_group: {what}={given} but MPI assigned this "
                               f"process rank {me}; rank must come from the launcher")
    comm = world.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    _World.default_pg = ProcessGroup(comm, list(range(size)), device_backends,
                                     timeout or default_pg_timeout, group_name or "0")
    _World.groups = [_World.default_pg]
    if size > 1:
        _install_abort_hook()


def _install_abort_hook() -> None:
    """An uncaught exception on one rank aborts the whole MPI job (otherwise its peers would
    wait forever in MPI_Finalize/collectives under plain mpiexec)."""
    if _World.saved_excepthook is not None:
        return
    saved = sys.excepthook
    _World.saved_excepthook = saved

    def hook(tp, value, tb):
        saved(tp, value, tb)
        rank = _World.default_pg.rank() if _World.default_pg is not None else "?"
        sys.stderr.write(f"gputensor.distributed: rank {rank} raised {tp.__name__}; "
                         f"aborting the MPI job\n")
        sys.stderr.flush()
        sys.stdout.flush()
        mpi().COMM_WORLD.Abort(1)

    sys.excepthook = hook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free a group's communicators; with no argument, every group and the default one."""
    if group is None or group is _World.default_pg:
        if _World.default_pg is None:
            raise ValueError(NOT_INITIALIZED)
        for pg in _World.groups:
            pg.destroy()
        _World.default_pg, _World.groups = None, []
        if _World.saved_excepthook is not None:
            sys.excepthook, _World.saved_excepthook = _World.saved_excepthook, None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    group.destroy()
    if group in _World.groups:
        _World.groups.remove(group)


def new_group(ranks: list[int] | None = None, timeout: timedelta | None = None,
              backend: str | None = None, pg_options: Any = None,
              use_local_synchronization: bool = False, group_desc: str | None = None,
              device_id: Any = None):
    """A subgroup; every rank of the world must call it. Non-members get NON_GROUP_MEMBER."""
    world_pg = _default()
    size = world_pg.size()
    ranks = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    if len(ranks) > size:
        raise ValueError("the new group's world size should be less or equal to the world size "
                         "set by init_process_group")
    for r in ranks:
        if r < 0 or r >= size:
            raise ValueError("The new group's rank should be within the world_size set by "
                             "init_process_group")
    dbs = world_pg.device_backends if backend is None else _device_backends(backend)
    MPI = mpi()
    mgroup = world_pg.comm.Get_group().Incl(ranks)
    comm = world_pg.comm.Create(mgroup)  # collective over the world, as torch requires
    mgroup.Free()
    _World.group_count += 1
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    pg = ProcessGroup(comm, ranks, dbs, timeout or world_pg.timeout, str(_World.group_count))
    _World.groups.append(pg)
    return pg


def get_rank(group: ProcessGroup | None = None) -> int:
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return Backend(pg.backend_name()) if "," not in pg.backend_name() else pg.backend_name()


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    pg = resolve(group)
    return [] if pg is None else list(pg.ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    if group is None or group is _World.default_pg:
        return group_rank
    if not 0 <= group_rank < len(group.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return group.ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    pg = _default() if group is None else group
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg.ranks.index(global_rank)


def peer_index(pg: ProcessGroup, global_rank: int | None, group_rank: int | None,
               what: str) -> int:
    """Group rank for a ``src``/``dst`` (global) or ``group_src``/``group_dst`` argument."""
    if group_rank is not None:
        if global_rank is not None and pg.ranks[group_rank] != global_rank:
            raise ValueError(f"Cannot specify both {what} and group_{what} with different ranks")
        idx = group_rank
    else:
        g = 0 if global_rank is None else int(global_rank)
        if g not in pg.ranks:
            raise ValueError(f"Invalid {what} rank {g}: it is not part of group {pg}"
                             if g >= 0 else f"Invalid {what} rank {g}")
        idx = pg.ranks.index(g)
    if not 0 <= idx < pg.size():
        raise ValueError(f"Invalid {what} rank {idx} for a group of size {pg.size()}")
    return idx
