"""router.execution_policy: what the router sends never breaks the policy (property tests on
the policy itself and on the router in a small market), and bad policies are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.messages import Side
from router.execution_policy import ExecutionPolicy

policies = st.builds(
    ExecutionPolicy,
    venues=st.one_of(st.none(), st.lists(st.sampled_from(["A", "B", "C"]), min_size=1,
                                          max_size=3, unique=True).map(tuple)),
    max_child_size=st.one_of(st.none(), st.integers(1, 5_000)),
    max_participation=st.one_of(st.none(), st.floats(0.01, 1.0)),
    participation_allowance=st.integers(0, 1_000),
    collar_ticks=st.one_of(st.none(), st.integers(0, 500)),
)


@settings(max_examples=500, derandomize=True, database=None, deadline=None)
@given(policies, st.integers(0, 20_000), st.integers(0, 5_000), st.integers(0, 5_000),
       st.integers(0, 200_000), st.sampled_from([1, 10, 100]))
def test_policy_capped_quantity_always_passes_its_size_and_rate_checks(
    policy: ExecutionPolicy, quantity: int, filled: int, working: int, volume: int, lot: int,
) -> None:
    capped = policy.cap_quantity(quantity, filled, working, volume, lot)
    assert 0 <= capped <= quantity and capped % lot == 0
    if capped:
        violation = policy.check(venue=(policy.venues or ("A",))[0], side=Side.BUY,
                                 quantity=capped, price=1_000, mid=1_000.0, filled=filled,
                                 working=working, market_volume=volume, killed=False)
        assert violation is None, violation


@settings(max_examples=500, derandomize=True, database=None, deadline=None)
@given(policies, st.sampled_from(["A", "B", "C"]), st.sampled_from([Side.BUY, Side.SELL]),
       st.integers(-10, 10_000), st.one_of(st.none(), st.integers(1, 2_000)),
       st.one_of(st.none(), st.floats(500, 1_500)), st.integers(0, 5_000),
       st.integers(0, 5_000), st.integers(0, 100_000), st.booleans())
def test_policy_check_passes_only_children_within_every_limit(
    policy: ExecutionPolicy, venue: str, side: Side, quantity: int, price: int | None,
    mid: float | None, filled: int, working: int, volume: int, killed: bool,
) -> None:
    ok = policy.check(venue=venue, side=side, quantity=quantity, price=price, mid=mid,
                      filled=filled, working=working, market_volume=volume, killed=killed) is None
    if ok:
        assert not killed and quantity > 0
        assert policy.venues is None or venue in policy.venues
        assert policy.max_child_size is None or quantity <= policy.max_child_size
        if policy.max_participation is not None:
            assert filled + working + quantity <= (
                int(policy.max_participation * volume) + policy.participation_allowance)
        if policy.collar_ticks is not None:
            assert price is not None and mid is not None
            if side is Side.BUY:
                assert price <= mid + policy.collar_ticks
            else:
                assert price >= mid - policy.collar_ticks


@pytest.mark.parametrize("changes, message", [
    ({"venues": ()}, "allows nothing"),
    ({"max_child_size": 0}, "max_child_size"),
    ({"max_participation": 1.5}, "max_participation"),
    ({"participation_allowance": -1}, "participation_allowance"),
    ({"collar_ticks": -5}, "collar_ticks"),
])
def test_policy_bad_values_rejected_naming_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExecutionPolicy(**changes)  # type: ignore[arg-type]
