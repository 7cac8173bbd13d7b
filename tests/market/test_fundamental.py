"""market.fundamental: seeded OU-with-jumps on a fixed grid, regime shifts, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.errors import SimulationError
from market.fundamental import FundamentalParameters, FundamentalValue
from market.rng import RngStreams

S = 1_000_000_000
MS = 1_000_000


def _process(params: FundamentalParameters, *, seed: int = 11, step_ns: int = 10 * MS,
             start_ns: int = 0, start_value: int | None = None) -> FundamentalValue:
    rng = RngStreams(seed).stream("fundamental")
    return FundamentalValue(rng, params, start_ns=start_ns, start_value=start_value,
                            step_ns=step_ns)


def _grid_path(process: FundamentalValue, steps: int, start_ns: int = 0) -> np.ndarray:
    step = process.step_ns
    return np.array([process.value_at(start_ns + k * step) for k in range(steps + 1)],
                    dtype=np.float64)


NOISY = FundamentalParameters(mean=10_000, reversion_rate=0.5, volatility=20.0,
                              jump_intensity=0.5, jump_std=15.0)


def test_fundamental_same_seed_gives_same_path() -> None:
    a = _grid_path(_process(NOISY, seed=3), 5_000)
    b = _grid_path(_process(NOISY, seed=3), 5_000)
    c = _grid_path(_process(NOISY, seed=4), 5_000)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


def test_fundamental_sparse_and_dense_queries_give_same_values() -> None:
    dense = _process(NOISY)
    sparse = _process(NOISY)
    query_rng = RngStreams(99).stream("query-times")
    times = np.sort(query_rng.integers(0, 120 * S, 300)).tolist()
    shift_ns = 60 * S + 3 * MS + 17  # between grid points, on purpose
    expected: dict[int, int] = {}
    t_dense = 0
    shifted = False
    for t in times:
        if not shifted and t >= shift_ns:
            # dense walks every grid point up to the shift, then shifts
            while t_dense <= shift_ns:
                dense.value_at(t_dense)
                t_dense += dense.step_ns
            dense.set_parameters(shift_ns, volatility=60.0, jump_intensity=3.0)
            sparse.set_parameters(shift_ns, volatility=60.0, jump_intensity=3.0)
            shifted = True
        while t_dense <= t:
            dense.value_at(t_dense)
            t_dense += dense.step_ns
        expected[t] = dense.value_at(t)
        assert sparse.value_at(t) == expected[t], t
    assert shifted
    assert len(set(expected.values())) > 50  # the path really moved


def test_fundamental_value_is_flat_between_grid_points() -> None:
    process = _process(NOISY, step_ns=10 * MS)
    process.value_at(10 * MS - 1)
    at_grid = [process.value_at(k * 10 * MS) for k in range(1, 200)]
    fresh = _process(NOISY, step_ns=10 * MS)
    just_before_next = [fresh.value_at((k + 1) * 10 * MS - 1) for k in range(1, 200)]
    assert at_grid == just_before_next
    assert len(set(at_grid)) > 10


def test_fundamental_zero_volatility_decays_to_mean_with_exact_half_life() -> None:
    params = FundamentalParameters(mean=10_000, reversion_rate=math.log(2.0))
    process = _process(params, start_value=20_000, step_ns=1 * MS)
    assert process.value_at(0) == 20_000
    assert process.value_at(1 * S) == 15_000
    assert process.value_at(2 * S) == 12_500
    assert process.value_at(30 * S) == 10_000


def test_fundamental_long_run_matches_ou_stationary_mean_and_variance() -> None:
    params = FundamentalParameters(mean=10_000, reversion_rate=0.5, volatility=20.0)
    process = _process(params, seed=5, step_ns=100 * MS)
    path = _grid_path(process, 100_000)  # 10,000 s, 5,000 reversion times
    expected_var = params.stationary_variance  # 400 ticks^2
    assert expected_var == pytest.approx(400.0)
    # Spread over 20 seeds: mean error sd 0.44 ticks, variance 2.2 %, rho 0.0011.
    assert abs(path.mean() - 10_000) < 3.0
    assert path.var() == pytest.approx(expected_var, rel=0.1)
    # Lag-one autocorrelation is exp(-kappa dt) for an exact OU transition.
    centred = path - path.mean()
    rho = float(centred[1:] @ centred[:-1] / (centred @ centred))
    assert rho == pytest.approx(math.exp(-0.5 * 0.1), abs=0.005)


def test_fundamental_jumps_occur_at_configured_intensity_with_configured_size() -> None:
    params = FundamentalParameters(mean=10_000, jump_intensity=2.0, jump_std=50.0)
    process = _process(params, seed=8, step_ns=100 * MS)
    seconds = 5_000
    path = _grid_path(process, seconds * 10)
    # Poisson count: mean 10,000, sd 100.
    assert process.jump_count == pytest.approx(2.0 * seconds, rel=0.04)
    # No diffusion and no reversion: squared increments are the jumps' squared sizes.
    increments = np.diff(path)
    assert increments.var() * 10 == pytest.approx(2.0 * 50.0**2, rel=0.06)
    assert np.count_nonzero(increments) <= process.jump_count


def test_fundamental_zero_intensity_never_jumps() -> None:
    process = _process(FundamentalParameters(mean=10_000, volatility=1.0, jump_std=100.0))
    process.value_at(1_000 * S)
    assert process.jump_count == 0


def test_fundamental_regime_shift_changes_realized_volatility_after_shift_only() -> None:
    params = FundamentalParameters(mean=100_000, reversion_rate=0.001, volatility=5.0)
    shifted = _process(params, seed=21, step_ns=100 * MS)
    calm = _process(params, seed=21, step_ns=100 * MS)
    before = _grid_path(shifted, 10_000)  # 0 .. 1,000 s
    assert _grid_path(calm, 10_000).tolist() == before.tolist()
    shifted.set_parameters(1_000 * S, volatility=50.0)
    after = np.array([shifted.value_at(1_000 * S + k * 100 * MS) for k in range(10_001)],
                     dtype=np.float64)
    vol_before = float(np.diff(before).std() * math.sqrt(10))  # per sqrt-second
    vol_after = float(np.diff(after).std() * math.sqrt(10))
    assert vol_before == pytest.approx(5.0, rel=0.1)
    assert vol_after == pytest.approx(50.0, rel=0.1)
    assert shifted.parameters.volatility == 50.0
    assert shifted.parameters.reversion_rate == 0.001


def test_fundamental_intensity_shift_changes_jump_rate() -> None:
    params = FundamentalParameters(mean=10_000, jump_intensity=0.5, jump_std=5.0)
    process = _process(params, seed=2)
    process.value_at(2_000 * S)
    jumps_before = process.jump_count
    process.set_parameters(2_000 * S, jump_intensity=5.0)
    process.value_at(4_000 * S)
    jumps_after = process.jump_count - jumps_before
    assert jumps_before == pytest.approx(1_000, rel=0.15)
    assert jumps_after == pytest.approx(10_000, rel=0.05)


def test_fundamental_value_never_below_one_tick() -> None:
    params = FundamentalParameters(mean=2, reversion_rate=1.0, volatility=30.0,
                                   jump_intensity=1.0, jump_std=50.0)
    path = _grid_path(_process(params), 20_000)
    assert path.min() == 1
    assert np.count_nonzero(path == 1) > 1_000  # the floor was really hit


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("mean", 0, "> 0"),
        ("mean", -5.0, "> 0"),
        ("reversion_rate", -0.1, ">= 0"),
        ("volatility", -1.0, ">= 0"),
        ("volatility", math.nan, "finite"),
        ("jump_intensity", math.inf, "finite"),
        ("jump_std", -2, ">= 0"),
        ("jump_std", "3", "finite number"),
        ("volatility", True, "finite number"),
    ],
)
def test_fundamental_parameters_bad_value_raises_naming_parameter_and_value(
    name: str, value: object, expected: str
) -> None:
    good = {"mean": 100.0, "reversion_rate": 1.0, "volatility": 1.0,
            "jump_intensity": 1.0, "jump_std": 1.0}
    with pytest.raises(ValueError, match=rf"^{name} was {value!r}, expected .*{expected}"):
        FundamentalParameters(**{**good, name: value})  # type: ignore[arg-type]
    process = _process(FundamentalParameters(**good))
    before = process.parameters
    with pytest.raises(ValueError, match=rf"^{name} was {value!r}"):
        process.set_parameters(5 * S, **{name: value})  # type: ignore[arg-type]
    assert process.parameters == before
    assert process.value_at(0) == 100  # time did not move: t=0 is still allowed


def test_fundamental_set_parameters_unknown_name_raises_listing_known_names() -> None:
    process = _process(NOISY)
    with pytest.raises(ValueError, match=r"unknown fundamental parameter 'vol'.*volatility"):
        process.set_parameters(1 * S, vol=3.0)
    assert process.parameters == NOISY


def test_fundamental_query_in_the_past_raises() -> None:
    process = _process(NOISY, start_ns=1 * S)
    with pytest.raises(SimulationError, match="before"):
        process.value_at(1 * S - 1)
    process.value_at(2 * S + 5)
    process.value_at(2 * S + 5)  # the same time again is fine
    with pytest.raises(SimulationError, match="t_ns=2000000004"):
        process.value_at(2 * S + 4)
    with pytest.raises(SimulationError):
        process.set_parameters(2 * S, volatility=1.0)
    assert process.parameters == NOISY


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"step_ns": 0}, "step_ns was 0"),
        ({"step_ns": 1.5}, "step_ns was 1.5"),
        ({"start_value": 0}, "start_value was 0"),
        ({"start_ns": 1.0}, "start_ns was 1.0"),
    ],
)
def test_fundamental_bad_construction_arguments_raise_naming_argument(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _process(NOISY, **kwargs)  # type: ignore[arg-type]
