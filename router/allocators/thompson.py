"""Thompson sampling: draw each venue's mean from its posterior, route to the largest draw.

Two models, chosen by `model`:

- `"beta"` (default) -- Beta-Bernoulli, for rewards in [0, 1] (`reward_range` maps and
  clips them there; its default "auto" means (0, 1) here and None for "gaussian"). Arm i
  has a Beta(a_i, b_i) posterior, prior Beta(prior_a, prior_b) = Beta(1, 1). A reward r
  adds r to a_i and 1 - r to b_i: the exact conjugate update for 0/1 rewards, and for
  fractional rewards a deterministic pseudo-posterior as wide as for Bernoulli rewards of
  the same mean mu -- never too narrow, since a reward in [0, 1] with mean mu has variance
  at most mu (1 - mu), so it does not under-explore.
- `"gaussian"` -- Normal-Normal with known noise, for real-valued rewards (no scaling by
  default). Prior N(prior_mean, prior_std^2), noise std `noise_std`; after n rewards with
  sum s the posterior precision is 1/prior_std^2 + n/noise_std^2 and the mean is
  (prior_mean/prior_std^2 + s/noise_std^2) / precision.

Complexity. `choose`: beta -- one scalar `rng.beta` call per offered arm (~0.7 µs each);
gaussian -- one standard normal per offered arm from a block of draws. Both O(K). `update` O(1) per
entry. Known limits: stationary; the posterior only narrows, so after a regime shift a
well-sampled stale arm keeps winning until its mean has been dragged down -- slower to
recover than UCB1, whose bonus keeps growing for the arms it neglects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from market.rng import BlockDraws
from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["ThompsonSampling"]

_MODELS = ("beta", "gaussian")


class ThompsonSampling(VenueBandit):
    """Thompson sampling with a Beta-Bernoulli (`model="beta"`) or Gaussian posterior."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, model: str = "beta",
        prior_a: float = 1.0, prior_b: float = 1.0,
        prior_mean: float = 0.0, prior_std: float = 1.0, noise_std: float = 1.0,
        reward_range: tuple[float, float] | str | None = "auto",
    ) -> None:
        if model not in _MODELS:
            raise ValueError(f"model was {model!r}, expected one of {list(_MODELS)}")
        scale: tuple[float, float] | None
        if isinstance(reward_range, str):
            if reward_range != "auto":
                raise ValueError(f"reward_range was {reward_range!r}, expected (lo, hi), "
                                 "None or 'auto'")
            scale = (0.0, 1.0) if model == "beta" else None
        else:
            scale = reward_range
        super().__init__(venues, rng, scale)
        for name, value in (("prior_a", prior_a), ("prior_b", prior_b),
                            ("prior_std", prior_std), ("noise_std", noise_std)):
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} was {value!r}, expected a finite number > 0")
        if not math.isfinite(prior_mean):
            raise ValueError(f"prior_mean was {prior_mean!r}, expected a finite number")
        self.model = model
        k = len(self.venues)
        # beta: each arm's posterior (a, b); sampled one scalar `rng.beta` call per offered
        # arm (~0.7 µs each), which for a few arms beats one vectorised call (~8 µs)
        self.a = [float(prior_a)] * k
        self.b = [float(prior_b)] * k
        # gaussian: the natural parameters (precision, precision * mean) per arm
        self._precision = [1.0 / prior_std**2] * k
        self._weighted = [prior_mean / prior_std**2] * k
        self._noise_precision = 1.0 / noise_std**2
        self._normal = BlockDraws(lambda n: rng.standard_normal(n))

    def posterior_mean(self, venue: str) -> float:
        arm = self._arm_of[venue]
        if self.model == "beta":
            return self.a[arm] / (self.a[arm] + self.b[arm])
        return self._weighted[arm] / self._precision[arm]

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        best, best_draw = arms[0], -math.inf
        if self.model == "beta":
            beta, a, b = self.rng.beta, self.a, self.b
            for arm in arms:
                draw = beta(a[arm], b[arm])
                if draw > best_draw:
                    best, best_draw = arm, draw
            return best
        normal = self._normal.next
        precision, weighted = self._precision, self._weighted
        for arm in arms:
            draw = weighted[arm] / precision[arm] + normal() / math.sqrt(precision[arm])
            if draw > best_draw:
                best, best_draw = arm, draw
        return best

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        if self.model == "beta":
            self.a[arm] += reward
            self.b[arm] += 1.0 - reward
        else:
            self._precision[arm] += self._noise_precision
            self._weighted[arm] += reward * self._noise_precision
