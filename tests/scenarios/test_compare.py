"""scenarios.compare and `sorsim compare`: the same scenario per router over the same seeds,
means with t-intervals, the best router and paired differences, compare.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import main
from scenarios.compare import compare, parse_routers
from scenarios.loader import parse_scenario, run_scenario
from scenarios.statistics import mean_interval

IS = "implementation_shortfall_bps"


@pytest.fixture(scope="module")
def comparison(tiny_text: str) -> dict[str, Any]:
    return compare(tiny_text, "tiny.toml", ["ucb1", "lit-only"], [5, 6], workers=1)


def test_compare_runs_every_router_on_every_seed(comparison: dict[str, Any],
                                                 tiny_text: str) -> None:
    runs = comparison["runs"]
    assert [(r["router"], r["seed"]) for r in runs] == [
        ("ucb1", 5), ("ucb1", 6), ("lit-only", 5), ("lit-only", 6)]
    assert len({r["digest"] for r in runs}) == 4
    # The file's own router is the file's run: same digest as a plain run of that seed.
    plain = run_scenario(parse_scenario(tiny_text, "tiny.toml"), seed=6)
    assert runs[1]["digest"] == plain.digest
    assert runs[1]["parent_orders"]["SOR"][IS] == plain.tca["SOR"].implementation_shortfall_bps
    # lit-only routes to the lit venues alone; UCB1 explores the dark pool and the dealer.
    assert set(runs[2]["parent_orders"]["SOR"]["venues"]) <= {"LIT1", "LIT2", "LIT3"}
    assert {"DARK1", "SDP1"} <= set(runs[0]["parent_orders"]["SOR"]["venues"])
    assert comparison["routers"] == {"ucb1": {"params": "file"},
                                     "lit-only": {"params": "defaults"}}
    assert comparison["seeds"] == [5, 6]


def test_compare_means_intervals_best_and_paired_differences(comparison: dict[str, Any]) -> None:
    runs = comparison["runs"]
    table = comparison["parent_orders"]["SOR"]
    shortfall = {r: [run["parent_orders"]["SOR"][IS] for run in runs if run["router"] == r]
                 for r in ("ucb1", "lit-only")}
    for router, values in shortfall.items():
        assert table[router][IS] == mean_interval(values).as_dict()
        assert table[router]["fill_rate"]["mean"] == pytest.approx(
            sum(run["parent_orders"]["SOR"]["fill_rate"] for run in runs
                if run["router"] == router) / 2)
    best = min(shortfall, key=lambda r: sum(shortfall[r]))
    other = "lit-only" if best == "ucb1" else "ucb1"
    assert comparison["best"] == {"SOR": best}
    assert table[best]["shortfall_minus_best_bps"] is None
    paired = table[other]["shortfall_minus_best_bps"]
    differences = [a - b for a, b in zip(shortfall[other], shortfall[best])]
    assert paired == mean_interval(differences).as_dict()
    assert paired["mean"] > 0


def test_cli_compare_writes_compare_json_and_states_the_seeds(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert main(["compare", str(tiny_file), "--routers", "ucb1,lit-only", "--seeds", "2",
                 "--seed", "5", "--jobs", "1", "--out", str(out)]) == 0
    report = json.loads((out / "compare.json").read_text())
    assert report["seeds"] == [5, 6] and report["seed_rule"] == "seeds 5..6 (--seed 5 and the next 1)"
    printed = capsys.readouterr().out
    assert "seeds 5..6 (--seed 5 and the next 1)" in printed
    assert f"{report['best']['SOR']} *" in printed
    for router in ("ucb1", "lit-only"):
        mean = report["parent_orders"]["SOR"][router][IS]["mean"]
        row = next(line for line in printed.splitlines() if line.startswith(f" {router}"))
        assert f"{mean:+.2f}" in row
    assert f"written       {out / 'compare.json'}" in printed


def test_cli_compare_default_seeds_follow_the_files_seed(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compare", str(tiny_file), "--routers", "lit-only", "--seeds", "1",
                 "--out", str(tmp_path), "--quiet"]) == 0
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["seeds"] == [5] and report["seed_rule"] == "seed 5 (the file's seed)"
    assert report["parent_orders"]["SOR"]["lit-only"][IS]["ci95"] is None  # one seed
    assert "-" in capsys.readouterr().out


def test_cli_compare_bad_router_exits_2_before_any_run(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compare", str(tiny_file), "--routers", "ucb1,nope", "--seeds", "2",
                 "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"{tiny_file}: parent_orders[0].allocator.type: unknown allocator "
                            "'nope'")
    assert not (tmp_path / "compare.json").exists()


@pytest.mark.parametrize("text, problem", [
    ("ucb1,,lit-only", "expected comma-separated allocator keys"),
    ("ucb1,lit-only,ucb1", "ucb1 named twice"),
])
def test_parse_routers_rejects_empty_and_repeated_names(text: str, problem: str) -> None:
    assert parse_routers("ucb1, d-ucb ,my.mod:Mine") == ["ucb1", "d-ucb", "my.mod:Mine"]
    with pytest.raises(ValueError, match=problem):
        parse_routers(text)
