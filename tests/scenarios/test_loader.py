"""scenarios.loader.parse_scenario: the text it was loaded from, and an allocator put in place
of every parent order's own (what `sorsim compare` runs); run_scenario: the router keys of
the file reach the router, plug-ins get their own copy of their parameters, and a plug-in
constructor that fails is a `ScenarioError` naming the file and the key path."""

from __future__ import annotations

import io
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from scenarios.cli import main
from scenarios.loader import load_scenario, parse_scenario, run_scenario
from scenarios.run import EXIT_INVALID, run_file
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


def test_allocator_override_with_json_parameters_replaces_every_orders_parameters(
    tiny_text: str,
) -> None:
    text = tiny_text + SECOND_ORDER
    scenario = parse_scenario(text, "two.toml", allocator='d-ucb:{"gamma": 0.7, "xi": 1.5}')
    assert scenario.allocator_override == 'd-ucb:{"gamma": 0.7, "xi": 1.5}'
    for order in scenario.parent_orders:  # the second order's own gamma = 0.8 is replaced
        assert order.allocator.type == "d-ucb"
        assert dict(order.allocator.params) == {"gamma": 0.7, "xi": 1.5}
    own = parse_scenario(tiny_text, "tiny.toml", allocator="ucb1:{}")  # the file's own, as is
    assert own.allocator_override is None


def test_allocator_override_static_baseline_is_the_routing_quality_tests_table(
    tiny_text: str,
) -> None:
    venues = parse_scenario(tiny_text, "tiny.toml").parent_orders[0].venues
    even = parse_scenario(tiny_text, "tiny.toml", allocator="fixed-even")
    assert even.allocator_override == "fixed-even"
    assert even.parent_orders[0].allocator.type == "fixed-weights"
    assert dict(even.parent_orders[0].allocator.params) == {"weights": dict.fromkeys(venues, 1.0)}
    nbbo = parse_scenario(tiny_text, "tiny.toml", allocator="pro-rata-at-nbbo")
    assert nbbo.parent_orders[0].allocator.type == "pro-rata"
    assert dict(nbbo.parent_orders[0].allocator.params) == {"at_best_price": True}


@pytest.mark.parametrize("allocator, problem", [
    ('ucb1:{"c": }', "allocator 'ucb1:{\"c\": }': the parameters after 'ucb1:' must be a "
                     "JSON object ("),
    ("fixed-dark-heavy", "parent_orders[0]: allocator 'fixed-dark-heavy': not a static "
                         "baseline of SOR's router (routed to LIT1, LIT2, LIT3, DARK1, SDP1), "
                         "whose baselines are lit-only, pro-rata, pro-rata-at-nbbo, fixed-even"),
])
def test_allocator_override_bad_parameters_or_baseline_is_named(
    tiny_text: str, allocator: str, problem: str,
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(tiny_text, "tiny.toml", allocator=allocator)
    assert str(caught.value).startswith(f"tiny.toml: {problem}")


def test_allocator_override_unknown_json_parameter_is_named_with_the_override(
    tiny_text: str,
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(tiny_text, "tiny.toml", allocator='ucb1:{"nope": 1}')
    assert str(caught.value) == ("tiny.toml: parent_orders[0].allocator.params.nope: unknown "
                                 "parameter of allocator 'ucb1' (takes c, reward_range) (with "
                                 "every parent order routed by allocator 'ucb1:{\"nope\": 1}')")


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


# --- plug-ins: parameters per instance, constructors that fail --------------------------------


PLUGINS = """
import numpy as np
from agents.agent import Agent
from market.messages import OrderType, Side, TimeInForce
from router.allocators.base import Allocator


class Planner(Agent):
    \"\"\"Consumes its `plan` list parameter (lots), one market order per second.\"\"\"

    def __init__(self, name, *, plan):
        super().__init__(name)
        self.plan = plan  # kept as given: popped below

    async def run(self):
        self.wake_after(1.0)

    def on_wakeup(self):
        if self.plan:
            self.submit_order("LIT1", Side.BUY, self.plan.pop(0) * 100, None,
                              order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC)
            self.wake_after(1.0)


BUILT = []  # names built, so that a test can fail the run's build only


class FailsLater(Agent):
    def __init__(self, name, *, after=0):
        super().__init__(name)
        BUILT.append(name)
        if after and len(BUILT) > after:
            raise ValueError(f"no more of me: {name}")


class OnlyTheFirst(Agent):
    def __init__(self, name):
        super().__init__(name)
        if not name.endswith(("-0", "-probe")):
            raise ValueError(f"only one of me, got {name}")


class NumpySplit(Allocator):
    \"\"\"Equal lots over the offered venues, as numpy integers.\"\"\"

    def choose(self, quantity, venues=None, context=None):
        offered = list(venues or self.venues)
        return dict(zip(offered, np.full(len(offered), quantity // 100 // len(offered)) * 100))

    def update(self, feedback):
        pass


class Weighted(Allocator):
    def __init__(self, venues, rng, *, weights):
        super().__init__(venues, rng)
        self.weights = {v: weights[v] for v in venues}  # KeyError for a venue left out

    def choose(self, quantity, venues=None, context=None):
        return {self.venues[0]: quantity}

    def update(self, feedback):
        pass
"""


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`PLUGINS` importable as module `loader_plugins` (fresh for each test)."""
    (tmp_path / "loader_plugins.py").write_text(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("loader_plugins", None)
    yield "loader_plugins"
    sys.modules.pop("loader_plugins", None)


def _with_group(text: str, group: str) -> str:
    return text + "\n" + textwrap.dedent(group)


def test_run_scenario_list_parameter_is_each_agents_own_in_every_run(
    tiny_text: str, plugins: str,
) -> None:
    scenario = parse_scenario(_with_group(tiny_text, f"""
        [[agents]]
        name = "plan"
        type = "{plugins}:Planner"
        count = 2
        params = {{ plan = [1, 2, 3] }}
        venues = ["LIT1"]
        """), "tiny.toml")
    digests = []
    for _ in range(2):
        result = run_scenario(scenario)
        digests.append(result.digest)
        orders = [e["msg"] for e in result.events if e["type"] == "NewOrder"
                  and e["msg"]["participant"].startswith("plan-")]
        assert sorted((o["participant"], o["quantity"]) for o in orders) == [
            ("plan-0", 100), ("plan-0", 200), ("plan-0", 300),
            ("plan-1", 100), ("plan-1", 200), ("plan-1", 300)]
    assert digests[0] == digests[1]
    assert dict(scenario.agents[-1].params) == {"plan": [1, 2, 3]}


def test_run_scenario_numpy_integer_allocation_same_with_and_without_fix(
    tiny_text: str, plugins: str,
) -> None:
    scenario = parse_scenario(tiny_text.replace('allocator = "ucb1"',
                                                f'allocator = "{plugins}:NumpySplit"'),
                              "tiny.toml")
    plain = run_scenario(scenario)
    fix = run_scenario(scenario, fix_switch=True)
    assert plain.digest == fix.digest
    tca = plain.tca["SOR"]
    assert tca.filled > 0 and type(tca.filled) is int
    rejected = [e for e in plain.events if e["type"] == "ExecutionReport"
                and e["msg"]["participant"] == "SOR" and e["msg"]["exec_type"] == "rejected"]
    assert rejected == []


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(argv)
    return status, capsys.readouterr().err


def test_validate_allocator_constructor_key_error_is_a_scenario_error(
    tiny_text: str, plugins: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "keyerror.toml"
    path.write_text(tiny_text.replace(
        'allocator = "ucb1"',
        f'allocator = {{ type = "{plugins}:Weighted", params = {{ weights = {{ LIT1 = 1 }} }} }}'))
    status, err = _cli(["validate", str(path)], capsys)
    assert status == EXIT_INVALID
    assert err == (f"{path}: parent_orders[0].allocator.params: allocator "
                   f"'{plugins}:Weighted' could not be built with parameters "
                   "{'weights': {'LIT1': 1}}: KeyError: 'LIT2'\n")


def test_run_agent_rejecting_its_second_instance_fails_at_load_and_writes_nothing(
    tiny_text: str, plugins: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "second.toml"
    path.write_text(_with_group(tiny_text, f"""
        [[agents]]
        name = "x"
        type = "{plugins}:OnlyTheFirst"
        count = 3
        """))
    out = tmp_path / "out"
    expected = (f"{path}: agents[2].params: agent '{plugins}:OnlyTheFirst' rejected its "
                "parameters (building 'x-1' of group 'x'): ValueError: only one of me, got x-1")
    status = run_file(str(path), seed=None, out=str(out), console=Console(file=io.StringIO()),
                      progress=False)
    assert (status, capsys.readouterr().err) == (EXIT_INVALID, expected + "\n")
    assert not out.exists()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == expected


def test_run_scenario_agent_constructor_failing_only_at_build_names_file_and_group(
    tiny_text: str, plugins: str,
) -> None:
    scenario = parse_scenario(_with_group(tiny_text, f"""
        [[agents]]
        name = "late"
        type = "{plugins}:FailsLater"
        count = 2
        params = {{ after = 4 }}
        """), "tiny.toml")
    # Load built the probe and both agents (3 of 4 allowed): the run's second agent fails.
    with pytest.raises(ScenarioError) as caught:
        run_scenario(scenario)
    assert str(caught.value) == (
        f"tiny.toml: agents[2].params: agent '{plugins}:FailsLater' rejected its parameters "
        "(building 'late-1' of group 'late'): ValueError: no more of me: late-1")
