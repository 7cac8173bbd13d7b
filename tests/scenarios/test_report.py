"""scenarios.report: the self-contained HTML page, on a hand-built event log and on a real
regime-routing run (a short one: its events are taken from the study's own TCA call)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import scenarios.regime_routing as regime_routing
from router.tca import TransactionCostAnalysis, analyze
from scenarios.report import (
    MAX_POINTS,
    _downsample,
    markout_curves,
    _read_market,
    _shortfall_series,
    render_report,
    write_report,
)

S = 1_000_000_000
SHIFT = (6 * S, "DARK1 dries up")


def l1(t: int, venue: str, bid: int | None, ask: int | None) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "L1Snapshot",
            "msg": {"t_ns": t, "venue": venue, "bid_price": bid, "bid_quantity": 100,
                    "ask_price": ask, "ask_quantity": 100}}


def new_order(t: int, venue: str, quantity: int, participant: str = "SOR") -> dict[str, Any]:
    return {"t": t, "event": "in", "at": venue, "type": "NewOrder",
            "msg": {"t_ns": t, "participant": participant, "order_id": t, "side": "buy",
                    "quantity": quantity, "price": 10_010}}


def fill(t: int, venue: str, quantity: int, price: int, fee: int,
         participant: str = "SOR") -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "ExecutionReport",
            "msg": {"t_ns": t, "participant": participant, "last_quantity": quantity,
                    "last_price": price, "fee": fee}}


def trade_print(t: int, venue: str, quantity: int, price: int) -> dict[str, Any]:
    return {"t": t, "event": "out", "at": venue, "type": "TradePrint",
            "msg": {"t_ns": t, "venue": venue, "trade_id": t, "price": price,
                    "quantity": quantity, "aggressor_side": "buy"}}


def hand_built_events(dark: str = "DARK1") -> list[dict[str, Any]]:
    return [
        l1(0, "LIT1", 9_990, 10_010),  # mid 10,000 at arrival
        l1(0, "LIT2", 9_980, 10_020),
        new_order(1 * S, "LIT1", 100),
        new_order(1 * S, dark, 200),
        fill(1 * S, "LIT1", 100, 10_010, 30),
        trade_print(1 * S, "LIT1", 100, 10_010),
        fill(2 * S, dark, 200, 10_000, 20),
        l1(3 * S, "LIT1", 10_000, 10_020),  # mid 10,010
        new_order(12 * S, "LIT2", 300),
        fill(13 * S, "LIT2", 100, 10_020, 0),
        l1(14 * S, "LIT2", None, 10_030),
        l1(20 * S, "LIT1", 10_010, 10_030),
    ]


def hand_built_tca(events: list[dict[str, Any]]) -> TransactionCostAnalysis:
    return analyze(events, "SOR", side="buy", quantity=600, start_ns=0, end_ns=20 * S)


class _Balance(HTMLParser):
    """Checks that every element is closed in order (void elements excepted) and collects
    the tags seen."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(page: str) -> _Balance:
    checker = _Balance()
    checker.feed(page)
    checker.close()
    return checker


def external_references(page: str) -> list[str]:
    found = re.findall(r"https?://[^\s\"'<>]*", page)
    return [url for url in found if url != "http://www.w3.org/2000/svg"]


def report(tmp_path: Path, events: list[dict[str, Any]], tcas: dict[str, TransactionCostAnalysis],
           title: str = "Hand-built run", name: str = "report.html",
           shifts: tuple[tuple[int, str], ...] = (SHIFT,)) -> str:
    path = tmp_path / name
    write_report(path, title=title, events=events, tcas=tcas, regime_shifts=shifts)
    return path.read_text(encoding="utf-8")


# --- hand-built log -----------------------------------------------------------------------


def test_write_report_one_parent_writes_file_with_four_charts(tmp_path: Path) -> None:
    events = hand_built_events()
    page = report(tmp_path, events, {"SOR buy 600": hand_built_tca(events)})
    assert (tmp_path / "report.html").is_file()
    # IS and price charts, then allocation and markouts for the one parent.
    assert page.count("<svg") == 4 and page.count("</svg>") == 4


def test_write_report_two_parents_adds_two_charts_each(tmp_path: Path) -> None:
    events = hand_built_events()
    tca = hand_built_tca(events)
    page = report(tmp_path, events, {"first": tca, "second": tca})
    assert page.count("<svg") == 6


def test_write_report_page_has_no_external_reference_or_script(tmp_path: Path) -> None:
    events = hand_built_events()
    page = report(tmp_path, events, {"SOR": hand_built_tca(events)})
    assert external_references(page) == []
    lowered = page.lower()
    for forbidden in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url(", "href="):
        assert forbidden not in lowered, forbidden


def test_write_report_hand_built_log_shows_shift_venues_and_is(tmp_path: Path) -> None:
    events = hand_built_events()
    tca = hand_built_tca(events)
    page = report(tmp_path, events, {"SOR": tca})
    assert page.count("DARK1 dries up") >= 4  # the shifts table and the three time charts
    for venue in ("LIT1", "LIT2", "DARK1"):
        assert venue in page
    assert tca.implementation_shortfall_bps is not None
    assert f"{tca.implementation_shortfall_bps:.2f}" in page
    assert f"{tca.vwap_slippage_bps:.2f}" in page


def test_write_report_same_inputs_twice_gives_byte_identical_file(tmp_path: Path) -> None:
    events = hand_built_events()
    tca = hand_built_tca(events)
    report(tmp_path, events, {"SOR": tca}, name="a.html")
    report(tmp_path, events, {"SOR": tca}, name="b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_write_report_markup_in_title_venue_and_labels_is_escaped(tmp_path: Path) -> None:
    events = hand_built_events(dark="<b>")
    tca = hand_built_tca(events)
    page = report(tmp_path, events, {"<i>parent</i>": tca}, title="<script>alert(1)</script> & co",
                  shifts=((6 * S, '<u>shift</u> "quoted"'),))
    tags = set(parse(page).tags)
    assert not tags & {"b", "i", "u", "script"}
    assert "&lt;b&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "&lt;u&gt;shift&lt;/u&gt; &quot;quoted&quot;" in page


def test_write_report_document_is_well_formed(tmp_path: Path) -> None:
    events = hand_built_events(dark="<b>")
    page = report(tmp_path, events, {"SOR": hand_built_tca(events)})
    checker = parse(page)
    assert checker.errors == []
    assert checker.stack == []
    assert page.startswith("<!DOCTYPE html>")


def test_write_report_no_events_no_parents_still_writes_two_empty_charts(tmp_path: Path) -> None:
    page = report(tmp_path, [], {}, shifts=())
    assert page.count("<svg") == 2
    assert "no fills" in page and "No parent orders." in page
    assert parse(page).errors == []


def test_render_report_zero_price_increment_raises() -> None:
    with pytest.raises(ValueError, match="price_increment"):
        render_report(title="x", events=[], tcas={}, price_increment=0.0)


def test_shortfall_series_last_point_equals_tca_is() -> None:
    events = hand_built_events()
    tca = hand_built_tca(events)
    series = _shortfall_series(tca)
    assert [t for t, _ in series] == [1.0, 2.0, 13.0]
    # First fill alone: 10 ticks over the 10,000 mid plus a 0.3 tick fee per share.
    assert series[0][1] == pytest.approx(10.3)
    assert series[-1][1] == pytest.approx(tca.execution_shortfall_bps)


def test_shortfall_series_sell_side_selling_below_arrival_is_a_cost() -> None:
    events = [l1(0, "LIT1", 9_990, 10_010), fill(1 * S, "LIT1", 100, 9_990, 0)]
    tca = analyze(events, "SOR", side="sell", quantity=100, start_ns=0, end_ns=S)
    [(t, value)] = _shortfall_series(tca)
    assert t == 1.0 and value == pytest.approx(10.0)


def test_markouts_all_fills_equal_tca_markouts_and_split_by_venue() -> None:
    events = hand_built_events()
    tca = hand_built_tca(events)
    curves = markout_curves(tca, _read_market(events).nbbo)
    assert list(curves) == ["all", "DARK1", "LIT1", "LIT2"]
    for h in (1, 10, 60):
        assert curves["all"][h] == pytest.approx(tca.markouts_bps[f"{h}s"])
    # DARK1 filled at 10,000; one second later (t=3 s) the mid is 10,010: +10 bps for a buyer.
    assert curves["DARK1"][1] == pytest.approx(10.0)
    assert curves["DARK1"][0] == pytest.approx(0.0)


# --- size ---------------------------------------------------------------------------------


def test_downsample_long_series_keeps_extremes_within_limit() -> None:
    points: list[tuple[float, float | None]] = [(float(i), float(i % 97)) for i in range(50_000)]
    points[25_000] = (25_000.0, 1_000.0)
    points[30_000] = (30_000.0, None)
    kept = _downsample(points)
    assert len(kept) <= MAX_POINTS
    assert (25_000.0, 1_000.0) in kept and (30_000.0, None) in kept
    assert [t for t, _ in kept] == sorted(t for t, _ in kept)


def test_render_report_many_events_and_fills_stays_bounded(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = [new_order(0, "LIT1", 100_000)]
    for i in range(40_000):
        t = i * S // 100
        events.append(l1(t, "LIT1", 9_990 + i % 7, 10_010 + i % 5))
        if i % 8 == 0:
            events.append(fill(t, "LIT1" if i % 16 else "LIT2", 10, 10_010, 1))
    tca = analyze(events, "SOR", side="buy", quantity=100_000, start_ns=0, end_ns=400 * S)
    assert len(tca.fills) == 5_000
    page = report(tmp_path, events, {"SOR": tca})
    paths = re.findall(r'<path d="([^"]*)"', page)
    assert paths and max(d.count("M") + d.count("L") for d in paths) <= MAX_POINTS
    assert page.count("<circle") <= MAX_POINTS + 50  # fill dots, markout points, legends
    assert len(page) < 1_000_000


# --- a real run ---------------------------------------------------------------------------


def run_regime_case(monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], TransactionCostAnalysis]:
    """A short dry-mode study run; its events and TCA as the study's `analyze` call saw them."""
    seen: dict[str, Any] = {}

    def spy(events: list[dict[str, Any]], *args: Any, **kwargs: Any) -> TransactionCostAnalysis:
        tca = analyze(events, *args, **kwargs)
        seen["events"], seen["tca"] = events, tca
        return tca

    monkeypatch.setattr(regime_routing, "analyze", spy)
    config = regime_routing.StudyConfig(seconds=40, shift_s=20, quantity=8_000)
    regime_routing.run_study_case("sw-ucb", 1, config)
    return seen["events"], seen["tca"]


def test_write_report_real_regime_run_shows_figures_and_is_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    events, tca = run_regime_case(monkeypatch)
    assert tca.filled > 0
    shifts = ((20 * S, "DARK1 dries up"),)
    page = report(tmp_path, events, {"sw-ucb": tca}, title="Regime routing, seed 1",
                  shifts=shifts, name="first.html")
    assert page.count("<svg") == 4
    assert page.count("DARK1 dries up") >= 4
    for venue in ("LIT1", "LIT2", "LIT3", "DARK1", "DARK2"):
        assert f"{venue}</td>" in page  # a row of the venues table
    assert tca.implementation_shortfall_bps is not None
    assert f"{tca.implementation_shortfall_bps:.2f}" in page
    assert external_references(page) == [] and "<script" not in page
    assert parse(page).errors == []
    # Same seed, a second run: same events, so the same page, byte for byte.
    events_again, tca_again = run_regime_case(monkeypatch)
    report(tmp_path, events_again, {"sw-ucb": tca_again}, title="Regime routing, seed 1",
           shifts=shifts, name="second.html")
    assert (tmp_path / "first.html").read_bytes() == (tmp_path / "second.html").read_bytes()
