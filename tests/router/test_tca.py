"""router.tca on a hand-built event log whose figures are worked out by hand, and on a real
router run (the analysis agrees with what the router itself counted)."""

from __future__ import annotations

from typing import Any

import pytest

from router.tca import analyze, regret_bps

S = 1_000_000_000


def l1(t: int, venue: str, bid: int, ask: int) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "L1Snapshot",
            "msg": {"t_ns": t, "venue": venue, "bid_price": bid, "bid_quantity": 100,
                    "ask_price": ask, "ask_quantity": 100}}


def new_order(t: int, venue: str, quantity: int) -> dict[str, Any]:
    return {"t": t, "event": "in", "at": venue, "type": "NewOrder",
            "msg": {"t_ns": t, "participant": "SOR", "order_id": t, "side": "buy",
                    "quantity": quantity, "price": 10_010}}


def fill(t: int, venue: str, quantity: int, price: int, fee: int) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "ExecutionReport",
            "msg": {"t_ns": t, "participant": "SOR", "last_quantity": quantity,
                    "last_price": price, "fee": fee}}


def trade_print(t: int, venue: str, quantity: int, price: int) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "TradePrint",
            "msg": {"t_ns": t, "venue": venue, "trade_id": t, "price": price,
                    "quantity": quantity, "aggressor_side": "buy"}}


EVENTS = [
    l1(0, "A", 9_990, 10_010),  # mid 10,000 at arrival
    l1(0, "B", 9_980, 10_020),
    new_order(1 * S, "A", 100),
    new_order(1 * S, "B", 200),
    fill(1 * S, "A", 100, 10_010, 30),  # 10 ticks over mid + 0.3 tick fee per share
    trade_print(1 * S, "A", 100, 10_010),
    trade_print(2 * S, "B", 300, 10_000),
    l1(3 * S, "A", 10_000, 10_020),  # mid 10,010 (B: 9,980 / 10,020; best 10,000 / 10,020)
    fill(4 * S, "B", 100, 10_020, 0),
    trade_print(4 * S, "B", 100, 10_020),
]


def test_tca_hand_built_log_gives_hand_computed_figures() -> None:
    tca = analyze(EVENTS, "SOR", side="buy", quantity=400, start_ns=0, end_ns=10 * S)
    assert tca.filled == 200 and tca.fill_rate == 0.5
    assert tca.arrival_mid == 10_000
    assert tca.average_price == pytest.approx(10_015)
    assert tca.price_shortfall_bps == pytest.approx(15.0)  # 15 ticks on 10,000
    assert tca.fees_bps == pytest.approx(30 / 200 / 10_000 * 1e4)
    assert tca.execution_shortfall_bps == pytest.approx(15.0 + 0.15)
    assert tca.end_mid == 10_010
    assert tca.opportunity_cost_bps == pytest.approx(10.0 * 200 / 400)
    # Perold, per parent share: half filled at 15.15 bps, half left while the mid rose 10 bps.
    assert tca.implementation_shortfall_bps == pytest.approx(15.15 * 0.5 + 5.0)
    assert tca.as_dict()["implementation_shortfall_bps"] == tca.implementation_shortfall_bps
    # Market VWAP: (100*10010 + 300*10000 + 100*10020) / 500 = 5,003,000 / 500 = 10,006.
    assert tca.market_vwap == pytest.approx(10_006)
    assert tca.vwap_slippage_bps == pytest.approx((10_015 - 10_006) / 10_006 * 1e4)
    # Spread capture: fill A at 10,010 with mid 10,000 (-10 bps), fill B at 10,020 with mid 10,010.
    expected_capture = (100 * (10_000 - 10_010) / 10_000 + 100 * (10_010 - 10_020) / 10_010) / 200 * 1e4
    assert tca.spread_capture_bps == pytest.approx(expected_capture)
    assert tca.venues["A"]["sent"] == 100 and tca.venues["A"]["fill_rate"] == 1.0
    assert tca.venues["B"]["sent"] == 200 and tca.venues["B"]["fill_rate"] == 0.5
    assert tca.venues["A"]["cost_bps"] == pytest.approx((10 + 0.3) / 10_000 * 1e4)
    assert tca.allocation_over_time == [{"t_ns": 0, "sent": {"A": 100, "B": 200}}]
    # The log ends at 4 s. Markout at 1 s: fill A (1 s) only, the mid at 2 s still 10,000
    # against 10,010 paid; fill B (4 s) has no mid 1 s later in the log, so it does not count.
    assert tca.log_end_ns == 4 * S
    assert tca.markouts_bps["1s"] == pytest.approx((10_000 - 10_010) / 10_010 * 1e4)
    # No fill has 10 s or 60 s of log after it: unknown, not the last mid.
    assert tca.markouts_bps["10s"] is None and tca.markouts_bps["60s"] is None


def test_tca_sell_side_signs_flip() -> None:
    events = [l1(0, "A", 9_990, 10_010),
              {**fill(1 * S, "A", 100, 9_990, 0)}]
    tca = analyze(events, "SOR", side="sell", quantity=100, start_ns=0, end_ns=S)
    assert tca.price_shortfall_bps == pytest.approx(10.0)  # sold 10 ticks under the mid


def test_tca_regret_against_oracle_constant_and_function() -> None:
    tca = analyze(EVENTS, "SOR", side="buy", quantity=400, start_ns=0, end_ns=10 * S)
    # Fill costs: A 10.3 bps, B 20 bps; oracle 5 bps everywhere => regret = mean excess.
    assert regret_bps(tca, lambda t: 5.0) == pytest.approx((100 * 5.3 + 100 * 15.0) / 200)
    assert regret_bps(tca, {"A": 10.3, "B": 20.0}) == pytest.approx((0 + 100 * 9.7) / 200)


def test_tca_bad_side_raises() -> None:
    with pytest.raises(ValueError, match="side"):
        analyze([], "SOR", side="long", quantity=1, start_ns=0, end_ns=1)
