"""scenarios.sweep, `sorsim sweep` and the Ray backend: one scenario over seeds gives the same
per-seed results (digest and figures) on a local Ray instance, in a process pool and in a
plain run in this process; a seed whose run crashes loses no other seed's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.fan_out import FanOutError, RunJob, fan_out
from scenarios.loader import parse_scenario, run_scenario
from scenarios.statistics import mean_interval
from scenarios.summary import run_figures
from scenarios.sweep import sweep
from seed_crashing_allocator import crash_on

IS = "implementation_shortfall_bps"


def test_sweep_on_ray_equals_the_process_pool_and_plain_runs(
    tiny_text: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ray extra is part of `make test`'s install: no skip. What run_on_ray sets before
    # it first imports Ray, set here so that the test leaves the environment as it was.
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    if "ray" not in sys.modules:
        monkeypatch.setenv("RAY_AUTH_MODE", "token")
    seeds = [5, 11]
    done: list[None] = []
    on_ray = sweep(tiny_text, "tiny.toml", seeds, backend="ray", workers=2,
                   on_done=lambda: done.append(None))
    import ray

    assert not ray.is_initialized()  # the local instance it started is shut down
    assert len(done) == 2
    pooled = sweep(tiny_text, "tiny.toml", seeds, backend="process", workers=2)
    plain = [run_figures(run_scenario(parse_scenario(tiny_text, "tiny.toml"), seed=seed))
             for seed in seeds]
    assert on_ray["runs"] == pooled["runs"] == plain
    assert on_ray["parent_orders"] == pooled["parent_orders"]
    assert (on_ray["backend"], pooled["backend"]) == ("ray", "process")


def test_sweep_means_are_over_the_seeds(tiny_text: str) -> None:
    report = sweep(tiny_text, "tiny.toml", [5, 6, 7], workers=1, seed_rule="rule")
    assert [run["seed"] for run in report["runs"]] == [5, 6, 7]
    assert len({run["digest"] for run in report["runs"]}) == 3
    shortfall = [run["parent_orders"]["SOR"]["implementation_shortfall_bps"]
                 for run in report["runs"]]
    assert report["parent_orders"]["SOR"]["implementation_shortfall_bps"] == \
        mean_interval(shortfall).as_dict()
    assert report["seed_rule"] == "rule" and report["scenario"] == "tiny"
    assert report["finished"] == 3 and report["failed"] == []


def test_cli_sweep_writes_sweep_json_with_each_seeds_run_digest(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(tiny_file), "--seeds", "2", "--jobs", "1", "--out", str(out)]) == 0
    report = json.loads((out / "sweep.json").read_text())
    assert report["seeds"] == [5, 6]
    assert report["seed_rule"] == "seeds 5..6 (the file's seed 5 and the next 1)"
    printed = capsys.readouterr().out
    scenario = parse_scenario(tiny_file.read_text(), str(tiny_file))
    for run in report["runs"]:
        # Each seed's digest is the one `sorsim run FILE --seed S` gives.
        assert run["digest"] == run_scenario(scenario, seed=run["seed"]).digest
        assert f" {run['seed']} " in printed and run["digest"][:16] in printed
    assert "95% CI" in printed and f"written       {out / 'sweep.json'}" in printed


def test_ray_backend_without_ray_says_how_to_install_it(
    tiny_text: str, tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(FanOutError, match=r"needs Ray, an optional extra: pip install "
                                          r"'sorsim\[ray\]'"):
        fan_out([RunJob(tiny_text, "tiny.toml", 5)], backend="ray")
    with pytest.raises(SystemExit) as usage:  # a usage error: argparse's exit 2
        main(["sweep", str(tiny_file), "--seeds", "1", "--backend", "ray",
              "--out", str(tmp_path)])
    assert usage.value.code == 2
    assert "pip install 'sorsim[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "sweep.json").exists()


def test_cli_sweep_bad_file_exits_2_and_address_needs_ray(
    tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("duration_s = 0\n")
    assert main(["sweep", str(bad), "--seeds", "2", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}: duration_s:")
    with pytest.raises(SystemExit) as usage:
        main(["sweep", str(tiny_file), "--seeds", "1", "--address", "10.0.0.1:6379",
              "--out", str(tmp_path)])
    assert usage.value.code == 2
    assert "use it with --backend ray" in capsys.readouterr().err


def test_cli_sweep_with_a_crashing_seed_keeps_the_others_records_it_and_exits_3(
    tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    file = tmp_path / "flaky.toml"
    file.write_text(crash_on(tiny_text, 6))
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert main(["sweep", str(file), "--seeds", "3", "--jobs", jobs, "--out", str(out),
                     "--quiet"]) == 3
        reports.append(json.loads((out / "sweep.json").read_text()))
        printed = capsys.readouterr()
        assert printed.err == (f"sorsim sweep: 1 of 3 runs failed (seed 6); the figures are "
                               f"over the 2 that finished; errors and tracebacks in "
                               f"{out / 'sweep.json'}\n")
    report = reports[0]
    assert reports[1] == report  # the same report whatever the number of workers
    assert report["seeds"] == [5, 6, 7] and report["finished"] == 2
    assert [run["seed"] for run in report["runs"]] == [5, 7]
    [failure] = report["failed"]
    assert failure["seed"] == 6
    assert failure["error"].startswith("HandlerFailed: agent 'SOR' raised RuntimeError: crash on "
                                       "seed 6 in SeedCrashingLitOnly.choose")
    assert failure["error"].endswith("at 1.000000 s (t_ns=1000000000)")
    assert "RuntimeError: crash on seed 6" in failure["traceback"]
    means = report["parent_orders"]["SOR"]
    assert means[IS] == mean_interval(run["parent_orders"]["SOR"][IS]
                                      for run in report["runs"]).as_dict()
    assert means["fill_rate"]["n"] == 2
    lines = printed.out.splitlines()
    assert "backend process; 2 finished, 1 failed" in lines[1]
    assert "mean over the 2 finished seeds" in printed.out
    assert next(line for line in lines if line.startswith(" 6 ")).split()[:3] == \
        ["6", "failed", "-"]
    assert f"failed        seed 6: {failure['error']}" in lines


def test_cli_sweep_without_parent_orders_exits_2_before_any_run(
    tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(tiny_text.split("[[parent_orders]]")[0])

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    monkeypatch.setattr("scenarios.sweep.fan_out_all", no_run)
    assert main(["sweep", str(bare), "--seeds", "2", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == \
        f"{bare}: parent_orders: sweep needs at least one parent order\n"
    assert not (tmp_path / "sweep.json").exists()
