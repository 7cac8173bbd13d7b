"""market.event_log: header, one line per record, trailer digest, round trip, crash flush."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from market.event_log import EventLog, read_event_log
from market.messages import (
    BookUpdate,
    ExecType,
    ExecutionReport,
    Liquidity,
    NewOrder,
    OrderType,
    Side,
    TimeInForce,
)

ORDER = NewOrder(1_000, "alice", 7, Side.BUY, 300, 10_000, OrderType.LIMIT, TimeInForce.IOC, False)
FILL = ExecutionReport(2_000, "LIT1", "alice", 7, ExecType.FILL, Side.BUY, 10_000, 300, 300,
                       9_900, 0, 300, 9_000, Liquidity.TAKER, 5, None)
UPDATE = BookUpdate(2_000, "LIT1", ((Side.SELL, 9_900, 0), (Side.BUY, 9_800, 200)))


def _write_log(path: Path | None = None, **kwargs: object) -> EventLog:
    log = EventLog(path, scenario="unit", seed=11, version="9.9.9", **kwargs)  # type: ignore[arg-type]
    log.record(1_000, "in", "LIT1", ORDER)
    log.record(2_000, "out", "LIT1", FILL)
    log.record(2_000, "out", "LIT1", UPDATE)
    return log


def test_event_log_header_has_scenario_seed_version_format() -> None:
    log = _write_log(keep_lines=True)
    log.close()
    assert log.lines is not None
    assert orjson.loads(log.lines[0]) == {
        "header": {"format": 1, "scenario": "unit", "seed": 11, "version": "9.9.9"}
    }


def test_event_log_extra_header_fields_follow_the_standard_ones() -> None:
    log = EventLog(None, scenario="s", seed=2, version="1.0", keep_lines=True,
                   extra_header={"file": "s.toml", "text": "duration_s = 1\n"})
    log.close()
    assert log.lines is not None
    assert log.lines[0] == (b'{"header":{"format":1,"scenario":"s","seed":2,"version":"1.0",'
                            b'"file":"s.toml","text":"duration_s = 1\\n"}}')
    with pytest.raises(ValueError, match="extra header field 'seed' would replace"):
        EventLog(None, scenario="s", seed=2, extra_header={"seed": 3})


def test_event_log_default_version_is_package_version() -> None:
    log = EventLog(None, scenario="s", seed=0)
    assert isinstance(log.header["version"], str) and log.header["version"]


def test_event_log_one_line_per_record_with_integer_t(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    log = _write_log(path)
    log.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends with a newline
    lines = lines[:-1]
    assert len(lines) == 1 + 3 + 1  # header, 3 records, trailer
    events = [orjson.loads(line) for line in lines[1:-1]]
    assert [e["t"] for e in events] == [1_000, 2_000, 2_000]
    assert all(type(e["t"]) is int for e in events)
    assert [(e["event"], e["at"], e["type"]) for e in events] == [
        ("in", "LIT1", "NewOrder"), ("out", "LIT1", "ExecutionReport"), ("out", "LIT1", "BookUpdate"),
    ]
    assert events[0]["msg"]["order_id"] == 7 and events[0]["msg"]["price"] == 10_000
    assert log.events == 3


def test_event_log_trailer_digest_is_sha256_of_everything_before_it(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    log = _write_log(path)
    digest = log.close()
    raw = path.read_bytes()
    body, trailer_line = raw.rstrip(b"\n").rsplit(b"\n", 1)
    trailer = orjson.loads(trailer_line)["trailer"]
    assert trailer == {"events": 3, "sha256": digest}
    assert hashlib.sha256(body + b"\n").hexdigest() == digest


def test_event_log_close_is_idempotent_and_matches_kept_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    log = _write_log(path, keep_lines=True)
    first = log.close()
    assert log.close() == first
    assert log.lines is not None
    assert b"\n".join(log.lines) + b"\n" == path.read_bytes()


def test_event_log_same_records_give_same_digest_different_give_different() -> None:
    a = _write_log().close()
    b = _write_log().close()
    c_log = _write_log()
    c_log.record(3_000, "in", "LIT1", ORDER._replace(order_id=8))
    assert a == b
    assert c_log.close() != a


def test_read_event_log_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with _write_log(path) as log:
        pass
    header, events, trailer = read_event_log(path)
    assert header == {"format": 1, "scenario": "unit", "seed": 11, "version": "9.9.9"}
    assert len(events) == 3
    assert events[1]["msg"] == {
        "t_ns": 2_000, "venue": "LIT1", "participant": "alice", "order_id": 7,
        "exec_type": "fill", "side": "buy", "price": 10_000, "quantity": 300,
        "last_quantity": 300, "last_price": 9_900, "leaves_quantity": 0,
        "filled_quantity": 300, "fee": 9_000, "liquidity": "taker", "trade_id": 5,
        "reason": None,
    }
    assert trailer == {"events": 3, "sha256": log.digest}


def test_read_event_log_flipped_byte_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write_log(path).close()
    raw = bytearray(path.read_bytes())
    # Change the order id 7 -> 8 inside the first record: still valid JSON, wrong digest.
    at = raw.index(b'"order_id":7')
    raw[at + len(b'"order_id":')] = ord("8")
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="digest mismatch"):
        read_event_log(path)


def test_read_event_log_flipped_header_byte_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write_log(path).close()
    raw = bytearray(path.read_bytes())
    at = raw.index(b'"seed":11')
    raw[at + len(b'"seed":')] = ord("2")
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError):
        read_event_log(path)


def test_event_log_flush_writes_buffered_lines_before_close(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl"
    log = _write_log(path)
    log.flush()  # what a crashing run does before it raises
    raw = path.read_bytes()
    lines = raw.rstrip(b"\n").split(b"\n")
    assert len(lines) == 4  # header + 3 records, no trailer yet
    assert b"trailer" not in raw
    header, events, trailer = read_event_log(path)
    assert header["scenario"] == "unit"
    assert [e["t"] for e in events] == [1_000, 2_000, 2_000]
    assert trailer is None
    log.close()
    assert read_event_log(path)[2] is not None


def test_event_log_enums_serialize_as_string_values() -> None:
    log = _write_log(keep_lines=True)
    log.close()
    assert log.lines is not None
    order = orjson.loads(log.lines[1])["msg"]
    assert order["side"] == "buy"
    assert order["order_type"] == "limit"
    assert order["time_in_force"] == "ioc"
    fill = orjson.loads(log.lines[2])["msg"]
    assert (fill["exec_type"], fill["liquidity"]) == ("fill", "taker")
    update = orjson.loads(log.lines[3])["msg"]
    assert update["changes"] == [["sell", 9_900, 0], ["buy", 9_800, 200]]
