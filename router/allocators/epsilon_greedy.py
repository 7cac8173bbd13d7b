"""ε-greedy: mostly the venue with the best mean reward so far, a uniform venue with prob. ε.

Concept. Each offered arm is played once first; then with probability ε an offered arm is
drawn uniformly, otherwise the arm with the highest empirical mean (ties: listed first).
ε is fixed: the pull share of the best arm tends to 1 - ε + ε/K, and the constant
exploration is also what lets it notice a regime shift (slowly: its means are averages
over all history).

Rewards pass through unscaled by default: an argmax of means does not care about scale.

Complexity. `choose` O(K) in pure Python, two uniforms from a block of draws (one numpy
call per 4096 steps); `update` O(1) per entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from market.rng import BlockDraws
from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["EpsilonGreedy"]


class EpsilonGreedy(VenueBandit):
    """Greedy on empirical means, uniform exploration with probability `epsilon`."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, epsilon: float = 0.1,
        reward_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon was {epsilon!r}, expected 0 <= epsilon <= 1")
        self.epsilon = float(epsilon)
        self.counts = [0] * len(self.venues)
        self.sums = [0.0] * len(self.venues)
        self._uniform = BlockDraws(lambda n: rng.random(n))

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        counts, sums = self.counts, self.sums
        for arm in arms:
            if counts[arm] == 0:
                return arm
        if self._uniform.next() < self.epsilon:
            pick: int = arms[int(self._uniform.next() * len(arms))]
            return pick
        best, best_mean = arms[0], -math.inf
        for arm in arms:
            mean = sums[arm] / counts[arm]
            if mean > best_mean:
                best, best_mean = arm, mean
        return best

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        self.counts[arm] += 1
        self.sums[arm] += reward
