"""Market maker: Avellaneda-Stoikov quotes on several lit venues, from public data only.

The model (Avellaneda & Stoikov 2008, "High-frequency trading in a limit order book"). With
mid s, inventory q (lots, + long), risk aversion gamma (per tick), volatility sigma (ticks
per sqrt-second), time to horizon tau = T - t (seconds) and order-arrival decay k (per
tick: a quote d ticks from the mid is hit at a rate ~ A exp(-k d)):

    reservation price  r     = s - q gamma sigma^2 tau
    optimal spread     delta = gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / k)
    quotes             bid = r - delta / 2,  ask = r + delta / 2

rounded outward to each venue's tick (bid down, ask up; so always at least one tick wide).
Long inventory lowers both quotes: the ask gets hit more, the bid less, and inventory
reverts. With `inventory_skew=False` the quotes are symmetric around s with the same
delta (r = s): the baseline the project's A-S check compares against.

Inputs, all public or its own. s is the mid of the market *without this agent's own
quotes*: the agent keeps each venue's depth from `L2Snapshot` (on joining) and
`BookUpdate`s, knows its own resting orders from its execution reports, and takes the best
level with someone else's quantity on it (best over its venues). Quoting around a mid that
includes its own quotes would feed its skew back into s each refresh and walk the price
away. sigma is `market.features.RealizedVolatility` over `volatility_window_s`, fed that
mid sampled on the refresh timer (sampling filters quote flicker), floored at `sigma_min`
and, when `sigma_max` is set, capped there: sigma enters squared, so on a thin book where a
side empties and the mid jumps, an uncapped maker widens, its far quote becomes the touch
that zero-intelligence flow anchors to, the mid jumps further and the spread explodes.
The regime check below reads the raw realized figure, not the clipped one.
tau is `horizon_s` (a rolling window), or the time left to `horizon_end_ns` when given.

Quoting. One post-only DAY order per venue and side, `quote_lots` lots. It is re-priced
every `refresh_s` and after each of its fills: replaced in place when its price or size
must change, canceled when its side is off, sent anew when it has gone. Of two quotes at a
venue the one moving away from the other goes first, so a new quote never locks this
agent's own old one. A quote never locks or crosses the other side of the market at any of
its venues (a bid stays below the best other ask over all its venues, and vice versa): the
maker posts, it does not take, and it does not lock the consolidated market.

Order flow. With `flow_skew` > 0 the agent also reads the lit venues' trade prints: F, the
net aggressive flow (buyer-initiated shares - seller-initiated) over `flow_window_s`, moves
the mid it quotes around by flow_skew * sign(F) * sqrt(|F| / lot_size) ticks, and a print
that moves that shift by a quarter of the finest tick or more triggers a requote. Flow is
informative (informed traders take), so quotes lean toward it, as a Glosten-Milgrom
dealer's would; the square root keeps a large print from moving them in proportion (a
concave Kyle's lambda). Prices only: the volatility estimate and the inventory skew still
use the plain mid. The flow is timed by arrival, since prints from different venues arrive
out of their own time order.

Switching off. `quoting = False` pulls every quote at the next requote (a scenario's
market-maker withdrawal calls `requote` at once) and quotes nothing until set True again.

Risk. Inventory limit: a side is not quoted when all of that side's quotes filling would
take |inventory| beyond `max_inventory_lots` (worst case: every venue fills). Volatility
regime: when the realized volatility exceeds `vol_threshold`, `vol_action` "widen"
multiplies delta by `widen_factor`, "withdraw" cancels every quote until it falls back
(no hysteresis beyond the window's own memory).

Units. Prices in the engine's ticks (`market.messages`); a venue's tick size is a multiple
(`venues` maps venue -> tick size, or lists names sharing `tick_size`). Quantities in
shares; inventory in lots of `lot_size` shares.

Known limits. One instrument. The local depth is as fresh as the market-data link, and a
venue joined with resting orders deeper than its L2 snapshot depth is missing those levels
until they change. No NBBO: a consolidated quote cannot be cleaned of this agent's own
orders, so the mid comes from the venues' own depth feeds only. The mid is held at its
last value while a side of the market (without this agent) is empty; before the first mid,
`reference_price` (if any) stands in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agents.agent import Agent
from market.features import RealizedVolatility, SignedTradeFlow
from market.messages import (
    BookUpdate,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L2Snapshot,
    Side,
    TradePrint,
)

__all__ = ["MarketMaker", "reservation_price", "optimal_spread", "round_outward"]

_BUY, _SELL = Side.BUY, Side.SELL
_NEW, _PARTIAL, _REPLACED = ExecType.NEW, ExecType.PARTIAL_FILL, ExecType.REPLACED
_NS_PER_S = 1_000_000_000
_VOL_ACTIONS = ("widen", "withdraw")


# --- the formulas ---------------------------------------------------------------------------


def reservation_price(mid: float, inventory_lots: float, gamma: float, sigma: float,
                      tau_s: float) -> float:
    """r = s - q gamma sigma^2 tau, in ticks."""
    return mid - inventory_lots * gamma * sigma * sigma * tau_s


def optimal_spread(gamma: float, sigma: float, tau_s: float, k: float) -> float:
    """delta = gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / k), in ticks."""
    return gamma * sigma * sigma * tau_s + (2.0 / gamma) * math.log1p(gamma / k)


def round_outward(bid: float, ask: float, tick: int) -> tuple[int, int]:
    """(bid rounded down, ask rounded up) to multiples of `tick`, at least one tick apart
    and the bid at least one tick."""
    low = max(1, math.floor(bid / tick)) * tick
    high = max(math.ceil(ask / tick) * tick, low + tick)
    return low, high


# --- the agent ------------------------------------------------------------------------------


class _Slot:
    """This agent's quote at one venue and side: the working order and what was last asked."""

    __slots__ = ("order_id", "target")

    def __init__(self) -> None:
        self.order_id: int | None = None
        self.target: tuple[int, int] | None = None  # (price, leaves) last sent, until acked


class MarketMaker(Agent):
    """Avellaneda-Stoikov market maker (see the module docstring)."""

    def __init__(
        self,
        name: str,
        venues: Sequence[str] | Mapping[str, int],
        *,
        gamma: float = 0.1,
        k: float = 1.5,
        sigma_min: float = 1.0,
        sigma_max: float | None = None,
        horizon_s: float = 1.0,
        horizon_end_ns: int | None = None,
        volatility_window_s: float = 30.0,
        refresh_s: float = 0.5,
        quote_lots: int = 1,
        lot_size: int = 100,
        tick_size: int = 1,
        max_inventory_lots: int = 10,
        inventory_skew: bool = True,
        vol_threshold: float | None = None,
        vol_action: str = "widen",
        widen_factor: float = 2.0,
        reference_price: int | None = None,
        flow_skew: float = 0.0,
        flow_window_s: float = 2.0,
    ) -> None:
        super().__init__(name)
        if type(tick_size) is not int or tick_size <= 0:
            raise ValueError(f"{name}.tick_size was {tick_size!r}, expected an int > 0")
        if isinstance(venues, str):
            raise ValueError(f"{name}.venues was {venues!r}, expected a list of venue names or "
                             "a mapping of venue name to tick size")
        ticks = dict(venues) if isinstance(venues, Mapping) else dict.fromkeys(venues, tick_size)
        if not ticks:
            raise ValueError(f"{name}.venues was empty, expected at least one venue")
        for venue, tick in ticks.items():
            if type(tick) is not int or tick <= 0:
                raise ValueError(f"{name}.venues[{venue!r}] tick size was {tick!r}, "
                                 "expected an int > 0")
        for field, value in (("gamma", gamma), ("k", k), ("sigma_min", sigma_min),
                             ("horizon_s", horizon_s), ("volatility_window_s", volatility_window_s),
                             ("refresh_s", refresh_s)):
            _positive(name, field, value)
        for field, number in (("quote_lots", quote_lots), ("lot_size", lot_size),
                              ("max_inventory_lots", max_inventory_lots)):
            if type(number) is not int or number <= 0:
                raise ValueError(f"{name}.{field} was {number!r}, expected an int > 0")
        if horizon_end_ns is not None and type(horizon_end_ns) is not int:
            raise ValueError(f"{name}.horizon_end_ns was {horizon_end_ns!r}, expected an int "
                             "(ns) or None")
        if sigma_max is not None:
            _positive(name, "sigma_max", sigma_max)
            if sigma_max < sigma_min:
                raise ValueError(f"{name}.sigma_max was {sigma_max!r}, expected >= sigma_min "
                                 f"({sigma_min!r})")
        if vol_threshold is not None:
            _positive(name, "vol_threshold", vol_threshold)
        if vol_action not in _VOL_ACTIONS:
            raise ValueError(f"{name}.vol_action was {vol_action!r}, expected one of "
                             f"{', '.join(_VOL_ACTIONS)}")
        _positive(name, "widen_factor", widen_factor)
        _positive(name, "flow_window_s", flow_window_s)
        if (isinstance(flow_skew, bool) or not isinstance(flow_skew, (int, float))
                or not math.isfinite(flow_skew) or flow_skew < 0):
            raise ValueError(f"{name}.flow_skew was {flow_skew!r}, expected a finite number >= 0")
        if widen_factor < 1.0:
            raise ValueError(f"{name}.widen_factor was {widen_factor!r}, expected >= 1")
        if reference_price is not None and (type(reference_price) is not int
                                            or reference_price <= 0):
            raise ValueError(f"{name}.reference_price was {reference_price!r}, expected an "
                             "int > 0 (ticks) or None")
        if type(inventory_skew) is not bool:
            raise ValueError(f"{name}.inventory_skew was {inventory_skew!r}, expected a bool")
        self.venues = ticks
        self.gamma = float(gamma)
        self.k = float(k)
        self.sigma_min = float(sigma_min)
        self.sigma_max = None if sigma_max is None else float(sigma_max)
        self.horizon_s = float(horizon_s)
        self.horizon_end_ns = horizon_end_ns
        self.refresh_s = float(refresh_s)
        self.quote_lots = quote_lots
        self.lot_size = lot_size
        self.max_inventory_lots = max_inventory_lots
        self.inventory_skew = inventory_skew
        self.vol_threshold = None if vol_threshold is None else float(vol_threshold)
        self.vol_action = vol_action
        self.widen_factor = float(widen_factor)
        self.volatility = RealizedVolatility(max(1, round(volatility_window_s * _NS_PER_S)))
        self.flow_skew = float(flow_skew)
        self.flow = SignedTradeFlow(max(1, round(flow_window_s * _NS_PER_S)))
        self._quoted_shift = 0.0  # the flow shift of the last requote
        # A print requotes when the shift moved by a quarter of the finest tick since: a
        # smaller move would seldom change a rounded quote (the refresh timer catches it).
        self._requote_shift = min(ticks.values()) / 4
        self.mid: float | None = None if reference_price is None else float(reference_price)
        self.withdrawn = False  # quotes pulled for high volatility (diagnostics and tests)
        # False: quote nothing (a scenario's "market makers withdraw"); every quote is
        # canceled at the next requote. True again resumes quoting.
        self.quoting = True
        self.withdrawals = 0
        # venue -> ({bid price: quantity}, {ask price: quantity}) from public depth data.
        self._books: dict[str, tuple[dict[int, int], dict[int, int]]] = {
            venue: ({}, {}) for venue in ticks}
        # order id -> [venue, side, price, leaves, filled] from this agent's own reports.
        self._own: dict[int, list[Any]] = {}
        self._slots: dict[tuple[str, Side], _Slot] = {
            (venue, side): _Slot() for venue in ticks for side in (_BUY, _SELL)}
        self._slot_of: dict[int, _Slot] = {}

    # --- the policy, without side effects ---------------------------------------------

    def quotes_for(self, mid: float, inventory_lots: float, realized_sigma: float,
                   tau_s: float, tick: int) -> tuple[int | None, int | None]:
        """(bid, ask) at one venue for this state, None for a side not quoted: A-S prices
        (or symmetric, without skew), the volatility regime and the inventory limit applied,
        rounded outward to `tick`."""
        if not self.quoting:
            return None, None
        regime = self.vol_threshold is not None and realized_sigma > self.vol_threshold
        if regime and self.vol_action == "withdraw":
            return None, None
        sigma = max(realized_sigma, self.sigma_min)
        if self.sigma_max is not None and sigma > self.sigma_max:
            sigma = self.sigma_max
        delta = optimal_spread(self.gamma, sigma, tau_s, self.k)
        if regime:
            delta *= self.widen_factor
        r = (reservation_price(mid, inventory_lots, self.gamma, sigma, tau_s)
             if self.inventory_skew else mid)
        bid, ask = round_outward(r - delta / 2.0, r + delta / 2.0, tick)
        worst = self.quote_lots * len(self.venues)  # every venue's quote on a side fills
        limit = self.max_inventory_lots
        return (bid if inventory_lots + worst <= limit else None,
                ask if inventory_lots - worst >= -limit else None)

    def _flow_shift(self, now_ns: int) -> float:
        """flow_skew * sign(F) * sqrt(|F| / lot_size), ticks (see the module docstring)."""
        flow = self.flow.value(now_ns)
        if not flow:
            return 0.0
        shift = self.flow_skew * math.sqrt(abs(flow) / self.lot_size)
        return shift if flow > 0 else -shift

    def tau_s(self, now_ns: int) -> float:
        if self.horizon_end_ns is None:
            return self.horizon_s
        return max(0, self.horizon_end_ns - now_ns) / _NS_PER_S

    def market_mid(self) -> float | None:
        """Mid of the best bid and ask with someone else's quantity on them, over this
        agent's venues; None while either side is empty."""
        best_bid, best_ask = self._best_others()
        if best_bid is None or best_ask is None:
            return None
        return (best_bid + best_ask) / 2.0

    def _best_others(self) -> tuple[int | None, int | None]:
        """The best bid and ask with someone else's quantity on them over every venue."""
        best_bid: int | None = None
        best_ask: int | None = None
        for venue in self.venues:
            bid, ask = self._best_other(venue)
            if bid is not None and (best_bid is None or bid > best_bid):
                best_bid = bid
            if ask is not None and (best_ask is None or ask < best_ask):
                best_ask = ask
        return best_bid, best_ask

    def _best_other(self, venue: str) -> tuple[int | None, int | None]:
        bids, asks = self._books[venue]
        own_bids: dict[int, int] = {}
        own_asks: dict[int, int] = {}
        for o_venue, side, price, leaves, _ in self._own.values():
            if o_venue == venue:
                own = own_bids if side is _BUY else own_asks
                own[price] = own.get(price, 0) + leaves
        # Usually the top level holds someone else's quantity: one C-level max, no scan.
        best_bid: int | None = None
        if bids:
            top = max(bids)
            if bids[top] > own_bids.get(top, 0):
                best_bid = top
            else:
                best_bid = max((p for p, q in bids.items() if q > own_bids.get(p, 0)),
                               default=None)
        best_ask: int | None = None
        if asks:
            top = min(asks)
            if asks[top] > own_asks.get(top, 0):
                best_ask = top
            else:
                best_ask = min((p for p, q in asks.items() if q > own_asks.get(p, 0)),
                               default=None)
        return best_bid, best_ask

    # --- the timeline -----------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.sleep(self.refresh_s)
            now = self.now_ns()
            mid = self.market_mid()
            if mid is not None:
                self.volatility.update(now, mid)
            self.requote(now)

    def requote(self, now: int) -> None:
        """Bring every venue's quotes to what the policy wants now."""
        # The best other quotes over every venue: the mid, and a quote must not lock or
        # cross any of them.
        other_bid, other_ask = self._best_others()
        if other_bid is not None and other_ask is not None:
            self.mid = (other_bid + other_ask) / 2.0
        elif self.mid is None:
            return  # no market and no reference price yet: nothing to quote around
        sigma = self.volatility.value(now)
        if self.vol_threshold is not None and self.vol_action == "withdraw":
            withdrawn = sigma > self.vol_threshold
            if withdrawn and not self.withdrawn:
                self.withdrawals += 1
            self.withdrawn = withdrawn
        inventory = self.position / self.lot_size
        tau = self.tau_s(now)
        center = self.mid
        if self.flow_skew:
            self._quoted_shift = shift = self._flow_shift(now)
            center += shift
        for venue, tick in self.venues.items():
            bid, ask = self.quotes_for(center, inventory, sigma, tau, tick)
            if bid is not None and other_ask is not None and bid >= other_ask:
                bid = other_ask - tick
                bid = bid if bid >= tick else None
            if ask is not None and other_bid is not None and ask <= other_bid:
                ask = other_bid + tick
            if bid is not None and ask is not None and bid >= ask:
                bid = None  # only on a stale, crossed view of the market: sit that side out
            bid_slot = self._slots[(venue, _BUY)]
            ask_slot = self._slots[(venue, _SELL)]
            old_bid = self._working_price(bid_slot)
            if ask is not None and old_bid is not None and ask <= old_bid:
                self._place(venue, _BUY, bid_slot, bid)  # the bid moves away first
                self._place(venue, _SELL, ask_slot, ask)
            else:
                self._place(venue, _SELL, ask_slot, ask)
                self._place(venue, _BUY, bid_slot, bid)

    def _working_price(self, slot: _Slot) -> int | None:
        order_id = slot.order_id
        if order_id is None or order_id not in self.live_orders:
            return None
        if slot.target is not None:
            return slot.target[0]
        own = self._own.get(order_id)
        return None if own is None else int(own[2])

    def _place(self, venue: str, side: Side, slot: _Slot, price: int | None) -> None:
        order_id = slot.order_id
        if order_id is not None and order_id not in self.live_orders:
            self._slot_of.pop(order_id, None)
            order_id = slot.order_id = None
            slot.target = None
        if price is None:
            if order_id is not None:
                self.cancel_order(order_id)
                self._slot_of.pop(order_id, None)
                slot.order_id = slot.target = None
            return
        leaves = self.quote_lots * self.lot_size
        if order_id is None:
            order_id = self.submit_order(venue, side, leaves, price, post_only=True)
            slot.order_id = order_id
            slot.target = (price, leaves)
            self._slot_of[order_id] = slot
            return
        own = self._own.get(order_id)
        state = slot.target
        if state is None and own is not None:
            state = (own[2], own[3])
        if state != (price, leaves):
            filled = own[4] if own is not None else 0
            self.replace_order(order_id, filled + leaves, price)
            slot.target = (price, leaves)

    # --- replies ----------------------------------------------------------------------

    def on_execution_report(self, report: ExecutionReport) -> None:
        order_id = report.order_id
        exec_type = report.exec_type
        if exec_type is _NEW or exec_type is _REPLACED or exec_type is _PARTIAL:
            if report.leaves_quantity:
                self._own[order_id] = [report.venue, report.side, report.price,
                                       report.leaves_quantity, report.filled_quantity]
            else:
                self._own.pop(order_id, None)
            slot = self._slot_of.get(order_id)
            if slot is not None and slot.target is not None and exec_type is not _PARTIAL:
                if slot.target == (report.price, report.leaves_quantity):
                    slot.target = None  # acknowledged: the venue's state is the truth now
        else:  # filled, canceled or rejected: gone
            self._own.pop(order_id, None)
            slot = self._slot_of.pop(order_id, None)
            if slot is not None and slot.order_id == order_id:
                slot.order_id = slot.target = None
        if report.last_quantity:
            slot = self._slot_of.get(order_id)
            if slot is not None:
                slot.target = None  # size is short now: re-size it
            self.requote(self.now_ns())

    def on_cancel_rejected(self, message: CancelRejected) -> None:
        slot = self._slot_of.get(message.order_id)
        if slot is not None:
            slot.target = None  # the order is as it was: compare with it next time

    # --- market data ------------------------------------------------------------------

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is BookUpdate:
            book = self._books.get(message.venue)
            if book is None:
                return
            bids, asks = book
            for side, price, quantity in message.changes:
                levels = bids if side is _BUY else asks
                if quantity:
                    levels[price] = quantity
                else:
                    levels.pop(price, None)
        elif cls is TradePrint:
            if self.flow_skew and message.venue in self._books:
                now = self.now_ns()
                quantity = message.quantity
                self.flow.add(now, quantity if message.aggressor_side is _BUY else -quantity)
                if abs(self._flow_shift(now) - self._quoted_shift) >= self._requote_shift:
                    self.requote(now)
        elif cls is L2Snapshot:
            if message.venue in self._books:
                self._books[message.venue] = (dict(message.bids), dict(message.asks))


def _positive(name: str, field: str, value: object) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not value > 0):
        raise ValueError(f"{name}.{field} was {value!r}, expected a finite number > 0")
