"""FIX gateway load: N concurrent sessions on loopback through one gateway on uvloop (a figure,
not a pass/fail test).

The gateway (`venues.fix_gateway`) fronts a lit exchange, on the live loop (uvloop), in this
process, with its session store in a temporary directory (sequence numbers and every sent
message written as in production). The clients run in `--processes` other processes, so
their work does not eat the gateway's core: each client session logs on, then keeps
`--window` requests in flight for `--seconds`, each a NewOrderSingle (a DAY limit order on
a random side within a few ticks of the mid: about half cross and fill, the rest rest) or,
one time in `--cancel-every`, an OrderCancelRequest for one of its own resting orders.

Counted at the clients. A request's *answer* is the report that names its ClOrdID first:
for an order its ack (ExecType 0) or reject (8), for a cancel its cancel report (4) or an
OrderCancelReject (9). `orders_per_s` is orders answered per second of the sending window;
latency is from writing an order to reading its answer (p50, p99). After sending stops the
clients wait for every answer (up to `--drain-seconds`), then:
- lost = requests never answered + trades whose report reached only one side (every trade
  is between two bench sessions, so each trade id, SecondaryExecID, must arrive twice);
- duplicated = requests answered twice + reports whose ExecID was seen before + trade ids
  seen more than twice.

    python bench/fix.py [--sessions 50] [--seconds 10] [--window 8] [--processes 3]
                        [--cancel-every 4] [--profile pyinstrument|cpu]

Throughput depends on the CPU the gateway and the client processes get: with other work on
the machine the gateway may get a fraction of a core, so the gateway's CPU time is printed
too, with the orders it handled per second of it (what one free core would give).

The last lines are `sessions N`, `orders_per_s N`, `lost N`, `duplicated N`.
"""

from __future__ import annotations

try:
    import _path  # noqa: F401  (first: keeps bench/market.py from shadowing the package)
except ModuleNotFoundError:  # a spawned client process: it got the parent's clean sys.path
    pass

import argparse
import asyncio
import multiprocessing
import queue
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from array import array
from typing import Any

import uvloop

from market.clock import current_clock, run
from market.fix_codec import FixCodec, format_timestamp
from market.fix_framing import FixFramer, encode_message
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange

# The tags a client reads, in one pass in C (none of them repeats in a report).
_WANTED = re.compile(rb"\x01(35|11|17|150|527|41)=([^\x01]*)")
MID = 1_000_000  # ticks: 100.00 at 0.0001
TICK = 100  # a cent


# --- the clients (child processes) ------------------------------------------------------------


class Client:
    """One FIX session of the load: a window of requests in flight, and its accounting."""

    def __init__(self, comp_id: str, rng: random.Random, window: int, cancel_every: int) -> None:
        self.comp_id = comp_id.encode()
        self.rng = rng
        self.window = window
        self.cancel_every = cancel_every
        self.seq = 1
        self.count = 0
        self.in_flight: dict[bytes, int] = {}  # ClOrdID of a request -> sent at (ns)
        self.answered: set[bytes] = set()
        self.resting: list[bytes] = []  # acknowledged orders, for cancels
        self.latencies = array("q")
        self.orders = self.cancels = self.orders_answered = 0
        self.duplicated = 0
        self.exec_ids: set[bytes] = set()
        self.trades: dict[bytes, int] = {}
        self.sending = True
        self.idle = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None
        self.pending: list[bytes] = []

    def _write(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        """Queue a message; what one turn of the loop queued goes out in one write."""
        self.pending.append(encode_message(msg_type, [
            (b"49", self.comp_id), (b"56", b"LIT1"), (b"34", b"%d" % self.seq),
            (b"52", format_timestamp(time.time_ns()))], body))
        self.seq += 1
        if len(self.pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        assert self.writer is not None
        self.writer.write(b"".join(self.pending))
        self.pending.clear()

    def next_request(self) -> None:
        self.count += 1
        cl_ord_id = b"%s-%d" % (self.comp_id, self.count)
        now = time.perf_counter_ns()
        stamp = format_timestamp(time.time_ns())
        if self.resting and self.count % self.cancel_every == 0:
            target = self.resting.pop(self.rng.randrange(len(self.resting)))
            self.cancels += 1
            self._write(b"F", [(b"11", cl_ord_id), (b"41", target), (b"55", b"SIM"),
                               (b"54", b"1"), (b"60", stamp)])
        else:
            self.orders += 1
            buy = self.rng.random() < 0.5
            offset = self.rng.randint(-3, 3) * TICK
            price = MID + offset
            self._write(b"D", [(b"11", b"O" + cl_ord_id), (b"55", b"SIM"),
                               (b"54", b"1" if buy else b"2"), (b"60", stamp),
                               (b"38", b"100"), (b"40", b"2"),
                               (b"44", b"%d.%04d" % divmod(price, 10_000))])
            cl_ord_id = b"O" + cl_ord_id
        self.in_flight[cl_ord_id] = now

    def on_message(self, fields: dict[bytes, bytes]) -> None:
        msg_type = fields.get(b"35")
        if msg_type != b"8" and msg_type != b"9":
            return
        exec_id = fields.get(b"17")
        if exec_id is not None:
            if exec_id in self.exec_ids:
                self.duplicated += 1
                return
            self.exec_ids.add(exec_id)
        trade = fields.get(b"527")
        if trade is not None:
            self.trades[trade] = self.trades.get(trade, 0) + 1
        exec_type = fields.get(b"150")
        cl_ord_id = fields.get(b"11", b"")
        is_answer = msg_type == b"9" or exec_type in (b"0", b"8") or (
            exec_type == b"4" and b"41" in fields)
        if not is_answer:
            return
        sent = self.in_flight.pop(cl_ord_id, None)
        if sent is None:
            if cl_ord_id in self.answered:
                self.duplicated += 1
            return
        self.answered.add(cl_ord_id)
        if cl_ord_id[:1] == b"O":
            self.orders_answered += 1
            self.latencies.append(time.perf_counter_ns() - sent)
            if exec_type == b"0":
                self.resting.append(cl_ord_id)
        if self.sending:
            self.next_request()
        elif not self.in_flight:
            self.idle.set()

    async def run(self, port: int, start: Any, stop: Any) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer = writer
        self._write(b"A", [(b"98", b"0"), (b"108", b"30"), (b"141", b"Y")])
        framer = FixFramer()
        logged_on = asyncio.Event()

        async def read() -> None:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    return
                for frame in framer.feed(data):
                    if not isinstance(frame, bytes):
                        continue
                    fields = dict(_WANTED.findall(frame))
                    if fields.get(b"35") == b"A":
                        logged_on.set()
                    self.on_message(fields)

        reading = asyncio.get_running_loop().create_task(read())
        await logged_on.wait()
        await start
        for _ in range(self.window):
            self.next_request()
        await stop
        self.sending = False
        if self.in_flight:
            await self.idle.wait()
        self._write(b"5", [])
        await asyncio.sleep(0.05)
        reading.cancel()
        writer.close()


def client_process(index: int, names: list[str], port: int, window: int, cancel_every: int,
                   seconds: float, drain_s: float, results: Any, go: Any) -> None:
    """One load process: its sessions, run to the end, their accounting to `results`."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        start, stop = loop.create_future(), loop.create_future()
        clients = [Client(name, random.Random(f"{name}"), window, cancel_every)
                   for name in names]
        tasks = [loop.create_task(c.run(port, start, stop)) for c in clients]
        while sum(c.seq > 1 for c in clients) < len(clients):
            await asyncio.sleep(0.01)
        results.put(("ready", index))
        await loop.run_in_executor(None, go.wait)
        began = time.perf_counter()
        start.set_result(None)
        await asyncio.sleep(seconds)
        stop.set_result(None)
        elapsed = time.perf_counter() - began
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), drain_s)
        except asyncio.TimeoutError:
            pass
        trades: dict[bytes, int] = {}
        for c in clients:
            for trade, count in c.trades.items():
                trades[trade] = trades.get(trade, 0) + count
        results.put(("done", {
            "orders": sum(c.orders for c in clients),
            "cancels": sum(c.cancels for c in clients),
            "answered": sum(c.orders_answered for c in clients),
            "unanswered": sum(len(c.in_flight) for c in clients),
            "duplicated": sum(c.duplicated for c in clients),
            "trades": trades,
            "elapsed": elapsed,
            "latencies": b"".join(c.latencies.tobytes() for c in clients),
        }))

    uvloop.run(main())


# --- the gateway (this process) -----------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=8, help="requests in flight per session")
    parser.add_argument("--processes", type=int, default=3, help="client processes")
    parser.add_argument("--cancel-every", type=int, default=4)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument("--profile", choices=("pyinstrument", "cpu"),
                        help="profile the gateway: pyinstrument (wall time) or cProfile on "
                        "process CPU time")
    args = parser.parse_args()

    names = [f"C{i:03d}" for i in range(args.sessions)]
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    go = context.Event()
    store = tempfile.TemporaryDirectory(prefix="sorsim-fix-bench-")
    report: dict[str, Any] = {}

    async def serve() -> None:
        venue = LitExchange("LIT1", current_clock(), tick_size=TICK, lot_size=100)
        gateway = FixGateway(venue, FixCodec("SIM", "0.0001"), clients={n: None for n in names},
                             store=store.name)
        host, port = await gateway.start()
        groups = [names[i::args.processes] for i in range(args.processes)]
        processes = [context.Process(target=client_process, args=(
            i, group, port, args.window, args.cancel_every, args.seconds, args.drain_seconds,
            results, go), daemon=True) for i, group in enumerate(groups) if group]
        for process in processes:
            process.start()
        loop = asyncio.get_running_loop()
        ready = 0
        while ready < len(processes):
            kind, _ = await loop.run_in_executor(None, results.get, True, 60)
            ready += kind == "ready"
        profiler: Any = None
        if args.profile == "pyinstrument":
            from pyinstrument import Profiler
            profiler = Profiler(async_mode="disabled")
            profiler.start()
        elif args.profile == "cpu":
            import cProfile
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        go.set()
        done = []
        while len(done) < len(processes):
            try:
                kind, value = await loop.run_in_executor(
                    None, results.get, True, args.seconds + args.drain_seconds + 30)
            except queue.Empty:
                break
            if kind == "done":
                done.append(value)
        after = resource.getrusage(resource.RUSAGE_SELF)
        if args.profile == "pyinstrument":
            profiler.stop()
            profiler.print(show_all=False)
        elif args.profile == "cpu":
            import pstats
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        report.update(done=done, cpu=(after.ru_utime - usage.ru_utime) + (
            after.ru_stime - usage.ru_stime), errors=gateway.internal_errors,
                      processes=len(processes))
        await gateway.stop()
        for process in processes:
            process.join(5)

    run(serve(), live=True)
    store.cleanup()
    done = report["done"]
    if len(done) < report["processes"]:
        print(f"only {len(done)} of {report['processes']} client processes reported",
              file=sys.stderr)
    trades: dict[bytes, int] = {}
    for part in done:
        for trade, count in part["trades"].items():
            trades[trade] = trades.get(trade, 0) + count
    orders = sum(p["orders"] for p in done)
    answered = sum(p["answered"] for p in done)
    elapsed = max(p["elapsed"] for p in done)
    latencies = array("q")
    for part in done:
        latencies.frombytes(part["latencies"])
    lost = sum(p["unanswered"] for p in done) + sum(1 for c in trades.values() if c < 2)
    duplicated = sum(p["duplicated"] for p in done) + sum(1 for c in trades.values() if c > 2)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"sessions {args.sessions} over {report['processes']} client processes, window "
          f"{args.window}, {args.seconds:g} s of sending")
    print(f"orders {orders} (answered {answered}), cancels {sum(p['cancels'] for p in done)}, "
          f"trades {len(trades)}, gateway internal errors {report['errors']}")
    print(f"latency order -> answer: p50 {quantiles[49] / 1e3:.0f} us, p99 "
          f"{quantiles[98] / 1e3:.0f} us")
    print(f"gateway process CPU {report['cpu']:.1f} s for {elapsed:.1f} s of sending "
          f"({report['cpu'] / elapsed:.0%} of a core): {answered / report['cpu']:.0f} orders "
          f"(and their cancels) per second of gateway CPU")
    print(f"sessions {args.sessions}")
    print(f"orders_per_s {answered / elapsed:.0f}")
    print(f"lost {lost}")
    print(f"duplicated {duplicated}")


if __name__ == "__main__":
    main()
