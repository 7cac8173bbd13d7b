"""agents.agent: the base keeps position, cash, fees and live orders from its reports, and
acts only through its sessions' latency links."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
import pytest

from agents.agent import Agent, AgentContext, OrderIds
from market.clock import Clock, current_clock, run
from market.event_log import EventLog
from market.link import Latency
from market.messages import (
    AcceptQuote,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    MessageRejected,
    NewOrder,
    OrderType,
    QuoteRequest,
    RejectReason,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from market.rng import RngStreams
from venues.lit_exchange import LitExchange

US = 1_000
MS = 1_000_000
BUY, SELL = Side.BUY, Side.SELL
MAKER_FEE, TAKER_FEE = -2, 3


class Probe(Agent):
    """Records what each hook saw, and the accounts at the moment it was called."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reports: list[ExecutionReport] = []
        self.accounts: list[tuple[int, int, int, frozenset[int]]] = []
        self.cancel_rejects: list[CancelRejected] = []
        self.message_rejects: list[MessageRejected] = []
        self.market_data: list[Any] = []

    def on_execution_report(self, report: ExecutionReport) -> None:
        self.reports.append(report)
        self.accounts.append((self.position, self.cash, self.fees, frozenset(self.live_orders)))

    def on_cancel_rejected(self, message: CancelRejected) -> None:
        self.cancel_rejects.append(message)

    def on_message_rejected(self, message: MessageRejected) -> None:
        self.message_rejects.append(message)

    def on_market_data(self, message: Any) -> None:
        self.market_data.append(message)


class World:
    def __init__(self, clock: Clock, market_data: bool) -> None:
        self.clock = clock
        self.log = EventLog(None, scenario="agents", seed=0, version="test", keep_lines=True)
        self.exchange = LitExchange("LIT1", clock, tick_size=5, lot_size=10,
                                    maker_fee=MAKER_FEE, taker_fee=TAKER_FEE, event_log=self.log)
        streams = RngStreams(0)
        ids = OrderIds()
        self.a = Probe("A")
        self.b = Probe("B")
        for agent, latency in ((self.a, 100 * US), (self.b, 300 * US)):
            agent.attach(AgentContext(clock, streams.stream(f"agent/{agent.name}"), ids))
            agent.connect(self.exchange, Latency(fixed_ns=latency), market_data=market_data)

    async def at(self, t_ns: int) -> None:
        await asyncio.sleep((t_ns - self.clock.now_ns()) / 1e9)

    def logged_in(self) -> list[tuple[int, str, dict[str, Any]]]:
        assert self.log.lines is not None
        events = [orjson.loads(line) for line in self.log.lines[1:-1]]
        return [(e["t"], e["type"], e["msg"]) for e in events if e["event"] == "in"]


def simulate(body: Callable[[World], Awaitable[None]], market_data: bool = False) -> World:
    holder: list[World] = []

    async def main() -> None:
        world = World(current_clock(), market_data)
        holder.append(world)
        await body(world)
        await asyncio.sleep(1.0)
        world.log.close()

    run(main())
    return holder[0]


# --- accounts ----------------------------------------------------------------------------


def test_agent_accounts_consistent_with_fill_reports_fees_included() -> None:
    async def body(w: World) -> None:
        w.a.submit_order("LIT1", SELL, 100, 1000)
        w.a.submit_order("LIT1", SELL, 50, 1010)
        await w.at(1 * MS)
        w.b.submit_order("LIT1", BUY, 130, 1010)  # 100 @ 1000 and 30 @ 1010
        await w.at(3 * MS)
        w.b.submit_order("LIT1", SELL, 20, 1000)  # rests, then A takes it
        await w.at(4 * MS)
        w.a.submit_order("LIT1", BUY, 20, None, order_type=OrderType.MARKET)

    w = simulate(body)
    for agent in (w.a, w.b):
        fills = [r for r in agent.reports if r.last_quantity]
        signed = [(r.last_quantity if r.side is BUY else -r.last_quantity) for r in fills]
        assert agent.position == sum(signed)
        assert agent.fees == sum(r.fee for r in fills)
        assert agent.cash == -sum(q * r.last_price for q, r in zip(signed, fills)) - agent.fees
        stats = w.exchange.statistics[agent.name]
        assert agent.position == stats.position
        assert agent.fees == stats.fees
        assert agent.cash == stats.sold_notional - stats.bought_notional - stats.fees
    # Explicit figures: A sold 100 @ 1000 + 30 @ 1010 as maker, bought 20 @ 1000 as taker.
    assert w.a.position == -130 + 20
    assert w.a.fees == 130 * MAKER_FEE + 20 * TAKER_FEE == -200
    assert w.a.cash == 100 * 1000 + 30 * 1010 - 20 * 1000 + 200
    assert w.b.position == 130 - 20
    assert w.b.fees == 130 * TAKER_FEE + 20 * MAKER_FEE == 350
    assert w.b.cash == -(100 * 1000 + 30 * 1010) + 20 * 1000 - 350


def test_agent_accounts_updated_before_on_execution_report_is_called() -> None:
    async def body(w: World) -> None:
        w.a.submit_order("LIT1", SELL, 100, 1000)
        await w.at(1 * MS)
        w.b.submit_order("LIT1", BUY, 60, 1000)

    w = simulate(body)
    report = w.b.reports[-1]
    assert report.exec_type is ExecType.FILL
    position, cash, fees, live = w.b.accounts[-1]
    assert (position, cash, fees) == (60, -60 * 1000 - 60 * TAKER_FEE, 60 * TAKER_FEE)
    assert report.order_id not in live


# --- live orders ------------------------------------------------------------------------


def test_agent_live_orders_drops_filled_canceled_and_rejected_ids() -> None:
    ids: dict[str, int] = {}

    async def body(w: World) -> None:
        ids["filled"] = w.a.submit_order("LIT1", SELL, 50, 1000)
        ids["partial"] = w.a.submit_order("LIT1", SELL, 50, 1005)
        ids["canceled"] = w.a.submit_order("LIT1", BUY, 10, 900)
        ids["rejected"] = w.a.submit_order("LIT1", BUY, 7, 900)  # not a lot multiple
        ids["ioc"] = w.a.submit_order("LIT1", BUY, 10, 800, time_in_force=TimeInForce.IOC)
        ids["resting"] = w.a.submit_order("LIT1", BUY, 10, 895)
        assert set(w.a.live_orders) == set(ids.values())  # live from the moment sent
        assert all(v == "LIT1" for v in w.a.live_orders.values())
        await w.at(1 * MS)
        w.a.cancel_order(ids["canceled"])
        w.b.submit_order("LIT1", BUY, 70, 1005)  # fills "filled", 20 of "partial"

    w = simulate(body)
    assert set(w.a.live_orders) == {ids["partial"], ids["resting"]}
    exec_types = {r.order_id: r.exec_type for r in w.a.reports}
    assert exec_types[ids["filled"]] is ExecType.FILL
    assert exec_types[ids["partial"]] is ExecType.PARTIAL_FILL
    assert exec_types[ids["canceled"]] is ExecType.CANCELED
    assert exec_types[ids["rejected"]] is ExecType.REJECTED
    assert exec_types[ids["ioc"]] is ExecType.CANCELED
    assert w.b.live_orders == {}


def test_agent_order_ids_unique_across_agents() -> None:
    got: list[int] = []

    async def body(w: World) -> None:
        got.append(w.a.submit_order("LIT1", BUY, 10, 900))
        got.append(w.b.submit_order("LIT1", BUY, 10, 895))
        got.append(w.a.submit_order("LIT1", BUY, 10, 890))

    w = simulate(body)
    assert got == [1, 2, 3]
    assert [r.exec_type for r in w.a.reports + w.b.reports] == [ExecType.NEW] * 3


# --- actions go through the session -----------------------------------------------------


def test_agent_submit_cancel_replace_arrive_at_venue_after_latency() -> None:
    async def body(w: World) -> None:
        order_id = w.b.submit_order("LIT1", BUY, 50, 990, post_only=True)
        await w.at(1 * MS)
        w.b.replace_order(order_id, 40, 985)
        await w.at(2 * MS)
        w.b.cancel_order(order_id)
        await w.at(3 * MS)
        w.b.cancel_order(order_id)  # no longer live: nothing is sent

    w = simulate(body)
    ins = w.logged_in()
    assert [(t, kind) for t, kind, _ in ins] == [
        (300 * US, "NewOrder"), (1 * MS + 300 * US, "ReplaceOrder"),
        (2 * MS + 300 * US, "CancelOrder")]
    new, replace, cancel = (msg for _, _, msg in ins)
    assert (new["t_ns"], new["participant"], new["side"], new["quantity"], new["price"],
            new["post_only"]) == (0, "B", "buy", 50, 990, True)
    assert (replace["t_ns"], replace["order_id"], replace["quantity"], replace["price"]) == (
        1 * MS, 1, 40, 985)
    assert (cancel["t_ns"], cancel["order_id"]) == (2 * MS, 1)
    assert [r.exec_type for r in w.b.reports] == [
        ExecType.NEW, ExecType.REPLACED, ExecType.CANCELED]
    assert w.b.live_orders == {}
    assert w.exchange.statistics["B"].cancels == 1


def test_agent_submit_order_sends_new_order_with_its_name_and_defaults() -> None:
    sent: list[Any] = []

    class FakeSession:
        def send(self, message: Any) -> None:
            sent.append(message)

    class FakeVenue:
        name = "V"

        def connect(self, participant: str, handler: Any, latency: Latency = Latency()) -> Any:
            return FakeSession()

        def subscribe(self, subscriber: str, handler: Any, latency: Latency = Latency()) -> None:
            raise AssertionError("market_data=False must not subscribe")

    async def main() -> None:
        agent = Agent("Z")
        agent.attach(AgentContext(current_clock(), RngStreams(0).stream("agent/Z"), OrderIds(40)))
        agent.connect(FakeVenue(), market_data=False)
        await asyncio.sleep(0.5)
        agent.submit_order("V", SELL, 10, 1000)

    run(main())
    assert sent == [NewOrder(500 * MS, "Z", 40, SELL, 10, 1000, OrderType.LIMIT,
                             TimeInForce.DAY, False)]


# --- hooks -------------------------------------------------------------------------------


def test_agent_rejects_dispatch_to_their_hooks() -> None:
    async def body(w: World) -> None:
        order_id = w.a.submit_order("LIT1", BUY, 10, 900)
        await w.at(1 * MS)
        w.a.replace_order(order_id, 10, 903)  # off tick: CancelRejected
        w.a._sessions["LIT1"].send(("junk",))  # an unknown message type

    w = simulate(body)
    assert [(m.reason, m.request) for m in w.a.cancel_rejects] == [(RejectReason.OFF_TICK, "replace")]
    assert [m.reason for m in w.a.message_rejects] == [RejectReason.UNKNOWN_MESSAGE]
    assert set(w.a.live_orders) == {1}


def test_agent_connect_with_market_data_subscribes_and_without_does_not() -> None:
    async def body(w: World) -> None:
        w.a.submit_order("LIT1", SELL, 10, 1000)

    with_md = simulate(body, market_data=True)
    assert with_md.b.market_data[0] == L2Snapshot(0, "LIT1", (), ())
    assert L1Snapshot(100 * US, "LIT1", None, 0, 1000, 10) in with_md.b.market_data
    without = simulate(body, market_data=False)
    assert without.b.market_data == []
    assert [r.exec_type for r in without.a.reports] == [ExecType.NEW]


# --- integer arguments --------------------------------------------------------------------


class RecordingVenue:
    """A venue stand-in whose session keeps what the agent sent."""

    name = "V"

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def connect(self, participant: str, handler: Any, latency: Latency = Latency()) -> Any:
        return self

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def subscribe(self, subscriber: str, handler: Any, latency: Latency = Latency()) -> None:
        pass


def with_recording_venue(body: Callable[[Agent, RecordingVenue], None]) -> RecordingVenue:
    """`body(agent, venue)` inside a running clock, agent "Z" connected to `venue`."""
    venue = RecordingVenue()

    async def main() -> None:
        agent = Agent("Z")
        agent.attach(AgentContext(current_clock(), RngStreams(0).stream("agent/Z"), OrderIds()))
        agent.connect(venue, market_data=False)
        body(agent, venue)

    run(main())
    return venue


def test_agent_numpy_integers_reach_the_venue_and_the_log_as_ints() -> None:
    async def body(w: World) -> None:
        rng = np.random.default_rng(0)
        lots = rng.integers(5, 6)  # numpy.int64, as a plug-in drawing sizes gets
        order_id = w.a.submit_order("LIT1", BUY, lots * 10, np.int64(1000))
        await w.at(1 * MS)
        w.a.replace_order(order_id, np.int64(40), np.int32(1005))

    w = simulate(body)
    assert [r.exec_type for r in w.a.reports] == [ExecType.NEW, ExecType.REPLACED]
    (_, _, new), (_, _, replace) = w.logged_in()
    assert (new["quantity"], new["price"], new["min_quantity"]) == (50, 1000, 0)
    assert (replace["quantity"], replace["price"]) == (40, 1005)


def test_agent_actions_turn_integer_likes_into_python_ints() -> None:
    def body(agent: Agent, venue: RecordingVenue) -> None:
        order_id = agent.submit_order("V", BUY, np.int64(200), np.int64(1000),
                                      min_quantity=np.int32(100))
        agent.submit_order("V", BUY, np.uint16(100), None, order_type=OrderType.MARKET)
        agent.replace_order(order_id, np.int64(300), np.int64(990))
        agent.request_quote("V", None, np.int64(500))
        agent.accept_quote("V", 7, SELL, np.int64(500), np.int64(1010))

    new, market, replace, request, accept = with_recording_venue(body).sent
    assert (type(new), type(market), type(replace), type(request), type(accept)) == (
        NewOrder, NewOrder, ReplaceOrder, QuoteRequest, AcceptQuote)
    numbers = [new.quantity, new.price, new.min_quantity, market.quantity, replace.quantity,
               replace.price, request.quantity, accept.quantity, accept.price]
    assert numbers == [200, 1000, 100, 100, 300, 990, 500, 500, 1010]
    assert all(type(n) is int for n in numbers)
    assert market.price is None


@pytest.mark.parametrize("action, argument, value, call", [
    ("submit_order", "quantity", 100.0, lambda a: a.submit_order("V", BUY, 100.0, 1000)),
    ("submit_order", "price", "1000", lambda a: a.submit_order("V", BUY, 100, "1000")),
    ("submit_order", "min_quantity", 1.5,
     lambda a: a.submit_order("V", BUY, 100, 1000, min_quantity=1.5)),
    ("replace_order", "quantity", np.float64(200.0),
     lambda a: a.replace_order(1, np.float64(200.0), 990)),
    ("replace_order", "price", 990.5, lambda a: a.replace_order(1, 200, 990.5)),
    ("request_quote", "quantity", "500", lambda a: a.request_quote("V", None, "500")),
    ("accept_quote", "quantity", None, lambda a: a.accept_quote("V", 7, SELL, None, 1010)),
    ("accept_quote", "price", 1010.0, lambda a: a.accept_quote("V", 7, SELL, 500, 1010.0)),
])
def test_agent_action_with_a_non_integer_raises_naming_agent_action_and_argument(
    action: str, argument: str, value: Any, call: Callable[[Agent], object],
) -> None:
    caught: list[BaseException] = []

    def body(agent: Agent, venue: RecordingVenue) -> None:
        agent.submit_order("V", BUY, 100, 1000)  # order 1, live: replace_order would send
        try:
            call(agent)
        except TypeError as error:
            caught.append(error)
        assert set(agent.live_orders) == {1}  # no id taken, nothing made live

    venue = with_recording_venue(body)
    assert len(caught) == 1, "expected a TypeError"
    assert str(caught[0]) == (
        f"agent 'Z': {action}() argument {argument!r} must be an integer (an int or "
        f"integer-like, e.g. numpy.int64), got {value!r} ({type(value).__name__})")
    assert len(venue.sent) == 1  # only the first, valid order went out
