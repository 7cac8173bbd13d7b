"""scenarios.sweep, `sorsim sweep` and the Ray backend: one scenario over seeds gives the same
per-seed results (digest and figures) on a local Ray instance, in a process pool and in a
plain run in this process."""

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
