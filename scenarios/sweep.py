"""`sorsim sweep FILE --seeds N [--backend process|ray] [--address ADDR]`: one scenario over
many seeds, fanned out on a local process pool or on Ray, with identical per-seed results
on every backend.

Each seed's result is `scenarios.summary.run_figures` of its run: the digest (the same as
`sorsim run FILE --seed S` prints, so any seed can be rerun on its own and checked) and the
figures per parent order. Across the seeds, per parent order: mean fill rate, shortfall,
VWAP slippage and regret with their 95% t-intervals. `sweep.json` holds the seeds and how
they were chosen, every seed's result and the means.

A seed whose run raises does not lose the others: every seed is run (`fan_out_all` says
why), the means are over the seeds that finished (`finished` says how many), `failed`
lists each failed seed with its error (who raised what, where, at what simulated time)
and traceback, and the command exits `EXIT_CRASHED` (3) after writing `sweep.json`, so a
script notices. A file without a parent order is an error (exit 2) before any run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.fan_out import (FanOutError, RunFailed, RunJob, fan_out_all, read_seeded_file,
                               require_parent_orders)
from scenarios.loader import parse_scenario
from scenarios.progress import RunsProgress
from scenarios.run import EXIT_CRASHED, EXIT_INVALID
from scenarios.schema import ScenarioError
from scenarios.statistics import mean_interval
from scenarios.summary import make_table, percent, signed, write_and_print

__all__ = ["FIGURES", "print_sweep", "sweep", "sweep_file"]

FIGURES = ("fill_rate", "implementation_shortfall_bps", "vwap_slippage_bps", "regret_bps")


def sweep(text: str, file: str, seeds: Sequence[int], *, seed_rule: str = "",
          backend: str = "process", workers: int | None = None, address: str | None = None,
          on_done: Callable[[], object] | None = None) -> dict[str, Any]:
    """Run the scenario once per seed; the sweep (the shape of `sweep.json`): `runs` the
    finished seeds' results, `failed` the others', means over the finished ones. A bad
    file, or one without a parent order, raises `ScenarioError` before any run."""
    scenario = parse_scenario(text, file)
    require_parent_orders(scenario, file, "sweep")
    outcomes = fan_out_all([RunJob(text, file, seed) for seed in seeds], backend=backend,
                           workers=workers, address=address, on_done=on_done)
    runs = [o for o in outcomes if not isinstance(o, RunFailed)]
    failed = [o.as_dict() for o in outcomes if isinstance(o, RunFailed)]
    means = {order.name: {f: mean_interval(run["parent_orders"][order.name][f] for run in runs)
                          .as_dict() for f in FIGURES}
             for order in scenario.parent_orders}
    return {"scenario": scenario.name, "file": file, "seeds": list(seeds),
            "seed_rule": seed_rule, "backend": backend, "finished": len(runs),
            "parent_orders": means, "runs": runs, "failed": failed}


def sweep_file(file: str, *, seeds: int, seed: int | None, out: str, backend: str,
               workers: int | None, address: str | None, console: Console,
               progress: bool = True) -> int:
    """`sorsim sweep`: the exit status (2 for a bad file, 3 when a seed's run failed -- after
    writing the others' figures -- and 1 when the backend failed)."""
    try:
        text, chosen, rule = read_seeded_file(file, seeds, seed)
    except (ScenarioError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    try:
        with RunsProgress(console, f"sweep on {backend}", len(chosen), enabled=progress) as bar:
            report = sweep(text, file, chosen, seed_rule=rule, backend=backend,
                           workers=workers, address=address, on_done=bar.advance)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except FanOutError as error:
        print(f"sorsim sweep: {error}", file=sys.stderr)
        return 1
    path = Path(out) / "sweep.json"
    write_and_print(console, report, path, print_sweep)
    if report["failed"]:
        which = ", ".join(str(f["seed"]) for f in report["failed"])
        print(f"sorsim sweep: {len(report['failed'])} of {len(report['seeds'])} runs failed "
              f"(seed{'s' if len(report['failed']) > 1 else ''} {which}); the figures are "
              f"over the {report['finished']} that finished; errors and tracebacks in {path}",
              file=sys.stderr)
        return EXIT_CRASHED
    return 0


def print_sweep(console: Console, report: dict[str, Any]) -> None:
    """Per parent order: one row per seed, then the means and their 95% intervals."""
    console.print(f"scenario      {report['scenario']}  {report['file']}", markup=False,
                  soft_wrap=True)
    failed = {f["seed"]: f for f in report["failed"]}
    state = f"; {report['finished']} finished, {len(failed)} failed" if failed else ""
    console.print(f"runs          {len(report['seeds'])}: {report['seed_rule']}, backend "
                  f"{report['backend']}{state}", markup=False, soft_wrap=True)
    runs = {run["seed"]: run for run in report["runs"]}
    over = f"the {report['finished']} finished seeds" if failed else "seeds"
    for parent, means in report["parent_orders"].items():
        console.print()
        console.print(f"{parent}: per seed, then the mean over {over} and its 95% t-interval",
                      markup=False, soft_wrap=True)
        table = make_table(["seed", "sha256", "events", "fill rate", "IS bps",
                            "VWAP slip bps", "regret bps"], text_columns=2)
        for seed in report["seeds"]:
            if seed in failed:
                table.add_row(str(seed), "failed", "-", *("-" for _ in FIGURES))
                continue
            run = runs[seed]
            f = run["parent_orders"][parent]
            table.add_row(str(seed), run["digest"][:16], f"{run['events']:,}",
                          percent(f["fill_rate"]),
                          *(signed(f[k]) for k in FIGURES[1:]))
        table.add_section()
        table.add_row("mean", "", "", percent(means["fill_rate"]["mean"]),
                      *(signed(means[k]["mean"]) for k in FIGURES[1:]))
        table.add_row("95% CI", "", "", _interval(means["fill_rate"]["ci95"], percent=True),
                      *(_interval(means[k]["ci95"]) for k in FIGURES[1:]))
        console.print(table)
    for seed, failure in failed.items():
        console.print(f"failed        seed {seed}: {failure['error']}", markup=False,
                      soft_wrap=True)


def _interval(bounds: Sequence[float] | None, percent: bool = False) -> str:
    if not bounds:
        return "-"
    if percent:
        return f"{bounds[0]:.1%}..{bounds[1]:.1%}"
    return f"{bounds[0]:+.2f}..{bounds[1]:+.2f}"
