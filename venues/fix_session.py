"""The FIX 4.4 session layer of an acceptor: logon, sequence numbers, heartbeats, resend.

Concept. Sans-IO: a `FixConnection` is one TCP connection, fed bytes (`data_received`) and
clock ticks (`tick`), writing bytes and closing through a `Transport`; the gateway
(`venues.fix_gateway`) owns the sockets. Until it logs on, a connection only frames bytes
and waits for a Logon; once logged on it is bound to the client's `FixSession`, which
lives as long as the acceptor (across reconnections) and keeps the client's sequence
numbers and sent messages in a `SessionStore`.

Logon. The first message must be a Logon (A) from a client CompID the acceptor knows
(SenderCompID 49), to the acceptor's CompID (TargetCompID 56), with the client's password
(Password 554) when it has one, EncryptMethod 0 and a HeartBtInt (108) of 1 to 3600 s;
anything else is refused with a Logout saying "logon refused" (never which check failed)
and the connection closed. A client already logged on on another connection is refused
the same way, and the first connection keeps running. ResetSeqNumFlag (141=Y) starts both
sequences again at 1. A Logon whose MsgSeqNum is too low is refused; one too high is
accepted and answered with a ResendRequest.

Inbound, in order (FIX 4.4 session rules): a frame with a bad CheckSum or BodyLength never
reaches the session (the framer drops it; the sequence gap it leaves is resent); a
wrong BeginString or CompID gets a Reject (SessionRejectReason 9 for the CompID) and a
Logout; a missing MsgSeqNum or SendingTime a Reject naming the tag. Then the sequence: a
MsgSeqNum above the next expected one queues the message (up to `max_queued`) and sends
one ResendRequest for the gap; below it, a PossDupFlag=Y message is ignored and any other
ends the session (Logout "MsgSeqNum too low"); the expected one is processed, then the
queued ones that follow it. Admin messages: Heartbeat (answers a TestRequest), TestRequest
(answered with its TestReqID), ResendRequest (answered below), SequenceReset (GapFill
moves the expected number up; Reset mode sets it), Logout (answered, then closed), Reject
(noted). Everything else goes to the application; a `FixDecodeError` from it becomes a
Reject (3) naming the tag (RefTagID, SessionRejectReason) or a BusinessMessageReject (j)
with its BusinessRejectReason. A message that cannot be read at all (a field that is not
tag=value) gets a Reject when its MsgSeqNum can be found, else counts as garbled. No
inbound problem ends the session except those the rules above name, and none touches
another session.

Outbound. Every message gets the next MsgSeqNum and SendingTime; application messages are
stored, admin messages are not. A ResendRequest is answered with the stored messages
again (PossDupFlag=Y, OrigSendingTime = their first SendingTime, the same MsgSeqNum) and,
for each run of admin messages (or anything no longer stored), one SequenceReset-GapFill.
While a client is disconnected its application messages are still numbered and stored,
so a reconnected client gets them by asking for a resend.

Heartbeats. `tick(now)` (the gateway calls it a few times a second): a Heartbeat when
nothing was sent for HeartBtInt; a TestRequest when nothing arrived for 1.2 x HeartBtInt;
a Logout ("heartbeat timeout") and close when that TestRequest is not answered within
another HeartBtInt. A connection that does not log on within `logon_timeout_ns`, or does
not answer our Logout within `logout_timeout_ns`, is closed.

Persistence. `SessionStore(directory)`: per session `<sender>--<target>.json` (the next
sequence numbers, rewritten in place by one write of a fixed width: a new file renamed over
the old one cost about 0.4 ms of CPU and 1.4 ms of the loop's time per save on ext4, 50
sessions a second) and `<sender>--<target>.messages` (the application
messages sent, appended in one write per `SessionRecord.flush`: the gateway flushes a
session's record once per turn of the loop, before that turn's bytes go to its socket, and
a resend, a save and a close flush it too). Sequence numbers are saved at logon, logout,
disconnection, when the acceptor stops and, while a session runs, on the first tick after
`save_interval_ns` (1 s); at load, the next outgoing number is at least one past the last
stored message, so only the inbound number can be behind after a crash (the client's
messages since the last save come again, as possible duplicates). `SessionStore(None)` keeps
everything in memory.

Known limits. No SendingTime accuracy check; no encryption; one FIX version (4.4); a
ClOrdID's uniqueness is for the application to check; the message file grows until a
sequence reset (141=Y) truncates it.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import simplefix  # type: ignore[import-untyped]

from market.fix_codec import FixDecodeError, format_timestamp
from market.fix_framing import FieldProblem, FixFramer, encode_message, frame_message, split_fields

__all__ = [
    "Application",
    "FixConnection",
    "FixSession",
    "SessionRecord",
    "SessionSettings",
    "SessionStore",
    "Transport",
]

_NS = 1_000_000_000
_ADMIN = frozenset((b"0", b"1", b"2", b"3", b"4", b"5", b"A"))
_SEQ_IN_RAW = re.compile(rb"\x0134=(\d{1,10})\x01")
_HEADER_TAGS = frozenset((b"49", b"56", b"34", b"52", b"43"))
_PRINTABLE = re.compile(rb"[\x21-\x7e]{1,64}")
_STATE_WIDTH = 96  # bytes of a saved .json state: two sequence numbers of up to 19 digits


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Application(Protocol):
    """What the session hands up: logons, application messages, logouts."""

    def on_logon(self, session: FixSession) -> None: ...

    def on_message(self, session: FixSession, message: simplefix.FixMessage) -> None: ...

    def on_logout(self, session: FixSession) -> None: ...


@dataclass(frozen=True)
class SessionSettings:
    """An acceptor's session rules: its CompID and the clients it knows."""

    comp_id: str
    clients: Mapping[str, str | None] = field(default_factory=lambda: {"CLIENT1": None})
    max_heartbeat_s: int = 3600
    logon_timeout_ns: int = 10 * _NS
    logout_timeout_ns: int = 2 * _NS
    max_queued: int = 10_000  # messages held above a sequence gap
    save_interval_ns: int = 1 * _NS  # sequence numbers saved at most this often on ticks

    def __post_init__(self) -> None:
        for name in (self.comp_id, *self.clients):
            if not name or not name.isprintable() or "\x01" in name or "=" in name:
                raise ValueError(f"CompID {name!r} cannot be written in FIX")


# --- the store --------------------------------------------------------------------------------


class SessionRecord:
    """One session's sequence numbers and the application messages it sent."""

    def __init__(self, json_path: Path | None, messages_path: Path | None) -> None:
        self._json_path = json_path
        self._messages_path = messages_path
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._saved = (0, 0)
        self._memory: dict[int, bytes] = {}
        self._index: dict[int, tuple[int, int]] = {}  # seq -> (offset, length) in the file
        self._size = 0
        self._file: Any = None
        self._unwritten: list[bytes] = []  # appended since the last `flush`
        self._state_file: int | None = None  # the .json file's descriptor, once saved
        self._state_size = 0  # its length
        self._reader: Any = None  # the .messages file opened for reading, once resent from
        if json_path is not None and json_path.exists():
            text = json_path.read_text()
            if text.strip():  # empty: created, never written (the messages file decides)
                state = json.loads(text)
                self.next_sender_seq = int(state["next_sender_seq"])
                self.next_target_seq = int(state["next_target_seq"])
        if messages_path is not None:
            if messages_path.exists():
                data = messages_path.read_bytes()
                offset = 0
                for frame in FixFramer().feed(data):
                    if isinstance(frame, bytes):
                        found = _SEQ_IN_RAW.search(frame)
                        if found:
                            self._index[int(found.group(1))] = (offset, len(frame))
                        offset += len(frame)
                    else:
                        offset += frame.dropped
                self._size = len(data)
                if self._index:
                    self.next_sender_seq = max(self.next_sender_seq, max(self._index) + 1)
            self._file = open(messages_path, "ab")
        self._saved = (self.next_sender_seq, self.next_target_seq)

    def append(self, seq: int, raw: bytes) -> None:
        """Keep a sent message for resends; it reaches the file at the next `flush`."""
        if self._file is None:
            self._memory[seq] = raw
            return
        self._unwritten.append(raw)
        self._index[seq] = (self._size, len(raw))
        self._size += len(raw)

    def flush(self) -> None:
        """Write the messages appended since the last flush to the file, in one write.
        The gateway flushes a session's record before the bytes its turn of the loop sent
        go to the socket, so a message the client can have read is already in the file."""
        unwritten = self._unwritten
        if unwritten:
            data = b"".join(unwritten) if len(unwritten) > 1 else unwritten[0]
            unwritten.clear()
            self._file.write(data)
            self._file.flush()

    def message(self, seq: int) -> bytes | None:
        if self._file is None:
            return self._memory.get(seq)
        where = self._index.get(seq)
        if where is None:
            return None
        self.flush()
        if self._reader is None:
            assert self._messages_path is not None
            self._reader = open(self._messages_path, "rb")
        self._reader.seek(where[0])
        data: bytes = self._reader.read(where[1])
        return data

    def reset(self) -> None:
        """Both sequences back to 1, the sent messages forgotten."""
        self.next_sender_seq = self.next_target_seq = 1
        self._memory.clear()
        self._index.clear()
        self._unwritten.clear()
        self._close_reader()
        if self._file is not None:
            self._file.close()
            assert self._messages_path is not None
            self._file = open(self._messages_path, "wb")
            self._size = 0
        self.save()

    def save(self) -> None:
        if self._file is not None:
            self.flush()
        state = (self.next_sender_seq, self.next_target_seq)
        if self._json_path is None or state == self._saved:
            return
        text = b'{"next_sender_seq": %d, "next_target_seq": %d}' % state
        # Padded with spaces (JSON ignores them) so that a shorter text overwrites a longer.
        text = text.ljust(_STATE_WIDTH - 1) + b"\n"
        if self._state_file is None:
            self._state_file = os.open(self._json_path, os.O_WRONLY | os.O_CREAT, 0o644)
            self._state_size = os.fstat(self._state_file).st_size
        written = os.pwrite(self._state_file, text, 0)
        if written != len(text):
            raise OSError(f"{self._json_path}: wrote {written} of {len(text)} bytes")
        if self._state_size > len(text):  # longer before (numbers wider than the width)
            os.ftruncate(self._state_file, len(text))
        self._state_size = len(text)
        self._saved = state

    def close(self) -> None:
        self.save()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._state_file is not None:
            os.close(self._state_file)
            self._state_file = None
        self._close_reader()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class SessionStore:
    """Session records in `directory` (created if needed), or in memory when None."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def open(self, sender: str, target: str) -> SessionRecord:
        if self.directory is None:
            return SessionRecord(None, None)
        stem = f"{quote(sender, safe='')}--{quote(target, safe='')}"
        return SessionRecord(self.directory / f"{stem}.json", self.directory / f"{stem}.messages")


# --- a client's session -------------------------------------------------------------------------


class FixSession:
    """One client's session with the acceptor, across its connections."""

    def __init__(self, settings: SessionSettings, client: str, record: SessionRecord,
                 now_ns: Callable[[], int], application: Application) -> None:
        self.settings = settings
        self.client = client
        self.record = record
        self.now_ns = now_ns
        self.application = application
        self.connection: FixConnection | None = None
        self.heartbeat_ns = 30 * _NS
        self.last_received_ns = 0
        self.last_sent_ns = 0
        self.test_request: tuple[bytes, int] | None = None  # (TestReqID, sent at)
        self.logout_sent_ns: int | None = None
        self._queued: dict[int, simplefix.FixMessage] = {}
        self._resend_requested = 0  # highest MsgSeqNum a ResendRequest already covers
        self._ours = settings.comp_id.encode()
        self._theirs = client.encode()
        self._header = b"49=%s\x0156=%s\x0134=" % (self._ours, self._theirs)
        self.rejects_sent = 0
        self.resent = 0
        self._saved_ns = 0

    @property
    def logged_on(self) -> bool:
        return self.connection is not None and self.logout_sent_ns is None

    # --- outbound ------------------------------------------------------------------------

    def send(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> int:
        """Number, stamp, store (application messages) and write a message; its MsgSeqNum.
        While the client is disconnected an application message is stored only."""
        return self.send_fields(msg_type, b"".join([b"%s=%s\x01" % pair for pair in body]))

    def send_fields(self, msg_type: bytes, fields: bytes) -> int:
        """`send` for a body already written as wire bytes (`tag=value|...|`, every field
        ending with SOH, as `FixCodec.encode_fields` gives it)."""
        record = self.record
        seq = record.next_sender_seq
        record.next_sender_seq = seq + 1
        now = self.now_ns()
        raw = frame_message(b"35=%s\x01%s%d\x0152=%s\x01%s" % (
            msg_type, self._header, seq, format_timestamp(now), fields))
        if msg_type not in _ADMIN:
            record.append(seq, raw)
        connection = self.connection
        if connection is not None:
            connection.transport.write(raw)
            self.last_sent_ns = now
        return seq

    def send_message(self, fix: simplefix.FixMessage) -> int:
        """A codec's FixMessage: its own header fields are replaced by the session's."""
        return self.send(fix.message_type, fix.pairs[fix.header_index:])

    def reject(self, message: simplefix.FixMessage, error: FixDecodeError) -> None:
        """The reject `error` asks for: a session Reject (3) or a BusinessMessageReject (j)."""
        self.rejects_sent += 1
        seq = message.get(34) or b"0"
        msg_type = message.message_type or b"?"
        text = str(error).encode("ascii", "replace").replace(b"\x01", b" ")
        if error.business_reject_reason is not None:
            body = [(b"45", seq), (b"372", msg_type)]
            reference = message.get(11) or message.get(131) or message.get(262)
            if reference is not None:
                body.append((b"379", reference))
            body += [(b"380", b"%d" % error.business_reject_reason), (b"58", text)]
            self.send(b"j", body)
            return
        body = [(b"45", seq)]
        if error.tag > 0:
            body.append((b"371", b"%d" % error.tag))
        reason = error.session_reject_reason
        body += [(b"372", msg_type), (b"373", b"%d" % (99 if reason is None else reason)),
                 (b"58", text)]
        self.send(b"3", body)

    def logout(self, text: str) -> None:
        """Send a Logout; the connection closes when the client answers or after
        `logout_timeout_ns`."""
        if self.connection is None or self.logout_sent_ns is not None:
            return
        self.send(b"5", [(b"58", text.encode("ascii", "replace"))])
        self.logout_sent_ns = self.now_ns()
        self.record.save()

    def _heartbeat(self, test_request_id: bytes | None = None) -> None:
        self.send(b"0", [] if test_request_id is None else [(b"112", test_request_id)])

    def _resend(self, begin: int, end: int) -> None:
        """Answer a ResendRequest for [begin, end] (end 0: up to the last sent)."""
        last = self.record.next_sender_seq - 1
        end = last if end == 0 or end > last else end
        now = format_timestamp(self.now_ns())
        connection = self.connection
        assert connection is not None
        gap_start: int | None = None
        seq = max(begin, 1)
        while seq <= end:
            stored = self.record.message(seq)
            if stored is None:
                if gap_start is None:
                    gap_start = seq
                seq += 1
                continue
            if gap_start is not None:
                connection.transport.write(self._gap_fill(gap_start, seq, now))
                gap_start = None
            connection.transport.write(self._possible_duplicate(stored, now))
            self.resent += 1
            seq += 1
        if gap_start is not None:
            connection.transport.write(self._gap_fill(gap_start, end + 1, now))
        self.last_sent_ns = self.now_ns()

    def _gap_fill(self, seq: int, new_seq: int, now: bytes) -> bytes:
        return encode_message(b"4", [(b"49", self._ours), (b"56", self._theirs),
                                     (b"34", b"%d" % seq), (b"43", b"Y"), (b"52", now)],
                              [(b"123", b"Y"), (b"36", b"%d" % new_seq)])

    def _possible_duplicate(self, stored: bytes, now: bytes) -> bytes:
        fields = split_fields(stored)
        assert not isinstance(fields, FieldProblem), fields
        pairs = fields.pairs  # 8 9 35 49 56 34 52 body... 10
        return encode_message(pairs[2][1], [(b"49", self._ours), (b"56", self._theirs),
                                            pairs[5], (b"43", b"Y"), (b"52", now),
                                            (b"122", pairs[6][1])], pairs[7:-1])

    # --- inbound -------------------------------------------------------------------------

    def receive(self, message: simplefix.FixMessage) -> None:
        """A framed message from the logged-on connection."""
        connection = self.connection
        assert connection is not None
        self.last_received_ns = self.now_ns()
        pairs = message.pairs
        if pairs[0] != (b"8", b"FIX.4.4") or len(pairs) < 4 or pairs[2][0] != b"35":
            self.logout("BeginString must be FIX.4.4, then BodyLength and MsgType")
            return
        header: dict[bytes, bytes] = dict(pairs)  # every tag once: the common case, in C
        if len(header) != len(pairs):  # a tag twice: a header tag's first value counts
            header = {}
            for tag, value in pairs[3:]:
                if tag in _HEADER_TAGS and tag not in header:
                    header[tag] = value
        if header.get(b"49") != self._theirs or header.get(b"56") != self._ours:
            bad = 49 if header.get(b"49") != self._theirs else 56
            self.reject(message, FixDecodeError(bad, "CompID is not this session's",
                                                session_reject_reason=9))
            self.logout("CompID problem")
            return
        seq_text = header.get(b"34")
        if seq_text is None or not seq_text.isdigit():
            self.reject(message, FixDecodeError(
                34, "required tag missing" if seq_text is None else "is not a number",
                session_reject_reason=1 if seq_text is None else 6))
            return
        seq = int(seq_text)
        if b"52" not in header:
            self.reject(message, FixDecodeError(52, "required tag missing",
                                                session_reject_reason=1))
            if seq == self.record.next_target_seq:
                self.record.next_target_seq = seq + 1
            return
        msg_type = message.message_type
        expected = self.record.next_target_seq
        if msg_type == b"4" and message.get(123) != b"Y":
            self._sequence_reset(message, seq)  # Reset mode: whatever the MsgSeqNum
            return
        if seq > expected:
            if msg_type == b"5":
                self._on_logout()
                return
            if len(self._queued) < self.settings.max_queued:
                self._queued[seq] = message
            if expected > self._resend_requested:
                self.send(b"2", [(b"7", b"%d" % expected), (b"16", b"0")])
                self._resend_requested = seq
            return
        if seq < expected:
            if header.get(b"43") != b"Y":
                self.logout(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        queued = self._queued
        if msg_type not in _ADMIN and not queued:  # the common case: `_process`, inline
            self.record.next_target_seq = seq + 1
            if self.logout_sent_ns is None:
                try:
                    self.application.on_message(self, message)
                except FixDecodeError as error:
                    self.reject(message, error)
            return
        self._process(message, seq)
        while queued and self.connection is not None and self.logout_sent_ns is None:
            expected = self.record.next_target_seq
            following = queued.pop(expected, None)
            if following is not None:
                self._process(following, expected)
                continue
            for passed in [s for s in queued if s < expected]:  # a gap fill jumped them
                del queued[passed]
            if expected not in queued:
                break

    def _process(self, message: simplefix.FixMessage, seq: int) -> None:
        """The message whose MsgSeqNum is the expected one."""
        record = self.record
        msg_type = message.message_type
        if msg_type not in _ADMIN:  # the common case first
            record.next_target_seq = seq + 1
            if self.logout_sent_ns is None:
                try:
                    self.application.on_message(self, message)
                except FixDecodeError as error:
                    self.reject(message, error)
            return
        if msg_type == b"4":
            self._sequence_reset(message, seq)
            return
        record.next_target_seq = seq + 1
        if msg_type == b"0":
            if self.test_request is not None and message.get(112) == self.test_request[0]:
                self.test_request = None
        elif msg_type == b"1":
            request_id = message.get(112)
            if request_id is None:
                self.reject(message, FixDecodeError(112, "required tag missing",
                                                    session_reject_reason=1))
            else:
                self._heartbeat(request_id)
        elif msg_type == b"2":
            begin, end = message.get(7), message.get(16)
            if begin is None or end is None or not begin.isdigit() or not end.isdigit():
                tag = 7 if begin is None or not begin.isdigit() else 16
                self.reject(message, FixDecodeError(tag, "required tag missing or not a number",
                                                    session_reject_reason=1))
            else:
                self._resend(int(begin), int(end))
        elif msg_type == b"5":
            self._on_logout()
        elif msg_type == b"3":
            pass  # the client rejected one of ours: nothing to undo
        elif msg_type == b"A":
            self.reject(message, FixDecodeError(35, "already logged on", session_reject_reason=5))

    def _sequence_reset(self, message: simplefix.FixMessage, seq: int) -> None:
        """SequenceReset: in GapFill mode (its MsgSeqNum the expected one) NewSeqNo must be
        above its own MsgSeqNum, else it is rejected and counts as one message; in Reset
        mode (any MsgSeqNum) NewSeqNo may not go below the expected number."""
        record = self.record
        gap_fill = message.get(123) == b"Y"
        new_seq = message.get(36)
        if new_seq is None or not new_seq.isdigit():
            if gap_fill:
                record.next_target_seq = seq + 1
            self.reject(message, FixDecodeError(36, "required tag missing or not a number",
                                                session_reject_reason=1))
            return
        target = int(new_seq)
        if gap_fill and target <= seq:
            record.next_target_seq = seq + 1
            self.reject(message, FixDecodeError(
                36, f"NewSeqNo {target} is not above the message's MsgSeqNum {seq}",
                session_reject_reason=5))
            return
        if target < record.next_target_seq:
            self.reject(message, FixDecodeError(
                36, f"NewSeqNo {target} is below the expected {record.next_target_seq}",
                session_reject_reason=5))
            return
        record.next_target_seq = target

    def _on_logout(self) -> None:
        if self.logout_sent_ns is None:
            self.send(b"5", [])
        self.close()

    # --- time ----------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        if self.connection is None:
            return
        if self.logout_sent_ns is not None:
            if now - self.logout_sent_ns >= self.settings.logout_timeout_ns:
                self.close()
            return
        interval = self.heartbeat_ns
        if self.test_request is not None:
            if now - self.test_request[1] >= interval:
                self.logout("heartbeat timeout")
            return
        if now - self.last_received_ns >= interval + interval // 5:
            request_id = b"TEST-%d" % now
            self.test_request = (request_id, now)
            self.send(b"1", [(b"112", request_id)])
        elif now - self.last_sent_ns >= interval:
            self._heartbeat()
        if now - self._saved_ns >= self.settings.save_interval_ns:
            self._saved_ns = now
            self.record.save()

    # --- connection ------------------------------------------------------------------------

    def attach(self, connection: FixConnection, heartbeat_s: int) -> None:
        self.connection = connection
        self.heartbeat_ns = heartbeat_s * _NS
        self.last_received_ns = self.last_sent_ns = self.now_ns()
        self.test_request = None
        self.logout_sent_ns = None
        self._queued.clear()
        self._resend_requested = 0

    def close(self) -> None:
        """End the connection (the session stays, for the next logon)."""
        connection = self.connection
        if connection is None:
            return
        self.connection = None
        self.record.save()
        connection.close()
        self.application.on_logout(self)


# --- one connection ---------------------------------------------------------------------------


class FixConnection:
    """One TCP connection: frames bytes, takes a Logon, then feeds its client's session."""

    def __init__(self, sessions: Callable[[str], FixSession | None], settings: SessionSettings,
                 transport: Transport, now_ns: Callable[[], int]) -> None:
        self._sessions = sessions
        self.settings = settings
        self.transport = transport
        self.now_ns = now_ns
        self.framer = FixFramer()
        self.session: FixSession | None = None
        self.opened_ns = now_ns()
        self.closed = False
        self.frames = 0  # whole, verified frames read
        self.garbled = 0  # frames dropped or unreadable

    def data_received(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            if self.closed:
                return
            if type(item) is bytes:
                self.frames += 1
                fields = split_fields(item)
                session = self.session
                if session is not None and type(fields) is not FieldProblem:
                    session.receive(fields)  # the common case, without a call to `_frame`
                else:
                    self._frame(item, fields)
            else:
                self.garbled += 1  # FIX: a garbled message is ignored, as if never sent

    def _frame(self, frame: bytes, fields: simplefix.FixMessage | FieldProblem) -> None:
        session = self.session
        if isinstance(fields, FieldProblem):
            self.garbled += 1
            found = _SEQ_IN_RAW.search(frame)
            if session is not None and found and int(found.group(1)) == \
                    session.record.next_target_seq:
                session.record.next_target_seq += 1
                message = simplefix.FixMessage()
                message.pairs = [(b"34", found.group(1))]
                type_found = re.search(rb"\x0135=([^\x01]{1,4})\x01", frame)
                message.message_type = type_found.group(1) if type_found else b"?"
                session.reject(message, FixDecodeError(0, fields.reason, session_reject_reason=0))
            return
        if session is None:
            self._logon(fields)
        else:
            session.receive(fields)

    def _logon(self, message: simplefix.FixMessage) -> None:
        if message.message_type != b"A":
            self.close()  # FIX: the first message must be a Logon; no Logout, just close
            return
        fields: dict[bytes, bytes] = {}
        for tag, value in message.pairs:
            fields.setdefault(tag, value)
        client = fields.get(b"49", b"").decode("utf-8", "replace")
        known = client in self.settings.clients
        password = self.settings.clients.get(client)
        heartbeat = fields.get(b"108", b"")
        seq_text = fields.get(b"34", b"")
        session = self._sessions(client) if known else None
        accepted = (
            session is not None and fields.get(b"8") == b"FIX.4.4"
            and fields.get(b"56") == self.settings.comp_id.encode()
            and (password is None or hmac.compare_digest(fields.get(b"554", b""),
                                                         password.encode()))
            and fields.get(b"98", b"0") == b"0"
            and heartbeat.isdigit() and 1 <= int(heartbeat) <= self.settings.max_heartbeat_s
            and seq_text.isdigit()
        )
        if not accepted or session is None:
            self._refuse(fields, "logon refused")
            return
        if session.connection is not None:
            self._refuse(fields, "logon refused: the session is already logged on")
            return
        reset = fields.get(b"141") == b"Y"
        if reset:
            session.record.reset()
        seq = int(seq_text)
        expected = session.record.next_target_seq
        if seq < expected:
            self._refuse(fields, f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        self.session = session
        session.attach(self, int(heartbeat))
        body = [(b"98", b"0"), (b"108", heartbeat)]
        if reset:
            body.append((b"141", b"Y"))
        session.send(b"A", body)
        if seq == expected:
            session.record.next_target_seq = seq + 1
        else:
            session.send(b"2", [(b"7", b"%d" % expected), (b"16", b"0")])
            session._resend_requested = seq
        session.record.save()
        session.application.on_logon(session)

    def _refuse(self, fields: dict[bytes, bytes], text: str) -> None:
        target = fields.get(b"49", b"")
        if _PRINTABLE.fullmatch(target):
            self.transport.write(encode_message(
                b"5", [(b"49", self.settings.comp_id.encode()), (b"56", target), (b"34", b"1"),
                       (b"52", format_timestamp(self.now_ns()))], [(b"58", text.encode())]))
        self.close()

    def tick(self, now: int) -> None:
        if self.closed:
            return
        if self.session is None:
            if now - self.opened_ns >= self.settings.logon_timeout_ns:
                self.close()
            return
        self.session.tick(now)

    def connection_lost(self) -> None:
        """The peer went away (or we closed)."""
        session = self.session
        if session is not None and session.connection is self:
            session.close()
        self.closed = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        session = self.session
        if session is not None and session.connection is self:
            session.close()
        self.transport.close()
