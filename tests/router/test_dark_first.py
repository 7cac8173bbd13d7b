"""router.allocators.dark_first: lots go to the pools likely to fill them, the rest to lit;
a pool that stops filling loses its flow."""

from __future__ import annotations

import numpy as np
import pytest

from router.allocators.base import VenueFeedback
from router.allocators.dark_first import DarkFirst

VENUES = ["LIT1", "LIT2", "DARK1", "DARK2"]


def make(**kwargs: object) -> DarkFirst:
    return DarkFirst(VENUES, np.random.default_rng(0), dark=["DARK1", "DARK2"], lot_size=100,
                     **kwargs)  # type: ignore[arg-type]


def test_dark_first_allocation_sums_to_quantity_in_lots() -> None:
    allocator = make()
    allocation = allocator.choose(2_350)
    assert sum(allocation.values()) == 2_350
    assert all(v > 0 for v in allocation.values())


def test_dark_first_deep_pool_gets_flow_dry_pool_loses_it() -> None:
    allocator = make(discount=0.8, bonus=0.0, cutoff_samples=0.0, min_fill_probability=0.5)
    for _ in range(30):  # DARK1 fills all it is sent (censored), DARK2 never fills
        allocation = allocator.choose(1_000)
        allocator.update([
            VenueFeedback(v, allocation.get(v, 0), allocation.get(v, 0) if v == "DARK1" else 0,
                          0.0, v == "DARK1")
            for v in ("DARK1", "DARK2") if allocation.get(v, 0)
        ])
    allocation = allocator.choose(1_000)
    assert allocation.get("DARK1", 0) >= 500
    assert allocation.get("DARK2", 0) == 0
    for _ in range(30):  # now DARK1 dries up
        allocation = allocator.choose(1_000)
        allocator.update([VenueFeedback(v, allocation[v], 0, 0.0, False)
                          for v in ("DARK1", "DARK2") if allocation.get(v, 0)])
    allocation = allocator.choose(1_000)
    assert allocation.get("DARK1", 0) == 0
    assert allocation.get("LIT1", 0) + allocation.get("LIT2", 0) == 1_000


def test_dark_first_unknown_dark_venue_raises() -> None:
    try:
        DarkFirst(VENUES, np.random.default_rng(0), dark=["NOPE"])
    except ValueError as error:
        assert "NOPE" in str(error)
    else:
        raise AssertionError("expected a ValueError")


@pytest.mark.parametrize("dark, expected", [
    ("DARK1", "dark was 'DARK1', expected a list of dark pool names"),  # not pools D, A, ...
    (["DARK1", "DARK1"], "dark venues ['DARK1', 'DARK1'] name ['DARK1'] more than once"),
    (["DARK1", "NOPE"], "['NOPE'] are not among them"),
])
def test_dark_first_bad_dark_list_raises_naming_the_problem(dark: object, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        DarkFirst(VENUES, np.random.default_rng(0), dark=dark)  # type: ignore[arg-type]
    assert expected in str(caught.value)


def test_dark_first_guard_moves_flow_off_a_costly_pool_and_probes_it() -> None:
    allocator = make(max_cost_bps=2.0, cost_scale_bps=20.0, probe_every=5, bonus=0.0,
                     cutoff_samples=0.0, min_fill_probability=0.5)
    # Both pools fill everything; DARK1's fills cost 8 bps (reward 0.6), DARK2's 0.
    probes = 0
    for step in range(40):
        allocation = allocator.choose(1_000)
        if step > 10 and allocation.get("DARK1", 0):
            assert allocation["DARK1"] == 100  # only ever a one-lot probe once guarded
            probes += 1
        allocator.update([
            VenueFeedback(v, q, q, 0.6 if v == "DARK1" else 1.0, True)
            for v, q in allocation.items() if v.startswith("DARK") and q
        ])
    assert allocator.cost_bps("DARK1") is not None and allocator.cost_bps("DARK1") > 2.0  # type: ignore[operator]
    assert allocator.cost_bps("DARK2") == 0.0
    assert probes >= 3
