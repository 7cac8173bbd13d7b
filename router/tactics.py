"""Tactics: how a child order is placed at one kind of venue.

- Lit: with urgency >= 0.5 *take* — an IOC limit pinned at the venue's far touch (the ask
  for a buy), so it sweeps no deeper than the price it saw, and never beyond the NBBO's far
  touch (order protection: at a venue showing a worse price the child is pinned at the
  NBBO's and fills only if that venue's book has come up to it by arrival); else *post* —
  a post-only DAY limit at the venue's near touch (the bid for a buy), canceled at the next
  slice when still working (stale) and its quantity re-routed.
- Dark: a midpoint-pegged DAY order with a minimum quantity of one lot and the parent's
  limit, canceled at the next slice when still working.
- Dealer: an RFQ for the slice's shares; the answer is accepted at once when its price is
  within the parent's limit and the policy's collar and no worse than the NBBO's far touch
  as the router last saw it (the ask for a buy): a dealer fill beyond the lit touch would
  trade through it, and taking at the lit venue is cheaper. A quote declined so, and a
  last-look reject, are simply an unfilled child (reward 0 for that venue this slice).

Every child goes through the router's policy check just before it is sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from market.messages import OrderType, Peg, Quote, Side, TimeInForce

if TYPE_CHECKING:
    from router.smart_order_router import SliceRecord, SmartOrderRouter

__all__ = ["VenueKind", "VenueProfile", "Child", "place_child", "accept_dealer_quote"]


class VenueKind(enum.Enum):
    LIT = "lit"
    DARK = "dark"
    DEALER = "dealer"


@dataclass(frozen=True)
class VenueProfile:
    """What the router knows of a venue: public facts, not its book."""

    name: str
    kind: VenueKind
    tick_size: int = 1
    lot_size: int = 1


class Child:
    """A child order the router sent."""

    __slots__ = ("order_id", "venue", "slice", "quantity", "price", "leaves", "filled",
                 "done", "cancel_sent", "cancelable")

    def __init__(self, order_id: int, venue: str, record: SliceRecord, quantity: int,
                 price: int | None, cancelable: bool) -> None:
        self.order_id = order_id
        self.venue = venue
        self.slice = record
        self.quantity = quantity
        self.price = price
        self.leaves = quantity
        self.filled = 0
        self.done = False
        self.cancel_sent = False
        self.cancelable = cancelable  # IOC and dealer children end on their own


def place_child(router: SmartOrderRouter, record: SliceRecord, venue: VenueProfile,
                shares: int) -> bool:
    """Place one child of `shares` at `venue`; False when nothing was sent."""
    if venue.kind is VenueKind.LIT:
        return _place_lit(router, record, venue, shares)
    if venue.kind is VenueKind.DARK:
        return _place_dark(router, record, venue, shares)
    return _request_dealer(router, record, venue, shares)


def _round_down(price: int, tick: int) -> int:
    return price - price % tick


def _round_up(price: int, tick: int) -> int:
    return price + (-price) % tick


def _place_lit(router: SmartOrderRouter, record: SliceRecord, venue: VenueProfile,
               shares: int) -> bool:
    side = router.parent.side
    take = router.parent.urgency >= 0.5 or router.force_take
    bid, ask = router.touch(venue.name)
    nbbo_bid, nbbo_ask = router.nbbo()
    # Take: pin at the far touch (the ask for a buy); post: join the near touch. A venue
    # with nothing on that side is priced from the NBBO, rounded onto the venue's tick
    # in the direction that keeps a take marketable and a post passive.
    # A take is never priced beyond the NBBO's far touch (order protection, see above),
    # rounded inwards onto the venue's tick.
    if side is Side.BUY:
        touch = (ask if ask is not None else nbbo_ask) if take else (bid if bid is not None else nbbo_bid)
        price = None if touch is None else (_round_up if take else _round_down)(touch, venue.tick_size)
        if take and price is not None and nbbo_ask is not None and price > nbbo_ask:
            price = _round_down(nbbo_ask, venue.tick_size)
    else:
        touch = (bid if bid is not None else nbbo_bid) if take else (ask if ask is not None else nbbo_ask)
        price = None if touch is None else (_round_down if take else _round_up)(touch, venue.tick_size)
        if take and price is not None and nbbo_bid is not None and price < nbbo_bid:
            price = _round_up(nbbo_bid, venue.tick_size)
    if price is None or price <= 0 or not router.parent.allows_price(price):
        return False
    if not router.policy_check(venue.name, shares, price):
        return False
    if take:
        order_id = router.submit_order(venue.name, side, shares, price,
                                       time_in_force=TimeInForce.IOC)
    else:
        order_id = router.submit_order(venue.name, side, shares, price, post_only=True)
    router.register_child(record, Child(order_id, venue.name, record, shares, price,
                                        cancelable=not take))
    return True


def _place_dark(router: SmartOrderRouter, record: SliceRecord, venue: VenueProfile,
                shares: int) -> bool:
    parent = router.parent
    buy = parent.side is Side.BUY
    limit = parent.limit_price
    collar = parent.policy.collar_ticks
    if collar is not None:
        # Under a collar a pegged child carries the collar's bound as its limit: a pool
        # pricing off a stale mid can then never fill it outside the collar.
        mid = router.mid()
        if mid is None:
            return False
        bound = int(mid + collar) if buy else -int(-(mid - collar))  # floor / ceil
        limit = bound if limit is None else (min(limit, bound) if buy else max(limit, bound))
    if limit is not None:  # onto the pool's tick, never looser than the parent's limit
        limit = (_round_down if buy else _round_up)(limit, venue.tick_size)
        if limit <= 0:
            return False
    if not router.policy_check(venue.name, shares, limit):
        return False
    order_id = router.submit_order(venue.name, parent.side, shares, limit,
                                   order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
                                   peg=Peg.MIDPOINT, min_quantity=venue.lot_size)
    router.register_child(record, Child(order_id, venue.name, record, shares, limit,
                                        cancelable=True))
    return True


def _request_dealer(router: SmartOrderRouter, record: SliceRecord, venue: VenueProfile,
                    shares: int) -> bool:
    if router.killed:
        return False
    request_id = router.request_quote(venue.name, router.parent.side, shares)
    router.register_rfq(request_id, record, venue.name, shares)
    return True


def accept_dealer_quote(router: SmartOrderRouter, record: SliceRecord, venue: VenueProfile,
                        shares: int, quote: Quote) -> None:
    """Take the dealer's price for `shares` when the limit, the policy and the NBBO allow it."""
    side = router.parent.side
    buying = side is Side.BUY
    far = router.nbbo()[1 if buying else 0]
    for quantity, bid, ask in quote.tiers:
        price = ask if buying else bid
        if price is None:
            continue
        size = min(shares, quantity)
        size -= size % venue.lot_size
        if size <= 0 or not router.parent.allows_price(price):
            return
        if far is not None and (price > far if buying else price < far):
            return  # beyond the lit touch: no trade-through
        if not router.policy_check(venue.name, size, price):
            return
        order_id = router.accept_quote(venue.name, quote.quote_id, side, size, price)
        router.register_child(record, Child(order_id, venue.name, record, size, price,
                                            cancelable=False), count_sent=False)
        return
