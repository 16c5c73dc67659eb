"""Run every case on every implementation, with a progress bar, and derive the ratios."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tqdm import tqdm

from .cases import all_cases
from .impls import Impl, discover
from .timing import measure


@dataclass
class Result:
    group: str
    case: str
    size: int
    impl: str
    device: str
    median_ms: float | None
    spread: float | None
    gflops: float | None
    gbps: float | None
    speedup_vs_cpu: float | None = None  # gputensor/cpu time / this time
    vs_best_peer: float | None = None  # this time / best non-gputensor time on the same device
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def run_all(quick: bool, groups: set, repeats: int | None, notes: list) -> tuple[list, list[Impl]]:
    impls = discover(notes)
    cases = [c for c in all_cases(quick) if not groups or c.group in groups]
    repeats = repeats or (3 if quick else 7)
    results: list[Result] = []
    bar = tqdm(total=len(cases) * len(impls), unit="run", disable=None)
    for case in cases:
        for impl in impls:
            bar.set_description(f"{case.group}: {case.name[:28]} [{impl.name}]")
            impl.activate()
            try:
                fn = case.build(impl)
                if fn is not None:
                    t = measure(fn, impl.sync, warmup=1 if quick else 2, repeats=repeats,
                                min_time=0.02 if quick else 0.1)
                    s = t.median_s
                    results.append(Result(case.group, case.name, case.size, impl.name,
                                          impl.device, s * 1e3, t.spread,
                                          case.flops / s / 1e9 if case.flops else None,
                                          case.bytes / s / 1e9 if case.bytes else None))
            except Exception as e:  # a failing implementation is reported, not fatal
                results.append(Result(case.group, case.name, case.size, impl.name, impl.device,
                                      None, None, None, None, error=f"{type(e).__name__}: {e}"))
            bar.update()
    bar.close()
    _ratios(results)
    return results, impls


def _ratios(results: list[Result]) -> None:
    by_case: dict = {}
    for r in results:
        by_case.setdefault(r.case, []).append(r)
    for rows in by_case.values():
        ok = [r for r in rows if r.median_ms]
        cpu = next((r for r in ok if r.impl == "gputensor/cpu"), None)
        for r in ok:
            if cpu is not None:
                r.speedup_vs_cpu = cpu.median_ms / r.median_ms
            if r.impl.startswith("gputensor"):
                peers = [p.median_ms for p in ok
                         if p.device == r.device and not p.impl.startswith("gputensor")]
                if peers:
                    r.vs_best_peer = r.median_ms / min(peers)
