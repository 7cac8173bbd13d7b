"""QuickFIX, an independent FIX engine, against the gateway: an initiator with the standard
FIX 4.4 data dictionary and QuickFIX's validation on (its defaults) logs on, sends limit,
marketable, cancel, replace, market data and invalid requests, and gets the right reports
and rejects -- and QuickFIX itself rejects nothing the gateway sends. Sequence gaps both
ways are resent and filled. Ephemeral loopback ports; every wait bounded; the initiator's
threads are stopped in every case."""

from __future__ import annotations

import asyncio
import queue
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import quickfix  # type: ignore[import-not-found]  # a test dependency (see the Makefile)
import quickfix44  # type: ignore[import-not-found]

from market.clock import current_clock, run
from market.fix_codec import FixCodec
from market.messages import NewOrder, Side
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange

DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
WAIT_S = 5.0


def _pairs(message: Any) -> list[tuple[int, str]]:
    out = []
    for field in message.toString().split("\x01"):
        if field:
            tag, _, value = field.partition("=")
            out.append((int(tag), value))
    return out


class Received:
    """One message as QuickFIX passed it on: first value per tag, and every pair."""

    def __init__(self, direction: str, message: Any) -> None:
        self.direction = direction
        self.pairs = _pairs(message)
        self.fields: dict[int, str] = {}
        for tag, value in self.pairs:
            self.fields.setdefault(tag, value)

    def __getitem__(self, tag: int) -> str:
        return self.fields[tag]

    def __repr__(self) -> str:
        return f"{self.direction} {'|'.join(f'{t}={v}' for t, v in self.pairs)}"


class Recorder(quickfix.Application):  # type: ignore[misc]
    """QuickFIX's callbacks (on its own threads) into a thread-safe queue."""

    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        self.password = password
        self.events: queue.Queue[Received] = queue.Queue()
        self.sent: list[Received] = []  # everything QuickFIX sent, admin and application

    def onCreate(self, session_id: Any) -> None:
        pass

    def onLogon(self, session_id: Any) -> None:
        self.events.put(Received("logon", quickfix.Message()))

    def onLogout(self, session_id: Any) -> None:
        self.events.put(Received("logout", quickfix.Message()))

    def toAdmin(self, message: Any, session_id: Any) -> None:
        if self.password is not None and message.getHeader().getField(35) == "A":
            message.setField(quickfix.Password(self.password))
        self.sent.append(Received("sent", message))

    def toApp(self, message: Any, session_id: Any) -> None:
        self.sent.append(Received("sent", message))

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        self.events.put(Received("admin", message))

    def fromApp(self, message: Any, session_id: Any) -> None:
        self.events.put(Received("app", message))


class Initiator:
    """A QuickFIX SocketInitiator for one session to the gateway on `port`."""

    def __init__(self, directory: Path, port: int, sender: str, target: str,
                 password: str | None = None) -> None:
        config = directory / f"{sender}.cfg"
        config.write_text(f"""[DEFAULT]
ConnectionType=initiator
ReconnectInterval=60
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
DataDictionary={DICTIONARY}
HeartBtInt=30
ResetOnLogon=Y
SocketConnectHost=127.0.0.1
SocketConnectPort={port}
[SESSION]
BeginString=FIX.4.4
SenderCompID={sender}
TargetCompID={target}
""")
        self.session_id = quickfix.SessionID("FIX.4.4", sender, target)
        self.app = Recorder(password)
        self._settings = quickfix.SessionSettings(str(config))
        self._initiator = quickfix.SocketInitiator(
            self.app, quickfix.MemoryStoreFactory(), self._settings,
            quickfix.ScreenLogFactory(False, False, False))
        self._initiator.start()
        self.backlog: list[Received] = []

    async def stop(self) -> None:
        """Stop the initiator's threads. Forced: a graceful stop spends about 2 s inside
        QuickFIX whatever the peer does (logout is tested without QuickFIX). In an
        executor: stop() blocks, and this thread's loop runs the gateway."""
        await asyncio.get_running_loop().run_in_executor(None, self._initiator.stop, True)

    def send(self, message: Any) -> None:
        assert quickfix.Session.sendToTarget(message, self.session_id)

    @property
    def session(self) -> Any:
        return quickfix.Session.lookupSession(self.session_id)

    async def expect(self, direction: str, msg_type: str | None = None) -> Received:
        """The next event of `direction` (and MsgType), within WAIT_S; others are kept."""
        deadline = time.monotonic() + WAIT_S
        while True:
            for event in self.backlog:
                if event.direction == direction and (msg_type is None or event[35] == msg_type):
                    self.backlog.remove(event)
                    return event
            try:
                self.backlog.append(self.app.events.get_nowait())
                continue
            except queue.Empty:
                pass
            assert time.monotonic() < deadline, \
                f"no {direction} {msg_type} within {WAIT_S} s; got {self.backlog}"
            await asyncio.sleep(0.005)

    def rejects_sent(self) -> list[Received]:
        """Every Reject (3) or BusinessMessageReject (j) QuickFIX sent the gateway."""
        return [m for m in self.app.sent if m.fields.get(35) in ("3", "j")]


def order(cl_ord_id: str, side: str, quantity: int, price: float | None,
          symbol: str = "SIM", with_side: bool = True) -> Any:
    message = quickfix44.NewOrderSingle()
    message.setField(quickfix.ClOrdID(cl_ord_id))
    message.setField(quickfix.Symbol(symbol))
    if with_side:
        message.setField(quickfix.Side(side))
    message.setField(quickfix.TransactTime())
    message.setField(quickfix.OrderQty(quantity))
    if price is None:
        message.setField(quickfix.OrdType(quickfix.OrdType_MARKET))
    else:
        message.setField(quickfix.OrdType(quickfix.OrdType_LIMIT))
        message.setField(quickfix.StringField(44, f"{price}"))
    return message


def cancel(cl_ord_id: str, orig: str, side: str) -> Any:
    message = quickfix44.OrderCancelRequest()
    for field in (quickfix.ClOrdID(cl_ord_id), quickfix.OrigClOrdID(orig),
                  quickfix.Symbol("SIM"), quickfix.Side(side), quickfix.TransactTime()):
        message.setField(field)
    return message


def with_gateway(test: Callable[[FixGateway, Path], Awaitable[None]], directory: Path,
                 clients: dict[str, str | None] | None = None) -> FixGateway:
    """A lit venue seeded with a resting sell 500 @ 100.05, behind a gateway; run `test`."""
    held: list[FixGateway] = []

    async def main() -> None:
        clock = current_clock()
        venue = LitExchange("LIT1", clock, tick_size=100, lot_size=100)
        maker = venue.connect("MAKER", lambda message: None)
        maker.send(NewOrder(clock.now_ns(), "MAKER", 10**12, Side.SELL, 500, 1_000_500))
        gateway = FixGateway(venue, FixCodec("SIM", "0.0001"),
                             clients=clients or {"CLIENT1": None})
        held.append(gateway)
        await gateway.start()
        try:
            await asyncio.wait_for(test(gateway, directory), 40)
        finally:
            await gateway.stop()

    run(main(), live=True)
    assert held[0].internal_errors == 0
    return held[0]


def test_quickfix_orders_cancels_replace_market_data_and_invalid_orders(tmp_path: Path) -> None:
    async def test(gateway: FixGateway, directory: Path) -> None:
        client = Initiator(directory, gateway.port, "CLIENT1", "LIT1")
        try:
            await client.expect("logon")
            # A limit order that rests.
            client.send(order("rest-1", quickfix.Side_BUY, 300, 99.5))
            ack = await client.expect("app", "8")
            assert (ack[11], ack[150], ack[39], ack[151], ack[14], ack[44]) == (
                "rest-1", "0", "0", "300", "0", "99.5000")
            # A marketable order: fills against the resting sell.
            client.send(order("take-1", quickfix.Side_BUY, 200, 100.05))
            new = await client.expect("app", "8")
            fill = await client.expect("app", "8")
            assert new[150] == "0"
            assert (fill[11], fill[150], fill[39], fill[32], fill[31], fill[6], fill[14],
                    fill[151], fill[851]) == ("take-1", "F", "2", "200", "100.0500", "100.0500",
                                              "200", "0", "2")
            # A market order takes the rest of the sell (300) and the remainder is canceled.
            client.send(order("mkt-1", quickfix.Side_BUY, 400, None))
            reports = [await client.expect("app", "8") for _ in range(3)]
            assert [r[150] for r in reports] == ["0", "F", "4"]
            assert (reports[1][32], reports[2][58], reports[2][14]) == ("300", "unfilled_remainder",
                                                                       "300")
            # Cancel the resting order; then a cancel of an order that is not there.
            client.send(cancel("cxl-1", "rest-1", quickfix.Side_BUY))
            canceled = await client.expect("app", "8")
            assert (canceled[150], canceled[39], canceled[11], canceled[41]) == (
                "4", "4", "cxl-1", "rest-1")
            client.send(cancel("cxl-2", "no-such-order", quickfix.Side_BUY))
            refused = await client.expect("app", "9")
            assert (refused[11], refused[41], refused[102], refused[434]) == (
                "cxl-2", "no-such-order", "1", "1")
            # Invalid orders: the venue's rejects, and the session's.
            client.send(order("bad-lot", quickfix.Side_BUY, 150, 99.0))
            lot = await client.expect("app", "8")
            assert (lot[150], lot[39], lot[103], lot[58]) == ("8", "8", "13", "not_lot_multiple")
            client.send(order("bad-tick", quickfix.Side_SELL, 100, 100.005))
            tick = await client.expect("app", "8")
            assert (tick[150], tick[58]) == ("8", "off_tick")
            client.send(order("no-side", quickfix.Side_BUY, 100, 99.0, with_side=False))
            no_side = await client.expect("admin", "3")
            assert (no_side[371], no_side[373]) == ("54", "1")
            client.send(order("sub-tick", quickfix.Side_BUY, 100, 99.00001))
            sub_tick = await client.expect("admin", "3")
            assert (sub_tick[371], sub_tick[373]) == ("44", "5")
            assert "price increment" in sub_tick[58]
            client.send(order("bad-symbol", quickfix.Side_BUY, 100, 99.0, symbol="NOPE"))
            unknown = await client.expect("app", "j")
            assert (unknown[372], unknown[379], unknown[380]) == ("D", "bad-symbol", "2")
            # The session goes on after every one of them.
            client.send(order("after", quickfix.Side_SELL, 100, 101.0))
            assert (await client.expect("app", "8"))[11] == "after"
            await replace_and_market_data(client, gateway)
            assert client.rejects_sent() == []
        finally:
            await client.stop()

    with_gateway(test, tmp_path)


async def replace_and_market_data(client: Initiator, gateway: FixGateway) -> None:
    """Market data (a snapshot, then level updates and a trade) and a replace, all through
    QuickFIX's validation. The book: the client's sell 100 @ 101.00 and whatever the maker
    rests (a sell 500 @ 100.10 here)."""
    maker = gateway.venue.connect("MAKER2", lambda message: None)
    maker.send(NewOrder(gateway.clock.now_ns(), "MAKER2", 10**12 + 1, Side.SELL, 500, 1_001_000))
    await asyncio.sleep(0.01)
    request = quickfix44.MarketDataRequest()
    for field in (quickfix.MDReqID("book"), quickfix.SubscriptionRequestType("1"),
                  quickfix.MarketDepth(0)):
        request.setField(field)
    for kind in ("0", "1", "2"):
        types = quickfix44.MarketDataRequest.NoMDEntryTypes()
        types.setField(quickfix.MDEntryType(kind))
        request.addGroup(types)
    symbols = quickfix44.MarketDataRequest.NoRelatedSym()
    symbols.setField(quickfix.Symbol("SIM"))
    request.addGroup(symbols)
    client.send(request)
    snapshot = await client.expect("app", "W")
    assert (snapshot[262], snapshot[268]) == ("book", "2")
    assert [v for t, v in snapshot.pairs if t == 270] == ["100.1000", "101.0000"]
    client.send(order("px-1", quickfix.Side_BUY, 100, 99.0))
    await client.expect("app", "8")
    level = await client.expect("app", "X")
    assert (level[269], level[270], level[271]) == ("0", "99.0000", "100")
    replace = quickfix44.OrderCancelReplaceRequest()
    for field in (quickfix.ClOrdID("px-2"), quickfix.OrigClOrdID("px-1"),
                  quickfix.Symbol("SIM"), quickfix.Side(quickfix.Side_BUY),
                  quickfix.TransactTime(), quickfix.OrderQty(200),
                  quickfix.OrdType(quickfix.OrdType_LIMIT), quickfix.Price(99.5)):
        replace.setField(field)
    client.send(replace)
    replaced = await client.expect("app", "8")
    assert (replaced[150], replaced[11], replaced[41], replaced[38], replaced[44]) == (
        "5", "px-2", "px-1", "200", "99.5000")
    client.send(order("cross", quickfix.Side_BUY, 100, 100.1))
    await client.expect("app", "8")
    await client.expect("app", "8")
    trade = await client.expect("app", "X")
    while trade[269] != "2":
        trade = await client.expect("app", "X")
    assert (trade[270], trade[271], trade[58]) == ("100.1000", "100", "aggressor=buy")


def test_quickfix_sequence_gaps_both_ways_are_resent_and_filled(tmp_path: Path) -> None:
    async def test(gateway: FixGateway, directory: Path) -> None:
        client = Initiator(directory, gateway.port, "CLIENT1", "LIT1")
        try:
            await client.expect("logon")
            session = gateway.sessions["CLIENT1"]
            # The client skips 5 sequence numbers: the gateway asks for them and QuickFIX
            # answers (this QuickFIX gap-fills over the lot, the skipped order included:
            # its choice as the sender); the session goes on in step.
            expected = session.record.next_target_seq
            client.session.setNextSenderMsgSeqNum(client.session.getExpectedSenderNum() + 5)
            client.send(order("after-gap", quickfix.Side_BUY, 100, 99.0))
            resend = await client.expect("admin", "2")
            assert (resend[7], resend[16]) == (str(expected), "0")
            client.send(order("after-fill", quickfix.Side_BUY, 100, 99.0))
            report = await client.expect("app", "8")
            assert report[11] in ("after-gap", "after-fill")
            while report[11] != "after-fill":
                report = await client.expect("app", "8")
            assert any(m.fields.get(35) == "4" and m.fields.get(123) == "Y"
                       for m in client.app.sent)
            assert session.record.next_target_seq == client.session.getExpectedSenderNum()
            # The gateway skips 3: QuickFIX asks from there on, the gateway gap-fills the
            # three numbers and resends the report it sent after them (PossDupFlag=Y).
            session.record.next_sender_seq += 3
            client.send(order("after-our-gap", quickfix.Side_BUY, 100, 98.0))
            assert (await client.expect("app", "8"))[11] == "after-our-gap"
            gap_fill = await client.expect("admin", "4")
            assert (gap_fill[123], gap_fill[43], gap_fill[36]) == (
                "Y", "Y", str(session.record.next_sender_seq - 1))
            assert any(m.fields.get(35) == "2" for m in client.app.sent)
            assert client.rejects_sent() == []
            assert session.resent == 1
        finally:
            await client.stop()

    with_gateway(test, tmp_path)


def test_quickfix_logon_unknown_comp_id_or_wrong_password_refused_right_one_accepted(
        tmp_path: Path) -> None:
    async def test(gateway: FixGateway, directory: Path) -> None:
        clients = {name: Initiator(directory, gateway.port, name, "LIT1", password)
                   for name, password in (("CLIENT2", "secret"), ("CLIENT3", "wrong"),
                                          ("CLIENT4", None), ("STRANGER", None))}
        try:
            await clients["CLIENT2"].expect("logon")
            for name in ("CLIENT3", "CLIENT4", "STRANGER"):
                logout = await clients[name].expect("admin", "5")
                assert logout[58] == "logon refused", name
                assert all(event.direction != "logon" for event in clients[name].backlog)
            assert gateway.sessions["CLIENT2"].logged_on
            assert not gateway.sessions["CLIENT3"].logged_on
        finally:
            await asyncio.gather(*(client.stop() for client in clients.values()))

    with_gateway(test, tmp_path, clients={"CLIENT2": "secret", "CLIENT3": "s3",
                                          "CLIENT4": "s4"})
