"""Sliding-window UCB (Garivier & Moulines 2011): UCB on the last `window` observations only.

Concept. The statistics of arm i are its pull count N_i and reward sum S_i over the last
tau = `window` observations (one observation = one feedback entry; the bandit sends each
slice to one venue, so one per step). The arm played maximises

    S_i / N_i + B sqrt(xi * ln min(t, tau) / N_i),    t = observations so far,

with B = 1 (rewards mapped to [0, 1] by `reward_range`; default (0, 1)); an arm with no
observation in the window is played first, so an arm left alone for tau steps is tried
again. The paper's tuning for a horizon T with about `breakpoints` changes is
tau = 2 B sqrt(T ln T / breakpoints) (`window_for`).

Data structure. A deque of (arm, reward) of length <= tau with per-arm running counts and
sums: an observation appends and, past tau, pops the oldest -- O(1). The float sums are
rebuilt from the deque every tau observations, so rounding drift cannot accumulate over a
long run (amortised O(1)).

Complexity. `choose` O(K), `update` O(1) amortised per entry; memory O(tau).
Known limits: forgets everything older than tau, in quiet regimes too.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["SlidingWindowUCB", "window_for"]


def window_for(horizon: int, breakpoints: int) -> int:
    """Garivier & Moulines' window for `horizon` steps and about `breakpoints` changes."""
    if horizon < 2 or breakpoints < 1:
        raise ValueError(f"need horizon >= 2 and breakpoints >= 1, got horizon={horizon}, "
                         f"breakpoints={breakpoints}")
    return max(1, round(2.0 * math.sqrt(horizon * math.log(horizon) / breakpoints)))


class SlidingWindowUCB(VenueBandit):
    """SW-UCB: UCB over the last `window` observations, exploration constant `xi`."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, window: int = 200,
        xi: float = 0.6, reward_range: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if type(window) is not int or window < 1:
            raise ValueError(f"window was {window!r}, expected an int >= 1")
        if not (math.isfinite(xi) and xi > 0.0):
            raise ValueError(f"xi was {xi!r}, expected a finite number > 0")
        self.window = window
        self.xi = float(xi)
        self.counts = [0] * len(self.venues)  # pulls within the window
        self.sums = [0.0] * len(self.venues)  # rewards within the window
        self.t = 0
        self._recent: deque[tuple[int, float]] = deque()
        self._until_rebuild = window

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        counts, sums = self.counts, self.sums
        xi_log = self.xi * math.log(max(min(self.t, self.window), 1))
        best, best_index = arms[0], -math.inf
        for arm in arms:
            n = counts[arm]
            if n == 0:
                return arm
            index = sums[arm] / n + math.sqrt(xi_log / n)
            if index > best_index:
                best, best_index = arm, index
        return best

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        counts, sums, recent = self.counts, self.sums, self._recent
        recent.append((arm, reward))
        counts[arm] += 1
        sums[arm] += reward
        self.t += 1
        if len(recent) > self.window:
            old_arm, old_reward = recent.popleft()
            counts[old_arm] -= 1
            sums[old_arm] -= old_reward
            self._until_rebuild -= 1
            if self._until_rebuild == 0:
                self._until_rebuild = self.window
                fresh = [0.0] * len(sums)
                for a, r in recent:
                    fresh[a] += r
                self.sums = fresh
