"""The kernel: virtual-time loop and clock, messages, order book, latency links, market data
(consolidated feed, features), fundamental value, event log and RNG streams.

Imports nothing else of sorsim's; every other layer builds on it.
"""

from market.clock import Clock, LiveLoop, run
from market.consolidated_feed import ConsolidatedFeed
from market.errors import HandlerFailed, SimulationError, SimulationStalled, SorsimError
from market.event_log import EventLog, read_event_log
from market.fundamental import FundamentalValue
from market.link import Latency, Link
from market.order_book import OrderBook
from market.rng import BlockDraws, RngStreams
from market.virtual_loop import VirtualTimeLoop

__all__ = [
    "BlockDraws",
    "Clock",
    "ConsolidatedFeed",
    "EventLog",
    "FundamentalValue",
    "HandlerFailed",
    "Latency",
    "Link",
    "LiveLoop",
    "OrderBook",
    "RngStreams",
    "SimulationError",
    "SimulationStalled",
    "SorsimError",
    "VirtualTimeLoop",
    "read_event_log",
    "run",
]
