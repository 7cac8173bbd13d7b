"""Routing quality on the regime-shift scenarios of the library, not just that they run.

Each regime-shift file of `scenarios/library/` is run on the fixed seeds `SEEDS` with its
own (adaptive) allocator and with the static baselines in its place: lit-only (an even split
over the router's lit venues), pro-rata on displayed size, the same over only the venues at
the best price, fixed even weights over all the router's venues, and, where there are two
dark pools, the dark-heavy fixed weights of the regime-shift study (`scenarios.baselines`).
The best static is the one with the lowest mean shortfall over the seeds, chosen after the
fact. (The fee change, whose edge is a few hundredths of a bp, is also compared with its
best static on 200 more seeds: see its test.) Shortfall is the implementation shortfall of
the parent against the arrival mid in bps, price and fees, plus the opportunity cost of
anything left unfilled (`router.tca`).

Why 40 seeds: two routers on one seed differ by 0.2-0.8 bp (the standard deviation of the
paired difference: a router's own orders change the market's path), and what routing saves
on a regime shift is a tenth of a bp to a few tenths. Forty seeds put the standard error of
the mean difference at 0.04-0.13 bp. A claim about one run ("moves off within N slices")
is asserted on a stated share of the seeds, not every one: over forty seeds a rule that
holds on 97 of 100 tuning seeds fails somewhere about two times in three.

"Moved off" a venue: the first window of `WINDOW` of the allocator's own slices after the
shift (clean-up and catch-up slices are the router's, not the allocator's) in which the
venue got less than `SHARE` of the shares allocated; its index is the number of slices the
allocator took. The bounds and shares below were set on other seeds (1000-1099), before
these seeds were run; each test's docstring says where its assertion comes from.

Where the adaptive router does not beat the best static, the test says so and asserts
what does hold (a bound on how much it gives up), so that a change making it worse fails.

About nine minutes on two cores: each file's runs (its own router and every static, on every
seed) are spread over `JOBS` processes and kept for the module (`scenarios.routing_quality`).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from functools import cache

import pytest

from market.messages import Side
from router.reward import FillCost
from router.smart_order_router import SliceRecord
from scenarios.baselines import static_baselines
from scenarios.routing_quality import (RoutingRun, library_scenario, run_routing_many,
                                       sent_costs)
from scenarios.statistics import Interval, mean_interval

S = 1_000_000_000
SEEDS = tuple(range(1, 41))  # fixed before any of these runs; the tuning used 1000-1099
JOBS = min(2, os.cpu_count() or 1)
WINDOW = 10
SHARE = 0.10
LIT = ["LIT1", "LIT2", "LIT3"]
FEE_CHANGE_SEEDS = tuple(range(1, 241))  # see its test; 41-240 were first run there


class Study:
    """One library file run on `seeds` with its own allocator and every static baseline."""

    def __init__(self, name: str, seeds: Sequence[int] = SEEDS, jobs: int = JOBS) -> None:
        self.name = name
        self.seeds = tuple(seeds)
        self.statics = list(static_baselines(library_scenario(name)))
        self.runs = run_routing_many(name, [None, *self.statics], self.seeds, jobs)

    def run(self, allocator: str | None, seed: int) -> RoutingRun:
        return self.runs[allocator, seed]

    def mean_shortfall(self, allocator: str | None) -> float:
        return statistics.fmean(self.run(allocator, seed).shortfall_bps for seed in self.seeds)

    def best_static(self) -> str:
        """The static baseline with the lowest mean shortfall, chosen after the fact."""
        return min(self.statics, key=self.mean_shortfall)

    def against_best_static(self) -> Interval:
        """The adaptive router's shortfall minus the best static's, paired by seed: mean and
        95% t-interval (bps; negative = the adaptive router is cheaper)."""
        best = self.best_static()
        return mean_interval(self.run(None, seed).shortfall_bps - self.run(best, seed).shortfall_bps
                             for seed in self.seeds)


@cache
def _study(name: str) -> Study:
    return Study(name)


def share(records: Sequence[SliceRecord], venue: str) -> float:
    sent = sum(sum(r.allocation.values()) for r in records)
    return sum(r.allocation.get(venue, 0) for r in records) / sent if sent else 0.0


def slices_to_move_off(run: RoutingRun, venue: str, shift_s: float) -> int | None:
    after = [r for r in run.slices if r.t_ns >= shift_s * S]
    for i in range(len(after) - WINDOW + 1):
        if share(after[i:i + WINDOW], venue) < SHARE:
            return i
    return None


def filled_after(run: RoutingRun, venue: str, after_s: float) -> int:
    return sum(f.quantity for f in run.fills if f.venue == venue and f.t_ns >= after_s * S)


def fills_cost_vs_mid_bps(run: RoutingRun, venue: str, after_s: float) -> float | None:
    """The router's fills at `venue` after `after_s`: price against the lit mid at the fill,
    bps (+ = paid above the mid, for a buy), fees excluded; None without such fills."""
    sign = 1.0 if run.side == "buy" else -1.0
    quantity = total = 0.0
    for fill, mid in zip(run.fills, run.fill_mids):
        if fill.venue != venue or fill.t_ns < after_s * S or mid is None:
            continue
        quantity += fill.quantity
        total += fill.quantity * sign * (fill.price - mid) / mid * 1e4
    return total / quantity if quantity else None


def slices_to_cut_share(run: RoutingRun, venues: Sequence[str], shift_s: float,
                        end_s: float | None = None, to: float = 0.5) -> tuple[int | None, float]:
    """(slices after the shift until the first window of `WINDOW` of the allocator's slices
    in which `venues` together got less than `to` times their share before the shift (half,
    by default), None if never before `end_s`; that share before)."""
    before = [r for r in run.slices if r.t_ns < shift_s * S]
    base = sum(share(before, v) for v in venues)
    after = [r for r in run.slices
             if r.t_ns >= shift_s * S and (end_s is None or r.t_ns < end_s * S)]
    for i in range(len(after) - WINDOW + 1):
        if sum(share(after[i:i + WINDOW], v) for v in venues) < to * base:
            return i, base
    return None, base


def share_of_seeds(outcomes: Sequence[bool]) -> float:
    return sum(outcomes) / len(outcomes) if outcomes else 0.0


def assert_beats_best_static(study: Study) -> None:
    """On average over the seeds, the adaptive router costs less than the best static."""
    interval = study.against_best_static()
    assert interval.mean is not None and interval.mean < 0, (study.best_static(), interval)


# --- a dark pool dries up ---------------------------------------------------------------------


def test_dark_pool_dries_up_adaptive_moves_off_within_30_slices_and_beats_best_static() -> None:
    """DARK1, the best pool, has no liquidity left after 60 s. The guarded dark-first
    allocator must take its dark flow elsewhere within 30 slices of the shift (the
    regime-shift study's stated bound) on at least 90% of the seeds where it used the pool
    while it was good (more than 0.3 of its flow before the shift; that it did so on at least
    80% of all seeds is asserted too), and cost less than the best static baseline on
    average over the seeds. Tuning seeds 1000-1099: it used the pool on 91 of 100 (on the
    others 0.09-0.29 of its flow), moved off within 30 slices on 89 of those 91 (33 slices on
    one, never on the other), and cost 0.10 bp less than the dark-heavy fixed weights, 95% CI
    [0.06, 0.15], cheaper on 75 of 100. These seeds: used on 37 of 40, moved off within 30
    slices on 36 of those (34 on one), and 0.02 bp cheaper, 95% CI [-0.03, +0.07], on 25 of
    40: beats on average, by less than the tuning seeds said."""
    study = _study("dark_pool_dries_up")
    used = {seed: share([r for r in study.run(None, seed).slices if r.t_ns < 60 * S], "DARK1")
            > 0.3 for seed in study.seeds}
    assert share_of_seeds(list(used.values())) >= 0.8, used
    moved = {seed: slices_to_move_off(study.run(None, seed), "DARK1", 60)
             for seed in study.seeds if used[seed]}
    assert share_of_seeds([m is not None and m <= 30 for m in moved.values()]) >= 0.9, moved
    assert_beats_best_static(study)


# --- a dark pool turns toxic --------------------------------------------------------------------


def test_dark_pool_turns_toxic_adaptive_moves_off_when_toxic_and_beats_best_static() -> None:
    """DARK1's reference stalls at 60 s and latency arbitrageurs pick off whoever rests at
    its stale mid. For a buyer that is toxic when the price falls after the stall (its
    fills are then above the market) and a windfall when it rises, so "degraded" is read
    from a seed's own market: the dark-heavy static's DARK1 fills after the shift cost it
    more than the lit mid. On at least 90% of such seeds the guarded dark-first allocator
    must move off DARK1 within 40 slices (the study's stated bound), and over them together
    fill at most half as many shares there after the shift as the static; on average over
    the seeds it must cost less than the best static baseline. Tuning seeds 1000-1099: 56
    degraded, moved off within 40 slices on all 56 (34 at most), 151,400 DARK1 shares
    filled after the shift against the static's 510,800 (under half on 48 of the 56 seeds
    taken one by one), and 0.43 bp cheaper than the dark-heavy fixed weights, 95% CI [0.24,
    0.63], cheaper on 68 of 100. These seeds: 21 degraded, moved off within 40 slices on
    all 21, 60,100 shares against 194,700, and 0.57 bp cheaper, 95% CI [0.09, 1.06]."""
    study = _study("dark_pool_turns_toxic")
    moved_off, own_filled, static_filled = [], 0, 0
    for seed in study.seeds:
        own, static = study.run(None, seed), study.run("fixed-dark-heavy", seed)
        cost = fills_cost_vs_mid_bps(static, "DARK1", 60)
        assert cost is not None, seed
        if cost > 0:
            moved = slices_to_move_off(own, "DARK1", 60)
            moved_off.append(moved is not None and moved <= 40)
            own_filled += filled_after(own, "DARK1", 60)
            static_filled += filled_after(static, "DARK1", 60)
    assert len(moved_off) >= 5  # the seeds do exercise the toxic case
    assert share_of_seeds(moved_off) >= 0.9, moved_off
    assert own_filled <= static_filled / 2, (own_filled, static_filled)
    assert_beats_best_static(study)


# --- the cost-based allocator's scenarios ------------------------------------------------------
#
# The five files below route with the cost-based splitting allocator (`router/allocators/
# cost_based.py`): every slice split over the venues by learned cost per share, learned
# liquidity and the lit touches now. Its parameters are the defaults; they and the files'
# settings were chosen on seeds 1000-1011 (`python bench/library_routing.py NAME --seeds 12`).
# Every router's takes obey order protection (`router.tactics`), the statics' included, and
# a static that splits over the venues at the best price only (`pro-rata-at-nbbo`) is among
# the baselines. On those twelve seeds the paired difference to the best static was (bps,
# 95% CI): fee change -0.07 [-0.15, +0.01], latency spike -0.14 [-0.24, -0.04], SDP last look
# -0.32 [-0.45, -0.19], market makers withdraw -0.02 [-0.32, +0.27], volatility spike +0.12
# [-0.26, +0.49]: intervals a few tenths wide, because two routers on one seed differ by
# 0.2-0.8 bp. On seeds 1000-1099 (`python bench/library_routing.py NAME --seeds 100`, the
# same runs as these tests' `Study` on those seeds) they are: fee change -0.10 [-0.14, -0.05]
# (cheaper on 65 of 100), latency spike -0.10 [-0.15, -0.04] (68), SDP last look -0.16
# [-0.26, -0.07] (66), market makers withdraw -0.12 [-0.26, +0.03] (64), volatility spike
# -0.05 [-0.24, +0.13] (52); the last three since the router declines dealer quotes beyond
# the NBBO (before: -0.30, -0.36 and +0.04). Until this module ran 40 seeds it ran four
# (1-4), too few to tell a tenth of a bp from noise: the latency spike asserted a bound then,
# and beats now; the fee change asserted a bound until it was judged on 240 seeds.


def test_fee_change_adaptive_moves_off_lit2_within_25_slices() -> None:
    """At 45 s LIT2's taker fee goes from a 10-tick rebate to a 40-tick charge and LIT1's
    from 30 to 5: LIT2 turns from the cheapest lit venue to take from into the dearest, by
    0.35 bp a share or more at equal prices. On at least 90% of the seeds the cost-based
    allocator halves LIT2's share within 25 slices (tuning, 1000-1099: within 22 on 97 of
    100, and never on the other three: by its rules it still takes at LIT2 when LIT2 alone
    shows the best price or the size shown at LIT1 and LIT3 is used up; these seeds: within
    17 on all 40)."""
    study = _study("fee_change")
    halved = {}
    for seed in study.seeds:
        moved, base = slices_to_cut_share(study.run(None, seed), ["LIT2"], 45)
        halved[seed] = base >= 0.1 and moved is not None and moved <= 25
    assert share_of_seeds(list(halved.values())) >= 0.9, halved


def test_fee_change_adaptive_beats_best_static_over_240_seeds() -> None:
    """What the fee change lets routing save is a few hundredths of a bp: the fees it can
    save are capped by the cheap venues' displayed size (a price one cent worse is 1 bp,
    against 0.35 bp of fee). Forty seeds measure a mean to about 0.04 bp, so this claim
    is judged on `FEE_CHANGE_SEEDS` (1-240): the best static is chosen on seeds 1-40 among
    all of them (`Study`), and the cost-based allocator must cost less than it on average
    over all 240 seeds, paired by seed.

    History. On seeds 1-40 alone "beats" was asserted before they were run and failed:
    +0.02 bp, 95% CI [-0.06, +0.11], against pro-rata-at-NBBO, where the tuning seeds
    1000-1099 gave -0.10 [-0.14, -0.05] and seeds 2000-2099, run after that failure,
    -0.05 [-0.10, -0.01]. This test was then written, and its figure below measured only
    afterwards, on seeds 41-240 never run before (expected: a standard deviation of the
    paired difference of 0.23-0.26 bp on 100 seeds, so a mean measured to about 0.02 bp).
    Until then the test asserted a bound (at most 0.3 bp more than the best static).
    Measured: -0.05 bp, 95% CI [-0.09, -0.01], cheaper on 139 of 240, against
    pro-rata-at-NBBO (seeds 41-240 alone: -0.06 [-0.11, -0.02]); the standard deviation was
    0.32 bp, so the mean is known to about 0.02 bp, two and a half standard errors from 0."""
    study = _study("fee_change")
    best = study.best_static()
    extra = [seed for seed in FEE_CHANGE_SEEDS if seed not in study.seeds]
    runs = {**study.runs, **run_routing_many("fee_change", [None, best], extra, JOBS)}
    interval = mean_interval(runs[None, seed].shortfall_bps - runs[best, seed].shortfall_bps
                             for seed in FEE_CHANGE_SEEDS)
    assert interval.mean is not None and interval.mean < 0, (best, interval)


def test_sdp_last_look_tightening_sdp1_fills_less_and_adaptive_beats_best_static() -> None:
    """SDP1 streams at or inside the lit touch, with no fee. From 45 s it holds accepts for
    250 ms and rejects on any adverse move: its fill rate falls for the even static split on
    at least 70% of the seeds (tuning, 1000-1099: RFQs filled 0.62 before, 0.40 after, lower
    on 82 of 100; the shares of a quote the router declined as beyond the NBBO count as
    sent and not filled, see `router.tactics`; `SentCost.fill_rate`), and the cost-based
    allocator costs less than the best static on average (tuning: -0.16 bp, 95% CI [-0.26,
    -0.07], cheaper on 66 of 100, against the even fixed weights).

    Not asserted: that it moves off SDP1, because SDP1 does not get dearer. Per share sent
    (a filled share at its price against the decision mid plus fees, a missed one at the
    mid's move until the next slice: `scenarios.routing_quality.SentCost`) it cost the even
    split -0.04 bp before the shift and -0.14 after, against 0.23 to 0.64 at the other
    venues (tuning seeds,
    `python bench/library_routing.py sdp_last_look_tightening --seeds 100`; before the bench
    printed it, a scratch script's per-seed means gave -0.06 and -0.18): the router takes
    only quotes at or inside the NBBO, so last look costs it fills, not price. A longer hold
    does not change that: with 1 s or 2 s instead of 250 ms SDP1 still cost the even split
    -0.04 and -0.03 a share sent after the shift, the others 0.45 (a scratch run on the
    tuning seeds). The allocator raises SDP1's share a little (0.29 before, 0.33 after). A
    dealer that pre-hedges during the hold does not change it either (a scratch prototype,
    not kept: its desk bought the client's size at the lit touch as an accept entered the
    hold, and sold a rejected one back 1 s later): on the tuning seeds SDP1 then cost the
    even split +0.06 bp a share sent after the shift instead of -0.14, still the cheapest
    venue, and neither the allocator (397,000 shares sent to SDP1 after the shift; 380,400
    without the hedge) nor a prototype of it that also charged each venue the mid's move
    after its misses (366,800) moved off. Before the router declined quotes beyond the NBBO,
    SDP1 did get dearer (the even split: 0.79 -> 1.02 bp a share sent), 52% of that split's
    SDP1 shares were bought above the NBBO's ask at the fill's time (seeds 1000-1005), and
    the allocator did not move off either (0.24 -> 0.24)."""
    study = _study("sdp_last_look_tightening")
    lower = []
    for seed in study.seeds:
        even = study.run("fixed-even", seed)
        before = sent_costs(even.slices, even.side, 0, 45 * S)["SDP1"].fill_rate
        after = sent_costs(even.slices, even.side, 45 * S)["SDP1"].fill_rate
        assert before is not None and after is not None, seed
        lower.append(after < before)
    assert share_of_seeds(lower) >= 0.7, lower
    assert_beats_best_static(study)


def test_volatility_spike_dark1_gets_dear_adaptive_cuts_its_share_within_15_slices() -> None:
    """While volatility is high (45 s to 75 s) the venue that gets dear is the dark pool. A
    midpoint peg re-prices with the mid, so in a fast market it fills wherever the mid has
    gone since the decision, while a lit take is limited at the touch it saw: the even
    split's DARK1 fills were 0.37 bp below the decision mid during the spike for this
    seller, against 0.03 before (tuning seeds), and its misses cost 0.36 a share sent
    against 0.10. Per share sent (`scenarios.routing_quality.SentCost`), DARK1 cost the even
    static split 0.25 bp before the spike and 0.74 during it, dearer on 75 of the tuning
    seeds 1000-1099 (`python bench/library_routing.py volatility_spike --seeds 100`: after
    45 s DARK1 is the dearest venue, 0.76 bp, against -0.09 to +0.19 for the others).

    On the seeds where the even split's DARK1 cost more during the spike than before and
    where the cost-based allocator used the pool (more than 0.1 of its flow before), it must
    cut DARK1's share below two thirds of its share before within 15 slices on at least 70%
    of them (tuning: on 63 of 72; set there before these seeds were run; these seeds: on 23
    of 28, where the even split's DARK1 cost 0.26 bp before and 1.76 during). It cuts the
    share by about a third (0.34 before, 0.25 during, tuning means), not to nothing, and
    still fills more there than the even split (tuning: 117,300 shares during the spike
    against 95,300): it learns a fill's cost against the far touch at the decision, with no
    markout in this file, and against the touch, which widens in the spike, its own pool
    fills are still a little cheaper (0.04 bp inside it during the spike, 0.46 before)."""
    study = _study("volatility_spike")
    cut = []
    for seed in study.seeds:
        even = study.run("fixed-even", seed)
        before = sent_costs(even.slices, even.side, 0, 45 * S).get("DARK1")
        during = sent_costs(even.slices, even.side, 45 * S, 75 * S).get("DARK1")
        if before is None or during is None:
            continue
        cost_before, cost_during = before.per_share_bps, during.per_share_bps
        if cost_before is None or cost_during is None or cost_during <= cost_before:
            continue
        moved, base = slices_to_cut_share(study.run(None, seed), ["DARK1"], 45, end_s=75,
                                          to=2 / 3)
        if base > 0.1:
            cut.append(moved is not None and moved <= 15)
    assert len(cut) >= 5, cut  # the seeds do exercise the case
    assert share_of_seeds(cut) >= 0.7, cut


def test_volatility_spike_adaptive_completes_within_03_bp_of_best_static() -> None:
    """From 45 s to 75 s the fundamental's volatility quadruples, news jumps arrive every
    20 s, and SDP1 quotes four times wider (dealers widen in a fast market). The cost-based
    allocator fills 99% of the parent on average (under 99% on 6 of the 100 tuning seeds,
    1000-1099) and costs at most 0.3 bp more than the best static on average (about two
    standard errors above the tuning mean for 40 seeds).

    It does not beat the best static here: tuning -0.05 bp, 95% CI [-0.24, +0.13], cheaper on
    52 of 100, against the even fixed weights (these seeds: -0.10 [-0.26, +0.07] against
    pro-rata). The move asserted is off DARK1 (the test above); a move off SDP1 is not: the router
    takes only dealer quotes at or inside the NBBO (`router.tactics`), so a dealer that
    widens fills less but costs no more (per share sent, as in the last-look test: SDP1 0.13
    bp before the shift and -0.09 after for the even split, filling 0.31 then 0.04 of what it
    was sent; the lit venues 0.40-0.66 before and -0.01 to 0.19 after; DARK1 0.25 and 0.76),
    and the allocator keeps asking it: it halved SDP1's share within 12 slices on 38 of the
    83 seeds where SDP1 had 5% or more. Until the router declined quotes beyond the NBBO,
    taking the widened dealer's price was dear, and it did halve SDP1's share within 12
    slices on 62 of 64 seeds; the even split then paid 0.51 bp more than it does now.

    Variants of the allocator tried on seeds 1000-1099 before that change, none better: a
    higher `delay_cost_bps` (1 or 3), a faster `discount` (0.8), a 1 s markout (+0.07 to
    +0.15 bp against the best static, against +0.04 as it was)."""
    study = _study("volatility_spike")
    assert statistics.fmean(study.run(None, seed).fill_rate for seed in study.seeds) >= 0.99
    interval = study.against_best_static()
    assert interval.mean is not None and interval.mean <= 0.3, (study.best_static(), interval)


def test_market_makers_withdraw_adaptive_leaves_lit_within_10_slices_beats_best_static() -> None:
    """From 40 s to 70 s the market makers quote nowhere: every lit venue degrades at once
    (spreads widen, the touch is left to noise traders), while the dark pool and the dealer
    price off the NBBO mid and keep their own spreads. The cost-based allocator's lit share
    while the makers are away is below its lit share before, on average over the seeds and
    on at least 70% of them (tuning, 1000-1099: 0.48 before, 0.29 during, lower on 84 of
    100), and it costs less than the best static on average (tuning: -0.12 bp, 95% CI
    [-0.26, +0.03], cheaper on 64 of 100, against the even fixed weights; -0.36 before the
    router declined dealer quotes beyond the NBBO, which the even split used to take). (The
    file's schedule is a TWAP: with a POV schedule under a participation cap, each run's
    unfilled remainder moved its shortfall by more than routing does.)

    And how soon: on at least 70% of the seeds the lit venues together get less than two
    thirds of their share before within 10 slices of the makers leaving (the allocator takes
    30 slices while they are away; tuning: on 81 of 100, set before these seeds were run;
    these seeds: on 33 of 40)."""
    study = _study("market_makers_withdraw")
    before: list[float] = []
    during: list[float] = []
    soon: list[bool] = []
    for seed in study.seeds:
        slices = study.run(None, seed).slices
        for part, into in (([r for r in slices if r.t_ns < 40 * S], before),
                           ([r for r in slices if 40 * S <= r.t_ns < 70 * S], during)):
            into.append(sum(share(part, v) for v in LIT))
        moved, _ = slices_to_cut_share(study.run(None, seed), LIT, 40, end_s=70, to=2 / 3)
        soon.append(moved is not None and moved <= 10)
    assert statistics.fmean(during) < statistics.fmean(before), (before, during)
    assert share_of_seeds([d < b for b, d in zip(before, during)]) >= 0.7, (before, during)
    assert share_of_seeds(soon) >= 0.7, soon
    assert_beats_best_static(study)


def test_latency_spike_lit1_hardly_degrades_adaptive_beats_best_static() -> None:
    """LIT1's order entry is 20 ms slower from 40 s to 70 s, for every participant. The
    cost-based allocator costs less than the best static on average (tuning, 1000-1099:
    -0.10 bp, 95% CI [-0.15, -0.04], cheaper on 68 of 100, against the even fixed weights;
    these seeds: -0.15 [-0.21, -0.08], cheaper on 32 of 40, against pro-rata-at-NBBO). On
    seeds 1-4 alone it was 0.05 bp dearer, and this test asserted a bound instead.

    Not asserted: a move off LIT1, because LIT1 is hardly degraded for a router that takes
    at the touch: its book moves slowly, and everyone's orders there are slowed alike
    (tuning seeds 1000-1003 on the even static split: LIT1's takes filled 0.93 during the
    spike against 0.90 before). Nor when only the router is slowed: a prototype (tried, then
    removed) that added 200 ms to the router's own session at LIT1 alone moved the even
    split's LIT1 fill rate from 0.91 to 0.87 (seeds 1000-1007): no one fades the router's
    late child. A slowdown long against the touch's life does degrade a venue's fill rate,
    but not its cost: LIT2's far touch lasts 0.2-0.9 s here, and slowing LIT2 (the venue
    the router favours) by 2 s for everyone took the even split's LIT2 fill rate from 0.71
    to 0.54 (seeds 1000-1011), yet cost every router about the same (seeds 1000-1023: the
    even split +0.23 bp, the cost-based allocator +0.19, and +0.23 for a latency-aware
    prototype that left LIT2 within 7 slices on every seed): a missed take is sent again a
    slice later, and the slowdown makes the whole market dearer, not one venue. On seeds
    1000-1099 with LIT2 slowed by 2 s from 40 s to 70 s, the cost-based allocator's own
    takes at LIT2 filled 0.50 during the slowdown against 0.84 before, and it kept sending
    them (LIT2's share 0.25 before, 0.22 during: lower on 52 of 100): LIT2 still shows the
    best price after fees, and a miss costs only the wait. It still cost less than the best
    static, -0.12 bp, 95% CI [-0.18, -0.06] (500 ms: -0.10 [-0.15, -0.05])."""
    assert_beats_best_static(_study("latency_spike"))


# --- the runs themselves (scenarios.routing_quality) -------------------------------------------


def test_sent_costs_charges_fills_at_their_price_and_misses_at_the_next_mid() -> None:
    def record(t_s: int, mid: float, sent: int, filled: int, price: int, fee: int) -> SliceRecord:
        cost = FillCost(Side.BUY, mid, sent=sent)
        if filled:
            cost.add_fill(filled, price, fee)
        return SliceRecord(0, t_s * S, sent, mid, None, {"X": sent}, {"X": cost})

    slices = [record(1, 10_000.0, 300, 100, 10_002, 1),  # 200 missed; the mid then +5
              record(2, 10_005.0, 100, 100, 10_004, 0),
              record(3, 10_010.0, 100, 0, 0, 0)]  # nothing after it: the miss costs nothing
    first = sent_costs(slices, "buy", 0, 2 * S)["X"]
    assert (first.sent, first.filled) == (300, 100)
    assert first.cost_bps_shares == pytest.approx((100 * 2 + 1 + 200 * 5) / 10_000 * 1e4)
    both = sent_costs(slices, "buy")["X"]
    assert both.per_share_bps == pytest.approx(
        ((100 * 2 + 1 + 200 * 5) / 10_000 - 100 / 10_005) * 1e4 / 500)
    assert both.fill_rate == pytest.approx(200 / 500)
    selling = sent_costs(slices[1:2], "sell")["X"]  # a sell one tick below the mid pays
    assert selling.per_share_bps == pytest.approx(1 / 10_005 * 1e4)
    assert sent_costs(slices, "buy", 4 * S) == {}



def test_runs_spread_over_processes_match_runs_made_here() -> None:
    here = run_routing_many("fee_change", [None, "lit-only"], [7], jobs=1)
    pooled = run_routing_many("fee_change", [None, "lit-only"], [7], jobs=2)
    assert here[None, 7].fills != here["lit-only", 7].fills
    for key in ((None, 7), ("lit-only", 7)):
        assert pooled[key].shortfall_bps == here[key].shortfall_bps
        assert pooled[key].fills == here[key].fills
        assert pooled[key].fill_mids == here[key].fill_mids
        assert [r.allocation for r in pooled[key].slices] == [
            r.allocation for r in here[key].slices]
