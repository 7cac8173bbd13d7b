"""Stylized facts of the simulated market on a long run (figures, not pass/fail tests).

An observer agent — public data only: every lit venue's own L1 and trade prints, received
with no latency, so at venue time — watches the whole built-in market (`scenarios.market`)
for a few simulated hours. `scenarios.stylized_facts` says exactly what is measured; in
short:
- fat tails: excess kurtosis of 1-minute (and 10-second) mid returns (0 for a normal law);
- no linear autocorrelation: autocorrelation of 1-minute and 10-second returns at lags 1-5,
  next to the +-2/sqrt(n) band of an i.i.d. series, and variance ratios (1: martingale);
- volatility clustering: autocorrelation of |10-second| and |1-minute| returns;
- resilience: the spread (at the order's venue and the true NBBO, in venue ticks) and the
  touch depth on the side hit (shares) around the largest 1% of aggressive orders, at
  fixed offsets, against a pre-trade baseline (-30 s..-10 s) and the all-time mean;
- concave impact: signed mid move at +0, +1 s and +5 s after an aggressive order, by size
  in bins doubling in lots, and the slope of log(impact) on log(size) (< 1: concave);
- against the ground truth: how far the mid strays from the fundamental value and whether
  it lags it.

    python bench/realism.py [--hours H] [--seed S] [--noise N] [--informed N] [--makers N]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import dataclasses
import time

from scenarios.market import MarketConfig
from scenarios.stylized_facts import analyse, measure, report


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
    observation = measure(config, args.seed, seconds)
    wall = time.perf_counter()
    facts = analyse(observation)
    analysis = time.perf_counter() - wall
    print(f"run                      {args.hours} simulated h, seed {args.seed}, "
          f"{args.noise} noise / {args.informed} informed / {args.makers} makers")
    print(f"wall_s                   {observation.wall_seconds:.1f} run + {analysis:.1f} "
          f"analysis  ({observation.deliveries:,} deliveries)")
    for line in report(facts):
        print(line)


if __name__ == "__main__":
    main()
