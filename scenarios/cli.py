"""The `sorsim` command line: parsing and dispatch only; each command's logic is a module.

- `sorsim validate FILE...`: validation only; "ok: FILE" per good file (exit 0), else the
  one error of each bad file on stderr (exit 2).
- `sorsim run FILE [--seed N] [--out DIR] [--quiet]`: `scenarios.run`.
- `sorsim compare FILE --routers A,B,C --seeds N [...]`: `scenarios.compare`.
- `sorsim sweep FILE --seeds N [--backend process|ray] [--address ADDR] [...]`:
  `scenarios.sweep` (both fan out with `scenarios.fan_out`).
- `sorsim replay EVENTS.JSONL`: `scenarios.replay`.
- `sorsim regress [--update]`: `scenarios.regress`.
- `sorsim serve FILE [--port-base N]`: `scenarios.serve` (live, venues behind FIX gateways).
- `sorsim demo`: one lit exchange and seeded noise traders (the first demo).

Each command is one `_add_<command>(commands)` function that declares its arguments and
sets `handler`, the function `main` calls with the parsed arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TypeAlias

from scenarios import serve
from scenarios.compare import compare_file
from scenarios.demo import format_price, run_demo
from scenarios.fan_out import BACKENDS
from scenarios.loader import load_scenario
from scenarios.regress import regress as regress_library
from scenarios.replay import replay_file
from scenarios.run import EXIT_INVALID, run_file
from scenarios.schema import ScenarioError
from scenarios.summary import make_console
from scenarios.sweep import sweep_file
from venues.lit_exchange import LitExchange

__all__ = ["build_parser", "main"]

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sorsim",
                                     description="Market simulator for smart order routing.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_demo(commands)
    _add_validate(commands)
    _add_run(commands)
    _add_compare(commands)
    _add_sweep(commands)
    _add_replay(commands)
    _add_regress(commands)
    serve.add_parser(commands)
    return parser


# --- validate ---------------------------------------------------------------------------------


def _add_validate(commands: Commands) -> None:
    validate = commands.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    status = 0
    for file in args.files:
        try:
            load_scenario(file)
        except ScenarioError as error:
            print(error, file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(f"ok: {file}")
    return status


# --- run --------------------------------------------------------------------------------------


def _add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="run a scenario file and print a summary")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--seed", type=int, default=None, help="the root seed (default: the file's)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="write events.jsonl, tca.json and report.html here")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=lambda args: run_file(
        args.file, seed=args.seed, out=args.out, console=make_console(),
        progress=not args.quiet))


# --- compare ----------------------------------------------------------------------------------


def _add_compare(commands: Commands) -> None:
    compare = commands.add_parser("compare", help="the same scenario per router over seeds")
    compare.add_argument("file", metavar="FILE")
    compare.add_argument("--routers", required=True, metavar="A,B,C",
                         help="allocator keys or module:Class paths, comma-separated")
    _add_fan_out_arguments(compare, "compare.json")
    compare.set_defaults(handler=lambda args: compare_file(
        args.file, routers=args.routers, seeds=args.seeds, seed=args.seed, out=args.out,
        backend=args.backend, workers=args.jobs, address=args.address,
        console=make_console(), progress=not args.quiet))


def _add_sweep(commands: Commands) -> None:
    sweep = commands.add_parser("sweep", help="one scenario over many seeds, on a process "
                                "pool or Ray")
    sweep.add_argument("file", metavar="FILE")
    _add_fan_out_arguments(sweep, "sweep.json")
    sweep.set_defaults(handler=lambda args: sweep_file(
        args.file, seeds=args.seeds, seed=args.seed, out=args.out, backend=args.backend,
        workers=args.jobs, address=args.address, console=make_console(),
        progress=not args.quiet))


def _add_fan_out_arguments(parser: argparse.ArgumentParser, output: str) -> None:
    """The arguments of the commands that fan runs out (compare, sweep)."""
    parser.add_argument("--seeds", type=int, required=True, metavar="N",
                        help="how many seeds: the file's seed (or --seed) and the next N-1")
    parser.add_argument("--seed", type=int, default=None, metavar="BASE",
                        help="the first seed (default: the file's)")
    parser.add_argument("--out", default=".", metavar="DIR", help=f"write {output} here "
                        "(default: the current directory)")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help="parallel runs (default: one per core)")
    parser.add_argument("--backend", choices=BACKENDS, default="process",
                        help="a local process pool (default) or Ray")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="a Ray cluster's address (default: a local Ray instance)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# --- replay -----------------------------------------------------------------------------------


def _add_replay(commands: Commands) -> None:
    replay = commands.add_parser("replay", help="re-run the run a log records and check its "
                                 "digest", epilog="exit status: 0 the same log byte for byte, "
                                 "1 a line differs, 2 the log cannot be replayed, 3 the replay "
                                 "crashed")
    replay.add_argument("log", metavar="EVENTS.JSONL")
    replay.set_defaults(handler=lambda args: replay_file(args.log, console=make_console()))


# --- regress ----------------------------------------------------------------------------------


def _add_regress(commands: Commands) -> None:
    regress = commands.add_parser("regress", help="the scenario library against its goldens "
                                  "(run from the repository root)")
    regress.add_argument("--update", action="store_true",
                         help="rewrite the goldens (git diff shows what moved)")
    regress.add_argument("--jobs", type=int, default=1, metavar="J",
                         help="parallel runs (default: 1)")
    regress.add_argument("--quiet", action="store_true", help="no progress bar")
    regress.set_defaults(handler=lambda args: regress_library(
        update_goldens=args.update, workers=args.jobs, console=make_console(),
        progress=not args.quiet))


# --- demo -------------------------------------------------------------------------------------


def _add_demo(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="a lit exchange and seeded noise traders for a "
                               "simulated hour")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--seconds", type=int, default=3600, help="simulated seconds (default 3600)")
    demo.add_argument("--traders", type=int, default=10)
    demo.add_argument("--log", default=None, help="write the event log (JSON lines) here")
    demo.set_defaults(handler=_demo)


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
