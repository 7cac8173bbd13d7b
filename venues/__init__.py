"""Venue processes: lit exchanges, dark pools and single-dealer platforms, on one `Venue`
base (sessions over latency links, subscribers, event log, per-participant statistics).

Imports only `market`.
"""

from venues.dark_pool import DarkPool
from venues.lit_exchange import LitExchange
from venues.single_dealer_platform import SingleDealerPlatform
from venues.statistics import ParticipantStatistics
from venues.venue import Session, Venue

__all__ = ["DarkPool", "LitExchange", "ParticipantStatistics", "Session", "SingleDealerPlatform", "Venue"]
