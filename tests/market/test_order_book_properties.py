"""Property tests for market.order_book.OrderBook: its invariants on random command sequences.

A few participants send limit orders (DAY, IOC, FOK, post-only), market orders, cancels and
replaces on a narrow price range, so orders cross, sweep and self-trade often. A small
reference model runs alongside the book. It learns the book's state only from the reports
the book sends, predicts the matching of every aggressor by price-time priority with
self-trade prevention, and after every step is compared with what the book shows:

- never crossed at rest; best_bid/best_ask are the max/min resting prices; L1 agrees;
- FIFO within a level: `queue()` is arrival order, where a replace keeps its place only on
  a same-price, not-larger change;
- per order: quantity == resting + filled + canceled, filled <= quantity, every fill
  has last_quantity > 0, report fields (leaves, filled, exec_type) agree with each other;
- every trade is exactly two fill reports sharing a trade_id: a buyer and a seller, one
  MAKER one TAKER, same price and quantity, at the maker's price, within the taker's
  limit, with per-share fees;
- L2 over all levels equals the sum of resting orders per price.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given
from hypothesis import strategies as st

from market.messages import (
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
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

VENUE = "XPROP"
MAKER_FEE = -1
TAKER_FEE = 2
PARTICIPANTS = ("a", "b", "c")

# Deterministic in CI: the same examples every run, nothing read from or written to a database.
PROPERTY_SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the reference model ----------------------------------------------------------------------


@dataclass
class ModelOrder:
    order_id: int
    participant: str
    side: Side
    price: int | None
    quantity: int
    order_type: OrderType
    tif: TimeInForce
    post_only: bool
    leaves: int = 0  # from the latest report about this order
    filled: int = 0  # sum of last_quantity over its fill reports
    canceled: int = 0  # quantity - filled at its cancel
    seq: int = 0  # time priority at its level while resting
    rejected: bool = False  # never accepted: nothing to conserve


def crosses(side: Side, limit: int | None, level_price: int) -> bool:
    """Would an order of `side` with this limit trade against a resting `level_price`?"""
    if limit is None:
        return True
    return level_price <= limit if side is BUY else level_price >= limit


class Model:
    def __init__(self, book: OrderBook) -> None:
        self.book = book
        self.orders: dict[int, ModelOrder] = {}
        self.next_id = 1
        self.next_seq = 1
        self.trade_ids: set[int] = set()

    # -- what the model believes rests ---------------------------------------------------

    def live(self) -> list[ModelOrder]:
        return [o for o in self.orders.values() if o.leaves > 0]

    def priority(self, side: Side) -> list[ModelOrder]:
        """Resting orders of one side in matching order: best price, then arrival."""
        sign = -1 if side is BUY else 1
        return sorted((o for o in self.live() if o.side is side),
                      key=lambda o: (sign * o.price, o.seq))  # type: ignore[operator]

    def expected_matching(
        self, participant: str, side: Side, limit: int | None, quantity: int
    ) -> list[tuple[str, int, int]]:
        """What an aggressor should do to the other side: ("fill"|"stp", order_id, qty)."""
        events: list[tuple[str, int, int]] = []
        remaining = quantity
        for resting in self.priority(side.opposite):
            if remaining == 0 or not crosses(side, limit, resting.price):  # type: ignore[arg-type]
                break
            if resting.participant == participant:
                events.append(("stp", resting.order_id, resting.leaves))
                continue
            fill = min(remaining, resting.leaves)
            events.append(("fill", resting.order_id, fill))
            remaining -= fill
        return events

    def available(self, participant: str, side: Side, limit: int | None) -> int:
        return sum(o.leaves for o in self.live()
                   if o.side is side.opposite and o.participant != participant
                   and crosses(side, limit, o.price))  # type: ignore[arg-type]

    def would_cross(self, side: Side, limit: int) -> bool:
        return any(o.side is side.opposite and crosses(side, limit, o.price)  # type: ignore[arg-type]
                   for o in self.live())

    # -- one step ------------------------------------------------------------------------

    def step(self, op: tuple[Any, ...], t_ns: int) -> None:
        kind = op[0]
        before = book_state(self.book)
        if kind in ("limit", "market"):
            self.do_submit(op, t_ns, before)
        elif kind == "cancel":
            self.do_cancel(op, t_ns, before)
        else:
            self.do_replace(op, t_ns, before)
        self.check_book()

    def do_submit(self, op: tuple[Any, ...], t_ns: int, before: Any) -> None:
        if op[0] == "limit":
            _, participant, side, quantity, price, tif, post_only = op
            order_type = LIMIT
        else:
            _, participant, side, quantity, tif = op
            price, post_only, order_type = None, False, MARKET
        order_id = self.next_id
        self.next_id += 1
        cmd = NewOrder(t_ns, participant, order_id, side, quantity, price, order_type, tif,
                       post_only)
        model_order = ModelOrder(order_id, participant, side, price, quantity, order_type, tif,
                                 post_only)

        # Predict from the state before the command.
        if post_only and tif is not DAY:
            expected_reject: RejectReason | None = RejectReason.INVALID_TIME_IN_FORCE
        elif post_only and self.would_cross(side, price):
            expected_reject = RejectReason.POST_ONLY_WOULD_CROSS
        elif tif is FOK and self.available(participant, side, price) < quantity:
            expected_reject = RejectReason.FOK_CANNOT_FILL
        else:
            expected_reject = None
        expected_events = self.expected_matching(participant, side, price, quantity)

        reports = self.book.submit(cmd, t_ns)
        self.orders[order_id] = model_order
        check_report_stamps(reports, t_ns)

        if expected_reject is not None:
            assert [(r.exec_type, r.reason) for r in reports] == [(REJECTED, expected_reject)], (
                cmd, reports)
            r = reports[0]
            assert (r.leaves_quantity, r.filled_quantity, r.last_quantity) == (0, 0, 0)
            assert book_state(self.book) == before, "a rejected order changed the book"
            model_order.rejected = True
            return

        assert reports[0].exec_type is NEW, (cmd, reports)
        assert (reports[0].order_id, reports[0].quantity, reports[0].leaves_quantity,
                reports[0].filled_quantity, reports[0].price) == (order_id, quantity, quantity,
                                                                   0, price)
        model_order.leaves = quantity
        self.apply(reports[1:], aggressor=model_order, expected_events=expected_events)

        if order_type is MARKET or tif is not DAY:
            assert model_order.leaves == 0, ("an IOC/FOK/market order must not rest", cmd, reports)
        if tif is FOK:
            assert model_order.filled == quantity, ("FOK accepted but not filled whole", reports)
        if model_order.leaves:
            model_order.seq = self.take_seq()

    def do_cancel(self, op: tuple[Any, ...], t_ns: int, before: Any) -> None:
        _, participant, pick = op
        target = self.pick(pick)
        order_id = target.order_id if target is not None else 10_000
        participant = participant or (target.participant if target is not None else "a")
        reports = self.book.cancel(CancelOrder(t_ns, participant, order_id), t_ns)
        check_report_stamps(reports, t_ns)
        if target is None or target.leaves == 0 or target.participant != participant:
            assert reports == [CancelRejected(t_ns, VENUE, participant, order_id,
                                              RejectReason.UNKNOWN_ORDER, "cancel")], reports
            assert book_state(self.book) == before
            return
        assert len(reports) == 1 and reports[0].exec_type is CANCELED, reports
        assert reports[0].reason is CancelReason.REQUESTED
        self.apply(reports, aggressor=None, expected_events=[])
        assert target.leaves == 0

    def do_replace(self, op: tuple[Any, ...], t_ns: int, before: Any) -> None:
        _, participant, pick, quantity, price = op
        target = self.pick(pick)
        order_id = target.order_id if target is not None else 10_000
        participant = participant or (target.participant if target is not None else "a")
        cmd = ReplaceOrder(t_ns, participant, order_id, quantity, price)

        expected_reject: RejectReason | None = None
        if target is None or target.leaves == 0 or target.participant != participant:
            expected_reject = RejectReason.UNKNOWN_ORDER
        elif quantity <= target.filled:
            expected_reject = RejectReason.QUANTITY_NOT_ABOVE_FILLED
        elif target.post_only and self.would_cross(target.side, price):
            expected_reject = RejectReason.POST_ONLY_WOULD_CROSS
        keeps_priority = (target is not None and price == target.price
                          and quantity <= target.quantity)
        expected_events: list[tuple[str, int, int]] = []
        if expected_reject is None and not keeps_priority:
            assert target is not None
            expected_events = self.expected_matching(participant, target.side, price,
                                                     quantity - target.filled)

        reports = self.book.replace(cmd, t_ns)
        check_report_stamps(reports, t_ns)

        if expected_reject is not None:
            assert reports == [CancelRejected(t_ns, VENUE, participant, order_id, expected_reject,
                                              "replace")], (cmd, reports)
            assert book_state(self.book) == before, "a rejected replace changed the book"
            return
        assert target is not None
        first = reports[0]
        assert first.exec_type is REPLACED, (cmd, reports)
        assert (first.order_id, first.quantity, first.price, first.filled_quantity,
                first.leaves_quantity) == (order_id, quantity, price, target.filled,
                                           quantity - target.filled), (cmd, first)
        target.quantity = quantity
        target.price = price
        target.leaves = first.leaves_quantity
        self.apply(reports[1:], aggressor=target, expected_events=expected_events)
        if not keeps_priority and target.leaves:
            target.seq = self.take_seq()

    def pick(self, pick: int | tuple[str, int]) -> ModelOrder | None:
        """Mostly a live order (so cancels and replaces do something), sometimes any order.

        A negative pick names an id never used; ("id", n) names order n exactly.
        """
        if isinstance(pick, tuple):
            return self.orders.get(pick[1])
        if pick < 0:
            return None
        live = self.live()
        pool = live if live and pick % 8 else list(self.orders.values())
        return pool[pick % len(pool)] if pool else None

    def take_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq

    # -- reports -----------------------------------------------------------------------

    def apply(
        self,
        reports: list[Any],
        aggressor: ModelOrder | None,
        expected_events: list[tuple[str, int, int]],
    ) -> None:
        """Fold a command's reports (after its NEW/REPLACED) into the model, checking each."""
        events: list[tuple[str, int, int]] = []
        trades: dict[int, list[ExecutionReport]] = defaultdict(list)
        for r in reports:
            assert isinstance(r, ExecutionReport), reports
            o = self.orders[r.order_id]
            assert (r.participant, r.side) == (o.participant, o.side), (r, o)
            assert r.quantity == o.quantity, (r, o)
            if r.exec_type in (PARTIAL_FILL, FILL):
                assert r.last_quantity > 0, r
                o.filled += r.last_quantity
                assert r.filled_quantity == o.filled, (r, o)
                assert r.filled_quantity <= r.quantity, ("overfill", r)
                assert r.leaves_quantity == r.quantity - r.filled_quantity, r
                assert (r.exec_type is FILL) == (r.leaves_quantity == 0), r
                assert r.trade_id > 0 and r.reason is None, r
                assert r.price == o.price, r
                o.leaves = r.leaves_quantity
                trades[r.trade_id].append(r)
                if r.liquidity is MAKER:
                    events.append(("fill", r.order_id, r.last_quantity))
                    assert r.fee == r.last_quantity * MAKER_FEE, r
                else:
                    assert r.liquidity is TAKER, r
                    assert aggressor is not None and r.order_id == aggressor.order_id, r
                    assert r.fee == r.last_quantity * TAKER_FEE, r
            elif r.exec_type is CANCELED:
                assert r.leaves_quantity == 0 and r.filled_quantity == o.filled, (r, o)
                assert (r.last_quantity, r.fee, r.trade_id, r.liquidity) == (0, 0, 0, None), r
                assert o.leaves > 0, ("canceled an order that was not working", r, o)
                if r.reason is CancelReason.SELF_TRADE:
                    assert aggressor is not None and o is not aggressor, r
                    assert o.participant == aggressor.participant, r
                    events.append(("stp", r.order_id, o.leaves))
                elif r.reason is CancelReason.UNFILLED_REMAINDER:
                    assert o is aggressor and (o.order_type is MARKET or o.tif is not DAY), r
                else:
                    assert r.reason is CancelReason.REQUESTED and aggressor is None, r
                o.canceled += r.quantity - r.filled_quantity
                o.leaves = 0
            else:
                raise AssertionError(f"unexpected report after the first: {r}")

        # Matching followed price-time priority with self-trade prevention.
        assert events == expected_events, (events, expected_events, reports)

        for trade_id, pair in trades.items():
            assert trade_id not in self.trade_ids, ("trade_id reused", trade_id)
            self.trade_ids.add(trade_id)
            assert len(pair) == 2, ("a trade needs exactly two fill reports", pair)
            maker, taker = sorted(pair, key=lambda r: r.liquidity is TAKER)
            assert (maker.liquidity, taker.liquidity) == (MAKER, TAKER), pair
            assert maker.side is taker.side.opposite, pair
            assert maker.participant != taker.participant, ("self-trade", pair)
            assert maker.last_price == taker.last_price == maker.price, pair
            assert maker.last_quantity == taker.last_quantity, pair
            assert crosses(taker.side, taker.price, taker.last_price), ("traded through", pair)
            assert not self.orders[taker.order_id].post_only, ("post-only took liquidity", pair)

    # -- the book against the model ------------------------------------------------------

    def check_book(self) -> None:
        book = self.book
        resting = list(book.resting_orders())
        by_id = {r[0]: r for r in resting}
        assert len(by_id) == len(resting) == len(book)

        # Exactly the orders the reports left working rest, with the reported numbers.
        live = self.live()
        assert set(by_id) == {o.order_id for o in live}, (sorted(by_id), live)
        for o in live:
            assert by_id[o.order_id] == (o.order_id, o.participant, o.side, o.price, o.leaves,
                                         o.filled)
            assert o.order_id in book and book.resting(o.order_id) == by_id[o.order_id]
            assert o.order_type is LIMIT and o.tif is DAY

        # Conservation and no overfill, for every order ever sent.
        for o in self.orders.values():
            if o.rejected:
                assert o.order_id not in by_id
                continue
            book_leaves = by_id[o.order_id][4] if o.order_id in by_id else 0
            assert o.quantity == book_leaves + o.filled + o.canceled, o
            assert 0 <= o.filled <= o.quantity, o
            if o.order_id not in by_id:
                assert book.resting(o.order_id) is None and o.order_id not in book

        # L2 over all levels equals the per-price sums of resting orders; best first.
        totals: dict[tuple[Side, int], int] = defaultdict(int)
        for _, _, side, price, leaves, _ in resting:
            assert leaves > 0
            totals[(side, price)] += leaves
        bids = tuple(sorted(((p, q) for (s, p), q in totals.items() if s is BUY), reverse=True))
        asks = tuple(sorted((p, q) for (s, p), q in totals.items() if s is SELL))
        assert book.depth(BUY) == bids
        assert book.depth(SELL) == asks
        l2 = book.l2(depth=3)
        assert (l2.bids, l2.asks) == (bids[:3], asks[:3])
        for (side, price), quantity in totals.items():
            assert book.level_quantity(side, price) == quantity

        # Best prices are the extreme resting prices; never crossed at rest; L1 agrees.
        best_bid = bids[0][0] if bids else None
        best_ask = asks[0][0] if asks else None
        assert (book.best_bid, book.best_ask) == (best_bid, best_ask)
        if best_bid is not None and best_ask is not None:
            assert best_bid < best_ask, ("crossed at rest", bids, asks)
        l1 = book.l1()
        assert (l1.bid_price, l1.bid_quantity, l1.ask_price, l1.ask_quantity) == (
            best_bid, bids[0][1] if bids else 0, best_ask, asks[0][1] if asks else 0)

        # FIFO: each level's queue is the model's arrival order (replace rules included).
        levels: dict[tuple[Side, int], list[ModelOrder]] = defaultdict(list)
        for o in live:
            levels[(o.side, o.price)].append(o)  # type: ignore[index]
        for (side, price), orders in levels.items():
            expected = [o.order_id for o in sorted(orders, key=lambda o: o.seq)]
            assert book.queue(side, price) == expected, (side, price, expected)


def book_state(book: OrderBook) -> Any:
    resting = sorted(book.resting_orders())
    return (book.best_bid, book.best_ask, book.depth(BUY), book.depth(SELL), resting,
            {(r[2], r[3]): book.queue(r[2], r[3]) for r in resting})


def check_report_stamps(reports: list[Any], t_ns: int) -> None:
    assert reports, "every command gets at least one report"
    for r in reports:
        assert (r.t_ns, r.venue) == (t_ns, VENUE), r


def run(ops: list[tuple[Any, ...]]) -> Model:
    model = Model(OrderBook(VENUE, maker_fee=MAKER_FEE, taker_fee=TAKER_FEE))
    for step, op in enumerate(ops):
        model.step(op, t_ns=1_000 * (step + 1))
    return model


# --- strategies -------------------------------------------------------------------------------

participants = st.sampled_from(PARTICIPANTS)
sides = st.sampled_from([BUY, SELL])
quantities = st.integers(1, 10)


def operations(low: int, high: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """One command; limit orders are the most common so the book fills up."""
    prices = st.integers(low, high)
    # None: the target's owner sends the cancel/replace; a name: maybe someone else.
    senders = st.sampled_from([None, None, None, None, *PARTICIPANTS])
    # A pick selects the target among the orders sent so far; -1: an id never used.
    picks = st.integers(-1, 50)
    by_kind = {
        "limit": st.tuples(
            st.just("limit"), participants, sides, quantities, prices,
            st.sampled_from([DAY, DAY, DAY, IOC, FOK]),
            st.sampled_from([False, False, False, True]),
        ),
        "market": st.tuples(st.just("market"), participants, sides, quantities,
                            st.sampled_from([DAY, IOC, FOK])),
        "cancel": st.tuples(st.just("cancel"), senders, picks),
        "replace": st.tuples(st.just("replace"), senders, picks, st.integers(1, 12), prices),
    }
    kinds = ["limit"] * 5 + ["cancel", "cancel", "replace", "replace", "market"]
    return st.sampled_from(kinds).flatmap(by_kind.__getitem__)


@PROPERTY_SETTINGS
@given(st.lists(operations(98, 102), min_size=20, max_size=80))
def test_book_random_sequences_keep_every_invariant(ops: list[tuple[Any, ...]]) -> None:
    run(ops)


@PROPERTY_SETTINGS
@given(st.lists(operations(100, 101), min_size=30, max_size=120))
def test_book_crowded_two_price_sequences_keep_every_invariant(ops: list[tuple[Any, ...]]) -> None:
    # Two prices and long sequences: deep queues, many cancels and replaces at one level.
    run(ops)


@PROPERTY_SETTINGS
@given(st.data(), st.integers(20, 60))
def test_book_deep_level_with_cancels_keeps_fifo(data: st.DataObject, n_orders: int) -> None:
    # Many orders on one bid level, most of them canceled in a random order (so dead queue
    # entries outnumber live ones and the queue compacts), interleaved with new orders at
    # that level, then sell IOCs through it: queue order and level totals must hold.
    adds = data.draw(st.lists(st.tuples(participants, st.integers(1, 5)),
                              min_size=n_orders, max_size=n_orders))
    model = run([("limit", p, BUY, q, 100, DAY, False) for p, q in adds])
    order_ids = data.draw(st.permutations(sorted(model.orders)))
    keep = data.draw(st.lists(st.sampled_from([False, False, False, True]),
                              min_size=n_orders, max_size=n_orders))
    t_ns = 1_000_000
    for order_id, kept in zip(order_ids, keep):
        t_ns += 1
        if kept:
            participant, quantity = data.draw(st.tuples(participants, st.integers(1, 5)))
            model.step(("limit", participant, BUY, quantity, 100, DAY, False), t_ns)
        else:
            model.step(("cancel", None, ("id", order_id)), t_ns)
    sweeps = data.draw(st.lists(st.tuples(participants, quantities), max_size=10))
    for participant, quantity in sweeps:
        t_ns += 1
        model.step(("limit", participant, SELL, quantity, 100, IOC, False), t_ns)
