"""scenarios.market: the whole market (three lit exchanges, the consolidated feed, a dark
pool, a dealer, the fundamental and every agent population) on a small seeded run — it trades
on every venue type, is deterministic, and conserves shares and money across the market:
every trade has a buyer and a seller (the dealer itself on the SDP), and every agent's
accounts reconcile with the fills its venues sent it. Also the config's validation and the
conflated NBBO subscription."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from typing import Any

import orjson
import pytest

import numpy as np

from market.clock import current_clock, run
from market.fundamental import FundamentalParameters, FundamentalValue
from market.link import Latency
from market.messages import NBBO, L1Snapshot, L2Snapshot, Side, TradePrint
from market.rng import RngStreams
from scenarios.market import (
    ConflatedNBBO,
    DealerClientConfig,
    FundamentalConfig,
    InformedConfig,
    MarketConfig,
    MarketMakerConfig,
    MarketRunResult,
    NoiseConfig,
    TopOfBookFeed,
    VolatilityRegime,
    run_market,
)

S = 1_000_000_000
MS = 1_000_000
SECONDS = 60

# 30 noise traders, 5 informed, 2 market makers and 3 dealer clients, busier each than in
# the full-size market so that 60 simulated seconds trade on every venue.
SMALL = MarketConfig(
    noise=NoiseConfig(count=30, rate=1.0, dark_fraction=0.2),
    informed=InformedConfig(count=5, rate=0.5),
    market_makers=MarketMakerConfig(count=2),
    dealer_clients=DealerClientConfig(count=3, rate=0.5),
)


@pytest.fixture(scope="module")
def small_run() -> MarketRunResult:
    return run_market(SMALL, seed=5, seconds=SECONDS, keep_log_lines=True)


def _events(result: MarketRunResult, type_name: str) -> list[dict[str, Any]]:
    lines = result.simulation.event_log.lines
    assert lines is not None
    marker = f'"type":"{type_name}"'.encode()
    return [orjson.loads(line) for line in lines[1:-1] if marker in line]


# --- it runs and trades everywhere ----------------------------------------------------------


def test_market_small_run_trades_on_every_venue_type(small_run: MarketRunResult) -> None:
    market = small_run.market
    trades = market.trades_per_venue()
    assert set(trades) == {"LIT1", "LIT2", "LIT3", "DARK1", "SDP1"}
    assert all(trades[name] >= 20 for name in ("LIT1", "LIT2", "LIT3")), trades
    assert trades["DARK1"] >= 20 and trades["SDP1"] >= 20, trades
    # Dark liquidity came from agents resting there: noise traders' midpoint pegs.
    assert sum(trader.dark_orders for trader in market.noise) > 50
    # The crowd saw the market through the conflated NBBO only, far fewer than the feed's.
    assert market.noise_feed is not None
    assert 0 < market.noise_feed.publications < market.feed.publications
    # Every population traded.
    for population in (market.noise, market.informed, market.market_makers,
                       market.dealer_clients):
        assert any(agent.position or agent.fees for agent in population)
    assert small_run.messages == small_run.loop_deliveries + small_run.wakeups > 10_000


def test_market_same_seed_same_digest_other_seed_other_digest(
    small_run: MarketRunResult,
) -> None:
    again = run_market(SMALL, seed=5, seconds=SECONDS)
    other = run_market(SMALL, seed=6, seconds=SECONDS)
    assert again.digest == small_run.digest
    assert again.messages == small_run.messages
    assert other.digest != small_run.digest


# --- conservation -----------------------------------------------------------------------------


def _fills(result: MarketRunResult) -> list[tuple[int, str, dict[str, Any]]]:
    """(venue send time, venue, report) for every fill report in the log."""
    return [(event["t"], event["at"], event["msg"])
            for event in _events(result, "ExecutionReport") if event["msg"]["last_quantity"]]


def test_market_every_trade_has_one_buyer_and_one_seller_or_the_dealer(
    small_run: MarketRunResult,
) -> None:
    market = small_run.market
    by_trade: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for _, venue, report in _fills(small_run):
        by_trade[(venue, report["trade_id"])].append(report)
    dealer_position = 0
    dealer_cash = 0
    for (venue, trade_id), reports in by_trade.items():
        assert trade_id > 0
        if venue == market.dealer.name:
            # The dealer is the counterparty: one report, the client's.
            assert len(reports) == 1, (venue, trade_id, reports)
            (report,) = reports
            signed = report["last_quantity"] if report["side"] == "buy" else -report["last_quantity"]
            dealer_position -= signed
            dealer_cash += signed * report["last_price"] + report["fee"]
            continue
        assert len(reports) == 2, (venue, trade_id, reports)
        buy, sell = sorted(reports, key=lambda r: r["side"])
        assert (buy["side"], sell["side"]) == ("buy", "sell")
        assert buy["participant"] != sell["participant"]
        assert buy["last_quantity"] == sell["last_quantity"] > 0
        assert buy["last_price"] == sell["last_price"] > 0
    # Trade ids count 1, 2, ... per venue, with no gaps: no trade went unreported.
    for venue, traded in market.trades_per_venue().items():
        assert sorted(t for v, t in by_trade if v == venue) == list(range(1, traded + 1))
    assert market.dealer.inventory == dealer_position
    assert market.dealer.cash == dealer_cash
    # Every lit print names a trade the reports show, at its price and size.
    for event in _events(small_run, "TradePrint"):
        venue, msg = event["at"], event["msg"]
        reports = by_trade[(venue, msg["trade_id"])]
        assert all(r["last_price"] == msg["price"] and r["last_quantity"] == msg["quantity"]
                   for r in reports)


def _reconcile(result: MarketRunResult, end_ns: int) -> int:
    """Check every agent's accounts against its fills and its venues' statistics, and the
    market's shares and money; returns how many fills were still on their way at the end."""
    market = result.market
    assert market.config.agent_jitter_ns == 0  # arrival = send time + the link's latency
    delivered: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    in_flight: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for t_ns, venue, report in _fills(result):
        who = report["participant"]
        arrives = t_ns + market.latencies[who][venue]
        assert arrives != end_ns  # no tie at the horizon to argue about
        quantity = report["last_quantity"] if report["side"] == "buy" else -report["last_quantity"]
        fill = (quantity, report["last_price"], report["fee"])
        (delivered if arrives < end_ns else in_flight)[who].append(fill)
    venues = market.venues
    agents = list(market.agents)
    assert len(agents) == 30 + 5 + 2 + 3
    total_position = total_cash = 0
    for agent in agents:
        fills = delivered[agent.name]
        assert agent.position == sum(q for q, _, _ in fills), agent.name
        assert agent.fees == sum(fee for _, _, fee in fills), agent.name
        assert agent.cash == -sum(q * p for q, p, _ in fills) - agent.fees, agent.name
        # What the venues counted = what arrived + what was still on its way at the end.
        late = in_flight[agent.name]
        stats = [v.statistics[agent.name] for v in venues.values() if agent.name in v.statistics]
        position = sum(s.position for s in stats)
        fees = sum(s.fees for s in stats)
        cash = sum(s.sold_notional - s.bought_notional for s in stats) - fees
        assert position == agent.position + sum(q for q, _, _ in late)
        assert fees == agent.fees + sum(fee for _, _, fee in late)
        assert cash == agent.cash - sum(q * p + fee for q, p, fee in late)
        total_position += position
        total_cash += cash
    # Shares: every share an agent holds, another agent or the dealer is short.
    assert total_position + market.dealer.inventory == 0
    # Money: what the agents and the dealer hold together is exactly minus the venues' fees.
    lit_fees = sum(v.traded_quantity * (v.book.maker_fee + v.book.taker_fee)
                   for v in market.lit.values())
    dark_fees = market.dark_pool.traded_quantity * 2 * market.dark_pool.fee
    assert total_cash + market.dealer.cash == -(lit_fees + dark_fees)
    return sum(len(fills) for fills in in_flight.values())


def test_market_agent_accounts_reconcile_with_delivered_fills_and_venue_statistics(
    small_run: MarketRunResult,
) -> None:
    _reconcile(small_run, SECONDS * S)


def test_market_fills_in_flight_at_the_end_count_at_the_venue_not_yet_at_the_agent(
    small_run: MarketRunResult,
) -> None:
    # The same seed run up to the middle of a fill's trip: the run is the same until then.
    market = small_run.market
    t_ns, venue, report = next(
        (t, v, r) for t, v, r in _fills(small_run)
        if t > SECONDS * S // 2 and market.latencies[r["participant"]][v] > 100_000)
    end_ns = t_ns + market.latencies[report["participant"]][venue] // 2
    cut = run_market(SMALL, seed=5, seconds=end_ns / S, keep_log_lines=True)
    assert cut.simulation.end_ns == end_ns
    assert _reconcile(cut, end_ns) >= 1


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"noise": NoiseConfig(rate=-1.0)}, r"noise\.rate was -1\.0, expected a finite number > 0"),
    ({"informed": InformedConfig(latency_ns=(5, 1))}, r"informed\.latency_ns was \(5, 1\)"),
    ({"noise": NoiseConfig(market_data="l2")}, r"noise\.market_data was 'l2'"),
    ({"noise": NoiseConfig(market_fraction=0.6, cancel_fraction=0.6)},
     r"noise\.market_fraction \+ noise\.cancel_fraction"),
    ({"lit_venues": ()}, r"lit_venues was \(\)"),
    ({"dark_pool": replace(MarketConfig().dark_pool, name="LIT2")}, r"'LIT2' is used twice"),
    ({"market_makers": MarketMakerConfig(quote_lots=0)}, r"market_makers\.quote_lots was 0"),
    ({"fundamental": FundamentalConfig(volatility_timescales_s=())},
     r"fundamental\.volatility_timescales_s was \(\)"),
    ({"fundamental": FundamentalConfig(volatility_timescales_s=(60.0, 0.0))},
     r"fundamental\.volatility_timescales_s was \(60\.0, 0\.0\)"),
    ({"fundamental": FundamentalConfig(volatility_dispersion=-0.1)},
     r"fundamental\.volatility_dispersion was -0\.1"),
    ({"informed": InformedConfig(burst_rate=-1.0)}, r"informed\.burst_rate was -1\.0"),
    ({"noise": NoiseConfig(size_exponent=-1.0)}, r"noise\.size_exponent was -1\.0"),
])
def test_market_config_bad_field_names_the_path_and_value(
    changes: dict[str, Any], message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        MarketConfig(**changes)


def test_market_config_bad_lit_venue_names_its_index() -> None:
    venues = MarketConfig().lit_venues
    bad = (venues[0], replace(venues[1], tick_size=0))
    with pytest.raises(ValueError, match=r"lit_venues\[1\]\.tick_size was 0"):
        MarketConfig(lit_venues=bad)


# --- the conflated NBBO subscription ------------------------------------------------------------


def _nbbo(t_ns: int, bid: int, ask: int, size: int = 100) -> NBBO:
    return NBBO(t_ns, bid, size, ask, size, ("A",), ("A",))


async def _sleep_ms(ms: int) -> None:
    await asyncio.sleep(ms / 1000)


def test_conflated_nbbo_at_most_one_per_interval_prices_only_latest_wins() -> None:
    got: list[tuple[int, NBBO]] = []

    async def main() -> None:
        clock = current_clock()
        relay = ConflatedNBBO("C", clock, 100 * MS)
        relay.subscribe("s", lambda m: got.append((clock.now_ns(), m)), Latency(fixed_ns=1 * MS))
        script = [
            (0, _nbbo(0, 99, 101)),  # quiet before: out at once
            (10, _nbbo(10, 99, 101, 500)),  # size only: dropped
            (20, _nbbo(20, 98, 101)),  # inside the interval: waits for 100 ms ...
            (50, _nbbo(50, 97, 101)),  # ... and the latest one then goes out
            (150, _nbbo(150, 97, 101, 900)),  # size only again
            (400, _nbbo(400, 96, 100)),  # quiet for a while: out at once
        ]
        elapsed = 0
        for at_ms, nbbo in script:
            await _sleep_ms(at_ms - elapsed)
            elapsed = at_ms
            relay.on_nbbo(nbbo)
        await _sleep_ms(200)
        assert relay.received == 6 and relay.publications == 3
        late: list[NBBO] = []
        relay.subscribe("late", late.append)  # gets the last publication at once
        await _sleep_ms(1)
        assert late == [_nbbo(400, 96, 100)]

    run(main())
    assert [(t // MS, (m.bid_price, m.ask_price, m.t_ns)) for t, m in got] == [
        (1, (99, 101, 0)), (101, (97, 101, 50)), (401, (96, 100, 400))]


# --- the top-of-book product -------------------------------------------------------------------


def _l1(t_ns: int, bid: int, bid_qty: int, ask: int, ask_qty: int) -> L1Snapshot:
    return L1Snapshot(t_ns, "LIT1", bid, bid_qty, ask, ask_qty)


@pytest.mark.parametrize("prices_only", [False, True])
def test_top_of_book_feed_prices_only_drops_size_only_changes(prices_only: bool) -> None:
    got: list[object] = []

    async def main() -> None:
        clock = current_clock()
        feed = TopOfBookFeed("LIT1-L1", clock, prices_only=prices_only)
        feed.subscribe("s", got.append)
        for message in (L2Snapshot(0, "LIT1", ((99, 5),), ((101, 5),)),
                        _l1(1, 99, 6, 101, 5),  # size only
                        TradePrint(2, "LIT1", 1, 101, 1, Side.BUY),  # not a top: never sent
                        _l1(3, 99, 6, 102, 5),  # a price
                        _l1(4, 99, 9, 102, 9)):  # size only
            feed.on_market_data(message)
        await asyncio.sleep(0.001)
        late: list[object] = []
        feed.subscribe("late", late.append)  # gets the last top forwarded
        await asyncio.sleep(0.001)
        assert late == [got[-1]]

    run(main())
    times = [message.t_ns for message in got]  # type: ignore[attr-defined]
    assert times == ([0, 3] if prices_only else [0, 1, 3, 4])


# --- stochastic volatility ---------------------------------------------------------------------


def _regime_path(seed: int) -> tuple[list[float], list[tuple[float, float]]]:
    multipliers: list[float] = []
    parameters: list[tuple[float, float]] = []

    async def main() -> None:
        clock = current_clock()
        streams = RngStreams(seed)
        fundamental = FundamentalValue(streams.stream("fundamental"),
                                       FundamentalParameters(mean=10_000.0, volatility=10.0,
                                                             jump_intensity=0.01,
                                                             jump_std=50.0))
        regime = VolatilityRegime(fundamental, clock, streams.stream("fundamental/volatility"),
                                  base_volatility=10.0, base_jump_intensity=0.01,
                                  dispersion=0.5, timescales_s=(5.0, 20.0), step_ns=S)
        for _ in range(4_000):
            await asyncio.sleep(1.0)
            multipliers.append(regime.multiplier)
            p = fundamental.parameters
            parameters.append((p.volatility, p.jump_intensity))

    run(main())
    return multipliers, parameters


def test_volatility_regime_drives_the_fundamental_lognormal_with_unit_mean_variance() -> None:
    multipliers, parameters = _regime_path(3)
    m = np.array(multipliers)
    assert [v for v, _ in parameters] == pytest.approx(list(10.0 * m))
    assert [j for _, j in parameters] == pytest.approx(list(0.01 * m * m))
    assert 0.4 < np.log(m).std() < 0.6  # the dispersion
    assert 0.8 < (m * m).mean() < 1.25  # E[m^2] = 1: the base variance rate on average
    log_m = np.log(m) - np.log(m).mean()
    lag = [float(np.dot(log_m[:-k], log_m[k:]) / np.dot(log_m, log_m)) for k in (1, 10, 60)]
    assert lag[0] > 0.85 and lag[0] > lag[1] > lag[2] > -0.2  # persistent, then forgotten


def test_volatility_regime_same_seed_same_path() -> None:
    assert _regime_path(4) == _regime_path(4)
    assert _regime_path(4) != _regime_path(5)
