"""The scenario file's schema: pydantic v2 models of a TOML scenario, and their errors as
one line naming the file, the key path and the problem.

A scenario file is validated once, at load, in two passes (`scenarios.loader.load_scenario`
runs both): this module is pass 1 -- structure, types and ranges -- and
`scenarios.scenario.compile_scenario` is pass 2 -- cross references, plug-ins, the timeline
-- which turns the file into a frozen `Scenario` built on the existing `MarketConfig`.

Pass 1. `extra="forbid"` on every table: an unknown key is an error, with a "did you mean"
taken from the keys allowed where it stands. Strict types: no "3" for 3, no 1.5 (or 3.0)
for an integer, no 1 for true; an integer is accepted where a number is; no inf or nan.
Ranges on every number (> 0, >= 0, in [0, 1]) and a few checks within one table (a noise
group's market + cancel fractions <= 1, a dealer's tiers growing). The first problem is
raised as ONE `ScenarioError`, saying how many more there are:

    scenarios/x.toml: venues.lit[2].tick_size: must be > 0, got -1
    scenarios/x.toml: agents[1].rte: unknown key; did you mean 'rate'?

Units. Times are seconds (`*_s`, decimals allowed) or integer nanoseconds (`*_ns`); prices
are dollars (`market.reference_price`, a parent's `limit_price`) and become integer ticks of
`market.price_increment`; fees, spreads, tick sizes and thresholds are integer ticks (as in
`MarketConfig`); quantities are shares, `*_lots` in lots. Defaults are `MarketConfig`'s own
(read from its dataclasses, one source of truth), except that a population without a group
in the file is absent.

Bounds that keep a valid file runnable: every seconds field becomes integer nanoseconds, so it
is at most `MAX_SECONDS` (1e9 s, about 31 years: start + duration stays far inside int64 ns)
and, where it must be > 0, at least one nanosecond (a smaller value would round to 0 ns);
`seed` is at most `MAX_SEED` (2**64 - 1: the event log's header holds it as a JSON integer).

Agent groups (`[[agents]]`), by `type`:
- the market's own populations, built and wired by `build_market`, at most one group each:
  "noise", "informed", "market-maker", "dealer-client" (the fields of `NoiseConfig`,
  `InformedConfig`, `MarketMakerConfig`, `DealerClientConfig`);
- "dark-provider": noise traders that rest every limit arrival midpoint-pegged in one dark
  `pool` (a dark pool's liquidity, as in the regime-shift study);
- "latency-arbitrageur": traders of one dark `pool`'s stale midpoint (`active` may start
  false for the timeline to switch on);
- "module:Class": a plug-in `Agent` subclass, built as `Class(name, **params)`.
Schedules by `type` ("twap", "vwap", "pov", "is"); an allocator by `type` (a registry key or
"module:Class") and `params`; both also as a plain string (`schedule = "twap"`).

A router's catch-up (`[parent_orders.router]`, `max_lag_s`): shares the schedule wanted done
more than `max_lag_s` seconds ago and neither filled nor working are taken at the lit venues
before the allocator gets the rest of the slice. Absent or "auto": the router's default (2
slices for an urgent parent, urgency >= 0.5; none for a passive one); a number of seconds
>= 0; `false` turns it off (TOML has no null; `true` is refused as saying nothing).

Union tags. Agent groups and schedules are tagged unions whose tags are written "<...>"
(`<noise>`), so that `format_path` can drop them from an error's location: the path shown
is always a path of the file.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Strict,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from market.errors import SorsimError
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

__all__ = [
    "AGENT_TYPES",
    "EXTRA_GROUPS",
    "MAX_SECONDS",
    "MAX_SEED",
    "POPULATIONS",
    "SCHEDULES",
    "AgentGroup",
    "AllocatorModel",
    "FixClientModel",
    "FixModel",
    "KnownGroup",
    "ParentOrderModel",
    "ScenarioError",
    "ScenarioFile",
    "ScheduleModel",
    "format_path",
    "validate_data",
]

POPULATIONS = ("noise", "informed", "market-maker", "dealer-client")
EXTRA_GROUPS = ("dark-provider", "latency-arbitrageur")
AGENT_TYPES = POPULATIONS + EXTRA_GROUPS
MAX_SEED = 2**64 - 1  # the event log (orjson) writes integers up to 64 bits
MAX_SECONDS = 1e9  # any seconds field; its ns (1e18) stay inside int64 even added to another


class ScenarioError(SorsimError, ValueError):
    """A scenario file that cannot be run: the message names the file, the key path and the
    problem (`file`, `path` and `problem` hold the parts)."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path}: {problem}" if path else f"{file}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem


# --- field types ----------------------------------------------------------------------------


Int = Annotated[int, Strict()]
PosInt = Annotated[int, Strict(), Field(gt=0)]
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PosNum = Annotated[float, Strict(), Field(gt=0)]  # an integer is accepted too
NonNegNum = Annotated[float, Strict(), Field(ge=0)]
Fraction01 = Annotated[float, Strict(), Field(ge=0, le=1)]
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
_NAME = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
Name = Annotated[str, Strict(), Field(min_length=1, max_length=64, pattern=_NAME)]


def _seed_fits(value: int) -> int:
    if value > MAX_SEED:
        raise PydanticCustomError("seed_range", "must be at most 2**64 - 1 ({high}), got {value}",
                                  {"high": MAX_SEED, "value": value})
    return value


def _one_ns_or_more(value: float) -> float:
    """A positive time that would round to 0 ns is refused rather than silently zeroed."""
    if value < 0.5e-9:
        raise PydanticCustomError("sub_ns", "must be at least 1e-09 s (one nanosecond), got "
                                  "{value}", {"value": value})
    return value


Seed = Annotated[int, Strict(), Field(ge=0), AfterValidator(_seed_fits)]
# Seconds that become integer ns: finite, <= MAX_SECONDS; positive ones at least 1 ns.
PosSeconds = Annotated[float, Strict(), Field(gt=0, le=MAX_SECONDS),
                       AfterValidator(_one_ns_or_more)]
NonNegSeconds = Annotated[float, Strict(), Field(ge=0, le=MAX_SECONDS)]


def _ordered_range(value: list[int]) -> list[int]:
    if value[0] > value[1]:
        raise PydanticCustomError("range_order", "must be [low, high] with low <= high, got "
                                  "{value}", {"value": value})
    return value


LatencyRange = Annotated[list[NonNegInt], Field(min_length=2, max_length=2),
                         AfterValidator(_ordered_range)]


def _d(cls: type, name: str) -> Any:
    """The default of dataclass `cls`'s field `name` (one source of truth for defaults)."""
    for f in fields(cls):
        if f.name == name:
            value = f.default
            return list(value) if isinstance(value, tuple) else value
    raise KeyError(name)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- venues ---------------------------------------------------------------------------------


class LitVenueModel(_Model):
    name: Name
    tick_size: PosInt = _d(LitVenueConfig, "tick_size")
    lot_size: PosInt = _d(LitVenueConfig, "lot_size")
    maker_fee: Int = _d(LitVenueConfig, "maker_fee")
    taker_fee: Int = _d(LitVenueConfig, "taker_fee")
    latency_ns: NonNegInt = _d(LitVenueConfig, "latency_ns")
    l2_depth: PosInt = _d(LitVenueConfig, "l2_depth")


class DarkPoolModel(_Model):
    name: Name = _d(DarkPoolConfig, "name")
    auction_interval_ns: NonNegInt = _d(DarkPoolConfig, "auction_interval_ns")
    print_delay_ns: NonNegInt = _d(DarkPoolConfig, "print_delay_ns")
    fee: Int = _d(DarkPoolConfig, "fee")
    tick_size: PosInt = _d(DarkPoolConfig, "tick_size")
    lot_size: PosInt = _d(DarkPoolConfig, "lot_size")
    latency_ns: NonNegInt = _d(DarkPoolConfig, "latency_ns")


def _tiers_ok(value: list[tuple[int, int]]) -> list[tuple[int, int]]:
    previous = (0, 0)
    for quantity, half in value:
        if quantity <= previous[0] or half < previous[1]:
            raise PydanticCustomError(
                "tiers", "quantities must strictly increase and half-spreads must not "
                "decrease, got {value}", {"value": [list(t) for t in value]})
        previous = (quantity, half)
    return value


class DealerModel(_Model):
    name: Name = _d(DealerConfig, "name")
    tiers: Annotated[list[tuple[PosInt, NonNegInt]], Field(min_length=1),
                     AfterValidator(_tiers_ok)] = list(_d(DealerConfig, "tiers"))
    tick_size: PosInt = _d(DealerConfig, "tick_size")
    skew_per_share: NonNegNum = _d(DealerConfig, "skew_per_share")
    quote_ttl_ns: NonNegInt = _d(DealerConfig, "quote_ttl_ns")
    rfq_ttl_ns: NonNegInt = _d(DealerConfig, "rfq_ttl_ns")
    last_look_hold_ns: NonNegInt = _d(DealerConfig, "last_look_hold_ns")
    last_look_threshold_ticks: NonNegInt = _d(DealerConfig, "last_look_threshold_ticks")
    fee_per_share: Int = _d(DealerConfig, "fee_per_share")
    refresh_ns: NonNegInt = _d(DealerConfig, "refresh_ns")
    latency_ns: NonNegInt = _d(DealerConfig, "latency_ns")


class FeedModel(_Model):
    name: Name = _d(FeedConfig, "name")
    venue_latency_ns: NonNegInt = _d(FeedConfig, "venue_latency_ns")
    latency_ns: NonNegInt = FeedConfig().latency.fixed_ns  # publication stage, fixed part
    jitter_ns: NonNegInt = FeedConfig().latency.jitter_ns  # its mean exponential jitter
    venue_subscriber_latency_ns: NonNegInt = _d(FeedConfig, "venue_subscriber_latency_ns")


def _default_lit() -> list[LitVenueModel]:
    return [LitVenueModel(**asdict(v)) for v in MarketConfig().lit_venues]


class VenuesModel(_Model):
    lit: Annotated[list[LitVenueModel], Field(min_length=1)] = Field(
        default_factory=_default_lit)
    dark: Annotated[list[DarkPoolModel], Field(min_length=1)] = Field(
        default_factory=lambda: [DarkPoolModel()])
    dealer: DealerModel = Field(default_factory=DealerModel)
    feed: FeedModel = Field(default_factory=FeedModel)


# --- market and fundamental -----------------------------------------------------------------


class MarketModel(_Model):
    price_increment: PosNum = _d(MarketConfig, "price_increment")  # dollars per tick
    reference_price: PosNum = 100.0  # dollars
    agent_jitter_ns: NonNegInt = _d(MarketConfig, "agent_jitter_ns")


class FundamentalModel(_Model):
    reversion_rate: NonNegNum = _d(FundamentalConfig, "reversion_rate")
    volatility: NonNegNum = _d(FundamentalConfig, "volatility")
    jump_intensity: NonNegNum = _d(FundamentalConfig, "jump_intensity")
    jump_std: NonNegNum = _d(FundamentalConfig, "jump_std")
    step_ns: PosInt = _d(FundamentalConfig, "step_ns")
    volatility_dispersion: NonNegNum = _d(FundamentalConfig, "volatility_dispersion")
    volatility_timescales_s: Annotated[list[PosSeconds], Field(min_length=1)] = _d(
        FundamentalConfig, "volatility_timescales_s")
    volatility_step_s: PosSeconds = _d(FundamentalConfig, "volatility_step_s")


# --- agent groups ---------------------------------------------------------------------------


class _Group(_Model):
    name: Name
    count: NonNegInt


class NoiseGroup(_Group):
    type: Literal["noise"]
    rate: PosNum = _d(NoiseConfig, "rate")
    market_fraction: Fraction01 = _d(NoiseConfig, "market_fraction")
    cancel_fraction: Fraction01 = _d(NoiseConfig, "cancel_fraction")
    mean_offset_ticks: NonNegNum = _d(NoiseConfig, "mean_offset_ticks")
    max_lots: PosInt = _d(NoiseConfig, "max_lots")
    size_exponent: NonNegNum = _d(NoiseConfig, "size_exponent")
    dark_fraction: Fraction01 = _d(NoiseConfig, "dark_fraction")
    dark_min_lots: NonNegInt = _d(NoiseConfig, "dark_min_lots")
    latency_ns: LatencyRange = _d(NoiseConfig, "latency_ns")
    market_data: Literal["conflated", "nbbo"] = _d(NoiseConfig, "market_data")
    conflation_ns: PosInt = _d(NoiseConfig, "conflation_ns")

    @model_validator(mode="after")
    def _consistent(self) -> NoiseGroup:
        if self.market_fraction + self.cancel_fraction > 1:
            raise PydanticCustomError(
                "noise_fractions", "market_fraction + cancel_fraction is {total}, must be <= 1",
                {"total": self.market_fraction + self.cancel_fraction})
        if self.dark_min_lots > self.max_lots:
            raise PydanticCustomError("min_lots", "dark_min_lots ({low}) must be <= max_lots "
                                      "({high})", {"low": self.dark_min_lots,
                                                   "high": self.max_lots})
        return self


class InformedGroup(_Group):
    type: Literal["informed"]
    rate: PosNum = _d(InformedConfig, "rate")
    noise_ticks: NonNegNum = _d(InformedConfig, "noise_ticks")
    threshold_ticks: PosNum = _d(InformedConfig, "threshold_ticks")
    max_lots: PosInt = _d(InformedConfig, "max_lots")
    size_exponent: NonNegNum = _d(InformedConfig, "size_exponent")
    burst_rate: NonNegNum = _d(InformedConfig, "burst_rate")
    dark_fraction: Fraction01 = _d(InformedConfig, "dark_fraction")
    dark_min_lots: PosInt = _d(InformedConfig, "dark_min_lots")
    dark_time_in_force: Literal["day", "ioc"] = _d(InformedConfig, "dark_time_in_force").value
    dark_ttl_s: PosSeconds = _d(InformedConfig, "dark_ttl_s")
    latency_ns: LatencyRange = _d(InformedConfig, "latency_ns")
    market_data: Literal["l1", "venues", "nbbo"] = _d(InformedConfig, "market_data")

    @model_validator(mode="after")
    def _consistent(self) -> InformedGroup:
        if self.dark_min_lots > self.max_lots:
            raise PydanticCustomError("min_lots", "dark_min_lots ({low}) must be <= max_lots "
                                      "({high})", {"low": self.dark_min_lots,
                                                   "high": self.max_lots})
        return self


class MarketMakerGroup(_Group):
    type: Literal["market-maker"]
    gamma: PosNum = _d(MarketMakerConfig, "gamma")
    k: PosNum = _d(MarketMakerConfig, "k")
    sigma_min: PosNum = _d(MarketMakerConfig, "sigma_min")
    sigma_max: PosNum = _d(MarketMakerConfig, "sigma_max")
    horizon_s: PosSeconds = _d(MarketMakerConfig, "horizon_s")
    volatility_window_s: PosSeconds = _d(MarketMakerConfig, "volatility_window_s")
    refresh_s: PosSeconds = _d(MarketMakerConfig, "refresh_s")
    quote_lots: PosInt = _d(MarketMakerConfig, "quote_lots")
    max_inventory_lots: PosInt = _d(MarketMakerConfig, "max_inventory_lots")
    flow_skew: NonNegNum = _d(MarketMakerConfig, "flow_skew")
    flow_window_s: PosSeconds = _d(MarketMakerConfig, "flow_window_s")
    latency_ns: LatencyRange = _d(MarketMakerConfig, "latency_ns")

    @model_validator(mode="after")
    def _consistent(self) -> MarketMakerGroup:
        if self.sigma_max < self.sigma_min:
            raise PydanticCustomError("sigma", "sigma_max ({high}) must be >= sigma_min ({low})",
                                      {"low": self.sigma_min, "high": self.sigma_max})
        return self


class DealerClientGroup(_Group):
    type: Literal["dealer-client"]
    rate: PosNum = _d(DealerClientConfig, "rate")
    max_lots: PosInt = _d(DealerClientConfig, "max_lots")
    latency_ns: LatencyRange = _d(DealerClientConfig, "latency_ns")


class DarkProviderGroup(_Group):
    type: Literal["dark-provider"]
    pool: Name
    rate: PosNum = 1.0
    cancel_fraction: Fraction01 = 0.3
    max_lots: PosInt = 5
    dark_min_lots: NonNegInt = 0
    latency_ns: LatencyRange = [500_000, 500_000]
    # They start active; the timeline's `active = false` withdraws them (and true resumes).


class ArbitrageurGroup(_Group):
    type: Literal["latency-arbitrageur"]
    pool: Name
    threshold_ticks: PosNum = 50.0
    max_lots: PosInt = 20
    max_position_lots: NonNegInt = 200
    cooldown_ns: NonNegInt = 2_000_000
    latency_ns: NonNegInt = 5_000  # one way, plus each venue's distance
    active: Bool = True


class PluginGroup(_Group):
    type: Text  # "module:Class"
    params: dict[str, Any] = Field(default_factory=dict)
    venues: Annotated[list[Name], Field(min_length=1)] | None = None  # None: every venue
    market_data: Bool = True  # subscribe to the lit venues' market data
    latency_ns: LatencyRange = [100_000, 1_000_000]


class _UnknownGroup(BaseModel):
    """Only to report an agent type that is neither a known key nor "module:Class"."""

    model_config = ConfigDict(extra="allow")
    type: Any

    @field_validator("type")
    @classmethod
    def _known(cls, value: Any) -> Any:
        raise PydanticCustomError("unknown_agent", "{message}",
                                  {"message": _unknown_spec("agent", value, AGENT_TYPES)})


def _unknown_spec(kind: str, value: Any, keys: tuple[str, ...]) -> str:
    listed = ", ".join(keys)
    if not isinstance(value, str):
        return f"expected a {kind} type ({listed}) or 'module:Class', got {value!r}"
    close = difflib.get_close_matches(value, keys, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} type {value!r}: expected one of {listed} or 'module:Class'{hint}"


_GROUP_MODELS: dict[str, type[BaseModel]] = {
    "<noise>": NoiseGroup, "<informed>": InformedGroup, "<market-maker>": MarketMakerGroup,
    "<dealer-client>": DealerClientGroup, "<dark-provider>": DarkProviderGroup,
    "<latency-arbitrageur>": ArbitrageurGroup, "<plugin>": PluginGroup,
    "<unknown>": _UnknownGroup,
}


def _group_tag(value: Any) -> str:
    spec = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(spec, str):
        if spec in AGENT_TYPES:
            return f"<{spec}>"
        if ":" in spec:
            return "<plugin>"
    return "<unknown>"


# What pass 1 lets through (an unknown type never validates).
KnownGroup = Union[NoiseGroup, InformedGroup, MarketMakerGroup, DealerClientGroup,
                   DarkProviderGroup, ArbitrageurGroup, PluginGroup]

AgentGroup = Annotated[
    Union[
        Annotated[NoiseGroup, Tag("<noise>")],
        Annotated[InformedGroup, Tag("<informed>")],
        Annotated[MarketMakerGroup, Tag("<market-maker>")],
        Annotated[DealerClientGroup, Tag("<dealer-client>")],
        Annotated[DarkProviderGroup, Tag("<dark-provider>")],
        Annotated[ArbitrageurGroup, Tag("<latency-arbitrageur>")],
        Annotated[PluginGroup, Tag("<plugin>")],
        Annotated[_UnknownGroup, Tag("<unknown>")],
    ],
    Discriminator(_group_tag),
]


# --- parent orders and their routers --------------------------------------------------------


class TwapModel(_Model):
    type: Literal["twap"]


class VwapModel(_Model):
    type: Literal["vwap"]
    # (bucket end as a fraction of the horizon, weight); without it, a U-shaped profile of
    # `buckets` buckets, open and close `edge_ratio` times as busy as the middle.
    profile: Annotated[list[tuple[Annotated[float, Strict(), Field(gt=0, le=1)], NonNegNum]],
                       Field(min_length=1)] | None = None
    buckets: PosInt = 10
    edge_ratio: PosNum = 3.0


class PovModel(_Model):
    type: Literal["pov"]
    rate: Annotated[float, Strict(), Field(gt=0, le=1)]
    min_rate: Annotated[float, Strict(), Field(gt=0, le=1)] | None = None
    max_rate: Annotated[float, Strict(), Field(gt=0, le=1)] | None = None
    complete_at_end: Bool = False


class ImplementationShortfallModel(_Model):
    type: Literal["is"]
    risk_aversion: NonNegNum  # per (tick * share)
    volatility: NonNegNum  # ticks per sqrt-second
    temporary_impact: PosNum  # ticks per (share per second)


SCHEDULES = ("twap", "vwap", "pov", "is")


class _UnknownSchedule(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Any

    @field_validator("type")
    @classmethod
    def _known(cls, value: Any) -> Any:
        close = difflib.get_close_matches(str(value), SCHEDULES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PydanticCustomError("unknown_schedule", "{message}", {
            "message": f"unknown schedule {value!r}: expected one of "
                       f"{', '.join(SCHEDULES)}{hint}"})


_SCHEDULE_MODELS: dict[str, type[BaseModel]] = {
    "<twap>": TwapModel, "<vwap>": VwapModel, "<pov>": PovModel,
    "<is>": ImplementationShortfallModel, "<unknown-schedule>": _UnknownSchedule,
}


def _schedule_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"<{kind}>" if kind in SCHEDULES else "<unknown-schedule>"


ScheduleModel = Annotated[
    Union[
        Annotated[TwapModel, Tag("<twap>")],
        Annotated[VwapModel, Tag("<vwap>")],
        Annotated[PovModel, Tag("<pov>")],
        Annotated[ImplementationShortfallModel, Tag("<is>")],
        Annotated[_UnknownSchedule, Tag("<unknown-schedule>")],
    ],
    Discriminator(_schedule_tag),
]


class AllocatorModel(_Model):
    type: Annotated[str, Strict(), Field(min_length=1)]  # registry key or "module:Class"
    params: dict[str, Any] = Field(default_factory=dict)


class PolicyModel(_Model):
    venues: Annotated[list[Name], Field(min_length=1)] | None = None  # allow-list
    max_child_size: PosInt | None = None  # shares
    max_participation: Annotated[float, Strict(), Field(gt=0, le=1)] | None = None
    participation_allowance: NonNegInt = 0  # shares
    collar_ticks: NonNegInt | None = None


def _max_lag(value: Any) -> float | Literal["auto"] | None:
    """`max_lag_s`: "auto" (the router's default), false (no catch-up) or seconds >= 0.
    TOML has no null, so false is the "off" value; true is refused (it would say neither
    which lag nor that the default is meant)."""
    if isinstance(value, str) and value == "auto":
        return "auto"
    if value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("max_lag", "must be a number of seconds >= 0, 'auto' or "
                                  "false, {got}", {"got": _got(value)})
    if value != value or value in (float("inf"), float("-inf")):
        raise PydanticCustomError("max_lag", "must be a finite number, {got}",
                                  {"got": _got(value)})
    if value < 0:
        raise PydanticCustomError("max_lag", "must be >= 0, {got}", {"got": _got(value)})
    if value > MAX_SECONDS:
        raise PydanticCustomError("max_lag", f"must be <= {MAX_SECONDS:g}, {{got}}",
                                  {"got": _got(value)})
    return float(value)


# Seconds the router may run behind its schedule before the overdue shares are taken at the
# lit venues (`SmartOrderRouter(max_lag_ns=...)`): "auto", None (written false) or seconds.
MaxLag = Annotated[float | Literal["auto"] | None, PlainValidator(_max_lag)]


class RouterModel(_Model):
    venues: Annotated[list[Name], Field(min_length=1)] | None = None  # None: every venue
    slice_interval_s: PosSeconds = 1.0
    markout_s: NonNegSeconds = 1.0
    cleanup_s: NonNegSeconds = 0.0
    cost_scale_bps: PosNum = 20.0
    latency_ns: NonNegInt = 100_000  # one way, plus each venue's distance
    feature_venue: Name | None = None
    max_lag_s: MaxLag = "auto"


def _table_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


class ParentOrderModel(_Model):
    name: Name = "SOR"  # the router's participant name
    side: Literal["buy", "sell"]
    quantity: PosInt  # shares
    start_s: NonNegSeconds | None = None  # default: the run's start
    end_s: PosSeconds | None = None  # default: the run's end
    limit_price: PosNum | None = None  # dollars
    urgency: Fraction01 = 0.5
    schedule: ScheduleModel = Field(default_factory=lambda: TwapModel(type="twap"))
    allocator: AllocatorModel
    policy: PolicyModel = Field(default_factory=PolicyModel)
    router: RouterModel = Field(default_factory=RouterModel)

    @field_validator("schedule", "allocator", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _table_shorthand(value)  # schedule = "twap", allocator = "ucb1"


# --- timeline and the file ------------------------------------------------------------------


class ShiftModel(_Model):
    at_s: NonNegSeconds
    target: Text  # "venue:NAME", "agents:GROUP" or "fundamental"
    changes: dict[str, Any] = Field(alias="set")


class FixClientModel(_Model):
    comp_id: Name  # the client's SenderCompID
    password: Text | None = None


class FixModel(_Model):
    """Live mode (`sorsim serve`): the instrument's FIX symbol and the clients that may log
    on to the venues' gateways (none listed: CLIENT1, no password)."""

    symbol: Name = "SIM"
    clients: list[FixClientModel] = Field(default_factory=list)


class ScenarioFile(_Model):
    """The whole file (pass 1)."""

    name: Name | None = None  # default: the file's stem
    description: Text = ""
    seed: Seed = 1
    start_s: NonNegSeconds = 0.0
    duration_s: PosSeconds
    market: MarketModel = Field(default_factory=MarketModel)
    venues: VenuesModel = Field(default_factory=VenuesModel)
    fundamental: FundamentalModel = Field(default_factory=FundamentalModel)
    agents: list[AgentGroup] = Field(default_factory=list)
    parent_orders: list[ParentOrderModel] = Field(default_factory=list)
    timeline: list[ShiftModel] = Field(default_factory=list)
    fix: FixModel = Field(default_factory=FixModel)


# --- pass 1: pydantic, and its errors as one line -------------------------------------------


def validate_data(data: Any, file: str) -> ScenarioFile:
    """Pass 1 on parsed TOML; a `ScenarioError` for the first problem."""
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        first = problems[0]
        path, problem = _describe(first)
        more = len(problems) - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ScenarioError(file, path, problem) from None


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("<") and part.endswith(">"):
            continue  # a union tag of ours, not a key of the file
        else:
            out += f".{part}" if out else str(part)
    return out


def _got(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, bool):
        return f"got {str(value).lower()}"
    if isinstance(value, (dict, list)):
        kind = "a table" if isinstance(value, dict) else "an array"
        return f"got {kind} {text}"
    return f"got {text}"


_TYPES = {
    "int_type": "must be an integer", "float_type": "must be a number",
    "bool_type": "must be true or false", "string_type": "must be a string",
    "list_type": "must be an array", "tuple_type": "must be an array",
    "dict_type": "must be a table", "model_type": "must be a table",
    "model_attributes_type": "must be a table", "finite_number": "must be a finite number",
    "int_from_float": "must be an integer", "int_parsing": "must be an integer",
    "float_parsing": "must be a number", "bool_parsing": "must be true or false",
}


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind: str = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    path = format_path(loc)
    if kind == "extra_forbidden":
        return path, "unknown key" + _suggest(loc)
    if kind == "missing":
        return path, "required key is missing"
    if kind in _TYPES:
        return path, f"{_TYPES[kind]}, {_got(value)}"
    bounds = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
              "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}
    if kind in bounds:
        key, sign = bounds[kind]
        bound = ctx[key]
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else str(bound)
        return path, f"must be {sign} {shown}, {_got(value)}"
    if kind == "literal_error":
        return path, f"must be {ctx['expected']}, {_got(value)}"
    if kind == "string_pattern_mismatch":
        return path, ("must be a name (a letter, then letters, digits, '_', '-' or '.'), "
                      f"{_got(value)}")
    if kind in ("too_short", "string_too_short"):
        if kind == "string_too_short" or ctx.get("min_length") == 1:
            return path, "must not be empty"
        return path, f"must have at least {ctx['min_length']} items, {_got(value)}"
    if kind in ("too_long", "string_too_long"):
        return path, f"must have at most {ctx['max_length']} items, {_got(value)}"
    if kind == "value_error":
        return path, str(error["msg"]).removeprefix("Value error, ")
    return path, str(error["msg"])


def _suggest(loc: tuple[Any, ...]) -> str:
    """"; did you mean 'x'?" for an unknown key, from the keys allowed where it stands."""
    allowed = _allowed_keys(loc[:-1])
    if not allowed:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (expected one of: {', '.join(allowed)})"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    annotation: Any = ScenarioFile
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, str) and part in _GROUP_MODELS:
            annotation = _GROUP_MODELS[part]
        elif isinstance(part, str) and part in _SCHEDULE_MODELS:
            annotation = _SCHEDULE_MODELS[part]
        elif isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else None
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return []
            annotation = info.annotation
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Through Annotated and `X | None` to the type that holds keys (or a list)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union or str(origin) == "<class 'types.UnionType'>":
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation
