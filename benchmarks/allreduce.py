"""all_reduce bandwidth: gputensor.distributed vs raw mpi4py ``Allreduce`` on the same buffers.

    python -m gputensor.distributed.run --nproc-per-node 2 benchmarks/allreduce.py

Sizes 1 KB .. 64 MB of float32, median of repeated timings (interleaved, barrier before each);
rank 0 prints a table of median times, bus bandwidth and the overhead of gputensor's call.
"""
import sys
import time

import numpy as np
from mpi4py import MPI

import gputensor as torch
import gputensor.distributed as dist


def main(max_mb: int = 64) -> None:
    dist.init_process_group("gloo")
    comm = MPI.COMM_WORLD
    rank, n = comm.Get_rank(), comm.Get_size()
    if rank == 0:
        print(f"{'size':>8} {'mpi4py us':>11} {'gputensor us':>13} {'GB/s':>7} {'overhead':>9}")
    size = 1024
    while size <= max_mb * 2**20:
        t = torch.ones(size // 4, dtype=torch.float32)
        buf = t.numpy()  # the very same memory
        reps = max(5, min(200, int(2e8 // size)))
        raw, ours = [], []
        for _ in range(reps):
            for which, acc in (("raw", raw), ("ours", ours)):
                comm.Barrier()
                t0 = time.perf_counter()
                if which == "raw":
                    comm.Allreduce(MPI.IN_PLACE, buf)
                else:
                    dist.all_reduce(t)
                acc.append(time.perf_counter() - t0)
        a, b = float(np.median(raw)), float(np.median(ours))
        if rank == 0:
            bus = 2 * (n - 1) / n * size / b / 1e9
            label = f"{size // 1024} KB" if size < 2**20 else f"{size // 2**20} MB"
            over = 100 * (b / a - 1)
            print(f"{label:>8} {a * 1e6:11.1f} {b * 1e6:13.1f} {bus:7.2f} {over:8.1f}%", flush=True)
        size *= 4
    dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
