"""scenarios.statistics: the t quantile against a numerical integration of Student's density,
and the mean's 95% interval worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.statistics import mean_interval, t_quantile_975


def _t_cdf(x: float, df: int) -> float:
    """P(T <= x) for x > 0 by integrating the density on [0, x] (Simpson, fine grid)."""
    grid = np.linspace(0.0, x, 200_001)
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_norm - (df + 1) / 2 * np.log1p(grid ** 2 / df))
    h = grid[1] - grid[0]
    simpson = h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum()
                       + 2 * density[2:-1:2].sum())
    return 0.5 + float(simpson)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 9, 19, 30, 35, 50, 90, 200, 1_000])
def test_t_quantile_975_has_97_5_percent_below_it(df: int) -> None:
    assert _t_cdf(t_quantile_975(df), df) == pytest.approx(0.975, abs=1.5e-4)


def test_t_quantile_975_falls_towards_the_normal_and_rejects_zero_df() -> None:
    values = [t_quantile_975(df) for df in range(1, 400)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert 1.96 < values[-1] < 1.967
    with pytest.raises(ValueError, match="degrees of freedom was 0"):
        t_quantile_975(0)


def test_mean_interval_by_hand() -> None:
    interval = mean_interval([1.0, 2.0, 3.0, None, 4.0])  # None: left out
    s = math.sqrt(5 / 3)  # sample sd of 1, 2, 3, 4
    half = 3.1824 * s / 2
    assert interval.n == 4 and interval.mean == 2.5
    assert (interval.low, interval.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert interval.half_width == pytest.approx(half)
    assert interval.as_dict() == {"mean": 2.5, "ci95": [interval.low, interval.high], "n": 4}


def test_mean_interval_one_value_has_no_interval_none_has_no_mean() -> None:
    one = mean_interval([3.0])
    assert (one.mean, one.low, one.high, one.n) == (3.0, None, None, 1)
    assert one.as_dict() == {"mean": 3.0, "ci95": None, "n": 1}
    empty = mean_interval([None, None])
    assert (empty.mean, empty.n) == (None, 0)
