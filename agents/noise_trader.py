"""Noise trader: zero-intelligence order flow around the touch.

Arrivals are Poisson (rate per second). Each arrival is a market order (probability
`market_fraction`), a cancel of one of its own live orders (`cancel_fraction`), or else a
limit order on a random side, priced `k` ticks behind the opposite touch (k geometric with
mean `mean_offset_ticks`, so most orders join or sit just behind the best). With nothing on
the book it quotes around `reference_price`.

Sizes. Uniform on 1 to `max_lots` lots by default. With `size_exponent` a > 0 they follow a
power law instead, the discrete Zipf law P(lots = n) ~ n^-(1 + a) for n >= 1, capped at
`max_lots` (the cap takes the tail's mass): most orders are a lot or two and a few are very
large, as in real order flow (a ~ 1.5: a finite mean, an infinite variance before the cap).
Either way one number per order, from the same block stream.

Dark. With `dark_venues` and probability `dark_fraction`, a limit arrival instead rests a
midpoint-pegged DAY order of the same side and size (no limit price; `min_quantity` =
`dark_min_lots` lots, 0 = any) at one of the dark venues, chosen uniformly. It stays until
it fills or the usual cancel flow picks it (a cancel arrival takes any live order, lit or
dark). So a dark pool's liquidity is what such agents rest there. The extra uniforms are
drawn only when `dark_fraction` > 0: a lit-only trader's stream is unchanged.

The touch. Where the agent holds a venue's own top of book (`L1Snapshot`, or the
`L2Snapshot` sent on subscribing) it prices off that venue's touch; otherwise off the
latest `NBBO` it received from a consolidated feed subscription (prices only; the venues
at the touch do not matter to it). A noise trader can thus run with no venue market data
at all, one NBBO per change instead of every venue's full stream: the cheap fan-out for a
large population. A direct quote takes precedence over the NBBO (it is never slower).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.agent import Agent
from market.messages import NBBO, L1Snapshot, L2Snapshot, OrderType, Peg, Side
from market.rng import BlockDraws

__all__ = ["NoiseTrader"]

_BUY, _SELL = Side.BUY, Side.SELL
_MARKET = OrderType.MARKET
_MIDPOINT = Peg.MIDPOINT
_NO_TOUCH: tuple[int | None, int | None] = (None, None)


class NoiseTrader(Agent):
    def __init__(
        self,
        name: str,
        venues: list[str],
        *,
        rate: float = 1.0,
        market_fraction: float = 0.1,
        cancel_fraction: float = 0.3,
        mean_offset_ticks: float = 3.0,
        max_lots: int = 10,
        lot_size: int = 100,
        tick_size: int = 1,
        reference_price: int = 10_000,
        dark_venues: Sequence[str] = (),
        dark_fraction: float = 0.0,
        dark_min_lots: int = 0,
        size_exponent: float | None = None,
    ) -> None:
        super().__init__(name)
        if rate <= 0:
            raise ValueError(f"{name}: rate must be > 0, got {rate}")
        if not 0 <= market_fraction + cancel_fraction <= 1:
            raise ValueError(f"{name}: market_fraction + cancel_fraction must be in [0, 1]")
        if not venues:
            raise ValueError(f"{name}: needs at least one venue")
        if isinstance(dark_venues, str):
            raise ValueError(f"{name}.dark_venues was {dark_venues!r}, expected a list of names")
        both = [v for v in dark_venues if v in venues]
        if both:
            raise ValueError(f"{name}.dark_venues {both!r} are also in venues")
        if (isinstance(dark_fraction, bool) or not isinstance(dark_fraction, (int, float))
                or not 0.0 <= dark_fraction <= 1.0):
            raise ValueError(f"{name}.dark_fraction was {dark_fraction!r}, expected in [0, 1]")
        if dark_fraction > 0.0 and not dark_venues:
            raise ValueError(f"{name}.dark_fraction was {dark_fraction!r} but dark_venues is "
                             "empty")
        if type(dark_min_lots) is not int or not 0 <= dark_min_lots <= max_lots:
            raise ValueError(f"{name}.dark_min_lots was {dark_min_lots!r}, expected an int in "
                             f"[0, max_lots={max_lots}]")
        if size_exponent is not None and (
                isinstance(size_exponent, bool) or not isinstance(size_exponent, (int, float))
                or not 0.0 < size_exponent < float("inf")):
            raise ValueError(f"{name}.size_exponent was {size_exponent!r}, expected a finite "
                             "number > 0 or None")
        self.venues = list(venues)
        self.rate = rate
        self.market_fraction = market_fraction
        self.cancel_fraction = cancel_fraction
        self.mean_offset_ticks = mean_offset_ticks
        self.max_lots = max_lots
        self.lot_size = lot_size
        self.tick_size = tick_size
        self.reference_price = reference_price
        self.dark_venues = list(dark_venues)
        self.dark_fraction = float(dark_fraction)
        self.dark_min_lots = dark_min_lots
        self.size_exponent = None if size_exponent is None else float(size_exponent)
        self._touch: dict[str, tuple[int | None, int | None]] = {}
        self._nbbo_touch = _NO_TOUCH
        self.dark_orders = 0  # dark orders sent (diagnostics and tests)

    async def run(self) -> None:
        # The timeline runs on wake-ups (`on_wakeup`), not in this task: a thousand noise
        # traders waking a few times a second are the busiest timers in a market.
        rng = self.rng
        # Blocks sized to about two minutes of arrivals: a numpy call per block is cheap,
        # but a thousand slow traders each holding thousands of unused draws is not.
        block = max(16, min(1024, int(self.rate * 120)))
        self._gaps = BlockDraws(lambda n: rng.exponential(1.0 / self.rate, n), block)
        self._uniforms = BlockDraws(lambda n: rng.random(n), 4 * block)
        p = 1.0 / (1.0 + self.mean_offset_ticks)
        self._offsets = BlockDraws(lambda n: rng.geometric(p, n) - 1, block)
        if self.size_exponent is None:
            self._lots = BlockDraws(lambda n: rng.integers(1, self.max_lots + 1, n), block)
        else:
            a = 1.0 + self.size_exponent
            self._lots = BlockDraws(lambda n: np.minimum(rng.zipf(a, n), self.max_lots), block)
        self._dark = self.dark_venues if self.dark_fraction > 0.0 else []
        self.wake_after(self._gaps.next())

    def on_wakeup(self) -> None:
        self._act()
        self.wake_after(self._gaps.next())

    def _act(self) -> None:
        uniforms = self._uniforms
        u = uniforms.next()
        if u < self.cancel_fraction:
            if self.live_orders:
                ids = list(self.live_orders)
                self.cancel_order(ids[int(uniforms.next() * len(ids))])
            return
        venue = self.venues[int(uniforms.next() * len(self.venues))]
        side = _BUY if uniforms.next() < 0.5 else _SELL
        quantity = self._lots.next() * self.lot_size
        if u < self.cancel_fraction + self.market_fraction:
            self.submit_order(venue, side, quantity, order_type=_MARKET)
            return
        dark = self._dark
        if dark and uniforms.next() < self.dark_fraction:
            pool = dark[0] if len(dark) == 1 else dark[int(uniforms.next() * len(dark))]
            self.dark_orders += 1
            self.submit_order(pool, side, quantity, None, peg=_MIDPOINT,
                              min_quantity=self.dark_min_lots * self.lot_size)
            return
        bid, ask = self._touch.get(venue, self._nbbo_touch)
        tick = self.tick_size
        offset = (self._offsets.next() + 1) * tick
        if side is _BUY:
            anchor = ask if ask is not None else (bid + tick if bid is not None else self.reference_price)
            price = anchor - offset
        else:
            anchor = bid if bid is not None else (ask - tick if ask is not None else self.reference_price)
            price = anchor + offset
        price = max(tick, price - price % tick)
        self.submit_order(venue, side, quantity, price)

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is NBBO:
            self._nbbo_touch = (message.bid_price, message.ask_price)
        elif cls is L1Snapshot:
            self._touch[message.venue] = (message.bid_price, message.ask_price)
        elif cls is L2Snapshot:
            self._touch[message.venue] = (
                message.bids[0][0] if message.bids else None,
                message.asks[0][0] if message.asks else None,
            )
