"""TWAP: trade evenly in time.

target_filled(t) = quantity * (t - start) / (end - start), rounded to the nearest share
(halves up), computed in exact integers -- so it is the reference the other schedules are
tested against (a flat VWAP profile and a risk-neutral Almgren-Chriss reproduce it to the
share).
"""

from __future__ import annotations

from router.schedules.base import Schedule, _prorate

__all__ = ["TWAP"]


class TWAP(Schedule):
    """Linear in time: the same number of shares in every equal stretch of the horizon."""

    def _target_between(self, t_ns: int) -> int:
        return _prorate(self.quantity, t_ns - self.start_ns, self.horizon_ns)
