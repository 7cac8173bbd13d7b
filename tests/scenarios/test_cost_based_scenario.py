"""A scenario file naming the cost-based allocator validates and runs: the router builds it
with the dark pools' lot size, reports each lit touch to it (`observe_touch`) and feeds it the
cost of each filled child (`VenueFeedback.cost_bps`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.allocators.cost_based import CostBasedSplit
from scenarios.cli import main
from scenarios.loader import load_scenario, run_scenario

COST_BASED = """\
name = "cost-based"
seed = 11
duration_s = 8

[[agents]]
name = "noise"
type = "noise"
count = 10
rate = 1.0

[[agents]]
name = "market_makers"
type = "market-maker"
count = 1

[[parent_orders]]
side = "buy"
quantity = 2_000
start_s = 1

[parent_orders.allocator]
type = "cost-based"
params = { discount = 0.8, delay_cost_bps = 0.5 }

[parent_orders.router]
slice_interval_s = 0.5
markout_s = 0.5
cleanup_s = 2
"""


@pytest.fixture
def cost_based_file(tmp_path: Path) -> Path:
    path = tmp_path / "cost_based.toml"
    path.write_text(COST_BASED)
    return path


def test_cost_based_scenario_validates(cost_based_file: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(cost_based_file)]) == 0
    assert f"ok: {cost_based_file}" in capsys.readouterr().out
    (order,) = load_scenario(cost_based_file).parent_orders
    assert order.allocator.type == "cost-based"
    assert dict(order.allocator.params)["discount"] == 0.8


def test_cost_based_scenario_runs_and_the_allocator_learns_touches_and_costs(
    cost_based_file: Path,
) -> None:
    result = run_scenario(load_scenario(cost_based_file))
    (router,) = result.routers.values()
    allocator = router.allocator
    assert isinstance(allocator, CostBasedSplit)
    assert (allocator.discount, allocator.delay_cost_bps) == (0.8, 0.5)
    lit = [v for v in allocator.venues if v.startswith("LIT")]
    assert lit and set(allocator.touch) == set(lit)  # every lit touch reported, only those
    assert any(allocator.cost_bps(v) is not None for v in allocator.venues)  # costs fed back
    (tca,) = result.tca.values()
    assert tca.filled > 0
    assert tca.filled <= 2_000
