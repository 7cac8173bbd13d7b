"""The regime-shift routing study (figures, not pass/fail): the best dark pool dries up (or,
with --mode toxic, turns toxic) half-way through a parent order; adaptive allocators against
static ones over many seeds.

See `scenarios/regime_routing.py` for the market, the shift, the router and why the study is
set up as it is. For each allocator and seed one run buys 24,000 shares on a TWAP over
116 s (1 s slices, the last 10 s a lit clean-up so every run completes, and a catch-up
rule that takes at lit what is more than 2 s overdue); the cost is the implementation
shortfall against the arrival mid in bps (price + fees; opportunity cost of anything
unfilled added). Runs are paired by seed (same market, same seeds for every agent), so the
difference between two allocators is measured on the same market paths.

Seeds. The study's parameters were tuned on seeds 1000-1039 (`--first-seed 1000`); the
evaluation is seeds 0-39 (the default), run once. The best static allocator is chosen
after the fact on the seeds run, and each adaptive allocator is compared with it paired by
seed (95% t-interval of the paired difference).

Prints: allocator x mean cost (bps) with a 95% CI, fill rate, DARK1's share of the
allocator's own allocation before and after the shift, and the slices it took to move off
DARK1 (first window of 10 of its slices after the shift with DARK1 below 10%): median,
largest, and on how many seeds within the stated bound (`MOVE_OFF_BOUND`, slices, fixed on
the tuning seeds); then the paired difference of each adaptive allocator against the best
static one, in all and by phase (fills before the shift, after it, in the clean-up); then
the router's DARK1 fills before and after the shift — shares, and their price against the
lit mid at fill time in bps (mean over the seeds with such fills, 95% CI) — and, in toxic
mode, the latency arbitrageurs' P&L.

`--mode toxic` runs `StudyConfig(mode="toxic")` with its default regime parameters (printed
first; `--toxic-delay-ms` overrides DARK1's lag); `--jumps` puts the fundamental's news
jumps back (the default market has none); `--jobs N` runs the cases on N processes (same
results, in the same order).

    python bench/regime_routing.py [--seeds N] [--first-seed S] [--mode dry|toxic]
                                   [--toxic-delay-ms MS] [--jumps] [--allocators a,b,...]
                                   [--jobs N]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields, replace

from scenarios.market import FundamentalConfig
from scenarios.regime_routing import (
    ADAPTIVE,
    ALLOCATOR_CASES,
    MODES,
    STATIC,
    CaseResult,
    StudyConfig,
    run_study_case,
)

# The stated bound on the slices the study's adaptive allocator takes to move off DARK1,
# per mode: the largest seen on the tuning seeds (1000-1039), rounded up to a multiple of 5
# (dry: 30; toxic: 37, and 10 of the 40 tuning seeds never moved off — seeds where the
# stalled pool was not expensive for a buyer).
MOVE_OFF_BOUND = {"dry": 30, "toxic": 40}

# 97.5% quantiles of Student's t by degrees of freedom (n - 1).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 19: 2.093, 20: 2.086, 24: 2.064,
         29: 2.045, 30: 2.042, 39: 2.023, 40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile(n: int) -> float:
    """The 97.5% Student t quantile for n samples (n - 1 degrees of freedom); between
    tabulated values the next smaller degrees of freedom (a slightly wider interval)."""
    df = n - 1
    known = [k for k in sorted(T_975) if k <= df]
    return T_975[known[-1]] if known else math.nan


def mean_ci(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, t_quantile(len(values)) * statistics.stdev(values) / math.sqrt(len(values))


def _case(job: tuple[str, int, StudyConfig]) -> CaseResult:
    return run_study_case(*job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="dry")
    parser.add_argument("--allocators", default=",".join(ALLOCATOR_CASES))
    parser.add_argument("--toxic-delay-ms", type=int, default=None)
    parser.add_argument("--jumps", action="store_true",
                        help="the fundamental's news jumps as in the default market")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    names = args.allocators.split(",")
    config = StudyConfig(mode=args.mode)
    if args.toxic_delay_ms is not None:
        config = replace(config, toxic_delay_ns=args.toxic_delay_ms * 1_000_000)
    if args.jumps:
        config = replace(config, market=replace(config.market, fundamental=FundamentalConfig()))
    if args.mode == "toxic":
        regime = {f.name: getattr(config, f.name) for f in fields(config)
                  if f.name in ("shift_s", "toxic_delay_ns") or f.name.startswith("arb")}
        print("toxic regime: " + ", ".join(f"{k}={v}" for k, v in regime.items()))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started = time.perf_counter()
    jobs = [(name, seed, config) for name in names for seed in seeds]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            flat = list(pool.map(_case, jobs))
    else:
        flat = [_case(job) for job in jobs]
    n = len(seeds)
    results: dict[str, list[CaseResult]] = {
        name: flat[i * n:(i + 1) * n] for i, name in enumerate(names)}
    bound = MOVE_OFF_BOUND[args.mode]
    jumps = "with" if args.jumps else "no"
    print(f"mode {args.mode}, seeds {seeds[0]}-{seeds[-1]} ({n}), {jumps} jumps, "
          f"max lag {config.max_lag_ns}, wall {time.perf_counter() - started:.0f} s")
    print(f"{'allocator':24} {'cost bps':>9} {'95% CI':>8} {'fill':>6} {'DARK1 before':>13} "
          f"{'after':>6}   slices to move off: median  max  within {bound}")
    for name in names:
        runs = results[name]
        mean, half = mean_ci([r.total_cost_bps for r in runs])
        moved = [r.slices_to_move_off for r in runs]
        finite = sorted(m for m in moved if m is not None)
        median = f"{statistics.median(finite):g}" if finite else "-"
        largest = "never" if len(finite) < len(moved) else f"{finite[-1]}"
        within = sum(1 for m in finite if m <= bound)
        print(f"{name:24} {mean:9.3f} {half:8.3f} {statistics.fmean(r.fill_rate for r in runs):6.3f} "
              f"{statistics.fmean(r.share_to_degraded_before for r in runs):13.2f} "
              f"{statistics.fmean(r.share_to_degraded_after for r in runs):6.2f}   "
              f"{median:>26} {largest:>5} {within:>4}/{n}")
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
    statics = [name for name in names if name in STATIC]
    if not statics:
        return
    best = min(statics, key=lambda name: statistics.fmean(r.total_cost_bps for r in results[name]))
    print(f"\nbest static: {best} (on these seeds); paired differences, bps (- = cheaper than it)")
    for name in names:
        if name in STATIC:
            continue
        pairs = list(zip(results[name], results[best]))
        mean, half = mean_ci([a.total_cost_bps - b.total_cost_bps for a, b in pairs])
        verdict = "beats it" if mean + half < 0 else ("loses" if mean - half > 0 else "no difference")
        print(f"paired {name:22} - {best}: {mean:+.3f} bps  95% CI [{mean - half:+.3f}, "
              f"{mean + half:+.3f}]  {verdict}")
        phases = []
        for label, part in (("before shift", lambda r: r.shortfall_before_bps),
                            ("after", lambda r: r.shortfall_after_bps),
                            ("clean-up", lambda r: r.shortfall_cleanup_bps)):
            m, h = mean_ci([part(a) - part(b) for a, b in pairs])
            phases.append(f"{label} {m:+.3f} ± {h:.3f}")
        print(f"       {'':22}   by phase: " + ", ".join(phases))
    adaptive = ADAPTIVE
    if adaptive in results:
        runs = results[adaptive]
        late = [(r.seed, r.slices_to_move_off, r.dark1_cost_after_bps) for r in runs
                if r.slices_to_move_off is None or r.slices_to_move_off > bound]
        print(f"\n{adaptive}: moved off DARK1 within {bound} slices of the shift on "
              f"{n - len(late)}/{n} seeds" + ("" if not late else "; not on seeds "
              + ", ".join(f"{seed} ({'never' if m is None else m}; its DARK1 fills after the "
                          f"shift cost {'-' if c is None else f'{c:+.2f}'} bps vs the mid)"
                          for seed, m, c in late)))


if __name__ == "__main__":
    main()
