"""scenarios.stylized_facts on the built-in market: a light regression guard that the default
population still makes a market that looks like a real one (bench/realism.py measures the
same facts on a long run and prints them).

One seeded hour of a scaled-down market (100 noise, 10 informed, 3 makers — the default
population's proportions), measured once. The bands are wide enough that every seed tried
(1-6) passes them with room, and tight enough that the old defaults (a price lagging a
mean-reverting value: 10-s lag-1 autocorrelation +0.48 on this seed, under 1% of a value
move shown a second later, order sizes of 1-5 lots) fail most of them. Deterministic: a
fixed seed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from scenarios.market import MarketConfig
from scenarios.stylized_facts import Facts, analyse, measure

SEED = 1
SECONDS = 3600


@pytest.fixture(scope="module")
def facts() -> Facts:
    base = MarketConfig()
    config = replace(base, record_events=False,
                     noise=replace(base.noise, count=100),
                     informed=replace(base.informed, count=10))
    return analyse(measure(config, SEED, SECONDS))


def test_realism_ten_second_returns_no_linear_autocorrelation_beyond_the_values_own(
    facts: Facts,
) -> None:
    # About inside the +-2/sqrt(n) band of an i.i.d. series (an hour of 10-s returns is a
    # small sample: the fundamental's own path, which the price inherits, strays to +-0.1),
    # and close to the fundamental's own sample autocorrelation: the price adds no momentum.
    lag1 = facts.autocorr_10s[1]
    assert abs(lag1) < 1.5 * facts.band_10s, facts.autocorr_10s
    assert abs(lag1 - facts.value_facts["autocorr_10s_lag1"]) < 0.1, (
        lag1, facts.value_facts)
    assert all(abs(facts.autocorr_10s[k]) < 1.5 * facts.band_10s for k in range(2, 6)), (
        facts.autocorr_10s)


def test_realism_price_shows_a_value_move_within_seconds(facts: Facts) -> None:
    assert facts.value_response[1] > 0.7, facts.value_response
    assert 0.85 < facts.value_response[5] < 1.15, facts.value_response
    assert facts.tracking_error_ticks < 1.5 * facts.tick  # venue ticks


def test_realism_returns_fat_tailed_and_volatility_clustered(facts: Facts) -> None:
    assert facts.kurtosis_10s > 0.5, facts.kurtosis_10s
    assert facts.abs_autocorr_10s[1] > 0.05, facts.abs_autocorr_10s


def test_realism_spread_widens_after_a_large_order_and_recovers_within_seconds(
    facts: Facts,
) -> None:
    name = "venue_spread_ticks"
    assert facts.recovery(name, "0+") > 1.3, facts.resilience[name]
    assert facts.recovery(name, "+5s") < 1.2, facts.resilience[name]
    assert facts.recovery(name, "+30s") < 1.2, facts.resilience[name]


def test_realism_touch_depth_drops_after_a_large_order_and_refills(facts: Facts) -> None:
    name = "venue_hit_depth"
    assert facts.recovery(name, "0+") < 0.8, facts.resilience[name]
    assert facts.recovery(name, "+5s") > 0.8, facts.resilience[name]
    assert facts.recovery(name, "+30s") > 0.8, facts.resilience[name]


def test_realism_impact_positive_and_less_than_proportional_to_size(facts: Facts) -> None:
    assert facts.size_quantiles["max"] >= 20 * facts.size_quantiles["p50"]  # sizes span > x20
    # Bins with enough orders for a stable mean (the rare largest orders are noisy in an hour).
    rows = [(mean_size, moves[1.0][0]) for _, _, n, mean_size, moves in facts.impact_bins
            if n >= 500]
    assert len(rows) >= 3, facts.impact_bins
    (small_size, small_impact), (large_size, large_impact) = rows[0], rows[-1]
    assert small_impact > 0, rows
    assert large_impact / small_impact < large_size / small_size, rows
