"""A whole market, hand-wired: three lit exchanges, a consolidated feed, a dark pool, a
single-dealer platform, a fundamental value and the built-in agent population.

`MarketConfig` (frozen, validated once, errors name the field path) says what to build;
`build_market(sim, config)` builds it inside a `Simulation` setup callback and returns a
`Market` holding every piece for reports and tests; `run_market(config, seed, seconds)`
does both and runs. (`scenarios.loader` builds one from a scenario file.)

Wiring, and why it is shaped this way. Market-data fan-out is the cost driver: a change at
a lit venue is delivered once per subscriber. So
- per-venue data (every `BookUpdate`, `L1Snapshot`, `TradePrint`) goes only to the few that
  need depth or speed: the market makers (depth, for their mid without their own quotes),
  the informed traders (each venue's touch, ahead of the feed, price changes only: see
  `TopOfBookFeed`) and the consolidated feed;
- the consolidated feed (`market.consolidated_feed.ConsolidatedFeed`) builds the NBBO from
  every lit venue; the dark pool prices off it and the dealer quotes off it;
- the noise traders — the crowd — see only the NBBO: by default through a *conflated*
  subscription (`ConflatedNBBO`: at most one NBBO per `noise.conflation_ns`, and only when
  the best bid or ask price changed, since prices are all a noise trader reads), or with
  `noise.market_data="nbbo"` one NBBO per change straight from the feed.
- Dealer clients (`DealerClient`) ask the SDP for a one-sided price (RFQ) and accept it at
  once: the SDP's flow. (No built-in agent takes dealer quotes yet.)

The default population, and why (measured by `bench/realism.py`, guarded by
`tests/scenarios/test_realism.py`). The goal is a market with the stylized facts of a real
one: a price that is close to a martingale, fat-tailed returns, clustered volatility, a
spread and depth that recover within seconds of a large order, concave impact.
- The fundamental is a random walk with jumps (no mean reversion: a reverting value that
  the price follows with a lag gives returns momentum) whose volatility is stochastic
  (`VolatilityRegime`: log-volatility a sum of a 2-minute and a 30-minute OU component,
  jumps more frequent when it is high): fat tails and volatility clustering come from here.
- Informed traders bring it into the price promptly: frequent looks (2 a second, 20 a
  second right after a look that traded), a small observation noise and threshold, and
  sizes that are the edge (in thresholds) times a heavy-tailed appetite (capped at 50
  lots), each sweep bounded by its limit price.
- Noise traders' sizes follow a power law (Zipf, tail exponent 1.5, capped at 50 lots), so
  order sizes span two decades, as real ones do, and impact can be measured across them.
- Market makers lean their quotes toward recent net aggressive flow (square root of it),
  as a dealer who learns from order flow does; quotes then move after informed trades, not
  only when a queue empties, and a large print moves them less than in proportion.

Latency. Each agent has one base one-way latency, drawn uniformly from its population's
range with that population's own random stream (`latency/<population>`), so no global
randomness and adding an agent at the end of a population changes no one else's. Its link
to a venue is that base plus the venue's own `latency_ns` (distance), fixed, no jitter by
default (`agent_jitter_ns`): then a report's arrival time is its send time plus a known
latency, which the whole-market conservation test relies on. The feed's own latencies may
jitter (their own streams).

Units. Prices are integer ticks of `price_increment` (0.0001): the reference 100.00 is
1,000,000 ticks; lit venues trade on a cent grid (tick size 100) in lots of 100 shares;
fees are ticks per share (negative = rebate). Rates are per second; times ns.

Known limits. One instrument. The noise traders' conflated view is shared: every noise
trader subscribes to one relay, so conflation happens once, before each trader's own
latency (as a vendor's conflated feed would). `ConflatedNBBO`, `VolatilityRegime` and
`DealerClient` live here until they move to `market/` and `agents/` (the regime drives the
fundamental from outside, through its public `set_parameters`, as a scenario's
regime-shift timeline would).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.agent import Agent
from agents.informed_trader import InformedTrader
from agents.market_maker import MarketMaker
from agents.noise_trader import NoiseTrader
from market.clock import Clock
from market.consolidated_feed import ConsolidatedFeed
from market.event_log import EventLog
from market.fundamental import FundamentalParameters, FundamentalValue
from market.link import Latency, Link
from market.messages import NBBO, L1Snapshot, L2Snapshot, Quote, Side, TimeInForce
from market.rng import BlockDraws
from scenarios.simulation import RunResult, Simulation
from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform
from venues.venue import Venue

__all__ = [
    "ConflatedNBBO",
    "DarkPoolConfig",
    "DealerClient",
    "DealerClientConfig",
    "DealerConfig",
    "FeedConfig",
    "FundamentalConfig",
    "InformedConfig",
    "LitVenueConfig",
    "Market",
    "MarketConfig",
    "MarketMakerConfig",
    "MarketRunResult",
    "NoiseConfig",
    "TopOfBookFeed",
    "VolatilityRegime",
    "build_market",
    "run_market",
]

NS_PER_S = 1_000_000_000
MS = 1_000_000
US = 1_000
_BUY, _SELL = Side.BUY, Side.SELL


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LitVenueConfig:
    name: str
    tick_size: int = 100  # a cent
    lot_size: int = 100
    maker_fee: int = -20  # ticks per share: a $0.0020 rebate
    taker_fee: int = 30  # $0.0030
    latency_ns: int = 0  # added to every participant's own latency to this venue
    l2_depth: int = 10


@dataclass(frozen=True)
class FeedConfig:
    name: str = "SIP"
    venue_latency_ns: int = 150 * US  # each lit venue -> the feed
    latency: Latency = Latency(fixed_ns=50 * US, jitter_ns=10 * US)  # publication stage
    venue_subscriber_latency_ns: int = 10 * US  # feed -> the dark pool and the dealer


@dataclass(frozen=True)
class DarkPoolConfig:
    name: str = "DARK1"
    auction_interval_ns: int = 0  # 0: continuous crossing; > 0: periodic auctions
    print_delay_ns: int = 1 * MS
    fee: int = 10  # ticks per share, both sides
    tick_size: int = 100  # the grid of a limit price
    lot_size: int = 100
    latency_ns: int = 20 * US


@dataclass(frozen=True)
class DealerConfig:
    name: str = "SDP1"
    tiers: tuple[tuple[int, int], ...] = ((500, 100), (2_000, 200), (5_000, 400))  # (shares, half-spread ticks)
    tick_size: int = 100
    skew_per_share: float = 0.02  # ticks of shift per share of inventory
    quote_ttl_ns: int = 500 * MS
    rfq_ttl_ns: int = 200 * MS
    last_look_hold_ns: int = 3 * MS
    last_look_threshold_ticks: int = 50
    fee_per_share: int = 0
    refresh_ns: int = 0
    latency_ns: int = 30 * US


@dataclass(frozen=True)
class FundamentalConfig:
    reversion_rate: float = 0.0  # per second, around the reference price (0: a random walk)
    volatility: float = 100.0  # ticks per sqrt-second: a cent per sqrt-second
    jump_intensity: float = 1 / 600  # per second
    jump_std: float = 1_500.0  # ticks
    step_ns: int = 10 * MS
    # Stochastic volatility (`VolatilityRegime`): the standard deviation of the log of the
    # volatility multiplier (0: constant volatility), the time scales (s) of its components
    # and how often (s) the multiplier is updated.
    volatility_dispersion: float = 0.5
    volatility_timescales_s: tuple[float, ...] = (120.0, 1800.0)
    volatility_step_s: float = 1.0


@dataclass(frozen=True)
class NoiseConfig:
    count: int = 1_000
    rate: float = 0.2  # arrivals per second, each
    market_fraction: float = 0.1
    cancel_fraction: float = 0.45
    mean_offset_ticks: float = 2.0  # venue ticks behind the opposite touch
    max_lots: int = 50
    size_exponent: float = 1.5  # > 0: Zipf P(n lots) ~ n^-(1+a), capped at max_lots; 0: uniform
    dark_fraction: float = 0.1  # of limit arrivals, rested midpoint-pegged in the dark pool
    dark_min_lots: int = 0
    latency_ns: tuple[int, int] = (200 * US, 2 * MS)  # uniform per agent
    market_data: str = "conflated"  # "conflated" | "nbbo"
    conflation_ns: int = 100 * MS


@dataclass(frozen=True)
class InformedConfig:
    count: int = 100
    rate: float = 2.0
    noise_ticks: float = 30.0
    threshold_ticks: float = 40.0
    max_lots: int = 50
    size_exponent: float = 1.5  # > 0: edge lots times a Zipf draw, capped at max_lots
    burst_rate: float = 20.0  # > 0: wake-up rate right after a wake-up that traded; 0: rate
    dark_fraction: float = 0.3
    dark_min_lots: int = 1
    dark_time_in_force: TimeInForce = TimeInForce.DAY
    dark_ttl_s: float = 2.0
    latency_ns: tuple[int, int] = (20 * US, 200 * US)
    # "l1": each lit venue's top of book (a `TopOfBookFeed` per venue); "venues": each lit
    # venue's full stream (depth updates and prints too, which this agent ignores); "nbbo":
    # the consolidated feed only.
    market_data: str = "l1"


@dataclass(frozen=True)
class MarketMakerConfig:
    count: int = 3
    gamma: float = 0.001  # per tick
    k: float = 0.01  # per tick: the hit rate falls by e every cent away
    sigma_min: float = 50.0
    sigma_max: float = 500.0
    horizon_s: float = 1.0
    volatility_window_s: float = 30.0
    refresh_s: float = 0.5
    quote_lots: int = 5
    max_inventory_lots: int = 60
    flow_skew: float = 20.0  # ticks per sqrt-lot of net aggressive flow (0: off)
    flow_window_s: float = 2.0
    latency_ns: tuple[int, int] = (5 * US, 50 * US)


@dataclass(frozen=True)
class DealerClientConfig:
    count: int = 20
    rate: float = 0.1
    max_lots: int = 20
    latency_ns: tuple[int, int] = (100 * US, 1 * MS)


def _default_lit_venues() -> tuple[LitVenueConfig, ...]:
    return (
        LitVenueConfig("LIT1", maker_fee=-20, taker_fee=30),  # maker-taker
        LitVenueConfig("LIT2", maker_fee=15, taker_fee=-10, latency_ns=30 * US),  # inverted
        LitVenueConfig("LIT3", maker_fee=0, taker_fee=10, latency_ns=60 * US),  # flat
    )


@dataclass(frozen=True)
class MarketConfig:
    price_increment: float = 0.0001  # dollars per tick (for reports)
    reference_price: int = 1_000_000  # ticks: 100.00
    lit_venues: tuple[LitVenueConfig, ...] = field(default_factory=_default_lit_venues)
    feed: FeedConfig = FeedConfig()
    dark_pool: DarkPoolConfig = DarkPoolConfig()
    dealer: DealerConfig = DealerConfig()
    fundamental: FundamentalConfig = FundamentalConfig()
    noise: NoiseConfig = NoiseConfig()
    informed: InformedConfig = InformedConfig()
    market_makers: MarketMakerConfig = MarketMakerConfig()
    dealer_clients: DealerClientConfig = DealerClientConfig()
    agent_jitter_ns: int = 0  # mean exponential jitter on every agent link
    record_events: bool = True  # venues and feeds log to the event log (False: digest = header only)
    # More dark pools, wired to the feed like `dark_pool` (a scenario's `venues.dark[1:]`);
    # the built-in population trades in `dark_pool` only.
    extra_dark_pools: tuple[DarkPoolConfig, ...] = ()

    def __post_init__(self) -> None:
        _validate(self, "")
        if not self.lit_venues:
            raise ValueError("lit_venues was (), expected at least one lit venue")
        names = [v.name for v in self.lit_venues] + [
            self.feed.name, self.dark_pool.name, self.dealer.name] + [
            d.name for d in self.extra_dark_pools]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"venue name {name!r} is used twice, expected unique names")
        for where, choice, allowed in (
                ("noise.market_data", self.noise.market_data, ("conflated", "nbbo")),
                ("informed.market_data", self.informed.market_data, ("l1", "venues", "nbbo"))):
            if choice not in allowed:
                raise ValueError(f"{where} was {choice!r}, expected one of {', '.join(allowed)}")
        if self.noise.market_fraction + self.noise.cancel_fraction > 1:
            raise ValueError("noise.market_fraction + noise.cancel_fraction was "
                             f"{self.noise.market_fraction + self.noise.cancel_fraction!r}, "
                             "expected <= 1")
        scales = self.fundamental.volatility_timescales_s
        if (not isinstance(scales, tuple) or not scales
                or any(isinstance(v, bool) or not isinstance(v, (int, float))
                       or not np.isfinite(v) or v <= 0 for v in scales)):
            raise ValueError(f"fundamental.volatility_timescales_s was {scales!r}, expected a "
                             "non-empty tuple of numbers > 0")
        for where, value in (("noise.dark_fraction", self.noise.dark_fraction),
                             ("informed.dark_fraction", self.informed.dark_fraction)):
            if value > 1:
                raise ValueError(f"{where} was {value!r}, expected in [0, 1]")


# Fields that may be zero or negative (fees) or are not numbers to check.
_SIGNED = {"maker_fee", "taker_fee", "fee", "fee_per_share"}
_MAY_BE_ZERO = {"count", "latency_ns", "venue_latency_ns", "venue_subscriber_latency_ns",
                "auction_interval_ns", "print_delay_ns", "skew_per_share", "quote_ttl_ns",
                "rfq_ttl_ns", "last_look_hold_ns", "last_look_threshold_ticks", "refresh_ns",
                "reversion_rate", "volatility", "jump_intensity", "jump_std",
                "market_fraction", "cancel_fraction", "mean_offset_ticks", "dark_fraction",
                "dark_min_lots", "noise_ticks", "agent_jitter_ns", "size_exponent",
                "volatility_dispersion", "flow_skew", "burst_rate"}


def _validate(config: Any, path: str) -> None:
    """Numbers positive (or >= 0 / any sign where that makes sense), ints where ints are
    meant, nested configs recursively; a ValueError names the field path and the value."""
    for f in fields(config):
        value = getattr(config, f.name)
        where = f"{path}{f.name}"
        if is_dataclass(value):
            _validate(value, f"{where}.")
        elif isinstance(value, tuple) and value and all(is_dataclass(v) for v in value):
            for index, item in enumerate(value):
                _validate(item, f"{where}[{index}].")
        elif f.name == "latency_ns" and isinstance(value, tuple):
            if (len(value) != 2 or any(type(v) is not int for v in value)
                    or not 0 <= value[0] <= value[1]):
                raise ValueError(f"{where} was {value!r}, expected (low, high) ints with "
                                 "0 <= low <= high")
        elif isinstance(value, Latency):
            value.validate(where)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        elif f.name in _SIGNED:
            if type(value) is not int:
                raise ValueError(f"{where} was {value!r}, expected an int (ticks per share)")
        elif not np.isfinite(value) or value < 0 or (value == 0 and f.name not in _MAY_BE_ZERO):
            bound = ">= 0" if f.name in _MAY_BE_ZERO else "> 0"
            raise ValueError(f"{where} was {value!r}, expected a finite number {bound}")
        elif f.type in ("int", int) and type(value) is not int:
            raise ValueError(f"{where} was {value!r}, expected an int")


# --- a conflated NBBO subscription ------------------------------------------------------------


class ConflatedNBBO:
    """A conflated view of a consolidated feed, for a crowd that reads prices only.

    Subscribes once to the feed (`feed.subscribe(name, relay.on_nbbo, ...)`) and publishes
    the latest NBBO to its own subscribers at most once per `interval_ns`, and only when the
    best bid or ask *price* differs from what it last published (size-only changes are
    dropped: a noise trader never reads them). Leading edge: after a quiet interval a change
    goes out at once; inside the interval it waits for the interval's end and then the
    latest NBBO goes out. Messages are the feed's own `NBBO`s, unchanged (`t_ns` is when the
    feed computed it). Each subscriber has its own FIFO `Link`; a new subscriber gets the
    last published NBBO, if any. Each publication is logged once ("out", at this name).

    Cost: one delivery per feed NBBO, plus S per publication (S subscribers), plus one
    timer delivery per delayed publication — instead of S per feed NBBO.
    """

    def __init__(self, name: str, clock: Clock, interval_ns: int, *,
                 event_log: EventLog | None = None) -> None:
        if type(interval_ns) is not int or interval_ns < 0:
            raise ValueError(f"{name}: interval_ns was {interval_ns!r}, expected an int >= 0")
        self.name = name
        self.clock = clock
        self.interval_ns = interval_ns
        self.event_log = event_log
        self._subscribers: list[Link] = []
        self._latest: NBBO | None = None
        self._published: NBBO | None = None
        self._published_prices: tuple[int | None, int | None] | None = None
        self._last_ns = clock.now_ns() - interval_ns
        self._pending = False
        self.received = 0
        self.publications = 0

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency(), rng: np.random.Generator | None = None) -> None:
        latency.validate(f"{self.name}.subscribe({subscriber!r})")
        link = Link(self.clock, handler, latency, rng)
        self._subscribers.append(link)
        if self._published is not None:
            link.send(self._published)

    def on_nbbo(self, message: Any) -> None:
        if type(message) is not NBBO:
            return
        self.received += 1
        self._latest = message
        if self._pending:
            return
        now = self.clock.now_ns()
        due = self._last_ns + self.interval_ns
        if due <= now:
            self._publish(now)
        else:
            self._pending = True
            self.clock.deliver_at(due, self._on_due, None)

    def _on_due(self, _: object) -> None:
        self._pending = False
        self._publish(self.clock.now_ns())

    def _publish(self, now: int) -> None:
        nbbo = self._latest
        assert nbbo is not None
        prices = (nbbo.bid_price, nbbo.ask_price)
        if prices == self._published_prices:
            return
        self._published_prices = prices
        self._published = nbbo
        self._last_ns = now
        self.publications += 1
        if self.event_log is not None:
            self.event_log.record(now, "out", self.name, nbbo)
        for link in self._subscribers:
            link.send(nbbo)


# --- a top-of-book subscription ----------------------------------------------------------------


class TopOfBookFeed:
    """One lit venue's top-of-book product: only its `L1Snapshot`s (and the `L2Snapshot` a
    venue sends on subscribing, which carries its top too), for subscribers that read the
    touch and nothing else.

    Subscribes once to the venue's full stream (`venue.subscribe(name, feed.on_market_data)`)
    and forwards each `L1Snapshot` unchanged to its own subscribers, each through its own
    FIFO `Link`; every other message type is dropped here, once, instead of being delivered
    to every subscriber that would ignore it. With a zero-latency hop from the venue a
    subscriber sees the top exactly when a direct subscriber with the same latency would.
    A new subscriber gets the last top message held. Forwarded messages are the venue's
    own (already logged by it), so nothing is logged here.

    With `prices_only`, an `L1Snapshot` whose best bid and ask prices are those of the last
    top forwarded is dropped: only size changed, and a subscriber that reads prices only
    (the informed traders) would ignore it. What it does read arrives exactly when it
    would have; most top-of-book changes are size-only, so this cuts the fan-out, the cost
    driver, several-fold.
    """

    def __init__(self, name: str, clock: Clock, *, prices_only: bool = False) -> None:
        self.name = name
        self.clock = clock
        self.prices_only = prices_only
        self._subscribers: list[Link] = []
        self._last: Any = None
        self._prices: tuple[int | None, int | None] | None = None
        self.forwarded = 0
        self.dropped = 0

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency(), rng: np.random.Generator | None = None) -> None:
        latency.validate(f"{self.name}.subscribe({subscriber!r})")
        link = Link(self.clock, handler, latency, rng)
        self._subscribers.append(link)
        if self._last is not None:
            link.send(self._last)

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is L1Snapshot:
            prices = (message.bid_price, message.ask_price)
        elif cls is L2Snapshot:
            prices = (message.bids[0][0] if message.bids else None,
                      message.asks[0][0] if message.asks else None)
        else:
            return
        if self.prices_only:
            if prices == self._prices and cls is L1Snapshot:
                self.dropped += 1
                return
            self._prices = prices
        self._last = message
        self.forwarded += 1
        for link in self._subscribers:
            link.send(message)


# --- stochastic volatility of the fundamental ---------------------------------------------------


class VolatilityRegime:
    """A seeded stochastic volatility for a `FundamentalValue`, applied as regime shifts.

    The log of a multiplier m(t) is the sum of independent Ornstein-Uhlenbeck components,
    one per time scale in `timescales_s`, each with stationary variance dispersion^2 / K
    (K components), so log m has standard deviation `dispersion` and an autocorrelation
    that is a mix of exponentials: it decays fast at first and slowly after, as the
    volatility of real prices does. Every `step_ns` the components move by their exact OU
    transition and the fundamental gets `volatility = base_volatility * m` and
    `jump_intensity = base_jump_intensity * m^2` (news comes in bursts too) through
    `FundamentalValue.set_parameters` at that instant. m = exp(x - dispersion^2), so that
    E[m^2] = 1: the long-run variance rate is the base one.

    The components start from their stationary law (no warm-up), drawn from `rng` — the
    regime's own stream — as every later step is, so the path is a function of the seed.
    Cost: one clock delivery per step.
    """

    def __init__(self, fundamental: FundamentalValue, clock: Clock, rng: np.random.Generator,
                 *, base_volatility: float, base_jump_intensity: float, dispersion: float,
                 timescales_s: tuple[float, ...], step_ns: int) -> None:
        if type(step_ns) is not int or step_ns <= 0:
            raise ValueError(f"step_ns was {step_ns!r}, expected an int > 0")
        self.fundamental = fundamental
        self.clock = clock
        self.base_volatility = float(base_volatility)
        self.base_jump_intensity = float(base_jump_intensity)
        self.dispersion = float(dispersion)
        self.step_ns = step_ns
        dt = step_ns / NS_PER_S
        std = self.dispersion / np.sqrt(len(timescales_s))
        self._decay = [float(np.exp(-dt / scale)) for scale in timescales_s]
        self._shock = [std * float(np.sqrt(-np.expm1(-2 * dt / scale))) for scale in timescales_s]
        self._normals = BlockDraws(lambda n: rng.standard_normal(n), 1024)
        self._x = [std * self._normals.next() for _ in timescales_s]
        self.multiplier = 1.0
        self._apply(clock.now_ns())

    def _apply(self, now: int) -> None:
        self.multiplier = m = float(np.exp(sum(self._x) - self.dispersion**2))
        self.fundamental.set_parameters(now, volatility=self.base_volatility * m,
                                        jump_intensity=self.base_jump_intensity * m * m)
        self.clock.deliver_at(now + self.step_ns, self._on_step, None)

    def _on_step(self, _: object) -> None:
        normal = self._normals.next
        self._x = [a * x + b * normal() for x, a, b in zip(self._x, self._decay, self._shock)]
        self._apply(self.clock.now_ns())


# --- the dealer's clients ----------------------------------------------------------------------


class DealerClient(Agent):
    """A client of a single-dealer platform: at Poisson times (`rate` per second) it asks
    the dealer for a one-sided price (RFQ) on a random side for 1 to `max_lots` lots, and
    accepts the answer at once when it carries a price (last look may still reject)."""

    def __init__(self, name: str, dealer: str, *, rate: float, max_lots: int,
                 lot_size: int = 100) -> None:
        super().__init__(name)
        if not rate > 0:
            raise ValueError(f"{name}.rate was {rate!r}, expected > 0")
        self.dealer = dealer
        self.rate = float(rate)
        self.max_lots = max_lots
        self.lot_size = lot_size
        self._asked: dict[int, Side] = {}  # request id -> side
        self.accepts = 0

    async def run(self) -> None:
        rng = self.rng
        gaps = BlockDraws(lambda n: rng.exponential(1.0 / self.rate, n), 256)
        uniforms = BlockDraws(lambda n: rng.random(n), 256)
        lots = BlockDraws(lambda n: rng.integers(1, self.max_lots + 1, n), 256)
        while True:
            await self.sleep(gaps.next())
            side = _BUY if uniforms.next() < 0.5 else _SELL
            request_id = self.request_quote(self.dealer, side, lots.next() * self.lot_size)
            self._asked[request_id] = side

    def on_quote(self, quote: Quote) -> None:
        side = self._asked.pop(quote.request_id, None)
        if side is None or not quote.quote_id:
            return
        quantity, bid, ask = quote.tiers[0]
        price = ask if side is _BUY else bid
        if price is not None:
            self.accepts += 1
            self.accept_quote(self.dealer, quote.quote_id, side, quantity, price)


# --- the market ---------------------------------------------------------------------------------


class Market:
    """Everything `build_market` made, for reports and tests (never for agents)."""

    def __init__(self, config: MarketConfig, clock: Clock, lit: dict[str, LitExchange],
                 feed: ConsolidatedFeed, noise_feed: ConflatedNBBO | None, dark_pool: DarkPool,
                 dealer: SingleDealerPlatform, fundamental: FundamentalValue) -> None:
        self.config = config
        self.clock = clock
        self.lit = lit
        self.feed = feed
        self.noise_feed = noise_feed
        self.top_of_book: dict[str, TopOfBookFeed] = {}  # lit venue -> its L1 product
        self.dark_pool = dark_pool
        self.dark_pools: dict[str, DarkPool] = {dark_pool.name: dark_pool}  # extras too
        self.dealer = dealer
        self.fundamental = fundamental
        self.volatility_regime: VolatilityRegime | None = None
        self.noise: list[NoiseTrader] = []
        self.informed: list[InformedTrader] = []
        self.market_makers: list[MarketMaker] = []
        self.dealer_clients: list[DealerClient] = []
        # agent -> venue -> one-way link latency (fixed part), ns
        self.latencies: dict[str, dict[str, int]] = {}

    @property
    def venues(self) -> dict[str, Venue]:
        venues: dict[str, Venue] = dict(self.lit)
        venues.update(self.dark_pools)
        venues[self.dealer.name] = self.dealer
        return venues

    @property
    def agents(self) -> Iterator[Agent]:
        yield from self.market_makers
        yield from self.informed
        yield from self.noise
        yield from self.dealer_clients

    def trades_per_venue(self) -> dict[str, int]:
        trades = {name: venue.trades for name, venue in self.lit.items()}
        for name, pool in self.dark_pools.items():
            trades[name] = pool.trades
        trades[self.dealer.name] = self.dealer.last_look_fills
        return trades

    def messages(self) -> tuple[int, int]:
        """(deliveries, wake-ups) the loop has run so far (the clock is the loop)."""
        return (getattr(self.clock, "deliveries", 0), getattr(self.clock, "wakeups", 0))


def build_market(sim: Simulation, config: MarketConfig = MarketConfig()) -> Market:
    """Create and wire the whole market; call it inside a `Simulation` setup callback."""
    clock = sim.clock
    streams = sim.rng_streams
    log = sim.event_log if config.record_events else None
    jitter = config.agent_jitter_ns

    lit: dict[str, LitExchange] = {}
    for v in config.lit_venues:
        lit[v.name] = LitExchange(v.name, clock, tick_size=v.tick_size, lot_size=v.lot_size,
                                  maker_fee=v.maker_fee, taker_fee=v.taker_fee,
                                  l2_depth=v.l2_depth, event_log=log, rng_streams=streams)
        sim.add_venue(lit[v.name])
    lit_ticks = {v.name: v.tick_size for v in config.lit_venues}
    distance = {v.name: v.latency_ns for v in config.lit_venues}

    f = config.feed
    feed = ConsolidatedFeed(f.name, clock, f.latency,
                            streams.stream(f"link/{f.name}") if f.latency.jitter_ns else None,
                            event_log=log)
    for venue in lit.values():
        venue.subscribe(f.name, feed.on_market_data, Latency(fixed_ns=f.venue_latency_ns))

    d = config.dark_pool
    pool = DarkPool(d.name, clock, lot_size=d.lot_size, tick_size=d.tick_size, fee=d.fee,
                    print_delay_ns=d.print_delay_ns, auction_interval_ns=d.auction_interval_ns,
                    event_log=log, rng_streams=streams)
    sim.add_venue(pool)
    distance[d.name] = d.latency_ns
    feed.subscribe(d.name, pool.on_nbbo, Latency(fixed_ns=f.venue_subscriber_latency_ns))
    extra_pools: list[DarkPool] = []
    for x in config.extra_dark_pools:
        extra = DarkPool(x.name, clock, lot_size=x.lot_size, tick_size=x.tick_size, fee=x.fee,
                         print_delay_ns=x.print_delay_ns,
                         auction_interval_ns=x.auction_interval_ns, event_log=log,
                         rng_streams=streams)
        sim.add_venue(extra)
        distance[x.name] = x.latency_ns
        feed.subscribe(x.name, extra.on_nbbo, Latency(fixed_ns=f.venue_subscriber_latency_ns))
        extra_pools.append(extra)

    s = config.dealer
    dealer = SingleDealerPlatform(
        s.name, clock, tiers=s.tiers, tick_size=s.tick_size, skew_per_share=s.skew_per_share,
        quote_ttl_ns=s.quote_ttl_ns, rfq_ttl_ns=s.rfq_ttl_ns,
        last_look_hold_ns=s.last_look_hold_ns,
        last_look_threshold_ticks=s.last_look_threshold_ticks, fee_per_share=s.fee_per_share,
        refresh_ns=s.refresh_ns, event_log=log, rng_streams=streams)
    sim.add_venue(dealer)
    distance[s.name] = s.latency_ns
    feed.subscribe(s.name, dealer.on_nbbo, Latency(fixed_ns=f.venue_subscriber_latency_ns))

    fc = config.fundamental
    fundamental = FundamentalValue(
        streams.stream("fundamental"),
        FundamentalParameters(mean=float(config.reference_price),
                              reversion_rate=fc.reversion_rate, volatility=fc.volatility,
                              jump_intensity=fc.jump_intensity, jump_std=fc.jump_std),
        start_ns=sim.start_ns, start_value=config.reference_price, step_ns=fc.step_ns)
    regime: VolatilityRegime | None = None
    if fc.volatility_dispersion > 0:
        regime = VolatilityRegime(
            fundamental, clock, streams.stream("fundamental/volatility"),
            base_volatility=fc.volatility, base_jump_intensity=fc.jump_intensity,
            dispersion=fc.volatility_dispersion, timescales_s=fc.volatility_timescales_s,
            step_ns=max(1, round(fc.volatility_step_s * NS_PER_S)))

    n = config.noise
    noise_feed: ConflatedNBBO | None = None
    if n.count and n.market_data == "conflated":
        noise_feed = ConflatedNBBO(f"{f.name}-conflated", clock, n.conflation_ns, event_log=log)
        feed.subscribe(noise_feed.name, noise_feed.on_nbbo)

    market = Market(config, clock, lit, feed, noise_feed, pool, dealer, fundamental)
    market.dark_pools.update((extra.name, extra) for extra in extra_pools)
    market.volatility_regime = regime

    def base_latencies(population: str, count: int, bounds: tuple[int, int]) -> list[int]:
        if not count:
            return []
        rng = streams.stream(f"latency/{population}")
        drawn: list[int] = rng.integers(bounds[0], bounds[1] + 1, count).tolist()
        return drawn

    def connect(agent: Agent, base_ns: int, venue: Venue, market_data: bool) -> None:
        one_way = base_ns + distance[venue.name]
        market.latencies.setdefault(agent.name, {})[venue.name] = one_way
        agent.connect(venue, Latency(fixed_ns=one_way, jitter_ns=jitter),
                      market_data=market_data)

    # Market makers: every lit venue, with depth.
    m = config.market_makers
    for i, base in enumerate(base_latencies("market-makers", m.count, m.latency_ns)):
        mm = MarketMaker(
            f"mm{i}", lit_ticks, gamma=m.gamma, k=m.k, sigma_min=m.sigma_min,
            sigma_max=m.sigma_max, horizon_s=m.horizon_s,
            volatility_window_s=m.volatility_window_s, refresh_s=m.refresh_s,
            quote_lots=m.quote_lots, lot_size=config.lit_venues[0].lot_size,
            max_inventory_lots=m.max_inventory_lots, reference_price=config.reference_price,
            flow_skew=m.flow_skew, flow_window_s=m.flow_window_s)
        sim.add_agent(mm)
        for venue in lit.values():
            connect(mm, base, venue, True)
        market.market_makers.append(mm)

    # Informed traders: lit venues (each venue's top, full stream, or the NBBO) and the pool.
    inf = config.informed
    if inf.count and inf.market_data == "l1":
        for name, venue in lit.items():
            # Informed traders read prices only: size-only changes are not sent to them.
            tops = market.top_of_book[name] = TopOfBookFeed(f"{name}-L1", clock,
                                                            prices_only=True)
            venue.subscribe(tops.name, tops.on_market_data)
    for i, base in enumerate(base_latencies("informed", inf.count, inf.latency_ns)):
        trader = InformedTrader(
            f"informed{i}", fundamental.value_at, lit_ticks, rate=inf.rate,
            noise_ticks=inf.noise_ticks, threshold_ticks=inf.threshold_ticks,
            max_lots=inf.max_lots, lot_size=config.lit_venues[0].lot_size,
            size_exponent=inf.size_exponent or None, burst_rate=inf.burst_rate or None,
            dark_venues={d.name: d.tick_size}, dark_fraction=inf.dark_fraction,
            dark_min_lots=inf.dark_min_lots, dark_time_in_force=inf.dark_time_in_force,
            dark_ttl_s=inf.dark_ttl_s)
        sim.add_agent(trader)
        for venue in lit.values():
            connect(trader, base, venue, inf.market_data == "venues")
            if inf.market_data == "l1":
                market.top_of_book[venue.name].subscribe(
                    trader.name, trader.on_market_data,
                    Latency(fixed_ns=market.latencies[trader.name][venue.name]))
        connect(trader, base, pool, False)
        if inf.market_data == "nbbo":
            feed.subscribe(trader.name, trader.on_market_data, Latency(fixed_ns=base))
        market.informed.append(trader)

    # Noise traders: every lit venue and the dark pool; the NBBO only (conflated by default).
    lit_names = list(lit)
    for i, base in enumerate(base_latencies("noise", n.count, n.latency_ns)):
        noise = NoiseTrader(
            f"noise{i}", lit_names, rate=n.rate, market_fraction=n.market_fraction,
            cancel_fraction=n.cancel_fraction, mean_offset_ticks=n.mean_offset_ticks,
            max_lots=n.max_lots, lot_size=config.lit_venues[0].lot_size,
            tick_size=max(lit_ticks.values()), reference_price=config.reference_price,
            dark_venues=[d.name] if n.dark_fraction else [], dark_fraction=n.dark_fraction,
            dark_min_lots=n.dark_min_lots, size_exponent=n.size_exponent or None)
        sim.add_agent(noise)
        for venue in lit.values():
            connect(noise, base, venue, False)
        if n.dark_fraction:
            connect(noise, base, pool, False)
        source = noise_feed if noise_feed is not None else feed
        source.subscribe(noise.name, noise.on_market_data, Latency(fixed_ns=base))
        market.noise.append(noise)

    # The dealer's clients.
    c = config.dealer_clients
    for i, base in enumerate(base_latencies("dealer-clients", c.count, c.latency_ns)):
        client = DealerClient(f"client{i}", s.name, rate=c.rate, max_lots=c.max_lots,
                              lot_size=config.lit_venues[0].lot_size)
        sim.add_agent(client)
        connect(client, base, dealer, False)
        market.dealer_clients.append(client)
    return market


# --- running ------------------------------------------------------------------------------


class MarketRunResult(RunResult):
    """A `RunResult` that also holds the `Market` and the loop's message counts."""

    def __init__(self, result: RunResult, market: Market) -> None:
        super().__init__(result.simulation, result.deliveries, result.wall_seconds)
        self.market = market
        self.loop_deliveries, self.wakeups = market.messages()

    @property
    def messages(self) -> int:
        """Deliveries (orders, cancels, reports, market data, quotes) plus timer wake-ups."""
        return self.loop_deliveries + self.wakeups


def run_market(
    config: MarketConfig = MarketConfig(), seed: int = 1, seconds: float = 60.0,
    log_path: str | Path | None = None, keep_log_lines: bool = False,
) -> MarketRunResult:
    """Build the market from `config` and run it for `seconds` of simulated time."""
    end_ns = round(seconds * NS_PER_S)
    simulation = Simulation("market", seed=seed, end_ns=end_ns, log_path=log_path,
                            keep_log_lines=keep_log_lines)
    held: list[Market] = []

    def setup(sim: Simulation) -> None:
        held.append(build_market(sim, config))

    result = simulation.run(setup)
    return MarketRunResult(result, held[0])
