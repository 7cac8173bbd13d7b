"""`sorsim replay events.jsonl`: re-run the scenario a log's header records and check that
the new log is the same, byte for byte (a bug report is one file).

The header of a scenario run's log holds what the run was made of (`scenarios.loader.
log_header`): the scenario's name, the file's name and full text, the seed, an allocator
override if any, and the sorsim version. The replay parses that text, runs it with that
seed, and compares the two logs line by line: equal logs have equal digests, and the first
line that differs is the one to look at. The replay's header states the recorded version,
so that a newer sorsim that reproduces the run's events matches; the version difference
is reported.

Outcomes: `ReplayOutcome.matches` (exit 0); a difference, named by line (exit 1); a log
that cannot be replayed, a `ReplayError` naming the file and why (exit 2): not an event
log, a header without the scenario's text (`sorsim demo` logs, logs from before the
header held it), a header field of the wrong type (a seed that is not an integer in
[0, 2**64 - 1], a file name or text that is not a string: an edited log), a scenario that no
longer validates (a plug-in gone, say); the replayed run crashed (exit 3,
`ReplayOutcome.crash`): a plug-in agent raised (`HandlerFailed`), the simulation stalled, a
plug-in failed to build. Its log up to the crash (`ScenarioRun.
log_lines`) is still compared: either a line before the crash differs (named as above) or
"matched the first N lines, then the replay crashed at simulated time T: <error>". A replay
that crashes exactly where the recorded run did -- the logs identical to the trailer, as
when the log is a crash's bug report -- matches (exit 0), with the crash in a note.

The file's own trailer is checked too: a trailer whose digest does not match the lines
above it means the file was edited or damaged after the run.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import orjson
from rich.console import Console

from market.errors import HandlerFailed, SorsimError
from market.event_log import package_version
from scenarios.loader import ScenarioRun, parse_scenario
from scenarios.schema import MAX_SEED, ScenarioError

__all__ = ["LineDifference", "ReplayCrash", "ReplayError", "ReplayOutcome", "replay_file",
           "replay_log"]

EXIT_DIFFERS = 1
EXIT_UNUSABLE = 2
EXIT_CRASHED = 3
_NS_PER_S = 1_000_000_000
_SHOWN = 240  # characters of a differing line shown


class ReplayError(SorsimError):
    """The log cannot be replayed; the message names the file and why."""


@dataclass(frozen=True)
class LineDifference:
    """The first line (1-based) where the recorded and replayed logs differ; None for a
    side that has no such line."""

    line: int
    recorded: bytes | None
    replayed: bytes | None


@dataclass(frozen=True)
class ReplayCrash:
    """The replayed run raised: at simulated time `t_ns` (None: before its clock started),
    `error` (the exception, one line), after writing `lines` lines of its log (the header
    and the events before the crash; not the trailer that closed it)."""

    t_ns: int | None
    error: str
    lines: int

    def at(self) -> str:
        if self.t_ns is None:
            return "before the simulation started"
        return f"at simulated time {self.t_ns / _NS_PER_S:.9f} s (t_ns={self.t_ns})"


@dataclass
class ReplayOutcome:
    path: Path
    header: dict[str, Any]
    recorded_digest: str | None  # the log's trailer, None without one
    replayed_digest: str | None  # None when the replay crashed before its log was closed
    events: int  # the replay's
    difference: LineDifference | None
    trailer_consistent: bool | None  # the trailer's digest against the file (None: no trailer)
    notes: list[str] = field(default_factory=list)
    crash: ReplayCrash | None = None  # the replayed run raised

    @property
    def matches(self) -> bool:
        return self.difference is None


def replay_log(path: str | Path) -> ReplayOutcome:
    """Replay the run `path` records and compare (see the module doc)."""
    path = Path(path)
    header = _read_header(path)
    missing = [k for k in ("text", "seed", "file") if k not in header]
    if missing:
        raise ReplayError(f"{path}:1: the header records no scenario file (no "
                          f"{', '.join(repr(k) for k in missing)}): only the log of a scenario "
                          "run (`sorsim run FILE --out DIR`) whose header holds the file's "
                          "text can be replayed")
    _check_header(path, header)
    try:
        scenario = parse_scenario(header["text"], header["file"],
                                  allocator=header.get("allocator"))
    except ScenarioError as error:
        raise ReplayError(f"{path}: the recorded scenario no longer loads: {error}") from None
    notes = []
    recorded_version = header.get("version")
    if recorded_version != package_version():
        notes.append(f"recorded with sorsim {recorded_version}, replayed with sorsim "
                     f"{package_version()}")
    run = ScenarioRun(scenario, seed=header["seed"], version=recorded_version)
    crash: ReplayCrash | None = None
    try:
        run.run()
    except Exception as error:  # whatever stopped it, compare what it wrote before
        crash = _crash(error, run)
    # After a crash too: the log is flushed and closed (a trailer) up to the crash.
    replayed = run.log_lines
    difference, trailer, consistent = _compare(path, replayed)
    if consistent is False:
        notes.append("the log's trailer digest does not match the lines above it: the file "
                     "was edited or damaged after the run")
    elif trailer is None:
        notes.append("the log has no trailer (the file was cut short)")
    if crash is not None and difference is None:
        notes.append(f"the replay crashed {crash.at()}: {crash.error}; so did the recorded "
                     "run, at the same line (the logs are identical)")
    log = run.simulation.event_log if run.simulation is not None else None
    return ReplayOutcome(path, header, trailer, log.digest if log is not None else None,
                         log.events if log is not None else 0, difference, consistent, notes,
                         crash)


def _crash(error: Exception, run: ScenarioRun) -> ReplayCrash:
    lines = run.log_lines
    written = len(lines) - 1 if lines and lines[-1].startswith(b'{"trailer"') else len(lines)
    if isinstance(error, HandlerFailed):  # its own time and culprit; not its "at t_ns=..."
        cause = error.error
        return ReplayCrash(error.t_ns, f"{error.who} raised {type(cause).__name__}: {cause}",
                           written)
    return ReplayCrash(run.now_ns, f"{type(error).__name__}: {error}", written)


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            first = file.readline()
    except OSError as error:
        raise ReplayError(f"{path}: cannot read the file: {error.strerror or error}") from None
    try:
        header = orjson.loads(first).get("header") if first.strip() else None
    except (orjson.JSONDecodeError, AttributeError):
        header = None
    if not isinstance(header, dict):
        raise ReplayError(f"{path}:1: not an event log: the first line is not a header")
    return header


def _check_header(path: Path, header: dict[str, Any]) -> None:
    """The fields a replay uses have the types `log_header` writes: a damaged or hand-edited
    header is a log that cannot be replayed (exit 2), not a crash of the replay."""
    seed = header["seed"]
    if type(seed) is not int or not 0 <= seed <= MAX_SEED:
        _bad_field(path, "seed", "an integer in [0, 2**64 - 1]", seed)
    for key in ("text", "file"):
        if not isinstance(header[key], str) or not header[key]:
            _bad_field(path, key, "a non-empty string", header[key])
    for key in ("allocator", "version"):
        if key in header and not isinstance(header[key], str):
            _bad_field(path, key, "a string", header[key])


def _bad_field(path: Path, key: str, expected: str, value: Any) -> NoReturn:
    shown = orjson.dumps(value).decode()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise ReplayError(f"{path}:1: the header's {key!r} must be {expected}, got {shown}: the "
                      "log was edited or damaged")


def _compare(path: Path, replayed: list[bytes]
             ) -> tuple[LineDifference | None, str | None, bool | None]:
    """(first difference, the file's trailer digest, whether that trailer matches the
    file's content), reading the file once."""
    digest = hashlib.sha256()
    difference: LineDifference | None = None
    trailer: str | None = None
    count = 0
    with path.open("rb") as file:
        for count, raw in enumerate(file, start=1):
            line = raw.rstrip(b"\n")
            if line.startswith(b'{"trailer"'):
                try:
                    trailer = orjson.loads(line)["trailer"]["sha256"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    trailer = None
            else:
                digest.update(raw)
            if difference is None:
                mine = replayed[count - 1] if count <= len(replayed) else None
                if mine != line:
                    difference = LineDifference(count, line, mine)
    if difference is None and count < len(replayed):
        difference = LineDifference(count + 1, None, replayed[count])
    consistent = None if trailer is None else trailer == digest.hexdigest()
    return difference, trailer, consistent


# --- the command --------------------------------------------------------------------------------


def replay_file(path: str, *, console: Console) -> int:
    """`sorsim replay`: the exit status (0 same digest, 1 differs, 2 cannot replay, 3 the
    replay crashed)."""
    try:
        outcome = replay_log(path)
    except ReplayError as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE
    header = outcome.header
    routed = f", allocator {header['allocator']}" if "allocator" in header else ""
    console.print(f"log           {path}: {header.get('scenario')} ({header['file']}, seed "
                  f"{header['seed']}{routed})", markup=False, soft_wrap=True)
    for note in outcome.notes:
        console.print(f"note          {note}", markup=False, soft_wrap=True)
    if outcome.matches:
        console.print(f"replayed      {outcome.events:,} events, sha256 "
                      f"{outcome.replayed_digest}: the log's digest, byte for byte",
                      markup=False, soft_wrap=True)
        return 0
    difference = outcome.difference
    assert difference is not None
    crash = outcome.crash
    if crash is not None and difference.line > crash.lines:
        # Every line the replay wrote before it crashed is the log's (the first that differs
        # is the trailer the crash closed the replay's log with, or the log's end).
        print(f"{path}: matched the first {crash.lines:,} lines of the log, then the replay "
              f"crashed {crash.at()}: {crash.error}", file=sys.stderr)
        return EXIT_CRASHED
    column = _first_difference(difference.recorded, difference.replayed)
    at = f", first at column {column + 1}" if column is not None else ""
    print(f"{path}:{difference.line}: the replay differs from the log from this line on"
          f"{at} (the replay's sha256 {outcome.replayed_digest or '-'}, the log's trailer "
          f"{outcome.recorded_digest or '-'})\n"
          f"  log:    {_shown(difference.recorded, 'the log ends before this line', column)}\n"
          f"  replay: {_shown(difference.replayed, 'the replay ends before this line', column)}",
          file=sys.stderr)
    if crash is not None:
        print(f"  then the replay crashed {crash.at()}: {crash.error}", file=sys.stderr)
        return EXIT_CRASHED
    return EXIT_DIFFERS


def _first_difference(recorded: bytes | None, replayed: bytes | None) -> int | None:
    """The first byte at which two lines differ (one may be a prefix of the other); None
    when either is missing."""
    if recorded is None or replayed is None:
        return None
    for i, (a, b) in enumerate(zip(recorded, replayed)):
        if a != b:
            return i
    return min(len(recorded), len(replayed))


def _shown(line: bytes | None, absent: str, column: int | None = None) -> str:
    """At most `_SHOWN` bytes of `line`, a window that holds `column` (where the two lines
    part) when the line is longer: a difference past the cut would otherwise show two
    identical lines."""
    if line is None:
        return f"({absent})"
    start = 0 if column is None or column < _SHOWN - 40 else column - 40
    text = line[start:start + _SHOWN].decode("utf-8", errors="replace")
    return ("... " if start else "") + text + (" ..." if start + _SHOWN < len(line) else "")
