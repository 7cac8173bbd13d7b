"""The regime-shift routing study (figures, not pass/fail): the best dark pool dries up
half-way through a parent order; adaptive allocators against static ones over many seeds.

See `scenarios/regime_routing.py` for the market, the shift and the router. For each
allocator and seed one run buys 24,000 shares on a TWAP over 116 s (1 s slices, the last
10 s a lit clean-up so every run completes); the cost is the implementation shortfall
against the arrival mid in bps (price + fees; opportunity cost of anything unfilled added).
Runs are paired by seed (same market, same seeds for every agent), so the difference
between two allocators is measured on the same market paths.

Prints: allocator x mean cost (bps) with a 95% CI, fill rate, DARK1's share of the
allocation before and after the shift, and the slices it took to move off DARK1 (first
10-slice window after the shift with DARK1 below 10%; median over seeds); then the paired
difference of each adaptive allocator against the best static one, with a 95% CI.

    python bench/regime_routing.py [--seeds N] [--allocators a,b,...]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import math
import statistics
import time

from scenarios.regime_routing import ALLOCATOR_CASES, STATIC, CaseResult, run_study_case

T_975 = {5: 2.776, 10: 2.262, 20: 2.093, 30: 2.045, 40: 2.023}


def t_quantile(n: int) -> float:
    """The 97.5% Student t quantile for n samples (n - 1 degrees of freedom)."""
    known = sorted(T_975)
    for k in known:
        if n <= k:
            return T_975[k]
    return 1.96


def mean_ci(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, t_quantile(len(values)) * statistics.stdev(values) / math.sqrt(len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--allocators", default=",".join(ALLOCATOR_CASES))
    args = parser.parse_args()
    names = args.allocators.split(",")
    started = time.perf_counter()
    results: dict[str, list[CaseResult]] = {
        name: [run_study_case(name, seed) for seed in range(1, args.seeds + 1)] for name in names
    }
    print(f"seeds {args.seeds}, wall {time.perf_counter() - started:.0f} s")
    print(f"{'allocator':24} {'cost bps':>9} {'95% CI':>8} {'fill':>6} {'DARK1 before':>13} "
          f"{'after':>6} {'slices to move off (median)':>28}")
    for name in names:
        runs = results[name]
        mean, half = mean_ci([r.total_cost_bps for r in runs])
        moved = [r.slices_to_move_off for r in runs]
        finite = sorted(m for m in moved if m is not None)
        median = statistics.median(finite) if len(finite) == len(moved) else None
        print(f"{name:24} {mean:9.3f} {half:8.3f} {statistics.fmean(r.fill_rate for r in runs):6.3f} "
              f"{statistics.fmean(r.share_to_degraded_before for r in runs):13.2f} "
              f"{statistics.fmean(r.share_to_degraded_after for r in runs):6.2f} "
              f"{'never (some seeds)' if median is None else median:>28}")
    statics = [n for n in names if n in STATIC]
    if not statics:
        return
    best = min(statics, key=lambda n: statistics.fmean(r.total_cost_bps for r in results[n]))
    print(f"best static: {best}")
    for name in names:
        if name in STATIC:
            continue
        diffs = [a.total_cost_bps - b.total_cost_bps for a, b in zip(results[name], results[best])]
        mean, half = mean_ci(diffs)
        verdict = "beats it" if mean + half < 0 else ("loses" if mean - half > 0 else "no difference")
        print(f"paired {name:22} - {best}: {mean:+.3f} bps  95% CI [{mean - half:+.3f}, {mean + half:+.3f}]  {verdict}")


if __name__ == "__main__":
    main()
