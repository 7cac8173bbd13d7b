"""The `sorsim` command line."""

from __future__ import annotations

import argparse
import sys

from scenarios.demo import format_price, run_demo
from venues.lit_exchange import LitExchange

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sorsim", description="Market simulator for smart order routing.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a lit exchange and seeded noise traders for a simulated hour")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--seconds", type=int, default=3600, help="simulated seconds (default 3600)")
    demo.add_argument("--traders", type=int, default=10)
    demo.add_argument("--log", default=None, help="write the event log (JSON lines) here")
    args = parser.parse_args(argv)
    if args.command == "demo":
        result = run_demo(args.seed, args.seconds, args.traders, args.log)
        exchange = result.simulation.venues["LIT1"]
        assert isinstance(exchange, LitExchange)
        l1 = exchange.book.l1()
        orders = sum(s.orders for s in exchange.statistics.values())
        print(f"scenario            demo (seed {args.seed}, {args.seconds} simulated s, {args.traders} noise traders)")
        print(f"messages processed  {result.deliveries}")
        print(f"orders received     {orders}")
        print(f"trades              {exchange.trades} ({exchange.traded_quantity} shares)")
        print(f"final L1            {l1.bid_quantity} @ {format_price(l1.bid_price)}  /  "
              f"{format_price(l1.ask_price)} @ {l1.ask_quantity}")
        print(f"event log           {result.events} events, sha256 {result.digest}")
        print(f"wall time           {result.wall_seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
