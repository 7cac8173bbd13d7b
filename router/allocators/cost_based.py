"""Cost-based splitting: each lot of a slice to the venue where it is expected to save most.

Concept. What a professional smart order router does with a marketable slice: rank the
venues by what a share costs there (fees, the price against the mid, adverse selection)
and how likely it is to fill, fill the cheap venues first up to the liquidity they are
likely to have, and send the rest where it is likeliest to fill. Here both are learned from
the router's own fills, per venue, with old observations fading (`discount`), so that a
venue whose fees, latency, last look or liquidity change is re-ranked within a few slices.

Every slice is split over several venues, not put on one: each venue's estimate is updated
from most slices, and the common part of the noise (the mid's move, which enters every
venue's cost in a slice alike) hits every estimate at once and so does not change the
ranking. A one-arm-per-slice bandit (`ucb1`, `sw-ucb`, ...) compares venues measured in
different slices, where that noise does not cancel, so it learns differences of a few
tenths of a basis point (fees) slowly.

The estimates, per venue:
- cost per filled share, bps (`VenueFeedback.cost_bps`, positive = bad): the price beyond
  the touch that taking would have cost at decision (a lit venue's own far touch, the
  NBBO's at a venue that shows none) + fees - markout. At a lit venue that is about its
  fee; a dark pool's midpoint fill saves half the spread. The spread itself, which changes
  from slice to slice, stays out of it (learned against the mid, a venue's cost would be
  mostly the spreads of the slices it happened to be used in). A discounted mean over slices
  with fills; optimistic by `cost_bonus_bps / sqrt(weight)`, so a venue seldom filled is
  tried again;
- the liquidity a child finds, in lots: optimistic Kaplan-Meier tails from censored
  observations (`censored_dark`: a full fill says "at least this much"), for every kind of
  venue. At a venue that displays its book (the router reports each lit touch, price and
  size, through `observe_touch`) lots beyond the size displayed at the touch count as
  unlikely to fill (`beyond_displayed`, default 0: an IOC at the touch does not sweep
  deeper), and a touch worse than the best lit touch costs the difference on top of the
  venue's learned cost (a take there is pinned at the NBBO's touch and seldom fills: see
  `router.tactics`). A venue that hides its liquidity (a dark pool, a dealer) gets at
  most `probe_lots` lots more than the most it ever filled in one slice: the tails'
  optimism beyond the data is unbounded, and a pool that never fills would otherwise be
  sent whole slices whenever its one failure has faded.

The split, lot by lot. A lot not filled now is sent again later, at about the cheapest lit
venue's cost plus the price of waiting: `miss cost = min over lit venues of their mean cost +
delay_cost_bps`. The j-th lot at venue v is worth `P_v(j) x (miss cost - cost_v)`: the
greedy gives each lot to the largest worth while it is positive (a dark pool's midpoint
first when it is likely to fill, then the cheapest lit touches). The lots left (no venue
saves anything on them: the cheap venues' displayed size is used up) go to the lit venues
in proportion to the size they display beyond what the first pass gave them (evenly when
none displays anything), as the `pro-rata` static would send them.

Invariants: the allocation sums to the quantity in whole lots (the odd shares go with the
first lot placed); only offered venues get shares. `update` is O(feedback) plus the tails'
discount (O(K L)); `choose` O(K x lots), a few dozen lots and venues at most.

Known limits: costs are per filled share whatever the child's size (a dealer's wider tiers
for a larger RFQ show up only as a higher mean); the lit venues' displayed sizes are the
router's last L1 view, not a model of refills; liquidity is assumed independent across
venues (sending more to one does not change another's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from market.messages import Side
from router.allocators.base import Allocation, Allocator, VenueFeedback
from router.allocators.censored_dark import CensoredDarkAllocator
from router.allocators.static import split_pro_rata

__all__ = ["CostBasedSplit"]


class CostBasedSplit(Allocator):
    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, lot_size: int = 100,
        discount: float = 0.9, delay_cost_bps: float = 0.3, cost_bonus_bps: float = 1.0,
        cutoff_samples: float = 1.0, bonus: float = 0.4, beyond_displayed: float = 0.0,
        probe_lots: int = 1,
    ) -> None:
        super().__init__(venues, rng)
        if type(lot_size) is not int or lot_size < 1:
            raise ValueError(f"lot_size was {lot_size!r}, expected an int >= 1")
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount was {discount!r}, expected in (0, 1]")
        for key, value in (("delay_cost_bps", delay_cost_bps), ("cost_bonus_bps", cost_bonus_bps)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{key} was {value!r}, expected a finite number >= 0")
        if not 0.0 <= beyond_displayed <= 1.0:
            raise ValueError(f"beyond_displayed was {beyond_displayed!r}, expected in [0, 1]")
        if type(probe_lots) is not int or probe_lots < 1:
            raise ValueError(f"probe_lots was {probe_lots!r}, expected an int >= 1")
        self.lot_size = lot_size
        self.probe_lots = probe_lots
        self.discount = discount
        self.delay_cost_bps = delay_cost_bps
        self.cost_bonus_bps = cost_bonus_bps
        self.beyond_displayed = beyond_displayed
        self.liquidity = CensoredDarkAllocator(self.venues, rng, lot_size=lot_size,
                                               cutoff_samples=cutoff_samples, bonus=bonus,
                                               discount=discount)
        self._cost = {venue: [0.0, 0.0] for venue in self.venues}  # discounted sum, weight
        self._most_filled = {venue: 0 for venue in self.venues}  # lots, in one slice, ever
        self.touch: dict[str, tuple[int | None, int]] = {}  # lit venues: (price, shares)
        self._sign = 1.0  # +1 buying (a lower ask is better), -1 selling

    # --- what it knows -----------------------------------------------------------------------

    def observe_touch(self, venue: str, side: Side, price: int | None, size: int) -> None:
        """The router's hook: `venue`'s touch on the side we take (the ask for a buy), its
        price (None when empty) and the shares shown there."""
        if venue in self._cost:
            self._sign = 1.0 if side is Side.BUY else -1.0
            self.touch[venue] = (price, max(0, int(size)) if price is not None else 0)

    def _touch_offsets(self, lit: Sequence[str]) -> dict[str, float]:
        """Each lit venue's touch against the best one (bps, >= 0; inf without a price)."""
        prices = {v: self.touch[v][0] for v in lit}
        known = [self._sign * p for p in prices.values() if p is not None]
        if not known:
            return {v: 0.0 for v in lit}
        best = min(known)
        return {v: math.inf if p is None else (self._sign * p - best) / abs(best) * 1e4
                for v, p in prices.items()}

    def cost_bps(self, venue: str) -> float | None:
        """The venue's discounted mean cost per filled share (bps), None before any fill."""
        total, weight = self._cost[venue]
        return total / weight if weight > 0 else None

    def _optimistic_cost(self, venue: str) -> float:
        total, weight = self._cost[venue]
        if weight <= 0:
            return -self.cost_bonus_bps
        return total / weight - self.cost_bonus_bps / math.sqrt(weight)

    def _miss_cost(self, lit: Sequence[str]) -> float:
        known = [c for c in (self.cost_bps(v) for v in lit) if c is not None]
        return (min(known) if known else 0.0) + self.delay_cost_bps

    # --- the two hooks -----------------------------------------------------------------------

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        if quantity <= 0:
            if quantity == 0:
                return {}
            raise ValueError(f"quantity was {quantity}, expected >= 0")
        offered = self.venues if venues is None else [v for v in self.venues if v in venues]
        unknown = [v for v in (venues or ()) if v not in self._cost]
        if unknown or not offered:
            raise ValueError(f"{type(self).__name__} was offered {list(venues or ())}; it was "
                             f"built for {self.venues}")
        lots, odd = divmod(quantity, self.lot_size)
        lit = [v for v in offered if v in self.touch]
        offsets = self._touch_offsets(lit)
        at_best = [v for v in lit if offsets[v] == 0.0]
        miss = self._miss_cost(at_best or lit)
        # First pass: every lot worth something, best first. Worth of lot j at v is
        # P_v(j) (miss - cost_v); P is non-increasing in j, so each venue's lots are a prefix.
        candidates: list[tuple[float, int, int, str]] = []
        for order, venue in enumerate(offered):
            saving = miss - self._optimistic_cost(venue) - offsets.get(venue, 0.0)
            if saving <= 0:
                continue
            tail = self.liquidity.tail(venue)
            shown = self.touch[venue][1] if venue in self.touch else None
            unproven = self._most_filled[venue] + self.probe_lots  # hidden liquidity only
            for j in range(1, lots + 1):
                p = float(tail[min(j, len(tail) - 1)])
                if shown is not None and j * self.lot_size > shown:
                    p *= self.beyond_displayed
                elif shown is None and j > unproven:
                    break
                if p <= 0.0:
                    break
                candidates.append((-p * saving, j, order, venue))
        candidates.sort()
        allocation: dict[str, int] = {}
        for _, _, _, venue in candidates[:lots]:
            allocation[venue] = allocation.get(venue, 0) + self.lot_size
        # Second pass: the lots no venue saves anything on go to the lit venues at the best
        # price pro rata to the size they show beyond the first pass's, then to the others.
        rest = lots - sum(allocation.values()) // self.lot_size
        for targets in (at_best, [v for v in lit if v not in at_best]):
            if rest <= 0:
                break
            left = [(v, max(0, self.touch[v][1] - allocation.get(v, 0))) for v in targets]
            left = [(v, size) for v, size in left if size > 0]
            if not left:
                continue
            split = split_pro_rata(min(rest, sum(size for _, size in left) // self.lot_size or 1),
                                   left)
            for venue, share in split.items():
                allocation[venue] = allocation.get(venue, 0) + share * self.lot_size
                rest -= share
        if rest > 0:  # more than every touch shows: evenly over the lit venues at the best
            targets = at_best or lit or offered
            for venue, share in split_pro_rata(rest, [(v, 1) for v in targets]).items():
                allocation[venue] = allocation.get(venue, 0) + share * self.lot_size
        if odd:
            first = next(iter(allocation), None) or (at_best or lit or offered)[0]
            allocation[first] = allocation.get(first, 0) + odd
        return allocation

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        for entry in feedback:  # all checked before anything is learned
            if entry.venue not in self._cost:
                raise ValueError(f"{type(self).__name__} got feedback for venue "
                                 f"{entry.venue!r}; it routes to {self.venues}")
            if entry.cost_bps is not None and not math.isfinite(entry.cost_bps):
                raise ValueError(f"{type(self).__name__} got cost {entry.cost_bps!r} for venue "
                                 f"{entry.venue!r}, expected a finite number")
        self.liquidity.update(feedback)  # discounts every venue's tails once per call
        discount = self.discount
        for sums in self._cost.values():
            sums[0] *= discount
            sums[1] *= discount
        for entry in feedback:
            cost = entry.cost_bps
            most = self._most_filled
            most[entry.venue] = max(most[entry.venue], entry.filled // self.lot_size)
            if entry.filled <= 0 or cost is None:
                continue
            self._cost[entry.venue][0] += cost
            self._cost[entry.venue][1] += 1.0
