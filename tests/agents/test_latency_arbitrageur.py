"""agents.latency_arbitrageur: on the virtual clock with a real lit exchange, consolidated
feed and dark pool whose feed link is slow — it sells into the pool exactly when the pool's
reference mid is stale-high by at least the threshold (buys when stale-low), not otherwise;
one order in flight per direction; flattens on the lit venue over its position limit; its
accounts reconcile with the venues'; same seed, same log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from agents.agent import Agent
from agents.latency_arbitrageur import LatencyArbitrageur
from market.consolidated_feed import ConsolidatedFeed
from market.link import Latency
from market.messages import OrderType, Peg, Side, TimeInForce
from scenarios.simulation import Simulation
from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange

S = 1_000_000_000
MS = 1_000_000
US = 1_000
LOT = 10
BUY, SELL = Side.BUY, Side.SELL
POOL_LAG = 100 * MS  # feed -> pool: the pool's reference is this stale
MOVE_NS = 200 * MS  # the lit quotes move by `move` ticks at this time
BUYER_NS = 150 * MS  # a midpoint buy rests in the pool from here on


class Script(Agent):
    """Runs `steps` — (t_ns, action(agent)) — at their times; nothing else."""

    def __init__(self, name: str, steps: list[tuple[int, Callable[[Agent], None]]]) -> None:
        super().__init__(name)
        self.steps = steps

    async def run(self) -> None:
        for t_ns, action in self.steps:
            await self.sleep((t_ns - self.now_ns()) / S)
            action(self)


def _quote(bid: int, ask: int) -> Callable[[Agent], None]:
    def action(agent: Agent) -> None:
        for order_id in list(agent.live_orders):
            agent.cancel_order(order_id)
        agent.submit_order("LIT1", BUY, 50 * LOT, bid)
        agent.submit_order("LIT1", SELL, 50 * LOT, ask)
    return action


def _rest_in_pool(side: Side, lots: int) -> Callable[[Agent], None]:
    def action(agent: Agent) -> None:
        agent.submit_order("DARK1", side, lots * LOT, peg=Peg.MIDPOINT)
    return action


def _world(
    move: int, *, seed: int = 1, seconds: float = 0.5, resting: Side = BUY,
    flicker: bool = False, pool_latency_ns: int = 20 * US, **params: Any,
) -> tuple[LatencyArbitrageur, dict[str, Any], list[dict[str, Any]], str | None]:
    """LIT1 quotes 995/1005 (tick 5) from t=0 and 995-move/1005-move from MOVE_NS; the feed
    reaches the pool (and the arbitrageur's pool view) POOL_LAG late; a participant rests a
    20-lot midpoint order of side `resting` in the pool at BUYER_NS. With `flicker`, the
    quoter adds a 1-lot bid every ms after the move (fresh top updates, the price unchanged).
    Returns the arbitrageur, the venues, the logged events and the log digest."""
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        log = sim.event_log
        lit = LitExchange("LIT1", sim.clock, tick_size=5, lot_size=LOT, maker_fee=-1,
                          taker_fee=2, event_log=log)
        pool = DarkPool("DARK1", sim.clock, lot_size=LOT, tick_size=5, fee=1, event_log=log)
        sim.add_venue(lit)
        sim.add_venue(pool)
        feed = ConsolidatedFeed("SIP", sim.clock, Latency(fixed_ns=10 * US))
        lit.subscribe("SIP", feed.on_market_data, Latency(fixed_ns=50 * US))
        feed.subscribe("DARK1", pool.on_nbbo, Latency(fixed_ns=POOL_LAG))
        steps = [(0, _quote(995, 1005)), (MOVE_NS, _quote(995 - move, 1005 - move))]
        if flicker:
            steps += [(MOVE_NS + k * MS, lambda a: a.submit_order("LIT1", BUY, LOT, 995 - move))
                      for k in range(1, 90)]
        quoter = sim.add_agent(Script("quoter", steps))
        quoter.connect(lit, Latency(fixed_ns=10 * US), market_data=False)
        resting_agent = sim.add_agent(Script("resting", [(BUYER_NS, _rest_in_pool(resting, 20))]))
        resting_agent.connect(pool, Latency(fixed_ns=20 * US), market_data=False)
        defaults: dict[str, Any] = dict(threshold_ticks=20.0, max_lots=3, lot_size=LOT,
                                        pool_tick_size=5)
        defaults.update(params)
        arb = LatencyArbitrageur("arb", "DARK1", ["LIT1"], **defaults)
        sim.add_agent(arb)
        arb.connect(lit, Latency(fixed_ns=5 * US))
        arb.connect(pool, Latency(fixed_ns=pool_latency_ns), market_data=False)
        feed.subscribe("arb", arb.on_market_data, Latency(fixed_ns=POOL_LAG))  # the pool's view
        held.update(arb=arb, lit=lit, pool=pool, resting=resting_agent)

    simulation = Simulation("latency-arb", seed=seed, end_ns=int(seconds * S),
                            keep_log_lines=True)
    result = simulation.run(setup)
    lines = simulation.event_log.lines
    assert lines is not None
    events = [orjson.loads(line) for line in lines[1:-1]]
    return held["arb"], held, events, result.digest


def _orders(events: list[dict[str, Any]], venue: str) -> list[dict[str, Any]]:
    """The arbitrageur's NewOrders as `venue` received them (with the arrival time)."""
    return [{**e["msg"], "arrived": e["t"]} for e in events
            if e["type"] == "NewOrder" and e["event"] == "in" and e["at"] == venue
            and e["msg"]["participant"] == "arb"]


def _fills(events: list[dict[str, Any]], participant: str) -> list[dict[str, Any]]:
    return [e["msg"] for e in events if e["type"] == "ExecutionReport" and e["event"] == "out"
            and e["msg"]["participant"] == participant and e["msg"]["last_quantity"]]


# --- when it trades -------------------------------------------------------------------------


def test_latency_arbitrageur_pool_reference_stale_high_sells_ioc_peg_at_stale_mid() -> None:
    arb, held, events, _ = _world(50)
    (order,) = _orders(events, "DARK1")
    # Sent when the fresh quote reached it (MOVE + 10 us to LIT1 + 5 us back), arrives 20 us on.
    assert order["arrived"] == MOVE_NS + 10 * US + 5 * US + 20 * US
    assert (Side(order["side"]), order["quantity"], order["price"], Peg(order["peg"]),
            TimeInForce(order["time_in_force"]), OrderType(order["order_type"])) == (
        SELL, 3 * LOT, 950, Peg.MIDPOINT, TimeInForce.IOC, OrderType.LIMIT)
    # It sold at the pool's stale mid, 1000, to the resting buyer; the fresh mid was 950.
    (fill,) = _fills(events, "arb")
    assert (fill["last_price"], fill["last_quantity"], fill["venue"]) == (1000, 3 * LOT, "DARK1")
    (buyer_fill,) = _fills(events, "resting")
    assert (buyer_fill["last_price"], buyer_fill["side"]) == (1000, BUY.value)
    assert arb.position == -3 * LOT and arb.pool_filled == 3 * LOT
    assert arb.live_orders == {} and _orders(events, "LIT1") == []  # within its limit


def test_latency_arbitrageur_gap_exactly_threshold_trades() -> None:
    _, _, events, _ = _world(20)
    (order,) = _orders(events, "DARK1")
    assert Side(order["side"]) is SELL and order["price"] == 980


@pytest.mark.parametrize("move", [0, 5, 15])
def test_latency_arbitrageur_gap_below_threshold_sends_nothing(move: int) -> None:
    arb, _, events, _ = _world(move)
    assert _orders(events, "DARK1") == [] and arb.pool_orders == 0 and arb.position == 0


def test_latency_arbitrageur_inactive_sends_nothing() -> None:
    arb, _, events, _ = _world(50, active=False)
    assert _orders(events, "DARK1") == [] and arb.position == 0


def test_latency_arbitrageur_pool_reference_stale_low_buys_resting_sell() -> None:
    arb, _, events, _ = _world(-50, resting=SELL)
    (order,) = _orders(events, "DARK1")
    assert (Side(order["side"]), order["price"]) == (BUY, 1050)
    (fill,) = _fills(events, "arb")
    assert fill["last_price"] == 1000 and arb.position == 3 * LOT


def test_latency_arbitrageur_stale_low_against_resting_buy_gets_nothing() -> None:
    # It buys when the pool is stale-low; nobody sells there, so its IOC comes back empty.
    arb, held, events, _ = _world(-50, resting=BUY)
    (order,) = _orders(events, "DARK1")
    assert Side(order["side"]) is BUY
    assert _fills(events, "arb") == [] and arb.position == 0 and arb.live_orders == {}
    assert held["pool"].resting_quantity(BUY) == 20 * LOT


# --- pacing and inventory ----------------------------------------------------------------


def test_latency_arbitrageur_one_pool_order_in_flight_per_direction() -> None:
    # 5 ms each way to the pool, no cooldown, a fresh top every ms: the next order goes only
    # once the previous one is done (sent + 10 ms round trip).
    arb, _, events, _ = _world(50, flicker=True, pool_latency_ns=5 * MS, cooldown_ns=0,
                               max_position_lots=1_000)
    orders = _orders(events, "DARK1")
    assert len(orders) >= 5 and all(Side(o["side"]) is SELL for o in orders)
    sent = [o["t_ns"] for o in orders]
    assert all(later - earlier >= 10 * MS for earlier, later in zip(sent, sent[1:]))
    # Every order after the first 20 lots went found nothing resting (IOC, no fill).
    assert arb.position == -20 * LOT


def test_latency_arbitrageur_cooldown_spaces_sends() -> None:
    arb, _, events, _ = _world(50, flicker=True, cooldown_ns=20 * MS, max_position_lots=1_000)
    sent = [o["t_ns"] for o in _orders(events, "DARK1")]
    assert len(sent) >= 3
    assert all(later - earlier >= 20 * MS for earlier, later in zip(sent, sent[1:]))


def test_latency_arbitrageur_over_position_limit_flattens_at_lit_touch() -> None:
    arb, held, events, _ = _world(50, max_position_lots=1)
    (exit_order,) = _orders(events, "LIT1")
    # Short 3 lots after the pool fill: buys them back at LIT1's ask, 955, IOC.
    assert (Side(exit_order["side"]), exit_order["quantity"], exit_order["price"],
            TimeInForce(exit_order["time_in_force"])) == (BUY, 3 * LOT, 955, TimeInForce.IOC)
    assert arb.position == 0 and arb.exit_orders == 1 and arb.live_orders == {}
    # Sold 30 at 1000 (pool fee 1/share), bought 30 at 955 (taker fee 2/share): 45 x 30 - 90.
    assert arb.cash == 3 * LOT * (1000 - 955) - 3 * LOT * (1 + 2)


def test_latency_arbitrageur_accounts_reconcile_with_venue_statistics() -> None:
    arb, held, events, _ = _world(50, flicker=True, max_position_lots=1, cooldown_ns=0)
    bought = sold = cash = fees = 0
    for venue in (held["lit"], held["pool"]):
        stats = venue.statistics["arb"]
        bought += stats.bought
        sold += stats.sold
        fees += stats.fees
        cash += stats.sold_notional - stats.bought_notional - stats.fees
    assert sold > 0 and bought > 0  # it both picked off the pool and flattened on LIT1
    assert (arb.position, arb.cash, arb.fees) == (bought - sold, cash, fees)
    assert abs(arb.position) <= LOT  # flattened down to the limit or below


# --- determinism and parameters ----------------------------------------------------------


def test_latency_arbitrageur_same_seed_same_log() -> None:
    first = _world(50, flicker=True, max_position_lots=1, cooldown_ns=0)
    second = _world(50, flicker=True, max_position_lots=1, cooldown_ns=0)
    assert first[3] == second[3] and first[3] is not None
    assert (first[0].position, first[0].cash) == (second[0].position, second[0].cash)


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(threshold_ticks=0.0), "threshold_ticks"),
        (dict(threshold_ticks=float("nan")), "threshold_ticks"),
        (dict(max_lots=0), "max_lots"),
        (dict(lot_size=2.5), "lot_size"),
        (dict(pool_tick_size=0), "pool_tick_size"),
        (dict(max_position_lots=-1), "max_position_lots"),
        (dict(cooldown_ns=-1), "cooldown_ns"),
        (dict(pool=""), "pool"),
        (dict(pool="LIT1"), "pool"),
        (dict(venues=[]), "venues"),
        (dict(venues="LIT1"), "venues"),
    ],
)
def test_latency_arbitrageur_bad_parameter_raises_value_error_naming_it(
    changes: dict[str, Any], field: str,
) -> None:
    params: dict[str, Any] = dict(pool="DARK1", venues=["LIT1"], threshold_ticks=10.0)
    params.update(changes)
    with pytest.raises(ValueError, match=rf"arb\.{field}\b"):
        LatencyArbitrageur("arb", **params)
