"""The regime-shift timeline: named parameter changes applied at stated simulated times.

Concept. A scenario's `[[timeline]]` entries each say "at `at_s`, on `target`, set these
parameters". A target is
- `venue:NAME`: a lit venue, a dark pool or the dealer (fees, order-entry latency, a dark
  pool's or the dealer's reference delay, the dealer's last look and pricing);
- `agents:GROUP`: every agent of one agent group (market makers stop quoting, dark liquidity
  providers withdraw, latency arbitrageurs switch on, noise flow changes its mix...);
- `fundamental`: the fundamental value process (`FundamentalValue.set_parameters` at the
  shift time; with stochastic volatility on, a volatility or jump-intensity shift moves the
  regime's *base* level, which the stochastic multiplier keeps modulating).
`VENUE_PARAMETERS`, `GROUP_PARAMETERS` and `FUNDAMENTAL_PARAMETERS` list what may be set on
each kind of target and check each value. A plug-in agent class opts in by naming its
settable attributes in a class attribute `TIMELINE_PARAMETERS` (a tuple of names; values are
set with `setattr` as given).

Validation happens once, at load (`check_timeline`): an unknown target, an unknown parameter,
a bad value, or a second entry setting the same parameter of the same target at the same
instant raises `TimelineProblem` naming the key path (`timeline[2].set.fee`), never at run
time. A few checks follow the timeline in time order: a noise group's market and
cancel fractions must still sum to at most 1 after each shift.

Ordering invariant. `schedule_timeline` puts one delivery per entry on the simulation's
clock at `at_ns` (the loop's (time, sequence) key): entries due at the same instant apply in
file order, and each applies before anything scheduled later for that instant. Each
application is recorded in the event log as a `RegimeShifted` event ("out" at "timeline"),
so the log itself shows when each shift happened.

What a change means.
- `latency_ns` on a venue is its distance, as in the market config: the difference from the
  current distance is added to both links of every session with the venue (order entry and
  replies). Market data from the venue keeps the latency it was subscribed with.
- `reference_delay_ns` on a dark pool or the dealer is extra delay on the consolidated-feed
  link the venue prices from (0 at the start): the venue's reference goes stale, which is
  what makes a dark pool toxic. Latency arbitrageurs aimed at that pool hold the pool's view
  (their pool-view link gets the same delay). Links stay FIFO: a lowered delay never lets a
  newer NBBO overtake an older one.
- `quoting = false` on market makers cancels all their quotes at once (and `true` resumes);
  other market-maker changes also requote at once.
- `active = false` on dark liquidity providers stops them resting in their pool and cancels
  what they rest there; `true` resumes.
- Dealer parameters are validated by the dealer itself and take effect for the next quote or
  accept; the stream is re-quoted at once.

Known limits. Parameters that only take effect at a random-number block refill (agents'
arrival rates) or that would need a timer started (the dealer's refresh) are not settable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from agents.agent import Agent
from agents.market_maker import MarketMaker
from market.event_log import EventLog
from market.fundamental import FundamentalValue
from market.link import Link
from scenarios.market import VolatilityRegime
from scenarios.schema import MAX_SECONDS
from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform
from venues.venue import Venue

__all__ = [
    "FUNDAMENTAL_PARAMETERS",
    "GROUP_PARAMETERS",
    "VENUE_PARAMETERS",
    "RegimeShifted",
    "Targets",
    "TimelineEntry",
    "TimelineProblem",
    "check_timeline",
    "schedule_timeline",
]

NS_PER_S = 1_000_000_000

Check = Callable[[Any], Any]  # returns the value to set, or raises ValueError(problem)


class TimelineProblem(ValueError):
    """A timeline entry that cannot apply; `path` is its key path in the scenario file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --- value checks -------------------------------------------------------------------------


def _got(value: Any) -> str:
    return f"got {value!r}"


def _int(low: int | None = None) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int or (low is not None and value < low):
            bound = f" >= {low}" if low is not None else ""
            raise ValueError(f"must be an integer{bound}, {_got(value)}")
        return value
    return check


def _number(low: float = 0.0, *, positive: bool = False, high: float | None = None) -> Check:
    def check(value: Any) -> float:
        ok = (not isinstance(value, bool) and isinstance(value, (int, float))
              and math.isfinite(value) and (value > low if positive else value >= low)
              and (high is None or value <= high))
        if not ok:
            bound = f"> {low:g}" if positive else f">= {low:g}"
            if high is not None:
                bound = f"in {'(' if positive else '['}{low:g}, {high:g}]"
            raise ValueError(f"must be a finite number {bound}, {_got(value)}")
        return float(value)
    return check


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError(f"must be true or false, {_got(value)}")
    return value


def _tiers(value: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of [quantity, half_spread] pairs, "
                         f"{_got(value)}")
    previous = (0, 0)
    tiers = []
    for index, tier in enumerate(value):
        if (not isinstance(tier, list) or len(tier) != 2
                or any(type(v) is not int for v in tier)):
            raise ValueError(f"[{index}] must be a pair of integers [quantity, half_spread], "
                             f"{_got(tier)}")
        quantity, half = tier
        if quantity <= previous[0] or half < previous[1]:
            raise ValueError(f"[{index}] {tier!r}: quantities must strictly increase and "
                             "half-spreads must not decrease")
        previous = (quantity, half)
        tiers.append((quantity, half))
    return tuple(tiers)


_FRACTION = _number(0.0, high=1.0)

VENUE_PARAMETERS: dict[str, dict[str, Check]] = {
    "lit": {"maker_fee": _int(), "taker_fee": _int(), "latency_ns": _int(0)},
    "dark": {"fee": _int(), "latency_ns": _int(0), "reference_delay_ns": _int(0)},
    "dealer": {
        "fee_per_share": _int(), "last_look_hold_ns": _int(0),
        "last_look_threshold_ticks": _int(0), "skew_per_share": _number(0.0),
        "tiers": _tiers, "quote_ttl_ns": _int(0), "rfq_ttl_ns": _int(0),
        "latency_ns": _int(0), "reference_delay_ns": _int(0),
    },
}

GROUP_PARAMETERS: dict[str, dict[str, Check]] = {
    "noise": {"market_fraction": _FRACTION, "cancel_fraction": _FRACTION,
              "dark_fraction": _FRACTION},
    "informed": {"threshold_ticks": _number(positive=True), "noise_ticks": _number(0.0),
                 "dark_fraction": _FRACTION},
    "market-maker": {
        "quoting": _bool, "quote_lots": _int(1), "gamma": _number(positive=True),
        "k": _number(positive=True), "sigma_min": _number(positive=True),
        "max_inventory_lots": _int(1), "flow_skew": _number(0.0),
        "refresh_s": _number(positive=True, high=MAX_SECONDS),
    },
    "dealer-client": {},
    "dark-provider": {"active": _bool},
    "latency-arbitrageur": {"active": _bool, "threshold_ticks": _number(positive=True),
                            "max_lots": _int(1), "cooldown_ns": _int(0)},
}

FUNDAMENTAL_PARAMETERS: dict[str, Check] = {
    "volatility": _number(0.0), "jump_intensity": _number(0.0), "jump_std": _number(0.0),
    "reversion_rate": _number(0.0),
}


def _plugin_check(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError(f"must be a plain value or a list, {_got(value)}")
    return value


# --- entries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One validated shift: at `at_ns`, on `kind` ("venue", "agents", "fundamental") `name`,
    set `changes` (parameter, value) in file order."""

    at_ns: int
    kind: str
    name: str
    changes: tuple[tuple[str, Any], ...]
    path: str = ""  # key path in the file ("timeline[2]"), for messages

    @property
    def target(self) -> str:
        return self.kind if self.kind == "fundamental" else f"{self.kind}:{self.name}"


class RegimeShifted(NamedTuple):
    """Logged when a timeline entry applied (event "out" at "timeline")."""

    t_ns: int
    target: str
    changes: dict[str, Any]


def check_timeline(
    raw: Sequence[tuple[str, float, str, Mapping[str, Any]]],
    *,
    start_ns: int,
    end_ns: int,
    venues: Mapping[str, str],
    groups: Mapping[str, str],
    group_settings: Mapping[str, Mapping[str, Any]],
    plugin_parameters: Mapping[str, Sequence[str]],
) -> tuple[TimelineEntry, ...]:
    """Validate entries given as (path, at_s, target, set-table).

    `venues` maps venue name -> kind ("lit", "dark", "dealer"); `groups` group name -> type
    (a key of `GROUP_PARAMETERS`, or "plugin"); `group_settings` each group's initial
    settings (for the checks that follow the timeline in time order); `plugin_parameters`
    each plug-in group's settable names. Returns the entries in application order (time,
    then file order)."""
    entries: list[TimelineEntry] = []
    for path, at_s, target, changes in raw:
        at_ns = round(at_s * NS_PER_S)
        if not start_ns <= at_ns < end_ns:
            raise TimelineProblem(f"{path}.at_s", f"must be within the run "
                                  f"[{start_ns / NS_PER_S:g}, {end_ns / NS_PER_S:g}) s, "
                                  f"got {at_s!r}")
        kind, name, allowed = _resolve(f"{path}.target", target, venues, groups,
                                       plugin_parameters)
        if not changes:
            raise TimelineProblem(f"{path}.set", "must set at least one parameter")
        checked = []
        for parameter, value in changes.items():
            where = f"{path}.set.{parameter}"
            check = allowed.get(parameter)
            if check is None:
                what = {"venue": f"venue {name} ({venues.get(name)})",
                        "agents": f"agent group {name} ({groups.get(name)})",
                        "fundamental": "the fundamental"}[kind]
                names = ", ".join(allowed) if allowed else "none"
                raise TimelineProblem(where, f"unknown parameter for {what}: settable ones "
                                      f"are {names}")
            try:
                checked.append((parameter, check(value)))
            except ValueError as error:
                raise TimelineProblem(where, str(error)) from None
        entries.append(TimelineEntry(at_ns, kind, name, tuple(checked), path))
    _check_no_conflict(entries)
    ordered = sorted(entries, key=lambda e: e.at_ns)  # stable: file order at one instant
    _check_sequence(ordered, groups, group_settings)
    return tuple(ordered)


def _check_no_conflict(entries: Sequence[TimelineEntry]) -> None:
    """Two entries that set one parameter of one target at one instant: only file order
    would decide which holds, which is almost surely a slip in the file, so it is refused."""
    first: dict[tuple[int, str, str], str] = {}
    for entry in entries:
        for parameter, _ in entry.changes:
            key = (entry.at_ns, entry.target, parameter)
            if key in first:
                raise TimelineProblem(
                    f"{entry.path}.set.{parameter}",
                    f"{first[key]} already sets {parameter} of {entry.target} at "
                    f"{entry.at_ns / NS_PER_S:g} s: set it once")
            first[key] = entry.path


def _resolve(path: str, target: Any, venues: Mapping[str, str], groups: Mapping[str, str],
             plugin_parameters: Mapping[str, Sequence[str]]) -> tuple[str, str, dict[str, Check]]:
    usage = "expected 'venue:NAME', 'agents:GROUP' or 'fundamental'"
    if not isinstance(target, str):
        raise TimelineProblem(path, f"{usage}, got {target!r}")
    if target == "fundamental":
        return "fundamental", "", FUNDAMENTAL_PARAMETERS
    kind, _, name = target.partition(":")
    if kind == "venue":
        venue_kind = venues.get(name)
        if venue_kind is None:
            raise TimelineProblem(path, f"unknown venue {name!r}: expected one of "
                                  f"{', '.join(venues)}")
        return "venue", name, VENUE_PARAMETERS[venue_kind]
    if kind == "agents":
        group_type = groups.get(name)
        if group_type is None:
            known = ", ".join(groups) if groups else "none defined"
            raise TimelineProblem(path, f"unknown agent group {name!r}: expected one of "
                                  f"{known}")
        if group_type == "plugin":
            return "agents", name, {p: _plugin_check for p in plugin_parameters.get(name, ())}
        return "agents", name, GROUP_PARAMETERS[group_type]
    raise TimelineProblem(path, f"{usage}, got {target!r}")


def _check_sequence(entries: Sequence[TimelineEntry], groups: Mapping[str, str],
                    group_settings: Mapping[str, Mapping[str, Any]]) -> None:
    state = {name: dict(settings) for name, settings in group_settings.items()}
    for entry in entries:
        if entry.kind != "agents":
            continue
        settings = state.setdefault(entry.name, {})
        changes = dict(entry.changes)
        group_type = groups[entry.name]
        if (group_type == "noise" and "dark_fraction" in changes
                and changes["dark_fraction"] > 0 and not settings.get("dark_fraction")):
            raise TimelineProblem(f"{entry.path}.set.dark_fraction",
                                  "a noise group that starts with dark_fraction 0 has no dark "
                                  "venue to rest in: it cannot be raised")
        settings.update(changes)
        if group_type == "noise":
            total = settings.get("market_fraction", 0.0) + settings.get("cancel_fraction", 0.0)
            if total > 1:
                raise TimelineProblem(f"{entry.path}.set",
                                      "market_fraction + cancel_fraction would be "
                                      f"{total:g} from then on, must be <= 1")
        if group_type == "market-maker":
            sigma_max = settings.get("sigma_max")
            if sigma_max is not None and settings.get("sigma_min", 0.0) > sigma_max:
                raise TimelineProblem(f"{entry.path}.set.sigma_min",
                                      f"must be <= the group's sigma_max ({sigma_max:g})")


# --- applying -------------------------------------------------------------------------------


@dataclass
class Targets:
    """What the timeline may change in a built market (the loader fills it in)."""

    venues: Mapping[str, Venue]
    distance_ns: dict[str, int]  # venue -> its current distance (latency_ns)
    reference_links: Mapping[str, Sequence[tuple[Link, int]]]  # venue -> (link, base ns)
    groups: Mapping[str, Sequence[Agent]]
    group_types: Mapping[str, str]
    fundamental: FundamentalValue
    volatility_regime: VolatilityRegime | None
    dark_pool_of: Mapping[str, str]  # dark-provider group -> its pool
    event_log: EventLog | None


def schedule_timeline(clock: Any, targets: Targets, entries: Sequence[TimelineEntry]) -> None:
    """One clock delivery per entry at its time (see the module docstring)."""
    for entry in entries:
        clock.deliver_at(entry.at_ns, lambda _, e=entry: apply_entry(clock, targets, e), None)


def apply_entry(clock: Any, targets: Targets, entry: TimelineEntry) -> None:
    now: int = clock.now_ns()
    if entry.kind == "venue":
        _apply_venue(targets, entry)
    elif entry.kind == "agents":
        _apply_group(now, targets, entry)
    else:
        _apply_fundamental(now, targets, entry)
    if targets.event_log is not None:
        targets.event_log.record(now, "out", "timeline",
                                 RegimeShifted(now, entry.target, dict(entry.changes)))


def _apply_venue(targets: Targets, entry: TimelineEntry) -> None:
    venue = targets.venues[entry.name]
    requote = False
    for parameter, value in entry.changes:
        if parameter == "latency_ns":
            delta = value - targets.distance_ns[entry.name]
            targets.distance_ns[entry.name] = value
            for link in venue.session_links():
                link.fixed_ns = max(0, link.fixed_ns + delta)
        elif parameter == "reference_delay_ns":
            for link, base in targets.reference_links.get(entry.name, ()):
                link.fixed_ns = base + value
        elif isinstance(venue, LitExchange):
            setattr(venue.book, parameter, value)  # maker_fee, taker_fee
        elif isinstance(venue, DarkPool):
            setattr(venue, parameter, value)  # fee
        elif isinstance(venue, SingleDealerPlatform):
            setattr(venue, parameter, value)  # validated by the dealer
            requote = True
    if requote:
        assert isinstance(venue, SingleDealerPlatform)
        venue.requote()


def _apply_group(now: int, targets: Targets, entry: TimelineEntry) -> None:
    agents = targets.groups[entry.name]
    group_type = targets.group_types[entry.name]
    for agent in agents:
        for parameter, value in entry.changes:
            if group_type == "dark-provider" and parameter == "active":
                pool = targets.dark_pool_of[entry.name]
                setattr(agent, "dark_fraction", 1.0 if value else 0.0)
                if not value:
                    for order_id, venue in list(agent.live_orders.items()):
                        if venue == pool:
                            agent.cancel_order(order_id)
            else:
                setattr(agent, parameter, value)
        if isinstance(agent, MarketMaker):
            agent.requote(now)


def _apply_fundamental(now: int, targets: Targets, entry: TimelineEntry) -> None:
    changes = dict(entry.changes)
    regime = targets.volatility_regime
    if regime is not None:
        # The stochastic regime re-sets volatility and jump intensity every step from its
        # base levels: shift the base, and apply base x multiplier now.
        multiplier = regime.multiplier
        if "volatility" in changes:
            regime.base_volatility = changes["volatility"]
            changes["volatility"] = changes["volatility"] * multiplier
        if "jump_intensity" in changes:
            regime.base_jump_intensity = changes["jump_intensity"]
            changes["jump_intensity"] = changes["jump_intensity"] * multiplier * multiplier
    targets.fundamental.set_parameters(now, **changes)
