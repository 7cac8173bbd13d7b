"""`sorsim run` when the run itself fails: what it prints, what it keeps, its exit status."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from scenarios.cli import main
from scenarios.run import EXIT_CRASHED, run_file
from crashing_agent import CRASH_FLAG, CRASHER



@pytest.fixture
def crasher_file(tiny_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny scenario with a plug-in that raises at 7.5 s (the flag is set)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # crashing_agent
    monkeypatch.setenv(CRASH_FLAG, "1")
    path = tmp_path / "crasher.toml"
    path.write_text(tiny_text + CRASHER)
    return path


def test_run_crash_names_the_plug_in_hook_and_time_and_keeps_the_log(
    crasher_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert main(["run", str(crasher_file), "--out", str(out), "--quiet"]) == EXIT_CRASHED == 3
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{crasher_file}: tiny seed ")
    assert "the run stopped: agent 'crasher-0' raised RuntimeError: SORSIM_TEST_CRASH is set" \
        in last
    assert "in CrashingAgent.run (" in last and "crashing_agent.py:" in last
    assert "at 7.500000 s" in last
    assert f"the event log up to then is {out / 'events.jsonl'}" in last
    assert 'raise RuntimeError(f"{CRASH_FLAG} is set")' in err  # the plug-in's own frame
    lines = (out / "events.jsonl").read_bytes().splitlines()
    assert orjson.loads(lines[-1])["trailer"]["events"] == len(lines) - 2
    assert max(orjson.loads(line)["t"] for line in lines[1:-1]) <= 7_500_000_000


def test_run_into_a_directory_of_an_earlier_run_leaves_no_stale_report(
    tiny_file: Path, crasher_file: Path, tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    quiet = Console(file=io.StringIO())
    assert run_file(str(tiny_file), seed=None, out=str(out), console=quiet) == 0
    assert (out / "tca.json").exists() and (out / "report.html").exists()
    assert run_file(str(crasher_file), seed=None, out=str(out), console=quiet) == EXIT_CRASHED
    assert sorted(p.name for p in out.iterdir()) == ["events.jsonl"]
