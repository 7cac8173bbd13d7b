"""The run report: one self-contained HTML page (report.html) of a run's TCA, with inline SVG.

`write_report(path, title=..., events=..., tcas={name: TransactionCostAnalysis})` writes
the page; `render_report(...)` returns it as a string. The page holds, in order:
- a header (the title, the event count and time span, optional `meta` key/values, the
  regime shifts);
- a table per parent order (IS, and its parts: the filled shares' price and fees and the
  unfilled shares' opportunity cost; VWAP slippage, fill rate, fees, spread capture, markouts)
  and a table per venue and parent (share of flow, fill rate, cost, fees, markouts);
- charts: cumulative implementation shortfall of every parent over time; the NBBO (bid, ask,
  mid) over time with every fill as a dot; per parent, the allocation share by venue over
  time (stacked bars, one per allocation bucket) and the markout curves per venue.
  Every time chart shares one x range and marks the regime shifts as labelled lines.

Invariants:
- Self-contained: no script, no external stylesheet, font or image; the only URL in the
  page is the SVG namespace. It opens offline in any browser.
- Every piece of caller text (title, names, labels, meta) goes through `html.escape`.
- Deterministic: the page depends on the inputs alone (no wall clock, no set or hash
  order); same inputs give a byte-identical file. Floats are printed with fixed decimals.
- Bounded: each chart series is downsampled to at most `MAX_POINTS` points (per bucket of
  consecutive points, its lowest and highest, so spikes stay visible); fills beyond that
  are drawn as one dot per (time bucket, venue) at their average price.

Cost: one pass over the events plus O(fills x log snapshots) for the markouts, whose mids
come from router.tca's own NBBO rebuild so the figures agree with the TCA's. The NBBO drawn
(bid and ask) is rebuilt here the same way (best bid and ask over the latest L1 snapshot of
every venue, at venue time). Known limit: text widths in the SVG legends are estimated
(about 6.5 px a character), so very long names may crowd a legend row.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The TCA's own NBBO rebuild, so markouts here match the TCA's.
from router.tca import MARKOUT_HORIZONS_S, Fill, Nbbo, TransactionCostAnalysis, markout_bps

__all__ = ["MAX_POINTS", "markout_curves", "render_report", "write_report"]

S = 1_000_000_000
MAX_POINTS = 2_000
# router.tca.analyze's default bucket: the allocation width when a TCA has one bucket only
# (the TCA does not record its bucket width).
_DEFAULT_BUCKET_NS = 10 * S
_VENUE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
                 "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
_ORDER_COLORS = ("#1f3b73", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085")
_DASH = "\u2014"
_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #222; margin: 24px auto; max-width: 960px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
h3 { font-size: 15px; margin-bottom: 4px; }
.note { color: #555; font-size: 13px; margin: 2px 0 8px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; }
.wide { overflow-x: auto; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; }
svg { display: block; margin: 4px 0 12px; background: #fff; max-width: 100%; height: auto; }
svg text { font: 11px sans-serif; fill: #333; }
svg .title { font-size: 12px; font-weight: bold; }
"""


def write_report(
    path: str | Path,
    *,
    title: str,
    events: Iterable[Mapping[str, Any]],
    tcas: Mapping[str, TransactionCostAnalysis],
    regime_shifts: Sequence[tuple[int, str]] = (),
    price_increment: float = 0.0001,
    meta: Mapping[str, object] | None = None,
) -> None:
    """Write the report page to `path` (UTF-8, "\\n" line ends whatever the platform)."""
    page = render_report(title=title, events=events, tcas=tcas, regime_shifts=regime_shifts,
                         price_increment=price_increment, meta=meta)
    Path(path).write_bytes(page.encode("utf-8"))


def render_report(
    *,
    title: str,
    events: Iterable[Mapping[str, Any]],
    tcas: Mapping[str, TransactionCostAnalysis],
    regime_shifts: Sequence[tuple[int, str]] = (),
    price_increment: float = 0.0001,
    meta: Mapping[str, object] | None = None,
) -> str:
    """The report page as a string. `events` as `market.event_log.read_event_log` returns
    them (iterated once); `tcas` by display name (each parent order, or each router run);
    `regime_shifts` as (t_ns, label); prices in the log are ticks of `price_increment`."""
    if not price_increment > 0:
        raise ValueError(f"price_increment was {price_increment!r}, expected > 0")
    market = _read_market(events)
    shifts = sorted(regime_shifts, key=lambda s: s[0])
    venues = sorted({f.venue for t in tcas.values() for f in t.fills}
                    | {v for t in tcas.values() for v in t.venues}
                    | {v for t in tcas.values() for b in t.allocation_over_time for v in b["sent"]})
    colors = {v: _VENUE_COLORS[i % len(_VENUE_COLORS)] for i, v in enumerate(venues)}
    x_range = _time_range(market, tcas, shifts)
    markouts = {name: markout_curves(tca, market.nbbo) for name, tca in tcas.items()}

    out: list[str] = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{_e(title)}</h1>",
    ]
    span = (f"{_fmt_seconds(market.t_first / S)} to {_fmt_seconds(market.t_last / S)}"
            if market.t_first is not None and market.t_last is not None else _DASH)
    out.append(f'<p class="note">{market.events} events, simulated time {span}; '
               f"{len(tcas)} parent order{'s' if len(tcas) != 1 else ''}; "
               f"prices and fees in currency units (one tick is "
               f"{_e(_fmt_increment(price_increment))}). "
               "Costs in bps: positive is a cost to the trader.</p>")
    if meta:
        out.append('<table class="meta">')
        out += [f'<tr><th class="name">{_e(str(k))}</th><td class="name">{_e(str(v))}</td></tr>'
                for k, v in meta.items()]
        out.append("</table>")
    if shifts:
        out.append("<h2>Regime shifts</h2>")
        out.append('<table><tr><th>time</th><th class="name">shift</th></tr>')
        out += [f'<tr><td>{_e(_fmt_seconds(t / S))}</td><td class="name">{_e(label)}</td></tr>'
                for t, label in shifts]
        out.append("</table>")

    out.append("<h2>Parent orders</h2>")
    out.append(_orders_table(tcas, price_increment))
    out.append("<h2>Venues</h2>")
    out.append(_venues_table(tcas, markouts, colors, price_increment))

    out.append("<h2>Cumulative implementation shortfall</h2>")
    out.append('<p class="note">Cost of the shares filled so far against the arrival mid, '
               "fees included (bps). The last point is the parent's IS.</p>")
    out.append(_shortfall_chart(tcas, x_range, shifts))
    out.append("<h2>Price and NBBO</h2>")
    out.append('<p class="note">Best bid and ask over the lit venues\' L1 snapshots, their '
               "mid, and every fill (a dot, coloured by venue).</p>")
    out.append(_price_chart(market, tcas, x_range, shifts, colors, price_increment))
    for name, tca in tcas.items():
        out.append(f"<h2>{_e(name)}</h2>")
        out.append("<h3>Allocation by venue over time</h3>")
        out.append('<p class="note">Share of the shares sent in each time bucket, by venue.</p>')
        out.append(_allocation_chart(tca, x_range, shifts, colors))
        out.append("<h3>Markouts</h3>")
        out.append('<p class="note">Mean mid move after a fill against the fill price (bps, '
                   "quantity-weighted); negative is adverse selection.</p>")
        out.append(_markout_chart(markouts[name], colors))
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# --- data ---------------------------------------------------------------------------------


@dataclass
class _Market:
    """What the report takes from the events: their count and span, and the NBBO."""

    events: int = 0
    t_first: int | None = None
    t_last: int | None = None
    times: list[int] = field(default_factory=list)
    bids: list[int | None] = field(default_factory=list)
    asks: list[int | None] = field(default_factory=list)
    nbbo: Nbbo = field(default_factory=lambda: Nbbo(()))


def _read_market(events: Iterable[Mapping[str, Any]]) -> _Market:
    market = _Market()
    snapshots: list[dict[str, Any]] = []
    tops: dict[str, tuple[int | None, int | None]] = {}
    for event in events:
        market.events += 1
        t = event["t"]
        if market.t_first is None or t < market.t_first:
            market.t_first = t
        if market.t_last is None or t > market.t_last:
            market.t_last = t
        if event["type"] != "L1Snapshot" or event["event"] != "out":
            continue
        snapshots.append(dict(event))
        message = event["msg"]
        tops[event["at"]] = (message["bid_price"], message["ask_price"])
        bids = [b for b, _ in tops.values() if b is not None]
        asks = [a for _, a in tops.values() if a is not None]
        bid, ask = (max(bids) if bids else None), (min(asks) if asks else None)
        if market.times and market.times[-1] == t:
            market.bids[-1], market.asks[-1] = bid, ask
        else:
            market.times.append(t)
            market.bids.append(bid)
            market.asks.append(ask)
    market.nbbo = Nbbo(snapshots)
    return market


def _time_range(market: _Market, tcas: Mapping[str, TransactionCostAnalysis],
                shifts: Sequence[tuple[int, str]]) -> tuple[float, float]:
    """One x range (seconds) for every time chart, so that shifts line up between them."""
    times = [t for t in (market.t_first, market.t_last) if t is not None]
    times += [t for t, _ in shifts]
    for tca in tcas.values():
        times += [f.t_ns for f in tca.fills[:1] + tca.fills[-1:]]
        times += [b["t_ns"] for b in tca.allocation_over_time[:1]]
        if tca.allocation_over_time:
            times.append(tca.allocation_over_time[-1]["t_ns"] + _bucket_ns(tca))
    if not times:
        return 0.0, 1.0
    lo, hi = min(times) / S, max(times) / S
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _bucket_ns(tca: TransactionCostAnalysis) -> int:
    """The allocation bucket width: the gcd of the gaps between bucket starts."""
    starts = [b["t_ns"] for b in tca.allocation_over_time]
    width = 0
    for a, b in zip(starts, starts[1:]):
        width = math.gcd(width, b - a)
    return width or _DEFAULT_BUCKET_NS


_Curve = dict[int, float | None]  # horizon (s) -> mean markout (bps)


def markout_curves(tca: TransactionCostAnalysis, nbbo: Nbbo) -> dict[str, _Curve]:
    """Markout curves per venue and for all fills ("all"), at 0 s (the fill) and the TCA's
    horizons, with router.tca's `markout_bps` (so "all" at 1/10/60 s equals
    tca.markouts_bps); a horizon past the end of the log counts no fill."""
    sign = 1.0 if tca.side == "buy" else -1.0
    horizons = (0, *MARKOUT_HORIZONS_S)
    sums: dict[str, dict[int, list[float]]] = {}
    for fill in tca.fills:
        for key in ("all", fill.venue):
            per = sums.setdefault(key, {h: [0.0, 0.0] for h in horizons})
            for h in horizons:
                markout = markout_bps(fill, nbbo, h, sign, tca.log_end_ns)
                if markout is not None:
                    per[h][0] += fill.quantity * markout
                    per[h][1] += fill.quantity
    return {key: {h: (num / qty if qty else None) for h, (num, qty) in per.items()}
            for key, per in sorted(sums.items(), key=lambda kv: (kv[0] != "all", kv[0]))}


def _shortfall_series(tca: TransactionCostAnalysis) -> list[tuple[float, float | None]]:
    """(t s, IS bps of the shares filled by then), one point per fill instant."""
    arrival = tca.arrival_mid
    if arrival is None or arrival <= 0:
        return []
    sign = 1.0 if tca.side == "buy" else -1.0
    points: list[tuple[float, float | None]] = []
    quantity = 0
    cost = 0.0
    for fill in sorted(tca.fills, key=lambda f: f.t_ns):
        quantity += fill.quantity
        cost += sign * fill.quantity * (fill.price - arrival) + fill.fee
        value = cost / (quantity * arrival) * 1e4
        t = fill.t_ns / S
        if points and points[-1][0] == t:
            points[-1] = (t, value)
        else:
            points.append((t, value))
    return points


# --- tables -------------------------------------------------------------------------------


def _orders_table(tcas: Mapping[str, TransactionCostAnalysis], increment: float) -> str:
    if not tcas:
        return '<p class="note">No parent orders.</p>'
    decimals = _price_decimals(increment)
    heads = ["parent", "side", "quantity", "filled", "fill rate", "avg price", "arrival mid",
             "IS bps", "filled shares bps", "price bps", "fees bps", "opportunity bps",
             "VWAP slippage bps",
             "spread capture bps", *(f"markout {h} s bps" for h in MARKOUT_HORIZONS_S), "fees"]

    def price(ticks: float | None) -> str:
        return _num(None if ticks is None else ticks * increment, decimals)

    rows = []
    for name, t in tcas.items():
        cells = [t.side, str(t.quantity), str(t.filled), _pct(t.fill_rate),
                 price(t.average_price), price(t.arrival_mid),
                 _num(t.implementation_shortfall_bps), _num(t.execution_shortfall_bps),
                 _num(t.price_shortfall_bps),
                 _num(t.fees_bps), _num(t.opportunity_cost_bps), _num(t.vwap_slippage_bps),
                 _num(t.spread_capture_bps),
                 *(_num(t.markouts_bps.get(f"{h}s")) for h in MARKOUT_HORIZONS_S),
                 _num(t.fees * increment)]
        rows.append(f'<tr><td class="name">{_e(name)}</td>'
                    + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return _table(heads, rows)


def _venues_table(tcas: Mapping[str, TransactionCostAnalysis],
                  markouts: Mapping[str, Mapping[str, _Curve]], colors: Mapping[str, str],
                  increment: float) -> str:
    heads = ["parent", "venue", "sent", "share of flow", "filled", "share of fills",
             "fill rate", "cost bps", *(f"markout {h} s bps" for h in MARKOUT_HORIZONS_S),
             "fees"]
    rows = []
    for name, t in tcas.items():
        total_sent = sum(v.get("sent", 0) for v in t.venues.values())
        for venue, figures in t.venues.items():
            sent = figures.get("sent", 0)
            curve = markouts.get(name, {}).get(venue, {})
            cells = [str(sent), _pct(sent / total_sent if total_sent else None),
                     str(figures.get("filled", 0)), _pct(figures.get("share_of_fills")),
                     _pct(figures.get("fill_rate")), _num(figures.get("cost_bps")),
                     *(_num(curve.get(h)) for h in MARKOUT_HORIZONS_S),
                     _num(figures.get("fees", 0) * increment)]
            swatch = f'<span class="swatch" style="background:{colors.get(venue, "#999")}"></span>'
            rows.append(f'<tr><td class="name">{_e(name)}</td><td class="name">{swatch}'
                        f"{_e(venue)}</td>" + "".join(f"<td>{_e(c)}</td>" for c in cells)
                        + "</tr>")
    if not rows:
        return '<p class="note">No venue traffic.</p>'
    return _table(heads, rows)


def _table(heads: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f'<th class="name">{_e(h)}</th>' if i < 2 else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(heads))
    return f'<div class="wide"><table><tr>{head}</tr>\n' + "\n".join(rows) + "\n</table></div>"


# --- charts -------------------------------------------------------------------------------


def _shortfall_chart(tcas: Mapping[str, TransactionCostAnalysis], x_range: tuple[float, float],
                     shifts: Sequence[tuple[int, str]]) -> str:
    series = {name: _downsample(_shortfall_series(t)) for name, t in tcas.items()}
    series = {name: s for name, s in series.items() if s}
    order_colors = {name: _ORDER_COLORS[i % len(_ORDER_COLORS)] for i, name in enumerate(tcas)}
    values = [v for s in series.values() for _, v in s if v is not None] + [0.0]
    legend = [(f"{name}: {_num(tcas[name].execution_shortfall_bps)} bps",
               order_colors[name], "line") for name in series]
    plot = _Plot("Cumulative IS of the filled shares (bps of arrival mid)", x_range,
                 _padded(min(values), max(values)), y_format=_tick_format, legend=legend,
                 shifts=shifts)
    if not series:
        plot.message("no fills")
    plot.hline(0.0)
    for name, points in series.items():
        plot.step(points, x_range[1], order_colors[name], width=2.0)
    return plot.render()


def _price_chart(market: _Market, tcas: Mapping[str, TransactionCostAnalysis],
                 x_range: tuple[float, float], shifts: Sequence[tuple[int, str]],
                 colors: Mapping[str, str], increment: float) -> str:
    t_s = [t / S for t in market.times]
    bids = _downsample([(t, None if b is None else b * increment) for t, b in zip(t_s, market.bids)])
    asks = _downsample([(t, None if a is None else a * increment) for t, a in zip(t_s, market.asks)])
    mids = _downsample([(t, (b + a) / 2 * increment if b is not None and a is not None else None)
                        for t, b, a in zip(t_s, market.bids, market.asks)])
    dots = _fill_dots([(name, f) for name, t in tcas.items() for f in t.fills], x_range, increment)
    values = [v for s in (bids, asks) for _, v in s if v is not None]
    values += [d.price for d in dots]
    decimals = _price_decimals(increment)
    fill_venues = sorted({d.venue for d in dots})
    legend = [("bid", "#2e7d32", "line"), ("ask", "#c62828", "line"), ("mid", "#777", "dash")]
    legend += [(f"fill {v}", colors.get(v, "#999"), "dot") for v in fill_venues]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    plot = _Plot("NBBO and fills (price)", x_range, _padded(lo, hi),
                 y_format=lambda v, step: _num(v, max(decimals, _step_decimals(step))),
                 legend=legend, shifts=shifts, height=340)
    if not values:
        plot.message("no L1 snapshots")
    plot.step(bids, x_range[1], "#2e7d32", width=1.2)
    plot.step(asks, x_range[1], "#c62828", width=1.2)
    plot.step(mids, x_range[1], "#777", width=1.0, dash=True)
    for d in dots:
        tip = (f"{d.parent} {d.venue}: {d.quantity} @ {_num(d.price, decimals)}, "
               f"t {_fmt_seconds(d.t)}" + (f" ({d.count} fills)" if d.count > 1 else ""))
        plot.dot(d.t, d.price, colors.get(d.venue, "#999"), tip)
    return plot.render()


@dataclass(frozen=True)
class _Dot:
    parent: str
    venue: str
    t: float
    price: float
    quantity: int
    count: int


def _fill_dots(fills: Sequence[tuple[str, Fill]], x_range: tuple[float, float],
               increment: float) -> list[_Dot]:
    """One dot per fill; past MAX_POINTS, one per (time bucket, parent, venue) at the
    average price of its fills."""
    if len(fills) <= MAX_POINTS:
        return [_Dot(name, f.venue, f.t_ns / S, f.price * increment, f.quantity, 1)
                for name, f in fills]
    keys = sorted({(name, f.venue) for name, f in fills})
    buckets = max(1, MAX_POINTS // len(keys))
    width = (x_range[1] - x_range[0]) / buckets
    groups: dict[tuple[int, str, str], list[Fill]] = defaultdict(list)
    for name, f in fills:
        b = min(buckets - 1, int((f.t_ns / S - x_range[0]) / width))
        groups[(b, name, f.venue)].append(f)
    dots = []
    for (_, name, venue), group in sorted(groups.items()):
        quantity = sum(f.quantity for f in group)
        price = sum(f.quantity * f.price for f in group) / quantity if quantity else group[0].price
        t = sum(f.t_ns for f in group) / len(group) / S
        dots.append(_Dot(name, venue, t, price * increment, quantity, len(group)))
    return dots


def _allocation_chart(tca: TransactionCostAnalysis, x_range: tuple[float, float],
                      shifts: Sequence[tuple[int, str]], colors: Mapping[str, str]) -> str:
    allocation = tca.allocation_over_time
    venues = sorted({v for b in allocation for v in b["sent"]})
    legend = [(v, colors.get(v, "#999"), "rect") for v in venues]
    plot = _Plot("Share of shares sent, by venue (%)", x_range, (0.0, 100.0),
                 y_format=_tick_format, legend=legend, shifts=shifts)
    if not allocation:
        plot.message("nothing sent")
        return plot.render()
    width = _bucket_ns(tca)
    # Wider buckets when there would be more bars than the chart's point budget.
    first = allocation[0]["t_ns"]
    span = (allocation[-1]["t_ns"] - first) // width + 1
    merge = max(1, math.ceil(span * len(venues) / MAX_POINTS))
    merged: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bucket in allocation:
        for venue, sent in bucket["sent"].items():
            merged[(bucket["t_ns"] - first) // (width * merge)][venue] += sent
    for index, by_venue in sorted(merged.items()):
        t0 = (first + index * width * merge) / S
        t1 = t0 + width * merge / S
        total = sum(by_venue.values())
        if not total:
            continue
        base = 0.0
        for venue in venues:
            sent = by_venue.get(venue, 0)
            if not sent:
                continue
            share = sent / total * 100
            plot.bar(t0, t1, base, base + share, colors.get(venue, "#999"),
                     f"{venue}: {sent} of {total} sent ({share:.1f}%) from {_fmt_seconds(t0)}")
            base += share
    return plot.render()


def _markout_chart(curves: Mapping[str, _Curve], colors: Mapping[str, str]) -> str:
    horizons = (0, *MARKOUT_HORIZONS_S)
    values = [v for c in curves.values() for v in c.values() if v is not None] + [0.0]
    legend = [("all fills" if k == "all" else k, "#222" if k == "all" else colors.get(k, "#999"),
               "line") for k in curves]
    labels = ["at fill", *(f"{h} s" for h in MARKOUT_HORIZONS_S)]
    plot = _Plot("Mean markout after a fill (bps)", (-0.3, len(horizons) - 0.7),
                 _padded(min(values), max(values)), y_format=_tick_format, legend=legend,
                 x_ticks=list(enumerate(labels)), x_label="time after the fill")
    if not curves:
        plot.message("no fills")
    plot.hline(0.0)
    for key, curve in curves.items():
        points: list[tuple[float, float | None]] = [(float(i), curve.get(h))
                                                    for i, h in enumerate(horizons)]
        color = "#222" if key == "all" else colors.get(key, "#999")
        plot.polyline(points, color, width=2.5 if key == "all" else 1.5)
        for x, v in points:
            if v is not None:
                label = "all fills" if key == "all" else key
                plot.dot(x, v, color, f"{label} {labels[int(x)]}: {_num(v)} bps")
    return plot.render()


class _Plot:
    """A small SVG chart: a plot area with y gridlines, x and y tick labels, a legend above,
    optional labelled vertical lines (regime shifts); data drawn in data coordinates."""

    WIDTH = 900
    LEFT, RIGHT, BOTTOM = 70, 20, 42

    def __init__(self, title: str, x_range: tuple[float, float], y_range: tuple[float, float],
                 *, y_format: Callable[[float, float], str],
                 legend: Sequence[tuple[str, str, str]] = (),
                 shifts: Sequence[tuple[int, str]] = (), height: int = 300,
                 x_ticks: Sequence[tuple[float, str]] | None = None,
                 x_label: str = "simulated time") -> None:
        self.title = title
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.height = height
        self.parts: list[str] = []
        legend_rows = self._legend_rows(legend)
        self.top = 22 + 16 * len(legend_rows) + (26 if shifts else 0) + 6
        self.bottom_px = height - self.BOTTOM
        self.right_px = self.WIDTH - self.RIGHT
        head = [f'<text class="title" x="{self.LEFT}" y="14">{_e(title)}</text>']
        for row, items in enumerate(legend_rows):
            y = 22 + 16 * row + 8
            for x, (label, color, kind) in items:
                head.append(_legend_mark(x, y, color, kind))
                head.append(f'<text x="{x + 18}" y="{y + 4}">{_e(label)}</text>')
        self.head = head
        self.shifts = shifts  # drawn last, over the data
        self._axes(y_format, x_ticks, x_label)

    def _legend_rows(self, legend: Sequence[tuple[str, str, str]]
                     ) -> list[list[tuple[float, tuple[str, str, str]]]]:
        rows: list[list[tuple[float, tuple[str, str, str]]]] = []
        x = float(self.LEFT)
        for item in legend:
            width = 18 + 6.5 * len(item[0]) + 16
            if not rows or (x + width > self.WIDTH - self.RIGHT and rows[-1]):
                rows.append([])
                x = float(self.LEFT)
            rows[-1].append((x, item))
            x += width
        return rows

    def x(self, v: float) -> float:
        span = self.x1 - self.x0
        v = min(max(v, self.x0), self.x1)
        return self.LEFT + (v - self.x0) / span * (self.right_px - self.LEFT)

    def y(self, v: float) -> float:
        span = self.y1 - self.y0
        v = min(max(v, self.y0), self.y1)
        return self.bottom_px - (v - self.y0) / span * (self.bottom_px - self.top)

    def _axes(self, y_format: Callable[[float, float], str],
              x_ticks: Sequence[tuple[float, str]] | None, x_label: str) -> None:
        p = self.parts
        y_ticks, y_step = _nice_ticks(self.y0, self.y1)
        for v in y_ticks:
            y = self.y(v)
            p.append(f'<line x1="{self.LEFT}" y1="{y:.1f}" x2="{self.right_px}" y2="{y:.1f}" '
                     'stroke="#e6e6e6"/>')
            p.append(f'<text x="{self.LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{_e(y_format(v, y_step))}</text>")
        if x_ticks is None:
            ticks, step = _nice_ticks(self.x0, self.x1, time=True)
            x_ticks = [(v, _fmt_seconds(v, step)) for v in ticks]
        for v, label in x_ticks:
            x = self.x(v)
            p.append(f'<line x1="{x:.1f}" y1="{self.bottom_px}" x2="{x:.1f}" '
                     f'y2="{self.bottom_px + 4}" stroke="#555"/>')
            p.append(f'<text x="{x:.1f}" y="{self.bottom_px + 16}" text-anchor="middle">'
                     f"{_e(label)}</text>")
        p.append(f'<rect x="{self.LEFT}" y="{self.top}" width="{self.right_px - self.LEFT}" '
                 f'height="{self.bottom_px - self.top}" fill="none" stroke="#999"/>')
        p.append(f'<text x="{(self.LEFT + self.right_px) / 2:.1f}" y="{self.height - 6}" '
                 f'text-anchor="middle">{_e(x_label)}</text>')

    def _shift(self, t: float, label: str, index: int) -> None:
        x = self.x(t)
        y_label = self.top - 8 - 12 * (1 - index % 2)  # alternate rows: close shifts stay legible
        anchor, dx = ("end", -3) if x > self.LEFT + 0.75 * (self.right_px - self.LEFT) else ("start", 3)
        self.parts.append(f'<line x1="{x:.1f}" y1="{y_label + 3:.1f}" x2="{x:.1f}" '
                          f'y2="{self.bottom_px}" stroke="#6a1b9a" stroke-width="1.5" '
                          'stroke-dasharray="5,3"/>')
        self.parts.append(f'<text x="{x + dx:.1f}" y="{y_label:.1f}" text-anchor="{anchor}" '
                          f'fill="#6a1b9a">{_e(label)}</text>')

    def message(self, text: str) -> None:
        self.parts.append(f'<text x="{(self.LEFT + self.right_px) / 2:.1f}" '
                          f'y="{(self.top + self.bottom_px) / 2:.1f}" text-anchor="middle">'
                          f"{_e(text)}</text>")

    def hline(self, v: float) -> None:
        if self.y0 <= v <= self.y1:
            y = self.y(v)
            self.parts.append(f'<line x1="{self.LEFT}" y1="{y:.1f}" x2="{self.right_px}" '
                              f'y2="{y:.1f}" stroke="#999"/>')

    def step(self, points: Sequence[tuple[float, float | None]], x_end: float, color: str,
             *, width: float, dash: bool = False) -> None:
        """A step line (each value holds until the next point; the last until x_end); a
        None value breaks the line."""
        d: list[str] = []
        pen = False
        for i, (t, v) in enumerate(points):
            if v is None:
                pen = False
                continue
            t_next = points[i + 1][0] if i + 1 < len(points) else x_end
            y = self.y(v)
            d.append(f"{'L' if pen else 'M'}{self.x(t):.1f} {y:.1f}H{self.x(t_next):.1f}")
            pen = True
        self._path(d, color, width, dash)

    def polyline(self, points: Sequence[tuple[float, float | None]], color: str, *,
                 width: float) -> None:
        d: list[str] = []
        pen = False
        for t, v in points:
            if v is None:
                pen = False
                continue
            d.append(f"{'L' if pen else 'M'}{self.x(t):.1f} {self.y(v):.1f}")
            pen = True
        self._path(d, color, width, False)

    def _path(self, d: list[str], color: str, width: float, dash: bool) -> None:
        if d:
            extra = ' stroke-dasharray="4,3"' if dash else ""
            self.parts.append(f'<path d="{"".join(d)}" fill="none" stroke="{color}" '
                              f'stroke-width="{width}"{extra}/>')

    def dot(self, t: float, v: float, color: str, tip: str) -> None:
        self.parts.append(f'<circle cx="{self.x(t):.1f}" cy="{self.y(v):.1f}" r="3" '
                          f'fill="{color}" stroke="#222" stroke-width="0.5">'
                          f"<title>{_e(tip)}</title></circle>")

    def bar(self, t0: float, t1: float, v0: float, v1: float, color: str, tip: str) -> None:
        x0, x1 = self.x(t0), self.x(t1)
        y0, y1 = self.y(v1), self.y(v0)
        self.parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                          f'height="{y1 - y0:.1f}" fill="{color}"><title>{_e(tip)}</title></rect>')

    def render(self) -> str:
        for i, (t_ns, label) in enumerate(self.shifts):
            self._shift(t_ns / S, label, i)
        self.shifts = ()
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.WIDTH}" '
                f'height="{self.height}" viewBox="0 0 {self.WIDTH} {self.height}" role="img" '
                f'aria-label="{_e(self.title)}">\n' + "\n".join(self.head + self.parts)
                + "\n</svg>")


def _legend_mark(x: float, y: float, color: str, kind: str) -> str:
    if kind == "rect":
        return f'<rect x="{x:.1f}" y="{y - 5}" width="12" height="10" fill="{color}"/>'
    if kind == "dot":
        return (f'<circle cx="{x + 6:.1f}" cy="{y}" r="3.5" fill="{color}" stroke="#222" '
                'stroke-width="0.5"/>')
    extra = ' stroke-dasharray="4,3"' if kind == "dash" else ""
    return (f'<line x1="{x:.1f}" y1="{y}" x2="{x + 14:.1f}" y2="{y}" stroke="{color}" '
            f'stroke-width="2"{extra}/>')


# --- numbers ------------------------------------------------------------------------------


def _downsample(points: Sequence[tuple[float, float | None]],
                limit: int = MAX_POINTS) -> list[tuple[float, float | None]]:
    """At most about `limit` points: per chunk of consecutive points, its lowest and highest
    (in time order) and a gap marker where the chunk had one."""
    if len(points) <= limit:
        return list(points)
    size = math.ceil(len(points) / (limit // 3))
    out: list[tuple[float, float | None]] = []
    for start in range(0, len(points), size):
        chunk = points[start:start + size]
        valued = [(i, p) for i, p in enumerate(chunk) if p[1] is not None]
        keep: dict[int, tuple[float, float | None]] = {}
        if valued:
            keep.update([min(valued, key=lambda ip: (ip[1][1], ip[0])),
                         max(valued, key=lambda ip: (ip[1][1], -ip[0]))])
        gap = next((i for i, p in enumerate(chunk) if p[1] is None), None)
        if gap is not None:
            keep[gap] = chunk[gap]
        out += [keep[i] for i in sorted(keep)]
    return out


def _nice_ticks(lo: float, hi: float, *, time: bool = False) -> tuple[list[float], float]:
    """About six round tick values in [lo, hi] and their step (1-2-5 steps; for time, also
    minutes and hours)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / 6
    steps: list[float] = []
    if time and raw >= 60:
        steps = [60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0]
    if not steps or raw > steps[-1]:
        magnitude = 10.0 ** math.floor(math.log10(raw))
        steps += [m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0)]
    step = next(s for s in steps if s >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    i = first
    while i * step <= hi + step * 1e-9:
        ticks.append(round(i * step, 12))
        i += 1
    return ticks, step


def _padded(lo: float, hi: float) -> tuple[float, float]:
    if hi <= lo:
        return lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def _step_decimals(step: float) -> int:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return decimals + (1 if round(step / 10.0 ** -decimals, 6) % 1 else 0)


def _price_decimals(increment: float) -> int:
    return max(0, -math.floor(math.log10(increment) + 1e-9))


def _tick_format(v: float, step: float) -> str:
    return _num(v, _step_decimals(step))


def _num(value: float | None, decimals: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _pct(value: float | None) -> str:
    return _DASH if value is None else f"{value * 100:.1f}%"


def _fmt_seconds(t: float, step: float | None = None) -> str:
    """A time in seconds: "12.5 s" under ten minutes, else "h:mm:ss"."""
    if step is not None and step >= 60 or step is None and abs(t) >= 600:
        whole = int(round(t))
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    decimals = _step_decimals(step) if step is not None else 3
    text = f"{t:.{decimals}f}"
    if step is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} s"


def _fmt_increment(increment: float) -> str:
    return f"{increment:.{_price_decimals(increment)}f}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
