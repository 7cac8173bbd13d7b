"""Market features from public market data only: microprice, imbalance, volatility, flow.

Concept. What an agent or the router may observe of a venue, computed from its L1 quotes
and trade prints -- never from a book or another participant's state.

- `microprice(bid, bid_qty, ask, ask_qty)` = (bid * ask_qty + ask * bid_qty) /
  (bid_qty + ask_qty): the mid weighted toward the side with *less* quantity (a thin ask
  is about to be lifted, so the fair price leans up). Ticks, a float.
- `order_book_imbalance(bid_qty, ask_qty)` = (bid_qty - ask_qty) / (bid_qty + ask_qty), in
  [-1, 1]; positive when bids outweigh asks; 0 for an empty book.
- `RealizedVolatility` -- realized volatility of a price (the mid) from its changes *per
  update* over a sliding time window: sqrt(sum of squared changes in the window / window
  length). Units: ticks per sqrt-second, the unit of `FundamentalValue.volatility`, so
  the two can be compared directly; divide by the mid for a log (relative) figure.
- `SignedTradeFlow` -- sum of signed trade quantities over a sliding time window: + for a
  buyer-initiated print (aggressor BUY), - for a seller-initiated one. Shares.
- `FeatureTracker` -- one venue's L1 snapshots and trade prints in, the feature vector out.

Windows. A window of `window_ns` at query time t covers (t - window_ns, t]: an entry at
time e counts while t < e + window_ns and is gone from t = e + window_ns on. Each window
is a deque of (t_ns, value) with a running sum: an update appends, a query or an update
pops expired entries from the left, so both are O(1) amortized; no numpy on this path.

Invariants. Updates to one estimator come in non-decreasing time, and queries come in
non-decreasing time no earlier than the last update (the observer's clock is at or after
the time a message was stamped); otherwise `SimulationError`. Sums of signed quantities
are exact integers; squared mid changes are multiples of 1/4 tick^2 and so exact in
floating point too (for arbitrary float prices the running sum is reset to exactly 0
whenever its window empties, which bounds rounding drift).

Known limits. Per-update realized volatility counts every quote flicker, so quote noise
(a mid that bounces between two values) inflates it; feed it sampled mids for a noise-robust
figure. Before a window has filled, the volatility is scaled by the time actually covered.
Changes across a gap when one side was empty are counted as one change.
"""

from __future__ import annotations

import math
from collections import deque

from market.errors import SimulationError
from market.messages import L1Snapshot, Side, TradePrint

__all__ = [
    "microprice",
    "mid_price",
    "order_book_imbalance",
    "RealizedVolatility",
    "SignedTradeFlow",
    "FeatureTracker",
    "FEATURE_NAMES",
]

_NS_PER_S = 1_000_000_000
_BUY = Side.BUY

FEATURE_NAMES = ("microprice_offset", "imbalance", "realized_volatility", "signed_flow")


def mid_price(bid: int | None, ask: int | None) -> float | None:
    """(bid + ask) / 2 in ticks; None unless both sides are quoted."""
    if bid is None or ask is None:
        return None
    return (bid + ask) / 2.0


def microprice(bid: int | None, bid_qty: int, ask: int | None, ask_qty: int) -> float | None:
    """Size-weighted mid in ticks, leaning toward the side with less quantity.

    None unless both sides are quoted (a one-sided book has no fair mid); the plain mid
    when both quantities are 0.
    """
    if bid_qty < 0 or ask_qty < 0:
        raise ValueError(f"quantities must be >= 0, got bid_qty={bid_qty!r} ask_qty={ask_qty!r}")
    if bid is None or ask is None:
        return None
    total = bid_qty + ask_qty
    if total == 0:
        return (bid + ask) / 2.0
    return (bid * ask_qty + ask * bid_qty) / total


def order_book_imbalance(bid_qty: int, ask_qty: int) -> float:
    """(bid_qty - ask_qty) / (bid_qty + ask_qty) in [-1, 1]; 0.0 when both are 0."""
    if bid_qty < 0 or ask_qty < 0:
        raise ValueError(f"quantities must be >= 0, got bid_qty={bid_qty!r} ask_qty={ask_qty!r}")
    total = bid_qty + ask_qty
    if total == 0:
        return 0.0
    return (bid_qty - ask_qty) / total


def _check_window(window_ns: int) -> None:
    if type(window_ns) is not int or window_ns <= 0:
        raise ValueError(f"window_ns was {window_ns!r}, expected an int > 0")


class RealizedVolatility:
    """Realized volatility of a price from per-update changes over a sliding window.

    `update(t_ns, price)` with each new price (ticks); `value(t_ns)` in ticks per
    sqrt-second: sqrt(sum of squared changes in (t - window, t] / covered seconds), where
    covered = min(window, t - time of the first price). 0.0 before two prices.
    """

    __slots__ = ("window_ns", "_changes", "_sum", "_last_price", "_first_ns", "_update_ns",
                 "_query_ns")

    def __init__(self, window_ns: int) -> None:
        _check_window(window_ns)
        self.window_ns = window_ns
        self._changes: deque[tuple[int, float]] = deque()
        self._sum = 0.0
        self._last_price: float | None = None
        self._first_ns: int | None = None
        self._update_ns = -(1 << 63)
        self._query_ns = -(1 << 63)

    def update(self, t_ns: int, price: float) -> None:
        if t_ns < self._update_ns:
            raise SimulationError(
                f"realized volatility updated at t_ns={t_ns} after t_ns={self._update_ns}"
            )
        self._update_ns = t_ns
        last = self._last_price
        self._last_price = price
        if last is None:
            self._first_ns = t_ns
            return
        change = price - last
        if change:  # a zero change adds nothing; not storing it keeps the deque short
            square = change * change
            self._changes.append((t_ns, square))
            self._sum += square
        self._expire(t_ns)

    def variance_rate(self, t_ns: int) -> float:
        """Realized variance per second (ticks^2 / s) over the window ending at t_ns."""
        if t_ns < self._query_ns or t_ns < self._update_ns:
            raise SimulationError(
                f"realized volatility asked at t_ns={t_ns}, before t_ns="
                f"{max(self._query_ns, self._update_ns)}: time only moves forward"
            )
        self._query_ns = t_ns
        self._expire(t_ns)
        if self._first_ns is None:
            return 0.0
        covered = min(self.window_ns, t_ns - self._first_ns)
        if covered <= 0:
            return 0.0
        return max(self._sum, 0.0) * _NS_PER_S / covered

    def value(self, t_ns: int) -> float:
        """Realized volatility in ticks per sqrt-second over the window ending at t_ns."""
        return math.sqrt(self.variance_rate(t_ns))

    def _expire(self, t_ns: int) -> None:
        changes = self._changes
        horizon = t_ns - self.window_ns
        while changes and changes[0][0] <= horizon:
            self._sum -= changes.popleft()[1]
        if not changes:
            self._sum = 0.0  # drops any rounding residue


class SignedTradeFlow:
    """Sum of signed trade quantities (buyer-initiated +, seller-initiated -) in a window."""

    __slots__ = ("window_ns", "_trades", "_sum", "_update_ns", "_query_ns")

    def __init__(self, window_ns: int) -> None:
        _check_window(window_ns)
        self.window_ns = window_ns
        self._trades: deque[tuple[int, int]] = deque()
        self._sum = 0
        self._update_ns = -(1 << 63)
        self._query_ns = -(1 << 63)

    def on_trade_print(self, print_: TradePrint) -> None:
        quantity = print_.quantity
        self.add(print_.t_ns, quantity if print_.aggressor_side is _BUY else -quantity)

    def add(self, t_ns: int, signed_quantity: int) -> None:
        if t_ns < self._update_ns:
            raise SimulationError(f"trade flow updated at t_ns={t_ns} after t_ns={self._update_ns}")
        self._update_ns = t_ns
        self._trades.append((t_ns, signed_quantity))
        self._sum += signed_quantity
        self._expire(t_ns)

    def value(self, t_ns: int) -> int:
        """Signed shares traded in (t_ns - window_ns, t_ns]."""
        if t_ns < self._query_ns or t_ns < self._update_ns:
            raise SimulationError(
                f"trade flow asked at t_ns={t_ns}, before t_ns="
                f"{max(self._query_ns, self._update_ns)}: time only moves forward"
            )
        self._query_ns = t_ns
        self._expire(t_ns)
        return self._sum

    def _expire(self, t_ns: int) -> None:
        trades = self._trades
        horizon = t_ns - self.window_ns
        while trades and trades[0][0] <= horizon:
            self._sum -= trades.popleft()[1]


class FeatureTracker:
    """One venue's public market data in, its feature vector out.

    Feed it the venue's `L1Snapshot`s and `TradePrint`s (the message's own `t_ns` stamps
    the update) and ask `features(now_ns)` for the tuple named by `FEATURE_NAMES`:

    - microprice_offset: microprice - mid in ticks, within +-half the spread. The offset and
      not the microprice level, because a linear bandit (LinUCB) needs features on a stable
      scale: the level (thousands of ticks, drifting) would swamp the others and carries
      nothing the mid does not. The level is `self.microprice`.
    - imbalance: `order_book_imbalance` of the latest L1 quantities (an empty side counts
      as 0, so a one-sided book reads +-1).
    - realized_volatility: `RealizedVolatility` of the mid, ticks per sqrt-second.
    - signed_flow: `SignedTradeFlow`, shares.

    A one-sided or empty book gives microprice_offset 0.0 and feeds no mid to the
    volatility estimator.
    """

    __slots__ = ("venue", "volatility", "flow", "microprice", "mid", "_imbalance")

    def __init__(self, venue: str, *, volatility_window_ns: int, flow_window_ns: int) -> None:
        self.venue = venue
        self.volatility = RealizedVolatility(volatility_window_ns)
        self.flow = SignedTradeFlow(flow_window_ns)
        self.microprice: float | None = None
        self.mid: float | None = None
        self._imbalance = 0.0

    def on_l1_snapshot(self, snapshot: L1Snapshot) -> None:
        if snapshot.venue != self.venue:
            raise ValueError(f"tracker of venue {self.venue!r} got an L1 snapshot of "
                             f"{snapshot.venue!r}")
        bid, ask = snapshot.bid_price, snapshot.ask_price
        bid_qty = snapshot.bid_quantity if bid is not None else 0
        ask_qty = snapshot.ask_quantity if ask is not None else 0
        self.microprice = microprice(bid, bid_qty, ask, ask_qty)
        self._imbalance = order_book_imbalance(bid_qty, ask_qty)
        mid = self.mid = mid_price(bid, ask)
        if mid is not None:
            self.volatility.update(snapshot.t_ns, mid)

    def on_trade_print(self, print_: TradePrint) -> None:
        if print_.venue != self.venue:
            raise ValueError(f"tracker of venue {self.venue!r} got a trade print of "
                             f"{print_.venue!r}")
        self.flow.on_trade_print(print_)

    def features(self, t_ns: int) -> tuple[float, float, float, float]:
        """(microprice_offset, imbalance, realized_volatility, signed_flow) at t_ns."""
        micro, mid = self.microprice, self.mid
        offset = micro - mid if micro is not None and mid is not None else 0.0
        return (
            offset,
            self._imbalance,
            self.volatility.value(t_ns),
            float(self.flow.value(t_ns)),
        )
