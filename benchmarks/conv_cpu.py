"""``python -m benchmarks.conv_cpu``: the reference CNN's conv + pool layers on the CPU,
gputensor vs PyTorch, side by side.

Batch 32 of 3x24x24 images through Conv2d(3, 32, 3, padding=1) -> MaxPool2d(2) ->
Conv2d(32, 64, 3, padding=1) -> MaxPool2d(2), forward and backward (input, weights and biases),
float32. Reports the median of timed repeats after warm-up and the gputensor/torch ratio
(target: at most 2). The two libraries' runs alternate, so load from other processes on a
shared machine hits both alike.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _step(lib, x, params):
    """One forward + backward pass of the conv/pool stack, written once for both libraries."""
    f = lib.nn.functional
    w1, b1, w2, b2 = params
    for p in (x, *params):
        p.grad = None
    y = f.max_pool2d(f.conv2d(x, w1, b1, padding=1), 2, 2)
    y = f.max_pool2d(f.conv2d(y, w2, b2, padding=1), 2, 2)
    y.sum().backward()


def _inputs(lib, arrays):
    return [lib.tensor(a, requires_grad=True) for a in arrays]


def run(batch: int = 32, repeats: int = 15, threads: int | None = None) -> dict:
    """Median seconds per step for each library, and gputensor's time over torch's."""
    import torch

    import gputensor
    if threads:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              ((batch, 3, 24, 24), (32, 3, 3, 3), (32,), (64, 32, 3, 3), (64,))]
    libs = {"torch": torch, "gputensor": gputensor}
    inputs = {name: _inputs(lib, arrays) for name, lib in libs.items()}
    samples: dict = {name: [] for name in libs}
    for r in range(3 + repeats):  # the first 3 rounds warm up
        for name, lib in libs.items():
            x, *params = inputs[name]
            t0 = time.perf_counter()
            _step(lib, x, params)
            if r >= 3:
                samples[name].append(time.perf_counter() - t0)
    times = {name: statistics.median(s) for name, s in samples.items()}
    times["ratio"] = times["gputensor"] / times["torch"]
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.conv_cpu",
                                description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = p.parse_args(argv)
    t = run(args.batch, args.repeats, args.threads)
    print(f"conv+pool fwd+bwd, batch {args.batch}, 3x24x24, float32 (median of {args.repeats})")
    print(f"  torch      {t['torch'] * 1e3:8.2f} ms")
    print(f"  gputensor  {t['gputensor'] * 1e3:8.2f} ms")
    print(f"  ratio      {t['ratio']:8.2f}x  (target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
