"""Allocators: static baselines split as specified; bandits find the best venue, forgetting
bandits follow a regime shift, LinUCB uses the context; the registry loads and explains.

Bandit experiments are Bernoulli bandits with seeded reward draws (`market.rng` streams);
every algorithm in one comparison sees the same draws. The regret-order test is the
40-run table of bench/bandits.py's `gm` problem, on other seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.messages import Side
from market.rng import RngStreams
from router.allocators.base import Allocator, VenueFeedback
from router.allocators.change_detection import CusumUCB, cusum_tuning
from router.allocators.discounted_ucb import DiscountedUCB, discount_for
from router.allocators.epsilon_greedy import EpsilonGreedy
from router.allocators.exp3 import EXP3
from router.allocators.lin_ucb import LinUCB
from router.allocators.registry import (
    ALLOCATORS, AllocatorSpecError, load_allocator, make_allocator,
)
from router.allocators.sliding_window_ucb import SlidingWindowUCB, window_for
from router.allocators.static import FixedWeights, LitOnly, ProRataDisplayed, split_pro_rata
from router.allocators.thompson import ThompsonSampling
from router.allocators.ucb import UCB1

VENUES = ("V0", "V1", "V2")
Factory = Callable[[np.random.Generator], Allocator]

BANDITS: dict[str, Factory] = {
    "ucb1": lambda rng: UCB1(VENUES, rng),
    "thompson": lambda rng: ThompsonSampling(VENUES, rng),
    "epsilon-greedy": lambda rng: EpsilonGreedy(VENUES, rng),
    "exp3": lambda rng: EXP3(VENUES, rng),
    "d-ucb": lambda rng: DiscountedUCB(VENUES, rng),
    "sw-ucb": lambda rng: SlidingWindowUCB(VENUES, rng),
    "cusum-ucb": lambda rng: CusumUCB(VENUES, rng),
}


def _rng(seed: int, name: str) -> np.random.Generator:
    return RngStreams(seed).stream(name)


def _feedback(venue: str, reward: float, sent: int = 100,
              context: tuple[float, ...] | None = None) -> list[VenueFeedback]:
    return [VenueFeedback(venue, sent, sent if reward > 0 else 0, reward, False, context)]


def _play(allocator: Allocator, means: Sequence[Sequence[float]],
          uniforms: Sequence[float]) -> list[int]:
    """One Bernoulli bandit episode; the arm played at each step."""
    arm_of = {venue: arm for arm, venue in enumerate(VENUES)}
    arms = []
    for mu, u in zip(means, uniforms):
        (venue, sent), = allocator.choose(100).items()
        arm = arm_of[venue]
        allocator.update(_feedback(venue, 1.0 if u < mu[arm] else 0.0, sent))
        arms.append(arm)
    return arms


def _regret(arms: Sequence[int], means: Sequence[Sequence[float]]) -> float:
    return sum(max(mu) - mu[arm] for arm, mu in zip(arms, means))


# --- stationary bandits find the best arm -----------------------------------------------


# The forgetting policies never stop exploring (that is how they notice a change): with
# their default memories (window 200, gamma 0.99 = about 100 steps) they settle lower, D-UCB
# lowest, as its bonus (2 sqrt(xi ln n / N) with the paper's xi = 0.6) is the widest.
@pytest.mark.parametrize("key, threshold", [
    ("ucb1", 0.85), ("thompson", 0.85), ("epsilon-greedy", 0.85), ("exp3", 0.85),
    ("sw-ucb", 0.75), ("cusum-ucb", 0.75), ("d-ucb", 0.5),
])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bandit_stationary_bernoulli_best_arm_dominates_last_third(
    key: str, threshold: float, seed: int,
) -> None:
    means = [(0.3, 0.8, 0.5)] * 3000  # best arm not listed first: tie-breaks cannot help
    uniforms = _rng(seed, "rewards").random(len(means)).tolist()
    arms = _play(BANDITS[key](_rng(seed, key)), means, uniforms)
    share = arms[-1000:].count(1) / 1000
    assert share > threshold, f"{key}: best arm share {share:.2f} in the last 1000 steps"


def test_thompson_gaussian_real_rewards_finds_best_arm() -> None:
    allocator = ThompsonSampling(VENUES, _rng(4, "ts"), model="gaussian", prior_std=5.0)
    rewards = _rng(4, "rewards")
    true_means = (-1.0, 2.0, 1.5)  # real-valued, outside [0, 1], noise std 1
    picks = []
    for _ in range(1500):
        (venue, sent), = allocator.choose(100).items()
        arm = VENUES.index(venue)
        allocator.update(_feedback(venue, true_means[arm] + float(rewards.standard_normal())))
        picks.append(arm)
    assert picks[-500:].count(1) / 500 > 0.9
    assert allocator.posterior_mean("V1") == pytest.approx(2.0, abs=0.15)


# --- switching bandits: forgetting policies recover, stationary ones do not --------------

# The best arm (0.9) falls to 0.2 and an arm that did not change (0.5) becomes the best: a
# stationary policy keeps playing the stale arm until its long average falls below 0.5.
BEFORE, AFTER, SWITCH_AT = (0.9, 0.5, 0.1), (0.2, 0.5, 0.1), 3000
WINDOW = (SWITCH_AT + 200, SWITCH_AT + 1000)


def _share_after_switch(key: str) -> float:
    means = [BEFORE] * SWITCH_AT + [AFTER] * WINDOW[1]
    shares = []
    for seed in range(4):
        uniforms = _rng(seed, "switch/rewards").random(len(means)).tolist()
        arms = _play(BANDITS[key](_rng(seed, f"switch/{key}")), means, uniforms)
        shares.append(arms[WINDOW[0]:WINDOW[1]].count(1) / (WINDOW[1] - WINDOW[0]))
    return float(np.mean(shares))


@pytest.mark.parametrize("key", ["d-ucb", "sw-ucb", "cusum-ucb"])
def test_forgetting_bandit_after_switch_recovers_to_new_best_arm(key: str) -> None:
    share = _share_after_switch(key)
    assert share > 0.5, f"{key}: new best arm share {share:.2f} in steps {WINDOW}"


@pytest.mark.parametrize("key", ["ucb1", "thompson"])
def test_stationary_bandit_after_switch_stays_on_stale_arm(key: str) -> None:
    share = _share_after_switch(key)
    assert share < 0.25, f"{key}: new best arm share {share:.2f} in steps {WINDOW}"


def test_switching_bernoulli_regret_forgetting_below_ucb1_below_thompson() -> None:
    """Garivier & Moulines' shape: K = 3, T = 5000, means change every 1000 steps (G&M-style:
    arms (0.5, 0.3, 0.4), a neglected arm jumps to 0.9 every other phase); 40 runs, as in
    bench/bandits.py's `gm` problem (which prints the figures). D-UCB runs with xi = 0.15
    (SW-UCB's bonus); with the paper's xi = 0.6 it explores too much at this horizon to beat
    UCB1 (see bench/bandits.py)."""
    phases = [(0.5, 0.3, 0.4), (0.5, 0.9, 0.4), (0.5, 0.3, 0.4), (0.5, 0.3, 0.9),
              (0.5, 0.3, 0.4)]
    horizon, breakpoints = 5000, 4
    means = [phases[t // 1000] for t in range(horizon)]
    h, alpha = cusum_tuning(horizon, breakpoints)
    algorithms: dict[str, Factory] = {
        "sw-ucb": lambda rng: SlidingWindowUCB(VENUES, rng,
                                               window=window_for(horizon, breakpoints)),
        "d-ucb": lambda rng: DiscountedUCB(VENUES, rng, xi=0.15,
                                           gamma=discount_for(horizon, breakpoints)),
        "cusum-ucb": lambda rng: CusumUCB(VENUES, rng, threshold=h, explore=alpha),
        "ucb1": lambda rng: UCB1(VENUES, rng),
        "thompson": lambda rng: ThompsonSampling(VENUES, rng),
    }
    streams = RngStreams(2011)
    regret: dict[str, list[float]] = {key: [] for key in algorithms}
    for run in range(40):
        uniforms = streams.stream(f"run{run}/rewards").random(horizon).tolist()
        for key, factory in algorithms.items():
            arms = _play(factory(streams.stream(f"run{run}/{key}")), means, uniforms)
            regret[key].append(_regret(arms, means))
    mean = {key: float(np.mean(values)) for key, values in regret.items()}
    table = ", ".join(f"{key} {value:.0f}" for key, value in mean.items())
    assert mean["sw-ucb"] < mean["ucb1"] < mean["thompson"], table
    assert mean["d-ucb"] < mean["ucb1"], table
    assert mean["cusum-ucb"] < mean["ucb1"], table


# --- contextual: LinUCB ------------------------------------------------------------------


def test_lin_ucb_context_dependent_best_arm_is_learned() -> None:
    """V0 pays 0.5 + 0.4 x, V1 pays 0.5 - 0.4 x, V2 pays 0.3, x uniform in [-1, 1]: the best
    venue flips with the sign of x. A context-free bandit cannot beat about 1/2."""
    contexts = _rng(5, "contexts").uniform(-1.0, 1.0, size=(2500, 2)).tolist()
    uniforms = _rng(5, "rewards").random(2500).tolist()

    def pays(arm: int, x: float) -> float:
        return (0.5 + 0.4 * x, 0.5 - 0.4 * x, 0.3)[arm]

    def right_share(allocator: Allocator, contextual: bool) -> float:
        right = []
        for context, u in zip(contexts, uniforms):
            ctx = (context[0], context[1]) if contextual else None
            (venue, sent), = allocator.choose(100, context=ctx).items()
            arm = VENUES.index(venue)
            allocator.update(_feedback(venue, 1.0 if u < pays(arm, context[0]) else 0.0, sent))
            right.append(arm == (0 if context[0] > 0 else 1))
        return sum(right[-1000:]) / 1000

    lin = right_share(LinUCB(VENUES, _rng(5, "lin"), alpha=0.5), contextual=True)
    flat = right_share(UCB1(VENUES, _rng(5, "ucb1")), contextual=False)
    assert lin > 0.85, f"LinUCB picks the context's best venue {lin:.2f} of the time"
    assert flat < 0.65, f"context-free UCB1 got {flat:.2f}: the test does not need context"


def test_lin_ucb_learns_from_feedback_context_over_choose_context() -> None:
    allocator = LinUCB(VENUES, _rng(6, "lin"), alpha=0.0, intercept=False)
    allocator.choose(100, context=(0.0, 1.0))
    allocator.update(_feedback("V2", 1.0, context=(1.0, 0.0)))
    assert allocator.theta[2].tolist() == pytest.approx([0.5, 0.0])  # (I + x x^T)^-1 x r


def test_lin_ucb_without_context_raises() -> None:
    allocator = LinUCB(VENUES, _rng(6, "lin"))
    with pytest.raises(ValueError, match="context"):
        allocator.choose(100)
    allocator.choose(100, context=(0.1, 0.2))
    with pytest.raises(ValueError, match="length 3 in choose, expected 2"):
        allocator.choose(100, context=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="non-finite"):
        allocator.choose(100, context=(math.nan, 0.2))


# --- behaviour every bandit shares -------------------------------------------------------


@pytest.mark.parametrize("key", sorted(BANDITS))
def test_bandit_offered_subset_whole_slice_to_one_offered_venue(key: str) -> None:
    allocator = BANDITS[key](_rng(7, key))
    for step in range(200):
        allocation = allocator.choose(300, venues=["V2", "V0"])
        assert len(allocation) == 1 and set(allocation) <= {"V0", "V2"}
        (venue, sent), = allocation.items()
        assert sent == 300
        allocator.update(_feedback(venue, 1.0 if venue == "V2" else 0.0, sent))


@pytest.mark.parametrize("key", sorted(BANDITS))
def test_bandit_same_seed_gives_same_choices(key: str) -> None:
    means = [(0.4, 0.5, 0.6)] * 300
    uniforms = _rng(8, "rewards").random(300).tolist()
    first = _play(BANDITS[key](_rng(8, key)), means, uniforms)
    second = _play(BANDITS[key](_rng(8, key)), means, uniforms)
    assert first == second


@pytest.mark.parametrize("key", sorted(BANDITS))
def test_bandit_bad_input_raises_naming_the_problem(key: str) -> None:
    allocator = BANDITS[key](_rng(9, key))
    assert allocator.choose(0) == {}
    with pytest.raises(ValueError, match="quantity was -5"):
        allocator.choose(-5)
    with pytest.raises(ValueError, match="'V9'"):
        allocator.choose(100, venues=["V0", "V9"])
    with pytest.raises(ValueError, match="no venue"):
        allocator.choose(100, venues=[])
    (venue, _), = allocator.choose(100).items()
    with pytest.raises(ValueError, match="'V9'"):
        allocator.update(_feedback("V9", 1.0))
    with pytest.raises(ValueError, match="nan"):
        allocator.update(_feedback(venue, math.nan))


def test_bandit_feedback_with_nothing_sent_is_skipped() -> None:
    allocator = UCB1(VENUES, _rng(10, "ucb1"))
    allocator.update(_feedback("V1", 1.0, sent=0))
    assert allocator.counts == [0, 0, 0]


def test_ucb1_reward_range_scales_and_clips_rewards() -> None:
    allocator = UCB1(VENUES, _rng(10, "ucb1"), reward_range=(-10.0, 10.0))
    allocator.update(_feedback("V0", 5.0) + _feedback("V1", 25.0) + _feedback("V2", -10.0))
    assert allocator.sums == [0.75, 1.0, 0.0]


def test_exp3_feedback_for_venue_not_drawn_from_raises() -> None:
    allocator = EXP3(VENUES, _rng(11, "exp3"))
    allocator.choose(100, venues=["V0"])
    with pytest.raises(ValueError, match="did not offer"):
        allocator.update(_feedback("V1", 1.0))
    allocator.update(_feedback("V0", 1.0))
    assert allocator.log_weights[0] == 0.0 and allocator.log_weights[1] < 0.0


def test_exp3_probabilities_keep_gamma_over_k_floor() -> None:
    allocator = EXP3(VENUES, _rng(11, "exp3"), gamma=0.3)
    for _ in range(500):
        (venue, sent), = allocator.choose(100).items()
        allocator.update(_feedback(venue, 1.0 if venue == "V0" else 0.0, sent))
    probabilities = allocator.probabilities()
    assert sum(probabilities) == pytest.approx(1.0)
    assert min(probabilities) >= 0.1 - 1e-12 and probabilities[0] > 0.75


def test_discounted_ucb_statistics_decay_by_gamma_per_step() -> None:
    allocator = DiscountedUCB(VENUES, _rng(12, "d"), gamma=0.5)
    allocator.update(_feedback("V0", 1.0))
    allocator.update(_feedback("V1", 0.0))
    allocator.update([])  # a step with no observation still ages the statistics
    assert allocator.counts == pytest.approx([0.25, 0.5, 0.0])
    assert allocator.sums == pytest.approx([0.25, 0.0, 0.0])


def test_sliding_window_ucb_statistics_cover_only_the_window() -> None:
    allocator = SlidingWindowUCB(VENUES, _rng(12, "sw"), window=10)
    for step in range(25):
        allocator.update(_feedback(VENUES[step % 3], 0.1 * (step % 3)))
    assert sum(allocator.counts) == 10
    assert allocator.counts == [4, 3, 3]  # steps 15..24: 15, 18, 21, 24 went to V0
    assert allocator.sums == pytest.approx([0.0, 0.3, 0.6])


def test_cusum_ucb_change_in_rewards_raises_alarm_and_restarts() -> None:
    allocator = CusumUCB(VENUES, _rng(13, "cusum"), warmup=20, threshold=5.0, drift=0.05)
    for _ in range(100):
        allocator.update(_feedback("V0", 0.9))
    assert allocator.alarms == 0
    for _ in range(20):
        allocator.update(_feedback("V0", 0.1))
    assert allocator.alarms == 1  # g- grows 0.75 per reward: fires on the 7th low reward
    assert allocator.counts[0] == 13  # restarted: the 13 low rewards after the alarm


# --- static baselines --------------------------------------------------------------------

ALL = ("L1", "L2", "L3", "DARK")


def test_lit_only_equal_split_goes_to_lit_venues_and_sums_to_quantity() -> None:
    allocator = LitOnly(ALL, _rng(0, "lit"), lit=["L1", "L2", "L3"])
    assert allocator.choose(100) == {"L1": 34, "L2": 33, "L3": 33}
    assert allocator.choose(2, venues=["DARK", "L3", "L2"]) == {"L2": 1, "L3": 1}


def test_lit_only_primary_offered_gets_everything_else_split() -> None:
    allocator = LitOnly(ALL, _rng(0, "lit"), lit=["L1", "L2", "L3"], primary="L2")
    assert allocator.choose(500) == {"L2": 500}
    assert allocator.choose(500, venues=["L1", "L3", "DARK"]) == {"L1": 250, "L3": 250}


def test_lit_only_no_lit_venue_offered_raises() -> None:
    allocator = LitOnly(ALL, _rng(0, "lit"), lit=["L1"])
    with pytest.raises(ValueError, match="no lit venue"):
        allocator.choose(100, venues=["DARK"])
    with pytest.raises(ValueError, match="primary"):
        LitOnly(ALL, _rng(0, "lit"), lit=["L1"], primary="DARK")


def test_pro_rata_displayed_splits_in_proportion_to_displayed_size() -> None:
    allocator = ProRataDisplayed(ALL, _rng(0, "pro"), displayed={"L1": 300})
    allocator.observe_displayed("L2", 100)
    assert allocator.choose(100) == {"L1": 75, "L2": 25}
    allocator.observe_displayed("L3", 100)
    assert allocator.choose(7) == {"L1": 4, "L2": 2, "L3": 1}  # 4.2, 1.4, 1.4 -> 4, 2, 1
    assert allocator.choose(10, venues=["L2", "L3"]) == {"L2": 5, "L3": 5}


def test_pro_rata_nothing_displayed_splits_equally() -> None:
    allocator = ProRataDisplayed(ALL, _rng(0, "pro"))
    assert allocator.choose(10) == {"L1": 3, "L2": 3, "L3": 2, "DARK": 2}


def test_pro_rata_at_best_price_splits_only_over_the_venues_at_the_nbbo() -> None:
    allocator = ProRataDisplayed(ALL, _rng(0, "pro"), displayed={"L1": 300, "L2": 100, "L3": 200},
                                 at_best_price=True)
    for venue, ask in (("L1", 1002), ("L2", 1001), ("L3", 1001)):
        allocator.observe_touch(venue, Side.BUY, ask, allocator.displayed[venue])
    assert allocator.choose(90) == {"L2": 30, "L3": 60}  # L1 shows the most, at a worse ask
    seller = ProRataDisplayed(ALL, _rng(0, "pro"), displayed={"L1": 300, "L2": 100, "L3": 200},
                              at_best_price=True)
    for venue, bid in (("L1", 1000), ("L2", 999), ("L3", 1000)):
        seller.observe_touch(venue, Side.SELL, bid, seller.displayed[venue])
    assert seller.choose(100) == {"L1": 60, "L3": 40}  # the highest bid is the best
    assert seller.choose(10, venues=["L2"]) == {"L2": 10}  # the best offered, not the NBBO
    plain = ProRataDisplayed(ALL, _rng(0, "pro"), displayed={"L1": 300, "L2": 100})
    plain.observe_touch("L1", Side.BUY, 1002, 300)
    plain.observe_touch("L2", Side.BUY, 1001, 100)
    assert plain.choose(100) == {"L1": 75, "L2": 25}  # off by default: prices ignored
    with pytest.raises(ValueError, match="at_best_price was 1"):
        ProRataDisplayed(ALL, _rng(0, "pro"), at_best_price=1)  # type: ignore[arg-type]


def test_pro_rata_bad_displayed_size_raises() -> None:
    allocator = ProRataDisplayed(ALL, _rng(0, "pro"))
    with pytest.raises(ValueError, match="'NOPE'"):
        allocator.observe_displayed("NOPE", 10)
    with pytest.raises(ValueError, match="-1"):
        allocator.observe_displayed("L1", -1)


def test_fixed_weights_split_renormalised_over_offered_venues() -> None:
    allocator = FixedWeights(ALL, _rng(0, "fixed"), weights={"L1": 0.5, "L2": 0.3, "DARK": 0.2})
    assert allocator.choose(1000) == {"L1": 500, "L2": 300, "DARK": 200}
    assert allocator.choose(100, venues=["L2", "DARK"]) == {"L2": 60, "DARK": 40}
    with pytest.raises(ValueError, match="zero weight"):
        allocator.choose(100, venues=["L3"])


@pytest.mark.parametrize("weights, message", [
    ({"L1": -1.0}, "weights\\['L1'\\] was -1.0"),
    ({"NOPE": 1.0}, "'NOPE'"),
    ({"L1": 0.0}, "positive sum"),
    ({"L1": math.inf}, "inf"),
])
def test_fixed_weights_bad_weights_raise(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FixedWeights(ALL, _rng(0, "fixed"), weights=weights)


def test_static_zero_quantity_is_empty_and_feedback_ignored() -> None:
    for allocator in (LitOnly(ALL, _rng(0, "a")), ProRataDisplayed(ALL, _rng(0, "b")),
                      FixedWeights(ALL, _rng(0, "c"), weights={"L1": 1})):
        assert allocator.choose(0) == {}
        allocator.update(_feedback("L1", 1.0))
        with pytest.raises(ValueError, match="'NOPE'"):
            allocator.choose(10, venues=["NOPE"])


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.integers(0, 10_000),
    weights=st.lists(st.one_of(st.integers(0, 10_000), st.floats(0.0, 1e6)),
                     min_size=1, max_size=6).filter(lambda w: sum(w) > 0),
)
def test_split_pro_rata_any_weights_sums_exactly_within_one_share(
    quantity: int, weights: list[float],
) -> None:
    pairs = [(f"V{i}", weight) for i, weight in enumerate(weights)]
    split = split_pro_rata(quantity, pairs)
    assert sum(split.values()) == quantity
    total = sum(weights)
    for venue, weight in pairs:
        assert abs(split.get(venue, 0) - quantity * weight / total) < 1.0 + 1e-9


# --- registry ----------------------------------------------------------------------------

PARAMS: dict[str, dict[str, object]] = {"fixed-weights": {"weights": {"V0": 1.0}},
                                      "dark-first": {"dark": ["V0"], "lot_size": 1}}


@pytest.mark.parametrize("key", sorted(ALLOCATORS))
def test_registry_key_loads_and_builds_a_working_allocator(key: str) -> None:
    cls = load_allocator(key)
    assert issubclass(cls, Allocator) and cls is ALLOCATORS[key]
    allocator = make_allocator(key, VENUES, _rng(0, key), PARAMS.get(key))
    context = (0.1, -0.2)
    allocation = allocator.choose(100, context=context)
    assert sum(allocation.values()) == 100
    allocator.update([VenueFeedback(venue, sent, sent, 0.5, False, context)
                      for venue, sent in allocation.items()])


def test_load_allocator_module_class_path_returns_the_class() -> None:
    assert load_allocator("router.allocators.ucb:UCB1") is UCB1


def test_load_allocator_user_module_class_path_loads_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "my_routing.py").write_text(
        "from router.allocators.static import FixedWeights\n"
        "class AllToFirst(FixedWeights):\n"
        "    def __init__(self, venues, rng):\n"
        "        super().__init__(venues, rng, weights={venues[0]: 1})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    allocator = make_allocator("my_routing:AllToFirst", VENUES, _rng(0, "plugin"))
    assert allocator.choose(42) == {"V0": 42}


@pytest.mark.parametrize("spec, message", [
    ("ucb", "unknown allocator 'ucb'.*did you mean 'ucb1'"),
    ("router.allocators.ucb.UCB1", "unknown allocator .*written 'module:Class'"),
    ("no_such_module_xyz:Thing", "'no_such_module_xyz:Thing': cannot import module "
                                 "'no_such_module_xyz': ModuleNotFoundError"),
    ("router.allocators.ucb:NoSuch", "'router.allocators.ucb:NoSuch': module "
                                     "'router.allocators.ucb' has no attribute 'NoSuch'"),
    ("collections:OrderedDict", "'collections:OrderedDict' is not an Allocator subclass "
                                "\\(got class collections.OrderedDict\\)"),
    ("math:pi", "'math:pi' is not an Allocator subclass \\(got float\\)"),
    ("router.allocators.base:Allocator", "is abstract: it does not implement choose, update"),
    ("a:b:c", "'a:b:c' is malformed"),
    ("", "allocator spec was ''"),
])
def test_load_allocator_bad_spec_raises_naming_spec(spec: str, message: str) -> None:
    with pytest.raises(AllocatorSpecError, match=message):
        load_allocator(spec)


def test_make_allocator_bad_parameters_raise_naming_spec() -> None:
    with pytest.raises(AllocatorSpecError, match="'ucb1' could not be built.*'window'"):
        make_allocator("ucb1", VENUES, _rng(0, "x"), {"window": 5})
    with pytest.raises(AllocatorSpecError, match="'sw-ucb' could not be built.*window was 0"):
        make_allocator("sw-ucb", VENUES, _rng(0, "y"), {"window": 0})


class _Consuming(Allocator):
    """Takes its first venue off its `order` list parameter: changes what it was given."""

    def __init__(self, venues: Sequence[str], rng: np.random.Generator, *,
                 order: list[str], weights: dict[str, int] | None = None) -> None:
        super().__init__(venues, rng)
        self.first = order.pop(0)
        self.weights = {v: (weights or {})[v] for v in venues}  # KeyError for a venue left out

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> dict[str, int]:
        return {self.first: quantity}

    def update(self, feedback: Sequence[VenueFeedback]) -> None:
        pass


def test_make_allocator_gives_each_allocator_its_own_copy_of_its_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ALLOCATORS, "consuming", _Consuming)
    params = {"order": ["V2", "V0"], "weights": {v: 1 for v in VENUES}}
    first = make_allocator("consuming", VENUES, _rng(0, "a"), params)
    second = make_allocator("consuming", VENUES, _rng(0, "b"), params)
    assert isinstance(first, _Consuming) and isinstance(second, _Consuming)
    assert (first.first, second.first) == ("V2", "V2")
    assert params == {"order": ["V2", "V0"], "weights": {"V0": 1, "V1": 1, "V2": 1}}


def test_make_allocator_any_constructor_error_is_a_spec_error_with_its_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ALLOCATORS, "consuming", _Consuming)
    params = {"order": ["V0"], "weights": {"V0": 1}}
    with pytest.raises(AllocatorSpecError) as caught:
        make_allocator("consuming", VENUES, _rng(0, "c"), params)
    assert str(caught.value) == ("allocator 'consuming' could not be built with parameters "
                                 "{'order': ['V0'], 'weights': {'V0': 1}}: KeyError: 'V1'")
