"""agents.noise_trader: the dark-pool option (midpoint-pegged DAY orders rested in a dark
pool, canceled by the usual cancel flow) and the touch taken from a consolidated feed's NBBO
as well as from venue L1/L2 — on fake sessions for the order stream, and in seeded runs."""

from __future__ import annotations

import asyncio

from collections.abc import Callable
from typing import Any

import pytest

from agents.agent import Agent, AgentContext, OrderIds
from agents.noise_trader import NoiseTrader
from market.clock import current_clock, run
from market.consolidated_feed import ConsolidatedFeed
from market.link import Latency
from market.messages import (
    NBBO,
    CancelOrder,
    L1Snapshot,
    NewOrder,
    OrderType,
    Peg,
    Side,
    TimeInForce,
)
from market.rng import RngStreams
from scenarios.simulation import Simulation
from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange

S = 1_000_000_000
US = 1_000
LOT = 100
TICK = 100


class Capture:
    """A venue stand-in: its session keeps what the agent sends."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Any] = []

    def connect(self, participant: str, handler: Callable[[Any], object],
                latency: Latency = Latency()) -> Capture:
        return self

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency()) -> None:
        pass

    def send(self, message: Any) -> None:
        self.sent.append(message)


def _drive(trader: NoiseTrader, venues: list[Capture], seconds: float,
           before: Callable[[NoiseTrader], None] = lambda _: None, seed: int = 1) -> None:
    """Run the trader alone for `seconds` of virtual time against capturing venues."""

    async def main() -> None:
        trader.attach(AgentContext(current_clock(), RngStreams(seed).stream("t"), OrderIds()))
        for venue in venues:
            trader.connect(venue, market_data=False)
        before(trader)
        await trader.run()  # starts the timeline (it lives on wake-ups)
        await asyncio.sleep(seconds + 1)

    run(main(), end_ns=round(seconds * S))


def _trader(**changes: Any) -> NoiseTrader:
    params: dict[str, Any] = dict(rate=10.0, market_fraction=0.0, cancel_fraction=0.0,
                                  mean_offset_ticks=1.0, max_lots=4, lot_size=LOT,
                                  tick_size=TICK, reference_price=5_000_000)
    params.update(changes)
    return NoiseTrader("n", ["LIT"], **params)


# --- dark orders ------------------------------------------------------------------------------


def test_noise_trader_dark_fraction_one_sends_every_limit_arrival_as_midpoint_day_peg() -> None:
    lit, dark = Capture("LIT"), Capture("DARK")
    trader = _trader(dark_venues=["DARK"], dark_fraction=1.0, dark_min_lots=1)
    _drive(trader, [lit, dark], 5.0)
    assert lit.sent == []
    assert len(dark.sent) > 20 and trader.dark_orders == len(dark.sent)
    sides = set()
    for order in dark.sent:
        assert type(order) is NewOrder
        assert order.peg is Peg.MIDPOINT and order.price is None
        assert order.order_type is OrderType.LIMIT and order.time_in_force is TimeInForce.DAY
        assert order.min_quantity == LOT and order.quantity % LOT == 0
        assert LOT <= order.quantity <= 4 * LOT
        sides.add(order.side)
    assert sides == {Side.BUY, Side.SELL}


def test_noise_trader_dark_fraction_splits_limit_arrivals_across_two_pools() -> None:
    lit, dark1, dark2 = Capture("LIT"), Capture("D1"), Capture("D2")
    trader = _trader(dark_venues=["D1", "D2"], dark_fraction=0.3)
    _drive(trader, [lit, dark1, dark2], 60.0)
    total = len(lit.sent) + len(dark1.sent) + len(dark2.sent)
    dark = len(dark1.sent) + len(dark2.sent)
    assert total > 400
    assert 0.22 < dark / total < 0.38
    assert len(dark1.sent) > 0.3 * dark and len(dark2.sent) > 0.3 * dark
    assert all(o.min_quantity == 0 for o in dark1.sent + dark2.sent)  # dark_min_lots=0: any


def test_noise_trader_dark_venues_listed_with_zero_fraction_leaves_the_stream_unchanged() -> None:
    plain, listed = Capture("LIT"), Capture("LIT")
    _drive(_trader(market_fraction=0.1, cancel_fraction=0.3), [plain], 20.0)
    _drive(_trader(market_fraction=0.1, cancel_fraction=0.3, dark_venues=["DARK"]),
           [listed, Capture("DARK")], 20.0)
    assert plain.sent == listed.sent and len(plain.sent) > 100


def test_noise_trader_cancel_flow_also_cancels_resting_dark_orders() -> None:
    lit, dark = Capture("LIT"), Capture("DARK")
    trader = _trader(cancel_fraction=0.5, dark_venues=["DARK"], dark_fraction=1.0)
    _drive(trader, [lit, dark], 20.0)
    orders = {m.order_id for m in dark.sent if type(m) is NewOrder}
    cancels = [m for m in dark.sent if type(m) is CancelOrder]
    assert len(cancels) > 20
    assert all(c.order_id in orders for c in cancels)


@pytest.mark.parametrize(("changes", "message"), [
    ({"dark_fraction": 0.5}, r"n\.dark_fraction was 0\.5 but dark_venues is empty"),
    ({"dark_venues": ["LIT"]}, r"n\.dark_venues \['LIT'\] are also in venues"),
    ({"dark_venues": ["D"], "dark_fraction": 1.5}, r"n\.dark_fraction was 1\.5"),
    ({"dark_venues": ["D"], "dark_fraction": -0.1}, r"n\.dark_fraction was -0\.1"),
    ({"dark_venues": "D"}, r"n\.dark_venues was 'D'"),
    ({"dark_venues": ["D"], "dark_min_lots": 5}, r"n\.dark_min_lots was 5"),
])
def test_noise_trader_bad_dark_options_raise_naming_the_field(
    changes: dict[str, Any], message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        _trader(**changes)


# --- the touch from an NBBO -------------------------------------------------------------------


def _nbbo(bid: int | None, ask: int | None) -> NBBO:
    return NBBO(0, bid, 100, ask, 100, ("X",) if bid else (), ("X",) if ask else ())


def test_noise_trader_with_only_an_nbbo_prices_limit_orders_behind_its_touch() -> None:
    lit = Capture("LIT")
    bid, ask = 1_000_000, 1_000_300
    _drive(_trader(), [lit], 5.0,
           before=lambda t: t.on_market_data(_nbbo(bid, ask)))
    assert len(lit.sent) > 20
    for order in lit.sent:
        assert order.price % TICK == 0
        if order.side is Side.BUY:
            assert order.price <= ask - TICK
        else:
            assert order.price >= bid + TICK
        assert abs(order.price - 5_000_000) > 1_000_000  # not around reference_price


def test_noise_trader_direct_venue_quote_takes_precedence_over_the_nbbo() -> None:
    a, b = Capture("A"), Capture("B")
    trader = NoiseTrader("n", ["A", "B"], rate=10.0, market_fraction=0.0, cancel_fraction=0.0,
                         mean_offset_ticks=0.5, max_lots=1, lot_size=LOT, tick_size=TICK)

    def before(t: NoiseTrader) -> None:
        t.on_market_data(_nbbo(1_000_000, 1_000_100))
        t.on_market_data(L1Snapshot(0, "A", 2_000_000, 100, 2_000_100, 100))

    _drive(trader, [a, b], 10.0, before=before)
    assert a.sent and b.sent
    assert all(1_900_000 < o.price < 2_100_000 for o in a.sent)  # A's own L1
    assert all(900_000 < o.price < 1_100_000 for o in b.sent)  # the NBBO for B


def test_noise_trader_one_sided_nbbo_anchors_on_the_quoted_side() -> None:
    lit = Capture("LIT")
    _drive(_trader(), [lit], 5.0, before=lambda t: t.on_market_data(_nbbo(1_000_000, None)))
    assert lit.sent
    for order in lit.sent:  # a buy anchors at bid + tick: never above it
        assert order.price <= 1_000_000 if order.side is Side.BUY else order.price > 1_000_000


# --- seeded runs ------------------------------------------------------------------------------


class Quoter(Agent):
    """Rests a wide two-sided market once, then keeps quiet."""

    async def run(self) -> None:
        self.submit_order("LIT", Side.BUY, 50 * LOT, 1_000_000)
        self.submit_order("LIT", Side.SELL, 50 * LOT, 1_001_000)


def _feed_only_market(sim: Simulation, *, dark_fraction: float,
                      held: dict[str, Any]) -> None:
    exchange = LitExchange("LIT", sim.clock, tick_size=TICK, lot_size=LOT,
                           event_log=sim.event_log)
    pool = DarkPool("DARK", sim.clock, lot_size=LOT, event_log=sim.event_log)
    feed = ConsolidatedFeed("SIP", sim.clock, Latency(fixed_ns=50 * US), event_log=sim.event_log)
    for venue in (exchange, pool):
        sim.add_venue(venue)
    exchange.subscribe("SIP", feed.on_market_data, Latency(fixed_ns=100 * US))
    feed.subscribe("DARK", pool.on_nbbo)
    quoter = sim.add_agent(Quoter("quoter"))
    quoter.connect(exchange, Latency(fixed_ns=10 * US), market_data=False)
    for i in range(6):
        trader = sim.add_agent(NoiseTrader(
            f"noise{i}", ["LIT"], rate=2.0, market_fraction=0.0, cancel_fraction=0.3,
            mean_offset_ticks=1.0, max_lots=2, lot_size=LOT, tick_size=TICK,
            reference_price=5_000_000, dark_venues=["DARK"], dark_fraction=dark_fraction))
        trader.connect(exchange, Latency(fixed_ns=200 * US), market_data=False)
        trader.connect(pool, Latency(fixed_ns=200 * US), market_data=False)
        feed.subscribe(trader.name, trader.on_market_data, Latency(fixed_ns=200 * US))
    held.update(exchange=exchange, pool=pool)


def test_noise_traders_on_a_feed_only_quote_inside_the_market_and_cross_in_the_dark() -> None:
    held: dict[str, Any] = {}
    simulation = Simulation("noise-dark", seed=3, end_ns=60 * S)
    simulation.run(lambda sim: _feed_only_market(sim, dark_fraction=0.4, held=held))
    exchange: LitExchange = held["exchange"]
    pool: DarkPool = held["pool"]
    # Priced off the NBBO (inside 100.00/100.10), never off the far reference price.
    prices = [order[3] for order in exchange.book.resting_orders()]
    assert prices and all(900_000 < p < 1_100_000 for p in prices)
    # Noise traders' midpoint pegs met each other in the pool.
    assert pool.trades > 10
    noise_stats = [pool.statistics[f"noise{i}"] for i in range(6)]
    assert sum(s.cancels for s in noise_stats) > 10  # dark orders left by the cancel flow too
    # Everyone's shares balance across both venues.
    total = sum(v.statistics[n].position for v in (exchange, pool) for n in v.statistics)
    assert total == 0


def test_noise_traders_dark_option_same_seed_same_digest() -> None:
    digests = [Simulation("noise-dark", seed=4, end_ns=20 * S).run(
        lambda sim: _feed_only_market(sim, dark_fraction=0.4, held={})).digest for _ in range(2)]
    assert digests[0] == digests[1]


# --- order sizes ------------------------------------------------------------------------------


def test_noise_trader_size_exponent_draws_power_law_lots_capped_at_max_lots() -> None:
    venue = Capture("LIT")
    _drive(_trader(size_exponent=1.5, max_lots=50), [venue], 200.0)
    lots = [order.quantity // LOT for order in venue.sent if type(order) is NewOrder]
    assert len(lots) > 1_500
    assert all(order.quantity % LOT == 0 for order in venue.sent)
    assert min(lots) == 1 and max(lots) <= 50
    # Zipf with exponent 2.5: P(1 lot) = 1 / zeta(2.5) = 0.745; a tail beyond 10 lots.
    assert 0.70 < lots.count(1) / len(lots) < 0.79
    assert sum(n >= 10 for n in lots) >= 10


def test_noise_trader_sizes_uniform_without_size_exponent() -> None:
    venue = Capture("LIT")
    _drive(_trader(max_lots=4), [venue], 100.0)
    lots = [order.quantity // LOT for order in venue.sent if type(order) is NewOrder]
    assert set(lots) == {1, 2, 3, 4}
    assert all(0.2 < lots.count(n) / len(lots) < 0.3 for n in range(1, 5))


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), True])
def test_noise_trader_bad_size_exponent_raises_naming_the_field(value: Any) -> None:
    with pytest.raises(ValueError, match=r"n\.size_exponent was"):
        _trader(size_exponent=value)
