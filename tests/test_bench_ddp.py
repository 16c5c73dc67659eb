"""Smoke test of the DDP step benchmark: ``python -m benchmarks.ddp --quick`` runs 1 and 2 ranks
for 2 steps and prints (and writes) a well-formed table; plus its pure bookkeeping."""
import os
import re
import subprocess
import sys

import pytest

from benchmarks import ddp
from benchmarks._ddp_rank import Probe, add_skew, block_means

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rows(text: str) -> dict[str, dict[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(head, cells)) for cells in
            ([c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:])}


def test_quick_run_prints_progress_and_table(tmp_path):
    out = tmp_path / "ddp.md"
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ddp", "--quick", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = proc.stdout
    assert "== DDP x1" in text and "== DDP x2" in text
    assert re.search(r"\[ddp x2\] step 3/3 +loss \d+\.\d+", text)  # progress from rank 0
    rows = _rows(text)
    assert set(rows) == {"DDP x1", "DDP x2"}
    assert list(rows["DDP x1"]) == list(ddp.COLUMNS)
    for label, r in rows.items():
        step, fwd, bwd = (float(r[k]) for k in ("step ms", "fwd ms", "bwd ms"))
        assert 0 < fwd < step and 0 < bwd < step, r
        assert float(r["DDP hooks ms"]) >= 0
    one, two = rows["DDP x1"], rows["DDP x2"]
    assert one["ranks"] == "1" and two["ranks"] == "2"
    assert one["hidden %"] == "-" and one["exposed wait ms"] == "-"  # no communication at 1
    assert 0 <= float(two["hidden %"]) <= 100
    assert float(two["all-reduce in flight ms"]) >= float(two["exposed wait ms"]) >= 0
    assert float(two["blocking all-reduce ms"]) > 0
    assert "weak-scaling efficiency" in text and "async-progress probe" in text
    md = out.read_text()
    assert md.startswith("# DDP step time") and "| DDP x2 | 2 |" in md


def test_step_comm_unions_overlapping_spans():
    p = Probe()
    p.ops = [{"start": 0.0, "issued": 0.1, "end": 3.0, "wait_s": 0.5},
             {"start": 1.0, "issued": 1.2, "end": 4.0, "wait_s": 1.0},
             {"start": 6.0, "issued": 6.5, "end": 7.0, "wait_s": 0.25}]
    c = p.step_comm()
    assert c["flight"] == pytest.approx(4.0 + 1.0)
    assert c["wait"] == pytest.approx(1.75) and c["launch"] == pytest.approx(0.8)
    assert c["n_ops"] == 3
    p.clear()
    assert p.step_comm() == {"launch": 0, "wait": 0, "flight": 0.0, "n_ops": 0}


def test_skew_residual_and_blocks():
    steps = [{k: 1.0 for k in ("step", "fwd", "bwd", "opt", "launch", "flight", "mark",
                               "final")} | {"wait": w, "enter": e}
             for w, e in ((0.5, 10.0), (0.1, 20.0), (0.3, 30.0))]
    add_skew(steps, 1)  # alone: nobody to wait for, the whole wait is communication
    assert [s["skew"] for s in steps] == [0.0, 0.0, 0.0]
    assert [s["residual"] for s in steps] == [0.5, 0.1, 0.3]
    b = block_means(steps, 2)
    assert b["wait"] == [pytest.approx(0.3), pytest.approx(0.3)] and len(b["step"]) == 2


def test_hidden_share_and_merge():
    rec = {"flight": 0.04, "wait": 0.01}
    assert ddp.hidden_share(rec) == pytest.approx(0.75)
    assert ddp.hidden_share({"flight": 0.0, "wait": 0.0}) is None
    assert ddp.hidden_share({"flight": 0.01, "wait": 0.02}) == 0.0
    m = ddp.merge_rounds([{"step": 1.0, "label": "a", "progress": {"blocking": 3.0}},
                          {"step": 5.0, "label": "a", "progress": {"blocking": 1.0}},
                          {"step": 2.0, "label": "a", "progress": {"blocking": 2.0}}])
    assert m["step"] == 2.0 and m["progress"]["blocking"] == 2.0 and m["rounds"] == 3
    assert ddp.progress_verdict(0.1, 1.0).startswith("it advanced")
    assert ddp.progress_verdict(0.9, 1.0).startswith("it did not")
