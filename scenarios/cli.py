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
sets `handler`, the function `main` calls with the parsed arguments, and optionally `check`,
the checks across arguments `main` runs first.

Usage errors are argparse's (`sorsim run: error: argument --seed: ...`, exit 2), found
before anything runs or is written: a seed is an integer in [0, 2**64 - 1] (and so is every
seed of a fan-out, base .. base + N - 1); `--seeds` is 1 .. `MAX_SEEDS`; `--jobs` >= 1;
`--out` is a directory or can be made one; `--backend ray` / `--address` need Ray installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from scenarios import serve
from scenarios.compare import compare_file
from scenarios.demo import format_price, run_demo
from scenarios.fan_out import BACKENDS
from scenarios.loader import load_scenario
from scenarios.regress import regress as regress_library
from scenarios.replay import replay_file
from scenarios.run import EXIT_INVALID, run_file
from scenarios.schema import MAX_SECONDS, MAX_SEED, ScenarioError
from scenarios.summary import make_console
from scenarios.sweep import sweep_file
from venues.lit_exchange import LitExchange

__all__ = ["MAX_SEEDS", "build_parser", "main"]

# The most runs per router of one `compare` / `sweep`: more is a typo, not a study (a
# million seeds would hold a million results in memory before writing any).
MAX_SEEDS = 100_000

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the command; its exit status (a usage error exits 2 here)."""
    args = build_parser().parse_args(argv)
    check = getattr(args, "check", None)
    if check is not None:
        check(args)
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
    run.add_argument("--seed", type=_seed, default=None,
                     help="the root seed, 0 .. 2**64 - 1 (default: the file's)")
    run.add_argument("--out", type=_out_dir, default=None, metavar="DIR",
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
                         help="allocator keys, module:Class paths or static baselines "
                         "(fixed-even, pro-rata-at-nbbo, ...), comma-separated; JSON "
                         "parameters after a colon: 'cost-based:{\"discount\": 0.8}'")
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
    parser.add_argument("--seeds", type=_integer(1, MAX_SEEDS), required=True, metavar="N",
                        help="how many seeds, 1 .. 100000: the file's seed (or --seed) and "
                        "the next N-1")
    parser.add_argument("--seed", type=_seed, default=None, metavar="BASE",
                        help="the first seed (default: the file's)")
    parser.add_argument("--out", type=_out_dir, default=".", metavar="DIR",
                        help=f"write {output} here (default: the current directory)")
    parser.add_argument("--jobs", type=_integer(1), default=None, metavar="J",
                        help="parallel runs (default: one per core)")
    parser.add_argument("--backend", choices=BACKENDS, default="process",
                        help="a local process pool (default) or Ray")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="a Ray cluster's address (default: a local Ray instance)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(check=lambda args: _check_fan_out(parser, args))


def _check_fan_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks across a fan-out's arguments; `parser.error` (exit 2) before any run."""
    if (args.backend == "ray" or args.address is not None) and not _ray_installed():
        option = "--address" if args.address is not None else "--backend"
        parser.error(f"argument {option}: Ray is not installed; it is an optional extra: "
                     "pip install 'sorsim[ray]'")
    if args.address is not None and args.backend != "ray":
        parser.error("argument --address: a Ray cluster's address: use it with --backend ray")
    base = args.seed if args.seed is not None else _file_seed(args.file)
    if base is not None and base + args.seeds - 1 > MAX_SEED:
        option, origin = ("--seed", "--seed") if args.seed is not None else (
            "--seeds", "the file's seed")
        parser.error(f"argument {option}: seeds {base}..{base + args.seeds - 1} ({origin} and "
                     f"the next {args.seeds - 1}) go past the largest seed, 2**64 - 1")


def _ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def _file_seed(file: str) -> int | None:
    """The file's own `seed` when it reads as one; anything else is the command's to report
    (with the file's other problems, as a `ScenarioError`)."""
    try:
        seed = tomllib.loads(Path(file).read_text(encoding="utf-8")).get("seed")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return seed if type(seed) is int and 0 <= seed <= MAX_SEED else None


# --- argument types: a bad value is argparse's usage error, naming the option -----------------


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argument type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {value}")
        return value

    return parse


def _seed(text: str) -> int:
    """A root seed: what a scenario file's `seed` may be (`scenarios.schema.MAX_SEED`)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64 - 1], got {text!r}")
    return value


def _out_dir(text: str) -> str:
    """An output directory: one that exists, or can be made under the nearest existing
    folder, which must be writable. Checked here so that a bad one fails before the run,
    not after it."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make directory {text!r}: {str(existing)!r} "
                                         "is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {str(existing)!r} (permission "
                                         "denied)")
    return text


def _log_file(text: str) -> str:
    """A file to write: not a directory, in an existing folder that is writable (checked
    before the run, as `_out_dir` is)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, expected a file name")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{str(folder)!r} is not an existing directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {str(folder)!r} (permission "
                                         "denied)")
    return text


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
    regress.add_argument("--jobs", type=_integer(1), default=1, metavar="J",
                         help="parallel runs (default: 1)")
    regress.add_argument("--quiet", action="store_true", help="no progress bar")
    regress.set_defaults(handler=lambda args: regress_library(
        update_goldens=args.update, workers=args.jobs, console=make_console(),
        progress=not args.quiet))


# --- demo -------------------------------------------------------------------------------------


def _add_demo(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="a lit exchange and seeded noise traders for a "
                               "simulated hour")
    demo.add_argument("--seed", type=_seed, default=1)
    demo.add_argument("--seconds", type=_integer(1, int(MAX_SECONDS)), default=3600,
                      help="simulated seconds (default 3600)")
    demo.add_argument("--traders", type=_integer(0), default=10)
    demo.add_argument("--log", type=_log_file, default=None,
                      help="write the event log (JSON lines) here")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    result = run_demo(args.seed, args.seconds, args.traders, args.log)
    exchange = result.simulation.venues["LIT1"]
    assert isinstance(exchange, LitExchange)
    l1 = exchange.book.l1()
    orders = sum(s.orders for s in exchange.statistics.values())
    print(f"scenario            demo (seed {args.seed}, {args.seconds} simulated s, "
          f"{args.traders} noise traders)")
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
