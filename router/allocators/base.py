"""The allocator interface: where each slice of a parent order goes.

An allocator is asked `choose(quantity, venues, context)` for one slice and answers an
`Allocation` (shares per venue, summing to at most `quantity`); after the slice's child
orders are done it is told what happened, one `VenueFeedback` per venue it sent to, through
`update`. Everything else — static weights, bandits (one arm = one venue), contextual
bandits (the context is a feature vector from `market.features`), censored-feedback dark
allocation — is an implementation of these two hooks, so a user plugs in their own by
`module:Class`.

Rewards are "higher is better" and already include costs (see `VenueFeedback.reward`).
Censoring: a dark pool that filled all that was sent says only that its liquidity was at
least that much (`censored=True`); a partial fill reveals the liquidity exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Allocation", "VenueFeedback", "Allocator"]

Allocation = Mapping[str, int]  # venue -> shares; absent or 0 = nothing sent


class VenueFeedback(NamedTuple):
    """What one venue did with what one slice sent it."""

    venue: str
    sent: int  # shares sent
    filled: int  # shares filled
    reward: float  # higher is better: e.g. filled share of the slice minus cost, see router.reward
    censored: bool  # True when filled == sent at a venue that hides its liquidity (dark pool)
    context: tuple[float, ...] | None = None  # the features seen at decision time, if any
    cost_bps: float | None = None  # per filled share, bps: price beyond the touch at decision
    # (the venue's own far touch; the NBBO's where the venue shows none) + fees - markout


class Allocator(ABC):
    """Base of every allocator. Seeded through `rng` (from market.rng), never global."""

    def __init__(self, venues: Sequence[str], rng: np.random.Generator) -> None:
        if not venues:
            raise ValueError("an allocator needs at least one venue")
        if len(set(venues)) != len(venues):
            raise ValueError(f"venue names repeat: {list(venues)}")
        self.venues = list(venues)
        self.rng = rng

    @abstractmethod
    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        """Split `quantity` shares over `venues` (default: all; a subset when the execution
        policy allows fewer)."""

    @abstractmethod
    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        """Learn from what the last allocation's child orders did."""
