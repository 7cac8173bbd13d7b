"""venues.dark_pool: pegged orders crossing off a real NBBO (lit exchanges -> consolidated
feed -> pool) on the virtual clock — midpoint, NEAR/FAR pegs, limits, minimum quantity,
censored fills, IOC, continuous and periodic crossing (exact ns), no reference when the
NBBO is one-sided, locked or crossed, delayed trade prints and nothing else published, fees,
trade ids, conservation, and rejects that keep the pool running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
import pytest

from agents.agent import Agent, AgentContext, OrderIds
from market.clock import Clock, current_clock, run
from market.consolidated_feed import ConsolidatedFeed
from market.event_log import EventLog
from market.link import Latency
from market.messages import (
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    Liquidity,
    MessageRejected,
    NewOrder,
    OrderType,
    Peg,
    RejectReason,
    ReplaceOrder,
    Side,
    TimeInForce,
    TradePrint,
)
from market.rng import RngStreams
from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange
from venues.venue import Session

US = 1_000
MS = 1_000_000
BUY, SELL = Side.BUY, Side.SELL
MID, NEAR, FAR = Peg.MIDPOINT, Peg.NEAR, Peg.FAR
IOC = TimeInForce.IOC
NEW, PARTIAL, FILL = ExecType.NEW, ExecType.PARTIAL_FILL, ExecType.FILL
CANCELED, REJECTED = ExecType.CANCELED, ExecType.REJECTED
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER

# The NBBO path: market maker MM -> lit venue -> feed -> publication -> pool.
MM_LATENCY, TO_FEED, PUBLICATION, FEED_TO_POOL = 1 * US, 5 * US, 10 * US, 4 * US
NBBO_LAG = MM_LATENCY + TO_FEED + PUBLICATION + FEED_TO_POOL  # quote sent -> pool knows it
LATENCY = {"A": 100 * US, "B": 200 * US, "C": 300 * US}  # one way, pool participants
MD_LATENCY = 50 * US  # market-data subscriber "MD" of the pool
LOT = 10


class Inbox:
    """A handler that keeps (arrival t_ns, message)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.got: list[tuple[int, Any]] = []

    def __call__(self, message: Any) -> None:
        self.got.append((self.clock.now_ns(), message))

    def of(self, cls: type) -> list[Any]:
        return [m for _, m in self.got if type(m) is cls]


class World:
    """Lit exchanges LIT1 (MM's bid) and LIT2 (MM's ask), the feed SIP, the pool DARK with
    participants A, B, C and a market-data subscriber MD."""

    def __init__(self, clock: Clock, **pool_kwargs: Any) -> None:
        self.clock = clock
        self.log = EventLog(None, scenario="dark", seed=0, version="test", keep_lines=True)
        self.feed = ConsolidatedFeed("SIP", clock, Latency(fixed_ns=PUBLICATION))
        self.mm_replies = Inbox(clock)
        self.lit: dict[str, Session] = {}
        for name in ("LIT1", "LIT2"):
            lit = LitExchange(name, clock)
            lit.subscribe("SIP", self.feed.on_market_data, Latency(fixed_ns=TO_FEED))
            self.lit[name] = lit.connect("MM", self.mm_replies, Latency(fixed_ns=MM_LATENCY))
        pool_kwargs.setdefault("lot_size", LOT)
        self.pool = DarkPool("DARK", clock, event_log=self.log, **pool_kwargs)
        self.feed.subscribe("DARK", self.pool.on_nbbo, Latency(fixed_ns=FEED_TO_POOL))
        self.inbox = {name: Inbox(clock) for name in (*LATENCY, "MD")}
        self.sessions = {name: self.pool.connect(name, self.inbox[name], Latency(fixed_ns=lat))
                         for name, lat in LATENCY.items()}
        self.pool.subscribe("MD", self.inbox["MD"], Latency(fixed_ns=MD_LATENCY))
        self._next_id = 1
        self._quotes: dict[str, int] = {}

    def _id(self) -> int:
        order_id = self._next_id
        self._next_id += 1
        return order_id

    # --- the lit market that makes the NBBO ------------------------------------------------

    def _quote(self, venue: str, side: Side, price: int) -> None:
        order_id = self._quotes.get(venue)
        now = self.clock.now_ns()
        if order_id is None:
            self._quotes[venue] = order_id = self._id()
            self.lit[venue].send(NewOrder(now, "MM", order_id, side, 100, price))
        else:
            self.lit[venue].send(ReplaceOrder(now, "MM", order_id, 100, price))

    def bid(self, price: int) -> None:
        self._quote("LIT1", BUY, price)

    def ask(self, price: int) -> None:
        self._quote("LIT2", SELL, price)

    # --- pool participants ------------------------------------------------------------------

    def send(self, participant: str, message: Any) -> None:
        self.sessions[participant].send(message)

    def order(self, participant: str, side: Side, quantity: int, price: int | None = None,
              **kwargs: Any) -> Any:
        """Send a pool order; returns its id (any object a bad-input test passes)."""
        order_id = kwargs.pop("order_id", None)
        if order_id is None:
            order_id = self._id()
        self.send(participant, NewOrder(self.clock.now_ns(), participant, order_id, side,
                                        quantity, price, **kwargs))
        return order_id

    def cancel(self, participant: str, order_id: Any) -> None:
        self.send(participant, CancelOrder(self.clock.now_ns(), participant, order_id))

    def reports(self, participant: str) -> list[ExecutionReport]:
        return self.inbox[participant].of(ExecutionReport)

    def fills(self, participant: str) -> list[ExecutionReport]:
        return [r for r in self.reports(participant) if r.last_quantity]

    async def at(self, t_ns: int) -> None:
        await asyncio.sleep((t_ns - self.clock.now_ns()) / 1e9)
        assert self.clock.now_ns() == t_ns

    def logged(self) -> list[dict[str, Any]]:
        assert self.log.lines is not None
        return [orjson.loads(line) for line in self.log.lines[1:-1]]


def simulate(body: Callable[[World], Awaitable[None]], *, start_ns: int = 0,
             **pool_kwargs: Any) -> World:
    holder: list[World] = []

    async def main() -> None:
        world = World(current_clock(), **pool_kwargs)
        holder.append(world)
        await body(world)
        await asyncio.sleep(0.05)  # everything in flight arrives, delayed prints included
        world.log.close()

    run(main(), start_ns=start_ns)
    return holder[0]


async def _market(w: World, bid: int = 1000, ask: int = 1010) -> None:
    """MM quotes bid/ask at t=0 (the pool knows at NBBO_LAG); returns at 1 ms."""
    w.bid(bid)
    w.ask(ask)
    await w.at(1 * MS)


def _pair(peg_buy: Peg | None = MID, peg_sell: Peg | None = MID, quantity: int = 100
          ) -> Callable[[World], Awaitable[None]]:
    """A sells (arrives 1.1 ms), then B buys (arrives 1.2 ms), over a 1000/1010 market."""
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, quantity, peg=peg_sell)
        w.order("B", BUY, quantity, peg=peg_buy)
    return body


# --- prices ------------------------------------------------------------------------------


def test_dark_pool_midpoint_orders_trade_exactly_at_nbbo_mid() -> None:
    w = simulate(_pair(peg_buy=None))  # no peg: a MIDPOINT order
    (a,), (b,) = w.fills("A"), w.fills("B")
    assert (a.last_price, b.last_price) == (1005, 1005)
    assert (a.exec_type, b.exec_type) == (FILL, FILL)
    assert a.t_ns == b.t_ns == 1 * MS + LATENCY["B"]


def test_dark_pool_odd_bid_plus_ask_midpoint_rounds_down_to_integer_tick() -> None:
    async def body(w: World) -> None:
        await _market(w, 1000, 1003)
        w.order("A", SELL, 100)
        w.order("B", BUY, 100)

    w = simulate(body)
    assert [r.last_price for r in w.fills("A") + w.fills("B")] == [1001, 1001]


def test_dark_pool_midpoint_follows_nbbo_change_only_once_pool_receives_it() -> None:
    moved = 2 * MS  # MM moves its ask to 1006 (mid 1003); the pool hears at moved + NBBO_LAG

    async def body(w: World) -> None:
        await _market(w)
        await w.at(1 * MS + 500 * US)
        w.order("A", SELL, 100)  # arrives 1.6 ms
        await w.at(moved + 10 * US - LATENCY["B"])
        w.order("B", BUY, 100)  # arrives moved + 10 us: the lit ask has moved, the pool's not
        await w.at(moved)
        w.ask(1006)
        await w.at(3 * MS)
        w.order("A", SELL, 100)
        w.order("B", BUY, 100)

    w = simulate(body)
    assert [(f.t_ns, f.last_price) for f in w.fills("B")] == [
        (moved + 10 * US, 1005),  # the stale reference: the old mid
        (3 * MS + LATENCY["B"], 1003)]
    assert w.pool.nbbo is not None and w.pool.nbbo.ask_price == 1006


@pytest.mark.parametrize(
    "peg_buy, peg_sell, price",
    [(NEAR, FAR, 1000),  # both at the bid
     (FAR, NEAR, 1010),  # both at the ask
     (FAR, FAR, 1005),  # both willing across the spread: the mid
     (FAR, MID, 1005),  # the aggressive side gets the mid
     (MID, FAR, 1005),
     (NEAR, MID, None),  # bid < mid: no cross
     (MID, NEAR, None),  # mid < ask
     (NEAR, NEAR, None)],  # bid < ask
)
def test_dark_pool_peg_pair_trades_at_expected_price_or_not_at_all(
    peg_buy: Peg, peg_sell: Peg, price: int | None
) -> None:
    w = simulate(_pair(peg_buy, peg_sell))
    prices = {f.last_price for f in w.fills("A") + w.fills("B")}
    assert prices == (set() if price is None else {price})
    assert w.pool.resting_quantity() == (200 if price is None else 0)


def test_dark_pool_buy_limit_below_mid_waits_then_trades_when_nbbo_moves_mid_to_it() -> None:
    moved = 2 * MS

    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100)
        w.order("B", BUY, 100, 1003)  # limit under the mid 1005
        await w.at(moved)
        w.ask(1004)  # mid 1002

    w = simulate(body)
    (a,), (b,) = w.fills("A"), w.fills("B")
    assert (b.t_ns, b.last_price, b.price) == (moved + NBBO_LAG, 1002, 1003)
    assert (a.liquidity, b.liquidity) == (MAKER, MAKER)  # nobody arrived: an NBBO-driven cross


def test_dark_pool_sell_limit_above_mid_trades_only_once_mid_reaches_it() -> None:
    moved = 2 * MS

    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100, 1007)
        w.order("B", BUY, 100)
        await w.at(moved)
        w.ask(1012)  # mid 1006: still under the limit
        await w.at(moved + 1 * MS)
        w.ask(1016)  # mid 1008

    w = simulate(body)
    (a,) = w.fills("A")
    assert (a.t_ns, a.last_price) == (moved + 1 * MS + NBBO_LAG, 1008)
    assert a.last_price >= 1007


def test_dark_pool_limit_caps_midpoint_buy_against_far_sell_never_above_limit() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100, peg=FAR)  # works at the bid, 1000
        w.order("B", BUY, 100, 1003)  # midpoint capped at 1003

    w = simulate(body)
    assert [f.last_price for f in w.fills("B")] == [1003]


# --- priority and minimum quantity -----------------------------------------------------------


def test_dark_pool_time_priority_oldest_contra_fills_first() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("C", SELL, 100)  # arrives 1.3 ms
        w.order("A", SELL, 100)  # arrives 1.1 ms
        await w.at(1 * MS + 200 * US)
        w.order("B", BUY, 100)  # arrives 1.4 ms

    w = simulate(body)
    assert len(w.fills("A")) == 1 and w.fills("C") == []


def test_dark_pool_contra_below_min_quantity_does_not_trade_but_large_enough_one_does() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 1000, min_quantity=300)
        w.order("B", BUY, 200)  # too small for A
        w.order("C", BUY, 400)

    w = simulate(body)
    assert w.fills("B") == []
    (a,) = w.fills("A")
    (c,) = w.fills("C")
    assert (a.last_quantity, a.leaves_quantity, c.exec_type) == (400, 600, FILL)
    assert w.pool.resting_quantity(BUY) == 200


def test_dark_pool_arriving_min_quantity_skips_small_contra_for_large_one() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 200)  # arrives 1.1 ms, first in time
        w.order("C", SELL, 600)  # arrives 1.3 ms
        await w.at(1 * MS + 200 * US)
        w.order("B", BUY, 500, min_quantity=500)  # arrives 1.4 ms

    w = simulate(body)
    assert w.fills("A") == []
    (b,) = w.fills("B")
    assert (b.last_quantity, b.exec_type) == (500, FILL)
    assert w.fills("C")[0].leaves_quantity == 100


def test_dark_pool_leaves_below_min_quantity_take_smaller_execution_and_complete() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 500, min_quantity=300)
        w.order("B", BUY, 200)  # too small while A has 500 left
        w.order("C", BUY, 300)  # A keeps 200 < 300: B's 200 now fits

    w = simulate(body)
    c_arrives = 1 * MS + LATENCY["C"]
    assert [(f.t_ns, f.last_quantity, f.leaves_quantity) for f in w.fills("A")] == [
        (c_arrives, 300, 200), (c_arrives, 200, 0)]
    assert [(f.t_ns, f.exec_type) for f in w.fills("B")] == [(c_arrives, FILL)]
    assert len(w.pool) == 0


# --- censored feedback -----------------------------------------------------------------------


def _child_fills(deep: bool) -> World:
    async def body(w: World) -> None:
        await _market(w)
        if deep:
            w.order("B", SELL, 300)
            w.order("C", SELL, 500)
        else:
            w.order("B", SELL, 100)
        await w.at(2 * MS)
        w.order("A", BUY, 100, order_id=99, time_in_force=IOC)

    return simulate(body)


def test_dark_pool_child_that_fills_completely_learns_nothing_about_remaining_liquidity() -> None:
    deep, shallow = _child_fills(True), _child_fills(False)
    t = 2 * MS + LATENCY["A"]
    assert [m for _, m in deep.inbox["A"].got] == [
        ExecutionReport(t, "DARK", "A", 99, NEW, BUY, None, 100, 0, 0, 100, 0, 0, None, 0, None),
        ExecutionReport(t, "DARK", "A", 99, FILL, BUY, None, 100, 100, 1005, 0, 100, 0, TAKER,
                        1, None),
    ]
    # 700 still rests in the deep pool, none in the shallow one: A cannot tell them apart.
    assert (deep.pool.resting_quantity(SELL), shallow.pool.resting_quantity(SELL)) == (700, 0)
    assert deep.inbox["A"].got == shallow.inbox["A"].got


# --- time in force ---------------------------------------------------------------------------


def test_dark_pool_ioc_remainder_canceled_unfilled_remainder_not_rested() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 60)
        await w.at(1 * MS + 100 * US)
        w.order("B", BUY, 100, time_in_force=IOC)

    w = simulate(body)
    b = w.reports("B")
    assert [(r.exec_type, r.last_quantity, r.leaves_quantity, r.filled_quantity, r.reason)
            for r in b] == [
        (NEW, 0, 100, 0, None), (PARTIAL, 60, 40, 60, None),
        (CANCELED, 0, 0, 60, CancelReason.UNFILLED_REMAINDER)]
    assert len({r.t_ns for r in b}) == 1
    assert w.pool.resting_quantity() == 0


def test_dark_pool_no_nbbo_at_all_day_order_rests_and_ioc_is_canceled() -> None:
    async def body(w: World) -> None:
        w.order("A", SELL, 100)
        w.order("B", BUY, 100, time_in_force=IOC)

    w = simulate(body)
    assert [r.exec_type for r in w.reports("A")] == [NEW]  # accepted, not rejected
    assert [(r.exec_type, r.reason, r.filled_quantity) for r in w.reports("B")] == [
        (NEW, None, 0), (CANCELED, CancelReason.UNFILLED_REMAINDER, 0)]
    assert w.pool.resting_quantity() == 100


def test_dark_pool_fok_and_post_only_rejected_unsupported() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100, time_in_force=TimeInForce.FOK)
        w.order("A", SELL, 100, post_only=True)

    w = simulate(body)
    assert [(r.exec_type, r.reason) for r in w.reports("A")] == [
        (REJECTED, RejectReason.UNSUPPORTED)] * 2


# --- continuous and periodic crossing --------------------------------------------------------


def test_dark_pool_continuous_cross_on_arrival_arriving_taker_resting_maker() -> None:
    w = simulate(_pair())
    (a,), (b,) = w.fills("A"), w.fills("B")
    assert a.t_ns == b.t_ns == 1 * MS + LATENCY["B"]  # the instant B's order arrived
    assert (a.liquidity, b.liquidity) == (MAKER, TAKER)
    (trade,) = w.inbox["MD"].of(TradePrint)
    assert trade.aggressor_side is BUY


def test_dark_pool_periodic_auction_crosses_only_at_auction_times_exact_ns() -> None:
    async def body(w: World) -> None:
        await _market(w)
        await w.at(1 * MS + 200 * US)
        w.order("A", SELL, 100)  # arrives 1.3 ms
        w.order("B", BUY, 100)  # arrives 1.4 ms
        await w.at(2 * MS + 500 * US)
        w.order("C", SELL, 50)  # arrives 2.8 ms
        w.order("A", BUY, 50)  # arrives 2.6 ms

    w = simulate(body, auction_interval_ns=1 * MS)
    assert [(f.t_ns, f.last_quantity) for f in w.fills("B")] == [(2 * MS, 100)]
    assert [(f.t_ns, f.last_quantity) for f in w.fills("C")] == [(3 * MS, 50)]
    assert [(f.t_ns, f.liquidity) for f in w.fills("A")] == [(2 * MS, MAKER), (3 * MS, MAKER)]
    assert w.fills("B")[0].liquidity is MAKER
    assert w.inbox["B"].got[-1][0] == 2 * MS + LATENCY["B"]  # the report's trip back


def test_dark_pool_periodic_auction_grid_starts_at_pool_creation_time() -> None:
    t0 = 300 * US  # the clock, and so the pool, starts here

    async def body(w: World) -> None:
        w.bid(1000)
        w.ask(1010)
        w.order("A", SELL, 100)  # arrives t0 + 100 us
        w.order("B", BUY, 100)

    w = simulate(body, start_ns=t0, auction_interval_ns=1 * MS)
    assert w.pool.created_ns == t0
    assert [f.t_ns for f in w.fills("A") + w.fills("B")] == [t0 + 1 * MS] * 2


def test_dark_pool_periodic_order_arriving_at_auction_instant_waits_for_next_auction() -> None:
    # B's order is on its way (sent 1.8 ms) before A's arrival (1.85 ms) makes the pool
    # set its 2 ms auction timer, so B is delivered first at 2 ms: it must still sit out.
    async def body(w: World) -> None:
        await _market(w, 1000, 1010)
        await w.at(1 * MS + 750 * US)
        w.order("A", SELL, 100)  # arrives 1.85 ms
        await w.at(2 * MS - LATENCY["B"])
        w.order("B", BUY, 100)  # arrives exactly at the 2 ms auction

    w = simulate(body, auction_interval_ns=1 * MS)
    assert [f.t_ns for f in w.fills("A") + w.fills("B")] == [3 * MS] * 2


def test_dark_pool_periodic_ioc_joins_next_auction_then_remainder_canceled() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 60)
        w.order("B", BUY, 100, time_in_force=IOC)  # arrives 1.2 ms
        w.order("C", SELL, 50, time_in_force=IOC, peg=NEAR)  # no contra at its price

    w = simulate(body, auction_interval_ns=1 * MS)
    assert [(r.t_ns, r.exec_type, r.last_quantity, r.reason) for r in w.reports("B")] == [
        (1 * MS + LATENCY["B"], NEW, 0, None),
        (2 * MS, PARTIAL, 60, None),
        (2 * MS, CANCELED, 0, CancelReason.UNFILLED_REMAINDER)]
    assert [(r.t_ns, r.exec_type) for r in w.reports("C")][1:] == [(2 * MS, CANCELED)]
    assert len(w.pool) == 0


def test_dark_pool_one_sided_nbbo_no_cross_until_two_sided_then_cross_at_arrival_of_nbbo() -> None:
    quoted = 2 * MS

    async def body(w: World) -> None:
        w.bid(1000)  # no ask anywhere
        await w.at(1 * MS)
        w.order("A", SELL, 100)
        w.order("B", BUY, 100)
        await w.at(quoted)
        w.ask(1010)

    w = simulate(body)
    (a,), (b,) = w.fills("A"), w.fills("B")
    assert (a.t_ns, a.last_price) == (quoted + NBBO_LAG, 1005)
    (trade,) = w.inbox["MD"].of(TradePrint)
    assert trade.aggressor_side is BUY  # B's order arrived after A's


def test_dark_pool_locked_or_crossed_nbbo_stops_crossing_until_spread_reopens() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.ask(1000)  # locked 1000/1000 (two venues: no lit trade)
        await w.at(2 * MS)
        w.order("A", SELL, 100)
        w.order("B", BUY, 100)
        await w.at(3 * MS)
        w.ask(995)  # crossed
        await w.at(4 * MS)
        w.ask(1010)

    w = simulate(body)
    (a,) = w.fills("A")
    assert (a.t_ns, a.last_price) == (4 * MS + NBBO_LAG, 1005)
    assert w.pool.nbbo is not None and not w.pool.nbbo.is_crossed


def test_dark_pool_same_participant_orders_never_trade_with_each_other() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100)
        w.order("A", BUY, 100)

    w = simulate(body)
    assert w.fills("A") == [] and w.pool.resting_quantity() == 200


# --- trade prints, market data, fees, trade ids ------------------------------------------------


def test_dark_pool_trade_print_published_exactly_print_delay_after_the_trade() -> None:
    delay = 3 * MS
    w = simulate(_pair(), print_delay_ns=delay)
    (b,) = w.fills("B")
    traded = b.t_ns
    assert w.inbox["MD"].got == [
        (traded + delay + MD_LATENCY, TradePrint(traded + delay, "DARK", b.trade_id, 1005, 100, BUY))]
    logged = [e for e in w.logged() if e["type"] == "TradePrint"]
    assert [(e["t"], e["event"], e["at"]) for e in logged] == [(traded + delay, "out", "DARK")]


def test_dark_pool_subscribers_receive_only_trade_prints_no_pre_trade_data() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 300, min_quantity=100)
        keep = w.order("C", BUY, 50, peg=NEAR)
        w.order("B", BUY, 0)  # rejected
        await w.at(2 * MS)
        w.order("B", BUY, 100)
        w.cancel("C", keep)
        await w.at(3 * MS)
        w.ask(1020)

    w = simulate(body)
    got = w.inbox["MD"].got
    assert [type(m) for _, m in got] == [TradePrint]  # nothing on subscribe, no quotes
    assert got[0][0] > 2 * MS  # not before the trade
    outs = {e["type"] for e in w.logged() if e["event"] == "out"}
    assert outs == {"ExecutionReport", "TradePrint"}


def test_dark_pool_fee_per_share_charged_to_both_sides() -> None:
    w = simulate(_pair(), fee=3)
    (a,), (b,) = w.fills("A"), w.fills("B")
    assert (a.fee, b.fee) == (300, 300)
    stats = w.pool.statistics
    assert (stats["A"].fees, stats["B"].fees) == (300, 300)
    assert (stats["A"].maker_volume, stats["B"].taker_volume) == (100, 100)
    assert (stats["A"].sold_notional, stats["B"].bought_notional) == (100_500, 100_500)


def test_dark_pool_both_sides_and_print_share_trade_id_distinct_per_trade() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100)
        w.order("B", BUY, 40)
        w.order("C", BUY, 60)

    w = simulate(body)
    a = [f.trade_id for f in w.fills("A")]
    others = [f.trade_id for f in w.fills("B") + w.fills("C")]
    prints = [p.trade_id for p in w.inbox["MD"].of(TradePrint)]
    assert a == others == prints and len(set(a)) == 2 and 0 not in a


# --- conservation ----------------------------------------------------------------------------


def _random_flow(seed: int) -> Callable[[World], Awaitable[None]]:
    rng = np.random.default_rng(seed)

    async def body(w: World) -> None:
        await _market(w)
        live: list[tuple[str, int]] = []
        for step in range(150):
            await w.at(1 * MS + step * 50 * US)
            if step % 25 == 10:
                w.ask(int(rng.choice([1004, 1010, 1016])))
            participant = str(rng.choice(["A", "B", "C"]))
            if live and rng.random() < 0.15:
                who, order_id = live.pop(int(rng.integers(len(live))))
                w.cancel(who, order_id)
                continue
            quantity = int(rng.integers(1, 30)) * LOT
            min_quantity = int(rng.integers(0, quantity // LOT + 1)) * LOT if rng.random() < 0.4 else 0
            limit = int(rng.integers(1000, 1011)) if rng.random() < 0.3 else None
            peg = [MID, NEAR, FAR, None][int(rng.integers(4))]
            tif = IOC if rng.random() < 0.2 else TimeInForce.DAY
            order_id = w.order(participant, BUY if rng.random() < 0.5 else SELL, quantity, limit,
                               min_quantity=min_quantity, peg=peg, time_in_force=tif)
            live.append((participant, order_id))

    return body


@pytest.mark.parametrize("interval", [0, 300 * US])
def test_dark_pool_conservation_every_order_quantity_is_filled_resting_or_canceled(
    interval: int
) -> None:
    w = simulate(_random_flow(7), auction_interval_ns=interval)
    last: dict[int, ExecutionReport] = {}
    filled: dict[int, int] = {}
    bought = sold = 0
    for name in LATENCY:
        for r in w.reports(name):
            assert r.exec_type is not REJECTED
            last[r.order_id] = r
            filled[r.order_id] = filled.get(r.order_id, 0) + r.last_quantity
            if r.last_quantity:
                if r.price is not None:  # a limit is never traded through
                    assert r.last_price <= r.price if r.side is BUY else r.last_price >= r.price
                if r.side is BUY:
                    bought += r.last_quantity
                else:
                    sold += r.last_quantity
    resting = canceled = 0
    for order_id, r in last.items():
        assert r.filled_quantity == filled[order_id] <= r.quantity
        leaves = 0 if r.exec_type is CANCELED else r.leaves_quantity
        cancel = r.quantity - r.filled_quantity if r.exec_type is CANCELED else 0
        assert r.quantity == r.filled_quantity + leaves + cancel
        resting += leaves
        canceled += cancel
    assert resting == w.pool.resting_quantity()
    assert bought == sold == w.pool.traded_quantity > 0
    assert canceled > 0


def test_dark_pool_continuous_after_random_flow_no_two_resting_orders_could_trade() -> None:
    w = simulate(_random_flow(11))
    # White-box: the ordering invariant is about the pool's private state.
    reference = w.pool._reference
    assert reference is not None
    bid, ask, mid = reference
    orders = list(w.pool._orders.values())
    assert len(orders) > 5

    def working(o: Any) -> int:
        if o.side is BUY:
            peg = {MID: mid, NEAR: bid, FAR: ask}[o.peg]
            return peg if o.limit is None else min(peg, o.limit)
        peg = {MID: mid, NEAR: ask, FAR: bid}[o.peg]
        return peg if o.limit is None else max(peg, o.limit)

    for b in (o for o in orders if o.side is BUY):
        for s in (o for o in orders if o.side is SELL):
            size = min(b.leaves, s.leaves)
            assert (b.participant == s.participant or working(b) < working(s)
                    or size < min(b.min_quantity, b.leaves) or size < min(s.min_quantity, s.leaves))


def test_dark_pool_same_flow_twice_gives_byte_identical_event_log() -> None:
    first, second = simulate(_random_flow(5)), simulate(_random_flow(5))
    assert first.log.digest == second.log.digest and first.log.events > 300


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "side, quantity, price, kwargs, reason",
    [(BUY, 0, None, {}, RejectReason.INVALID_QUANTITY),
     (BUY, 15, None, {}, RejectReason.NOT_LOT_MULTIPLE),
     (BUY, 10.0, None, {}, RejectReason.INVALID_QUANTITY),
     (BUY, 10, -5, {}, RejectReason.INVALID_PRICE),
     (BUY, 10, 1003, {}, RejectReason.OFF_TICK),
     (BUY, 10, 1000, {"order_type": OrderType.MARKET}, RejectReason.INVALID_PRICE),
     (BUY, 10, None, {"order_type": "limit"}, RejectReason.INVALID_ORDER_TYPE),
     (BUY, 10, None, {"time_in_force": "gtc"}, RejectReason.INVALID_TIME_IN_FORCE),
     (BUY, 10, None, {"peg": "mid"}, RejectReason.UNSUPPORTED),
     (BUY, 100, None, {"min_quantity": 5}, RejectReason.INVALID_MIN_QUANTITY),
     (BUY, 100, None, {"min_quantity": 200}, RejectReason.INVALID_MIN_QUANTITY),
     (BUY, 100, None, {"min_quantity": -10}, RejectReason.INVALID_MIN_QUANTITY),
     ("buy", 10, None, {}, RejectReason.INVALID_SIDE),
     (BUY, 10, None, {"order_id": "x"}, RejectReason.INVALID_ORDER_ID)],
)
def test_dark_pool_bad_order_rejected_with_reason_and_pool_keeps_crossing(
    side: Any, quantity: Any, price: Any, kwargs: dict[str, Any], reason: RejectReason
) -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("B", side, quantity, price, **kwargs)
        w.order("A", SELL, 100)
        await w.at(2 * MS)
        w.order("B", BUY, 100)

    w = simulate(body, tick_size=5)
    bad, *rest = w.reports("B")
    assert (bad.exec_type, bad.reason, bad.leaves_quantity, bad.last_quantity) == (
        REJECTED, reason, 0, 0)
    assert [r.exec_type for r in rest] == [NEW, FILL]
    assert w.pool.statistics["B"].rejects == 1 and w.pool.trades == 1


def test_dark_pool_duplicate_live_order_id_rejected() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.order("A", SELL, 100, order_id=5)
        w.order("B", SELL, 100, order_id=5)

    w = simulate(body)
    (report,) = w.reports("B")
    assert (report.exec_type, report.reason) == (REJECTED, RejectReason.DUPLICATE_ORDER_ID)
    assert w.pool.resting_quantity() == 100


def test_dark_pool_cancel_own_order_canceled_others_unknown_replace_unsupported() -> None:
    async def body(w: World) -> None:
        await _market(w)
        mine = w.order("A", SELL, 100, min_quantity=50)
        await w.at(2 * MS)
        w.cancel("B", mine)  # not B's order
        w.send("A", ReplaceOrder(w.clock.now_ns(), "A", mine, 50, 1000))
        w.cancel("A", mine)
        await w.at(3 * MS)
        w.cancel("A", mine)  # already gone
        w.cancel("A", "bad id")

    w = simulate(body)
    assert [(r.exec_type, r.reason, r.leaves_quantity) for r in w.reports("A")] == [
        (NEW, None, 100), (CANCELED, CancelReason.REQUESTED, 0)]
    assert [(r.reason, r.request) for r in w.inbox["A"].of(CancelRejected)] == [
        (RejectReason.UNSUPPORTED, "replace"), (RejectReason.UNKNOWN_ORDER, "cancel"),
        (RejectReason.UNKNOWN_ORDER, "cancel")]
    assert [(r.reason, r.request) for r in w.inbox["B"].of(CancelRejected)] == [
        (RejectReason.UNKNOWN_ORDER, "cancel")]
    assert len(w.pool) == 0


def test_dark_pool_unknown_message_type_gets_message_rejected_and_pool_keeps_working() -> None:
    async def body(w: World) -> None:
        await _market(w)
        w.send("A", "not a message")
        w.order("A", SELL, 100)
        w.order("B", BUY, 100)

    w = simulate(body)
    (reject,) = w.inbox["A"].of(MessageRejected)
    assert reject.reason is RejectReason.UNKNOWN_MESSAGE
    assert [f.exec_type for f in w.fills("A")] == [FILL]


def test_dark_pool_bad_configuration_raises_naming_the_field() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="auction_interval_ns was -1"):
            DarkPool("D", current_clock(), auction_interval_ns=-1)
        with pytest.raises(ValueError, match="lot_size was 0"):
            DarkPool("D", current_clock(), lot_size=0)

    run(main())


# --- event log and agents ----------------------------------------------------------------------


def test_dark_pool_event_log_records_nbbo_in_at_arrival_and_outputs_at_their_time() -> None:
    w = simulate(_pair(), print_delay_ns=1 * MS)
    logged = w.logged()
    nbbos = [e for e in logged if e["type"] == "NBBO"]
    assert nbbos and all(e["event"] == "in" and e["at"] == "DARK" for e in nbbos)
    assert nbbos[-1]["t"] == NBBO_LAG and nbbos[-1]["msg"]["ask_price"] == 1010
    for e in logged:
        if e["event"] == "out":
            assert e["t"] == e["msg"]["t_ns"]
    assert [e["t"] for e in logged] == sorted(e["t"] for e in logged)


class Trader(Agent):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reports: list[ExecutionReport] = []

    def on_execution_report(self, report: ExecutionReport) -> None:
        self.reports.append(report)


def test_dark_pool_agents_trade_through_agent_api_with_peg_and_min_quantity() -> None:
    agents: list[Trader] = []

    async def body(w: World) -> None:
        ids, streams = OrderIds(1000), RngStreams(0)
        for name in ("BUYER", "SELLER"):
            agent = Trader(name)
            agent.attach(AgentContext(w.clock, streams.stream(name), ids))
            agent.connect(w.pool, Latency(fixed_ns=10 * US))
            agents.append(agent)
        await _market(w)
        agents[1].submit_order("DARK", SELL, 200, min_quantity=100, peg=FAR)
        agents[0].submit_order("DARK", BUY, 100, 1008, peg=MID)

    w = simulate(body, fee=1)
    buyer, seller = agents
    assert (buyer.position, seller.position) == (100, -100)
    assert buyer.cash == -(100 * 1005) - 100 and buyer.fees == 100
    assert seller.live_orders  # 100 still working, unseen by anyone else
    assert w.pool.resting_quantity(SELL) == 100
