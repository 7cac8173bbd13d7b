"""FIX fuzz run: mutated messages through the framing, the codec and a live gateway session
(a figure: the count of messages and of crashes, which must be 0).

Messages. Valid messages of every kind (orders, cancels, replaces, quote requests, market
data requests, admin messages, and every report and market data message the codec reads:
`market.fix_corpus`, which the test suite's short fuzz starts from too) are mutated by a
seeded generator, one or more mutations each: a value replaced by random bytes (long,
non-ASCII, huge or negative numbers, empty-looking), a field dropped, repeated or
renumbered (non-numeric, zero, leading zeros), the MsgType changed, bytes flipped after the
CheckSum was computed, the message cut short, BodyLength or MsgSeqNum wrong, the CompID
changed, garbage bytes between messages; about one in ten is left valid.

Pass 1, offline: the whole stream, cut into random chunks, through `FixFramer`,
`split_fields` and `FixCodec.decode`. A crash is any exception other than the codec's own
`FixDecodeError`.

Pass 2, live: a gateway (`venues.fix_gateway`) in front of a lit exchange on uvloop, over
loopback TCP. A fuzzing client sends the gateway-bound messages in batches, each batch
followed by a TestRequest; it fills the gaps the gateway asks about, and logs on again
(ResetSeqNumFlag) whenever the gateway logs it out or closes. A second, healthy session
sends a valid order after every batch and must get its acknowledgement. A crash is a
gateway internal error, an exception reported to the loop, a healthy order not answered,
or a gateway that no longer acknowledges an order at the end.

    python bench/fix_fuzz.py [--messages 100000] [--seed 1] [--batch 50]

The last lines are `messages N` and `crashes N`.
"""

from __future__ import annotations

try:
    import _path  # noqa: F401  (first: keeps bench/market.py from shadowing the package)
except ModuleNotFoundError:
    pass

import argparse
import asyncio
import logging
import random
import time
import traceback
from typing import Any

import structlog

from market.clock import current_clock, run
from market.fix_codec import FixDecodeError
from market.fix_corpus import CODEC, EVERY_KIND, GATEWAY_BOUND, STAMP, Template
from market.fix_framing import FieldProblem, FixFramer, encode_message, split_fields
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange

ODD_VALUES = [b"0", b"-1", b"-100.5", b"1e9", b"nan", b"inf", b"99999999999999999999999999",
              b"0.00000000001", b"\xd9\xa1\xd9\xa2", b"\xff\xfe", b" ", b"=", b"==1", b"Y", b"N",
              b"20240230-25:61:61", b"19700101-00:00:00.1234567890", b"1" * 300, b"FIX.4.2",
              b"\xff\xfe: invalid_quantity: \xc3", b"NewOrder: nothing: x", b"aggressor=up"]
ODD_TAGS = [b"0", b"007", b"x", b"-1", b"99999999999", b"35", b"8", b"9", b"10", b"34", b"49",
            b"268", b"146", b"269"]


class Mutator:
    """Seeded mutations of valid messages (see the module docstring)."""

    def __init__(self, seed: int, templates: list[Template]):
        self.rng = random.Random(seed)
        self.templates = templates

    def value(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.5:
            return rng.choice(ODD_VALUES)
        size = rng.choice((1, 2, 5, 20, 200))
        return bytes(rng.choice(range(2, 256)) for _ in range(size))

    def plan(self) -> dict[str, Any]:
        rng = self.rng
        msg_type, body = rng.choice(self.templates)
        body = list(body)
        plan: dict[str, Any] = {"seq_offset": 0, "sender": b"CLIENT1", "after": []}
        if rng.random() < 0.1:
            plan.update(msg_type=msg_type, body=body)
            return plan
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            kind = rng.choice(("value", "value", "drop", "repeat", "tag", "type", "flip", "cut",
                               "garbage", "length", "seq", "comp", "insert"))
            if kind in ("value", "drop", "repeat", "tag") and body:
                index = rng.randrange(len(body))
                if kind == "value":
                    body[index] = (body[index][0], self.value().replace(b"\x01", b"?"))
                elif kind == "drop":
                    del body[index]
                elif kind == "repeat":
                    body.insert(index, body[index])
                else:
                    body[index] = (rng.choice(ODD_TAGS), body[index][1])
            elif kind == "insert":
                body.insert(rng.randrange(len(body) + 1),
                            (rng.choice(ODD_TAGS), self.value().replace(b"\x01", b"?")))
            elif kind == "type":
                msg_type = rng.choice((b"8", b"9", b"j", b"W", b"X", b"S", b"Z", b"\xff", b"DD",
                                       b"A", b"5", b"4", b"2"))
            elif kind == "seq":
                plan["seq_offset"] = rng.choice((-3, -1, 1, 2, 1000))
            elif kind == "comp":
                plan["sender"] = rng.choice((b"CLIENT2", b"X", b"client1"))
            else:
                plan["after"].append((kind, rng.randrange(1 << 16), rng.randrange(1, 256),
                                      self.value()))
        plan.update(msg_type=msg_type, body=body)
        return plan


def build(plan: dict[str, Any], seq: int) -> bytes:
    data = encode_message(plan["msg_type"], [
        (b"49", plan["sender"]), (b"56", b"LIT1"), (b"34", b"%d" % (seq + plan["seq_offset"])),
        (b"52", STAMP)], plan["body"])
    for kind, at, byte, garbage in plan["after"]:
        if kind == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ byte]) + data[at + 1:]
        elif kind == "cut":
            data = data[:at % max(1, len(data))]
        elif kind == "garbage":
            data = garbage + data
        elif kind == "length":
            data = data.replace(b"\x019=", b"\x019=" + str(byte).encode(), 1)
    return data


# --- pass 1: framing and codec ---------------------------------------------------------------


def offline_pass(count: int, seed: int, crashes: list[str]) -> int:
    mutator = Mutator(seed, EVERY_KIND)
    rng = random.Random(seed + 1)
    framer = FixFramer()
    frames = decoded = rejected = 0
    pending = b""
    for index in range(count):
        pending += build(mutator.plan(), index + 2)
        if len(pending) < 4096 and index < count - 1:
            continue
        position = 0
        while position < len(pending):
            cut = position + rng.randrange(1, 2048)
            try:
                for item in framer.feed(pending[position:cut]):
                    if not isinstance(item, bytes):
                        continue
                    frames += 1
                    fields = split_fields(item)
                    if isinstance(fields, FieldProblem):
                        continue
                    try:
                        CODEC.decode(fields)
                        decoded += 1
                    except FixDecodeError:
                        rejected += 1
            except Exception:  # noqa: BLE001 - what the fuzz is looking for
                crashes.append(traceback.format_exc())
            position = cut
        pending = b""
    print(f"pass 1 (framing, fields, codec): {count} messages, {frames} frames, "
          f"{decoded} decoded, {rejected} decode errors (rejects)")
    return count


# --- pass 2: a live gateway session --------------------------------------------------------------


class Client:
    """A FIX client over TCP that keeps its session in step: a reader task fills the gaps
    the gateway asks about and notices a logout or a close; `connect` logs on again."""

    def __init__(self, comp_id: bytes, port: int) -> None:
        self.comp_id = comp_id
        self.port = port
        self.seq = 1
        self.writer: asyncio.StreamWriter | None = None
        self.reading: asyncio.Task[None] | None = None
        self.waiting: dict[tuple[bytes, bytes], asyncio.Future[dict[bytes, bytes]]] = {}
        self.logons = 0
        self.closed = True

    async def connect(self) -> None:
        if self.reading is not None:
            self.reading.cancel()
        if self.writer is not None:
            self.writer.close()
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.closed = False
        self.seq = 1
        self.reading = asyncio.get_running_loop().create_task(self._read(reader))
        logon = self.expect(b"35", b"A")
        self.send(b"A", [(b"98", b"0"), (b"108", b"30"), (b"141", b"Y")])
        await asyncio.wait_for(logon, 5)
        self.logons += 1

    def expect(self, tag: bytes, value: bytes) -> asyncio.Future[dict[bytes, bytes]]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[(tag, value)] = future
        return future

    def send(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        self.write(encode_message(msg_type, [(b"49", self.comp_id), (b"56", b"LIT1"),
                                             (b"34", b"%d" % self.seq), (b"52", STAMP)], body))
        self.seq += 1

    def write(self, data: bytes) -> None:
        writer = self.writer
        assert writer is not None
        if self.closed or writer.is_closing():
            self.closed = True
            return
        try:
            writer.write(data)
        except (ConnectionError, RuntimeError):  # the gateway closed first
            self.closed = True

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = FixFramer()
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                for frame in framer.feed(data):
                    fields = split_fields(frame) if isinstance(frame, bytes) else None
                    if fields is None or isinstance(fields, FieldProblem):
                        continue
                    message = dict(fields.pairs)
                    kind = message.get(b"35")
                    if kind == b"2" and b"7" in message:
                        self.write(encode_message(b"4", [
                            (b"49", self.comp_id), (b"56", b"LIT1"), (b"34", message[b"7"]),
                            (b"43", b"Y"), (b"52", STAMP)],
                            [(b"123", b"Y"), (b"36", b"%d" % self.seq)]))
                    elif kind == b"5":
                        self.closed = True
                    for key in [k for k in self.waiting if message.get(k[0]) == k[1]]:
                        future = self.waiting.pop(key)
                        if not future.done():
                            future.set_result(message)
        except ConnectionError:
            pass
        self.closed = True


async def live_pass(count: int, seed: int, batch: int, crashes: list[str]) -> int:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: crashes.append(f"loop: {context}"))
    gateway = FixGateway(LitExchange("LIT1", current_clock(), tick_size=100, lot_size=100),
                         CODEC, clients={"CLIENT1": None, "CLIENT2": None})
    _, port = await gateway.start()
    fuzzer, healthy = Client(b"CLIENT1", port), Client(b"CLIENT2", port)
    await fuzzer.connect()
    await healthy.connect()
    mutator = Mutator(seed + 2, GATEWAY_BOUND)
    sent = misses = 0
    started = time.perf_counter()
    while sent < count:
        for _ in range(min(batch, count - sent)):
            if fuzzer.closed:
                await fuzzer.connect()
            plan = mutator.plan()
            fuzzer.write(build(plan, fuzzer.seq))
            fuzzer.seq = max(fuzzer.seq + 1, fuzzer.seq + plan["seq_offset"] + 1)
            sent += 1
            for _ in range(3):  # let the gateway read it and the reader see any logout
                await asyncio.sleep(0)
        cl_ord_id = b"h-%d" % sent
        answer = healthy.expect(b"11", cl_ord_id)
        healthy.send(b"D", [(b"11", cl_ord_id), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP),
                            (b"38", b"100"), (b"40", b"2"), (b"44", b"90.0000")])
        try:
            report = await asyncio.wait_for(answer, 5)
        except asyncio.TimeoutError:
            report = {}
        if report.get(b"150") != b"0":
            misses += 1
            crashes.append(f"healthy session: order {cl_ord_id!r} not acknowledged ({report})")
    await fuzzer.connect()
    answer = fuzzer.expect(b"11", b"last")
    fuzzer.send(b"D", [(b"11", b"last"), (b"55", b"SIM"), (b"54", b"2"), (b"60", STAMP),
                       (b"38", b"100"), (b"40", b"2"), (b"44", b"110.0000")])
    try:
        last = await asyncio.wait_for(answer, 5)
    except asyncio.TimeoutError:
        last = {}
    if last.get(b"150") != b"0":
        crashes.append(f"the gateway no longer acknowledges an order: {last}")
    elapsed = time.perf_counter() - started
    for _ in range(gateway.internal_errors):
        crashes.append("gateway internal error")
    await gateway.stop()
    await asyncio.sleep(0.05)
    print(f"pass 2 (live gateway over TCP): {sent} messages in {elapsed:.1f} s; the gateway "
          f"read {gateway.frames_received} whole frames and dropped {gateway.frames_dropped} "
          f"bad ones; the fuzzing session logged on {fuzzer.logons} times; healthy session "
          f"misses {misses}; gateway internal errors {gateway.internal_errors}")
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    # The fuzzing session logs on thousands of times: keep the gateway's info lines out.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    crashes: list[str] = []
    started = time.perf_counter()
    offline = offline_pass(args.messages, args.seed, crashes)
    held: list[int] = []

    async def live() -> None:
        held.append(await live_pass(args.messages, args.seed, args.batch, crashes))

    run(live(), live=True)
    for crash in crashes[:5]:
        print(crash)
    print(f"both passes in {time.perf_counter() - started:.1f} s")
    print(f"messages {offline + held[0]}")
    print(f"crashes {len(crashes)}")


if __name__ == "__main__":
    main()
