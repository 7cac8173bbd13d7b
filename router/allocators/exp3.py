"""EXP3 (Auer, Cesa-Bianchi, Freund, Schapire 2002): exponential weights for adversarial rewards.

Concept. Arm i has a weight w_i = exp(L_i). Over the K' offered arms, arm i is drawn with
probability p_i = (1 - gamma) w_i / sum(w) + gamma / K'. A reward x in [0, 1]
(`reward_range` maps and clips it there; default (0, 1)) of the chosen arm is
importance-weighted, x / p_i, and L_i += gamma * (x / p_i) / K'. No stochastic
assumption: it is the baseline that cannot be fooled by an adversary, at the price of
gamma/K' of forced exploration on every arm forever. The paper's tuning for a horizon T
is gamma = min(1, sqrt(K ln K / ((e - 1) T))); `gamma_for(horizon, k)` computes it.

Invariant. `update` importance-weights with the probability the venue had at the last
`choose`; feedback for a venue that last `choose` gave probability 0 (not offered, or no
`choose` yet) raises, since it is not an observation EXP3 can use unbiasedly.

Complexity. `choose` O(K): K `math.exp` and one uniform from a block of draws; `update`
O(K) per entry (the log-weights are shifted so the largest is 0, which keeps `exp` from
overflowing however long the run).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from market.rng import BlockDraws
from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["EXP3", "gamma_for"]


def gamma_for(horizon: int, k: int) -> float:
    """Auer et al.'s exploration rate for `horizon` steps and `k` arms."""
    if horizon < 1 or k < 2:
        raise ValueError(f"need horizon >= 1 and k >= 2, got horizon={horizon}, k={k}")
    return min(1.0, math.sqrt(k * math.log(k) / ((math.e - 1.0) * horizon)))


class EXP3(VenueBandit):
    """Exponential weights with uniform mixing `gamma` and importance-weighted rewards."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, gamma: float = 0.1,
        reward_range: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma was {gamma!r}, expected 0 < gamma <= 1")
        self.gamma = float(gamma)
        k = len(self.venues)
        self.log_weights = [0.0] * k
        self._last_p = [0.0] * k  # each arm's probability at the last choose
        self._last_k = k
        self._uniform = BlockDraws(lambda n: rng.random(n))

    def probabilities(self, arms: Sequence[int] | None = None) -> list[float]:
        """The draw probability of each arm in `arms` (default: all), in that order."""
        arms = self._all_arms if arms is None else arms
        log_weights = self.log_weights
        top = max(log_weights[arm] for arm in arms)
        weights = [math.exp(log_weights[arm] - top) for arm in arms]
        total = sum(weights)
        mix, floor = 1.0 - self.gamma, self.gamma / len(arms)
        return [mix * w / total + floor for w in weights]

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        probabilities = self.probabilities(arms)
        last_p = self._last_p
        for arm in self._all_arms:
            last_p[arm] = 0.0
        for arm, p in zip(arms, probabilities):
            last_p[arm] = p
        self._last_k = len(arms)
        u = self._uniform.next()
        cumulative = 0.0
        for arm, p in zip(arms, probabilities):
            cumulative += p
            if u < cumulative:
                return arm
        return arms[-1]  # u within rounding of 1.0

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        p = self._last_p[arm]
        if p <= 0.0:
            raise ValueError(f"EXP3 got feedback for venue {feedback.venue!r}, which its last "
                             "choose did not offer; it can only learn from arms it drew")
        log_weights = self.log_weights
        log_weights[arm] += self.gamma * reward / (p * self._last_k)
        top = max(log_weights)
        for i in self._all_arms:
            log_weights[i] -= top
