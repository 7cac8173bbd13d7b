"""venues.fix_session, sans IO: bytes in, bytes out, a manual clock. Logon checks, sequence
gaps and resends both ways, dropped frames, heartbeats and their timeout, rejects naming
the tag, and sequence numbers that survive a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from market.fix_codec import FixDecodeError, format_timestamp
from market.fix_framing import FixFramer, encode_message, split_fields
from venues.fix_session import FixConnection, FixSession, SessionSettings, SessionStore

S = 1_000_000_000
START = 1_700_000_000 * S


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


class Wire:
    """The transport: what the acceptor wrote, as parsed messages."""

    def __init__(self) -> None:
        self.framer = FixFramer()
        self.messages: list[Any] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        for frame in self.framer.feed(data):
            assert isinstance(frame, bytes), frame
            self.messages.append(split_fields(frame))

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[dict[int, bytes]]:
        """What was written since the last take, each as {tag: first value}, with 35."""
        out = []
        for message in self.messages:
            fields: dict[int, bytes] = {}
            for tag, value in message.pairs:
                fields.setdefault(int(tag), value)
            out.append(fields)
        self.messages = []
        return out


class App:
    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []  # (client, ClOrdID)
        self.logons: list[str] = []
        self.logouts: list[str] = []
        self.raise_error: FixDecodeError | None = None

    def on_logon(self, session: FixSession) -> None:
        self.logons.append(session.client)

    def on_message(self, session: FixSession, message: Any) -> None:
        if self.raise_error is not None:
            raise self.raise_error
        self.received.append((session.client, message.get(11)))
        session.send(b"8", [(b"11", message.get(11)), (b"150", b"0")])

    def on_logout(self, session: FixSession) -> None:
        self.logouts.append(session.client)


class Acceptor:
    """Sessions for clients C1 (no password) and C2 (password "secret")."""

    def __init__(self, directory: Path | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.app = App()
        self.settings = SessionSettings("VENUE", {"C1": None, "C2": "secret"})
        self.store = SessionStore(directory)
        self.sessions = {c: FixSession(self.settings, c, self.store.open("VENUE", c),
                                       self.clock, self.app) for c in self.settings.clients}

    def connect(self) -> tuple[FixConnection, Wire]:
        wire = Wire()
        return FixConnection(self.sessions.get, self.settings, wire, self.clock), wire


def message(msg_type: bytes, seq: int, body: list[tuple[bytes, bytes]] | None = None, *,
            sender: bytes = b"C1", target: bytes = b"VENUE",
            header: list[tuple[bytes, bytes]] | None = None) -> bytes:
    return encode_message(msg_type, [(b"49", sender), (b"56", target), (b"34", b"%d" % seq),
                                     (b"52", format_timestamp(START)), *(header or [])],
                          body or [])


def logon(seq: int = 1, heartbeat: bytes = b"30", **kwargs: Any) -> bytes:
    body = [(b"98", b"0"), (b"108", heartbeat), *kwargs.pop("extra", [])]
    return message(b"A", seq, body, **kwargs)


def order(seq: int, cl_ord_id: bytes, **kwargs: Any) -> bytes:
    return message(b"D", seq, [(b"11", cl_ord_id)], **kwargs)


def logged_on(acceptor: Acceptor) -> tuple[FixConnection, Wire]:
    connection, wire = acceptor.connect()
    connection.data_received(logon())
    (reply,) = wire.take()
    assert reply[35] == b"A"
    return connection, wire


# --- logon -----------------------------------------------------------------------------------


def test_session_logon_accepted_answers_logon_with_the_heartbeat_interval() -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    connection.data_received(logon(heartbeat=b"7"))
    (reply,) = wire.take()
    assert (reply[35], reply[49], reply[56], reply[34], reply[108]) == (b"A", b"VENUE", b"C1",
                                                                         b"1", b"7")
    assert acceptor.app.logons == ["C1"] and acceptor.sessions["C1"].logged_on


@pytest.mark.parametrize("data", [
    logon(sender=b"STRANGER"),
    logon(sender=b"C2"),  # C2 needs its password
    logon(sender=b"C2", extra=[(b"554", b"guess")]),
    logon(target=b"OTHER"),
    logon(heartbeat=b"0"),
    logon(heartbeat=b"x"),
])
def test_session_logon_unknown_or_wrong_is_refused_with_a_logout(data: bytes) -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    connection.data_received(data)
    replies = wire.take()
    assert [r[35] for r in replies] in ([b"5"], [])
    assert all(r[58] == b"logon refused" for r in replies)
    assert wire.closed and not acceptor.app.logons


def test_session_logon_with_password_is_accepted() -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    connection.data_received(logon(sender=b"C2", extra=[(b"554", b"secret")]))
    assert [r[35] for r in wire.take()] == [b"A"]


def test_session_first_message_not_a_logon_closes_without_reply() -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    connection.data_received(order(1, b"o1"))
    assert wire.take() == [] and wire.closed


def test_session_second_logon_of_a_logged_on_client_is_refused_first_keeps_running() -> None:
    acceptor = Acceptor()
    first, first_wire = logged_on(acceptor)
    second, second_wire = acceptor.connect()
    second.data_received(logon())
    assert second_wire.closed and [r[58] for r in second_wire.take()] == [
        b"logon refused: the session is already logged on"]
    first.data_received(order(2, b"o1"))
    assert acceptor.app.received == [("C1", b"o1")] and not first_wire.closed


def test_session_logon_not_in_time_closes_the_connection() -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    acceptor.clock.now += 9 * S
    connection.tick(acceptor.clock.now)
    assert not wire.closed
    acceptor.clock.now += 1 * S
    connection.tick(acceptor.clock.now)
    assert wire.closed


# --- sequence numbers --------------------------------------------------------------------------


def test_session_sequence_gap_asks_for_a_resend_and_processes_in_order() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(order(2, b"o2"))
    connection.data_received(order(4, b"o4"))  # 3 went missing
    connection.data_received(order(5, b"o5"))
    resend = [r for r in wire.take() if r[35] == b"2"]
    assert len(resend) == 1 and (resend[0][7], resend[0][16]) == (b"3", b"0")
    assert acceptor.app.received == [("C1", b"o2")]
    connection.data_received(order(3, b"o3", header=[(b"43", b"Y")]))  # the resend
    assert [c for _, c in acceptor.app.received] == [b"o2", b"o3", b"o4", b"o5"]
    assert acceptor.sessions["C1"].record.next_target_seq == 6


def test_session_gap_fill_from_the_client_moves_past_its_admin_messages() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(order(5, b"o5"))  # 2..4 missing: ResendRequest
    connection.data_received(message(b"4", 2, [(b"123", b"Y"), (b"36", b"5")],
                                     header=[(b"43", b"Y")]))
    assert [c for _, c in acceptor.app.received] == [b"o5"]
    assert acceptor.sessions["C1"].record.next_target_seq == 6


def test_session_gap_fill_not_above_its_own_number_is_rejected_and_counted() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(message(b"4", 2, [(b"123", b"Y"), (b"36", b"2")]))  # found by fuzz
    (reject,) = wire.take()
    assert (reject[35], reject[371], reject[373]) == (b"3", b"36", b"5")
    connection.data_received(order(3, b"o3"))
    assert acceptor.app.received == [("C1", b"o3")]


def test_session_sequence_too_low_without_poss_dup_logs_out() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(order(2, b"o2"))
    wire.take()
    connection.data_received(order(2, b"again"))
    (logout,) = wire.take()
    assert logout[35] == b"5" and logout[58] == b"MsgSeqNum too low, expecting 3 but received 2"
    connection.data_received(order(2, b"dup", header=[(b"43", b"Y")]))
    assert [c for _, c in acceptor.app.received] == [b"o2"]


def test_session_resend_request_replays_stored_messages_and_gap_fills_admin() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)  # our seq 1: Logon
    connection.data_received(order(2, b"o2"))  # our seq 2: report
    connection.data_received(message(b"1", 3, [(b"112", b"ping")]))  # our seq 3: Heartbeat
    connection.data_received(order(4, b"o4"))  # our seq 4: report
    first = wire.take()
    assert [r[35] for r in first] == [b"8", b"0", b"8"]
    connection.data_received(message(b"2", 5, [(b"7", b"1"), (b"16", b"0")]))
    replay = wire.take()
    assert [(r[35], r[34]) for r in replay] == [(b"4", b"1"), (b"8", b"2"), (b"4", b"3"),
                                                 (b"8", b"4")]
    assert all(r[43] == b"Y" for r in replay)
    assert (replay[0][123], replay[0][36]) == (b"Y", b"2")
    assert replay[1][122] == first[0][52] and replay[1][11] == b"o2"
    assert replay[3][11] == b"o4"


def test_session_reset_seq_num_flag_starts_both_sequences_again() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(order(2, b"o2"))
    connection.data_received(message(b"5", 3))
    assert wire.closed
    again, again_wire = acceptor.connect()
    again.data_received(logon(1, extra=[(b"141", b"Y")]))
    (reply,) = again_wire.take()
    assert (reply[35], reply[34], reply[141]) == (b"A", b"1", b"Y")


def test_session_logon_with_a_high_sequence_number_is_answered_with_a_resend_request() -> None:
    acceptor = Acceptor()
    connection, wire = acceptor.connect()
    connection.data_received(logon(4))
    replies = wire.take()
    assert [r[35] for r in replies] == [b"A", b"2"] and replies[1][7] == b"1"


# --- bad input ---------------------------------------------------------------------------------


def test_session_bad_checksum_is_dropped_and_the_resent_message_is_processed() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    good = order(2, b"o2")
    bad = good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256)
    connection.data_received(bad)
    assert acceptor.app.received == [] and wire.take() == []
    assert connection.garbled == 1
    connection.data_received(good)
    assert acceptor.app.received == [("C1", b"o2")]


def test_session_bad_body_length_is_dropped_the_next_message_shows_the_gap() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    good = order(2, b"o2")
    bad = good.replace(b"9=", b"9=9", 1)
    connection.data_received(bad + order(3, b"o3"))
    assert acceptor.app.received == []
    assert [r[35] for r in wire.take()] == [b"2"]  # ResendRequest for 2
    connection.data_received(order(2, b"o2", header=[(b"43", b"Y")]))
    assert [c for _, c in acceptor.app.received] == [b"o2", b"o3"]


def test_session_garbage_bytes_are_skipped_and_the_session_goes_on() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(b"\x00\x01\x02 GET / HTTP/1.0\r\n\r\n 8=FIX.4.4\x019=abc\x01")
    connection.data_received(order(2, b"o2"))
    assert acceptor.app.received == [("C1", b"o2")] and not wire.closed


def test_session_application_decode_error_is_a_reject_naming_the_tag() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    acceptor.app.raise_error = FixDecodeError(54, "required tag missing", session_reject_reason=1)
    connection.data_received(order(2, b"o2"))
    (reject,) = wire.take()
    assert (reject[35], reject[45], reject[371], reject[372], reject[373]) == (
        b"3", b"2", b"54", b"D", b"1")
    assert b"tag 54 (Side)" in reject[58]
    acceptor.app.raise_error = FixDecodeError(55, "unknown symbol 'X'", business_reject_reason=2)
    connection.data_received(order(3, b"o3"))
    (business,) = wire.take()
    assert (business[35], business[45], business[379], business[380]) == (b"j", b"3", b"o3", b"2")
    acceptor.app.raise_error = None
    connection.data_received(order(4, b"o4"))
    assert acceptor.app.received == [("C1", b"o4")]


def test_session_unreadable_field_with_a_sequence_number_gets_a_reject() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    bad = encode_message(b"D", [(b"49", b"C1"), (b"56", b"VENUE"), (b"34", b"2"),
                                (b"52", format_timestamp(START))], [(b"x1", b"y")])
    connection.data_received(bad)
    (reject,) = wire.take()
    assert (reject[35], reject[45], reject[373]) == (b"3", b"2", b"0")
    connection.data_received(order(3, b"o3"))
    assert acceptor.app.received == [("C1", b"o3")]


def test_session_wrong_comp_id_after_logon_is_rejected_and_logged_out() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(order(2, b"o2", sender=b"C2"))
    replies = wire.take()
    assert [(r[35], r.get(373)) for r in replies] == [(b"3", b"9"), (b"5", None)]
    assert acceptor.app.received == []


def test_session_missing_sequence_number_is_a_reject_naming_tag_34() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    connection.data_received(encode_message(b"D", [(b"49", b"C1"), (b"56", b"VENUE"),
                                                   (b"52", format_timestamp(START))],
                                            [(b"11", b"o")]))
    (reject,) = wire.take()
    assert (reject[35], reject[371], reject[373]) == (b"3", b"34", b"1")


# --- heartbeats --------------------------------------------------------------------------------


def test_session_heartbeat_when_quiet_and_test_request_answered() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    acceptor.clock.now += 30 * S
    connection.data_received(message(b"0", 2))  # the client's own heartbeat
    connection.tick(acceptor.clock.now)
    assert [r[35] for r in wire.take()] == [b"0"]
    connection.data_received(message(b"1", 3, [(b"112", b"are you there")]))
    (answer,) = wire.take()
    assert (answer[35], answer[112]) == (b"0", b"are you there")


def test_session_heartbeat_timeout_sends_test_request_then_logs_out_and_closes() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    clock = acceptor.clock
    clock.now += 35 * S  # 1.2 x 30 s not yet passed: a heartbeat only
    connection.tick(clock.now)
    assert [r[35] for r in wire.take()] == [b"0"]
    clock.now += 1 * S
    connection.tick(clock.now)
    (test_request,) = wire.take()
    assert test_request[35] == b"1"
    clock.now += 30 * S
    connection.tick(clock.now)
    (logout,) = wire.take()
    assert (logout[35], logout[58]) == (b"5", b"heartbeat timeout")
    assert not wire.closed
    clock.now += 2 * S
    connection.tick(clock.now)
    assert wire.closed and acceptor.app.logouts == ["C1"]


def test_session_answered_test_request_keeps_the_session() -> None:
    acceptor = Acceptor()
    connection, wire = logged_on(acceptor)
    acceptor.clock.now += 36 * S
    connection.tick(acceptor.clock.now)
    (test_request,) = [r for r in wire.take() if r[35] == b"1"]
    connection.data_received(message(b"0", 2, [(b"112", test_request[112])]))
    acceptor.clock.now += 30 * S
    connection.tick(acceptor.clock.now)
    assert all(r[35] != b"5" for r in wire.take()) and not wire.closed


# --- persistence ---------------------------------------------------------------------------------


def test_session_sequence_numbers_and_messages_survive_a_restart(tmp_path: Path) -> None:
    acceptor = Acceptor(tmp_path)
    connection, wire = logged_on(acceptor)
    connection.data_received(order(2, b"o2"))
    connection.data_received(order(3, b"o3"))
    connection.connection_lost()  # saved at disconnection
    restarted = Acceptor(tmp_path, acceptor.clock)
    record = restarted.sessions["C1"].record
    assert (record.next_sender_seq, record.next_target_seq) == (4, 4)
    connection, wire = restarted.connect()
    connection.data_received(logon(4))
    connection.data_received(message(b"2", 5, [(b"7", b"2"), (b"16", b"3")]))
    replies = wire.take()
    assert [(r[35], r.get(11)) for r in replies] == [(b"A", None), (b"8", b"o2"), (b"8", b"o3")]
    assert replies[0][34] == b"4"


def test_session_record_saved_in_place_reads_back_after_numbers_shrink(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    record = store.open("LIT1", "C1")
    record.next_sender_seq, record.next_target_seq = 123_456_789, 987_654_321
    record.save()
    record.next_sender_seq = 10**60  # wider than the padded width
    record.save()
    record.close()
    record = store.open("LIT1", "C1")
    assert (record.next_sender_seq, record.next_target_seq) == (10**60, 987_654_321)
    record.append(7, order(7, b"o7"))  # a sent message: written at the next flush or save
    record.reset()  # both back to 1: a shorter text over the longer one
    record.next_target_seq = 5
    record.save()
    record.close()
    again = store.open("LIT1", "C1")
    assert (again.next_sender_seq, again.next_target_seq) == (1, 5)
    assert again.message(7) is None  # the reset forgot it
    again.close()


def test_session_record_with_an_empty_state_file_takes_the_messages_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    record = store.open("LIT1", "C1")
    record.next_sender_seq = 8
    record.append(7, order(7, b"o7"))
    record.close()
    (tmp_path / "LIT1--C1.json").write_text("")  # created, never written (a crash)
    again = store.open("LIT1", "C1")
    assert (again.next_sender_seq, again.next_target_seq) == (8, 1)
    assert again.message(7) == order(7, b"o7")
    again.close()
