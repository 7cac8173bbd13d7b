"""`sorsim serve FILE`: the scenario's market live, each venue behind its own FIX gateway.

Live mode. The scenario's venues, agents and routers run in real time on uvloop (the live
loop of `market.clock`), unchanged: the scenario's times (its start, the parent orders'
windows, the timeline's shifts) are moved to begin at the wall-clock moment the market
starts, so a shift at 40 s happens 40 s after start, and every timestamp — in the event
log and on the wire — is wall-clock UTC, as FIX peers expect (QuickFIX checks SendingTime).

FIX. Each venue gets a gateway (`venues.fix_gateway`) listening on loopback, on
`--port-base` + its index (ephemeral ports without `--port-base`), TargetCompID = the
venue's name; at start one line per venue: `fix VENUE HOST:PORT TargetCompID=ID`. The
clients that may log on are the scenario's `[fix]` table's (`clients = [{comp_id = "...",
password = "..."}]`, `symbol = "SIM"`), CLIENT1 without a password when it lists none.
Orders from FIX clients take their ids from the simulation's allocator, so they trade with
the agents like any participant. The scenario's routers reach their venues over FIX too
(`venues.fix_client`, a session per router and venue, CompID = the parent order's name,
accepted without a password on loopback; `--routers-direct` keeps them on the simulation's
links). Sequence numbers and sent messages are kept in `OUT/fix-sessions`.

Stopping. Ctrl-C or SIGTERM (or `--seconds`) logs every FIX session out, stops the
agents, and closes the event log: `OUT/events.jsonl` (header, events, digest trailer).
The same seed gives the same agents, but a live run is not reproducible event for event:
real time and the outside clients decide the interleaving.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

from market.clock import wall_time_ns
from market.fix_codec import FixCodec
from scenarios.loader import build_scenario, load_scenario
from scenarios.scenario import Scenario
from scenarios.schema import ScenarioError, validate_data
from scenarios.simulation import Simulation
from venues.fix_client import FixVenueClient
from venues.fix_gateway import FixGateway

__all__ = ["add_parser", "run", "serve", "shift_scenario"]

EXIT_INVALID = 2
_FOREVER_NS = 10 * 365 * 24 * 3600 * 1_000_000_000


def add_parser(subcommands: Any) -> None:
    """Register `serve` with the `sorsim` command line."""
    parser = subcommands.add_parser("serve", help="run a scenario live, each venue behind a "
                                    "FIX 4.4 gateway, until Ctrl-C")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--port-base", type=int, default=None, metavar="N",
                        help="venue i listens on N + i (default: ports the system picks)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: loopback only)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the root seed (default: the file's)")
    parser.add_argument("--out", default="out/serve", metavar="DIR",
                        help="events.jsonl and the FIX session store go here (default out/serve)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--routers-direct", action="store_true",
                        help="routers reach venues through the simulation's links, not FIX")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """The `serve` command: validate, then serve until stopped."""
    try:
        scenario = load_scenario(args.file)
        clients, symbol = _fix_settings(args.file)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    serve(scenario, clients=clients, symbol=symbol, out_dir=Path(args.out), host=args.host,
          port_base=args.port_base, seed=args.seed, seconds=args.seconds,
          routers_direct=args.routers_direct)
    return 0


def _fix_settings(file: str) -> tuple[dict[str, str | None], str]:
    """The `[fix]` table of a file `load_scenario` already validated."""
    model = validate_data(tomllib.loads(Path(file).read_text(encoding="utf-8")), file).fix
    clients = {c.comp_id: c.password for c in model.clients} or {"CLIENT1": None}
    return clients, model.symbol


def shift_scenario(scenario: Scenario, offset_ns: int) -> Scenario:
    """The scenario with every time moved by `offset_ns` (its start, the parent orders'
    windows, the timeline)."""
    orders = tuple(dataclasses.replace(order, parent=dataclasses.replace(
        order.parent, start_ns=order.parent.start_ns + offset_ns,
        end_ns=order.parent.end_ns + offset_ns)) for order in scenario.parent_orders)
    timeline = tuple(dataclasses.replace(entry, at_ns=entry.at_ns + offset_ns)
                     for entry in scenario.timeline)
    return dataclasses.replace(scenario, start_ns=scenario.start_ns + offset_ns,
                               end_ns=scenario.end_ns + offset_ns, parent_orders=orders,
                               timeline=timeline)


def serve(scenario: Scenario, *, clients: dict[str, str | None], symbol: str, out_dir: Path,
          host: str = "127.0.0.1", port_base: int | None = None, seed: int | None = None,
          seconds: float | None = None, routers_direct: bool = False) -> Simulation:
    """Run `scenario` live with a gateway per venue until a signal (or `seconds`); the
    routers reach their venues over FIX unless `routers_direct`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    live = shift_scenario(scenario, wall_time_ns() - scenario.start_ns)
    simulation = Simulation(scenario.name, seed=scenario.seed if seed is None else seed,
                            start_ns=live.start_ns, end_ns=live.start_ns + _FOREVER_NS,
                            log_path=out_dir / "events.jsonl")
    gateways: list[FixGateway] = []

    def setup(sim: Simulation) -> None:
        loop = asyncio.get_running_loop()
        codec = FixCodec(symbol, scenario.market.price_increment)
        addresses: dict[str, asyncio.Future[tuple[str, int]]] = {}

        def over_fix(router: str, venue: Any) -> FixVenueClient:
            address = addresses.setdefault(venue.name, loop.create_future())
            return FixVenueClient(venue.name, codec, address)

        built = build_scenario(sim, live, router_venue=None if routers_direct else over_fix)
        # The routers log on like any client (no password: the gateways listen on loopback).
        accepted = dict(clients)
        if not routers_direct:
            accepted.update((order.name, None) for order in live.parent_orders)
        for index, (name, venue) in enumerate(built.market.venues.items()):
            gateways.append(FixGateway(
                venue, codec, comp_id=name, clients=accepted, store=out_dir / "fix-sessions",
                host=host, port=0 if port_base is None else port_base + index,
                next_order_id=sim.order_ids.next))
        loop.create_task(_open(gateways, addresses), name="fix gateways")
        stopping: list[asyncio.Task[None]] = []

        def stop() -> None:
            if not stopping:
                stopping.append(loop.create_task(_close(gateways, loop), name="shutdown"))

        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop)
        if seconds is not None:
            loop.call_later(seconds, stop)

    simulation.run(setup, live=True)
    print(f"stopped: event log {out_dir / 'events.jsonl'} ({simulation.event_log.events:,} "
          f"events, sha256 {simulation.event_log.digest})", flush=True)
    return simulation


async def _open(gateways: list[FixGateway],
                addresses: dict[str, asyncio.Future[tuple[str, int]]]) -> None:
    for gateway in gateways:
        host, port = await gateway.start()
        print(f"fix {gateway.venue.name} {host}:{port} TargetCompID={gateway.comp_id}",
              flush=True)
        address = addresses.get(gateway.venue.name)
        if address is not None:
            address.set_result((host, port))


async def _close(gateways: list[FixGateway], loop: asyncio.AbstractEventLoop) -> None:
    """Log every session out and close the gateways, then stop the loop (the simulation
    then stops its agents and closes the event log)."""
    for gateway in gateways:
        await gateway.stop()
    loop.stop()
