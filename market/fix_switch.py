"""The in-process FIX switch: one participant's connection to one venue, through the codec.

Concept. `FixSwitch(venue, codec)` stands where the venue would in `agent.connect(...)`: it
has the venue's `name`, `connect` and `subscribe`, and passes both on with every message
put through FIX on its way — encoded (`market.fix_codec`), serialized with BodyLength and
CheckSum, cut out of a byte stream again (`market.fix_framing`, one stream per direction)
and decoded. Orders, cancels, quote requests and accepts on the way in; execution reports,
cancel and message rejects and quotes on the way back; market data from the subscription.
What arrives is what the run would have delivered without the switch, so the event log is
byte-identical with it and without it: the proof that the codec loses nothing. The log
alone would miss a loss the run happens not to act on (a fill's fee lost on the way back
changed nothing in the scenario of the tests), so with `checked` (the default) each
decoded message is also compared with the original, field by field and type by type, and
a difference raises `FixSwitchMismatch` at once.

State, as a FIX engine on the venue's side would keep it: the side of each order sent
(FIX needs it on cancel and replace, which do not carry it) and the notional filled so
far (AvgPx), both dropped when the order is done.

Cost. Each message is encoded and decoded (tens of microseconds): meant for proving the
codec on a scenario, not for speed. The venue and its links are untouched, so a run
without the switch pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from market.errors import SorsimError
from market.fix_codec import FixCodec
from market.fix_framing import FieldProblem, FixFramer, split_fields
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

__all__ = ["FixSwitch", "FixSwitchMismatch", "SwitchableVenue"]

_DONE = (ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)


class FixSwitchMismatch(SorsimError):
    """A message came out of the codec different from what went in."""


class SwitchableVenue(Protocol):
    name: str

    def connect(self, participant: str, handler: Callable[[Any], object],
                latency: Latency = ...) -> Any: ...

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = ...) -> None: ...


class FixSwitch:
    """A venue seen through FIX (see the module docstring)."""

    def __init__(self, venue: SwitchableVenue, codec: FixCodec, *, checked: bool = True) -> None:
        self.venue = venue
        self.name = venue.name
        self.codec = codec
        self.checked = checked
        self.messages: dict[str, int] = {}  # message type -> how many went through
        self._sides: dict[int, Side] = {}
        self._notional: dict[int, int] = {}

    def connect(self, participant: str, handler: Callable[[Any], object],
                latency: Latency = Latency()) -> _SwitchedSession:
        replies = FixFramer()

        def receive(message: Any) -> None:
            context: dict[str, Any] = {}
            if type(message) is ExecutionReport:
                order_id = message.order_id
                notional = (self._notional.get(order_id, 0)
                            + message.last_quantity * message.last_price)
                context["notional"] = notional
                if message.exec_type in _DONE:
                    self._notional.pop(order_id, None)
                    self._sides.pop(order_id, None)
                else:
                    self._notional[order_id] = notional
            handler(self._through(message, context, replies))

        session = self.venue.connect(participant, receive, latency)
        return _SwitchedSession(self, session)

    def subscribe(self, subscriber: str, handler: Callable[[Any], object],
                  latency: Latency = Latency()) -> None:
        stream = FixFramer()
        self.venue.subscribe(subscriber, lambda message: handler(
            self._through(message, {}, stream)), latency)

    def _through(self, message: Any, context: dict[str, Any], stream: FixFramer) -> Any:
        """`message` encoded, written, framed, split and decoded."""
        wire = self.codec.encode(message, **context).encode()
        frames = stream.feed(wire)
        if len(frames) != 1 or not isinstance(frames[0], bytes):
            raise FixSwitchMismatch(f"{type(message).__name__} did not frame as one message: "
                                    f"{frames!r}")
        fields = split_fields(frames[0])
        if isinstance(fields, FieldProblem):
            raise FixSwitchMismatch(f"{type(message).__name__}: {fields.reason}")
        decoded = self.codec.decode(fields)
        name = type(message).__name__
        self.messages[name] = self.messages.get(name, 0) + 1
        if self.checked and not _identical(decoded, message):
            raise FixSwitchMismatch(f"{name} changed going through FIX:\n  sent     {message!r}"
                                    f"\n  received {decoded!r}")
        return decoded

    def _outbound(self, message: Any, stream: FixFramer) -> Any:
        kind = type(message)
        context: dict[str, Any] = {}
        if kind is NewOrder or kind is AcceptQuote:
            self._sides[message.order_id] = message.side
        elif kind is CancelOrder or kind is ReplaceOrder:
            context["side"] = self._sides.get(message.order_id)
        return self._through(message, context, stream)


class _SwitchedSession:
    """The participant's side of a switched session: `send` goes through FIX."""

    __slots__ = ("_switch", "_session", "_stream", "participant")

    def __init__(self, switch: FixSwitch, session: Any) -> None:
        self._switch = switch
        self._session = session
        self._stream = FixFramer()
        self.participant = session.participant

    def send(self, message: Any) -> None:
        self._session.send(self._switch._outbound(message, self._stream))


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (a StrEnum equals its string)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b))
    return bool(a == b)
