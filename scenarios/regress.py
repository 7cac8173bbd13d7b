"""`sorsim regress [--update]`: the scenario library against its goldens.

Every library scenario (`scenarios/library/*.toml`) and `scenarios/default.toml` runs with
its own seed; its golden, `tests/scenarios/golden/<file stem>.json`, holds the run's digest
and key summary figures (`scenarios.summary.run_figures`, floats rounded to `DECIMALS`, keys
sorted, one per line), so that after `sorsim regress --update` a `git diff` of the goldens
shows which figures moved, and by how much. The test suite runs the same check
(tests/scenarios/test_regress.py); this command is the one way goldens are written.

A scenario is a mismatch when its digest or any figure differs from its golden, or when it
has no golden; a golden whose scenario file is gone is stale. Paths are relative to the
repository root, the directory the command runs from (it holds `scenarios/library` and
`tests/`).

The digest covers the log's header, which holds the scenario file's text and the sorsim
version: editing a library file (even a comment) or bumping the version moves every
affected digest while the figures stay put, and the report says exactly that.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from market.errors import SorsimError
from scenarios.fan_out import FanOutError, RunJob, fan_out
from scenarios.loader import parse_scenario
from scenarios.progress import RunsProgress
from scenarios.schema import ScenarioError
from scenarios.summary import make_table

__all__ = ["DECIMALS", "Mismatch", "RegressError", "check", "golden_dir", "golden_record",
           "library_files", "regress", "repository_root", "update"]

DECIMALS = 4
LIBRARY = Path("scenarios") / "library"
DEFAULT = Path("scenarios") / "default.toml"
GOLDEN = Path("tests") / "scenarios" / "golden"
UPDATE_HINT = "sorsim regress --update (from the repository root) rewrites the goldens"
EXIT_MISMATCH = 1
EXIT_NOT_HERE = 2


class RegressError(SorsimError):
    """The library or the goldens cannot be found or read."""


@dataclass
class Mismatch:
    """One scenario whose run and golden disagree (or one of them is missing)."""

    name: str
    seed: int | None
    problem: str  # "moved", "no golden", "stale golden"
    digest: tuple[str | None, str | None] = (None, None)  # (golden, run)
    moved: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key path, golden, run)

    def describe(self) -> str:
        """One message naming the scenario and what moved."""
        where = f"{self.name} (seed {self.seed})" if self.seed is not None else self.name
        if self.problem == "no golden":
            return f"{where}: no golden file; {UPDATE_HINT}"
        if self.problem == "stale golden":
            return f"{where}: a golden file without its scenario file; {UPDATE_HINT}"
        parts = []
        if self.digest[0] != self.digest[1]:
            parts.append(f"digest {_short(self.digest[0])} -> {_short(self.digest[1])}")
        if self.moved:
            parts.append("moved: " + ", ".join(f"{path} {_show(old)} -> {_show(new)}"
                                               for path, old, new in self.moved))
        elif self.digest[0] != self.digest[1]:
            parts.append("no summary figure moved (the log changed: events, the scenario "
                         "file's text or the version in its header)")
        return f"{where}: " + "; ".join(parts) + f". If intended: {UPDATE_HINT}"


# --- where things are ---------------------------------------------------------------------------


def repository_root(start: Path | None = None) -> Path:
    """`start` (default: the current directory) when it holds the library and tests/."""
    root = (start or Path.cwd()).resolve()
    if not (root / LIBRARY).is_dir() or not (root / "tests").is_dir():
        raise RegressError(f"{root}: no {LIBRARY.as_posix()} and tests/ here: run sorsim "
                           "regress from the repository root")
    return root


def library_files(root: Path) -> list[Path]:
    """The library's files in name order, then default.toml (when there)."""
    files = sorted((root / LIBRARY).glob("*.toml"))
    if (root / DEFAULT).is_file():
        files.append(root / DEFAULT)
    return files


def golden_dir(root: Path) -> Path:
    return root / GOLDEN


# --- goldens ------------------------------------------------------------------------------------


def golden_record(root: Path, path: Path, figures: Mapping[str, Any]) -> dict[str, Any]:
    """What a golden holds: the file, the seed, the digest, the event count and the
    figures per parent order, rounded."""
    return {
        "file": path.relative_to(root).as_posix(),
        "seed": figures["seed"],
        "digest": figures["digest"],
        "events": figures["events"],
        "parent_orders": _rounded(figures["parent_orders"]),
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _encode(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _read_golden(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        record: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise RegressError(f"{path}: not a golden file: {error}") from None
    return record


def compare_record(name: str, golden: Mapping[str, Any] | None,
                   record: Mapping[str, Any]) -> Mismatch | None:
    """The mismatch between a golden and a fresh record, or None when they agree."""
    if golden is None:
        return Mismatch(name, record["seed"], "no golden", (None, record["digest"]))
    moved = [(path, old, new) for path, old, new in _differences(golden, record, "")
             if path != "digest"]
    if golden.get("digest") == record["digest"] and not moved:
        return None
    return Mismatch(name, record["seed"], "moved", (golden.get("digest"), record["digest"]),
                    moved)


_ABSENT = object()  # a key one side does not have


def _differences(old: Any, new: Any, path: str) -> list[tuple[str, Any, Any]]:
    """(key path, old, new) of every leaf that differs, in key order."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += _differences(old.get(key, _ABSENT), new.get(key, _ABSENT),
                                  f"{path}.{key}" if path else key)
        return found
    return [] if old == new else [(path, old, new)]


# --- the check and the update --------------------------------------------------------------------


def run_library(root: Path, *, workers: int | None = 1, backend: str = "process",
                files: Sequence[Path] | None = None,
                on_done: Callable[[], object] | None = None) -> dict[str, dict[str, Any]]:
    """Run the library files (default: all) with their own seeds; file stem -> golden
    record of the run."""
    chosen = list(files) if files is not None else library_files(root)
    jobs = []
    for path in chosen:
        text = path.read_text(encoding="utf-8")
        try:
            seed = parse_scenario(text, path.name).seed
        except ScenarioError as error:
            raise RegressError(f"{path.relative_to(root).as_posix()}: {error}") from None
        jobs.append(RunJob(text, path.name, seed))
    results = fan_out(jobs, backend=backend, workers=workers, on_done=on_done)
    return {path.stem: golden_record(root, path, figures)
            for path, figures in zip(chosen, results)}


def check(root: Path, records: Mapping[str, Mapping[str, Any]],
          include_stale: bool = True) -> list[Mismatch]:
    """The mismatches between fresh records and the goldens (stale goldens too)."""
    goldens = golden_dir(root)
    mismatches = [m for name, record in records.items()
                  if (m := compare_record(name, _read_golden(goldens / f"{name}.json"),
                                          record)) is not None]
    if include_stale:
        mismatches += [Mismatch(path.stem, None, "stale golden")
                       for path in sorted(goldens.glob("*.json")) if path.stem not in records]
    return mismatches


def update(root: Path, records: Mapping[str, Mapping[str, Any]]) -> list[Path]:
    """Write every record's golden and delete stale ones; the files that changed."""
    goldens = golden_dir(root)
    goldens.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, record in records.items():
        path = goldens / f"{name}.json"
        content = _encode(record)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            changed.append(path)
    for path in sorted(goldens.glob("*.json")):
        if path.stem not in records:
            path.unlink()
            changed.append(path)
    return changed


# --- the command --------------------------------------------------------------------------------


def regress(*, update_goldens: bool, workers: int | None, console: Console,
            progress: bool = True, root: Path | None = None) -> int:
    """`sorsim regress`: 0 when every scenario matches its golden (or after --update), 1
    on a mismatch, 2 when not run from the repository root."""
    try:
        base = repository_root(root)
        files = library_files(base)
        with RunsProgress(console, "regress", len(files), enabled=progress) as bar:
            records = run_library(base, workers=workers, files=files, on_done=bar.advance)
        mismatches = check(base, records)
    except (RegressError, FanOutError) as error:
        print(f"sorsim regress: {error}", file=sys.stderr)
        return EXIT_NOT_HERE if isinstance(error, RegressError) else EXIT_MISMATCH
    problems = {m.name: m for m in mismatches}
    table = make_table(["scenario", "seed", "sha256", "events", "golden"], text_columns=3)
    for name, record in records.items():
        status = "ok" if name not in problems else problems[name].problem
        table.add_row(name, str(record["seed"]), record["digest"][:16], f"{record['events']:,}",
                      status)
    console.print(table)
    if update_goldens:
        changed = update(base, records)
        for path in changed:
            verb = "wrote" if path.exists() else "deleted"
            console.print(f"{verb}  {path.relative_to(base).as_posix()}", markup=False,
                          soft_wrap=True)
        console.print(f"{len(changed)} golden file(s) changed; git diff "
                      f"{GOLDEN.as_posix()} shows what moved", markup=False, soft_wrap=True)
        return 0
    for mismatch in mismatches:
        print(mismatch.describe(), file=sys.stderr)
    if mismatches:
        return EXIT_MISMATCH
    console.print(f"{len(records)} scenarios match their goldens", markup=False)
    return 0


def _short(digest: str | None) -> str:
    return "-" if digest is None else digest[:12]


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    return "none" if value is None else str(value)
