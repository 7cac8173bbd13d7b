"""A venue reached over FIX: the initiator's end of a gateway session, for an agent.

Concept. `FixVenueClient(name, codec, address)` has a venue's `name`, `connect` and
`subscribe`, so an agent (the router in live mode) connects to it exactly as to a venue,
and its messages go over TCP to that venue's gateway (`venues.fix_gateway`) instead of
through a latency link. `connect` opens one FIX 4.4 session (SenderCompID = the
participant, TargetCompID = the venue) once the gateway's address is known (an awaitable:
gateways listen only after the market is built); what the agent sends before the logon is
answered is held and sent in order after it. Commands are encoded with the codec (ClOrdID =
the order id; the side of each order is remembered for its cancels), and reports, cancel
rejects and quotes come back decoded for the participant, as a venue session delivers
them. `subscribe` asks the gateway for the venue's market data (two MarketDataRequests:
the whole book with its trades, and the top of book), so the agent gets the same
`L2Snapshot`, `BookUpdate`, `TradePrint` and `L1Snapshot` messages as from a venue.

Session. Logon with ResetSeqNumFlag (a fresh session each run), Heartbeats every
HeartBtInt when idle, TestRequests answered, a ResendRequest answered with one
SequenceReset-GapFill (an order is never sent twice: a stale order is worse than a lost
one), a Logout answered and the connection closed. Over loopback TCP nothing is lost, so an
inbound gap is only counted (`gaps`), and messages are taken as they come.

Known limits. No reconnection; latency is the socket's, not the scenario's link latency;
a message the codec cannot read is counted (`unreadable`), never passed on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import simplefix  # type: ignore[import-untyped]
import structlog

from market.fix_codec import FixCodec, FixDecodeError, FixEncodeError, format_timestamp
from market.fix_framing import FieldProblem, FixFramer, encode_message, split_fields
from market.link import Latency
from market.messages import (
    AcceptQuote,
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    Side,
)

__all__ = ["FixVenueClient"]

_log = structlog.get_logger("sorsim.fix")
_DONE = (ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)
_NS = 1_000_000_000


class FixVenueClient:
    """A venue behind a FIX gateway, as an agent sees it (see the module docstring)."""

    def __init__(self, name: str, codec: FixCodec, address: Awaitable[tuple[str, int]], *,
                 password: str | None = None, heartbeat_s: int = 30) -> None:
        self.name = name
        self.codec = codec
        self._address = address
        self._password = password
        self._heartbeat_s = heartbeat_s
        self.session: _InitiatorSession | None = None

    def connect(self, participant: str, handler: Callable[[Any], object],
                latency: Latency = Latency()) -> _InitiatorSession:
        if self.session is not None:
            raise ValueError(f"{self.name}: one participant per FIX venue client")
        self.session = _InitiatorSession(self, participant, handler)
        return self.session

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency()) -> None:
        if self.session is None:
            raise ValueError(f"{self.name}: connect before subscribing")
        self.session.market_data(handler)


class _InitiatorSession:
    """One FIX session to a gateway; `send` is the agent's way in."""

    def __init__(self, client: FixVenueClient, participant: str,
                 handler: Callable[[Any], object]) -> None:
        self.client = client
        self.participant = participant
        self._handler = handler
        self._market_data: Callable[[Any], object] | None = None
        self._codec = client.codec
        self._ours = participant.encode()
        self._theirs = client.name.encode()
        self._seq = 1
        self._expected = 1
        self._held: list[tuple[bytes, list[tuple[bytes, bytes]]]] = []
        self._sides: dict[int, Side] = {}
        self._writer: asyncio.StreamWriter | None = None
        self.logged_on = False
        self.closed = False
        self.gaps = 0
        self.unreadable = 0
        self.rejects = 0
        self._last_sent = 0.0
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name=f"fix {participant}->{client.name}")

    # --- the agent's side ------------------------------------------------------------------

    def send(self, message: Any) -> None:
        kind = type(message)
        context: dict[str, Any] = {}
        if kind is NewOrder or kind is AcceptQuote:
            self._sides[message.order_id] = message.side
        elif kind is CancelOrder or kind is ReplaceOrder:
            context["side"] = self._sides.get(message.order_id)
        try:
            fix = self._codec.encode(message, **context)
        except FixEncodeError as error:
            _log.error("fix client cannot send", venue=self.client.name, error=str(error))
            return
        self._send(fix.message_type, fix.pairs[fix.header_index:])

    def market_data(self, handler: Callable[[Any], object]) -> None:
        self._market_data = handler
        symbol = self._codec.symbol.encode()
        for request_id, depth, types in ((b"book", b"0", (b"0", b"1", b"2")),
                                         (b"top", b"1", (b"0", b"1"))):
            self._send(b"V", [(b"262", request_id), (b"263", b"1"), (b"264", depth),
                              (b"267", b"%d" % len(types)), *[(b"269", t) for t in types],
                              (b"146", b"1"), (b"55", symbol)])

    def close(self) -> None:
        """Log out (the gateway answers and closes)."""
        if self.logged_on and not self.closed:
            self._write(b"5", [])
        self.logged_on = False

    # --- the wire ----------------------------------------------------------------------------

    def _send(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        if self.logged_on:
            self._write(msg_type, body)
        elif not self.closed:
            self._held.append((msg_type, body))

    def _write(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        loop = asyncio.get_running_loop()
        writer.write(encode_message(msg_type, [
            (b"49", self._ours), (b"56", self._theirs), (b"34", b"%d" % self._seq),
            (b"52", format_timestamp(_wall_ns(loop)))], body))
        self._seq += 1
        self._last_sent = loop.time()

    def _gap_fill(self, begin: bytes) -> None:
        """Answer a ResendRequest: one SequenceReset-GapFill from `begin` to the next
        number, numbered `begin` (PossDupFlag), taking no new number."""
        writer = self._writer
        if writer is None or writer.is_closing() or not begin.isdigit():
            return
        writer.write(encode_message(b"4", [
            (b"49", self._ours), (b"56", self._theirs), (b"34", begin), (b"43", b"Y"),
            (b"52", format_timestamp(_wall_ns(asyncio.get_running_loop())))],
            [(b"123", b"Y"), (b"36", b"%d" % self._seq)]))

    async def _run(self) -> None:
        try:
            host, port = await self.client._address
            reader, self._writer = await asyncio.open_connection(host, port)
            logon = [(b"98", b"0"), (b"108", b"%d" % self.client._heartbeat_s), (b"141", b"Y")]
            if self.client._password is not None:
                logon.append((b"554", self.client._password.encode()))
            self._write(b"A", logon)
            heartbeat = asyncio.get_running_loop().create_task(self._heartbeats())
            framer = FixFramer()
            try:
                while True:
                    data = await reader.read(1 << 16)
                    if not data:
                        break
                    for frame in framer.feed(data):
                        if isinstance(frame, bytes):
                            self._frame(frame)
            finally:
                heartbeat.cancel()
        except (ConnectionError, OSError) as error:
            _log.error("fix client connection failed", venue=self.client.name,
                       participant=self.participant, error=str(error))
        finally:
            self.closed = True
            self.logged_on = False
            if self._writer is not None:
                self._writer.close()

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.client._heartbeat_s
        while True:
            await asyncio.sleep(max(0.1, interval - (loop.time() - self._last_sent)))
            if self.logged_on and loop.time() - self._last_sent >= interval:
                self._write(b"0", [])

    def _frame(self, frame: bytes) -> None:
        fix = split_fields(frame)
        if isinstance(fix, FieldProblem):
            self.unreadable += 1
            return
        fields: dict[bytes, bytes] = {}
        for tag, value in fix.pairs[:8]:
            fields.setdefault(tag, value)
        seq_text = fields.get(b"34", b"")
        seq = int(seq_text) if seq_text.isdigit() else self._expected
        if seq > self._expected:
            self.gaps += 1
        elif seq < self._expected and fields.get(b"43") == b"Y":
            return  # a possible duplicate already seen
        self._expected = seq + 1
        msg_type = fix.message_type
        if msg_type == b"A":
            self.logged_on = True
            held, self._held = self._held, []
            for kind, body in held:
                self._write(kind, body)
        elif msg_type == b"1":
            self._write(b"0", [(b"112", fix.get(112) or b"")])
        elif msg_type == b"2":
            self._gap_fill(fix.get(7) or b"1")
        elif msg_type == b"4":
            new_seq = fix.get(36)
            if new_seq is not None and new_seq.isdigit():
                self._expected = int(new_seq)
        elif msg_type == b"5":
            if self.logged_on:
                self._write(b"5", [])
            self.logged_on = False
            self.closed = True
            if self._writer is not None:
                self._writer.close()
        elif msg_type in (b"3", b"j", b"Y"):
            self.rejects += 1
            _log.warning("fix client rejected", venue=self.client.name, msg_type=msg_type,
                         text=(fix.get(58) or b"").decode("ascii", "replace"))
        elif msg_type in (b"W", b"X"):
            if self._market_data is not None:
                self._deliver(fix, self._market_data)
        elif msg_type != b"0":
            self._deliver(fix, self._handler)

    def _deliver(self, fix: simplefix.FixMessage, handler: Callable[[Any], object]) -> None:
        try:
            message = self._codec.decode(fix, participant=self.participant)
        except FixDecodeError as error:
            self.unreadable += 1
            _log.warning("fix client cannot read", venue=self.client.name, error=str(error))
            return
        if type(message) is ExecutionReport and message.exec_type in _DONE:
            self._sides.pop(message.order_id, None)
        handler(message)


def _wall_ns(loop: Any) -> int:
    """The live loop's clock (wall time); any other loop's `now_ns`."""
    now: int = loop.now_ns()
    return now
