"""UCB1, and `VenueBandit`: the bookkeeping every one-arm-per-venue bandit shares.

Concept. A `VenueBandit` treats each venue as an arm: `choose` picks one arm among the
venues offered and puts the *whole* slice on it; `update` feeds each `VenueFeedback`
entry's reward to the arm of its venue. Subclasses implement two hooks: `_select(arms,
context) -> arm` and `_learn(arm, reward, feedback)`; `_on_step()` runs once per `update`
call (before its entries) for algorithms whose clock is the step, not the pull (discounting).

Rewards. `reward_range=(lo, hi)` maps a reward r to (r - lo) / (hi - lo), clipped to [0, 1],
before `_learn` sees it: the confidence bounds of UCB-type indices assume rewards in
[0, 1]. `reward_range=None` passes rewards through unchanged (estimators that are
invariant to scale, or that model real rewards). A non-finite reward raises.

UCB1 (Auer, Cesa-Bianchi, Fischer 2002). Play each offered arm once, then the arm
maximising  mean_i + sqrt(c * ln t / n_i),  t = total pulls, n_i = pulls of arm i; c = 2 is
the paper's constant. Ties go to the arm listed first.

Invariants. `choose` never returns a venue outside the ones offered (a subset of those the
allocator was built with; an unknown venue raises). Entries with `sent == 0` carry no
observation and are skipped. `choose(0)` returns an empty allocation and learns nothing.

Complexity. `choose` is O(K) in pure Python (K = offered venues: a few); `update` O(1) per
entry. Known limits: UCB1 is built for stationary rewards. After a regime shift it is
quick when the new best arm *improved* (its indices sit level at equilibrium, so any drop
of the played arm makes it sample the others, and an improved arm with few pulls takes
over within a few dozen), but slow when the played arm falls and the new best is an arm
that did not change: an arm with n pulls at mean m that falls to m' is played about
n (m - b) / (b - m') more times before the unchanged best b wins. Use `sw-ucb`, `d-ucb`
or `cusum-ucb` when regimes shift (bench/bandits.py compares them).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from router.allocators.base import Allocation, Allocator, VenueFeedback

__all__ = ["VenueBandit", "UCB1"]


class VenueBandit(Allocator):
    """Base of the bandits where one arm is one venue and the whole slice goes to one arm."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator,
        reward_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(venues, rng)
        self._arm_of = {venue: arm for arm, venue in enumerate(self.venues)}
        self._all_arms = tuple(range(len(self.venues)))
        self._scaled = reward_range is not None
        self._lo, self._span = 0.0, 1.0
        if reward_range is not None:
            lo, hi = (float(x) for x in reward_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"reward_range was {reward_range!r}, expected (lo, hi) "
                                 "with finite lo < hi")
            self._lo, self._span = lo, hi - lo

    # --- the two hooks of Allocator --------------------------------------------------------

    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        if quantity <= 0:
            if quantity == 0:
                return {}
            raise ValueError(f"quantity was {quantity}, expected >= 0")
        arms = self._all_arms if venues is None else self._arms(venues)
        return {self.venues[self._select(arms, context)]: quantity}

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        arm_of = self._arm_of
        self._on_step()
        for entry in feedback:
            if entry.sent <= 0:
                continue
            arm = arm_of.get(entry.venue)
            if arm is None:
                raise ValueError(f"{type(self).__name__} got feedback for venue "
                                 f"{entry.venue!r}; it routes to {self.venues}")
            reward = entry.reward
            if not math.isfinite(reward):
                raise ValueError(f"{type(self).__name__} got reward {reward!r} for venue "
                                 f"{entry.venue!r}, expected a finite number")
            if self._scaled:
                reward = min(1.0, max(0.0, (reward - self._lo) / self._span))
            self._learn(arm, reward, entry)

    # --- for subclasses ----------------------------------------------------------------------

    @abstractmethod
    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        """One of `arms` (indices into `self.venues`, never empty)."""

    @abstractmethod
    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        """Take one observation of `arm` (reward already scaled when `reward_range` is set)."""

    def _on_step(self) -> None:
        """Runs once per `update` call, before its entries (default: nothing)."""

    def _arms(self, venues: Sequence[str]) -> tuple[int, ...]:
        try:
            arms = tuple(self._arm_of[venue] for venue in venues)
        except KeyError as missing:
            raise ValueError(f"{type(self).__name__} was offered venue {missing.args[0]!r}; "
                             f"it was built for {self.venues}") from None
        if not arms:
            raise ValueError(f"{type(self).__name__} was offered no venue")
        return arms


class UCB1(VenueBandit):
    """UCB1: the arm with the highest mean + sqrt(c ln t / n)."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, c: float = 2.0,
        reward_range: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if not (math.isfinite(c) and c >= 0.0):
            raise ValueError(f"c was {c!r}, expected a finite number >= 0")
        self.c = float(c)
        self.counts = [0] * len(self.venues)
        self.sums = [0.0] * len(self.venues)
        self.total = 0

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        counts, sums = self.counts, self.sums
        c_log_t = self.c * math.log(max(self.total, 1))
        best, best_index = arms[0], -math.inf
        for arm in arms:
            n = counts[arm]
            if n == 0:
                return arm
            index = sums[arm] / n + math.sqrt(c_log_t / n)
            if index > best_index:
                best, best_index = arm, index
        return best

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        self.counts[arm] += 1
        self.sums[arm] += reward
        self.total += 1
