"""`sorsim sweep FILE --seeds N [--backend process|ray] [--address ADDR]`: one scenario over
many seeds, fanned out on a local process pool or on Ray, with identical per-seed results
on every backend.

Each seed's result is `scenarios.summary.run_figures` of its run: the digest (the same as
`sorsim run FILE --seed S` prints, so any seed can be rerun on its own and checked) and the
figures per parent order. Across the seeds, per parent order: mean fill rate, shortfall,
VWAP slippage and regret with their 95% t-intervals. `sweep.json` holds the seeds and how
they were chosen, every seed's result and the means.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.fan_out import FanOutError, RunJob, fan_out, read_seeded_file
from scenarios.loader import parse_scenario
from scenarios.progress import RunsProgress
from scenarios.run import EXIT_INVALID
from scenarios.schema import ScenarioError
from scenarios.statistics import mean_interval
from scenarios.summary import make_table, percent, signed, write_and_print

__all__ = ["FIGURES", "print_sweep", "sweep", "sweep_file"]

FIGURES = ("fill_rate", "implementation_shortfall_bps", "vwap_slippage_bps", "regret_bps")


def sweep(text: str, file: str, seeds: Sequence[int], *, seed_rule: str = "",
          backend: str = "process", workers: int | None = None, address: str | None = None,
          on_done: Callable[[], object] | None = None) -> dict[str, Any]:
    """Run the scenario once per seed; the sweep (the shape of `sweep.json`). A bad file
    raises `ScenarioError` before any run."""
    scenario = parse_scenario(text, file)
    runs = fan_out([RunJob(text, file, seed) for seed in seeds], backend=backend,
                   workers=workers, address=address, on_done=on_done)
    means = {order.name: {f: mean_interval(run["parent_orders"][order.name][f] for run in runs)
                          .as_dict() for f in FIGURES}
             for order in scenario.parent_orders}
    return {"scenario": scenario.name, "file": file, "seeds": list(seeds),
            "seed_rule": seed_rule, "backend": backend, "parent_orders": means, "runs": runs}


def sweep_file(file: str, *, seeds: int, seed: int | None, out: str, backend: str,
               workers: int | None, address: str | None, console: Console,
               progress: bool = True) -> int:
    """`sorsim sweep`: the exit status (2 for a bad file, 1 for a failed run or backend)."""
    try:
        text, chosen, rule = read_seeded_file(file, seeds, seed)
    except (ScenarioError, ValueError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    try:
        with RunsProgress(console, f"sweep on {backend}", len(chosen), enabled=progress) as bar:
            report = sweep(text, file, chosen, seed_rule=rule, backend=backend,
                           workers=workers, address=address, on_done=bar.advance)
    except FanOutError as error:
        print(f"sorsim sweep: {error}", file=sys.stderr)
        return 1
    write_and_print(console, report, Path(out) / "sweep.json", print_sweep)
    return 0


def print_sweep(console: Console, report: dict[str, Any]) -> None:
    """Per parent order: one row per seed, then the means and their 95% intervals."""
    console.print(f"scenario      {report['scenario']}  {report['file']}", markup=False,
                  soft_wrap=True)
    console.print(f"runs          {len(report['runs'])}: {report['seed_rule']}, backend "
                  f"{report['backend']}", markup=False, soft_wrap=True)
    for parent, means in report["parent_orders"].items():
        console.print()
        console.print(f"{parent}: per seed, then the mean over seeds and its 95% t-interval",
                      markup=False, soft_wrap=True)
        table = make_table(["seed", "sha256", "events", "fill rate", "IS bps",
                            "VWAP slip bps", "regret bps"], text_columns=2)
        for run in report["runs"]:
            f = run["parent_orders"][parent]
            table.add_row(str(run["seed"]), run["digest"][:16], f"{run['events']:,}",
                          percent(f["fill_rate"]),
                          *(signed(f[k]) for k in FIGURES[1:]))
        table.add_section()
        table.add_row("mean", "", "", percent(means["fill_rate"]["mean"]),
                      *(signed(means[k]["mean"]) for k in FIGURES[1:]))
        table.add_row("95% CI", "", "", _interval(means["fill_rate"]["ci95"], percent=True),
                      *(_interval(means[k]["ci95"]) for k in FIGURES[1:]))
        console.print(table)


def _interval(bounds: Sequence[float] | None, percent: bool = False) -> str:
    if not bounds:
        return "-"
    if percent:
        return f"{bounds[0]:.1%}..{bounds[1]:.1%}"
    return f"{bounds[0]:+.2f}..{bounds[1]:+.2f}"
