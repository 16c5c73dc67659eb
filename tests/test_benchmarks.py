"""The benchmark suite's machinery: timing statistics, ratios, outputs, and that it never times
the simulated cuda device."""
import json

import pytest

from benchmarks import cases, report, run
from benchmarks.timing import measure


def test_measure_statistics():
    calls = []
    t = measure(lambda: calls.append(1), warmup=2, repeats=5)
    assert len(calls) == 7 and t.repeats == 5
    assert 0 <= t.min_s <= t.median_s <= t.max_s


def test_suite_on_tiny_cases(tmp_path, monkeypatch):
    tiny = [cases.matmul_case(8, 8, 8), cases.matmul_case(16, 16, 16),
            cases.conv_case("tiny", 2, 3, 6, 4, 3, 1, backward=True),
            cases.pool_case(2, 3, 6, backward=False)]
    monkeypatch.setattr(run, "all_cases", lambda quick: tiny)
    notes = []
    results, impls = run.run_all(True, set(), 2, notes)
    assert any("simulator" in n and "not timed" in n for n in notes)
    assert all(i.device == "cpu" for i in impls)
    names = {(r.case, r.impl) for r in results}
    assert ("8^3", "numpy") in names and ("8^3", "gputensor/cpu") in names
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    gt_cpu = [r for r in results if r.impl == "gputensor/cpu"]
    assert all(r.speedup_vs_cpu == pytest.approx(1.0) for r in gt_cpu)
    paths = report.save_all(results, report.machine_info(impls, True), notes, str(tmp_path))
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["results"]) == len(results)
    assert any(p.endswith("matmul_time.png") for p in paths)
    assert (tmp_path / "results.csv").read_text().count("\n") == len(results) + 1
    assert len(report.table_lines(results)) > len(results)
