"""venues.fix_client: an agent's venue over FIX. Orders sent before the logon is answered go
after it, in order; reports and market data come back as the venue's own messages (the
same ids, enum members, prices in ticks); a cancel carries the order's side."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from market.clock import current_clock, run
from market.fix_codec import FixCodec
from market.messages import (
    BookUpdate,
    CancelOrder,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    NewOrder,
    Side,
    TradePrint,
)
from venues.fix_client import FixVenueClient
from venues.fix_gateway import FixGateway
from venues.lit_exchange import LitExchange


def test_fix_client_orders_reports_and_market_data_as_from_the_venue() -> None:
    seen: dict[str, list[Any]] = {"replies": [], "market": []}

    async def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.005)

    async def main() -> None:
        clock = current_clock()
        venue = LitExchange("LIT1", clock, tick_size=100, lot_size=100)
        maker = venue.connect("MAKER", lambda message: None)
        maker.send(NewOrder(clock.now_ns(), "MAKER", 10**12, Side.SELL, 500, 1_000_500))
        codec = FixCodec("SIM", "0.0001")
        gateway = FixGateway(venue, codec, clients={"SOR": None})
        address: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        client = FixVenueClient("LIT1", codec, address)
        session = client.connect("SOR", seen["replies"].append)
        client.subscribe("SOR", seen["market"].append)
        now = clock.now_ns()
        session.send(NewOrder(now, "SOR", 41, Side.BUY, 300, 990_000))  # before the logon
        session.send(NewOrder(now, "SOR", 42, Side.BUY, 200, 1_000_500))
        address.set_result(await gateway.start())
        await wait_for(lambda: len(seen["replies"]) >= 3)
        ack, take_ack, fill = seen["replies"][:3]
        assert (type(ack), ack.order_id, ack.exec_type, ack.venue, ack.participant) == (
            ExecutionReport, 41, ExecType.NEW, "LIT1", "SOR")
        assert (take_ack.order_id, fill.order_id, fill.exec_type, fill.last_price,
                fill.last_quantity) == (42, 42, ExecType.FILL, 1_000_500, 200)
        session.send(CancelOrder(clock.now_ns(), "SOR", 41))
        await wait_for(lambda: len(seen["replies"]) >= 4)
        canceled = seen["replies"][3]
        assert (canceled.order_id, canceled.exec_type, canceled.side) == (41, ExecType.CANCELED,
                                                                          Side.BUY)
        kinds = {type(m) for m in seen["market"]}
        assert {L2Snapshot, L1Snapshot, BookUpdate, TradePrint} <= kinds, seen["market"]
        snapshot = next(m for m in seen["market"] if type(m) is L2Snapshot)
        assert snapshot.asks == ((1_000_500, 500),)
        trade = next(m for m in seen["market"] if type(m) is TradePrint)
        assert (trade.price, trade.quantity, trade.aggressor_side) == (1_000_500, 200, Side.BUY)
        assert (session.gaps, session.unreadable, session.rejects) == (0, 0, 0)
        await gateway.stop()
        assert gateway.internal_errors == 0

    run(main(), live=True)
