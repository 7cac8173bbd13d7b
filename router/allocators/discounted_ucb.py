"""Discounted UCB (Garivier & Moulines 2011): UCB on geometrically discounted statistics.

Concept. Every step (one `update` call) multiplies each arm's discounted pull count N_i and
discounted reward sum S_i by gamma < 1, then adds the step's observations. The arm
played is the one maximising

    S_i / N_i + 2 B sqrt(xi * ln n / N_i),   n = sum_i N_i,

with B = 1 (rewards mapped to [0, 1] by `reward_range`; default (0, 1)). Old evidence
fades with a memory of about 1 / (1 - gamma) steps, and the bonus of a neglected arm grows
as its N_i decays, so the policy re-explores on its own and follows a regime shift.
Arms never played (or decayed to exactly 0) are played first. The paper's tuning for a
horizon T with about `breakpoints` changes is gamma = 1 - sqrt(breakpoints / T) / 4 with
xi > 1/2 (`discount_for`).

Complexity. `update`: O(K) per call (the discount touches every arm) plus O(1) per entry;
`choose`: O(K), pure Python. Known limits: forgets at the same rate in quiet and in
shifting regimes, and a short memory costs exploration when nothing changes. The paper's
bonus (2 sqrt(xi ...) with xi = 0.6, the default) is wide for memories of a few hundred
steps: on bench/bandits.py's `gm` problem (T = 5000, memory about 140 steps) D-UCB then
loses to UCB1, while with xi = 0.15 -- the bonus of SW-UCB -- it beats it; at G&M's own
scale (`gm2011`, T = 10000, 2 breakpoints) it beats UCB1 with either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["DiscountedUCB", "discount_for"]


def discount_for(horizon: int, breakpoints: int) -> float:
    """Garivier & Moulines' discount for `horizon` steps and about `breakpoints` changes."""
    if horizon < 1 or breakpoints < 1:
        raise ValueError(f"need horizon >= 1 and breakpoints >= 1, got horizon={horizon}, "
                         f"breakpoints={breakpoints}")
    return 1.0 - math.sqrt(breakpoints / horizon) / 4.0


class DiscountedUCB(VenueBandit):
    """D-UCB: discount `gamma` per step, exploration constant `xi`."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, gamma: float = 0.99,
        xi: float = 0.6, reward_range: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"gamma was {gamma!r}, expected 0 < gamma < 1")
        if not (math.isfinite(xi) and xi > 0.0):
            raise ValueError(f"xi was {xi!r}, expected a finite number > 0")
        self.gamma = float(gamma)
        self.xi = float(xi)
        self.counts = [0.0] * len(self.venues)  # discounted pulls N_i
        self.sums = [0.0] * len(self.venues)  # discounted rewards S_i

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        counts, sums = self.counts, self.sums
        xi_log_n = self.xi * math.log(max(sum(counts), 1.0))
        best, best_index = arms[0], -math.inf
        for arm in arms:
            n = counts[arm]
            if n <= 0.0:
                return arm
            index = sums[arm] / n + 2.0 * math.sqrt(xi_log_n / n)
            if index > best_index:
                best, best_index = arm, index
        return best

    def _on_step(self) -> None:
        gamma, counts, sums = self.gamma, self.counts, self.sums
        for arm in self._all_arms:
            counts[arm] *= gamma
            sums[arm] *= gamma

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        self.counts[arm] += 1.0
        self.sums[arm] += reward
