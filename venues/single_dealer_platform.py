"""A single-dealer platform (SDP): one dealer streams tiered quotes, answers RFQs, and fills
accepts after a last-look hold.

Concept. The venue *is* the dealer: it trades against every client itself, so there is no
counterparty report; its `inventory` (shares, + long), `cash` (ticks x shares, fees
received included) and `pnl` are attributes of the venue.

- Reference price. Twice the NBBO mid from a `ConsolidatedFeed` the caller wires
  (`feed.subscribe(dealer.name, dealer.on_nbbo, latency)`), plus twice the optional
  `signal(t_ns)` (an int offset in ticks, the dealer's own view: e.g. a fundamental-value
  forecast minus the mid). It is kept doubled (`reference2`) so a half-tick mid stays an
  exact integer. No reference while the NBBO is one-sided or empty. The signal is sampled
  whenever the reference is needed: on an NBBO, on an RFQ, at the end of a hold, on a
  refresh tick; it must be a deterministic function of time.
- Prices. For a tier (quantity, half-spread h): bid = the reference minus h, rounded down
  to the venue's `tick_size` grid; ask = the reference plus h, rounded up; then both are
  shifted by `-skew_per_share * inventory` rounded to the tick grid (Python `round`, half
  to even), so a long dealer quotes lower to sell and a short one higher to buy back.
  Tiers are given as (quantity, half-spread in ticks) with quantities strictly increasing
  and half-spreads non-decreasing (bigger size, wider). A side whose price would not be
  positive is not quoted (None). Units: "ticks" are the engine's price unit everywhere
  here (half-spreads, skew, last-look threshold, fees); `tick_size` is only the grid a
  quoted price must sit on.
- Streaming. Re-quoted when the reference moves (an NBBO arrives, or the signal moves —
  seen at the next NBBO or refresh tick), after every fill (inventory changed), on a
  refresh tick and on `requote()`. A `Quote` (participant "", request_id 0, every tier,
  `expires_ns` = now + `quote_ttl_ns`) is published to market-data subscribers only when
  its tiers differ from the last published ones — except on a refresh tick
  (`refresh_ns` > 0), which also re-issues unchanged prices when the standing quote would
  expire before the next tick, so that with refresh_ns < quote_ttl_ns a quote is always
  live. When the reference disappears after quoting, the dealer publishes a pulled quote
  (quote_id 0, every price None). A new subscriber gets the standing quote if it is live.
- RFQ. A `QuoteRequest` gets a private `Quote` (participant = requester, request_id
  echoed, one tier (requested quantity, bid, ask), `expires_ns` = now + `rfq_ttl_ns`),
  priced at the smallest tier covering the size. Above the largest tier (Q, h) the
  half-spread grows linearly with size: ceil(h * quantity / Q). side BUY asks for the ask
  only (bid None), SELL for the bid only, None for both. Without a reference the answer
  is a no-price quote (quote_id 0, prices None, expired at once). A malformed request
  (request_id not an int, side not a Side or None, quantity not a positive int) gets a
  `MessageRejected` with a reason.
- Accept. `AcceptQuote` is checked, in order: order_id an int (INVALID_ORDER_ID) not held
  already (DUPLICATE_ORDER_ID); side a Side (INVALID_SIDE); quantity a positive int
  (INVALID_QUANTITY); price a positive int (INVALID_PRICE); quote_id a quote this dealer
  issued and the sender may take — a streamed quote anyone connected, an RFQ quote only
  its requester (UNKNOWN_QUOTE); arrival at or before `expires_ns` (QUOTE_EXPIRED); an RFQ
  quote not already accepted once (UNKNOWN_QUOTE: an RFQ quote is good for one accept,
  whatever last look then decides); some tier offering exactly that price on that side
  for at least that quantity (QUOTE_MISMATCH; accepting a wider tier's price for a
  smaller size is allowed, it is what the quote offered). A failed check is a REJECTED
  `ExecutionReport` at once.
- Last look. A passing accept is held `last_look_hold_ns` (a delivery on the clock), then
  the dealer compares its reference now with the reference when the quote was made: for
  a client buy, a rise of more than `last_look_threshold_ticks`, for a client sell a fall
  of more than it, rejects with LAST_LOOK (no reference at all: NO_REFERENCE_PRICE). Moves
  in the dealer's favour never reject and give no price improvement. Otherwise the client
  gets an ExecutionReport NEW then FILL at the quoted price (TAKER, fee `fee_per_share` x
  quantity, a fresh trade_id), inventory and cash change, a `TradePrint` is published and
  the stream re-quoted. Hold and threshold (and the fee) are those in force when the
  accept arrived.
- Regime-shift hooks. `tiers`, `skew_per_share`, `quote_ttl_ns`, `rfq_ttl_ns`,
  `last_look_hold_ns`, `last_look_threshold_ticks`, `fee_per_share` and `refresh_ns` read
  and assign like plain attributes; an assignment is validated (ValueError naming the
  attribute and the value) and takes effect for the next quote or accept; quotes already
  out keep their prices. Call `requote()` to re-stream at once.
- Statistics. Besides the per-participant `statistics` (an accept counts as an order; a
  rejected accept or RFQ as a reject): `quote_requests`, `quotes_streamed`, `rfq_quotes`,
  `accepts` (passed the checks, entered last look), `accept_rejects` (failed them),
  `last_look_fills`, `last_look_rejects`, `hold_time_ns_total` (over decided holds),
  `last_look_reject_rate`, `mean_hold_time_ns`.

Ordering invariant. Quote ids count from 1 per venue and are never reused: a re-quote is a
new id, and a quote's prices never change. Everything sent at one instant goes out in a
fixed order: the client's reports (NEW before FILL), then the `TradePrint`, then the new
streamed `Quote`. Holds end in (end time, arrival order) — the loop's (time, sequence) key;
with a constant hold that is arrival order.

Complexity. Pricing is O(T) in the number of tiers (a handful). An accept is O(T) plus
amortized O(log Q) to drop expired quotes from a heap (Q live quotes); memory is O(live
quotes + held accepts): a quote is forgotten once expired, and an issued id no longer held
is answered QUOTE_EXPIRED (it can only have expired).

Known limits. Full fills only, no partial fills; no inventory or size limit (oversize RFQs
are always quoted, linearly wider); no cancel of a held accept (a cancel or new order gets
UNSUPPORTED); no price improvement at last look; an accept on an expired RFQ quote of
another participant reads QUOTE_EXPIRED, not UNKNOWN_QUOTE; the signal is sampled at
events only, so between NBBOs a moving signal shows up at the next refresh tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, Generic, TypeVar

from market.clock import Clock
from market.event_log import EventLog
from market.link import Link
from market.messages import (
    NBBO,
    AcceptQuote,
    CancelOrder,
    CancelRejected,
    ExecType,
    ExecutionReport,
    Liquidity,
    NewOrder,
    Quote,
    QuoteRequest,
    RejectReason,
    ReplaceOrder,
    Side,
    TradePrint,
)
from market.rng import RngStreams
from venues.venue import Venue

__all__ = ["SingleDealerPlatform"]

BUY, SELL = Side.BUY, Side.SELL
_NEW, _FILL, _REJECTED = ExecType.NEW, ExecType.FILL, ExecType.REJECTED
_TAKER = Liquidity.TAKER

Tier = tuple[int, int | None, int | None]  # (quantity, bid, ask) as in `Quote.tiers`
T = TypeVar("T")


# --- configuration checks ------------------------------------------------------------------


def _int_at_least(minimum: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if type(value) is not int or value < minimum:
            raise ValueError(f"{name} was {value!r}, expected an int >= {minimum}")
        return value
    return check


def _any_int(name: str, value: Any) -> int:
    if type(value) is not int:
        raise ValueError(f"{name} was {value!r}, expected an int")
    return value


def _skew(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} was {value!r}, expected a finite number >= 0")
    return value  # type: ignore[return-value]  # a Real: int, float or Fraction


def _tiers(name: str, value: Any) -> tuple[tuple[int, int], ...]:
    try:
        tiers = tuple(tuple(tier) for tier in value)
    except TypeError:
        raise ValueError(f"{name} was {value!r}, expected (quantity, half-spread) pairs") from None
    if not tiers:
        raise ValueError(f"{name} was {value!r}, expected at least one tier")
    previous = (0, 0)
    for index, tier in enumerate(tiers):
        where = f"{name}[{index}]"
        if len(tier) != 2:
            raise ValueError(f"{where} was {tier!r}, expected (quantity, half-spread)")
        quantity, half = tier
        if type(quantity) is not int or quantity <= previous[0]:
            raise ValueError(f"{where}.quantity was {quantity!r}, expected an int > "
                             f"{previous[0]} (quantities strictly increase)")
        if type(half) is not int or half < previous[1]:
            raise ValueError(f"{where}.half_spread was {half!r}, expected an int >= "
                             f"{previous[1]} (bigger size, wider)")
        previous = (quantity, half)
    return tiers


class _Checked(Generic[T]):
    """An attribute that reads like a plain one and validates every assignment."""

    def __init__(self, check: Callable[[str, Any], T]) -> None:
        self._check = check
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: Any = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]  # class access: the descriptor itself
        value: T = instance.__dict__[self._name]
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self._name] = self._check(self._name, value)


# --- records -------------------------------------------------------------------------------


class _Standing:
    """A quote the dealer issued and still honours until `expires_ns`."""

    __slots__ = ("participant", "expires_ns", "reference2", "tiers", "spent")

    def __init__(self, participant: str, expires_ns: int, reference2: int,
                 tiers: tuple[Tier, ...]) -> None:
        self.participant = participant  # "" for a streamed quote: anyone connected
        self.expires_ns = expires_ns
        self.reference2 = reference2  # twice the reference price when it was made
        self.tiers = tiers
        self.spent = False  # an RFQ quote already accepted once


class _Held:
    """An accept in its last-look hold."""

    __slots__ = ("participant", "order_id", "side", "quantity", "price", "reference2",
                 "threshold", "fee", "arrived_ns")

    def __init__(self, participant: str, order_id: int, side: Side, quantity: int, price: int,
                 reference2: int, threshold: int, fee: int, arrived_ns: int) -> None:
        self.participant = participant
        self.order_id = order_id
        self.side = side
        self.quantity = quantity
        self.price = price
        self.reference2 = reference2
        self.threshold = threshold
        self.fee = fee
        self.arrived_ns = arrived_ns


# --- the venue -----------------------------------------------------------------------------


class SingleDealerPlatform(Venue):
    """One dealer: streamed tiered quotes, RFQs, last look (see the module docstring)."""

    tiers = _Checked(_tiers)
    skew_per_share = _Checked(_skew)
    quote_ttl_ns = _Checked(_int_at_least(0))
    rfq_ttl_ns = _Checked(_int_at_least(0))
    last_look_hold_ns = _Checked(_int_at_least(0))
    last_look_threshold_ticks = _Checked(_int_at_least(0))
    fee_per_share = _Checked(_any_int)
    refresh_ns = _Checked(_int_at_least(0))

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        tiers: Sequence[tuple[int, int]] = ((100, 1), (500, 2), (1000, 4)),
        tick_size: int = 1,
        skew_per_share: float = 0.0,
        quote_ttl_ns: int = 500_000_000,
        rfq_ttl_ns: int = 1_000_000_000,
        last_look_hold_ns: int = 5_000_000,
        last_look_threshold_ticks: int = 1,
        fee_per_share: int = 0,
        refresh_ns: int = 0,
        signal: Callable[[int], int] | None = None,
        event_log: EventLog | None = None,
        rng_streams: RngStreams | None = None,
    ) -> None:
        super().__init__(name, clock, event_log=event_log, rng_streams=rng_streams)
        self.tick_size = _int_at_least(1)("tick_size", tick_size)
        self.tiers = tiers
        self.skew_per_share = skew_per_share
        self.quote_ttl_ns = quote_ttl_ns
        self.rfq_ttl_ns = rfq_ttl_ns
        self.last_look_hold_ns = last_look_hold_ns
        self.last_look_threshold_ticks = last_look_threshold_ticks
        self.fee_per_share = fee_per_share
        self.refresh_ns = refresh_ns
        if signal is not None and not callable(signal):
            raise ValueError(f"signal was {signal!r}, expected a callable t_ns -> int ticks")
        self.signal = signal
        self._handlers[QuoteRequest] = self.on_quote_request
        self._handlers[AcceptQuote] = self.on_accept_quote
        # the dealer's books
        self.inventory = 0  # shares, + long
        self.cash = 0  # ticks x shares, fees received included
        self.fees_collected = 0
        # market view: the last NBBO received
        self._nbbo_t_ns = -1
        self._bid: int | None = None
        self._ask: int | None = None
        # quotes
        self._quote_id = 0  # the last quote id issued
        self._trade_id = 0
        self._quotes: dict[int, _Standing] = {}
        self._expiries: list[tuple[int, int]] = []  # heap of (expires_ns, quote_id)
        self._streamed: _Standing | None = None  # the last streamed quote with prices
        self._streamed_id = 0
        self._last_tiers: tuple[Tier, ...] | None = None  # last streamed tiers (pulled too)
        self._held: dict[int, _Held] = {}  # order id -> accept in its hold
        # statistics
        self.nbbo_updates = 0
        self.quote_requests = 0
        self.quotes_streamed = 0
        self.rfq_quotes = 0
        self.accepts = 0
        self.accept_rejects = 0
        self.last_look_fills = 0
        self.last_look_rejects = 0
        self.hold_time_ns_total = 0
        if self.refresh_ns:
            clock.deliver_at(clock.now_ns() + self.refresh_ns, self._on_refresh, None)

    # --- state ------------------------------------------------------------------------

    @property
    def reference2(self) -> int | None:
        """Twice the dealer's reference price now (None without a two-sided NBBO)."""
        return self._reference2(self.clock.now_ns())

    @property
    def pnl(self) -> float | None:
        """Cash plus inventory marked at the reference now, in ticks x shares (reporting
        only: a float, since the reference may be a half tick). None without a reference."""
        reference2 = self.reference2
        return None if reference2 is None else self.cash + self.inventory * reference2 / 2

    def pnl_at(self, price: int) -> int:
        """Cash plus inventory marked at `price` (ticks), exactly."""
        return self.cash + self.inventory * price

    @property
    def last_look_reject_rate(self) -> float:
        """Share of decided holds that ended in a reject (0.0 before any)."""
        decided = self.last_look_fills + self.last_look_rejects
        return self.last_look_rejects / decided if decided else 0.0

    @property
    def mean_hold_time_ns(self) -> float:
        decided = self.last_look_fills + self.last_look_rejects
        return self.hold_time_ns_total / decided if decided else 0.0

    @property
    def held(self) -> int:
        """Accepts in their last-look hold now."""
        return len(self._held)

    # --- market view ------------------------------------------------------------------

    def on_nbbo(self, nbbo: Any) -> None:
        """The consolidated feed's handler: take the NBBO, re-quote if prices moved."""
        if type(nbbo) is not NBBO:
            return
        now = self.clock.now_ns()
        if self.event_log is not None:
            self.event_log.record(now, "in", self.name, nbbo)
        if nbbo.t_ns < self._nbbo_t_ns:
            return  # older than the one held (a feed wired twice)
        self._nbbo_t_ns = nbbo.t_ns
        self._bid, self._ask = nbbo.bid_price, nbbo.ask_price
        self.nbbo_updates += 1
        self._requote(now, False)

    def _reference2(self, now: int) -> int | None:
        bid, ask = self._bid, self._ask
        if bid is None or ask is None:
            return None
        reference2 = bid + ask
        if self.signal is not None:
            offset = self.signal(now)
            if type(offset) is not int:
                raise TypeError(f"{self.name}: signal({now}) returned {offset!r}, expected int ticks")
            reference2 += 2 * offset
        return reference2

    # --- pricing ----------------------------------------------------------------------

    def _shift(self) -> int:
        tick = self.tick_size
        return -tick * round(self.skew_per_share * self.inventory / tick)

    def _price(self, reference2: int, half: int, shift: int) -> tuple[int | None, int | None]:
        tick = self.tick_size
        two_ticks = 2 * tick
        bid = (reference2 - 2 * half) // two_ticks * tick + shift
        ask = -(-(reference2 + 2 * half) // two_ticks) * tick + shift
        return (bid if bid > 0 else None, ask if ask > 0 else None)

    def _half_spread(self, quantity: int) -> int:
        tiers = self.tiers
        for size, half in tiers:
            if quantity <= size:
                return half
        size, half = tiers[-1]
        return -(-half * quantity // size)  # linear beyond the largest tier, rounded up

    # --- streaming --------------------------------------------------------------------

    def requote(self) -> None:
        """Stream a quote now if the prices differ from the last streamed ones."""
        self._requote(self.clock.now_ns(), False)

    def _on_refresh(self, _: object) -> None:
        now = self.clock.now_ns()
        self._requote(now, True)
        if self.refresh_ns:
            self.clock.deliver_at(now + self.refresh_ns, self._on_refresh, None)

    def _requote(self, now: int, refresh: bool) -> None:
        reference2 = self._reference2(now)
        if reference2 is None:
            if self._last_tiers is None or self._streamed is None:
                return  # never quoted, or already pulled
            tiers: tuple[Tier, ...] = tuple((q, None, None) for q, _ in self.tiers)
            self._streamed = None
            self._last_tiers = tiers
            self.quotes_streamed += 1
            self.publish(Quote(now, self.name, "", 0, 0, tiers, now))
            return
        shift = self._shift()
        tiers = tuple((q, *self._price(reference2, half, shift)) for q, half in self.tiers)
        if tiers == self._last_tiers:
            stream = self._streamed
            if not refresh or stream is None or stream.expires_ns >= now + self.refresh_ns:
                return
        standing = self._issue("", now + self.quote_ttl_ns, reference2, tiers, now)
        self._streamed = standing
        self._streamed_id = self._quote_id
        self._last_tiers = tiers
        self.quotes_streamed += 1
        self.publish(Quote(now, self.name, "", self._quote_id, 0, tiers, standing.expires_ns))

    def _issue(self, participant: str, expires_ns: int, reference2: int,
               tiers: tuple[Tier, ...], now: int) -> _Standing:
        self._forget_expired(now)
        self._quote_id += 1
        standing = _Standing(participant, expires_ns, reference2, tiers)
        self._quotes[self._quote_id] = standing
        heapq.heappush(self._expiries, (expires_ns, self._quote_id))
        return standing

    def _forget_expired(self, now: int) -> None:
        expiries = self._expiries
        quotes = self._quotes
        while expiries and expiries[0][0] < now:
            del quotes[heapq.heappop(expiries)[1]]

    def on_subscribed(self, link: Link) -> None:
        now = self.clock.now_ns()
        stream = self._streamed
        if stream is None or stream.expires_ns < now:
            return
        quote = Quote(now, self.name, "", self._streamed_id, 0, stream.tiers, stream.expires_ns)
        if self.event_log is not None:
            self.event_log.record(now, "out", self.name, quote)
        self.messages_out += 1
        link.send(quote)

    # --- RFQ --------------------------------------------------------------------------

    def on_quote_request(self, participant: str, request: QuoteRequest, now: int) -> None:
        request_id, side, quantity = request.request_id, request.side, request.quantity
        problem: tuple[RejectReason, str] | None = None
        if type(request_id) is not int:
            problem = (RejectReason.INVALID_ORDER_ID, f"request_id {request_id!r} is not an int")
        elif side is not None and side is not BUY and side is not SELL:
            problem = (RejectReason.INVALID_SIDE,
                       f"request {request_id}: side {side!r} is not a Side or None")
        elif type(quantity) is not int or quantity <= 0:
            problem = (RejectReason.INVALID_QUANTITY,
                       f"request {request_id}: quantity {quantity!r} is not a positive int")
        if problem is not None:
            self._reject_message(participant, request, now, *problem)
            return
        self.quote_requests += 1
        reference2 = self._reference2(now)
        if reference2 is None:
            self.send_to(participant, Quote(now, self.name, participant, 0, request_id,
                                            ((quantity, None, None),), now))
            return
        bid, ask = self._price(reference2, self._half_spread(quantity), self._shift())
        if side is BUY:
            bid = None
        elif side is SELL:
            ask = None
        tiers = ((quantity, bid, ask),)
        standing = self._issue(participant, now + self.rfq_ttl_ns, reference2, tiers, now)
        self.rfq_quotes += 1
        self.send_to(participant, Quote(now, self.name, participant, self._quote_id, request_id,
                                        tiers, standing.expires_ns))

    # --- accept and last look ---------------------------------------------------------

    def on_accept_quote(self, participant: str, accept: AcceptQuote, now: int) -> None:
        self.statistics[participant].orders += 1
        self._forget_expired(now)
        standing = self._check(participant, accept, now)
        if not isinstance(standing, _Standing):
            self.accept_rejects += 1
            self._reject(accept, now, standing)
            return
        if standing.participant:
            standing.spent = True
        self.accepts += 1
        hold_ns = self.last_look_hold_ns
        held = _Held(participant, accept.order_id, accept.side, accept.quantity, accept.price,
                     standing.reference2, self.last_look_threshold_ticks,
                     self.fee_per_share * accept.quantity, now)
        self._held[accept.order_id] = held
        self.clock.deliver_at(now + hold_ns, self._end_hold, held)

    def _check(self, participant: str, accept: AcceptQuote, now: int) -> _Standing | RejectReason:
        """The quote the accept may trade on, or why not."""
        order_id, side, quantity, price = (accept.order_id, accept.side, accept.quantity,
                                           accept.price)
        if type(order_id) is not int:
            return RejectReason.INVALID_ORDER_ID
        if order_id in self._held:
            return RejectReason.DUPLICATE_ORDER_ID
        if side is not BUY and side is not SELL:
            return RejectReason.INVALID_SIDE
        if type(quantity) is not int or quantity <= 0:
            return RejectReason.INVALID_QUANTITY
        if type(price) is not int or price <= 0:
            return RejectReason.INVALID_PRICE
        quote_id = accept.quote_id
        if type(quote_id) is not int:
            return RejectReason.UNKNOWN_QUOTE
        standing = self._quotes.get(quote_id)
        if standing is None:
            # Ids count up and are dropped only once expired: an issued id not held expired.
            expired = 0 < quote_id <= self._quote_id
            return RejectReason.QUOTE_EXPIRED if expired else RejectReason.UNKNOWN_QUOTE
        if standing.participant and standing.participant != participant:
            return RejectReason.UNKNOWN_QUOTE
        if now > standing.expires_ns:
            return RejectReason.QUOTE_EXPIRED
        if standing.spent:
            return RejectReason.UNKNOWN_QUOTE
        column = 2 if side is BUY else 1  # a client buy lifts the ask
        for tier in standing.tiers:
            if tier[column] == price and tier[0] >= quantity:
                return standing
        return RejectReason.QUOTE_MISMATCH

    def _end_hold(self, held: _Held) -> None:
        now = self.clock.now_ns()
        del self._held[held.order_id]
        self.hold_time_ns_total += now - held.arrived_ns
        reference2 = self._reference2(now)
        reason: RejectReason | None = None
        if reference2 is None:
            reason = RejectReason.NO_REFERENCE_PRICE
        else:
            moved2 = reference2 - held.reference2  # against a client buy when it rises
            if held.side is SELL:
                moved2 = -moved2
            if moved2 > 2 * held.threshold:
                reason = RejectReason.LAST_LOOK
        participant, order_id, side = held.participant, held.order_id, held.side
        quantity, price = held.quantity, held.price
        if reason is not None:
            self.last_look_rejects += 1
            self.statistics[participant].rejects += 1
            self.send_to(participant, ExecutionReport(
                now, self.name, participant, order_id, _REJECTED, side, price, quantity,
                0, 0, 0, 0, 0, None, 0, reason))
            return
        self.last_look_fills += 1
        self._trade_id += 1
        trade_id = self._trade_id
        fee = held.fee
        self.send_reports([
            ExecutionReport(now, self.name, participant, order_id, _NEW, side, price, quantity,
                            0, 0, quantity, 0, 0, None, 0, None),
            ExecutionReport(now, self.name, participant, order_id, _FILL, side, price, quantity,
                            quantity, price, 0, quantity, fee, _TAKER, trade_id, None),
        ])
        notional = quantity * price
        if side is BUY:
            self.inventory -= quantity
            self.cash += notional
        else:
            self.inventory += quantity
            self.cash -= notional
        self.cash += fee
        self.fees_collected += fee
        self.publish(TradePrint(now, self.name, trade_id, price, quantity, side))
        self._requote(now, False)

    def _reject(self, accept: AcceptQuote, now: int, reason: RejectReason) -> None:
        self.statistics[accept.participant].rejects += 1
        self.send_to(accept.participant, ExecutionReport(
            now, self.name, accept.participant, accept.order_id, _REJECTED, accept.side,
            accept.price, accept.quantity, 0, 0, 0, 0, 0, None, 0, reason))

    # --- commands a dealer does not take ----------------------------------------------

    def on_new_order(self, participant: str, order: NewOrder, now: int) -> None:
        stats = self.statistics[participant]
        stats.orders += 1
        stats.rejects += 1
        self.send_to(participant, ExecutionReport(
            now, self.name, participant, order.order_id, _REJECTED, order.side, order.price,
            order.quantity, 0, 0, 0, 0, 0, None, 0, RejectReason.UNSUPPORTED))

    def on_cancel_order(self, participant: str, cancel: CancelOrder, now: int) -> None:
        self._reject_amend(participant, cancel.order_id, now, "cancel")

    def on_replace_order(self, participant: str, replace: ReplaceOrder, now: int) -> None:
        self._reject_amend(participant, replace.order_id, now, "replace")

    def _reject_amend(self, participant: str, order_id: Any, now: int, request: str) -> None:
        stats = self.statistics[participant]
        if request == "cancel":
            stats.cancels += 1
        else:
            stats.replaces += 1
        stats.rejects += 1
        self.send_to(participant, CancelRejected(now, self.name, participant, order_id,
                                                 RejectReason.UNSUPPORTED, request))
