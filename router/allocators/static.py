"""Static baselines: allocations that do not learn from fills.

- `LitOnly` -- everything to the lit venues: all of it to `primary` when that venue is
  offered, else split equally over the offered venues listed in `lit` (default: every venue
  the allocator was built with is lit).
- `ProRataDisplayed` -- split in proportion to each offered venue's displayed size. The
  sizes come from market data through `observe_displayed(venue, size)` (the router calls it
  on each L1 update; `displayed=` seeds them). The `context` argument of `choose` is not
  used: it is a feature vector with no venue names. With nothing displayed at any offered
  venue it splits equally, so a slice is never dropped. With `at_best_price` it splits
  only over the offered venues showing the best price (the router reports each touch
  through `observe_touch`): a static router that sprays the NBBO, as a broker's simplest
  SOR does, instead of sending size to venues whose takes are pinned at a better NBBO
  and mostly miss.
- `FixedWeights` -- split in proportion to fixed `weights` (venue -> weight >= 0; venues
  left out weigh 0), renormalised over the offered venues.

Splitting. Shares are integers: each venue gets floor(q * w / W) and the shares left over
go one each to the largest fractional parts (ties: the allocator's venue order), so the
allocation always sums to exactly q. Venues whose share is 0 are left out. Integer weights
(displayed sizes, equal splits) are split in exact integer arithmetic.

All three raise if no offered venue can take anything (lit-only offered no lit venue;
fixed weights all 0 over the offered venues): a silent empty allocation would stall a
parent order. `update` ignores feedback. O(K) per `choose`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from market.messages import Side
from router.allocators.base import Allocation, Allocator, VenueFeedback

__all__ = ["LitOnly", "ProRataDisplayed", "FixedWeights", "split_pro_rata"]


def split_pro_rata(quantity: int, weights: Sequence[tuple[str, float]]) -> dict[str, int]:
    """`quantity` shares over (venue, weight) pairs by largest remainder; zeros left out.

    The weights must be >= 0 with a positive sum; ties in the remainder go to the pair
    listed first.
    """
    total = sum(weight for _, weight in weights)
    if not total > 0:
        raise ValueError(f"cannot split by weights summing to {total!r}: {list(weights)}")
    exact = all(isinstance(weight, int) for _, weight in weights)
    shares: list[int] = []
    remainders: list[float] = []
    for _, weight in weights:
        if exact:
            share, rest = divmod(quantity * int(weight), int(total))
            shares.append(share)
            remainders.append(rest / total)
        else:
            ideal = quantity * weight / total
            share = min(math.floor(ideal), quantity)
            shares.append(share)
            remainders.append(ideal - share)
    left = quantity - sum(shares)
    if left < 0:  # float rounding pushed a floor past its true value: take it back
        for i in sorted(range(len(shares)), key=lambda i: remainders[i]):
            take = min(-left, shares[i])
            shares[i] -= take
            left += take
            if left == 0:
                break
    for i in sorted(range(len(shares)), key=lambda i: -remainders[i])[:left]:
        shares[i] += 1
    return {venue: share for (venue, _), share in zip(weights, shares) if share > 0}


class _Static(Allocator):
    """Shared checks of the static baselines."""

    def _offered(self, quantity: int, venues: Sequence[str] | None) -> list[str] | None:
        """The offered venues in the allocator's order; None when quantity is 0."""
        if quantity <= 0:
            if quantity == 0:
                return None
            raise ValueError(f"quantity was {quantity}, expected >= 0")
        if venues is None:
            return self.venues
        known = set(self.venues)
        for venue in venues:
            if venue not in known:
                raise ValueError(f"{type(self).__name__} was offered venue {venue!r}; it was "
                                 f"built for {self.venues}")
        offered = set(venues)
        if not offered:
            raise ValueError(f"{type(self).__name__} was offered no venue")
        return [venue for venue in self.venues if venue in offered]

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        """Static: nothing to learn."""


class LitOnly(_Static):
    """Everything to `primary` if offered, else split equally over the offered lit venues."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *,
        lit: Sequence[str] | None = None, primary: str | None = None,
    ) -> None:
        super().__init__(venues, rng)
        self.lit = list(self.venues) if lit is None else list(lit)
        unknown = [venue for venue in self.lit if venue not in self.venues]
        if unknown:
            raise ValueError(f"lit venues {unknown} are not among the venues {self.venues}")
        if not self.lit:
            raise ValueError("lit was empty, expected at least one lit venue")
        if primary is not None and primary not in self.lit:
            raise ValueError(f"primary was {primary!r}, expected one of the lit venues "
                             f"{self.lit}")
        self.primary = primary
        self._lit = set(self.lit)

    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        offered = self._offered(quantity, venues)
        if offered is None:
            return {}
        lit = [venue for venue in offered if venue in self._lit]
        if not lit:
            raise ValueError(f"LitOnly was offered no lit venue: offered {offered}, lit "
                             f"{self.lit}")
        primary = self.primary
        if primary is not None and primary in lit:
            return {primary: quantity}
        return split_pro_rata(quantity, [(venue, 1) for venue in lit])


class ProRataDisplayed(_Static):
    """Split in proportion to the displayed size last observed at each offered venue."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *,
        displayed: Mapping[str, int] | None = None, at_best_price: bool = False,
    ) -> None:
        super().__init__(venues, rng)
        if not isinstance(at_best_price, bool):
            raise ValueError(f"at_best_price was {at_best_price!r}, expected true or false")
        self.at_best_price = at_best_price
        self.displayed = dict.fromkeys(self.venues, 0)
        self.price: dict[str, int] = {}  # venue -> its touch on our side, signed: lower is better
        for venue, size in (displayed or {}).items():
            self.observe_displayed(venue, size)

    def observe_touch(self, venue: str, side: Side, price: int | None, size: int) -> None:
        """The router's hook: `venue`'s touch on the side we take; kept only with
        `at_best_price` (the router calls it on every L1 update)."""
        if self.at_best_price and venue in self.displayed:
            if price is None:
                self.price.pop(venue, None)
            else:
                self.price[venue] = price if side is Side.BUY else -price

    def observe_displayed(self, venue: str, size: int) -> None:
        """Record the size (shares, >= 0) now displayed at `venue`."""
        if venue not in self.displayed:
            raise ValueError(f"ProRataDisplayed got a displayed size for venue {venue!r}; "
                             f"it was built for {self.venues}")
        if type(size) is not int or size < 0:
            raise ValueError(f"displayed size at {venue!r} was {size!r}, expected an int >= 0")
        self.displayed[venue] = size

    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        offered = self._offered(quantity, venues)
        if offered is None:
            return {}
        sizes = [(venue, self.displayed[venue]) for venue in offered]
        if self.at_best_price:
            known = [self.price[venue] for venue, size in sizes if size and venue in self.price]
            if known:
                best = min(known)
                sizes = [(venue, size) for venue, size in sizes if self.price.get(venue) == best]
        if not any(size for _, size in sizes):
            sizes = [(venue, 1) for venue in offered]
        return split_pro_rata(quantity, sizes)


class FixedWeights(_Static):
    """Split in proportion to fixed `weights`, renormalised over the offered venues."""

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, weights: Mapping[str, float],
    ) -> None:
        super().__init__(venues, rng)
        unknown = [venue for venue in weights if venue not in self.venues]
        if unknown:
            raise ValueError(f"weights name venues {unknown} that are not among the venues "
                             f"{self.venues}")
        for venue, weight in weights.items():
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                raise ValueError(f"weights[{venue!r}] was {weight!r}, expected a finite "
                                 "number >= 0")
        if not sum(weights.values()) > 0:
            raise ValueError(f"weights were {dict(weights)}, expected a positive sum")
        self.weights = {venue: weights.get(venue, 0) for venue in self.venues}

    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        offered = self._offered(quantity, venues)
        if offered is None:
            return {}
        pairs = [(venue, self.weights[venue]) for venue in offered]
        if not sum(weight for _, weight in pairs) > 0:
            raise ValueError(f"FixedWeights has zero weight on every offered venue {offered}")
        return split_pro_rata(quantity, pairs)
