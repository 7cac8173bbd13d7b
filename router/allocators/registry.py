"""Allocator registry: a scenario names an allocator by key ("ucb1") or by "module:Class".

`ALLOCATORS` maps each built-in key to its class. `load_allocator(spec)` returns the class
for a key or a "module:Class" path (a user's own allocator); `make_allocator(spec, venues,
rng, **params)` also builds it. Everything that can go wrong -- an unknown key, a module
that does not import, a missing attribute, something that is not a concrete `Allocator`
subclass, parameters the class rejects (whatever the constructor raises: a plug-in may
raise anything) -- raises `AllocatorSpecError` naming the spec.

Each allocator gets its own deep copy of `params`: a list or a dict parameter it changes
(pops from, appends to) is never shared with another router or with the next run of the
same scenario.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from market.errors import SorsimError
from market.plugins import load_class
from router.allocators.base import Allocator
from router.allocators.censored_dark import CensoredDarkAllocator
from router.allocators.change_detection import CusumUCB
from router.allocators.cost_based import CostBasedSplit
from router.allocators.dark_first import DarkFirst
from router.allocators.discounted_ucb import DiscountedUCB
from router.allocators.epsilon_greedy import EpsilonGreedy
from router.allocators.exp3 import EXP3
from router.allocators.lin_ucb import LinUCB
from router.allocators.sliding_window_ucb import SlidingWindowUCB
from router.allocators.static import FixedWeights, LitOnly, ProRataDisplayed
from router.allocators.thompson import ThompsonSampling
from router.allocators.ucb import UCB1

__all__ = ["ALLOCATORS", "AllocatorSpecError", "load_allocator", "make_allocator"]


class AllocatorSpecError(SorsimError, ValueError):
    """An allocator spec (key or "module:Class") cannot be loaded or built."""


ALLOCATORS: dict[str, type[Allocator]] = {
    "lit-only": LitOnly,
    "pro-rata": ProRataDisplayed,
    "fixed-weights": FixedWeights,
    "epsilon-greedy": EpsilonGreedy,
    "ucb1": UCB1,
    "thompson": ThompsonSampling,
    "exp3": EXP3,
    "d-ucb": DiscountedUCB,
    "sw-ucb": SlidingWindowUCB,
    "cusum-ucb": CusumUCB,
    "lin-ucb": LinUCB,
    "censored-dark": CensoredDarkAllocator,
    "dark-first": DarkFirst,
    "cost-based": CostBasedSplit,
}


def load_allocator(spec: str) -> type[Allocator]:
    """The allocator class a key of `ALLOCATORS` or a "module:Class" path names."""
    return load_class(spec, ALLOCATORS, Allocator, "allocator", AllocatorSpecError)  # type: ignore[type-abstract]


def make_allocator(
    spec: str, venues: Sequence[str], rng: np.random.Generator,
    params: Mapping[str, Any] | None = None,
) -> Allocator:
    """Load `spec` and build it for `venues` with `rng` and a deep copy of keyword `params`
    (see the module docstring)."""
    cls = load_allocator(spec)
    given = dict(params or {})
    try:
        return cls(venues, rng, **copy.deepcopy(given))
    except Exception as error:  # a plug-in may raise anything: report it, with its type
        raise AllocatorSpecError(f"allocator {spec!r} could not be built with parameters "
                                 f"{given}: {type(error).__name__}: {error}") from error
