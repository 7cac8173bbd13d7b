"""A consolidated feed (like a SIP): the NBBO built from several lit venues' top of book.

Concept. `ConsolidatedFeed` is a market-data subscriber of each lit venue (the caller wires
`venue.subscribe(feed.name, feed.on_market_data, venue_to_feed_latency)`) and a publisher
of `NBBO` messages to its own subscribers. It keeps the latest top of book per venue and,
on every update, recomputes the national best bid and offer:
- best bid = the highest bid price over the venues, its quantity = the sum of the bid
  quantities of every venue at that price, `bid_venues` = those venues (sorted by name);
- best ask likewise with the lowest ask price; a side no venue quotes is `None`, 0, `()`.

Time. An NBBO is computed, stamped (`t_ns`) and recorded the instant an update arrives at
the feed — so it already lags the venue by the venue->feed link. It then goes through the
feed's publication stage (`latency`, one link shared by every subscriber: the SIP's own
processing, one jitter draw per NBBO) and from there through each subscriber's link (its
`subscribe` latency, 0 by default). A message reaches a subscriber at
`t_venue + venue->feed + publication + subscriber latency`, whereas a participant that
subscribes to the venue directly sees the change at `t_venue + its own latency`: that gap is
the latency arbitrage the feed exists to model.

Invariants.
- Published only on change: an update that leaves the six NBBO fields (prices, quantities,
  venue lists) as they were publishes nothing.
- Each subscriber gets the NBBOs in the order they were computed (the publication stage and
  every subscriber link are FIFO `market.link.Link`s), and no NBBO twice.
- Crossed or locked consolidated markets (one venue's bid >= another's ask, usually because
  one of the two quotes is stale on its way to the feed) are published as they are, never
  hidden or repaired: `is_crossed` / `is_locked` say so.
- Deterministic: venues are kept in name order, so venue tuples never depend on the order in
  which venues first spoke, nor on string hashing.
- `feed.nbbo` is the feed's own, latest view: by the publication latency it runs ahead of
  what subscribers have received. Agents must learn the NBBO from their subscription.

Accepted messages. `L1Snapshot` replaces a venue's top. `L2Snapshot` (what a lit venue sends
a subscriber when it joins) gives its top too, so a feed wired to a venue that already has
resting orders knows that venue's quote at once. An update stamped earlier than the one held
for its venue is ignored (a venue wired twice with different latencies). Every other type
(`BookUpdate`, `TradePrint`, ...) is ignored, so a feed can sit on a venue's full stream.

A new subscriber first gets one `NBBO` snapshot, re-stamped with the time it subscribed,
carrying the last NBBO that left the publication stage (an empty one if none has yet), sent
through its own link only — like a venue's `L2Snapshot` on subscribe.

Complexity. Per update O(V) in the number of venues quoted (a recompute over all venues'
tops, no sorting: the per-venue table is kept in name order and re-sorted only when a new
venue first appears); per publication O(S) link sends in the number of subscribers. Fine for
a handful of venues; for hundreds, keep per-side price->venues indexes instead.

Known limits.
- The per-venue top is only as fresh as the venue's link to the feed; no staleness timeout
  (a venue that stops publishing keeps its last quote in the NBBO).
- No odd-lot / round-lot rules, no protected-quote rules, no venue-state messages (halts).
- A venue's `L2Snapshot` with depth 0 reads as an empty book.
- `NBBO` is defined here until it moves into `market.messages` (one vocabulary), and is
  logged as "out" at the feed's name, like a venue's publications.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np

from market.clock import Clock
from market.event_log import EventLog
from market.link import Latency, Link
from market.messages import NBBO, L1Snapshot, L2Snapshot

__all__ = ["NBBO", "ConsolidatedFeed"]


# One venue's top: (t_ns, bid_price, bid_quantity, ask_price, ask_quantity).
_Top: TypeAlias = tuple[int, int | None, int, int | None, int]


class ConsolidatedFeed:
    """Builds the NBBO from venues' market data and publishes it (see the module docstring)."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        latency: Latency = Latency(),
        rng: np.random.Generator | None = None,
        *,
        event_log: EventLog | None = None,
    ) -> None:
        latency.validate(f"consolidated feed {name!r}")
        self.name = name
        self.clock = clock
        self.event_log = event_log
        self._tops: dict[str, _Top] = {}  # venue -> top, kept in venue-name order
        self._nbbo = NBBO(clock.now_ns(), None, 0, None, 0, (), ())
        self._published = self._nbbo  # the last NBBO out of the publication stage
        self._publication = Link(clock, self._fan_out, latency, rng)
        self._subscribers: dict[str, Link] = {}
        self.updates = 0  # top-of-book updates taken (L1/L2 snapshots not ignored)
        self.publications = 0  # NBBOs computed and sent (snapshots on subscribe excluded)

    # --- wiring -----------------------------------------------------------------------

    def subscribe(
        self,
        subscriber: str,
        handler: Callable[[Any], object],
        latency: Latency = Latency(),
        rng: np.random.Generator | None = None,
    ) -> None:
        """Send NBBOs to `handler`, `latency` after they leave the publication stage.

        `rng` is the link's own random stream, needed when `latency` has jitter.
        """
        if subscriber in self._subscribers:
            raise ValueError(f"{self.name}: {subscriber!r} is already subscribed")
        latency.validate(f"{self.name}.subscribe({subscriber!r})")
        link = Link(self.clock, handler, latency, rng)
        self._subscribers[subscriber] = link
        snapshot = self._published._replace(t_ns=self.clock.now_ns())
        if self.event_log is not None:
            self.event_log.record(snapshot.t_ns, "out", self.name, snapshot)
        link.send(snapshot)

    def subscription(self, subscriber: str) -> Link:
        """The link carrying NBBOs to `subscriber` (a regime shift may change its latency:
        a venue whose reference turns stale)."""
        link = self._subscribers.get(subscriber)
        if link is None:
            raise KeyError(f"{self.name}: {subscriber!r} is not subscribed")
        return link

    # --- state ------------------------------------------------------------------------

    @property
    def nbbo(self) -> NBBO:
        """The feed's latest NBBO (ahead of what subscribers hold, by the publication latency)."""
        return self._nbbo

    @property
    def is_crossed(self) -> bool:
        return self._nbbo.is_crossed

    @property
    def is_locked(self) -> bool:
        return self._nbbo.is_locked

    @property
    def venues(self) -> tuple[str, ...]:
        """Venues the feed has heard a top of book from, sorted by name."""
        return tuple(self._tops)

    # --- inbound ----------------------------------------------------------------------

    def on_market_data(self, message: Any) -> None:
        cls = type(message)
        if cls is L1Snapshot:
            top: _Top = (message.t_ns, message.bid_price, message.bid_quantity,
                         message.ask_price, message.ask_quantity)
        elif cls is L2Snapshot:
            bids, asks = message.bids, message.asks
            top = (message.t_ns,
                   bids[0][0] if bids else None, bids[0][1] if bids else 0,
                   asks[0][0] if asks else None, asks[0][1] if asks else 0)
        else:
            return
        venue: str = message.venue
        tops = self._tops
        held = tops.get(venue)
        if held is None:
            tops[venue] = top
            if len(tops) > 1:  # keep name order; happens once per venue
                self._tops = tops = dict(sorted(tops.items()))
        elif top[0] < held[0]:
            return
        else:
            tops[venue] = top
        self.updates += 1
        self._recompute()

    def _recompute(self) -> None:
        # Why one pass over dict items instead of max()/sum() per side: one loop is the
        # cheapest in CPython for a handful of venues, and name order gives sorted tuples.
        bid: int | None = None
        bid_quantity = 0
        bid_venues: list[str] = []
        ask: int | None = None
        ask_quantity = 0
        ask_venues: list[str] = []
        for venue, (_, bp, bq, ap, aq) in self._tops.items():
            if bp is not None:
                if bid is None or bp > bid:
                    bid, bid_quantity, bid_venues = bp, bq, [venue]
                elif bp == bid:
                    bid_quantity += bq
                    bid_venues.append(venue)
            if ap is not None:
                if ask is None or ap < ask:
                    ask, ask_quantity, ask_venues = ap, aq, [venue]
                elif ap == ask:
                    ask_quantity += aq
                    ask_venues.append(venue)
        old = self._nbbo
        if (bid == old.bid_price and bid_quantity == old.bid_quantity and ask == old.ask_price
                and ask_quantity == old.ask_quantity and tuple(bid_venues) == old.bid_venues
                and tuple(ask_venues) == old.ask_venues):
            return
        now = self.clock.now_ns()
        nbbo = NBBO(now, bid, bid_quantity, ask, ask_quantity, tuple(bid_venues),
                    tuple(ask_venues))
        self._nbbo = nbbo
        self.publications += 1
        if self.event_log is not None:
            self.event_log.record(now, "out", self.name, nbbo)
        self._publication.send(nbbo)

    # --- outbound ---------------------------------------------------------------------

    def _fan_out(self, nbbo: NBBO) -> None:
        self._published = nbbo
        for link in self._subscribers.values():
            link.send(nbbo)
