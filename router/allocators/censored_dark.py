"""Censored-feedback dark pool allocation: optimistic Kaplan–Meier tails + greedy split.

The concept (Ganchev, Kearns, Nevmyvaka and Wortman Vaughan, "Censored Exploration and the
Dark Pool Problem", UAI 2009; Communications of the ACM 53(5), 2010). Each dark pool `i`
hides a random liquidity `S_i` per episode; sending `v` units fills `min(S_i, v)`. Expected
fills of an allocation are `sum_i sum_{s=1..v_i} T_i(s)` with the tail `T_i(s) = P(S_i >= s)`,
so the `s`-th unit at pool `i` fills with probability `T_i(s)`, and because every tail is
non-increasing the greedy that gives each next unit to the pool with the largest
`T_i(v_i + 1)` is optimal (the paper's Figure 1).

The tails are learned from censored observations, in units of `lot_size` shares:

- a partial fill (`filled < sent`) reveals the liquidity exactly: `S = filled // lot`;
- a full fill (`filled == sent`, or `VenueFeedback.censored`) says only `S >= filled // lot`
  (right-censored). It is never read as "no more liquidity".

The Kaplan–Meier estimate (discrete, the paper's form): with `D_s` the weight of exact
observations at `s` and `N_s` the weight of observations that could have revealed `S == s`
(exact ones at `>= s`, censored ones at `> s`: a censored `S >= v` survives the hazards at
`0..v-1` only), `T(0) = 1` and `T(s) = prod_{u < s} (1 - D_u / N_u)`.

Optimism (the paper's `OptimisticKM` subroutine): the estimate is trusted only up to a
cutoff `c = max{s : s == 0 or N_{s-1} >= cutoff_samples}`, and beyond it the tail is held
flat at `T(c)`. Since a true tail never increases, this over-estimates the tail where data
are thin, so the greedy keeps sending units past the cutoff until observations there pin the
estimate down: exploration driven by the estimates themselves. The paper's threshold (a
polynomial in V, 1/eps and log(1/delta), needed for its convergence proof) is far too
conservative to use; here it is the parameter `cutoff_samples`. With no data a pool's tail
is flat at 1, so new pools are tried first.

A graded bonus (our extension, `bonus`; 0 gives the paper's rule exactly): where the estimate
is used, `T(u)` gets a confidence width `bonus / sqrt(N_{u-1})`, and monotonicity turns
widths into a bound on every later unit, `U(s) = min(1, min_{u <= s} T(u) + width(u))`. The
cutoff rule is the special case width = 0 or infinity. Why: with a handful of samples the
paper's rule can freeze a tail estimated at 0 (a zero-inflated pool that showed nothing n
times in a row) and never send there again; the bonus keeps such a pool in play at
`bonus / sqrt(n)`, fading as data come in.

Regime shifts (not in the paper): `window=W` keeps each pool's last `W` observations (a pool
that gets nothing keeps its old ones); `discount=g` multiplies every pool's observation
weights by `g` each episode (one `update` call = one episode), so stale data fade, a pool left
alone sees its bonus grow back and is tried again (as in discounted UCB). With forgetting,
use a small `cutoff_samples` (about 1) and let the bonus explore: a larger cutoff keeps
throwing thinly observed pools back to "flat tail" and over-explores.

Invariants and complexity: per pool, two weight arrays indexed by the observed size in lots
(length L <= the largest quantity ever sent, in lots: an observation never exceeds what was
sent). `update` is O(observations), plus O(K L) with a discount (it touches every pool);
tails are recomputed lazily, O(L) per changed pool, on the next `choose`. `choose` does not
walk the units: the greedy's picks are the V smallest keys of K sorted sequences, found by
binary search over tail values, O(K L log(K L)) whatever V is (about 0.1 ms for K = 4,
L = 1000). Ties go to the pool with fewer units so far, then to the earlier venue, so equal
estimates (e.g. no data yet) split evenly.

Known limits: liquidity is assumed independent across pools and episodes within a regime
and independent of how much is sent (no information leakage, no impact); rewards/costs in
`VenueFeedback.reward` are ignored — the objective is filled quantity, as in the paper.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from router.allocators.base import Allocation, Allocator, VenueFeedback

__all__ = ["CensoredDarkAllocator", "kaplan_meier_tail", "optimistic_tail", "greedy_allocate"]

FloatArray = npt.NDArray[np.float64]

_EPS = 1e-12  # weights below this after windowed subtraction are float residue, not data


def _at_risk(exact: FloatArray, censored: FloatArray) -> FloatArray:
    """N_s = weight of exact observations at >= s plus censored observations at > s."""
    n_exact = np.cumsum(exact[::-1])[::-1]
    n_censored = np.cumsum(censored[::-1])[::-1]
    at_risk = n_exact.copy()
    at_risk[:-1] += n_censored[1:]
    return at_risk


def kaplan_meier_tail(exact: npt.ArrayLike, censored: npt.ArrayLike) -> FloatArray:
    """The Kaplan–Meier tail `T[s] = P(S >= s)`, s = 0..L, from observation weights.

    `exact[r]` is the (possibly fractional) number of observations with `S == r`;
    `censored[r]` the number with `S >= r`. Both have length L (pad the shorter with zeros).
    Beyond the last hazard with data the estimate stays flat.
    """
    e = np.asarray(exact, dtype=np.float64)
    c = np.asarray(censored, dtype=np.float64)
    if e.shape != c.shape or e.ndim != 1:
        raise ValueError(f"exact and censored must be 1-d of one length, got {e.shape}, {c.shape}")
    if (e < 0).any() or (c < 0).any():
        raise ValueError("observation weights must be >= 0")
    at_risk = _at_risk(e, c)
    hazard = np.divide(e, at_risk, out=np.zeros_like(e), where=at_risk > 0)
    tail = np.empty(len(e) + 1)
    tail[0] = 1.0
    np.cumprod(1.0 - hazard, out=tail[1:])
    return tail


def optimistic_tail(
    exact: npt.ArrayLike, censored: npt.ArrayLike, cutoff_samples: float, bonus: float = 0.0,
) -> FloatArray:
    """An upper confidence tail from the Kaplan–Meier estimate, truncated where it goes flat.

    Each `s >= 1` gets a width `w(s)`: infinite while fewer than `cutoff_samples`
    observations are at risk at `s - 1` (none yet: `s - 1` is past the data), else
    `bonus / sqrt(N_{s-1})`. Because a true tail never increases, `T(s) <= T(u)` for every
    `u <= s`, so `U(s) = min(1, min_{u <= s} KM(u) + w(u))` bounds it from above. With
    `bonus == 0` this is exactly the paper's OptimisticKM: KM up to the cutoff `c`, flat at
    `KM(c)` beyond. Returns `U[0..c]`, read as flat at `U[c]` beyond (`greedy_allocate` does).
    """
    e = np.asarray(exact, dtype=np.float64)
    c = np.asarray(censored, dtype=np.float64)
    tail = kaplan_meier_tail(e, c)
    at_risk = _at_risk(e, c)
    thin = np.flatnonzero(at_risk < max(cutoff_samples, _EPS))  # non-increasing in s
    cutoff = int(thin[0]) if len(thin) else len(e)
    upper = tail[: cutoff + 1]
    if bonus > 0.0 and cutoff > 0:
        upper = upper.copy()
        upper[1:] += bonus / np.sqrt(at_risk[:cutoff])
        np.minimum.accumulate(upper, out=upper)
        np.minimum(upper, 1.0, out=upper)
    return upper


def greedy_allocate(tails: Sequence[npt.ArrayLike], units: int) -> tuple[list[int], int]:
    """Give `units` units one at a time to the pool with the largest next-unit tail.

    `tails[i][s]` is pool i's (estimated) `P(S_i >= s)`, non-increasing, read as flat at its
    last entry beyond its end. Unit `v_i + 1` at pool i is worth `tails[i][v_i + 1]`. Ties
    go to the pool with fewer units so far, then to the lower index. Returns the units per
    pool and the pool the next unit (number `units + 1`) would go to, for an odd lot.

    Each pool's keys `(-T_i(s), s, i)` increase with s, so the greedy's picks are just the
    `units + 1` smallest keys overall. They are found without walking the units: a binary
    search over the tail values finds the level `lam` of the last pick (everything worth
    more is taken), a second over `s` shares the units worth exactly `lam` round-robin.
    O(K log(L) log(K L)) for tails of length L, whatever `units` is.
    """
    if type(units) is not int or units < 0:
        raise ValueError(f"units was {units!r}, expected an int >= 0")
    if not tails:
        raise ValueError("greedy_allocate needs at least one pool")
    # Per pool: unit values for s = 1..c (non-decreasing once negated), flat beyond c.
    negated: list[FloatArray] = []
    flat: list[float] = []
    for i, tail in enumerate(tails):
        t = np.asarray(tail, dtype=np.float64)
        if t.ndim != 1 or len(t) == 0:
            raise ValueError(f"tails[{i}] must be a non-empty 1-d array")
        if (np.diff(t) > 0).any():
            raise ValueError(f"tails[{i}] increases somewhere; a tail never does")
        negated.append(-t[1:])
        flat.append(float(t[-1]))
    want = units + 1
    unlimited = want + max(len(n) for n in negated) + 1  # more than any pool can be given

    def at_least(lam: float) -> list[int]:  # units worth >= lam, per pool
        return [unlimited if f >= lam else int(np.searchsorted(n, -lam, side="right"))
                for n, f in zip(negated, flat)]

    def more_than(lam: float) -> list[int]:  # units worth > lam, per pool
        return [unlimited if f > lam else int(np.searchsorted(n, -lam, side="left"))
                for n, f in zip(negated, flat)]

    # The level of the last pick: the largest value with at least `want` units worth it.
    levels = np.unique(np.concatenate([-n for n in negated] + [np.array(flat)]))[::-1]
    lo, hi = 0, len(levels) - 1  # at_least(levels[-1]) is unlimited: every flat part >= it
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(at_least(float(levels[mid]))) >= want:
            hi = mid
        else:
            lo = mid + 1
    lam = float(levels[lo])
    above, upto = more_than(lam), at_least(lam)  # `above` is finite: fewer than `want`
    rest = want - sum(above)
    # Units worth exactly lam: pool i has s in (above[i], upto[i]]; take them by (s, i).
    # Find the smallest s_last with at least `rest` such units at s <= s_last.
    lo, hi = 1, max(above) + rest
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(max(0, min(u, mid) - a) for a, u in zip(above, upto)) >= rest:
            hi = mid
        else:
            lo = mid + 1
    counts = [a + max(0, min(u, lo - 1) - a) for a, u in zip(above, upto)]
    rest -= sum(counts) - sum(above)
    last = -1
    for i, (a, u) in enumerate(zip(above, upto)):
        if rest and a < lo <= u:  # pools with a unit worth lam at s_last, by index
            counts[i] += 1
            rest -= 1
            last = i
    counts[last] -= 1  # the want-th pick is the next unit, not part of this allocation
    return counts, last


class _Pool:
    """Observation weights of one pool: `exact[r]` (S == r), `censored[r]` (S >= r), and,
    with a window, its last observations as (episode, exact?, units), oldest first."""

    __slots__ = ("exact", "censored", "recent", "tail")

    def __init__(self) -> None:
        self.exact: FloatArray = np.zeros(16)
        self.censored: FloatArray = np.zeros(16)
        self.recent: deque[tuple[int, bool, int]] = deque()
        self.tail: FloatArray | None = None  # None = stale, recompute on demand

    def add(self, is_exact: bool, units: int, weight: float) -> None:
        if units >= len(self.exact):
            size = max(2 * len(self.exact), units + 1)
            self.exact = np.concatenate([self.exact, np.zeros(size - len(self.exact))])
            self.censored = np.concatenate([self.censored, np.zeros(size - len(self.censored))])
        target = self.exact if is_exact else self.censored
        value = target[units] + weight
        target[units] = value if value > _EPS else 0.0
        self.tail = None


class CensoredDarkAllocator(Allocator):
    """Optimistic Kaplan–Meier dark pool allocation (Ganchev et al. 2009/2010), with optional
    forgetting for regime shifts.

    Parameters:
        lot_size: shares per unit; allocations are whole lots, plus any odd remainder of the
            slice (`quantity % lot_size` shares) at the pool the next lot would have gone to.
        cutoff_samples: observations needed at risk at `s - 1` before the estimate of the tail
            at `s` is used at all; beyond, the tail is held flat (the paper's optimism).
        bonus: confidence width `bonus / sqrt(N_{s-1})` added where the estimate is used
            (0: the paper's rule exactly). Larger = more exploration.
        window: keep only each pool's last `window` observations (None: all). A pool that
            gets nothing keeps what it had.
        discount: each episode, multiply every pool's observation weights by this (1: none).
            A pool that gets nothing loses weight, so its optimism grows back and it is
            tried again.

    The defaults (cutoff 4, bonus 0.4, no forgetting) come from bench/dark_allocation.py and
    were checked on two other sets of pools; for regime shifts that bench uses
    `cutoff_samples=1, bonus=0.5, discount=0.98` (a memory of about 50 episodes). The
    allocator is deterministic: `rng` is kept for the interface, never drawn from.
    """

    def __init__(
        self, venues: Sequence[str], rng: np.random.Generator, *, lot_size: int = 1,
        cutoff_samples: float = 4.0, bonus: float = 0.4, window: int | None = None,
        discount: float = 1.0,
    ) -> None:
        super().__init__(venues, rng)
        if type(lot_size) is not int or lot_size < 1:
            raise ValueError(f"lot_size was {lot_size!r}, expected an int >= 1")
        if not cutoff_samples >= 0:
            raise ValueError(f"cutoff_samples was {cutoff_samples!r}, expected >= 0")
        if not bonus >= 0:
            raise ValueError(f"bonus was {bonus!r}, expected >= 0")
        if window is not None and (type(window) is not int or window < 1):
            raise ValueError(f"window was {window!r}, expected None or an int >= 1")
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount was {discount!r}, expected in (0, 1]")
        self.lot_size = lot_size
        self.cutoff_samples = float(cutoff_samples)
        self.bonus = float(bonus)
        self.window = window
        self.discount = float(discount)
        self.episode = 0  # update calls so far
        self._index = {name: i for i, name in enumerate(self.venues)}
        self._pools = [_Pool() for _ in self.venues]

    def tail(self, venue: str) -> FloatArray:
        """The optimistic tail `U[0..c]` of `venue` in lots (flat at `U[c]` beyond)."""
        pool = self._pools[self._venue_index(venue)]
        if pool.tail is None:
            pool.tail = optimistic_tail(pool.exact, pool.censored, self.cutoff_samples,
                                        self.bonus)
        return pool.tail

    def observations(self, venue: str) -> tuple[FloatArray, FloatArray]:
        """Copies of `venue`'s current (exact, censored) observation weights, by lots."""
        pool = self._pools[self._venue_index(venue)]
        return pool.exact.copy(), pool.censored.copy()

    def choose(
        self, quantity: int, venues: Sequence[str] | None = None,
        context: Sequence[float] | None = None,
    ) -> Allocation:
        if type(quantity) is not int or quantity < 0:
            raise ValueError(f"quantity was {quantity!r}, expected an int >= 0")
        allowed = self.venues if venues is None else list(venues)
        for name in allowed:
            self._venue_index(name)
        if len(set(allowed)) != len(allowed):
            raise ValueError(f"allowed venues repeat: {allowed}")
        if not allowed:
            return {}
        units, odd = divmod(quantity, self.lot_size)
        lots, next_pool = greedy_allocate([self.tail(name) for name in allowed], units)
        shares = [n * self.lot_size for n in lots]
        shares[next_pool] += odd
        return dict(zip(allowed, shares))

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        observed: list[tuple[int, bool, int]] = []
        for fb in feedback:
            i = self._venue_index(fb.venue)
            if not 0 <= fb.filled <= fb.sent:
                raise ValueError(f"{fb.venue}: filled {fb.filled} of {fb.sent} sent, expected "
                                 "0 <= filled <= sent")
            filled, sent = fb.filled // self.lot_size, fb.sent // self.lot_size
            # Exact only if the pool could have filled one more lot than it did: a partial
            # fill inside the last (odd) lot says nothing about the next whole lot.
            is_exact = not fb.censored and fb.filled < fb.sent and filled < sent
            if is_exact or filled > 0:  # censored at 0 carries no information
                observed.append((i, is_exact, filled))
        self.episode += 1
        if self.discount < 1.0:
            for pool in self._pools:
                pool.exact *= self.discount
                pool.censored *= self.discount
                pool.tail = None
        for i, is_exact, filled in observed:
            pool = self._pools[i]
            pool.add(is_exact, filled, 1.0)
            if self.window is not None:
                pool.recent.append((self.episode, is_exact, filled))
                if len(pool.recent) > self.window:
                    then, old_exact, old_filled = pool.recent.popleft()
                    pool.add(old_exact, old_filled, -self.discount ** (self.episode - then))

    def _venue_index(self, venue: str) -> int:
        try:
            return self._index[venue]
        except KeyError:
            raise ValueError(f"unknown venue {venue!r}; known: {self.venues}") from None
