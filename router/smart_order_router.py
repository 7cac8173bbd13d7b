"""The smart order router: an agent that works one parent order across venues and learns.

Each slice (every `slice_interval_ns` from the parent's start):
1. the previous slices whose children are done and whose markout horizon has passed are
   scored per venue (`router.reward`) and fed back to the allocator (`update`), with the
   context seen at decision time and the censoring flag for dark pools;
2. children still working from earlier slices are canceled (stale posts and dark orders
   are re-routed, not left behind);
3. the schedule says how much should be done by the end of this slice; the rest, minus
   what is still working and not being canceled, is the slice quantity — capped so that
   filled + everything working (cancels in flight included) never exceeds the parent.
   Why not wait for the cancels' acknowledgements: they come back a round trip later, and
   the canceled shares would sit out a whole slice before being re-routed, so a router
   whose dark children often go unfilled would run a slice or two behind its schedule
   (measured: a dark-heavy allocation trailed TWAP by about 4 slices' worth of shares),
   which costs it the price drift over that lag at the end;
4. the allocator splits it over the venues the policy allows (`choose`), and the tactic of
   each venue's kind places the children (`router.tactics`): take or post at a lit venue,
   a midpoint peg with a minimum quantity at a dark pool, an RFQ at a dealer. In the last
   `cleanup_ns` of the horizon the allocator is bypassed: what is left is split over the
   lit venues and taken, so the parent completes (clean-up slices are not fed back).
   The catch-up rule keeps the router on its schedule all along: shares the schedule
   wanted done `max_lag_ns` ago that are neither filled nor working are taken at the lit
   venues first (a catch-up record, not fed back either), and only the rest of the slice
   goes to the allocator. By default (`max_lag_ns="auto"`) an urgent parent (urgency >=
   0.5, whose lit children take anyway) may run at most `URGENT_MAX_LAG_SLICES` slices
   behind; a passive one has no catch-up (its posts are expected to wait); None turns it
   off. Why: an allocator that explores (a dark pool that may or may not fill, a dealer
   that may reject) leaves shares unfilled, and re-sending them to the same choice can
   leave the parent far behind its schedule (measured in the regime-shift study: 4,000 of
   24,000 shares); the price drift over that lag is risk the schedule was chosen to avoid
   (and, with the router's own impact pushing the price away, a cost).

An allocation is checked as it is placed: a venue the router is not connected to, a
negative or a non-integer quantity raises `InvalidAllocation` naming the allocator's class,
the venue and the value (integer-like values, numpy ints say, become `int`s). Why raise: a
broken plug-in must stop the run loudly (`HandlerFailed`), not route a different order
than it asked for. A connected venue the policy does not allow is skipped (not sent).

Every child passes `ExecutionPolicy.check` just before it is sent; a child the policy
forbids is never sent (counted in `policy_refusals`). `kill()` is the kill switch: nothing
more is sent and every working child is canceled at once.

The router sees only public market data from the venues it is connected to (their L1/L2
and trade prints: its NBBO is the best of those) and its own execution reports.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.agent import Agent
from market.errors import SorsimError
from market.features import FeatureTracker
from market.messages import (
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Quote,
    Side,
    TradePrint,
)
from router.allocators.base import Allocator, VenueFeedback
from router.parent_order import ParentOrder
from router.reward import FillCost, venue_reward
from router.schedules.base import Schedule
from router.tactics import Child, VenueKind, VenueProfile, accept_dealer_quote, place_child

__all__ = ["InvalidAllocation", "SmartOrderRouter", "SliceRecord", "URGENT_MAX_LAG_SLICES"]

_NS = 1_000_000_000
URGENT_MAX_LAG_SLICES = 2  # the default catch-up of an urgent parent, in slices
_DONE = (ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)
_index = operator.index


class InvalidAllocation(SorsimError, ValueError):
    """An allocator answered an allocation the router cannot place (see the module
    docstring): a programming error in the allocator."""


@dataclass
class SliceRecord:
    """One slice: when, what was allocated where, and what came of it."""

    index: int
    t_ns: int
    quantity: int
    decision_mid: float | None
    context: tuple[float, ...] | None
    allocation: dict[str, int] = field(default_factory=dict)
    costs: dict[str, FillCost] = field(default_factory=dict)
    children: list[int] = field(default_factory=list)
    rewards: dict[str, float] = field(default_factory=dict)
    evaluated: bool = False
    cleanup: bool = False  # allocated by the clean-up rule, not by the allocator
    catch_up: bool = False  # allocated by the catch-up rule (`max_lag_ns`), not by the allocator


class SmartOrderRouter(Agent):
    def __init__(
        self,
        name: str,
        parent: ParentOrder,
        schedule: Schedule,
        allocator: Allocator,
        venues: Sequence[VenueProfile],
        *,
        slice_interval_ns: int = _NS,
        markout_ns: int = _NS,
        cost_scale_bps: float = 20.0,
        cleanup_ns: int = 0,
        max_lag_ns: int | None | Literal["auto"] = "auto",
        feature_venue: str | None = None,
        volatility_window_ns: int = 30 * _NS,
        flow_window_ns: int = 10 * _NS,
    ) -> None:
        super().__init__(name)
        if slice_interval_ns <= 0:
            raise ValueError(f"{name}: slice_interval_ns was {slice_interval_ns}, expected > 0")
        if markout_ns < 0:
            raise ValueError(f"{name}: markout_ns was {markout_ns}, expected >= 0")
        if max_lag_ns == "auto":
            max_lag_ns = (URGENT_MAX_LAG_SLICES * slice_interval_ns if parent.urgency >= 0.5
                          else None)
        elif max_lag_ns is not None and (type(max_lag_ns) is not int or max_lag_ns < 0):
            raise ValueError(f"{name}: max_lag_ns was {max_lag_ns!r}, expected 'auto', None or "
                             "an int >= 0")
        self.parent = parent
        self.max_lag_ns: int | None = max_lag_ns
        self.schedule = schedule
        self.allocator = allocator
        self.profiles = {v.name: v for v in venues}
        if len(self.profiles) != len(venues):
            raise ValueError(f"{name}: venue names repeat")
        self.slice_interval_ns = slice_interval_ns
        self.markout_ns = markout_ns
        self.cost_scale_bps = cost_scale_bps
        self.cleanup_ns = cleanup_ns
        self.force_take = False  # set during clean-up: lit children take liquidity
        lit = [v.name for v in venues if v.kind is VenueKind.LIT]
        self.feature_venue = feature_venue or (lit[0] if lit else None)
        self._features = (
            FeatureTracker(self.feature_venue, volatility_window_ns=volatility_window_ns,
                           flow_window_ns=flow_window_ns)
            if self.feature_venue is not None else None
        )
        self.filled = 0
        self.notional = 0
        self.fees_paid = 0
        self.killed = False
        self.policy_refusals = 0
        self.market_volume = 0  # shares printed at the venues it watches since the start
        self.children: dict[int, Child] = {}
        self._open: dict[int, Child] = {}  # children not yet done: what `working` sums
        self.slices: list[SliceRecord] = []
        self._pending: deque[SliceRecord] = deque()
        self._targets: deque[tuple[int, int]] = deque()  # (slice time, target then), for catch-up
        self._touch: dict[str, tuple[int | None, int | None]] = {}
        self._rfq: dict[int, tuple[SliceRecord, str, int]] = {}  # request id -> slice, venue, shares
        self._started = False
        self._observe_displayed = getattr(allocator, "observe_displayed", None)
        self._observe_touch = getattr(allocator, "observe_touch", None)

    # --- what the router knows -----------------------------------------------------------

    @property
    def working(self) -> int:
        """Shares in children not yet done (including those being canceled)."""
        return sum(c.leaves for c in self._open.values())

    @property
    def working_not_canceling(self) -> int:
        """Shares in children not yet done and not being canceled (expected to fill)."""
        return sum(c.leaves for c in self._open.values() if not c.cancel_sent)

    @property
    def remaining(self) -> int:
        return self.parent.quantity - self.filled

    def nbbo(self) -> tuple[int | None, int | None]:
        bids = [b for b, _ in self._touch.values() if b is not None]
        asks = [a for _, a in self._touch.values() if a is not None]
        return (max(bids) if bids else None, min(asks) if asks else None)

    def mid(self) -> float | None:
        bid, ask = self.nbbo()
        return (bid + ask) / 2 if bid is not None and ask is not None else None

    def touch(self, venue: str) -> tuple[int | None, int | None]:
        return self._touch.get(venue, (None, None))

    def context(self) -> tuple[float, ...] | None:
        return self._features.features(self.now_ns()) if self._features is not None else None

    # --- the timeline ------------------------------------------------------------------

    async def run(self) -> None:
        parent = self.parent
        delay = parent.start_ns - self.now_ns()
        if delay > 0:
            await self.sleep(delay / _NS)
        self._started = True
        index = 0
        while not self.killed and self.now_ns() < parent.end_ns and self.remaining > 0:
            self._evaluate_due()
            self._cancel_working()
            self._route_slice(index)
            index += 1
            await self.sleep(self.slice_interval_ns / _NS)
        self._cancel_working()
        # Let the last slices' cancels come back and their markouts pass, then score them.
        await self.sleep(self.markout_ns / _NS + self.slice_interval_ns / _NS)
        self._evaluate_due(final=True)

    def kill(self) -> None:
        """The kill switch: send nothing more, cancel every working child now."""
        self.killed = True
        self._cancel_working()

    def _route_slice(self, index: int) -> None:
        now = self.now_ns()
        parent = self.parent
        horizon = min(now + self.slice_interval_ns, parent.end_ns)
        target = min(parent.quantity, self.schedule.target_filled(horizon))
        want = min(target - self.filled - self.working_not_canceling,
                   self.remaining - self.working)
        record = SliceRecord(index, now, max(0, want), self.mid(), self.context())
        self.slices.append(record)
        self._pending.append(record)
        if want <= 0:
            return
        allowed = [name for name in self.profiles if parent.policy.allows_venue(name)]
        if not allowed:
            return
        lit = [name for name in allowed if self.profiles[name].kind is VenueKind.LIT]
        if lit and self.max_lag_ns is not None and now < parent.end_ns - self.cleanup_ns:
            overdue = (self._target_before(now, self.max_lag_ns) - self.filled
                       - self.working_not_canceling)
            lot = self.profiles[lit[0]].lot_size
            catch = min(overdue, want)
            catch -= catch % lot
            if catch > 0:
                catch_up = SliceRecord(index, now, catch, record.decision_mid, record.context,
                                       catch_up=True)
                self.slices.append(catch_up)
                self._pending.append(catch_up)
                taking, self.force_take = self.force_take, True
                sent = self._place(catch_up, self._split_lit(catch, lit), catch)
                self.force_take = taking
                want -= sent
                record.quantity = want
                if want <= 0:
                    return
        if lit and now >= parent.end_ns - self.cleanup_ns:
            # Clean-up: what is left goes to the lit venues, taking, so the parent completes.
            self.force_take = True
            record.cleanup = True
            allocation = self._split_lit(want, lit)
        else:
            allocation = self.allocator.choose(want, allowed, record.context)
        self._place(record, allocation, want)

    def _target_before(self, now: int, lag_ns: int) -> int:
        """The schedule's target as it stood `lag_ns` ago (at the last slice at or before
        then; 0 before the first). Recorded, not recomputed: an online schedule (POV) knows
        only the volume so far, so asking it about the past would answer with the present."""
        history = self._targets
        history.append((now, self.schedule.target_filled(now)))
        while len(history) > 1 and history[1][0] <= now - lag_ns:
            history.popleft()
        return history[0][1] if history[0][0] <= now - lag_ns else 0

    def _split_lit(self, shares: int, lit: Sequence[str]) -> Mapping[str, int]:
        """`shares` in whole lots, evenly over the lit venues `lit` (the earlier ones get the
        odd lots)."""
        share, extra = divmod(shares // self.profiles[lit[0]].lot_size, len(lit))
        return {name: (share + (i < extra)) * self.profiles[name].lot_size
                for i, name in enumerate(lit)}

    def _place(self, record: SliceRecord, allocation: Mapping[str, int], budget: int) -> int:
        """Send the allocation's children (policy caps applied, at most `budget` shares in
        all); returns the shares sent."""
        parent = self.parent
        sent = 0
        for venue, shares in allocation.items():
            profile = self.profiles.get(venue)
            try:
                shares = _index(shares)
            except TypeError:
                raise self._invalid_allocation(
                    venue, f"{shares!r} ({type(shares).__name__})",
                    "expected an integer number of shares") from None
            if profile is None:
                raise self._invalid_allocation(
                    venue, repr(shares), "the router is not connected to that venue (its "
                    f"venues: {', '.join(self.profiles)})")
            if shares < 0:
                raise self._invalid_allocation(venue, repr(shares),
                                               "expected a number of shares >= 0")
            if shares == 0 or not parent.policy.allows_venue(venue):
                continue
            shares = parent.policy.cap_quantity(min(shares, budget - sent), self.filled,
                                                self.working, self.market_volume,
                                                profile.lot_size)
            if shares <= 0:
                continue
            if place_child(self, record, profile, shares):
                sent += shares
                record.allocation[venue] = record.allocation.get(venue, 0) + shares
        return sent

    def _invalid_allocation(self, venue: Any, value: str, problem: str) -> InvalidAllocation:
        return InvalidAllocation(f"{self.name}: allocator {type(self.allocator).__name__} "
                                 f"allocated {value} to venue {venue!r}: {problem}")

    def _cancel_working(self) -> None:
        for child in self._open.values():
            if not child.cancel_sent and child.cancelable:
                child.cancel_sent = True
                self.cancel_order(child.order_id)

    # --- what comes back ---------------------------------------------------------------

    def on_execution_report(self, report: ExecutionReport) -> None:
        child = self.children.get(report.order_id)
        if child is None:
            return
        if report.last_quantity:
            child.filled += report.last_quantity
            self.filled += report.last_quantity
            self.notional += report.last_quantity * report.last_price
            self.fees_paid += report.fee
            child.slice.costs[child.venue].add_fill(report.last_quantity, report.last_price,
                                                     report.fee)
        child.leaves = report.leaves_quantity
        if report.exec_type in _DONE:
            child.done = True
            self._open.pop(child.order_id, None)
            child.leaves = 0

    def on_quote(self, quote: Quote) -> None:
        pending = self._rfq.pop(quote.request_id, None)
        if pending is None:
            return
        record, venue, shares = pending
        accept_dealer_quote(self, record, self.profiles[venue], shares, quote)

    def on_market_data(self, message: Any) -> None:
        kind = type(message)
        if kind is L1Snapshot:
            self._touch[message.venue] = (message.bid_price, message.ask_price)
            if self._observe_displayed is not None:  # pro-rata allocators size by display
                self._observe_displayed(message.venue, message.ask_quantity
                                        if self.parent.side is Side.BUY else message.bid_quantity)
            if self._observe_touch is not None:  # price-aware allocators: the touch to take
                if self.parent.side is Side.BUY:
                    self._observe_touch(message.venue, Side.BUY, message.ask_price,
                                        message.ask_quantity)
                else:
                    self._observe_touch(message.venue, Side.SELL, message.bid_price,
                                        message.bid_quantity)
            if self._features is not None and message.venue == self.feature_venue:
                self._features.on_l1_snapshot(message)
        elif kind is L2Snapshot:
            self._touch[message.venue] = (message.bids[0][0] if message.bids else None,
                                          message.asks[0][0] if message.asks else None)
        elif kind is TradePrint:
            if self._started:
                self.market_volume += message.quantity
                self.schedule.update_volume(message.t_ns, message.quantity)
            if self._features is not None and message.venue == self.feature_venue:
                self._features.on_trade_print(message)

    # --- learning ------------------------------------------------------------------------

    def _evaluate_due(self, final: bool = False) -> None:
        now = self.now_ns()
        while self._pending:
            record = self._pending[0]
            due = record.t_ns + self.slice_interval_ns + self.markout_ns
            children_done = all(self.children[c].done for c in record.children)
            if not final and (now < due or not children_done):
                break
            self._pending.popleft()
            self._score(record)

    def _score(self, record: SliceRecord) -> None:
        # The mid now, markout_ns or more after the fills; markout_ns == 0 charges no markout
        # (the mid would still have moved since the fills: a slice has passed).
        markout_mid = self.mid() if self.markout_ns > 0 else None
        feedback = []
        for venue, cost in record.costs.items():
            reward = venue_reward(cost, markout_mid, self.cost_scale_bps)
            record.rewards[venue] = reward
            censored = (self.profiles[venue].kind is VenueKind.DARK and cost.sent > 0
                        and cost.filled >= cost.sent)
            feedback.append(VenueFeedback(venue, cost.sent, cost.filled, reward, censored,
                                          record.context,
                                          cost.cost_bps(markout_mid, against_touch=True)
                                          if cost.filled else None))
        record.evaluated = True
        if feedback and not record.cleanup and not record.catch_up:
            self.allocator.update(feedback)

    # --- used by the tactics -------------------------------------------------------------

    def register_child(self, record: SliceRecord, child: Child, *, count_sent: bool = True) -> None:
        self.children[child.order_id] = child
        self._open[child.order_id] = child
        record.children.append(child.order_id)
        cost = self._slice_cost(record, child.venue)
        if count_sent:
            cost.sent += child.quantity

    def _slice_cost(self, record: SliceRecord, venue: str) -> FillCost:
        """A venue's cost record for a slice, made at its first child with the touch taking
        there costs now (its own far touch; the NBBO's where it shows none)."""
        cost = record.costs.get(venue)
        if cost is None:
            far = 1 if self.parent.side is Side.BUY else 0
            touch = self.touch(venue)[far]
            if touch is None:
                touch = self.nbbo()[far]
            cost = record.costs[venue] = FillCost(self.parent.side, record.decision_mid or 0.0,
                                                  None if touch is None else float(touch))
        return cost

    def register_rfq(self, request_id: int, record: SliceRecord, venue: str, shares: int) -> None:
        self._rfq[request_id] = (record, venue, shares)
        cost = self._slice_cost(record, venue)
        cost.sent += shares  # what was asked for: no quote or a last-look reject fills 0

    def policy_check(self, venue: str, quantity: int, price: int | None) -> bool:
        """True when the policy lets this child go; counts refusals."""
        violation = self.parent.policy.check(
            venue=venue, side=self.parent.side, quantity=quantity, price=price, mid=self.mid(),
            filled=self.filled, working=self.working, market_volume=self.market_volume,
            killed=self.killed)
        if violation is not None:
            self.policy_refusals += 1
            return False
        return True

    @property
    def average_price(self) -> float | None:
        return self.notional / self.filled if self.filled else None
