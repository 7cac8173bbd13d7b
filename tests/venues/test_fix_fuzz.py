"""A hypothesis fuzz of the FIX parser and session (a modest number of examples here;
`python bench/fix_fuzz.py --messages 100000` runs the long one).

Valid messages of every kind the gateway takes, mutated -- values replaced by any bytes,
fields dropped, repeated or renumbered, MsgType changed, bytes flipped after the CheckSum
was computed, messages cut short, garbage in between, BodyLength or MsgSeqNum wrong -- go
through the framer, the field splitter and the codec, where the only outcomes allowed are a
message, a dropped frame, a `FieldProblem` or a `FixDecodeError`; and through a gateway
session in front of a real venue, where no exception may escape, the gateway counts no
internal error, and a valid order sent afterwards is still acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.clock import current_clock, run
from market.fix_codec import FixDecodeError
from market.fix_corpus import CODEC, STAMP
from market.fix_corpus import EVERY_KIND as ALL_KINDS
from market.fix_corpus import GATEWAY_BOUND as TEMPLATES
from market.fix_framing import FieldProblem, FixFramer, FramingProblem, encode_message, split_fields
from venues.fix_gateway import FixGateway
from venues.fix_session import FixConnection
from venues.lit_exchange import LitExchange

# Random bytes, and values that look almost right (random bytes seldom do).
values = st.one_of(
    st.binary(min_size=1, max_size=24).filter(lambda v: b"\x01" not in v),
    st.sampled_from([b"\xff\xfe: invalid_quantity: \xc3", b"aggressor=up", b"-1", b"0",
                     b"99999999999999999999", b"1e9", b"19700101-00:00:00.1234567890"]))
tags = st.one_of(st.integers(1, 1000).map(lambda t: b"%d" % t),
                 st.sampled_from([b"0", b"007", b"-1", b"x", b"99999999999", b"1e3"]))


@st.composite
def mutations(draw: st.DrawFn, templates: list[Any] = TEMPLATES) -> dict[str, Any]:
    """A template and what to do to it (applied once its MsgSeqNum is known)."""
    msg_type, body = draw(st.sampled_from(templates))
    body = list(body)
    kind = draw(st.sampled_from(["none", "value", "drop", "repeat", "tag", "type", "flip",
                                 "cut", "garbage", "length", "seq", "comp"]))
    plan: dict[str, Any] = {"kind": kind, "seq_offset": 0, "sender": b"CLIENT1"}
    if body and kind in ("value", "drop", "repeat", "tag"):
        index = draw(st.integers(0, len(body) - 1))
        if kind == "value":
            body[index] = (body[index][0], draw(values))
        elif kind == "drop":
            del body[index]
        elif kind == "repeat":
            body.insert(index, body[index])
        else:
            body[index] = (draw(tags), body[index][1])
    elif kind == "type":
        msg_type = draw(values)
    elif kind in ("flip", "cut"):
        plan["at"] = draw(st.integers(0, 400))
        plan["byte"] = draw(st.integers(1, 255))
    elif kind == "garbage":
        plan["garbage"] = draw(st.binary(max_size=64))
    elif kind == "seq":
        plan["seq_offset"] = draw(st.sampled_from([-3, -1, 1, 2, 50]))
    elif kind == "comp":
        plan["sender"] = draw(st.sampled_from([b"CLIENT2", b"X", b"client1"]))
    plan.update(msg_type=msg_type, body=body)
    return plan


def build(plan: dict[str, Any], seq: int) -> bytes:
    """The wire bytes of a planned message sent as MsgSeqNum `seq`."""
    data = encode_message(plan["msg_type"], [
        (b"49", plan["sender"]), (b"56", b"LIT1"), (b"34", b"%d" % (seq + plan["seq_offset"])),
        (b"52", STAMP)], plan["body"])
    kind = plan["kind"]
    if kind == "flip":
        at = plan["at"] % len(data)
        data = data[:at] + bytes([data[at] ^ plan["byte"]]) + data[at + 1:]
    elif kind == "cut":
        data = data[:plan["at"] % len(data)]
    elif kind == "garbage":
        data = plan["garbage"] + data
    elif kind == "length":
        data = data.replace(b"\x019=", b"\x019=1", 1)
    return data


@settings(max_examples=300, deadline=None)
@given(st.lists(mutations(ALL_KINDS), min_size=1, max_size=8), st.binary(max_size=200))
def test_fuzz_parser_and_codec_only_ever_answer_with_their_own_outcomes(
        plans: list[dict[str, Any]], noise: bytes) -> None:
    framer = FixFramer()
    stream = noise + b"".join(build(plan, seq) for seq, plan in enumerate(plans, 2))
    for item in framer.feed(stream):
        if isinstance(item, FramingProblem):
            continue
        fields = split_fields(item)
        if isinstance(fields, FieldProblem):
            continue
        try:
            CODEC.decode(fields)
        except FixDecodeError:
            pass


class _Wire:
    def __init__(self) -> None:
        self.framer = FixFramer()
        self.out: list[dict[bytes, bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        for frame in self.framer.feed(data):
            assert isinstance(frame, bytes), frame  # the gateway only writes whole messages
            fields = split_fields(frame)
            assert not isinstance(fields, FieldProblem), fields
            self.out.append(dict(fields.pairs))

    def close(self) -> None:
        self.closed = True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations(), min_size=1, max_size=12))
def test_fuzz_gateway_session_survives_mutated_messages(plans: list[dict[str, Any]]) -> None:
    problems: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: problems.append(context))
        clock = current_clock()
        gateway = FixGateway(LitExchange("LIT1", clock, tick_size=100, lot_size=100),
                             CODEC, clients={"CLIENT1": None})
        state = {"seq": 1}

        def connect() -> tuple[FixConnection, _Wire]:
            wire = _Wire()
            connection = FixConnection(gateway._session_of, gateway.settings, wire,
                                       clock.now_ns)
            connection.data_received(encode_message(b"A", [
                (b"49", b"CLIENT1"), (b"56", b"LIT1"), (b"34", b"1"), (b"52", STAMP)],
                [(b"98", b"0"), (b"108", b"30"), (b"141", b"Y")]))
            state["seq"] = 2
            return connection, wire

        session = gateway.sessions["CLIENT1"]
        connection, wire = connect()
        answers: list[dict[bytes, bytes]] = []

        async def send(data: bytes, offset: int = 0) -> None:
            """Send, let the venue answer, fill any gap the gateway asks about, as any
            client would, and keep in step with what the session expects (a fuzzed
            SequenceReset may have moved it on)."""
            sent = state["seq"] + offset  # the MsgSeqNum the message carries
            connection.data_received(data)
            state["seq"] = max(state["seq"] + 1, sent + 1)
            await asyncio.sleep(1e-6)  # the venue's replies, through its links
            for message in wire.out:
                # Fill the gap up to the message just sent (which the gateway holds).
                if message.get(b"35") == b"2" and not connection.closed \
                        and int(message[b"7"]) < sent:
                    connection.data_received(encode_message(b"4", [
                        (b"49", b"CLIENT1"), (b"56", b"LIT1"), (b"34", message[b"7"]),
                        (b"43", b"Y"), (b"52", STAMP)],
                        [(b"123", b"Y"), (b"36", b"%d" % sent)]))
                    await asyncio.sleep(1e-6)
            answers.extend(wire.out)
            wire.out.clear()
            state["seq"] = max(state["seq"], session.record.next_target_seq)

        for plan in plans:
            if connection.closed or not session.logged_on:
                connection.close()
                connection, wire = connect()
            await send(build(plan, state["seq"]), plan["seq_offset"])
        if connection.closed or not session.logged_on:
            connection.close()
            connection, wire = connect()
        answers.clear()
        await send(encode_message(b"D", [
            (b"49", b"CLIENT1"), (b"56", b"LIT1"), (b"34", b"%d" % state["seq"]),
            (b"52", STAMP)], [(b"11", b"final"), (b"55", b"SIM"), (b"54", b"1"),
                              (b"60", STAMP), (b"38", b"100"), (b"40", b"2"),
                              (b"44", b"99.0000")]))
        answers.extend(wire.out)
        assert gateway.internal_errors == 0
        final = [m for m in answers if m.get(b"11") == b"final"]
        assert final and final[0][b"150"] in (b"0", b"8"), answers

    run(main())
    assert not problems, problems
