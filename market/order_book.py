"""A limit order book with price-time priority on integer ticks and lots: the matching engine.

Concept. Each side holds price levels; a level is a FIFO queue of resting orders. An
incoming order matches against the opposite side from the best price outward, and within a
level oldest first. What is left of a DAY limit order rests; of an IOC or market order it is
canceled; a FOK order fills whole or is rejected. Every outcome is an `ExecutionReport`
(or a `CancelRejected` for a failed cancel/replace): bad input is rejected, never raised.

Invariants (tests/market/test_order_book_properties.py checks them on random sequences).
- Never crossed at rest: best bid < best ask whenever both exist.
- Price-time priority: better price first; at one price, arrival order. A replace keeps
  priority only when the price is unchanged and the quantity does not grow.
- Conservation, per order: quantity = resting + filled + canceled; no overfill.
- Every trade is one buyer and one seller at one price and quantity, sharing a trade_id.
- Self-trade prevention: an incoming order that would trade with a resting order of the
  same participant cancels the resting order (reason SELF_TRADE) and matches on.

Layout and complexity. `levels[price]` is a `_Level` holding a deque of `_Order`s and the
level's total. Each side keeps a sorted list of its prices' keys (price for bids, -price
for asks), so the best level is always the list's last item: best price is O(1), emptying
the best level is an O(1) pop, adding or removing another level is a bisect plus a short
memmove, and an L2 view is a slice. A cancel is O(1): the order is marked dead (leaves 0)
and skipped when it reaches the front of its queue; a queue compacts when dead entries
outnumber live ones.

Known limits. One instrument per book; no hidden or iceberg orders; no auction phase;
prices and quantities at most 2**62.

Two implementations. This module is the reference (`PythonOrderBook`);
`market/_order_book.pyx` is its compiled twin, about 2.5 times as fast, and `OrderBook` is the
twin whenever the install built it (`COMPILED`). The tests run against both and check that
they emit identical reports on random command streams.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from typing import Any

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

__all__ = ["OrderBook", "PythonOrderBook", "COMPILED", "RestingOrder", "MAX_VALUE"]

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIAL_FILL, FILL = ExecType.NEW, ExecType.PARTIAL_FILL, ExecType.FILL
CANCELED, REPLACED, REJECTED = ExecType.CANCELED, ExecType.REPLACED, ExecType.REJECTED
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
MAX_VALUE = 1 << 62  # largest price or quantity: the compiled book keeps them in 64 bits

# Reports are built with tuple.__new__ directly: the same object the NamedTuple's own
# __new__ makes, without its Python-level frame (about 40% cheaper, measured).
_new = tuple.__new__
_Report = ExecutionReport


# A resting order is a plain list, not a slotted object: creating a list is about half the
# cost of running a Python __init__ (measured: 117 ns vs 254 ns), and adds are half of all
# book operations. Its fields, by index:
#   0 order_id   1 participant   2 side   3 price   4 quantity (total)
#   5 leaves (0 once filled, canceled or replaced away: a dead queue entry)
#   6 filled     7 post_only
_Order = list


RestingOrder = tuple[int, str, Side, int, int, int]  # order_id, participant, side, price, leaves, filled


class _Level:
    __slots__ = ("orders", "quantity", "live", "dead")

    def __init__(self) -> None:
        self.orders: deque[list[Any]] = deque()
        self.quantity = 0  # sum of live leaves
        self.live = 0
        self.dead = 0  # dead entries still in the deque


class _BookSide:
    """One side: levels by price and the sorted keys (best last)."""

    __slots__ = ("side", "sign", "levels", "keys")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.sign = 1 if side is BUY else -1
        self.levels: dict[int, _Level] = {}
        self.keys: list[int] = []  # price * sign, ascending: the best price is last

    def best(self) -> int | None:
        keys = self.keys
        return keys[-1] * self.sign if keys else None


class PythonOrderBook:
    """Price-time priority matching for one instrument at one venue (see module docstring).

    The reference implementation; `OrderBook` is the compiled twin when it was built."""

    def __init__(
        self,
        venue: str = "book",
        *,
        tick_size: int = 1,
        lot_size: int = 1,
        maker_fee: int = 0,
        taker_fee: int = 0,
        track_levels: bool = False,
    ) -> None:
        if tick_size <= 0 or lot_size <= 0:
            raise ValueError(f"tick_size and lot_size must be > 0, got {tick_size}, {lot_size}")
        self.venue = venue
        self.tick_size = tick_size
        self.lot_size = lot_size
        self.maker_fee = maker_fee  # per share, in ticks; negative is a rebate
        self.taker_fee = taker_fee
        self._bids = _BookSide(BUY)
        self._asks = _BookSide(SELL)
        self._orders: dict[int, list[Any]] = {}
        self._trade_id = 0
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        # (side, price) of every level whose quantity changed, for incremental market data.
        self.touched_levels: list[tuple[Side, int]] | None = [] if track_levels else None

    # --- commands ---------------------------------------------------------------------

    def submit(self, order: NewOrder, t_ns: int) -> list[ExecutionReport]:
        """Validate, acknowledge, match, then rest or cancel the remainder."""
        (_, participant, order_id, side, quantity, price, order_type, tif, post_only,
         min_quantity, peg) = order
        # One combined test for the common valid order; the slow path names the reason.
        if (
            type(quantity) is not int or not 0 < quantity <= MAX_VALUE or quantity % self.lot_size
            or min_quantity or peg is not None
            or type(order_id) is not int or order_id in self._orders
            or (tif is not DAY and (post_only or (tif is not IOC and tif is not FOK)))
            or (
                (type(price) is not int or not 0 < price <= MAX_VALUE or price % self.tick_size)
                if order_type is LIMIT
                else (order_type is not MARKET or price is not None or post_only)
            )
            or (side is not BUY and side is not SELL)
        ):
            return [self._reject(order, t_ns, self._reject_reason(order))]
        if side is BUY:
            opposite = self._asks
            limit_key = None if price is None else -price
        else:
            opposite = self._bids
            limit_key = price
        keys = opposite.keys
        crosses = bool(keys) and (limit_key is None or keys[-1] >= limit_key)
        if crosses and post_only:
            return [self._reject(order, t_ns, RejectReason.POST_ONLY_WOULD_CROSS)]
        if tif is FOK and self._available(opposite, limit_key, participant, quantity) < quantity:
            return [self._reject(order, t_ns, RejectReason.FOK_CANNOT_FILL)]
        venue = self.venue
        reports = [_new(_Report, (t_ns, venue, participant, order_id, NEW, side, price, quantity,
                                  0, 0, quantity, 0, 0, None, 0, None))]
        leaves = quantity
        if crosses:
            leaves = self._match(opposite, limit_key, order_id, participant, side, price,
                                 quantity, 0, t_ns, reports)
            if not leaves:
                return reports
        if tif is DAY and price is not None:
            self._rest([order_id, participant, side, price, quantity, leaves,
                        quantity - leaves, post_only])
        else:
            reports.append(_new(_Report, (
                t_ns, venue, participant, order_id, CANCELED, side, price, quantity,
                0, 0, 0, quantity - leaves, 0, None, 0, CancelReason.UNFILLED_REMAINDER)))
        return reports

    def cancel(self, cancel: CancelOrder, t_ns: int) -> list[ExecutionReport] | list[CancelRejected]:
        """Cancel a resting order of the same participant."""
        order_id = cancel[2]
        resting = self._orders.get(order_id) if type(order_id) is int else None
        if resting is None or resting[1] != cancel[1]:
            return [CancelRejected(t_ns, self.venue, cancel.participant, cancel.order_id,
                                   RejectReason.UNKNOWN_ORDER, "cancel")]
        self._remove(resting)
        return [_new(_Report, (t_ns, self.venue, resting[1], resting[0], CANCELED, resting[2],
                               resting[3], resting[4], 0, 0, 0, resting[6], 0, None, 0,
                               CancelReason.REQUESTED))]

    def replace(
        self, replace: ReplaceOrder, t_ns: int
    ) -> list[ExecutionReport] | list[CancelRejected]:
        """Change price and/or total quantity; keep priority only on a same-price decrease."""
        _, participant, order_id, quantity, price = replace
        resting = self._orders.get(order_id) if type(order_id) is int else None
        reason: RejectReason | None = None
        if resting is None or resting[1] != participant:
            reason = RejectReason.UNKNOWN_ORDER
        else:
            reason = self._validate_quantity_and_price(quantity, price)
            if reason is None and quantity <= resting[6]:
                reason = RejectReason.QUANTITY_NOT_ABOVE_FILLED
        if reason is None:
            assert resting is not None
            opposite = self._asks if resting[2] is BUY else self._bids
            new_key = price * opposite.sign
            crosses = bool(opposite.keys) and opposite.keys[-1] >= new_key
            if resting[7] and crosses:
                reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            return [CancelRejected(t_ns, self.venue, participant, order_id, reason, "replace")]
        assert resting is not None
        filled = resting[6]
        leaves = quantity - filled
        side = resting[2]
        if price == resting[3] and leaves <= resting[5]:
            level = (self._bids if side is BUY else self._asks).levels[price]
            level.quantity -= resting[5] - leaves
            resting[5] = leaves
            resting[4] = quantity
            if self.touched_levels is not None:
                self.touched_levels.append((side, price))
            return [_new(_Report, (t_ns, self.venue, participant, order_id, REPLACED, side,
                                   price, quantity, 0, 0, leaves, filled, 0, None, 0, None))]
        # Priority is lost: take the order out and send it in again as an aggressor.
        self._remove(resting)
        reports = [_new(_Report, (t_ns, self.venue, participant, order_id, REPLACED, side,
                                  price, quantity, 0, 0, leaves, filled, 0, None, 0, None))]
        if crosses:
            leaves = self._match(opposite, new_key, order_id, participant, side, price,
                                 quantity, filled, t_ns, reports)
        if leaves:
            self._rest([order_id, participant, side, price, quantity, leaves,
                        quantity - leaves, resting[7]])
        return reports

    # --- views ------------------------------------------------------------------------

    def l1(self, t_ns: int = 0) -> L1Snapshot:
        bid, ask = self.best_bid, self.best_ask
        return L1Snapshot(
            t_ns, self.venue,
            bid, self._bids.levels[bid].quantity if bid is not None else 0,
            ask, self._asks.levels[ask].quantity if ask is not None else 0,
        )

    def l2(self, t_ns: int = 0, depth: int = 10) -> L2Snapshot:
        return L2Snapshot(t_ns, self.venue, self.depth(BUY, depth), self.depth(SELL, depth))

    def depth(self, side: Side, levels: int | None = None) -> tuple[tuple[int, int], ...]:
        """(price, quantity) of the best `levels` levels of one side, best first."""
        book_side = self._bids if side is BUY else self._asks
        keys = book_side.keys
        chosen = keys[::-1] if levels is None else keys[: -levels - 1 : -1]
        sign = book_side.sign
        by_price = book_side.levels
        return tuple((k * sign, by_price[k * sign].quantity) for k in chosen)

    def level_quantity(self, side: Side, price: int) -> int:
        level = (self._bids if side is BUY else self._asks).levels.get(price)
        return level.quantity if level is not None else 0

    def queue(self, side: Side, price: int) -> list[int]:
        """Order ids resting at one price, in time priority."""
        level = (self._bids if side is BUY else self._asks).levels.get(price)
        return [o[0] for o in level.orders if o[5]] if level is not None else []

    def resting(self, order_id: int) -> RestingOrder | None:
        o = self._orders.get(order_id)
        return None if o is None else (o[0], o[1], o[2], o[3], o[5], o[6])

    def resting_orders(self) -> Iterator[RestingOrder]:
        for o in self._orders.values():
            yield (o[0], o[1], o[2], o[3], o[5], o[6])

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._orders

    # --- internals --------------------------------------------------------------------

    def _validate_quantity_and_price(self, quantity: Any, price: Any) -> RejectReason | None:
        if type(quantity) is not int or not 0 < quantity <= MAX_VALUE:
            return RejectReason.INVALID_QUANTITY
        if quantity % self.lot_size:
            return RejectReason.NOT_LOT_MULTIPLE
        if type(price) is not int or not 0 < price <= MAX_VALUE:
            return RejectReason.INVALID_PRICE
        if price % self.tick_size:
            return RejectReason.OFF_TICK
        return None

    def _reject_reason(self, order: NewOrder) -> RejectReason:
        if order.min_quantity or order.peg is not None:
            return RejectReason.UNSUPPORTED
        if order.side is not BUY and order.side is not SELL:  # identity: "buy" == BUY
            return RejectReason.INVALID_SIDE
        order_type = order.order_type
        if order_type is LIMIT:
            reason = self._validate_quantity_and_price(order.quantity, order.price)
            if reason is not None:
                return reason
        elif order_type is MARKET:
            quantity = order.quantity
            if type(quantity) is not int or not 0 < quantity <= MAX_VALUE:
                return RejectReason.INVALID_QUANTITY
            if quantity % self.lot_size:
                return RejectReason.NOT_LOT_MULTIPLE
            if order.price is not None:
                return RejectReason.INVALID_PRICE
            if order.post_only:
                return RejectReason.INVALID_ORDER_TYPE
        else:
            return RejectReason.INVALID_ORDER_TYPE
        tif = order.time_in_force
        if (tif is not DAY and tif is not IOC and tif is not FOK) or (order.post_only and tif is not DAY):
            return RejectReason.INVALID_TIME_IN_FORCE
        if type(order.order_id) is not int:
            return RejectReason.INVALID_ORDER_ID
        if order.order_id in self._orders:
            return RejectReason.DUPLICATE_ORDER_ID
        raise AssertionError(f"no reject reason for {order!r}")  # the fast test disagrees

    def _reject(self, order: NewOrder, t_ns: int, reason: RejectReason) -> ExecutionReport:
        return _new(_Report, (t_ns, self.venue, order.participant, order.order_id, REJECTED,
                              order.side, order.price, order.quantity, 0, 0, 0, 0, 0, None, 0,
                              reason))

    def _available(self, opposite: _BookSide, limit_key: int | None, participant: str,
                   needed: int) -> int:
        """Quantity an order could take now, not counting the participant's own orders."""
        total = 0
        sign = opposite.sign
        for key in reversed(opposite.keys):
            if limit_key is not None and key < limit_key:
                break
            for o in opposite.levels[key * sign].orders:
                leaves: int = o[5]
                if leaves and o[1] != participant:
                    total += leaves
                    if total >= needed:
                        return total
        return total

    def _match(
        self,
        opposite: _BookSide,
        limit_key: int | None,
        order_id: int,
        participant: str,
        side: Side,
        price: int | None,
        quantity: int,
        filled: int,
        t_ns: int,
        reports: list[Any],
    ) -> int:
        """Trade an incoming order against `opposite`; returns its leaves quantity."""
        keys = opposite.keys
        levels = opposite.levels
        sign = opposite.sign
        orders = self._orders
        venue = self.venue
        maker_fee = self.maker_fee
        taker_fee = self.taker_fee
        touched = self.touched_levels
        append = reports.append
        leaves = quantity - filled
        trade_id = self._trade_id
        while leaves and keys:
            key = keys[-1]
            if limit_key is not None and key < limit_key:
                break
            level_price = key * sign
            level = levels[level_price]
            queue = level.orders
            while leaves and queue:
                resting = queue[0]
                resting_leaves = resting[5]
                if not resting_leaves:
                    queue.popleft()
                    level.dead -= 1
                    continue
                if resting[1] == participant:
                    # Self-trade prevention: cancel the resting order, keep matching.
                    queue.popleft()
                    level.quantity -= resting_leaves
                    level.live -= 1
                    resting[5] = 0
                    del orders[resting[0]]
                    append(_new(_Report, (
                        t_ns, venue, participant, resting[0], CANCELED, resting[2],
                        level_price, resting[4], 0, 0, 0, resting[6], 0, None, 0,
                        CancelReason.SELF_TRADE)))
                    continue
                fill = leaves if leaves < resting_leaves else resting_leaves
                trade_id += 1
                resting_leaves -= fill
                resting[5] = resting_leaves
                resting_filled = resting[6] + fill
                resting[6] = resting_filled
                level.quantity -= fill
                if not resting_leaves:
                    queue.popleft()
                    level.live -= 1
                    del orders[resting[0]]
                leaves -= fill
                filled += fill
                append(_new(_Report, (
                    t_ns, venue, resting[1], resting[0],
                    PARTIAL_FILL if resting_leaves else FILL, resting[2], level_price,
                    resting[4], fill, level_price, resting_leaves, resting_filled,
                    fill * maker_fee, MAKER, trade_id, None)))
                append(_new(_Report, (
                    t_ns, venue, participant, order_id, PARTIAL_FILL if leaves else FILL,
                    side, price, quantity, fill, level_price, leaves, filled,
                    fill * taker_fee, TAKER, trade_id, None)))
            if touched is not None:
                touched.append((opposite.side, level_price))
            if not level.live:
                del levels[level_price]
                keys.pop()
        self._trade_id = trade_id
        if sign == 1:
            self.best_bid = keys[-1] if keys else None
        else:
            self.best_ask = -keys[-1] if keys else None
        return leaves

    def _rest(self, order: list[Any]) -> None:
        side = order[2]
        price = order[3]
        book_side = self._bids if side is BUY else self._asks
        level = book_side.levels.get(price)
        if level is None:
            level = book_side.levels[price] = _Level()
            keys = book_side.keys
            key = price * book_side.sign
            if not keys or key > keys[-1]:
                keys.append(key)
                if side is BUY:
                    self.best_bid = price
                else:
                    self.best_ask = price
            else:
                insort(keys, key)
        level.orders.append(order)
        level.quantity += order[5]
        level.live += 1
        self._orders[order[0]] = order
        if self.touched_levels is not None:
            self.touched_levels.append((side, price))

    def _remove(self, order: list[Any]) -> None:
        """Take a resting order out of its level (lazily: it becomes a dead queue entry)."""
        side = order[2]
        price = order[3]
        book_side = self._bids if side is BUY else self._asks
        level = book_side.levels[price]
        level.quantity -= order[5]
        level.live -= 1
        order[5] = 0
        del self._orders[order[0]]
        if self.touched_levels is not None:
            self.touched_levels.append((side, price))
        if level.live:
            level.dead += 1
            if level.dead > 16 and level.dead > level.live:
                level.orders = deque(o for o in level.orders if o[5])
                level.dead = 0
            return
        del book_side.levels[price]
        keys = book_side.keys
        key = price * book_side.sign
        if keys[-1] == key:
            keys.pop()
            best = keys[-1] * book_side.sign if keys else None
            if side is BUY:
                self.best_bid = best
            else:
                self.best_ask = best
        else:
            del keys[bisect_left(keys, key)]


# The compiled twin (market/_order_book.pyx) follows this module line for line and is
# tested against it; it is used wherever the install could build it.
OrderBook: type[PythonOrderBook]
try:
    from market._order_book import OrderBook as _CompiledOrderBook  # type: ignore[import-not-found]
except ImportError:  # no C compiler at install time: the reference serves, same behaviour
    OrderBook = PythonOrderBook
    COMPILED = False
else:
    OrderBook = _CompiledOrderBook
    COMPILED = True
