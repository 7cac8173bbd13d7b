"""Transaction cost analysis of one parent order, computed from the event log alone.

Inputs: the log's events (as `market.event_log.read_event_log` returns them), the router's
participant name and the parent order's side, quantity, start and end. From the log:
- the NBBO over time, rebuilt from the lit venues' `L1Snapshot`s at venue time (the best
  bid and ask across venues; its mid is the reference price);
- the router's children (`NewOrder`, `QuoteRequest`, `AcceptQuote` received by venues);
- its fills (`ExecutionReport`s sent to it with `last_quantity` > 0), with fees;
- market prints (`TradePrint`s) for the market VWAP over the parent's horizon.

Figures (bps are of the arrival mid unless said; positive = cost for the trader):
- implementation shortfall (Perold) vs the arrival mid, per parent share: the execution
  shortfall of the filled shares (price and fees, per filled share) weighted by the filled
  fraction, plus the opportunity cost of the unfilled shares at the end mid. A router that
  leaves shares unfilled is charged for them, so this is what routers are ranked by;
- VWAP slippage: the average fill price against the market VWAP over [start, end];
- spread capture: how far inside the mid at fill time the fills were (positive = captured);
- markouts at 1 s / 10 s / 60 s: the mid h s after each fill against the fill price, signed
  so that a price moving against the trader is negative. Measured from the fill price, a
  taker's markout includes the half spread it paid, not only adverse selection. A fill
  whose horizon runs past the end of the log has no markout at that horizon (the mid there
  is unknown): a horizon longer than what is left of the run reports None;
- per venue: shares sent, filled, fill rate, cost against the arrival mid and fees;
- allocation over time: shares sent per venue per time bucket;
- regret against an oracle (`regret_bps`): given the oracle's per-share cost in bps at each
  time (from the scenario's true venue parameters), the quantity-weighted excess cost.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Fill", "Nbbo", "TransactionCostAnalysis", "analyze", "markout_bps", "regret_bps"]

_NS = 1_000_000_000
MARKOUT_HORIZONS_S = (1, 10, 60)


@dataclass(frozen=True)
class Fill:
    t_ns: int
    venue: str
    quantity: int
    price: int
    fee: int


class Nbbo:
    """The NBBO mid over time from lit L1 snapshots (venue time)."""

    def __init__(self, snapshots: Iterable[dict[str, Any]]) -> None:
        tops: dict[str, tuple[int | None, int | None]] = {}
        self.times: list[int] = []
        self.mids: list[float | None] = []
        for event in snapshots:
            message = event["msg"]
            tops[event["at"]] = (message["bid_price"], message["ask_price"])
            bids = [b for b, _ in tops.values() if b is not None]
            asks = [a for _, a in tops.values() if a is not None]
            mid = (max(bids) + min(asks)) / 2 if bids and asks else None
            if self.times and self.times[-1] == event["t"]:
                self.mids[-1] = mid
            else:
                self.times.append(event["t"])
                self.mids.append(mid)

    def mid_at(self, t_ns: int) -> float | None:
        """The last known mid at or before t_ns."""
        i = bisect_right(self.times, t_ns) - 1
        while i >= 0:
            if self.mids[i] is not None:
                return self.mids[i]
            i -= 1
        return None


@dataclass
class TransactionCostAnalysis:
    participant: str
    side: str
    quantity: int
    filled: int
    average_price: float | None
    arrival_mid: float | None
    end_mid: float | None
    market_vwap: float | None
    execution_shortfall_bps: float | None  # price + fees, per filled share
    price_shortfall_bps: float | None
    fees_bps: float | None
    opportunity_cost_bps: float | None  # unfilled shares at the end mid, per parent share
    vwap_slippage_bps: float | None
    spread_capture_bps: float | None
    markouts_bps: dict[str, float | None]
    log_end_ns: int | None  # the last event's time: markout horizons end here
    fees: int
    venues: dict[str, dict[str, Any]]
    allocation_over_time: list[dict[str, Any]]
    fills: list[Fill]

    @property
    def fill_rate(self) -> float:
        return self.filled / self.quantity if self.quantity else 0.0

    @property
    def implementation_shortfall_bps(self) -> float | None:
        """The whole parent's cost per parent share, bps of the arrival mid (Perold): the
        execution shortfall scaled by the filled fraction, plus the opportunity cost of the
        rest. What routing comparisons rank allocators by: a router that leaves shares
        unfilled is charged for them. None without an arrival mid."""
        if self.arrival_mid is None:
            return None
        return ((self.execution_shortfall_bps or 0.0) * self.fill_rate
                + (self.opportunity_cost_bps or 0.0))

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "fills"}
        out["fill_rate"] = self.fill_rate
        out["implementation_shortfall_bps"] = self.implementation_shortfall_bps
        return out


def analyze(
    events: Iterable[dict[str, Any]],
    participant: str,
    *,
    side: str,
    quantity: int,
    start_ns: int,
    end_ns: int,
    bucket_ns: int = 10 * _NS,
) -> TransactionCostAnalysis:
    if side not in ("buy", "sell"):
        raise ValueError(f"side was {side!r}, expected 'buy' or 'sell'")
    sign = 1.0 if side == "buy" else -1.0
    snapshots: list[dict[str, Any]] = []
    fills: list[Fill] = []
    sent: dict[str, int] = defaultdict(int)
    buckets: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    print_volume = 0
    print_notional = 0
    log_end: int | None = None
    for event in events:
        log_end = event["t"]
        kind = event["type"]
        message = event["msg"]
        if kind == "L1Snapshot" and event["event"] == "out":
            snapshots.append(event)
        elif kind == "TradePrint" and event["event"] == "out":
            if start_ns <= message["t_ns"] <= end_ns:
                print_volume += message["quantity"]
                print_notional += message["quantity"] * message["price"]
        elif event["event"] == "in" and message and message.get("participant") == participant:
            if kind in ("NewOrder", "QuoteRequest"):
                sent[event["at"]] += message["quantity"]
                buckets[(event["t"] - start_ns) // bucket_ns][event["at"]] += message["quantity"]
        elif (kind == "ExecutionReport" and event["event"] == "out"
              and message["participant"] == participant and message["last_quantity"]):
            fills.append(Fill(event["t"], event["at"], message["last_quantity"],
                              message["last_price"], message["fee"]))
    nbbo = Nbbo(snapshots)
    arrival = nbbo.mid_at(start_ns)
    end_mid = nbbo.mid_at(end_ns)
    filled = sum(f.quantity for f in fills)
    notional = sum(f.quantity * f.price for f in fills)
    fees = sum(f.fee for f in fills)
    average = notional / filled if filled else None

    def bps(value: float, reference: float | None) -> float | None:
        return None if reference is None or reference <= 0 else value / reference * 1e4

    price_shortfall = (bps(sign * (average - arrival), arrival)
                       if average is not None and arrival is not None else None)
    fees_bps = bps(fees / filled, arrival) if filled else None
    shortfall = (price_shortfall + fees_bps
                 if price_shortfall is not None and fees_bps is not None else None)
    opportunity = None
    if arrival is not None and end_mid is not None:
        opportunity = bps(sign * (end_mid - arrival), arrival)
        opportunity = None if opportunity is None else opportunity * (quantity - filled) / quantity
    vwap = print_notional / print_volume if print_volume else None
    slippage = (bps(sign * (average - vwap), vwap)
                if average is not None and vwap is not None else None)

    capture_num = 0.0
    markout_num = {h: 0.0 for h in MARKOUT_HORIZONS_S}
    markout_qty = {h: 0 for h in MARKOUT_HORIZONS_S}
    capture_qty = 0
    per_venue: dict[str, dict[str, Any]] = {}
    for fill in fills:
        mid = nbbo.mid_at(fill.t_ns)
        if mid is not None:
            capture_num += fill.quantity * sign * (mid - fill.price) / mid * 1e4
            capture_qty += fill.quantity
        for h in MARKOUT_HORIZONS_S:
            markout = markout_bps(fill, nbbo, h, sign, log_end)
            if markout is not None:
                markout_num[h] += fill.quantity * markout
                markout_qty[h] += fill.quantity
        venue = per_venue.setdefault(fill.venue, {"filled": 0, "notional": 0, "fees": 0})
        venue["filled"] += fill.quantity
        venue["notional"] += fill.quantity * fill.price
        venue["fees"] += fill.fee
    for name in set(sent) | set(per_venue):
        venue = per_venue.setdefault(name, {"filled": 0, "notional": 0, "fees": 0})
        venue["sent"] = sent.get(name, 0)
        venue["fill_rate"] = venue["filled"] / venue["sent"] if venue["sent"] else None
        venue["share_of_fills"] = venue["filled"] / filled if filled else 0.0
        venue_average = venue["notional"] / venue["filled"] if venue["filled"] else None
        venue["cost_bps"] = (bps(sign * (venue_average - arrival) + venue["fees"] / venue["filled"], arrival)
                             if venue_average is not None and arrival is not None else None)
        del venue["notional"]
    allocation = [
        {"t_ns": start_ns + b * bucket_ns, "sent": dict(sorted(by_venue.items()))}
        for b, by_venue in sorted(buckets.items())
    ]
    return TransactionCostAnalysis(
        participant=participant, side=side, quantity=quantity, filled=filled,
        average_price=average, arrival_mid=arrival, end_mid=end_mid, market_vwap=vwap,
        execution_shortfall_bps=shortfall, price_shortfall_bps=price_shortfall,
        fees_bps=fees_bps, opportunity_cost_bps=opportunity, vwap_slippage_bps=slippage,
        spread_capture_bps=capture_num / capture_qty if capture_qty else None,
        markouts_bps={f"{h}s": (markout_num[h] / markout_qty[h] if markout_qty[h] else None)
                      for h in MARKOUT_HORIZONS_S},
        log_end_ns=log_end, fees=fees, venues=dict(sorted(per_venue.items())),
        allocation_over_time=allocation,
        fills=fills,
    )


def markout_bps(fill: Fill, nbbo: Nbbo, horizon_s: float, sign: float,
                log_end_ns: int | None) -> float | None:
    """One fill's markout at `horizon_s` (see the module doc; `sign` +1 for a buy, -1 for a
    sell), bps of the fill price; None when the horizon ends after `log_end_ns` (the log
    cannot say where the mid went) or no mid is known."""
    t_ns = fill.t_ns + round(horizon_s * _NS)
    if log_end_ns is None or t_ns > log_end_ns:
        return None
    later = nbbo.mid_at(t_ns)
    return None if later is None else sign * (later - fill.price) / fill.price * 1e4


def regret_bps(tca: TransactionCostAnalysis,
               oracle_cost_bps: Callable[[int], float] | Mapping[str, float]) -> float | None:
    """Quantity-weighted excess cost (bps of arrival) of the fills over an oracle's per-share
    cost — a function of time (the oracle's cost at each fill's time) or a constant per
    venue mapping whose minimum is the oracle's choice."""
    if not tca.fills or tca.arrival_mid is None:
        return None
    sign = 1.0 if tca.side == "buy" else -1.0
    total = 0.0
    for fill in tca.fills:
        cost = (sign * (fill.price - tca.arrival_mid) + fill.fee / fill.quantity) / tca.arrival_mid * 1e4
        oracle = (min(oracle_cost_bps.values()) if isinstance(oracle_cost_bps, Mapping)
                  else oracle_cost_bps(fill.t_ns))
        total += fill.quantity * (cost - oracle)
    return total / tca.filled
