"""market.fix_switch: a scenario with lit, dark and dealer venues gives the same event log,
byte for byte, when every message of the routers' links goes through FIX; a codec that
loses something is caught (checked) or changes the log (unchecked)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from market.errors import HandlerFailed
from market.fix_codec import FixCodec
from market.fix_switch import FixSwitch, FixSwitchMismatch
from market.link import Latency
from market.messages import CancelOrder, ExecutionReport, L1Snapshot, NewOrder, Side
from scenarios import loader
from scenarios.loader import DEFAULT_SCENARIO, parse_scenario, run_scenario
from scenarios.scenario import Scenario

# Every kind of message the routers' links carry in this run (checked below).
ROUTER_LINK_KINDS = {"NewOrder", "CancelOrder", "QuoteRequest", "AcceptQuote",
                     "ExecutionReport", "CancelRejected", "Quote", "L1Snapshot", "L2Snapshot",
                     "BookUpdate", "TradePrint"}


@functools.cache
def _scenario() -> Scenario:
    """The default scenario, 30 s, plus a passive seller whose posts are canceled every
    half second (cancels that race fills give cancel rejects)."""
    text = (DEFAULT_SCENARIO.read_text()
            .replace("duration_s = 90", "duration_s = 30").replace("end_s = 85", "end_s = 28")
            .replace("cleanup_s = 10", "cleanup_s = 4")
            .replace("at_s = 40", "at_s = 10").replace("at_s = 60", "at_s = 20"))
    text += """
[[parent_orders]]
name = "PASSIVE"
side = "sell"
quantity = 8_000
start_s = 1
end_s = 28
urgency = 0.2
allocator = "ucb1"
[parent_orders.router]
slice_interval_s = 0.5
cleanup_s = 3
"""
    return parse_scenario(text, "switch.toml")


@functools.cache
def _plain_digest() -> str:
    return run_scenario(_scenario()).digest


def test_switch_event_log_is_identical_with_every_router_message_through_fix() -> None:
    switched = run_scenario(_scenario(), fix_switch=True)
    assert switched.digest == _plain_digest()
    kinds: dict[str, int] = {}
    venues = set()
    for switch in switched.built.fix_switches:
        venues.add(switch.name)
        for kind, count in switch.messages.items():
            kinds[kind] = kinds.get(kind, 0) + count
    assert venues == {"LIT1", "LIT2", "LIT3", "DARK1", "SDP1"}
    assert set(kinds) == ROUTER_LINK_KINDS, kinds
    assert sum(kinds.values()) > 5_000


class _FeeLosingCodec(FixCodec):
    """Loses every fill's fee on the way back. (This run's event log does not change for
    it -- the router's choices happen not to -- which is why the switch also compares
    each message.)"""

    def decode(self, fix: Any, **ids: Any) -> Any:
        message = super().decode(fix, **ids)
        return message._replace(fee=0) if type(message) is ExecutionReport else message


class _AskShiftingCodec(FixCodec):
    """Reads every top-of-book ask one tick high."""

    def decode(self, fix: Any, **ids: Any) -> Any:
        message = super().decode(fix, **ids)
        if type(message) is L1Snapshot and message.ask_price is not None:
            return message._replace(ask_price=message.ask_price + 1)
        return message


def test_switch_lossy_codec_unchecked_changes_the_event_log(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "FixCodec", _AskShiftingCodec)
    monkeypatch.setattr(loader, "FixSwitch", functools.partial(FixSwitch, checked=False))
    assert run_scenario(_scenario(), fix_switch=True).digest != _plain_digest()


def test_switch_lossy_codec_checked_stops_the_run_naming_the_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "FixCodec", _FeeLosingCodec)
    with pytest.raises(HandlerFailed) as caught:
        run_scenario(_scenario(), fix_switch=True)
    assert isinstance(caught.value.error, FixSwitchMismatch)
    assert "ExecutionReport changed going through FIX" in str(caught.value.error)


class _Venue:
    """A venue stand-in that records what arrives and lets the test reply."""

    name = "LIT1"

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.reply: Any = None

    def connect(self, participant: str, handler: Any, latency: Latency = Latency()) -> Any:
        self.reply = handler
        venue = self

        class Session:
            def __init__(self) -> None:
                self.participant = participant

            def send(self, message: Any) -> None:
                venue.received.append(message)

        return Session()

    def subscribe(self, subscriber: str, handler: Any, latency: Latency = Latency()) -> None:
        pass


def test_switch_cancel_carries_the_side_of_the_order_it_cancels() -> None:
    venue = _Venue()
    switch = FixSwitch(venue, FixCodec("SIM", "0.0001"))
    delivered: list[Any] = []
    session = switch.connect("SOR", delivered.append)
    order = NewOrder(5, "SOR", 7, Side.SELL, 100, 1_000_000)
    session.send(order)
    session.send(CancelOrder(6, "SOR", 7))
    assert venue.received == [order, CancelOrder(6, "SOR", 7)]
    assert switch.messages == {"NewOrder": 1, "CancelOrder": 1}
