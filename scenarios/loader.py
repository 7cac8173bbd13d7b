"""Scenario files in, runs out: `load_scenario(path)` and `run_scenario(scenario, ...)`.

`load_scenario` reads a TOML file and validates it once (`scenarios.schema`, then
`scenarios.scenario.compile_scenario`): the result is a frozen `Scenario`, or a single `ScenarioError` naming the file, the key path and the
problem (TOML syntax errors by line and column). Nothing runs before a file is valid.

`run_scenario` builds and runs it, on the one data flow of the design:
1. `build_market` builds the market from the scenario's `MarketConfig` (venues, feed,
   fundamental, the built-in populations);
2. the extra agent groups (dark liquidity providers, latency arbitrageurs, plug-ins) are
   built and connected here, each agent's base latency drawn from its group's own stream
   (`latency/<group>`) plus each venue's distance, as `build_market` does;
3. one `SmartOrderRouter` per parent order, with a `VenueProfile` for each of its venues,
   its schedule and its allocator (random stream `router/<name>/allocator`), connected to
   its venues (market data from the lit ones), as `scenarios.regime_routing` wires its
   router;
4. the timeline is put on the clock (`scenarios.timeline`);
5. the run; its event log (header, events, digest trailer) is kept, and written to
   `out_dir/events.jsonl` when `out_dir` is given. The header holds the scenario file's
   name and full text (and an allocator override), so a log alone replays its run;
6. `router.tca.analyze` per parent order, from the event log alone (`tca.json` in
   `out_dir`).

Same scenario + same seed => the same event log, byte for byte (the digest).
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from agents.agent import Agent
from agents.latency_arbitrageur import LatencyArbitrageur
from agents.noise_trader import NoiseTrader
from agents.registry import load_agent
from market.clock import Clock
from market.fix_codec import FixCodec
from market.fix_switch import FixSwitch
from market.link import Latency, Link
from router.allocators.registry import ALLOCATORS, AllocatorSpecError, make_allocator
from router.smart_order_router import SmartOrderRouter
from router.tactics import VenueKind, VenueProfile
from router.tca import TransactionCostAnalysis, analyze
from scenarios.baselines import BASELINES, static_baselines
from scenarios.market import Market, build_market
from scenarios.scenario import Scenario, agent_build_problem, compile_scenario, make_schedule
from scenarios.schema import ScenarioError, validate_data
from scenarios.simulation import Simulation
from scenarios.timeline import Targets, schedule_timeline

__all__ = [
    "DEFAULT_SCENARIO",
    "LIBRARY",
    "BuiltScenario",
    "ScenarioError",
    "ScenarioResult",
    "ScenarioRun",
    "allocator_kind",
    "build_scenario",
    "load_scenario",
    "log_header",
    "parse_scenario",
    "run_scenario",
    "substitute_allocator",
]

LIBRARY = Path(__file__).resolve().parent / "library"  # the scenario library (package data)
DEFAULT_SCENARIO = Path(__file__).resolve().parent / "default.toml"

# What a run writes into its `out_dir` after the log (tca.json here, report.html in
# `scenarios.run`): removed when a run starts there, so a run that fails leaves no report
# of another run beside its log.
STALE_REPORTS = ("tca.json", "report.html")
FIX_SYMBOL = "SIM"  # the instrument's symbol on FIX (a scenario trades one instrument)
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_POPULATION_LISTS = {"noise": "noise", "informed": "informed", "market-maker": "market_makers",
                     "dealer-client": "dealer_clients"}


# --- loading --------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; `ScenarioError` for the first problem."""
    file = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise ScenarioError(file, "", f"cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ScenarioError(file, "", f"not UTF-8 text: {error.reason} at byte "
                            f"{error.start}") from None
    return parse_scenario(text, file)


def parse_scenario(text: str, file: str = "<scenario>", *,
                   allocator: str | None = None) -> Scenario:
    """Validate scenario text; `file` is the name used in error messages.

    With `allocator`, every parent order is routed by that allocator instead of its own:
    - a registry key or "module:Class": with the file's parameters when it is the one the
      order names, else with the allocator's defaults (the venue lists it takes still
      default to the router's);
    - the same followed by a colon and a JSON object (`cost-based:{"discount": 0.8}`):
      with those parameters;
    - the name of a static baseline of `scenarios.baselines` that is not a registry key
      (`fixed-even`, `pro-rata-at-nbbo`, `fixed-dark-heavy`): that baseline for the order's
      router, as the routing-quality tests run it.
    The substitution happens before validation, so the result is checked like a file that
    said so. `Scenario.allocator_override` records it when it changed an order (the file's
    own allocator is the file as it is: same run, same digest)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_POSITION.search(message)
        where = ""
        if match:
            where = f"line {match.group(1)}, column {match.group(2)}"
            message = message[:match.start()]
        raise ScenarioError(file, where, f"TOML syntax error: {message}") from None
    if allocator is None or not substitute_allocator(data, allocator, file):
        allocator = None  # nothing to replace: the file as it is
        scenario = compile_scenario(validate_data(data, file), file)
    else:
        try:
            scenario = compile_scenario(validate_data(data, file), file)
        except ScenarioError as error:
            raise ScenarioError(file, error.path, f"{error.problem} (with every parent order "
                                f"routed by allocator {allocator!r})") from None
    return replace(scenario, source=text, allocator_override=allocator)


def substitute_allocator(data: dict[str, Any], allocator: str,
                         file: str = "<scenario>") -> bool:
    """Route every parent order of parsed TOML by `allocator` (see `parse_scenario`);
    whether any order changed. An allocator whose parameters are not JSON, or a baseline the
    file's routers do not have, is a `ScenarioError`."""
    orders = data.get("parent_orders")
    if not isinstance(orders, list):
        return False  # validation reports it
    tables = _allocator_tables(data, allocator, file, len(orders))
    changed = False
    for order, table in zip(orders, tables):
        if not isinstance(order, dict):
            continue
        own = order.get("allocator")
        own = {"params": {}, **own} if isinstance(own, dict) else {"type": own, "params": {}}
        if isinstance(table, str):  # a key alone: the file's parameters when it is the same
            if own.get("type") == table:
                continue
            table = {"type": table}
        elif own == table:
            continue
        order["allocator"] = table
        changed = True
    return changed


def allocator_kind(allocator: str) -> str:
    """How `parse_scenario` reads an allocator override: "given" (a key or module:Class with
    JSON parameters), "baseline" (a static baseline's name that is not a registry key) or
    "key" (a registry key or module:Class alone)."""
    if ":{" in allocator:
        return "given"
    return "baseline" if allocator not in ALLOCATORS and allocator in BASELINES else "key"


def _allocator_tables(data: dict[str, Any], allocator: str, file: str,
                      count: int) -> list[str | dict[str, Any]]:
    """What each of `count` parent orders gets for `allocator`: a key alone, or a table."""
    kind = allocator_kind(allocator)
    if kind == "given":
        key, _, rest = allocator.partition(":{")
        try:
            params = orjson.loads("{" + rest)
        except orjson.JSONDecodeError as error:
            raise ScenarioError(file, "", f"allocator {allocator!r}: the parameters after "
                                f"'{key}:' must be a JSON object ({error})") from None
        return [{"type": key, "params": copy.deepcopy(params)} for _ in range(count)]
    if kind == "key":
        return [allocator] * count
    scenario = compile_scenario(validate_data(copy.deepcopy(data), file), file)
    tables: list[str | dict[str, Any]] = []
    for i, order in enumerate(scenario.parent_orders):
        baselines = static_baselines(scenario, i)
        if allocator not in baselines:
            raise ScenarioError(file, f"parent_orders[{i}]", f"allocator {allocator!r}: not "
                                f"a static baseline of {order.name}'s router (routed to "
                                f"{', '.join(order.venues)}), whose baselines are "
                                f"{', '.join(baselines)}")
        tables.append(baselines[allocator])
    return tables


# --- building -------------------------------------------------------------------------------


@dataclass
class BuiltScenario:
    """Everything `build_scenario` made (for the run's results, reports and tests)."""

    scenario: Scenario
    market: Market
    groups: dict[str, list[Agent]]  # group name -> its agents (populations included)
    routers: dict[str, SmartOrderRouter]  # parent order name -> its router
    targets: Targets
    fix_switches: list[FixSwitch] = field(default_factory=list)  # with fix_switch only


def build_scenario(sim: Simulation, scenario: Scenario, *, fix_switch: bool = False,
                   router_venue: Callable[[str, Any], Any] | None = None) -> BuiltScenario:
    """Build the scenario's market, groups, routers and timeline inside a `Simulation` setup
    callback. With `fix_switch`, every router reaches its venues through the in-process FIX
    switch (`market.fix_switch`): the run must be the same, byte for byte. `router_venue`
    (router name, venue) -> what the router connects to instead (live mode: the venue's
    FIX gateway, `venues.fix_client.FixVenueClient`)."""
    config = scenario.market
    market = build_market(sim, config)
    venues = market.venues
    kinds = scenario.venue_kinds()
    distance = {v.name: v.latency_ns for v in config.lit_venues}
    distance[config.dark_pool.name] = config.dark_pool.latency_ns
    distance.update((d.name, d.latency_ns) for d in config.extra_dark_pools)
    distance[config.dealer.name] = config.dealer.latency_ns
    lit_names = [v.name for v in config.lit_venues]
    lot_size = config.lit_venues[0].lot_size
    subscriber_ns = config.feed.venue_subscriber_latency_ns
    # Each venue's reference link from the feed (and, below, its arbitrageurs' views).
    reference_links: dict[str, list[tuple[Link, int]]] = {
        name: [(market.feed.subscription(name), subscriber_ns)]
        for name, kind in kinds.items() if kind != "lit"}

    def base_latencies(group: str, count: int, bounds: tuple[int, int]) -> list[int]:
        if not count:
            return []
        drawn: list[int] = sim.rng_streams.stream(f"latency/{group}").integers(
            bounds[0], bounds[1] + 1, count).tolist()
        return drawn

    groups: dict[str, list[Agent]] = {}
    dark_pool_of: dict[str, str] = {}
    for index, spec in enumerate(scenario.agents):
        members: list[Agent] = []
        if spec.kind == "population":
            members = list(getattr(market, _POPULATION_LISTS[spec.type]))
        elif spec.kind == "dark-provider":
            assert spec.pool is not None
            s = spec.settings
            dark_pool_of[spec.name] = spec.pool
            pool = venues[spec.pool]
            for name, base in zip(spec.agent_names,
                                  base_latencies(spec.name, spec.count, spec.latency_ns)):
                trader = NoiseTrader(
                    name, lit_names, rate=s["rate"], market_fraction=0.0,
                    cancel_fraction=s["cancel_fraction"], max_lots=s["max_lots"],
                    lot_size=lot_size, tick_size=max(v.tick_size for v in config.lit_venues),
                    reference_price=config.reference_price, dark_venues=[spec.pool],
                    dark_fraction=1.0, dark_min_lots=s["dark_min_lots"])
                sim.add_agent(trader)
                for lit in lit_names:
                    trader.connect(venues[lit], Latency(base + distance[lit],
                                                        config.agent_jitter_ns),
                                   market_data=False)
                trader.connect(pool, Latency(base + distance[spec.pool], config.agent_jitter_ns),
                               market_data=False)
                market.feed.subscribe(name, trader.on_market_data, Latency(base))
                members.append(trader)
        elif spec.kind == "latency-arbitrageur":
            assert spec.pool is not None
            s = spec.settings
            pool_config = next(d for d in (config.dark_pool, *config.extra_dark_pools)
                               if d.name == spec.pool)
            for name in spec.agent_names:
                arb = LatencyArbitrageur(
                    name, spec.pool, lit_names, threshold_ticks=s["threshold_ticks"],
                    max_lots=s["max_lots"], lot_size=pool_config.lot_size,
                    pool_tick_size=pool_config.tick_size,
                    max_position_lots=s["max_position_lots"], cooldown_ns=s["cooldown_ns"],
                    active=s["active"])
                sim.add_agent(arb)
                for lit in lit_names:
                    arb.connect(venues[lit], Latency(s["latency_ns"] + distance[lit]))
                arb.connect(venues[spec.pool], Latency(s["latency_ns"] + distance[spec.pool]),
                            market_data=False)
                # The pool's view: the feed at the pool's own latency, delayed with it.
                market.feed.subscribe(name, arb.on_market_data, Latency(subscriber_ns))
                reference_links[spec.pool].append((market.feed.subscription(name),
                                                   subscriber_ns))
                members.append(arb)
        else:  # a plug-in
            cls = load_agent(spec.type)
            assert spec.venues is not None
            for name, base in zip(spec.agent_names,
                                  base_latencies(spec.name, spec.count, spec.latency_ns)):
                try:  # each agent its own parameters: nothing shared, nothing left for the next run
                    agent = cls(name, **copy.deepcopy(dict(spec.params)))
                except Exception as error:  # load built it; a constructor may still fail now
                    raise ScenarioError(scenario.path, f"agents[{index}].params",
                                        agent_build_problem(spec.type, spec.name, name,
                                                            error)) from error
                sim.add_agent(agent)
                for venue in spec.venues:
                    agent.connect(venues[venue], Latency(base + distance[venue],
                                                         config.agent_jitter_ns),
                                  market_data=spec.market_data and kinds[venue] == "lit")
                members.append(agent)
        groups[spec.name] = members

    routers: dict[str, SmartOrderRouter] = {}
    switches: list[FixSwitch] = []
    for index, order in enumerate(scenario.parent_orders):
        profiles = []
        for name in order.venues:
            if kinds[name] == "lit":
                lit_config = next(v for v in config.lit_venues if v.name == name)
                profiles.append(VenueProfile(name, VenueKind.LIT, lit_config.tick_size,
                                             lit_config.lot_size))
            elif kinds[name] == "dark":
                pool_config = next(d for d in (config.dark_pool, *config.extra_dark_pools)
                                   if d.name == name)
                profiles.append(VenueProfile(name, VenueKind.DARK, pool_config.tick_size,
                                             pool_config.lot_size))
            else:
                profiles.append(VenueProfile(name, VenueKind.DEALER, config.dealer.tick_size,
                                             lot_size))
        parent = order.parent
        try:  # deep-copies the parameters; load built it, but a constructor may still fail
            allocator = make_allocator(order.allocator.type, list(order.venues),
                                       sim.rng_streams.stream(f"router/{order.name}/allocator"),
                                       dict(order.allocator.params))
        except AllocatorSpecError as error:
            raise ScenarioError(scenario.path, f"parent_orders[{index}].allocator.params",
                                str(error)) from error
        router = SmartOrderRouter(
            order.name, parent,
            make_schedule(order.schedule, parent.quantity, parent.start_ns, parent.end_ns),
            allocator, profiles, slice_interval_ns=order.slice_interval_ns,
            markout_ns=order.markout_ns, cost_scale_bps=order.cost_scale_bps,
            cleanup_ns=order.cleanup_ns, max_lag_ns=order.max_lag_ns,
            feature_venue=order.feature_venue)
        sim.add_agent(router)
        for name in order.venues:
            endpoint: Any = venues[name]  # what the router's session talks to
            if fix_switch:
                switch = FixSwitch(endpoint, FixCodec(FIX_SYMBOL, config.price_increment))
                switches.append(switch)
                endpoint = switch
            elif router_venue is not None:
                endpoint = router_venue(order.name, endpoint)
            router.connect(endpoint, Latency(order.latency_ns + distance[name]),
                           market_data=kinds[name] == "lit")
        routers[order.name] = router

    targets = Targets(
        venues=venues, distance_ns=dict(distance), reference_links=reference_links,
        groups=groups, group_types={g.name: g.type for g in scenario.agents},
        fundamental=market.fundamental, volatility_regime=market.volatility_regime,
        dark_pool_of=dark_pool_of, event_log=sim.event_log)
    schedule_timeline(sim.clock, targets, scenario.timeline)
    return BuiltScenario(scenario, market, groups, routers, targets, switches)


# --- running --------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """A finished scenario run: what reports and the CLI summary read."""

    scenario: Scenario
    seed: int
    digest: str
    event_count: int
    wall_seconds: float
    built: BuiltScenario
    events: list[dict[str, Any]]  # the event log's body, parsed (header and trailer apart)
    tca: dict[str, TransactionCostAnalysis]  # parent order name -> its TCA
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)  # "events", "tca" -> written path
    log_lines: list[bytes] = field(default_factory=list)  # the raw log: header .. trailer

    @property
    def market(self) -> Market:
        return self.built.market

    @property
    def routers(self) -> dict[str, SmartOrderRouter]:
        return self.built.routers

    def shifts(self) -> list[dict[str, Any]]:
        """The timeline's `RegimeShifted` events, in the order they applied."""
        return [e for e in self.events if e["type"] == "RegimeShifted"]

    def regime_shifts(self) -> list[tuple[int, str]]:
        """(t_ns, label) per applied shift, e.g. (45e9, "venue:LIT2 taker_fee=40"): the
        shape `scenarios.report.write_report(regime_shifts=...)` takes."""
        return [(e["t"], e["msg"]["target"] + " " + ", ".join(
            f"{k}={v}" for k, v in e["msg"]["changes"].items())) for e in self.shifts()]


def run_scenario(scenario: Scenario, seed: int | None = None,
                 out_dir: str | Path | None = None, *,
                 on_time: Callable[[int], object] | None = None,
                 every_ns: int | None = None,
                 version: str | None = None,
                 fix_switch: bool = False) -> ScenarioResult:
    """Build and run `scenario` (with `seed`, default the file's), then analyze each parent
    order; with `out_dir`, write `events.jsonl` and `tca.json` there.

    `on_time(now_ns)`, when given, is called every `every_ns` of simulated time before the
    end (default: a 500th of the run) from a timer on the run's own clock: a progress display follows
    simulated time without reading the wall clock. It must only observe: the timer sends
    no message, so the event log and its digest are those of a run without it.

    The log's header records what replays the run (`log_header`): the file's name and
    text, and the allocator override if any. `version` is the sorsim version the header
    states (default: this one's; `sorsim replay` states the recorded one). `fix_switch`:
    the routers' messages go through FIX in-process (see `build_scenario`).

    A run that raises (`HandlerFailed` for a crashing agent) raises here, its log flushed up
    to the failure; `ScenarioRun` keeps that log within reach of the caller."""
    return ScenarioRun(scenario, seed, out_dir, on_time=on_time, every_ns=every_ns,
                       version=version, fix_switch=fix_switch).run()


class ScenarioRun:
    """One run of a scenario, held by the caller (`run_scenario` is `ScenarioRun(...).run()`,
    same arguments). Why an object: when the run raises, what it recorded is still here --
    `log_lines` (the header, the events up to the failure and the trailer that closed the log)
    and `now_ns` (the simulated time it stopped at) -- which `sorsim replay` compares with the
    recorded log when the replayed run crashes."""

    def __init__(self, scenario: Scenario, seed: int | None = None,
                 out_dir: str | Path | None = None, *,
                 on_time: Callable[[int], object] | None = None,
                 every_ns: int | None = None,
                 version: str | None = None,
                 fix_switch: bool = False) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.on_time = on_time
        self.every_ns = every_ns
        self.version = version
        self.fix_switch = fix_switch
        self.simulation: Simulation | None = None  # from the start of `run()`

    @property
    def log_lines(self) -> list[bytes]:
        """The event log's lines so far (after the run or its failure: header .. trailer)."""
        if self.simulation is None:
            return []
        lines = self.simulation.event_log.lines
        assert lines is not None
        return lines

    @property
    def now_ns(self) -> int | None:
        """The run's simulated time (where a failed run stopped); None before it started."""
        return self.simulation.now_ns if self.simulation is not None else None

    def run(self) -> ScenarioResult:
        scenario, seed, directory = self.scenario, self.seed, self.out_dir
        files: dict[str, Path] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            files["events"] = directory / "events.jsonl"
            for stale in STALE_REPORTS:  # an earlier run's: never beside this run's log
                (directory / stale).unlink(missing_ok=True)
        simulation = self.simulation = Simulation(
            scenario.name, seed=seed, start_ns=scenario.start_ns, end_ns=scenario.end_ns,
            log_path=files.get("events"), keep_log_lines=True,
            log_header=log_header(scenario), log_version=self.version)
        held: list[BuiltScenario] = []
        on_time, every_ns = self.on_time, self.every_ns

        def setup(sim: Simulation) -> None:
            held.append(build_scenario(sim, scenario, fix_switch=self.fix_switch))
            if on_time is not None:
                step = every_ns or max(1, (scenario.end_ns - scenario.start_ns) // 500)
                _call_every(sim.clock, step, scenario.end_ns, on_time)

        result = simulation.run(setup)
        lines = simulation.event_log.lines
        assert lines is not None and result.digest is not None
        events = [orjson.loads(line) for line in lines[1:-1]]
        tca = {
            order.name: analyze(events, order.name, side=order.parent.side.value,
                                quantity=order.parent.quantity, start_ns=order.parent.start_ns,
                                end_ns=order.parent.end_ns)
            for order in scenario.parent_orders
        }
        if directory is not None:
            files["tca"] = directory / "tca.json"
            files["tca"].write_bytes(orjson.dumps(
                {"scenario": scenario.name, "seed": seed, "digest": result.digest,
                 "parent_orders": {name: analysis.as_dict() for name, analysis in tca.items()}},
                option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        return ScenarioResult(scenario, seed, result.digest, result.events, result.wall_seconds,
                              held[0], events, tca, directory, files, lines)


def log_header(scenario: Scenario) -> dict[str, Any]:
    """The event log header's fields beyond scenario, seed and version: the file's name (not
    its path, so the digest does not depend on where the file sits) and full text, and the
    allocator override when there is one. Enough to replay the run from the log alone."""
    header: dict[str, Any] = {"file": Path(scenario.path).name, "text": scenario.source}
    if scenario.allocator_override is not None:
        header["allocator"] = scenario.allocator_override
    return header


def _call_every(clock: Clock, every_ns: int, end_ns: int, callback: Callable[[int], object]) -> None:
    """Call `callback(now_ns)` every `every_ns` of simulated time before `end_ns` (at the
    end the run stops first)."""

    def tick() -> None:
        now = clock.now_ns()
        callback(now)
        if now + every_ns < end_ns:
            clock.call_at_ns(now + every_ns, tick)

    clock.call_at_ns(clock.now_ns() + every_ns, tick)
