"""The event log: every message a venue sends or receives, one orjson line each.

Format (JSON lines):
- line 1, the header: `{"header": {"format": 1, "scenario": ..., "seed": ..., "version": ...}}`,
  then any extra fields the writer adds (a scenario run adds its file's name and full text,
  so that the log alone replays it: `sorsim replay`);
- then one line per event: `{"t": t_ns, "event": "in"|"out", "at": venue, "type": name,
  "msg": {field: value, ...}}` where `t` is the integer simulated time at which the venue
  received or sent the message (a broadcast to many subscribers is one "out" line);
- last, the trailer: `{"trailer": {"events": n, "sha256": hex}}`, the SHA-256 of every byte
  before it (header included).

Same scenario + same seed => byte-identical log => same digest; tests pin that.

Lines are buffered and hashed/written a block at a time; `flush()` pushes the buffer out (a
crashing run flushes what it has, so the log up to the crash survives).
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import orjson

__all__ = ["EventLog", "read_event_log", "package_version"]

_FLUSH_EVERY = 4096


def package_version() -> str:
    try:
        return metadata.version("sorsim")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


class EventLog:
    """Append-only record of venue traffic with a running SHA-256 digest."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        scenario: str,
        seed: int,
        version: str | None = None,
        keep_lines: bool = False,
        extra_header: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._file: BinaryIO | None = open(self.path, "wb") if self.path is not None else None
        self._hash = hashlib.sha256()
        self._buffer: list[bytes] = []
        self.lines: list[bytes] | None = [] if keep_lines else None
        self.events = 0
        self.digest: str | None = None
        self.header = {
            "format": 1,
            "scenario": scenario,
            "seed": seed,
            "version": version if version is not None else package_version(),
        }
        for key, value in (extra_header or {}).items():
            if key in self.header:
                raise ValueError(f"extra header field {key!r} would replace a standard one")
            self.header[key] = value
        self._fields: dict[type, tuple[str, ...]] = {}
        self._write(orjson.dumps({"header": self.header}))

    def record(self, t_ns: int, event: str, at: str, message: Any) -> None:
        """Append one message (a NamedTuple from market.messages) seen at venue `at`."""
        cls = type(message)
        fields = self._fields.get(cls)
        if fields is None:
            fields = self._fields[cls] = getattr(cls, "_fields", ())
        # A foreign object (bad input) is logged by type name; unknown values by type name
        # too, never by repr(), whose memory addresses would break determinism.
        line = orjson.dumps(
            {"t": t_ns, "event": event, "at": at, "type": cls.__name__,
             "msg": dict(zip(fields, message)) if fields else None},
            default=_type_name,
        )
        self.events += 1
        buffer = self._buffer
        buffer.append(line)
        if len(buffer) >= _FLUSH_EVERY:
            self.flush()

    def _write(self, line: bytes) -> None:
        self._buffer.append(line)

    def flush(self) -> None:
        if not self._buffer:
            return
        block = b"\n".join(self._buffer) + b"\n"
        self._hash.update(block)
        if self._file is not None:
            self._file.write(block)
            self._file.flush()
        if self.lines is not None:
            self.lines.extend(self._buffer)
        self._buffer.clear()

    def close(self) -> str:
        """Write the trailer and return the digest (hex). Idempotent."""
        if self.digest is not None:
            return self.digest
        self.flush()
        self.digest = self._hash.hexdigest()
        trailer = orjson.dumps({"trailer": {"events": self.events, "sha256": self.digest}})
        if self._file is not None:
            self._file.write(trailer + b"\n")
            self._file.close()
            self._file = None
        if self.lines is not None:
            self.lines.append(trailer)
        return self.digest

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _type_name(value: Any) -> str:
    return f"<{type(value).__name__}>"


def read_event_log(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """(header, events, trailer) of a log file; checks the digest when a trailer is present."""
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: empty event log")
    header = orjson.loads(lines[0]).get("header")
    if header is None:
        raise ValueError(f"{path}:1: first line is not a header")
    trailer = None
    body = lines[1:]
    if body and body[-1].startswith(b'{"trailer"'):
        trailer = orjson.loads(body.pop())["trailer"]
        covered = raw[: raw.rindex(b'{"trailer"')]
        actual = hashlib.sha256(covered).hexdigest()
        if actual != trailer["sha256"]:
            raise ValueError(f"{path}: digest mismatch (trailer {trailer['sha256']}, content {actual})")
    return header, [orjson.loads(line) for line in body], trailer
