"""`sorsim run FILE`: one scenario run with a progress bar in simulated time, its summary
tables, and with `--out DIR` its files: `events.jsonl`, `tca.json` and `report.html`.

Exit status: 0 the run finished; `EXIT_INVALID` (2) the file is bad and nothing ran;
`EXIT_CRASHED` (3) the run stopped (a plug-in raised, the simulation stalled): the
plug-in's traceback, then one line saying who raised what, where and at what simulated
time, and where the log up to that moment is (a crash's log is its bug report: `sorsim
replay` reproduces it); `EXIT_INTERRUPTED` (130) Ctrl-C, the log kept up to there.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from rich.console import Console

from market.errors import HandlerFailed, SimulationError
from scenarios.loader import ScenarioResult, load_scenario, run_scenario
from scenarios.progress import SimulatedTimeProgress
from scenarios.schema import ScenarioError
from scenarios.summary import print_summary

__all__ = ["EXIT_CRASHED", "EXIT_INTERRUPTED", "EXIT_INVALID", "run_file", "write_reports"]

EXIT_INVALID = 2  # a bad scenario file: nothing ran
EXIT_CRASHED = 3  # the run stopped: a plug-in raised, the simulation stalled
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it)


def run_file(file: str, *, seed: int | None, out: str | None, console: Console,
             progress: bool = True) -> int:
    """Validate, run with the bar (unless `progress` is off or the console is no
    terminal), write the reports, print the summary; the exit status."""
    try:
        scenario = load_scenario(file)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    label = f"{scenario.name} seed {scenario.seed if seed is None else seed}"
    log = f"; the event log up to then is {Path(out) / 'events.jsonl'}" if out else ""
    try:
        with SimulatedTimeProgress(console, label, scenario.start_ns, scenario.end_ns,
                                   enabled=progress) as bar:
            result = run_scenario(scenario, seed=seed, out_dir=out,
                                  on_time=bar.update if bar.enabled else None)
            bar.update(scenario.end_ns)
    except ScenarioError as error:  # a plug-in that fails only when the run builds it
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except SimulationError as error:
        cause = error.error if isinstance(error, HandlerFailed) else error
        traceback.print_exception(cause, file=sys.stderr)
        print(f"{file}: {label}: the run stopped: {error}{log}"
              + (" (sorsim replay reproduces it)" if log else ""), file=sys.stderr)
        return EXIT_CRASHED
    except KeyboardInterrupt:
        print(f"{file}: {label}: interrupted{log}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_summary(console, result, write_reports(result))
    return 0


def write_reports(result: ScenarioResult) -> list[Path]:
    """Write the reports of a finished run into `result.out_dir` (when set) and return
    their paths, which the summary lists: `report.html`, a self-contained page."""
    if result.out_dir is None:
        return []
    from scenarios.report import write_report

    path = result.out_dir / "report.html"
    write_report(path, title=f"{result.scenario.name} (seed {result.seed})",
                 events=result.events, tcas=result.tca,
                 regime_shifts=result.regime_shifts(),
                 price_increment=result.scenario.market.price_increment,
                 meta={"scenario": result.scenario.name, "seed": result.seed,
                       "sha256": result.digest})
    return [path]
