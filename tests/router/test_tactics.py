"""The dealer tactic: which RFQ answers the router takes (`router.tactics`)."""

from __future__ import annotations

from typing import Any

import pytest

from market.messages import Quote, Side
from router.parent_order import ParentOrder
from router.tactics import VenueKind, VenueProfile, accept_dealer_quote

S = 1_000_000_000
DEALER = VenueProfile("SDP1", VenueKind.DEALER, tick_size=100, lot_size=100)


class Router:
    """What `accept_dealer_quote` reads and calls on the router: its parent, its NBBO, the
    policy check and the acceptance, which it records."""

    def __init__(self, side: Side, nbbo: tuple[int | None, int | None]) -> None:
        self.parent = ParentOrder(1, side, 10_000, start_ns=0, end_ns=60 * S, urgency=0.7)
        self._nbbo = nbbo
        self.accepted: list[tuple[int, int]] = []

    def nbbo(self) -> tuple[int | None, int | None]:
        return self._nbbo

    def policy_check(self, venue: str, size: int, price: int) -> bool:
        return True

    def accept_quote(self, venue: str, quote_id: int, side: Side, size: int, price: int) -> int:
        self.accepted.append((size, price))
        return len(self.accepted)

    def register_child(self, record: Any, child: Any, count_sent: bool = True) -> None:
        pass


def quote(bid: int, ask: int) -> Quote:
    return Quote(0, "SDP1", "SOR", 7, 1, ((500, bid, ask), (2_000, bid - 200, ask + 200)), S)


@pytest.mark.parametrize(("side", "price", "taken"), [
    (Side.BUY, 1_000_100, True),    # at the NBBO's ask
    (Side.BUY, 1_000_000, True),    # inside it
    (Side.BUY, 1_000_200, False),   # beyond it: a trade-through
    (Side.SELL, 999_900, True),     # at the NBBO's bid
    (Side.SELL, 999_800, False),    # beyond it
])
def test_dealer_quote_beyond_the_nbbo_far_touch_is_declined(side: Side, price: int,
                                                            taken: bool) -> None:
    """NBBO 999,900 x 1,000,100. The router takes the first tier's 500 shares of a 1,000-share
    RFQ when that price is at or inside the NBBO's far touch, and lets the quote lapse when
    it is beyond it."""
    router = Router(side, (999_900, 1_000_100))
    answer = quote(price - 100, price) if side is Side.BUY else quote(price, price + 100)
    accept_dealer_quote(router, None, DEALER, 1_000, answer)  # type: ignore[arg-type]
    assert router.accepted == ([(500, price)] if taken else [])


def test_dealer_quote_is_taken_without_a_lit_touch_on_that_side() -> None:
    """With no lit ask known there is nothing to trade through: the parent's limit and the
    policy decide, as before."""
    router = Router(Side.BUY, (999_900, None))
    answer = quote(1_000_400, 1_000_500)
    accept_dealer_quote(router, None, DEALER, 1_000, answer)  # type: ignore[arg-type]
    assert router.accepted == [(500, 1_000_500)]
