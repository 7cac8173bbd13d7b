"""Unit tests for market.order_book.OrderBook: one rule per test, small explicit books.

Conventions in this file: participant "a" and "b" are different firms; prices are ticks
around 100; `T` is the time stamp every command is sent with. Helpers at the top build
commands and pick reports out of a result list; nothing here reaches into the book's
internals, only its public commands and views.
"""

from __future__ import annotations

from typing import Any

import pytest

from market.messages import (
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Liquidity,
    NewOrder,
    OrderType,
    RejectReason,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from market.order_book import COMPILED, OrderBook, PythonOrderBook


# Every test here runs against both implementations: the reference and its compiled twin.
IMPLEMENTATIONS = [PythonOrderBook] + ([OrderBook] if COMPILED else [])


@pytest.fixture(scope="module", autouse=True, params=IMPLEMENTATIONS,
                ids=lambda cls: "compiled" if cls is not PythonOrderBook else "python")
def _implementation(request: pytest.FixtureRequest) -> Any:
    global OrderBook
    saved = OrderBook
    OrderBook = request.param
    yield
    OrderBook = saved

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIAL_FILL, FILL = ExecType.NEW, ExecType.PARTIAL_FILL, ExecType.FILL
CANCELED, REPLACED, REJECTED = ExecType.CANCELED, ExecType.REPLACED, ExecType.REJECTED
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER

T = 1_000
VENUE = "XTEST"


# --- helpers ------------------------------------------------------------------------------


def order(
    participant: str,
    order_id: int,
    side: Side,
    quantity: Any,
    price: Any,
    order_type: Any = LIMIT,
    tif: Any = DAY,
    post_only: bool = False,
) -> NewOrder:
    return NewOrder(T, participant, order_id, side, quantity, price, order_type, tif, post_only)


def market(participant: str, order_id: int, side: Side, quantity: int, tif: Any = DAY) -> NewOrder:
    return NewOrder(T, participant, order_id, side, quantity, None, MARKET, tif)


def rest(book: OrderBook, participant: str, order_id: int, side: Side, quantity: int,
         price: int, post_only: bool = False) -> None:
    """Submit an order that must rest without trading."""
    reports = book.submit(order(participant, order_id, side, quantity, price, post_only=post_only), T)
    assert [r.exec_type for r in reports] == [NEW], reports


def fills(reports: list[Any]) -> list[ExecutionReport]:
    return [r for r in reports if r.exec_type in (PARTIAL_FILL, FILL)]


def of(reports: list[Any], order_id: int, exec_type: ExecType | None = None) -> list[ExecutionReport]:
    return [r for r in reports
            if r.order_id == order_id and (exec_type is None or r.exec_type is exec_type)]


def state(book: OrderBook) -> tuple[Any, ...]:
    """Everything a participant can see of a book, to check that a reject changed nothing."""
    return (
        book.best_bid, book.best_ask, book.l1(), book.depth(BUY), book.depth(SELL),
        sorted(book.resting_orders()), len(book),
        {(o[2], o[3]): book.queue(o[2], o[3]) for o in book.resting_orders()},
    )


@pytest.fixture
def book() -> OrderBook:
    return OrderBook(VENUE)


# --- add ------------------------------------------------------------------------------------


def test_submit_limit_buy_not_crossing_rests_and_acks_new(book: OrderBook) -> None:
    reports = book.submit(order("a", 1, BUY, 10, 100), T)

    assert reports == [ExecutionReport(
        t_ns=T, venue=VENUE, participant="a", order_id=1, exec_type=NEW, side=BUY, price=100,
        quantity=10, last_quantity=0, last_price=0, leaves_quantity=10, filled_quantity=0,
        fee=0, liquidity=None, trade_id=0, reason=None)]
    assert book.resting(1) == (1, "a", BUY, 100, 10, 0)
    assert 1 in book and len(book) == 1
    assert book.best_bid == 100 and book.best_ask is None


def test_submit_limit_sell_not_crossing_rests_at_ask(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    reports = book.submit(order("b", 2, SELL, 7, 101), T)

    assert [(r.exec_type, r.leaves_quantity) for r in reports] == [(NEW, 7)]
    assert book.resting(2) == (2, "b", SELL, 101, 7, 0)
    assert (book.best_bid, book.best_ask) == (100, 101)


def test_submit_report_carries_given_t_ns_and_venue(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    reports = book.submit(NewOrder(1, "b", 2, BUY, 5, 101), 777)

    assert {(r.t_ns, r.venue) for r in reports} == {(777, VENUE)}


def test_submit_order_id_reused_after_cancel_accepted(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    book.cancel(CancelOrder(T, "a", 1), T)

    reports = book.submit(order("a", 1, BUY, 4, 99), T)

    assert [r.exec_type for r in reports] == [NEW]
    assert book.resting(1) == (1, "a", BUY, 99, 4, 0)


def test_submit_same_order_id_other_participant_rejected_duplicate(book: OrderBook) -> None:
    # messages.NewOrder: order ids are unique in the whole simulation (one allocator), so
    # a live id sent again is a duplicate whoever sends it.
    rest(book, "a", 1, BUY, 10, 100)
    before = state(book)

    reports = book.submit(order("b", 1, SELL, 10, 105), T)

    assert [(r.exec_type, r.reason, r.participant) for r in reports] == [
        (REJECTED, RejectReason.DUPLICATE_ORDER_ID, "b")]
    assert state(book) == before


# --- price-time priority ----------------------------------------------------------------


def test_match_buy_better_ask_first_fills_lowest_ask_first(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 102)  # arrived first, worse price
    rest(book, "a", 2, SELL, 10, 101)

    reports = book.submit(order("b", 3, BUY, 10, 102), T)

    maker = [r for r in fills(reports) if r.liquidity is MAKER]
    assert [(r.order_id, r.last_price, r.last_quantity) for r in maker] == [(2, 101, 10)]
    assert book.resting(1) == (1, "a", SELL, 102, 10, 0)
    assert 2 not in book


def test_match_sell_better_bid_first_fills_highest_bid_first(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 99)
    rest(book, "a", 2, BUY, 10, 100)

    reports = book.submit(order("b", 3, SELL, 15, 99), T)

    maker = [r for r in fills(reports) if r.liquidity is MAKER]
    assert [(r.order_id, r.last_price, r.last_quantity) for r in maker] == [(2, 100, 10), (1, 99, 5)]


def test_match_same_price_fills_in_arrival_order(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 10, 101)
    rest(book, "a", 3, SELL, 10, 101)
    assert book.queue(SELL, 101) == [1, 2, 3]

    reports = book.submit(order("c", 4, BUY, 15, 101), T)

    maker = [r for r in fills(reports) if r.liquidity is MAKER]
    assert [(r.order_id, r.last_quantity) for r in maker] == [(1, 10), (2, 5)]
    assert book.queue(SELL, 101) == [2, 3]
    assert book.resting(2) == (2, "b", SELL, 101, 5, 5)


def test_queue_after_many_cancels_keeps_arrival_order(book: OrderBook) -> None:
    # Enough cancels at one level that dead queue entries outnumber live ones.
    for order_id in range(1, 41):
        rest(book, "a", order_id, SELL, 1, 101)
    for order_id in range(1, 41):
        if order_id % 4:
            book.cancel(CancelOrder(T, "a", order_id), T)
    survivors = [i for i in range(1, 41) if i % 4 == 0]

    assert book.queue(SELL, 101) == survivors
    assert book.level_quantity(SELL, 101) == len(survivors)

    reports = book.submit(order("b", 100, BUY, 6, 101), T)

    maker = [r.order_id for r in fills(reports) if r.liquidity is MAKER]
    assert maker == survivors[:6]
    assert book.queue(SELL, 101) == survivors[6:]


# --- fills ------------------------------------------------------------------------------------


def test_match_incoming_smaller_partially_fills_resting(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)

    reports = book.submit(order("b", 2, BUY, 4, 101), T)

    maker, = of(reports, 1)
    assert (maker.exec_type, maker.quantity, maker.last_quantity, maker.last_price,
            maker.leaves_quantity, maker.filled_quantity, maker.liquidity, maker.price) == (
        PARTIAL_FILL, 10, 4, 101, 6, 4, MAKER, 101)
    taker, = of(reports, 2, FILL)
    assert (taker.quantity, taker.last_quantity, taker.last_price, taker.leaves_quantity,
            taker.filled_quantity, taker.liquidity) == (4, 4, 101, 0, 4, TAKER)
    assert book.resting(1) == (1, "a", SELL, 101, 6, 4)
    assert 2 not in book


def test_match_incoming_larger_fills_resting_and_rests_remainder(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)

    reports = book.submit(order("b", 2, BUY, 15, 101), T)

    maker, = of(reports, 1)
    assert (maker.exec_type, maker.last_quantity, maker.leaves_quantity,
            maker.filled_quantity) == (FILL, 10, 0, 10)
    taker, = of(reports, 2, PARTIAL_FILL)
    assert (taker.last_quantity, taker.leaves_quantity, taker.filled_quantity) == (10, 5, 10)
    assert 1 not in book
    assert book.resting(2) == (2, "b", BUY, 101, 5, 10)
    assert (book.best_bid, book.best_ask) == (101, None)


def test_match_exact_quantity_fills_both_fully(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 8, 100)

    reports = book.submit(order("b", 2, SELL, 8, 100), T)

    assert [(r.order_id, r.exec_type, r.leaves_quantity) for r in fills(reports)] == [
        (1, FILL, 0), (2, FILL, 0)]
    assert len(book) == 0
    assert (book.best_bid, book.best_ask) == (None, None)


def test_match_aggressive_limit_trades_at_resting_price(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 100)

    reports = book.submit(order("b", 2, BUY, 10, 105), T)

    taker, = of(reports, 2, FILL)
    assert taker.last_price == 100
    assert taker.price == 105  # the report keeps the order's own limit


def test_match_sweep_reports_cumulative_filled_and_leaves(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 3, 101)
    rest(book, "a", 2, SELL, 4, 102)
    rest(book, "a", 3, SELL, 5, 103)

    reports = book.submit(order("b", 9, BUY, 10, 103), T)

    taker = [r for r in of(reports, 9) if r.liquidity is TAKER]
    assert [(r.exec_type, r.last_price, r.last_quantity, r.filled_quantity, r.leaves_quantity)
            for r in taker] == [
        (PARTIAL_FILL, 101, 3, 3, 7),
        (PARTIAL_FILL, 102, 4, 7, 3),
        (FILL, 103, 3, 10, 0),
    ]
    assert book.resting(3) == (3, "a", SELL, 103, 2, 3)


def test_match_fees_per_share_maker_rebate_and_taker_charge() -> None:
    book = OrderBook(VENUE, maker_fee=-2, taker_fee=3)
    rest(book, "a", 1, SELL, 10, 101)

    reports = book.submit(order("b", 2, BUY, 7, 101), T)

    maker, = of(reports, 1)
    taker, = of(reports, 2, FILL)
    assert maker.fee == -14  # 7 shares x -2: a rebate
    assert taker.fee == 21  # 7 shares x 3
    new, = of(reports, 2, NEW)
    assert new.fee == 0


@pytest.mark.parametrize(("maker_fee", "taker_fee", "maker_total", "taker_total"), [
    (-20, 40, -140, 280),  # a fee change during a run (a regime shift)
    (2**61, -(2**61), 7 * 2**61, -7 * 2**61),  # fill x fee beyond 64 bits: exact
    (0.5, 1, 3.5, 7),  # a fee that is not an int still multiplies as Python does
])
def test_match_fee_changed_after_construction_charges_the_new_fee(
    maker_fee: Any, taker_fee: Any, maker_total: Any, taker_total: Any
) -> None:
    book = OrderBook(VENUE, maker_fee=-2, taker_fee=3)
    rest(book, "a", 1, SELL, 10, 101)
    book.maker_fee, book.taker_fee = maker_fee, taker_fee

    reports = book.submit(order("b", 2, BUY, 7, 101), T)

    maker, = of(reports, 1)
    taker, = of(reports, 2, FILL)
    assert (book.maker_fee, book.taker_fee) == (maker_fee, taker_fee)
    assert (maker.fee, taker.fee) == (maker_total, taker_total)
    assert (type(maker.fee), type(taker.fee)) == (type(maker_total), type(taker_total))


def test_match_both_fill_reports_share_trade_id(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "a", 2, SELL, 5, 102)

    reports = book.submit(order("b", 3, BUY, 10, 102), T)

    by_trade: dict[int, list[ExecutionReport]] = {}
    for r in fills(reports):
        by_trade.setdefault(r.trade_id, []).append(r)
    assert len(by_trade) == 2
    assert 0 not in by_trade
    for pair in by_trade.values():
        assert sorted((r.participant, r.side, r.liquidity.value) for r in pair) == [  # type: ignore[union-attr]
            ("a", SELL, "maker"), ("b", BUY, "taker")]
        assert len({(r.last_price, r.last_quantity) for r in pair}) == 1


def test_match_trade_ids_increase_across_submits(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    first = fills(book.submit(order("b", 2, BUY, 2, 101), T))[0].trade_id
    second = fills(book.submit(order("b", 3, BUY, 2, 101), T))[0].trade_id

    assert 0 < first < second


def test_match_non_fill_reports_have_no_trade_fields(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    reports = book.submit(order("b", 2, BUY, 8, 101), T)
    reports += book.cancel(CancelOrder(T, "b", 2), T)

    for r in reports:
        if r.exec_type in (NEW, CANCELED):
            assert (r.last_quantity, r.last_price, r.fee, r.liquidity, r.trade_id) == (
                0, 0, 0, None, 0)


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_resting_order_reports_canceled_requested(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    book.submit(order("b", 2, SELL, 3, 100), T)

    reports = book.cancel(CancelOrder(T, "a", 1), T)

    assert reports == [ExecutionReport(
        t_ns=T, venue=VENUE, participant="a", order_id=1, exec_type=CANCELED, side=BUY,
        price=100, quantity=10, last_quantity=0, last_price=0, leaves_quantity=0,
        filled_quantity=3, fee=0, liquidity=None, trade_id=0, reason=CancelReason.REQUESTED)]
    assert 1 not in book and len(book) == 0
    assert book.best_bid is None
    assert book.depth(BUY) == ()


def test_cancel_unknown_order_id_rejected_unknown_order(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    before = state(book)

    reports = book.cancel(CancelOrder(T, "a", 99), T)

    assert reports == [CancelRejected(T, VENUE, "a", 99, RejectReason.UNKNOWN_ORDER, "cancel")]
    assert state(book) == before


def test_cancel_other_participants_order_rejected_unknown_order(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    before = state(book)

    reports = book.cancel(CancelOrder(T, "b", 1), T)

    assert reports == [CancelRejected(T, VENUE, "b", 1, RejectReason.UNKNOWN_ORDER, "cancel")]
    assert state(book) == before


def test_cancel_twice_second_rejected_unknown_order(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    book.cancel(CancelOrder(T, "a", 1), T)

    reports = book.cancel(CancelOrder(T, "a", 1), T)

    assert [(type(r), r.reason) for r in reports] == [(CancelRejected, RejectReason.UNKNOWN_ORDER)]


def test_cancel_filled_order_rejected_unknown_order(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    book.submit(order("b", 2, SELL, 10, 100), T)

    reports = book.cancel(CancelOrder(T, "a", 1), T)

    assert [(type(r), r.reason) for r in reports] == [(CancelRejected, RejectReason.UNKNOWN_ORDER)]


def test_cancel_middle_of_queue_keeps_others_order(book: OrderBook) -> None:
    for order_id in (1, 2, 3):
        rest(book, "a", order_id, BUY, 5, 100)

    book.cancel(CancelOrder(T, "a", 2), T)

    assert book.queue(BUY, 100) == [1, 3]
    assert book.level_quantity(BUY, 100) == 10


# --- replace ----------------------------------------------------------------------------------


def test_replace_same_price_size_decrease_keeps_priority(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 10, 101)

    reports = book.replace(ReplaceOrder(T, "a", 1, 6, 101), T)

    assert [(r.exec_type, r.price, r.quantity, r.leaves_quantity, r.filled_quantity)
            for r in reports] == [(REPLACED, 101, 6, 6, 0)]
    assert book.queue(SELL, 101) == [1, 2]
    assert book.level_quantity(SELL, 101) == 16
    assert book.resting(1) == (1, "a", SELL, 101, 6, 0)


def test_replace_same_price_same_size_keeps_priority(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 10, 101)

    reports = book.replace(ReplaceOrder(T, "a", 1, 10, 101), T)

    assert [r.exec_type for r in reports] == [REPLACED]
    assert book.queue(SELL, 101) == [1, 2]


def test_replace_same_price_size_increase_loses_priority(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 10, 101)

    reports = book.replace(ReplaceOrder(T, "a", 1, 12, 101), T)

    assert [(r.exec_type, r.quantity, r.leaves_quantity) for r in reports] == [(REPLACED, 12, 12)]
    assert book.queue(SELL, 101) == [2, 1]
    assert book.level_quantity(SELL, 101) == 22


def test_replace_price_change_loses_priority(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 10, 101)
    rest(book, "b", 3, SELL, 10, 102)

    book.replace(ReplaceOrder(T, "a", 1, 10, 102), T)

    assert book.queue(SELL, 101) == [2]
    assert book.queue(SELL, 102) == [3, 1]
    assert book.depth(SELL) == ((101, 10), (102, 20))

    book.replace(ReplaceOrder(T, "a", 1, 5, 101), T)  # back, and smaller: still loses priority

    assert book.queue(SELL, 101) == [2, 1]
    assert book.depth(SELL) == ((101, 15), (102, 10))


def test_replace_partially_filled_quantity_counts_filled(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    book.submit(order("b", 2, BUY, 4, 101), T)

    reports = book.replace(ReplaceOrder(T, "a", 1, 8, 101), T)

    assert [(r.exec_type, r.quantity, r.leaves_quantity, r.filled_quantity) for r in reports] == [
        (REPLACED, 8, 4, 4)]
    assert book.resting(1) == (1, "a", SELL, 101, 4, 4)
    assert book.level_quantity(SELL, 101) == 4


def test_replace_to_crossing_price_trades(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "b", 2, SELL, 6, 102)

    reports = book.replace(ReplaceOrder(T, "a", 1, 10, 102), T)

    assert reports[0].exec_type is REPLACED
    assert [(r.order_id, r.exec_type, r.liquidity, r.last_price, r.last_quantity)
            for r in fills(reports)] == [
        (2, FILL, MAKER, 102, 6), (1, PARTIAL_FILL, TAKER, 102, 6)]
    assert fills(reports)[0].trade_id == fills(reports)[1].trade_id
    assert book.resting(1) == (1, "a", BUY, 102, 4, 6)
    assert (book.best_bid, book.best_ask) == (102, None)


def test_replace_quantity_equal_to_filled_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    book.submit(order("b", 2, BUY, 4, 101), T)
    before = state(book)

    reports = book.replace(ReplaceOrder(T, "a", 1, 4, 101), T)

    assert reports == [CancelRejected(T, VENUE, "a", 1, RejectReason.QUANTITY_NOT_ABOVE_FILLED,
                                      "replace")]
    assert state(book) == before


def test_replace_quantity_below_filled_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    book.submit(order("b", 2, BUY, 4, 101), T)

    reports = book.replace(ReplaceOrder(T, "a", 1, 3, 101), T)

    assert [r.reason for r in reports] == [RejectReason.QUANTITY_NOT_ABOVE_FILLED]
    assert book.resting(1) == (1, "a", SELL, 101, 6, 4)


def test_replace_unknown_order_rejected_unknown_order(book: OrderBook) -> None:
    reports = book.replace(ReplaceOrder(T, "a", 5, 10, 101), T)

    assert reports == [CancelRejected(T, VENUE, "a", 5, RejectReason.UNKNOWN_ORDER, "replace")]


def test_replace_other_participants_order_rejected_unknown_order(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    before = state(book)

    reports = book.replace(ReplaceOrder(T, "b", 1, 5, 101), T)

    assert [(type(r), r.reason, r.request) for r in reports] == [
        (CancelRejected, RejectReason.UNKNOWN_ORDER, "replace")]
    assert state(book) == before


@pytest.mark.parametrize(
    ("quantity", "price", "reason"),
    [
        (0, 100, RejectReason.INVALID_QUANTITY),
        (-10, 100, RejectReason.INVALID_QUANTITY),
        (10.0, 100, RejectReason.INVALID_QUANTITY),
        (150, 100, RejectReason.NOT_LOT_MULTIPLE),
        (100, 0, RejectReason.INVALID_PRICE),
        (100, -5, RejectReason.INVALID_PRICE),
        (100, None, RejectReason.INVALID_PRICE),
        (100, 100.0, RejectReason.INVALID_PRICE),
        (100, 103, RejectReason.OFF_TICK),
    ],
)
def test_replace_invalid_quantity_or_price_rejected_with_reason(
    quantity: Any, price: Any, reason: RejectReason
) -> None:
    book = OrderBook(VENUE, tick_size=5, lot_size=100)
    rest(book, "a", 1, BUY, 200, 100)
    before = state(book)

    reports = book.replace(ReplaceOrder(T, "a", 1, quantity, price), T)

    assert [(type(r), r.reason) for r in reports] == [(CancelRejected, reason)]
    assert state(book) == before


def test_replace_post_only_to_crossing_price_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100, post_only=True)
    rest(book, "b", 2, SELL, 10, 102)
    before = state(book)

    reports = book.replace(ReplaceOrder(T, "a", 1, 10, 102), T)

    assert [(type(r), r.reason) for r in reports] == [
        (CancelRejected, RejectReason.POST_ONLY_WOULD_CROSS)]
    assert state(book) == before


# --- market orders ----------------------------------------------------------------------------


def test_market_buy_sweeps_levels_and_cancels_remainder(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "a", 2, SELL, 5, 103)

    reports = book.submit(market("b", 3, BUY, 15), T)

    taker = [r for r in of(reports, 3) if r.liquidity is TAKER]
    assert [(r.last_price, r.last_quantity, r.filled_quantity) for r in taker] == [
        (101, 5, 5), (103, 5, 10)]
    assert all(r.price is None for r in of(reports, 3))
    canceled, = of(reports, 3, CANCELED)
    assert (canceled.reason, canceled.leaves_quantity, canceled.filled_quantity,
            canceled.quantity) == (CancelReason.UNFILLED_REMAINDER, 0, 10, 15)
    assert reports[-1] is canceled
    assert len(book) == 0 and book.best_ask is None and book.best_bid is None


def test_market_sell_fully_filled_not_canceled(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 5, 100)
    rest(book, "a", 2, BUY, 5, 99)

    reports = book.submit(market("b", 3, SELL, 8), T)

    assert not of(reports, 3, CANCELED)
    assert of(reports, 3)[-1].exec_type is FILL
    assert book.resting(2) == (2, "a", BUY, 99, 2, 3)
    assert 3 not in book


def test_market_on_empty_book_cancels_whole_quantity(book: OrderBook) -> None:
    reports = book.submit(market("b", 3, BUY, 15), T)

    assert not fills(reports)
    assert REJECTED not in [r.exec_type for r in reports]
    last = reports[-1]
    assert (last.exec_type, last.reason, last.filled_quantity, last.leaves_quantity) == (
        CANCELED, CancelReason.UNFILLED_REMAINDER, 0, 0)
    assert len(book) == 0 and 3 not in book


def test_market_never_rests_when_own_side_only(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 5, 100)

    reports = book.submit(market("b", 2, BUY, 5), T)

    assert reports[-1].exec_type is CANCELED
    assert 2 not in book
    assert book.depth(BUY) == ((100, 5),)


def test_market_fok_insufficient_liquidity_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    before = state(book)

    reports = book.submit(market("b", 2, BUY, 6, tif=FOK), T)

    assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, RejectReason.FOK_CANNOT_FILL)]
    assert state(book) == before


# --- IOC and FOK ------------------------------------------------------------------------------


def test_ioc_partial_fill_then_remainder_canceled(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 4, 101)
    rest(book, "a", 2, SELL, 4, 102)  # beyond the IOC's limit

    reports = book.submit(order("b", 3, BUY, 10, 101, tif=IOC), T)

    assert [(r.exec_type, r.last_quantity, r.leaves_quantity, r.filled_quantity, r.reason)
            for r in of(reports, 3)] == [
        (NEW, 0, 10, 0, None),
        (PARTIAL_FILL, 4, 6, 4, None),
        (CANCELED, 0, 0, 4, CancelReason.UNFILLED_REMAINDER),
    ]
    assert 3 not in book
    assert book.best_bid is None and book.best_ask == 102


def test_ioc_not_crossing_canceled_whole(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 4, 101)

    reports = book.submit(order("b", 3, BUY, 10, 100, tif=IOC), T)

    assert [(r.exec_type, r.filled_quantity, r.reason) for r in reports] == [
        (NEW, 0, None), (CANCELED, 0, CancelReason.UNFILLED_REMAINDER)]
    assert 3 not in book and book.best_bid is None


def test_ioc_fully_filled_not_canceled(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)

    reports = book.submit(order("b", 3, BUY, 10, 101, tif=IOC), T)

    assert [r.exec_type for r in of(reports, 3)] == [NEW, FILL]


def test_fok_enough_liquidity_fills_whole(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 4, 101)
    rest(book, "b", 2, SELL, 4, 102)

    reports = book.submit(order("c", 3, BUY, 6, 102, tif=FOK), T)

    taker = [r for r in of(reports, 3) if r.liquidity is TAKER]
    assert [(r.last_price, r.last_quantity) for r in taker] == [(101, 4), (102, 2)]
    assert taker[-1].exec_type is FILL and taker[-1].filled_quantity == 6
    assert not of(reports, 3, CANCELED)
    assert 3 not in book
    assert book.resting(2) == (2, "b", SELL, 102, 2, 2)


def test_fok_insufficient_within_limit_rejected_book_unchanged(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 4, 101)
    rest(book, "b", 2, SELL, 4, 102)
    rest(book, "b", 3, SELL, 40, 103)  # enough in total, but beyond the limit
    rest(book, "c", 4, BUY, 5, 100)
    before = state(book)

    reports = book.submit(order("c", 5, BUY, 9, 102, tif=FOK), T)

    assert reports == [ExecutionReport(
        t_ns=T, venue=VENUE, participant="c", order_id=5, exec_type=REJECTED, side=BUY,
        price=102, quantity=9, last_quantity=0, last_price=0, leaves_quantity=0,
        filled_quantity=0, fee=0, liquidity=None, trade_id=0,
        reason=RejectReason.FOK_CANNOT_FILL)]
    assert state(book) == before


def test_fok_own_resting_orders_not_counted_as_liquidity(book: OrderBook) -> None:
    # Self-trade prevention would cancel "a"'s own ask rather than fill against it.
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "b", 2, SELL, 5, 101)
    before = state(book)

    reports = book.submit(order("a", 3, BUY, 10, 101, tif=FOK), T)

    assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, RejectReason.FOK_CANNOT_FILL)]
    assert state(book) == before


# --- post-only --------------------------------------------------------------------------------


@pytest.mark.parametrize("price", [101, 102])  # locking the ask, and through it
def test_post_only_buy_would_cross_rejected(book: OrderBook, price: int) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    before = state(book)

    reports = book.submit(order("b", 2, BUY, 5, price, post_only=True), T)

    assert [(r.exec_type, r.reason, r.leaves_quantity) for r in reports] == [
        (REJECTED, RejectReason.POST_ONLY_WOULD_CROSS, 0)]
    assert state(book) == before


def test_post_only_sell_would_cross_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    before = state(book)

    reports = book.submit(order("b", 2, SELL, 5, 100, post_only=True), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.POST_ONLY_WOULD_CROSS)]
    assert state(book) == before


def test_post_only_not_crossing_rests(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)

    reports = book.submit(order("b", 2, BUY, 5, 100, post_only=True), T)

    assert [r.exec_type for r in reports] == [NEW]
    assert book.resting(2) == (2, "b", BUY, 100, 5, 0)
    assert book.best_bid == 100


def test_post_only_resting_fills_as_maker(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101, post_only=True)

    reports = book.submit(order("b", 2, BUY, 5, 101), T)

    maker, = of(reports, 1)
    assert (maker.liquidity, maker.last_quantity) == (MAKER, 5)


@pytest.mark.parametrize("tif", [IOC, FOK])
def test_post_only_with_immediate_tif_rejected_invalid_time_in_force(
    book: OrderBook, tif: TimeInForce
) -> None:
    reports = book.submit(order("b", 2, BUY, 5, 100, tif=tif, post_only=True), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.INVALID_TIME_IN_FORCE)]
    assert len(book) == 0


def test_post_only_market_order_rejected_invalid_order_type(book: OrderBook) -> None:
    reports = book.submit(NewOrder(T, "b", 2, BUY, 5, None, MARKET, DAY, True), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.INVALID_ORDER_TYPE)]


# --- self-trade prevention ----------------------------------------------------------------


def test_self_trade_cancels_resting_and_matches_next_order(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "b", 2, SELL, 5, 101)

    reports = book.submit(order("a", 3, BUY, 5, 101), T)

    canceled, = of(reports, 1)
    assert (canceled.participant, canceled.exec_type, canceled.reason, canceled.leaves_quantity,
            canceled.filled_quantity, canceled.quantity) == (
        "a", CANCELED, CancelReason.SELF_TRADE, 0, 0, 5)
    assert [(r.order_id, r.participant, r.liquidity, r.last_quantity) for r in fills(reports)] == [
        (2, "b", MAKER, 5), (3, "a", TAKER, 5)]
    assert len(book) == 0
    assert (book.best_bid, book.best_ask) == (None, None)


def test_self_trade_across_levels_cancels_each_own_order_met(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "b", 2, SELL, 3, 102)
    rest(book, "a", 3, SELL, 5, 102)
    rest(book, "b", 4, SELL, 5, 103)
    rest(book, "a", 5, SELL, 5, 103)  # behind "b"'s order: never reached

    reports = book.submit(order("a", 9, BUY, 6, 103), T)

    assert [r.order_id for r in reports if r.reason is CancelReason.SELF_TRADE] == [1, 3]
    assert [(r.order_id, r.last_price, r.last_quantity)
            for r in fills(reports) if r.liquidity is MAKER] == [(2, 102, 3), (4, 103, 3)]
    assert book.resting(5) == (5, "a", SELL, 103, 5, 0)
    assert book.depth(SELL) == ((103, 7),)


def test_self_trade_only_own_orders_cancels_them_and_rests(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)

    reports = book.submit(order("a", 2, BUY, 7, 101), T)

    assert [(r.order_id, r.exec_type, r.reason) for r in reports] == [
        (2, NEW, None), (1, CANCELED, CancelReason.SELF_TRADE)]
    assert not fills(reports)
    assert book.resting(2) == (2, "a", BUY, 101, 7, 0)
    assert (book.best_bid, book.best_ask) == (101, None)


def test_self_trade_partially_filled_resting_reports_its_filled(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    book.submit(order("b", 2, BUY, 4, 101), T)

    reports = book.submit(order("a", 3, BUY, 2, 101), T)

    canceled, = of(reports, 1)
    assert (canceled.reason, canceled.quantity, canceled.filled_quantity) == (
        CancelReason.SELF_TRADE, 10, 4)


# --- rejects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        (0, RejectReason.INVALID_QUANTITY),
        (-100, RejectReason.INVALID_QUANTITY),
        (100.0, RejectReason.INVALID_QUANTITY),
        ("100", RejectReason.INVALID_QUANTITY),
        (None, RejectReason.INVALID_QUANTITY),
        (True, RejectReason.INVALID_QUANTITY),
        (150, RejectReason.NOT_LOT_MULTIPLE),
        (1, RejectReason.NOT_LOT_MULTIPLE),
    ],
)
@pytest.mark.parametrize("order_type", [LIMIT, MARKET])
def test_submit_bad_quantity_rejected_with_reason(
    quantity: Any, reason: RejectReason, order_type: OrderType
) -> None:
    book = OrderBook(VENUE, tick_size=5, lot_size=100)
    rest(book, "a", 1, SELL, 100, 105)
    before = state(book)
    price = 105 if order_type is LIMIT else None

    reports = book.submit(order("b", 2, BUY, quantity, price, order_type), T)

    assert [(r.exec_type, r.reason, r.order_id, r.participant) for r in reports] == [
        (REJECTED, reason, 2, "b")]
    assert state(book) == before


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (0, RejectReason.INVALID_PRICE),
        (-5, RejectReason.INVALID_PRICE),
        (None, RejectReason.INVALID_PRICE),
        (100.0, RejectReason.INVALID_PRICE),
        ("100", RejectReason.INVALID_PRICE),
        (101, RejectReason.OFF_TICK),
        (3, RejectReason.OFF_TICK),
    ],
)
def test_submit_limit_bad_price_rejected_with_reason(price: Any, reason: RejectReason) -> None:
    book = OrderBook(VENUE, tick_size=5, lot_size=100)
    rest(book, "a", 1, SELL, 100, 105)
    before = state(book)

    reports = book.submit(order("b", 2, BUY, 100, price), T)

    assert [(r.exec_type, r.reason, r.leaves_quantity, r.filled_quantity) for r in reports] == [
        (REJECTED, reason, 0, 0)]
    assert state(book) == before


def test_submit_market_with_price_rejected_invalid_price(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    before = state(book)

    reports = book.submit(NewOrder(T, "b", 2, BUY, 5, 101, MARKET), T)

    assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, RejectReason.INVALID_PRICE)]
    assert state(book) == before


def test_submit_duplicate_live_order_id_rejected(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    before = state(book)

    reports = book.submit(order("a", 1, SELL, 10, 105), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.DUPLICATE_ORDER_ID)]
    assert state(book) == before


def test_submit_duplicate_id_crossing_rejected_without_trading(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "b", 2, SELL, 10, 101)
    before = state(book)

    reports = book.submit(order("a", 1, BUY, 10, 101), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.DUPLICATE_ORDER_ID)]
    assert state(book) == before


@pytest.mark.parametrize("order_id", [None, "1", 1.0, True, [1], (1,)])
def test_submit_non_int_order_id_rejected_invalid_order_id(book: OrderBook, order_id: Any) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    before = state(book)

    reports = book.submit(NewOrder(T, "b", order_id, BUY, 5, 101), T)

    assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, RejectReason.INVALID_ORDER_ID)]
    assert state(book) == before


@pytest.mark.parametrize("order_id", [None, "1", 1.0, True, [1]])
def test_cancel_and_replace_non_int_order_id_rejected_unknown_order(
    book: OrderBook, order_id: Any
) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    before = state(book)

    canceled = book.cancel(CancelOrder(T, "a", order_id), T)
    replaced = book.replace(ReplaceOrder(T, "a", order_id, 5, 101), T)

    assert [(type(r), r.reason, r.request) for r in canceled + replaced] == [
        (CancelRejected, RejectReason.UNKNOWN_ORDER, "cancel"),
        (CancelRejected, RejectReason.UNKNOWN_ORDER, "replace")]
    assert state(book) == before


@pytest.mark.parametrize("side", ["buy", None, 1, OrderType.LIMIT])
def test_submit_bad_side_rejected_invalid_side(book: OrderBook, side: Any) -> None:
    reports = book.submit(NewOrder(T, "b", 2, side, 5, 100), T)

    assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, RejectReason.INVALID_SIDE)]
    assert len(book) == 0


@pytest.mark.parametrize("order_type", ["limit", None, TimeInForce.DAY])
def test_submit_bad_order_type_rejected_invalid_order_type(book: OrderBook, order_type: Any) -> None:
    reports = book.submit(NewOrder(T, "b", 2, BUY, 5, 100, order_type), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.INVALID_ORDER_TYPE)]
    assert len(book) == 0


@pytest.mark.parametrize("tif", ["day", None, OrderType.LIMIT])
def test_submit_bad_time_in_force_rejected_invalid_time_in_force(book: OrderBook, tif: Any) -> None:
    reports = book.submit(NewOrder(T, "b", 2, BUY, 5, 100, LIMIT, tif), T)

    assert [(r.exec_type, r.reason) for r in reports] == [
        (REJECTED, RejectReason.INVALID_TIME_IN_FORCE)]
    assert len(book) == 0


def test_submit_reject_report_echoes_order_fields(book: OrderBook) -> None:
    reports = book.submit(NewOrder(T, "b", 7, SELL, 0, 100), 55)

    assert reports == [ExecutionReport(
        t_ns=55, venue=VENUE, participant="b", order_id=7, exec_type=REJECTED, side=SELL,
        price=100, quantity=0, last_quantity=0, last_price=0, leaves_quantity=0,
        filled_quantity=0, fee=0, liquidity=None, trade_id=0,
        reason=RejectReason.INVALID_QUANTITY)]


def test_book_bad_tick_or_lot_size_raises() -> None:
    # A misconfigured book is a programming error, not a market outcome.
    with pytest.raises(ValueError):
        OrderBook(VENUE, tick_size=0)
    with pytest.raises(ValueError):
        OrderBook(VENUE, lot_size=-1)


# --- views: L1, L2, best prices -----------------------------------------------------------


def test_l1_empty_book_has_no_prices_and_zero_quantities(book: OrderBook) -> None:
    assert book.l1(5) == L1Snapshot(5, VENUE, None, 0, None, 0)
    assert book.l2(5) == L2Snapshot(5, VENUE, (), ())
    assert (book.best_bid, book.best_ask) == (None, None)
    assert len(book) == 0


def test_l1_reports_best_prices_and_level_totals(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "b", 2, BUY, 5, 100)
    rest(book, "a", 3, BUY, 7, 99)
    rest(book, "b", 4, SELL, 3, 102)
    rest(book, "a", 5, SELL, 8, 103)

    assert book.l1(9) == L1Snapshot(9, VENUE, 100, 15, 102, 3)


def test_l2_levels_best_first_with_summed_quantities(book: OrderBook) -> None:
    # Arrive in a scrambled price order: the views must sort them.
    for order_id, side, quantity, price in [
        (1, BUY, 5, 98), (2, SELL, 4, 104), (3, BUY, 10, 100), (4, SELL, 6, 102),
        (5, BUY, 3, 99), (6, SELL, 1, 103), (7, BUY, 2, 99), (8, SELL, 9, 102),
    ]:
        rest(book, "a" if order_id % 2 else "b", order_id, side, quantity, price)

    assert book.depth(BUY) == ((100, 10), (99, 5), (98, 5))
    assert book.depth(SELL) == ((102, 15), (103, 1), (104, 4))
    assert book.l2(3) == L2Snapshot(3, VENUE, ((100, 10), (99, 5), (98, 5)),
                                    ((102, 15), (103, 1), (104, 4)))
    assert book.l2(depth=2) == L2Snapshot(0, VENUE, ((100, 10), (99, 5)), ((102, 15), (103, 1)))
    assert book.depth(SELL, 1) == ((102, 15),)
    assert book.depth(BUY, 10) == book.depth(BUY)
    assert book.level_quantity(BUY, 99) == 5
    assert book.level_quantity(BUY, 101) == 0
    assert book.level_quantity(SELL, 100) == 0


def test_l2_after_partial_fill_shows_reduced_level(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "a", 2, SELL, 10, 102)

    book.submit(order("b", 3, BUY, 13, 102), T)

    assert book.depth(SELL) == ((102, 7),)
    assert book.l1() == L1Snapshot(0, VENUE, None, 0, 102, 7)


def test_best_prices_after_better_add_improve(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 99)
    rest(book, "a", 2, SELL, 10, 103)
    rest(book, "b", 3, BUY, 10, 100)
    rest(book, "b", 4, SELL, 10, 102)
    rest(book, "b", 5, BUY, 10, 98)  # worse: no change
    rest(book, "b", 6, SELL, 10, 104)

    assert (book.best_bid, book.best_ask) == (100, 102)


def test_best_prices_after_cancel_of_best_level_fall_back(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "a", 2, BUY, 10, 98)
    rest(book, "a", 3, SELL, 10, 101)
    rest(book, "a", 4, SELL, 10, 104)

    book.cancel(CancelOrder(T, "a", 1), T)
    book.cancel(CancelOrder(T, "a", 3), T)
    assert (book.best_bid, book.best_ask) == (98, 104)

    book.cancel(CancelOrder(T, "a", 2), T)
    book.cancel(CancelOrder(T, "a", 4), T)
    assert (book.best_bid, book.best_ask) == (None, None)


def test_best_prices_after_cancel_of_one_of_two_at_best_unchanged(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "b", 2, BUY, 4, 100)

    book.cancel(CancelOrder(T, "a", 1), T)

    assert book.best_bid == 100
    assert book.l1().bid_quantity == 4


def test_best_prices_after_cancel_of_non_best_level_unchanged(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "a", 2, BUY, 10, 98)
    rest(book, "a", 3, BUY, 10, 97)

    book.cancel(CancelOrder(T, "a", 2), T)

    assert book.best_bid == 100
    assert book.depth(BUY) == ((100, 10), (97, 10))


def test_best_prices_after_fill_consumes_best_level(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 10, 101)
    rest(book, "a", 2, SELL, 10, 103)
    rest(book, "a", 3, BUY, 10, 99)

    book.submit(order("b", 4, BUY, 10, 101), T)
    assert (book.best_bid, book.best_ask) == (99, 103)

    book.submit(order("b", 5, SELL, 10, 99), T)
    assert (book.best_bid, book.best_ask) == (None, 103)


def test_best_prices_after_sweep_and_rest_both_sides_move(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "a", 2, BUY, 5, 99)

    book.submit(order("b", 3, BUY, 8, 102), T)

    assert (book.best_bid, book.best_ask) == (102, None)
    assert book.l1() == L1Snapshot(0, VENUE, 102, 3, None, 0)


def test_best_prices_after_replace_moves_best_order(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 10, 100)
    rest(book, "a", 2, BUY, 10, 98)
    rest(book, "a", 3, SELL, 10, 105)

    book.replace(ReplaceOrder(T, "a", 1, 10, 97), T)
    assert (book.best_bid, book.best_ask) == (98, 105)

    book.replace(ReplaceOrder(T, "a", 3, 10, 101), T)
    assert (book.best_bid, book.best_ask) == (98, 101)

    book.replace(ReplaceOrder(T, "a", 2, 4, 98), T)  # same-price decrease
    assert book.l1() == L1Snapshot(0, VENUE, 98, 4, 101, 10)


def test_best_prices_after_self_trade_cancel_updated(book: OrderBook) -> None:
    rest(book, "a", 1, SELL, 5, 101)
    rest(book, "b", 2, SELL, 5, 102)

    book.submit(order("a", 3, BUY, 5, 101, tif=IOC), T)

    assert (book.best_bid, book.best_ask) == (None, 102)


def test_best_prices_after_rejects_unchanged(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 5, 100)
    rest(book, "a", 2, SELL, 5, 101)

    book.submit(order("b", 3, BUY, 5, 101, post_only=True), T)
    book.submit(order("b", 4, BUY, 6, 101, tif=FOK), T)
    book.submit(order("b", 5, BUY, 0, 101), T)
    book.cancel(CancelOrder(T, "b", 1), T)
    book.replace(ReplaceOrder(T, "b", 2, 5, 99), T)

    assert (book.best_bid, book.best_ask) == (100, 101)
    assert book.l1() == L1Snapshot(0, VENUE, 100, 5, 101, 5)


# --- touched levels -----------------------------------------------------------------------


def touched_by(book: OrderBook, action: Any) -> set[tuple[Side, int]]:
    assert book.touched_levels is not None
    start = len(book.touched_levels)
    action()
    return set(book.touched_levels[start:])


def test_track_levels_off_by_default_is_none(book: OrderBook) -> None:
    rest(book, "a", 1, BUY, 5, 100)

    assert book.touched_levels is None


def test_track_levels_records_each_changed_level() -> None:
    book = OrderBook(VENUE, track_levels=True)

    assert touched_by(book, lambda: rest(book, "a", 1, BUY, 5, 100)) == {(BUY, 100)}
    assert touched_by(book, lambda: rest(book, "a", 2, SELL, 5, 102)) == {(SELL, 102)}
    assert touched_by(book, lambda: rest(book, "a", 3, SELL, 5, 103)) == {(SELL, 103)}
    # Sweep two ask levels and rest the remainder as a new bid level.
    assert touched_by(book, lambda: book.submit(order("b", 4, BUY, 12, 103), T)) == {
        (SELL, 102), (SELL, 103), (BUY, 103)}
    assert touched_by(book, lambda: book.cancel(CancelOrder(T, "a", 1), T)) == {(BUY, 100)}
    # Same-price decrease, then a price move.
    assert touched_by(book, lambda: book.replace(ReplaceOrder(T, "b", 4, 11, 103), T)) == {
        (BUY, 103)}
    assert touched_by(book, lambda: book.replace(ReplaceOrder(T, "b", 4, 11, 101), T)) == {
        (BUY, 103), (BUY, 101)}
    # A partial fill against a resting bid.
    assert touched_by(book, lambda: book.submit(order("a", 5, SELL, 1, 101, tif=IOC), T)) == {
        (BUY, 101)}


def test_track_levels_self_trade_cancel_recorded() -> None:
    book = OrderBook(VENUE, track_levels=True)
    rest(book, "a", 1, SELL, 5, 101)

    assert touched_by(book, lambda: book.submit(order("a", 2, BUY, 5, 101, tif=IOC), T)) == {
        (SELL, 101)}


def test_track_levels_rejects_and_unfilled_ioc_record_nothing() -> None:
    book = OrderBook(VENUE, track_levels=True)
    rest(book, "a", 1, SELL, 5, 101)

    assert touched_by(book, lambda: book.submit(order("b", 2, BUY, 0, 101), T)) == set()
    assert touched_by(book, lambda: book.submit(order("b", 3, BUY, 6, 101, tif=FOK), T)) == set()
    assert touched_by(book, lambda: book.submit(
        order("b", 4, BUY, 5, 101, post_only=True), T)) == set()
    assert touched_by(book, lambda: book.submit(order("b", 5, BUY, 5, 100, tif=IOC), T)) == set()
    assert touched_by(book, lambda: book.cancel(CancelOrder(T, "b", 1), T)) == set()
    assert touched_by(book, lambda: book.replace(ReplaceOrder(T, "a", 1, 0, 101), T)) == set()


def test_submit_dark_fields_at_lit_book_rejected_unsupported() -> None:
    from market.messages import Peg

    book = OrderBook("LIT", tick_size=1, lot_size=1)
    pegged = NewOrder(0, "A", 1, Side.BUY, 10, None, peg=Peg.MIDPOINT)
    with_min = NewOrder(0, "A", 2, Side.BUY, 10, 100, min_quantity=5)
    for order in (pegged, with_min):
        (report,) = book.submit(order, 1)
        assert report.exec_type is ExecType.REJECTED
        assert report.reason is RejectReason.UNSUPPORTED
    assert len(book) == 0
