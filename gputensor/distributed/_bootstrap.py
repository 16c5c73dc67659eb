"""Per-rank bootstrap run by ``gputensor-run`` under mpiexec (run as a file, not imported).

Reads the rank from MPI's process-manager environment (PMI_RANK / MPI_LOCALRANKID from MPICH's
hydra; OMPI_* from Open MPI), exports torchrun's variables, records start/finish for the
launcher's failure report, then runs the user's script with ``runpy``. A rank whose script
raises or exits non-zero leaves without MPI_Finalize, so mpiexec tears the job down at once
instead of the peers waiting on it.
"""
import json
import os
import runpy
import sys
import time
import traceback


def _env(*names, default=None):
    for n in names:
        v = os.environ.get(n)
        if v not in (None, ""):
            return v
    return default


def _record(rundir, rank, kind, **data):
    if not rundir:
        return
    path = os.path.join(rundir, f"rank-{rank}.{kind}")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def main() -> None:
    rank = int(_env("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", default="0"))
    world = int(_env("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", default="1"))
    local = int(_env("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", default=str(rank)))
    local_world = int(_env("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", default=str(world)))
    node = rank // local_world if local_world else 0
    os.environ.update({
        "RANK": str(rank), "LOCAL_RANK": str(local), "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(local_world), "GROUP_RANK": str(node), "GROUP_WORLD_SIZE":
        str(max(1, world // max(1, local_world))), "ROLE_RANK": str(rank),
        "ROLE_WORLD_SIZE": str(world), "ROLE_NAME": "default",
    })
    rundir = os.environ.get("GPUTENSOR_RUN_DIR")
    _record(rundir, rank, "start", pid=os.getpid(), local_rank=local)
    mode, target, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "exec":  # --no-python: become the program (torchrun's variables are set)
        os.execvp(target, [target, *args])
    code = 0
    error = tb = None
    try:
        if mode == "module":
            sys.argv = [target, *args]
            sys.path.insert(0, os.getcwd())
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        c = exc.code
        code = 0 if c is None else (c if isinstance(c, int) else 1)
        if not isinstance(c, (int, type(None))):
            sys.stderr.write(f"{c}\n")
            error = str(c)
        elif code:
            error = f"SystemExit({code})"
    except BaseException as exc:  # noqa: BLE001 - report every failure, then leave
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        code = 1
        error = f"{type(exc).__name__}: {exc}"
    sys.stdout.flush()
    sys.stderr.flush()
    if code:
        _record(rundir, rank, "fail", pid=os.getpid(), local_rank=local, exitcode=code,
                error=error, time=time.time(), traceback=tb)
        os._exit(code)
    _record(rundir, rank, "ok", pid=os.getpid())


if __name__ == "__main__":
    sys.path.pop(0)  # this file's folder must not shadow the user's modules
    main()
