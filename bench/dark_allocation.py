"""Censored dark pool allocation against the oracle (a figure, not a pass/fail test).

Four synthetic dark pools. Each episode a parent slice of 1,000 shares is split over them in
lots of 10 (100 units); pool k holds a hidden liquidity L_k drawn afresh each episode and
fills min(L_k, sent). The allocator sees only the fills: a full fill is censored
(L_k >= sent), a partial fill reveals L_k.

Liquidity law (zero-inflated Pareto): with probability p_k the pool has nothing; otherwise
L_k = floor(X), X ~ Pareto(scale x_k, shape a_k), i.e. P(X >= x) = (x_k / x)^a_k for
x >= x_k (heavy tail; infinite variance for a_k <= 2). So P(L_k >= s) = (1 - p_k) *
min(1, (x_k / s)^a_k) for s >= 1 shares:

    pool   p_k   x_k   a_k   E[min(L_k, 1000)]
    A      0.10  400   1.2   661   deep
    B      0.40  100   1.5   142
    C      0.60   40   2.0    31
    D      0.80   20   2.5     7   shallow

Episodes 1-250 use that table; then the laws are permuted (A <-> D, B <-> C: the deepest
pool becomes the shallowest) for episodes 251-350.

Score: the *expected* shares the allocation fills under the true law of the episode, divided
by the oracle's — the oracle knows every law and runs the same greedy (`greedy_allocate`) on
the true per-lot marginals E[fill of lot j] / lot, which is optimal for whole lots, so the
fraction is in [0, 1] and carries no noise from the liquidity draw of that episode (the
allocator still learns from realised, censored fills). A checkpoint's figure averages the
fraction over the `--average` episodes ending there and over `--seeds` seeds (liquidity and
allocators share the draws of a seed). Uniform allocation (250 shares each) is the floor.

Three allocators run on the same draws (see `router.allocators.censored_dark`):
- stationary: `CensoredDarkAllocator` defaults (cutoff 4 samples, bonus 0.4, no forgetting);
- discounted: cutoff 1, bonus 0.5, every observation weight x0.98 per episode (a memory of
  about 50 episodes; pools left alone regain optimism and are tried again);
- windowed: cutoff 1, bonus 0.5, each pool keeps its last 30 observations.

Printed lines: `oracle_fraction_100`, `oracle_fraction_250` (stationary),
`oracle_fraction_after_swap` (discounted, episodes 331-350 = 100 after the permutation),
`uniform_fraction`; then, as comments, every variant at every checkpoint with its 10th
percentile over seeds, and the first 10 episodes (the cost of the initial exploration).

    python bench/dark_allocation.py [--seeds N] [--average N] [--discount G] [--window W]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import time
from collections.abc import Callable

import numpy as np

from market.rng import RngStreams
from router.allocators.base import VenueFeedback
from router.allocators.censored_dark import CensoredDarkAllocator, greedy_allocate

VENUES = ["A", "B", "C", "D"]
LAWS = [(0.10, 400.0, 1.2), (0.40, 100.0, 1.5), (0.60, 40.0, 2.0), (0.80, 20.0, 2.5)]
SWAP = [3, 2, 1, 0]  # after the shift, venue k draws from LAWS[SWAP[k]]
QUANTITY, LOT = 1_000, 10
BEFORE, AFTER = 250, 100
CHECKPOINTS = {"100": 100, "250": 250, "after_swap": BEFORE + AFTER}


def share_tail(p_zero: float, scale: float, shape: float) -> np.ndarray:
    """P(L >= x) for x = 0..QUANTITY shares."""
    x = np.arange(QUANTITY + 1, dtype=np.float64)
    tail = (1.0 - p_zero) * np.minimum(1.0, (scale / np.maximum(x, 1.0)) ** shape)
    tail[0] = 1.0
    return tail


class Regime:
    """The true laws of one regime: tails, the oracle's expected fills."""

    def __init__(self, laws: list[tuple[float, float, float]]) -> None:
        self.laws = laws
        self.tails = [share_tail(*law) for law in laws]
        # prefix[k][x] = E[min(L_k, x)] = sum_{y=1..x} P(L_k >= y)
        self.prefix = [np.concatenate([[0.0], np.cumsum(t[1:])]) for t in self.tails]
        lot_marginals = [np.concatenate([[1.0], t[1:].reshape(-1, LOT).mean(axis=1)])
                         for t in self.tails]
        lots, _ = greedy_allocate(lot_marginals, QUANTITY // LOT)
        self.oracle = self.expected_fill([n * LOT for n in lots])
        self.uniform = self.expected_fill([QUANTITY // len(laws)] * len(laws))

    def expected_fill(self, shares: list[int]) -> float:
        return float(sum(prefix[s] for prefix, s in zip(self.prefix, shares)))

    def draw(self, rng: np.random.Generator, episodes: int) -> np.ndarray:
        """Liquidity in shares, shape (episodes, pools)."""
        out = np.empty((episodes, len(self.laws)), dtype=np.int64)
        for k, (p_zero, scale, shape) in enumerate(self.laws):
            x = scale * (1.0 + rng.pareto(shape, episodes))
            out[:, k] = np.where(rng.random(episodes) < p_zero, 0, np.floor(x))
        return out


def run(allocator: CensoredDarkAllocator, regimes: list[Regime],
        liquidity: list[np.ndarray]) -> np.ndarray:
    """Fraction of the oracle's expected fills, per episode."""
    fractions = []
    for regime, draws in zip(regimes, liquidity):
        for row in draws:
            allocation = allocator.choose(QUANTITY)
            shares = [allocation.get(v, 0) for v in VENUES]
            fractions.append(regime.expected_fill(shares) / regime.oracle)
            feedback = []
            for venue, sent, liq in zip(VENUES, shares, row.tolist()):
                if sent:
                    filled = min(sent, liq)
                    feedback.append(VenueFeedback(venue, sent, filled, float(filled),
                                                  censored=filled == sent))
            allocator.update(feedback)
    return np.array(fractions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--average", type=int, default=20,
                        help="episodes averaged, ending at each checkpoint")
    parser.add_argument("--discount", type=float, default=0.98,
                        help="per-episode discount of the forgetting variant")
    parser.add_argument("--window", type=int, default=30,
                        help="observations kept per pool, hard-window variant")
    args = parser.parse_args()

    before = Regime(LAWS)
    after = Regime([LAWS[j] for j in SWAP])
    # Forgetting makes every pool's data thin, so a cutoff of several samples would keep
    # throwing pools back to "tail flat at 1"; there the graded bonus does the exploring.
    cutoff, bonus = 1.0, 0.5
    variants: dict[str, Callable[[np.random.Generator], CensoredDarkAllocator]] = {
        "stationary": lambda rng: CensoredDarkAllocator(VENUES, rng, lot_size=LOT),
        "discounted": lambda rng: CensoredDarkAllocator(
            VENUES, rng, lot_size=LOT, discount=args.discount,
            cutoff_samples=cutoff, bonus=bonus),
        "windowed": lambda rng: CensoredDarkAllocator(
            VENUES, rng, lot_size=LOT, window=args.window,
            cutoff_samples=cutoff, bonus=bonus),
    }
    started = time.perf_counter()
    results: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    for seed in range(args.seeds):
        streams = RngStreams(seed)
        rng = streams.stream("bench.dark_allocation.liquidity")
        liquidity = [before.draw(rng, BEFORE), after.draw(rng, AFTER)]
        for name, make in variants.items():
            results[name].append(run(make(streams.stream(f"allocator.{name}")),
                                     [before, after], liquidity))
    elapsed = time.perf_counter() - started
    fractions = {name: np.stack(runs) for name, runs in results.items()}

    def at(name: str, episode: int) -> float:
        return float(fractions[name][:, episode - args.average : episode].mean())

    def worst_decile(name: str, episode: int) -> float:
        per_seed = fractions[name][:, episode - args.average : episode].mean(axis=1)
        return float(np.percentile(per_seed, 10))

    uniform = {"100": before.uniform / before.oracle, "250": before.uniform / before.oracle,
               "after_swap": after.uniform / after.oracle}
    print(f"# {args.seeds} seeds, {BEFORE}+{AFTER} episodes, {QUANTITY} shares in lots of "
          f"{LOT}, mean over the {args.average} episodes ending at each checkpoint "
          f"({elapsed:.1f} s)")
    print(f"# oracle expected fill {before.oracle:.1f} shares (both regimes), uniform "
          f"{before.uniform:.1f}")
    print(f"# stationary: the allocator's defaults; discounted: cutoff_samples {cutoff}, bonus "
          f"{bonus}, discount {args.discount}; windowed: the same with window {args.window}")
    print(f"oracle_fraction_100 {at('stationary', 100):.4f}")
    print(f"oracle_fraction_250 {at('stationary', 250):.4f}")
    print(f"oracle_fraction_after_swap {at('discounted', BEFORE + AFTER):.4f}")
    print(f"uniform_fraction {uniform['250']:.4f}")
    print("# checkpoint: mean (10th percentile over seeds) per variant")
    for label, episode in CHECKPOINTS.items():
        cells = "  ".join(f"{name} {at(name, episode):.4f} ({worst_decile(name, episode):.2f})"
                          for name in variants)
        print(f"# {label:>10}: {cells}  uniform {uniform[label]:.4f}")
    first = "  ".join(f"{name} {float(f[:, :10].mean()):.4f}" for name, f in fractions.items())
    print(f"# first 10 episodes: {first}")


if __name__ == "__main__":
    main()
