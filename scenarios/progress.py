"""Progress bars for the CLI: a run's progress in simulated time, a fan-out's in runs done.

`SimulatedTimeProgress` is driven by the run's own clock (`run_scenario(on_time=...)`, a
periodic timer on the virtual loop): it never reads the wall clock itself and sends no
message, so the event log is the same with the bar on or off. rich redraws the bar from its
own thread (its elapsed-time column is rich's); our code only sets the simulated time.

Both are off (every call a no-op) when the console is not a terminal (a pipe, a CI log, a
test) or when asked to be quiet, so output meant for logs stays plain.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["RunsProgress", "SimulatedTimeProgress"]

NS_PER_S = 1_000_000_000


class _Bar:
    """What both bars share: a rich `Progress` (None when off), shown inside `with`."""

    _progress: Progress | None = None

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


class SimulatedTimeProgress(_Bar):
    """A bar from `start_ns` to `end_ns` of simulated time; `update(now_ns)` moves it."""

    def __init__(self, console: Console, label: str, start_ns: int, end_ns: int, *,
                 enabled: bool = True) -> None:
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.enabled = enabled and console.is_terminal
        self.updates = 0  # how many times the clock moved the bar (tests read it)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.fields[simulated]}"), TimeElapsedColumn(),
                console=console, transient=True)
            self._task = self._progress.add_task(label, total=(end_ns - start_ns) / NS_PER_S,
                                                 simulated=self._label(start_ns))

    def update(self, now_ns: int) -> None:
        """The run's clock is at `now_ns` (the `on_time` callback of `run_scenario`)."""
        self.updates += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=(now_ns - self.start_ns) / NS_PER_S,
                                  simulated=self._label(now_ns))

    def _label(self, now_ns: int) -> str:
        return (f"simulated {(now_ns - self.start_ns) / NS_PER_S:,.1f} of "
                f"{(self.end_ns - self.start_ns) / NS_PER_S:,.1f} s")


class RunsProgress(_Bar):
    """A bar of runs done out of `total` (compare, sweep, regress)."""

    def __init__(self, console: Console, label: str, total: int, *, enabled: bool = True) -> None:
        self.enabled = enabled and console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if self.enabled:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TextColumn("runs"),
                                      TimeElapsedColumn(), console=console, transient=True)
            self._task = self._progress.add_task(label, total=total)

    def advance(self) -> None:
        """One more run finished."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
