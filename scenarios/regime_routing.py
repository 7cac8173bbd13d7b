"""The regime-shift routing study: the best dark pool dries up half-way through a parent order.

Market: the small built-in market (`scenarios.market`) plus a second dark pool, DARK2.
Dark liquidity comes from dedicated providers (noise traders that rest every limit
arrival midpoint-pegged in one pool): many in DARK1, fewer in DARK2, so DARK1 is the best
venue for a patient buyer at first. At the shift time DARK1's providers stop resting there
and cancel what they have: the pool dries up.

Router: one `SmartOrderRouter` buys `quantity` shares on a TWAP over the run, on the venues
LIT1-3, DARK1 and DARK2, with the allocator under test. Each run gives the TCA figures
(implementation shortfall against the arrival mid, opportunity cost of what was left
unfilled), the fill rate, and how the allocation to DARK1 moved after the shift.

`run_study_case(allocator, seed)` is one run; `bench/regime_routing.py` runs the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from agents.noise_trader import NoiseTrader
from market.link import Latency
from market.messages import Side
from router.allocators.registry import make_allocator
from router.parent_order import ParentOrder
from router.schedules.twap import TWAP
from router.smart_order_router import SmartOrderRouter
from router.tactics import VenueKind, VenueProfile
from router.tca import analyze
from scenarios.market import (
    DealerClientConfig,
    InformedConfig,
    MarketConfig,
    MarketMakerConfig,
    NoiseConfig,
    build_market,
)
from scenarios.simulation import Simulation
from venues.dark_pool import DarkPool

__all__ = ["StudyConfig", "CaseResult", "run_study_case", "ALLOCATOR_CASES"]

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
    "dark-first-guarded": ("dark-first", {"dark": ["DARK1", "DARK2"], "discount": 0.9,
                                          "max_cost_bps": 1.0, "cost_scale_bps": 20.0}),
}
STATIC = ("lit-only", "pro-rata", "fixed-dark-heavy", "fixed-even")


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
    market: MarketConfig = MarketConfig(
        noise=NoiseConfig(count=30, rate=1.0, dark_fraction=0.0),
        informed=InformedConfig(count=4, rate=0.5, dark_fraction=0.0),
        market_makers=MarketMakerConfig(count=2),
        dealer_clients=DealerClientConfig(count=0),
        record_events=True,
    )


@dataclass
class CaseResult:
    allocator: str
    seed: int
    implementation_shortfall_bps: float  # filled shares, price + fees, vs arrival mid
    total_cost_bps: float  # shortfall on filled + opportunity cost of the unfilled
    fill_rate: float
    share_to_degraded_before: float
    share_to_degraded_after: float
    slices_to_move_off: int | None  # slices after the shift until a 10-slice window's share
    # of DARK1 is below 10% (None: never, within the allocator's slices before clean-up)
    venues: Mapping[str, Any]


def run_study_case(allocator: str, seed: int, config: StudyConfig = StudyConfig()) -> CaseResult:
    key, params = ALLOCATOR_CASES[allocator]
    end_ns = config.seconds * S
    shift_ns = config.shift_s * S
    sim = Simulation(f"regime-routing/{allocator}", seed=seed, end_ns=end_ns, keep_log_lines=True)
    held: dict[str, Any] = {}
    venues = [VenueProfile(v.name, VenueKind.LIT, v.tick_size, v.lot_size)
              for v in config.market.lit_venues]
    venues += [VenueProfile("DARK1", VenueKind.DARK, 1, 100),
               VenueProfile("DARK2", VenueKind.DARK, 1, 100)]
    parent = ParentOrder(1, Side.BUY, config.quantity, start_ns=2 * S, end_ns=end_ns - 2 * S,
                         urgency=config.urgency)

    def setup(s: Simulation) -> None:
        market = build_market(s, config.market)
        dark2 = DarkPool("DARK2", s.clock, event_log=s.event_log, rng_streams=s.rng_streams)
        s.add_venue(dark2)
        market.feed.subscribe("DARK2", dark2.on_nbbo, Latency(200_000))
        pools = {"DARK1": market.dark_pool, "DARK2": dark2}
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
                                  markout_ns=config.slice_interval_ns, cleanup_ns=config.cleanup_ns)
        s.add_agent(router)
        for name in [v.name for v in config.market.lit_venues]:
            router.connect(market.lit[name], Latency(100_000))
        router.connect(market.dark_pool, Latency(100_000), market_data=False)
        router.connect(dark2, Latency(100_000), market_data=False)

        def dry_up(_: object) -> None:
            for trader in providers["DARK1"]:
                trader.dark_fraction = 0.0
                for order_id, venue in list(trader.live_orders.items()):
                    if venue == "DARK1":
                        trader.cancel_order(order_id)

        s.clock.call_at_ns(shift_ns, dry_up, None)
        held["router"] = router

    sim.run(setup)
    router: SmartOrderRouter = held["router"]
    lines = sim.event_log.lines
    assert lines is not None
    events = [orjson.loads(line) for line in lines[1:-1]]
    tca = analyze(events, "SOR", side="buy", quantity=parent.quantity,
                  start_ns=parent.start_ns, end_ns=parent.end_ns)
    shortfall = tca.implementation_shortfall_bps or 0.0
    filled_share = tca.filled / parent.quantity
    total = shortfall * filled_share + (tca.opportunity_cost_bps or 0.0)

    def share_to_dark1(records: list[Any]) -> float:
        sent = sum(sum(r.allocation.values()) for r in records)
        return sum(r.allocation.get("DARK1", 0) for r in records) / sent if sent else 0.0

    allocated = [r for r in router.slices if not r.cleanup]  # the allocator's own decisions
    before = [r for r in allocated if r.t_ns < shift_ns]
    after = [r for r in allocated if r.t_ns >= shift_ns]
    moved: int | None = None
    for i in range(len(after)):
        window = after[i:i + 10]
        if len(window) == 10 and share_to_dark1(window) < 0.10:
            moved = i
            break
    return CaseResult(allocator, seed, shortfall, total, tca.fill_rate, share_to_dark1(before),
                      share_to_dark1(after), moved, tca.venues)


def with_changes(config: StudyConfig, **changes: Any) -> StudyConfig:
    return replace(config, **changes)
