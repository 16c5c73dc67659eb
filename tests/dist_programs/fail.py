"""Rank program that fails on rank 1: MODE = raise | kill | exit | timeout | early (rank 1 fails
before the process group, so before MPI starts)."""
import os
import signal
import sys
import time
from datetime import timedelta

import gputensor as torch
import gputensor.distributed as dist

mode = sys.argv[1]
if mode == "early" and os.environ.get("RANK") == "1":
    raise ImportError("rank one cannot import its model")
dist.init_process_group("gloo", timeout=timedelta(seconds=2) if mode == "timeout" else None)
rank = dist.get_rank()
if rank == 1:
    if mode == "raise":
        raise ValueError("rank one says boom")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "exit":
        sys.exit(3)
    if mode == "timeout":
        time.sleep(60)  # alive but absent: rank 0's all_reduce must time out
t = torch.ones(3)
dist.all_reduce(t)
print("unreachable on a failing job", rank, flush=True)
