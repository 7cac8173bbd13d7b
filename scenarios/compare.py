"""`sorsim compare FILE --routers a,b,c --seeds N`: the same scenario once per router over
the same seeds, and which router routes best.

A router is an allocator put in place of every parent order's own
(`scenarios.loader.parse_scenario(allocator=...)`): a registry key or "module:Class", with
the file's parameters when it is the allocator the file names, else with the allocator's
defaults; the same with JSON parameters after a colon (`cost-based:{"discount": 0.8}`); or
a static baseline of the routing-quality tests (`fixed-even`, `pro-rata-at-nbbo`, ...:
`scenarios.baselines`). The table says which. Every router is checked at load, before any
run starts.

Per parent order and router, over the seeds: the mean implementation shortfall (bps of the
arrival mid per parent share, fees included, unfilled shares at their opportunity cost, so
a router that fills less is not ranked cheaper for it) with its 95% t-interval, the mean
fill rate, VWAP slippage and regret (against the run's best venue in hindsight,
`scenarios.summary`). The best router
is the one with the lowest mean shortfall; every other router's shortfall minus the
best's is taken seed by seed (the runs of one seed share the market's random streams, so
the paired difference is much tighter than the two intervals side by side).

`compare.json` holds all of it: the seeds and how they were chosen, per router the figures
and intervals, and every run's figures and digest (`sorsim run FILE --seed S` reproduces a
run of the file's own allocator; the header of any run's log records the override).

A run that raises does not lose the others: every router runs on every seed (`fan_out_all`
says why); a router's figures are over its finished runs (`routers[r].finished` says how
many, each interval's `n` how many values), a paired difference only uses seeds where both
routers finished, `failed` lists each failed run (router, seed, error: who raised what,
where, at what simulated time; traceback), and the command exits `EXIT_CRASHED` (3) after
writing `compare.json`, so a script notices. A file without a parent order is an error
(exit 2) before any run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.fan_out import (FanOutError, RunFailed, RunJob, fan_out_all, read_seeded_file,
                               require_parent_orders)
from scenarios.loader import allocator_kind, parse_scenario
from scenarios.progress import RunsProgress
from scenarios.run import EXIT_CRASHED, EXIT_INVALID
from scenarios.schema import ScenarioError
from scenarios.statistics import Interval, mean_interval
from scenarios.summary import make_table, percent, signed, write_and_print

__all__ = ["compare", "compare_file", "parse_routers", "print_comparison"]

FIGURES = ("implementation_shortfall_bps", "fill_rate", "vwap_slippage_bps", "regret_bps")


def parse_routers(text: str) -> list[str]:
    """"a,b:{"x": 1, "y": 2},c" -> ["a", 'b:{"x": 1, "y": 2}', "c"]: split on the commas
    outside braces and brackets (JSON parameters hold commas); empty names and repeats are
    errors."""
    routers, depth, current = [], 0, ""
    for char in text:
        depth += (char in "{[") - (char in "}]")
        if char == "," and depth == 0:
            routers.append(current.strip())
            current = ""
        else:
            current += char
    routers.append(current.strip())
    if any(not r for r in routers):
        raise ValueError(f"--routers {text!r}: expected comma-separated allocator keys, "
                         "module:Class paths or static baselines, each with optional JSON "
                         "parameters, e.g. ucb1,'cost-based:{\"discount\": 0.8}',fixed-even")
    repeated = sorted({r for r in routers if routers.count(r) > 1})
    if repeated:
        raise ValueError(f"--routers {text!r}: {', '.join(repeated)} named twice")
    return routers


def compare(text: str, file: str, routers: Sequence[str], seeds: Sequence[int], *,
            seed_rule: str = "", backend: str = "process", workers: int | None = None,
            address: str | None = None,
            on_done: Callable[[], object] | None = None) -> dict[str, Any]:
    """Run every router over every seed; the comparison (the shape of `compare.json`).
    A router that does not load, or a file without a parent order, raises `ScenarioError`
    before any run."""
    scenario = parse_scenario(text, file)
    require_parent_orders(scenario, file, "compare")
    own = {order.allocator.type for order in scenario.parent_orders}
    for router in routers:
        parse_scenario(text, file, allocator=router)  # every router loads, before any run
    params = {r: _parameters(r, own) for r in routers}
    jobs = [RunJob(text, file, seed, router) for router in routers for seed in seeds]
    outcomes = fan_out_all(jobs, backend=backend, workers=workers, address=address,
                           on_done=on_done)
    runs = [{"router": job.allocator, **outcome} for job, outcome in zip(jobs, outcomes)
            if not isinstance(outcome, RunFailed)]
    failed = [{"router": outcome.job.allocator, **outcome.as_dict()} for outcome in outcomes
              if isinstance(outcome, RunFailed)]
    parents = list(scenario.parent_orders)
    by_router = {r: [run for run in runs if run["router"] == r] for r in routers}

    table: dict[str, Any] = {}
    best: dict[str, str | None] = {}
    for order in parents:
        name = order.name
        figures = {r: {f: mean_interval(run["parent_orders"][name][f] for run in by_router[r])
                       for f in FIGURES} for r in routers}
        ranked = [r for r in routers if figures[r]["implementation_shortfall_bps"].mean is not None]
        winner = min(ranked, key=lambda r: _mean(figures[r]["implementation_shortfall_bps"]),
                     default=None)
        best[name] = winner
        table[name] = {}
        for r in routers:
            row: dict[str, Any] = {f: figures[r][f].as_dict() for f in FIGURES}
            row["shortfall_minus_best_bps"] = (
                None if winner is None or r == winner
                else _paired(by_router[r], by_router[winner], name).as_dict())
            table[name][r] = row
    return {
        "scenario": scenario.name,
        "file": file,
        "seeds": list(seeds),
        "seed_rule": seed_rule,
        "backend": backend,
        "routers": {r: {"params": params[r], "finished": len(by_router[r])} for r in routers},
        "best": best,
        "parent_orders": table,
        "runs": runs,
        "failed": failed,
    }


def _parameters(router: str, own: set[str]) -> str:
    """Where a router's parameters come from, for the table (`parse_scenario` says how)."""
    kind = allocator_kind(router)
    if kind == "key":
        return "file" if router in own else "defaults"
    return kind


def _mean(interval: Interval) -> float:
    assert interval.mean is not None
    return interval.mean


def _paired(runs: Sequence[dict[str, Any]], best: Sequence[dict[str, Any]],
            parent: str) -> Interval:
    """Shortfall minus the best router's, seed by seed (seeds where both have one)."""
    best_by_seed = {run["seed"]: run["parent_orders"][parent]["implementation_shortfall_bps"]
                    for run in best}
    differences = []
    for run in runs:
        mine = run["parent_orders"][parent]["implementation_shortfall_bps"]
        theirs = best_by_seed.get(run["seed"])
        if mine is not None and theirs is not None:
            differences.append(mine - theirs)
    return mean_interval(differences)


# --- the command --------------------------------------------------------------------------------


def compare_file(file: str, *, routers: str, seeds: int, seed: int | None, out: str,
                 backend: str, workers: int | None, address: str | None, console: Console,
                 progress: bool = True) -> int:
    """`sorsim compare`: the exit status (2 for a bad file or router, 3 when a run failed --
    after writing the others' figures -- and 1 when the backend failed)."""
    try:
        names = parse_routers(routers)
        text, chosen, rule = read_seeded_file(file, seeds, seed)
    except (ScenarioError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    try:
        with RunsProgress(console, f"compare {len(names)} routers", len(names) * len(chosen),
                          enabled=progress) as bar:
            report = compare(text, file, names, chosen, seed_rule=rule, backend=backend,
                             workers=workers, address=address, on_done=bar.advance)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except FanOutError as error:
        print(f"sorsim compare: {error}", file=sys.stderr)
        return 1
    path = Path(out) / "compare.json"
    write_and_print(console, report, path, print_comparison)
    if report["failed"]:
        print(f"sorsim compare: {len(report['failed'])} of "
              f"{len(report['routers']) * len(report['seeds'])} runs failed "
              f"({_failed_runs(report['failed'])}); the figures are over the runs that "
              f"finished; errors and tracebacks in {path}", file=sys.stderr)
        return EXIT_CRASHED
    return 0


def print_comparison(console: Console, report: dict[str, Any]) -> None:
    """The comparison as one table per parent order."""
    console.print(f"scenario      {report['scenario']}  {report['file']}", markup=False,
                  soft_wrap=True)
    failed = report["failed"]
    state = f"; {len(report['runs'])} finished, {len(failed)} failed" if failed else ""
    console.print(f"runs          {len(report['routers']) * len(report['seeds'])}: "
                  f"{len(report['routers'])} routers x {report['seed_rule']}, backend "
                  f"{report['backend']}{state}", markup=False, soft_wrap=True)
    for parent, rows in report["parent_orders"].items():
        winner = report["best"][parent]
        console.print()
        console.print(f"{parent}: means over {'the finished ' if failed else ''}seeds ± the "
                      "95% t-interval; IS - best: the shortfall minus the best router's "
                      f"({winner or '-'}, marked *), seed by seed"
                      + (" where both finished" if failed else ""),
                      markup=False, soft_wrap=True)
        table = make_table(["router", "params", "runs", "IS bps", "± 95%", "fill rate",
                            "VWAP slip bps", "regret bps", "IS - best", "± 95%"],
                           text_columns=2)
        for router, row in rows.items():
            shortfall = row["implementation_shortfall_bps"]
            difference = row["shortfall_minus_best_bps"]
            table.add_row(
                router + (" *" if router == winner else ""),
                report["routers"][router]["params"],
                f"{report['routers'][router]['finished']}/{len(report['seeds'])}",
                signed(shortfall["mean"]), _half_width(shortfall),
                percent(row["fill_rate"]["mean"]), signed(row["vwap_slippage_bps"]["mean"]),
                signed(row["regret_bps"]["mean"]),
                "best" if router == winner else signed(difference and difference["mean"]),
                "" if router == winner else _half_width(difference))
        console.print(table)
    for failure in failed:
        console.print(f"failed        {failure['router']} seed {failure['seed']}: "
                      f"{failure['error']}", markup=False, soft_wrap=True)


def _failed_runs(failed: Sequence[dict[str, Any]]) -> str:
    """"ucb1 seed 4, lit-only seeds 4, 7": which runs failed, router by router."""
    seeds: dict[str, list[int]] = {}
    for failure in failed:
        seeds.setdefault(failure["router"], []).append(failure["seed"])
    return ", ".join(f"{router} seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))}"
                     for router, s in seeds.items())


def _half_width(interval: dict[str, Any] | None) -> str:
    """The t-interval's half-width (it is symmetric about the mean)."""
    if not interval or not interval["ci95"]:
        return "-"
    return f"{interval['ci95'][1] - interval['mean']:.2f}"
