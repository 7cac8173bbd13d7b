"""scenarios.schema, scenarios.scenario and the timeline's load-time checks: every kind of
mistake in a scenario file gives ONE `ScenarioError` naming the file, the key path and the
problem, and a good file becomes the frozen objects a run is built from. No run here."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path

import pytest

from market.errors import SorsimError
from market.messages import Side
from scenarios.loader import load_scenario, parse_scenario
from scenarios.market import MarketConfig
from scenarios.schema import ScenarioError

FILE = "scenarios/x.toml"

# A small valid scenario that the cases below break one key at a time.
BASE = """
name = "base"
seed = 3
duration_s = 60

[[venues.lit]]
name = "LIT1"
maker_fee = -20
taker_fee = 30

[[venues.lit]]
name = "LIT2"

[[venues.lit]]
name = "LIT3"
tick_size = 100

[[venues.dark]]
name = "DARK1"

[[agents]]
name = "noise"
type = "noise"
count = 10
rate = 1.0

[[agents]]
name = "market_makers"
type = "market-maker"
count = 2

[[agents]]
name = "providers"
type = "dark-provider"
pool = "DARK1"
count = 3

[[parent_orders]]
name = "SOR"
side = "buy"
quantity = 5_000
start_s = 1
end_s = 55
schedule = "twap"

[parent_orders.allocator]
type = "d-ucb"
params = { gamma = 0.9 }

[[timeline]]
at_s = 30
target = "venue:LIT1"
set = { taker_fee = 50 }
"""


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, FILE)
    return str(caught.value)


def _replace(old: str, new: str) -> str:
    """BASE with `old` replaced by `new` (`old` empty: `new` appended)."""
    if not old:
        return BASE + new
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


# --- a good file ----------------------------------------------------------------------------


def test_schema_valid_file_converts_to_frozen_market_config_and_specs() -> None:
    scenario = parse_scenario(BASE, FILE)
    assert scenario.name == "base" and scenario.seed == 3
    assert (scenario.start_ns, scenario.end_ns) == (0, 60_000_000_000)
    market = scenario.market
    assert isinstance(market, MarketConfig)
    assert [v.name for v in market.lit_venues] == ["LIT1", "LIT2", "LIT3"]
    assert market.lit_venues[0].taker_fee == 30
    assert market.reference_price == 1_000_000  # 100.00 dollars in ticks of 0.0001
    assert market.noise.count == 10 and market.noise.rate == 1.0
    assert market.market_makers.count == 2
    assert market.informed.count == 0 and market.dealer_clients.count == 0  # absent: none
    assert [g.name for g in scenario.agents] == ["noise", "market_makers", "providers"]
    assert scenario.agents[1].agent_names == ("mm0", "mm1")
    assert scenario.agents[2].agent_names == ("providers-0", "providers-1", "providers-2")
    order = scenario.parent_orders[0]
    assert order.parent.side is Side.BUY and order.parent.quantity == 5_000
    assert (order.parent.start_ns, order.parent.end_ns) == (1_000_000_000, 55_000_000_000)
    assert order.venues == ("LIT1", "LIT2", "LIT3", "DARK1", "SDP1")
    assert order.schedule.type == "twap" and order.allocator.type == "d-ucb"
    assert dict(order.allocator.params) == {"gamma": 0.9}
    (entry,) = scenario.timeline
    assert (entry.at_ns, entry.target, entry.changes) == (30_000_000_000, "venue:LIT1",
                                                          (("taker_fee", 50),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.seed = 4  # type: ignore[misc]


def test_schema_largest_seed_and_longest_time_are_accepted() -> None:
    text = _replace("seed = 3\nduration_s = 60", f"seed = {2**64 - 1}\nduration_s = 1e9")
    scenario = parse_scenario(text, FILE)
    assert scenario.seed == 2**64 - 1
    assert (scenario.start_ns, scenario.end_ns) == (0, 10**18)


def test_schema_allocator_dark_list_of_the_files_pools_is_kept() -> None:
    scenario = parse_scenario(_replace('type = "d-ucb"\nparams = { gamma = 0.9 }',
                                       'type = "dark-first"\nparams = { dark = ["DARK1"] }'),
                              FILE)
    assert dict(scenario.parent_orders[0].allocator.params)["dark"] == ["DARK1"]


def test_schema_allocator_venue_lists_default_to_the_routers_venues() -> None:
    scenario = parse_scenario(_replace('type = "d-ucb"\nparams = { gamma = 0.9 }',
                                       'type = "dark-first"'), FILE)
    params = dict(scenario.parent_orders[0].allocator.params)
    assert params["dark"] == ["DARK1"]


@pytest.mark.parametrize("line, expected", [
    ("", "auto"),  # absent: the router's own default (2 slices when urgent, else none)
    ('max_lag_s = "auto"', "auto"),
    ("max_lag_s = 2.5", 2_500_000_000),
    ("max_lag_s = 0", 0),
    ("max_lag_s = false", None),  # off
])
def test_schema_router_max_lag_s_becomes_max_lag_ns(line: str, expected: object) -> None:
    text = _replace('schedule = "twap"', f'schedule = "twap"\n[parent_orders.router]\n{line}')
    assert parse_scenario(text, FILE).parent_orders[0].max_lag_ns == expected


def test_schema_timeline_entries_apply_in_time_then_file_order() -> None:
    text = BASE + """
[[timeline]]
at_s = 10
target = "fundamental"
set = { volatility = 200.0 }

[[timeline]]
at_s = 30
target = "agents:market_makers"
set = { quoting = false }
"""
    scenario = parse_scenario(text, FILE)
    assert [(e.at_ns // 1_000_000_000, e.target) for e in scenario.timeline] == [
        (10, "fundamental"), (30, "venue:LIT1"), (30, "agents:market_makers")]


def test_schema_scenario_error_is_a_sorsim_error_with_parts() -> None:
    with pytest.raises(SorsimError) as caught:
        parse_scenario(_replace("duration_s = 60", "duration_s = -1"), FILE)
    error = caught.value
    assert isinstance(error, ScenarioError)
    assert (error.file, error.path) == (FILE, "duration_s")
    assert error.problem == "must be > 0, got -1"


# --- every kind of mistake: one line, the file, the key path, the problem ---------------------


DUCB = 'type = "d-ucb"\nparams = { gamma = 0.9 }'  # the allocator, to swap for another

MISTAKES = [
    # out of range
    ("tick_size_negative", ('name = "LIT3"\ntick_size = 100', 'name = "LIT3"\ntick_size = -1'),
     "scenarios/x.toml: venues.lit[2].tick_size: must be > 0, got -1"),
    ("fraction_above_one", ("rate = 1.0", "rate = 1.0\ndark_fraction = 1.5"),
     "scenarios/x.toml: agents[0].dark_fraction: must be <= 1, got 1.5"),
    ("count_negative", ("count = 10", "count = -3"),
     "scenarios/x.toml: agents[0].count: must be >= 0, got -3"),
    ("not_finite", ("rate = 1.0", "rate = inf"),
     "scenarios/x.toml: agents[0].rate: must be a finite number, got inf"),
    ("latency_range_order", ("rate = 1.0", "rate = 1.0\nlatency_ns = [500, 100]"),
     "scenarios/x.toml: agents[0].latency_ns: must be [low, high] with low <= high, got [500, 100]"),
    ("fractions_sum", ("rate = 1.0", "rate = 1.0\nmarket_fraction = 0.6\ncancel_fraction = 0.6"),
     "scenarios/x.toml: agents[0]: market_fraction + cancel_fraction is 1.2, must be <= 1"),
    # a seed the event log can hold; seconds that fit in integer ns, and are not 0 ns
    ("seed_past_64_bits", ("seed = 3", "seed = 18446744073709551616"),
     "scenarios/x.toml: seed: must be at most 2**64 - 1 (18446744073709551615), got "
     "18446744073709551616"),
    ("duration_overflows_ns", ("duration_s = 60", "duration_s = 1e300"),
     "scenarios/x.toml: duration_s: must be <= 1e+09, got 1e+300"),
    ("duration_below_one_ns", ("duration_s = 60", "duration_s = 1e-12"),
     "scenarios/x.toml: duration_s: must be at least 1e-09 s (one nanosecond), got 1e-12"),
    ("start_overflows_ns", ("seed = 3", "seed = 3\nstart_s = 1e300"),
     "scenarios/x.toml: start_s: must be <= 1e+09, got 1e+300"),
    ("parent_start_overflows_ns", ("start_s = 1", "start_s = 1e300"),
     "scenarios/x.toml: parent_orders[0].start_s: must be <= 1e+09, got 1e+300"),
    ("slice_below_one_ns", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                            "slice_interval_s = 1e-12"),
     "scenarios/x.toml: parent_orders[0].router.slice_interval_s: must be at least 1e-09 s "
     "(one nanosecond), got 1e-12"),
    ("max_lag_overflows_ns", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                              "max_lag_s = 1e300"),
     "scenarios/x.toml: parent_orders[0].router.max_lag_s: must be <= 1e+09, got 1e+300"),
    ("agent_seconds_overflow_ns", ("count = 2", "count = 2\nrefresh_s = 1e300"),
     "scenarios/x.toml: agents[1].refresh_s: must be <= 1e+09, got 1e+300"),
    ("timeline_at_overflows_ns", ("at_s = 30", "at_s = 1e300"),
     "scenarios/x.toml: timeline[0].at_s: must be <= 1e+09, got 1e+300"),
    # unknown keys, at every depth
    ("unknown_top_key", ("seed = 3", "seed = 3\nsede = 4"),
     "scenarios/x.toml: sede: unknown key; did you mean 'seed'?"),
    ("unknown_agent_key", ("count = 10\nrate = 1.0", "count = 10\nrte = 1.0"),
     "scenarios/x.toml: agents[0].rte: unknown key; did you mean 'rate'?"),
    ("unknown_venue_key", ("taker_fee = 30", "taker_fee = 30\ncolour = 'red'"),
     "scenarios/x.toml: venues.lit[0].colour: unknown key (expected one of: name, tick_size, "
     "lot_size, maker_fee, taker_fee, latency_ns, l2_depth)"),
    ("unknown_nested_key", ("schedule = \"twap\"", "schedule = \"twap\"\n[parent_orders.router]\n"
                            "slice_intervall_s = 2"),
     "scenarios/x.toml: parent_orders[0].router.slice_intervall_s: unknown key; did you mean "
     "'slice_interval_s'?"),
    ("max_lag_negative", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                          "max_lag_s = -1"),
     "scenarios/x.toml: parent_orders[0].router.max_lag_s: must be >= 0, got -1"),
    ("max_lag_true", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                      "max_lag_s = true"),
     "scenarios/x.toml: parent_orders[0].router.max_lag_s: must be a number of seconds >= 0, "
     "'auto' or false, got true"),
    ("max_lag_string", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                        'max_lag_s = "off"'),
     "scenarios/x.toml: parent_orders[0].router.max_lag_s: must be a number of seconds >= 0, "
     "'auto' or false, got 'off'"),
    ("max_lag_not_finite", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                            "max_lag_s = inf"),
     "scenarios/x.toml: parent_orders[0].router.max_lag_s: must be a finite number, got inf"),
    ("unknown_schedule_key", ('schedule = "twap"', 'schedule = { type = "pov", rate = 0.1, rat = 2 }'),
     "scenarios/x.toml: parent_orders[0].schedule.rat: unknown key; did you mean 'rate'?"),
    # wrong types (strict: no "3" for 3, no 1.5 for an integer, no 1 for true)
    ("string_for_int", ("count = 10", 'count = "10"'),
     "scenarios/x.toml: agents[0].count: must be an integer, got '10'"),
    ("float_for_int", ("quantity = 5_000", "quantity = 5000.0"),
     "scenarios/x.toml: parent_orders[0].quantity: must be an integer, got 5000.0"),
    ("bool_for_number", ("rate = 1.0", "rate = true"),
     "scenarios/x.toml: agents[0].rate: must be a number, got true"),
    ("table_for_list", ('params = { gamma = 0.9 }', 'params = [1, 2]'),
     "scenarios/x.toml: parent_orders[0].allocator.params: must be a table, got an array [1, 2]"),
    ("literal", ('side = "buy"', 'side = "purchase"'),
     "scenarios/x.toml: parent_orders[0].side: must be 'buy' or 'sell', got 'purchase'"),
    ("bad_name", ('name = "SOR"', 'name = "my router"'),
     "scenarios/x.toml: parent_orders[0].name: must be a name (a letter, then letters, digits, "
     "'_', '-' or '.'), got 'my router'"),
    ("missing_required", ("duration_s = 60", ""),
     "scenarios/x.toml: duration_s: required key is missing"),
    # unknown plug-in specs and their parameters
    ("unknown_agent_type", ('type = "noise"', 'type = "noize"'),
     "scenarios/x.toml: agents[0].type: unknown agent type 'noize': expected one of noise, "
     "informed, market-maker, dealer-client, dark-provider, latency-arbitrageur or "
     "'module:Class'; did you mean 'noise'?"),
    ("agent_module_missing", ('type = "dark-provider"\npool = "DARK1"\ncount = 3',
                              'type = "no_such_pkg.agents:Mine"\ncount = 3'),
     "scenarios/x.toml: agents[2].type: agent 'no_such_pkg.agents:Mine': cannot import module "
     "'no_such_pkg.agents': ModuleNotFoundError: No module named 'no_such_pkg'"),
    ("agent_not_an_agent", ('type = "dark-provider"\npool = "DARK1"\ncount = 3',
                            'type = "router.allocators.ucb:UCB1"\ncount = 3'),
     "scenarios/x.toml: agents[2].type: agent 'router.allocators.ucb:UCB1' is not an Agent "
     "subclass"),
    ("agent_unknown_param", ('type = "dark-provider"\npool = "DARK1"\ncount = 3',
                             'type = "agents.noise_trader:NoiseTrader"\ncount = 3\n'
                             'params = { venues = ["LIT1"], rat = 2.0 }'),
     "scenarios/x.toml: agents[2].params.rat: unknown parameter of agent "
     "'agents.noise_trader:NoiseTrader' (takes venues, rate,"),
    ("agent_bad_param_value", ('type = "dark-provider"\npool = "DARK1"\ncount = 3',
                               'type = "agents.noise_trader:NoiseTrader"\ncount = 3\n'
                               'params = { venues = ["LIT1"], rate = -2.0 }'),
     "scenarios/x.toml: agents[2].params: agent 'agents.noise_trader:NoiseTrader' rejected its "
     "parameters: ValueError: providers-probe: rate must be > 0, got -2.0"),
    ("unknown_allocator", ('type = "d-ucb"', 'type = "d-ubc"'),
     "scenarios/x.toml: parent_orders[0].allocator.type: unknown allocator 'd-ubc': expected "
     "one of"),
    ("allocator_unknown_param", ("params = { gamma = 0.9 }", "params = { gama = 0.9 }"),
     "scenarios/x.toml: parent_orders[0].allocator.params.gama: unknown parameter of allocator "
     "'d-ucb' (takes gamma, xi, reward_range); did you mean 'gamma'?"),
    ("allocator_bad_param_value", ("params = { gamma = 0.9 }", "params = { gamma = 1.5 }"),
     "scenarios/x.toml: parent_orders[0].allocator.params: allocator 'd-ucb' could not be built"),
    # an allocator's `dark` / `lit` list names venues of that kind
    ("allocator_dark_is_lit", (DUCB, 'type = "dark-first"\nparams = { dark = ["LIT1"] }'),
     "scenarios/x.toml: parent_orders[0].allocator.params.dark[0]: 'LIT1' is a lit venue, "
     "expected a dark pool"),
    ("allocator_dark_is_dealer", (DUCB, 'type = "dark-first"\nparams = { dark = ["DARK1", '
                                        '"SDP1"] }'),
     "scenarios/x.toml: parent_orders[0].allocator.params.dark[1]: 'SDP1' is a dealer, "
     "expected a dark pool"),
    ("allocator_dark_unknown", (DUCB, 'type = "dark-first"\nparams = { dark = ["DARK9"] }'),
     "scenarios/x.toml: parent_orders[0].allocator.params.dark[0]: unknown venue 'DARK9': "
     "expected a dark pool of the file"),
    ("allocator_dark_not_a_list", (DUCB, 'type = "dark-first"\nparams = { dark = "DARK1" }'),
     "scenarios/x.toml: parent_orders[0].allocator.params.dark: must be a non-empty array of "
     "venue names, each a dark pool, got 'DARK1'"),
    ("allocator_dark_not_routed", (DUCB, 'type = "dark-first"\nparams = { dark = ["DARK1"] }\n'
                                         '[parent_orders.router]\nvenues = ["LIT1", "LIT2"]'),
     "scenarios/x.toml: parent_orders[0].allocator.params.dark[0]: 'DARK1' is not among the "
     "router's venues (LIT1, LIT2)"),
    ("allocator_lit_is_dark", (DUCB, 'type = "lit-only"\nparams = { lit = ["LIT1", "DARK1"] }'),
     "scenarios/x.toml: parent_orders[0].allocator.params.lit[1]: 'DARK1' is a dark pool, "
     "expected a lit venue"),
    ("unknown_schedule", ('schedule = "twap"', 'schedule = "twapp"'),
     "scenarios/x.toml: parent_orders[0].schedule.type: unknown schedule 'twapp': expected one "
     "of twap, vwap, pov, is; did you mean 'twap'?"),
    ("schedule_rejects", ('schedule = "twap"',
                          'schedule = { type = "vwap", profile = [[0.5, 1.0], [0.9, 1.0]] }'),
     "scenarios/x.toml: parent_orders[0].schedule: profile[-1] bucket end was 0.9"),
    # cross references
    ("duplicate_venue", ('name = "LIT3"', 'name = "LIT2"'),
     "scenarios/x.toml: venues.lit[2].name: venue name 'LIT2' is already used by "
     "venues.lit[1].name"),
    ("unknown_pool", ('pool = "DARK1"', 'pool = "DARK9"'),
     "scenarios/x.toml: agents[2].pool: unknown dark pool 'DARK9': expected one of DARK1"),
    ("pool_is_lit", ('pool = "DARK1"', 'pool = "LIT1"'),
     "scenarios/x.toml: agents[2].pool: unknown dark pool 'LIT1'"),
    ("second_population", ('name = "market_makers"\ntype = "market-maker"',
                           'name = "market_makers"\ntype = "noise"'),
     "scenarios/x.toml: agents[1].type: the market has one 'noise' population, already defined "
     "by agents[0]"),
    ("duplicate_group", ('name = "providers"', 'name = "noise"'),
     "scenarios/x.toml: agents[2].name: agent group name 'noise' is already used by agents[0]"),
    ("router_name_clash", ('name = "SOR"', 'name = "mm1"'),
     "scenarios/x.toml: parent_orders[0].name: router name 'mm1' clashes with agent 'mm1' of "
     "agents[1]"),
    ("policy_venue", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.policy]\n'
                      'venues = ["LIT1", "DARK7"]'),
     "scenarios/x.toml: parent_orders[0].policy.venues[1]: venue 'DARK7' is not among the "
     "router's venues (LIT1, LIT2, LIT3, DARK1, SDP1)"),
    ("router_venue", ('schedule = "twap"', 'schedule = "twap"\n[parent_orders.router]\n'
                      'venues = ["LIT1", "LIT9"]'),
     "scenarios/x.toml: parent_orders[0].router.venues[1]: unknown venue 'LIT9'"),
    ("parent_after_run", ("end_s = 55", "end_s = 65"),
     "scenarios/x.toml: parent_orders[0].end_s: must be after start_s and at most the run's end "
     "(60 s), got 65.0"),
    ("price_off_grid", ("", "\n[market]\nreference_price = 100.00005\n"),
     "scenarios/x.toml: market.reference_price: must be a positive multiple of "
     "market.price_increment (0.0001), got 100.00005"),
    # the timeline: unknown targets and parameters, bad values, times outside the run
    ("timeline_unknown_venue", ('target = "venue:LIT1"', 'target = "venue:LIT9"'),
     "scenarios/x.toml: timeline[0].target: unknown venue 'LIT9': expected one of LIT1, LIT2, "
     "LIT3, DARK1, SDP1"),
    ("timeline_unknown_group", ('target = "venue:LIT1"', 'target = "agents:mms"'),
     "scenarios/x.toml: timeline[0].target: unknown agent group 'mms': expected one of noise, "
     "market_makers, providers"),
    ("timeline_bad_target", ('target = "venue:LIT1"', 'target = "venues:LIT1"'),
     "scenarios/x.toml: timeline[0].target: expected 'venue:NAME', 'agents:GROUP' or "
     "'fundamental', got 'venues:LIT1'"),
    ("timeline_unknown_param", ("set = { taker_fee = 50 }", "set = { fee = 50 }"),
     "scenarios/x.toml: timeline[0].set.fee: unknown parameter for venue LIT1 (lit): settable "
     "ones are maker_fee, taker_fee, latency_ns"),
    ("timeline_unknown_group_param", ('target = "venue:LIT1"\nset = { taker_fee = 50 }',
                                      'target = "agents:market_makers"\nset = { quotng = false }'),
     "scenarios/x.toml: timeline[0].set.quotng: unknown parameter for agent group "
     "market_makers (market-maker): settable ones are quoting,"),
    ("timeline_unknown_fundamental_param", ('target = "venue:LIT1"\nset = { taker_fee = 50 }',
                                            'target = "fundamental"\nset = { vol = 2.0 }'),
     "scenarios/x.toml: timeline[0].set.vol: unknown parameter for the fundamental: settable "
     "ones are volatility, jump_intensity, jump_std, reversion_rate"),
    ("timeline_bad_value", ("set = { taker_fee = 50 }", "set = { taker_fee = 50.5 }"),
     "scenarios/x.toml: timeline[0].set.taker_fee: must be an integer, got 50.5"),
    ("timeline_bad_bool", ('target = "venue:LIT1"\nset = { taker_fee = 50 }',
                           'target = "agents:providers"\nset = { active = "no" }'),
     "scenarios/x.toml: timeline[0].set.active: must be true or false, got 'no'"),
    ("timeline_after_end", ("at_s = 30", "at_s = 60"),
     "scenarios/x.toml: timeline[0].at_s: must be within the run [0, 60) s, got 60.0"),
    ("timeline_empty_set", ("set = { taker_fee = 50 }", "set = {}"),
     "scenarios/x.toml: timeline[0].set: must set at least one parameter"),
    ("timeline_fractions_over_time", ('target = "venue:LIT1"\nset = { taker_fee = 50 }',
                                      'target = "agents:noise"\nset = { market_fraction = 0.7 }'),
     "scenarios/x.toml: timeline[0].set: market_fraction + cancel_fraction would be 1.15 from "
     "then on, must be <= 1"),
    ("timeline_same_parameter_twice_at_once",
     ("set = { taker_fee = 50 }",
      'set = { taker_fee = 50 }\n\n[[timeline]]\nat_s = 30\ntarget = "venue:LIT1"\n'
      "set = { maker_fee = -10, taker_fee = 5 }"),
     "scenarios/x.toml: timeline[1].set.taker_fee: timeline[0] already sets taker_fee of "
     "venue:LIT1 at 30 s: set it once"),
    ("timeline_refresh_overflows", ('target = "venue:LIT1"\nset = { taker_fee = 50 }',
                                    'target = "agents:market_makers"\nset = { refresh_s = 1e300 }'),
     "scenarios/x.toml: timeline[0].set.refresh_s: must be a finite number in (0, 1e+09], "
     "got 1e+300"),
]


@pytest.mark.parametrize("old_new, expected", [(m[1], m[2]) for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_schema_mistake_gives_one_error_naming_file_path_and_problem(
    old_new: tuple[str, str], expected: str,
) -> None:
    message = _error(_replace(*old_new))
    assert message.startswith(expected), message
    assert "\n" not in message


def test_schema_toml_syntax_error_names_line_and_column() -> None:
    message = _error(_replace("seed = 3", "seed = = 3"))
    assert re.fullmatch(r"scenarios/x\.toml: line 3, column 8: TOML syntax error: .+", message), \
        message


def test_schema_several_mistakes_give_the_first_and_count_the_rest() -> None:
    message = _error(_replace("count = 10\nrate = 1.0", "count = -1\nrate = -1.0\nrte = 2"))
    assert message == ("scenarios/x.toml: agents[0].count: must be >= 0, got -1 "
                       "(and 2 more problems)")


def test_schema_agents_must_be_tables() -> None:
    assert _error("duration_s = 10\nagents = [3]\n") == \
        "scenarios/x.toml: agents[0]: must be a table, got 3"
    assert _error("duration_s = 10\nagents = 3\n") == \
        "scenarios/x.toml: agents: must be an array, got 3"
    assert _error("duration_s = 10\n[[agents]]\nname = 'x'\ncount = 1\n") == \
        "scenarios/x.toml: agents[0].type: required key is missing"


def test_schema_load_scenario_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: cannot read the file")


def test_schema_load_scenario_names_the_file_it_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_replace("count = 10", "count = 1.5"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: agents[0].count: must be an integer, got 1.5"
    path.write_text(BASE)
    assert load_scenario(path).path == str(path)


def test_schema_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "my_case.toml"
    path.write_text(BASE.replace('name = "base"\n', "", 1))
    assert load_scenario(path).name == "my_case"


def test_schema_plugin_timeline_parameters_come_from_the_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "schema_plugin.py").write_text(
        "from agents.agent import Agent\n"
        "class Quiet(Agent):\n"
        "    TIMELINE_PARAMETERS = ('loud',)\n"
        "    def __init__(self, name, *, loud=False):\n"
        "        super().__init__(name)\n"
        "        self.loud = loud\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    group = '\n[[agents]]\nname = "quiet"\ntype = "schema_plugin:Quiet"\ncount = 1\n'
    ok = BASE + group + '\n[[timeline]]\nat_s = 5\ntarget = "agents:quiet"\nset = { loud = true }\n'
    assert parse_scenario(ok, FILE).timeline[0].changes == (("loud", True),)
    bad = ok.replace("{ loud = true }", "{ volume = 3 }")
    assert _error(bad) == ("scenarios/x.toml: timeline[1].set.volume: unknown parameter for agent "
                           "group quiet (plugin): settable ones are loud")


def test_schema_scenario_pickles_for_a_fan_out_of_runs() -> None:
    scenario = parse_scenario(BASE, FILE)
    assert pickle.loads(pickle.dumps(scenario)) == scenario
