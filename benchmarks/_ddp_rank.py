"""One rank of the DDP step benchmark (launched by ``benchmarks/ddp.py``; not run by hand).

Trains the reference CNN (per-rank batch 32) with or without ``DistributedDataParallel`` and
times forward / backward / optimizer per step. Communication is measured from the benchmark
side only: ``gputensor.distributed.all_reduce`` (which DDP looks up at call time) is wrapped
so that every async Work records its launch and the wait on it, and the DDP instance's
``_mark_ready`` / ``_finalize_backward`` are wrapped to time the bucket copies and the end of
backward. Rank 0 writes one JSON record (medians over blocks of steps, all ranks pooled).

    python benchmarks/_ddp_rank.py --mode plain --json out.json          # no-DDP baseline
    mpiexec -n 2 python benchmarks/_ddp_rank.py --mode ddp --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a file by the launcher: make the repo importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gputensor as torch  # noqa: E402
import gputensor.distributed as dist  # noqa: E402
from gputensor import nn  # noqa: E402

BATCH = 32
now = time.perf_counter


def reference_cnn() -> nn.Module:
    """Input 3x24x24: Conv(3,32)-ReLU-Pool-Conv(32,64)-ReLU-Pool-Linear(2304,128)-ReLU-
    Linear(128,10)."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(2304, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x)))
            return self.fc2(torch.relu(self.fc1(x.view(-1, 2304))))
    return Net()


class Probe:
    """Per-step communication records filled by the wrappers below."""

    def __init__(self) -> None:
        self.on = False
        self.ops: list[dict] = []     # one per async all_reduce: start, issued, wait_s, end
        self.mark_s = 0.0             # time in DDP's per-parameter hooks (bucket copies + launch)
        self.final_s = 0.0            # time in DDP's end-of-backward callback
        self.final_enter = 0.0        # when this rank reached it (perf_counter)

    def clear(self) -> None:
        self.ops, self.mark_s, self.final_s, self.final_enter = [], 0.0, 0.0, 0.0

    def step_comm(self) -> dict:
        """Launch-call time, exposed wait, in-flight wall time (union of launch..done spans)."""
        spans = sorted((o["start"], o.get("end", o["issued"])) for o in self.ops)
        flight, cur_a, cur_b = 0.0, None, None
        for a, b in spans:
            if cur_b is None or a > cur_b:
                if cur_b is not None:
                    flight += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_b is not None:
            flight += cur_b - cur_a
        return {"launch": sum(o["issued"] - o["start"] for o in self.ops),
                "wait": sum(o.get("wait_s", 0.0) for o in self.ops),
                "flight": flight, "n_ops": len(self.ops)}


def instrument(probe: Probe, model) -> None:
    """Wrap the all_reduce DDP calls and the DDP instance's hook and end-of-backward methods."""
    orig_all_reduce = dist.all_reduce

    def all_reduce(tensor, op=dist.ReduceOp.SUM, group=None, async_op=False):
        t0 = now()
        work = orig_all_reduce(tensor, op=op, group=group, async_op=async_op)
        if probe.on and async_op and work is not None:
            rec = {"start": t0, "issued": now()}
            probe.ops.append(rec)
            orig_wait = work.wait

            def wait(timeout=None):
                w0 = now()
                out = orig_wait(timeout)
                rec["end"] = now()
                rec["wait_s"] = rec.get("wait_s", 0.0) + rec["end"] - w0
                return out
            work.wait = wait
        return work
    dist.all_reduce = all_reduce

    if isinstance(model, nn.parallel.DistributedDataParallel):
        orig_mark, orig_final = model._mark_ready, model._finalize_backward

        def mark_ready(index):
            t0 = now()
            orig_mark(index)
            probe.mark_s += now() - t0

        def finalize():
            t0 = probe.final_enter = now()
            orig_final()
            probe.final_s += now() - t0
        model._mark_ready, model._finalize_backward = mark_ready, finalize


def blocking_bucket_cost(model, reps: int) -> float:
    """Median time of blocking all-reduces of DDP's bucket buffers, one after the other."""
    if dist.get_world_size() == 1:
        return 0.0
    bufs = [torch.zeros_like(b.buffer) for b in model._buckets]
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = now()
        for b in bufs:
            dist.all_reduce(b)
        times.append(now() - t0)
    return statistics.median(times)


def async_progress_check(numel: int, compute_s: float = 0.02) -> dict:
    """Does an async all_reduce advance while the caller computes without calling MPI?
    Launch, compute ``compute_s`` of NumPy, then time the wait (vs a blocking one)."""
    if dist.get_world_size() == 1:
        return {}
    t = torch.zeros(numel)
    a = np.random.rand(200, 200)
    res = {"blocking": [], "wait_after_compute": []}
    for _ in range(5):
        dist.barrier()
        t0 = now()
        dist.all_reduce(t)
        res["blocking"].append(now() - t0)
        dist.barrier()
        work = dist.all_reduce(t, async_op=True)
        t0 = now()
        while now() - t0 < compute_s:
            a = a @ a
            a /= np.abs(a).max() + 1.0
        t0 = now()
        work.wait()
        res["wait_after_compute"].append(now() - t0)
    return {k: statistics.median(v) for k, v in res.items()}


KEYS = ("step", "fwd", "bwd", "opt", "launch", "wait", "flight", "mark", "final", "skew",
        "residual")


def add_skew(steps: list[dict], world: int) -> None:
    """Per step: how long this rank waited at the end of backward for the last rank to get
    there (``skew``; perf_counter is one system-wide monotonic clock on Linux), and what of the
    exposed wait that does not explain (``residual``: communication left to do)."""
    mine = [s["enter"] for s in steps]
    everyone = [None] * world
    if world > 1:
        dist.all_gather_object(everyone, mine)
    else:
        everyone = [mine]
    for j, s in enumerate(steps):
        last = max(e[j] for e in everyone) if s["enter"] else 0.0
        s["skew"] = last - s["enter"] if s["enter"] else 0.0
        s["residual"] = max(0.0, s["wait"] - s["skew"])


def block_means(steps: list[dict], block: int) -> dict[str, list[float]]:
    chunks = [steps[i:i + block] for i in range(0, len(steps), block)]
    return {k: [sum(s[k] for s in c) / len(c) for c in chunks] for k in KEYS}


def interleaved_overhead(steps: int, warmup: int, block: int, path: str) -> None:
    """DDP's cost at world size 1, measured in one process: identical models with and without
    the wrapper take alternating blocks of steps, so machine-load drift hits both alike."""
    dist.init_process_group("gloo")
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1234)
    data = [(torch.randn(BATCH, 3, 24, 24, generator=g),
             torch.randint(0, 10, (BATCH,), generator=g)) for _ in range(4)]
    runs = {}
    for name in ("plain", "ddp"):
        torch.manual_seed(0)
        net = reference_cnn()
        model = nn.parallel.DistributedDataParallel(net) if name == "ddp" else net
        runs[name] = (model, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9))
    times: dict[str, dict[str, list[float]]] = {n: {"step": [], "bwd": []} for n in runs}
    nblocks = max(1, steps // block)
    for b in range(-1 if warmup else 0, nblocks):  # block -1: warm-up
        order = ("plain", "ddp") if b % 2 == 0 else ("ddp", "plain")
        for name in order:
            model, opt = runs[name]
            tot = bwd = 0.0
            for i in range(warmup if b < 0 else block):
                x, y = data[i % len(data)]
                t0 = now()
                loss = loss_fn(model(x), y)
                t1 = now()
                loss.backward()
                t2 = now()
                opt.step()
                opt.zero_grad()
                tot, bwd = tot + now() - t0, bwd + t2 - t1
            if b >= 0:
                times[name]["step"].append(tot / block)
                times[name]["bwd"].append(bwd / block)
        if b >= 0 and (b + 1) % max(1, nblocks // 4) == 0:
            print(f"  [overhead x1] block {b + 1}/{nblocks}", flush=True)
    rec = {"mode": "overhead", "world": 1, "blocks": nblocks,
           **{f"{n}_{k}": statistics.median(v) for n, d in times.items() for k, v in d.items()},
           "ratio": statistics.median(d / p for d, p in zip(times["ddp"]["step"],
                                                             times["plain"]["step"]))}
    with open(path, "w") as f:
        json.dump(rec, f)
    dist.destroy_process_group()


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=("ddp", "plain", "overhead"), default="ddp")
    p.add_argument("--steps", type=int, default=40, help="timed steps (after warm-up)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--block", type=int, default=5, help="steps per block; medians over blocks")
    p.add_argument("--hot-spin-s", type=float, default=None,
                   help="experiment: override Work.wait's busy-poll window (_work._HOT_S)")
    p.add_argument("--json", required=True, help="where rank 0 writes its record")
    a = p.parse_args(argv)
    if a.hot_spin_s is not None:
        from gputensor.distributed import _work
        _work._HOT_S = a.hot_spin_s

    if a.mode == "overhead":
        return interleaved_overhead(a.steps, a.warmup, max(1, min(a.block, a.steps)), a.json)
    if a.mode == "ddp":
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    torch.manual_seed(0)
    net = reference_cnn()
    model = nn.parallel.DistributedDataParallel(net) if a.mode == "ddp" else net
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    probe = Probe()
    instrument(probe, model)
    g = torch.Generator().manual_seed(1234 + rank)
    data = [(torch.randn(BATCH, 3, 24, 24, generator=g),
             torch.randint(0, 10, (BATCH,), generator=g)) for _ in range(4)]

    steps: list[dict] = []
    total = a.warmup + a.steps
    block = max(1, min(a.block, a.steps))
    t_start = now()
    for i in range(total):
        timed = i >= a.warmup
        if timed and (i - a.warmup) % block == 0 and world > 1:
            dist.barrier()  # start each block together; steps inside it run free
        x, y = data[i % len(data)]
        probe.clear()
        probe.on = True
        t0 = now()
        loss = loss_fn(model(x), y)
        t1 = now()
        loss.backward()
        t2 = now()
        opt.step()
        opt.zero_grad()
        t3 = now()
        probe.on = False
        if timed:
            c = probe.step_comm()
            steps.append({"step": t3 - t0, "fwd": t1 - t0, "bwd": t2 - t1, "opt": t3 - t2,
                          "launch": c["launch"], "wait": c["wait"], "flight": c["flight"],
                          "mark": probe.mark_s, "final": probe.final_s,
                          "enter": probe.final_enter})
        if rank == 0 and (i + 1) % max(1, total // 4) == 0:
            print(f"  [{a.mode} x{world}] step {i + 1}/{total}  loss {loss.item():.4f}  "
                  f"{now() - t_start:.1f}s", flush=True)

    add_skew(steps, world)
    blocks = block_means(steps, block)
    extra = {}
    if a.mode == "ddp" and world > 1:
        extra["blocking_buckets"] = blocking_bucket_cost(model, reps=max(3, min(10, a.steps)))
        extra["progress"] = async_progress_check(model._buckets[0].buffer.numel())
        extra["buckets"] = [int(b.buffer.numel()) for b in model._buckets]
    if world > 1:
        everyone = [None] * world
        dist.all_gather_object(everyone, blocks)
        pooled = {k: [v for b in everyone for v in b[k]] for k in KEYS}
        outs = [None] * world  # blocking cost / progress probe: the slowest rank's view
        dist.all_gather_object(outs, extra)
    else:
        pooled, outs = blocks, [extra]
    if rank == 0:
        rec = {"mode": a.mode, "world": world, "steps": a.steps, "blocks": len(blocks["step"]),
               "omp": os.environ.get("OMP_NUM_THREADS"), "hot_spin_s": a.hot_spin_s,
               **{k: statistics.median(v) for k, v in pooled.items()}}
        if extra:
            rec["blocking_buckets"] = max(o["blocking_buckets"] for o in outs)
            rec["progress"] = {k: max(o["progress"][k] for o in outs) for k in extra["progress"]}
            rec["buckets"] = extra["buckets"]
        with open(a.json, "w") as f:
            json.dump(rec, f)
    if a.mode == "ddp":
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
