"""A finished run in figures: the summary `sorsim run` prints and the figures that sweeps,
comparisons and the regression goldens keep.

`run_figures(result)` is the run as plain JSON-able data: the digest and event count, and
per parent order its TCA headline (fill rate, implementation shortfall per parent share
with its parts, VWAP slippage, fees, markouts, regret) and per venue its share of the router's flow, fill rate, cost and
markouts. It depends on the event log alone (no wall time), so equal logs give equal
figures on any machine or backend.

`write_and_print(console, report, path, print_report)` is the tail of `sorsim compare` and
`sorsim sweep`: the report as indented JSON at `path`, then printed, then where it went.

`print_summary(console, result)` prints the run (scenario, seed, digest, shifts) as plain
lines, then rich tables: one of the parent orders, one per parent order of its venues.
Tables use a light box that reads the same in a terminal and in a CI log.

Regret here is against the best single venue in hindsight: a fill's cost against the
arrival mid (fees included) minus the average cost of the cheapest venue of the same run
(`router.tca.regret_bps` with a per-venue mapping). Only venues that filled at least
`REGRET_MIN_SHARE` of the parent's filled shares compete, so that one lucky lot does not
set the bar. It is zero when a single venue did all the filling.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from router.tca import MARKOUT_HORIZONS_S, Nbbo, TransactionCostAnalysis, regret_bps
from scenarios.loader import ScenarioResult
from scenarios.report import markout_curves

__all__ = ["REGRET_MIN_SHARE", "hindsight_regret_bps", "make_console", "parent_figures",
           "make_table", "percent", "print_summary", "run_figures", "signed",
           "venue_table", "write_and_print"]

NS_PER_S = 1_000_000_000
REGRET_MIN_SHARE = 0.05
_PLAIN_WIDTH = 132  # the console width when stdout is not a terminal (CI logs, pipes)


# --- figures ----------------------------------------------------------------------------------


def run_figures(result: ScenarioResult) -> dict[str, Any]:
    """The run's identity and headline figures, as JSON-able data (see the module doc)."""
    nbbo = Nbbo(e for e in result.events if e["type"] == "L1Snapshot" and e["event"] == "out")
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "digest": result.digest,
        "events": result.event_count,
        "parent_orders": {name: parent_figures(tca, nbbo) for name, tca in result.tca.items()},
    }


def parent_figures(tca: TransactionCostAnalysis, nbbo: Nbbo) -> dict[str, Any]:
    """One parent order's headline figures; `nbbo` from the same run's log (for markouts
    per venue)."""
    curves = markout_curves(tca, nbbo)
    sent_total = sum(v.get("sent", 0) for v in tca.venues.values())
    venues: dict[str, dict[str, Any]] = {}
    for venue, figures in tca.venues.items():
        sent = figures.get("sent", 0)
        curve = curves.get(venue, {})
        venues[venue] = {
            "sent": sent,
            "share_of_flow": sent / sent_total if sent_total else None,
            "filled": figures["filled"],
            "fill_rate": figures.get("fill_rate"),
            "cost_bps": figures.get("cost_bps"),
            "fees": figures["fees"],
            **{f"markout_{h}s_bps": curve.get(h) for h in MARKOUT_HORIZONS_S},
        }
    return {
        "quantity": tca.quantity,
        "filled": tca.filled,
        "fill_rate": tca.fill_rate,
        "implementation_shortfall_bps": tca.implementation_shortfall_bps,
        "execution_shortfall_bps": tca.execution_shortfall_bps,
        "price_shortfall_bps": tca.price_shortfall_bps,
        "fees_bps": tca.fees_bps,
        "opportunity_cost_bps": tca.opportunity_cost_bps,
        "vwap_slippage_bps": tca.vwap_slippage_bps,
        "fees": tca.fees,
        "regret_bps": hindsight_regret_bps(tca),
        **{f"markout_{key}_bps": value for key, value in tca.markouts_bps.items()},
        "venues": venues,
    }


def hindsight_regret_bps(tca: TransactionCostAnalysis) -> float | None:
    """Excess cost (bps of arrival) of the fills over the run's cheapest venue (see the
    module doc); None without fills."""
    if not tca.filled:
        return None
    oracle = {venue: figures["cost_bps"] for venue, figures in tca.venues.items()
              if figures.get("cost_bps") is not None
              and figures["filled"] >= REGRET_MIN_SHARE * tca.filled}
    if not oracle:
        return None
    return regret_bps(tca, oracle)


# --- printing ---------------------------------------------------------------------------------


def make_console(quiet: bool = False) -> Console:
    """The console commands print to: the terminal's width in a terminal, a fixed width
    elsewhere so tables do not wrap in a CI log."""
    console = Console(highlight=False, quiet=quiet)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, quiet=quiet, width=_PLAIN_WIDTH)
    return console


def print_summary(console: Console, result: ScenarioResult,
                  reports: Sequence[Path] = ()) -> None:
    """The run as lines, then the parent orders' and venues' tables (see the module doc)."""
    scenario = result.scenario
    increment = scenario.market.price_increment
    figures = run_figures(result)
    lines = [
        f"scenario      {scenario.name} (seed {result.seed}, {scenario.duration_s:g} simulated s)"
        f"  {scenario.path}",
        f"event log     {result.event_count:,} events, sha256 {result.digest}",
        f"wall time     {result.wall_seconds:.2f} s",
    ]
    for i, shift in enumerate(result.shifts()):
        message = shift["msg"]
        changes = ", ".join(f"{k} = {v}" for k, v in message["changes"].items())
        lines.append(f"{'shifts' if i == 0 else '':14s}{message['t_ns'] / NS_PER_S:8.3f} s  "
                     f"{message['target']}: {changes}")
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)

    orders = make_table(["parent", "order", "schedule", "allocator", "filled",
                                      "fill rate", "IS bps", "VWAP slip bps", "fees $",
                                      "regret bps"], text_columns=4)
    for order in scenario.parent_orders:
        parent = order.parent
        f = figures["parent_orders"][order.name]
        orders.add_row(
            order.name,
            f"{parent.side.value} {parent.quantity:,}, {parent.start_ns / NS_PER_S:g}"
            f"-{parent.end_ns / NS_PER_S:g} s",
            order.schedule.type, order.allocator.type, f"{f['filled']:,}",
            percent(f["fill_rate"]), signed(f["implementation_shortfall_bps"]),
            signed(f["vwap_slippage_bps"]), f"{f['fees'] * increment:,.2f}",
            signed(f["regret_bps"]))
    console.print()
    console.print("Parent orders", markup=False)
    console.print(orders)
    console.print()
    for name, f in figures["parent_orders"].items():
        console.print(f"{name} by venue (bps; cost: its fills against the parent's arrival "
                      "mid, fees in; markout: the mid h s after a fill against its price, "
                      "spread paid included; negative = against us)", markup=False)
        console.print(venue_table(f["venues"].items(), increment))
        console.print()
    if result.files or reports:
        paths = [*result.files.values(), *reports]
        console.print("written       " + ", ".join(str(p) for p in paths), markup=False,
                      soft_wrap=True)


def venue_table(venues: Iterable[tuple[str, Mapping[str, Any]]], increment: float) -> Table:
    """One parent order's venues: share of flow, fill rate, cost, markouts, fees."""
    table = make_table(["venue", "share of flow", "sent", "filled", "fill rate", "cost bps",
                    *(f"markout {h} s" for h in MARKOUT_HORIZONS_S), "fees $"])
    for venue, v in venues:
        table.add_row(venue, percent(v["share_of_flow"]), f"{v['sent']:,}",
                      f"{v['filled']:,}", percent(v["fill_rate"]), signed(v["cost_bps"]),
                      *(signed(v[f"markout_{h}s_bps"]) for h in MARKOUT_HORIZONS_S),
                      f"{v['fees'] * increment:,.2f}")
    return table


def make_table(columns: Sequence[str], text_columns: int = 1) -> Table:
    """A table whose first `text_columns` columns are text (left), the rest figures. Only
    the first column folds when the table is too wide (a long name, say a router with its
    parameters): figures are never cut."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i < text_columns else "right",
                         no_wrap=i > 0, overflow="fold")
    return table


def signed(value: float | None) -> str:
    """A figure in bps (or any signed figure) for a table: "+1.23", "-" when absent."""
    return "-" if value is None else f"{value:+.2f}"


def percent(value: float | None) -> str:
    """A fraction for a table: "98.5%", "-" when absent."""
    return "-" if value is None else f"{value:.1%}"


def write_and_print(console: Console, report: dict[str, Any], path: Path,
                    print_report: Callable[[Console, dict[str, Any]], None]) -> None:
    """Write `report` to `path` as indented JSON (its folder made if need be), print it with
    `print_report`, then say where it was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print_report(console, report)
    console.print(f"written       {path}", markup=False, soft_wrap=True)
