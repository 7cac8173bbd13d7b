"""A parent order: what the trader wants done, which the router slices into child orders."""

from __future__ import annotations

from dataclasses import dataclass, field

from market.messages import Side
from router.execution_policy import ExecutionPolicy

__all__ = ["ParentOrder"]


@dataclass(frozen=True)
class ParentOrder:
    parent_id: int
    side: Side
    quantity: int  # shares
    start_ns: int
    end_ns: int
    limit_price: int | None = None  # ticks; no child buys above / sells below it
    urgency: float = 0.5  # 0 passive .. 1 aggressive: how readily the tactics take liquidity
    policy: ExecutionPolicy = field(default_factory=ExecutionPolicy)

    def __post_init__(self) -> None:
        if self.side is not Side.BUY and self.side is not Side.SELL:
            raise ValueError(f"parent order {self.parent_id}: side was {self.side!r}")
        if type(self.quantity) is not int or self.quantity <= 0:
            raise ValueError(f"parent order {self.parent_id}: quantity was {self.quantity!r}, expected > 0")
        if self.end_ns <= self.start_ns:
            raise ValueError(f"parent order {self.parent_id}: end_ns {self.end_ns} is not after start_ns {self.start_ns}")
        if self.limit_price is not None and self.limit_price <= 0:
            raise ValueError(f"parent order {self.parent_id}: limit_price was {self.limit_price}, expected > 0")
        if not 0 <= self.urgency <= 1:
            raise ValueError(f"parent order {self.parent_id}: urgency was {self.urgency}, expected in [0, 1]")

    def allows_price(self, price: int) -> bool:
        """Whether a child at `price` respects the parent's limit."""
        if self.limit_price is None:
            return True
        return price <= self.limit_price if self.side is Side.BUY else price >= self.limit_price
