"""Kernel report: static resource use of every CUDA kernel, and matmul speed against cuBLAS.

    python -m benchmarks.kernels --static   # no GPU needed: ptxas registers, spills, shared
                                            # memory and theoretical occupancy, sm_80 and sm_90
    python -m benchmarks.kernels            # on a GPU: GFLOP/s of the hand-written matmul vs
                                            # cuBLAS (cupy.matmul) and PyTorch CUDA if installed

The static report compiles each kernel as ``kernels.ptx_check`` does (and exits 1 on the same
failures); it must run without ``NUMBA_ENABLE_CUDASIM``. Timing refuses to run under the
simulator, whose clocks say nothing about a GPU. To run gputensor itself on cuBLAS instead of the
hand-written kernel, set ``GPUTENSOR_MATMUL=cublas`` or call
``gputensor.backends.get_backend("cuda").use_cublas()``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from gputensor.kernels import matmul_cuda, ptx_check
from gputensor.kernels._launch import cdiv, simulator_enabled

from .timing import measure


@dataclass(frozen=True)
class SMLimits:
    """Per-SM resources that bound how many blocks are resident at once."""
    registers: int = 65536
    smem: int = 164 * 1024
    threads: int = 2048
    blocks: int = 32
    smem_reserved_per_block: int = 1024
    reg_alloc_unit: int = 256  # registers are allocated per warp in these units
    partitions: int = 4  # each of the SM's schedulers owns a quarter of the register file


SM_LIMITS = {(8, 0): SMLimits(), (9, 0): SMLimits(smem=228 * 1024)}


def occupancy(registers: int, smem: int, threads: int, lim: SMLimits) -> tuple[int, float, str]:
    """``(resident blocks per SM, fraction of max threads, limiting resource)``."""
    warps = cdiv(threads, 32)
    per_warp = cdiv(max(registers, 1) * 32, lim.reg_alloc_unit) * lim.reg_alloc_unit
    warps_by_regs = (lim.registers // lim.partitions // per_warp) * lim.partitions
    bounds = {
        "registers": warps_by_regs // warps,
        "smem": lim.smem // (smem + lim.smem_reserved_per_block),
        "threads": lim.threads // (warps * 32),
        "blocks": lim.blocks,
    }
    limiter = min(bounds, key=bounds.get)
    blocks = bounds[limiter]
    return blocks, blocks * warps * 32 / lim.threads, limiter


def static_table(stats: list) -> list[str]:
    """Report lines for ptxas stats of every kernel and target."""
    head = (f"{'kernel':<44} {'target':<6} {'thr':>4} {'regs':>4} {'spill st/ld':>11} "
            f"{'smem B':>7} {'blk/SM':>6} {'occup.':>6}  limit")
    lines = [head, "-" * len(head)]
    for s in stats:
        label = f"{s.module.rsplit('.', 1)[-1]}.{s.name}"
        target = f"sm_{s.cc[0]}{s.cc[1]}"
        if s.error:
            lines.append(f"{label:<44} {target:<6} FAILED: {s.error}")
            continue
        if s.threads:
            blocks, occ, limiter = occupancy(s.registers, s.smem, s.threads, SM_LIMITS[s.cc])
            occ_txt = f"{blocks:>6} {occ:>6.1%}  {limiter}"
        else:
            occ_txt = f"{'-':>6} {'-':>6}  threads per block not declared"
        spill = f"{s.spill_stores}/{s.spill_loads}"
        lines.append(f"{label:<44} {target:<6} {s.threads or '-':>4} {s.registers:>4} "
                     f"{spill:>11} {s.smem:>7} {occ_txt}")
    return lines


# (M, K, N, transpose B): square sweeps, then the reference models' layer shapes (x @ w.T)
TIMED_SHAPES = [(n, n, n, False) for n in (512, 1024, 2048, 4096)] + [
    (64, 2304, 128, True),  # CNN Linear(2304, 128), batch 64
    (64, 256, 1024, True),  # LSTM gates: h @ W_hh.T, hidden 256, batch 64
    (4096, 4096, 4096, True),
]
TIMED_DTYPES = ("float32", "float16", "float64")


def _gpu_impls(cp):
    """``{name: (matmul fn, synchronize, array converter)}`` of the implementations to time."""
    sync = cp.cuda.Device().synchronize
    impls = {"gputensor": (matmul_cuda.matmul, sync, lambda x: x),
             "cuBLAS": (cp.matmul, sync, lambda x: x)}
    try:
        import torch
        if torch.cuda.is_available():
            impls["torch"] = (torch.matmul, torch.cuda.synchronize,
                              lambda x: torch.as_tensor(x, device="cuda"))
    except ImportError:
        pass
    return impls


def time_matmul(repeats: int) -> list[str]:
    """GFLOP/s of each implementation per shape and dtype (median of ``repeats``)."""
    import cupy as cp
    impls = _gpu_impls(cp)
    names = list(impls)
    lines = [f"{'M x K x N':<20} {'dtype':<8} " + " ".join(f"{n + ' GF/s':>15}" for n in names)
             + f" {'vs cuBLAS':>9} {'max rel err':>11}"]
    rng = cp.random.default_rng(0)
    for dtype in TIMED_DTYPES:
        for m, k, n, trans_b in TIMED_SHAPES:
            a = rng.standard_normal((m, k), dtype=cp.float32).astype(dtype)
            b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=cp.float32).astype(dtype)
            b = b.T if trans_b else b
            flops = 2.0 * m * n * k
            gflops = {}
            for name, (fn, sync, conv) in impls.items():
                x, y = conv(a), conv(b)
                gflops[name] = flops / measure(lambda fn=fn, x=x, y=y: fn(x, y), sync, warmup=2,
                                               repeats=repeats).median_s / 1e9
            ref = cp.matmul(a.astype(cp.float64), b.astype(cp.float64))
            err = float(cp.abs(matmul_cuda.matmul(a, b) - ref).max() / cp.abs(ref).max())
            shape = f"{m}x{k}x{n}{' (B^T)' if trans_b else ''}"
            lines.append(f"{shape:<20} {dtype:<8} "
                         + " ".join(f"{gflops[nm]:>15.1f}" for nm in names)
                         + f" {gflops['gputensor'] / gflops['cuBLAS']:>9.2f} {err:>11.2e}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.kernels",
                                description=__doc__.splitlines()[0])
    p.add_argument("--static", action="store_true", help="ptxas resource report only (no GPU)")
    p.add_argument("--repeats", type=int, default=9, help="timed runs per measurement")
    args = p.parse_args(argv)
    if args.static:
        stats = ptx_check.check_all()
        print("\n".join(static_table(stats)))
        return 0 if all(s.ok for s in stats) else 1
    if simulator_enabled():
        print("refusing to time kernels under NUMBA_ENABLE_CUDASIM=1: the simulator's speed says "
              "nothing about a GPU (use --static for the resource report)", file=sys.stderr)
        return 2
    from gputensor.backends.cuda import _probe_cupy
    if _probe_cupy() is None:
        print("no GPU visible to CuPy: nothing to time (use --static for the resource report)",
              file=sys.stderr)
        return 2
    print("\n".join(time_matmul(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
