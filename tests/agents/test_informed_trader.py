"""agents.informed_trader: trades toward its noisy view of the fundamental when the edge
beats the threshold, takes on lit venues (from L1 or the NBBO), sends midpoint pegs to dark
venues when configured, and makes money on average against noise traders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest

from agents.agent import Agent, AgentContext, OrderIds
from agents.informed_trader import InformedTrader
from agents.noise_trader import NoiseTrader
from market.clock import current_clock, run
from market.consolidated_feed import ConsolidatedFeed
from market.fundamental import FundamentalParameters, FundamentalValue
from market.link import Latency
from market.messages import (
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderType,
    Peg,
    Side,
    TimeInForce,
)
from market.rng import RngStreams
from scenarios.simulation import Simulation
from venues.lit_exchange import LitExchange
from venues.venue import Venue

S = 1_000_000_000
MS = 1_000_000
US = 1_000
LOT = 10
BUY, SELL = Side.BUY, Side.SELL


class Quoter(Agent):
    """Rests the given (side, lots, price) orders at LIT1 at time 0 and does nothing else."""

    def __init__(self, name: str, orders: list[tuple[Side, int, int]]) -> None:
        super().__init__(name)
        self.orders = orders

    async def run(self) -> None:
        for side, lots, price in self.orders:
            self.submit_order("LIT1", side, lots * LOT, price)


class RecordingVenue(Venue):
    """A stand-in dark venue: records what arrives, acks it, never fills. IOC orders are
    canceled at once; DAY orders rest until canceled."""

    def __init__(self, name: str, clock: Any) -> None:
        super().__init__(name, clock)
        self.orders: list[tuple[int, NewOrder]] = []
        self.cancels: list[tuple[int, CancelOrder]] = []
        self._resting: dict[int, NewOrder] = {}

    def on_new_order(self, participant: str, order: NewOrder, now: int) -> None:
        self.orders.append((now, order))
        reports = [self._report(order, now, ExecType.NEW, order.quantity)]
        if order.time_in_force is TimeInForce.IOC:
            reports.append(self._report(order, now, ExecType.CANCELED, 0))
        else:
            self._resting[order.order_id] = order
        self.send_reports(reports)

    def on_cancel_order(self, participant: str, cancel: CancelOrder, now: int) -> None:
        self.cancels.append((now, cancel))
        order = self._resting.pop(cancel.order_id)
        self.send_reports([self._report(order, now, ExecType.CANCELED, 0)])

    def _report(
        self, order: NewOrder, now: int, exec_type: ExecType, leaves: int,
    ) -> ExecutionReport:
        return ExecutionReport(now, self.name, order.participant, order.order_id, exec_type,
                               order.side, order.price, order.quantity, 0, 0, leaves, 0, 0, None,
                               0, None)


BOOK = [(BUY, 50, 995), (BUY, 50, 990), (SELL, 50, 1005), (SELL, 50, 1010)]


def _static_market(
    observe: Callable[[int], int], seconds: float = 2.0,
    book: list[tuple[Side, int, int]] = BOOK, **params: Any,
) -> tuple[InformedTrader, LitExchange, RecordingVenue, list[NewOrder]]:
    """An informed trader against a fixed book at LIT1 (by default bids 995/990, asks
    1005/1010, tick 5) and a recording dark venue DARK1. Returns its NewOrders as the venues
    received them."""
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        exchange = LitExchange("LIT1", sim.clock, tick_size=5, lot_size=LOT,
                               event_log=sim.event_log)
        dark = RecordingVenue("DARK1", sim.clock)
        sim.add_venue(exchange)
        sim.add_venue(dark)
        quoter = sim.add_agent(Quoter("quoter", book))
        quoter.connect(exchange, Latency(fixed_ns=10 * US))
        defaults: dict[str, Any] = dict(rate=5.0, threshold_ticks=12.0, max_lots=10,
                                        lot_size=LOT, tick_size=5)
        defaults.update(params)
        informed = InformedTrader("informed", observe, ["LIT1"], **defaults)
        sim.add_agent(informed)
        informed.connect(exchange, Latency(fixed_ns=30 * US))
        if informed.dark_venues:
            informed.connect(dark, Latency(fixed_ns=30 * US), market_data=False)
        held.update(informed=informed, exchange=exchange, dark=dark)

    simulation = Simulation("informed", seed=3, end_ns=int(seconds * S), keep_log_lines=True)
    simulation.run(setup)
    lines = simulation.event_log.lines
    assert lines is not None
    sent = [NewOrder(**{**e["msg"], "side": Side(e["msg"]["side"]),
                        "order_type": OrderType(e["msg"]["order_type"]),
                        "time_in_force": TimeInForce(e["msg"]["time_in_force"]),
                        "peg": None if e["msg"]["peg"] is None else Peg(e["msg"]["peg"])})
            for e in map(orjson.loads, lines[1:-1])
            if e["type"] == "NewOrder" and e["msg"]["participant"] == "informed"]
    sent += [order for _, order in held["dark"].orders]  # DARK1 does not log
    sent.sort(key=lambda order: order.order_id)
    return held["informed"], held["exchange"], held["dark"], sent


# --- direction and threshold ----------------------------------------------------------------


def test_informed_trader_value_above_ask_buys_ioc_sized_by_edge_limited_inward() -> None:
    informed, exchange, _, sent = _static_market(lambda t: 1040)
    assert sent, "a 35-tick edge over a 12-tick threshold must trade"
    first = sent[0]
    # edge 1040 - 1005 = 35 -> floor(35 / 12) = 2 lots; limit 1040 - 12 = 1028 -> 1025 (down).
    assert (first.side, first.quantity, first.price, first.order_type, first.time_in_force,
            first.peg) == (BUY, 2 * LOT, 1025, OrderType.LIMIT, TimeInForce.IOC, None)
    assert all(order.side is BUY for order in sent)
    assert informed.position > 0 and exchange.statistics["informed"].sold == 0
    # Every order filled whole at the best ask (50 lots deep), far inside its limit.
    stats = exchange.statistics["informed"]
    assert stats.bought == len(sent) * 2 * LOT == informed.position
    assert stats.bought_notional == stats.bought * 1005


def test_informed_trader_sweeps_only_levels_that_keep_the_threshold() -> None:
    thin = [(BUY, 50, 995), (SELL, 1, 1005), (SELL, 1, 1010), (SELL, 50, 1030)]
    informed, exchange, _, sent = _static_market(lambda t: 1040, book=thin)
    # Limit 1025: takes 1005 and 1010, leaves 1030 (10 ticks of edge < 12), then stops.
    assert sent[0].price == 1025 and len(sent) == 1
    stats = exchange.statistics["informed"]
    assert (stats.bought, stats.bought_notional) == (2 * LOT, LOT * (1005 + 1010))
    assert informed.position == 2 * LOT and informed.live_orders == {}


def test_informed_trader_value_below_bid_sells() -> None:
    informed, exchange, _, sent = _static_market(lambda t: 960)
    first = sent[0]
    # edge 995 - 960 = 35 -> 2 lots; limit 960 + 12 = 972 -> 975 (rounded up for a sell).
    assert (first.side, first.quantity, first.price) == (SELL, 2 * LOT, 975)
    assert all(order.side is SELL for order in sent)
    assert informed.position < 0 and exchange.statistics["informed"].bought == 0


def test_informed_trader_edge_capped_at_max_lots() -> None:
    _, _, _, sent = _static_market(lambda t: 2000, max_lots=3)
    assert sent and all(order.quantity == 3 * LOT for order in sent)


@pytest.mark.parametrize("value", [1000, 1017, 983])
def test_informed_trader_edge_not_above_threshold_sends_nothing(value: int) -> None:
    # 1017 - 1005 = 12 and 995 - 983 = 12: equal to the threshold is not beating it.
    informed, exchange, _, sent = _static_market(lambda t: value)
    assert sent == [] and informed.decisions == 0
    assert informed.position == 0 and exchange.statistics["informed"].orders == 0


def test_informed_trader_market_orders_option_sends_market_orders() -> None:
    _, _, _, sent = _static_market(lambda t: 1040, market_orders=True)
    assert sent and all((o.order_type, o.price) == (OrderType.MARKET, None) for o in sent)


# --- dark venues ----------------------------------------------------------------------------


def test_informed_trader_dark_fraction_one_sends_midpoint_pegs_with_min_quantity() -> None:
    informed, exchange, dark, sent = _static_market(
        lambda t: 1040, dark_venues=["DARK1"], dark_fraction=1.0, dark_min_lots=2)
    assert len(dark.orders) > 3  # ~5 wake-ups a second for 2 s
    assert exchange.statistics["informed"].orders == 0  # nothing went lit
    for _, order in dark.orders:
        assert (order.side, order.peg, order.min_quantity, order.time_in_force, order.price,
                order.quantity) == (BUY, Peg.MIDPOINT, 2 * LOT, TimeInForce.IOC, 1025, 2 * LOT)
    assert informed.live_orders == {}  # each IOC came back canceled


def test_informed_trader_dark_day_order_canceled_after_ttl() -> None:
    _, _, dark, _ = _static_market(
        lambda t: 1040, seconds=3.0, dark_venues=["DARK1"], dark_fraction=1.0,
        dark_time_in_force=TimeInForce.DAY, dark_ttl_s=0.25)
    assert len(dark.orders) >= 2 and dark.orders[0][1].time_in_force is TimeInForce.DAY
    sent_at = {order.order_id: order.t_ns for _, order in dark.orders}
    assert [c.order_id for _, c in dark.cancels] == [o.order_id for _, o in dark.orders][
        : len(dark.cancels)]
    for arrived, cancel in dark.cancels:
        assert cancel.t_ns == sent_at[cancel.order_id] + 250 * MS
        assert arrived == cancel.t_ns + 30 * US
    # One working order per venue: the next dark order only after the last one's cancel.
    times = [(order.t_ns, order.order_id) for _, order in dark.orders]
    for (_, previous), (t_next, _) in zip(times, times[1:]):
        assert t_next > sent_at[previous] + 250 * MS


def test_informed_trader_dark_fraction_half_splits_decisions_between_venues() -> None:
    _, exchange, dark, sent = _static_market(
        lambda t: 1040, seconds=10.0, dark_venues=["DARK1"], dark_fraction=0.5)
    lit, hidden = exchange.statistics["informed"].orders, len(dark.orders)
    assert lit + hidden == len(sent) and lit > 5 and hidden > 5


# --- the consolidated feed ------------------------------------------------------------------


def test_informed_trader_without_direct_data_uses_nbbo_from_a_feed() -> None:
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        exchange = LitExchange("LIT1", sim.clock, tick_size=5, lot_size=LOT)
        sim.add_venue(exchange)
        quoter = sim.add_agent(Quoter("quoter", [(BUY, 50, 995), (SELL, 50, 1005)]))
        quoter.connect(exchange, Latency(fixed_ns=10 * US))
        feed = ConsolidatedFeed("SIP", sim.clock, Latency(fixed_ns=100 * US))
        exchange.subscribe("SIP", feed.on_market_data, Latency(fixed_ns=50 * US))
        informed = sim.add_agent(InformedTrader(
            "informed", lambda t: 1040, ["LIT1"], rate=5.0, threshold_ticks=12.0, lot_size=LOT,
            tick_size=5))
        informed.connect(exchange, Latency(fixed_ns=30 * US), market_data=False)
        feed.subscribe("informed", informed.on_market_data)
        held.update(informed=informed, exchange=exchange)

    Simulation("nbbo", seed=3, end_ns=2 * S).run(setup)
    stats = held["exchange"].statistics["informed"]
    assert stats.bought > 0 and stats.sold == 0
    assert held["informed"].position == stats.bought  # all reports arrived well before the end


# --- the signal -----------------------------------------------------------------------------


def test_informed_trader_estimate_adds_own_gaussian_noise_of_configured_std() -> None:
    estimates: list[float] = []

    async def main() -> None:
        agent = InformedTrader("informed", lambda t: 1000, ["LIT1"], noise_ticks=4.0)
        agent.attach(AgentContext(current_clock(), RngStreams(9).stream("agent/informed"),
                                  OrderIds()))
        estimates.extend(agent.estimate(0) for _ in range(20_000))

    run(main())
    values = np.array(estimates)
    assert abs(values.mean() - 1000) < 0.1
    assert values.std() == pytest.approx(4.0, rel=0.03)


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(rate=0.0), "rate"),
        (dict(noise_ticks=-1.0), "noise_ticks"),
        (dict(threshold_ticks=0.0), "threshold_ticks"),
        (dict(max_lots=0), "max_lots"),
        (dict(lot_size=2.5), "lot_size"),
        (dict(tick_size=0), "tick_size"),
        (dict(dark_fraction=1.5), "dark_fraction"),
        (dict(dark_fraction=0.5), "dark_fraction"),  # no dark venues to send to
        (dict(dark_venues=["D"], dark_min_lots=20), "dark_min_lots"),
        (dict(dark_venues=["D"], dark_time_in_force=TimeInForce.FOK), "dark_time_in_force"),
        (dict(dark_venues=["D"], dark_ttl_s=0.0), "dark_ttl_s"),
        (dict(dark_venues=["LIT1"]), "dark_venues"),
        (dict(venues=[]), "venues"),
        (dict(observe=42), "observe"),
    ],
)
def test_informed_trader_bad_parameter_raises_value_error_naming_it(
    changes: dict[str, Any], field: str,
) -> None:
    params: dict[str, Any] = dict(observe=lambda t: 1000, venues=["LIT1"])
    params.update(changes)
    with pytest.raises(ValueError, match=rf"informed\.{field}\b"):
        InformedTrader("informed", **params)


# --- against noise traders: informed money ------------------------------------------------


def _pnl_run(seed: int, seconds: int = 120) -> dict[str, float]:
    """P&L (ticks x lots) of each agent marked to the final fundamental, fees included."""
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        fundamental = FundamentalValue(sim.rng_streams.stream("fundamental"),
                                       FundamentalParameters(mean=10_000, reversion_rate=0.01,
                                                             volatility=2.0))
        exchange = LitExchange("LIT1", sim.clock, tick_size=1, lot_size=100, maker_fee=-1,
                               taker_fee=2)
        sim.add_venue(exchange)
        for i in range(4):
            trader = sim.add_agent(NoiseTrader(
                f"noise{i}", ["LIT1"], rate=4.0, market_fraction=0.2, cancel_fraction=0.3,
                mean_offset_ticks=3.0, max_lots=3, lot_size=100, tick_size=1,
                reference_price=10_000))
            trader.connect(exchange, Latency(fixed_ns=50 * US))
        informed = sim.add_agent(InformedTrader(
            "informed", fundamental.value_at, ["LIT1"], rate=2.0, noise_ticks=2.0,
            threshold_ticks=3.0, max_lots=3, lot_size=100))
        informed.connect(exchange, Latency(fixed_ns=30 * US))
        held["fundamental"] = fundamental

    simulation = Simulation("informed-pnl", seed=seed, end_ns=seconds * S)
    simulation.run(setup)
    final = held["fundamental"].value_at(seconds * S)
    return {name: (agent.cash + agent.position * final) / 100
            for name, agent in simulation.agents.items()}


def test_informed_trader_pnl_marked_to_final_fundamental_positive_on_average() -> None:
    runs = [_pnl_run(seed) for seed in (1, 2, 3, 4)]
    informed = [pnl["informed"] for pnl in runs]
    noise = [sum(v for k, v in pnl.items() if k.startswith("noise")) for pnl in runs]
    print(f"informed P&L per seed (ticks x lots): {[round(x) for x in informed]}; "
          f"noise traders together: {[round(x) for x in noise]}")
    assert np.mean(informed) > 0
    assert np.mean(noise) < 0  # the other side of its trades lost: adverse selection


# --- sizes and bursts -------------------------------------------------------------------------


def test_informed_trader_size_exponent_edge_lots_times_a_heavy_tailed_appetite() -> None:
    # Edge 1040 - 1005 = 35 ticks -> floor(35 / 12) = 2 lots per unit of a Zipf appetite:
    # every order an even number of lots, at most max_lots (40, or 39 -> only the cap is odd).
    deep = [(BUY, 5_000, 995), (SELL, 5_000, 1005)]
    _, _, _, sent = _static_market(lambda t: 1040, seconds=20.0, book=deep, size_exponent=1.0,
                                   max_lots=39)
    lots = [order.quantity // LOT for order in sent]
    assert len(lots) > 50
    assert all((n % 2 == 0 and 2 <= n < 39) or n == 39 for n in lots), lots
    assert lots.count(2) > len(lots) / 3 and max(lots) >= 8  # mostly small, a heavy tail


def test_informed_trader_burst_rate_looks_again_sooner_after_trading() -> None:
    deep = [(BUY, 500, 995), (SELL, 500, 1005)]
    calm, _, _, _ = _static_market(lambda t: 1040, book=deep)
    burst, _, _, _ = _static_market(lambda t: 1040, book=deep, burst_rate=50.0)
    assert 3 < calm.decisions < 25  # ~5 wake-ups a second for 2 s
    assert burst.decisions > 4 * calm.decisions  # ~50 a second once it has traded


def test_informed_trader_burst_rate_unused_while_nothing_trades() -> None:
    quiet, _, _, sent = _static_market(lambda t: 1000, burst_rate=50.0)
    assert sent == [] and quiet.decisions == 0


@pytest.mark.parametrize("field", ["size_exponent", "burst_rate"])
def test_informed_trader_bad_size_or_burst_option_raises_naming_it(field: str) -> None:
    with pytest.raises(ValueError, match=rf"informed\.{field} was"):
        InformedTrader("informed", lambda t: 1000, ["LIT1"], **{field: 0.0})
