"""What the allocator learns from: one venue's result for one slice, as a number in [0, 1].

reward = fill rate x max(0, 1 - max(0, effective cost) / cost_scale_bps), where
- fill rate = filled / sent (0 when nothing was sent or nothing filled);
- effective cost (bps, positive = bad) = price cost against the mid at decision time
  (a buy above that mid costs) + fees per share in bps of the price − markout (the mid's
  move in our favour after the fill, measured at the markout horizon: adverse selection —
  the mid running away from us after we are filled — is charged because it enters with a
  minus sign when negative);
- `cost_scale_bps` is the cost at which a fill is worth nothing.

A fill that is cheap and not adversely selected scores near its fill rate; an unfilled or
expensive venue scores near 0. A dark pool that filled all that was sent is *censored*:
the reward is the same, but the allocator is told liquidity was at least `sent`.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.messages import Side

__all__ = ["FillCost", "venue_reward"]


@dataclass
class FillCost:
    """Accumulates one venue's fills within one slice."""

    side: Side
    decision_mid: float  # ticks, the NBBO mid when the slice was allocated
    touch: float | None = None  # ticks: what taking cost at decision (the venue's own far
    # touch at a lit venue, the NBBO's far touch at a venue that shows no book)
    sent: int = 0
    filled: int = 0
    notional: int = 0  # ticks x shares
    fees: int = 0  # ticks x shares, negative = rebate

    def add_fill(self, quantity: int, price: int, fee: int) -> None:
        self.filled += quantity
        self.notional += quantity * price
        self.fees += fee

    @property
    def average_price(self) -> float | None:
        return self.notional / self.filled if self.filled else None

    def cost_bps(self, markout_mid: float | None, *, against_touch: bool = False) -> float:
        """Price cost + fees − markout, in bps of the decision mid (positive = bad).

        The price cost is against the decision mid, or with `against_touch` against `touch`
        (the mid when unknown): what a share cost beyond taking it at the touch, so that the
        spread at decision, the same for every venue of a slice, is not part of it."""
        if not self.filled or self.decision_mid <= 0:
            return 0.0
        sign = 1.0 if self.side is Side.BUY else -1.0
        average = self.notional / self.filled
        reference = self.touch if against_touch and self.touch is not None else self.decision_mid
        price_cost = sign * (average - reference)
        fee_cost = self.fees / self.filled
        markout = 0.0 if markout_mid is None else sign * (markout_mid - average)
        return (price_cost + fee_cost - markout) / self.decision_mid * 1e4


def venue_reward(cost: FillCost, markout_mid: float | None, cost_scale_bps: float) -> float:
    if cost_scale_bps <= 0:
        raise ValueError(f"cost_scale_bps was {cost_scale_bps}, expected > 0")
    if not cost.sent or not cost.filled:
        return 0.0
    fill_rate = min(1.0, cost.filled / cost.sent)
    effective = max(0.0, cost.cost_bps(markout_mid))
    return fill_rate * max(0.0, 1.0 - effective / cost_scale_bps)
