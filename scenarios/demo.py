"""The demo: one lit exchange and a few seeded noise traders for one simulated hour.

Prices are integer ticks of $0.0001; the exchange trades in cents (tick size 100) and lots
of 100 shares, charges takers 30 ticks ($0.0030) per share and pays makers a 20-tick
rebate. (The scenario-file CLI replaces this hand-built setup in a later issue.)
"""

from __future__ import annotations

from pathlib import Path

from agents.noise_trader import NoiseTrader
from market.link import Latency
from scenarios.simulation import RunResult, Simulation
from venues.lit_exchange import LitExchange

__all__ = ["run_demo", "PRICE_INCREMENT"]

PRICE_INCREMENT = 0.0001  # dollars per tick
NS_PER_S = 1_000_000_000


def run_demo(
    seed: int = 1, seconds: int = 3600, traders: int = 10, log_path: str | Path | None = None,
    keep_log_lines: bool = False, live: bool = False,
) -> RunResult:
    simulation = Simulation("demo", seed=seed, start_ns=0, end_ns=seconds * NS_PER_S,
                            log_path=log_path, keep_log_lines=keep_log_lines)

    def setup(sim: Simulation) -> None:
        exchange = sim.add_venue(LitExchange(
            "LIT1", sim.clock, tick_size=100, lot_size=100, maker_fee=-20, taker_fee=30,
            event_log=sim.event_log, rng_streams=sim.rng_streams))
        for i in range(traders):
            trader = sim.add_agent(NoiseTrader(
                f"noise{i}", ["LIT1"], rate=1.0, market_fraction=0.1, cancel_fraction=0.35,
                mean_offset_ticks=3.0, max_lots=5, lot_size=100, tick_size=100,
                reference_price=1_000_000))
            trader.connect(exchange, Latency(fixed_ns=20_000 + 10_000 * i, jitter_ns=5_000))

    return simulation.run(setup, live=live)


def format_price(ticks: int | None) -> str:
    return "-" if ticks is None else f"{ticks * PRICE_INCREMENT:.2f}"
