"""The agent API: one small base class; built-in agents use exactly what a plug-in gets.

An agent is attached to a simulation (`attach`), connects to venues (`connect`), and then
lives through three kinds of hook:
- `run()`: its own timeline, a coroutine (wake up, decide, `await self.sleep(...)`), and
  `on_wakeup()`, the cheap alternative for busy agents: `wake_after(seconds)` schedules
  it straight on the loop's delivery heap, with no task switch;
- `on_execution_report`, `on_cancel_rejected`, `on_message_rejected`, `on_quote`: replies
  from venues;
- `on_market_data`: public market data (`L1Snapshot`, `L2Snapshot`, `BookUpdate`,
  `TradePrint`) from the venues it subscribed to.
It acts only through messages: `submit_order`, `cancel_order`, `replace_order`,
`request_quote`, `accept_quote` go out
through the latency links of its sessions. It never reads a venue's book or another
agent's state.

The base keeps the agent's own accounts from its fills — position (shares), cash and fees
(ticks x shares) — and the set of its live orders, before calling the hooks.

The actions take quantities and prices as integers: anything integer-like (`numpy.int64`
from `self.rng.integers`, say) becomes a Python `int` by `operator.index` before it goes
into a message, so venues accept it and the event log records it exactly; anything else (a
float, a string) raises a `TypeError` naming the agent, the action and the argument. One
`operator.index` call per argument: these are on every agent's hot path.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from market.clock import Clock
from market.link import Latency
from market.messages import (
    AcceptQuote,
    CancelOrder,
    CancelRejected,
    ExecType,
    ExecutionReport,
    MessageRejected,
    NewOrder,
    OrderType,
    Peg,
    Quote,
    QuoteRequest,
    ReplaceOrder,
    Side,
    TimeInForce,
)

__all__ = ["Agent", "AgentContext", "ConnectableVenue", "OrderIds"]

_BUY = Side.BUY
_index = operator.index  # int for int (same object), int for numpy ints; TypeError otherwise
_LIMIT, _DAY = OrderType.LIMIT, TimeInForce.DAY
_FILL, _CANCELED, _REJECTED = ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED


class OrderIds:
    """The simulation's order id allocator: ids are unique across all participants."""

    __slots__ = ("_next",)

    def __init__(self, first: int = 1) -> None:
        self._next = first

    def next(self) -> int:
        value = self._next
        self._next = value + 1
        return value


class ConnectableVenue(Protocol):
    name: str

    def connect(self, participant: str, handler: Callable[[Any], object], latency: Latency = ...) -> Any: ...

    def subscribe(self, subscriber: str, handler: Callable[[Any], object], latency: Latency = ...) -> None: ...


class AgentContext:
    """What the simulation hands an agent: the clock, its random stream, the id allocator."""

    __slots__ = ("clock", "rng", "order_ids")

    def __init__(self, clock: Clock, rng: np.random.Generator, order_ids: OrderIds) -> None:
        self.clock = clock
        self.rng = rng
        self.order_ids = order_ids


class Agent:
    """Base of every agent (see the module docstring). Subclasses override the hooks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.position = 0  # shares, + long
        self.cash = 0  # ticks x shares, fees included
        self.fees = 0
        self.live_orders: dict[int, str] = {}  # order id -> venue name
        self._sessions: dict[str, Any] = {}
        self._context: AgentContext | None = None

    # --- wiring (the simulation calls these) ---------------------------------------------

    def attach(self, context: AgentContext) -> None:
        self._context = context

    @property
    def clock(self) -> Clock:
        assert self._context is not None, f"agent {self.name!r} is not attached"
        return self._context.clock

    @property
    def rng(self) -> np.random.Generator:
        assert self._context is not None, f"agent {self.name!r} is not attached"
        return self._context.rng

    def connect(
        self, venue: ConnectableVenue, latency: Latency = Latency(), *, market_data: bool = True
    ) -> None:
        """Open a session with `venue` and, by default, subscribe to its market data."""
        self._sessions[venue.name] = venue.connect(self.name, self._receive, latency)
        if market_data:
            venue.subscribe(self.name, self.on_market_data, latency)

    # --- hooks ------------------------------------------------------------------------

    async def run(self) -> None:
        """The agent's own timeline. The default does nothing (a purely reactive agent)."""

    def on_execution_report(self, report: ExecutionReport) -> None:
        pass

    def on_cancel_rejected(self, message: CancelRejected) -> None:
        pass

    def on_message_rejected(self, message: MessageRejected) -> None:
        pass

    def on_quote(self, quote: Quote) -> None:
        """A dealer's answer to this agent's RFQ (streamed quotes arrive as market data)."""

    def on_market_data(self, message: Any) -> None:
        pass

    # --- actions ----------------------------------------------------------------------

    def now_ns(self) -> int:
        return self.clock.now_ns()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def wake_at(self, t_ns: int) -> None:
        """Ask for `on_wakeup()` at `t_ns`: the cheap timeline — one heap entry, no task
        switch (about three times cheaper than `await self.sleep`), same ordering."""
        self.clock.deliver_at(t_ns, self._wake, None)

    def wake_after(self, seconds: float) -> None:
        """`wake_at` counted from now (nanoseconds rounded as `asyncio.sleep` does)."""
        self.clock.deliver_at(self.clock.now_ns() + round(seconds * 1_000_000_000), self._wake, None)

    def on_wakeup(self) -> None:
        """A wake-up asked for with `wake_at` / `wake_after`."""

    def _wake(self, _: None) -> None:
        self.on_wakeup()

    def submit_order(
        self,
        venue: str,
        side: Side,
        quantity: int,
        price: int | None = None,
        *,
        order_type: OrderType = _LIMIT,
        time_in_force: TimeInForce = _DAY,
        post_only: bool = False,
        min_quantity: int = 0,
        peg: Peg | None = None,
    ) -> int:
        """Send a new order; returns its order id."""
        assert self._context is not None, f"agent {self.name!r} is not attached"
        try:
            quantity = _index(quantity)
            if price is not None:
                price = _index(price)
            min_quantity = _index(min_quantity)
        except TypeError:
            raise self._not_integer("submit_order", quantity=quantity, price=price,
                                    min_quantity=min_quantity) from None
        session = self._session(venue)
        order_id = self._context.order_ids.next()
        self.live_orders[order_id] = venue
        session.send(NewOrder(self.clock.now_ns(), self.name, order_id, side, quantity, price,
                              order_type, time_in_force, post_only, min_quantity, peg))
        return order_id

    def cancel_order(self, order_id: int) -> None:
        venue = self.live_orders.get(order_id)
        if venue is not None:
            self._sessions[venue].send(CancelOrder(self.clock.now_ns(), self.name, order_id))

    def request_quote(self, venue: str, side: Side | None, quantity: int) -> int:
        """Send an RFQ to a dealer venue; returns the request id (its answer is a `Quote`
        to `on_quote` carrying that request id)."""
        assert self._context is not None, f"agent {self.name!r} is not attached"
        try:
            quantity = _index(quantity)
        except TypeError:
            raise self._not_integer("request_quote", quantity=quantity) from None
        session = self._session(venue)
        request_id = self._context.order_ids.next()
        session.send(QuoteRequest(self.clock.now_ns(), self.name, request_id, side, quantity))
        return request_id

    def accept_quote(self, venue: str, quote_id: int, side: Side, quantity: int, price: int) -> int:
        """Trade on a dealer's quote; returns the order id its execution report will carry."""
        assert self._context is not None, f"agent {self.name!r} is not attached"
        try:
            quantity = _index(quantity)
            price = _index(price)
        except TypeError:
            raise self._not_integer("accept_quote", quantity=quantity, price=price) from None
        session = self._session(venue)
        order_id = self._context.order_ids.next()
        self.live_orders[order_id] = venue
        session.send(AcceptQuote(self.clock.now_ns(), self.name, order_id, quote_id, side,
                                 quantity, price))
        return order_id

    def _not_integer(self, action: str, **arguments: Any) -> TypeError:
        """The error for the first of an action's `arguments` that is not integer-like
        (`submit_order`'s price may be None). Only on the failure path: costs nothing else."""
        for argument, value in arguments.items():
            if value is None and argument == "price" and action == "submit_order":
                continue
            try:
                _index(value)
            except TypeError:
                return TypeError(
                    f"agent {self.name!r}: {action}() argument {argument!r} must be an integer "
                    f"(an int or integer-like, e.g. numpy.int64), got {value!r} "
                    f"({type(value).__name__})")
        return TypeError(f"agent {self.name!r}: {action}() got a non-integer argument")

    def _session(self, venue: str) -> Any:
        session = self._sessions.get(venue)
        if session is None:
            raise ValueError(f"agent {self.name!r} is not connected to venue {venue!r}")
        return session

    def replace_order(self, order_id: int, quantity: int, price: int) -> None:
        """Change a live order's total quantity and price (nothing is sent for an order no
        longer live)."""
        try:
            quantity = _index(quantity)
            price = _index(price)
        except TypeError:
            raise self._not_integer("replace_order", quantity=quantity, price=price) from None
        venue = self.live_orders.get(order_id)
        if venue is not None:
            self._sessions[venue].send(ReplaceOrder(self.clock.now_ns(), self.name, order_id,
                                                    quantity, price))

    # --- inbound ----------------------------------------------------------------------

    def _receive(self, message: Any) -> None:
        if type(message) is ExecutionReport:
            if message.last_quantity:
                notional = message.last_quantity * message.last_price
                if message.side is _BUY:
                    self.position += message.last_quantity
                    self.cash -= notional
                else:
                    self.position -= message.last_quantity
                    self.cash += notional
                self.cash -= message.fee
                self.fees += message.fee
            exec_type = message.exec_type
            if exec_type is _FILL or exec_type is _CANCELED or exec_type is _REJECTED:
                self.live_orders.pop(message.order_id, None)
            self.on_execution_report(message)
        elif type(message) is CancelRejected:
            self.on_cancel_rejected(message)
        elif type(message) is Quote:
            self.on_quote(message)
        else:
            self.on_message_rejected(message)
