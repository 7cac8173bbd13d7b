"""Noise trader: zero-intelligence order flow around the touch.

Arrivals are Poisson (rate per second). Each arrival is a market order (probability
`market_fraction`), a cancel of one of its own live orders (`cancel_fraction`), or else a
limit order on a random side, priced `k` ticks behind the opposite touch (k geometric with
mean `mean_offset_ticks`, so most orders join or sit just behind the best). Sizes are 1 to
`max_lots` lots. With nothing on the book it quotes around `reference_price`.
"""

from __future__ import annotations

from typing import Any

from agents.agent import Agent
from market.messages import L1Snapshot, L2Snapshot, OrderType, Side
from market.rng import BlockDraws

__all__ = ["NoiseTrader"]

_BUY, _SELL = Side.BUY, Side.SELL
_MARKET = OrderType.MARKET


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
    ) -> None:
        super().__init__(name)
        if rate <= 0:
            raise ValueError(f"{name}: rate must be > 0, got {rate}")
        if not 0 <= market_fraction + cancel_fraction <= 1:
            raise ValueError(f"{name}: market_fraction + cancel_fraction must be in [0, 1]")
        if not venues:
            raise ValueError(f"{name}: needs at least one venue")
        self.venues = list(venues)
        self.rate = rate
        self.market_fraction = market_fraction
        self.cancel_fraction = cancel_fraction
        self.mean_offset_ticks = mean_offset_ticks
        self.max_lots = max_lots
        self.lot_size = lot_size
        self.tick_size = tick_size
        self.reference_price = reference_price
        self._touch: dict[str, tuple[int | None, int | None]] = {}

    async def run(self) -> None:
        rng = self.rng
        gaps = BlockDraws(lambda n: rng.exponential(1.0 / self.rate, n), 1024)
        uniforms = BlockDraws(lambda n: rng.random(n), 1024)
        p = 1.0 / (1.0 + self.mean_offset_ticks)
        offsets = BlockDraws(lambda n: rng.geometric(p, n) - 1, 1024)
        lots = BlockDraws(lambda n: rng.integers(1, self.max_lots + 1, n), 1024)
        while True:
            await self.sleep(gaps.next())
            u = uniforms.next()
            if u < self.cancel_fraction:
                if self.live_orders:
                    ids = list(self.live_orders)
                    self.cancel_order(ids[int(uniforms.next() * len(ids))])
                continue
            venue = self.venues[int(uniforms.next() * len(self.venues))]
            side = _BUY if uniforms.next() < 0.5 else _SELL
            quantity = lots.next() * self.lot_size
            if u < self.cancel_fraction + self.market_fraction:
                self.submit_order(venue, side, quantity, order_type=_MARKET)
                continue
            bid, ask = self._touch.get(venue, (None, None))
            tick = self.tick_size
            offset = (offsets.next() + 1) * tick
            if side is _BUY:
                anchor = ask if ask is not None else (bid + tick if bid is not None else self.reference_price)
                price = anchor - offset
            else:
                anchor = bid if bid is not None else (ask - tick if ask is not None else self.reference_price)
                price = anchor + offset
            price = max(tick, price - price % tick)
            self.submit_order(venue, side, quantity, price)

    def on_market_data(self, message: Any) -> None:
        if type(message) is L1Snapshot:
            self._touch[message.venue] = (message.bid_price, message.ask_price)
        elif type(message) is L2Snapshot:
            self._touch[message.venue] = (
                message.bids[0][0] if message.bids else None,
                message.asks[0][0] if message.asks else None,
            )
