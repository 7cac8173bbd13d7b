"""router.smart_order_router on the small whole market: it works a parent order to
completion across lit, dark and dealer venues, never sends a child the execution policy
forbids (checked from the event log, i.e. from what the venues actually received), and its
kill switch leaves no working child."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.messages import Side
from router.allocators.base import Allocation, Allocator, VenueFeedback
from router.execution_policy import ExecutionPolicy
from router.parent_order import ParentOrder
from router.reward import FillCost, venue_reward
from router.schedules.pov import POV
from router.schedules.twap import TWAP
from market.errors import HandlerFailed
from router.smart_order_router import InvalidAllocation, SmartOrderRouter
from router.tactics import VenueKind, VenueProfile
from router.tca import analyze
from scenarios.market import (
    DealerClientConfig,
    InformedConfig,
    Market,
    MarketConfig,
    MarketMakerConfig,
    NoiseConfig,
    build_market,
)
from scenarios.simulation import Simulation
from market.link import Latency

S = 1_000_000_000
MS = 1_000_000
SMALL = MarketConfig(
    noise=NoiseConfig(count=30, rate=1.0, dark_fraction=0.2),
    informed=InformedConfig(count=5, rate=0.5),
    market_makers=MarketMakerConfig(count=2),
    dealer_clients=DealerClientConfig(count=3, rate=0.5),
)


class EqualSplit(Allocator):
    """A plug-in allocator written against the public interface only: equal lots per venue."""

    def __init__(self, venues: Sequence[str], rng: Any, lot: int = 100) -> None:
        super().__init__(venues, rng)
        self.lot = lot
        self.updates: list[VenueFeedback] = []

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        names = list(venues or self.venues)
        lots = quantity // self.lot
        share, extra = divmod(lots, len(names))
        return {name: (share + (i < extra)) * self.lot for i, name in enumerate(names)}

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        self.updates.extend(feedback)


def profiles(market: Market) -> list[VenueProfile]:
    venues = [VenueProfile(v.name, VenueKind.LIT, v.tick_size, v.lot_size)
              for v in market.config.lit_venues]
    venues.append(VenueProfile(market.dark_pool.name, VenueKind.DARK, 1, 100))
    venues.append(VenueProfile(market.dealer.name, VenueKind.DEALER, 1, 100))
    return venues


def run_with_router(
    parent: ParentOrder, *, seconds: int = 40, urgency_note: str = "",
    after_setup: Callable[[Simulation, SmartOrderRouter], None] | None = None,
) -> tuple[SmartOrderRouter, list[dict[str, Any]], Market]:
    sim = Simulation("router-test", seed=9, end_ns=seconds * S, keep_log_lines=True)
    held: dict[str, Any] = {}

    def setup(s: Simulation) -> None:
        market = build_market(s, SMALL)
        venues = profiles(market)
        allocator = EqualSplit([v.name for v in venues], s.rng_streams.stream("allocator"))
        router = SmartOrderRouter("SOR", parent, TWAP(parent.quantity, parent.start_ns, parent.end_ns),
                                  allocator, venues, slice_interval_ns=S, markout_ns=S)
        s.add_agent(router)
        for name, venue in market.venues.items():
            router.connect(venue, Latency(100_000))
        held.update(router=router, market=market)
        if after_setup is not None:
            after_setup(s, router)

    sim.run(setup)
    lines = sim.event_log.lines
    assert lines is not None
    held["all_events"] = [orjson.loads(line) for line in lines[1:-1]]
    events = [e for e in held["all_events"] if '"SOR"' in orjson.dumps(e).decode()]
    LAST_RUN.clear()
    LAST_RUN.update(held)
    return held["router"], events, held["market"]


LAST_RUN: dict[str, Any] = {}


def test_router_twap_parent_fills_across_venue_kinds_without_overfill() -> None:
    parent = ParentOrder(1, Side.BUY, 20_000, start_ns=2 * S, end_ns=30 * S, urgency=0.7)
    router, events, _ = run_with_router(parent)
    assert router.filled <= parent.quantity
    assert router.filled >= 0.9 * parent.quantity, router.filled
    sent_to = {e["at"] for e in events if e["event"] == "in"}
    assert {"LIT1", "LIT2", "LIT3", "DARK1", "SDP1"} <= sent_to
    filled_at = {e["at"] for e in events if e["type"] == "ExecutionReport" and e["msg"]["last_quantity"]}
    assert len(filled_at) >= 3, filled_at
    # The allocator heard back per venue, with rewards in [0, 1].
    updates = router.allocator.updates  # type: ignore[attr-defined]
    assert updates and all(0.0 <= f.reward <= 1.0 for f in updates)
    # Filled shares in the reports add up to what the router counted.
    fills = sum(e["msg"]["last_quantity"] for e in events
                if e["event"] == "out" and e["type"] == "ExecutionReport")
    assert fills == router.filled
    # TCA from the event log alone agrees with the router's own books.
    tca = analyze(LAST_RUN["all_events"], "SOR", side="buy", quantity=parent.quantity,
                  start_ns=parent.start_ns, end_ns=parent.end_ns)
    assert tca.filled == router.filled
    assert tca.average_price == pytest.approx(router.average_price)
    assert tca.fees == router.fees_paid
    assert tca.arrival_mid is not None and tca.implementation_shortfall_bps is not None
    assert sum(v["sent"] for v in tca.venues.values()) >= router.filled


def test_router_feeds_back_cost_against_the_touch_taking_would_have_cost() -> None:
    """Each venue's cost is told against what taking cost at decision: a lit venue's own far
    touch, the NBBO's far touch (the best of them) at a venue that shows none. So a buy's
    touches sit above the decision mid, a lit one no lower than the NBBO's, and the cost fed
    back is the price beyond that touch, plus fees, minus the markout."""
    parent = ParentOrder(1, Side.BUY, 20_000, start_ns=2 * S, end_ns=30 * S, urgency=0.7)
    router, _, _ = run_with_router(parent)
    lit = {"LIT1", "LIT2", "LIT3"}
    checked = 0
    for record in router.slices:
        touches = {v: c.touch for v, c in record.costs.items()}
        if record.decision_mid is None or None in touches.values() or not touches:
            continue
        hidden = {t for v, t in touches.items() if v not in lit}
        assert len(hidden) <= 1, touches  # one NBBO per slice
        for venue, touch in touches.items():
            assert touch is not None and touch > record.decision_mid, (venue, touch, record)
            if venue in lit and hidden:
                assert touch >= min(hidden), touches
        checked += bool(hidden) and any(v in lit for v in touches)
    assert checked >= 10, checked
    updates = router.allocator.updates  # type: ignore[attr-defined]
    with_cost = [f for f in updates if f.filled]
    assert with_cost and all(f.cost_bps is not None for f in with_cost)
    assert all(f.cost_bps is None for f in updates if not f.filled)


def test_router_take_never_trades_through_the_nbbo() -> None:
    """Order protection: a take at a lit venue whose own ask is worse than the NBBO's is
    pinned at the NBBO's ask (it fills only if that venue's book has come up to it), never
    at its own. The equal split sends every venue a child every slice, so such venues turn
    up often; the NBBO's ask at decision is the touch recorded for the hidden venues."""
    parent = ParentOrder(1, Side.BUY, 20_000, start_ns=2 * S, end_ns=30 * S, urgency=0.7)
    router, events, _ = run_with_router(parent)
    price = {e["msg"]["order_id"]: (e["at"], e["msg"]["price"]) for e in events
             if e["type"] == "NewOrder" and e["event"] == "in" and e["at"].startswith("LIT")}
    protected = 0
    for record in router.slices:
        nbbo_ask = record.costs["DARK1"].touch if "DARK1" in record.costs else None
        if nbbo_ask is None:
            continue
        for order_id in record.children:
            if order_id not in price:
                continue
            venue, limit = price[order_id]
            assert limit <= nbbo_ask, (record.index, venue, limit, nbbo_ask)
            own = record.costs[venue].touch
            if own is not None and own > nbbo_ask:
                assert limit == nbbo_ask, (record.index, venue, limit, own, nbbo_ask)
                protected += 1
    assert protected >= 10, protected


def test_fill_cost_against_the_touch_leaves_the_spread_out() -> None:
    """Bought 200 at 1,000,100 (fee 30 a share) with the mid at 1,000,000 and the touch at
    1,000,050: 1.3 bp against the mid, 0.8 bp beyond the touch; the mid instead when the
    touch is unknown. A sell mirrors it."""
    cost = FillCost(Side.BUY, 1_000_000.0, 1_000_050.0)
    cost.add_fill(200, 1_000_100, 30 * 200)
    assert cost.cost_bps(None) == pytest.approx(1.3)
    assert cost.cost_bps(None, against_touch=True) == pytest.approx(0.8)
    assert cost.cost_bps(1_000_200.0, against_touch=True) == pytest.approx(0.8 - 1.0)
    unknown = FillCost(Side.BUY, 1_000_000.0)
    unknown.add_fill(100, 1_000_100, 0)
    assert unknown.cost_bps(None, against_touch=True) == pytest.approx(1.0)
    sell = FillCost(Side.SELL, 1_000_000.0, 999_950.0)
    sell.add_fill(100, 999_900, 30 * 100)
    assert sell.cost_bps(None, against_touch=True) == pytest.approx(0.8)


@pytest.mark.parametrize("policy", [
    ExecutionPolicy(venues=("LIT1", "DARK1"), max_child_size=300),
    ExecutionPolicy(max_participation=0.1, participation_allowance=200),
    ExecutionPolicy(collar_ticks=150, venues=("LIT1", "LIT2", "LIT3", "SDP1")),
])
def test_router_never_sends_a_child_the_policy_forbids(policy: ExecutionPolicy) -> None:
    parent = ParentOrder(2, Side.SELL, 15_000, start_ns=2 * S, end_ns=30 * S, urgency=0.7,
                         policy=policy)
    router, events, _ = run_with_router(parent)
    children = [e for e in events if e["event"] == "in" and e["type"] in ("NewOrder", "AcceptQuote", "QuoteRequest")]
    assert children, "the router sent nothing"
    for child in children:
        message = child["msg"]
        if policy.venues is not None:
            assert child["at"] in policy.venues, child
        if policy.max_child_size is not None:
            assert message["quantity"] <= policy.max_child_size, child
        if policy.collar_ticks is not None and child["type"] != "QuoteRequest":
            assert message["price"] is not None, child
    if policy.max_participation is not None:
        # Filled never ran ahead of the rate times the volume the router had seen.
        assert router.filled <= policy.max_participation * router.market_volume + policy.participation_allowance + 1_000
    assert router.filled <= parent.quantity


def test_router_kill_switch_leaves_no_working_child() -> None:
    parent = ParentOrder(3, Side.BUY, 50_000, start_ns=1 * S, end_ns=30 * S, urgency=0.2)
    killed_at: list[int] = []

    def after_setup(sim: Simulation, router: SmartOrderRouter) -> None:
        def kill(_: object) -> None:
            killed_at.append(sim.clock.now_ns())
            router.kill()
        sim.clock.call_at_ns(10 * S + 500 * MS, kill, None)

    router, events, _ = run_with_router(parent, after_setup=after_setup)
    assert killed_at
    sent_after = [e for e in events if e["event"] == "in" and e["type"] in ("NewOrder", "AcceptQuote", "QuoteRequest")
                  and e["msg"]["t_ns"] > killed_at[0]]
    assert sent_after == []
    assert router.working == 0
    assert all(child.done for child in router.children.values())
    assert router.filled < parent.quantity


router_policies = st.builds(
    ExecutionPolicy,
    venues=st.one_of(st.none(), st.lists(st.sampled_from(["LIT1", "LIT2", "LIT3", "DARK1", "SDP1"]),
                                          min_size=1, max_size=5, unique=True).map(tuple)),
    max_child_size=st.one_of(st.none(), st.integers(1, 20).map(lambda lots: lots * 100)),
    max_participation=st.one_of(st.none(), st.floats(0.05, 0.5)),
    participation_allowance=st.integers(0, 10).map(lambda lots: lots * 100),
    collar_ticks=st.one_of(st.none(), st.integers(0, 300)),
)


@settings(max_examples=6, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(router_policies, st.sampled_from([Side.BUY, Side.SELL]), st.sampled_from([0.2, 0.7]))
def test_router_random_policies_no_child_ever_violates_them(
    policy: ExecutionPolicy, side: Side, urgency: float,
) -> None:
    parent = ParentOrder(4, side, 8_000, start_ns=1 * S, end_ns=12 * S, urgency=urgency,
                         policy=policy)
    router, events, _ = run_with_router(parent, seconds=15)
    children = [e for e in events if e["event"] == "in"
                and e["type"] in ("NewOrder", "AcceptQuote", "QuoteRequest")]
    for child in children:
        message = child["msg"]
        if policy.venues is not None:
            assert child["at"] in policy.venues, child
        if policy.max_child_size is not None and child["type"] != "QuoteRequest":
            assert message["quantity"] <= policy.max_child_size, child
        if policy.collar_ticks is not None and child["type"] != "QuoteRequest":
            assert message["price"] is not None, child
    assert router.filled <= parent.quantity
    if policy.max_participation is not None:
        assert router.filled <= (policy.max_participation * router.market_volume
                                 + policy.participation_allowance + policy.max_child_size
                                 if policy.max_child_size else
                                 policy.max_participation * router.market_volume
                                 + policy.participation_allowance + parent.quantity)


# --- re-routing and the catch-up rule -------------------------------------------------------------

DRY = MarketConfig(
    noise=NoiseConfig(count=30, rate=1.0, dark_fraction=0.0),
    informed=InformedConfig(count=5, rate=0.5, dark_fraction=0.0),
    market_makers=MarketMakerConfig(count=2),
    dealer_clients=DealerClientConfig(count=0),
)


class DarkOnly(Allocator):
    """Everything to DARK1, whatever happens: an allocator that never learns."""

    def __init__(self, venues: Sequence[str], rng: Any) -> None:
        super().__init__(venues, rng)
        self.updates: list[VenueFeedback] = []

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        return {"DARK1": quantity - quantity % 100}

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        self.updates.extend(feedback)


def run_on_small_market(name: str, seed: int, parent: ParentOrder, schedule: Any,
                        allocator: type[Allocator], *, config: MarketConfig = SMALL,
                        dark: bool = False, **options: Any) -> SmartOrderRouter:
    """`parent` worked over `config`'s lit venues (and DARK1 with `dark`, no market data
    from it) by a fresh `allocator`; the run ends 5 s after the parent does."""
    sim = Simulation(name, seed=seed, end_ns=parent.end_ns + 5 * S, keep_log_lines=False)
    held: list[SmartOrderRouter] = []

    def setup(s: Simulation) -> None:
        market = build_market(s, config)
        venues = [VenueProfile(v.name, VenueKind.LIT, v.tick_size, v.lot_size)
                  for v in market.config.lit_venues]
        if dark:
            venues.append(VenueProfile("DARK1", VenueKind.DARK, 1, 100))
        router = SmartOrderRouter(
            "SOR", parent, schedule,
            allocator([v.name for v in venues], s.rng_streams.stream("allocator")), venues,
            slice_interval_ns=S, **options)
        s.add_agent(router)
        for v in venues:
            router.connect(market.venues[v.name], Latency(100_000),
                           market_data=v.kind is VenueKind.LIT)
        held.append(router)

    sim.run(setup)
    return held[0]


def run_dark_only(max_lag_ns: int | None) -> SmartOrderRouter:
    """A parent worked by `DarkOnly` in a market where nobody rests in the dark pool."""
    parent = ParentOrder(5, Side.BUY, 6_000, start_ns=2 * S, end_ns=20 * S, urgency=0.7)
    return run_on_small_market("router-dry", 5, parent,
                               TWAP(parent.quantity, parent.start_ns, parent.end_ns), DarkOnly,
                               config=DRY, dark=True, markout_ns=S, max_lag_ns=max_lag_ns)


def test_router_unfilled_dark_child_is_rerouted_at_the_very_next_slice() -> None:
    router = run_dark_only(max_lag_ns=None)
    assert router.filled == 0  # nobody rests in the pool
    schedule = router.schedule
    early = [r for r in router.slices
             if schedule.target_filled(r.t_ns + router.slice_interval_ns) <= 3_000]
    assert len(early) >= 8
    for record in early:
        # Nothing filled, and the previous slice's child is being canceled: the slice asks
        # for everything the schedule wants by its end, not only the new increment. (Later,
        # filled + everything working, cancels in flight included, may not exceed the parent.)
        horizon = record.t_ns + router.slice_interval_ns
        assert record.quantity == schedule.target_filled(horizon), record


def test_router_max_lag_takes_overdue_shares_at_lit_and_keeps_them_from_the_allocator() -> None:
    router = run_dark_only(max_lag_ns=2 * S)
    parent = router.parent
    # Without the rule this parent fills nothing (see above); with it, it ends about 2 s
    # of schedule behind (no clean-up in this run).
    assert router.filled >= router.schedule.target_filled(parent.end_ns - 3 * S), router.filled
    catch_ups = [r for r in router.slices if r.catch_up]
    assert catch_ups and all(set(r.allocation) <= {"LIT1", "LIT2", "LIT3"} for r in catch_ups)
    assert all(set(r.allocation) <= {"DARK1"} for r in router.slices if not r.catch_up)
    # The allocator hears only about its own choices: no catch-up child is fed back.
    allocator = router.allocator
    assert isinstance(allocator, DarkOnly)
    assert allocator.updates and {f.venue for f in allocator.updates} == {"DARK1"}
    # A catch-up takes only what was overdue: at most what the schedule wanted 2 s before.
    schedule = router.schedule
    for record in catch_ups:
        assert 0 < record.quantity <= schedule.target_filled(record.t_ns - 2 * S)


@pytest.mark.parametrize(("urgency", "max_lag", "expected"), [
    (0.7, "auto", 2 * S), (0.5, "auto", 2 * S), (0.2, "auto", None), (0.7, None, None),
    (0.2, 3 * S, 3 * S),
])
def test_router_catch_up_default_is_two_slices_for_an_urgent_parent_only(
    urgency: float, max_lag: Any, expected: int | None,
) -> None:
    parent = ParentOrder(6, Side.BUY, 1_000, start_ns=0, end_ns=10 * S, urgency=urgency)
    router = SmartOrderRouter("SOR", parent, TWAP(parent.quantity, 0, 10 * S),
                              EqualSplit(["LIT1"], None), [VenueProfile("LIT1", VenueKind.LIT)],
                              slice_interval_ns=S, max_lag_ns=max_lag)
    assert router.max_lag_ns == expected


def test_router_negative_max_lag_is_refused_with_its_name() -> None:
    parent = ParentOrder(7, Side.BUY, 1_000, start_ns=0, end_ns=10 * S)
    with pytest.raises(ValueError, match="SOR: max_lag_ns was -1"):
        SmartOrderRouter("SOR", parent, TWAP(parent.quantity, 0, 10 * S),
                         EqualSplit(["LIT1"], None), [VenueProfile("LIT1", VenueKind.LIT)],
                         max_lag_ns=-1)


def test_router_catch_up_under_pov_compares_with_the_target_as_it_stood_then() -> None:
    """POV knows only the volume so far: asked about the past, it answers with the present.
    The catch-up rule must use the target recorded `max_lag_ns` ago, or every share would
    look overdue and the allocator would never get a slice."""
    parent = ParentOrder(8, Side.BUY, 6_000, start_ns=2 * S, end_ns=20 * S, urgency=0.7)
    router = run_on_small_market(
        "router-pov", 5, parent, POV(parent.quantity, parent.start_ns, parent.end_ns, rate=0.2),
        EqualSplit, markout_ns=S, max_lag_ns=2 * S)
    assert router.filled > 0
    own = [r for r in router.slices if not r.catch_up and r.allocation]
    catch_ups = [r for r in router.slices if r.catch_up]
    assert len(own) >= 8 and len(own) > 2 * len(catch_ups), (len(own), len(catch_ups))


@pytest.mark.parametrize("markout_ns", [0, S])
def test_router_zero_markout_charges_no_markout(markout_ns: int) -> None:
    """markout_ns == 0 scores each venue on its price and fees against the decision mid
    alone; otherwise the mid at scoring time enters (it has moved on some slices)."""
    parent = ParentOrder(9, Side.BUY, 8_000, start_ns=2 * S, end_ns=20 * S, urgency=0.7)
    router = run_on_small_market(
        "router-markout", 3, parent, TWAP(parent.quantity, parent.start_ns, parent.end_ns),
        EqualSplit, markout_ns=markout_ns, cost_scale_bps=3.0)
    scored = [(r.rewards[v], venue_reward(c, None, 3.0)) for r in router.slices if r.evaluated
              for v, c in r.costs.items() if c.filled]
    assert len(scored) > 20
    differ = sum(1 for reward, without in scored if reward != pytest.approx(without))
    assert (differ == 0) if markout_ns == 0 else (differ > 0), differ


# --- allocations from plug-ins ----------------------------------------------------------------


class NumpyEqualSplit(EqualSplit):
    """`EqualSplit` with numpy integers (np.int64) for shares, as numpy arithmetic gives."""

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        return {venue: np.int64(shares)
                for venue, shares in super().choose(quantity, venues, context).items()}


def test_router_numpy_integer_allocation_routes_exactly_like_python_ints() -> None:
    parent = ParentOrder(10, Side.BUY, 6_000, start_ns=2 * S, end_ns=12 * S, urgency=0.7)
    runs = [run_on_small_market("router-numpy", 4, parent,
                                TWAP(parent.quantity, parent.start_ns, parent.end_ns), allocator,
                                markout_ns=S, max_lag_ns=None)
            for allocator in (EqualSplit, NumpyEqualSplit)]
    plain, numpy_ = runs
    assert numpy_.filled == plain.filled > 0
    assert [r.allocation for r in numpy_.slices] == [r.allocation for r in plain.slices]
    assert all(type(shares) is int for r in numpy_.slices for shares in r.allocation.values())


def _allocating(answer: Callable[[int, Sequence[str]], Allocation]) -> type[Allocator]:
    class Broken(Allocator):
        def choose(self, quantity: int, venues: Sequence[str] | None = None,
                   context: Sequence[float] | None = None) -> Allocation:
            return answer(quantity, list(venues or self.venues))

        def update(self, feedback: Sequence[VenueFeedback]) -> None:
            pass

    return Broken


@pytest.mark.parametrize("answer, message", [
    (lambda q, v: {"NOPE": q},
     "allocated 500 to venue 'NOPE': the router is not connected to that venue (its venues: "
     "LIT1, LIT2, LIT3)"),
    (lambda q, v: {v[0]: q + 100, v[1]: -100},
     "allocated -100 to venue 'LIT2': expected a number of shares >= 0"),
    (lambda q, v: {v[0]: q / 1.0},
     "allocated 500.0 (float) to venue 'LIT1': expected an integer number of shares"),
    (lambda q, v: {v[0]: "500"},
     "allocated '500' (str) to venue 'LIT1': expected an integer number of shares"),
], ids=["unknown_venue", "negative", "float", "str"])
def test_router_bad_allocation_stops_the_run_naming_allocator_venue_and_value(
    answer: Callable[[int, Sequence[str]], Allocation], message: str,
) -> None:
    parent = ParentOrder(11, Side.BUY, 2_000, start_ns=1 * S, end_ns=5 * S, urgency=0.7)
    with pytest.raises(HandlerFailed) as caught:
        run_on_small_market("router-broken", 4, parent,
                            TWAP(parent.quantity, parent.start_ns, parent.end_ns),
                            _allocating(answer), max_lag_ns=None)
    assert caught.value.who == "agent 'SOR'" and caught.value.t_ns == 1 * S
    assert isinstance(caught.value.error, InvalidAllocation)
    assert str(caught.value.error) == f"SOR: allocator Broken {message}"
