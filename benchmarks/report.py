"""Benchmark output: a terminal table, JSON and CSV files, and PNG plots."""
from __future__ import annotations

import csv
import datetime
import json
import os
import platform


def machine_info(impls, quick: bool) -> dict:
    import numpy
    import gputensor
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "numpy": numpy.__version__,
        "gputensor": gputensor.__version__,
        "quick": quick,
        "implementations": [i.name for i in impls],
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        pass
    if any(i.device == "cuda" for i in impls):
        info["gpu"] = gputensor.cuda.get_device_name()
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table_lines(results) -> list[str]:
    head = (f"{'case':<44} {'implementation':<26} {'median ms':>10} {'spread':>7} "
            f"{'GFLOP/s':>8} {'GB/s':>6} {'x cpu':>6} {'/ peer':>6}")
    lines = [head, "-" * len(head)]
    last = None
    for r in results:
        if last is not None and r.case != last:
            lines.append("")
        last = r.case
        if r.error:
            lines.append(f"{r.case[:44]:<44} {r.impl:<26} error: {r.error[:60]}")
            continue
        lines.append(f"{r.case[:44]:<44} {r.impl:<26} {_fmt(r.median_ms, '10.3f')} "
                     f"{_fmt(r.spread and 100 * r.spread, '6.1f')}% {_fmt(r.gflops, '8.1f')} "
                     f"{_fmt(r.gbps, '6.1f')} {_fmt(r.speedup_vs_cpu, '6.2f')} "
                     f"{_fmt(r.vs_best_peer, '6.2f')}")
    return lines


def print_table(results) -> None:
    print("\n".join(table_lines(results)))
    print("x cpu: speedup over gputensor/cpu; / peer: time relative to the fastest non-gputensor "
          "implementation on the same device (lower is better, 1.00 = on par)")


def save_all(results, info: dict, notes: list, out: str, plots: bool = True) -> list[str]:
    os.makedirs(out, exist_ok=True)
    rows = [r.as_dict() for r in results]
    paths = [os.path.join(out, "results.json"), os.path.join(out, "results.csv")]
    with open(paths[0], "w") as fh:
        json.dump({"machine": info, "notes": notes, "results": rows}, fh, indent=1)
    with open(paths[1], "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["case"])
        w.writeheader()
        w.writerows(rows)
    if plots and rows:
        paths += _plots(results, out)
    return paths


def _plots(results, out: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    paths = []
    square = [r for r in results if r.group == "matmul" and r.median_ms and "^3" in r.case]
    if square:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for impl in dict.fromkeys(r.impl for r in square):
            pts = sorted((r.size, r.median_ms) for r in square if r.impl == impl)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("matrix side n (n x n @ n x n, float32)")
        ax.set_ylabel("median time (ms)")
        ax.set_title("matmul: time vs size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(os.path.join(out, "matmul_time.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    gpu = any(r.device == "cuda" and r.median_ms for r in results)
    rows = [r for r in results if r.speedup_vs_cpu and r.impl != "gputensor/cpu"
            and (r.device == "cuda" or not gpu)]
    if rows:
        cases = list(dict.fromkeys(r.case for r in rows))
        impls = list(dict.fromkeys(r.impl for r in rows))
        fig, ax = plt.subplots(figsize=(9, 0.32 * len(cases) * max(1, len(impls)) + 1.5))
        h = 0.8 / len(impls)
        for j, impl in enumerate(impls):
            ys = [i + j * h for i, c in enumerate(cases)]
            vals = [next((r.speedup_vs_cpu for r in rows if r.case == c and r.impl == impl), 0)
                    for c in cases]
            ax.barh(ys, vals, height=h, label=impl)
        ax.set_yticks([i + 0.4 - h / 2 for i in range(len(cases))], cases, fontsize=7)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("speedup over gputensor/cpu (log scale)")
        ax.set_title("GPU over CPU speedup" if gpu else
                     "speedup over gputensor/cpu (no GPU here: cpu peers only)")
        ax.invert_yaxis()
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(os.path.join(out, "speedup.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def markdown_table(data: dict) -> str:
    """README table from a results.json: one row per case, one column per implementation."""
    rows = data["results"]
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = ["| case | " + " | ".join(f"{i} (ms)" for i in impls) + " | gputensor vs best peer |",
             "| --- |" + " ---: |" * (len(impls) + 1)]
    for c in cases:
        cells, ratio = [], "-"
        for i in impls:
            r = next((r for r in rows if r["case"] == c and r["impl"] == i), None)
            cells.append(f"{r['median_ms']:.3g}" if r and r["median_ms"] else "-")
            if r and i.startswith("gputensor") and r.get("vs_best_peer"):
                ratio = f"{r['vs_best_peer']:.2f}x"
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {ratio} |")
    m = data["machine"]
    lines.append("")
    lines.append(f"Measured {m['date'][:10]} on {m['cpu']} ({m['cores']} cores, no GPU), numpy "
                 f"{m['numpy']}, torch {m.get('torch', '-')}; median of "
                 "5 repeats after warm-up (`python -m benchmarks --repeats 5`).")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    with open(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/results.json") as fh:
        print(markdown_table(json.load(fh)))
