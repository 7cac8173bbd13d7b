"""The regression suite: every library scenario (and default.toml) runs with its own seed and
must match its golden in tests/scenarios/golden (digest and summary figures); and
`sorsim regress [--update]`, the one way goldens are written, on a scratch repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.regress import (
    Mismatch,
    check,
    compare_record,
    golden_dir,
    library_files,
    run_library,
)

ROOT = Path(__file__).resolve().parents[2]
FILES = library_files(ROOT)


def test_library_and_goldens_are_the_same_set() -> None:
    assert {p.stem for p in golden_dir(ROOT).glob("*.json")} == {p.stem for p in FILES}, \
        "sorsim regress --update (from the repository root) rewrites the goldens"
    assert "default" in {p.stem for p in FILES} and len(FILES) == 9


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_library_scenario_matches_its_golden(path: Path) -> None:
    records = run_library(ROOT, files=[path])
    mismatches = check(ROOT, records, include_stale=False)
    assert not mismatches, "\n".join(m.describe() for m in mismatches)


# --- the command on a scratch repository ------------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path, tiny_text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root with a one-file library (the tiny scenario) and no goldens; the
    current directory."""
    (tmp_path / "scenarios" / "library").mkdir(parents=True)
    (tmp_path / "scenarios" / "library" / "tiny.toml").write_text(tiny_text)
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_regress_update_writes_goldens_then_matches(
    scratch: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["regress", "--quiet"]) == 1
    assert capsys.readouterr().err == ("tiny (seed 5): no golden file; sorsim regress --update "
                                       "(from the repository root) rewrites the goldens\n")
    assert main(["regress", "--update"]) == 0
    assert "wrote  tests/scenarios/golden/tiny.json" in capsys.readouterr().out
    golden = json.loads((scratch / "tests/scenarios/golden/tiny.json").read_text())
    assert golden["file"] == "scenarios/library/tiny.toml" and golden["seed"] == 5
    assert set(golden["parent_orders"]["SOR"]) >= {
        "fill_rate", "implementation_shortfall_bps", "vwap_slippage_bps", "fees", "regret_bps",
        "venues"}
    assert main(["regress"]) == 0
    assert "1 scenarios match their goldens" in capsys.readouterr().out


def test_cli_regress_names_the_scenario_and_the_moved_figures(
    scratch: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["regress", "--update"]) == 0
    path = scratch / "tests/scenarios/golden/tiny.json"
    before = json.loads(path.read_text())
    library = scratch / "scenarios/library/tiny.toml"
    library.write_text(library.read_text().replace("quantity = 3_000", "quantity = 2_000"))
    capsys.readouterr()
    assert main(["regress"]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"tiny (seed 5): digest {before['digest'][:12]} -> ")
    assert "moved: events " in message
    assert "parent_orders.SOR.quantity 3000 -> 2000" in message
    assert "parent_orders.SOR.implementation_shortfall_bps " in message
    assert message.rstrip().endswith("If intended: sorsim regress --update (from the "
                                     "repository root) rewrites the goldens")
    assert main(["regress", "--update"]) == 0
    assert json.loads(path.read_text())["parent_orders"]["SOR"]["quantity"] == 2_000


def test_cli_regress_comment_edit_moves_the_digest_only(
    scratch: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["regress", "--update"]) == 0
    library = scratch / "scenarios/library/tiny.toml"
    library.write_text(library.read_text() + "# a comment\n")
    capsys.readouterr()
    assert main(["regress"]) == 1
    assert "no summary figure moved" in capsys.readouterr().err


def test_cli_regress_stale_golden_is_reported_and_update_deletes_it(
    scratch: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["regress", "--update"]) == 0
    stale = scratch / "tests/scenarios/golden/gone.json"
    stale.write_text("{}\n")
    capsys.readouterr()
    assert main(["regress"]) == 1
    assert "gone: a golden file without its scenario file" in capsys.readouterr().err
    assert main(["regress", "--update"]) == 0
    assert not stale.exists()
    assert "deleted  tests/scenarios/golden/gone.json" in capsys.readouterr().out


def test_cli_regress_outside_a_repository_root_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["regress"]) == 2
    assert "run sorsim regress from the repository root" in capsys.readouterr().err


def test_compare_record_lists_leaves_that_moved_appeared_or_vanished() -> None:
    golden = {"seed": 1, "digest": "a" * 64, "events": 10,
              "parent_orders": {"SOR": {"fill_rate": 0.5, "cost_bps": None, "old": 1}}}
    record = {"seed": 1, "digest": "b" * 64, "events": 10,
              "parent_orders": {"SOR": {"fill_rate": 0.75, "cost_bps": None, "new": 2}}}
    mismatch = compare_record("x", golden, record)
    assert mismatch is not None and mismatch.problem == "moved"
    assert mismatch.describe().startswith(
        "x (seed 1): digest aaaaaaaaaaaa -> bbbbbbbbbbbb; moved: parent_orders.SOR.fill_rate "
        "0.5 -> 0.75, parent_orders.SOR.new absent -> 2, parent_orders.SOR.old 1 -> absent.")
    assert compare_record("x", golden, golden) is None
    assert Mismatch("y", None, "stale golden").describe().startswith("y: a golden file")
