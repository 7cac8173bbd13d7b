"""Dark first, lit for the rest: the censored-feedback dark allocation with a lit fallback.

Each lot of a slice goes to the dark pool where it is most likely to fill — the
`CensoredDarkAllocator`'s optimistic Kaplan–Meier tails, greedily, lot by lot — as long as
that probability is at least `min_fill_probability`; the lots no pool is likely enough to
fill go to the lit venues (split evenly over those offered). Dark fills at the midpoint
save the half spread and the taker fee, so a pool earns flow exactly while it is likely to
fill it; a pool that dries up sees its tail estimate fall (with `discount` < 1 old
observations fade) and its flow moves to the other pools or to lit.

Toxicity guard (`max_cost_bps`, off by default). Fill probability says nothing about what
a fill cost: a pool that fills readily but at stale prices, or just before the price runs
away (adverse selection), is *toxic*. With the guard on, each pool's cost per filled share
is tracked — recovered from the router's reward, `cost = (1 - reward / fill rate) x
cost_scale_bps`, which must match the router's `cost_scale_bps` — as a discounted mean, and
a pool whose mean exceeds `max_cost_bps` gets no flow except a one-lot probe every
`probe_every` slices, so it can earn its way back when it turns clean.
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
        max_cost_bps: float | None = None, cost_scale_bps: float = 20.0,
        cost_discount: float = 0.9, probe_every: int = 10,
    ) -> None:
        super().__init__(venues, rng)
        # A str is a Sequence[str] too: "DARK1" would be read as pools 'D', 'A', 'R', ...
        if isinstance(dark, str) or not isinstance(dark, Sequence):
            raise ValueError(f"dark was {dark!r}, expected a list of dark pool names")
        unknown = [v for v in dark if v not in self.venues]
        if unknown or not dark:
            raise ValueError(f"dark venues {list(dark)} must be a non-empty subset of {self.venues}"
                             + (f": {unknown} are not among them" if unknown else ""))
        repeated = sorted({v for v in dark if list(dark).count(v) > 1})
        if repeated:
            raise ValueError(f"dark venues {list(dark)} name {repeated} more than once")
        if not 0.0 < min_fill_probability <= 1.0:
            raise ValueError(f"min_fill_probability was {min_fill_probability!r}, expected in (0, 1]")
        self.dark = list(dark)
        self.lit = [v for v in self.venues if v not in self.dark]
        self.lot_size = lot_size
        self.min_fill_probability = min_fill_probability
        self.pools = CensoredDarkAllocator(self.dark, rng, lot_size=lot_size,
                                           cutoff_samples=cutoff_samples, bonus=bonus,
                                           discount=discount, window=window)
        if max_cost_bps is not None and cost_scale_bps <= 0:
            raise ValueError(f"cost_scale_bps was {cost_scale_bps!r}, expected > 0")
        if not 0.0 < cost_discount <= 1.0:
            raise ValueError(f"cost_discount was {cost_discount!r}, expected in (0, 1]")
        if type(probe_every) is not int or probe_every < 1:
            raise ValueError(f"probe_every was {probe_every!r}, expected an int >= 1")
        self.max_cost_bps = max_cost_bps
        self.cost_scale_bps = cost_scale_bps
        self.cost_discount = cost_discount
        self.probe_every = probe_every
        self._cost = {pool: [0.0, 0.0] for pool in self.dark}  # discounted sum, weight
        self._choices = 0

    def cost_bps(self, pool: str) -> float | None:
        """The pool's discounted mean cost per filled share, None before any fill."""
        total, weight = self._cost[pool]
        return total / weight if weight > 0 else None

    def _guarded(self, pool: str) -> bool:
        if self.max_cost_bps is None:
            return False
        cost = self.cost_bps(pool)
        return cost is not None and cost > self.max_cost_bps

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        offered = self.venues if venues is None else list(venues)
        self._choices += 1
        probe = self._choices % self.probe_every == 0
        guarded = [v for v in self.dark if v in offered and self._guarded(v)]
        pools = [v for v in self.dark if v in offered and v not in guarded]
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
        if probe:
            for pool in guarded[:lots]:
                allocation[pool] = self.lot_size
            lots -= len(allocation)
        for _, _, pool in candidates[:max(lots, 0)]:
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
        for fb in dark:
            if fb.filled > 0 and fb.sent > 0:
                quality = min(1.0, fb.reward / (fb.filled / fb.sent))
                entry = self._cost[fb.venue]
                entry[0] = entry[0] * self.cost_discount + (1.0 - quality) * self.cost_scale_bps
                entry[1] = entry[1] * self.cost_discount + 1.0
