"""venues.lit_exchange: sessions over latency links, fills with fees, market data, statistics,
rejects that keep the venue running, and the event log of everything in and out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import orjson
import pytest

from market.clock import Clock, current_clock, run
from market.event_log import EventLog
from market.link import Latency
from market.messages import (
    BookUpdate,
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Liquidity,
    MessageRejected,
    NewOrder,
    OrderType,
    RejectReason,
    ReplaceOrder,
    Side,
    TimeInForce,
    TradePrint,
)
from venues.lit_exchange import LitExchange
from venues.venue import Session

US = 1_000
MS = 1_000_000
BUY, SELL = Side.BUY, Side.SELL
MAKER_FEE, TAKER_FEE = -2, 3  # ticks per share; negative = rebate
LATENCY = {"A": 100 * US, "B": 200 * US}  # one way, per participant
MD_LATENCY = 50 * US  # subscriber "C"


class Inbox:
    """A participant's handler: keeps (arrival t_ns, message)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.got: list[tuple[int, Any]] = []

    def __call__(self, message: Any) -> None:
        self.got.append((self.clock.now_ns(), message))

    def of(self, cls: type) -> list[Any]:
        return [m for _, m in self.got if type(m) is cls]


class World:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.log = EventLog(None, scenario="lit", seed=0, version="test", keep_lines=True)
        self.exchange = LitExchange("LIT1", clock, tick_size=5, lot_size=10,
                                    maker_fee=MAKER_FEE, taker_fee=TAKER_FEE, event_log=self.log)
        self.inbox = {name: Inbox(clock) for name in (*LATENCY, "C")}
        self.sessions: dict[str, Session] = {
            name: self.exchange.connect(name, self.inbox[name], Latency(fixed_ns=latency))
            for name, latency in LATENCY.items()
        }
        self.exchange.subscribe("C", self.inbox["C"], Latency(fixed_ns=MD_LATENCY))
        self.sent: list[tuple[str, Any]] = []

    def send(self, participant: str, message: Any) -> None:
        self.sent.append((participant, message))
        self.sessions[participant].send(message)

    def order(self, participant: str, order_id: int, side: Side, quantity: int,
              price: int | None, **kwargs: Any) -> None:
        self.send(participant, NewOrder(self.clock.now_ns(), participant, order_id, side,
                                        quantity, price, **kwargs))

    async def at(self, t_ns: int) -> None:
        await asyncio.sleep((t_ns - self.clock.now_ns()) / 1e9)
        assert self.clock.now_ns() == t_ns

    def logged(self) -> list[dict[str, Any]]:
        assert self.log.lines is not None
        return [orjson.loads(line) for line in self.log.lines[1:-1]]


def simulate(body: Callable[[World], Awaitable[None]]) -> World:
    holder: list[World] = []

    async def main() -> None:
        world = World(current_clock())
        holder.append(world)
        await body(world)
        await asyncio.sleep(1.0)  # everything in flight arrives
        world.log.close()

    run(main())
    return holder[0]


async def _one_trade(w: World) -> None:
    """A rests a sell of 100 @ 1000 at t=0; B buys 60 @ 1005 at t=1 ms (trades at 1000)."""
    w.order("A", 1, SELL, 100, 1000)
    await w.at(1 * MS)
    w.order("B", 2, BUY, 60, 1005)


# --- latency ---------------------------------------------------------------------------


def test_lit_exchange_order_arrives_after_latency_and_report_returns_after_latency() -> None:
    w = simulate(_one_trade)
    ins = [e for e in w.logged() if e["event"] == "in"]
    assert [(e["t"], e["msg"]["participant"]) for e in ins] == [
        (LATENCY["A"], "A"), (1 * MS + LATENCY["B"], "B"),
    ]
    a_reports = w.inbox["A"].got
    assert a_reports[0][0] == 2 * LATENCY["A"]  # ack: there and back
    assert a_reports[0][1].exec_type is ExecType.NEW
    assert a_reports[0][1].t_ns == LATENCY["A"]  # stamped with the venue's time
    assert a_reports[1][0] == 1 * MS + LATENCY["B"] + LATENCY["A"]  # maker fill: B in, A out
    b_times = [t for t, _ in w.inbox["B"].got]
    assert b_times == [1 * MS + 2 * LATENCY["B"]] * 2  # ack and fill


# --- fills and fees --------------------------------------------------------------------


def test_lit_exchange_trade_both_sides_get_fill_reports_with_fees_and_same_trade_id() -> None:
    w = simulate(_one_trade)
    (maker,) = [m for m in w.inbox["A"].of(ExecutionReport) if m.last_quantity]
    (taker,) = [m for m in w.inbox["B"].of(ExecutionReport) if m.last_quantity]
    assert (maker.exec_type, maker.liquidity, maker.side) == (ExecType.PARTIAL_FILL, Liquidity.MAKER, SELL)
    assert (taker.exec_type, taker.liquidity, taker.side) == (ExecType.FILL, Liquidity.TAKER, BUY)
    assert maker.last_quantity == taker.last_quantity == 60
    assert maker.last_price == taker.last_price == 1000  # the resting price
    assert maker.fee == 60 * MAKER_FEE == -120  # a rebate
    assert taker.fee == 60 * TAKER_FEE == 180
    assert maker.trade_id == taker.trade_id != 0
    assert (maker.leaves_quantity, maker.filled_quantity) == (40, 60)
    assert (taker.leaves_quantity, taker.filled_quantity) == (0, 60)


# --- market data -----------------------------------------------------------------------


def test_lit_exchange_subscriber_gets_initial_l2_snapshot_on_subscribe() -> None:
    seen: list[Any] = []

    async def body(w: World) -> None:
        w.order("A", 1, SELL, 100, 1000)
        w.order("A", 2, SELL, 50, 1010)
        w.order("A", 3, BUY, 30, 990)
        await w.at(1 * MS)
        late = Inbox(w.clock)
        w.exchange.subscribe("D", late, Latency(fixed_ns=7 * US))
        await w.at(2 * MS)
        seen.extend(late.got)

    w = simulate(body)
    first_c = w.inbox["C"].got[0]
    assert first_c == (MD_LATENCY, L2Snapshot(0, "LIT1", (), ()))
    assert seen == [(1 * MS + 7 * US,
                     L2Snapshot(1 * MS, "LIT1", ((990, 30),), ((1000, 100), (1010, 50))))]


def test_lit_exchange_trade_publishes_trade_print_book_update_and_l1() -> None:
    w = simulate(_one_trade)
    market_data = [m for _, m in w.inbox["C"].got[1:]]  # after the initial L2 snapshot
    trade_at = 1 * MS + LATENCY["B"]
    trade_id = w.inbox["B"].of(ExecutionReport)[-1].trade_id
    assert market_data == [
        # A's order rests
        BookUpdate(LATENCY["A"], "LIT1", ((SELL, 1000, 100),)),
        L1Snapshot(LATENCY["A"], "LIT1", None, 0, 1000, 100),
        # B's order takes 60
        TradePrint(trade_at, "LIT1", trade_id, 1000, 60, BUY),
        BookUpdate(trade_at, "LIT1", ((SELL, 1000, 40),)),
        L1Snapshot(trade_at, "LIT1", None, 0, 1000, 40),
    ]
    assert [t for t, _ in w.inbox["C"].got[1:]] == [
        LATENCY["A"] + MD_LATENCY] * 2 + [trade_at + MD_LATENCY] * 3


def test_lit_exchange_change_behind_top_publishes_book_update_without_l1() -> None:
    async def body(w: World) -> None:
        w.order("A", 1, BUY, 100, 1000)
        await w.at(1 * MS)
        w.order("A", 2, BUY, 20, 995)  # behind the best bid: top unchanged

    w = simulate(body)
    after = [m for t, m in w.inbox["C"].got if t > 1 * MS]
    assert after == [BookUpdate(1 * MS + LATENCY["A"], "LIT1", ((BUY, 995, 20),))]


def test_lit_exchange_sweep_book_update_lists_every_changed_level() -> None:
    async def body(w: World) -> None:
        w.order("A", 1, SELL, 10, 1000)
        w.order("A", 2, SELL, 20, 1005)
        w.order("A", 3, SELL, 30, 1010)
        await w.at(1 * MS)
        w.order("B", 4, BUY, 40, 1010)  # takes 1000 and 1005 fully, 10 of 1010

    w = simulate(body)
    t = 1 * MS + LATENCY["B"]
    after = [m for at, m in w.inbox["C"].got if at > 1 * MS]
    assert [type(m) for m in after] == [TradePrint] * 3 + [BookUpdate, L1Snapshot]
    assert [(p.price, p.quantity, p.aggressor_side) for p in after[:3]] == [
        (1000, 10, BUY), (1005, 20, BUY), (1010, 10, BUY)]
    assert after[3] == BookUpdate(t, "LIT1", ((SELL, 1000, 0), (SELL, 1005, 0), (SELL, 1010, 20)))
    assert after[4] == L1Snapshot(t, "LIT1", None, 0, 1010, 20)
    assert (w.exchange.trades, w.exchange.traded_quantity) == (3, 40)


# --- statistics ------------------------------------------------------------------------


def test_lit_exchange_statistics_per_participant_are_right() -> None:
    async def body(w: World) -> None:
        await _one_trade(w)
        await w.at(2 * MS)
        w.order("B", 3, BUY, 0, 1000)  # rejected
        w.send("A", CancelOrder(w.clock.now_ns(), "A", 1))  # cancels A's remaining 40
        await w.at(3 * MS)
        w.send("A", CancelOrder(w.clock.now_ns(), "A", 1))  # already gone: rejected
        w.send("B", ReplaceOrder(w.clock.now_ns(), "B", 2, 100, 1000))  # filled: rejected

    w = simulate(body)
    a = w.exchange.statistics["A"].as_dict()
    b = w.exchange.statistics["B"].as_dict()
    assert a == {
        "orders": 1, "cancels": 2, "replaces": 0, "rejects": 1, "fills": 1,
        "bought": 0, "sold": 60, "bought_notional": 0, "sold_notional": 60_000,
        "fees": -120, "maker_volume": 60, "taker_volume": 0, "position": -60,
    }
    assert b == {
        "orders": 2, "cancels": 0, "replaces": 1, "rejects": 2, "fills": 1,
        "bought": 60, "sold": 0, "bought_notional": 60_000, "sold_notional": 0,
        "fees": 180, "maker_volume": 0, "taker_volume": 60, "position": 60,
    }


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity, price, reason",
    [(0, 1000, RejectReason.INVALID_QUANTITY),
     (15, 1000, RejectReason.NOT_LOT_MULTIPLE),
     (10, 1003, RejectReason.OFF_TICK),
     (10, -5, RejectReason.INVALID_PRICE),
     (10, None, RejectReason.INVALID_PRICE)],  # a limit order without a price
)
def test_lit_exchange_bad_order_rejected_with_reason_and_venue_keeps_trading(
    quantity: int, price: int | None, reason: RejectReason
) -> None:
    async def body(w: World) -> None:
        w.order("A", 1, SELL, 100, 1000)
        w.order("B", 9, BUY, quantity, price)
        await w.at(1 * MS)
        w.order("B", 2, BUY, 60, 1000)

    w = simulate(body)
    b = w.inbox["B"].of(ExecutionReport)
    assert (b[0].order_id, b[0].exec_type, b[0].reason) == (9, ExecType.REJECTED, reason)
    assert (b[0].leaves_quantity, b[0].last_quantity) == (0, 0)
    assert [(r.order_id, r.exec_type) for r in b[1:]] == [(2, ExecType.NEW), (2, ExecType.FILL)]
    assert w.exchange.trades == 1
    assert w.exchange.statistics["B"].rejects == 1


def test_lit_exchange_duplicate_order_id_rejected() -> None:
    async def body(w: World) -> None:
        w.order("A", 1, SELL, 100, 1000)
        w.order("B", 1, BUY, 10, 990)

    w = simulate(body)
    (report,) = w.inbox["B"].of(ExecutionReport)
    assert (report.exec_type, report.reason) == (ExecType.REJECTED, RejectReason.DUPLICATE_ORDER_ID)


def test_lit_exchange_ioc_remainder_canceled_not_rested() -> None:
    async def body(w: World) -> None:
        w.order("A", 1, SELL, 30, 1000)
        await w.at(1 * MS)
        w.order("B", 2, BUY, 50, 1000, time_in_force=TimeInForce.IOC)

    w = simulate(body)
    last = w.inbox["B"].of(ExecutionReport)[-1]
    assert (last.exec_type, last.reason, last.filled_quantity) == (
        ExecType.CANCELED, CancelReason.UNFILLED_REMAINDER, 30)
    assert w.exchange.book.best_bid is None


class Heartbeat(NamedTuple):
    t_ns: int
    participant: str


def test_lit_exchange_unknown_message_type_gets_message_rejected() -> None:
    async def body(w: World) -> None:
        w.send("A", Heartbeat(0, "A"))
        w.send("A", "not even a tuple")
        await w.at(1 * MS)
        w.order("A", 1, SELL, 10, 1000)  # still trading

    w = simulate(body)
    rejects = w.inbox["A"].of(MessageRejected)
    assert [(r.message_type, r.reason, r.participant) for r in rejects] == [
        ("Heartbeat", RejectReason.UNKNOWN_MESSAGE, "A"),
        ("str", RejectReason.UNKNOWN_MESSAGE, "A"),
    ]
    assert all(r.text for r in rejects)
    assert w.inbox["A"].of(ExecutionReport)[0].exec_type is ExecType.NEW
    assert w.exchange.statistics["A"].rejects == 2


def test_lit_exchange_order_claiming_other_participant_gets_unknown_participant() -> None:
    async def body(w: World) -> None:
        w.send("A", NewOrder(0, "B", 1, SELL, 10, 1000))
        w.send("A", CancelOrder(0, "B", 1))

    w = simulate(body)
    rejects = w.inbox["A"].of(MessageRejected)
    assert [(r.message_type, r.reason) for r in rejects] == [
        ("NewOrder", RejectReason.UNKNOWN_PARTICIPANT),
        ("CancelOrder", RejectReason.UNKNOWN_PARTICIPANT),
    ]
    assert "'B'" in rejects[0].text and "'A'" in rejects[0].text
    assert w.inbox["B"].got == []
    assert len(w.exchange.book) == 0
    assert w.exchange.statistics["B"].orders == 0


def test_lit_exchange_cancel_of_other_participants_order_rejected_unknown_order() -> None:
    async def body(w: World) -> None:
        w.order("B", 7, BUY, 50, 1000)
        await w.at(1 * MS)
        w.send("A", CancelOrder(w.clock.now_ns(), "A", 7))
        w.send("A", ReplaceOrder(w.clock.now_ns(), "A", 7, 10, 995))

    w = simulate(body)
    rejects = w.inbox["A"].of(CancelRejected)
    assert [(r.order_id, r.reason, r.request) for r in rejects] == [
        (7, RejectReason.UNKNOWN_ORDER, "cancel"), (7, RejectReason.UNKNOWN_ORDER, "replace")]
    assert w.exchange.book.resting(7) == (7, "B", BUY, 1000, 50, 0)
    assert [r.exec_type for r in w.inbox["B"].of(ExecutionReport)] == [ExecType.NEW]


# --- event log -------------------------------------------------------------------------


def _as_logged(message: Any) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(dict(zip(type(message)._fields, message))))


async def _busy(w: World) -> None:
    w.order("A", 1, SELL, 100, 1000)
    w.order("A", 2, SELL, 50, 1005)
    await w.at(1 * MS)
    w.order("B", 3, BUY, 120, None, order_type=OrderType.MARKET)
    w.order("B", 4, BUY, 0, 1000)  # rejected
    w.send("B", NewOrder(w.clock.now_ns(), "A", 5, BUY, 10, 990))  # wrong participant
    await w.at(2 * MS)
    w.send("A", ReplaceOrder(w.clock.now_ns(), "A", 2, 40, 1010))
    w.send("A", CancelOrder(w.clock.now_ns(), "A", 99))  # unknown order


def test_lit_exchange_event_log_records_every_command_received_and_message_sent() -> None:
    w = simulate(_busy)
    logged = w.logged()
    ins = [(e["type"], e["msg"]) for e in logged if e["event"] == "in"]
    outs = [(e["type"], e["msg"]) for e in logged if e["event"] == "out"]
    assert ins == [(type(m).__name__, _as_logged(m)) for _, m in w.sent]
    # Every reply a participant got, and each publication once (subscriber C got them all).
    replies = [m for name in LATENCY for _, m in w.inbox[name].got]
    published = [m for _, m in w.inbox["C"].got]  # its initial L2Snapshot included
    expected = [(type(m).__name__, _as_logged(m)) for m in replies + published]
    key = orjson.dumps
    assert sorted(map(key, outs)) == sorted(map(key, expected))
    assert w.log.events == len(logged) == len(ins) + len(outs)
    assert w.exchange.messages_in == len(w.sent)


def test_lit_exchange_event_log_times_are_venue_times() -> None:
    w = simulate(_busy)
    for e in w.logged():
        assert type(e["t"]) is int and e["at"] == "LIT1"
        if e["event"] == "out":
            assert e["t"] == e["msg"]["t_ns"]  # the venue stamps what it sends at send time
        else:
            assert e["t"] >= e["msg"]["t_ns"]  # received after the sender stamped it


def test_lit_exchange_event_log_records_unknown_message_received() -> None:
    async def body(w: World) -> None:
        w.send("A", Heartbeat(0, "A"))

    w = simulate(body)
    assert [(e["event"], e["type"]) for e in w.logged() if e["type"] != "L2Snapshot"] == [
        ("in", "Heartbeat"), ("out", "MessageRejected")]


def test_lit_exchange_event_log_records_initial_l2_snapshot_sent() -> None:
    async def body(w: World) -> None:
        w.order("A", 1, SELL, 100, 1000)
        await w.at(1 * MS)
        w.exchange.subscribe("D", Inbox(w.clock), Latency(fixed_ns=1))

    w = simulate(body)
    assert "L2Snapshot" in [e["type"] for e in w.logged() if e["event"] == "out"]
