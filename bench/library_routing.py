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

A router is `own` (the file's allocator), a static name above, or an allocator key with
optional JSON parameters after a colon. Prints one line per router: mean cost, 95% CI, mean
fill rate, the paired difference against the best static, and each venue's share of the
router's own slices before and after the file's first shift.
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
from scenarios.loader import LIBRARY, run_scenario
from scenarios.scenario import Scenario, compile_scenario
from scenarios.schema import validate_data
from scenarios.statistics import mean_interval

S = 1_000_000_000


def allocator_spec(scenario: Scenario, router: str) -> dict[str, Any] | None:
    """The allocator table `router` names for `scenario` (None: the file's own)."""
    if router == "own":
        return None
    baselines = static_baselines(scenario)
    if router in baselines:
        return baselines[router]
    key, _, params = router.partition(":")
    return {"type": key, "params": json.loads(params) if params else {}}


def _edit(data: dict[str, Any], edits: list[str]) -> dict[str, Any]:
    for edit in edits:
        path, _, value = edit.partition("=")
        keys = path.split(".")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if not key.isdigit() else node[int(key)]
        node[keys[-1]] = json.loads(value)
    return data


def run_case(name: str, router: str, seed: int, edits: list[str]) -> dict[str, Any]:
    path = LIBRARY / f"{name}.toml"
    data = _edit(tomllib.loads(path.read_text()), edits)
    scenario = compile_scenario(validate_data(data, str(path)), str(path))
    spec = allocator_spec(scenario, router)
    if spec is not None:
        data["parent_orders"][0]["allocator"] = spec
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
            "sent": per_share_sent(own, shift_ns, 1.0 if tca.side == "buy" else -1.0)}


def per_share_sent(own: list[Any], shift_ns: int, sign: float) -> dict[str, list[list[float]]]:
    """Per venue, before and after the shift: [cost in bps x shares, shares sent, filled]. A
    filled share costs its price against the slice's decision mid plus fees; a share sent
    and not filled costs the mid's move until the next slice's decision (it is sent again
    then). What a venue costs per share the router sends it, fills and misses together."""
    out: dict[str, list[list[float]]] = {}
    mids = [r.decision_mid for r in own]
    for i, record in enumerate(own):
        mid = record.decision_mid
        later = next((m for m in mids[i + 1:] if m is not None), None)
        if mid is None:
            continue
        for venue, cost in record.costs.items():
            entry = out.setdefault(venue, [[0.0, 0, 0], [0.0, 0, 0]])[record.t_ns >= shift_ns]
            total = sign * (cost.notional - cost.filled * mid) + cost.fees if cost.filled else 0.0
            missed = cost.sent - cost.filled
            if missed and later is not None:
                total += sign * missed * (later - mid)
            entry[0] += total / mid * 1e4
            entry[1] += cost.sent
            entry[2] += cost.filled
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--routers", default="own")
    parser.add_argument("--set", action="append", default=[], dest="edits")
    args = parser.parse_args()
    routers = [r for r in _split(args.routers) if r]
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
        cost = sum(by[router, s]["sent"].get(venue, [[0, 0, 0]] * 2)[phase][0] for s in seeds)
        sent = sum(by[router, s]["sent"].get(venue, [[0, 0, 0]] * 2)[phase][1] for s in seeds)
        filled = sum(by[router, s]["sent"].get(venue, [[0, 0, 0]] * 2)[phase][2] for s in seeds)
        parts.append((f"{cost / sent:+.2f}", f"{filled / sent:.2f}") if sent else ("-", "-"))
    return f"{venue}:{parts[0][0]}>{parts[1][0]}({parts[0][1]}>{parts[1][1]})"


def _split(text: str) -> list[str]:
    """Split on commas outside braces (JSON parameters hold commas)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


if __name__ == "__main__":
    main()
