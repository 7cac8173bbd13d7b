"""Stylized facts of a simulated market, measured from public data (figures for a report).

Concept. A `MarketObserver` agent subscribes to every lit venue's own stream with no
latency, so it sees each `L1Snapshot` and `TradePrint` at the venue's own time: its
consolidated top ("true NBBO": best bid and ask over the venues' latest L1s) is the book
as it stood, not the consolidated feed's, which lags the venues by its links and is
sometimes locked or crossed by a stale quote. It never trades. `measure(...)` runs the
built-in market with such an observer and `analyse(...)` turns what it saw into `Facts`:

- returns: log returns of the true mid sampled each second, at 10 s and 1 min; excess
  kurtosis (a normal law has 0; its standard error is about sqrt(24 / n)); the
  autocorrelation of returns and of |returns| at a few lags, with the +-2/sqrt(n) band
  inside which a lag's autocorrelation of an i.i.d. series falls 95% of the time; variance
  ratios var(r_h) / (h / h0 var(r_h0)) (1 for a martingale, < 1 mean reversion, > 1
  momentum);
- aggressive orders: the prints of one venue at one instant with one aggressor side are
  one incoming order (the venue matches an order in one go);
- resilience: around the largest 1% of aggressive orders, the spread at the order's venue
  (in that venue's ticks), the true NBBO spread, and the touch depth on the side the order
  hit (shares, at that venue and over all venues), each averaged at fixed offsets from the
  order — a pre-trade baseline window (-30 s, -20 s, -10 s), just before, just after, and
  later — next to the unconditional average over the run;
- impact: the signed move of the true mid from just before an aggressive order to a fixed
  horizon after it, by order size, in size bins doubling in lots; the slope of log(mean
  impact) on log(mean size) over the bins with enough orders (< 1: concave).
- diagnostics against the model's ground truth (the fundamental value, sampled by the
  observer each second; never used by any trading agent but the informed): tracking error
  of the mid, and the correlation of 10 s mid returns with the fundamental's returns one
  step before (> 0: the price lags its value).

Time alignment. Records are kept in arrival order, which is time order (zero latency, FIFO
links). Several records can share an instant; "just before t" is the last record strictly
before t, "at t" the last record at or before t.

Known limits. One instrument. Depth is the touch only (the observer keeps no book).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.agent import Agent
from market.messages import L1Snapshot, L2Snapshot, Side, TradePrint
from scenarios.market import Market, MarketConfig, build_market
from scenarios.simulation import Simulation

__all__ = ["Facts", "MarketObserver", "Observation", "analyse", "measure"]

NS = 1_000_000_000
_BUY = Side.BUY
# (label, offset in seconds, just before rather than at): where the book is read around a
# large order.
_RESILIENCE_POINTS = (("-30s", -30.0, False), ("-20s", -20.0, False), ("-10s", -10.0, False),
                      ("-1s", -1.0, False), ("0-", 0.0, True), ("0+", 0.0, False),
                      ("+10ms", 0.01, False), ("+100ms", 0.1, False), ("+1s", 1.0, False),
                      ("+5s", 5.0, False), ("+30s", 30.0, False))
_BASELINE = ("-30s", "-20s", "-10s")
_IMPACT_HORIZONS_S = (0.0, 1.0, 5.0)


class MarketObserver(Agent):
    """Records every lit venue's L1 and trade prints at venue time; never trades. With
    `fundamental`, also samples it each `sample_s` (diagnostics only)."""

    def __init__(self, name: str, venues: list[str],
                 fundamental: Callable[[int], int] | None = None, sample_s: float = 1.0) -> None:
        super().__init__(name)
        self.venue_index = {venue: i for i, venue in enumerate(venues)}
        self.fundamental = fundamental
        self.sample_s = sample_s
        # t, venue, bid, bid qty, ask, ask qty (a missing side: price 0, qty 0)
        self.tops: list[tuple[int, int, int, int, int, int]] = []
        self.trades: list[tuple[int, int, int, int, int]] = []  # t, venue, price, qty, sign
        self.values: list[tuple[int, int]] = []  # t, fundamental

    async def run(self) -> None:
        observe = self.fundamental
        if observe is None:
            return
        while True:
            now = self.now_ns()
            self.values.append((now, observe(now)))
            await self.sleep(self.sample_s)

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is L1Snapshot:
            self.tops.append((message.t_ns, self.venue_index[message.venue],
                              message.bid_price or 0, message.bid_quantity,
                              message.ask_price or 0, message.ask_quantity))
        elif cls is TradePrint:
            self.trades.append((message.t_ns, self.venue_index[message.venue], message.price,
                                message.quantity, 1 if message.aggressor_side is _BUY else -1))
        elif cls is L2Snapshot:
            bids, asks = message.bids, message.asks
            self.tops.append((message.t_ns, self.venue_index[message.venue],
                              bids[0][0] if bids else 0, bids[0][1] if bids else 0,
                              asks[0][0] if asks else 0, asks[0][1] if asks else 0))


@dataclass
class Observation:
    """What one observed run produced."""

    config: MarketConfig
    seed: int
    seconds: float
    wall_seconds: float
    deliveries: int
    observer: MarketObserver
    market: Market | None = None  # None for a tape recorded elsewhere


def measure(config: MarketConfig, seed: int, seconds: float) -> Observation:
    """Run the built-in market for `seconds` with a `MarketObserver` on every lit venue."""
    sim = Simulation("stylized-facts", seed=seed, end_ns=round(seconds * NS))
    held: list[tuple[Market, MarketObserver]] = []

    def setup(s: Simulation) -> None:
        market = build_market(s, config)
        observer = MarketObserver("observer", list(market.lit), market.fundamental.value_at)
        s.add_agent(observer)
        for venue in market.lit.values():
            venue.subscribe(observer.name, observer.on_market_data)
        held.append((market, observer))

    result = sim.run(setup)
    market, observer = held[0]
    return Observation(config, seed, seconds, result.wall_seconds, result.deliveries,
                       observer, market)


# --- the figures ------------------------------------------------------------------------------


@dataclass
class Facts:
    seconds: float
    tick: int  # the lit venues' tick size (ticks of the engine)
    # returns
    returns_1m: int = 0
    std_1m_bps: float = math.nan
    kurtosis_1m: float = math.nan
    kurtosis_10s: float = math.nan
    autocorr_1m: dict[int, float] = field(default_factory=dict)
    autocorr_10s: dict[int, float] = field(default_factory=dict)
    band_1m: float = math.nan
    band_10s: float = math.nan
    abs_autocorr_10s: dict[int, float] = field(default_factory=dict)
    abs_autocorr_1m: dict[int, float] = field(default_factory=dict)
    variance_ratio: dict[str, float] = field(default_factory=dict)
    # book
    mean_spread_ticks: float = math.nan  # true NBBO, venue ticks, time average
    locked_or_crossed: float = math.nan  # fraction of time the true NBBO is locked/crossed
    mean_touch_depth: float = math.nan  # shares, one side, time average, true NBBO
    # aggressive orders
    orders: int = 0
    size_quantiles: dict[str, float] = field(default_factory=dict)
    large_orders: int = 0
    large_min_size: float = math.nan
    # resilience: name -> offset label -> (mean, median); and the unconditional mean
    resilience: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    unconditional: dict[str, float] = field(default_factory=dict)
    # impact: rows (lots low, lots high, n, mean shares, {horizon: (mean, stderr)})
    impact_bins: list[tuple[int, int, int, float, dict[float, tuple[float, float]]]] = field(
        default_factory=list)
    impact_exponent: dict[float, float] = field(default_factory=dict)
    impact_span: float = math.nan  # largest / smallest mean size of fitted bins (widest fit)
    # ground truth
    tracking_error_ticks: float = math.nan
    lead_lag_10s: dict[int, float] = field(default_factory=dict)
    value_facts: dict[str, float] = field(default_factory=dict)  # the fundamental's own
    # share of a fundamental move that the mid has shown k seconds later (cumulative
    # regression of 1 s mid returns on the fundamental's 1 s returns k s before)
    value_response: dict[int, float] = field(default_factory=dict)

    def baseline(self, name: str) -> float:
        """The mean of a resilience series over the pre-trade window."""
        return float(np.mean([self.resilience[name][label][0] for label in _BASELINE]))

    def recovery(self, name: str, label: str) -> float:
        """Mean at offset `label` ("+1s", ...) around the large orders over the pre-trade
        baseline."""
        return self.resilience[name][label][0] / self.baseline(name)


def autocorrelation(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    denominator = float(np.dot(x, x))
    if lag >= len(x) or denominator == 0:
        return math.nan
    return float(np.dot(x[:-lag], x[lag:]) / denominator)


def excess_kurtosis(x: np.ndarray) -> float:
    if len(x) < 4 or x.var() == 0:
        return math.nan
    return float(((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3.0)


class _Book:
    """The true NBBO (and each venue's own top) after every L1 record, as arrays."""

    def __init__(self, tops: np.ndarray, venues: int) -> None:
        times = tops[:, 0]
        n = len(times)
        index = np.arange(n)
        last = np.zeros((venues, n), dtype=np.int64)
        for v in range(venues):
            mine = np.where(tops[:, 1] == v, index, -1)
            last[v] = np.maximum.accumulate(mine)
        present = last >= 0
        rows = np.where(present, last, 0)
        bid = np.where(present, tops[rows, 2], 0).astype(np.float64)
        bid_qty = np.where(present, tops[rows, 3], 0).astype(np.float64)
        ask = np.where(present, tops[rows, 4], 0).astype(np.float64)
        ask_qty = np.where(present, tops[rows, 5], 0).astype(np.float64)
        bid[bid == 0] = np.nan
        ask[ask == 0] = np.nan
        self.times = times
        self.venue_bid, self.venue_ask = bid, ask  # (venues, n)
        self.venue_bid_qty, self.venue_ask_qty = bid_qty, ask_qty
        with np.errstate(all="ignore"):
            best_bid = np.nanmax(np.where(np.isnan(bid), -np.inf, bid), axis=0)
            best_ask = np.nanmin(np.where(np.isnan(ask), np.inf, ask), axis=0)
        best_bid[~np.isfinite(best_bid)] = np.nan
        best_ask[~np.isfinite(best_ask)] = np.nan
        self.bid, self.ask = best_bid, best_ask
        self.bid_qty = np.where(bid == best_bid, bid_qty, 0).sum(axis=0)
        self.ask_qty = np.where(ask == best_ask, ask_qty, 0).sum(axis=0)
        self.mid = (best_bid + best_ask) / 2
        self.spread = best_ask - best_bid

    def at(self, t_ns: np.ndarray, before: bool = False) -> np.ndarray:
        """Row index of the state at t (after every record at t), or just before t."""
        found = np.searchsorted(self.times, t_ns, side="left" if before else "right")
        rows: np.ndarray = np.clip(found - 1, 0, None)
        return rows


def analyse(observation: Observation, warmup_s: float = 60.0,
            large_fraction: float = 0.01) -> Facts:
    """The stylized facts of one observed run (see the module docstring)."""
    observer = observation.observer
    config = observation.config
    tick = config.lit_venues[0].tick_size
    facts = Facts(observation.seconds, tick)
    tops = np.array(observer.tops, dtype=np.int64).reshape(-1, 6)
    book = _Book(tops, len(observer.venue_index))
    start = round(warmup_s * NS)
    end = round(observation.seconds * NS)

    # --- returns on a 1 s grid of the true mid
    grid = np.arange(start, end + 1, NS)
    mid_1s = book.mid[book.at(grid)]
    mid_1s = _fill_forward(mid_1s)
    log_mid = np.log(mid_1s)
    r10 = np.diff(log_mid[::10])
    r60 = np.diff(log_mid[::60])
    r1 = np.diff(log_mid)
    facts.returns_1m = len(r60)
    facts.std_1m_bps = float(r60.std() * 1e4)
    facts.kurtosis_1m = excess_kurtosis(r60)
    facts.kurtosis_10s = excess_kurtosis(r10)
    facts.band_1m = 2 / math.sqrt(max(1, len(r60)))
    facts.band_10s = 2 / math.sqrt(max(1, len(r10)))
    facts.autocorr_1m = {k: autocorrelation(r60, k) for k in range(1, 6)}
    facts.autocorr_10s = {k: autocorrelation(r10, k) for k in range(1, 6)}
    facts.abs_autocorr_10s = {k: autocorrelation(np.abs(r10), k) for k in (1, 2, 5, 10, 30, 60)}
    facts.abs_autocorr_1m = {k: autocorrelation(np.abs(r60), k) for k in (1, 2, 5, 10, 20)}
    base_var = r1.var()
    for span in (10, 60, 300):
        rh = np.diff(log_mid[::span])
        if len(rh) > 10 and base_var > 0:
            facts.variance_ratio[f"{span}s/1s"] = float(rh.var() / (span * base_var))
    if len(r10) and r10.var() > 0:
        for span in (60, 300):
            rh = np.diff(log_mid[::span])
            if len(rh) > 10:
                facts.variance_ratio[f"{span}s/10s"] = float(rh.var() / (span / 10 * r10.var()))

    # --- the book's time averages (1 s grid)
    rows = book.at(grid)
    spread = book.spread[rows]
    facts.mean_spread_ticks = float(np.nanmean(spread) / tick)
    facts.locked_or_crossed = float(np.mean(spread <= 0))
    facts.mean_touch_depth = float(np.mean((book.bid_qty[rows] + book.ask_qty[rows]) / 2))

    # --- aggressive orders: one venue, one instant, one aggressor side
    trades = np.array(observer.trades, dtype=np.int64).reshape(-1, 5)
    trades = trades[trades[:, 0] >= start]
    if not len(trades):
        return facts
    keys = trades[:, [0, 1, 4]]
    change = np.ones(len(trades), dtype=bool)
    change[1:] = np.any(keys[1:] != keys[:-1], axis=1)
    group = np.cumsum(change) - 1
    sizes = np.bincount(group, weights=trades[:, 3]).astype(np.float64)
    first = np.flatnonzero(change)
    starts, venues, signs = trades[first, 0], trades[first, 1], trades[first, 4]
    # the last instant that leaves room for the longest horizon
    room = starts + round(max(30.0, max(_IMPACT_HORIZONS_S)) * NS) <= end
    sizes, starts, venues, signs = sizes[room], starts[room], venues[room], signs[room]
    facts.orders = len(sizes)
    if not len(sizes):
        return facts
    facts.size_quantiles = {f"p{int(q * 100)}": float(np.quantile(sizes, q))
                            for q in (0.5, 0.9, 0.99)}
    facts.size_quantiles["max"] = float(sizes.max())

    # --- resilience around the largest orders
    count = max(1, int(len(sizes) * large_fraction))
    large = np.argsort(-sizes, kind="stable")[:count]
    facts.large_orders = count
    facts.large_min_size = float(sizes[large].min())
    t_large, v_large, s_large = starts[large], venues[large], signs[large]
    hit_buy = s_large > 0  # a buy hits the ask side
    series: dict[str, dict[str, tuple[float, float]]] = {
        "venue_spread_ticks": {}, "nbbo_spread_ticks": {}, "venue_hit_depth": {},
        "nbbo_hit_depth": {}}
    for label, offset, before in _RESILIENCE_POINTS:
        at = book.at(t_large + round(offset * NS), before=before)
        read = {
            "venue_spread_ticks": (book.venue_ask[v_large, at] - book.venue_bid[v_large, at])
            / tick,
            "nbbo_spread_ticks": book.spread[at] / tick,
            "venue_hit_depth": np.where(hit_buy, book.venue_ask_qty[v_large, at],
                                        book.venue_bid_qty[v_large, at]),
            "nbbo_hit_depth": np.where(hit_buy, book.ask_qty[at], book.bid_qty[at]),
        }
        for name, value in read.items():
            series[name][label] = (float(np.nanmean(value)), float(np.nanmedian(value)))
    facts.resilience = series
    venue_spread = np.nanmean((book.venue_ask[:, rows] - book.venue_bid[:, rows]) / tick)
    facts.unconditional = {
        "venue_spread_ticks": float(venue_spread),
        "nbbo_spread_ticks": facts.mean_spread_ticks,
        "venue_hit_depth": float(np.nanmean((book.venue_bid_qty[:, rows]
                                             + book.venue_ask_qty[:, rows]) / 2)),
        "nbbo_hit_depth": facts.mean_touch_depth,
    }

    # --- impact by size (log bins of lots)
    lot = config.lit_venues[0].lot_size
    mid_before = book.mid[book.at(starts, before=True)]
    lots = np.maximum(1, np.round(sizes / lot)).astype(np.int64)
    bin_of = np.floor(np.log2(lots)).astype(np.int64)
    impacts = {h: signs * (book.mid[book.at(starts + round(h * NS))] - mid_before)
               for h in _IMPACT_HORIZONS_S}
    fitted: dict[float, list[tuple[float, float]]] = {h: [] for h in _IMPACT_HORIZONS_S}
    for b in range(int(bin_of.max()) + 1):
        members = bin_of == b
        n = int(members.sum())
        if not n:
            continue
        mean_size = float(sizes[members].mean())
        cells: dict[float, tuple[float, float]] = {}
        for h, impact in impacts.items():
            moves = impact[members]
            moves = moves[np.isfinite(moves)]
            if not len(moves):
                continue
            mean = float(moves.mean())
            stderr = float(moves.std() / math.sqrt(len(moves))) if len(moves) > 1 else math.inf
            cells[h] = (mean, stderr)
            if n >= 30 and mean > 2 * stderr:
                fitted[h].append((mean_size, mean))
        facts.impact_bins.append((2**b, 2 ** (b + 1) - 1, n, mean_size, cells))
    for h, points in fitted.items():
        if len(points) >= 3:
            x = np.log([p[0] for p in points])
            y = np.log([p[1] for p in points])
            facts.impact_exponent[h] = float(np.polyfit(x, y, 1)[0])
            width = float(math.exp(x.max() - x.min()))
            facts.impact_span = width if math.isnan(facts.impact_span) else max(
                facts.impact_span, width)

    # --- ground truth: tracking and lead-lag
    if observer.values:
        sampled = np.array(observer.values, dtype=np.float64)
        value_1s = sampled[np.clip(np.searchsorted(sampled[:, 0], grid, side="right") - 1, 0,
                                   None), 1]
        facts.tracking_error_ticks = float(np.std(mid_1s - value_1s))
        f10 = np.diff(np.log(value_1s[::10]))
        f60 = np.diff(np.log(value_1s[::60]))
        f1 = np.diff(np.log(value_1s))
        if f1.var() > 0:
            total = 0.0
            for k in range(0, 61):
                total += float(np.dot(r1[k:] - r1.mean(), f1[: len(f1) - k] - f1.mean())
                               / (len(f1) * f1.var()))
                if k in (0, 1, 2, 5, 10, 20, 30, 60):
                    facts.value_response[k] = total
        facts.value_facts = {
            "kurtosis_1m": excess_kurtosis(f60), "autocorr_1m_lag1": autocorrelation(f60, 1),
            "autocorr_10s_lag1": autocorrelation(f10, 1),
            "abs_autocorr_10s_lag1": autocorrelation(np.abs(f10), 1),
            "abs_autocorr_10s_lag10": autocorrelation(np.abs(f10), 10),
            "std_1m_bps": float(f60.std() * 1e4),
            "variance_ratio_60s/10s": float(f60.var() / (6 * f10.var()))}
        for k in (0, 1, 2, 3):
            a, b = r10[k:], f10[: len(f10) - k]
            if len(a) > 10 and a.std() > 0 and b.std() > 0:
                facts.lead_lag_10s[k] = float(np.corrcoef(a, b)[0, 1])
    return facts


def _fill_forward(x: np.ndarray) -> np.ndarray:
    """NaNs (a side of the book empty) take the last finite value before them."""
    good = np.isfinite(x)
    if good.all():
        return x
    index = np.where(good, np.arange(len(x)), 0)
    np.maximum.accumulate(index, out=index)
    filled = x[index]
    if not good[0]:
        first = np.flatnonzero(good)
        filled[: first[0] if len(first) else len(x)] = x[first[0]] if len(first) else 1.0
    return filled


def report(facts: Facts) -> list[str]:
    """The facts as the lines `bench/realism.py` prints."""
    f = facts

    def lags(values: dict[int, float]) -> str:
        return "  ".join(f"lag{k} {v:+.3f}" for k, v in values.items())

    kurtosis_band = 2 * math.sqrt(24 / max(1, f.returns_1m))  # two standard errors
    lines = [
        f"minute_returns           {f.returns_1m}  (std {f.std_1m_bps:.2f} bps)",
        f"excess_kurtosis          1m {f.kurtosis_1m:.2f} (+-{kurtosis_band:.2f})"
        f"   10s {f.kurtosis_10s:.2f}   (fat tails if > 0)",
        f"autocorr_returns_1m      {lags(f.autocorr_1m)}   (band +-{f.band_1m:.3f})",
        f"autocorr_returns_10s     {lags(f.autocorr_10s)}   (band +-{f.band_10s:.3f})",
        f"autocorr_abs_returns_10s {lags(f.abs_autocorr_10s)}   (band +-{f.band_10s:.3f})",
        f"autocorr_abs_returns_1m  {lags(f.abs_autocorr_1m)}   (band +-{f.band_1m:.3f})",
        "variance_ratio           " + "  ".join(f"{k} {v:.2f}" for k, v in f.variance_ratio.items())
        + "   (1 for a martingale)",
        f"book                     true-NBBO spread {f.mean_spread_ticks:.2f} ticks, locked or "
        f"crossed {f.locked_or_crossed:.1%}, touch depth {f.mean_touch_depth:,.0f} sh/side",
    ]
    if f.orders:
        lines.append(
            f"aggressive_orders        {f.orders:,}  sizes " + "  ".join(
                f"{k} {v:,.0f}" for k, v in f.size_quantiles.items())
            + f"   (largest 1%: {f.large_orders:,}, >= {f.large_min_size:,.0f} sh)")
        header = "  ".join(f"{label:>7}" for label, _, _ in _RESILIENCE_POINTS)
        lines.append(f"around_large_orders {'':<13}{header}   | all-time mean")
        for name, cells in f.resilience.items():
            base = f.baseline(name)
            row = "  ".join(f"{mean:>7,.2f}" if "spread" in name else f"{mean:>7,.0f}"
                            for mean, _ in cells.values())
            ratio = "  ".join(f"{mean / base:>7.2f}" for mean, _ in cells.values())
            uncond = f.unconditional[name]
            lines.append(f"  {name:<19} mean  {row}   | {uncond:,.2f}")
            lines.append(f"  {'':<19} median" + "  ".join(
                f"{median:>7,.2f}" if "spread" in name else f"{median:>7,.0f}"
                for _, median in cells.values()))
            lines.append(f"  {'':<19} /base {ratio}")
        lines.append("impact_by_size           lots      n        mean sh   "
                     + "   ".join(f"+{h:g}s (venue ticks +-se)" for h in _IMPACT_HORIZONS_S))
        for low, high, n, mean_size, moves in f.impact_bins:
            lines.append(f"  {low:>5}-{high:<5} {n:>9,} {mean_size:>12,.0f}   " + "   ".join(
                f"{moves[h][0] / f.tick:+8.3f} +-{moves[h][1] / f.tick:<9.3f}" if h in moves
                else " " * 23
                for h in _IMPACT_HORIZONS_S))
        lines.append("impact_size_exponent     " + "  ".join(
            f"+{h:g}s {e:.2f}" for h, e in f.impact_exponent.items())
            + ("   (concave if < 1; too few bins with a clear impact to fit)"
               if math.isnan(f.impact_span) else
               f"   (concave if < 1; fitted bins span x{f.impact_span:.0f} in size)"))
    if not math.isnan(f.tracking_error_ticks):
        lines.append("vs_fundamental           tracking error "
                     f"{f.tracking_error_ticks / f.tick:.2f} venue ticks; "
                     "corr(r10 mid, r10 value k steps before) "
                     + "  ".join(f"k{k} {v:+.3f}" for k, v in f.lead_lag_10s.items()))
        lines.append("value_response           " + "  ".join(
            f"+{k}s {v:.2f}" for k, v in f.value_response.items())
            + "   (share of a fundamental move the mid has shown k s later)")
        lines.append("fundamental_itself       " + "  ".join(
            f"{k} {v:.3f}" for k, v in f.value_facts.items()))
    return lines
