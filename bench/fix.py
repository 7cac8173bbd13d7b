"""FIX gateway load: N concurrent sessions on loopback through one gateway on uvloop (a figure,
not a pass/fail test).

The gateway (`venues.fix_gateway`) fronts a lit exchange, on the live loop (uvloop), in this
process, with its session store in a temporary directory (sequence numbers and every sent
message written as in production). The clients run in `--processes` other processes, many
sessions each, so their work does not eat the gateway's core.

What is sent. Each session logs on (ResetSeqNumFlag), then keeps `--window` requests in
flight for `--seconds`: a new request goes out each time one is answered. A request is a
NewOrderSingle (D) — a DAY limit order for 100 shares on a random side at a random price
within 3 ticks of a fixed mid, so that a good part of the orders trade on arrival and the
rest rest — or, one time in `--cancel-every`, an OrderCancelRequest (F) for the session's
oldest order still resting (one not yet known to be filled or canceled), or when it knows
none, for its last acknowledged order (most likely filled: a cancel too late, answered by
an OrderCancelReject). Every trade is between two bench sessions.

What is counted, at the clients, from the execution reports they read. A request's answer
is the report that names its ClOrdID first: for an order its ack (ExecType 0) or reject (8),
for a cancel its cancel report (ExecType 4) or an OrderCancelReject (9). `orders_per_s` is
the NewOrderSingles answered inside the sending window, per second of it (cancels are not
in it; requests_per_s counts both); latency is from writing an order to reading its answer
(p50, p99). After the window the clients send nothing new and wait for every answer; once
every client process has all of its answers, each session sends a TestRequest and waits for
its Heartbeat (the gateway answers in order, so every report it sent before is in), then
logs out. Then:
- lost = requests never answered + trades whose report reached only one side (each trade
  id, SecondaryExecID 527, must arrive twice) + messages missing from a session's MsgSeqNum
  sequence;
- duplicated = requests answered twice + reports whose ExecID was seen before + trade ids
  seen more than twice + MsgSeqNums seen twice.

The clients are written to cost the gateway's machine little: a session is an asyncio
protocol, an order is one bytes format of a template (BodyLength and CheckSum computed, the
CheckSum in C), a read is cut into messages and only the tags counted are picked out.

    python bench/fix.py [--sessions 50] [--seconds 10] [--window 8] [--processes 2]
                        [--cancel-every 4] [--profile pyinstrument|cpu]

Throughput depends on the CPU the gateway and the client processes get: with other work on
the machine the gateway may get a fraction of a core, so the gateway's and the clients' CPU
time over the window are printed too, per order (what a free core would give).

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
from collections import deque
from typing import Any

import uvloop

from market.clock import current_clock, run
from market.fix_codec import FixCodec, format_timestamp
from market.fix_framing import frame_message
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange

MID = 1_000_000  # ticks: 100.00 at 0.0001
TICK = 100  # a cent
PRICES = [b"%d.%04d" % divmod(MID + offset * TICK, 10_000) for offset in range(-3, 4)]
TARGET = b"LIT1"
# The tags a client reads, in one pass in C over one message.
_WANTED = re.compile(rb"\x01(35|34|11|17|39|112|150|527)=([^\x01]*)")
_TRAILER = b"\x0110="  # a message's last field: "|10=nnn|" (8 bytes with the SOH before it)
_END = b"\x018=FIX"  # where the next message starts


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _system_s() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


# --- the clients (child processes) ------------------------------------------------------------


class Load:
    """One client process's sessions: the sending window and what they all counted."""

    def __init__(self) -> None:
        self.sending = False
        self.counting = False  # answers inside the window count toward orders_per_s
        self.trades: dict[bytes, int] = {}  # SecondaryExecID -> reports seen
        self.latencies = array("q")
        self.orders = self.cancels = self.orders_answered = self.cancels_answered = 0
        self.rejected_orders = self.cancel_rejects = self.session_rejects = 0
        self.lost = self.duplicated = 0
        self.quiet = asyncio.Event()  # every request answered (after the window)
        self.sessions: list[LoadSession] = []

    def check_quiet(self) -> None:
        if not self.sending and not any(s.in_flight for s in self.sessions):
            self.quiet.set()


class LoadSession(asyncio.Protocol):
    """One FIX session of the load: a window of requests in flight, and its accounting."""

    def __init__(self, load: Load, comp_id: str, seed: int, window: int,
                 cancel_every: int) -> None:
        self.load = load
        self.comp_id = comp_id.encode()
        self.rng = random.Random(seed)
        self.window = window
        self.cancel_every = cancel_every
        self.transport: Any = None
        self.seq = 1  # next MsgSeqNum to send
        self.expected = 1  # next MsgSeqNum to read
        self.count = 0
        self.in_flight: dict[bytes, int] = {}  # ClOrdID -> sent at (perf_counter_ns)
        self.resting: deque[bytes] = deque()  # acknowledged orders, oldest first ...
        self.live: set[bytes] = set()  # ... of which these are not known to be done
        self.last_acked = b""  # the last order acknowledged
        self.exec_ids: set[bytes] = set()
        self.buffer = b""
        self.out: list[bytes] = []
        self.logged_on = asyncio.Event()
        self.heartbeat = asyncio.Event()  # the final TestRequest answered
        self.logged_out = asyncio.Event()
        prefix = b"49=%s\x0156=%s\x0134=" % (self.comp_id, TARGET)
        self._order = b"35=D\x01" + prefix + (b"%d\x0152=%s\x0111=%s\x0155=SIM\x0154=%s\x01"
                                               b"60=%s\x0138=100\x0140=2\x0144=%s\x01")
        self._cancel = b"35=F\x01" + prefix + (b"%d\x0152=%s\x0111=%s\x0141=%s\x0155=SIM\x01"
                                                b"54=1\x0160=%s\x01")
        self._admin = b"35=%s\x01" + prefix + b"%d\x0152=%s\x01%s"

    # --- writing -------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._send_admin(b"A", b"98=0\x01108=30\x01141=Y\x01")
        self._flush()

    def _send_admin(self, msg_type: bytes, body: bytes) -> None:
        self.out.append(frame_message(self._admin % (
            msg_type, self.seq, format_timestamp(time.time_ns()), body)))
        self.seq += 1

    def _flush(self) -> None:
        if self.out:
            self.transport.write(b"".join(self.out))
            self.out.clear()

    def next_request(self, stamp: bytes, now: int) -> None:
        self.count += 1
        load = self.load
        if self.count % self.cancel_every == 0 and self.last_acked:
            resting, live = self.resting, self.live
            target = self.last_acked  # when none is known to rest: a cancel too late
            while resting:
                oldest = resting.popleft()
                if oldest in live:
                    live.discard(oldest)
                    target = oldest
                    break
            cl_ord_id = b"X%d" % self.count
            self.out.append(frame_message(self._cancel % (
                self.seq, stamp, cl_ord_id, target, stamp)))
            self.seq += 1
            self.in_flight[cl_ord_id] = now
            load.cancels += 1
            return
        bits = self.rng.getrandbits(16)
        cl_ord_id = b"O%d" % self.count
        self.out.append(frame_message(self._order % (
            self.seq, stamp, cl_ord_id, b"1" if bits & 1 else b"2", stamp,
            PRICES[(bits >> 1) % 7])))
        self.seq += 1
        self.in_flight[cl_ord_id] = now
        load.orders += 1

    def start(self) -> None:
        stamp, now = format_timestamp(time.time_ns()), time.perf_counter_ns()
        for _ in range(self.window):
            self.next_request(stamp, now)
        self._flush()

    def finish(self) -> None:
        """The final TestRequest: its Heartbeat comes after every report sent before it."""
        self._send_admin(b"1", b"112=END\x01")
        self._flush()

    def logout(self) -> None:
        self._send_admin(b"5", b"")
        self._flush()

    # --- reading -------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        end = buffer.rfind(_TRAILER)
        if end >= 0 and len(buffer) < end + 8:  # the last message is cut: the one before
            end = buffer.rfind(_TRAILER, 0, end)
        if end < 0:
            self.buffer = buffer
            return
        cut = end + 8
        self.buffer = buffer[cut:]
        now = time.perf_counter_ns()
        stamp = b""
        load = self.load
        sending = load.sending
        counting = load.counting
        in_flight = self.in_flight
        exec_ids = self.exec_ids
        trades = load.trades
        answers = 0
        for message in buffer[:cut].split(_END):
            fields = dict(_WANTED.findall(message))
            seq = int(fields.get(b"34", b"0"))
            if seq != self.expected:
                if seq > self.expected:
                    load.lost += seq - self.expected
                else:
                    load.duplicated += 1
                    continue
            self.expected = seq + 1
            msg_type = fields.get(b"35")
            if msg_type == b"8":
                exec_id = fields.get(b"17", b"")
                if exec_id in exec_ids:
                    load.duplicated += 1
                    continue
                exec_ids.add(exec_id)
                trade = fields.get(b"527")
                if trade is not None:
                    trades[trade] = trades.get(trade, 0) + 1
                exec_type = fields.get(b"150")
                cl_ord_id = fields.get(b"11", b"")
                if exec_type == b"F":
                    if fields.get(b"39") == b"2":
                        self.live.discard(cl_ord_id)
                    continue
                if exec_type != b"0" and exec_type != b"8" and exec_type != b"4":
                    continue
                if exec_type == b"4" and cl_ord_id[:1] == b"O":  # not asked for: not an answer
                    self.live.discard(cl_ord_id)
                    continue
            elif msg_type == b"9":
                cl_ord_id = fields.get(b"11", b"")
                exec_type = None
                load.cancel_rejects += 1
            else:
                self._admin_message(msg_type, fields)
                continue
            sent = in_flight.pop(cl_ord_id, None)
            if sent is None:
                load.duplicated += 1  # a second answer (or one to nothing we sent)
                continue
            answers += 1
            if cl_ord_id[:1] == b"O":
                if exec_type == b"0":
                    self.resting.append(cl_ord_id)
                    self.live.add(cl_ord_id)
                    self.last_acked = cl_ord_id
                else:
                    load.rejected_orders += 1
                if counting:
                    load.orders_answered += 1
                    load.latencies.append(now - sent)
            elif counting:
                load.cancels_answered += 1
        if answers:
            if sending:
                stamp = format_timestamp(time.time_ns())
                for _ in range(answers):
                    self.next_request(stamp, now)
                self._flush()
            elif not in_flight:
                load.check_quiet()

    def _admin_message(self, msg_type: bytes | None, fields: dict[bytes, bytes]) -> None:
        if msg_type == b"A":
            self.logged_on.set()
        elif msg_type == b"0":
            if fields.get(b"112") == b"END":
                self.heartbeat.set()
        elif msg_type == b"1":
            self._send_admin(b"0", b"112=%s\x01" % fields.get(b"112", b""))
            self._flush()
        elif msg_type == b"5":
            self.logged_out.set()
        elif msg_type == b"3" or msg_type == b"j":
            self.load.session_rejects += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.logged_out.set()


def client_process(index: int, names: list[str], port: int, window: int, cancel_every: int,
                   seconds: float, drain_s: float, results: Any, go: Any,
                   all_quiet: Any) -> None:
    """One load process: its sessions, run to the end, their accounting to `results`."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        load = Load()
        for name in names:
            session = LoadSession(load, name, int(name[1:]), window, cancel_every)
            load.sessions.append(session)
            await loop.create_connection(lambda s=session: s, "127.0.0.1", port)
        await asyncio.wait_for(asyncio.gather(*(s.logged_on.wait() for s in load.sessions)),
                               30)
        results.put(("ready", index))
        await loop.run_in_executor(None, go.wait)
        began, cpu = time.perf_counter(), _cpu_s()
        load.sending = load.counting = True
        for session in load.sessions:
            session.start()
        await asyncio.sleep(seconds)
        load.sending = load.counting = False
        elapsed, cpu = time.perf_counter() - began, _cpu_s() - cpu
        load.check_quiet()
        try:
            await asyncio.wait_for(load.quiet.wait(), drain_s)
        except asyncio.TimeoutError:
            pass
        results.put(("quiet", index))
        await loop.run_in_executor(None, all_quiet.wait, drain_s + 30)
        for session in load.sessions:
            session.finish()
        try:
            await asyncio.wait_for(asyncio.gather(*(s.heartbeat.wait() for s in load.sessions)),
                                   drain_s)
        except asyncio.TimeoutError:
            pass
        unfinished = sum(not s.heartbeat.is_set() for s in load.sessions)
        for session in load.sessions:
            session.logout()
        try:
            await asyncio.wait_for(asyncio.gather(*(s.logged_out.wait() for s in load.sessions)),
                                   5)
        except asyncio.TimeoutError:
            pass
        for session in load.sessions:
            session.transport.close()
        results.put(("done", {
            "orders": load.orders, "cancels": load.cancels,
            "answered": load.orders_answered, "cancels_answered": load.cancels_answered,
            "unanswered": sum(len(s.in_flight) for s in load.sessions),
            "rejected_orders": load.rejected_orders, "cancel_rejects": load.cancel_rejects,
            "session_rejects": load.session_rejects, "unfinished": unfinished,
            "lost": load.lost, "duplicated": load.duplicated, "trades": load.trades,
            "elapsed": elapsed, "cpu": cpu, "latencies": load.latencies.tobytes(),
        }))

    uvloop.run(main())


# --- the gateway (this process) -----------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=8, help="requests in flight per session")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--cancel-every", type=int, default=4)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument("--profile", choices=("pyinstrument", "cpu"),
                        help="profile the gateway: pyinstrument (wall time) or cProfile on "
                        "process CPU time")
    args = parser.parse_args()

    names = [f"C{i:03d}" for i in range(args.sessions)]
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    go, all_quiet = context.Event(), context.Event()
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
            results, go, all_quiet), daemon=True) for i, group in enumerate(groups) if group]
        for process in processes:
            process.start()
        loop = asyncio.get_running_loop()

        async def expect(kind: str, timeout: float) -> list[Any]:
            got = []
            while len(got) < len(processes):
                try:
                    received, value = await loop.run_in_executor(None, results.get, True,
                                                                  timeout)
                except queue.Empty:
                    break
                if received == kind:
                    got.append(value)
            return got

        await expect("ready", 60)
        profiler: Any = None
        if args.profile == "pyinstrument":
            from pyinstrument import Profiler
            profiler = Profiler(async_mode="disabled")
            profiler.start()
        elif args.profile == "cpu":
            import cProfile
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        window_cpu: list[float] = []
        began, system = _cpu_s(), _system_s()
        loop.call_later(args.seconds, lambda: window_cpu.extend(
            (_cpu_s() - began, _system_s() - system)))
        go.set()
        await expect("quiet", args.seconds + args.drain_seconds + 30)
        all_quiet.set()
        done = await expect("done", args.drain_seconds + 30)
        if args.profile == "pyinstrument":
            profiler.stop()
            profiler.print(show_all=False)
        elif args.profile == "cpu":
            import pstats
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        sessions = gateway.sessions.values()
        report.update(done=done, cpu=window_cpu[0] if window_cpu else float("nan"),
                      system=window_cpu[1] if window_cpu else float("nan"),
                      errors=gateway.internal_errors, processes=len(processes),
                      rejects=sum(s.rejects_sent for s in sessions),
                      dropped=gateway.frames_dropped)
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

    def total(key: str) -> int:
        return sum(part[key] for part in done)

    answered, cancels_answered = total("answered"), total("cancels_answered")
    orders_per_s = sum(part["answered"] / part["elapsed"] for part in done)
    requests_per_s = sum((part["answered"] + part["cancels_answered"]) / part["elapsed"]
                         for part in done)
    elapsed = max(part["elapsed"] for part in done)
    latencies = array("q")
    for part in done:
        latencies.frombytes(part["latencies"])
    one_sided = sum(1 for count in trades.values() if count < 2)
    lost = total("unanswered") + one_sided + total("lost")
    duplicated = total("duplicated") + sum(1 for count in trades.values() if count > 2)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    client_cpu = total("cpu")
    print(f"sessions {args.sessions} over {report['processes']} client processes, window "
          f"{args.window}, {args.seconds:g} s of sending, a cancel every {args.cancel_every} "
          f"requests")
    print(f"sent: orders {total('orders')}, cancels {total('cancels')}; answered in the "
          f"window: orders {answered}, cancels {cancels_answered}; trades {len(trades)}")
    print(f"orders rejected {total('rejected_orders')}, cancels rejected (too late) "
          f"{total('cancel_rejects')}, session rejects {total('session_rejects')} (gateway "
          f"sent {report['rejects']}), frames dropped {report['dropped']}, gateway internal "
          f"errors {report['errors']}, sessions without their final heartbeat "
          f"{total('unfinished')}")
    print(f"lost: unanswered {total('unanswered')}, one-sided trades {one_sided}, sequence "
          f"gaps {total('lost')}")
    print(f"latency order -> answer: p50 {quantiles[49] / 1e3:.0f} us, p99 "
          f"{quantiles[98] / 1e3:.0f} us")
    print(f"requests_per_s {requests_per_s:.0f} (orders and cancels)")
    print(f"gateway CPU {report['cpu']:.2f} s in {elapsed:.1f} s of sending "
          f"({report['cpu'] / elapsed:.0%} of a core, {report['system'] / report['cpu']:.0%} of it "
          f"in the kernel): {report['cpu'] / answered * 1e6:.1f} us per order (with its share "
          f"of cancels), {answered / report['cpu']:.0f} orders per second of gateway CPU")
    print(f"client CPU {client_cpu:.2f} s ({client_cpu / elapsed:.0%} of a core): "
          f"{client_cpu / answered * 1e6:.1f} us per order")
    print(f"sessions {args.sessions}")
    print(f"orders_per_s {orders_per_s:.0f}")
    print(f"lost {lost}")
    print(f"duplicated {duplicated}")


if __name__ == "__main__":
    main()
