"""router.allocators.censored_dark: the Kaplan–Meier tail from censored fills (hand-computed
cases), the paper's optimistic cutoff and the graded bonus, the greedy split (brute force and
a reference heap), allocations in lots over allowed venues, learning the deep pool, censored
fills read as "at least", forgetting (window, discount), and a scaled-down bench."""

from __future__ import annotations

import heapq
import itertools
from typing import Any

import numpy as np
import pytest

from market.rng import RngStreams
from router.allocators.base import VenueFeedback
from router.allocators.censored_dark import (
    CensoredDarkAllocator,
    greedy_allocate,
    kaplan_meier_tail,
    optimistic_tail,
)

VENUES = ["A", "B", "C", "D"]


def make(venues: list[str] | None = None, seed: int = 0, **kwargs: Any,
         ) -> CensoredDarkAllocator:
    rng = RngStreams(seed).stream("allocator")
    return CensoredDarkAllocator(venues or VENUES, rng, **kwargs)


def fill(venue: str, sent: int, liquidity: int) -> VenueFeedback:
    """What a dark pool holding `liquidity` does with `sent`."""
    filled = min(sent, liquidity)
    return VenueFeedback(venue, sent, filled, float(filled), censored=filled == sent)


def heap_greedy(tails: list[np.ndarray], units: int) -> tuple[list[int], int]:
    """The paper's greedy, one unit at a time, ties to fewer units then lower index."""
    def value(i: int, s: int) -> float:
        return float(tails[i][min(s, len(tails[i]) - 1)])
    heap = [(-value(i, 1), 1, i) for i in range(len(tails))]
    heapq.heapify(heap)
    counts = [0] * len(tails)
    last = -1
    for _ in range(units + 1):
        _, s, last = heapq.heappop(heap)
        counts[last] += 1
        heapq.heappush(heap, (-value(last, s + 1), s + 1, last))
    counts[last] -= 1
    return counts, last


def random_tails(rng: np.random.Generator, pools: int, ties: bool) -> list[np.ndarray]:
    tails = []
    for _ in range(pools):
        length = int(rng.integers(0, 7))
        if ties:
            values = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=length)
        else:
            values = rng.random(length)
        tails.append(np.concatenate([[1.0], np.sort(values)[::-1]]))
    return tails


# --- Kaplan–Meier ---------------------------------------------------------------------------

def test_kaplan_meier_tail_no_censoring_equals_empirical_tail() -> None:
    # exact observations 0, 1, 1, 2, 3
    tail = kaplan_meier_tail([1, 2, 1, 1], [0, 0, 0, 0])
    np.testing.assert_allclose(tail, [1.0, 4 / 5, 2 / 5, 1 / 5, 0.0])


def test_kaplan_meier_tail_censored_observations_hand_computed() -> None:
    # observations: S = 0, S = 1, S >= 2, S = 2, S >= 3
    # at risk: N_0 = 5, N_1 = 4, N_2 = 2 (S = 2 and S >= 3; "S >= 2" could not show S == 2)
    # hazards 1/5, 1/4, 1/2 -> T(1) = 4/5, T(2) = 3/5, T(3) = 3/10, then flat (no data)
    tail = kaplan_meier_tail([1, 1, 1, 0], [0, 0, 1, 1])
    np.testing.assert_allclose(tail, [1.0, 4 / 5, 3 / 5, 3 / 10, 3 / 10])


def test_kaplan_meier_tail_all_censored_stays_at_one() -> None:
    # "filled everything sent" twice: S >= 2 and S >= 3 — never evidence of running out
    tail = kaplan_meier_tail([0, 0, 0, 0], [0, 0, 1, 1])
    np.testing.assert_allclose(tail, np.ones(5))


def test_kaplan_meier_tail_fractional_weights_scale_free() -> None:
    tail = kaplan_meier_tail([1, 1, 1, 0], [0, 0, 1, 1])
    scaled = kaplan_meier_tail([0.3, 0.3, 0.3, 0], [0, 0, 0.3, 0.3])
    np.testing.assert_allclose(scaled, tail)


def test_kaplan_meier_tail_negative_weight_raises() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        kaplan_meier_tail([1, -1], [0, 0])


def test_optimistic_tail_beyond_cutoff_is_flat_paper_rule() -> None:
    # exact 0, 1, 1, 2 and censored >= 3, >= 3: N = [6, 5, 3, 2]
    exact, censored = [1, 2, 1, 0], [0, 0, 0, 2]
    km = kaplan_meier_tail(exact, censored)
    # cutoff_samples 3: N_0, N_1, N_2 >= 3 -> c = 3; N_3 = 2 < 3
    upper = optimistic_tail(exact, censored, cutoff_samples=3)
    np.testing.assert_allclose(upper, km[:4])
    # cutoff_samples 6: only N_0 qualifies -> c = 1, flat at T(1) = 5/6 beyond
    np.testing.assert_allclose(optimistic_tail(exact, censored, cutoff_samples=6), [1.0, 5 / 6])
    # no data: flat at 1
    np.testing.assert_allclose(optimistic_tail([0, 0], [0, 0], cutoff_samples=1), [1.0])


def test_optimistic_tail_bonus_bounds_km_and_never_increases() -> None:
    exact, censored = [3, 2, 1, 1, 0], [0, 1, 0, 2, 1]
    km = kaplan_meier_tail(exact, censored)
    upper = optimistic_tail(exact, censored, cutoff_samples=1, bonus=0.3)
    assert (upper >= km[: len(upper)] - 1e-12).all()
    assert (np.diff(upper) <= 0).all()
    assert upper.max() <= 1.0
    assert upper[1] == pytest.approx(8 / 11 + 0.3 / np.sqrt(11))  # N_0 = 7 exact + 4 censored > 0


# --- greedy split ---------------------------------------------------------------------------

def test_greedy_allocate_small_cases_match_brute_force_optimum() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        pools = int(rng.integers(1, 4))
        tails = random_tails(rng, pools, ties=bool(rng.integers(2)))
        units = int(rng.integers(0, 7))

        def value(split: tuple[int, ...]) -> float:
            return sum(float(t[np.minimum(np.arange(1, v + 1), len(t) - 1)].sum())
                       for t, v in zip(tails, split))

        best = max(value(split) for split in itertools.product(range(units + 1), repeat=pools)
                   if sum(split) == units)
        counts, _ = greedy_allocate(tails, units)
        assert sum(counts) == units
        assert value(tuple(counts)) == pytest.approx(best)


def test_greedy_allocate_random_tails_match_reference_heap_greedy() -> None:
    rng = np.random.default_rng(11)
    for _ in range(2000):
        tails = random_tails(rng, int(rng.integers(1, 5)), ties=bool(rng.integers(2)))
        units = int(rng.integers(0, 40))
        assert greedy_allocate(tails, units) == heap_greedy(tails, units)


def test_greedy_allocate_equal_tails_split_evenly() -> None:
    counts, following = greedy_allocate([np.ones(1)] * 4, 10)
    assert counts == [3, 3, 2, 2]
    assert following == 2


def test_greedy_allocate_increasing_tail_raises() -> None:
    with pytest.raises(ValueError, match="increases"):
        greedy_allocate([np.array([1.0, 0.2, 0.5])], 3)


def test_greedy_allocate_huge_quantity_is_fast_and_exact() -> None:
    tails = [np.array([1.0, 0.9, 0.5]), np.array([1.0, 0.6, 0.6, 0.1])]
    counts, _ = greedy_allocate(tails, 10**9)
    # A is flat at 0.5 beyond 2 units, B at 0.1 beyond 3: B gets its 0.6s, A the rest
    assert counts == [10**9 - 2, 2]


# --- choose ---------------------------------------------------------------------------------

def test_choose_sums_to_quantity_in_lots_with_one_odd_lot() -> None:
    allocator = make(lot_size=100)
    rng = np.random.default_rng(3)
    for episode in range(40):
        quantity = int(rng.integers(0, 5000))
        allocation = allocator.choose(quantity)
        assert sum(allocation.values()) == quantity
        odd = [v for v in allocation.values() if v % 100]
        assert len(odd) <= 1 and sum(v % 100 for v in odd) == quantity % 100
        allocator.update([fill(venue, sent, int(rng.integers(0, 800)))
                          for venue, sent in allocation.items() if sent])


def test_choose_allowed_venues_only_them_get_shares() -> None:
    allocator = make(lot_size=10)
    allocation = allocator.choose(1000, venues=["D", "B"])
    assert set(allocation) == {"D", "B"}
    assert sum(allocation.values()) == 1000
    assert allocator.choose(1000, venues=["C"]) == {"C": 1000}


def test_choose_no_allowed_venue_returns_empty() -> None:
    assert make().choose(500, venues=[]) == {}


def test_choose_unknown_or_repeated_venue_raises() -> None:
    allocator = make()
    with pytest.raises(ValueError, match="unknown venue 'X'"):
        allocator.choose(100, venues=["A", "X"])
    with pytest.raises(ValueError, match="repeat"):
        allocator.choose(100, venues=["A", "A"])
    with pytest.raises(ValueError, match="quantity"):
        allocator.choose(-1)


def test_choose_no_data_splits_evenly() -> None:
    assert make(lot_size=10).choose(1000) == {"A": 250, "B": 250, "C": 250, "D": 250}


def test_constructor_bad_parameters_raise() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"lot_size": 0}, "lot_size"), ({"window": 0}, "window"), ({"discount": 0.0}, "discount"),
        ({"bonus": -1.0}, "bonus"), ({"cutoff_samples": -1.0}, "cutoff_samples"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValueError, match=field):
            make(**kwargs)


# --- learning from censored fills -----------------------------------------------------------

def test_allocator_deep_and_shallow_pools_learns_to_prefer_deep() -> None:
    # A always holds 2000 shares; B, C, D hold 0-100. 1000 shares in lots of 10.
    rng = RngStreams(5).stream("liquidity")
    allocator = make(lot_size=10)
    shares_to_a = []
    for _ in range(60):
        allocation = allocator.choose(1000)
        liquidity = {"A": 2000, **{v: int(rng.integers(0, 101)) for v in "BCD"}}
        allocator.update([fill(v, s, liquidity[v]) for v, s in allocation.items() if s])
        shares_to_a.append(allocation["A"])
    assert shares_to_a[0] == 250
    assert np.mean(shares_to_a[-20:]) >= 850


def test_update_censored_fill_read_as_at_least_not_as_exhausted() -> None:
    censored = make(["A"], lot_size=10, cutoff_samples=1, bonus=0.0)
    exact = make(["A"], lot_size=10, cutoff_samples=1, bonus=0.0)
    for _ in range(5):
        censored.update([fill("A", 50, 10_000)])  # filled all 50: liquidity >= 5 lots
        exact.update([fill("A", 100, 50)])  # filled 50 of 100: liquidity is 5 lots
    # censored: nothing ever ran out, the tail is 1 as far as we know and flat beyond
    np.testing.assert_allclose(censored.tail("A"), np.ones(6))
    assert censored.tail("A")[-1] == 1.0
    # exact: certain that the 6th lot never fills
    np.testing.assert_allclose(exact.tail("A"), [1, 1, 1, 1, 1, 1, 0])


def test_update_censored_flag_with_partial_fill_is_at_least() -> None:
    allocator = make(["A"], cutoff_samples=1, bonus=0.0)
    # the venue says censored (e.g. the child was cancelled early): 30 of 100 means >= 30
    allocator.update([VenueFeedback("A", 100, 30, 30.0, censored=True)])
    exact, censored = allocator.observations("A")
    assert exact.sum() == 0 and censored[30] == 1


def test_update_partial_fill_inside_odd_lot_is_censored_at_whole_lots() -> None:
    allocator = make(["A"], lot_size=100)
    # sent 3.5 lots, filled 3.2: the pool holds 3 whole lots, but would a 4th have filled?
    # Unknown — 3.5 were never offered as 4 — so it is "at least 3", not "exactly 3".
    allocator.update([VenueFeedback("A", 350, 320, 320.0, censored=False)])
    exact, censored = allocator.observations("A")
    assert exact.sum() == 0 and censored[3] == 1
    allocator.update([VenueFeedback("A", 500, 320, 320.0, censored=False)])
    exact, _ = allocator.observations("A")
    assert exact[3] == 1


def test_update_bad_feedback_raises() -> None:
    allocator = make()
    with pytest.raises(ValueError, match="filled 200 of 100"):
        allocator.update([VenueFeedback("A", 100, 200, 0.0, censored=False)])
    with pytest.raises(ValueError, match="unknown venue 'Z'"):
        allocator.update([VenueFeedback("Z", 100, 100, 0.0, censored=True)])


# --- forgetting -----------------------------------------------------------------------------

def test_windowed_allocator_forgets_observations_older_than_window() -> None:
    windowed = make(["A"], cutoff_samples=1, bonus=0.0, window=3)
    remembering = make(["A"], cutoff_samples=1, bonus=0.0)
    for allocator in (windowed, remembering):
        for _ in range(10):
            allocator.update([fill("A", 10, 0)])  # empty pool
        for _ in range(3):
            allocator.update([fill("A", 10, 50)])  # then deep: censored at 10
    exact, censored = windowed.observations("A")
    assert exact.sum() == 0 and censored[10] == 3
    np.testing.assert_allclose(windowed.tail("A"), np.ones(11))
    assert remembering.tail("A")[1] == pytest.approx(3 / 13)


def test_discounted_allocator_pool_left_alone_is_tried_again() -> None:
    # B showed nothing 4 times; afterwards A fills all it is sent, B gets nothing. With a
    # discount B's evidence fades, its bonus grows back to 1 and it is tried again; without
    # one, its estimate (0 + 0.3 / sqrt(4)) stands against A's 1 for ever.
    def first_episode_sent_to_b(allocator: CensoredDarkAllocator) -> int | None:
        for _ in range(4):
            allocator.update([fill("B", 10, 0)])
        for episode in range(150):
            allocation = allocator.choose(4)
            if allocation["B"]:
                return episode
            allocator.update([fill("A", allocation["A"], 6)])
        return None

    tried = first_episode_sent_to_b(make(["A", "B"], cutoff_samples=1, bonus=0.3, discount=0.9))
    assert tried is not None and 10 < tried < 60
    assert first_episode_sent_to_b(make(["A", "B"], cutoff_samples=1, bonus=0.3)) is None


# --- a scaled-down bench --------------------------------------------------------------------

def share_tail(p_zero: float, scale: float, shape: float, quantity: int) -> np.ndarray:
    x = np.arange(quantity + 1, dtype=np.float64)
    tail = (1 - p_zero) * np.minimum(1.0, (scale / np.maximum(x, 1.0)) ** shape)
    tail[0] = 1.0
    return tail


def test_allocator_scaled_down_bench_beats_uniform_by_clear_margin() -> None:
    laws = [(0.1, 400.0, 1.2), (0.4, 100.0, 1.5), (0.6, 40.0, 2.0), (0.8, 20.0, 2.5)]
    quantity, lot = 1000, 10
    tails = [share_tail(*law, quantity) for law in laws]
    prefix = [np.concatenate([[0.0], np.cumsum(t[1:])]) for t in tails]  # E[min(L, x)]

    def expected(shares: list[int]) -> float:
        return float(sum(p[s] for p, s in zip(prefix, shares)))

    per_lot = [np.concatenate([[1.0], t[1:].reshape(-1, lot).mean(axis=1)]) for t in tails]
    oracle = expected([n * lot for n in greedy_allocate(per_lot, quantity // lot)[0]])
    uniform = expected([quantity // 4] * 4) / oracle
    fractions = []
    for seed in range(4):
        streams = RngStreams(seed)
        rng = streams.stream("liquidity")
        allocator = CensoredDarkAllocator(VENUES, streams.stream("allocator"), lot_size=lot)
        for _ in range(80):
            allocation = allocator.choose(quantity)
            shares = [allocation[v] for v in VENUES]
            fractions.append(expected(shares) / oracle)
            feedback = []
            for venue, sent, (p_zero, scale, shape) in zip(VENUES, shares, laws):
                liquidity = 0 if rng.random() < p_zero else int(scale * (1 + rng.pareto(shape)))
                if sent:
                    feedback.append(fill(venue, sent, liquidity))
            allocator.update(feedback)
    late = np.array(fractions).reshape(4, 80)[:, -20:].mean()
    assert uniform < 0.55
    assert late >= 0.9
    assert late - uniform >= 0.35
