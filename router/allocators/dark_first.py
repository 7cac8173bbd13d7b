"""Dark first, lit for the rest: the censored-feedback dark allocation with a lit fallback.

Each lot of a slice goes to the dark pool where it is most likely to fill — the
`CensoredDarkAllocator`'s optimistic Kaplan–Meier tails, greedily, lot by lot — as long as
that probability is at least `min_fill_probability`; the lots no pool is likely enough to
fill go to the lit venues (split evenly over those offered). Dark fills at the midpoint
save the half spread and the taker fee, so a pool earns flow exactly while it is likely to
fill it; a pool that dries up sees its tail estimate fall (with `discount` < 1 old
observations fade) and its flow moves to the other pools or to lit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from router.allocators.base import Allocation, Allocator, VenueFeedback
from router.allocators.censored_dark import CensoredDarkAllocator
from router.allocators.static import split_pro_rata

__all__ = ["DarkFirst"]


class DarkFirst(Allocator):
    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, dark: Sequence[str],
        lot_size: int = 100, min_fill_probability: float = 0.3, cutoff_samples: float = 1.0,
        bonus: float = 0.4, discount: float = 0.9, window: int | None = None,
    ) -> None:
        super().__init__(venues, rng)
        unknown = [v for v in dark if v not in self.venues]
        if unknown or not dark:
            raise ValueError(f"dark venues {list(dark)} must be a non-empty subset of {self.venues}")
        if not 0.0 < min_fill_probability <= 1.0:
            raise ValueError(f"min_fill_probability was {min_fill_probability!r}, expected in (0, 1]")
        self.dark = list(dark)
        self.lit = [v for v in self.venues if v not in self.dark]
        self.lot_size = lot_size
        self.min_fill_probability = min_fill_probability
        self.pools = CensoredDarkAllocator(self.dark, rng, lot_size=lot_size,
                                           cutoff_samples=cutoff_samples, bonus=bonus,
                                           discount=discount, window=window)

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        offered = self.venues if venues is None else list(venues)
        pools = [v for v in self.dark if v in offered]
        lit = [v for v in self.lit if v in offered]
        lots = quantity // self.lot_size
        # (probability the lot fills, pool) for every lot a pool is likely enough to fill.
        candidates: list[tuple[float, int, str]] = []
        for order, pool in enumerate(pools):
            tail = self.pools.tail(pool)
            for j in range(1, lots + 1):
                p = float(tail[min(j, len(tail) - 1)])
                if p < self.min_fill_probability:
                    break
                candidates.append((p, -order, pool))
        candidates.sort(reverse=True)
        allocation: dict[str, int] = {}
        for _, _, pool in candidates[:lots]:
            allocation[pool] = allocation.get(pool, 0) + self.lot_size
        rest = quantity - sum(allocation.values())
        if rest > 0:
            targets = lit or pools
            if not targets:
                return allocation
            for venue, shares in split_pro_rata(rest // self.lot_size, [(v, 1.0) for v in targets]).items():
                allocation[venue] = allocation.get(venue, 0) + shares * self.lot_size
            odd = rest % self.lot_size
            if odd:
                allocation[targets[0]] = allocation.get(targets[0], 0) + odd
        return allocation

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        dark = [fb for fb in feedback if fb.venue in self.pools.venues]
        if dark:
            self.pools.update(dark)
