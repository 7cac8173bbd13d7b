"""venues.fix_gateway over real loopback TCP: orders and reports with every tag FIX 4.4
requires, each session alone with its orders, replace and cancel chains, market data, the
dark pool and the dealer behind a gateway, garbage on one connection beside a healthy one.

Every wait is bounded (a missing message fails the test in seconds, never hangs)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from market.clock import current_clock, run
from market.fix_codec import FixCodec, format_timestamp
from market.fix_framing import FixFramer, encode_message, split_fields
from market.messages import NBBO
from venues.dark_pool import DarkPool
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform

WAIT_S = 3.0
# Tags FIX 4.4 requires on every ExecutionReport (Symbol for the Instrument component).
REQUIRED_ER_TAGS = {37, 17, 150, 39, 54, 151, 14, 6, 55}


class FixClient:
    """A minimal FIX initiator for the tests (QuickFIX's interop test is separate)."""

    def __init__(self, comp_id: str, target: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.comp_id = comp_id.encode()
        self.target = target.encode()
        self.reader = reader
        self.writer = writer
        self.framer = FixFramer()
        self.seq = 1
        self.inbox: list[dict[int, bytes]] = []
        self.groups: list[list[tuple[int, bytes]]] = []  # every message's pairs, in order

    @classmethod
    async def logged_on(cls, port: int, comp_id: str = "CLIENT1", target: str = "LIT1",
                        password: str | None = None) -> FixClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(comp_id, target, reader, writer)
        extra = [] if password is None else [(b"554", password.encode())]
        client.send(b"A", [(b"98", b"0"), (b"108", b"30"), *extra])
        (reply,) = await client.expect(b"A")
        assert reply[108] == b"30"
        return client

    def send(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        self.writer.write(encode_message(msg_type, [
            (b"49", self.comp_id), (b"56", self.target), (b"34", b"%d" % self.seq),
            (b"52", format_timestamp(time.time_ns()))], body))
        self.seq += 1

    def order(self, cl_ord_id: str, side: bytes, quantity: int, price: str | None,
              *extra: tuple[bytes, bytes]) -> None:
        body = [(b"11", cl_ord_id.encode()), (b"55", b"SIM"), (b"54", side),
                (b"60", format_timestamp(time.time_ns())), (b"38", b"%d" % quantity),
                (b"40", b"2" if price is not None else b"1")]
        if price is not None:
            body.append((b"44", price.encode()))
        self.send(b"D", body + list(extra))

    def cancel(self, cl_ord_id: str, orig: str, side: bytes) -> None:
        self.send(b"F", [(b"11", cl_ord_id.encode()), (b"41", orig.encode()), (b"55", b"SIM"),
                         (b"54", side), (b"60", format_timestamp(time.time_ns()))])

    async def expect(self, msg_type: bytes, count: int = 1) -> list[dict[int, bytes]]:
        """The next `count` messages of `msg_type` (others stay in the inbox)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            found = [m for m in self.inbox if m[35] == msg_type]
            if len(found) >= count:
                for m in found[:count]:
                    self.inbox.remove(m)
                return found[:count]
            left = deadline - time.monotonic()
            assert left > 0, f"{self.comp_id!r}: {count} x {msg_type!r} not received; " \
                f"inbox {self.inbox}"
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except asyncio.TimeoutError:
                continue
            assert data, f"{self.comp_id!r}: connection closed; inbox {self.inbox}"
            for frame in self.framer.feed(data):
                assert isinstance(frame, bytes), frame
                fix = split_fields(frame)
                pairs = [(int(t), v) for t, v in fix.pairs]
                self.groups.append(pairs)
                fields: dict[int, bytes] = {}
                for tag, value in pairs:
                    fields.setdefault(tag, value)
                self.inbox.append(fields)

    async def nothing_more(self, msg_type: bytes, seconds: float = 0.2) -> None:
        try:
            extra = await asyncio.wait_for(self.expect(msg_type), seconds)
        except (asyncio.TimeoutError, AssertionError):
            return
        raise AssertionError(f"unexpected {extra}")


def serve(make_venue: Callable[[Any], Any], test: Callable[[FixGateway], Awaitable[None]],
          **gateway: Any) -> FixGateway:
    """Run `test` against a gateway in front of `make_venue(clock)`, on the live loop."""
    held: list[FixGateway] = []

    async def main() -> None:
        venue = make_venue(current_clock())
        gw = FixGateway(venue, FixCodec("SIM", "0.0001"),
                        clients=gateway.pop("clients", {"CLIENT1": None, "CLIENT2": "pw"}),
                        **gateway)
        held.append(gw)
        await gw.start()
        try:
            await asyncio.wait_for(test(gw), 20)
        finally:
            await gw.stop()

    run(main(), live=True)
    assert held[0].internal_errors == 0
    return held[0]


def lit(clock: Any) -> LitExchange:
    return LitExchange("LIT1", clock, tick_size=100, lot_size=100, maker_fee=-20, taker_fee=30)


def test_gateway_trade_between_two_clients_reports_carry_every_required_tag() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        b = await FixClient.logged_on(gw.port, "CLIENT2", password="pw")
        a.order("a1", b"1", 200, "100.01")
        (ack,) = await a.expect(b"8")
        b.order("b1", b"2", 100, "100.00")
        b_ack, b_fill = await b.expect(b"8", 2)
        (a_fill,) = await a.expect(b"8")
        for report in (ack, b_ack, b_fill, a_fill):
            assert REQUIRED_ER_TAGS <= set(report), set(REQUIRED_ER_TAGS) - set(report)
        assert (ack[11], ack[150], ack[39], ack[151], ack[14]) == (b"a1", b"0", b"0", b"200", b"0")
        assert (b_fill[150], b_fill[39], b_fill[32], b_fill[31], b_fill[6], b_fill[851]) == (
            b"F", b"2", b"100", b"100.0100", b"100.0100", b"2")
        assert (a_fill[150], a_fill[39], a_fill[151], a_fill[14], a_fill[851]) == (
            b"F", b"1", b"100", b"100", b"1")
        assert a_fill[527] == b_fill[527]  # the trade both sides share
        assert a_fill[12] == b"-0.2000" and b_fill[12] == b"0.3000"  # rebate, fee
        assert len({ack[17], b_ack[17], b_fill[17], a_fill[17]}) == 4

    serve(lit, test)


def test_gateway_a_session_cannot_cancel_another_sessions_order() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        b = await FixClient.logged_on(gw.port, "CLIENT2", password="pw")
        a.order("same-id", b"1", 100, "99.00")
        await a.expect(b"8")
        b.cancel("b-cancel", "same-id", b"1")
        (reject,) = await b.expect(b"9")
        assert (reject[11], reject[41], reject[102], reject[434]) == (b"b-cancel", b"same-id",
                                                                      b"1", b"1")
        await a.nothing_more(b"8")
        a.cancel("a-cancel", "same-id", b"1")
        (canceled,) = await a.expect(b"8")
        assert (canceled[150], canceled[39], canceled[11], canceled[41]) == (
            b"4", b"4", b"a-cancel", b"same-id")

    serve(lit, test)


def test_gateway_duplicate_live_cl_ord_id_is_rejected_finished_ones_may_return() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        a.order("x", b"1", 100, "99.00")
        a.order("x", b"1", 100, "99.00")
        # The duplicate is refused at the gateway, before the venue's ack comes back.
        duplicate, ack = sorted(await a.expect(b"8", 2), key=lambda r: r[150] != b"8")
        assert ack[150] == b"0"
        assert (duplicate[150], duplicate[103], duplicate[37]) == (b"8", b"6", b"NONE")
        a.cancel("c", "x", b"1")
        await a.expect(b"8")
        a.order("x", b"1", 100, "99.00")
        (again,) = await a.expect(b"8")
        assert again[150] == b"0"

    serve(lit, test)


def test_gateway_replace_then_cancel_follows_the_cl_ord_id_chain() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        a.order("v1", b"2", 300, "101.00")
        await a.expect(b"8")
        a.send(b"G", [(b"11", b"v2"), (b"41", b"v1"), (b"55", b"SIM"), (b"54", b"2"),
                      (b"60", format_timestamp(time.time_ns())), (b"38", b"400"), (b"40", b"2"),
                      (b"44", b"101.50")])
        (replaced,) = await a.expect(b"8")
        assert (replaced[150], replaced[11], replaced[41], replaced[44], replaced[38]) == (
            b"5", b"v2", b"v1", b"101.5000", b"400")
        a.cancel("v3", "v1", b"2")  # the old id is gone
        (reject,) = await a.expect(b"9")
        assert reject[102] == b"1"
        a.cancel("v3", "v2", b"2")
        (canceled,) = await a.expect(b"8")
        assert (canceled[150], canceled[11], canceled[41]) == (b"4", b"v3", b"v2")

    serve(lit, test)


def test_gateway_market_data_snapshot_then_book_and_trade_updates() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        b = await FixClient.logged_on(gw.port, "CLIENT2", password="pw")
        b.order("rest", b"2", 500, "100.05")
        await b.expect(b"8")
        a.send(b"V", [(b"262", b"md1"), (b"263", b"1"), (b"264", b"0"), (b"267", b"3"),
                      (b"269", b"0"), (b"269", b"1"), (b"269", b"2"), (b"146", b"1"),
                      (b"55", b"SIM")])
        (snapshot,) = await a.expect(b"W")
        assert (snapshot[262], snapshot[268], snapshot[269], snapshot[270], snapshot[271]) == (
            b"md1", b"1", b"1", b"100.0500", b"500")
        b.order("rest2", b"1", 200, "100.00")
        (update,) = await a.expect(b"X")
        assert (update[279], update[269], update[270], update[271]) == (b"1", b"0", b"100.0000",
                                                                        b"200")
        b.send(b"V", [(b"262", b"top"), (b"263", b"1"), (b"264", b"1"), (b"267", b"1"),
                      (b"269", b"0"), (b"146", b"1"), (b"55", b"SIM")])
        (top,) = await b.expect(b"W")
        assert [v for t, v in b.groups[-1] if t == 270] == [b"100.0000", b"100.0500"]
        a.order("take", b"1", 100, "100.05")
        await a.expect(b"8", 2)
        updates = await a.expect(b"X", 2)  # the trade and the level change, in that order
        assert (updates[0][269], updates[0][270], updates[0][271], updates[0][58]) == (
            b"2", b"100.0500", b"100", b"aggressor=buy")
        assert (updates[1][269], updates[1][271]) == (b"1", b"400")
        (top_update,) = await b.expect(b"W")
        assert top_update[262] == b"top"
        a.send(b"V", [(b"262", b"other"), (b"263", b"0"), (b"264", b"0"), (b"267", b"1"),
                      (b"269", b"0"), (b"146", b"1"), (b"55", b"ELSE")])
        (refused,) = await a.expect(b"Y")
        assert (refused[262], refused[281]) == (b"other", b"0")

    serve(lit, test)


def test_gateway_garbage_on_one_connection_does_not_hurt_the_other_sessions() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        b = await FixClient.logged_on(gw.port, "CLIENT2", password="pw")
        a.writer.write(b"\x00\xff garbage 8=FIX.4.4\x019=99999999\x01 more" * 50)
        a.writer.write(b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01")  # bad checksum
        b.order("b1", b"1", 100, "99.00")
        (ack,) = await b.expect(b"8")
        assert ack[150] == b"0"
        a.order("a1", b"1", 100, "99.00")  # seq 2: nothing of a's was lost
        (a_ack,) = await a.expect(b"8")
        assert a_ack[11] == b"a1"
        stranger_reader, stranger = await asyncio.open_connection("127.0.0.1", gw.port)
        stranger.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        b.order("b2", b"1", 100, "98.00")
        assert (await b.expect(b"8"))[0][11] == b"b2"
        stranger.close()

    serve(lit, test)


def test_gateway_unsupported_message_type_is_a_business_reject() -> None:
    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port)
        a.send(b"H", [(b"11", b"x"), (b"55", b"SIM"), (b"54", b"1")])  # order status request
        (reject,) = await a.expect(b"j")
        assert (reject[372], reject[380]) == (b"H", b"3")
        a.send(b"R", [(b"131", b"q1"), (b"146", b"1"), (b"55", b"SIM"), (b"38", b"100"),
                      (b"60", format_timestamp(time.time_ns()))])
        (no_quotes,) = await a.expect(b"j")
        assert (no_quotes[372], no_quotes[379], no_quotes[380]) == (b"R", b"q1", b"3")

    serve(lit, test)


def test_gateway_listens_on_loopback_by_default_and_stops_with_a_logout() -> None:
    async def test(gw: FixGateway) -> None:
        assert gw.host == "127.0.0.1"
        assert gw._server is not None
        assert {s.getsockname()[0] for s in gw._server.sockets} == {"127.0.0.1"}
        a = await FixClient.logged_on(gw.port)
        await gw.stop()
        (logout,) = await a.expect(b"5")
        assert logout[58] == b"gateway shutting down"

    serve(lit, test)


def test_gateway_dark_pool_takes_pegged_orders_with_min_quantity() -> None:
    def dark(clock: Any) -> DarkPool:
        pool = DarkPool("DARK1", clock, lot_size=100, tick_size=100)
        pool.on_nbbo(NBBO(clock.now_ns(), 999_900, 500, 1_000_100, 500, ("L",), ("L",)))
        return pool

    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port, target="DARK1")
        b = await FixClient.logged_on(gw.port, "CLIENT2", target="DARK1", password="pw")
        a.order("d1", b"1", 300, None, (b"18", b"M"), (b"110", b"100"))
        b.send(b"D", [(b"11", b"d2"), (b"55", b"SIM"), (b"54", b"2"),
                      (b"60", format_timestamp(time.time_ns())), (b"38", b"200"), (b"40", b"P"),
                      (b"18", b"M")])
        await a.expect(b"8")
        (b_ack, b_fill) = await b.expect(b"8", 2)
        assert (b_fill[150], b_fill[31], b_fill[32]) == (b"F", b"100.0000", b"200")
        (a_fill,) = await a.expect(b"8")
        assert (a_fill[150], a_fill[39], a_fill[151]) == (b"F", b"1", b"100")
        a.send(b"V", [(b"262", b"m"), (b"263", b"0"), (b"264", b"0"), (b"267", b"1"),
                      (b"269", b"0"), (b"146", b"1"), (b"55", b"SIM")])
        assert (await a.expect(b"j"))[0][372] == b"V"

    serve(dark, test, comp_id="DARK1")


def test_gateway_dealer_quote_request_and_accept() -> None:
    def dealer(clock: Any) -> SingleDealerPlatform:
        platform = SingleDealerPlatform("SDP1", clock, tiers=((500, 100),), tick_size=100,
                                        last_look_hold_ns=1_000_000)
        platform.on_nbbo(NBBO(clock.now_ns(), 999_900, 500, 1_000_100, 500, ("L",), ("L",)))
        return platform

    async def test(gw: FixGateway) -> None:
        a = await FixClient.logged_on(gw.port, target="SDP1")
        a.send(b"R", [(b"131", b"rfq-1"), (b"146", b"1"), (b"55", b"SIM"), (b"54", b"1"),
                      (b"38", b"300"), (b"60", format_timestamp(time.time_ns()))])
        (quote,) = await a.expect(b"S")
        assert quote[131] == b"rfq-1" and 132 not in quote and quote[135] == b"300"
        a.send(b"D", [(b"11", b"take-it"), (b"55", b"SIM"), (b"54", b"1"),
                      (b"60", format_timestamp(time.time_ns())), (b"38", b"300"), (b"40", b"D"),
                      (b"44", quote[133]), (b"117", quote[117])])
        ack, fill = await a.expect(b"8", 2)
        assert (ack[11], ack[150], fill[150], fill[39], fill[31]) == (
            b"take-it", b"0", b"F", b"2", quote[133])

    serve(dealer, test, comp_id="SDP1")


def test_gateway_client_that_stops_reading_is_cut_off_and_the_others_keep_trading() -> None:
    async def test(gw: FixGateway) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills up soon
        sock.connect(("127.0.0.1", gw.port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        stalled = FixClient("CLIENT1", "LIT1", reader, writer)
        stalled.send(b"A", [(b"98", b"0"), (b"108", b"30")])
        await stalled.expect(b"A")
        for i in range(400):
            stalled.order(f"s{i}", b"1", 100, "99.00")
        await stalled.expect(b"8", 400)
        # Then it asks for all of them again and again, and reads nothing more: the gateway
        # holds what the kernel's buffers do not (a few MB on loopback), up to the limit.
        session = gw.sessions["CLIENT1"]
        deadline = time.monotonic() + 10
        while session.connection is not None:
            assert time.monotonic() < deadline, "the stalled client was not cut off"
            stalled.send(b"2", [(b"7", b"1"), (b"16", b"0")])
            await asyncio.sleep(0.02)
        assert gw.connections_cut_off == 1
        other = await FixClient.logged_on(gw.port, "CLIENT2", password="pw")
        other.order("o1", b"2", 100, "99.00")  # trades with a resting order of CLIENT1's
        ack, fill = await other.expect(b"8", 2)
        assert (ack[150], fill[150], fill[39]) == (b"0", b"F", b"2")
        writer.close()

    serve(lit, test, max_write_buffer=64 * 1024)
