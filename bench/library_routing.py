"""Routing quality on one library scenario (figures, not pass/fail): its own adaptive router
against the static baselines, and any other allocators named, over many seeds.

The static baselines are those of `tests/scenarios/test_routing_quality.py`
(`scenarios.baselines`: lit-only, pro-rata on displayed size, the same at the NBBO only,
fixed even weights, and the dark-heavy weights where there are two dark pools); they always
run. Cost: the parent's `implementation_shortfall_bps` (`router.tca`: price and fees on the
filled shares scaled by the filled fraction, plus the opportunity cost of anything unfilled),
as the tests rank them. Runs are paired by seed; the best static is chosen after the fact and
every other router is compared with it (mean paired difference, 95% t-interval; negative =
cheaper than the best static).

Seeds: tune on 1000 and up (`--first-seed 1000`, the default); the tests use 1-40.

    python bench/library_routing.py SCENARIO [--seeds N] [--first-seed S] [--jobs J]
        [--routers own,'cost-based:{"discount": 0.8}',...]
        [--set key=json ...]  (top-level edits of the file, e.g. market.reference_price=20)

A router is `own` (the file's allocator) or anything `sorsim compare --routers` takes
(`scenarios.loader.parse_scenario`): a static name above, an allocator key (with the file's
parameters when it is the file's own), or a key with JSON parameters after a colon. Prints
one line per router: mean cost, 95% CI, mean fill rate, the paired difference against the
best static, and each venue's share of the router's own slices before and after the file's
first shift; then a line with each venue's cost per share sent and fill rate before and
after it (`scenarios.routing_quality.SentCost`: what tells a venue that got dear from one
that only fills less).
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import json
import statistics
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from scenarios.baselines import static_baselines
from scenarios.compare import parse_routers
from scenarios.loader import LIBRARY, run_scenario, substitute_allocator
from scenarios.routing_quality import SentCost, sent_costs
from scenarios.scenario import compile_scenario
from scenarios.schema import validate_data
from scenarios.statistics import mean_interval

S = 1_000_000_000


def _edit(data: dict[str, Any], edits: list[str]) -> dict[str, Any]:
    for edit in edits:
        path, _, value = edit.partition("=")
        keys = path.split(".")
        node: Any = data  # tables and arrays of tables
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if not key.isdigit() else node[int(key)]
        node[keys[-1]] = json.loads(value)
    return data


def run_case(name: str, router: str, seed: int, edits: list[str]) -> dict[str, Any]:
    path = LIBRARY / f"{name}.toml"
    data = _edit(tomllib.loads(path.read_text()), edits)
    if router != "own":
        substitute_allocator(data, router, str(path))
    scenario = compile_scenario(validate_data(data, str(path)), str(path))
    result = run_scenario(scenario, seed=seed)
    tca = result.tca["SOR"]
    cost = tca.implementation_shortfall_bps
    shift_ns = int(min((s["at_s"] for s in data.get("timeline", [])), default=0) * S)
    own = [r for r in result.routers["SOR"].slices if not r.cleanup and not r.catch_up]
    shares: dict[str, list[float]] = {}
    for phase, records in (("before", [r for r in own if r.t_ns < shift_ns]),
                           ("after", [r for r in own if r.t_ns >= shift_ns])):
        sent = sum(sum(r.allocation.values()) for r in records) or 1
        for r in records:
            for venue, q in r.allocation.items():
                shares.setdefault(venue, [0.0, 0.0])[phase == "after"] += q / sent
    return {"cost": cost, "fill": tca.fill_rate, "shares": shares,
            "sent": (sent_costs(own, tca.side, 0, shift_ns), sent_costs(own, tca.side, shift_ns))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--routers", default="own")
    parser.add_argument("--set", action="append", default=[], dest="edits")
    args = parser.parse_args()
    routers = parse_routers(args.routers)
    path = LIBRARY / f"{args.scenario}.toml"
    data = _edit(tomllib.loads(path.read_text()), args.edits)
    statics = list(static_baselines(compile_scenario(validate_data(data, str(path)), str(path))))
    routers += [static for static in statics if static not in routers]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    cases = [(args.scenario, r, s, args.edits) for r in routers for s in seeds]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run_case, *zip(*cases)))
    by = {(c[1], c[2]): r for c, r in zip(cases, results)}
    mean = {r: statistics.fmean(by[r, s]["cost"] for s in seeds) for r in routers}
    best = min(statics, key=mean.__getitem__)
    print(f"{args.scenario}: seeds {seeds[0]}-{seeds[-1]}, edits {args.edits or 'none'}, "
          f"{time.perf_counter() - started:.0f} s; best static {best}")
    for r in routers:
        costs = [by[r, s]["cost"] for s in seeds]
        interval = mean_interval(costs)
        low, high = interval.low or 0.0, interval.high or 0.0
        diff = [by[r, s]["cost"] - by[best, s]["cost"] for s in seeds]
        paired = mean_interval(diff)
        dlow, dhigh = (paired.low or 0.0, paired.high or 0.0) if r != best else (0.0, 0.0)
        wins = sum(d < 0 for d in diff)
        venues = sorted({v for s in seeds for v in by[r, s]["shares"]})
        shares = " ".join(
            f"{v}:{statistics.fmean(by[r, s]['shares'].get(v, [0, 0])[0] for s in seeds):.2f}"
            f">{statistics.fmean(by[r, s]['shares'].get(v, [0, 0])[1] for s in seeds):.2f}"
            for v in venues)
        print(f"  {r[:40]:40s} {mean[r]:+7.3f} [{low:+.2f},{high:+.2f}] fill "
              f"{statistics.fmean(by[r, s]['fill'] for s in seeds):.3f}  vs best "
              f"{statistics.fmean(diff):+.3f} [{dlow:+.3f},{dhigh:+.3f}] wins {wins}/{len(seeds)}"
              f"  {shares}")
        sent = " ".join(_per_share_sent(by, r, seeds, v) for v in venues)
        print(f"  {'':40s} per share sent, bps before>after (fill rate): {sent}")


def _per_share_sent(by: dict[tuple[str, int], dict[str, Any]], router: str, seeds: list[int],
                    venue: str) -> str:
    """One venue's cost per share sent and fill rate before>after the shift, over all seeds
    (totals over the seeds, not a mean of per-seed ratios)."""
    parts = []
    for phase in (0, 1):
        total = sum((by[router, s]["sent"][phase].get(venue, SentCost()) for s in seeds),
                    SentCost())
        cost, rate = total.per_share_bps, total.fill_rate
        parts.append(("-", "-") if cost is None or rate is None
                     else (f"{cost:+.2f}", f"{rate:.2f}"))
    return f"{venue}:{parts[0][0]}>{parts[1][0]}({parts[0][1]}>{parts[1][1]})"


if __name__ == "__main__":
    main()
