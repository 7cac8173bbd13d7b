"""scenarios.progress and `run_scenario(on_time=...)`: the bar follows simulated time from a
timer on the run's clock, and the event log is the same with it on or off."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from scenarios.loader import load_scenario, run_scenario
from scenarios.progress import RunsProgress, SimulatedTimeProgress
from scenarios.run import run_file

S = 1_000_000_000


def test_on_time_ticks_every_interval_of_simulated_time_and_leaves_the_digest(
    tiny_file: Path,
) -> None:
    scenario = load_scenario(tiny_file)
    plain = run_scenario(scenario)
    seen: list[int] = []
    ticked = run_scenario(scenario, on_time=seen.append, every_ns=S // 2)
    assert ticked.digest == plain.digest
    assert seen == [k * S // 2 for k in range(1, 40)]  # 0.5 s .. 19.5 s: the run stops at 20
    assert ticked.tca["SOR"].as_dict() == plain.tca["SOR"].as_dict()


def test_on_time_default_interval_is_a_500th_of_the_run_up_to_the_end(tiny_file: Path) -> None:
    seen: list[int] = []
    run_scenario(load_scenario(tiny_file), on_time=seen.append)
    assert seen[:2] == [20 * S // 500, 2 * 20 * S // 500] and len(seen) == 499


def test_run_file_on_a_terminal_draws_the_bar_in_simulated_time(tiny_file: Path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    assert run_file(str(tiny_file), seed=None, out=None, console=console) == 0
    out = buffer.getvalue()
    assert "tiny seed 5" in out and "of 20.0 s" in out
    digest = run_scenario(load_scenario(tiny_file)).digest
    assert f"sha256 {digest}" in out  # the run with the bar has the plain run's digest


def test_progress_off_when_not_a_terminal_or_quiet(tiny_file: Path) -> None:
    plain = Console(file=io.StringIO(), width=100)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    assert not SimulatedTimeProgress(plain, "x", 0, S).enabled
    assert not SimulatedTimeProgress(terminal, "x", 0, S, enabled=False).enabled
    assert SimulatedTimeProgress(terminal, "x", 0, S).enabled
    assert not RunsProgress(plain, "x", 3).enabled
    buffer = io.StringIO()
    quiet = Console(file=buffer, force_terminal=True, width=100)
    assert run_file(str(tiny_file), seed=None, out=None, console=quiet, progress=False) == 0
    assert "of 20.0 s" not in buffer.getvalue() and "Parent orders" in buffer.getvalue()


def test_simulated_time_progress_label_counts_from_the_start() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with SimulatedTimeProgress(console, "run", 10 * S, 30 * S) as bar:
        bar.update(15 * S)
        assert bar.updates == 1
        assert bar._label(15 * S) == "simulated 5.0 of 20.0 s"
