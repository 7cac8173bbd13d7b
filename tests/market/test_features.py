"""market.features: microprice, imbalance, windowed volatility and flow, the tracker."""

from __future__ import annotations

import math

import pytest

from market.errors import SimulationError
from market.features import (
    FEATURE_NAMES,
    FeatureTracker,
    RealizedVolatility,
    SignedTradeFlow,
    microprice,
    mid_price,
    order_book_imbalance,
)
from market.messages import L1Snapshot, Side, TradePrint
from market.rng import RngStreams

S = 1_000_000_000
MS = 1_000_000


def _l1(t_ns: int, bid: int | None, bid_qty: int, ask: int | None, ask_qty: int,
        venue: str = "lit1") -> L1Snapshot:
    return L1Snapshot(t_ns, venue, bid, bid_qty, ask, ask_qty)


def _print(t_ns: int, quantity: int, aggressor: Side, venue: str = "lit1") -> TradePrint:
    return TradePrint(t_ns, venue, 1, 100, quantity, aggressor)


# --- microprice and imbalance ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bid, bid_qty, ask, ask_qty, expected",
    [
        (100, 300, 102, 100, 101.5),  # (100*100 + 102*300) / 400: thin ask, leans up
        (100, 100, 102, 300, 100.5),  # (100*300 + 102*100) / 400: thin bid, leans down
        (100, 200, 102, 200, 101.0),  # equal sizes: the mid
        (100, 1, 101, 3, 100.25),  # (100*3 + 101*1) / 4
        (100, 0, 102, 0, 101.0),  # no sizes at all: the mid
    ],
)
def test_microprice_hand_computed_cases_match_standard_definition(
    bid: int, bid_qty: int, ask: int, ask_qty: int, expected: float
) -> None:
    assert microprice(bid, bid_qty, ask, ask_qty) == expected


def test_microprice_leans_toward_side_with_less_quantity() -> None:
    mid = mid_price(100, 110)
    assert mid == 105.0
    up = microprice(100, 500, 110, 50)
    down = microprice(100, 50, 110, 500)
    assert up is not None and down is not None
    assert mid < up < 110
    assert 100 < down < mid


@pytest.mark.parametrize(
    "bid, ask", [(None, 102), (100, None), (None, None)]
)
def test_microprice_empty_side_returns_none_without_raising(
    bid: int | None, ask: int | None
) -> None:
    assert microprice(bid, 0 if bid is None else 10, ask, 0 if ask is None else 10) is None
    assert mid_price(bid, ask) is None


@pytest.mark.parametrize(
    "bid_qty, ask_qty, expected",
    [(300, 100, 0.5), (100, 300, -0.5), (7, 7, 0.0), (5, 0, 1.0), (0, 5, -1.0), (0, 0, 0.0)],
)
def test_imbalance_hand_computed_cases(bid_qty: int, ask_qty: int, expected: float) -> None:
    assert order_book_imbalance(bid_qty, ask_qty) == expected


def test_imbalance_random_quantities_stay_in_bounds_with_sign_of_difference() -> None:
    rng = RngStreams(1).stream("test/imbalance")
    quantities = rng.integers(0, 10_000, size=(2_000, 2)).tolist()
    for bid_qty, ask_qty in quantities:
        value = order_book_imbalance(bid_qty, ask_qty)
        assert -1.0 <= value <= 1.0
        assert (value > 0) == (bid_qty > ask_qty)
        assert (value < 0) == (bid_qty < ask_qty)


def test_imbalance_and_microprice_negative_quantity_raise() -> None:
    with pytest.raises(ValueError, match="bid_qty=-1"):
        order_book_imbalance(-1, 5)
    with pytest.raises(ValueError, match="ask_qty=-2"):
        microprice(100, 5, 101, -2)


# --- signed trade flow ------------------------------------------------------------------------


def test_flow_window_expires_trade_exactly_at_window_end() -> None:
    flow = SignedTradeFlow(window_ns=1_000)
    flow.on_trade_print(_print(5_000, 10, Side.BUY))
    flow.on_trade_print(_print(5_400, 3, Side.SELL))
    assert flow.value(5_400) == 7
    assert flow.value(5_999) == 7  # 5,000 is inside (4,999, 5,999]
    assert flow.value(6_000) == -3  # 5,000 is outside (5,000, 6,000]
    assert flow.value(6_399) == -3
    assert flow.value(6_400) == 0


def test_flow_same_instant_prints_all_count_and_expire_together() -> None:
    flow = SignedTradeFlow(window_ns=10)
    for quantity in (1, 2, 3):
        flow.add(100, quantity)
    flow.add(100, -10)
    assert flow.value(109) == -4
    assert flow.value(110) == 0


def test_flow_update_or_query_back_in_time_raises() -> None:
    flow = SignedTradeFlow(window_ns=1_000)
    flow.add(500, 1)
    with pytest.raises(SimulationError, match="t_ns=499"):
        flow.add(499, 1)
    with pytest.raises(SimulationError, match="t_ns=499"):
        flow.value(499)
    assert flow.value(500) == 1


@pytest.mark.parametrize("window_ns", [0, -5, 1.5])
def test_estimators_bad_window_raise_naming_value(window_ns: int) -> None:
    with pytest.raises(ValueError, match=f"window_ns was {window_ns!r}"):
        SignedTradeFlow(window_ns)
    with pytest.raises(ValueError, match=f"window_ns was {window_ns!r}"):
        RealizedVolatility(window_ns)


# --- realized volatility ----------------------------------------------------------------------


def test_volatility_window_expires_changes_exactly_at_window_end() -> None:
    vol = RealizedVolatility(window_ns=1_000)
    vol.update(0, 100.0)
    vol.update(100, 101.0)  # squared change 1
    # Before the window has filled, it is scaled by the time covered since the first price.
    assert vol.variance_rate(500) == 1 * S / 500
    vol.update(600, 103.0)  # squared change 4
    assert vol.variance_rate(1_000) == 5 * S / 1_000
    assert vol.variance_rate(1_099) == 5 * S / 1_000
    assert vol.variance_rate(1_100) == 4 * S / 1_000  # the change at 100 left at 1,100
    assert vol.variance_rate(1_599) == 4 * S / 1_000
    assert vol.variance_rate(1_600) == 0.0
    assert vol.value(1_600) == 0.0


def test_volatility_fewer_than_two_prices_is_zero() -> None:
    vol = RealizedVolatility(window_ns=S)
    assert vol.value(0) == 0.0
    vol.update(10, 100.0)
    assert vol.value(10) == 0.0
    assert vol.value(5 * S) == 0.0


def test_volatility_seeded_random_walk_close_to_true_value() -> None:
    sigma = 3.0  # ticks per sqrt-second
    dt_ns = 10 * MS
    rng = RngStreams(4).stream("test/random-walk")
    steps = rng.normal(0.0, sigma * math.sqrt(dt_ns / S), 30_000).tolist()  # 300 s
    vol = RealizedVolatility(window_ns=60 * S)
    price = 10_000.0
    vol.update(0, price)
    estimates = []
    for i, step in enumerate(steps, start=1):
        price += step
        vol.update(i * dt_ns, price)
        if i % 6_000 == 0:
            estimates.append(vol.value(i * dt_ns))
    assert len(estimates) == 5
    for estimate in estimates:  # 6,000 changes per window: about 1 % standard error
        assert estimate == pytest.approx(sigma, rel=0.05)


def test_volatility_update_back_in_time_raises() -> None:
    vol = RealizedVolatility(window_ns=1_000)
    vol.update(200, 100.0)
    with pytest.raises(SimulationError, match="t_ns=199"):
        vol.update(199, 101.0)
    with pytest.raises(SimulationError, match="t_ns=150"):
        vol.value(150)


# --- the tracker --------------------------------------------------------------------------------


def test_tracker_features_on_hand_computed_book_and_trades() -> None:
    tracker = FeatureTracker("lit1", volatility_window_ns=S, flow_window_ns=S)
    tracker.on_l1_snapshot(_l1(0, 100, 300, 102, 100))
    tracker.on_trade_print(_print(10, 10, Side.BUY))
    tracker.on_trade_print(_print(20, 4, Side.SELL))
    features = tracker.features(30)
    assert len(features) == len(FEATURE_NAMES) == 4
    assert all(type(x) is float for x in features)
    assert features == (0.5, 0.5, 0.0, 6.0)
    assert tracker.microprice == 101.5
    assert tracker.mid == 101.0


def test_tracker_one_tick_random_walk_gives_exact_volatility() -> None:
    # The mid moves exactly one tick every 10 ms: 100 squared ticks per second, so the
    # realized volatility over a full one-second window is exactly 10 ticks per sqrt-second.
    tracker = FeatureTracker("lit1", volatility_window_ns=S, flow_window_ns=S)
    moves = RngStreams(3).stream("test/one-tick-walk").choice([-1, 1], size=500).tolist()
    bid = 1_000
    tracker.on_l1_snapshot(_l1(0, bid, 5, bid + 2, 5))
    for i, move in enumerate(moves, start=1):
        bid += move
        tracker.on_l1_snapshot(_l1(i * 10 * MS, bid, 5, bid + 2, 5))
    assert tracker.features(5 * S)[2] == 10.0
    assert tracker.features(5 * S + 10 * MS)[2] == pytest.approx(math.sqrt(99.0))


@pytest.mark.parametrize(
    "snapshot, offset, imbalance",
    [
        (_l1(0, None, 0, 102, 50), 0.0, -1.0),
        (_l1(0, 100, 50, None, 0), 0.0, 1.0),
        (_l1(0, None, 0, None, 0), 0.0, 0.0),
        (_l1(0, None, 7, None, 9), 0.0, 0.0),  # quantities without prices are ignored
    ],
)
def test_tracker_empty_side_gives_defined_features_without_raising(
    snapshot: L1Snapshot, offset: float, imbalance: float
) -> None:
    tracker = FeatureTracker("lit1", volatility_window_ns=S, flow_window_ns=S)
    tracker.on_l1_snapshot(snapshot)
    assert tracker.features(1) == (offset, imbalance, 0.0, 0.0)
    assert tracker.microprice is None
    assert tracker.mid is None


def test_tracker_empty_side_gap_keeps_last_mid_for_volatility() -> None:
    tracker = FeatureTracker("lit1", volatility_window_ns=S, flow_window_ns=S)
    tracker.on_l1_snapshot(_l1(0, 100, 5, 102, 5))  # mid 101
    tracker.on_l1_snapshot(_l1(S // 4, None, 0, 102, 5))  # one-sided: no mid
    tracker.on_l1_snapshot(_l1(S // 2, 103, 5, 105, 5))  # mid 104: one change of 3
    assert tracker.volatility.variance_rate(S) == 9.0


def test_tracker_message_of_another_venue_raises() -> None:
    tracker = FeatureTracker("lit1", volatility_window_ns=S, flow_window_ns=S)
    with pytest.raises(ValueError, match="'lit2'"):
        tracker.on_l1_snapshot(_l1(0, 100, 1, 101, 1, venue="lit2"))
    with pytest.raises(ValueError, match="'dark1'"):
        tracker.on_trade_print(_print(0, 5, Side.BUY, venue="dark1"))
    assert tracker.features(0) == (0.0, 0.0, 0.0, 0.0)
