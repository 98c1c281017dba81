"""Timing two implementations of one step beside each other, for the benchmarks that set ours against an
authors' code (bench_cyclegan.py --authors, bench_munit.py --authors): alternating order, per-pair ratios."""
from __future__ import annotations

import statistics
import time


def alternate(steps: dict, warmup: int, n: int) -> dict[str, list[float]]:
    """Seconds of each named step, run in ABBA order (the first name first on even rounds, last on odd ones)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    order = list(steps.items())
    for i in range(warmup + n):
        for name, step in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            step()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def ours_against_authors(times: dict[str, list[float]]) -> dict:
    """Median seconds of each side and the median, lowest and highest ours/authors ratio of one round's pair."""
    ratios = [o / t for o, t in zip(times["ours"], times["authors"])]
    return {"ours": statistics.median(times["ours"]), "authors": statistics.median(times["authors"]),
            "ratio": statistics.median(ratios), "low": min(ratios), "high": max(ratios)}
