"""scenarios.compare and `sorsim compare`: the same scenario per router over the same seeds,
means with t-intervals, the best router and paired differences, compare.json; a run that
crashes loses no other run's figures and pairs no seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import main
from scenarios.compare import compare, parse_routers
from scenarios.loader import LIBRARY, parse_scenario, run_scenario
from scenarios.routing_quality import run_routing
from scenarios.statistics import mean_interval
from seed_crashing_allocator import KEY, crash_on

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
    assert comparison["routers"] == {"ucb1": {"params": "file", "finished": 2},
                                     "lit-only": {"params": "defaults", "finished": 2}}
    assert comparison["seeds"] == [5, 6] and comparison["failed"] == []


def test_compare_static_baseline_and_given_parameters_say_so_in_the_table(
    tiny_text: str,
) -> None:
    routers = ["ucb1", "fixed-even", 'ucb1:{"c": 0.2}']
    report = compare(tiny_text, "tiny.toml", routers, [5], workers=1)
    assert {r: v["params"] for r, v in report["routers"].items()} == {
        "ucb1": "file", "fixed-even": "baseline", 'ucb1:{"c": 0.2}': "given"}
    own, even, given = report["runs"]
    assert len({own["digest"], even["digest"], given["digest"]}) == 3
    # Fixed even weights send to every venue of the router, the dark pool and dealer too.
    assert set(even["parent_orders"]["SOR"]["venues"]) == {"LIT1", "LIT2", "LIT3", "DARK1",
                                                           "SDP1"}


def test_compare_with_a_baseline_name_runs_what_the_routing_quality_tests_run() -> None:
    path = LIBRARY / "fee_change.toml"
    report = compare(path.read_text(), str(path), ["pro-rata-at-nbbo"], [1], workers=1)
    [run] = report["runs"]
    assert run["parent_orders"]["SOR"][IS] == \
        run_routing("fee_change", "pro-rata-at-nbbo", 1).shortfall_bps


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
    assert report["seeds"] == [5, 6]
    assert report["seed_rule"] == "seeds 5..6 (--seed 5 and the next 1)"
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


def test_cli_compare_with_a_crashing_run_keeps_the_others_pairs_only_both_and_exits_3(
    tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # The file's router (KEY) crashes on seed 6; ucb1 finishes every seed.
    file = tmp_path / "flaky.toml"
    file.write_text(crash_on(tiny_text, 6))
    out = tmp_path / "out"
    assert main(["compare", str(file), "--routers", f"{KEY},ucb1", "--seeds", "3", "--jobs", "2",
                 "--out", str(out), "--quiet"]) == 3
    report = json.loads((out / "compare.json").read_text())
    assert [(r["router"], r["seed"]) for r in report["runs"]] == [
        (KEY, 5), (KEY, 7), ("ucb1", 5), ("ucb1", 6), ("ucb1", 7)]
    [failure] = report["failed"]
    assert (failure["router"], failure["seed"]) == (KEY, 6)
    assert failure["error"].startswith("HandlerFailed: agent 'SOR' raised RuntimeError: crash on "
                                       "seed 6")
    assert "at 1.000000 s (t_ns=1000000000)" in failure["error"]
    assert report["routers"] == {KEY: {"params": "file", "finished": 2},
                                 "ucb1": {"params": "defaults", "finished": 3}}
    shortfall = {(r["router"], r["seed"]): r["parent_orders"]["SOR"][IS] for r in report["runs"]}
    table = report["parent_orders"]["SOR"]
    assert table[KEY][IS] == mean_interval([shortfall[KEY, 5], shortfall[KEY, 7]]).as_dict()
    assert table["ucb1"][IS]["n"] == 3
    best = report["best"]["SOR"]
    other = "ucb1" if best == KEY else KEY
    paired = table[other]["shortfall_minus_best_bps"]
    assert paired == mean_interval(shortfall[other, s] - shortfall[best, s]
                                   for s in (5, 7)).as_dict()  # not seed 6: one side failed
    assert paired["n"] == 2
    printed = capsys.readouterr()
    assert printed.err == (f"sorsim compare: 1 of 6 runs failed ({KEY} seed 6); the figures are "
                           f"over the runs that finished; errors and tracebacks in "
                           f"{out / 'compare.json'}\n")
    lines = printed.out.splitlines()
    assert "backend process; 5 finished, 1 failed" in lines[1]
    # The long router name folds onto a second line; the figures are not cut.
    assert "2/3" in next(line for line in lines if line.startswith(f" {KEY[:20]}")).split()
    assert "3/3" in next(line for line in lines if line.startswith(" ucb1")).split()
    assert f"failed        {KEY} seed 6: {failure['error']}" in lines


def test_cli_compare_without_parent_orders_exits_2_before_any_run(
    tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(tiny_text.split("[[parent_orders]]")[0])

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    monkeypatch.setattr("scenarios.compare.fan_out_all", no_run)
    assert main(["compare", str(bare), "--routers", "ucb1,lit-only", "--seeds", "2",
                 "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == \
        f"{bare}: parent_orders: compare needs at least one parent order\n"
    assert not (tmp_path / "compare.json").exists()


@pytest.mark.parametrize("text, problem", [
    ("ucb1,,lit-only", "expected comma-separated allocator keys"),
    ("ucb1,", "expected comma-separated allocator keys"),
    ("ucb1,lit-only,ucb1", "ucb1 named twice"),
])
def test_parse_routers_rejects_empty_and_repeated_names(text: str, problem: str) -> None:
    assert parse_routers("ucb1, d-ucb ,my.mod:Mine") == ["ucb1", "d-ucb", "my.mod:Mine"]
    assert parse_routers('fixed-even,d-ucb:{"gamma": 0.7, "c": [1, 2]},ucb1') == [
        "fixed-even", 'd-ucb:{"gamma": 0.7, "c": [1, 2]}', "ucb1"]
    with pytest.raises(ValueError, match=problem):
        parse_routers(text)
