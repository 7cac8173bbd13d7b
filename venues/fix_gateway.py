"""A FIX 4.4 gateway: an acceptor on asyncio streams in front of one venue.

Concept. To the venue the gateway is participants like any agent: one per client CompID,
each connected (`venue.connect`) under its CompID, sending the vocabulary's commands and
getting reports back. To the clients it is a FIX 4.4 acceptor (`venues.fix_session`):
logon, sequence numbers, heartbeats, resend. In between it translates with the codec
(`market.fix_codec`) and keeps each client's orders: the client's ClOrdIDs map to order
ids the gateway takes from `next_order_id` (the simulation's allocator in live mode, so
they never collide with the agents'), and back.

Orders. NewOrderSingle (D) -> `NewOrder` (or, with a QuoteID at a dealer, `AcceptQuote`);
OrderCancelRequest (F) -> `CancelOrder`; OrderCancelReplaceRequest (G) -> `ReplaceOrder`;
QuoteRequest (R) at a dealer -> `QuoteRequest`. Execution reports carry what FIX 4.4
requires: OrderID (the venue's order id), ExecID (unique per gateway run), ExecType,
OrdStatus, Side, Symbol, OrderQty, Price, LeavesQty, CumQty, AvgPx (from the fills so
far), TransactTime, ClOrdID and, answering a cancel or replace, the request's ClOrdID with
OrigClOrdID; LastQty, LastPx, Commission and LastLiquidityInd on fills; OrdRejReason and
Text on rejects. A cancel or replace reject is an OrderCancelReject (9) with the order's
OrdStatus. A client's order list is its own: a ClOrdID is looked up among that client's
live orders only, so a session sees and can cancel only its own orders (another's
ClOrdID is an unknown order, CxlRejReason 1). A ClOrdID already live for that client is
rejected at the gateway (OrdRejReason 6); ids of finished orders may be reused.

Market data (lit venues). A MarketDataRequest (V) for the symbol gets a snapshot (W) of the
book as the gateway last saw it — MarketDepth 1: top of book; any other depth: every level
— and, with SubscriptionRequestType 1, the updates: top-of-book snapshots (W) for depth 1,
incremental refreshes (X) of the levels otherwise, and trades (X) when MDEntryType 2 was
asked for. SubscriptionRequestType 2 ends a subscription; a logout ends them all. A
request for another symbol gets a MarketDataRequestReject (Y).

Bad input. Whatever the codec cannot decode is rejected by the session layer with the tag
named (Reject 3 or BusinessMessageReject j); a message type the venue does not take is a
BusinessMessageReject (380 = 3). The gateway and its other sessions go on. An exception
of the gateway's own while handling one connection's input closes that connection only
and is counted in `internal_errors` (the fuzz run checks it stays 0).

Security. Listens on loopback unless told otherwise; only the configured client CompIDs
log on, with their passwords when they have one (see `venues.fix_session`).

Known limits. One instrument (the codec's). No order status or mass cancel requests;
orders keep working when their client disconnects; MarketDepth above 1 gets the whole
book; ClOrdID uniqueness is checked among live orders only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import simplefix  # type: ignore[import-untyped]
import structlog

from market.fix_codec import FixCodec, FixDecodeError, order_status
from market.link import Latency
from market.messages import (
    AcceptQuote,
    BookUpdate,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    MessageRejected,
    Quote,
    RejectReason,
    Side,
    TradePrint,
)
from venues.fix_session import FixConnection, FixSession, SessionSettings, SessionStore
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform
from venues.venue import Venue

__all__ = ["FixGateway"]

_log = structlog.get_logger("sorsim.fix")
_DONE = (ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)
# Read on every report: module constants (an enum member through its class costs ~10x).
_CANCELED, _REPLACED, _REQUESTED = ExecType.CANCELED, ExecType.REPLACED, CancelReason.REQUESTED
_UNSUPPORTED = 3  # BusinessRejectReason: unsupported message type
_TAGS = {tag: b"%d" % tag for tag in (11, 41, 131, 262)}


class _Order:
    """One client order as the gateway follows it."""

    __slots__ = ("venue_id", "cl_ord_id", "status", "filled", "notional", "pending", "done")

    def __init__(self, venue_id: int, cl_ord_id: bytes) -> None:
        self.venue_id = venue_id
        self.cl_ord_id = cl_ord_id
        self.status = b"A"  # pending new, until the venue acknowledges
        self.filled = 0
        self.notional = 0
        # Cancels and replaces sent, answered in order: (request, ClOrdID, OrigClOrdID);
        # None until the first (most orders never get one: no list to allocate, and no
        # object more for the garbage collector to follow).
        self.pending: list[tuple[str, bytes, bytes]] | None = None
        self.done = False


class _Subscription:
    __slots__ = ("md_req_id", "top_only", "trades")

    def __init__(self, md_req_id: bytes, top_only: bool, trades: bool) -> None:
        self.md_req_id = md_req_id
        self.top_only = top_only
        self.trades = trades


class _Client:
    """A client CompID: its FIX session, its venue session and its orders."""

    def __init__(self, comp_id: str, session: FixSession) -> None:
        self.comp_id = comp_id
        self.session = session
        self.venue_session: Any = None  # set once the venue has connected it
        # Identifiers the client chose (ClOrdID, QuoteReqID, MDReqID) stay the wire's bytes.
        self.live: dict[bytes, _Order] = {}  # ClOrdID -> order, live orders only
        self.quote_requests: dict[int, bytes] = {}  # request id -> QuoteReqID
        self.subscriptions: dict[bytes, _Subscription] = {}


class _Connection(asyncio.Protocol):
    """One client's TCP connection: the socket's protocol and the session layer's transport.

    Bytes read go straight to the session layer (no reader task to wake per read). Bytes
    written are gathered and go out together, for every connection in one callback
    (`FixGateway._flush`, see `_to_flush`): a report per syscall is what a busy gateway
    would otherwise spend its time on. The session's record is flushed first, so whatever
    the client can read is already stored for a resend. A client that stops reading is cut
    off once `max_buffer` bytes wait for it."""

    def __init__(self, gateway: FixGateway) -> None:
        self._gateway = gateway
        self._pending: list[bytes] = []
        self._transport: Any = None
        self.fix: FixConnection | None = None
        self.overflowed = False

    # --- asyncio's side ------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        gateway = self._gateway
        self.fix = FixConnection(gateway._session_of, gateway.settings, self,
                                 gateway.clock.now_ns)
        gateway._connections.add(self.fix)
        gateway.connections_accepted += 1

    def data_received(self, data: bytes) -> None:
        fix = self.fix
        if fix is None or fix.closed:
            return
        try:
            fix.data_received(data)
        except Exception as error:  # noqa: BLE001 - one connection's failure only
            self._gateway._internal_error(error, "input")
            fix.close()

    def connection_lost(self, exc: Exception | None) -> None:
        fix = self.fix
        if fix is None:
            return
        fix.connection_lost()
        gateway = self._gateway
        if fix in gateway._connections:
            gateway._connections.discard(fix)
            gateway.frames_received += fix.frames
            gateway.frames_dropped += fix.garbled

    # --- the session layer's side ----------------------------------------------------------

    def write(self, data: bytes) -> None:
        pending = self._pending
        pending.append(data)
        if len(pending) == 1:
            self._gateway._to_flush(self)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        fix = self.fix
        if fix is not None and fix.session is not None:
            fix.session.record.flush()
        data = b"".join(pending) if len(pending) > 1 else pending[0]
        pending.clear()
        transport = self._transport
        if transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self._gateway._max_write_buffer:
            self.overflowed = True
            self._gateway.connections_cut_off += 1
            transport.abort()

    def close(self) -> None:
        self.flush()
        self._transport.close()


class FixGateway:
    """A FIX 4.4 acceptor in front of `venue` (see the module docstring)."""

    def __init__(
        self,
        venue: Venue,
        codec: FixCodec,
        *,
        comp_id: str | None = None,
        clients: Mapping[str, str | None] | None = None,
        store: SessionStore | str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        next_order_id: Callable[[], int] | None = None,
        latency: Latency = Latency(),
        tick_interval_s: float = 0.2,
        max_write_buffer: int = 16 * 1024 * 1024,
        settings: SessionSettings | None = None,
    ) -> None:
        self.venue = venue
        self.codec = codec
        self.clock = venue.clock
        self.host = host
        self.port = port
        self.settings = settings or SessionSettings(
            comp_id or venue.name, dict(clients) if clients is not None else {"CLIENT1": None})
        self.comp_id = self.settings.comp_id
        self.store = store if isinstance(store, SessionStore) else SessionStore(store)
        if next_order_id is None:
            counter = iter(range(1, 1 << 62))
            next_order_id = partial(next, counter)
        self._next_order_id = next_order_id
        self._tick_interval_s = tick_interval_s
        self._max_write_buffer = max_write_buffer
        self._takes_quotes = isinstance(venue, SingleDealerPlatform)
        self.market_data = isinstance(venue, LitExchange)
        self._clients: dict[str, _Client] = {}
        self._orders: dict[int, _Order] = {}  # venue order id -> order
        self._connections: set[FixConnection] = set()
        self._unflushed: list[_Connection] = []  # connections with bytes for the next flush
        self._server: asyncio.base_events.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._exec_prefix = f"{self.comp_id}-{self.clock.now_ns():x}-".encode()
        self._exec_count = 0
        self.internal_errors = 0
        self.connections_accepted = 0
        self.connections_cut_off = 0  # their client stopped reading (max_write_buffer)
        self.frames_received = 0  # over closed connections
        self.frames_dropped = 0
        for comp_id_of_client in self.settings.clients:
            record = self.store.open(self.comp_id, comp_id_of_client)
            session = FixSession(self.settings, comp_id_of_client, record, self.clock.now_ns, self)
            client = _Client(comp_id_of_client, session)
            client.venue_session = venue.connect(comp_id_of_client,
                                                 partial(self._from_venue, client), latency)
            self._clients[comp_id_of_client] = client
        self._bids: dict[int, int] = {}  # the book as last seen: price -> quantity
        self._asks: dict[int, int] = {}
        # The venue's market data is subscribed to at the first MarketDataRequest (a lit
        # venue's every book change would otherwise cost a delivery nobody reads); the
        # requests that come before its snapshot are answered when it arrives.
        self._subscribed = False
        self._awaiting_snapshot: list[tuple[_Client, simplefix.FixMessage]] = []

    # --- serving ---------------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        """Listen; returns (host, port) (the port the system chose when `port` was 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(partial(_Connection, self), self.host,
                                                self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.get_running_loop().create_task(self._tick(),
                                                              name=f"fix {self.comp_id} ticks")
        _log.info("fix gateway listening", venue=self.venue.name, host=self.host,
                  port=self.port, comp_id=self.comp_id)
        return self.host, self.port

    async def stop(self) -> None:
        """Log every session out, close every connection, save the sequence numbers."""
        if self._server is not None:
            self._server.close()
        for client in self._clients.values():
            client.session.logout("gateway shutting down")
        for connection in list(self._connections):
            connection.close()
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
        if self._server is not None:
            await self._server.wait_closed()
        for client in self._clients.values():
            client.session.record.close()

    @property
    def sessions(self) -> dict[str, FixSession]:
        return {name: client.session for name, client in self._clients.items()}

    def _to_flush(self, connection: _Connection) -> None:
        """`connection` has bytes to write. They go out at the end of the next turn of the
        loop, with what that turn adds: the venue's replies to one turn's reads arrive in
        the next turn, so two waves of replies share each send (fewer sends, and fewer
        wake-ups of the clients, for one turn of latency)."""
        self._unflushed.append(connection)
        if len(self._unflushed) == 1:
            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, self._flush)

    def _flush(self) -> None:
        connections, self._unflushed = self._unflushed, []
        for connection in connections:
            try:
                connection.flush()
            except Exception as error:  # noqa: BLE001 - one connection's failure only
                self._internal_error(error, "output")
                connection._transport.abort()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval_s)
            now = self.clock.now_ns()
            for connection in list(self._connections):
                try:
                    connection.tick(now)
                except Exception as error:  # noqa: BLE001
                    self._internal_error(error, "tick")
                    connection.close()

    def _session_of(self, comp_id: str) -> FixSession | None:
        client = self._clients.get(comp_id)
        return client.session if client is not None else None

    def _internal_error(self, error: BaseException, where: str) -> None:
        self.internal_errors += 1
        _log.error("fix gateway internal error", venue=self.venue.name, where=where,
                   error=repr(error))

    # --- the session layer's application --------------------------------------------------

    def on_logon(self, session: FixSession) -> None:
        _log.info("fix logon", venue=self.venue.name, client=session.client)

    def on_logout(self, session: FixSession) -> None:
        self._clients[session.client].subscriptions.clear()
        _log.info("fix logout", venue=self.venue.name, client=session.client)

    def on_message(self, session: FixSession, message: simplefix.FixMessage) -> None:
        client = self._clients[session.client]
        msg_type = message.message_type
        if msg_type == b"D":
            self._new_order(client, message)
        elif msg_type == b"F":
            self._cancel_or_replace(client, message, "cancel")
        elif msg_type == b"G":
            self._cancel_or_replace(client, message, "replace")
        elif msg_type == b"R" and self._takes_quotes:
            self._quote_request(client, message)
        elif msg_type == b"V" and self.market_data:
            self._market_data_request(client, message)
        else:
            raise FixDecodeError(35, f"MsgType {msg_type.decode('ascii', 'replace')!r} is not "
                                 f"taken at {self.venue.name}",
                                 business_reject_reason=_UNSUPPORTED)

    def _new_order(self, client: _Client, message: simplefix.FixMessage) -> None:
        cl_ord_id = _text(message, 11)
        venue_id = self._next_order_id()
        command = self.codec.decode(message, participant=client.comp_id, order_id=venue_id)
        if type(command) is AcceptQuote and not self._takes_quotes:
            raise FixDecodeError(117, f"{self.venue.name} takes no quotes",
                                 business_reject_reason=_UNSUPPORTED)
        if cl_ord_id in client.live:
            self._gateway_reject(client, command, cl_ord_id, RejectReason.DUPLICATE_ORDER_ID)
            return
        order = _Order(venue_id, cl_ord_id)
        self._orders[venue_id] = order
        client.live[cl_ord_id] = order
        client.venue_session.send(command)

    def _gateway_reject(self, client: _Client, command: Any, cl_ord_id: bytes,
                        reason: RejectReason) -> None:
        now = self.clock.now_ns()
        price = command.price
        report = ExecutionReport(now, self.venue.name, client.comp_id, 0, ExecType.REJECTED,
                                 command.side, price, command.quantity, 0, 0, 0, 0, 0, None, 0,
                                 reason)
        client.session.send_fields(*self.codec.encode_fields(
            report, cl_ord_id=cl_ord_id, order_id="NONE", exec_id=self._exec_id()))

    def _cancel_or_replace(self, client: _Client, message: simplefix.FixMessage,
                           request: str) -> None:
        cl_ord_id = _text(message, 11)
        orig = _text(message, 41)
        order = client.live.get(orig)
        command = self.codec.decode(message, participant=client.comp_id,
                                    order_id=order.venue_id if order is not None else 0)
        if order is None:
            reject = CancelRejected(self.clock.now_ns(), self.venue.name, client.comp_id, 0,
                                    RejectReason.UNKNOWN_ORDER, request)
            client.session.send_fields(*self.codec.encode_fields(
                reject, cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, order_id="NONE",
                order_status=b"8"))
            return
        if order.pending is None:
            order.pending = []
        order.pending.append((request, cl_ord_id, orig))
        client.venue_session.send(command)

    def _quote_request(self, client: _Client, message: simplefix.FixMessage) -> None:
        quote_req_id = _text(message, 131)
        request_id = self._next_order_id()
        command = self.codec.decode(message, participant=client.comp_id, request_id=request_id)
        client.quote_requests[request_id] = quote_req_id
        client.venue_session.send(command)

    # --- what the venue sends back ---------------------------------------------------------

    def _from_venue(self, client: _Client, message: Any) -> None:
        try:
            kind = type(message)
            if kind is ExecutionReport:
                self._report(client, message)
            elif kind is CancelRejected:
                self._cancel_rejected(client, message)
            elif kind is Quote:
                quote_req_id = client.quote_requests.pop(message.request_id, None)
                if quote_req_id is not None:
                    client.session.send_message(self.codec.encode(
                        message, quote_req_id=quote_req_id))
            elif kind is MessageRejected:
                client.session.send_message(self.codec.encode(message))
        except Exception as error:  # noqa: BLE001 - never into the venue's delivery
            self._internal_error(error, "venue reply")

    def _report(self, client: _Client, report: ExecutionReport) -> None:
        order = self._orders.get(report.order_id)
        if order is None:
            return  # not an order of this gateway's
        last_quantity = report.last_quantity
        if last_quantity:
            order.filled += last_quantity
            order.notional += last_quantity * report.last_price
        exec_type = report.exec_type
        cl_ord_id = order.cl_ord_id
        orig: bytes | None = None
        if exec_type is _CANCELED and report.reason is _REQUESTED:
            answered = _pop_pending(order, "cancel")
            if answered is not None:
                cl_ord_id, orig = answered
        elif exec_type is _REPLACED:
            answered = _pop_pending(order, "replace")
            if answered is not None:
                cl_ord_id, orig = answered
                if client.live.get(orig) is order:
                    del client.live[orig]
                    client.live[cl_ord_id] = order
                order.cl_ord_id = cl_ord_id
        order.status = order_status(exec_type, report.filled_quantity, report.leaves_quantity)
        if exec_type in _DONE:
            order.done = True
            if client.live.get(order.cl_ord_id) is order:
                del client.live[order.cl_ord_id]
            if not order.pending:
                del self._orders[report.order_id]
        self._exec_count += 1
        exec_id = b"%s%d" % (self._exec_prefix, self._exec_count)
        client.session.send_fields(b"8", self.codec.execution_report_fields(
            report, cl_ord_id, exec_id, order.notional, order.status, orig))

    def _cancel_rejected(self, client: _Client, reject: CancelRejected) -> None:
        order = self._orders.get(reject.order_id)
        if order is None:
            return
        answered = _pop_pending(order, reject.request)
        cl_ord_id, orig = answered if answered is not None else (order.cl_ord_id, order.cl_ord_id)
        if order.done and not order.pending:
            del self._orders[reject.order_id]
        client.session.send_fields(*self.codec.encode_fields(
            reject, cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, order_id=reject.order_id,
            order_status=order.status))

    def _exec_id(self) -> bytes:
        self._exec_count += 1
        return b"%s%d" % (self._exec_prefix, self._exec_count)

    # --- market data -----------------------------------------------------------------------

    def _on_market_data(self, message: Any) -> None:
        try:
            kind = type(message)
            if kind is BookUpdate:
                for side, price, quantity in message.changes:
                    book = self._bids if side is Side.BUY else self._asks
                    if quantity:
                        book[price] = quantity
                    else:
                        book.pop(price, None)
                self._publish(message, top_only=False)
            elif kind is L1Snapshot:
                self._publish(message, top_only=True)
            elif kind is TradePrint:
                self._publish(message, top_only=None)
            elif kind is L2Snapshot:
                self._bids = dict(message.bids)
                self._asks = dict(message.asks)
                waiting, self._awaiting_snapshot = self._awaiting_snapshot, []
                for client, request in waiting:
                    if client.session.logged_on:
                        try:
                            self._market_data_request(client, request)
                        except FixDecodeError as error:
                            client.session.reject(request, error)
        except Exception as error:  # noqa: BLE001
            self._internal_error(error, "market data")

    def _publish(self, message: Any, top_only: bool | None) -> None:
        for client in self._clients.values():
            if not client.subscriptions or not client.session.logged_on:
                continue
            for subscription in client.subscriptions.values():
                if top_only is None and not subscription.trades:
                    continue
                if top_only is not None and subscription.top_only is not top_only:
                    continue
                client.session.send_message(self.codec.encode(
                    message, md_req_id=subscription.md_req_id))

    def _market_data_request(self, client: _Client, message: simplefix.FixMessage) -> None:
        md_req_id = _text(message, 262)
        kind = message.get(263)
        if kind not in (b"0", b"1", b"2"):
            raise FixDecodeError(263, "is not 0 (snapshot), 1 (subscribe) or 2 (unsubscribe)"
                                 if kind is not None else "required tag missing",
                                 session_reject_reason=5 if kind is not None else 1)
        if kind == b"2":
            client.subscriptions.pop(md_req_id, None)
            return
        depth = message.get(264)
        if depth is None or not depth.isdigit():
            raise FixDecodeError(264, "required tag missing or not a number",
                                 session_reject_reason=1 if depth is None else 6)
        types = {value for tag, value in message.pairs if tag == b"269"}
        symbols = [value for tag, value in message.pairs if tag == b"55"]
        if not symbols or any(symbol != self.codec.symbol.encode() for symbol in symbols):
            client.session.send(b"Y", [(b"262", md_req_id), (b"281", b"0"),
                                       (b"58", b"unknown symbol: this venue trades "
                                        + self.codec.symbol.encode())])
            return
        if not self._subscribed or self._awaiting_snapshot:
            if not self._subscribed:
                self._subscribed = True
                self.venue.subscribe(f"{self.comp_id}/market-data", self._on_market_data)
            self._awaiting_snapshot.append((client, message))
            return
        top_only = int(depth) == 1
        now = self.clock.now_ns()
        bids = sorted(self._bids.items(), reverse=True)
        asks = sorted(self._asks.items())
        snapshot: L1Snapshot | L2Snapshot
        if top_only:
            snapshot = L1Snapshot(now, self.venue.name, bids[0][0] if bids else None,
                                  bids[0][1] if bids else 0, asks[0][0] if asks else None,
                                  asks[0][1] if asks else 0)
        else:
            snapshot = L2Snapshot(now, self.venue.name, tuple(bids), tuple(asks))
        client.session.send_message(self.codec.encode(snapshot, md_req_id=md_req_id))
        if kind == b"1":
            client.subscriptions[md_req_id] = _Subscription(md_req_id, top_only, b"2" in types)


def _pop_pending(order: _Order, request: str) -> tuple[bytes, bytes] | None:
    """The oldest pending `request` of `order` as (ClOrdID, OrigClOrdID), removed."""
    pending = order.pending
    if pending:
        for entry in pending:
            if entry[0] == request:
                pending.remove(entry)
                return entry[1], entry[2]
    return None


def _text(message: simplefix.FixMessage, tag: int) -> bytes:
    """A required text field (ClOrdID and the like), as the wire's bytes (UTF-8 checked)."""
    key = _TAGS[tag]
    for field, value in message.pairs:
        if field == key:
            break
    else:
        raise FixDecodeError(tag, "required tag missing", session_reject_reason=1)
    if not value.isascii():
        try:
            value.decode()
        except UnicodeDecodeError:
            raise FixDecodeError(tag, "is not UTF-8 text", session_reject_reason=6) from None
    return value  # type: ignore[no-any-return]
