"""scenarios.loader.parse_scenario: the text it was loaded from, and an allocator put in place
of every parent order's own (what `sorsim compare` runs); run_scenario: the router keys of
the file reach the router."""

from __future__ import annotations

import pytest

from scenarios.loader import parse_scenario, run_scenario
from scenarios.schema import ScenarioError

SECOND_ORDER = """
[[parent_orders]]
name = "SOR2"
side = "sell"
quantity = 1_000
allocator = { type = "d-ucb", params = { gamma = 0.8 } }
"""


def test_parse_scenario_keeps_its_text_and_no_override(tiny_text: str) -> None:
    scenario = parse_scenario(tiny_text, "tiny.toml")
    assert scenario.source == tiny_text
    assert scenario.allocator_override is None
    assert scenario.parent_orders[0].allocator.type == "ucb1"


def test_allocator_override_replaces_every_order_defaults_unless_it_is_the_files_own(
    tiny_text: str,
) -> None:
    text = tiny_text + SECOND_ORDER
    scenario = parse_scenario(text, "two.toml", allocator="d-ucb")
    assert scenario.allocator_override == "d-ucb" and scenario.source == text
    first, second = scenario.parent_orders
    assert first.allocator.type == "d-ucb" and dict(first.allocator.params) == {}
    assert second.allocator.type == "d-ucb" and dict(second.allocator.params) == {"gamma": 0.8}


def test_allocator_override_that_changes_nothing_is_not_recorded(tiny_text: str) -> None:
    scenario = parse_scenario(tiny_text, "tiny.toml", allocator="ucb1")  # the file's own
    assert scenario.allocator_override is None
    assert scenario == parse_scenario(tiny_text, "tiny.toml")


def test_allocator_override_dark_allocator_gets_the_routers_pools(tiny_text: str) -> None:
    scenario = parse_scenario(tiny_text, "tiny.toml", allocator="dark-first")
    assert dict(scenario.parent_orders[0].allocator.params) == {"dark": ["DARK1"],
                                                                "lot_size": 100}


@pytest.mark.parametrize("allocator, problem", [
    ("nope", "parent_orders[0].allocator.type: unknown allocator 'nope'"),
    ("fixed-weights", "parent_orders[0].allocator.params: allocator 'fixed-weights' needs "
                      "parameter 'weights'"),
    ("no_such_module:Thing", "parent_orders[0].allocator.type:"),
])
def test_allocator_override_bad_allocator_is_named_with_the_override(
    tiny_text: str, allocator: str, problem: str,
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(tiny_text, "tiny.toml", allocator=allocator)
    message = str(caught.value)
    assert message.startswith(f"tiny.toml: {problem}")
    assert message.endswith(f"(with every parent order routed by allocator {allocator!r})")


@pytest.mark.parametrize("line, lag_ns, catches_up", [
    ("", 2_000_000_000, True),  # "auto": 2 slices for this urgent (0.5) parent
    ("max_lag_s = 0.5", 500_000_000, True),
    ("max_lag_s = false", None, False),
])
def test_run_scenario_router_max_lag_s_sets_the_catch_up(
    tiny_text: str, line: str, lag_ns: int | None, catches_up: bool,
) -> None:
    # dark-first tries the dark pool first, where little rests here (a tenth of the noise
    # traders' limit orders), so the router falls behind its TWAP.
    text = tiny_text.replace('allocator = "ucb1"', 'allocator = "dark-first"').replace(
        "cleanup_s = 4", f"cleanup_s = 4\n{line}")
    router = run_scenario(parse_scenario(text, "tiny.toml")).routers["SOR"]
    assert router.max_lag_ns == lag_ns
    catch_ups = [s for s in router.slices if s.catch_up]
    assert bool(catch_ups) is catches_up
    assert all(s.quantity > 0 for s in catch_ups)
