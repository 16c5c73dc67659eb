"""``python -m benchmarks.overhead``: per-op overhead of gputensor's eager autograd vs PyTorch CPU.

Two cases, each forward + backward, same data for both libraries, median of several repeats after
warm-up: a scalar-sized ``a * b + c`` (pure Python overhead: Function.apply, Tensor creation,
promotion, the backward engine) and a 256x256 float32 matmul (where BLAS should dominate).
Targets: small ops within 1.5x of PyTorch eager, matmul within 1.1x.
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np

from .timing import measure


def _small_case(lib, arrays):
    a, b, c = (lib.tensor(x, requires_grad=True) for x in arrays)

    def step():
        (a * b + c).backward()
    return step


def _matmul_case(lib, arrays):
    a, b = (lib.tensor(x, requires_grad=True) for x in arrays[:2])
    g = lib.tensor(arrays[2])

    def step():
        (a @ b).backward(g)
    return step


def cases(n: int = 256) -> dict:
    """Case name -> (builder, input arrays, target ratio); builders take the library module."""
    rng = np.random.default_rng(0)
    small = [np.float32(v) for v in rng.standard_normal(3)]
    mats = [rng.standard_normal((n, n)).astype(np.float32) for _ in range(3)]
    return {"small a*b+c fwd+bwd": (_small_case, small, 1.5),
            f"matmul {n}x{n} fwd+bwd": (_matmul_case, mats, 1.1)}


def run(repeats: int = 15, threads: int | None = None) -> list[tuple[str, float, float, float]]:
    """(case, gputensor s, torch s, target ratio) per case, medians of ``repeats`` samples.

    ``threads`` caps both libraries' BLAS/intra-op threads (NumPy's through threadpoolctl).
    """
    import contextlib

    import torch
    from threadpoolctl import threadpool_limits

    import gputensor

    limit = contextlib.nullcontext()
    if threads is not None:
        torch.set_num_threads(threads)
        limit = threadpool_limits(threads)
    with limit:
        return _run_cases(gputensor, torch, repeats)


def _run_cases(gputensor, torch, repeats: int) -> list[tuple[str, float, float, float]]:
    """Samples alternate between the two libraries so load changes on a shared machine hit both."""
    rows = []
    for name, (build, arrays, target) in cases().items():
        steps = [build(lib, arrays) for lib in (gputensor, torch)]
        for step in steps:
            measure(step, warmup=20, repeats=1)
        samples: list[list[float]] = [[], []]
        for _ in range(repeats):
            for k, step in enumerate(steps):
                samples[k].append(measure(step, warmup=1, repeats=1, min_time=0.02).median_s)
        rows.append((name, statistics.median(samples[0]), statistics.median(samples[1]), target))
    return rows


def torch_version() -> str:
    import torch
    return f"{torch.__version__} ({torch.get_num_threads()} threads by default)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.overhead",
                                description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15, help="timed samples per case")
    p.add_argument("--threads", type=int, default=None,
                   help="cap BLAS / intra-op threads of both libraries (default: theirs)")
    args = p.parse_args(argv)
    from threadpoolctl import threadpool_info
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"numpy BLAS (api, kernel, default threads): {blas}; torch {torch_version()}")
    print(f"{'case':<26}{'gputensor':>12}{'torch':>12}{'ratio':>8}{'target':>8}")
    for name, ours, ref, target in run(args.repeats, args.threads):
        ratio = ours / ref
        verdict = f"<={target}" + (" ok" if ratio <= target else " MISS")
        print(f"{name:<26}{ours * 1e6:>10.1f}us{ref * 1e6:>10.1f}us{ratio:>8.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
