"""venues.single_dealer_platform: a dealer priced off a real lit exchange through a real
consolidated feed — tiered streaming with inventory skew, RFQs, TTL expiry to the
nanosecond, last look against NBBO moves made by trading on the lit venue, hold times,
statistics, bad input, the agent base's accounts, and the event log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from agents.agent import Agent, AgentContext, OrderIds
from market.clock import Clock, current_clock, run
from market.consolidated_feed import ConsolidatedFeed
from market.event_log import EventLog
from market.link import Latency
from market.messages import (
    AcceptQuote,
    CancelOrder,
    CancelRejected,
    ExecType,
    ExecutionReport,
    Liquidity,
    MessageRejected,
    NewOrder,
    Quote,
    QuoteRequest,
    RejectReason,
    Side,
    TradePrint,
)
from market.rng import RngStreams
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform
from venues.venue import Session

US = 1_000
MS = 1_000_000
BUY, SELL = Side.BUY, Side.SELL

LIT_LATENCY = 10 * US  # MM and T to LIT1, one way
LIT_TO_FEED = 5 * US
FEED_TO_DEALER = 5 * US
NBBO_LAG = LIT_LATENCY + LIT_TO_FEED + FEED_TO_DEALER  # a lit order's effect reaches the dealer
LATENCY = {"A": 100 * US, "B": 200 * US}  # dealer clients, one way
MD_LATENCY = 50 * US  # dealer market-data subscriber C
AGENT_LATENCY = 100 * US  # the agent K

HOLD = 1 * MS
QUOTE_TTL = 10 * MS
RFQ_TTL = 5 * MS
FEE = 1  # ticks per share
DEALER: dict[str, Any] = {
    "tiers": ((100, 1), (500, 3), (1000, 6)),
    "quote_ttl_ns": QUOTE_TTL,
    "rfq_ttl_ns": RFQ_TTL,
    "last_look_hold_ns": HOLD,
    "last_look_threshold_ticks": 2,
    "fee_per_share": FEE,
}
# The book MM rests at t=0: bids 995, 985 and asks 1005, 1015 (mid 1000).
FIRST_QUOTE_AT = NBBO_LAG
FIRST_TIERS = ((100, 999, 1001), (500, 997, 1003), (1000, 994, 1006))


class Inbox:
    """A participant's handler: keeps (arrival t_ns, message)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.got: list[tuple[int, Any]] = []

    def __call__(self, message: Any) -> None:
        self.got.append((self.clock.now_ns(), message))

    def of(self, cls: type) -> list[Any]:
        return [m for _, m in self.got if type(m) is cls]


class Client(Agent):
    """An agent that keeps what the dealer sent it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.quotes: list[Quote] = []
        self.streamed: list[Quote] = []
        self.reports: list[ExecutionReport] = []

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_market_data(self, message: Any) -> None:
        if type(message) is Quote:
            self.streamed.append(message)

    def on_execution_report(self, report: ExecutionReport) -> None:
        self.reports.append(report)


class World:
    """LIT1 -> SIP -> SDP1; MM and T trade on LIT1; A, B (raw sessions) and K (an agent)
    trade with SDP1; C subscribes to SDP1's market data."""

    def __init__(self, clock: Clock, dealer: dict[str, Any]) -> None:
        self.clock = clock
        self.log = EventLog(None, scenario="sdp", seed=0, version="test", keep_lines=True)
        self.lit = LitExchange("LIT1", clock, event_log=self.log)
        self.feed = ConsolidatedFeed("SIP", clock, event_log=self.log)
        self.lit.subscribe("SIP", self.feed.on_market_data, Latency(fixed_ns=LIT_TO_FEED))
        self.dealer = SingleDealerPlatform("SDP1", clock, event_log=self.log,
                                           **{**DEALER, **dealer})
        self.feed.subscribe("SDP1", self.dealer.on_nbbo, Latency(fixed_ns=FEED_TO_DEALER))
        self.lit_inbox = Inbox(clock)
        self.lit_sessions = {name: self.lit.connect(name, self.lit_inbox,
                                                    Latency(fixed_ns=LIT_LATENCY))
                             for name in ("MM", "T")}
        self.inbox = {name: Inbox(clock) for name in (*LATENCY, "C")}
        self.sessions: dict[str, Session] = {
            name: self.dealer.connect(name, self.inbox[name], Latency(fixed_ns=latency))
            for name, latency in LATENCY.items()
        }
        self.dealer.subscribe("C", self.inbox["C"], Latency(fixed_ns=MD_LATENCY))
        self.k = Client("K")
        self.k.attach(AgentContext(clock, RngStreams(0).stream("agent/K"), OrderIds(5000)))
        self.k.connect(self.dealer, Latency(fixed_ns=AGENT_LATENCY))
        self.sent: list[tuple[str, Any]] = []
        self._lit_id = 9000

    def lit_order(self, participant: str, side: Side, quantity: int, price: int) -> None:
        self._lit_id += 1
        self.lit_sessions[participant].send(NewOrder(self.clock.now_ns(), participant,
                                                     self._lit_id, side, quantity, price))

    def book(self) -> None:
        for side, price in ((BUY, 995), (SELL, 1005), (BUY, 985), (SELL, 1015)):
            self.lit_order("MM", side, 100, price)

    def send(self, participant: str, message: Any) -> None:
        self.sent.append((participant, message))
        self.sessions[participant].send(message)

    def rfq(self, participant: str, request_id: Any, side: Any, quantity: Any) -> None:
        self.send(participant, QuoteRequest(self.clock.now_ns(), participant, request_id, side,
                                            quantity))

    def accept(self, participant: str, order_id: Any, quote_id: Any, side: Any, quantity: Any,
               price: Any) -> None:
        self.send(participant, AcceptQuote(self.clock.now_ns(), participant, order_id, quote_id,
                                           side, quantity, price))

    async def at(self, t_ns: int) -> None:
        await asyncio.sleep((t_ns - self.clock.now_ns()) / 1e9)
        assert self.clock.now_ns() == t_ns

    def streamed(self) -> list[tuple[int, Quote]]:
        """(arrival at C, quote) for every streamed quote."""
        return [(t, m) for t, m in self.inbox["C"].got if type(m) is Quote]

    def reports(self, participant: str) -> list[ExecutionReport]:
        return self.inbox[participant].of(ExecutionReport)

    def logged(self, at: str = "SDP1") -> list[dict[str, Any]]:
        assert self.log.lines is not None
        return [e for e in map(orjson.loads, self.log.lines[1:-1]) if e["at"] == at]


def simulate(body: Callable[[World], Awaitable[None]], *, book: bool = True,
             **dealer: Any) -> World:
    holder: list[World] = []

    async def main() -> None:
        world = World(current_clock(), dealer)
        holder.append(world)
        if book:
            world.book()
        await body(world)
        await asyncio.sleep(0.1)  # everything in flight arrives
        world.log.close()

    run(main())
    return holder[0]


async def _nothing(w: World) -> None:
    pass


def _lift_ask(w: World) -> None:
    """T takes LIT1's 1005 ask: the ask becomes 1015, the mid 1005 (+5)."""
    w.lit_order("T", BUY, 100, 1005)


def _hit_bid(w: World) -> None:
    """T takes LIT1's 995 bid: the bid becomes 985, the mid 995 (-5)."""
    w.lit_order("T", SELL, 100, 995)


# --- streaming -------------------------------------------------------------------------


def test_stream_tiers_widen_with_size_around_the_nbbo_mid() -> None:
    w = simulate(_nothing)
    ((arrived, quote),) = w.streamed()
    assert arrived == FIRST_QUOTE_AT + MD_LATENCY
    assert quote == Quote(FIRST_QUOTE_AT, "SDP1", "", 1, 0, FIRST_TIERS, FIRST_QUOTE_AT + QUOTE_TTL)
    spreads = [ask - bid for _, bid, ask in quote.tiers if bid is not None and ask is not None]
    assert spreads == sorted(spreads) and spreads[0] < spreads[-1]


def test_stream_half_tick_mid_rounds_outward_to_the_tick_grid() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.lit_order("MM", SELL, 100, 1002)  # mid (995 + 1002) / 2 = 998.5

    w = simulate(body, tiers=((100, 1), (500, 4)), tick_size=2)
    last = w.streamed()[-1][1]
    # bid <= 997.5 on the grid of 2 -> 996; ask >= 999.5 -> 1000; 500: 994.5 -> 994, 1002.5 -> 1004
    assert last.tiers == ((100, 996, 1000), (500, 994, 1004))


def test_stream_unchanged_prices_publish_nothing() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.lit_order("MM", BUY, 100, 995)  # NBBO size changes, the mid does not

    w = simulate(body)
    assert w.dealer.nbbo_updates >= 3
    assert [q.quote_id for _, q in w.streamed()] == [1]


def test_stream_reference_move_requotes_with_new_id_and_expiry() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        _lift_ask(w)

    w = simulate(body)
    (_, first), (arrived, second) = w.streamed()
    moved_at = 1 * MS + NBBO_LAG
    assert arrived == moved_at + MD_LATENCY
    assert (second.quote_id, second.t_ns, second.expires_ns) == (2, moved_at, moved_at + QUOTE_TTL)
    assert first.tiers == FIRST_TIERS
    assert second.tiers == tuple((q, b + 5, a + 5) for q, b, a in FIRST_TIERS)


def test_stream_inventory_skew_shifts_both_sides_against_inventory_after_fills() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)  # dealer sells 100: short, quotes higher
        await w.at(5 * MS)
        w.accept("A", 2, 2, SELL, 500, 999)  # tier 500 bid after the +2 skew: dealer long 400

    w = simulate(body, skew_per_share=0.02)
    quotes = [q for _, q in w.streamed()]
    assert [q.quote_id for q in quotes] == [1, 2, 3]
    first_fill_at = 1 * MS + LATENCY["A"] + HOLD
    assert quotes[1].t_ns == first_fill_at
    assert quotes[1].tiers == tuple((q, b + 2, a + 2) for q, b, a in FIRST_TIERS)
    assert quotes[2].tiers == tuple((q, b - 8, a - 8) for q, b, a in FIRST_TIERS)  # 0.02 x 400
    assert w.dealer.inventory == 400
    assert [r.exec_type for r in w.reports("A")] == [ExecType.NEW, ExecType.FILL] * 2


def test_stream_signal_offsets_the_reference() -> None:
    w = simulate(_nothing, signal=lambda t_ns: 3)
    assert w.streamed()[0][1].tiers == tuple((q, b + 3, a + 3) for q, b, a in FIRST_TIERS)


def test_stream_one_sided_nbbo_pulls_the_quote_and_rfq_gets_no_price() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.lit_order("T", SELL, 200, 985)  # takes both bids: no bid left
        await w.at(2 * MS)
        w.rfq("A", 7, None, 100)

    w = simulate(body)
    pulled = w.streamed()[-1][1]
    assert pulled == Quote(1 * MS + NBBO_LAG, "SDP1", "", 0, 0,
                           ((100, None, None), (500, None, None), (1000, None, None)),
                           1 * MS + NBBO_LAG)
    (answer,) = w.inbox["A"].of(Quote)
    assert (answer.quote_id, answer.request_id, answer.tiers) == (0, 7, ((100, None, None),))


def test_stream_refresh_reissues_unchanged_prices_before_they_expire() -> None:
    async def body(w: World) -> None:
        await w.at(25 * MS)

    w = simulate(body, refresh_ns=2 * MS)
    quotes = [q for _, q in w.streamed() if q.t_ns <= 25 * MS]
    # first at 20 us (expires 10.02 ms); ticks at 2, 4, ... ms re-issue only once the
    # standing quote would lapse before the next tick: at 10 ms and 20 ms.
    assert [(q.quote_id, q.t_ns) for q in quotes] == [(1, FIRST_QUOTE_AT), (2, 10 * MS), (3, 20 * MS)]
    assert all(q.tiers == FIRST_TIERS for q in quotes)


def test_stream_late_subscriber_gets_the_live_quote() -> None:
    late: list[tuple[int, Any]] = []

    async def body(w: World) -> None:
        await w.at(1 * MS)
        inbox = Inbox(w.clock)
        w.dealer.subscribe("D", inbox, Latency(fixed_ns=7 * US))
        await w.at(2 * MS)
        late.extend(inbox.got)

    simulate(body)
    assert late == [(1 * MS + 7 * US,
                     Quote(1 * MS, "SDP1", "", 1, 0, FIRST_TIERS, FIRST_QUOTE_AT + QUOTE_TTL))]


# --- RFQ -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "side, quantity, tier",
    [(None, 300, (300, 997, 1003)),
     (BUY, 300, (300, None, 1003)),
     (SELL, 100, (100, 999, None)),
     (None, 2500, (2500, 985, 1015))],  # above 1000: half-spread ceil(6 x 2.5) = 15
)
def test_rfq_answered_with_private_quote_echoing_request_id_and_ttl(
    side: Side | None, quantity: int, tier: tuple[int, int | None, int | None]
) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.rfq("A", 77, side, quantity)

    w = simulate(body)
    ((arrived, quote),) = [(t, m) for t, m in w.inbox["A"].got if type(m) is Quote]
    at = 1 * MS + LATENCY["A"]
    assert arrived == at + LATENCY["A"]
    assert quote == Quote(at, "SDP1", "A", 2, 77, (tier,), at + RFQ_TTL)
    assert [q.quote_id for _, q in w.streamed()] == [1]  # private: not published
    assert w.inbox["B"].got == []


def test_rfq_quote_accepted_by_another_participant_rejected_unknown_quote() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.rfq("A", 77, BUY, 300)  # quote 2, made at 1.1 ms
        await w.at(1 * MS + 500 * US)
        w.accept("B", 1, 2, BUY, 300, 1003)  # arrives 1.7 ms, before A's own accept
        await w.at(2 * MS)
        w.accept("A", 2, 2, BUY, 300, 1003)

    w = simulate(body)
    (rejected,) = w.reports("B")
    assert (rejected.order_id, rejected.exec_type, rejected.reason) == (
        1, ExecType.REJECTED, RejectReason.UNKNOWN_QUOTE)
    assert [(r.order_id, r.exec_type) for r in w.reports("A")] == [
        (2, ExecType.NEW), (2, ExecType.FILL)]


def test_rfq_quote_is_good_for_one_accept_only() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.rfq("A", 77, BUY, 300)
        await w.at(2 * MS)
        w.accept("A", 1, 2, BUY, 300, 1003)
        w.accept("A", 2, 2, BUY, 300, 1003)

    w = simulate(body)
    assert [(r.order_id, r.exec_type, r.reason) for r in w.reports("A")] == [
        (2, ExecType.REJECTED, RejectReason.UNKNOWN_QUOTE),  # at once, while 1 is held
        (1, ExecType.NEW, None), (1, ExecType.FILL, None)]


# --- accept: expiry, mismatch, unknown ---------------------------------------------------


def test_accept_streamed_quote_expiry_boundary_arrival_at_expires_ok_one_ns_later_expired() -> None:
    expires = FIRST_QUOTE_AT + QUOTE_TTL

    async def body(w: World) -> None:
        await w.at(expires - LATENCY["A"])  # arrives exactly at expires_ns
        w.accept("A", 1, 1, BUY, 100, 1001)
        await w.at(expires - LATENCY["A"] + 1)  # arrives at expires_ns + 1
        w.accept("A", 2, 1, BUY, 100, 1001)
        await w.at(expires + 50 * MS)  # long forgotten
        w.accept("A", 3, 1, BUY, 100, 1001)

    w = simulate(body)
    arrivals = [e["t"] for e in w.logged() if e["type"] == "AcceptQuote"]
    assert arrivals[:2] == [expires, expires + 1]
    by_order = {(r.order_id, r.exec_type): r for r in w.reports("A")}
    assert by_order[1, ExecType.FILL].t_ns == expires + HOLD
    assert by_order[2, ExecType.REJECTED].reason is RejectReason.QUOTE_EXPIRED
    assert by_order[2, ExecType.REJECTED].t_ns == expires + 1
    assert by_order[3, ExecType.REJECTED].reason is RejectReason.QUOTE_EXPIRED
    assert len(by_order) == 4


def test_accept_rfq_quote_expiry_boundary() -> None:
    quoted = 1 * MS + LATENCY["B"]

    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.rfq("B", 77, SELL, 100)
        await w.at(quoted + RFQ_TTL - LATENCY["B"] + 1)
        w.accept("B", 1, 2, SELL, 100, 999)

    w = simulate(body)
    (report,) = w.reports("B")
    assert (report.t_ns, report.reason) == (quoted + RFQ_TTL + 1, RejectReason.QUOTE_EXPIRED)


@pytest.mark.parametrize(
    "side, quantity, price",
    [(BUY, 200, 1001),  # tier 100's ask for more than 100
     (BUY, 100, 1000),  # a price the quote did not offer
     (SELL, 100, 1001),  # the ask price on the bid side
     (BUY, 1001, 1006)],  # above the largest tier
)
def test_accept_price_or_size_not_offered_rejected_quote_mismatch(
    side: Side, quantity: int, price: int
) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, side, quantity, price)

    w = simulate(body)
    (report,) = w.reports("A")
    assert (report.exec_type, report.reason, report.t_ns) == (
        ExecType.REJECTED, RejectReason.QUOTE_MISMATCH, 1 * MS + LATENCY["A"])
    assert (w.dealer.accepts, w.dealer.accept_rejects, w.dealer.inventory) == (0, 1, 0)


def test_accept_wider_tier_price_for_smaller_size_fills() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 50, 1003)

    w = simulate(body)
    fill = w.reports("A")[-1]
    assert (fill.exec_type, fill.last_quantity, fill.last_price) == (ExecType.FILL, 50, 1003)


@pytest.mark.parametrize("quote_id", [999, 0, -1, "1"])
def test_accept_unknown_quote_id_rejected_unknown_quote(quote_id: Any) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, quote_id, BUY, 100, 1001)

    w = simulate(body)
    (report,) = w.reports("A")
    assert (report.exec_type, report.reason) == (ExecType.REJECTED, RejectReason.UNKNOWN_QUOTE)


def test_accept_streamed_quote_any_connected_participant_can_take_it() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)
        w.accept("B", 2, 1, SELL, 100, 999)

    w = simulate(body)
    assert w.reports("A")[-1].exec_type is ExecType.FILL
    assert w.reports("B")[-1].exec_type is ExecType.FILL
    assert w.dealer.inventory == 0


# --- last look -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "side, price, move, threshold, expected",
    [(BUY, 1001, _lift_ask, 2, RejectReason.LAST_LOOK),  # reference +5 against the dealer
     (BUY, 1001, _lift_ask, 5, None),  # +5 is not more than 5
     (SELL, 999, _hit_bid, 4, RejectReason.LAST_LOOK),  # -5 against the dealer
     (SELL, 999, _lift_ask, 0, None),  # a move in the dealer's favour never rejects
     (BUY, 1001, _hit_bid, 0, None)],
)
def test_last_look_rejects_only_moves_against_the_dealer_beyond_threshold(
    side: Side, price: int, move: Callable[[World], None], threshold: int,
    expected: RejectReason | None,
) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, side, 100, price)  # arrives 1.1 ms, decided 2.1 ms
        await w.at(1 * MS + 500 * US)
        move(w)  # the dealer sees it at 1.52 ms, inside the hold

    w = simulate(body, last_look_threshold_ticks=threshold)
    decided_at = 1 * MS + LATENCY["A"] + HOLD
    reports = w.reports("A")
    if expected is None:
        assert [(r.exec_type, r.t_ns) for r in reports] == [
            (ExecType.NEW, decided_at), (ExecType.FILL, decided_at)]
        assert reports[1].last_price == price  # the quoted price, not the moved one
    else:
        assert [(r.exec_type, r.reason, r.t_ns) for r in reports] == [
            (ExecType.REJECTED, expected, decided_at)]
        assert w.dealer.inventory == 0
        assert w.dealer.cash == 0


def test_last_look_hold_is_exactly_last_look_hold_ns() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("B", 1, 1, BUY, 100, 1001)

    hold = 1_234_567
    w = simulate(body, last_look_hold_ns=hold)
    (arrived,) = [e["t"] for e in w.logged() if e["type"] == "AcceptQuote"]
    assert arrived == 1 * MS + LATENCY["B"]
    fills = [(t, m) for t, m in w.inbox["B"].got if m.exec_type is ExecType.FILL]
    ((got_at, fill),) = fills
    assert fill.t_ns == arrived + hold
    assert got_at == arrived + hold + LATENCY["B"]
    assert w.dealer.hold_time_ns_total == hold


def test_last_look_nbbo_gone_during_hold_rejected_no_reference_price() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)
        await w.at(1 * MS + 500 * US)
        w.lit_order("T", BUY, 200, 1015)  # no ask left on LIT1

    w = simulate(body)
    (report,) = w.reports("A")
    assert (report.exec_type, report.reason) == (ExecType.REJECTED, RejectReason.NO_REFERENCE_PRICE)
    assert w.dealer.last_look_rejects == 1


def test_last_look_fill_report_fee_trade_id_and_trade_print() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, SELL, 400, 997)

    w = simulate(body)
    ack, fill = w.reports("A")
    at = 1 * MS + LATENCY["A"] + HOLD
    assert ack == ExecutionReport(at, "SDP1", "A", 1, ExecType.NEW, SELL, 997, 400, 0, 0, 400,
                                  0, 0, None, 0, None)
    assert fill == ExecutionReport(at, "SDP1", "A", 1, ExecType.FILL, SELL, 997, 400, 400, 997,
                                   0, 400, 400 * FEE, Liquidity.TAKER, 1, None)
    assert w.inbox["C"].of(TradePrint) == [TradePrint(at, "SDP1", 1, 997, 400, SELL)]
    assert (w.dealer.inventory, w.dealer.cash, w.dealer.fees_collected) == (
        400, -400 * 997 + 400 * FEE, 400 * FEE)
    assert w.dealer.pnl_at(1000) == 400 * 3 + 400 * FEE
    assert w.dealer.pnl == 400 * 3 + 400 * FEE  # marked at the reference, still 1000


# --- statistics and regime hooks ---------------------------------------------------------


def test_statistics_reject_rate_and_hold_times_with_hold_changed_mid_run() -> None:
    async def body(w: World) -> None:
        assert w.dealer.last_look_reject_rate == 0.0
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)  # held 1 ms, filled
        await w.at(3 * MS)
        w.dealer.last_look_hold_ns = 3 * MS  # regime shift: longer holds
        w.accept("A", 2, 1, SELL, 100, 999)  # held 3 ms; the bid is hit meanwhile
        w.accept("A", 3, 42, SELL, 100, 999)  # unknown quote: never held
        await w.at(4 * MS)
        _hit_bid(w)

    w = simulate(body)
    d = w.dealer
    assert (d.accepts, d.accept_rejects, d.last_look_fills, d.last_look_rejects) == (2, 1, 1, 1)
    assert d.last_look_reject_rate == 0.5
    assert d.hold_time_ns_total == 4 * MS
    assert d.mean_hold_time_ns == 2 * MS
    assert d.held == 0
    a = d.statistics["A"].as_dict()
    assert (a["orders"], a["rejects"], a["fills"], a["bought"], a["sold"]) == (3, 2, 1, 100, 0)


def test_regime_threshold_change_applies_to_the_next_accept() -> None:
    async def body(w: World) -> None:
        w.lit_order("MM", SELL, 100, 1025)  # depth behind 1015
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)  # threshold 2 when it arrives (1.1 ms)
        await w.at(1 * MS + LATENCY["A"] + 1)
        w.dealer.last_look_threshold_ticks = 10  # too late for order 1
        await w.at(1 * MS + 500 * US)
        _lift_ask(w)  # mid 1000 -> 1005
        await w.at(5 * MS)
        w.accept("A", 2, 2, BUY, 100, 1006)  # on the re-quote after the move
        await w.at(5 * MS + 500 * US)
        w.lit_order("T", BUY, 100, 1015)  # mid 1005 -> 1010: +5, within the new 10

    w = simulate(body)
    assert [(r.order_id, r.exec_type, r.reason) for r in w.reports("A")] == [
        (1, ExecType.REJECTED, RejectReason.LAST_LOOK), (2, ExecType.NEW, None),
        (2, ExecType.FILL, None)]
    assert w.dealer.last_look_threshold_ticks == 10


def test_regime_tiers_change_takes_effect_on_requote() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.dealer.tiers = ((200, 2), (2000, 10))
        w.dealer.requote()
        await w.at(2 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)  # the old quote still stands at its prices

    w = simulate(body)
    last = w.streamed()[-1][1]
    assert (last.quote_id, last.t_ns, last.tiers) == (2, 1 * MS, ((200, 998, 1002), (2000, 990, 1010)))
    assert w.reports("A")[-1].exec_type is ExecType.FILL


@pytest.mark.parametrize(
    "name, value",
    [("tiers", ((100, 2), (100, 3))), ("tiers", ((100, 3), (500, 2))), ("tiers", ()),
     ("tiers", ((0, 1),)), ("last_look_hold_ns", -1), ("last_look_threshold_ticks", 1.5),
     ("quote_ttl_ns", None), ("skew_per_share", -0.1), ("skew_per_share", float("nan")),
     ("fee_per_share", "1")],
)
def test_regime_bad_parameter_raises_naming_it_and_keeps_the_old_value(name: str, value: Any) -> None:
    async def body(w: World) -> None:
        before = getattr(w.dealer, name)
        with pytest.raises(ValueError, match=name):
            setattr(w.dealer, name, value)
        assert getattr(w.dealer, name) == before

    simulate(body, book=False)


def test_constructor_bad_parameter_raises_value_error() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match=r"tiers\[1\]\.half_spread"):
            SingleDealerPlatform("SDP9", current_clock(), tiers=((100, 3), (500, 1)))
        with pytest.raises(ValueError, match="tick_size"):
            SingleDealerPlatform("SDP9", current_clock(), tick_size=0)

    run(main())


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order_id, quote_id, side, quantity, price, reason",
    [("1", 1, BUY, 100, 1001, RejectReason.INVALID_ORDER_ID),
     (1, 1, "buy", 100, 1001, RejectReason.INVALID_SIDE),
     (1, 1, BUY, 0, 1001, RejectReason.INVALID_QUANTITY),
     (1, 1, BUY, 10.0, 1001, RejectReason.INVALID_QUANTITY),
     (1, 1, BUY, True, 1001, RejectReason.INVALID_QUANTITY),
     (1, 1, BUY, 100, None, RejectReason.INVALID_PRICE),
     (1, 1, BUY, 100, -1001, RejectReason.INVALID_PRICE)],
)
def test_bad_accept_rejected_with_reason_and_dealer_keeps_trading(
    order_id: Any, quote_id: Any, side: Any, quantity: Any, price: Any, reason: RejectReason
) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", order_id, quote_id, side, quantity, price)
        w.accept("A", 2, 1, BUY, 100, 1001)

    w = simulate(body)
    reports = w.reports("A")
    assert (reports[0].exec_type, reports[0].reason) == (ExecType.REJECTED, reason)
    assert [(r.order_id, r.exec_type) for r in reports[1:]] == [(2, ExecType.NEW), (2, ExecType.FILL)]


def test_bad_accept_duplicate_held_order_id_rejected() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.accept("A", 1, 1, BUY, 100, 1001)
        w.accept("A", 1, 1, BUY, 100, 1001)

    w = simulate(body)
    reports = w.reports("A")
    assert (reports[0].exec_type, reports[0].reason) == (
        ExecType.REJECTED, RejectReason.DUPLICATE_ORDER_ID)
    assert [r.exec_type for r in reports[1:]] == [ExecType.NEW, ExecType.FILL]


@pytest.mark.parametrize(
    "request_id, side, quantity, reason",
    [("7", None, 100, RejectReason.INVALID_ORDER_ID),
     (7, "sell", 100, RejectReason.INVALID_SIDE),
     (7, None, -5, RejectReason.INVALID_QUANTITY),
     (7, None, "100", RejectReason.INVALID_QUANTITY)],
)
def test_bad_rfq_gets_message_rejected_and_dealer_keeps_quoting(
    request_id: Any, side: Any, quantity: Any, reason: RejectReason
) -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.rfq("A", request_id, side, quantity)
        w.rfq("A", 8, None, 100)

    w = simulate(body)
    (rejected,) = w.inbox["A"].of(MessageRejected)
    assert (rejected.message_type, rejected.reason) == ("QuoteRequest", reason)
    assert rejected.text
    assert [q.request_id for q in w.inbox["A"].of(Quote)] == [8]
    assert w.dealer.statistics["A"].rejects == 1


def test_bad_orders_cancels_and_unknown_messages_rejected_unsupported() -> None:
    async def body(w: World) -> None:
        await w.at(1 * MS)
        w.send("A", NewOrder(w.clock.now_ns(), "A", 5, BUY, 100, 1001))
        w.send("A", CancelOrder(w.clock.now_ns(), "A", 5))
        w.send("A", "garbage")
        w.send("A", AcceptQuote(w.clock.now_ns(), "B", 6, 1, BUY, 100, 1001))  # not A's name
        w.accept("A", 7, 1, BUY, 100, 1001)

    w = simulate(body)
    (order,) = [r for r in w.reports("A") if r.order_id == 5]
    assert (order.exec_type, order.reason) == (ExecType.REJECTED, RejectReason.UNSUPPORTED)
    (cancel,) = w.inbox["A"].of(CancelRejected)
    assert (cancel.order_id, cancel.reason, cancel.request) == (5, RejectReason.UNSUPPORTED, "cancel")
    assert [(m.message_type, m.reason) for m in w.inbox["A"].of(MessageRejected)] == [
        ("str", RejectReason.UNKNOWN_MESSAGE), ("AcceptQuote", RejectReason.UNKNOWN_PARTICIPANT)]
    assert w.reports("A")[-1].exec_type is ExecType.FILL
    assert w.inbox["B"].got == []


# --- the agent base's accounts -------------------------------------------------------------


def test_agent_client_position_and_cash_reconcile_with_dealer_and_statistics() -> None:
    async def body(w: World) -> None:
        k = w.k
        await w.at(1 * MS)
        (streamed,) = k.streamed
        k.accept_quote("SDP1", streamed.quote_id, BUY, 100, streamed.tiers[0][2])  # type: ignore[arg-type]
        await w.at(3 * MS)
        request_id = k.request_quote("SDP1", SELL, 300)
        await w.at(4 * MS)
        (quote,) = k.quotes
        assert quote.request_id == request_id and quote.participant == "K"
        k.accept_quote("SDP1", quote.quote_id, SELL, 300, quote.tiers[0][1])  # type: ignore[arg-type]

    w = simulate(body)
    k, d = w.k, w.dealer
    assert [r.exec_type for r in k.reports] == [ExecType.NEW, ExecType.FILL] * 2
    assert k.position == 100 - 300 == -d.inventory
    assert k.cash == -100 * 1001 + 300 * 997 - 400 * FEE == -d.cash
    assert k.fees == d.fees_collected == 400 * FEE
    assert k.live_orders == {}
    stats = d.statistics["K"]  # the client's side, as the venue counted it
    assert (stats.orders, stats.fills, stats.bought, stats.sold) == (2, 2, 100, 300)
    assert stats.position == k.position
    assert -(stats.bought_notional - stats.sold_notional) - stats.fees == k.cash


# --- event log -------------------------------------------------------------------------


def _as_logged(message: Any) -> dict[str, Any] | None:
    fields = getattr(type(message), "_fields", None)
    if fields is None:
        return None  # a foreign object is logged by type name only
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(dict(zip(fields, message))))
    return loaded


async def _busy(w: World) -> None:
    await w.at(1 * MS)
    w.rfq("A", 70, None, 300)
    w.accept("B", 1, 1, BUY, 100, 1001)
    w.accept("B", 2, 99, BUY, 100, 1001)  # unknown quote
    w.rfq("B", "x", None, 100)  # bad request
    w.send("A", "garbage")
    await w.at(2 * MS)
    w.accept("A", 3, 2, SELL, 300, 997)
    await w.at(2 * MS + 500 * US)
    _hit_bid(w)  # last look rejects order 3
    await w.at(5 * MS)
    w.send("B", CancelOrder(w.clock.now_ns(), "B", 1))


def test_event_log_records_every_message_in_and_out_at_venue_time() -> None:
    w = simulate(_busy)
    logged = w.logged()
    ins = [(e["type"], e["msg"]) for e in logged if e["event"] == "in"]
    outs = [(e["type"], e["msg"]) for e in logged if e["event"] == "out"]
    nbbos = [(e["type"], e["msg"]) for e in w.logged("SIP") if e["type"] == "NBBO"]
    key = orjson.dumps
    # In: every command a client sent, and every NBBO the feed published (SDP1 its only
    # subscriber, its snapshot on subscribe included).
    expected_in = [(type(m).__name__, _as_logged(m)) for _, m in w.sent] + nbbos
    assert sorted(map(key, ins)) == sorted(map(key, expected_in))
    # Out: every reply a client got, and each publication once (C got them all).
    replies = [m for name in LATENCY for _, m in w.inbox[name].got]
    published = [m for _, m in w.inbox["C"].got]
    expected_out = [(type(m).__name__, _as_logged(m)) for m in replies + published]
    assert sorted(map(key, outs)) == sorted(map(key, expected_out))
    assert {"ExecutionReport", "Quote", "TradePrint", "MessageRejected", "CancelRejected"} <= {
        t for t, _ in outs}
    assert w.dealer.messages_in == len(w.sent)
    for e in logged:
        if e["msg"] is None:
            assert e["type"] == "str"
        elif e["event"] == "out":
            assert e["t"] == e["msg"]["t_ns"]
        else:
            assert e["t"] >= e["msg"]["t_ns"]


def test_event_log_same_run_twice_same_digest() -> None:
    assert simulate(_busy).log.digest == simulate(_busy).log.digest


def test_nbbo_arrival_logged_and_foreign_market_data_ignored() -> None:
    async def body(w: World) -> None:
        w.dealer.on_nbbo("not an NBBO")

    w = simulate(body)
    ins = [e for e in w.logged() if e["event"] == "in"]
    assert ins and all(e["type"] == "NBBO" for e in ins)
    assert w.dealer.nbbo_updates == len(ins)
