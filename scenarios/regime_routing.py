"""The regime-shift routing study: the best dark pool dries up, or turns toxic, half-way
through a parent order.

Market: the small built-in market (`scenarios.market`) plus a second dark pool, DARK2,
without the fundamental's news jumps (`jump_intensity` 0; see "Why no jumps" below).
Dark liquidity comes from dedicated providers (noise traders that rest every limit
arrival midpoint-pegged in one pool): many in DARK1, fewer in DARK2, so DARK1 is the best
venue for a patient buyer at first. What happens at the shift time is `StudyConfig.mode`:
- "dry" (the default): DARK1's providers stop resting there and cancel what they have: the
  pool dries up (nobody rests there any more: its liquidity is gone).
- "toxic": DARK1's reference stalls and latency arbitrageurs start trading against it.
  DARK1 reads the consolidated feed through a `DelayedNBBO` relay whose delay is 0 until
  the shift and `toxic_delay_ns` from then on (an NBBO the relay receives after the shift
  reaches the pool that much later; the default, 60 s, is longer than what is left of the
  run, so the pool keeps crossing midpoint pegs at the last mid it had before the shift).
  `arbitrageurs` `LatencyArbitrageur`s, fast on the lit venues
  (their own L1 at `arb_latency_ns` plus each venue's distance), subscribe to the same
  relay (they hold the pool's view, i.e. they have measured its lag) and, from the shift
  on, sell into DARK1 when its mid is stale-high by `arb_threshold_ticks` or more (hitting
  whoever rests a buy there: the router's children, the providers' buys) and buy when it
  is stale-low (taking the providers' sells before the router can). DARK1's providers keep
  resting: the pool does not dry up, its fills turn adverse.
  Why DARK1 is the study's own pool in this mode: `build_market` wires its pool straight
  to the feed, and the relay has to sit on that link, so the built-in pool is renamed
  DARK0 and left idle (nobody in the study sends it an order: noise and informed traders
  have dark_fraction 0), and DARK1 is built here with the built-in pool's parameters
  (`market.dark_pool`: fee, tick, lot, print delay) and the same feed latency. Before the
  shift the relay adds nothing, so DARK1 prices exactly as in "dry".

Router: one `SmartOrderRouter` buys `quantity` shares on a TWAP over the run, on the venues
LIT1-3, DARK1 and DARK2, with the allocator under test and the catch-up rule
(`max_lag_ns`: shares overdue by more than that are taken at the lit venues, for every
allocator alike). Each run gives the TCA figures (implementation shortfall against the
arrival mid, split by phase: before the shift, after it, the clean-up; opportunity cost of
what was left unfilled), the fill rate, and how the allocation to DARK1 moved after the
shift.

Why the shift had to be made material, and the noise taken out (measured on the tuning
seeds 1000-1039, before the evaluation; the notes are in `bench/regime_routing.py`):
- A dark fill at the midpoint saves about half the 1-cent spread plus the taker fee over a
  lit take: 0.5-0.8 bp a share. That is all a router can gain by moving flow between
  pools, so a regime shift is worth at most that times the flow it moves.
- In "dry" the static allocators lose little by construction: what a dry pool leaves
  unfilled is re-sent at the next slice at the static's own weights, so in the end it fills
  at DARK2 and the lit venues in their proportions. The gain left to an adaptive router is
  the dark liquidity it finds in DARK2 beyond the static's share of it.
- In "toxic" a 2 s lag cost the router only about 0.2 bp per DARK1 fill (5 s: 0.4; 30 s:
  1.6; stalled: 2.0), less than a lit take: a pool that is still cheaper than the
  alternative is not degraded, and no router should leave it. Hence the stalled reference.
  The toxicity depends on the price path after the stall: when the price falls, a buyer's
  DARK1 fills are picked off; when it rises, resting buys are filled below the market (a
  windfall). So on some seeds the pool is not degraded for a buyer at all.
- Schedule lag turned price moves into noise: a router whose dark children went unfilled
  ran up to 4,000 shares behind its TWAP (an allocator sending its backlog back to a pool
  that cannot fill it), and on a seed with a price move that lag alone moved its
  shortfall by a basis point. Hence the router's prompt re-routing and the catch-up rule.
- Why no jumps: a news jump (15 cents, one per 10 minutes) on one seed turns any small
  difference in schedule lag between two routers into a +-1 bp difference in shortfall
  that says nothing about routing (tuning seed 1012: +1.1 bp from one jump). The jumps
  favour no allocator in expectation; they only widen every confidence interval.

`run_study_case(allocator, seed)` is one run; `bench/regime_routing.py` runs the table.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from agents.latency_arbitrageur import LatencyArbitrageur
from agents.noise_trader import NoiseTrader
from market.clock import Clock
from market.link import Latency
from market.messages import NBBO, Side
from router.allocators.registry import make_allocator
from router.parent_order import ParentOrder
from router.schedules.twap import TWAP
from router.smart_order_router import SmartOrderRouter
from router.tactics import VenueKind, VenueProfile
from router.tca import analyze
from scenarios.market import (
    DealerClientConfig,
    FundamentalConfig,
    InformedConfig,
    MarketConfig,
    MarketMakerConfig,
    NoiseConfig,
    build_market,
)
from scenarios.simulation import Simulation
from venues.dark_pool import DarkPool

__all__ = ["StudyConfig", "CaseResult", "DelayedNBBO", "run_study_case", "ALLOCATOR_CASES",
           "MODES", "MOVE_OFF_WINDOW", "MOVE_OFF_SHARE", "ADAPTIVE", "STATIC"]

S = 1_000_000_000
MS = 1_000_000

# The allocators compared: name -> (registry key, parameters builder given the venues).
ALLOCATOR_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "lit-only": ("lit-only", {"lit": ["LIT1", "LIT2", "LIT3"]}),
    "pro-rata": ("pro-rata", {}),
    "fixed-dark-heavy": ("fixed-weights", {"weights": {"DARK1": 0.5, "DARK2": 0.2, "LIT1": 0.1,
                                                       "LIT2": 0.1, "LIT3": 0.1}}),
    "fixed-even": ("fixed-weights", {"weights": {"DARK1": 0.2, "DARK2": 0.2, "LIT1": 0.2,
                                                 "LIT2": 0.2, "LIT3": 0.2}}),
    "ucb1": ("ucb1", {}),
    "sw-ucb": ("sw-ucb", {"window": 20}),
    "d-ucb": ("d-ucb", {"gamma": 0.9, "xi": 0.15}),
    "dark-first": ("dark-first", {"dark": ["DARK1", "DARK2"], "discount": 0.9}),
    "dark-first-stationary": ("dark-first", {"dark": ["DARK1", "DARK2"], "discount": 1.0}),
    # The study's adaptive router, in both modes: the censored dark allocation with the
    # toxicity guard. Its guard parameters (a probe every 5 slices, cost memory 0.7) were
    # the best of a small grid on the tuning seeds in "toxic" (probe_every 3/5/10 x
    # cost_discount 0.7/0.9, max_cost_bps 0.5/1.0).
    "dark-first-guarded": ("dark-first", {"dark": ["DARK1", "DARK2"], "discount": 0.9,
                                          "max_cost_bps": 1.0, "cost_scale_bps": 20.0,
                                          "probe_every": 5, "cost_discount": 0.7}),
}
ADAPTIVE = "dark-first-guarded"
STATIC = ("lit-only", "pro-rata", "fixed-dark-heavy", "fixed-even")
MODES = ("dry", "toxic")
US = 1_000
# "Moved off DARK1": the first window of this many of the allocator's own slices after the
# shift in which DARK1 got less than this share of the shares it allocated.
MOVE_OFF_WINDOW = 10
MOVE_OFF_SHARE = 0.10


@dataclass(frozen=True)
class StudyConfig:
    seconds: int = 120
    shift_s: int = 60
    quantity: int = 24_000
    slice_interval_ns: int = S
    dark1_providers: int = 16
    dark2_providers: int = 6
    provider_rate: float = 1.0
    urgency: float = 0.6
    cleanup_ns: int = 10 * S
    # The router's catch-up rule: at most this far behind the TWAP (None: off).
    max_lag_ns: int | None = 2 * S
    # "dry": DARK1 dries up at the shift; "toxic": its reference goes stale and latency
    # arbitrageurs pick it off (the fields below are used by "toxic" only).
    mode: str = "dry"
    # DARK1's extra NBBO lag from the shift on; longer than what is left of the run: the
    # pool's reference stalls. Why not a realistic lag: in this market the lit mid moves in
    # half-cent steps and is unchanged over 1 s 55-75% of the time, so a short lag costs a
    # buyer resting in the pool little (measured per DARK1 fill of the router: 2 s lag 0.2
    # bp, 5 s 0.4, 30 s 1.6, stalled 2.0; a lit take costs about 0.9 bp).
    toxic_delay_ns: int = 60 * S
    arbitrageurs: int = 3
    # The smallest gap there is (mids sit on a half-cent grid): half a cent, 0.5 bp at
    # 100.00, over the pool fee both ways (2 x 10 ticks).
    arb_threshold_ticks: float = 50.0
    arb_max_lots: int = 20
    arb_max_position_lots: int = 200
    arb_cooldown_ns: int = 2 * MS
    arb_latency_ns: int = 5 * US  # one way, to each lit venue (plus its distance) and DARK1
    market: MarketConfig = MarketConfig(
        fundamental=FundamentalConfig(jump_intensity=0.0),
        noise=NoiseConfig(count=30, rate=1.0, dark_fraction=0.0),
        informed=InformedConfig(count=4, rate=0.5, dark_fraction=0.0),
        market_makers=MarketMakerConfig(count=2),
        dealer_clients=DealerClientConfig(count=0),
        record_events=True,
    )

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode was {self.mode!r}, expected one of {', '.join(MODES)}")
        for field in ("toxic_delay_ns", "arbitrageurs", "arb_cooldown_ns", "arb_latency_ns",
                      "arb_max_position_lots"):
            value = getattr(self, field)
            if type(value) is not int or value < 0:
                raise ValueError(f"{field} was {value!r}, expected an int >= 0")
        if type(self.arb_max_lots) is not int or self.arb_max_lots < 1:
            raise ValueError(f"arb_max_lots was {self.arb_max_lots!r}, expected an int >= 1")
        if self.max_lag_ns is not None and (type(self.max_lag_ns) is not int
                                            or self.max_lag_ns < 0):
            raise ValueError(f"max_lag_ns was {self.max_lag_ns!r}, expected None or an int >= 0")
        if not self.arb_threshold_ticks > 0:
            raise ValueError(f"arb_threshold_ticks was {self.arb_threshold_ticks!r}, "
                             "expected > 0")


class DelayedNBBO:
    """A relay between a consolidated feed and its subscribers with a delay that can change
    during a run (`delay_ns`, settable): each NBBO received at t goes out to every
    subscriber at t + the delay in force at t. FIFO: an NBBO never goes out before one
    received earlier (a lowered delay waits for the last scheduled one). Subscribers all get
    each NBBO at the same instant; the messages are the feed's own, unchanged (already
    logged by the feed, so nothing is logged here). A new subscriber gets the last NBBO
    received, after the delay in force."""

    def __init__(self, name: str, clock: Clock, delay_ns: int = 0) -> None:
        self.name = name
        self.clock = clock
        self.delay_ns = delay_ns
        self._handlers: list[Callable[[Any], object]] = []
        self._last: NBBO | None = None
        self._last_ns = 0
        self.received = 0

    def subscribe(self, handler: Callable[[Any], object]) -> None:
        self._handlers.append(handler)
        if self._last is not None:
            self.clock.deliver_at(self._due(), handler, self._last)

    def on_nbbo(self, message: Any) -> None:
        if type(message) is not NBBO:
            return
        self.received += 1
        self._last = message
        t_ns = self._due()
        for handler in self._handlers:
            self.clock.deliver_at(t_ns, handler, message)

    def _due(self) -> int:
        t_ns = max(self.clock.now_ns() + self.delay_ns, self._last_ns)
        self._last_ns = t_ns
        return t_ns


@dataclass
class CaseResult:
    allocator: str
    seed: int
    implementation_shortfall_bps: float  # filled shares, price + fees, vs arrival mid
    total_cost_bps: float  # shortfall on filled + opportunity cost of the unfilled
    fill_rate: float
    share_to_degraded_before: float
    share_to_degraded_after: float
    slices_to_move_off: int | None  # the allocator's slices after the shift until a window of
    # MOVE_OFF_WINDOW of them gives DARK1 less than MOVE_OFF_SHARE (None: never, before the
    # clean-up)
    venues: Mapping[str, Any]
    # The router's DARK1 fills before / after the shift: shares, and their price against
    # the lit mid at the fill's time (bps of that mid, + = paid above it; fees excluded;
    # None: no fill).
    dark1_filled_before: int = 0
    dark1_filled_after: int = 0
    dark1_cost_before_bps: float | None = None
    dark1_cost_after_bps: float | None = None
    # "toxic": the arbitrageurs' P&L together, in dollars (0.0001 a tick), fees included,
    # their positions marked to the final lit mid.
    arbitrage_pnl: float | None = None
    # The shortfall (bps of the arrival mid, price + fees, per share of the parent) of the
    # fills before the shift, after it (up to the clean-up) and in the clean-up: with the
    # opportunity cost they sum to `total_cost_bps`.
    shortfall_before_bps: float = 0.0
    shortfall_after_bps: float = 0.0
    shortfall_cleanup_bps: float = 0.0


def run_study_case(allocator: str, seed: int, config: StudyConfig = StudyConfig()) -> CaseResult:
    key, params = ALLOCATOR_CASES[allocator]
    end_ns = config.seconds * S
    shift_ns = config.shift_s * S
    toxic = config.mode == "toxic"
    name = f"regime-routing/{allocator}" if not toxic else f"regime-routing-toxic/{allocator}"
    sim = Simulation(name, seed=seed, end_ns=end_ns, keep_log_lines=True)
    market_config = config.market
    if toxic:  # the built-in pool idles as DARK0; DARK1 is built below, behind the relay
        market_config = replace(market_config,
                                dark_pool=replace(market_config.dark_pool, name="DARK0"))
    held: dict[str, Any] = {}
    venues = [VenueProfile(v.name, VenueKind.LIT, v.tick_size, v.lot_size)
              for v in config.market.lit_venues]
    venues += [VenueProfile("DARK1", VenueKind.DARK, 1, 100),
               VenueProfile("DARK2", VenueKind.DARK, 1, 100)]
    parent = ParentOrder(1, Side.BUY, config.quantity, start_ns=2 * S, end_ns=end_ns - 2 * S,
                         urgency=config.urgency)

    def setup(s: Simulation) -> None:
        market = build_market(s, market_config)
        dark1 = market.dark_pool
        relay: DelayedNBBO | None = None
        if toxic:
            d = market_config.dark_pool
            dark1 = DarkPool("DARK1", s.clock, lot_size=d.lot_size, tick_size=d.tick_size,
                             fee=d.fee, print_delay_ns=d.print_delay_ns,
                             auction_interval_ns=d.auction_interval_ns, event_log=s.event_log,
                             rng_streams=s.rng_streams)
            s.add_venue(dark1)
            relay = DelayedNBBO("DARK1-reference", s.clock)
            market.feed.subscribe(relay.name, relay.on_nbbo,
                                  Latency(market_config.feed.venue_subscriber_latency_ns))
            relay.subscribe(dark1.on_nbbo)
        dark2 = DarkPool("DARK2", s.clock, event_log=s.event_log, rng_streams=s.rng_streams)
        s.add_venue(dark2)
        market.feed.subscribe("DARK2", dark2.on_nbbo, Latency(200_000))
        pools = {"DARK1": dark1, "DARK2": dark2}
        providers: dict[str, list[NoiseTrader]] = {"DARK1": [], "DARK2": []}
        counts = {"DARK1": config.dark1_providers, "DARK2": config.dark2_providers}
        for pool_name, count in counts.items():
            for i in range(count):
                trader = NoiseTrader(
                    f"provider-{pool_name}-{i}", [v.name for v in config.market.lit_venues],
                    rate=config.provider_rate, market_fraction=0.0, cancel_fraction=0.3,
                    max_lots=5, lot_size=100, tick_size=100, reference_price=config.market.reference_price,
                    dark_venues=[pool_name], dark_fraction=1.0)
                s.add_agent(trader)
                for lit in market.lit.values():
                    trader.connect(lit, Latency(500_000))
                trader.connect(pools[pool_name], Latency(500_000), market_data=False)
                market.feed.subscribe(trader.name, trader.on_market_data, Latency(500_000))
                providers[pool_name].append(trader)
        allocator_obj = make_allocator(key, [v.name for v in venues],
                                       s.rng_streams.stream("router/allocator"), params)
        router = SmartOrderRouter("SOR", parent, TWAP(parent.quantity, parent.start_ns, parent.end_ns),
                                  allocator_obj, venues, slice_interval_ns=config.slice_interval_ns,
                                  markout_ns=config.slice_interval_ns, cleanup_ns=config.cleanup_ns,
                                  max_lag_ns=config.max_lag_ns)
        s.add_agent(router)
        for name in [v.name for v in config.market.lit_venues]:
            router.connect(market.lit[name], Latency(100_000))
        router.connect(dark1, Latency(100_000), market_data=False)
        router.connect(dark2, Latency(100_000), market_data=False)
        arbitrageurs: list[LatencyArbitrageur] = []
        if relay is not None:
            lit_names = [v.name for v in config.market.lit_venues]
            for i in range(config.arbitrageurs):
                arb = LatencyArbitrageur(
                    f"arb{i}", "DARK1", lit_names, threshold_ticks=config.arb_threshold_ticks,
                    max_lots=config.arb_max_lots, lot_size=market_config.dark_pool.lot_size,
                    pool_tick_size=market_config.dark_pool.tick_size,
                    max_position_lots=config.arb_max_position_lots,
                    cooldown_ns=config.arb_cooldown_ns, active=False)
                s.add_agent(arb)
                for v in config.market.lit_venues:
                    arb.connect(market.lit[v.name], Latency(config.arb_latency_ns + v.latency_ns))
                arb.connect(dark1, Latency(config.arb_latency_ns), market_data=False)
                relay.subscribe(arb.on_market_data)  # the pool's view, when the pool gets it
                arbitrageurs.append(arb)

        def dry_up(_: object) -> None:
            for trader in providers["DARK1"]:
                trader.dark_fraction = 0.0
                for order_id, venue in list(trader.live_orders.items()):
                    if venue == "DARK1":
                        trader.cancel_order(order_id)

        def turn_toxic(_: object) -> None:
            assert relay is not None
            relay.delay_ns = config.toxic_delay_ns
            for arb in arbitrageurs:
                arb.active = True

        s.clock.call_at_ns(shift_ns, turn_toxic if toxic else dry_up, None)
        held["router"] = router
        held["arbitrageurs"] = arbitrageurs

    sim.run(setup)
    router: SmartOrderRouter = held["router"]
    lines = sim.event_log.lines
    assert lines is not None
    events = [orjson.loads(line) for line in lines[1:-1]]
    tca = analyze(events, "SOR", side="buy", quantity=parent.quantity,
                  start_ns=parent.start_ns, end_ns=parent.end_ns)
    shortfall = tca.execution_shortfall_bps or 0.0
    total = tca.implementation_shortfall_bps or 0.0

    def share_to_dark1(records: list[Any]) -> float:
        sent = sum(sum(r.allocation.values()) for r in records)
        return sum(r.allocation.get("DARK1", 0) for r in records) / sent if sent else 0.0

    # the allocator's own decisions
    allocated = [r for r in router.slices if not r.cleanup and not r.catch_up]
    before = [r for r in allocated if r.t_ns < shift_ns]
    after = [r for r in allocated if r.t_ns >= shift_ns]
    moved: int | None = None
    for i in range(len(after)):
        window = after[i:i + MOVE_OFF_WINDOW]
        if len(window) == MOVE_OFF_WINDOW and share_to_dark1(window) < MOVE_OFF_SHARE:
            moved = i
            break
    phases = [0.0, 0.0, 0.0]  # before the shift, after it, clean-up
    cleanup_ns = parent.end_ns - config.cleanup_ns
    arrival = tca.arrival_mid
    for fill in tca.fills:
        if arrival is None:
            break
        phase = 0 if fill.t_ns < shift_ns else (1 if fill.t_ns < cleanup_ns else 2)
        phases[phase] += ((fill.price - arrival) * fill.quantity + fill.fee) / arrival * 1e4
    phases = [p / parent.quantity for p in phases]
    mid_at = _lit_mid(events, {v.name for v in config.market.lit_venues})
    dark1 = {"before": [0, 0.0], "after": [0, 0.0]}  # shares, sum of shares x bps
    for fill in tca.fills:
        mid = mid_at(fill.t_ns)
        if fill.venue != "DARK1" or mid is None:
            continue
        bucket = dark1["before" if fill.t_ns < shift_ns else "after"]
        bucket[0] += fill.quantity
        bucket[1] += fill.quantity * (fill.price - mid) / mid * 1e4
    pnl: float | None = None
    arbitrageurs: list[LatencyArbitrageur] = held["arbitrageurs"]
    final_mid = mid_at(end_ns)
    if arbitrageurs and final_mid is not None:
        pnl = sum(a.cash + a.position * final_mid for a in arbitrageurs) / 1e4
    return CaseResult(allocator, seed, shortfall, total, tca.fill_rate, share_to_dark1(before),
                      share_to_dark1(after), moved, tca.venues,
                      int(dark1["before"][0]), int(dark1["after"][0]),
                      dark1["before"][1] / dark1["before"][0] if dark1["before"][0] else None,
                      dark1["after"][1] / dark1["after"][0] if dark1["after"][0] else None,
                      pnl, *phases)


def _lit_mid(events: list[dict[str, Any]], lit: set[str]) -> Callable[[int], float | None]:
    """The lit mid over time (best bid and ask over the lit venues' own L1 snapshots, at
    venue time): `mid_at(t_ns)` is the last usable one (both sides, not crossed or locked)
    at or before t_ns."""
    tops: dict[str, tuple[int | None, int | None]] = {}
    times: list[int] = []
    mids: list[float | None] = []
    for event in events:
        if event["type"] != "L1Snapshot" or event["event"] != "out" or event["at"] not in lit:
            continue
        message = event["msg"]
        tops[event["at"]] = (message["bid_price"], message["ask_price"])
        bids = [b for b, _ in tops.values() if b is not None]
        asks = [a for _, a in tops.values() if a is not None]
        mid = (max(bids) + min(asks)) / 2 if bids and asks and max(bids) < min(asks) else None
        if times and times[-1] == event["t"]:
            mids[-1] = mid
        else:
            times.append(event["t"])
            mids.append(mid)

    def mid_at(t_ns: int) -> float | None:
        i = bisect_right(times, t_ns) - 1
        while i >= 0 and mids[i] is None:
            i -= 1
        return mids[i] if i >= 0 else None

    return mid_at


def with_changes(config: StudyConfig, **changes: Any) -> StudyConfig:
    return replace(config, **changes)
