"""Regret of the bandit allocators on switching Bernoulli bandits (figures, not pass/fail).

The shape to reproduce (Garivier & Moulines 2011, "On upper-confidence bound policies for
switching bandit problems", simulations): when the best arm switches, sliding-window and
discounted UCB have lower regret than the stationary policies, UCB1 and Thompson sampling.

Three problems, K = 3 venues with Bernoulli rewards, 40 runs each:
- `gm` (the order tests/router/test_allocators.py pins, there on other seeds): T = 5000,
  the means change every 1000 steps, in the style of G&M's first experiment -- arms at
  (0.5, 0.3, 0.4) and, every other phase, one arm that stationary policies have learnt to
  neglect jumps to 0.9: (0.5, 0.3, 0.4), (0.5, 0.9, 0.4), (0.5, 0.3, 0.4),
  (0.5, 0.3, 0.9), (0.5, 0.3, 0.4);
- `permutations`: T = 5000, the means cycle every 1000 steps through shifts of
  (0.9, 0.5, 0.1): (0.9, 0.5, 0.1), (0.5, 0.1, 0.9), (0.1, 0.9, 0.5), ... Every change
  lowers the arm being played and gives the new best arm 0.9, more than the old best
  showed; UCB1, whose indices sit level at equilibrium, starts sampling the others at once
  and the improved arm takes over within a few dozen pulls -- so here UCB1 is hard to beat;
- `gm2011`: T = 10000, arms (0.5, 0.3, 0.4) with arm 2 at 0.9 for 3000 <= t < 5000 -- G&M's
  Figure 1 as we recall it (check against the paper before quoting it).

Regret = sum over steps of (best mean now - mean of the arm played) (pseudo-regret). Within
a run every algorithm sees the same reward draws (common random numbers); each allocator
has its own RNG stream. Printed: mean regret and a 95% confidence half-width (1.96 x
standard error) per algorithm, min, max, and the allocator's cost per step (choose +
update, harness included). Parameters are the papers' tunings for the problem's horizon and
number of breakpoints (window_for, discount_for, cusum_tuning, gamma_for), defaults
otherwise; `d-ucb xi=0.15` is D-UCB with the bonus of SW-UCB (the paper's 2 B sqrt(xi ...)
with xi = 0.6 explores four times as much).

    python bench/bandits.py [--problem gm|permutations|gm2011|all] [--runs N] [--seed S]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from market.rng import RngStreams
from router.allocators.base import Allocator, VenueFeedback
from router.allocators.change_detection import CusumUCB, cusum_tuning
from router.allocators.discounted_ucb import DiscountedUCB, discount_for
from router.allocators.epsilon_greedy import EpsilonGreedy
from router.allocators.exp3 import EXP3, gamma_for
from router.allocators.sliding_window_ucb import SlidingWindowUCB, window_for
from router.allocators.thompson import ThompsonSampling
from router.allocators.ucb import UCB1

VENUES = ("V0", "V1", "V2")
QUANTITY = 100

Means = tuple[float, float, float]
Factory = Callable[[np.random.Generator], Allocator]


def _phases(phases: Sequence[Means], length: int, horizon: int) -> list[Means]:
    return [phases[(t // length) % len(phases)] for t in range(horizon)]


PROBLEMS: dict[str, list[Means]] = {
    "gm": _phases([(0.5, 0.3, 0.4), (0.5, 0.9, 0.4), (0.5, 0.3, 0.4), (0.5, 0.3, 0.9),
                   (0.5, 0.3, 0.4)], 1000, 5000),
    "permutations": _phases([(0.9, 0.5, 0.1), (0.5, 0.1, 0.9), (0.1, 0.9, 0.5)], 1000, 5000),
    "gm2011": [(0.5, 0.9 if 3000 <= t < 5000 else 0.3, 0.4) for t in range(10000)],
}


def play(allocator: Allocator, means: Sequence[Sequence[float]],
         uniforms: Sequence[float]) -> float:
    """Run one bandit episode; the pseudo-regret."""
    arm_of = {venue: arm for arm, venue in enumerate(VENUES)}
    regret = 0.0
    for mu, u in zip(means, uniforms):
        (venue, sent), = allocator.choose(QUANTITY).items()
        p = mu[arm_of[venue]]
        reward = 1.0 if u < p else 0.0
        allocator.update([VenueFeedback(venue, sent, sent if reward else 0, reward, False)])
        regret += max(mu) - p
    return regret


def algorithms(horizon: int, breakpoints: int) -> dict[str, tuple[str, Factory]]:
    h, alpha = cusum_tuning(horizon, breakpoints)
    gamma = discount_for(horizon, breakpoints)
    window = window_for(horizon, breakpoints)
    exp3_gamma = gamma_for(horizon, len(VENUES))
    return {
        "sw-ucb": (f"window={window}, xi=0.6",
                   lambda rng: SlidingWindowUCB(VENUES, rng, window=window)),
        "d-ucb": (f"gamma={gamma:.4f}, xi=0.6",
                  lambda rng: DiscountedUCB(VENUES, rng, gamma=gamma)),
        "d-ucb xi=0.15": (f"gamma={gamma:.4f}, xi=0.15",
                          lambda rng: DiscountedUCB(VENUES, rng, gamma=gamma, xi=0.15)),
        "cusum-ucb": (f"h={h:.2f}, alpha={alpha:.3f}, eps=0.05, M=50, restart=all",
                      lambda rng: CusumUCB(VENUES, rng, threshold=h, explore=alpha)),
        "cusum-ucb local": (f"h={h:.2f}, alpha={alpha:.3f}, eps=0.05, M=50, restart=arm",
                            lambda rng: CusumUCB(VENUES, rng, threshold=h, explore=alpha,
                                                 restart="arm")),
        "ucb1": ("c=2", lambda rng: UCB1(VENUES, rng)),
        "thompson": ("Beta(1,1)", lambda rng: ThompsonSampling(VENUES, rng)),
        "epsilon-greedy": ("epsilon=0.1", lambda rng: EpsilonGreedy(VENUES, rng)),
        "exp3": (f"gamma={exp3_gamma:.4f}",
                 lambda rng: EXP3(VENUES, rng, gamma=exp3_gamma)),
    }


def run_problem(name: str, runs: int, seed: int) -> None:
    means = PROBLEMS[name]
    horizon = len(means)
    breakpoints = sum(1 for t in range(1, horizon) if means[t] != means[t - 1])
    table = algorithms(horizon, max(breakpoints, 1))
    regrets: dict[str, list[float]] = {key: [] for key in table}
    seconds = dict.fromkeys(table, 0.0)
    streams = RngStreams(seed)
    for run in range(runs):
        uniforms = streams.stream(f"bench/bandits/{name}/run{run}/rewards").random(horizon)
        draws = uniforms.tolist()
        for key, (_, factory) in table.items():
            allocator = factory(streams.stream(f"bench/bandits/{name}/run{run}/{key}"))
            started = time.perf_counter()
            regrets[key].append(play(allocator, means, draws))
            seconds[key] += time.perf_counter() - started

    print(f"\n{name}: K={len(VENUES)}, T={horizon}, {breakpoints} breakpoints, {runs} runs, "
          f"seed {seed}")
    print(f"{'algorithm':<17}{'mean regret':>12}{'± 95% CI':>10}{'min':>8}{'max':>8}"
          f"{'µs/step':>9}  parameters")
    for key in sorted(table, key=lambda k: float(np.mean(regrets[k]))):
        values = np.array(regrets[key])
        half = 1.96 * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        per_step = 1e6 * seconds[key] / (runs * horizon)
        print(f"{key:<17}{values.mean():>12.1f}{half:>10.1f}{values.min():>8.1f}"
              f"{values.max():>8.1f}{per_step:>9.2f}  {table[key][0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=[*PROBLEMS, "all"], default="all")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2011)
    args = parser.parse_args()
    for name in (PROBLEMS if args.problem == "all" else [args.problem]):
        run_problem(name, args.runs, args.seed)


if __name__ == "__main__":
    main()
