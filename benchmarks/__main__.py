"""``python -m benchmarks``: time matmul, conv2d, pooling and training steps on every available
device and implementation; print a table and write JSON, CSV and PNG plots.

    python -m benchmarks --quick             # < 2 minutes on a 2-core CPU-only machine
    python -m benchmarks --only matmul,conv2d --out benchmarks/out
"""
from __future__ import annotations

import argparse
import os
import sys

from .report import machine_info, print_table, save_all
from .run import run_all


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smaller sweep, 3 repeats and a shorter minimum time per measurement")
    p.add_argument("--only", default="",
                   help="comma-separated groups to run: matmul,conv2d,pool,train ('' runs all)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per measurement; None: 3 with --quick, else 7")
    p.add_argument("--out", default="benchmarks/out", help="folder for the JSON, CSV and PNG files")
    p.add_argument("--no-plots", action="store_true", help="write JSON and CSV only, no PNG plots")
    return p


def main(argv=None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        print("note: NUMBA_ENABLE_CUDASIM is set; cuda runs in the simulator and is not timed",
              file=sys.stderr)
    groups = {g for g in args.only.split(",") if g}
    notes: list[str] = []
    results, impls = run_all(args.quick, groups, args.repeats, notes)
    for n in notes:
        print(f"note: {n}")
    print_table(results)
    info = machine_info(impls, args.quick)
    paths = save_all(results, info, notes, args.out, plots=not args.no_plots)
    print("wrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
