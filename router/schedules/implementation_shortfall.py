"""Almgren-Chriss implementation shortfall: trade faster early when waiting is risky.

Concept. Almgren & Chriss (2000), continuous-time limit: with linear temporary impact η
and risk aversion λ, the mean-variance optimal holdings of an order of X shares over a
horizon T are

    x(t) = X * sinh(κ (T - t)) / sinh(κ T),    κ = sqrt(λ σ² / η),

and target_filled(t) = X - x(t), rounded to the nearest share (halves up). Units: t and T
in seconds; σ the price volatility in ticks per sqrt-second (`FundamentalValue.volatility`,
`RealizedVolatility`); η in ticks per (share per second); λ per (tick * share); so κ is per
second and κT is a pure number -- the urgency. κT = 0 is TWAP; by half-time κT = 1 has done
about 56% of the order, κT = 5 about 92%, κT = 10 over 99%.

Numerics. sinh overflows past about 710, which a naive ratio hits for an urgent order
over a long horizon, and loses all precision near 0. With u = κt, a = κT, b = κ(T - t):

    sinh(b) / sinh(a) = exp(-u) * expm1(-2b) / expm1(-2a),

which never overflows (exp of a non-positive number), is accurate to a few ulps for
small κ (expm1), and is a product of non-increasing positive factors, so the target stays
monotone in floating point. Below κT = 1e-8 the hyperbolic correction to the linear
limit, about (κT)²/6, is under half an ulp of 1, so the schedule takes the limit itself:
TWAP's exact integer targets (the same shares, not merely close).

Known limits. The permanent-impact term drops out of the optimal trajectory and is not a
parameter; the model's linear impact and arithmetic Brownian motion are assumptions, and
λ is a preference, not something the market reveals.
"""

from __future__ import annotations

import math

from router.schedules.base import Schedule, _check_real, _prorate

__all__ = ["ImplementationShortfall"]

_NS_PER_S = 1_000_000_000
_LINEAR_BELOW = 1e-8  # κT under which sinh(κ(T - t)) / sinh(κT) == (T - t) / T in doubles


class ImplementationShortfall(Schedule):
    """The Almgren-Chriss trajectory: front-loaded by κ, TWAP when risk aversion is 0."""

    def __init__(
        self, quantity: int, start_ns: int, end_ns: int, *,
        risk_aversion: float, volatility: float, temporary_impact: float,
    ) -> None:
        super().__init__(quantity, start_ns, end_ns)
        self.risk_aversion = _check_real("risk_aversion", risk_aversion)
        if self.risk_aversion < 0:
            raise ValueError(f"risk_aversion was {risk_aversion!r}, expected >= 0")
        self.volatility = _check_real("volatility", volatility)
        if self.volatility < 0:
            raise ValueError(f"volatility was {volatility!r}, expected >= 0")
        self.temporary_impact = _check_real("temporary_impact", temporary_impact)
        if self.temporary_impact <= 0:
            raise ValueError(f"temporary_impact was {temporary_impact!r}, expected > 0")
        # sqrt(λ/η) * σ rather than sqrt(λσ²/η): σ² alone overflows sooner.
        self.kappa = math.sqrt(self.risk_aversion / self.temporary_impact) * self.volatility
        if not math.isfinite(self.kappa):
            raise ValueError(
                f"kappa = sqrt(risk_aversion * volatility**2 / temporary_impact) overflowed for "
                f"risk_aversion={risk_aversion!r}, volatility={volatility!r}, "
                f"temporary_impact={temporary_impact!r}; expected a finite urgency"
            )
        self.urgency = self.kappa * self.horizon_ns / _NS_PER_S  # κT, dimensionless
        self._linear = self.urgency < _LINEAR_BELOW
        self._denominator = math.expm1(-2.0 * self.urgency)

    def _target_between(self, t_ns: int) -> int:
        elapsed = t_ns - self.start_ns
        if self._linear:
            return _prorate(self.quantity, elapsed, self.horizon_ns)
        u = self.kappa * (elapsed / _NS_PER_S)
        b = self.kappa * ((self.horizon_ns - elapsed) / _NS_PER_S)
        remaining = math.exp(-u) * (math.expm1(-2.0 * b) / self._denominator)
        return math.floor(self.quantity * (1.0 - remaining) + 0.5)
