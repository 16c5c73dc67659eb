"""``gputensor-run`` / ``python -m gputensor.distributed.run``: torchrun's command line on mpiexec.

Starts ``nnodes * nproc_per_node`` ranks with the venv's ``mpiexec`` (MPICH hydra); each runs
``_bootstrap.py``, which exports RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK,
MASTER_ADDR, MASTER_PORT ... and runs the script. When any rank fails, hydra tears the job
down and this launcher exits non-zero with a report naming the failing rank (from the ranks'
own failure records, or from hydra's notice for a rank killed by a signal).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import threading
import uuid

_BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap.py")


def find_mpiexec() -> str:
    """``mpiexec`` next to this Python (the mpich wheel's), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec")
    if found:
        return found
    raise RuntimeError(f"gputensor-run: no `mpiexec` found next to {sys.executable} or on PATH; "
                       f"install the MPI runtime with `pip install mpich mpi4py`")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gputensor-run", allow_abbrev=False,
                                description="torchrun-compatible launcher built on mpiexec")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="ranks per node: an integer, or auto / cpu / gpu")
    p.add_argument("--nnodes", default="1", help="number of nodes (or MIN:MAX, MAX is used)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--hosts", default=None,
                   help="comma-separated hosts for a multi-node job (run on node 0 only)")
    p.add_argument("--standalone", action="store_true")
    p.add_argument("--mpiexec", default=None, help="mpiexec to use (default: the venv's)")
    for ignored in ("--rdzv-backend", "--rdzv_backend", "--rdzv-endpoint", "--rdzv_endpoint",
                    "--rdzv-id", "--rdzv_id", "--rdzv-conf", "--rdzv_conf", "--max-restarts",
                    "--max_restarts", "--monitor-interval", "--monitor_interval", "--log-dir",
                    "--log_dir", "--redirects", "--tee", "--local-addr", "--local_addr"):
        p.add_argument(ignored, default=None, help=argparse.SUPPRESS)
    p.add_argument("-m", "--module", action="store_true", help="run the target as a module")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="run the target as an executable, not through Python")
    p.add_argument("training_script")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def _nproc(spec: str) -> int:
    if spec in ("auto", "gpu"):
        try:
            import cupy
            n = cupy.cuda.runtime.getDeviceCount()
            if n:
                return n
        except Exception:
            if spec == "gpu":
                raise ValueError("--nproc-per-node=gpu: no GPU is visible") from None
        return os.cpu_count() or 1
    if spec == "cpu":
        return os.cpu_count() or 1
    n = int(spec)
    if n < 1:
        raise ValueError(f"--nproc-per-node must be >= 1, got {n}")
    return n


class _Tee(threading.Thread):
    """Copy a child stream to ours as it comes, keeping the tail for hydra's failure notice."""

    def __init__(self, src, dst):
        super().__init__(daemon=True)
        self.src, self.dst, self.tail = src, dst, b""

    def run(self) -> None:
        while True:
            chunk = os.read(self.src.fileno(), 65536)
            if not chunk:
                break
            self.dst.write(chunk)
            self.dst.flush()
            self.tail = (self.tail + chunk)[-65536:]


def _read(rundir: str, kind: str) -> dict[int, dict]:
    out = {}
    for name in os.listdir(rundir):
        m = re.fullmatch(rf"rank-(\d+)\.{kind}", name)
        if m:
            with open(os.path.join(rundir, name)) as f:
                out[int(m.group(1))] = json.load(f)
    return out


def _report(rundir: str, rc: int, output: str, world: int) -> str:
    """A torchrun-like failure summary naming the failing rank(s)."""
    starts, fails, oks = _read(rundir, "start"), _read(rundir, "fail"), _read(rundir, "ok")
    lines = [f"gputensor-run: job failed (mpiexec exit code {rc})", "Failures:"]
    for rank, rec in sorted(fails.items(), key=lambda kv: kv[1].get("time", 0)):
        lines.append(f"  rank {rank} (local_rank: {rec['local_rank']}) exitcode: "
                     f"{rec['exitcode']} (pid: {rec['pid']}) error: {rec['error']}")
    if not fails:
        by_pid = {rec["pid"]: r for r, rec in starts.items()}
        for pid, code in re.findall(r"PID (\d+) RUNNING AT \S+\s*\n=\s+(?:EXIT CODE|KILLED BY "
                                    r"SIGNAL): (\d+)", output):
            rank = by_pid.get(int(pid))
            if rank is None:
                continue
            try:
                sig = signal.Signals(int(code)).name
            except ValueError:
                sig = f"signal {code}"
            lines.append(f"  rank {rank} (local_rank: {starts[rank]['local_rank']}) was killed "
                         f"by {sig} (exit code {code}, pid: {pid})")
            break
        else:
            missing = [r for r in range(world) if r not in oks]
            lines.append(f"  rank(s) {missing} did not finish (killed, or never started)")
    return "\n".join(lines)


def _wait(proc: subprocess.Popen, rundir: str, grace: float = 2.0) -> int:
    """Wait for mpiexec; once a rank has recorded a failure, give hydra ``grace`` seconds to end
    the job, then stop it as torchrun stops the surviving workers (SIGTERM, then SIGKILL).

    Hydra ends the job by itself when a rank that initialised MPI dies, but a rank that fails
    before MPI starts (an ImportError at the top of the script) would leave its peers waiting
    in MPI_Init for ever."""
    failed_at = None
    while True:
        try:
            return proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        if failed_at is None:
            if any(n.endswith(".fail") for n in os.listdir(rundir)):
                failed_at = time.monotonic()
        elif time.monotonic() - failed_at > grace:
            proc.terminate()
            try:
                return proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait()


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    nproc = _nproc(str(args.nproc_per_node))
    nnodes = int(str(args.nnodes).split(":")[-1])
    world = nproc * nnodes
    mpiexec = args.mpiexec or find_mpiexec()
    if not (os.path.isfile(mpiexec) and os.access(mpiexec, os.X_OK)):
        raise RuntimeError(f"gputensor-run: mpiexec {mpiexec!r} does not exist or is not "
                           f"executable")
    cmd = [mpiexec, "-n", str(world)]
    if nnodes > 1:
        if not args.hosts:
            raise SystemExit("gputensor-run: --nnodes > 1 runs as ONE MPI job: start the launcher "
                             "once, on node 0, with --hosts host0,host1,... (hydra starts the "
                             "ranks of every node over ssh)")
        if args.node_rank != 0:
            print(f"gputensor-run: node {args.node_rank}: node 0's launcher starts this node's "
                  f"ranks through mpiexec; nothing to do here")
            return 0
        cmd += ["-hosts", args.hosts, "-ppn", str(nproc)]
    if args.no_python:
        target = [args.training_script]
        rank_cmd = [sys.executable, _BOOTSTRAP, "exec", *target]
    else:
        mode = "module" if args.module else "path"
        rank_cmd = [sys.executable, _BOOTSTRAP, mode, args.training_script]
    rank_cmd += args.training_script_args
    rundir = tempfile.mkdtemp(prefix="gputensor-run-")
    env = dict(os.environ)
    env.update({"GPUTENSOR_RUN_DIR": rundir, "MASTER_ADDR": args.master_addr,
                "MASTER_PORT": str(args.master_port), "TORCHELASTIC_RUN_ID": uuid.uuid4().hex,
                "TORCHELASTIC_RESTART_COUNT": "0", "TORCHELASTIC_MAX_RESTARTS": "0"})
    if world > 1 and "OMP_NUM_THREADS" not in env:
        sys.stderr.write("gputensor-run: setting OMP_NUM_THREADS=1 for each rank (as torchrun "
                         "does) to avoid overloading the machine; tune it as needed\n")
        env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.Popen(cmd + rank_cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    tees = [_Tee(proc.stdout, sys.stdout.buffer), _Tee(proc.stderr, sys.stderr.buffer)]
    for t in tees:
        t.start()
    try:
        rc = _wait(proc, rundir)
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait()
    for t in tees:
        t.join(timeout=5)
    try:
        if rc != 0:
            output = b"".join(t.tail for t in tees).decode("utf-8", "replace")
            sys.stderr.write(_report(rundir, rc, output, world) + "\n")
            sys.stderr.flush()
            return rc if 0 < rc < 256 else 1
        return 0
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def main() -> None:
    try:
        sys.exit(run())
    except RuntimeError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
