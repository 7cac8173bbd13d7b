"""A dark pool: pegged orders cross at NBBO-derived prices; nothing is shown before a trade.

Concept. `DarkPool` takes `NewOrder`s pegged to the NBBO (`Peg.MIDPOINT`, `NEAR`, `FAR`; an
order without a peg is a MIDPOINT order) with an optional limit (`price`) and a minimum
execution size (`min_quantity`, FIX MinQty). It publishes no quotes and no book: its only
market data is a `TradePrint` per trade, published `print_delay_ns` after the trade through
the venue's publish path (and logged then). Liquidity is only what participants rest here.

Reference price. The pool subscribes to a `ConsolidatedFeed` — the caller wires
`feed.subscribe(pool.name, pool.on_nbbo, latency)` — so it prices off the NBBO as it last
*received* it, stale by the feed's latency, as real pools are. A reference exists only when
both sides are quoted and bid < ask: a one-sided, locked or crossed NBBO stops all crossing
(orders wait; a DAY order arriving with no NBBO is accepted and rests). At crossing time an
order's working price is its peg's price — MIDPOINT `(bid + ask) // 2`, NEAR its own touch
(bid for a buy), FAR the opposite touch (ask for a buy) — capped by its limit (a buy works at
min(peg, limit), a sell at max(peg, limit)).

Midpoint rounding. Prices are integer ticks of the instrument's base increment. When
bid + ask is odd the true mid is a half tick; the pool uses floor((bid + ask) / 2), the
bid-side neighbour, for every order. That favours buyers by half a base increment; venue
ticks are usually many base increments (e.g. 100), so the bias is a small fraction of a
venue tick, and limits are still respected because the execution price is checked against
both sides' working prices.

Crossing. A buy and a sell can trade when the buy's working price >= the sell's. They trade
at the mid clamped into [sell's price, buy's price]: exactly the midpoint whenever both
accept it (a pool of MIDPOINT orders trades every execution of a cross at the single mid),
otherwise the price nearest the mid both accept (a NEAR buy at the bid meeting a FAR sell
trades at the bid). An execution is min(both leaves); it is not done when it is smaller than
either side's minimum, where an order's minimum is min(min_quantity, leaves) — so an order
partly filled below its MinQty can still complete — and the next contra is tried instead.
Never with the same participant's order (both keep working). Priority is time: contras are
tried in arrival order, and in a full cross every order, oldest first, takes its turn
against all contras, oldest first. All executions of a cross use one NBBO snapshot.
- `auction_interval_ns == 0` (continuous): a new order crosses at once against what rests
  (it is TAKER, the contra MAKER); a change of the NBBO's bid or ask runs a full cross
  (both sides MAKER: nobody arrived).
- `auction_interval_ns > 0` (periodic): orders only rest; crosses happen at creation time
  + k * interval (k >= 1), both sides MAKER. An order that arrives at an auction's exact
  nanosecond waits for the next one. An auction that could not trade (nothing changed since
  the last one, or an empty pool) is skipped without a timer, unobservably.
A `TradePrint`'s aggressor side is the arriving order's side, or in a full cross the side of
the later-arrived order of the pair. Its `t_ns` is its publication time (the message's
creation, like every venue output); `trade_id` links it to the two execution reports, which
carry the execution time. Both sides pay `fee` per share (ticks; negative is a rebate).

Time in force. DAY rests until filled or canceled. IOC crosses once: at arrival
(continuous) or in the next auction (periodic); its remainder is then canceled with
UNFILLED_REMAINDER, also when there was no reference price. FOK and post-only are rejected
UNSUPPORTED; `OrderType.MARKET` means no limit (its price must be None).

Censored feedback. A fill report carries only the order's own numbers: a child order that
fills completely learns that *at least* that much was there, never how much more rests. The
pool exposes no book view to participants; `resting_quantity()` and `len()` are for tests.

Ordering invariant (continuous mode). Between events no two resting orders could trade at
the pool's current reference: every event that can enable a trade (an arrival, a reference
change, a fill that takes an order's leaves below its MinQty) runs the crossing it enables.

Complexity. With n resting orders (b buys, s sells): an arrival scans its contras, O(n); a
full cross is O(b * s) per pass, and a further pass is run only when a fill took some
order's leaves below its MinQty; a cancel is O(n) (a list removal). Meant for pools of tens
to hundreds of resting orders, which is what dark pools hold.

Modify. `ReplaceOrder` is rejected (`CancelRejected`, UNSUPPORTED): cancel and send a new
order. Cancel of an own resting order is CANCELED/REQUESTED; anything else UNKNOWN_ORDER.

Event log. Besides what every venue logs (commands in, reports out), each NBBO the pool
receives is logged "in" at the pool's name at its arrival time — the input its prices come
from — and each `TradePrint` "out" when it is published, not when the trade happened.

Known limits. Prints still delayed when a run ends are never published. One instrument; no
odd-lot or round-lot rules; no conditional orders or IOIs; no peg offsets; no size priority
or broker tiers; an order's minimum applies to each execution (no "first fill only"
variant); duplicate order ids are detected among live orders only, like the lit book.
"""

from __future__ import annotations

import asyncio
from typing import Any

from market.clock import Clock
from market.event_log import EventLog
from market.messages import (
    NBBO,
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    Liquidity,
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
from venues.venue import Venue

__all__ = ["DarkPool"]

BUY, SELL = Side.BUY, Side.SELL
MIDPOINT, NEAR, FAR = Peg.MIDPOINT, Peg.NEAR, Peg.FAR
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
NEW, PARTIAL_FILL, FILL = ExecType.NEW, ExecType.PARTIAL_FILL, ExecType.FILL
CANCELED, REJECTED = ExecType.CANCELED, ExecType.REJECTED
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER

# (bid, ask, mid) of a usable NBBO
_Reference = tuple[int, int, int]


class _DarkOrder:
    """A working order. A slotted object rather than the lit book's plain list: the pool is
    far off the hot path of the lit books, and named fields keep the crossing readable."""

    __slots__ = ("order_id", "participant", "side", "limit", "quantity", "leaves", "filled",
                 "min_quantity", "peg", "ioc", "arrived_ns", "sequence", "working")

    def __init__(self, order: NewOrder, arrived_ns: int, sequence: int) -> None:
        self.order_id: int = order.order_id
        self.participant: str = order.participant
        self.side: Side = order.side
        self.limit: int | None = order.price
        self.quantity: int = order.quantity
        self.leaves: int = order.quantity
        self.filled = 0
        self.min_quantity: int = order.min_quantity
        self.peg: Peg = MIDPOINT if order.peg is None else order.peg
        self.ioc = order.time_in_force is IOC
        self.arrived_ns = arrived_ns
        self.sequence = sequence  # arrival order at this pool
        self.working = 0  # working price at the current cross

    def minimum(self) -> int:
        """The smallest execution this order takes now (its MinQty, or all it has left)."""
        leaves, minimum = self.leaves, self.min_quantity
        return leaves if leaves < minimum else minimum


class DarkPool(Venue):
    """A dark pool crossing pegged orders off the NBBO (see the module docstring)."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        lot_size: int = 1,
        tick_size: int = 1,
        fee: int = 0,
        print_delay_ns: int = 0,
        auction_interval_ns: int = 0,
        event_log: EventLog | None = None,
        rng_streams: RngStreams | None = None,
    ) -> None:
        for field, value, low in (("lot_size", lot_size, 1), ("tick_size", tick_size, 1),
                                  ("print_delay_ns", print_delay_ns, 0),
                                  ("auction_interval_ns", auction_interval_ns, 0)):
            if type(value) is not int or value < low:
                raise ValueError(f"dark pool {name!r}: {field} was {value!r}, expected an int >= {low}")
        if type(fee) is not int:
            raise ValueError(f"dark pool {name!r}: fee was {fee!r}, expected an int (ticks per share)")
        super().__init__(name, clock, event_log=event_log, rng_streams=rng_streams)
        self.lot_size = lot_size
        self.tick_size = tick_size
        self.fee = fee
        self.print_delay_ns = print_delay_ns
        self.auction_interval_ns = auction_interval_ns
        self.created_ns = clock.now_ns()
        self._nbbo: NBBO | None = None
        self._reference: _Reference | None = None
        self._orders: dict[int, _DarkOrder] = {}  # live orders, in arrival order
        self._buys: list[_DarkOrder] = []  # arrival order
        self._sells: list[_DarkOrder] = []
        self._sequence = 0
        self._trade_id = 0
        self._auction: asyncio.TimerHandle | None = None
        self._dirty = False  # periodic: something changed that the next auction should see
        self._unlocked = False  # a fill took an order's leaves below its MinQty
        self.trades = 0
        self.traded_quantity = 0
        self.auctions = 0  # periodic auctions run
        self.nbbo_updates = 0

    # --- reference price ----------------------------------------------------------------

    def on_nbbo(self, message: Any) -> None:
        """The consolidated feed's handler: take the NBBO as the pool's reference."""
        if type(message) is not NBBO:
            return
        now = self.clock.now_ns()
        if self.event_log is not None:
            self.event_log.record(now, "in", self.name, message)
        self.nbbo_updates += 1
        self._nbbo = message
        bid, ask = message.bid_price, message.ask_price
        reference = (bid, ask, (bid + ask) // 2) if (
            bid is not None and ask is not None and bid < ask) else None
        if reference == self._reference:
            return  # a size-only change moves no peg
        self._reference = reference
        if reference is None or not self._orders:
            return
        if self.auction_interval_ns:
            self._dirty = True
            self._schedule_auction(now)
        else:
            reports: list[Any] = []
            prints: list[TradePrint] = []
            self._cross(now, None, None, reports, prints)
            self._finish(reports, prints, now)

    @property
    def nbbo(self) -> NBBO | None:
        """The last NBBO the pool received (what it prices off)."""
        return self._nbbo

    # --- commands -----------------------------------------------------------------------

    def on_new_order(self, participant: str, order: NewOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.orders += 1
        reason = self._validate(order)
        if reason is not None:
            stats.rejects += 1
            self.send_reports([ExecutionReport(
                now, self.name, participant, order.order_id, REJECTED, order.side, order.price,
                order.quantity, 0, 0, 0, 0, 0, None, 0, reason)])
            return
        reports: list[Any] = [ExecutionReport(
            now, self.name, participant, order.order_id, NEW, order.side, order.price,
            order.quantity, 0, 0, order.quantity, 0, 0, None, 0, None)]
        prints: list[TradePrint] = []
        self._sequence += 1
        resting = _DarkOrder(order, now, self._sequence)
        self._rest(resting)
        if self.auction_interval_ns:
            self._dirty = True
            self._schedule_auction(now)
        else:
            self._cross(now, None, resting, reports, prints)
            if resting.ioc and resting.leaves:
                self._cancel_remainder(resting, now, reports)
        self._finish(reports, prints, now)

    def on_cancel_order(self, participant: str, cancel: CancelOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.cancels += 1
        order_id = cancel.order_id
        resting = self._orders.get(order_id) if type(order_id) is int else None
        if resting is None or resting.participant != participant:
            stats.rejects += 1
            self.send_reports([CancelRejected(now, self.name, participant, order_id,
                                              RejectReason.UNKNOWN_ORDER, "cancel")])
            return
        self._remove(resting)
        self.send_reports([self._report(resting, now, CANCELED, reason=CancelReason.REQUESTED)])

    def on_replace_order(self, participant: str, replace: ReplaceOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.replaces += 1
        stats.rejects += 1
        self.send_reports([CancelRejected(now, self.name, participant, replace.order_id,
                                          RejectReason.UNSUPPORTED, "replace")])

    # --- views for tests (participants never get these) -----------------------------------

    def resting_quantity(self, side: Side | None = None) -> int:
        """Leaves quantity resting, on one side or both. For tests and checks only."""
        return sum(o.leaves for o in self._orders.values() if side is None or o.side is side)

    def __len__(self) -> int:
        return len(self._orders)

    # --- validation ---------------------------------------------------------------------

    def _validate(self, order: NewOrder) -> RejectReason | None:
        (_, _, order_id, side, quantity, price, order_type, tif, post_only, min_quantity,
         peg) = order
        # Identity tests only: a bad message may carry any object, and == or bool() on it
        # could raise; the venue never does.
        if side is not BUY and side is not SELL:
            return RejectReason.INVALID_SIDE
        if type(quantity) is not int or quantity <= 0:
            return RejectReason.INVALID_QUANTITY
        if quantity % self.lot_size:
            return RejectReason.NOT_LOT_MULTIPLE
        if order_type is not LIMIT and order_type is not MARKET:
            return RejectReason.INVALID_ORDER_TYPE
        if price is not None:
            if order_type is MARKET or type(price) is not int or price <= 0:
                return RejectReason.INVALID_PRICE
            if price % self.tick_size:
                return RejectReason.OFF_TICK
        if tif is FOK:
            return RejectReason.UNSUPPORTED
        if tif is not DAY and tif is not IOC:
            return RejectReason.INVALID_TIME_IN_FORCE
        if post_only is not False:
            return RejectReason.UNSUPPORTED
        if peg is not None and peg is not MIDPOINT and peg is not NEAR and peg is not FAR:
            return RejectReason.UNSUPPORTED
        if (type(min_quantity) is not int or min_quantity < 0 or min_quantity > quantity
                or min_quantity % self.lot_size):
            return RejectReason.INVALID_MIN_QUANTITY
        if type(order_id) is not int:
            return RejectReason.INVALID_ORDER_ID
        if order_id in self._orders:
            return RejectReason.DUPLICATE_ORDER_ID
        return None

    # --- crossing -----------------------------------------------------------------------

    def _cross(
        self,
        now: int,
        cutoff: int | None,
        arriving: _DarkOrder | None,
        reports: list[Any],
        prints: list[TradePrint],
    ) -> None:
        """Trade what can trade at the current reference.

        `arriving`: only that order crosses (against all contras), unless a fill unlocks
        others. `cutoff`: orders that arrived at or after it sit out (an auction's instant).
        """
        reference = self._reference
        if reference is None:
            return
        bid, ask, mid = reference
        for o in self._orders.values():
            if o.side is BUY:
                peg = mid if o.peg is MIDPOINT else bid if o.peg is NEAR else ask
                limit = o.limit
                o.working = peg if limit is None or peg <= limit else limit
            else:
                peg = mid if o.peg is MIDPOINT else ask if o.peg is NEAR else bid
                limit = o.limit
                o.working = peg if limit is None or peg >= limit else limit
        self._unlocked = False
        if arriving is not None:
            self._match(arriving, mid, cutoff, arriving, reports, prints)
            full = self._unlocked
        else:
            full = True
        while full:
            self._unlocked = False
            for o in list(self._orders.values()):
                if o.leaves and (cutoff is None or o.arrived_ns < cutoff):
                    self._match(o, mid, cutoff, arriving, reports, prints)
            full = self._unlocked
        if self._buys and any(not o.leaves for o in self._buys):
            self._buys = [o for o in self._buys if o.leaves]
        if self._sells and any(not o.leaves for o in self._sells):
            self._sells = [o for o in self._sells if o.leaves]

    def _match(
        self,
        order: _DarkOrder,
        mid: int,
        cutoff: int | None,
        arriving: _DarkOrder | None,
        reports: list[Any],
        prints: list[TradePrint],
    ) -> None:
        """`order` against every eligible contra, oldest first, until it is done."""
        is_buy = order.side is BUY
        contras = self._sells if is_buy else self._buys
        participant = order.participant
        working = order.working
        for contra in contras:
            if not order.leaves:
                break
            if not contra.leaves or contra.participant == participant:
                continue
            if cutoff is not None and contra.arrived_ns >= cutoff:
                continue
            if is_buy:
                buy_price, sell_price = working, contra.working
            else:
                buy_price, sell_price = contra.working, working
            if buy_price < sell_price:
                continue
            size = order.leaves if order.leaves < contra.leaves else contra.leaves
            if size < order.minimum() or size < contra.minimum():
                continue
            price = mid if sell_price <= mid <= buy_price else (
                sell_price if mid < sell_price else buy_price)
            self._trade(order, contra, size, price, arriving, reports, prints)

    def _trade(
        self,
        order: _DarkOrder,
        contra: _DarkOrder,
        size: int,
        price: int,
        arriving: _DarkOrder | None,
        reports: list[Any],
        prints: list[TradePrint],
    ) -> None:
        self._trade_id += 1
        trade_id = self._trade_id
        now = self.clock.now_ns()
        for o in (contra, order):
            o.leaves -= size
            o.filled += size
            if o.leaves and o.leaves < o.min_quantity:
                self._unlocked = True
            if not o.leaves:
                del self._orders[o.order_id]
            reports.append(self._report(
                o, now, PARTIAL_FILL if o.leaves else FILL, size, price, trade_id,
                TAKER if o is arriving else MAKER))
        if arriving is not None and (arriving is order or arriving is contra):
            aggressor = arriving.side
        else:
            aggressor = order.side if order.sequence > contra.sequence else contra.side
        prints.append(TradePrint(now, self.name, trade_id, price, size, aggressor))
        self.trades += 1
        self.traded_quantity += size

    # --- periodic auctions ----------------------------------------------------------------

    def _schedule_auction(self, now: int) -> None:
        if self._auction is not None or not self._dirty or not self._orders:
            return
        interval = self.auction_interval_ns
        created = self.created_ns
        t_ns = created + ((now - created) // interval + 1) * interval
        self._auction = self.clock.call_at_ns(t_ns, self._on_auction)

    def _on_auction(self) -> None:
        now = self.clock.now_ns()
        self._auction = None
        self._dirty = False
        self.auctions += 1
        reports: list[Any] = []
        prints: list[TradePrint] = []
        self._cross(now, now, None, reports, prints)
        for o in list(self._orders.values()):
            if o.arrived_ns >= now:
                self._dirty = True  # arrived at this instant: it is the next auction's
            elif o.ioc:
                self._cancel_remainder(o, now, reports)
        self._finish(reports, prints, now)
        self._schedule_auction(now)

    # --- bookkeeping --------------------------------------------------------------------

    def _rest(self, order: _DarkOrder) -> None:
        self._orders[order.order_id] = order
        (self._buys if order.side is BUY else self._sells).append(order)

    def _remove(self, order: _DarkOrder) -> None:
        del self._orders[order.order_id]
        (self._buys if order.side is BUY else self._sells).remove(order)

    def _cancel_remainder(self, order: _DarkOrder, now: int, reports: list[Any]) -> None:
        self._remove(order)
        reports.append(self._report(order, now, CANCELED, reason=CancelReason.UNFILLED_REMAINDER))

    def _report(
        self,
        order: _DarkOrder,
        now: int,
        exec_type: ExecType,
        size: int = 0,
        price: int = 0,
        trade_id: int = 0,
        liquidity: Liquidity | None = None,
        reason: CancelReason | None = None,
    ) -> ExecutionReport:
        leaves = order.leaves if exec_type is not CANCELED else 0
        return ExecutionReport(now, self.name, order.participant, order.order_id, exec_type,
                               order.side, order.limit, order.quantity, size, price, leaves,
                               order.filled, size * self.fee, liquidity, trade_id, reason)

    def _finish(self, reports: list[Any], prints: list[TradePrint], now: int) -> None:
        if reports:
            self.send_reports(reports)
        if not prints:
            return
        if self.print_delay_ns:
            self.clock.call_at_ns(now + self.print_delay_ns, self._publish_prints, prints)
        else:
            self._publish_prints(prints)

    def _publish_prints(self, prints: list[TradePrint]) -> None:
        now = self.clock.now_ns()
        for trade_print in prints:
            self.publish(trade_print._replace(t_ns=now))
