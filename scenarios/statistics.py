"""Means over seeds with a 95% confidence interval (Student's t), for compare and sweep.

`mean_interval(values)` gives the mean and the two-sided 95% t-interval
mean ± t(0.975, n-1) · s / sqrt(n), with s the sample standard deviation; no interval
for fewer than two values. Values that are None (a run without fills has no shortfall)
are left out and the count says how many were used.

The t quantile comes from the standard table (four decimals, df 1-30, 40, 60, 120, then
the normal 1.96), linear in 1/df between rows above 30: within 1e-3 of the exact value,
far below the noise of a handful of seeds. No scipy for one number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Interval", "mean_interval", "t_quantile_975"]

_T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646,
         8: 2.3060, 9: 2.2622, 10: 2.2281, 11: 2.2010, 12: 2.1788, 13: 2.1604, 14: 2.1448,
         15: 2.1314, 16: 2.1199, 17: 2.1098, 18: 2.1009, 19: 2.0930, 20: 2.0860, 21: 2.0796,
         22: 2.0739, 23: 2.0687, 24: 2.0639, 25: 2.0595, 26: 2.0555, 27: 2.0518, 28: 2.0484,
         29: 2.0452, 30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799}
_NORMAL_975 = 1.9600


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"degrees of freedom was {df}, expected >= 1")
    if df in _T975:
        return _T975[df]
    rows = sorted(_T975)
    above = [d for d in rows if d > df]
    low = max(d for d in rows if d < df)
    if not above:  # beyond 120: towards the normal, linear in 1/df (1/inf = 0)
        weight = (1 / low - 1 / df) / (1 / low)
        return _T975[low] + weight * (_NORMAL_975 - _T975[low])
    high = above[0]
    weight = (1 / low - 1 / df) / (1 / low - 1 / high)
    return _T975[low] + weight * (_T975[high] - _T975[low])


@dataclass(frozen=True)
class Interval:
    """A mean over `n` values and its 95% interval (None when n < 2; all None when n = 0)."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        return None if self.high is None or self.mean is None else self.high - self.mean

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "ci95": None if self.low is None else [self.low, self.high],
                "n": self.n}


def mean_interval(values: Iterable[float | None]) -> Interval:
    """The mean of the values that are not None, with its 95% t-interval."""
    present = [float(v) for v in values if v is not None]
    n = len(present)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = math.fsum(present) / n
    if n == 1:
        return Interval(mean, None, None, 1)
    variance = math.fsum((v - mean) ** 2 for v in present) / (n - 1)
    half = t_quantile_975(n - 1) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half, n)
