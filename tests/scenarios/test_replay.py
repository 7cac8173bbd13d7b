"""scenarios.replay and `sorsim replay`: a scenario run's log replays from its header alone;
a tampered, cut or foreign log is named with the first differing line or the reason; a
replay that crashes is compared up to the crash."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from crashing_agent import CRASH_FLAG, CRASH_NS, CRASHER
from market.errors import HandlerFailed
from market.event_log import package_version
from scenarios.cli import main
from scenarios.loader import load_scenario, parse_scenario, run_scenario
from scenarios.replay import EXIT_CRASHED, ReplayError, replay_log


@pytest.fixture
def recorded(tiny_file: Path, tmp_path: Path) -> Path:
    """A `sorsim run --out` log of the tiny scenario."""
    out = tmp_path / "run"
    run_scenario(load_scenario(tiny_file), out_dir=out)
    return out / "events.jsonl"


def _rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]], *,
             fix_trailer: bool = True) -> Path:
    """Apply `change` to the log's lines (trailer apart), then, unless told not to, write a
    trailer that matches the new content (a consistent forgery)."""
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    body, trailer = change(lines[:-1]), lines[-1]
    content = b"".join(line + b"\n" for line in body)
    if fix_trailer:
        trailer = orjson.dumps({"trailer": {"events": len(body) - 1,
                                            "sha256": hashlib.sha256(content).hexdigest()}})
    target = path.with_name("tampered.jsonl")
    target.write_bytes(content + trailer + b"\n")
    return target


def _header(change: Callable[[dict[str, object]], None]) -> Callable[[list[bytes]], list[bytes]]:
    def edit(lines: list[bytes]) -> list[bytes]:
        header = orjson.loads(lines[0])
        change(header["header"])
        return [orjson.dumps(header), *lines[1:]]
    return edit


def test_header_holds_the_files_name_and_text_and_not_its_path(
    recorded: Path, tiny_file: Path, tmp_path: Path,
) -> None:
    header = orjson.loads(recorded.read_bytes().split(b"\n", 1)[0])["header"]
    assert header["file"] == "tiny.toml" and header["text"] == tiny_file.read_text()
    assert (header["scenario"], header["seed"], header["version"]) == ("tiny", 5,
                                                                       package_version())
    assert "allocator" not in header
    elsewhere = tmp_path / "elsewhere" / "tiny.toml"
    elsewhere.parent.mkdir()
    shutil.copy(tiny_file, elsewhere)
    assert run_scenario(load_scenario(elsewhere)).digest == \
        run_scenario(load_scenario(tiny_file)).digest


def test_replay_of_an_untouched_log_matches_byte_for_byte(
    recorded: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = replay_log(recorded)
    assert outcome.matches and outcome.notes == [] and outcome.trailer_consistent
    assert outcome.recorded_digest == outcome.replayed_digest
    assert main(["replay", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert f"tiny (tiny.toml, seed 5)" in out
    assert f"sha256 {outcome.replayed_digest}: the log's digest, byte for byte" in out


def test_replay_of_a_tampered_log_names_the_first_differing_line(
    recorded: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    def double_a_quantity(lines: list[bytes]) -> list[bytes]:
        i = next(i for i, line in enumerate(lines) if b'"type":"NewOrder"' in line and i > 50)
        lines[i] = lines[i].replace(b'"quantity":', b'"quantity":9', 1)
        return lines

    original = recorded.read_bytes().split(b"\n")
    tampered = _rewrite(recorded, double_a_quantity)
    line = next(n for n, (a, b) in enumerate(zip(original, tampered.read_bytes().split(b"\n")),
                                             start=1) if a != b)
    outcome = replay_log(tampered)
    assert not outcome.matches and outcome.trailer_consistent  # a consistent forgery
    assert outcome.difference is not None and outcome.difference.line == line
    assert outcome.difference.replayed == original[line - 1]
    assert main(["replay", str(tampered)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tampered}:{line}: the replay differs from the log from this line on")
    assert '"quantity":9' in err.splitlines()[1] and '"quantity":9' not in err.splitlines()[2]


def test_replay_difference_past_the_shown_width_is_in_the_window_shown(
    recorded: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A line longer than what is shown, changed near its end: the lines shown hold the
    change (a cut at the start would show two identical lines)."""
    def change_a_long_line_near_its_end(lines: list[bytes]) -> list[bytes]:
        i = next(i for i, line in enumerate(lines) if len(line) > 300 and i > 0)
        lines[i] = lines[i][:-2] + b" " + lines[i][-2:]  # a space before the closing "}}"
        return lines

    tampered = _rewrite(recorded, change_a_long_line_near_its_end)
    assert main(["replay", str(tampered)]) == 1
    err = capsys.readouterr().err.splitlines()
    column = int(err[0].split("first at column ")[1].split(" ")[0])
    assert column > 300
    log, replay = err[1].removeprefix("  log:    "), err[2].removeprefix("  replay: ")
    assert log.startswith("... ") and replay.startswith("... ")
    assert log.endswith(" }}") and not replay.endswith(" }}") and replay.endswith("}}")


def test_replay_of_an_edited_log_without_its_trailer_redone_says_so(recorded: Path) -> None:
    tampered = _rewrite(recorded, lambda lines: [*lines[:30], lines[31], lines[30], *lines[32:]],
                        fix_trailer=False)
    outcome = replay_log(tampered)
    assert outcome.difference is not None and outcome.difference.line == 31
    assert outcome.trailer_consistent is False
    assert any("trailer digest does not match" in note for note in outcome.notes)


def test_replay_of_a_cut_log_names_where_it_ends(recorded: Path) -> None:
    lines = recorded.read_bytes().split(b"\n")
    cut = recorded.with_name("cut.jsonl")
    cut.write_bytes(b"\n".join(lines[:40]) + b"\n")
    outcome = replay_log(cut)
    assert outcome.difference is not None and outcome.difference.line == 41
    assert outcome.difference.recorded is None and outcome.difference.replayed == lines[40]
    assert outcome.recorded_digest is None and "no trailer" in outcome.notes[0]


@pytest.mark.parametrize("allocator", ["lit-only", "fixed-even", 'd-ucb:{"gamma": 0.7}'])
def test_replay_with_an_allocator_override_reruns_that_router(tiny_file: Path, tmp_path: Path,
                                                              allocator: str) -> None:
    scenario = parse_scenario(tiny_file.read_text(), str(tiny_file), allocator=allocator)
    run_scenario(scenario, seed=8, out_dir=tmp_path)
    outcome = replay_log(tmp_path / "events.jsonl")
    assert outcome.header["allocator"] == allocator and outcome.header["seed"] == 8
    assert outcome.matches


def test_replay_of_an_older_versions_log_states_the_recorded_version(recorded: Path) -> None:
    older = _rewrite(recorded, _header(lambda h: h.update(version="0.0.9")))
    outcome = replay_log(older)
    assert outcome.matches  # the events are this version's too
    assert outcome.notes == [f"recorded with sorsim 0.0.9, replayed with sorsim "
                             f"{package_version()}"]


def test_replay_of_a_log_whose_scenario_no_longer_loads_exits_2(
    recorded: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    gone = _rewrite(recorded, _header(lambda h: h.update(
        text=str(h["text"]).replace('allocator = "ucb1"', 'allocator = "gone_module:Gone"'))))
    with pytest.raises(ReplayError, match="the recorded scenario no longer loads: tiny.toml: "
                                          r"parent_orders\[0\].allocator.type"):
        replay_log(gone)
    assert main(["replay", str(gone)]) == 2
    assert "no longer loads" in capsys.readouterr().err


def test_replay_of_what_is_not_a_scenario_log_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    demo = tmp_path / "demo.jsonl"
    assert main(["demo", "--seconds", "2", "--log", str(demo)]) == 0
    capsys.readouterr()
    assert main(["replay", str(demo)]) == 2
    assert capsys.readouterr().err == (
        f"{demo}:1: the header records no scenario file (no 'text', 'file'): only the log of "
        "a scenario run (`sorsim run FILE --out DIR`) whose header holds the file's text can "
        "be replayed\n")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert main(["replay", str(text)]) == 2
    assert capsys.readouterr().err == f"{text}:1: not an event log: the first line is not a header\n"
    assert main(["replay", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read the file: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("field, raw, expected", [
    ("seed", '"x"', "an integer in [0, 2**64 - 1], got \"x\""),
    ("seed", "-1", "an integer in [0, 2**64 - 1], got -1"),
    ("seed", "3.0", "an integer in [0, 2**64 - 1], got 3.0"),
    ("seed", "true", "an integer in [0, 2**64 - 1], got true"),
    ("seed", "18446744073709551616", "an integer in [0, 2**64 - 1], got 1.8446744073709552e+19"),
    ("file", "null", "a non-empty string, got null"),
    ("text", "5", "a non-empty string, got 5"),
    ("allocator", "7", "a string, got 7"),
], ids=["seed_str", "seed_negative", "seed_float", "seed_bool", "seed_past_64_bits",
        "file_null", "text_int", "allocator_int"])
def test_replay_of_a_header_with_a_bad_field_exits_2_naming_it(
    tiny_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, raw: str,
    expected: str,
) -> None:
    fields = {"format": "1", "scenario": '"tiny"', "seed": "5", "version": '"0.1.0"',
              "file": '"tiny.toml"', "text": orjson.dumps(tiny_text).decode(), field: raw}
    log = tmp_path / "events.jsonl"
    log.write_text('{"header":{' + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}}\n")
    message = f"{log}:1: the header's {field!r} must be {expected}: the log was edited or damaged"
    with pytest.raises(ReplayError) as caught:
        replay_log(log)
    assert str(caught.value) == message
    assert main(["replay", str(log)]) == 2
    assert capsys.readouterr().err == message + "\n"


# --- a replay that crashes --------------------------------------------------------------------




@pytest.fixture
def crasher_recorded(tiny_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of the tiny scenario with a plug-in that raises at 7.5 s only under the flag
    (unset here: the recorded run goes to its end)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # crashing_agent
    monkeypatch.delenv(CRASH_FLAG, raising=False)
    out = tmp_path / "run"
    run_scenario(parse_scenario(tiny_text + CRASHER, "tiny.toml"), out_dir=out)
    return out / "events.jsonl"


def test_replay_that_crashes_compares_the_lines_before_the_crash_and_exits_3(
    crasher_recorded: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(CRASH_FLAG, "1")
    outcome = replay_log(crasher_recorded)
    crash = outcome.crash
    assert crash is not None and not outcome.matches
    assert crash.t_ns == CRASH_NS
    assert crash.error == f"agent 'crasher-0' raised RuntimeError: {CRASH_FLAG} is set"
    # Every line the replay wrote before the crash is the log's; the log goes on after it.
    lines = crasher_recorded.read_bytes().split(b"\n")
    times = [orjson.loads(line)["t"] for line in lines[1:crash.lines]]
    assert len(times) > 100 and max(times) <= CRASH_NS
    assert orjson.loads(lines[crash.lines])["t"] >= CRASH_NS
    assert outcome.difference is not None and outcome.difference.line == crash.lines + 1
    assert outcome.difference.replayed is not None \
        and outcome.difference.replayed.startswith(b'{"trailer"')
    assert main(["replay", str(crasher_recorded)]) == EXIT_CRASHED == 3
    assert capsys.readouterr().err == (
        f"{crasher_recorded}: matched the first {crash.lines:,} lines of the log, then the "
        f"replay crashed at simulated time 7.500000000 s (t_ns={CRASH_NS}): agent 'crasher-0' "
        f"raised RuntimeError: {CRASH_FLAG} is set\n")


def test_replay_that_crashes_after_a_differing_line_names_the_line_and_the_crash(
    crasher_recorded: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def change_line_40(lines: list[bytes]) -> list[bytes]:
        lines[39] = lines[39].replace(b'"t":', b'"t":1', 1)
        return lines

    tampered = _rewrite(crasher_recorded, change_line_40)
    monkeypatch.setenv(CRASH_FLAG, "1")
    outcome = replay_log(tampered)
    assert outcome.crash is not None and outcome.difference is not None
    assert outcome.difference.line == 40
    assert main(["replay", str(tampered)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{tampered}:40: the replay differs from the log from this line on")
    assert err[3] == (f"  then the replay crashed at simulated time 7.500000000 s "
                      f"(t_ns={CRASH_NS}): agent 'crasher-0' raised RuntimeError: {CRASH_FLAG} "
                      "is set")


def test_replay_of_a_crashed_runs_log_that_crashes_the_same_way_matches(
    tiny_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv(CRASH_FLAG, "1")  # the recorded run crashes too: a bug report
    with pytest.raises(HandlerFailed):
        run_scenario(parse_scenario(tiny_text + CRASHER, "tiny.toml"), out_dir=tmp_path)
    log = tmp_path / "events.jsonl"
    outcome = replay_log(log)
    assert outcome.matches and outcome.crash is not None and outcome.trailer_consistent
    assert outcome.notes == [f"the replay crashed at simulated time 7.500000000 s "
                             f"(t_ns={CRASH_NS}): agent 'crasher-0' raised RuntimeError: "
                             f"{CRASH_FLAG} is set; so did the recorded run, at the same line "
                             "(the logs are identical)"]
    assert main(["replay", str(log)]) == 0
    assert "the logs are identical" in capsys.readouterr().out
