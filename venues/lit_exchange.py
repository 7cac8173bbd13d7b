"""A lit exchange: a continuous limit order book behind latency links, with maker-taker fees.

On each command it matches through `market.order_book.OrderBook`, sends execution reports to
both sides of every trade (each fill report shows its fee per the venue's schedule:
`maker_fee` / `taker_fee` per share in ticks, negative = rebate), then publishes to its
subscribers: a `TradePrint` per trade, an `L1Snapshot` when the top of book changed, and a
`BookUpdate` with the changed levels (subscribers get an `L2Snapshot` when they join).
"""

from __future__ import annotations

from typing import Any

from market.clock import Clock
from market.event_log import EventLog
from market.link import Link
from market.messages import (
    CancelOrder,
    CancelRejected,
    BookUpdate,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    Liquidity,
    NewOrder,
    ReplaceOrder,
    TradePrint,
)
from market.order_book import OrderBook
from market.rng import RngStreams
from venues.venue import Venue

__all__ = ["LitExchange"]

_REJECTED = ExecType.REJECTED
_TAKER = Liquidity.TAKER


class LitExchange(Venue):
    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        tick_size: int = 1,
        lot_size: int = 1,
        maker_fee: int = 0,
        taker_fee: int = 0,
        l2_depth: int = 10,
        event_log: EventLog | None = None,
        rng_streams: RngStreams | None = None,
    ) -> None:
        super().__init__(name, clock, event_log=event_log, rng_streams=rng_streams)
        self.book = OrderBook(name, tick_size=tick_size, lot_size=lot_size,
                              maker_fee=maker_fee, taker_fee=taker_fee, track_levels=True)
        self.l2_depth = l2_depth
        self._last_l1: tuple[Any, ...] = (None, 0, None, 0)
        self.trades = 0
        self.traded_quantity = 0

    # --- commands ---------------------------------------------------------------------

    def on_new_order(self, participant: str, order: NewOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.orders += 1
        reports = self.book.submit(order, now)
        if reports[0].exec_type is _REJECTED:
            stats.rejects += 1
        self._after(reports, now)

    def on_cancel_order(self, participant: str, cancel: CancelOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.cancels += 1
        reports = self.book.cancel(cancel, now)
        if type(reports[0]) is CancelRejected:
            stats.rejects += 1
        self._after(reports, now)

    def on_replace_order(self, participant: str, replace: ReplaceOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.replaces += 1
        reports = self.book.replace(replace, now)
        if type(reports[0]) is CancelRejected:
            stats.rejects += 1
        self._after(reports, now)

    # --- market data ------------------------------------------------------------------

    def on_subscribed(self, link: Link) -> None:
        snapshot = self.book.l2(self.clock.now_ns(), self.l2_depth)
        if self.event_log is not None:
            self.event_log.record(snapshot.t_ns, "out", self.name, snapshot)
        link.send(snapshot)

    def _after(self, reports: list[Any], now: int) -> None:
        self.send_reports(reports)
        if len(reports) > 2:  # only a match yields more than an ack and a fill report pair
            for report in reports:
                if type(report) is ExecutionReport and report.liquidity is _TAKER:
                    self.trades += 1
                    self.traded_quantity += report.last_quantity
                    self.publish(TradePrint(now, self.name, report.trade_id,
                                            report.last_price, report.last_quantity,
                                            report.side))
        book = self.book
        touched = book.touched_levels
        if touched:
            changes = tuple(
                (side, price, book.level_quantity(side, price))
                for side, price in dict.fromkeys(touched)
            )
            touched.clear()
            self.publish(BookUpdate(now, self.name, changes))
            l1 = book.l1(now)
            if l1[2:] != self._last_l1:
                self._last_l1 = l1[2:]
                self.publish(l1)

    def l1(self) -> L1Snapshot:
        return self.book.l1(self.clock.now_ns())
