"""Stylized facts of the simulated market on a long run (figures, not pass/fail tests).

An observer agent — public data only: the consolidated NBBO and the lit venues' trade
prints — watches the whole built-in market (`scenarios.market`) for a few simulated hours.
From what it saw this prints:
- fat tails: excess kurtosis of 1-minute mid returns (0 for a normal law);
- no linear autocorrelation: autocorrelation of 1-minute returns at lags 1-5;
- volatility clustering: autocorrelation of |10-second returns| at lags 1-10;
- resilience: the NBBO spread and top-of-book depth before and after the largest trades
  (top 1% by size), relative to their level just before;
- concave impact: mean signed mid move 5 s after an aggressive order, by order size
  quintile, and the slope of log(impact) on log(size) (< 1 means concave).

    python bench/realism.py [--hours H] [--seed S] [--noise N] [--informed N] [--makers N]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import dataclasses
import time
from typing import Any

import numpy as np

from agents.agent import Agent
from market.messages import NBBO, Side, TradePrint
from scenarios.market import MarketConfig, build_market
from scenarios.simulation import Simulation

NS = 1_000_000_000


class Observer(Agent):
    """Records the NBBO and every lit trade print it is sent; never trades."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.nbbo: list[tuple[int, int, int, int, int]] = []  # t, bid, ask, bid qty, ask qty
        self.trades: list[tuple[int, str, int, int, int]] = []  # t, venue, price, qty, sign

    def on_market_data(self, message: Any) -> None:
        if type(message) is NBBO:
            if message.bid_price is not None and message.ask_price is not None:
                self.nbbo.append((message.t_ns, message.bid_price, message.ask_price,
                                  message.bid_quantity, message.ask_quantity))
        elif type(message) is TradePrint:
            sign = 1 if message.aggressor_side is Side.BUY else -1
            self.trades.append((message.t_ns, message.venue, message.price, message.quantity, sign))


def autocorrelation(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--noise", type=int, default=200)
    parser.add_argument("--informed", type=int, default=20)
    parser.add_argument("--makers", type=int, default=3)
    args = parser.parse_args()

    base = MarketConfig()
    config = dataclasses.replace(
        base,
        noise=dataclasses.replace(base.noise, count=args.noise),
        informed=dataclasses.replace(base.informed, count=args.informed),
        market_makers=dataclasses.replace(base.market_makers, count=args.makers),
        record_events=False,
    )
    seconds = args.hours * 3600
    sim = Simulation("realism", seed=args.seed, end_ns=round(seconds * NS))
    observer = Observer("observer")

    def setup(s: Simulation) -> None:
        market = build_market(s, config)
        s.add_agent(observer)
        market.feed.subscribe(observer.name, observer.on_market_data)
        for venue in market.lit.values():
            venue.subscribe(observer.name, observer.on_market_data)

    wall = time.perf_counter()
    result = sim.run(setup)
    wall = time.perf_counter() - wall
    print(f"run                      {args.hours} simulated h, seed {args.seed}, "
          f"{args.noise} noise / {args.informed} informed / {args.makers} makers")
    print(f"wall_s                   {wall:.1f}  ({result.deliveries:,} deliveries)")

    nbbo = np.array(observer.nbbo, dtype=np.float64)
    times = nbbo[:, 0].astype(np.int64)
    mids = (nbbo[:, 1] + nbbo[:, 2]) / 2
    spreads = nbbo[:, 2] - nbbo[:, 1]
    depth = nbbo[:, 3] + nbbo[:, 4]

    index_times = np.arange(times[0] + 60 * NS, times[-1], NS)
    sample_index = np.searchsorted(times, index_times, side="right") - 1
    mid_1s = mids[sample_index]
    returns_1m = np.diff(np.log(mid_1s[::60]))
    returns_10s = np.diff(np.log(mid_1s[::10]))
    r = returns_1m[returns_1m != 0] if np.count_nonzero(returns_1m) > 10 else returns_1m
    kurtosis = float(((r - r.mean()) ** 4).mean() / r.var() ** 2 - 3)
    print(f"minute_returns           {len(returns_1m)} (std {returns_1m.std() * 1e4:.2f} bps)")
    print(f"excess_kurtosis_1m       {kurtosis:.2f}   (fat tails if > 0)")
    print("autocorr_returns_1m      " + "  ".join(
        f"lag{k} {autocorrelation(returns_1m, k):+.3f}" for k in range(1, 6)))
    absolute = np.abs(returns_10s)
    print("autocorr_abs_returns_10s " + "  ".join(
        f"lag{k} {autocorrelation(absolute, k):+.3f}" for k in (1, 2, 5, 10)))

    # Aggressive orders: prints at one venue at one instant with one aggressor side.
    orders: dict[tuple[int, str, int], list[float]] = {}
    for t, venue, price, quantity, sign in observer.trades:
        entry = orders.setdefault((t, venue, sign), [0.0, 0.0])
        entry[0] += quantity
        entry[1] += quantity * price
    keys = sorted(orders)
    sizes = np.array([orders[k][0] for k in keys])
    starts = np.array([k[0] for k in keys], dtype=np.int64)
    signs = np.array([k[2] for k in keys])

    def series_at(t_ns: np.ndarray, series: np.ndarray) -> np.ndarray:
        return series[np.clip(np.searchsorted(times, t_ns, side="right") - 1, 0, None)]

    before = starts - 1
    # The largest 1% by size (ties broken by time, so it is exactly 1%).
    large = np.zeros(len(sizes), dtype=bool)
    large[np.argsort(-sizes, kind="stable")[: max(1, len(sizes) // 100)]] = True
    print(f"aggressive_orders        {len(sizes)}  (largest 1%: {large.sum()}, "
          f">= {sizes[large].min():.0f} shares)")
    for label, series in (("spread", spreads), ("depth", depth)):
        base_level = series_at(before[large], series)
        cells = []
        for offset in (0.001, 0.1, 1, 5, 30):
            after = series_at(starts[large] + round(offset * NS), series)
            cells.append(f"+{offset:g}s {np.mean(after / np.maximum(base_level, 1)):.2f}")
        print(f"{label}_after_large_trade  " + "  ".join(cells) + "   (x level just before)")

    impact = signs * (series_at(starts + 5 * NS, mids) - series_at(before, mids))
    quintiles = np.quantile(sizes, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    bucket = np.clip(np.searchsorted(quintiles, sizes, side="right") - 1, 0, 4)
    mean_size = np.array([sizes[bucket == b].mean() for b in range(5) if (bucket == b).any()])
    mean_impact = np.array([impact[bucket == b].mean() for b in range(5) if (bucket == b).any()])
    print("impact_5s_by_size        " + "  ".join(
        f"{s:.0f}sh {m:+.1f}t" for s, m in zip(mean_size, mean_impact)))
    positive = mean_impact > 0
    if positive.sum() >= 2:
        slope = np.polyfit(np.log(mean_size[positive]), np.log(mean_impact[positive]), 1)[0]
        print(f"impact_size_exponent     {slope:.2f}   (concave if < 1)")
    else:
        print("impact_size_exponent     n/a (impact not positive in enough buckets)")


if __name__ == "__main__":
    main()
