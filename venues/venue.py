"""What every venue shares: sessions over latency links, subscribers, the event log, stats.

A venue is a process in the SimPy sense — it reacts to messages delivered by the loop; it
owns no task. A participant `connect`s and gets a `Session`; whatever it sends goes through
the session's inbound link, arrives at `_receive`, is recorded in the event log, checked
(right sender, known message type) and handed to the venue's `on_<command>` handler.
Replies go back through the session's outbound link; market data goes to subscribers,
each through its own link, and is recorded once per publication.

Bad input never stops a venue: a message of unknown type or from the wrong sender gets a
`MessageRejected`, a bad order a rejected `ExecutionReport` (the subclass's business).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from market.clock import Clock
from market.event_log import EventLog
from market.link import Latency, Link
from market.messages import (
    CancelOrder,
    ExecutionReport,
    Liquidity,
    MessageRejected,
    NewOrder,
    RejectReason,
    ReplaceOrder,
    Side,
)
from market.rng import RngStreams
from venues.statistics import ParticipantStatistics

__all__ = ["Venue", "Session"]



class Session:
    """A participant's connection to a venue; `send` is the only way in."""

    __slots__ = ("venue", "participant", "_inbound", "_outbound")

    def __init__(self, venue: Venue, participant: str, inbound: Link, outbound: Link) -> None:
        self.venue = venue
        self.participant = participant
        self._inbound = inbound
        self._outbound = outbound

    def send(self, message: Any) -> None:
        self._inbound.send(message)


class Venue:
    """Base of lit exchanges, dark pools and dealers (see the module docstring)."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        event_log: EventLog | None = None,
        rng_streams: RngStreams | None = None,
    ) -> None:
        self.name = name
        self.clock = clock
        self.event_log = event_log
        self._rng_streams = rng_streams
        self._sessions: dict[str, Session] = {}
        self._subscribers: list[Link] = []
        self.statistics: dict[str, ParticipantStatistics] = {}
        self.messages_in = 0
        self.messages_out = 0
        self._handlers: dict[type, Callable[[str, Any, int], None]] = {
            NewOrder: self.on_new_order,
            CancelOrder: self.on_cancel_order,
            ReplaceOrder: self.on_replace_order,
        }

    # --- wiring -----------------------------------------------------------------------

    def connect(
        self, participant: str, handler: Callable[[Any], object], latency: Latency = Latency()
    ) -> Session:
        """Open a session: `handler` gets this venue's replies after `latency` each way."""
        if participant in self._sessions:
            raise ValueError(f"{self.name}: participant {participant!r} is already connected")
        latency.validate(f"{self.name}.connect({participant!r})")
        inbound = Link(self.clock, partial(self._receive, participant), latency,
                       self._stream(f"link/{participant}->{self.name}", latency))
        outbound = Link(self.clock, handler, latency,
                        self._stream(f"link/{self.name}->{participant}", latency))
        session = Session(self, participant, inbound, outbound)
        self._sessions[participant] = session
        self.statistics[participant] = ParticipantStatistics()
        return session

    def subscribe(
        self, subscriber: str, handler: Callable[[Any], object], latency: Latency = Latency()
    ) -> None:
        """Send this venue's public market data to `handler` after `latency`."""
        latency.validate(f"{self.name}.subscribe({subscriber!r})")
        link = Link(self.clock, handler, latency,
                    self._stream(f"market-data/{self.name}->{subscriber}", latency))
        self._subscribers.append(link)
        self.on_subscribed(link)

    def session_links(self) -> list[Link]:
        """Every session's links, inbound and outbound, in connection order (a regime shift
        that changes this venue's order-entry latency adjusts them)."""
        links: list[Link] = []
        for session in self._sessions.values():
            links.append(session._inbound)
            links.append(session._outbound)
        return links

    def _stream(self, name: str, latency: Latency) -> Any:
        if not latency.jitter_ns:
            return None
        if self._rng_streams is None:
            raise ValueError(f"{self.name}: latency jitter needs rng_streams")
        return self._rng_streams.stream(name)

    # --- inbound ----------------------------------------------------------------------

    def _receive(self, participant: str, message: Any) -> None:
        now = self.clock.now_ns()
        self.messages_in += 1
        handler = self._handlers.get(type(message))
        if self.event_log is not None:
            self.event_log.record(now, "in", self.name, message)
        if handler is None:
            self._reject_message(participant, message, now, RejectReason.UNKNOWN_MESSAGE,
                                 f"{type(message).__name__} is not a message this venue takes")
        elif message.participant != participant:
            self._reject_message(participant, message, now, RejectReason.UNKNOWN_PARTICIPANT,
                                 f"sent on {participant!r}'s session as {message.participant!r}")
        else:
            handler(participant, message, now)

    def _reject_message(
        self, participant: str, message: Any, now: int, reason: RejectReason, text: str
    ) -> None:
        self.statistics[participant].rejects += 1
        self.send_to(participant, MessageRejected(now, self.name, participant,
                                                  type(message).__name__, reason, text))

    # --- hooks for subclasses ---------------------------------------------------------

    def on_new_order(self, participant: str, order: NewOrder, now: int) -> None:
        raise NotImplementedError

    def on_cancel_order(self, participant: str, cancel: CancelOrder, now: int) -> None:
        raise NotImplementedError

    def on_replace_order(self, participant: str, replace: ReplaceOrder, now: int) -> None:
        raise NotImplementedError

    def on_subscribed(self, link: Link) -> None:
        """A new subscriber: send it a snapshot if the venue has one to give."""

    # --- outbound ---------------------------------------------------------------------

    def send_to(self, participant: str, message: Any) -> None:
        if self.event_log is not None:
            self.event_log.record(self.clock.now_ns(), "out", self.name, message)
        self.messages_out += 1
        self._sessions[participant]._outbound.send(message)

    def send_reports(self, reports: list[Any]) -> None:
        """Send each report to its participant and count it in their statistics."""
        log = self.event_log
        now = self.clock.now_ns()
        sessions = self._sessions
        statistics = self.statistics
        for report in reports:
            if log is not None:
                log.record(now, "out", self.name, report)
            participant = report.participant
            if type(report) is ExecutionReport and report.last_quantity:
                _count_fill(statistics[participant], report)
            sessions[participant]._outbound.send(report)
        self.messages_out += len(reports)

    def publish(self, message: Any) -> None:
        """Market data to every subscriber (recorded once)."""
        if self.event_log is not None:
            self.event_log.record(self.clock.now_ns(), "out", self.name, message)
        for link in self._subscribers:
            link.send(message)
        self.messages_out += len(self._subscribers)


def _count_fill(stats: ParticipantStatistics, report: ExecutionReport) -> None:
    quantity = report.last_quantity
    stats.fills += 1
    stats.fees += report.fee
    if report.side is Side.BUY:
        stats.bought += quantity
        stats.bought_notional += quantity * report.last_price
    else:
        stats.sold += quantity
        stats.sold_notional += quantity * report.last_price
    if report.liquidity is Liquidity.MAKER:
        stats.maker_volume += quantity
    else:
        stats.taker_volume += quantity
