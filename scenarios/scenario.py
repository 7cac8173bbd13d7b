"""The validated scenario: the frozen objects a run is built from, and pass 2 of loading,
which checks a file's cross references and builds them.

`compile_scenario(model, file)` takes a pass-1 `scenarios.schema.ScenarioFile` and returns a
`Scenario`: the existing frozen `MarketConfig` (so `build_market` stays the one path that
builds markets), the agent groups (`AgentGroupSpec`), the parent orders with their routers
(`ParentOrderSpec`: a frozen `ParentOrder` with its `ExecutionPolicy`, the schedule and the
allocator as `Spec`s) and the regime-shift timeline (`TimelineEntry`s, in application order).

Pass 2 checks, each a `ScenarioError` naming the key path:
- venue names unique across lit venues, dark pools, the dealer and the feed; agent group
  names unique; every participant name (agents, routers) distinct from the others and from
  the venues; at most one group per built-in population;
- a pool a group names is a dark pool; a venue a router or policy names exists (a policy's
  allow-list within the router's venues); a feature venue is one of the router's lit ones;
- prices on the tick grid; a parent order's times inside the run;
- plug-ins: agent types and allocators load (registry key or "module:Class"), the
  parameters given are ones the class takes (its signature), and they are built with them
  at load -- an allocator once, an agent group once as "<group>-probe" and then once per
  agent under its own name (a constructor may accept one name and not another) -- so that
  a bad parameter value fails here, before a run writes anything, and not in the middle of
  a run. Every build (these and the run's) gets its own deep copy of the parameters, so a
  plug-in that changes a list or dict parameter changes neither another agent's nor the
  next run's;
- schedules build; timeline targets, parameters and values are checked by
  `scenarios.timeline.check_timeline`.

Allocator conveniences: a `lit` or `dark` parameter the allocator takes and the file leaves
out defaults to the router's lit venues or dark pools; `lot_size` to the first pool's.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.registry import AgentSpecError, load_agent
from market.link import Latency
from market.messages import Side, TimeInForce
from market.rng import RngStreams
from router.allocators.registry import AllocatorSpecError, load_allocator, make_allocator
from router.execution_policy import ExecutionPolicy
from router.parent_order import ParentOrder
from router.schedules import POV, TWAP, VWAP, ImplementationShortfall, Schedule
from router.schedules.vwap import u_shaped_profile
from scenarios.market import (
    DarkPoolConfig,
    DealerClientConfig,
    DealerConfig,
    FeedConfig,
    FundamentalConfig,
    InformedConfig,
    LitVenueConfig,
    MarketConfig,
    MarketMakerConfig,
    NoiseConfig,
)
from scenarios.schema import (
    EXTRA_GROUPS,
    POPULATIONS,
    AllocatorModel,
    KnownGroup,
    ParentOrderModel,
    ScenarioError,
    ScenarioFile,
)
from scenarios.timeline import TimelineEntry, TimelineProblem, check_timeline

__all__ = [
    "AgentGroupSpec",
    "Params",
    "ParentOrderSpec",
    "Scenario",
    "Spec",
    "agent_build_problem",
    "compile_scenario",
    "make_schedule",
]

NS_PER_S = 1_000_000_000


class _Problem(Exception):
    """A problem found in pass 2, at `path` (a key path of the file)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --- the frozen result ----------------------------------------------------------------------


class Params(Mapping[str, Any]):
    """A read-only mapping that pickles (a `MappingProxyType` does not), so that a whole
    `Scenario` can be sent to another process for a fan-out of runs."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Params({self._items!r})"


@dataclass(frozen=True)
class Spec:
    """A plug-in choice: a registry key or "module:Class" and its keyword parameters."""

    type: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class AgentGroupSpec:
    """One agent group. `kind`: "population" (built by `build_market` from the
    `MarketConfig`), "dark-provider", "latency-arbitrageur" or "plugin" (built by the
    loader). `settings` are the group's validated fields (for the timeline's checks and
    for reports); `agent_names` the participants it will have."""

    name: str
    type: str
    count: int
    kind: str
    settings: Mapping[str, Any]
    agent_names: tuple[str, ...]
    pool: str | None = None
    venues: tuple[str, ...] | None = None
    market_data: bool = True
    latency_ns: tuple[int, int] = (0, 0)
    params: Mapping[str, Any] = field(default_factory=Params)


@dataclass(frozen=True)
class ParentOrderSpec:
    """A parent order and the router that works it."""

    name: str
    parent: ParentOrder
    schedule: Spec
    allocator: Spec
    venues: tuple[str, ...]
    slice_interval_ns: int
    markout_ns: int
    cleanup_ns: int
    cost_scale_bps: float
    latency_ns: int
    feature_venue: str | None
    # The catch-up's lag (`SmartOrderRouter(max_lag_ns=...)`): "auto", None (off) or ns.
    max_lag_ns: int | Literal["auto"] | None = "auto"


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: everything a run is built from."""

    name: str
    path: str
    description: str
    seed: int
    start_ns: int
    end_ns: int
    market: MarketConfig
    agents: tuple[AgentGroupSpec, ...]
    parent_orders: tuple[ParentOrderSpec, ...]
    timeline: tuple[TimelineEntry, ...]
    # What it was loaded from (`scenarios.loader.parse_scenario` sets them; the event log's
    # header records them, so that a log alone replays the run).
    source: str = ""  # the file's text
    allocator_override: str | None = None  # every parent order's allocator replaced by this

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S

    def venue_kinds(self) -> dict[str, str]:
        """Venue name -> "lit", "dark" or "dealer", in the market's order."""
        kinds = {v.name: "lit" for v in self.market.lit_venues}
        kinds[self.market.dark_pool.name] = "dark"
        kinds.update((d.name, "dark") for d in self.market.extra_dark_pools)
        kinds[self.market.dealer.name] = "dealer"
        return kinds


# --- pass 2: cross references and conversion -------------------------------------------------


def compile_scenario(model: ScenarioFile, file: str) -> Scenario:
    """Pass 2: check cross references and build the frozen `Scenario`."""
    try:
        return _compile(model, file)
    except _Problem as problem:
        raise ScenarioError(file, problem.path, problem.problem) from None


def _seconds(value: float) -> int:
    return round(value * NS_PER_S)


def _ticks(path: str, dollars: float, increment: float) -> int:
    exact = dollars / increment
    ticks = round(exact)
    if ticks < 1 or abs(exact - ticks) > 1e-6:  # float noise is ~1e-10 tick at 100.00
        raise _Problem(path, f"must be a positive multiple of market.price_increment "
                       f"({increment:g}), got {dollars!r}")
    return ticks


def _compile(model: ScenarioFile, file: str) -> Scenario:
    name = model.name or Path(file).stem
    start_ns = _seconds(model.start_s)
    end_ns = start_ns + _seconds(model.duration_s)

    # Venues: unique names across every kind (and the feed).
    v = model.venues
    seen: dict[str, str] = {}
    venue_paths = ([(f"venues.lit[{i}].name", x.name) for i, x in enumerate(v.lit)]
                   + [(f"venues.dark[{i}].name", x.name) for i, x in enumerate(v.dark)]
                   + [("venues.dealer.name", v.dealer.name), ("venues.feed.name", v.feed.name)])
    for path, venue in venue_paths:
        if venue in seen:
            raise _Problem(path, f"venue name {venue!r} is already used by {seen[venue]}")
        seen[venue] = path
    lit_names = [x.name for x in v.lit]
    dark_names = [x.name for x in v.dark]
    all_venues = lit_names + dark_names + [v.dealer.name]
    kinds = {**{n: "lit" for n in lit_names}, **{n: "dark" for n in dark_names},
             v.dealer.name: "dealer"}
    reference = _ticks("market.reference_price", model.market.reference_price,
                       model.market.price_increment)

    # Agent groups.
    groups: list[AgentGroupSpec] = []
    populations: dict[str, Any] = {}
    group_paths: dict[str, str] = {}
    participants: dict[str, str] = {n: f"venue {n!r}" for n in seen}
    for i, entry in enumerate(model.agents):
        path = f"agents[{i}]"
        group = typing.cast(KnownGroup, entry)
        if group.name in group_paths:
            raise _Problem(f"{path}.name", f"agent group name {group.name!r} is already used "
                           f"by {group_paths[group.name]}")
        group_paths[group.name] = path
        spec = _group_spec(path, group, populations, dark_names, lit_names, all_venues)
        for agent in spec.agent_names:
            if agent in participants:
                raise _Problem(f"{path}.name", f"agent {agent!r} of this group clashes with "
                               f"{participants[agent]}")
            participants[agent] = f"agent {agent!r} of {path}"
        groups.append(spec)

    market = _market_config(model, reference, populations)

    # Parent orders and their routers.
    parents: list[ParentOrderSpec] = []
    for i, order in enumerate(model.parent_orders):
        path = f"parent_orders[{i}]"
        if order.name in participants:
            raise _Problem(f"{path}.name", f"router name {order.name!r} clashes with "
                           f"{participants[order.name]}")
        participants[order.name] = f"the router of {path}"
        parents.append(_parent_spec(path, i, order, start_ns, end_ns, model.market.price_increment,
                                    kinds, all_venues, market))

    # The timeline.
    group_types = {g.name: ("plugin" if g.kind == "plugin" else g.type) for g in groups}
    plugin_parameters = {g.name: tuple(getattr(load_agent(g.type), "TIMELINE_PARAMETERS", ()))
                         for g in groups if g.kind == "plugin"}
    try:
        timeline = check_timeline(
            [(f"timeline[{i}]", s.at_s, s.target, s.changes) for i, s in enumerate(model.timeline)],
            start_ns=start_ns, end_ns=end_ns, venues=kinds, groups=group_types,
            group_settings={g.name: g.settings for g in groups},
            plugin_parameters=plugin_parameters)
    except TimelineProblem as problem:
        raise _Problem(problem.path, problem.problem) from None

    return Scenario(name, file, model.description, model.seed, start_ns, end_ns, market,
                    tuple(groups), tuple(parents), timeline)


_POPULATION_NAMES = {"noise": "noise{}", "informed": "informed{}", "market-maker": "mm{}",
                     "dealer-client": "client{}"}


def _group_spec(path: str, group: Any, populations: dict[str, Any], dark_names: list[str],
                lit_names: list[str], all_venues: list[str]) -> AgentGroupSpec:
    settings = {k: v for k, v in group.model_dump().items() if k not in ("name", "type")}
    if group.type in POPULATIONS:
        if group.type in populations:
            raise _Problem(f"{path}.type", f"the market has one {group.type!r} population, "
                           f"already defined by {populations[group.type][0]}")
        populations[group.type] = (path, group)
        names = tuple(_POPULATION_NAMES[group.type].format(i) for i in range(group.count))
        return AgentGroupSpec(group.name, group.type, group.count, "population",
                              Params(settings), names)
    names = tuple(f"{group.name}-{i}" for i in range(group.count))
    if group.type in EXTRA_GROUPS:
        if group.pool not in dark_names:
            raise _Problem(f"{path}.pool", f"unknown dark pool {group.pool!r}: expected one "
                           f"of {', '.join(dark_names)}")
        latency = (tuple(group.latency_ns) if group.type == "dark-provider"
                   else (group.latency_ns, group.latency_ns))
        return AgentGroupSpec(group.name, group.type, group.count, group.type,
                              Params(settings), names, pool=group.pool,
                              latency_ns=latency)
    # A plug-in: "module:Class".
    try:
        cls = load_agent(group.type)
    except AgentSpecError as error:
        raise _Problem(f"{path}.type", str(error)) from None
    params = dict(group.params)
    _check_signature(f"{path}.params", f"agent {group.type!r}", cls, params, skip=1)
    for name in (f"{group.name}-probe", *names):
        try:
            cls(name, **copy.deepcopy(params))
        except Exception as error:  # a plug-in may raise anything: report it, with its type
            raise _Problem(f"{path}.params", agent_build_problem(group.type, group.name, name,
                                                                 error)) from None
    venues = tuple(group.venues) if group.venues is not None else tuple(all_venues)
    for j, venue in enumerate(venues):
        if venue not in all_venues:
            raise _Problem(f"{path}.venues[{j}]", f"unknown venue {venue!r}: expected one of "
                           f"{', '.join(all_venues)}")
    return AgentGroupSpec(group.name, group.type, group.count, "plugin",
                          Params(settings), names, venues=venues,
                          market_data=group.market_data, latency_ns=tuple(group.latency_ns),
                          params=Params(params))


def agent_build_problem(type_: str, group: str, name: str, error: Exception) -> str:
    """What a plug-in agent constructor's `error` says, as a `ScenarioError` problem (at load
    and, should a constructor fail only then, when the run builds the group)."""
    which = "" if name == f"{group}-probe" else f" (building {name!r} of group {group!r})"
    return (f"agent {type_!r} rejected its parameters{which}: "
            f"{type(error).__name__}: {error}")


def _check_signature(path: str, what: str, cls: type, params: Mapping[str, Any],
                     skip: int, required: bool = True) -> None:
    """Unknown or missing keyword parameters of `cls(...)` (after `skip` positional ones
    the loader passes itself)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return
    parameters = list(signature.parameters.values())[skip:]
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = ", ".join(accepted) if accepted else "none"
            raise _Problem(f"{path}.{key}", f"unknown parameter of {what} (takes {listed}){hint}")
    for p in parameters if required else ():
        if p.default is p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) \
                and p.name not in params:
            raise _Problem(path, f"{what} needs parameter {p.name!r}")


def _market_config(model: ScenarioFile, reference: int, populations: dict[str, Any]) -> MarketConfig:
    v, f, m = model.venues, model.fundamental, model.market

    def population(kind: str, cls: type, **convert: Any) -> Any:
        if kind not in populations:
            return cls(count=0)
        group = populations[kind][1]
        values = {k: val for k, val in group.model_dump().items() if k not in ("name", "type")}
        values["latency_ns"] = tuple(values["latency_ns"])
        values.update({k: fn(values[k]) for k, fn in convert.items()})
        return cls(**values)

    dark = [DarkPoolConfig(**x.model_dump()) for x in v.dark]
    dealer = v.dealer.model_dump()
    dealer["tiers"] = tuple(tuple(t) for t in dealer["tiers"])
    feed = v.feed
    try:
        return MarketConfig(
            price_increment=m.price_increment,
            reference_price=reference,
            lit_venues=tuple(LitVenueConfig(**x.model_dump()) for x in v.lit),
            feed=FeedConfig(feed.name, feed.venue_latency_ns,
                            Latency(feed.latency_ns, feed.jitter_ns),
                            feed.venue_subscriber_latency_ns),
            dark_pool=dark[0],
            extra_dark_pools=tuple(dark[1:]),
            dealer=DealerConfig(**dealer),
            fundamental=FundamentalConfig(**{**f.model_dump(), "volatility_timescales_s": tuple(
                f.volatility_timescales_s)}),
            noise=population("noise", NoiseConfig),
            informed=population("informed", InformedConfig,
                                dark_time_in_force=lambda x: TimeInForce(x)),
            market_makers=population("market-maker", MarketMakerConfig),
            dealer_clients=population("dealer-client", DealerClientConfig),
            agent_jitter_ns=m.agent_jitter_ns,
            record_events=True,
        )
    except ValueError as error:  # the schema should have caught it: say where it came from
        raise _Problem("(market)", str(error)) from None


def make_schedule(spec: Spec, quantity: int, start_ns: int, end_ns: int) -> Schedule:
    """Build the schedule a `Spec` names for one parent order."""
    p = dict(spec.params)
    if spec.type == "twap":
        return TWAP(quantity, start_ns, end_ns)
    if spec.type == "vwap":
        profile = p.get("profile")
        if profile is None:
            profile = u_shaped_profile(p.get("buckets", 10), p.get("edge_ratio", 3.0))
        return VWAP(quantity, start_ns, end_ns, [tuple(x) for x in profile])
    if spec.type == "pov":
        return POV(quantity, start_ns, end_ns, p["rate"], min_rate=p.get("min_rate"),
                   max_rate=p.get("max_rate"), complete_at_end=p.get("complete_at_end", False))
    if spec.type == "is":
        return ImplementationShortfall(quantity, start_ns, end_ns,
                                       risk_aversion=p["risk_aversion"],
                                       volatility=p["volatility"],
                                       temporary_impact=p["temporary_impact"])
    raise ValueError(f"unknown schedule {spec.type!r}")


def _parent_spec(path: str, index: int, order: ParentOrderModel, start_ns: int, end_ns: int,
                 increment: float, kinds: Mapping[str, str], all_venues: list[str],
                 market: MarketConfig) -> ParentOrderSpec:
    router = order.router
    venues = tuple(router.venues) if router.venues is not None else tuple(all_venues)
    for j, venue in enumerate(venues):
        if venue not in kinds:
            raise _Problem(f"{path}.router.venues[{j}]", f"unknown venue {venue!r}: expected "
                           f"one of {', '.join(all_venues)}")
        if venues.index(venue) != j:
            raise _Problem(f"{path}.router.venues[{j}]", f"venue {venue!r} is listed twice")
    if order.policy.venues is not None:
        for j, venue in enumerate(order.policy.venues):
            if venue not in venues:
                raise _Problem(f"{path}.policy.venues[{j}]", f"venue {venue!r} is not among "
                               f"the router's venues ({', '.join(venues)})")
    if router.feature_venue is not None and (router.feature_venue not in venues
                                             or kinds[router.feature_venue] != "lit"):
        raise _Problem(f"{path}.router.feature_venue", f"must be a lit venue of the router, "
                       f"got {router.feature_venue!r}")
    parent_start = start_ns if order.start_s is None else _seconds(order.start_s)
    parent_end = end_ns if order.end_s is None else _seconds(order.end_s)
    if not start_ns <= parent_start < end_ns:
        raise _Problem(f"{path}.start_s", f"must be within the run [{start_ns / NS_PER_S:g}, "
                       f"{end_ns / NS_PER_S:g}) s, got {order.start_s!r}")
    if not parent_start < parent_end <= end_ns:
        raise _Problem(f"{path}.end_s", f"must be after start_s and at most the run's end "
                       f"({end_ns / NS_PER_S:g} s), got {order.end_s!r}")
    limit = (None if order.limit_price is None
             else _ticks(f"{path}.limit_price", order.limit_price, increment))
    p = order.policy
    try:
        policy = ExecutionPolicy(
            venues=None if p.venues is None else tuple(p.venues), max_child_size=p.max_child_size,
            max_participation=p.max_participation, participation_allowance=p.participation_allowance,
            collar_ticks=p.collar_ticks)
        parent = ParentOrder(index + 1, Side.BUY if order.side == "buy" else Side.SELL,
                             order.quantity, parent_start, parent_end, limit, order.urgency, policy)
    except ValueError as error:
        raise _Problem(path, str(error)) from None

    schedule_values = order.schedule.model_dump()
    schedule = Spec(schedule_values.pop("type"), Params(schedule_values))
    try:
        make_schedule(schedule, order.quantity, parent_start, parent_end)
    except ValueError as error:
        raise _Problem(f"{path}.schedule", str(error)) from None

    allocator = _allocator_spec(f"{path}.allocator", order.allocator, venues, kinds, market)
    lag = router.max_lag_s
    return ParentOrderSpec(
        order.name, parent, schedule, allocator, venues, _seconds(router.slice_interval_s),
        _seconds(router.markout_s), _seconds(router.cleanup_s), router.cost_scale_bps,
        router.latency_ns, router.feature_venue,
        _seconds(lag) if isinstance(lag, float) else lag)


def _allocator_spec(path: str, model: AllocatorModel, venues: tuple[str, ...],
                    kinds: Mapping[str, str], market: MarketConfig) -> Spec:
    try:
        cls = load_allocator(model.type)
    except AllocatorSpecError as error:
        raise _Problem(f"{path}.type", str(error)) from None
    params = dict(model.params)
    _check_signature(f"{path}.params", f"allocator {model.type!r}", cls, params, skip=2,
                     required=False)
    # A `lit` / `dark` list the file gives names the router's venues of that kind (an
    # allocator cannot tell a lit venue from a pool by its name: it takes the list's word).
    names = {"lit": "a lit venue", "dark": "a dark pool", "dealer": "a dealer"}
    for kind in (k for k in ("lit", "dark") if k in params):
        listed, where, wanted = params[kind], f"{path}.params.{kind}", names[kind]
        if not isinstance(listed, list) or not listed:
            raise _Problem(where, f"must be a non-empty array of venue names, each {wanted}, "
                           f"got {listed!r}")
        for j, venue in enumerate(listed):
            at = f"{where}[{j}]"
            if not isinstance(venue, str) or venue not in kinds:
                raise _Problem(at, f"unknown venue {venue!r}: expected {wanted} of the file")
            if kinds[venue] != kind:
                raise _Problem(at, f"{venue!r} is {names[kinds[venue]]}, expected {wanted}")
            if venue not in venues:
                raise _Problem(at, f"{venue!r} is not among the router's venues "
                               f"({', '.join(venues)})")
            if listed.index(venue) != j:
                raise _Problem(at, f"{venue!r} is listed twice")
    # Convenience: the venue lists an allocator asks for by name, from the router's venues.
    accepted = _keyword_names(cls)
    lit = [v for v in venues if kinds[v] == "lit"]
    dark = [v for v in venues if kinds[v] == "dark"]
    if "lit" in accepted and "lit" not in params and lit:
        params["lit"] = lit
    if "dark" in accepted and "dark" not in params and dark:
        params["dark"] = dark
    if "lot_size" in accepted and "lot_size" not in params:
        params["lot_size"] = market.dark_pool.lot_size
    _check_signature(f"{path}.params", f"allocator {model.type!r}", cls, params, skip=2)
    try:
        make_allocator(model.type, list(venues), RngStreams(0).stream("probe"), params)
    except AllocatorSpecError as error:
        raise _Problem(f"{path}.params", str(error)) from None
    return Spec(model.type, Params(params))


def _keyword_names(cls: type) -> list[str]:
    try:
        return list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return []

