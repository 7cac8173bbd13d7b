"""VWAP: trade in proportion to the market's expected volume over the horizon.

Concept. A volume profile is a sequence of buckets `(bucket_end, weight)`: the weight is
the share of the horizon's volume expected in the bucket that ends at `bucket_end` (and
starts where the previous one ends, the first at the start). Bucket ends are fractions of
the horizon (`VWAP(...)`, ends in (0, 1], the last exactly 1) or absolute times
(`VWAP.from_bucket_ends_ns(...)`, the last exactly `end_ns`). Weights need not sum to 1;
they are normalized. Volume is assumed uniform inside a bucket, so

    target_filled(t) = quantity * (weight of the buckets done + the elapsed part of the
                                   current one) / total weight,

rounded to the nearest share (halves up) -- piecewise linear, monotone because weights are
never negative.

Exactness. Knots and weights are turned into exact fractions once (see `_exact`), so the
target is computed in exact rational arithmetic: a flat profile gives TWAP's integer
targets exactly, and no float error can make the curve step back. A lookup is a bisection
over the buckets, O(log buckets).

Known limits. The profile is static: it does not learn today's volume (a POV does).
`u_shaped_profile` is a smooth stand-in for an intraday curve, not an estimate from data.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from fractions import Fraction

from router.schedules.base import Schedule, _check_int, _check_real, _exact

__all__ = ["VWAP", "VolumeProfile", "flat_profile", "u_shaped_profile"]

# (bucket end as a fraction of the horizon -- a float, or a Fraction to be exact --, weight)
VolumeProfile = Sequence[tuple[float | Fraction, float]]

_HALF = Fraction(1, 2)


class VWAP(Schedule):
    """Follows a volume profile: more shares where more market volume is expected."""

    def __init__(self, quantity: int, start_ns: int, end_ns: int, profile: VolumeProfile) -> None:
        super().__init__(quantity, start_ns, end_ns)
        knots = [
            end if isinstance(end, Fraction) else _exact(_check_real(f"profile[{i}] bucket end", end))
            for i, (end, _) in enumerate(profile)
        ]
        self._build(knots, [weight for _, weight in profile])

    @classmethod
    def from_bucket_ends_ns(
        cls, quantity: int, start_ns: int, end_ns: int, buckets: Sequence[tuple[int, float]],
    ) -> VWAP:
        """A profile whose buckets end at absolute times (ns), the last at `end_ns`."""
        start, end = _check_int("start_ns", start_ns), _check_int("end_ns", end_ns)
        if end <= start:
            raise ValueError(f"end_ns was {end_ns!r}, expected > start_ns ({start_ns!r})")
        profile: list[tuple[float | Fraction, float]] = [
            (Fraction(_check_int(f"buckets[{i}] end_ns", bucket_end) - start, end - start), weight)
            for i, (bucket_end, weight) in enumerate(buckets)
        ]
        return cls(quantity, start_ns, end_ns, profile)

    def _build(self, knots: list[Fraction], raw_weights: Sequence[float]) -> None:
        """Validate the buckets and precompute, per bucket, the line
        fraction_done(tau) = base + slope * tau, where tau is the elapsed share of the horizon."""
        if not knots:
            raise ValueError("profile was empty, expected at least one bucket")
        previous = Fraction(0)
        for i, knot in enumerate(knots):
            if not previous < knot <= 1:
                raise ValueError(
                    f"profile[{i}] bucket end was {float(knot)!r} of the horizon, "
                    f"expected in ({float(previous)!r}, 1] and after the previous bucket's end"
                )
            previous = knot
        if knots[-1] != 1:
            raise ValueError(f"profile[-1] bucket end was {float(knots[-1])!r} of the horizon, expected 1 (the end)")
        weights: list[Fraction] = []
        for i, raw in enumerate(raw_weights):
            weight = _check_real(f"profile[{i}] weight", raw)
            if weight < 0:
                raise ValueError(f"profile[{i}] weight was {raw!r}, expected >= 0")
            weights.append(_exact(weight))
        total = sum(weights, Fraction(0))
        if total == 0:
            raise ValueError("profile weights were all 0, expected a positive total")
        self._knots = knots
        self._lines: list[tuple[Fraction, Fraction]] = []
        done, start = Fraction(0), Fraction(0)
        for knot, share in zip(knots, weights, strict=True):
            slope = share / (total * (knot - start))
            self._lines.append((done / total - slope * start, slope))
            done += share
            start = knot

    def fraction_done(self, t_ns: int) -> Fraction:
        """The profile's cumulative share of the horizon's volume at `t_ns` (exact)."""
        tau = Fraction(min(max(t_ns - self.start_ns, 0), self.horizon_ns), self.horizon_ns)
        base, slope = self._lines[min(bisect_left(self._knots, tau), len(self._lines) - 1)]
        return base + slope * tau

    def _target_between(self, t_ns: int) -> int:
        return math.floor(self.quantity * self.fraction_done(t_ns) + _HALF)


def flat_profile(buckets: int) -> list[tuple[float, float]]:
    """`buckets` equal buckets of equal weight: the same curve as TWAP."""
    if buckets <= 0:
        raise ValueError(f"buckets was {buckets!r}, expected > 0")
    return [((i + 1) / buckets, 1.0) for i in range(buckets)]


def u_shaped_profile(buckets: int = 26, edge_ratio: float = 3.0) -> list[tuple[float, float]]:
    """An intraday U: equal-length buckets whose weight is 1 at the middle of the horizon and
    rises as a parabola toward `edge_ratio` at the open and the close (the weight of a
    bucket is the parabola at its centre). The default is 26 quarter-hour buckets of a
    6.5-hour session, open and close about three times as busy as midday."""
    if buckets <= 0:
        raise ValueError(f"buckets was {buckets!r}, expected > 0")
    if not math.isfinite(edge_ratio) or edge_ratio <= 0:
        raise ValueError(f"edge_ratio was {edge_ratio!r}, expected a finite number > 0")
    profile = []
    for i in range(buckets):
        centre = (i + 0.5) / buckets
        profile.append(((i + 1) / buckets, 1.0 + (edge_ratio - 1.0) * (2.0 * centre - 1.0) ** 2))
    return profile
