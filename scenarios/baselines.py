"""The static baselines a scenario's adaptive router is measured against.

One definition for the routing-quality tests and `bench/library_routing.py`, so that both
compare with the same allocators: lit-only (an even split over the router's lit venues),
pro-rata on displayed size, pro-rata on displayed size over the venues at the best price
(`pro-rata-at-nbbo`), fixed even weights over every venue the router uses, and, where
the router has two dark pools DARK1 and DARK2, the regime-shift study's dark-heavy fixed
weights (`scenarios.regime_routing`). Each is an allocator table (`{"type", "params"}`)
as a scenario file's `[parent_orders.allocator]` holds it.
"""

from __future__ import annotations

from typing import Any

from scenarios.regime_routing import ALLOCATOR_CASES
from scenarios.scenario import Scenario

__all__ = ["BASELINES", "static_baselines"]

# Every baseline name; the last only where the router has two dark pools DARK1 and DARK2.
BASELINES = ("lit-only", "pro-rata", "pro-rata-at-nbbo", "fixed-even", "fixed-dark-heavy")


def static_baselines(scenario: Scenario, order: int = 0) -> dict[str, dict[str, Any]]:
    """Baseline name -> allocator table, for the router of parent order `order`."""
    venues = list(scenario.parent_orders[order].venues)
    kinds = scenario.venue_kinds()
    baselines: dict[str, dict[str, Any]] = {
        "lit-only": {"type": "lit-only", "params": {"lit": [v for v in venues
                                                            if kinds[v] == "lit"]}},
        "pro-rata": {"type": "pro-rata", "params": {}},
        "pro-rata-at-nbbo": {"type": "pro-rata", "params": {"at_best_price": True}},
        "fixed-even": {"type": "fixed-weights", "params": {"weights": {v: 1.0 for v in venues}}},
    }
    if {"DARK1", "DARK2"} <= set(venues):
        key, params = ALLOCATOR_CASES["fixed-dark-heavy"]
        baselines["fixed-dark-heavy"] = {"type": key, "params": params}
    return baselines
