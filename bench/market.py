"""Whole-market throughput: every layer at once (a figure, not a pass/fail test).

The market of `scenarios.market` at full size by default: 1,000 noise traders, 100 informed
traders, 3 market makers and 20 dealer clients over 3 lit exchanges, a consolidated feed, 1
dark pool and 1 single-dealer platform, for 30 simulated minutes (flags scale it down).

A *message* is one thing the virtual-time loop ran: a delivery (an order, cancel, replace,
RFQ or accept reaching a venue; an execution report, reject or quote reaching an agent; a
market-data update — book update, L1, trade print, NBBO — reaching one subscriber; a
dealer's last-look hold ending) or a wake-up (an asyncio timer coming due: an agent's sleep,
a cancel timer). Each is counted once, by the loop itself: `loop.deliveries + loop.wakeups`.

The event log is on and kept in memory only: every venue message is serialized (orjson) and
hashed into the run's digest, nothing is written to a file, no lines are kept. With
`--no-event-log` venues and the feed get no log at all (the simulator alone).

Peak memory is the process's maximum resident set size (`resource.getrusage`), which
includes the interpreter and numpy (about 40 MB before anything is built).

    python bench/market.py [--seconds 1800] [--noise 1000] [--informed 100]
                           [--market-makers 3] [--dealer-clients 20] [--seed 1]
                           [--noise-data conflated|nbbo] [--informed-data l1|venues|nbbo]
                           [--no-event-log] [--profile]

The last line is `messages_per_s N`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file is named like
# the `market` package: drop the folder so `import market` finds the package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from scenarios.market import MarketConfig, MarketRunResult, run_market  # noqa: E402


def config_from(args: argparse.Namespace) -> MarketConfig:
    base = MarketConfig()
    return replace(
        base,
        noise=replace(base.noise, count=args.noise, market_data=args.noise_data),
        informed=replace(base.informed, count=args.informed, market_data=args.informed_data),
        market_makers=replace(base.market_makers, count=args.market_makers),
        dealer_clients=replace(base.dealer_clients, count=args.dealer_clients),
        record_events=not args.no_event_log,
    )


def report(result: MarketRunResult, seconds: float, wall: float) -> None:
    market = result.market
    messages = result.messages
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    config = market.config
    print(f"agents                     noise {len(market.noise)}, informed "
          f"{len(market.informed)}, market makers {len(market.market_makers)}, dealer "
          f"clients {len(market.dealer_clients)}")
    print(f"market data                noise: {config.noise.market_data}, informed: "
          f"{config.informed.market_data}; event log: "
          f"{'in memory (hashed, no file)' if config.record_events else 'off'}")
    print(f"messages                   {messages:,} (deliveries {result.loop_deliveries:,}, "
          f"wake-ups {result.wakeups:,})")
    print(f"events_logged              {result.events:,}")
    print(f"simulated_seconds          {seconds:,.0f}")
    print(f"wall_seconds               {wall:.2f} (build included)")
    print(f"simulated_per_wall         {seconds / wall:,.1f}x")
    print(f"peak_rss_mb                {maxrss_kb / 1024:,.0f}")
    trades = market.trades_per_venue()
    print("trades_per_venue           " + ", ".join(f"{k} {v:,}" for k, v in trades.items()))
    volume = {name: venue.traded_quantity for name, venue in market.lit.items()}
    volume[market.dark_pool.name] = market.dark_pool.traded_quantity
    volume[market.dealer.name] = sum(s.bought + s.sold for s in market.dealer.statistics.values())
    print("shares_per_venue           " + ", ".join(f"{k} {v:,}" for k, v in volume.items()))
    nbbo = market.feed.nbbo
    print(f"nbbo_publications          {market.feed.publications:,}"
          + (f" (conflated for noise: {market.noise_feed.publications:,})"
             if market.noise_feed is not None else ""))
    print(f"final_nbbo                 {nbbo.bid_price} / {nbbo.ask_price}, fundamental "
          f"{market.fundamental.value_at(result.simulation.end_ns)}")
    print(f"messages_per_s {messages / wall:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--noise", type=int, default=1000)
    parser.add_argument("--informed", type=int, default=100)
    parser.add_argument("--market-makers", type=int, default=3)
    parser.add_argument("--dealer-clients", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise-data", choices=("conflated", "nbbo"), default="conflated")
    parser.add_argument("--informed-data", choices=("l1", "venues", "nbbo"), default="l1")
    parser.add_argument("--no-event-log", action="store_true",
                        help="venues and the feed keep no event log")
    parser.add_argument("--profile", action="store_true", help="profile with pyinstrument")
    args = parser.parse_args()
    config = config_from(args)
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            run_market(config, args.seed, args.seconds)
        profiler.print(file=sys.stdout)
        return
    start = time.perf_counter()
    result = run_market(config, args.seed, args.seconds)
    report(result, args.seconds, time.perf_counter() - start)


if __name__ == "__main__":
    main()
