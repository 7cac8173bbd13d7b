"""Per-participant statistics a venue keeps: what each participant sent and got."""

from __future__ import annotations

from typing import Any

__all__ = ["ParticipantStatistics"]


class ParticipantStatistics:
    """Counts and volumes for one participant at one venue (quantities in shares,
    notional in ticks x shares, fees in ticks x shares; negative fees are rebates)."""

    __slots__ = (
        "orders", "cancels", "replaces", "rejects", "fills", "bought", "sold",
        "bought_notional", "sold_notional", "fees", "maker_volume", "taker_volume",
    )

    def __init__(self) -> None:
        self.orders = 0
        self.cancels = 0
        self.replaces = 0
        self.rejects = 0  # rejected orders, cancel/replace rejects and rejected messages
        self.fills = 0
        self.bought = 0
        self.sold = 0
        self.bought_notional = 0
        self.sold_notional = 0
        self.fees = 0
        self.maker_volume = 0
        self.taker_volume = 0

    @property
    def position(self) -> int:
        return self.bought - self.sold

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__slots__}
        values["position"] = self.position
        return values
