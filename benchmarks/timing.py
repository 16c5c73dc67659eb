"""Timing done right: warm-up, device synchronization before reading the clock, median and spread."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass


@dataclass
class Timing:
    median_s: float
    min_s: float
    max_s: float
    iqr_s: float
    repeats: int

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median."""
        return self.iqr_s / self.median_s if self.median_s else 0.0


def measure(fn, sync=None, warmup: int = 2, repeats: int = 7, min_time: float = 0.0) -> Timing:
    """Run ``fn`` ``warmup`` times, then time ``repeats`` runs (each synchronized by ``sync``).

    When one run is shorter than ``min_time``, each sample times a loop of several calls.
    """
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    inner = 1
    if min_time > 0:
        t0 = time.perf_counter()
        fn()
        sync()
        one = time.perf_counter() - t0
        inner = max(1, int(min_time / max(one, 1e-9)))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        samples.append((time.perf_counter() - t0) / inner)
    samples.sort()
    q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return Timing(statistics.median(samples), samples[0], samples[-1], q[2] - q[0], repeats)
