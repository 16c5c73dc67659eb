"""``python -m benchmarks.overhead``: per-op framework overhead of gputensor vs PyTorch CPU.

Small tensors, so the time is the framework's (argument handling, promotion, Function.apply,
tensor creation, the backward engine), not arithmetic. Each op runs in three modes: ``nograd``
(inputs need no grad), ``grad fwd`` (inputs require grad: the graph is built) and ``grad f+b``
(forward + ``backward``). Timing alternates BLOCKS of steps between the two libraries (each step
a loop of calls; the first step of a block is dropped) so load changes on a shared machine hit
both alike; the ratio gputensor/torch of the medians is the number to read. The Python calls
per op are counted with ``sys.setprofile`` (``py``: Python frames, ``all``: with C calls).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

MODES = ("nograd", "grad fwd", "grad f+b")


def _inputs(lib, arrays, requires_grad: bool):
    return [lib.tensor(x, requires_grad=requires_grad) for x in arrays]


def _ops(rng) -> dict:
    """Op name -> (function of the inputs, input arrays)."""
    v = [rng.standard_normal(8).astype(np.float32) for _ in range(3)]
    m = [rng.standard_normal((8, 8)).astype(np.float32) for _ in range(2)]
    return {
        "add": (lambda a, b: a + b, v[:2]),
        "mul": (lambda a, b: a * b, v[:2]),
        "a*b+c": (lambda a, b, c: a * b + c, v),
        "relu": (lambda a: a.relu(), v[:1]),
        "sum": (lambda a: a.sum(), v[:1]),
        "matmul 8x8": (lambda a, b: a @ b, m),
    }


def _step(lib, fn, arrays, mode: str):
    """A zero-argument callable running the op once in ``mode``."""
    xs = _inputs(lib, arrays, mode != "nograd")
    if mode != "grad f+b":
        return lambda: fn(*xs)
    out = fn(*xs)
    if out.ndim == 0:
        return lambda: fn(*xs).backward()
    g = lib.ones(tuple(out.shape))
    return lambda: fn(*xs).backward(g)


def count_calls(step) -> tuple[int, int]:
    """(Python frames, all calls incl. C functions) made by one ``step()`` after warm-up."""
    step()
    step()
    n = [0, 0]

    def prof(frame, event, arg):
        if event == "call":
            n[0] += 1
            n[1] += 1
        elif event == "c_call":
            n[1] += 1
    sys.setprofile(prof)
    step()
    sys.setprofile(None)
    return n[0] - 1, n[1] - 2  # the lambda itself; setprofile(None)


def _time_step(step, inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - t0) / inner


def time_pair(steps, blocks: int = 10, per_block: int = 5, min_step: float = 2e-3) -> list:
    """Median seconds per call of each step, timed in alternating blocks."""
    inners = []
    for step in steps:
        for _ in range(20):
            step()
        one = _time_step(step, 20)
        inners.append(max(1, int(min_step / max(one, 1e-9))))
    samples: list[list[float]] = [[] for _ in steps]
    for _ in range(blocks):
        for k, step in enumerate(steps):
            block = [_time_step(step, inners[k]) for _ in range(per_block + 1)]
            samples[k].extend(block[1:])
    return [statistics.median(s) for s in samples]


def run(blocks: int = 10, threads: int = 2, ops: tuple = ()) -> list[dict]:
    """One row per (op, mode): gputensor and torch seconds per call and call counts."""
    import torch
    from threadpoolctl import threadpool_limits  # noqa: F401  (NumPy BLAS left at its default)

    import gputensor

    torch.set_num_threads(threads)
    rows = []
    for name, (fn, arrays) in _ops(np.random.default_rng(0)).items():
        if ops and name not in ops:
            continue
        for mode in MODES:
            ours, ref = (_step(lib, fn, arrays, mode) for lib in (gputensor, torch))
            py, allc = count_calls(ours)
            t_ours, t_ref = time_pair((ours, ref), blocks)
            rows.append({"op": name, "mode": mode, "ours_s": t_ours, "torch_s": t_ref,
                         "py_calls": py, "all_calls": allc})
    return rows


def _load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.overhead",
                                description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=10, help="alternating blocks per row")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--op", action="append", default=[], help="only these ops (repeatable)")
    args = p.parse_args(argv)
    import torch
    print(f"torch {torch.__version__}, {args.threads} threads; load {_load()}")
    print(f"{'op':<12}{'mode':<10}{'gputensor':>11}{'torch':>10}{'ratio':>7}{'py':>6}{'all':>6}")
    for r in run(args.blocks, args.threads, tuple(args.op)):
        print(f"{r['op']:<12}{r['mode']:<10}{r['ours_s'] * 1e6:>9.2f}us{r['torch_s'] * 1e6:>8.2f}us"
              f"{r['ours_s'] / r['torch_s']:>7.2f}{r['py_calls']:>6}{r['all_calls']:>6}")
    print(f"load after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
