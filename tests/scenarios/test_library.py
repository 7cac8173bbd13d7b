"""The scenario library (scenarios/library/*.toml and scenarios/default.toml), the loader's
runs and the `sorsim validate` / `sorsim run` commands: every file validates and runs with
its fixed seed, each regime shift takes effect at its stated time (checked on venue and
agent attributes and on the event log after `at_s`), the same seed gives the same digest,
and a bad file stops before any run. Also the command line's usage errors (every command's):
argparse's message naming the option, exit 2, nothing run or written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.market_maker import MarketMaker
from market.event_log import read_event_log
from scenarios import cli
from scenarios.cli import main
from scenarios.loader import (
    DEFAULT_SCENARIO,
    LIBRARY,
    ScenarioResult,
    load_scenario,
    parse_scenario,
    run_scenario,
)

S = 1_000_000_000
MS = 1_000_000
FILES = sorted(LIBRARY.glob("*.toml")) + [DEFAULT_SCENARIO]
EXPECTED = {"calm", "volatility_spike", "dark_pool_dries_up", "dark_pool_turns_toxic",
            "market_makers_withdraw", "fee_change", "sdp_last_look_tightening", "latency_spike"}


def _in(result: ScenarioResult, kind: str, venue: str | None = None) -> list[dict[str, Any]]:
    """Messages of type `kind` as venues received them ("in"), optionally at one venue."""
    return [e for e in result.events if e["type"] == kind and e["event"] == "in"
            and (venue is None or e["at"] == venue)]


def _out(result: ScenarioResult, kind: str, venue: str) -> list[dict[str, Any]]:
    return [e for e in result.events if e["type"] == kind and e["event"] == "out"
            and e["at"] == venue]


def _by(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [e for e in events if e["msg"]["participant"].startswith(prefix)]


# --- what each library file's shifts must do ---------------------------------------------------


def _check_calm(result: ScenarioResult) -> None:
    assert result.shifts() == []
    assert result.tca["SOR"].fill_rate >= 0.9


def _check_dark_pool_dries_up(result: ScenarioResult) -> None:
    orders = _by(_in(result, "NewOrder", "DARK1"), "dark1_providers-")
    assert any(e["t"] < 60 * S for e in orders)
    assert not [e for e in orders if e["msg"]["t_ns"] >= 60 * S]  # none sent after the shift
    cancels = _by(_in(result, "CancelOrder", "DARK1"), "dark1_providers-")
    assert [e for e in cancels if 60 * S <= e["t"] < 60 * S + 10 * MS]  # pulled at once
    prints = _out(result, "TradePrint", "DARK1")
    assert [e for e in prints if e["t"] < 60 * S]
    assert not [e for e in prints if e["t"] > 61 * S]  # dry: nobody rests there any more
    assert result.market.dark_pools["DARK2"].trades > 0


def _check_dark_pool_turns_toxic(result: ScenarioResult) -> None:
    feed = result.market.feed
    assert feed.subscription("DARK1").fixed_ns == 10_000 + 60 * S  # stalled reference
    assert feed.subscription("arbitrageurs-0").fixed_ns == 10_000 + 60 * S  # the pool's view
    assert feed.subscription("DARK2").fixed_ns == 10_000
    arbs = _by(_in(result, "NewOrder", "DARK1"), "arbitrageurs-")
    assert not [e for e in arbs if e["t"] < 60 * S]
    assert [e for e in arbs if e["t"] >= 60 * S]
    assert all(getattr(agent, "active") for agent in result.built.groups["arbitrageurs"])


def _check_volatility_spike(result: ScenarioResult) -> None:
    regime = result.market.volatility_regime
    assert regime is not None
    assert regime.base_volatility == 150.0
    assert regime.base_jump_intensity == pytest.approx(0.0016667)
    assert result.market.fundamental.parameters.volatility == pytest.approx(
        150.0 * regime.multiplier)
    assert result.market.dealer.tiers == ((500, 100), (2_000, 200), (5_000, 400))  # back


def _check_market_makers_withdraw(result: ScenarioResult) -> None:
    quotes = _by(_in(result, "NewOrder"), "mm")
    sent = [e["msg"]["t_ns"] for e in quotes]
    assert [t for t in sent if t < 40 * S]
    assert not [t for t in sent if 40 * S <= t < 70 * S]  # withdrawn: no quote at all
    assert [t for t in sent if t >= 70 * S]  # back
    cancels = _by(_in(result, "CancelOrder"), "mm")
    assert [e for e in cancels if e["msg"]["t_ns"] == 40 * S]  # pulled at the shift instant
    makers = result.built.groups["market_makers"]
    assert all(isinstance(m, MarketMaker) and m.quoting for m in makers)


def _check_fee_change(result: ScenarioResult) -> None:
    assert result.market.lit["LIT2"].book.taker_fee == 40
    assert result.market.lit["LIT2"].book.maker_fee == -20
    assert result.market.lit["LIT1"].book.taker_fee == 5
    assert result.regime_shifts() == [(45 * S, "venue:LIT2 maker_fee=-20, taker_fee=40"),
                                      (45 * S, "venue:LIT1 taker_fee=5")]

    def taker_fees(venue: str) -> list[tuple[int, float]]:
        return [(e["t"], e["msg"]["fee"] / e["msg"]["last_quantity"])
                for e in _out(result, "ExecutionReport", venue)
                if e["msg"]["last_quantity"] and e["msg"]["liquidity"] == "taker"]

    lit2 = taker_fees("LIT2")
    assert {f for t, f in lit2 if t < 45 * S} == {-10}
    assert {f for t, f in lit2 if t > 45 * S} == {40}
    lit1 = taker_fees("LIT1")
    assert {f for t, f in lit1 if t < 45 * S} == {30}
    assert {f for t, f in lit1 if t > 45 * S} == {5}


def _check_sdp_last_look_tightening(result: ScenarioResult) -> None:
    dealer = result.market.dealer
    assert dealer.last_look_threshold_ticks == 0
    assert dealer.last_look_hold_ns == 250 * MS
    rejects = [e["t"] for e in _out(result, "ExecutionReport", "SDP1")
               if e["msg"]["reason"] == "last_look"]
    # Before 45 s only a jump of 50 ticks within the 3 ms hold rejects (once in this run),
    # after it any adverse move within 250 ms does; both halves last 45 s.
    before = sum(t < 45 * S for t in rejects)
    assert len(rejects) - before > 2 * before, rejects


def _check_latency_spike(result: ScenarioResult) -> None:
    latencies = [(e["msg"]["t_ns"], e["t"] - e["msg"]["t_ns"])
                 for e in _in(result, "NewOrder", "LIT1")]
    during = [lag for sent, lag in latencies if 40 * S <= sent < 70 * S]
    outside = [lag for sent, lag in latencies if sent < 40 * S or sent >= 70 * S]
    assert during and min(during) >= 20 * MS
    assert outside and max(outside) < 20 * MS
    assert result.built.targets.distance_ns["LIT1"] == 0  # back to normal at the end


def _check_default(result: ScenarioResult) -> None:
    assert result.market.lit["LIT1"].book.taker_fee == 50
    regime = result.market.volatility_regime
    assert regime is not None and regime.base_volatility == 300.0


CHECKS: dict[str, Callable[[ScenarioResult], None]] = {
    "calm": _check_calm,
    "dark_pool_dries_up": _check_dark_pool_dries_up,
    "dark_pool_turns_toxic": _check_dark_pool_turns_toxic,
    "volatility_spike": _check_volatility_spike,
    "market_makers_withdraw": _check_market_makers_withdraw,
    "fee_change": _check_fee_change,
    "sdp_last_look_tightening": _check_sdp_last_look_tightening,
    "latency_spike": _check_latency_spike,
    "default": _check_default,
}


# --- the library --------------------------------------------------------------------------------


def test_library_holds_every_stress_scenario_each_with_a_header() -> None:
    assert {p.stem for p in LIBRARY.glob("*.toml")} == EXPECTED
    for path in FILES:
        text = path.read_text()
        assert text.startswith(f"# {path.name} -- "), path
        assert "Stresses:" in text.split("\n\n")[0] + text.split("\n\n")[1], path
        assert set(CHECKS) >= {path.stem}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_library_file_validates_runs_and_shifts_at_stated_times(path: Path,
                                                                tmp_path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    result = run_scenario(scenario, out_dir=tmp_path)
    # Runs, trades and routes.
    assert result.seed == scenario.seed
    for order in scenario.parent_orders:
        assert result.tca[order.name].filled > 0
    # Every timeline entry applied once, at its own time, in order.
    shifts = result.shifts()
    assert [(e["t"], e["msg"]["target"]) for e in shifts] == [
        (entry.at_ns, entry.target) for entry in scenario.timeline]
    assert [e["msg"]["changes"] for e in shifts] == [  # as logged: tuples become lists
        orjson.loads(orjson.dumps(dict(entry.changes))) for entry in scenario.timeline]
    CHECKS[path.stem](result)
    # The files: the event log (header + digest trailer) and the TCA.
    header, events, trailer = read_event_log(tmp_path / "events.jsonl")
    assert header["scenario"] == scenario.name and header["seed"] == scenario.seed
    assert trailer is not None and trailer["sha256"] == result.digest
    assert len(events) == result.event_count
    tca = json.loads((tmp_path / "tca.json").read_text())
    assert tca["digest"] == result.digest
    assert set(tca["parent_orders"]) == {o.name for o in scenario.parent_orders}


def test_library_same_seed_same_digest_other_seed_other_digest() -> None:
    scenario = load_scenario(LIBRARY / "market_makers_withdraw.toml")
    first = run_scenario(scenario)
    second = run_scenario(scenario)
    assert first.digest == second.digest
    assert first.tca["SOR"].as_dict() == second.tca["SOR"].as_dict()
    other = run_scenario(scenario, seed=scenario.seed + 1)
    assert other.seed == scenario.seed + 1 and other.digest != first.digest


# --- runs the library does not cover --------------------------------------------------------------


SMALL = """
duration_s = 20
start_s = START

[[agents]]
name = "noise"
type = "noise"
count = 10
rate = 1.0

[[agents]]
name = "market_makers"
type = "market-maker"
count = 1
"""


def test_loader_run_starting_after_zero_keeps_times_absolute() -> None:
    text = SMALL.replace("START", "10") + """
[[parent_orders]]
side = "sell"
quantity = 1_000
start_s = 12
allocator = "ucb1"

[[timeline]]
at_s = 15
target = "venue:LIT3"
set = { maker_fee = 1 }
"""
    scenario = parse_scenario(text, "late.toml")
    assert (scenario.start_ns, scenario.end_ns) == (10 * S, 30 * S)
    assert scenario.parent_orders[0].parent.end_ns == 30 * S
    result = run_scenario(scenario)
    assert [e["t"] for e in result.shifts()] == [15 * S]
    assert min(e["t"] for e in result.events) >= 10 * S
    assert result.market.lit["LIT3"].book.maker_fee == 1


def test_loader_plugin_agent_and_allocator_by_module_path_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "library_plugins.py").write_text(
        "from agents.agent import Agent\n"
        "from market.messages import Side\n"
        "from router.allocators.static import ProRataDisplayed\n"
        "class Pinger(Agent):\n"
        "    TIMELINE_PARAMETERS = ('size',)\n"
        "    def __init__(self, name, *, venue, size=100):\n"
        "        super().__init__(name)\n"
        "        self.venue, self.size = venue, size\n"
        "    def on_wakeup(self):\n"
        "        self.submit_order(self.venue, Side.BUY, self.size, 990000)\n"
        "        self.wake_after(1.0)\n"
        "    async def run(self):\n"
        "        self.wake_after(1.0)\n"
        "class MyProRata(ProRataDisplayed):\n"
        "    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = SMALL.replace("START", "0") + """
[[agents]]
name = "pingers"
type = "library_plugins:Pinger"
count = 2
params = { venue = "LIT2" }
venues = ["LIT2"]

[[parent_orders]]
side = "buy"
quantity = 2_000
allocator = "library_plugins:MyProRata"

[[timeline]]
at_s = 10
target = "agents:pingers"
set = { size = 300 }
"""
    result = run_scenario(parse_scenario(text, "plugins.toml"))
    pings = _by(_in(result, "NewOrder", "LIT2"), "pingers-")
    assert {e["msg"]["quantity"] for e in pings if e["msg"]["t_ns"] < 10 * S} == {100}
    assert {e["msg"]["quantity"] for e in pings if e["msg"]["t_ns"] > 10 * S} == {300}
    assert type(result.routers["SOR"].allocator).__name__ == "MyProRata"


# --- the command line -------------------------------------------------------------------------


def test_cli_validate_good_files_prints_ok_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in FILES]
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok: {f}" for f in files]


def test_cli_validate_bad_file_prints_the_one_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("duration_s = 60\n[[venues.lit]]\nname = 'A'\ntick_size = -1\n")
    assert main(["validate", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{bad}: venues.lit[0].tick_size: must be > 0, got -1\n"


def test_cli_run_bad_file_exits_2_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("duration_s = 60\n[[agents]]\nname = 'n'\ntype = 'noise'\ncount = 1\nrte = 2\n")
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"{bad}: agents[0].rte: unknown key; did you mean 'rate'?\n"
    assert not out.exists()


def test_cli_run_prints_summary_tables_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = LIBRARY / "fee_change.toml"
    assert main(["run", str(path), "--seed", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario      fee_change (seed 3, 90 simulated s)")
    for label in ("event log", "shifts", "Parent orders", "IS bps", "VWAP slip bps",
                  "fill rate", "fees $", "regret bps", "SOR by venue", "share of flow",
                  "cost bps", "markout 1 s", "written"):
        assert label in out, label
    assert "45.000 s  venue:LIT2: maker_fee = -20, taker_fee = 40" in out
    assert "\x1b[" not in out  # no terminal codes when stdout is not a terminal
    tca = json.loads((tmp_path / "tca.json").read_text())["parent_orders"]["SOR"]
    row = next(line.split() for line in out.splitlines() if line.startswith(" SOR "))
    assert row[1:4] == ["buy", "20,000,", "2-85"]
    assert f"{tca['implementation_shortfall_bps']:+.2f}" in row
    assert f"{tca['vwap_slippage_bps']:+.2f}" in row
    assert f"{tca['fill_rate']:.1%}" in row
    for venue, figures in tca["venues"].items():
        cells = next(line.split() for line in out.splitlines() if line.startswith(f" {venue} "))
        assert cells[2:4] == [f"{figures['sent']:,}", f"{figures['filled']:,}"], venue
        assert f"{figures['cost_bps']:+.2f}" in cells, venue
    _, _, trailer = read_event_log(tmp_path / "events.jsonl")
    assert trailer is not None and f"sha256 {trailer['sha256']}" in out


def test_cli_run_out_dir_writes_events_tca_and_report(tmp_path: Path) -> None:
    from scenarios.cli import main as cli_main

    out = tmp_path / "out"
    out.mkdir()
    calm = Path(__file__).resolve().parents[2] / "scenarios" / "library" / "calm.toml"
    assert cli_main(["run", str(calm), "--out", str(out)]) == 0
    for name in ("events.jsonl", "tca.json", "report.html"):
        assert (out / name).stat().st_size > 0, name
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 4 and "https://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


# --- usage errors: argparse's, naming the option, exit 2, before anything runs ---------------


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The last line `main(argv)` writes to stderr, asserting that it exits 2."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.rstrip("\n").splitlines()[-1]


SEED_RANGE = "must be an integer in [0, 2**64 - 1], got"


@pytest.mark.parametrize("argv, expected", [
    (["run", "--seed", "-1"], f"sorsim run: error: argument --seed: {SEED_RANGE} '-1'"),
    (["run", "--seed", str(2**64)], f"sorsim run: error: argument --seed: {SEED_RANGE} "
                                    "'18446744073709551616'"),
    (["compare", "--routers", "ucb1", "--seeds", "2", "--seed", "-5"],
     f"sorsim compare: error: argument --seed: {SEED_RANGE} '-5'"),
    (["sweep", "--seeds", "2", "--seed", str(2**64 - 1)],
     "sorsim sweep: error: argument --seed: seeds 18446744073709551615..18446744073709551616 "
     "(--seed and the next 1) go past the largest seed, 2**64 - 1"),
    (["sweep", "--seeds", "0"], "sorsim sweep: error: argument --seeds: must be >= 1, got 0"),
    (["compare", "--routers", "ucb1", "--seeds", "100000000"],
     "sorsim compare: error: argument --seeds: must be <= 100000, got 100000000"),
    (["sweep", "--seeds", "2", "--jobs", "0"],
     "sorsim sweep: error: argument --jobs: must be >= 1, got 0"),
], ids=["run_seed_negative", "run_seed_past_64_bits", "compare_seed_negative",
        "sweep_seeds_past_64_bits", "seeds_zero", "seeds_too_many", "jobs_zero"])
def test_cli_bad_option_is_a_usage_error_naming_it_before_any_run(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
    expected: str,
) -> None:
    out = tmp_path / "out"
    assert _usage_error([argv[0], str(tiny_file), *argv[1:], "--out", str(out)],
                        capsys) == expected
    assert not out.exists()


def test_cli_regress_jobs_zero_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _usage_error(["regress", "--jobs", "0"], capsys) == (
        "sorsim regress: error: argument --jobs: must be >= 1, got 0")


def test_cli_seeds_past_64_bits_from_the_files_seed_name_seeds(
    tmp_path: Path, tiny_text: str, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "last_seed.toml"
    path.write_text(tiny_text.replace("seed = 5", f"seed = {2**64 - 2}"))
    assert _usage_error(["sweep", str(path), "--seeds", "3", "--out", str(tmp_path / "o")],
                        capsys) == (
        "sorsim sweep: error: argument --seeds: seeds 18446744073709551614..18446744073709551616 "
        "(the file's seed and the next 2) go past the largest seed, 2**64 - 1")
    assert not (tmp_path / "o").exists()


def test_cli_run_largest_seed_runs_and_its_log_records_it(
    tiny_file: Path, tmp_path: Path,
) -> None:
    assert main(["run", str(tiny_file), "--seed", str(2**64 - 1), "--quiet",
                 "--out", str(tmp_path)]) == 0
    header, _, trailer = read_event_log(tmp_path / "events.jsonl")
    assert header["seed"] == 2**64 - 1 and trailer is not None


@pytest.mark.parametrize("options, option", [
    (["--backend", "ray"], "--backend"),
    (["--backend", "ray", "--address", "10.0.0.1:6379"], "--address"),
    (["--address", "10.0.0.1:6379"], "--address"),
])
def test_cli_ray_without_ray_installed_says_how_to_install_it(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, options: list[str], option: str,
) -> None:
    monkeypatch.setattr(cli, "_ray_installed", lambda: False)
    argv = ["sweep", str(tiny_file), "--seeds", "2", *options, "--out", str(tmp_path / "o")]
    assert _usage_error(argv, capsys) == (
        f"sorsim sweep: error: argument {option}: Ray is not installed; it is an optional "
        "extra: pip install 'sorsim[ray]'")


def test_cli_address_without_the_ray_backend_is_a_usage_error(
    tiny_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_ray_installed", lambda: True)
    argv = ["compare", str(tiny_file), "--routers", "ucb1", "--seeds", "2",
            "--address", "10.0.0.1:6379"]
    assert _usage_error(argv, capsys) == (
        "sorsim compare: error: argument --address: a Ray cluster's address: use it with "
        "--backend ray")


@pytest.mark.parametrize("command", [["run"], ["sweep", "--seeds", "1"],
                                     ["compare", "--routers", "ucb1", "--seeds", "1"]],
                         ids=["run", "sweep", "compare"])
@pytest.mark.parametrize("where", ["a_file", "a_file/sub"])
def test_cli_out_that_cannot_be_a_directory_is_a_usage_error(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str],
    where: str,
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("keep\n")
    out = tmp_path / where
    problem = (f"'{out}' exists and is not a directory" if where == "a_file"
               else f"cannot make directory '{out}': '{a_file}' is a file")
    argv = [command[0], str(tiny_file), *command[1:], "--out", str(out)]
    assert _usage_error(argv, capsys) == f"sorsim {command[0]}: error: argument --out: {problem}"
    assert a_file.read_text() == "keep\n"


@pytest.mark.parametrize("where", ["a_dir", "missing/events.jsonl"])
def test_cli_demo_log_that_cannot_be_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str,
) -> None:
    (tmp_path / "a_dir").mkdir()
    log = tmp_path / where
    problem = (f"'{log}' is a directory, expected a file name" if where == "a_dir"
               else f"'{tmp_path / 'missing'}' is not an existing directory")
    argv = ["demo", "--seconds", "1", "--log", str(log)]
    assert _usage_error(argv, capsys) == f"sorsim demo: error: argument --log: {problem}"
    assert not (tmp_path / "missing").exists()
