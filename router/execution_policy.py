"""The execution policy: the limits every child order of a parent order must respect.

A child the policy forbids is never sent: the router asks `check` before each child and
drops (or shrinks, via `cap_quantity`) what fails. The limits:
- venue allow-list (None: every venue the router is connected to);
- max child size (shares);
- max participation rate: the parent's filled shares may not exceed this share of the
  market volume traded since the parent started (plus a small initial allowance, so the
  first child can go before any volume prints);
- price collar: a child's limit price must lie within `collar_ticks` of the NBBO mid at
  decision time (a buy may not be priced above mid + collar, a sell below mid − collar);
  a child without a limit (market) is allowed only when there is no collar;
- kill switch: once killed, nothing is allowed and the router cancels every working child.

Prices are integer ticks, quantities integer shares; the rate is the only float.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.messages import Side

__all__ = ["ExecutionPolicy", "PolicyViolation"]


class PolicyViolation(str):
    """Why a child was refused (a plain string, for logs and tests)."""


@dataclass(frozen=True)
class ExecutionPolicy:
    venues: tuple[str, ...] | None = None
    max_child_size: int | None = None
    max_participation: float | None = None  # in (0, 1]
    participation_allowance: int = 0  # shares allowed before any market volume
    collar_ticks: int | None = None

    def __post_init__(self) -> None:
        if self.venues is not None and not self.venues:
            raise ValueError("policy.venues: an empty allow-list allows nothing; use None for all")
        if self.max_child_size is not None and self.max_child_size <= 0:
            raise ValueError(f"policy.max_child_size was {self.max_child_size}, expected > 0")
        if self.max_participation is not None and not 0 < self.max_participation <= 1:
            raise ValueError(f"policy.max_participation was {self.max_participation}, expected in (0, 1]")
        if self.participation_allowance < 0:
            raise ValueError(f"policy.participation_allowance was {self.participation_allowance}, expected >= 0")
        if self.collar_ticks is not None and self.collar_ticks < 0:
            raise ValueError(f"policy.collar_ticks was {self.collar_ticks}, expected >= 0")

    def allows_venue(self, venue: str) -> bool:
        return self.venues is None or venue in self.venues

    def participation_room(self, filled: int, working: int, market_volume: int) -> int | None:
        """Shares that may still be added (filled + working) without breaking the rate; None
        when there is no participation limit."""
        if self.max_participation is None:
            return None
        allowed = int(self.max_participation * market_volume) + self.participation_allowance
        return max(0, allowed - filled - working)

    def cap_quantity(self, quantity: int, filled: int, working: int, market_volume: int,
                     lot_size: int = 1) -> int:
        """The largest quantity <= `quantity`, in lots, that the size and rate limits allow."""
        if self.max_child_size is not None:
            quantity = min(quantity, self.max_child_size)
        room = self.participation_room(filled, working, market_volume)
        if room is not None:
            quantity = min(quantity, room)
        return max(0, quantity - quantity % lot_size)

    def check(
        self,
        *,
        venue: str,
        side: Side,
        quantity: int,
        price: int | None,
        mid: float | None,
        filled: int,
        working: int,
        market_volume: int,
        killed: bool,
    ) -> PolicyViolation | None:
        """None when the child may go; else why not."""
        if killed:
            return PolicyViolation("kill switch")
        if not self.allows_venue(venue):
            return PolicyViolation(f"venue {venue} not allowed")
        if quantity <= 0:
            return PolicyViolation("non-positive quantity")
        if self.max_child_size is not None and quantity > self.max_child_size:
            return PolicyViolation(f"child of {quantity} above max_child_size {self.max_child_size}")
        room = self.participation_room(filled, working, market_volume)
        if room is not None and quantity > room:
            return PolicyViolation(f"child of {quantity} above participation room {room}")
        if self.collar_ticks is not None:
            if price is None:
                return PolicyViolation("market child under a price collar")
            if mid is None:
                return PolicyViolation("no NBBO mid for the collar")
            if side is Side.BUY and price > mid + self.collar_ticks:
                return PolicyViolation(f"buy at {price} above collar {mid + self.collar_ticks}")
            if side is Side.SELL and price < mid - self.collar_ticks:
                return PolicyViolation(f"sell at {price} below collar {mid - self.collar_ticks}")
        return None
