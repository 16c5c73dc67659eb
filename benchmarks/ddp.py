"""DistributedDataParallel step time at 1, 2, 4 ranks and the share of communication hidden.

    python -m benchmarks.ddp                 # baseline + DDP x1, x2, x4 (+ async-progress row)
    python -m benchmarks.ddp --quick         # DDP x1, x2, 2 timed steps: a smoke run (< 20 s)
    python -m benchmarks.ddp --out benchmarks/results/ddp.md

Weak scaling: every rank trains the reference CNN on its own batch of 32 (cpu). Each
configuration runs ``benchmarks/_ddp_rank.py`` in fresh processes (``gputensor-run`` for DDP,
plain Python for the no-DDP baseline), all with OMP_NUM_THREADS=1 so rows compare. Numbers are
medians over blocks of steps (all ranks pooled) after warm-up. Communication columns:

* in flight: wall time from launching a bucket's async all-reduce (in a grad hook, inside
  backward) until its Work's wait returns; the union over buckets, per step;
* exposed: time blocked in ``Work.wait`` at the end of backward (DDP's final callback);
* hidden = 1 - exposed / in flight (the issue's definition). The wait also absorbs peers that
  reach the end of backward later (load imbalance): "wait for slower peers" is the time from
  this rank reaching the end of backward to the last rank reaching it, and "comm left at wait"
  = exposed - that, the communication that was not done during backward. The blocking
  all-reduce of the same buckets (after a barrier) is the pure cost of the communication.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANK_SCRIPT = os.path.join(ROOT, "benchmarks", "_ddp_rank.py")
BATCH = 32
COLUMNS = ("config", "ranks", "step ms", "fwd ms", "bwd ms", "opt ms", "img/s",
           "all-reduce in flight ms", "exposed wait ms", "hidden %", "wait for slower peers ms",
           "comm left at wait ms", "blocking all-reduce ms", "DDP hooks ms",
           "step ms by round", "note")


def run_config(label: str, mode: str, ranks: int, steps: int, warmup: int, block: int,
               extra_env: dict | None = None, timeout: float = 900,
               extra_args: tuple = ()) -> dict:
    """Run one configuration in fresh processes; return rank 0's JSON record plus ``label``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", **(extra_env or {}))
    env.pop("NUMBA_ENABLE_CUDASIM", None)  # cpu benchmark: no simulator start-up
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rank0.json")
        args = [RANK_SCRIPT, "--mode", mode, "--steps", str(steps), "--warmup", str(warmup),
                "--block", str(block), "--json", out, *extra_args]
        if mode == "plain":  # no MPI at all
            cmd = [sys.executable, *args]
        else:
            cmd = [sys.executable, "-m", "gputensor.distributed.run", "--nproc-per-node",
                   str(ranks), *args]
        shown = [os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd[1:]]
        print(f"== {label}: python {' '.join(shown)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmarks.ddp: configuration {label!r} failed with exit "
                               f"code {proc.returncode}")
        with open(out) as f:
            rec = json.load(f)
    rec["label"] = label
    rec["wall_s"] = time.perf_counter() - t0
    step = rec.get("step", rec.get("ddp_step"))
    print(f"   done in {rec['wall_s']:.1f}s: step {step * 1e3:.1f} ms", flush=True)
    return rec


def merge_rounds(runs: list[dict]) -> dict:
    """Median of each number over repeated runs of one configuration."""
    out = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, float):  # ints (world, steps) are the same in every round
            out[k] = statistics.median(r[k] for r in runs)
        elif isinstance(v, dict):
            out[k] = {kk: statistics.median(r[k][kk] for r in runs) for kk in v}
    out["rounds"] = len(runs)
    out["step_rounds"] = [r.get("step", r.get("ddp_step", 0.0)) for r in runs]
    return out


def hidden_share(rec: dict) -> float | None:
    """1 - exposed wait / all-reduce wall time in flight; None without communication."""
    if rec.get("n_ops", 1) == 0 or rec["flight"] <= 0:
        return None
    return max(0.0, 1.0 - rec["wait"] / rec["flight"])


def row(rec: dict, cores: int) -> list[str]:
    ms = lambda v: f"{v * 1e3:.2f}"  # noqa: E731
    comm = rec["world"] > 1 and rec["mode"] == "ddp"
    hid = hidden_share(rec) if comm else None
    notes = []
    if rec["world"] > cores:
        notes.append(f"oversubscribed ({rec['world']} ranks on {cores} cores)")
    if rec.get("note"):
        notes.append(rec["note"])
    return [rec["label"], str(rec["world"]), ms(rec["step"]), ms(rec["fwd"]), ms(rec["bwd"]),
            ms(rec["opt"]), f"{rec['world'] * BATCH / rec['step']:.0f}",
            ms(rec["flight"]) if comm else "-", ms(rec["wait"]) if comm else "-",
            f"{100 * hid:.0f}" if hid is not None else "-",
            ms(rec["skew"]) if comm else "-", ms(rec["residual"]) if comm else "-",
            ms(rec["blocking_buckets"]) if comm else "-",
            ms(rec["mark"] + rec["final"] - rec["wait"]) if rec["mode"] == "ddp" else "-",
            "/".join(f"{v * 1e3:.0f}" for v in rec.get("step_rounds", [rec["step"]])),
            "; ".join(notes)]


def table(recs: list[dict], cores: int) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r, cores)) + " |" for r in recs]
    return lines


def summary(recs: list[dict], inter: dict | None = None) -> list[str]:
    """DDP overhead at 1 rank, scaling, and the async-progress probe, in words."""
    out = []
    base = next((r for r in recs if r["mode"] == "plain"), None)
    one = next((r for r in recs if r["mode"] == "ddp" and r["world"] == 1), None)
    if base and one:
        out.append(f"- DDP overhead at 1 rank: {(one['step'] - base['step']) * 1e3:+.2f} ms/step "
                   f"({100 * (one['step'] / base['step'] - 1):+.1f}% vs no-DDP "
                   f"{base['step'] * 1e3:.2f} ms); hooks + end-of-backward copies "
                   f"{(one['mark'] + one['final']) * 1e3:.2f} ms (separate processes).")
    if inter:
        out.append(f"- DDP overhead at 1 rank, same process, alternating blocks: "
                   f"{(inter['ddp_step'] - inter['plain_step']) * 1e3:+.2f} ms/step (median "
                   f"per-block ratio {100 * (inter['ratio'] - 1):+.1f}%; no DDP "
                   f"{inter['plain_step'] * 1e3:.2f} ms, DDP {inter['ddp_step'] * 1e3:.2f} ms; "
                   f"backward {inter['plain_bwd'] * 1e3:.2f} -> {inter['ddp_bwd'] * 1e3:.2f} ms).")
    for r in recs:
        if one and r["mode"] == "ddp" and r["world"] > 1:
            eff = one["step"] / r["step"]
            out.append(f"- {r['label']}: weak-scaling efficiency {100 * eff:.0f}% "
                       f"(step x{r['step'] / one['step']:.2f} vs 1 rank); buckets "
                       f"{r.get('buckets')} floats.")
        pr = r.get("progress")
        if pr:
            out.append(f"  async-progress probe ({r['label']}): blocking all-reduce of bucket 0 "
                       f"{pr['blocking'] * 1e3:.2f} ms; wait after 20 ms of compute without MPI "
                       f"calls {pr['wait_after_compute'] * 1e3:.2f} ms: "
                       + progress_verdict(pr["wait_after_compute"], pr["blocking"]))
    return out


def progress_verdict(wait_after: float, blocking: float) -> str:
    """Did an async all-reduce advance while its caller computed without calling MPI?"""
    if wait_after < 0.25 * blocking:
        return "it advanced in the background."
    if wait_after > 0.75 * blocking:
        return "it did not advance in the background (MPI progresses only inside MPI calls)."
    return "inconclusive."


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       platform.processor())
    except OSError:
        cpu = platform.processor()
    try:
        load = "load avg %.1f/%.1f/%.1f" % os.getloadavg()
    except OSError:
        load = ""
    return f"{cpu}, {os.cpu_count()} cores, {platform.platform()}, Python " \
           f"{platform.python_version()}, {load}"


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ddp",
                                description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="DDP at 1 and 2 ranks only, 1 warm-up + 2 timed steps (smoke run)")
    p.add_argument("--ranks", default=None, help="comma-separated rank counts (default 1,2,4)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per rank (default 60)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 5)")
    p.add_argument("--block", type=int, default=None, help="steps per block (default 5)")
    p.add_argument("--no-baseline", action="store_true", help="skip the no-DDP baseline")
    p.add_argument("--async-progress", action=argparse.BooleanOptionalAction, default=None,
                   help="add a 2-rank row with MPICH's progress thread (default: on, not quick)")
    p.add_argument("--hot-spin-experiment", action=argparse.BooleanOptionalAction,
                   default=None, help="add a row at the largest rank count with Work.wait's "
                   "20 ms busy-poll window set to 0 (default: on when oversubscribed, not quick)")
    p.add_argument("--rounds", type=int, default=None,
                   help="run every configuration this many times, round-robin, and report the "
                   "median of the rounds (default 1 with --quick, else 3)")
    p.add_argument("--out", default=None, help="write the markdown table to this file")
    a = p.parse_args(argv)
    ranks = [int(x) for x in (a.ranks or ("1,2" if a.quick else "1,2,4")).split(",")]
    steps = a.steps or (2 if a.quick else 60)
    warmup = a.warmup if a.warmup is not None else (1 if a.quick else 5)
    block = a.block or (1 if a.quick else 5)
    baseline = not a.no_baseline and not a.quick
    progress = a.async_progress if a.async_progress is not None else not a.quick
    cores = os.cpu_count() or 1

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    plan = []  # (label, mode, ranks, extra_env, extra_args, note)
    if baseline:
        plan.append(("no DDP (1 process)", "plain", 1, None, (), ""))
        if 1 in ranks:
            plan.append(("DDP x1 vs no DDP, interleaved", "overhead", 1, None, (), ""))
    plan += [(f"DDP x{n}", "ddp", n, None, (), "") for n in ranks]
    if progress and 2 in ranks:
        plan.append(("DDP x2, async progress", "ddp", 2, {"MPIR_CVAR_ASYNC_PROGRESS": "1"}, (),
                     "MPIR_CVAR_ASYNC_PROGRESS=1 (MPICH progress thread)"))
    most = max(ranks)
    if a.hot_spin_experiment if a.hot_spin_experiment is not None else (
            not a.quick and most > cores):
        plan.append((f"DDP x{most}, no busy-poll", "ddp", most, None, ("--hot-spin-s", "0"),
                     "gputensor.distributed._work._HOT_S=0 (yield from the first poll)"))
    rounds = a.rounds or (1 if a.quick else 3)
    runs: list[list[dict]] = [[] for _ in plan]
    for r in range(rounds):  # round-robin, so that drifting machine load hits every row alike
        if rounds > 1:
            print(f"-- round {r + 1}/{rounds}", flush=True)
        for j, (label, mode, n, env, args, note) in enumerate(plan):
            rec = run_config(label, mode, n, steps, warmup, block, env, extra_args=args)
            rec["note"] = note
            runs[j].append(rec)
    merged = [merge_rounds(rs) for rs in runs]
    recs = [r for r in merged if r["mode"] != "overhead"]
    inter = next((r for r in merged if r["mode"] == "overhead"), None)

    head = [f"DDP step benchmark, {started} — {machine()}",
            f"reference CNN, SGD momentum 0.9, per-rank batch {BATCH} (weak scaling), cpu, "
            f"OMP_NUM_THREADS=1 per rank; {warmup} warm-up + {steps} timed steps, medians over "
            f"blocks of {block} steps (all ranks pooled), median of {rounds} round(s) run "
            f"round-robin."]
    lines = table(recs, cores)
    tail = summary(recs, inter)
    print()
    print("\n".join(head + [""] + lines + [""] + tail), flush=True)
    if a.out:
        write_markdown(a.out, head, lines, tail)
        print(f"\nwrote {a.out}")
    return recs


def write_markdown(path: str, head: list[str], lines: list[str], tail: list[str]) -> None:
    text = ["# DDP step time and hidden communication", "", "Generated by "
            "`python -m benchmarks.ddp --out benchmarks/results/ddp.md`.", "",
            *[f"{h}  " for h in head], "", *lines, "", *tail, "",
            "Columns: step = forward + backward + optimizer (step + zero_grad). In flight = wall "
            "time from launching each bucket's async all-reduce (inside backward) until its wait "
            "returns (union over buckets). Exposed wait = time blocked in `Work.wait` at the end "
            "of backward. Hidden % = 1 - exposed / in flight. Wait for slower peers = from this "
            "rank reaching the end of backward to the last rank reaching it (same-machine "
            "monotonic clock); comm left at wait = exposed wait minus that. Blocking all-reduce "
            "= the same buckets all-reduced synchronously after a barrier (pure communication "
            "cost). DDP hooks = bucket copies and launches in the grad hooks plus the "
            "end-of-backward "
            "copy-back, wait excluded.", ""]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(text))


if __name__ == "__main__":
    main()
