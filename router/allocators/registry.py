"""Allocator registry: a scenario names an allocator by key ("ucb1") or by "module:Class".

`ALLOCATORS` maps each built-in key to its class. `load_allocator(spec)` returns the class
for a key or a "module:Class" path (a user's own allocator); `make_allocator(spec, venues,
rng, **params)` also builds it. Everything that can go wrong -- an unknown key, a module
that does not import, a missing attribute, something that is not a concrete `Allocator`
subclass, parameters the class rejects -- raises `AllocatorSpecError` naming the spec.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from market.errors import SorsimError
from router.allocators.base import Allocator
from router.allocators.censored_dark import CensoredDarkAllocator
from router.allocators.change_detection import CusumUCB
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
}


def load_allocator(spec: str) -> type[Allocator]:
    """The allocator class a key of `ALLOCATORS` or a "module:Class" path names."""
    if not isinstance(spec, str) or not spec.strip():
        raise AllocatorSpecError(f"allocator spec was {spec!r}, expected a key "
                                 f"({', '.join(ALLOCATORS)}) or 'module:Class'")
    if ":" not in spec:
        found = ALLOCATORS.get(spec)
        if found is not None:
            return found
        close = difflib.get_close_matches(spec, list(ALLOCATORS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        dotted = " (a class path is written 'module:Class')" if "." in spec else ""
        raise AllocatorSpecError(f"unknown allocator {spec!r}{dotted}: expected one of "
                                 f"{', '.join(ALLOCATORS)} or 'module:Class'{hint}")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise AllocatorSpecError(f"allocator spec {spec!r} is malformed, expected "
                                 "'module:Class' (e.g. 'my_pkg.routing:MyAllocator')")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AllocatorSpecError(f"allocator {spec!r}: cannot import module {module_name!r}: "
                                 f"{type(error).__name__}: {error}") from error
    found_object: object = module
    for part in attribute.split("."):
        try:
            found_object = getattr(found_object, part)
        except AttributeError:
            raise AllocatorSpecError(f"allocator {spec!r}: module {module_name!r} has no "
                                     f"attribute {attribute!r}") from None
    if not (isinstance(found_object, type) and issubclass(found_object, Allocator)):
        what = (f"class {found_object.__module__}.{found_object.__qualname__}"
                if isinstance(found_object, type) else type(found_object).__name__)
        raise AllocatorSpecError(f"allocator {spec!r} is not an Allocator subclass "
                                 f"(got {what}); it must subclass "
                                 "router.allocators.base.Allocator")
    if inspect.isabstract(found_object):
        missing = ", ".join(sorted(getattr(found_object, "__abstractmethods__", ())))
        raise AllocatorSpecError(f"allocator {spec!r} is abstract: it does not implement "
                                 f"{missing}")
    return found_object


def make_allocator(
    spec: str, venues: Sequence[str], rng: np.random.Generator,
    params: Mapping[str, Any] | None = None,
) -> Allocator:
    """Load `spec` and build it for `venues` with `rng` and keyword `params`."""
    cls = load_allocator(spec)
    params = dict(params or {})
    try:
        return cls(venues, rng, **params)
    except (TypeError, ValueError) as error:
        raise AllocatorSpecError(f"allocator {spec!r} could not be built with parameters "
                                 f"{params}: {error}") from error
