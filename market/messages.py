"""The one message vocabulary: venues, agents, the router, the event log and FIX all speak it.

Commands are imperative (`NewOrder`, `CancelOrder`, `ReplaceOrder`); events are past tense
or named by their role (`ExecutionReport`, `CancelRejected`, `TradePrint`, `BookUpdate`,
`L1Snapshot`, `L2Snapshot`). Every message is an immutable `NamedTuple` stamped with `t_ns`,
the simulated (or wall) time in integer nanoseconds at which its sender created it.

Numbers inside the engine are integers: prices in ticks of the instrument's price
increment, quantities in shares, fees in price ticks × shares (negative = rebate).
A market order has `price=None`.

Why `NamedTuple`: measured on CPython 3.11 it is about twice as cheap to create as a frozen
dataclass, it is truly immutable and slotted, and it is a plain tuple for the event log.
Why `StrEnum`: orjson writes a str-based enum as the string it is, about three times
faster than a plain `Enum` (whose value it must look up); code compares members by `is`.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Union

__all__ = [
    "Side",
    "OrderType",
    "TimeInForce",
    "Peg",
    "ExecType",
    "Liquidity",
    "RejectReason",
    "CancelReason",
    "NewOrder",
    "CancelOrder",
    "ReplaceOrder",
    "ExecutionReport",
    "CancelRejected",
    "MessageRejected",
    "QuoteRequest",
    "Quote",
    "AcceptQuote",
    "TradePrint",
    "BookUpdate",
    "L1Snapshot",
    "L2Snapshot",
    "NBBO",
    "Message",
    "MESSAGE_TYPES",
]


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class Peg(enum.StrEnum):
    """What a pegged (dark) order's price follows, from the NBBO at crossing time."""

    MIDPOINT = "midpoint"
    NEAR = "near"  # own side's touch: the bid for a buy
    FAR = "far"  # opposite touch: the ask for a buy


class TimeInForce(enum.StrEnum):
    DAY = "day"
    IOC = "ioc"  # immediate or cancel: the unfilled remainder is canceled at once
    FOK = "fok"  # fill or kill: the whole quantity at once, or a reject


class ExecType(enum.StrEnum):
    NEW = "new"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"


class Liquidity(enum.StrEnum):
    MAKER = "maker"  # the resting side of a trade
    TAKER = "taker"  # the aggressing side of a trade


class RejectReason(enum.StrEnum):
    INVALID_QUANTITY = "invalid_quantity"  # not a positive integer
    NOT_LOT_MULTIPLE = "not_lot_multiple"
    INVALID_PRICE = "invalid_price"  # missing, not an integer, or not positive
    OFF_TICK = "off_tick"
    INVALID_SIDE = "invalid_side"
    INVALID_ORDER_TYPE = "invalid_order_type"
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"  # includes post-only with IOC/FOK
    INVALID_ORDER_ID = "invalid_order_id"  # not an int
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    UNKNOWN_ORDER = "unknown_order"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_CANNOT_FILL = "fok_cannot_fill"
    QUANTITY_NOT_ABOVE_FILLED = "quantity_not_above_filled"  # replace to <= filled
    UNKNOWN_MESSAGE = "unknown_message"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    UNSUPPORTED = "unsupported"  # a field this venue does not take (a peg at a lit book)
    INVALID_MIN_QUANTITY = "invalid_min_quantity"
    NO_REFERENCE_PRICE = "no_reference_price"  # a pegged order while the NBBO is one-sided
    UNKNOWN_QUOTE = "unknown_quote"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_MISMATCH = "quote_mismatch"  # accept at a price or size the quote did not offer
    LAST_LOOK = "last_look"  # the dealer rejected after its hold: the price moved against it


class CancelReason(enum.StrEnum):
    REQUESTED = "requested"
    UNFILLED_REMAINDER = "unfilled_remainder"  # IOC or market order leftover
    SELF_TRADE = "self_trade"  # resting order canceled by self-trade prevention


# --- commands: participant -> venue ---------------------------------------------------


class NewOrder(NamedTuple):
    """A new order. `min_quantity` and `peg` are for dark pools (FIX MinQty, PegPriceType);
    a lit book rejects them as UNSUPPORTED. A pegged order's `price`, if given, is a limit."""

    t_ns: int
    participant: str
    order_id: int  # unique in the simulation: agents take ids from the simulation's allocator
    side: Side
    quantity: int
    price: int | None  # ticks; None for a market order (or a pegged order without a limit)
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.DAY
    post_only: bool = False
    min_quantity: int = 0  # smallest execution accepted; 0 = any
    peg: Peg | None = None


class CancelOrder(NamedTuple):
    t_ns: int
    participant: str
    order_id: int


class ReplaceOrder(NamedTuple):
    """Change price and/or total quantity (FIX semantics: `quantity` includes filled)."""

    t_ns: int
    participant: str
    order_id: int
    quantity: int
    price: int


class QuoteRequest(NamedTuple):
    """An RFQ: ask a dealer for a two-sided (or one-sided) price for `quantity`."""

    t_ns: int
    participant: str
    request_id: int  # unique in the simulation (the order id allocator serves)
    side: Side | None  # None asks for both sides
    quantity: int


class AcceptQuote(NamedTuple):
    """Trade on a dealer's quote: becomes an order `order_id` filled or rejected."""

    t_ns: int
    participant: str
    order_id: int
    quote_id: int
    side: Side  # BUY lifts the quote's ask, SELL hits its bid
    quantity: int
    price: int  # must equal the quote's price for that side and size


# --- events: venue -> participant or subscribers -----------------------------------------


class ExecutionReport(NamedTuple):
    t_ns: int
    venue: str
    participant: str
    order_id: int
    exec_type: ExecType
    side: Side
    price: int | None  # the order's limit price (None for market)
    quantity: int  # the order's total quantity
    last_quantity: int  # this fill's quantity (0 unless a fill)
    last_price: int  # this fill's price (0 unless a fill)
    leaves_quantity: int  # still working after this report
    filled_quantity: int  # cumulative filled
    fee: int  # this fill's fee in ticks x shares; negative is a rebate
    liquidity: Liquidity | None
    trade_id: int  # both sides of one trade share it (0 unless a fill)
    reason: RejectReason | CancelReason | None


class CancelRejected(NamedTuple):
    """A cancel or replace that could not be done; the order, if any, is unchanged."""

    t_ns: int
    venue: str
    participant: str
    order_id: int
    reason: RejectReason
    request: str  # "cancel" or "replace"


class MessageRejected(NamedTuple):
    """A message the venue could not take at all (unknown type, wrong sender)."""

    t_ns: int
    venue: str
    participant: str
    message_type: str
    reason: RejectReason
    text: str


class Quote(NamedTuple):
    """A dealer's prices: streamed to subscribers (participant "", request_id 0) or sent
    to one requester in answer to an RFQ. Tiers are (quantity, bid, ask), smallest first;
    a price is None where the dealer does not quote that side."""

    t_ns: int
    venue: str
    participant: str
    quote_id: int
    request_id: int
    tiers: tuple[tuple[int, int | None, int | None], ...]
    expires_ns: int  # valid until (inclusive), venue time


class TradePrint(NamedTuple):
    t_ns: int
    venue: str
    trade_id: int
    price: int
    quantity: int
    aggressor_side: Side


class BookUpdate(NamedTuple):
    """Level changes after one message: (side, price, quantity now resting; 0 = gone)."""

    t_ns: int
    venue: str
    changes: tuple[tuple[Side, int, int], ...]


class NBBO(NamedTuple):
    """The national best bid and offer as a consolidated feed computed it at `t_ns`."""

    t_ns: int
    bid_price: int | None  # ticks; None when no venue bids
    bid_quantity: int  # summed over the venues at bid_price
    ask_price: int | None
    ask_quantity: int
    bid_venues: tuple[str, ...]  # venues at bid_price, sorted by name
    ask_venues: tuple[str, ...]

    @property
    def is_crossed(self) -> bool:
        """Best bid above best ask (across venues; no single book is ever crossed)."""
        bid, ask = self.bid_price, self.ask_price
        return bid is not None and ask is not None and bid > ask

    @property
    def is_locked(self) -> bool:
        """Best bid equal to best ask."""
        bid = self.bid_price
        return bid is not None and bid == self.ask_price


class L1Snapshot(NamedTuple):
    t_ns: int
    venue: str
    bid_price: int | None
    bid_quantity: int
    ask_price: int | None
    ask_quantity: int


class L2Snapshot(NamedTuple):
    t_ns: int
    venue: str
    bids: tuple[tuple[int, int], ...]  # (price, quantity), best first
    asks: tuple[tuple[int, int], ...]


Message = Union[
    NewOrder,
    CancelOrder,
    ReplaceOrder,
    QuoteRequest,
    AcceptQuote,
    ExecutionReport,
    CancelRejected,
    MessageRejected,
    Quote,
    TradePrint,
    BookUpdate,
    L1Snapshot,
    L2Snapshot,
    NBBO,
]

MESSAGE_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        NewOrder,
        CancelOrder,
        ReplaceOrder,
        QuoteRequest,
        AcceptQuote,
        ExecutionReport,
        CancelRejected,
        MessageRejected,
        Quote,
        TradePrint,
        BookUpdate,
        L1Snapshot,
        L2Snapshot,
        NBBO,
    )
}

# The compiled constructors (market/_messages.pyx), when the install built them: the same
# classes, made by a C entry when called with positional arguments (3.5x cheaper than the
# NamedTuple's generated __new__; agents and venues make a message per order). Without a C
# compiler everything works the same, a little slower.
try:
    from market._messages import install as _install_constructors  # type: ignore[import-not-found]
except ImportError:
    COMPILED_CONSTRUCTORS = False
else:
    _install_constructors(MESSAGE_TYPES.values())
    COMPILED_CONSTRUCTORS = True
