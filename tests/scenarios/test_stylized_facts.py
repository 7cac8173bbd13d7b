"""scenarios.stylized_facts on hand-made tapes: the true NBBO from venues' own L1s, the state
just before and just after an instant, aggressive orders grouped from prints, impact signed
by the aggressor, and the spread around a large order against its pre-trade baseline."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.market import MarketConfig
from scenarios.stylized_facts import (
    MarketObserver,
    Observation,
    _Book,
    analyse,
    autocorrelation,
    excess_kurtosis,
)

S = 1_000_000_000


def test_book_consolidates_venues_and_reads_just_before_or_at_an_instant() -> None:
    tops = np.array([
        # t, venue, bid, bid qty, ask, ask qty
        (10, 0, 9_900, 300, 10_100, 200),
        (20, 1, 9_900, 500, 10_000, 100),  # ties LIT1's bid, betters its ask
        (30, 0, 9_800, 300, 10_100, 200),
        (30, 1, 0, 0, 10_000, 100),  # LIT2's bid gone, same instant
    ], dtype=np.int64)
    book = _Book(tops, 2)
    assert list(book.bid) == [9_900, 9_900, 9_900, 9_800]  # LIT2 holds 9,900 until row 3
    assert list(book.bid_qty) == [300, 800, 500, 300]
    assert list(book.ask) == [10_100, 10_000, 10_000, 10_000]
    assert np.isnan(book.venue_bid[1, 3]) and book.venue_ask[1, 0] != book.venue_ask[1, 0]
    at = np.array([20, 30, 35])
    assert list(book.at(at)) == [1, 3, 3]  # after everything at t
    assert list(book.at(at, before=True)) == [0, 1, 3]  # strictly before t
    assert book.mid[1] == 9_950 and book.spread[1] == 100


def _observation(seconds: float) -> Observation:
    """A two-venue tape: a quiet 1-tick market around 10,000 at LIT1 (LIT2 is wider), a
    5-lot buy at LIT1 at t = 100 s (two prints, one order) that lifts its ask to 10,200 for
    2 s and then to 10,100, and 1-lot sells at LIT1 at t = 7, 17, ... s that put its book
    back to 9,950 / 10,050."""
    observer = MarketObserver("observer", ["LIT1", "LIT2"])
    observer.tops.append((0, 1, 9_900, 500, 10_200, 500))
    for t in range(0, round(seconds)):
        if t == 100:
            observer.trades += [(t * S, 0, 10_100, 300, 1), (t * S, 0, 10_100, 200, 1)]
            observer.tops.append((t * S, 0, 9_950, 400, 10_200, 100))
            observer.tops.append((t * S + 2 * S, 0, 9_950, 400, 10_100, 400))
        elif t % 10 == 7:
            observer.trades.append((t * S, 0, 9_950, 100, -1))
            observer.tops.append((t * S, 0, 9_950, 300, 10_050, 400))
            observer.tops.append((t * S + S // 100, 0, 9_950, 400, 10_050, 400))
        elif t == 0:
            observer.tops.append((0, 0, 9_950, 400, 10_050, 400))
    observer.tops.sort(key=lambda top: top[0])
    return Observation(MarketConfig(), 1, seconds, 0.0, 0, observer)


def test_analyse_groups_prints_into_orders_and_signs_impact_by_aggressor() -> None:
    facts = analyse(_observation(200.0), warmup_s=0.0, large_fraction=0.01)
    # The buy (2 prints) is one 500-share order; 17 sells of 100 up to t = 170 (room for
    # the 30 s horizon).
    assert facts.orders == 1 + 17
    assert facts.size_quantiles["max"] == 500 and facts.size_quantiles["p50"] == 100
    rows = {low: (n, mean_size, moves) for low, _, n, mean_size, moves in facts.impact_bins}
    n, size, moves = rows[4]  # 5 lots: bin 4-7
    assert (n, size) == (1, 500)
    # Mid before 10,000 (9,950/10,050); at +0 and +1 s (9,950/10,200) 10,075: +75 for a buy;
    # at +5 s (9,950/10,100) +25.
    assert moves[0.0][0] == 75 and moves[1.0][0] == 75 and moves[5.0][0] == 25
    # The sells shrink the bid queue and leave the mid, except the one at t = 107, which
    # finds the ask at 10,100 still (mid 10,025) and puts it back to 10,050: +25 for a sell.
    # 5 s on, that one shows +25 and the one at t = 97 -25 (the buy's move came in between).
    n, size, moves = rows[1]
    assert (n, size) == (17, 100)
    assert moves[0.0][0] == pytest.approx(25 / 17) and moves[5.0][0] == 0


def test_analyse_spread_around_the_largest_order_against_its_baseline() -> None:
    facts = analyse(_observation(200.0), warmup_s=0.0, large_fraction=0.01)
    assert facts.large_orders == 1 and facts.large_min_size == 500
    spread = facts.resilience["venue_spread_ticks"]  # LIT1, in its 100-tick ticks
    assert spread["-10s"][0] == 1.0 and spread["0-"][0] == 1.0
    assert spread["0+"][0] == 2.5 and spread["+1s"][0] == 2.5 and spread["+5s"][0] == 1.5
    assert facts.baseline("venue_spread_ticks") == 1.0
    assert facts.recovery("venue_spread_ticks", "0+") == 2.5
    depth = facts.resilience["venue_hit_depth"]  # the ask side, hit by a buy
    assert depth["0-"][0] == 400 and depth["0+"][0] == 100 and depth["+5s"][0] == 400


def test_autocorrelation_and_kurtosis_of_known_laws() -> None:
    rng = np.random.default_rng(7)
    normal = rng.standard_normal(100_000)
    assert abs(autocorrelation(normal, 1)) < 2 / np.sqrt(len(normal))
    assert excess_kurtosis(normal) == pytest.approx(0.0, abs=0.1)
    assert excess_kurtosis(rng.laplace(size=100_000)) == pytest.approx(3.0, abs=0.3)
    walk = np.cumsum(normal)
    assert autocorrelation(walk, 1) > 0.9
