"""`sorsim serve`: the scenario's venues live behind FIX gateways, one line per venue at
start; an outside client logs on with the scenario's CompID and password and trades; SIGTERM
logs it out, stops the market and writes the event log (its trailer's digest included).
The scenario's router trades over FIX sessions too.

The server is a real subprocess; every wait is bounded."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson

from market.fix_codec import format_timestamp
from market.fix_framing import FixFramer, encode_message, split_fields

SCENARIO = """
duration_s = 60
[[agents]]
name = "noise"
type = "noise"
count = 3
rate = 1.0
[[agents]]
name = "mm"
type = "market-maker"
count = 1
[[parent_orders]]
name = "SOR"
side = "buy"
quantity = 20_000
start_s = 0
end_s = 20
allocator = "ucb1"
[parent_orders.router]
slice_interval_s = 0.2
[fix]
symbol = "ACME"
clients = [{comp_id = "DESK", password = "s3cret"}]
"""
LINE = re.compile(r"^fix (\S+) (127\.0\.0\.1):(\d+) TargetCompID=(\S+)$")


def _read_lines(process: subprocess.Popen[bytes], count: int, timeout: float) -> list[str]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    buffer = b""
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {lines} within {timeout} s"
        if not selector.select(left):
            continue
        chunk = os.read(process.stdout.fileno(), 4096)
        assert chunk, f"the server ended: {lines}, {buffer!r}"
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines += [line.decode() for line in complete if line.startswith(b"fix ")
                  or line.startswith(b"stopped")]
    return lines


class Client:
    def __init__(self, port: int, target: str) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.target = target.encode()
        self.framer = FixFramer()
        self.seq = 1
        self.inbox: list[dict[bytes, bytes]] = []

    def send(self, msg_type: bytes, body: list[tuple[bytes, bytes]]) -> None:
        self.socket.sendall(encode_message(msg_type, [
            (b"49", b"DESK"), (b"56", self.target), (b"34", b"%d" % self.seq),
            (b"52", format_timestamp(time.time_ns()))], body))
        self.seq += 1

    def expect(self, msg_type: bytes) -> dict[bytes, bytes]:
        deadline = time.monotonic() + 10
        while True:
            for message in self.inbox:
                if message[b"35"] == msg_type:
                    self.inbox.remove(message)
                    return message
            assert time.monotonic() < deadline, f"no {msg_type!r}: {self.inbox}"
            data = self.socket.recv(65536)
            assert data, f"closed; inbox {self.inbox}"
            for frame in self.framer.feed(data):
                assert isinstance(frame, bytes)
                self.inbox.append(dict(split_fields(frame).pairs))


def test_serve_venues_behind_fix_gateways_until_sigterm_writes_the_event_log(
        tmp_path: Path) -> None:
    scenario = tmp_path / "live.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from scenarios.cli import main; sys.exit(main())",
         "serve", str(scenario), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        lines = _read_lines(process, 5, 30)
        venues = {m.group(1): (int(m.group(3)), m.group(4))
                  for m in map(LINE.match, lines) if m}
        assert list(venues) == ["LIT1", "LIT2", "LIT3", "DARK1", "SDP1"], lines
        assert all(name == comp_id for name, (_, comp_id) in venues.items())
        port, comp_id = venues["LIT2"]
        client = Client(port, comp_id)
        client.send(b"A", [(b"98", b"0"), (b"108", b"30"), (b"554", b"s3cret")])
        client.expect(b"A")
        client.send(b"D", [(b"11", b"desk-1"), (b"55", b"ACME"), (b"54", b"1"),
                           (b"60", format_timestamp(time.time_ns())), (b"38", b"300"),
                           (b"40", b"2"), (b"44", b"90.00")])
        ack = client.expect(b"8")
        assert (ack[b"11"], ack[b"150"], ack[b"55"]) == (b"desk-1", b"0", b"ACME")
        time.sleep(0.6)  # a few of the router's slices (0.2 s each), in real time
        process.send_signal(signal.SIGTERM)
        logout = client.expect(b"5")
        assert logout[b"58"] == b"gateway shutting down"
        assert process.wait(20) == 0
        assert process.stdout is not None
        assert b"stopped: event log" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    lines_of_log = (out / "events.jsonl").read_bytes().splitlines()
    trailer = orjson.loads(lines_of_log[-1])["trailer"]
    assert trailer["events"] == len(lines_of_log) - 2
    events = [orjson.loads(line) for line in lines_of_log[1:-1]]
    desk = [e for e in events if e["type"] == "NewOrder" and e["msg"]["participant"] == "DESK"]
    assert len(desk) == 1 and desk[0]["at"] == "LIT2" and desk[0]["msg"]["price"] == 900_000
    assert any(e["msg"].get("participant") == "SOR" for e in events if e["event"] == "in")
    assert (out / "fix-sessions" / "LIT2--DESK.json").exists()
    # The router reached every venue over FIX: a session each, messages both ways.
    for venue in ("LIT1", "LIT2", "LIT3", "DARK1", "SDP1"):
        state = orjson.loads((out / "fix-sessions" / f"{venue}--SOR.json").read_bytes())
        assert state["next_target_seq"] > 1 and state["next_sender_seq"] > 1, (venue, state)
