"""scenarios.simulation and the demo: determinism, crashing plug-in agents, the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.agent import Agent
from agents.noise_trader import NoiseTrader
from market.errors import HandlerFailed
from market.event_log import read_event_log
from market.link import Latency
from market.messages import ExecutionReport, Side
from scenarios.cli import main
from scenarios.demo import run_demo
from scenarios.simulation import Simulation
from venues.lit_exchange import LitExchange

S = 1_000_000_000
US = 1_000


# --- determinism --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_seed3_twice() -> tuple[Any, Any]:
    return run_demo(seed=3, seconds=120, keep_log_lines=True), run_demo(
        seed=3, seconds=120, keep_log_lines=True)


def test_run_demo_same_seed_twice_gives_same_digest_and_identical_log(
    demo_seed3_twice: tuple[Any, Any],
) -> None:
    first, second = demo_seed3_twice
    assert first.events > 1000  # the run did something
    assert first.digest == second.digest
    lines_1 = first.simulation.event_log.lines
    lines_2 = second.simulation.event_log.lines
    assert lines_1 is not None and lines_2 is not None
    assert lines_1 == lines_2
    assert first.deliveries == second.deliveries


def test_run_demo_log_lines_match_digest_and_header(demo_seed3_twice: tuple[Any, Any]) -> None:
    import hashlib

    result = demo_seed3_twice[0]
    lines = result.simulation.event_log.lines
    assert orjson.loads(lines[0])["header"]["seed"] == 3
    assert orjson.loads(lines[0])["header"]["scenario"] == "demo"
    assert hashlib.sha256(b"\n".join(lines[:-1]) + b"\n").hexdigest() == result.digest
    assert orjson.loads(lines[-1]) == {"trailer": {"events": result.events, "sha256": result.digest}}


def test_run_demo_other_seed_gives_other_digest(demo_seed3_twice: tuple[Any, Any]) -> None:
    assert run_demo(seed=4, seconds=120).digest != demo_seed3_twice[0].digest


def test_run_demo_log_file_equals_kept_lines(tmp_path: Path, demo_seed3_twice: tuple[Any, Any]) -> None:
    path = tmp_path / "demo.jsonl"
    result = run_demo(seed=3, seconds=120, log_path=path)
    assert result.digest == demo_seed3_twice[0].digest
    lines = demo_seed3_twice[0].simulation.event_log.lines
    assert path.read_bytes() == b"\n".join(lines) + b"\n"
    header, events, trailer = read_event_log(path)  # verifies the digest
    assert trailer is not None and trailer["events"] == len(events) == result.events
    times = [e["t"] for e in events]
    assert times == sorted(times) and times[-1] <= 120 * S


# --- crashing plug-ins ------------------------------------------------------------------------


class CrashInRun(Agent):
    async def run(self) -> None:
        await self.sleep(2.5)
        raise RuntimeError("strategy blew up")


class CrashOnReport(Agent):
    async def run(self) -> None:
        await self.sleep(1.0)
        self.submit_order("LIT1", Side.BUY, 100, 990_000)

    def on_execution_report(self, report: ExecutionReport) -> None:
        raise ZeroDivisionError("bad bookkeeping")


def _setup_with(plugin: Agent, latency_ns: int = 40 * US) -> Any:
    def setup(sim: Simulation) -> None:
        exchange = sim.add_venue(LitExchange(
            "LIT1", sim.clock, tick_size=100, lot_size=100, event_log=sim.event_log,
            rng_streams=sim.rng_streams))
        for i in range(3):
            trader = sim.add_agent(NoiseTrader(
                f"noise{i}", ["LIT1"], rate=5.0, lot_size=100, tick_size=100,
                reference_price=1_000_000))
            trader.connect(exchange, Latency(fixed_ns=20 * US))
        sim.add_agent(plugin).connect(exchange, Latency(fixed_ns=latency_ns))

    return setup


def test_simulation_agent_run_raising_raises_handler_failed_naming_agent_and_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.jsonl"
    simulation = Simulation("crash", seed=5, end_ns=60 * S, log_path=path)
    with pytest.raises(HandlerFailed) as caught:
        simulation.run(_setup_with(CrashInRun("crasher")))
    failure = caught.value
    assert "crasher" in failure.who
    assert failure.t_ns == 2_500_000_000
    assert isinstance(failure.error, RuntimeError)
    assert failure.__cause__ is failure.error
    assert "crasher" in str(failure) and "t_ns=2500000000" in str(failure)
    assert "strategy blew up" in str(failure)
    # The log up to the crash is on disk: header, then events no later than the crash.
    raw = path.read_bytes()
    assert raw
    header = orjson.loads(raw.split(b"\n", 1)[0])["header"]
    assert (header["scenario"], header["seed"]) == ("crash", 5)
    _, events, _ = read_event_log(path)
    assert len(events) > 10  # the noise traders traded for 2.5 s
    assert max(e["t"] for e in events) <= 2_500_000_000


def test_simulation_on_execution_report_raising_raises_handler_failed_naming_agent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.jsonl"
    simulation = Simulation("crash", seed=5, end_ns=60 * S, log_path=path)
    with pytest.raises(HandlerFailed) as caught:
        simulation.run(_setup_with(CrashOnReport("grumpy"), latency_ns=40 * US))
    failure = caught.value
    assert "grumpy" in failure.who
    assert failure.t_ns == 1 * S + 2 * 40 * US  # its ack came back: there and back
    assert isinstance(failure.error, ZeroDivisionError)
    assert "grumpy" in str(failure) and f"t_ns={failure.t_ns}" in str(failure)
    _, events, _ = read_event_log(path)
    grumpy = [e for e in events if e["msg"].get("participant") == "grumpy"]
    assert [(e["event"], e["type"]) for e in grumpy] == [
        ("in", "NewOrder"), ("out", "ExecutionReport")]
    assert max(e["t"] for e in events) <= failure.t_ns


def test_simulation_two_runs_in_one_process_start_order_ids_afresh() -> None:
    def ids_of(result: Any) -> list[int]:
        lines = result.simulation.event_log.lines
        return [orjson.loads(x)["msg"]["order_id"] for x in lines[1:-1]
                if b'"type":"NewOrder"' in x][:5]

    a = run_demo(seed=2, seconds=5, traders=2, keep_log_lines=True)
    b = run_demo(seed=2, seconds=5, traders=2, keep_log_lines=True)
    assert ids_of(a) == ids_of(b) == [1, 2, 3, 4, 5]


# --- CLI --------------------------------------------------------------------------------------


def test_cli_demo_prints_summary_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seconds", "60"]) == 0
    out = capsys.readouterr().out.splitlines()
    labels = [line.split("  ")[0] for line in out]
    assert labels == ["scenario", "messages processed", "orders received", "trades",
                      "final L1", "event log", "wall time"]
    assert "seed 1, 60 simulated s, 10 noise traders" in out[0]
    assert int(out[1].split()[-1]) > 0
    assert int(out[2].split()[-1]) > 0
    assert re.search(r"\d+ \(\d+ shares\)$", out[3])
    assert re.search(r"\d+ @ \d+\.\d\d  /  \d+\.\d\d @ \d+$", out[4])
    assert re.search(r"\d+ events, sha256 [0-9a-f]{64}$", out[5])
    assert re.search(r"\d+\.\d\d s$", out[6])


def test_cli_demo_same_seed_prints_same_digest_and_writes_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    path = tmp_path / "cli.jsonl"
    main(["demo", "--seconds", "20", "--seed", "7", "--traders", "3", "--log", str(path)])
    first = capsys.readouterr().out
    main(["demo", "--seconds", "20", "--seed", "7", "--traders", "3"])
    second = capsys.readouterr().out
    digest = re.search(r"sha256 ([0-9a-f]{64})", first)
    assert digest is not None
    assert digest.group(1) in second
    _, _, trailer = read_event_log(path)
    assert trailer is not None and trailer["sha256"] == digest.group(1)


def test_cli_unknown_command_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["nonsense"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
