"""scenarios.summary: a run's figures (from its TCA and event log), the hindsight regret,
and the printed tables."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from router.tca import Nbbo, analyze
from scenarios.loader import load_scenario, run_scenario
from scenarios.summary import hindsight_regret_bps, parent_figures, print_summary, run_figures

S = 1_000_000_000


def l1(t: int, venue: str, bid: int, ask: int) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "L1Snapshot",
            "msg": {"t_ns": t, "venue": venue, "bid_price": bid, "bid_quantity": 100,
                    "ask_price": ask, "ask_quantity": 100}}


def new_order(t: int, venue: str, quantity: int) -> dict[str, Any]:
    return {"t": t, "event": "in", "at": venue, "type": "NewOrder",
            "msg": {"t_ns": t, "participant": "SOR", "order_id": t, "side": "buy",
                    "quantity": quantity, "price": 10_010}}


def fill(t: int, venue: str, quantity: int, price: int, fee: int = 0) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "ExecutionReport",
            "msg": {"t_ns": t, "participant": "SOR", "last_quantity": quantity,
                    "last_price": price, "fee": fee}}


def test_hindsight_regret_is_excess_over_the_cheapest_venue_with_enough_fills() -> None:
    # Arrival mid 10,000. A fills 1,000 at +10 ticks (10 bps), B 1,000 at +20 (20 bps),
    # C one lot of 50 at the mid (0 bps): under 5% of the fills, so C does not set the bar.
    events = [l1(0, "X", 9_990, 10_010), new_order(S, "A", 1_000), new_order(S, "B", 1_000),
              new_order(S, "C", 50), fill(S, "A", 1_000, 10_010), fill(S, "B", 1_000, 10_020),
              fill(S, "C", 50, 10_000)]
    tca = analyze(events, "SOR", side="buy", quantity=2_050, start_ns=0, end_ns=10 * S)
    assert hindsight_regret_bps(tca) == pytest.approx((1_000 * 0 + 1_000 * 10 + 50 * -10) / 2_050)


def test_hindsight_regret_zero_for_one_venue_none_without_fills() -> None:
    events = [l1(0, "X", 9_990, 10_010), new_order(S, "A", 100), fill(S, "A", 100, 10_010)]
    one = analyze(events, "SOR", side="buy", quantity=100, start_ns=0, end_ns=10 * S)
    assert hindsight_regret_bps(one) == 0.0
    none = analyze(events[:2], "SOR", side="buy", quantity=100, start_ns=0, end_ns=10 * S)
    assert hindsight_regret_bps(none) is None


def test_parent_figures_share_of_flow_and_venue_markouts() -> None:
    events = [l1(0, "X", 9_990, 10_010), new_order(S, "A", 300), new_order(S, "B", 100),
              fill(S, "A", 100, 10_010, fee=30), l1(2 * S, "X", 10_010, 10_030)]
    tca = analyze(events, "SOR", side="buy", quantity=400, start_ns=0, end_ns=10 * S)
    figures = parent_figures(tca, Nbbo(e for e in events if e["type"] == "L1Snapshot"))
    assert figures["fill_rate"] == 0.25 and figures["fees"] == 30
    a, b = figures["venues"]["A"], figures["venues"]["B"]
    assert (a["share_of_flow"], b["share_of_flow"]) == (0.75, 0.25)
    assert (a["fill_rate"], b["fill_rate"]) == (100 / 300, 0.0)
    # Mid 10,000 at the fill, 10,020 a second later: +10 ticks over the fill price 10,010.
    assert a["markout_1s_bps"] == pytest.approx(10 / 10_010 * 1e4)
    assert b["markout_1s_bps"] is None and b["cost_bps"] is None


def test_run_figures_agree_with_the_tca_and_are_json(tiny_file: Path) -> None:
    result = run_scenario(load_scenario(tiny_file))
    figures = run_figures(result)
    assert (figures["scenario"], figures["seed"]) == ("tiny", 5)
    assert (figures["digest"], figures["events"]) == (result.digest, result.event_count)
    sor, tca = figures["parent_orders"]["SOR"], result.tca["SOR"]
    assert sor["implementation_shortfall_bps"] == tca.implementation_shortfall_bps
    assert sor["fill_rate"] == tca.fill_rate and sor["filled"] == tca.filled > 0
    assert sum(v["filled"] for v in sor["venues"].values()) == tca.filled
    assert sum(v["share_of_flow"] for v in sor["venues"].values()) == pytest.approx(1.0)
    assert orjson.loads(orjson.dumps(figures)) == figures


def test_print_summary_plain_console_has_no_codes_and_every_venue(tiny_file: Path) -> None:
    result = run_scenario(load_scenario(tiny_file))
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=120), result)
    out = buffer.getvalue()
    assert "\x1b[" not in out
    assert "10.000 s  venue:LIT1: taker_fee = 40" in out
    for venue in result.tca["SOR"].venues:
        assert any(line.startswith(f" {venue} ") for line in out.splitlines()), venue
    assert max(len(line) for line in out.splitlines()) <= 120
