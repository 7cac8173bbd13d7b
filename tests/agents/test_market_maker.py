"""agents.market_maker: the Avellaneda-Stoikov formulas, the quoting policy (skew, inventory
limit, volatility regime), and seeded runs against noise traders on one lit exchange --
including the project's A-S check (skewed quotes hold inventory variance below symmetric
quotes on the same flow) and conservation of every participant's accounts."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest

from agents.agent import Agent, AgentContext, OrderIds
from agents.informed_trader import InformedTrader
from agents.market_maker import MarketMaker, optimal_spread, reservation_price, round_outward
from agents.noise_trader import NoiseTrader
from market.clock import current_clock, run
from market.fundamental import FundamentalParameters, FundamentalValue
from market.link import Latency
from market.messages import L2Snapshot, NewOrder, ReplaceOrder, Side, TradePrint
from market.rng import RngStreams
from scenarios.simulation import Simulation
from venues.lit_exchange import LitExchange

S = 1_000_000_000
MS = 1_000_000
US = 1_000
LOT = 100


class Sampler(Agent):
    """Test instrument, not a market participant: calls `read()` every `every_s` seconds."""

    def __init__(self, name: str, read: Callable[[], Any], every_s: float) -> None:
        super().__init__(name)
        self.read = read
        self.every_s = every_s
        self.samples: list[tuple[int, Any]] = []

    async def run(self) -> None:
        while True:
            await self.sleep(self.every_s)
            self.samples.append((self.now_ns(), self.read()))


def _maker(**changes: Any) -> MarketMaker:
    params: dict[str, Any] = dict(gamma=0.1, k=1.5, sigma_min=1.0, horizon_s=1.0,
                                  lot_size=LOT, max_inventory_lots=10)
    params.update(changes)
    return MarketMaker("mm", ["LIT1"], **params)


# --- the formulas ---------------------------------------------------------------------------


def test_reservation_price_long_inventory_shifts_down_short_shifts_up() -> None:
    mid, gamma, sigma, tau = 10_000.0, 0.1, 2.0, 3.0
    assert reservation_price(mid, 0, gamma, sigma, tau) == mid
    long = reservation_price(mid, 2, gamma, sigma, tau)
    short = reservation_price(mid, -2, gamma, sigma, tau)
    assert long == pytest.approx(mid - 2 * 0.1 * 4.0 * 3.0)  # 2.4 ticks below
    assert short == pytest.approx(mid + 2.4)
    assert reservation_price(mid, 4, gamma, sigma, tau) < long < mid < short


def test_optimal_spread_matches_formula_and_grows_with_gamma_and_sigma() -> None:
    assert optimal_spread(0.1, 2.0, 1.0, 1.5) == pytest.approx(
        0.1 * 4.0 + 20.0 * math.log(1 + 0.1 / 1.5))
    sigmas = [0.5, 1.0, 2.0, 4.0, 8.0]
    by_sigma = [optimal_spread(0.1, s, 1.0, 1.5) for s in sigmas]
    assert by_sigma == sorted(by_sigma) and len(set(by_sigma)) == len(by_sigma)
    # In gamma the inventory term grows and the (2/gamma) ln(1 + gamma/k) term shrinks; the
    # sum grows once sigma^2 tau exceeds about 1/k^2 -- any market worth making (here 4 > 0.44).
    gammas = [0.01, 0.05, 0.1, 0.5, 1.0]
    by_gamma = [optimal_spread(g, 2.0, 1.0, 1.5) for g in gammas]
    assert by_gamma == sorted(by_gamma) and len(set(by_gamma)) == len(by_gamma)
    assert all(optimal_spread(g, 0.0, 1.0, 1.5) > 0 for g in gammas)


def test_round_outward_bid_down_ask_up_to_the_venue_tick() -> None:
    assert round_outward(10_001.3, 10_004.2, 5) == (10_000, 10_005)
    assert round_outward(10_000.0, 10_005.0, 5) == (10_000, 10_005)  # on tick: unchanged
    assert round_outward(10_004.9, 10_000.1, 5) == (10_000, 10_005)  # one tick at least
    assert round_outward(1000.0, 1000.0, 100) == (1000, 1100)
    assert round_outward(-7.0, 3.0, 5) == (5, 10)  # a bid never below one tick


# --- the policy -----------------------------------------------------------------------------


@pytest.mark.parametrize("tick", [1, 5, 100])
def test_quotes_for_any_state_bid_below_ask_on_tick_around_reservation(tick: int) -> None:
    mm = _maker(max_inventory_lots=1000)
    for mid in (10_000.0, 10_002.5, 10_037.25):
        for q in (-20, -3, 0, 3, 20):
            for sigma in (0.0, 0.7, 3.0, 12.0):
                bid, ask = mm.quotes_for(mid, q, sigma, 2.0, tick)
                assert bid is not None and ask is not None
                assert bid < ask and bid % tick == 0 and ask % tick == 0
                s = max(sigma, mm.sigma_min)
                r = reservation_price(mid, q, mm.gamma, s, 2.0)
                half = optimal_spread(mm.gamma, s, 2.0, mm.k) / 2
                assert bid <= r - half < bid + tick and ask - tick < r + half <= ask


def test_quotes_for_long_inventory_lowers_both_quotes_only_with_skew() -> None:
    skewed, symmetric = _maker(), _maker(inventory_skew=False)
    flat = skewed.quotes_for(10_000.0, 0, 2.0, 1.0, 1)
    long = skewed.quotes_for(10_000.0, 5, 2.0, 1.0, 1)
    short = skewed.quotes_for(10_000.0, -5, 2.0, 1.0, 1)
    assert long[0] < flat[0] < short[0] and long[1] < flat[1] < short[1]  # type: ignore[operator]
    # Symmetric: the same spread around the mid whatever the inventory.
    assert symmetric.quotes_for(10_000.0, 5, 2.0, 1.0, 1) == flat
    assert symmetric.quotes_for(10_000.0, -5, 2.0, 1.0, 1) == flat


def test_quotes_for_at_inventory_limit_drops_the_side_that_would_grow_it() -> None:
    mm = _maker(max_inventory_lots=4, quote_lots=2)
    assert None not in mm.quotes_for(10_000.0, 2, 1.0, 1.0, 1)  # 2 + 2 = 4: still allowed
    bid, ask = mm.quotes_for(10_000.0, 3, 1.0, 1.0, 1)  # 3 + 2 > 4
    assert bid is None and ask is not None
    bid, ask = mm.quotes_for(10_000.0, -3, 1.0, 1.0, 1)
    assert bid is not None and ask is None
    # Two venues: both bids could fill, so the bid stops earlier.
    two = MarketMaker("mm", ["A", "B"], max_inventory_lots=4, quote_lots=2, lot_size=LOT)
    assert two.quotes_for(10_000.0, 1, 1.0, 1.0, 1)[0] is None
    assert two.quotes_for(10_000.0, 0, 1.0, 1.0, 1)[0] is not None


def test_quotes_for_volatility_above_threshold_widen_multiplies_the_spread() -> None:
    widen = _maker(vol_threshold=3.0, vol_action="widen", widen_factor=3.0)
    plain = _maker()
    # Below the threshold nothing changes.
    assert widen.quotes_for(10_000.0, 0, 2.9, 1.0, 1) == plain.quotes_for(10_000.0, 0, 2.9, 1.0, 1)
    bid, ask = widen.quotes_for(10_000.0, 0, 3.5, 1.0, 1)
    delta = optimal_spread(0.1, 3.5, 1.0, 1.5)
    assert (bid, ask) == round_outward(10_000.0 - 1.5 * delta, 10_000.0 + 1.5 * delta, 1)
    plain_bid, plain_ask = plain.quotes_for(10_000.0, 0, 3.5, 1.0, 1)
    assert bid is not None and ask is not None and plain_bid is not None and plain_ask is not None
    assert ask - bid >= 3.0 * delta  # outward rounding only adds
    assert plain_ask - plain_bid < delta + 2  # at most a tick added on each side


def test_quotes_for_volatility_above_threshold_withdraw_quotes_nothing() -> None:
    mm = _maker(vol_threshold=3.0, vol_action="withdraw")
    assert None not in mm.quotes_for(10_000.0, 0, 3.0, 1.0, 1)  # at the threshold: quoting
    assert mm.quotes_for(10_000.0, 0, 3.01, 1.0, 1) == (None, None)


def test_quotes_for_sigma_floor_and_cap_bound_the_spread() -> None:
    mm = _maker(sigma_min=1.0, sigma_max=4.0)
    assert mm.quotes_for(10_000.0, 0, 0.0, 1.0, 1) == mm.quotes_for(10_000.0, 0, 1.0, 1.0, 1)
    assert mm.quotes_for(10_000.0, 0, 50.0, 1.0, 1) == mm.quotes_for(10_000.0, 0, 4.0, 1.0, 1)


def test_tau_fixed_window_or_time_left_to_horizon_end() -> None:
    assert _maker(horizon_s=7.5).tau_s(123 * S) == 7.5
    ending = _maker(horizon_end_ns=100 * S)
    assert ending.tau_s(40 * S) == 60.0
    assert ending.tau_s(150 * S) == 0.0


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(gamma=0.0), "gamma"),
        (dict(k=-1.0), "k"),
        (dict(sigma_min=float("nan")), "sigma_min"),
        (dict(sigma_min=2.0, sigma_max=1.0), "sigma_max"),
        (dict(horizon_s=0), "horizon_s"),
        (dict(refresh_s=-0.5), "refresh_s"),
        (dict(quote_lots=0), "quote_lots"),
        (dict(lot_size=1.5), "lot_size"),
        (dict(max_inventory_lots=-3), "max_inventory_lots"),
        (dict(vol_threshold=0.0), "vol_threshold"),
        (dict(vol_action="panic"), "vol_action"),
        (dict(widen_factor=0.5), "widen_factor"),
        (dict(reference_price=0), "reference_price"),
        (dict(inventory_skew="yes"), "inventory_skew"),
        (dict(tick_size=0), "tick_size"),
        (dict(horizon_end_ns=1.5), "horizon_end_ns"),
    ],
)
def test_market_maker_bad_parameter_raises_value_error_naming_it(
    changes: dict[str, Any], field: str,
) -> None:
    with pytest.raises(ValueError, match=rf"mm\.{field} was"):
        _maker(**changes)


def test_market_maker_bad_venues_raise_value_error() -> None:
    with pytest.raises(ValueError, match=r"mm\.venues was"):
        MarketMaker("mm", [])
    with pytest.raises(ValueError, match=r"mm\.venues was"):
        MarketMaker("mm", "LIT1")
    with pytest.raises(ValueError, match=r"mm\.venues\['LIT1'\] tick size"):
        MarketMaker("mm", {"LIT1": 0})


# --- seeded runs against noise traders ------------------------------------------------------


def _noise_market(sim: Simulation, *, traders: int = 4) -> LitExchange:
    exchange = LitExchange("LIT1", sim.clock, tick_size=1, lot_size=LOT, maker_fee=-1,
                           taker_fee=2, event_log=sim.event_log)
    sim.add_venue(exchange)
    for i in range(traders):
        trader = sim.add_agent(NoiseTrader(
            f"noise{i}", ["LIT1"], rate=4.0, market_fraction=0.2, cancel_fraction=0.3,
            mean_offset_ticks=3.0, max_lots=3, lot_size=LOT, tick_size=1,
            reference_price=10_000))
        trader.connect(exchange, Latency(fixed_ns=50 * US))
    return exchange


def _inventory_run(seed: int, seconds: int = 300, **changes: Any) -> tuple[np.ndarray, MarketMaker]:
    """MM inventory (lots, at the venue) sampled every second of a seeded noise-trader run."""
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        exchange = _noise_market(sim)
        params: dict[str, Any] = dict(gamma=0.05, k=0.5, sigma_min=1.0, sigma_max=3.0,
                                      horizon_s=5.0, refresh_s=0.5, lot_size=LOT,
                                      max_inventory_lots=50, reference_price=10_000)
        params.update(changes)
        mm = sim.add_agent(MarketMaker("mm", ["LIT1"], **params))
        mm.connect(exchange, Latency(fixed_ns=20 * US))
        stats = exchange.statistics["mm"]
        held["sampler"] = sim.add_agent(Sampler("sampler", lambda: stats.position / LOT, 1.0))
        held["mm"] = mm

    Simulation("as-check", seed=seed, end_ns=seconds * S).run(setup)
    samples = np.array([value for _, value in held["sampler"].samples], dtype=float)
    assert len(samples) >= seconds - 1
    return samples, held["mm"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_market_maker_inventory_skew_lowers_inventory_variance_vs_symmetric_quotes(
    seed: int,
) -> None:
    skewed, mm_skew = _inventory_run(seed, inventory_skew=True)
    symmetric, mm_sym = _inventory_run(seed, inventory_skew=False)
    # Both makers traded (the comparison means something) ...
    assert np.count_nonzero(np.diff(skewed)) > 50 and np.count_nonzero(np.diff(symmetric)) > 50
    # ... and skewing toward flat holds inventory variance well below symmetric quoting.
    print(f"seed {seed}: inventory variance skew {skewed.var():.2f} lots^2, symmetric "
          f"{symmetric.var():.2f} lots^2")
    assert skewed.var() < 0.5 * symmetric.var()


def test_market_maker_inventory_limit_never_exceeded_in_a_run() -> None:
    samples, mm = _inventory_run(1, seconds=200, inventory_skew=False, max_inventory_lots=3)
    assert np.abs(samples).max() == 3  # the limit was reached (symmetric quotes drift) ...
    assert abs(mm.position) <= 3 * LOT  # ... and never passed, sampled or at the end


class Stepper(Agent):
    """A deterministic two-sided market of `size` around `center`, moved at given times."""

    def __init__(self, name: str, moves: list[tuple[float, int]], size: int) -> None:
        super().__init__(name)
        self.moves = moves
        self.size = size

    async def run(self) -> None:
        elapsed = 0.0
        for at_s, center in self.moves:
            await self.sleep(at_s - elapsed)
            elapsed = at_s
            for order_id in list(self.live_orders):
                self.cancel_order(order_id)
            self.submit_order("LIT1", Side.BUY, self.size, center - 2)
            self.submit_order("LIT1", Side.SELL, self.size, center + 2)


def test_market_maker_volatility_regime_withdraws_all_quotes_then_returns() -> None:
    held: dict[str, Any] = {}

    def setup(sim: Simulation) -> None:
        exchange = LitExchange("LIT1", sim.clock, tick_size=1, lot_size=LOT,
                               event_log=sim.event_log)
        sim.add_venue(exchange)
        stepper = sim.add_agent(Stepper("stepper", [(0.0, 10_000), (10.2, 10_060)], 50 * LOT))
        stepper.connect(exchange, Latency(fixed_ns=10 * US))
        mm = sim.add_agent(MarketMaker(
            "mm", ["LIT1"], gamma=0.1, k=1.5, sigma_min=0.5, horizon_s=1.0, refresh_s=0.5,
            volatility_window_s=5.0, lot_size=LOT, vol_threshold=5.0, vol_action="withdraw"))
        mm.connect(exchange, Latency(fixed_ns=10 * US))

        def resting() -> int:
            return sum(1 for order in exchange.book.resting_orders() if order[1] == "mm")

        held["sampler"] = sim.add_agent(Sampler("sampler", resting, 1.0))
        held["mm"] = mm

    Simulation("withdraw", seed=1, end_ns=20 * S).run(setup)
    resting = dict((t // S, n) for t, n in held["sampler"].samples)
    # Calm: a bid and an ask. The 60-tick jump at 10.2 s enters the 5 s window at the 10.5 s
    # sample: every quote is pulled; once the jump leaves the window (15.5 s) it quotes again.
    assert [resting[s] for s in (2, 5, 10)] == [2, 2, 2]
    assert [resting[s] for s in (11, 13, 15)] == [0, 0, 0]
    assert [resting[s] for s in (16, 18, 19)] == [2, 2, 2]
    assert held["mm"].withdrawals == 1


# --- conservation ---------------------------------------------------------------------------

LATENCY_NS = {"noise": 50 * US, "informed": 30 * US, "mm": 20 * US}


def _mixed_setup(held: dict[str, Any]) -> Callable[[Simulation], None]:
    """Noise traders, an informed trader and a market maker on one lit exchange."""

    def setup(sim: Simulation) -> None:
        exchange = _noise_market(sim)
        fundamental = FundamentalValue(sim.rng_streams.stream("fundamental"),
                                       FundamentalParameters(mean=10_000, reversion_rate=0.01,
                                                             volatility=2.0))
        informed = sim.add_agent(InformedTrader(
            "informed", fundamental.value_at, ["LIT1"], rate=2.0, noise_ticks=2.0,
            threshold_ticks=3.0, max_lots=3, lot_size=LOT))
        informed.connect(exchange, Latency(fixed_ns=LATENCY_NS["informed"]))
        mm = sim.add_agent(MarketMaker("mm", ["LIT1"], gamma=0.05, k=0.5, horizon_s=5.0,
                                       sigma_max=3.0, lot_size=LOT, reference_price=10_000))
        mm.connect(exchange, Latency(fixed_ns=LATENCY_NS["mm"]))
        held["exchange"] = exchange

    return setup


def test_mixed_run_same_seed_twice_gives_identical_event_log() -> None:
    digests = [Simulation("mixed", seed=11, end_ns=30 * S).run(_mixed_setup({})).digest
               for _ in range(2)]
    other = Simulation("mixed", seed=12, end_ns=30 * S).run(_mixed_setup({})).digest
    assert digests[0] == digests[1] != other


def test_mixed_run_every_agents_accounts_reconcile_with_its_fills_and_venue_statistics() -> None:
    end_ns = 120 * S
    held: dict[str, Any] = {}
    setup = _mixed_setup(held)

    simulation = Simulation("conservation", seed=11, end_ns=end_ns, keep_log_lines=True)
    simulation.run(setup)
    exchange: LitExchange = held["exchange"]
    lines = simulation.event_log.lines
    assert lines is not None
    # Every fill the venue sent, and whether it reached its agent before the run ended.
    delivered: dict[str, list[tuple[int, int, int]]] = {name: [] for name in simulation.agents}
    in_flight: dict[str, list[tuple[int, int, int]]] = {name: [] for name in simulation.agents}
    for line in lines[1:-1]:
        if b'"ExecutionReport"' not in line:
            continue
        event = orjson.loads(line)
        msg = event["msg"]
        if not msg["last_quantity"]:
            continue
        who = msg["participant"]
        signed = msg["last_quantity"] if msg["side"] == "buy" else -msg["last_quantity"]
        arrives = event["t"] + LATENCY_NS["noise" if who.startswith("noise") else who]
        assert arrives != end_ns  # no tie at the horizon to argue about
        fill = (signed, msg["last_price"], msg["fee"])
        (delivered if arrives < end_ns else in_flight)[who].append(fill)
    total_position = total_cash = total_fees = 0
    for name, agent in simulation.agents.items():
        fills = delivered[name]
        assert agent.position == sum(q for q, _, _ in fills)
        assert agent.fees == sum(fee for _, _, fee in fills)
        assert agent.cash == -sum(q * p for q, p, _ in fills) - agent.fees
        stats = exchange.statistics[name]
        late = in_flight[name]
        assert stats.position == agent.position + sum(q for q, _, _ in late)
        assert stats.fees == agent.fees + sum(fee for _, _, fee in late)
        assert stats.sold_notional - stats.bought_notional - stats.fees == (
            agent.cash - sum(q * p for q, p, _ in late) - sum(fee for _, _, fee in late))
        total_position += stats.position
        total_cash += stats.sold_notional - stats.bought_notional
        total_fees += stats.fees
    # The venue's view conserves shares and money: every buy has a seller at the same price,
    # and the fees are the taker fee plus the maker rebate on every traded share.
    assert exchange.traded_quantity > 100 * LOT
    assert total_position == 0 and total_cash == 0
    assert total_fees == exchange.traded_quantity * (2 + -1)
    assert exchange.statistics["informed"].fills > 10 and exchange.statistics["mm"].fills > 10
    assert exchange.statistics["mm"].replaces > 10  # replaces were exercised too


# --- order flow and the consolidated market ---------------------------------------------------


class _Capture:
    """A venue stand-in: its session keeps what the agent sends (no replies)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Any] = []

    def connect(self, participant: str, handler: Callable[[Any], object],
                latency: Latency = Latency()) -> _Capture:
        return self

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency()) -> None:
        pass

    def send(self, message: Any) -> None:
        self.sent.append(message)


def _quotes_after(maker: MarketMaker, books: dict[str, tuple[tuple[tuple[int, int], ...],
                                                          tuple[tuple[int, int], ...]]],
                  prints: list[tuple[str, Side, int]]) -> dict[tuple[str, Side], int]:
    """Give `maker` other participants' books (one L2 snapshot per venue), let it quote,
    then deliver `prints` (venue, aggressor side, shares) 1 ms apart; returns the last price
    it asked for at each (venue, side)."""
    venues = {name: _Capture(name) for name in books}

    async def main() -> None:
        clock = current_clock()
        maker.attach(AgentContext(clock, RngStreams(1).stream("mm"), OrderIds()))
        for venue in venues.values():
            maker.connect(venue, market_data=False)
        for name, (bids, asks) in books.items():
            maker.on_market_data(L2Snapshot(clock.now_ns(), name, bids, asks))
        maker.requote(clock.now_ns())
        for i, (name, side, quantity) in enumerate(prints):
            await asyncio.sleep(0.001)
            maker.on_market_data(TradePrint(clock.now_ns(), name, i + 1, 10_000, quantity, side))

    run(main())
    prices: dict[tuple[str, Side], int] = {}
    sides: dict[int, tuple[str, Side]] = {}
    for name, venue in venues.items():
        for message in venue.sent:
            if type(message) is NewOrder:
                sides[message.order_id] = (name, message.side)
                prices[(name, message.side)] = message.price
            elif type(message) is ReplaceOrder:
                prices[sides[message.order_id]] = message.price
    return prices


_WIDE = {"LIT1": (((9_500, 500),), ((10_500, 500),))}


def test_market_maker_flow_skew_moves_quotes_toward_net_aggressive_flow() -> None:
    def maker(skew: float) -> MarketMaker:
        return MarketMaker("mm", {"LIT1": 100}, gamma=0.001, k=0.01, sigma_min=50.0,
                           sigma_max=50.0, lot_size=LOT, flow_skew=skew,
                           reference_price=10_000)

    still = _quotes_after(maker(0.0), _WIDE, [])
    buys = _quotes_after(maker(40.0), _WIDE,
                         [("LIT1", Side.BUY, 1_000), ("LIT1", Side.BUY, 1_500)])
    sells = _quotes_after(maker(40.0), _WIDE, [("LIT1", Side.SELL, 2_500)])
    unmoved = _quotes_after(maker(0.0), _WIDE, [("LIT1", Side.BUY, 2_500)])
    assert unmoved == still  # prints alone change nothing without the skew
    # 25 lots bought: 40 * sqrt(25) = 200 ticks up; sold: 200 down (quotes on a 100 grid).
    for side in (Side.BUY, Side.SELL):
        assert buys[("LIT1", side)] == still[("LIT1", side)] + 200
        assert sells[("LIT1", side)] == still[("LIT1", side)] - 200


def test_market_maker_never_locks_another_venues_quote() -> None:
    # LIT2's ask (10,000) is below LIT1's (10,200); a strong buy flow pushes the maker's
    # bids up: no bid may reach 10,000 at either venue (the consolidated best ask).
    books = {"LIT1": (((9_800, 500),), ((10_200, 500),)),
             "LIT2": (((9_700, 500),), ((10_000, 500),))}
    maker = MarketMaker("mm", {"LIT1": 100, "LIT2": 100}, gamma=0.001, k=0.01,
                        sigma_min=50.0, sigma_max=50.0, lot_size=LOT, flow_skew=100.0,
                        reference_price=10_000)
    prices = _quotes_after(maker, books, [("LIT1", Side.BUY, 100)] * 100)
    assert prices[("LIT1", Side.BUY)] < 10_000 and prices[("LIT2", Side.BUY)] < 10_000
    assert prices[("LIT1", Side.SELL)] > 9_800 and prices[("LIT2", Side.SELL)] > 9_800


@pytest.mark.parametrize(("changes", "field"), [
    (dict(flow_skew=-1.0), "flow_skew"), (dict(flow_window_s=0.0), "flow_window_s")])
def test_market_maker_bad_flow_option_raises_naming_it(changes: dict[str, Any],
                                                       field: str) -> None:
    with pytest.raises(ValueError, match=rf"mm\.{field} was"):
        _maker(**changes)
