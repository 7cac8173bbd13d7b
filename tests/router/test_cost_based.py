"""router.allocators.cost_based: each lot to the venue where it is expected to save most, up
to the size shown at the touch; a worse touch gets only overflow; a venue whose cost rises
or that never fills loses its lots; the split always sums to the slice, in whole lots, over
the offered venues only, and never draws from the RNG."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.messages import Side
from router.allocators.base import VenueFeedback
from router.allocators.cost_based import CostBasedSplit
from router.allocators.registry import AllocatorSpecError, make_allocator

LOT = 100
MID = 1_000_000  # $100.00 in ticks of 0.0001: 100 ticks = 1 bp
LIT = ["LIT1", "LIT2"]
VENUES = ["LIT1", "LIT2", "DARK1"]


def make(venues: Sequence[str] = VENUES, **kwargs: object) -> CostBasedSplit:
    return CostBasedSplit(venues, np.random.default_rng(0), lot_size=LOT,
                          **kwargs)  # type: ignore[arg-type]


def fb(venue: str, sent: int, filled: int, cost: float | None = None,
       censored: bool = False) -> VenueFeedback:
    return VenueFeedback(venue, sent, filled, 0.0, censored, None, cost)


def show(allocator: CostBasedSplit, touches: Mapping[str, tuple[int | None, int]],
         side: Side = Side.BUY) -> None:
    for venue, (price, size) in touches.items():
        allocator.observe_touch(venue, side, price, size)


def learn(allocator: CostBasedSplit, costs: Mapping[str, float], rounds: int = 10,
          shares: int = 500) -> None:
    """`rounds` slices in which every venue of `costs` filled all `shares` sent at that cost."""
    for _ in range(rounds):
        allocator.update([fb(v, shares, shares, c) for v, c in costs.items()])


def assert_whole_lots(allocation: Mapping[str, int], quantity: int, lot: int = LOT) -> None:
    assert sum(allocation.values()) == quantity
    assert all(q > 0 for q in allocation.values()), allocation
    odd = [q % lot for q in allocation.values() if q % lot]
    assert odd == ([quantity % lot] if quantity % lot else []), allocation


# --- the split's invariants -------------------------------------------------------------------


def test_cost_based_odd_quantity_sums_exactly_in_whole_lots_plus_one_odd_part() -> None:
    allocator = make()
    show(allocator, {"LIT1": (MID, 700), "LIT2": (MID, 900)})
    allocation = allocator.choose(2_350)
    assert_whole_lots(allocation, 2_350)
    assert set(allocation) <= set(VENUES)


def test_cost_based_offered_subset_only_offered_venues_get_shares() -> None:
    allocator = make()
    show(allocator, {"LIT1": (MID, 5_000), "LIT2": (MID, 5_000)})
    allocation = allocator.choose(1_230, ["LIT2", "DARK1"])
    assert set(allocation) <= {"LIT2", "DARK1"}
    assert_whole_lots(allocation, 1_230)


def test_cost_based_zero_quantity_is_empty() -> None:
    allocator = make()
    show(allocator, {"LIT1": (MID, 500)})
    assert allocator.choose(0) == {}


def test_cost_based_negative_quantity_raises() -> None:
    with pytest.raises(ValueError, match="quantity was -100"):
        make().choose(-100)


def test_cost_based_unknown_venue_offered_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="NOPE"):
        make().choose(500, ["LIT1", "NOPE"])


@pytest.mark.parametrize(("params", "name"), [
    ({"lot_size": 0}, "lot_size"),
    ({"lot_size": 1.5}, "lot_size"),
    ({"discount": 0.0}, "discount"),
    ({"discount": 1.5}, "discount"),
    ({"discount": math.nan}, "discount"),
    ({"delay_cost_bps": -0.1}, "delay_cost_bps"),
    ({"delay_cost_bps": math.inf}, "delay_cost_bps"),
    ({"cost_bonus_bps": math.nan}, "cost_bonus_bps"),
    ({"cost_bonus_bps": -1.0}, "cost_bonus_bps"),
    ({"beyond_displayed": -0.1}, "beyond_displayed"),
    ({"beyond_displayed": 1.5}, "beyond_displayed"),
    ({"beyond_displayed": math.nan}, "beyond_displayed"),
    ({"cutoff_samples": -1.0}, "cutoff_samples"),
    ({"bonus": -0.1}, "bonus"),
])
def test_cost_based_bad_parameter_raises_naming_it(params: dict[str, object], name: str) -> None:
    kwargs: dict[str, object] = {"lot_size": LOT, **params}
    with pytest.raises(ValueError, match=rf"^{name} was "):
        CostBasedSplit(VENUES, np.random.default_rng(0), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("cost", [math.nan, math.inf, -math.inf])
def test_cost_based_non_finite_cost_in_feedback_raises_naming_venue(cost: float) -> None:
    with pytest.raises(ValueError, match="LIT2"):
        make().update([fb("LIT1", 300, 300, 1.0), fb("LIT2", 300, 300, cost)])


def test_cost_based_rejected_feedback_leaves_the_estimates_unchanged() -> None:
    # Feedback for an unknown venue is checked before anything is learned; a non-finite cost
    # should be too, else a caller that catches the error keeps half an update.
    allocator = make()
    learn(allocator, {"LIT1": 1.0, "LIT2": 2.0}, rounds=3)
    costs = {v: allocator.cost_bps(v) for v in VENUES}
    seen = {v: allocator.liquidity.observations(v) for v in VENUES}
    for bad in ([fb("LIT1", 300, 300, 5.0), fb("NOPE", 300, 300, 1.0)],
                [fb("LIT1", 300, 300, 5.0), fb("LIT2", 300, 300, math.nan)]):
        with pytest.raises(ValueError):
            allocator.update(bad)
        assert {v: allocator.cost_bps(v) for v in VENUES} == costs, bad
        for v in VENUES:
            exact, censored = allocator.liquidity.observations(v)
            assert np.array_equal(exact, seen[v][0]) and np.array_equal(censored, seen[v][1]), bad


def test_cost_based_feedback_learns_discounted_mean_cost_per_filled_slice() -> None:
    allocator = make(discount=0.5)
    allocator.update([fb("LIT1", 300, 300, 4.0), fb("LIT2", 300, 0, None)])
    allocator.update([fb("LIT1", 300, 300, 1.0)])
    assert allocator.cost_bps("LIT1") == pytest.approx((4.0 * 0.5 + 1.0) / (0.5 + 1.0))
    assert allocator.cost_bps("LIT2") is None  # nothing filled: no cost learned
    assert allocator.cost_bps("DARK1") is None


# --- lit venues: cost, then price, then displayed size ----------------------------------------


@pytest.mark.parametrize("cheap", LIT)
def test_cost_based_same_touch_cheaper_venue_gets_its_displayed_size_rest_to_other(
    cheap: str,
) -> None:
    dear = "LIT2" if cheap == "LIT1" else "LIT1"
    allocator = make(LIT)
    learn(allocator, {cheap: 0.5, dear: 2.0})
    show(allocator, {cheap: (MID, 300), dear: (MID, 2_000)})
    assert allocator.choose(1_000) == {cheap: 300, dear: 700}
    # the odd shares go with the first lot placed: the cheap venue's
    assert allocator.choose(1_050) == {cheap: 350, dear: 700}


@pytest.mark.parametrize(("side", "worse", "best"), [
    (Side.BUY, MID + 100, MID),  # a higher ask, 1 bp worse
    (Side.SELL, MID - 100, MID),  # a lower bid, 1 bp worse
])
def test_cost_based_worse_touch_gets_nothing_while_best_shows_enough_then_overflow(
    side: Side, worse: int, best: int,
) -> None:
    allocator = make(LIT)
    learn(allocator, {"LIT1": 1.0, "LIT2": 1.0})  # same cost per share at both
    show(allocator, {"LIT1": (worse, 1_000), "LIT2": (best, 1_000)}, side)
    assert allocator.choose(800) == {"LIT2": 800}
    assert allocator.choose(1_000) == {"LIT2": 1_000}
    assert allocator.choose(1_500) == {"LIT2": 1_000, "LIT1": 500}


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_cost_based_worse_touch_without_history_gets_nothing_while_best_shows_enough(
    side: Side,
) -> None:
    allocator = make(LIT)
    worse = MID + 100 if side is Side.BUY else MID - 100
    show(allocator, {"LIT1": (worse, 1_000), "LIT2": (MID, 1_000)}, side)
    assert allocator.choose(800) == {"LIT2": 800}
    assert allocator.choose(1_500) == {"LIT2": 1_000, "LIT1": 500}


def test_cost_based_slice_below_one_lot_goes_to_the_best_touch() -> None:
    allocator = make(LIT)
    show(allocator, {"LIT1": (MID + 100, 1_000), "LIT2": (MID, 1_000)})
    assert allocator.choose(50) == {"LIT2": 50}


def test_cost_based_empty_touch_gets_nothing_when_another_venue_shows_a_price() -> None:
    allocator = make(LIT)
    show(allocator, {"LIT1": (None, 0), "LIT2": (MID, 1_000)})
    assert allocator.choose(1_500) == {"LIT2": 1_500}


def test_cost_based_venue_whose_cost_rises_loses_its_lots_within_a_few_updates() -> None:
    allocator = make(LIT)
    show(allocator, {"LIT1": (MID, 500), "LIT2": (MID, 5_000)})
    cost = {"LIT1": 0.5, "LIT2": 2.0}

    def step() -> dict[str, int]:
        allocation = dict(allocator.choose(1_000))
        allocator.update([fb(v, q, q, cost[v]) for v, q in allocation.items()])
        return allocation

    for _ in range(15):
        allocation = step()
    assert allocation == {"LIT1": 500, "LIT2": 500}
    cost["LIT1"] = 5.0  # e.g. a fee increase
    after = [step() for _ in range(8)]
    dropped = [i for i, a in enumerate(after) if "LIT1" not in a]
    assert dropped, after
    assert dropped[0] <= 5, after
    assert after[dropped[0]] == {"LIT2": 1_000}


# --- dark venues: no touch, liquidity learned from fills --------------------------------------


def test_cost_based_cheap_dark_pool_that_fills_gets_lots_first() -> None:
    allocator = make()
    show(allocator, {"LIT1": (MID, 1_000), "LIT2": (MID, 1_000)})
    for _ in range(10):  # the pool fills all 500 sent at the mid (cheaper than the lit touch)
        allocator.update([fb("DARK1", 500, 500, -1.0, censored=True),
                          fb("LIT1", 300, 300, 1.0), fb("LIT2", 300, 300, 1.0)])
    allocation = allocator.choose(800)
    assert allocation.get("DARK1", 0) >= 500, allocation
    assert_whole_lots(allocation, 800)


def test_cost_based_dark_pool_that_never_fills_gets_at_most_a_small_share() -> None:
    # Each slice goes where the allocator says; DARK1 never fills (exact observations at 0),
    # the lit venues fill everything at 1 bp and show enough for the whole slice. Optimism
    # may probe the pool now and then, but it should stop sending it much flow.
    allocator = make()
    show(allocator, {"LIT1": (MID, 1_000), "LIT2": (MID, 1_000)})
    late: list[dict[str, int]] = []
    for step in range(40):
        allocation = dict(allocator.choose(1_000))
        allocator.update([fb(v, q, 0 if v == "DARK1" else q, None if v == "DARK1" else 1.0)
                          for v, q in allocation.items()])
        if step >= 20:
            late.append(allocation)
    dark = sum(a.get("DARK1", 0) for a in late)
    assert dark <= 0.1 * 1_000 * len(late), [a.get("DARK1", 0) for a in late]
    # and never the whole slice while the lit venues show enough for it
    assert all(a.get("DARK1", 0) < 1_000 for a in late), [a.get("DARK1", 0) for a in late]


# --- determinism -------------------------------------------------------------------------------


def _run(allocator: CostBasedSplit) -> list[dict[str, int]]:
    show(allocator, {"LIT1": (MID, 600), "LIT2": (MID + 100, 900)})
    out = []
    for step in range(12):
        allocation = dict(allocator.choose(1_250))
        out.append(allocation)
        allocator.update([fb(v, q, q // 2 if v == "DARK1" else q, 0.1 * step + len(v))
                          for v, q in allocation.items()])
    return out


def test_cost_based_same_inputs_give_same_allocations_and_never_draw_from_rng() -> None:
    rng = np.random.default_rng(42)
    before = rng.bit_generator.state
    first = _run(CostBasedSplit(VENUES, rng, lot_size=LOT))
    assert rng.bit_generator.state == before
    second = _run(CostBasedSplit(VENUES, np.random.default_rng(7), lot_size=LOT))
    assert first == second


# --- property: any touches, sizes and feedback -------------------------------------------------

PROPERTY_VENUES = ["LIT1", "LIT2", "LIT3", "DARK1", "SDP1"]
touch = st.tuples(st.sampled_from(PROPERTY_VENUES[:3]),
                  st.one_of(st.none(), st.integers(990_000, 1_010_000)),
                  st.integers(0, 3_000))
feedback_entry = st.tuples(st.sampled_from(PROPERTY_VENUES), st.integers(0, 2_000),
                           st.floats(0.0, 1.0), st.one_of(st.none(), st.floats(-30.0, 30.0)),
                           st.booleans())
step = st.tuples(st.lists(touch, max_size=4), st.lists(feedback_entry, max_size=5),
                 st.integers(0, 5_000),
                 st.one_of(st.none(), st.lists(st.sampled_from(PROPERTY_VENUES), min_size=1,
                                               max_size=5, unique=True)))


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from([Side.BUY, Side.SELL]), lot=st.sampled_from([1, 100]),
       discount=st.sampled_from([0.5, 0.9, 1.0]),
       beyond=st.sampled_from([0.0, 0.5, 1.0]), steps=st.lists(step, min_size=1, max_size=8))
def test_cost_based_any_touches_and_feedback_allocation_sums_to_quantity_over_offered(
    side: Side, lot: int, discount: float, beyond: float,
    steps: list[tuple[list[tuple[str, int | None, int]],
                      list[tuple[str, int, float, float | None, bool]],
                      int, list[str] | None]],
) -> None:
    allocator = CostBasedSplit(PROPERTY_VENUES, np.random.default_rng(0), lot_size=lot,
                               discount=discount, beyond_displayed=beyond)
    for touches, entries, quantity, offered in steps:
        for venue, price, size in touches:
            allocator.observe_touch(venue, side, price, size)
        allocation = allocator.choose(quantity, offered)
        assert set(allocation) <= set(offered or PROPERTY_VENUES), (allocation, offered)
        if quantity:
            assert_whole_lots(allocation, quantity, lot)
        else:
            assert allocation == {}
        by_venue: dict[str, VenueFeedback] = {}
        for venue, sent, fraction, cost, censored in entries:
            filled = int(sent * fraction)
            by_venue[venue] = fb(venue, sent, filled, cost if filled else None,
                                 censored and filled == sent)
        allocator.update(list(by_venue.values()))


# --- registry ----------------------------------------------------------------------------------


def test_cost_based_registry_key_builds_it_with_params() -> None:
    allocator = make_allocator("cost-based", VENUES, np.random.default_rng(0),
                               {"lot_size": 100, "discount": 0.8, "delay_cost_bps": 0.5})
    assert isinstance(allocator, CostBasedSplit)
    assert (allocator.lot_size, allocator.discount, allocator.delay_cost_bps) == (100, 0.8, 0.5)
    assert_whole_lots(allocator.choose(1_050), 1_050)


def test_cost_based_registry_bad_params_raise_naming_spec_and_parameter() -> None:
    with pytest.raises(AllocatorSpecError, match=r"'cost-based'.*discount was 2\.0"):
        make_allocator("cost-based", VENUES, np.random.default_rng(0), {"discount": 2.0})
