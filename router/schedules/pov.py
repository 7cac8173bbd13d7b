"""POV (percentage of volume): trade a fixed share of what the market trades.

Concept. Feed every public trade print to `update_volume(t_ns, shares)`; prints stamped in
[start_ns, end_ns) count as the market volume V since the start. Then

    target_filled = min(quantity, floor(rate * V)),

rounded *down*, so following the target never takes more than `rate` of the volume. The
prints include the router's own child fills (a venue prints every trade), so `rate` is the
order's share of total volume, the same volume `ExecutionPolicy.participation_room` uses.

Bounds. `min_rate <= rate <= max_rate` (both default to `rate`) set a participation band
that `band()` reports as cumulative shares: a tactic may fill opportunistically up to the
upper edge (a dark fill that comes along) and should turn aggressive below the lower edge.
`slice_quantity` itself always aims at `rate`. A hard cap belongs to the parent's
`ExecutionPolicy.max_participation`, which the router enforces on every child.

The end. Volume decides the pace, so a POV cannot know whether it will finish by end_ns.
By default (`complete_at_end=False`) the target never runs ahead of the volume, even at
the end: whatever is left at `end_ns` is left, and the parent ends partly filled -- the
participation promise wins. With `complete_at_end=True` the target jumps to the whole
quantity at `end_ns`, so the router sends the residual in one final catch-up slice (at the
price of that slice's impact) -- the completion promise wins.

Online. The schedule knows only the volume reported so far: `target_filled(t_ns)` answers
with all of it, whatever `t_ns` (up to end_ns), so report prints before asking. Prints may
arrive out of time order (venues sit behind links of different latencies); each counts by
its own stamp. Arithmetic is exact integers: `rate` is read as an exact fraction once.
"""

from __future__ import annotations

from fractions import Fraction

from router.schedules.base import Schedule, _check_real, _exact

__all__ = ["POV"]


class POV(Schedule):
    """A fixed share `rate` of the market volume printed since the start."""

    def __init__(
        self, quantity: int, start_ns: int, end_ns: int, rate: float, *,
        min_rate: float | None = None, max_rate: float | None = None,
        complete_at_end: bool = False,
    ) -> None:
        super().__init__(quantity, start_ns, end_ns)
        self.rate = _check_rate("rate", rate)
        self.min_rate = self.rate if min_rate is None else _check_rate("min_rate", min_rate)
        self.max_rate = self.rate if max_rate is None else _check_rate("max_rate", max_rate)
        if not self.min_rate <= self.rate <= self.max_rate:
            raise ValueError(
                f"min_rate, rate, max_rate were {self.min_rate!r}, {self.rate!r}, {self.max_rate!r}, "
                "expected min_rate <= rate <= max_rate"
            )
        self.complete_at_end = complete_at_end
        self.volume = 0  # shares printed in [start_ns, end_ns)
        self._rate = _exact(self.rate)
        self._min_rate = _exact(self.min_rate)
        self._max_rate = _exact(self.max_rate)

    def update_volume(self, t_ns: int, traded_shares: int) -> None:
        """Count one public trade print (or a batch) stamped `t_ns`."""
        if traded_shares < 0:
            raise ValueError(f"traded_shares was {traded_shares!r}, expected >= 0")
        if self.start_ns <= t_ns < self.end_ns:
            self.volume += traded_shares

    def target_filled(self, t_ns: int) -> int:
        """`rate` of the volume so far, capped at the quantity; 0 up to the start; the whole
        quantity from `end_ns` on only with `complete_at_end`."""
        # Overrides the base's clamp: from end_ns on, the target is the quantity only when
        # the order promises completion (see the module docstring).
        if t_ns <= self.start_ns:
            return 0
        if t_ns >= self.end_ns and self.complete_at_end:
            return self.quantity
        return self._share(self._rate)

    def band(self) -> tuple[int, int]:
        """(floor(min_rate * V), floor(max_rate * V)), each capped at the quantity: the
        cumulative fills the participation band allows so far."""
        return self._share(self._min_rate), self._share(self._max_rate)

    def _target_between(self, t_ns: int) -> int:
        return self._share(self._rate)

    def _share(self, rate: Fraction) -> int:
        return min(self.quantity, self.volume * rate.numerator // rate.denominator)


def _check_rate(name: str, value: float) -> float:
    rate = _check_real(name, value)
    if not 0 < rate <= 1:
        raise ValueError(f"{name} was {value!r}, expected in (0, 1]")
    return rate
