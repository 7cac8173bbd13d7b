"""The schedule interface: how much of a parent order should be done by when.

Concept. A schedule works one parent order of `quantity` shares between `start_ns` and
`end_ns` and answers two questions for the router:
- `target_filled(t_ns)` -- cumulative shares that should be done by `t_ns`;
- `slice_quantity(t_ns, filled, lot_size)` -- how much to send now, given what is already
  done (or working), in whole lots.
Volume-driven schedules (POV) also hear the market through `update_volume(t_ns, shares)`;
for the others it is a no-op. Every variant -- TWAP, VWAP, POV, Almgren-Chriss -- is an
implementation of `_target_between`, so a user plugs in their own by `module:Class`.

Invariants.
- Shares and times are integers; floats live only inside a variant's math.
- `target_filled` is monotone non-decreasing in time, 0 at or before `start_ns` and
  `quantity` at or after `end_ns` (POV may document otherwise: it cannot see the end), and
  always within [0, quantity] -- the base class clamps, so a variant's rounding cannot
  break the bounds.
- `slice_quantity` is a multiple of `lot_size`, never more than the lots left in the
  order, and never sends ahead of the target: it rounds *down* to lots (the same rule as
  `ExecutionPolicy.cap_quantity`), so the schedule lags by less than one lot and catches up
  where the target reaches `quantity`.

Known limits. A parent quantity that is not a multiple of the lot leaves an odd-lot
residual that `slice_quantity` never sends (a lit book rejects it as NOT_LOT_MULTIPLE);
route it with `lot_size=1` to a venue that takes odd lots, or leave it.
"""

from __future__ import annotations

import math
import operator
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import SupportsIndex

__all__ = ["Schedule"]


class Schedule(ABC):
    """Base of every schedule: one parent order's `quantity` shares over [start_ns, end_ns]."""

    def __init__(self, quantity: int, start_ns: int, end_ns: int) -> None:
        self.quantity = _check_int("quantity", quantity)
        if self.quantity <= 0:
            raise ValueError(f"quantity was {quantity!r}, expected > 0")
        self.start_ns = _check_int("start_ns", start_ns)
        self.end_ns = _check_int("end_ns", end_ns)
        if self.end_ns <= self.start_ns:
            raise ValueError(f"end_ns was {end_ns!r}, expected > start_ns ({start_ns!r})")
        self.horizon_ns = self.end_ns - self.start_ns

    def target_filled(self, t_ns: int) -> int:
        """Cumulative shares that should be done by `t_ns`: 0 up to the start, the whole
        quantity from the end on, the variant's curve in between."""
        if t_ns <= self.start_ns:
            return 0
        if t_ns >= self.end_ns:
            return self.quantity
        return min(max(self._target_between(t_ns), 0), self.quantity)

    def slice_quantity(self, t_ns: int, filled: int, lot_size: int = 1) -> int:
        """Shares to send now: how far `filled` is behind the target, rounded down to whole
        lots, at most the whole lots left. Pass `filled` as done *plus still working*, or a
        slow venue makes the router send the same shares twice."""
        if lot_size <= 0:
            raise ValueError(f"lot_size was {lot_size!r}, expected > 0")
        if not 0 <= filled <= self.quantity:
            raise ValueError(f"filled was {filled!r}, expected in [0, {self.quantity}]")
        behind = self.target_filled(t_ns) - filled
        if behind <= 0:
            return 0
        # behind <= quantity - filled because target <= quantity, so flooring `behind` to
        # lots also keeps the slice within the remaining shares.
        return behind - behind % lot_size

    def update_volume(self, t_ns: int, traded_shares: int) -> None:
        """Market volume printed at `t_ns` (public trade prints). Time-driven schedules
        ignore it; volume-driven ones (POV) override it."""

    @abstractmethod
    def _target_between(self, t_ns: int) -> int:
        """The target at `start_ns < t_ns < end_ns`; the base clamps it to [0, quantity]."""


def _check_int(name: str, value: object) -> int:
    """An exact integer (numpy integers too), never a bool or a float that happens to be
    whole: shares and nanoseconds are integers throughout (DESIGN: Numbers, Time)."""
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise ValueError(f"{name} was {value!r}, expected an integer")
    return operator.index(value)


def _check_real(name: str, value: object) -> float:
    """A finite real number (int or float, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} was {value!r}, expected a finite number")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} was {value!r}, expected a finite number")
    return result


def _exact(value: float) -> Fraction:
    """The simplest fraction that is the same float: 1/3 stays a third rather than its
    binary approximation, so exact arithmetic on profile knots, weights and rates gives
    the answer a person expects (a flat VWAP profile reproduces TWAP to the share), and
    nothing the float said is lost."""
    simple = Fraction(value).limit_denominator(1_000_000)
    return simple if float(simple) == value else Fraction(value)


def _prorate(quantity: int, part: int, whole: int) -> int:
    """quantity * part / whole rounded to the nearest share (halves up), in exact integers."""
    return (2 * quantity * part + whole) // (2 * whole)
