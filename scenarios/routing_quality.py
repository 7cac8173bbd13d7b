"""Routing quality of a library scenario over many seeds: its own (adaptive) router and the
static baselines in its place, one lean record per run, the runs spread over processes.

Why over many seeds. What venue choice saves on a regime shift is a tenth of a bp to a few
tenths per parent order, while two routers on one seed differ by 0.2-0.8 bp (standard
deviation of the paired difference: the router's own orders change the market's path).
Four seeds cannot tell such an edge from noise; a hundred can. One run of a library file
takes about 0.4 s, so a file's hundreds of runs take a minute or two on two cores.

Why a lean record. A run's event log is kept only long enough to read the lit mid at each
of the router's fills; the record holds the parent's shortfall and fill rate, the
allocator's own slices (no clean-up or catch-up slices: those are the router's rules, not
the allocator's choices) and the fills. Hundreds of event logs would not fit in memory.

What a venue cost. `sent_costs` reads from a run's slices what each venue cost per share
the router sent it, fills and misses together (`SentCost`): a venue that only fills less is
not dearer by it, one whose fills are picked off is.

The static baselines are `scenarios.baselines`; shortfall is `router.tca`'s implementation
shortfall (Perold: price and fees on the filled shares, plus the opportunity cost of any
unfilled shares), in bps of the arrival mid.
"""

from __future__ import annotations

import multiprocessing
import tomllib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from router.smart_order_router import SliceRecord
from router.tca import Fill, Nbbo
from scenarios.loader import LIBRARY, run_scenario, substitute_allocator
from scenarios.scenario import Scenario, compile_scenario
from scenarios.schema import validate_data

__all__ = ["RoutingRun", "SentCost", "library_scenario", "run_routing", "run_routing_many",
           "sent_costs"]


@dataclass(frozen=True)
class RoutingRun:
    """What routing-quality checks read from one run of a library file's first parent order."""

    shortfall_bps: float  # implementation shortfall against the arrival mid
    fill_rate: float
    side: str  # "buy" or "sell"
    slices: list[SliceRecord]  # the allocator's own slices, in time order
    fills: list[Fill]
    fill_mids: list[float | None]  # the lit NBBO mid at each fill's time (None: no mid yet)


@dataclass(frozen=True)
class SentCost:
    """What one venue's child orders cost over a stretch of slices, fills and misses together.

    A filled share costs its price against its slice's decision mid plus fees; a share sent
    and not filled costs the mid's move until the next slice's decision (it is sent again
    then). A venue that fills less but at good prices can be cheap by this measure; one
    whose fills are picked off is dear."""

    cost_bps_shares: float = 0.0  # bps of the decision mid x shares, + = paid (either side)
    sent: int = 0
    filled: int = 0

    def __add__(self, other: SentCost) -> SentCost:
        return SentCost(self.cost_bps_shares + other.cost_bps_shares, self.sent + other.sent,
                        self.filled + other.filled)

    @property
    def per_share_bps(self) -> float | None:
        return self.cost_bps_shares / self.sent if self.sent else None

    @property
    def fill_rate(self) -> float | None:
        return self.filled / self.sent if self.sent else None


def sent_costs(slices: Sequence[SliceRecord], side: str, start_ns: int = 0,
               end_ns: int | None = None) -> dict[str, SentCost]:
    """Each venue's `SentCost` over the slices decided in [start_ns, end_ns), of a parent
    on `side` ("buy" or "sell"); `slices` in time order (the next decision mid may lie
    beyond end_ns)."""
    sign = 1.0 if side == "buy" else -1.0
    mids = [record.decision_mid for record in slices]
    out: dict[str, SentCost] = {}
    for i, record in enumerate(slices):
        mid = record.decision_mid
        if mid is None or record.t_ns < start_ns or (end_ns is not None and record.t_ns >= end_ns):
            continue
        later = next((m for m in mids[i + 1:] if m is not None), None)
        for venue, cost in record.costs.items():
            total = sign * (cost.notional - cost.filled * mid) + cost.fees if cost.filled else 0.0
            missed = cost.sent - cost.filled
            if missed and later is not None:
                total += sign * missed * (later - mid)
            out[venue] = out.get(venue, SentCost()) + SentCost(total / mid * 1e4, cost.sent,
                                                               cost.filled)
    return out


def library_scenario(name: str, allocator: str | None = None) -> Scenario:
    """The library file `name`, its parent orders routed by the static baseline `allocator`
    (`scenarios.baselines`; or any allocator `parse_scenario` takes), or by the file's own
    allocator when None."""
    path = LIBRARY / f"{name}.toml"
    data = tomllib.loads(path.read_text())
    if allocator is not None:
        substitute_allocator(data, allocator, str(path))
    return compile_scenario(validate_data(data, str(path)), str(path))


def run_routing(name: str, allocator: str | None, seed: int) -> RoutingRun:
    """Run library file `name` once (see `library_scenario`) and keep its `RoutingRun`."""
    scenario = library_scenario(name, allocator)
    result = run_scenario(scenario, seed=seed)
    order = scenario.parent_orders[0].name
    tca = result.tca[order]
    if tca.implementation_shortfall_bps is None:
        raise ValueError(f"{name} (seed {seed}): parent order {order} has no arrival mid")
    lit = {venue for venue, kind in scenario.venue_kinds().items() if kind == "lit"}
    nbbo = Nbbo(e for e in result.events
                if e["type"] == "L1Snapshot" and e["event"] == "out" and e["at"] in lit)
    slices = [r for r in result.routers[order].slices if not r.cleanup and not r.catch_up]
    return RoutingRun(tca.implementation_shortfall_bps, tca.fill_rate, tca.side, slices,
                      list(tca.fills), [nbbo.mid_at(f.t_ns) for f in tca.fills])


def run_routing_many(name: str, allocators: Iterable[str | None], seeds: Sequence[int],
                     jobs: int = 1) -> dict[tuple[str | None, int], RoutingRun]:
    """(allocator, seed) -> its run, for every allocator (None: the file's own) and seed, on
    `jobs` spawned processes (1: here, without a pool)."""
    cases = [(name, allocator, seed) for allocator in allocators for seed in seeds]
    if jobs <= 1:
        results = [run_routing(*case) for case in cases]
    else:
        spawn = multiprocessing.get_context("spawn")  # see scenarios.fan_out: no fork
        with ProcessPoolExecutor(jobs, mp_context=spawn) as pool:
            results = list(pool.map(run_routing, *zip(*cases), chunksize=4))
    return {(allocator, seed): run for (_, allocator, seed), run in zip(cases, results)}
