"""LinUCB with disjoint models (Li, Chu, Langford, Schapire 2010): a ridge regression per venue.

Concept. A contextual bandit: the context x (the feature vector of `market.features`, given
to `choose`) predicts each venue's reward through its own linear model. Arm a keeps
A_a = lambda I + sum x x^T and b_a = sum r x over its observations; theta_a = A_a^-1 b_a,
and the arm played maximises

    theta_a . x + alpha * sqrt(x^T A_a^-1 x).

With `intercept=True` (default) a constant 1 is appended to x, so each venue also learns
a context-free baseline. Rewards are used as they are (a regression needs no [0, 1]
scaling; `reward_range` is there if wanted); alpha sets the exploration width in reward
units.

Data structure. A_a^-1 is kept directly and updated by Sherman-Morrison (O(d^2) per
observation, no inversion); theta_a is refreshed for the updated arm only. All arms sit in
stacked arrays (K x d x d, K x d), so `choose` is three vectorised numpy calls whatever K.

Invariants. The dimension d is `n_features` or, when None, the length of the first context
seen; every later context must have it. `update` learns from `VenueFeedback.context` when
set, else from the context of the last `choose`; with neither it raises. Non-finite
features raise. Known limits: linear in the features; stationary (no forgetting).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from router.allocators.base import VenueFeedback
from router.allocators.ucb import VenueBandit

__all__ = ["LinUCB"]

_Vector = npt.NDArray[np.float64]


class LinUCB(VenueBandit):
    """Disjoint LinUCB: per-venue ridge regression of reward on context, UCB width `alpha`."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, alpha: float = 1.0,
        regularization: float = 1.0, n_features: int | None = None, intercept: bool = True,
        reward_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(venues, rng, reward_range)
        if not (math.isfinite(alpha) and alpha >= 0.0):
            raise ValueError(f"alpha was {alpha!r}, expected a finite number >= 0")
        if not (math.isfinite(regularization) and regularization > 0.0):
            raise ValueError(f"regularization was {regularization!r}, expected a finite "
                             "number > 0")
        if n_features is not None and (type(n_features) is not int or n_features < 1):
            raise ValueError(f"n_features was {n_features!r}, expected an int >= 1 or None")
        self.alpha = float(alpha)
        self.regularization = float(regularization)
        self.intercept = intercept
        self.n_features = n_features
        self._last_x: _Vector | None = None
        self.a_inv: npt.NDArray[np.float64] = np.empty((0, 0, 0))
        self.b: npt.NDArray[np.float64] = np.empty((0, 0))
        self.theta: npt.NDArray[np.float64] = np.empty((0, 0))
        if n_features is not None:
            self._allocate(n_features)

    def _allocate(self, n_features: int) -> None:
        self.n_features = n_features
        d = n_features + (1 if self.intercept else 0)
        k = len(self.venues)
        self.a_inv = np.tile(np.eye(d) / self.regularization, (k, 1, 1))
        self.b = np.zeros((k, d))
        self.theta = np.zeros((k, d))

    def _vector(self, context: Sequence[float] | None, what: str) -> _Vector:
        if context is None:
            raise ValueError(f"LinUCB needs a context vector in {what}")
        if self.n_features is None:
            self._allocate(len(context))
        if len(context) != self.n_features:
            raise ValueError(f"LinUCB got a context of length {len(context)} in {what}, "
                             f"expected {self.n_features}")
        x = np.array(list(context) + [1.0] if self.intercept else context, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(f"LinUCB got a non-finite context in {what}: {list(context)}")
        return x

    def scores(self, context: Sequence[float]) -> list[float]:
        """Each venue's upper confidence bound for `context`, in venue order."""
        x = self._vector(context, "scores")
        a_inv_x = self.a_inv @ x  # K x d
        width = np.sqrt(np.maximum(a_inv_x @ x, 0.0))
        result: list[float] = (self.theta @ x + self.alpha * width).tolist()
        return result

    def _select(self, arms: tuple[int, ...], context: Sequence[float] | None) -> int:
        x = self._vector(context, "choose")
        self._last_x = x
        a_inv_x = self.a_inv @ x
        ucb: list[float] = (self.theta @ x
                            + self.alpha * np.sqrt(np.maximum(a_inv_x @ x, 0.0))).tolist()
        best, best_ucb = arms[0], -math.inf
        for arm in arms:
            if ucb[arm] > best_ucb:
                best, best_ucb = arm, ucb[arm]
        return best

    def _learn(self, arm: int, reward: float, feedback: VenueFeedback) -> None:
        if feedback.context is not None:
            x = self._vector(feedback.context, "update")
        elif self._last_x is not None:
            x = self._last_x
        else:
            raise ValueError(f"LinUCB got feedback for {feedback.venue!r} with no context "
                             "and has not chosen with one yet")
        a_inv = self.a_inv[arm]
        a_inv_x = a_inv @ x
        a_inv -= np.outer(a_inv_x, a_inv_x) / (1.0 + x @ a_inv_x)  # Sherman-Morrison
        self.b[arm] += reward * x
        self.theta[arm] = a_inv @ self.b[arm]
