"""market.consolidated_feed: the NBBO across real lit exchanges on the virtual clock — best
price with summed size and venue lists, the lag behind a direct venue feed (exact ns),
publication only on change, empty sides, locked and crossed markets (also the transient
cross a stale quote makes), snapshots on subscribe, jitter, and the event log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from market.clock import Clock, current_clock, run
from market.consolidated_feed import NBBO, ConsolidatedFeed
from market.event_log import EventLog
from market.link import Latency
from market.messages import (
    BookUpdate,
    CancelOrder,
    L1Snapshot,
    L2Snapshot,
    NewOrder,
    ReplaceOrder,
    Side,
    TradePrint,
)
from market.rng import RngStreams
from venues.lit_exchange import LitExchange
from venues.venue import Session

US = 1_000
MS = 1_000_000
BUY, SELL = Side.BUY, Side.SELL

# venue -> (tick size, trader T's one-way latency, venue->feed latency)
VENUES = {"X1": (1, 10 * US, 300 * US), "X2": (5, 20 * US, 400 * US), "X3": (10, 30 * US, 500 * US)}
PUBLICATION = 200 * US  # the feed's own latency
S1_LATENCY = 50 * US  # feed subscriber S1 (S0 has none)
DIRECT = 20 * US  # participant HFT subscribes to X1 directly
EMPTY = (None, 0, None, 0, (), ())  # an NBBO's fields after t_ns, nothing quoted


class Inbox:
    """A handler that keeps (arrival t_ns, message)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.got: list[tuple[int, Any]] = []

    def __call__(self, message: Any) -> None:
        self.got.append((self.clock.now_ns(), message))

    def after(self, t_ns: int, cls: type = NBBO) -> list[tuple[int, Any]]:
        return [(t, m) for t, m in self.got if t > t_ns and type(m) is cls]


class World:
    """Three lit exchanges, trader T on each, the feed on all three, HFT on X1 directly."""

    def __init__(self, clock: Clock, *, event_log: EventLog | None = None) -> None:
        self.clock = clock
        self.venues = {name: LitExchange(name, clock, tick_size=tick)
                       for name, (tick, _, _) in VENUES.items()}
        self.feed = ConsolidatedFeed("SIP", clock, Latency(fixed_ns=PUBLICATION),
                                     event_log=event_log)
        self.replies = Inbox(clock)
        self.sessions: dict[str, Session] = {}
        for name, (_, trader, to_feed) in VENUES.items():
            venue = self.venues[name]
            self.sessions[name] = venue.connect("T", self.replies, Latency(fixed_ns=trader))
            venue.subscribe("SIP", self.feed.on_market_data, Latency(fixed_ns=to_feed))
        self.hft = Inbox(clock)
        self.venues["X1"].subscribe("HFT", self.hft, Latency(fixed_ns=DIRECT))
        self.s0, self.s1 = Inbox(clock), Inbox(clock)
        self.feed.subscribe("S0", self.s0)
        self.feed.subscribe("S1", self.s1, Latency(fixed_ns=S1_LATENCY))
        self._next_id = 1

    def order(self, venue: str, side: Side, quantity: int, price: int) -> int:
        order_id = self._next_id
        self._next_id += 1
        self.sessions[venue].send(NewOrder(self.clock.now_ns(), "T", order_id, side,
                                           quantity, price))
        return order_id

    def cancel(self, venue: str, order_id: int) -> None:
        self.sessions[venue].send(CancelOrder(self.clock.now_ns(), "T", order_id))

    def replace(self, venue: str, order_id: int, quantity: int, price: int) -> None:
        self.sessions[venue].send(ReplaceOrder(self.clock.now_ns(), "T", order_id,
                                               quantity, price))

    async def at(self, t_ns: int) -> None:
        await asyncio.sleep((t_ns - self.clock.now_ns()) / 1e9)
        assert self.clock.now_ns() == t_ns


def simulate(body: Callable[[World], Awaitable[None]], **kwargs: Any) -> World:
    holder: list[World] = []

    async def main() -> None:
        world = World(current_clock(), **kwargs)
        holder.append(world)
        await body(world)
        await asyncio.sleep(0.1)  # everything in flight arrives

    run(main())
    return holder[0]


def at_venue(venue: str, sent_ns: int) -> int:
    """When an order T sends at `sent_ns` is processed by `venue`."""
    return sent_ns + VENUES[venue][1]


def at_feed(venue: str, sent_ns: int) -> int:
    """When the feed hears the market data of that order (the NBBO's t_ns)."""
    return at_venue(venue, sent_ns) + VENUES[venue][2]


# --- the NBBO ---------------------------------------------------------------------------


async def _three_venue_market(w: World) -> None:
    w.order("X1", BUY, 100, 1000)
    w.order("X1", SELL, 50, 1010)
    w.order("X2", BUY, 200, 1000)
    w.order("X2", SELL, 40, 1015)
    w.order("X3", BUY, 300, 990)
    w.order("X3", SELL, 70, 1010)


def test_consolidated_feed_three_venues_nbbo_is_best_price_with_summed_size_and_venues() -> None:
    w = simulate(_three_venue_market)
    expected = NBBO(at_feed("X3", 0), 1000, 300, 1010, 120, ("X1", "X2"), ("X1", "X3"))
    assert w.feed.nbbo == expected
    assert w.s0.got[-1] == (at_feed("X3", 0) + PUBLICATION, expected)
    assert w.s1.got[-1] == (at_feed("X3", 0) + PUBLICATION + S1_LATENCY, expected)
    assert w.feed.venues == ("X1", "X2", "X3")
    assert not w.feed.is_crossed and not w.feed.is_locked


def test_consolidated_feed_each_venue_update_publishes_nbbo_in_computation_order() -> None:
    w = simulate(_three_venue_market)
    x1, x2, x3 = at_feed("X1", 0), at_feed("X2", 0), at_feed("X3", 0)
    # X2's ask 1015 and X3's bid 990 are off the best: their L1s publish nothing.
    fields = [tuple(m)[1:] for _, m in w.s0.got]
    assert fields == [
        EMPTY,
        (1000, 100, None, 0, ("X1",), ()),
        (1000, 100, 1010, 50, ("X1",), ("X1",)),
        (1000, 300, 1010, 50, ("X1", "X2"), ("X1",)),
        (1000, 300, 1010, 120, ("X1", "X2"), ("X1", "X3")),
    ]
    assert [m.t_ns for _, m in w.s0.got] == [0, x1, x1, x2, x3]
    assert [t for t, _ in w.s0.got] == [0] + [t + PUBLICATION for t in (x1, x1, x2, x3)]
    assert w.feed.publications == 4
    assert w.feed.updates == 3 + 6  # each venue's L2 snapshot on subscribe, one L1 per order


def test_consolidated_feed_venue_tuples_sorted_whatever_order_venues_first_spoke() -> None:
    seen: list[NBBO] = []

    async def main() -> None:
        feed = ConsolidatedFeed("SIP", current_clock())
        for venue in ("ZED", "ALPHA", "MID"):
            feed.on_market_data(L1Snapshot(0, venue, 1000, 10, 1001, 5))
        seen.append(feed.nbbo)

    run(main())
    assert seen == [NBBO(0, 1000, 30, 1001, 15, ("ALPHA", "MID", "ZED"), ("ALPHA", "MID", "ZED"))]


# --- lag behind a direct feed --------------------------------------------------------------


def test_consolidated_feed_lag_direct_subscriber_sees_change_before_nbbo_exact_times() -> None:
    t0 = 1 * MS

    async def body(w: World) -> None:
        w.order("X1", BUY, 100, 1000)
        w.order("X1", SELL, 100, 1010)
        w.order("X2", BUY, 100, 995)
        await w.at(t0)
        w.order("X1", BUY, 50, 1005)  # improves the best bid

    w = simulate(body)
    changed = at_venue("X1", t0)  # X1's book changes at t0 + 10 us
    assert w.hft.after(t0, L1Snapshot) == [
        (changed + DIRECT, L1Snapshot(changed, "X1", 1005, 50, 1010, 100))]
    nbbo = NBBO(changed + VENUES["X1"][2], 1005, 50, 1010, 100, ("X1",), ("X1",))
    assert w.s0.after(t0) == [(changed + VENUES["X1"][2] + PUBLICATION, nbbo)]
    assert w.s1.after(t0) == [(changed + VENUES["X1"][2] + PUBLICATION + S1_LATENCY, nbbo)]
    assert w.hft.after(t0, L1Snapshot)[0][0] < w.s0.after(t0)[0][0]  # 500 us ahead


# --- publication only on change ------------------------------------------------------------


async def _market_then(w: World, change: Callable[[World], object]) -> None:
    w.order("X1", BUY, 100, 1000)
    w.order("X1", SELL, 100, 1010)
    w.order("X2", BUY, 100, 990)
    w.order("X2", SELL, 100, 1020)
    await w.at(1 * MS)
    change(w)


@pytest.mark.parametrize(
    "venue, side, price",
    [("X2", BUY, 995),  # X2's own top improves, still below the best bid
     ("X2", SELL, 1015),  # X2's own top improves, still above the best ask
     ("X1", BUY, 999)],  # behind X1's top: X1 does not even send an L1
)
def test_consolidated_feed_change_off_the_nbbo_publishes_nothing(
    venue: str, side: Side, price: int
) -> None:
    w = simulate(lambda w: _market_then(w, lambda w: w.order(venue, side, 10, price)))
    assert w.s0.after(1 * MS) == [] and w.s1.after(1 * MS) == []
    assert w.feed.nbbo == NBBO(at_feed("X1", 0), 1000, 100, 1010, 100, ("X1",), ("X1",))
    assert w.feed.publications == 2  # X1's bid, then its ask; X2's quotes never were best
    # 3 L2 snapshots on subscribe + 4 L1s, + X2's new L1, which did reach the feed
    expected_updates = 7 if venue == "X1" else 8
    assert w.feed.updates == expected_updates


def test_consolidated_feed_size_change_at_the_best_price_publishes() -> None:
    w = simulate(lambda w: _market_then(w, lambda w: w.order("X2", BUY, 30, 1000)))
    t = at_feed("X2", 1 * MS)
    assert w.s0.after(1 * MS) == [
        (t + PUBLICATION, NBBO(t, 1000, 130, 1010, 100, ("X1", "X2"), ("X1",)))]


# --- empty sides -----------------------------------------------------------------------------


def test_consolidated_feed_only_bid_cancelled_bid_side_is_none_with_no_venues() -> None:
    async def body(w: World) -> None:
        bid = w.order("X1", BUY, 100, 1000)
        w.order("X2", SELL, 50, 1010)
        await w.at(1 * MS)
        w.cancel("X1", bid)

    w = simulate(body)
    t = at_feed("X1", 1 * MS)
    assert w.s0.after(1 * MS) == [(t + PUBLICATION, NBBO(t, None, 0, 1010, 50, (), ("X2",)))]
    assert w.feed.nbbo.bid_price is None
    assert not w.feed.is_crossed and not w.feed.is_locked


def test_consolidated_feed_before_any_quote_subscriber_snapshot_is_empty() -> None:
    w = simulate(lambda w: w.at(0))
    assert w.s0.got == [(0, NBBO(0, *EMPTY))]
    assert w.s1.got == [(S1_LATENCY, NBBO(0, *EMPTY))]
    assert w.feed.publications == 0


# --- locked and crossed ----------------------------------------------------------------------


def test_consolidated_feed_ask_moved_onto_then_through_other_venue_bid_locked_then_crossed() -> None:
    flags: list[tuple[bool, bool]] = []

    async def body(w: World) -> None:
        w.order("X1", BUY, 100, 1000)
        ask = w.order("X2", SELL, 100, 1005)
        await w.at(1 * MS)
        flags.append((w.feed.is_locked, w.feed.is_crossed))
        w.replace("X2", ask, 100, 1000)  # X2's ask on X1's bid: no trade, different venues
        await w.at(2 * MS)
        flags.append((w.feed.is_locked, w.feed.is_crossed))
        w.replace("X2", ask, 100, 995)
        await w.at(3 * MS)
        flags.append((w.feed.is_locked, w.feed.is_crossed))

    w = simulate(body)
    assert flags == [(False, False), (True, False), (False, True)]
    got = [m for _, m in w.s0.after(1 * MS)]
    assert [(m.bid_price, m.ask_price, m.is_locked, m.is_crossed) for m in got] == [
        (1000, 1000, True, False), (1000, 995, False, True)]
    assert [(m.bid_venues, m.ask_venues) for m in got] == [(("X1",), ("X2",))] * 2


def test_consolidated_feed_stale_quote_on_slow_link_shows_transient_cross_not_hidden() -> None:
    """T cancels X3's ask 1010 and bids 1020 on X1 at once. The books are never crossed, but
    X1's bid reaches the feed 200 us before X3's cancel: the NBBO is crossed in between."""
    t0 = 1 * MS

    async def body(w: World) -> None:
        ask = w.order("X3", SELL, 100, 1010)
        await w.at(t0)
        w.cancel("X3", ask)
        w.order("X1", BUY, 50, 1020)

    w = simulate(body)
    x1, x3 = at_feed("X1", t0), at_feed("X3", t0)
    assert x1 < x3
    assert w.s0.after(t0) == [
        (x1 + PUBLICATION, NBBO(x1, 1020, 50, 1010, 100, ("X1",), ("X3",))),
        (x3 + PUBLICATION, NBBO(x3, 1020, 50, None, 0, ("X1",), ())),
    ]
    assert [m.is_crossed for _, m in w.s0.after(t0)] == [True, False]
    assert w.venues["X1"].book.best_ask is None and w.venues["X3"].book.best_bid is None


# --- snapshots, wiring and inputs ---------------------------------------------------------------


def test_consolidated_feed_subscriber_joining_mid_publication_gets_last_published_then_rest() -> None:
    late = 400 * US  # after the feed computed X1's NBBO (310 us), before it left (510 us)
    inbox: list[Inbox] = []

    async def body(w: World) -> None:
        w.order("X1", BUY, 100, 1000)
        await w.at(late)
        inbox.append(Inbox(w.clock))
        w.feed.subscribe("LATE", inbox[0], Latency(fixed_ns=7))

    simulate(body)
    x1 = at_feed("X1", 0)
    assert inbox[0].got == [
        (late + 7, NBBO(late, *EMPTY)),  # nothing had left the publication stage yet
        (x1 + PUBLICATION + 7, NBBO(x1, 1000, 100, None, 0, ("X1",), ())),
    ]


def test_consolidated_feed_subscriber_joining_later_gets_current_nbbo_restamped() -> None:
    inbox: list[Inbox] = []

    async def body(w: World) -> None:
        await _three_venue_market(w)
        await w.at(2 * MS)
        inbox.append(Inbox(w.clock))
        w.feed.subscribe("LATE", inbox[0], Latency(fixed_ns=7))

    w = simulate(body)
    assert inbox[0].got == [(2 * MS + 7, w.feed.nbbo._replace(t_ns=2 * MS))]


def test_consolidated_feed_wired_to_venue_with_resting_orders_takes_top_from_l2_snapshot() -> None:
    feeds: list[ConsolidatedFeed] = []

    async def body(w: World) -> None:
        w.order("X2", BUY, 100, 995)
        w.order("X2", BUY, 100, 990)
        w.order("X2", SELL, 40, 1005)
        await w.at(1 * MS)
        feed = ConsolidatedFeed("SIP2", w.clock)
        feeds.append(feed)
        w.venues["X2"].subscribe("SIP2", feed.on_market_data, Latency(fixed_ns=3 * US))

    simulate(body)
    assert feeds[0].nbbo == NBBO(1 * MS + 3 * US, 995, 100, 1005, 40, ("X2",), ("X2",))


def test_consolidated_feed_other_messages_and_older_updates_are_ignored() -> None:
    seen: list[tuple[NBBO, int]] = []

    async def main() -> None:
        feed = ConsolidatedFeed("SIP", current_clock())
        feed.on_market_data(L1Snapshot(5, "A", 1000, 10, 1002, 10))
        feed.on_market_data(L1Snapshot(3, "A", 990, 10, 1001, 10))  # older than held
        feed.on_market_data(TradePrint(6, "A", 1, 1002, 10, BUY))
        feed.on_market_data(BookUpdate(6, "A", ((SELL, 1002, 0),)))
        feed.on_market_data(L2Snapshot(2, "A", (), ()))  # older than held
        feed.on_market_data("not market data")
        seen.append((feed.nbbo, feed.updates))

    run(main())
    assert seen == [(NBBO(0, 1000, 10, 1002, 10, ("A",), ("A",)), 1)]


def test_consolidated_feed_same_subscriber_twice_raises() -> None:
    async def main() -> None:
        feed = ConsolidatedFeed("SIP", current_clock())
        feed.subscribe("S", lambda m: None)
        with pytest.raises(ValueError, match="'S' is already subscribed"):
            feed.subscribe("S", lambda m: None)

    run(main())


def test_consolidated_feed_jitter_without_random_stream_raises() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="jitter"):
            ConsolidatedFeed("SIP", current_clock(), Latency(fixed_ns=10, jitter_ns=5))

    run(main())


def _jittered(seed: int) -> list[tuple[int, NBBO]]:
    got: list[tuple[int, NBBO]] = []

    async def main() -> None:
        clock = current_clock()
        feed = ConsolidatedFeed("SIP", clock, Latency(fixed_ns=100 * US, jitter_ns=40 * US),
                                RngStreams(seed).stream("feed/SIP"))
        feed.subscribe("S", lambda m: got.append((clock.now_ns(), m)) if m.t_ns else None)
        for i in range(1, 41):
            await asyncio.sleep(5e-6)
            feed.on_market_data(L1Snapshot(clock.now_ns(), "A", 1000 + i, 1, 2000, 1))
        await asyncio.sleep(0.1)

    run(main())
    return got


def test_consolidated_feed_publication_jitter_same_seed_same_times_fifo_and_at_least_fixed() -> None:
    a, b, c = _jittered(3), _jittered(3), _jittered(4)
    assert a == b and a != c
    assert [m.bid_price for _, m in a] == list(range(1001, 1041))  # FIFO, none lost
    assert all(t >= m.t_ns + 100 * US for t, m in a)
    assert len({t - m.t_ns for t, m in a}) > 1  # the jitter did something


# --- event log ----------------------------------------------------------------------------------


def test_consolidated_feed_event_log_records_each_nbbo_once_at_its_time() -> None:
    log = EventLog(None, scenario="sip", seed=0, version="test", keep_lines=True)
    w = simulate(_three_venue_market, event_log=log)
    log.close()
    assert log.lines is not None
    events = [orjson.loads(line) for line in log.lines[1:-1]]
    assert {(e["event"], e["at"], e["type"]) for e in events} == {("out", "SIP", "NBBO")}
    assert all(e["t"] == e["msg"]["t_ns"] for e in events)
    assert len(events) == w.feed.publications + 2  # + the two subscribe snapshots
    assert events[-1]["msg"] == {
        "t_ns": at_feed("X3", 0), "bid_price": 1000, "bid_quantity": 300, "ask_price": 1010,
        "ask_quantity": 120, "bid_venues": ["X1", "X2"], "ask_venues": ["X1", "X3"]}
