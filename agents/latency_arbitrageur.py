"""Latency arbitrageur: picks off a dark pool that prices its midpoint pegs off a stale NBBO.

The edge. A dark pool crosses midpoint pegs at the mid of the NBBO it last *received*
(`venues.dark_pool`), so when its feed lags, it trades at yesterday's mid. This agent reads
the lit venues directly (fast) and also holds the pool's view of the market; when the two
disagree by enough it trades against whoever rests in the pool at the stale price:

    fresh mid = (best bid + best ask) / 2 over its lit venues' own tops (L1/L2, direct)
    pool mid  = floor((bid + ask) / 2) of the last NBBO it got on the pool's path
    pool mid - fresh mid >= threshold_ticks  ->  SELL into the pool (its mid is too high)
    fresh mid - pool mid >= threshold_ticks  ->  BUY from the pool (its mid is too low)

(Both only when each view is usable: both sides quoted, bid < ask — as the pool requires.)

The pool's view. Every `NBBO` this agent receives is taken as the pool's reference: the
caller subscribes it to the same path the pool reads — the consolidated feed with the same
latency as the pool's subscription, or the very relay that feeds the pool (what the study
`scenarios.regime_routing` does) — so it holds what the pool holds, when the pool holds it.
That stands for an arbitrageur who has measured the pool's lag; the agent never reads the
pool's state. Its fresh view comes only from `L1Snapshot` / `L2Snapshot` of `venues`
(subscribe it to them directly, with a small latency); everything else is ignored.

The order. A midpoint-pegged IOC of `max_lots` lots at `pool`, limited at the fresh mid
rounded outward onto the pool's price grid (`pool_tick_size`: up for a sell, down for a
buy), so it never trades through the fair value it sees, even if the pool's reference has
moved by the time the order lands. At most one pool order in flight per direction (sent,
not yet done), and at least `cooldown_ns` between two sends in one direction, so a gap that
persists is pinged at a bounded rate rather than on every quote change. While |position| is
over the limit below, it sends no pool order that would add to it.

The exit. When |position| exceeds `max_position_lots` lots (0: after every fill) it
flattens on the lit venues: an IOC for the whole position at the touch it sees (the best bid
to sell, the best ask to buy; ties go to the first venue in `venues` order), one exit order
in flight at a time, re-tried on the next market data or fill while the position is still
over the limit.

Checks run on every fresh top, every pool-view NBBO and every own report, only while
`active` (a scenario may switch it on at a regime shift). The agent draws no random numbers:
given the same messages it does the same things.

Units: prices in ticks, quantities in shares (lots x `lot_size`), times in ns.

Known limits. One pool, one instrument. The fresh view is the best of its venues' last
tops, no depth; the threshold is the only cost model (set it above the fees both ways).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agents.agent import Agent
from market.messages import (
    NBBO,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    OrderType,
    Peg,
    Side,
    TimeInForce,
)

__all__ = ["LatencyArbitrageur"]

_BUY, _SELL = Side.BUY, Side.SELL
_IOC, _LIMIT, _MIDPOINT = TimeInForce.IOC, OrderType.LIMIT, Peg.MIDPOINT
_DONE = (ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)


class LatencyArbitrageur(Agent):
    """Trades a dark pool's stale midpoint against the fresh lit mid (see the module
    docstring)."""

    def __init__(
        self,
        name: str,
        pool: str,
        venues: Sequence[str],
        *,
        threshold_ticks: float,
        max_lots: int = 5,
        lot_size: int = 100,
        pool_tick_size: int = 1,
        max_position_lots: int = 20,
        cooldown_ns: int = 1_000_000,
        active: bool = True,
    ) -> None:
        super().__init__(name)
        if not isinstance(pool, str) or not pool:
            raise ValueError(f"{name}.pool was {pool!r}, expected a venue name")
        if isinstance(venues, str) or not venues:
            raise ValueError(f"{name}.venues was {venues!r}, expected a non-empty list of lit "
                             "venue names")
        if pool in venues:
            raise ValueError(f"{name}.pool {pool!r} is also in venues")
        if (isinstance(threshold_ticks, bool) or not isinstance(threshold_ticks, (int, float))
                or not math.isfinite(threshold_ticks) or not threshold_ticks > 0):
            raise ValueError(f"{name}.threshold_ticks was {threshold_ticks!r}, expected a finite "
                             "number > 0")
        for field, value, low in (("max_lots", max_lots, 1), ("lot_size", lot_size, 1),
                                  ("pool_tick_size", pool_tick_size, 1),
                                  ("max_position_lots", max_position_lots, 0),
                                  ("cooldown_ns", cooldown_ns, 0)):
            if type(value) is not int or value < low:
                raise ValueError(f"{name}.{field} was {value!r}, expected an int >= {low}")
        self.pool = pool
        self.venues = list(dict.fromkeys(venues))
        self.threshold_ticks = float(threshold_ticks)
        self.max_lots = max_lots
        self.lot_size = lot_size
        self.pool_tick_size = pool_tick_size
        self.max_position = max_position_lots * lot_size  # shares
        self.cooldown_ns = cooldown_ns
        self.active = active
        self._tops: dict[str, tuple[int | None, int | None]] = {}  # venue -> fresh (bid, ask)
        self._pool_mid: int | None = None
        self._pool_order: dict[Side, int] = {}  # side -> order id in flight at the pool
        self._last_sent: dict[Side, int] = {}  # side -> t_ns of the last pool order
        self._exit_order: int | None = None
        # Diagnostics and tests.
        self.pool_orders = 0
        self.pool_filled = 0  # shares
        self.exit_orders = 0

    # --- the two views ----------------------------------------------------------------

    def fresh_mid(self) -> float | None:
        """The mid of the best bid and ask over the lit venues' own tops (None: unusable)."""
        bid, _ = self._best(_SELL)
        ask, _ = self._best(_BUY)
        if bid is None or ask is None or bid >= ask:
            return None
        return (bid + ask) / 2

    @property
    def pool_mid(self) -> int | None:
        """The pool's reference mid as this agent believes it (None: the pool has none)."""
        return self._pool_mid

    def _best(self, side: Side) -> tuple[int | None, str]:
        """The touch a `side` order would take: the best ask for a buy, bid for a sell, and
        its venue (first in `venues` order on ties)."""
        best: int | None = None
        where = ""
        for venue in self.venues:
            top = self._tops.get(venue)
            if top is None:
                continue
            price = top[1] if side is _BUY else top[0]
            if price is None:
                continue
            if best is None or (price < best if side is _BUY else price > best):
                best, where = price, venue
        return best, where

    # --- hooks ------------------------------------------------------------------------

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is L1Snapshot:
            if message.venue not in self.venues:
                return
            self._tops[message.venue] = (message.bid_price, message.ask_price)
        elif cls is L2Snapshot:
            if message.venue not in self.venues:
                return
            bids, asks = message.bids, message.asks
            self._tops[message.venue] = (bids[0][0] if bids else None,
                                         asks[0][0] if asks else None)
        elif cls is NBBO:
            bid, ask = message.bid_price, message.ask_price
            self._pool_mid = ((bid + ask) // 2 if bid is not None and ask is not None
                              and bid < ask else None)
        else:
            return
        self._check()

    def on_execution_report(self, report: ExecutionReport) -> None:
        if report.last_quantity and report.venue == self.pool:
            self.pool_filled += report.last_quantity
        if report.exec_type in _DONE:
            order_id = report.order_id
            if order_id == self._exit_order:
                self._exit_order = None
            elif self._pool_order.get(report.side) == order_id:
                del self._pool_order[report.side]
        self._check()

    # --- decisions --------------------------------------------------------------------

    def _check(self) -> None:
        if not self.active:
            return
        self._check_exit()
        self._check_pool()

    def _check_pool(self) -> None:
        pool_mid = self._pool_mid
        if pool_mid is None:
            return
        fresh = self.fresh_mid()
        if fresh is None:
            return
        gap = pool_mid - fresh
        if gap >= self.threshold_ticks:
            self._send_pool(_SELL, fresh)
        elif -gap >= self.threshold_ticks:
            self._send_pool(_BUY, fresh)

    def _send_pool(self, side: Side, fresh: float) -> None:
        if side in self._pool_order:
            return
        now = self.now_ns()
        last = self._last_sent.get(side)
        if last is not None and now - last < self.cooldown_ns:
            return
        position = self.position
        if position > self.max_position if side is _BUY else -position > self.max_position:
            return  # over the limit that way: the exit is working on it
        tick = self.pool_tick_size
        limit = (math.ceil(fresh / tick) if side is _SELL else math.floor(fresh / tick)) * tick
        if limit <= 0:
            return
        self._pool_order[side] = self.submit_order(
            self.pool, side, self.max_lots * self.lot_size, limit, order_type=_LIMIT,
            time_in_force=_IOC, peg=_MIDPOINT)
        self._last_sent[side] = now
        self.pool_orders += 1

    def _check_exit(self) -> None:
        position = self.position
        if self._exit_order is not None or abs(position) <= self.max_position:
            return
        side = _SELL if position > 0 else _BUY
        price, venue = self._best(side)
        if price is None:
            return
        quantity = abs(position) - abs(position) % self.lot_size
        if quantity <= 0:
            return
        self._exit_order = self.submit_order(venue, side, quantity, price, time_in_force=_IOC)
        self.exit_orders += 1
