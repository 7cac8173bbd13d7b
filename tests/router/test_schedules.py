"""Schedules: TWAP, VWAP, POV and Almgren-Chriss against their definitions.

The Almgren-Chriss reference is the closed form evaluated in 60-digit decimal arithmetic,
independent of the float formula under test, so it also covers urgencies where a naive
`math.sinh` overflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.schedules import (
    POV,
    TWAP,
    VWAP,
    ImplementationShortfall,
    Schedule,
    flat_profile,
    u_shaped_profile,
)

S = 1_000_000_000  # ns per second
START = 5 * S
HOUR = 3_600 * S


def _ac(quantity: int, start_ns: int, end_ns: int, urgency: float) -> ImplementationShortfall:
    """An AC schedule with κT = `urgency` (σ = η = 1, so κ = sqrt(λ))."""
    kappa = urgency / ((end_ns - start_ns) / S)
    return ImplementationShortfall(
        quantity, start_ns, end_ns, risk_aversion=kappa**2, volatility=1.0, temporary_impact=1.0,
    )


def _ac_closed_form(quantity: int, elapsed_ns: int, horizon_ns: int, kappa: float) -> Decimal:
    """X - X * sinh(κ(T - t)) / sinh(κT), in 60-digit decimals (no overflow at any κT)."""
    with localcontext() as ctx:
        ctx.prec = 60
        k = Decimal(kappa)
        b = k * Decimal(horizon_ns - elapsed_ns) / Decimal(S)
        a = k * Decimal(horizon_ns) / Decimal(S)
        ratio = ((b.exp() - (-b).exp()) / 2) / ((a.exp() - (-a).exp()) / 2)
        return Decimal(quantity) - Decimal(quantity) * ratio


def _times(start_ns: int, end_ns: int, points: int) -> list[int]:
    """`points` evenly spread interior times plus the ns next to each boundary."""
    span = end_ns - start_ns
    inner = [start_ns + span * i // points for i in range(1, points)]
    return [start_ns + 1, *inner, end_ns - 1]


# --- Almgren-Chriss -------------------------------------------------------------------------

@pytest.mark.parametrize("urgency", [1e-7, 1e-3, 0.5, 3.0, 50.0, 800.0, 5_000.0])
def test_implementation_shortfall_many_times_matches_closed_form(urgency: float) -> None:
    quantity = 1_000_003
    schedule = _ac(quantity, START, START + HOUR, urgency)
    for t in _times(START, START + HOUR, 997):
        exact = _ac_closed_form(quantity, t - START, HOUR, schedule.kappa)
        got = schedule.target_filled(t)
        # Nearest share: within half a share, plus float noise far below a share.
        assert abs(Decimal(got) - exact) <= Decimal("0.500001"), (urgency, t, got, exact)


def test_implementation_shortfall_urgency_past_sinh_range_stays_finite_and_front_loaded() -> None:
    schedule = _ac(10_000, START, START + HOUR, 2_000.0)
    with pytest.raises(OverflowError):  # the premise: the naive formula cannot be evaluated
        math.sinh(schedule.urgency)
    # κ = 2000 / 3600 per second: after 60 s, exp(-33) of the order is left -> all done.
    assert schedule.target_filled(START + 60 * S) == 10_000
    assert 0 < schedule.target_filled(START + S // 10) < 10_000


@pytest.mark.parametrize("quantity, horizon_ns", [(1_001, 1_000), (7, 999), (1_000_000, 3 * S + 7)])
def test_implementation_shortfall_zero_risk_aversion_equals_twap_exactly(quantity: int, horizon_ns: int) -> None:
    end = START + horizon_ns
    twap = TWAP(quantity, START, end)
    no_risk = ImplementationShortfall(quantity, START, end, risk_aversion=0.0, volatility=2.0, temporary_impact=0.5)
    no_volatility = ImplementationShortfall(quantity, START, end, risk_aversion=3.0, volatility=0.0, temporary_impact=0.5)
    step = max(1, horizon_ns // 5_000)
    times = list(range(START - 3, end + 4, step)) + [end - 1, end]
    assert [no_risk.target_filled(t) for t in times] == [twap.target_filled(t) for t in times]
    assert [no_volatility.target_filled(t) for t in times] == [twap.target_filled(t) for t in times]
    # The half-share ties (quantity 1001 over 1000 ns) are where a float path would differ.
    assert no_risk.target_filled(START + 500) == twap.target_filled(START + 500)


def test_implementation_shortfall_urgency_below_double_precision_equals_twap_exactly() -> None:
    twap = TWAP(1_001, START, START + 1_000)
    tiny = _ac(1_001, START, START + 1_000, 1e-9)
    assert tiny.kappa > 0
    assert [tiny.target_filled(t) for t in range(START, START + 1_001)] == [
        twap.target_filled(t) for t in range(START, START + 1_001)
    ]


def test_implementation_shortfall_more_risk_aversion_front_loads_more() -> None:
    middle = START + HOUR // 2
    targets = [_ac(100_000, START, START + HOUR, u).target_filled(middle) for u in (0.0, 0.5, 2.0, 8.0)]
    assert targets[0] == 50_000
    assert targets == sorted(targets) and len(set(targets)) == 4


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.integers(1, 10**9),
    horizon_ns=st.integers(2, 10 * HOUR),
    log_urgency=st.floats(-12, 4),
    fractions=st.lists(st.floats(0, 1), min_size=2, max_size=40),
)
def test_implementation_shortfall_any_urgency_targets_monotone(
    quantity: int, horizon_ns: int, log_urgency: float, fractions: list[float],
) -> None:
    schedule = _ac(quantity, START, START + horizon_ns, 10.0**log_urgency)
    times = sorted(START + int(f * horizon_ns) for f in fractions)
    targets = [schedule.target_filled(t) for t in times]
    assert targets == sorted(targets)
    assert all(0 <= x <= quantity for x in targets)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"risk_aversion": -1.0, "volatility": 1.0, "temporary_impact": 1.0}, "risk_aversion was -1.0"),
        ({"risk_aversion": math.nan, "volatility": 1.0, "temporary_impact": 1.0}, "risk_aversion was nan"),
        ({"risk_aversion": 1.0, "volatility": -0.5, "temporary_impact": 1.0}, "volatility was -0.5"),
        ({"risk_aversion": 1.0, "volatility": math.inf, "temporary_impact": 1.0}, "volatility was inf"),
        ({"risk_aversion": 1.0, "volatility": 1.0, "temporary_impact": 0.0}, "temporary_impact was 0.0"),
        ({"risk_aversion": 1.0, "volatility": 1.0, "temporary_impact": "1"}, "temporary_impact was '1'"),
        ({"risk_aversion": 1e300, "volatility": 1e300, "temporary_impact": 1e-300}, "kappa"),
    ],
)
def test_implementation_shortfall_bad_parameters_raise_naming_them(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImplementationShortfall(100, START, START + S, **kwargs)  # type: ignore[arg-type]


# --- all deterministic schedules -------------------------------------------------------------

FACTORIES: dict[str, Callable[[int, int, int], Schedule]] = {
    "twap": TWAP,
    "vwap_u": lambda q, s, e: VWAP(q, s, e, u_shaped_profile()),
    "vwap_front": lambda q, s, e: VWAP(q, s, e, [(0.1, 5.0), (0.2, 0.0), (1.0, 1.0)]),
    "ac": lambda q, s, e: _ac(q, s, e, 4.0),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_schedule_boundaries_zero_at_start_quantity_at_end_clamped_outside(name: str) -> None:
    schedule = FACTORIES[name](12_345, START, START + HOUR)
    assert schedule.target_filled(0) == 0
    assert schedule.target_filled(START - 1) == 0
    assert schedule.target_filled(START) == 0
    assert schedule.target_filled(START + HOUR) == 12_345
    assert schedule.target_filled(START + 10 * HOUR) == 12_345
    assert 0 < schedule.target_filled(START + HOUR // 2) < 12_345


@pytest.mark.parametrize("name", FACTORIES)
def test_schedule_dense_times_targets_monotone(name: str) -> None:
    schedule = FACTORIES[name](99_991, START, START + HOUR)
    targets = [schedule.target_filled(t) for t in range(START - S, START + HOUR + S, HOUR // 4_999)]
    assert all(a <= b for a, b in zip(targets, targets[1:]))
    assert targets[0] == 0 and targets[-1] == 99_991


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(FACTORIES)),
    quantity=st.integers(1, 100_000),
    lot_size=st.integers(1, 1_000),
    fraction=st.floats(-0.1, 1.1),
    filled_fraction=st.floats(0, 1),
)
def test_schedule_slice_quantity_any_state_whole_lots_never_ahead_or_over_remaining(
    name: str, quantity: int, lot_size: int, fraction: float, filled_fraction: float,
) -> None:
    schedule = FACTORIES[name](quantity, START, START + HOUR)
    t = START + int(fraction * HOUR)
    filled = int(filled_fraction * quantity)
    sent = schedule.slice_quantity(t, filled, lot_size)
    assert sent >= 0
    assert sent % lot_size == 0
    assert sent <= quantity - filled
    assert filled + sent <= max(filled, schedule.target_filled(t))
    assert schedule.target_filled(t) - (filled + sent) < lot_size or sent == 0 and filled >= schedule.target_filled(t)


@pytest.mark.parametrize("name", FACTORIES)
def test_schedule_slicing_in_lots_to_the_end_fills_all_whole_lots(name: str) -> None:
    schedule = FACTORIES[name](10_050, START, START + HOUR)  # 100 lots of 100 and an odd 50
    filled = 0
    for t in range(START, START + HOUR + 1, HOUR // 500):
        sent = schedule.slice_quantity(t, filled, 100)
        filled += sent
        assert filled <= schedule.target_filled(t)
    assert filled == 10_000
    assert schedule.slice_quantity(START + HOUR, filled, 100) == 0  # the odd lot stays
    assert schedule.slice_quantity(START + HOUR, filled, 1) == 50  # unless odd lots may go


def test_schedule_slice_quantity_behind_schedule_rounds_down_to_lots() -> None:
    twap = TWAP(1_000, START, START + 1_000)
    assert twap.slice_quantity(START + 350, 0, 100) == 300
    assert twap.slice_quantity(START + 350, 300, 100) == 0
    assert twap.slice_quantity(START + 350, 340, 1) == 10


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, START, START + S), "quantity was 0"),
        ((-5, START, START + S), "quantity was -5"),
        ((1.5, START, START + S), "quantity was 1.5"),
        ((True, START, START + S), "quantity was True"),
        ((100, START, START), "end_ns was"),
        ((100, START, START - 1), "end_ns was"),
        ((100, float(START), START + S), "start_ns was"),
    ],
)
def test_schedule_bad_order_raises_naming_parameter(args: tuple[object, object, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TWAP(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "lot_size, filled, message", [(0, 0, "lot_size was 0"), (1, -1, "filled was -1"), (1, 101, "filled was 101")],
)
def test_schedule_slice_quantity_bad_arguments_raise(lot_size: int, filled: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TWAP(100, START, START + S).slice_quantity(START + S // 2, filled, lot_size)


# --- TWAP and VWAP ---------------------------------------------------------------------------

def test_twap_half_time_is_half_rounded_half_up() -> None:
    assert TWAP(1_000, START, START + HOUR).target_filled(START + HOUR // 2) == 500
    assert TWAP(1_001, START, START + 1_000).target_filled(START + 500) == 501  # 500.5
    assert TWAP(1_001, START, START + 1_000).target_filled(START + 1) == 1  # 1.001


@pytest.mark.parametrize("buckets", [1, 3, 7, 13, 26])
def test_vwap_flat_profile_equals_twap_exactly(buckets: int) -> None:
    end = START + 1_000
    twap = TWAP(1_001, START, end)
    vwap = VWAP(1_001, START, end, flat_profile(buckets))
    times = range(START - 2, end + 3)
    assert [vwap.target_filled(t) for t in times] == [twap.target_filled(t) for t in times]


def test_vwap_flat_profile_by_bucket_times_equals_twap_exactly() -> None:
    end = START + 3 * HOUR + 1
    buckets = [(START + (end - START) * (i + 1) // 7, 2.5) for i in range(7)]
    vwap = VWAP.from_bucket_ends_ns(777_777, START, end, buckets)
    twap = TWAP(777_777, START, end)
    times = _times(START, end, 3_001)
    assert [vwap.target_filled(t) for t in times] == [twap.target_filled(t) for t in times]


def test_vwap_front_loaded_profile_runs_ahead_of_twap() -> None:
    vwap = VWAP(1_000, START, START + HOUR, [(0.25, 3.0), (1.0, 1.0)])
    twap = TWAP(1_000, START, START + HOUR)
    assert vwap.target_filled(START + HOUR // 4) == 750  # 3/4 of the weight in the first quarter
    assert vwap.target_filled(START + HOUR // 8) == 375  # linear inside the bucket
    assert vwap.target_filled(START + HOUR * 5 // 8) == 875
    # Ahead everywhere inside (not 1 ns from either end, where both round to the same share).
    assert all(vwap.target_filled(t) > twap.target_filled(t) for t in _times(START, START + HOUR, 100)[1:-1])


def test_vwap_u_shaped_profile_busier_at_edges_and_symmetric() -> None:
    profile = u_shaped_profile(buckets=26, edge_ratio=3.0)
    weights = [w for _, w in profile]
    assert weights[0] == weights[-1] > 2.5 * min(weights)
    assert min(weights) == pytest.approx(1.0, abs=0.01)
    vwap = VWAP(1_000_000, START, START + HOUR, profile)
    twap = TWAP(1_000_000, START, START + HOUR)
    assert vwap.target_filled(START + HOUR // 2) == 500_000
    assert vwap.target_filled(START + HOUR // 10) > twap.target_filled(START + HOUR // 10)
    for tenths in range(1, 10):  # symmetric: as much left after T - t as done by t
        t = START + HOUR * tenths // 10
        assert vwap.target_filled(t) == 1_000_000 - vwap.target_filled(START + HOUR - (t - START))

    def pace(schedule: Schedule, tenths: int) -> int:
        return schedule.target_filled(START + HOUR * (tenths + 1) // 10) - schedule.target_filled(
            START + HOUR * tenths // 10)

    assert pace(vwap, 0) > pace(twap, 0) > pace(vwap, 4)  # busy open, quiet middle


@pytest.mark.parametrize(
    "profile, message",
    [
        ([], "profile was empty"),
        ([(0.5, 1.0), (0.5, 1.0), (1.0, 1.0)], r"profile\[1\] bucket end was 0.5"),
        ([(0.5, 1.0), (0.9, 1.0)], r"profile\[-1\] bucket end was 0.9"),
        ([(0.5, 1.0), (1.2, 1.0)], r"profile\[1\] bucket end was 1.2"),
        ([(0.0, 1.0), (1.0, 1.0)], r"profile\[0\] bucket end was 0.0"),
        ([(0.5, -1.0), (1.0, 1.0)], r"profile\[0\] weight was -1.0"),
        ([(0.5, math.nan), (1.0, 1.0)], r"profile\[0\] weight was nan"),
        ([(0.5, 0.0), (1.0, 0.0)], "weights were all 0"),
        ([(math.inf, 1.0)], r"profile\[0\] bucket end was inf"),
    ],
)
def test_vwap_bad_profile_raises_naming_bucket(profile: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VWAP(100, START, START + S, profile)


def test_vwap_bucket_times_outside_horizon_raise() -> None:
    with pytest.raises(ValueError, match="bucket end"):
        VWAP.from_bucket_ends_ns(100, START, START + S, [(START - 1, 1.0), (START + S, 1.0)])
    with pytest.raises(ValueError, match=r"profile\[-1\]"):
        VWAP.from_bucket_ends_ns(100, START, START + S, [(START + S // 2, 1.0)])
    with pytest.raises(ValueError, match=r"buckets\[0\] end_ns was 1.5"):
        VWAP.from_bucket_ends_ns(100, START, START + S, [(1.5, 1.0)])  # type: ignore[list-item]


# --- POV -------------------------------------------------------------------------------------

def test_pov_volume_prints_target_follows_rate_of_volume() -> None:
    pov = POV(10_000, START, START + HOUR, 0.1)
    assert pov.target_filled(START + S) == 0
    pov.update_volume(START + S, 1_000)
    assert pov.target_filled(START + S) == 100
    pov.update_volume(START + 2 * S, 2_345)
    assert pov.target_filled(START + 2 * S) == 334  # floor(0.1 * 3345): never above the rate
    assert pov.slice_quantity(START + 2 * S, 100, 100) == 200


def test_pov_rate_is_exact_not_float_rounded() -> None:
    pov = POV(10_000, START, START + HOUR, 0.29)
    pov.update_volume(START + 1, 100)
    assert 0.29 * 100 < 29  # the premise: float arithmetic would floor to 28
    assert pov.target_filled(START + 1) == 29


def test_pov_heavy_volume_caps_target_at_quantity() -> None:
    pov = POV(500, START, START + HOUR, 0.2)
    pov.update_volume(START + S, 1_000_000)
    assert pov.target_filled(START + S) == 500
    assert pov.slice_quantity(START + S, 450, 1) == 50
    assert pov.band() == (500, 500)


def test_pov_prints_outside_window_ignored_and_out_of_order_counted() -> None:
    pov = POV(10_000, START, START + HOUR, 0.5)
    pov.update_volume(START - 1, 1_000)  # before the order
    pov.update_volume(START + HOUR, 1_000)  # at the end: the window is [start, end)
    pov.update_volume(START + 3 * S, 20)
    pov.update_volume(START + 2 * S, 40)  # stamped earlier, delivered later
    pov.update_volume(START, 10)
    assert pov.volume == 70
    assert pov.target_filled(START + 4 * S) == 35


def test_pov_end_without_completion_leaves_residual() -> None:
    pov = POV(10_000, START, START + HOUR, 0.1)
    pov.update_volume(START + S, 5_000)
    assert pov.target_filled(START + HOUR) == 500
    assert pov.target_filled(START + 2 * HOUR) == 500
    assert pov.slice_quantity(START + HOUR, 500, 1) == 0


def test_pov_end_with_completion_catches_up_in_one_slice() -> None:
    pov = POV(10_050, START, START + HOUR, 0.1, complete_at_end=True)
    pov.update_volume(START + S, 5_000)
    assert pov.target_filled(START + HOUR - 1) == 500
    assert pov.target_filled(START + HOUR) == 10_050
    assert pov.slice_quantity(START + HOUR, 500, 100) == 9_500  # whole lots of the residual
    assert pov.target_filled(START) == 0


def test_pov_band_tracks_min_and_max_rates() -> None:
    pov = POV(10_000, START, START + HOUR, 0.1, min_rate=0.05, max_rate=0.2)
    pov.update_volume(START + S, 1_001)
    assert pov.band() == (50, 200)
    assert pov.target_filled(START + S) == 100


def test_pov_stream_of_prints_targets_monotone_and_slices_bounded() -> None:
    pov = POV(3_000, START, START + HOUR, 0.15)
    filled, previous, volume = 0, 0, 0
    for i in range(1, 400):
        size = (i * 37) % 211
        volume += size
        pov.update_volume(START + i * S, size)
        target = pov.target_filled(START + i * S)
        assert previous <= target == min(3_000, volume * 15 // 100)
        filled += pov.slice_quantity(START + i * S, filled, 100)
        assert filled <= target and target - filled < 100 or filled == 3_000
        previous = target
    assert target == 3_000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rate": 0.0}, "rate was 0.0"),
        ({"rate": 1.5}, "rate was 1.5"),
        ({"rate": math.nan}, "rate was nan"),
        ({"rate": 0.1, "min_rate": 0.2}, "expected min_rate <= rate <= max_rate"),
        ({"rate": 0.1, "max_rate": 0.05}, "expected min_rate <= rate <= max_rate"),
        ({"rate": 0.1, "min_rate": -0.1}, "min_rate was -0.1"),
        ({"rate": 0.1, "max_rate": 2.0}, "max_rate was 2.0"),
    ],
)
def test_pov_bad_rates_raise_naming_them(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        POV(100, START, START + S, **kwargs)  # type: ignore[arg-type]


def test_pov_negative_volume_raises() -> None:
    with pytest.raises(ValueError, match="traded_shares was -1"):
        POV(100, START, START + S, 0.1).update_volume(START + 1, -1)
