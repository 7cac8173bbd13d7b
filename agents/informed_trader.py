"""Informed trader: trades toward a noisy view of the fundamental value when the edge pays.

The signal. The fundamental value (`market.fundamental.FundamentalValue`) is the model's
ground truth, and it is the one thing an agent may read directly rather than learn from
messages: it stands for private information (research, order flow elsewhere) that no venue
publishes. The agent gets it as a plain callable `observe(t_ns) -> int` -- typically the
simulation's shared `fundamental.value_at` -- and never sees it clean: every look adds its
own Gaussian observation noise, N(0, noise_ticks^2), drawn from the agent's own random
stream (so adding another informed trader changes no one else's draws).

The decision. At Poisson wake-ups (`rate` per second; `burst_rate` instead right after a
wake-up that sent an order, so that it keeps at a mispricing while there is one, and its
activity clusters when information arrives) it estimates the value and compares
it with the best quotes it knows from public market data only: per-venue `L1Snapshot`s
(`L2Snapshot` on joining) of its lit venues, or, when it holds no direct quote, the `NBBO`
of a consolidated feed it was subscribed to. Edges, in ticks:

    buy edge  = estimate - best ask        sell edge = best bid - estimate

When the larger edge is above `threshold_ticks` it trades that side, for
min(max_lots, floor(edge / threshold_ticks)) lots: one lot when the edge just clears the
threshold, more as it grows, never more than `max_lots`. With `size_exponent` a > 0 that
count is multiplied by z, a Zipf draw, P(z = n) ~ n^-(1 + a) for n >= 1 (then capped at
`max_lots`): the order's size is then a heavy-tailed appetite as well as the size of the
edge, as when funds of very different sizes share one signal, and a large order is not
always a well-informed one; the limit price below still bounds how far any order walks the
book.
- Lit (the default): a marketable IOC limit at the venue with the best opposite quote,
  priced at the worst level that still leaves `threshold_ticks` of edge (estimate -
  threshold for a buy, rounded inward to the venue's tick), so it sweeps only levels worth
  taking; with `market_orders=True` a plain market order instead.
- Dark: with probability `dark_fraction` the same decision goes instead to one of
  `dark_venues` (uniformly among those without a working order of this agent) as a
  midpoint-pegged order with `min_quantity = dark_min_lots` lots and the same limit (to
  the lit venue after all when every dark venue is busy or the size is below the minimum).
  `dark_time_in_force` IOC crosses once; DAY rests and is canceled `dark_ttl_s` later
  (a clock timer; a cancel of an order that already left is not sent).
At most one working order per venue: a venue with an order in flight is skipped, so a
second wake-up before the first IOC's report never hits the same stale quote twice.

Units. "Ticks" are the engine's price unit (`market.messages`), the unit of the
fundamental value; a venue's tick size is a multiple of it (`venues` maps each venue to its
tick size, or is a list of names sharing `tick_size`). Quantities are shares: lots x
`lot_size`.

Known limits. One instrument. No position limit and no memory of past signals (each
wake-up stands alone). The per-venue quotes are only as fresh as the market-data link;
direct quotes take precedence over the NBBO whenever the agent holds any (a direct feed is
never slower than the consolidated one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from agents.agent import Agent
from market.messages import NBBO, L1Snapshot, L2Snapshot, OrderType, Peg, Side, TimeInForce
from market.rng import BlockDraws

__all__ = ["InformedTrader"]

_BUY, _SELL = Side.BUY, Side.SELL
_MARKET, _IOC, _DAY = OrderType.MARKET, TimeInForce.IOC, TimeInForce.DAY
_NS_PER_S = 1_000_000_000


def _tick_sizes(name: str, what: str, venues: Sequence[str] | Mapping[str, int],
                tick_size: int) -> dict[str, int]:
    """Venue name -> tick size, from a mapping or from names sharing `tick_size`."""
    if isinstance(venues, str):
        raise ValueError(f"{name}.{what} was {venues!r}, expected a list of venue names or a "
                         "mapping of venue name to tick size")
    ticks = dict(venues) if isinstance(venues, Mapping) else dict.fromkeys(venues, tick_size)
    for venue, tick in ticks.items():
        if type(tick) is not int or tick <= 0:
            raise ValueError(f"{name}.{what}[{venue!r}] tick size was {tick!r}, "
                             "expected an int > 0")
    return ticks


class InformedTrader(Agent):
    """Trades toward its noisy view of the fundamental value (see the module docstring)."""

    def __init__(
        self,
        name: str,
        observe: Callable[[int], int],
        venues: Sequence[str] | Mapping[str, int],
        *,
        rate: float = 1.0,
        noise_ticks: float = 0.0,
        threshold_ticks: float = 1.0,
        max_lots: int = 10,
        lot_size: int = 100,
        tick_size: int = 1,
        market_orders: bool = False,
        dark_venues: Sequence[str] | Mapping[str, int] = (),
        dark_fraction: float = 0.0,
        dark_min_lots: int = 1,
        dark_time_in_force: TimeInForce = TimeInForce.IOC,
        dark_ttl_s: float = 1.0,
        size_exponent: float | None = None,
        burst_rate: float | None = None,
    ) -> None:
        super().__init__(name)
        if not callable(observe):
            raise ValueError(f"{name}.observe was {observe!r}, expected a callable t_ns -> ticks")
        if type(tick_size) is not int or tick_size <= 0:
            raise ValueError(f"{name}.tick_size was {tick_size!r}, expected an int > 0")
        lit = _tick_sizes(name, "venues", venues, tick_size)
        dark = _tick_sizes(name, "dark_venues", dark_venues, tick_size)
        if not lit:
            raise ValueError(f"{name}.venues was empty, expected at least one lit venue")
        both = [v for v in dark if v in lit]
        if both:
            raise ValueError(f"{name}.dark_venues {both!r} are also in venues")
        _positive(name, "rate", rate)
        _positive(name, "threshold_ticks", threshold_ticks)
        _at_least(name, "noise_ticks", noise_ticks, 0.0)
        _positive(name, "dark_ttl_s", dark_ttl_s)
        for field, value in (("max_lots", max_lots), ("lot_size", lot_size),
                             ("dark_min_lots", dark_min_lots)):
            if type(value) is not int or value <= 0:
                raise ValueError(f"{name}.{field} was {value!r}, expected an int > 0")
        if dark_min_lots > max_lots:
            raise ValueError(f"{name}.dark_min_lots was {dark_min_lots!r}, expected <= max_lots "
                             f"({max_lots})")
        _at_least(name, "dark_fraction", dark_fraction, 0.0)
        if dark_fraction > 1.0:
            raise ValueError(f"{name}.dark_fraction was {dark_fraction!r}, expected in [0, 1]")
        if dark_fraction > 0.0 and not dark:
            raise ValueError(f"{name}.dark_fraction was {dark_fraction!r} but dark_venues is "
                             "empty")
        if size_exponent is not None:
            _positive(name, "size_exponent", size_exponent)
        if burst_rate is not None:
            _positive(name, "burst_rate", burst_rate)
        if dark_time_in_force not in (_IOC, _DAY):
            raise ValueError(f"{name}.dark_time_in_force was {dark_time_in_force!r}, expected "
                             "TimeInForce.IOC or TimeInForce.DAY")
        self.observe = observe
        self.venues = lit
        self.dark_venues = dark
        self.rate = float(rate)
        self.noise_ticks = float(noise_ticks)
        self.threshold_ticks = float(threshold_ticks)
        self.max_lots = max_lots
        self.lot_size = lot_size
        self.market_orders = market_orders
        self.dark_fraction = float(dark_fraction)
        self.dark_min_lots = dark_min_lots
        self.dark_time_in_force = dark_time_in_force
        self.dark_ttl_ns = max(1, round(dark_ttl_s * _NS_PER_S))
        self.size_exponent = None if size_exponent is None else float(size_exponent)
        self.burst_rate = self.rate if burst_rate is None else float(burst_rate)
        # venue -> (bid, ask) from its own L1/L2; lit venues only, kept in configured order.
        self._tops: dict[str, tuple[int | None, int | None]] = {}
        self._nbbo: NBBO | None = None
        self._normals: BlockDraws | None = None
        self._uniforms: BlockDraws | None = None
        self._appetites: BlockDraws | None = None
        self.decisions = 0  # wake-ups that sent an order (diagnostics and tests)

    # --- the signal -------------------------------------------------------------------

    def estimate(self, t_ns: int) -> float:
        """The fundamental at t_ns plus this agent's own observation noise, in ticks."""
        value = float(self.observe(t_ns))
        if self.noise_ticks:
            if self._normals is None:
                rng = self.rng
                self._normals = BlockDraws(lambda n: rng.standard_normal(n), 1024)
            value += self.noise_ticks * self._normals.next()
        return value

    # --- the timeline -----------------------------------------------------------------

    async def run(self) -> None:
        # The timeline runs on wake-ups (`on_wakeup`), the cheap path, not in this task.
        rng = self.rng
        self._gaps = BlockDraws(lambda n: rng.exponential(1.0 / self.rate, n), 1024)
        self._burst = self.rate / self.burst_rate  # scales a gap at `rate` to `burst_rate`
        self.wake_after(self._gaps.next())

    def on_wakeup(self) -> None:
        sent = self.decide(self.estimate(self.now_ns()))
        gap = self._gaps.next()
        self.wake_after(gap * self._burst if sent else gap)

    def decide(self, estimate: float) -> bool:
        """One decision of `estimate` (ticks) against the known quotes; True when an order
        was sent. Uniforms for the dark/lit and dark-venue choices are drawn only when dark
        venues are configured, so a lit-only trader's stream never depends on the market."""
        threshold = self.threshold_ticks
        busy = self.live_orders.values()
        best_bid: int | None = None
        best_ask: int | None = None
        bid_venue = ask_venue = ""
        for venue, (bid, ask) in self._quotes():
            if venue in busy:
                continue
            if bid is not None and (best_bid is None or bid > best_bid):
                best_bid, bid_venue = bid, venue
            if ask is not None and (best_ask is None or ask < best_ask):
                best_ask, ask_venue = ask, venue
        buy_edge = estimate - best_ask if best_ask is not None else -math.inf
        sell_edge = best_bid - estimate if best_bid is not None else -math.inf
        if buy_edge >= sell_edge:
            side, edge, venue = _BUY, buy_edge, ask_venue
        else:
            side, edge, venue = _SELL, sell_edge, bid_venue
        if not edge > threshold:
            return False
        if self.size_exponent is None:
            lots = int(edge // threshold)
        else:
            lots = self._appetite() * int(edge // threshold)
        lots = min(self.max_lots, lots)
        limit = estimate - threshold if side is _BUY else estimate + threshold
        if self.dark_venues and self._uniform() < self.dark_fraction:
            free = [v for v in self.dark_venues if v not in busy]
            if free and lots >= self.dark_min_lots:
                dark = free[min(len(free) - 1, int(self._uniform() * len(free)))]
                self._send_dark(dark, side, lots, limit)
                return True
            # Every dark venue busy, or too small for the minimum: the lit venue takes it.
        self._send_lit(venue, side, lots, limit)
        return True

    def _uniform(self) -> float:
        if self._uniforms is None:
            rng = self.rng
            self._uniforms = BlockDraws(lambda n: rng.random(n), 1024)
        value: float = self._uniforms.next()
        return value

    def _appetite(self) -> int:
        if self._appetites is None:
            rng, a = self.rng, 1.0 + (self.size_exponent or 1.0)
            # Capped at max_lots already: the order is, and the cap keeps numbers small.
            self._appetites = BlockDraws(
                lambda n: np.minimum(rng.zipf(a, n), self.max_lots), 1024)
        value: int = self._appetites.next()
        return value

    def _quotes(self) -> list[tuple[str, tuple[int | None, int | None]]]:
        if self._tops:
            return list(self._tops.items())
        nbbo = self._nbbo
        if nbbo is None:
            return []
        # A venue's NBBO side counts only if the venue is one of ours; first in name order.
        quotes: list[tuple[str, tuple[int | None, int | None]]] = []
        bid_venue = next((v for v in nbbo.bid_venues if v in self.venues), None)
        ask_venue = next((v for v in nbbo.ask_venues if v in self.venues), None)
        if bid_venue is not None:
            quotes.append((bid_venue, (nbbo.bid_price, None)))
        if ask_venue is not None:
            quotes.append((ask_venue, (None, nbbo.ask_price)))
        return quotes

    def _send_lit(self, venue: str, side: Side, lots: int, limit: float) -> None:
        self.decisions += 1
        quantity = lots * self.lot_size
        if self.market_orders:
            self.submit_order(venue, side, quantity, order_type=_MARKET)
            return
        self.submit_order(venue, side, quantity, _inward(limit, self.venues[venue], side),
                          time_in_force=_IOC)

    def _send_dark(self, venue: str, side: Side, lots: int, limit: float) -> None:
        self.decisions += 1
        order_id = self.submit_order(
            venue, side, lots * self.lot_size, _inward(limit, self.dark_venues[venue], side),
            time_in_force=self.dark_time_in_force, min_quantity=self.dark_min_lots * self.lot_size,
            peg=Peg.MIDPOINT)
        if self.dark_time_in_force is _DAY:
            self.clock.call_at_ns(self.now_ns() + self.dark_ttl_ns, self.cancel_order, order_id)

    # --- market data ------------------------------------------------------------------

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is L1Snapshot:
            if message.venue in self.venues:
                self._set_top(message.venue, message.bid_price, message.ask_price)
        elif cls is L2Snapshot:
            if message.venue in self.venues:
                bids, asks = message.bids, message.asks
                self._set_top(message.venue, bids[0][0] if bids else None,
                              asks[0][0] if asks else None)
        elif cls is NBBO:
            self._nbbo = message

    def _set_top(self, venue: str, bid: int | None, ask: int | None) -> None:
        tops = self._tops
        new = venue not in tops
        tops[venue] = (bid, ask)
        if new:  # keep the configured venue order, so ties go the same way in every run
            self._tops = {v: tops[v] for v in self.venues if v in tops}


def _inward(price: float, tick: int, side: Side) -> int:
    """The limit on the venue's tick that never gives up more than `price`: down for a buy,
    up for a sell; at least one tick."""
    steps = math.floor(price / tick) if side is _BUY else math.ceil(price / tick)
    return max(1, steps) * tick


def _positive(name: str, field: str, value: object) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not value > 0):
        raise ValueError(f"{name}.{field} was {value!r}, expected a finite number > 0")


def _at_least(name: str, field: str, value: object, low: float) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not value >= low):
        raise ValueError(f"{name}.{field} was {value!r}, expected a finite number >= {low:g}")
