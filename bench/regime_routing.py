"""The regime-shift routing study (figures, not pass/fail): the best dark pool dries up (or,
with --mode toxic, turns toxic) half-way through a parent order; adaptive allocators against
static ones over many seeds.

See `scenarios/regime_routing.py` for the market, the shift and the router. For each
allocator and seed one run buys 24,000 shares on a TWAP over 116 s (1 s slices, the last
10 s a lit clean-up so every run completes); the cost is the implementation shortfall
against the arrival mid in bps (price + fees; opportunity cost of anything unfilled added).
Runs are paired by seed (same market, same seeds for every agent), so the difference
between two allocators is measured on the same market paths.

Prints: allocator x mean cost (bps) with a 95% CI, fill rate, DARK1's share of the
allocation before and after the shift, and the slices it took to move off DARK1 (first
10-slice window after the shift with DARK1 below 10%; median over seeds); then the paired
difference of each adaptive allocator against the best static one, with a 95% CI; then
the router's DARK1 fills before and after the shift — shares, and their price against the
lit mid at fill time in bps (mean over the seeds with such fills, 95% CI) — and, in toxic
mode, the latency arbitrageurs' P&L.

`--mode toxic` runs `StudyConfig(mode="toxic")` with its default regime parameters (printed
first; `--toxic-delay-ms` overrides DARK1's lag); `--jobs N` runs the cases on N processes
(same results, in the same order).

    python bench/regime_routing.py [--seeds N] [--mode dry|toxic] [--toxic-delay-ms MS]
                                   [--allocators a,b,...] [--jobs N]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields, replace

from scenarios.regime_routing import (
    ALLOCATOR_CASES,
    MODES,
    STATIC,
    CaseResult,
    StudyConfig,
    run_study_case,
)

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


def _case(job: tuple[str, int, StudyConfig]) -> CaseResult:
    return run_study_case(*job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--mode", choices=MODES, default="dry")
    parser.add_argument("--allocators", default=",".join(ALLOCATOR_CASES))
    parser.add_argument("--toxic-delay-ms", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    names = args.allocators.split(",")
    config = StudyConfig(mode=args.mode)
    if args.toxic_delay_ms is not None:
        config = replace(config, toxic_delay_ns=args.toxic_delay_ms * 1_000_000)
    if args.mode == "toxic":
        regime = {f.name: getattr(config, f.name) for f in fields(config)
                  if f.name in ("shift_s", "toxic_delay_ns") or f.name.startswith("arb")}
        print("toxic regime: " + ", ".join(f"{k}={v}" for k, v in regime.items()))
    started = time.perf_counter()
    jobs = [(name, seed, config) for name in names for seed in range(1, args.seeds + 1)]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            flat = list(pool.map(_case, jobs))
    else:
        flat = [_case(job) for job in jobs]
    results: dict[str, list[CaseResult]] = {
        name: flat[i * args.seeds:(i + 1) * args.seeds] for i, name in enumerate(names)}
    print(f"mode {args.mode}, seeds {args.seeds}, wall {time.perf_counter() - started:.0f} s")
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
    print("\nrouter's DARK1 fills, price vs lit mid at fill (bps, + = above mid; fees excluded)")
    print(f"{'allocator':24} {'before: shares':>14} {'bps':>7} {'95% CI':>7} {'after: shares':>14} "
          f"{'bps':>7} {'95% CI':>7}" + (f" {'arb P&L $':>10}" if args.mode == "toxic" else ""))
    for name in names:
        runs = results[name]
        row = f"{name:24}"
        for filled, cost in ((lambda r: r.dark1_filled_before, lambda r: r.dark1_cost_before_bps),
                             (lambda r: r.dark1_filled_after, lambda r: r.dark1_cost_after_bps)):
            costs = [c for c in map(cost, runs) if c is not None]
            mean, half = mean_ci(costs) if costs else (math.nan, math.nan)
            row += f" {statistics.fmean(map(filled, runs)):14.0f} {mean:7.3f} {half:7.3f}"
        if args.mode == "toxic":
            row += f" {statistics.fmean(r.arbitrage_pnl or 0.0 for r in runs):10.1f}"
        print(row)
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
