"""The `sorsim` command line.

- `sorsim validate FILE...`: validation only; "ok: FILE" per good file (exit 0), else the
  one error of each bad file on stderr (exit 2).
- `sorsim run FILE [--seed N] [--out DIR]`: validate, run, print a plain summary (per
  parent order: implementation shortfall, VWAP slippage, fill rate, fees; per venue: share
  of the router's flow, fill rate, cost). With `--out`, the run's `events.jsonl` and
  `tca.json` go there (and the reports, see `write_reports`).
- `sorsim demo`: one lit exchange and seeded noise traders (the first demo).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scenarios import serve
from scenarios.demo import format_price, run_demo
from scenarios.loader import ScenarioResult, load_scenario, run_scenario
from scenarios.schema import ScenarioError
from venues.lit_exchange import LitExchange

__all__ = ["format_summary", "main", "write_reports"]

EXIT_INVALID = 2
NS_PER_S = 1_000_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sorsim", description="Market simulator for smart order routing.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a lit exchange and seeded noise traders for a simulated hour")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--seconds", type=int, default=3600, help="simulated seconds (default 3600)")
    demo.add_argument("--traders", type=int, default=10)
    demo.add_argument("--log", default=None, help="write the event log (JSON lines) here")
    validate = commands.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", nargs="+", metavar="FILE")
    run = commands.add_parser("run", help="run a scenario file and print a summary")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--seed", type=int, default=None, help="the root seed (default: the file's)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="write events.jsonl and tca.json (and reports) here")
    serve.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve.run(args)
    if args.command == "validate":
        return _validate(args.files)
    if args.command == "run":
        return _run(args.file, args.seed, args.out)
    return _demo(args)


def _validate(files: list[str]) -> int:
    status = 0
    for file in files:
        try:
            load_scenario(file)
        except ScenarioError as error:
            print(error, file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(f"ok: {file}")
    return status


def _run(file: str, seed: int | None, out: str | None) -> int:
    try:
        scenario = load_scenario(file)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    result = run_scenario(scenario, seed=seed, out_dir=out)
    written = write_reports(result)
    print(format_summary(result, written))
    return 0


def write_reports(result: ScenarioResult) -> list[Path]:
    """Write the reports of a finished run into `result.out_dir` (when set) and return
    their paths, which the summary lists: `report.html`, a self-contained page."""
    if result.out_dir is None:
        return []
    from scenarios.report import write_report

    path = result.out_dir / "report.html"
    write_report(path, title=f"{result.scenario.name} (seed {result.seed})",
                 events=result.events, tcas=result.tca,
                 regime_shifts=result.regime_shifts(),
                 price_increment=result.scenario.market.price_increment,
                 meta={"scenario": result.scenario.name, "seed": result.seed,
                       "sha256": result.digest})
    return [path]


def format_summary(result: ScenarioResult, reports: list[Path] | None = None) -> str:
    """A plain-text summary of a run: the run, the shifts, each parent order's TCA."""
    scenario = result.scenario
    increment = scenario.market.price_increment
    lines = [
        f"scenario      {scenario.name} (seed {result.seed}, {scenario.duration_s:g} simulated s)"
        f"  {scenario.path}",
        f"event log     {result.event_count:,} events, sha256 {result.digest}",
        f"wall time     {result.wall_seconds:.2f} s",
    ]
    for i, shift in enumerate(result.shifts()):
        message = shift["msg"]
        changes = ", ".join(f"{k} = {v}" for k, v in message["changes"].items())
        lines.append(f"{'shifts' if i == 0 else '':14s}{message['t_ns'] / NS_PER_S:8.3f} s  "
                     f"{message['target']}: {changes}")
    for order in scenario.parent_orders:
        tca = result.tca[order.name]
        parent = order.parent
        lines += [
            "",
            f"parent order {order.name}: {parent.side.value} {parent.quantity:,} shares "
            f"from {parent.start_ns / NS_PER_S:g} s to {parent.end_ns / NS_PER_S:g} s, "
            f"schedule {order.schedule.type}, allocator {order.allocator.type}",
            f"  filled             {tca.filled:,} of {tca.quantity:,} ({tca.fill_rate:.1%})",
            f"  IS vs arrival      {_bps(tca.implementation_shortfall_bps)}"
            f"  (price {_bps(tca.price_shortfall_bps)}, fees {_bps(tca.fees_bps)})",
            f"  VWAP slippage      {_bps(tca.vwap_slippage_bps)}",
            f"  fees               ${tca.fees * increment:,.2f}",
        ]
        sent_total = sum(v.get("sent", 0) for v in tca.venues.values())
        lines.append(f"  {'venue':8s} {'share of flow':>13s} {'fill rate':>10s} "
                     f"{'cost':>11s} {'filled':>9s}")
        for venue, figures in tca.venues.items():
            share = figures.get("sent", 0) / sent_total if sent_total else 0.0
            rate = figures.get("fill_rate")
            lines.append(f"  {venue:8s} {share:13.1%} "
                         f"{'-' if rate is None else f'{rate:.1%}':>10s} "
                         f"{_bps(figures.get('cost_bps')):>11s} {figures['filled']:9,d}")
    if result.files or reports:
        lines.append("")
        paths = list(result.files.values()) + list(reports or [])
        lines.append("written       " + ", ".join(str(p) for p in paths))
    return "\n".join(lines)


def _bps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} bps"


def _demo(args: argparse.Namespace) -> int:
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
