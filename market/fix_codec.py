"""The FIX 4.4 codec: `simplefix.FixMessage` <-> the message vocabulary, both ways.

Concept. One `FixCodec` per instrument (its `symbol` and `price_increment`, the dollars of
one tick). `encode(message)` gives a FixMessage (MsgType, the header fields the message
itself defines, body fields); `decode(fix)` gives the message back, field for field: the
in-process switch (`market.fix_switch`) runs every message of the router's links through
both and the event log does not change, which is the test that the codec loses nothing.
Numbers are integers inside (ticks, shares, nanoseconds) and decimals on the wire: a price
is ticks x `price_increment` written exactly (no float ever), and a wire price that is not
a whole number of ticks is an error, not a rounding.

The mapping (tag numbers in brackets):
- header: the sender of an order, quote request or accept is `participant` (SenderCompID
  49); the venue sends reports, rejects, quotes and market data (49 = venue) to
  `participant` (TargetCompID 56). `t_ns` is TransactTime (60, UTC to the nanosecond) where
  the message type has one, else SendingTime (52): BusinessMessageReject and market data.
- NewOrder -> NewOrderSingle D: ClOrdID (11) = order id, Symbol (55), Side (54 1/2),
  OrderQty (38), OrdType (40: 1 market, 2 limit), Price (44) when there is one,
  TimeInForce (59: 0 day, 3 IOC, 4 FOK), MinQty (110) when > 0, ExecInst (18) for the
  peg (M midpoint, R primary = near touch, P market = far touch) and post-only (6,
  participate don't initiate). OrdType stays 1/2 for a pegged order so that the
  vocabulary's order type survives; OrdType P (pegged) is read too, as limit when it has a
  price.
- AcceptQuote -> D with OrdType D (previously quoted) and QuoteID (117).
- CancelOrder -> OrderCancelRequest F, ReplaceOrder -> OrderCancelReplaceRequest G:
  OrigClOrdID (41) = the order id, ClOrdID (11) the request's own id. FIX requires the
  order's Side on both, which these messages do not carry: the caller passes `side`.
- ExecutionReport -> 8: ExecType (150: 0 new, F trade, 4 canceled, 5 replaced, 8
  rejected) with OrdStatus (39; a trade is a fill when 39 = 2, else a partial fill), the
  order's Side, OrderQty, Price, LeavesQty (151), CumQty (14), AvgPx (6), LastQty (32) and
  LastPx (31) when a fill, Commission (12, CommType 13 = 3 absolute) = fee x increment,
  LastLiquidityInd (851: 1 added = maker, 2 removed = taker), SecondaryExecID (527) = the
  trade id both sides share, Text (58) = the reason's value, and OrdRejReason (103) for a
  reject. OrderID (37) and ExecID (17) are the sender's (the caller may pass its own).
- CancelRejected -> OrderCancelReject 9: CxlRejResponseTo (434: 1 cancel, 2 replace),
  CxlRejReason (102), Text = reason.
- MessageRejected -> BusinessMessageReject j: RefMsgType (372), BusinessRejectReason (380),
  Text = "<message type>: <reason>: <text>".
- QuoteRequest -> R: QuoteReqID (131), one NoRelatedSym (146) entry: Symbol, Side (absent:
  both sides), OrderQty, TransactTime.
- Quote -> S (one tier: FIX 4.4's Quote has one bid and one offer): QuoteReqID when it
  answers an RFQ (a streamed quote has none, and no participant), QuoteID, OrderQty = the
  tier's quantity, BidPx/OfferPx (132/133, absent when not quoted) with BidSize/OfferSize,
  ValidUntilTime (62) = expires_ns.
- L1Snapshot -> MarketDataSnapshotFullRefresh W with exactly two entries, a bid then an
  offer (MDEntryType 269 = 0/1), the price absent on an empty side; L2Snapshot -> W with
  one entry per level carrying MDEntryPositionNo (290, 1 = best): that number is what
  tells depth from top of book. BookUpdate -> MarketDataIncrementalRefresh X, one entry per
  changed level (MDUpdateAction 279: 1 change, 2 delete when the level is gone);
  TradePrint -> X with one trade entry (269 = 2, MDEntryID 278 = trade id, Text =
  "aggressor=buy|sell").

Errors. `FixEncodeError` for a message FIX cannot carry as it is (a multi-tier quote, a
cancel without its side). `FixDecodeError` names the tag and the problem and says which
reject the session should send: a session Reject (3) with `session_reject_reason` (1
required tag missing, 5 value incorrect, 6 incorrect data format, 13 tag twice, 11 invalid
MsgType) or, for `business_reject_reason` (2 unknown security, 3 unsupported message
type), a BusinessMessageReject (j).

Known limits. One instrument per codec; no multi-tier quotes (MassQuote), no NBBO message
(the consolidated feed is not a venue's FIX output); ExecInst pegs without offsets.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import simplefix  # type: ignore[import-untyped]

from market.errors import SorsimError
from market.messages import (
    AcceptQuote,
    BookUpdate,
    CancelOrder,
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Liquidity,
    MessageRejected,
    NewOrder,
    OrderType,
    Peg,
    Quote,
    QuoteRequest,
    RejectReason,
    ReplaceOrder,
    Side,
    TimeInForce,
    TradePrint,
)

__all__ = [
    "FixCodec",
    "FixDecodeError",
    "FixEncodeError",
    "TAG_NAMES",
    "format_timestamp",
    "parse_timestamp",
    "order_status",
]

BEGIN_STRING = b"FIX.4.4"

TAG_NAMES: dict[int, str] = {
    6: "AvgPx", 7: "BeginSeqNo", 8: "BeginString", 9: "BodyLength", 10: "CheckSum",
    11: "ClOrdID", 12: "Commission", 13: "CommType", 14: "CumQty", 16: "EndSeqNo",
    17: "ExecID", 18: "ExecInst", 31: "LastPx", 32: "LastQty", 34: "MsgSeqNum",
    35: "MsgType", 36: "NewSeqNo", 37: "OrderID", 38: "OrderQty", 39: "OrdStatus",
    40: "OrdType", 41: "OrigClOrdID", 43: "PossDupFlag", 44: "Price", 45: "RefSeqNum",
    49: "SenderCompID", 52: "SendingTime", 54: "Side", 55: "Symbol", 56: "TargetCompID",
    58: "Text", 59: "TimeInForce", 60: "TransactTime", 62: "ValidUntilTime",
    98: "EncryptMethod", 102: "CxlRejReason", 103: "OrdRejReason", 108: "HeartBtInt",
    110: "MinQty", 112: "TestReqID", 117: "QuoteID", 122: "OrigSendingTime",
    123: "GapFillFlag", 131: "QuoteReqID", 132: "BidPx", 133: "OfferPx", 134: "BidSize",
    135: "OfferSize", 141: "ResetSeqNumFlag", 146: "NoRelatedSym", 150: "ExecType",
    151: "LeavesQty", 262: "MDReqID", 263: "SubscriptionRequestType", 264: "MarketDepth",
    267: "NoMDEntryTypes", 268: "NoMDEntries", 269: "MDEntryType", 270: "MDEntryPx",
    271: "MDEntrySize", 278: "MDEntryID", 279: "MDUpdateAction", 290: "MDEntryPositionNo",
    371: "RefTagID", 372: "RefMsgType", 373: "SessionRejectReason", 379: "BusinessRejectRefID",
    380: "BusinessRejectReason", 434: "CxlRejResponseTo", 527: "SecondaryExecID",
    553: "Username", 554: "Password", 851: "LastLiquidityInd",
}

# FIX SessionRejectReason (373) and BusinessRejectReason (380) values used here.
REQUIRED_TAG_MISSING = 1
VALUE_INCORRECT = 5
INCORRECT_DATA_FORMAT = 6
TAG_APPEARS_TWICE = 13
INVALID_MSG_TYPE = 11
UNKNOWN_SECURITY = 2
UNSUPPORTED_MESSAGE_TYPE = 3


class FixEncodeError(SorsimError, ValueError):
    """A message FIX cannot carry as it is; says which message and why."""


class FixDecodeError(SorsimError, ValueError):
    """A FIX message that does not decode: `tag`, `problem`, and the reject it deserves
    (`session_reject_reason` for a Reject (3), else `business_reject_reason` for a j)."""

    def __init__(self, tag: int, problem: str, *, session_reject_reason: int | None = None,
                 business_reject_reason: int | None = None) -> None:
        name = TAG_NAMES.get(tag)
        super().__init__(f"tag {tag} ({name}): {problem}" if name else f"tag {tag}: {problem}")
        self.tag = tag
        self.problem = problem
        if session_reject_reason is None and business_reject_reason is None:
            session_reject_reason = VALUE_INCORRECT
        self.session_reject_reason = session_reject_reason
        self.business_reject_reason = business_reject_reason


def _missing(tag: int) -> FixDecodeError:
    return FixDecodeError(tag, "required tag missing", session_reject_reason=REQUIRED_TAG_MISSING)


def _bad_format(tag: int, value: bytes, expected: str) -> FixDecodeError:
    return FixDecodeError(tag, f"{_show(value)} is not {expected}",
                          session_reject_reason=INCORRECT_DATA_FORMAT)


def _bad_value(tag: int, value: bytes, why: str) -> FixDecodeError:
    return FixDecodeError(tag, f"{_show(value)} {why}", session_reject_reason=VALUE_INCORRECT)


def _show(value: bytes) -> str:
    text = value[:40].decode("ascii", "replace")
    return repr(text + ("..." if len(value) > 40 else ""))


# --- timestamps ----------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS = 1_000_000_000
# The last second formatted, (second, b"YYYYMMDD-HH:MM:SS."): replaced whole, never
# changed in place, so a reader in another thread never sees half an update.
_last_second: tuple[int, bytes] = (-1, b"")
_parse_cache: dict[bytes, int] = {}


def format_timestamp(t_ns: int) -> bytes:
    """A UTCTimestamp to the nanosecond: b"20240102-13:45:06.123456789"."""
    second, nanos = divmod(t_ns, _NS)
    if t_ns < 0:
        raise FixEncodeError(f"time {t_ns} ns is before 1970: no UTCTimestamp for it")
    global _last_second
    cached = _last_second
    if cached[0] != second:
        cached = _last_second = (
            second, (_EPOCH + timedelta(seconds=second)).strftime("%Y%m%d-%H:%M:%S.").encode())
    return b"%s%09d" % (cached[1], nanos)


def parse_timestamp(value: bytes, tag: int) -> int:
    """Nanoseconds since the epoch from a UTCTimestamp with 0, 3, 6 or 9 decimals."""
    size = len(value)
    if size == 27:  # to the nanosecond, in a second read before: the common case
        seconds = _parse_cache.get(value[:17])
        if seconds is not None and value[17] == 46 and value[18:].isdigit():  # 46: "."
            return seconds * _NS + int(value[18:])
    if size not in (17, 21, 24, 27) or value[8:9] != b"-" or value[11:12] != b":" \
            or value[14:15] != b":" or (size > 17 and value[17:18] != b"."):
        raise _bad_format(tag, value, "a UTCTimestamp (YYYYMMDD-HH:MM:SS[.sss[sss[sss]]])")
    head = value[:17]
    seconds = _parse_cache.get(head)
    if seconds is None:
        digits = head[:8] + head[9:11] + head[12:14] + head[15:17]
        if not digits.isdigit() or not digits.isascii():
            raise _bad_format(tag, value, "a UTCTimestamp (YYYYMMDD-HH:MM:SS[.sss[sss[sss]]])")
        try:
            moment = datetime(int(head[:4]), int(head[4:6]), int(head[6:8]), int(head[9:11]),
                              int(head[12:14]), int(head[15:17]))
        except ValueError as error:
            raise _bad_value(tag, value, f"is not a valid time: {error}") from None
        seconds = calendar.timegm(moment.timetuple())
        if len(_parse_cache) > 4096:
            _parse_cache.clear()
        _parse_cache[head] = seconds
    fraction = value[18:]
    if fraction and (not fraction.isdigit() or not fraction.isascii()):
        raise _bad_format(tag, value, "a UTCTimestamp (YYYYMMDD-HH:MM:SS[.sss[sss[sss]]])")
    nanos = int(fraction) * 10 ** (9 - len(fraction)) if fraction else 0
    return seconds * _NS + nanos


# --- numbers ---------------------------------------------------------------------------------


def _int(value: bytes, tag: int) -> int:
    """An integer field; a quantity written as a decimal with a zero fraction is taken."""
    if value.isdigit() and value.isascii():
        return int(value)
    text = value
    negative = text[:1] == b"-"
    if negative:
        text = text[1:]
    whole, dot, fraction = text.partition(b".")
    if (whole or fraction) and (not whole or whole.isdigit()) \
            and (not fraction or fraction.isdigit()) and text.isascii():
        if fraction.strip(b"0"):
            raise _bad_value(tag, value, "is not a whole number")
        number = int(whole or b"0")
        return -number if negative else number
    raise _bad_format(tag, value, "an integer")


def _seq(value: bytes, tag: int) -> int:
    if value.isdigit() and value.isascii():
        return int(value)
    raise _bad_format(tag, value, "a non-negative integer")


# Enum members read on every message, as module constants: on CPython 3.11 `ExecType.FILL`
# goes through the enum's class attribute lookup, about ten times a global's cost.
_PARTIAL_FILL, _FILL, _CANCELED, _REJECTED = (
    ExecType.PARTIAL_FILL, ExecType.FILL, ExecType.CANCELED, ExecType.REJECTED)
_LIMIT, _MARKET, _DAY, _MIDPOINT = OrderType.LIMIT, OrderType.MARKET, TimeInForce.DAY, Peg.MIDPOINT


def order_status(exec_type: ExecType, filled: int, leaves: int) -> bytes:
    """FIX OrdStatus (39) after a report of `exec_type` (filled and leaves after it)."""
    if exec_type is _REJECTED:
        return b"8"
    if exec_type is _CANCELED:
        return b"4"
    if exec_type is _FILL:
        return b"2"
    if exec_type is _PARTIAL_FILL:
        return b"1"  # even with nothing left: the exec type decides fill or partial fill
    if filled and not leaves:
        return b"2"
    return b"1" if filled else b"0"


# --- enumerations ----------------------------------------------------------------------------

_SIDE = {Side.BUY: b"1", Side.SELL: b"2"}
_SIDE_BACK = {b"1": Side.BUY, b"2": Side.SELL}
_TIF = {TimeInForce.DAY: b"0", TimeInForce.IOC: b"3", TimeInForce.FOK: b"4"}
_TIF_BACK = {v: k for k, v in _TIF.items()}
_PEG = {Peg.MIDPOINT: "M", Peg.NEAR: "R", Peg.FAR: "P"}
_PEG_BACK = {v: k for k, v in _PEG.items()}
_POST_ONLY = "6"
_EXEC_TYPE = {ExecType.NEW: b"0", ExecType.PARTIAL_FILL: b"F", ExecType.FILL: b"F",
              ExecType.CANCELED: b"4", ExecType.REPLACED: b"5", ExecType.REJECTED: b"8"}
_EXEC_TYPE_BACK = {b"0": ExecType.NEW, b"4": ExecType.CANCELED, b"5": ExecType.REPLACED,
                   b"8": ExecType.REJECTED}
_LIQUIDITY = {Liquidity.MAKER: b"1", Liquidity.TAKER: b"2"}
_LIQUIDITY_BACK = {v: k for k, v in _LIQUIDITY.items()}
_REASONS: dict[bytes, RejectReason | CancelReason] = {
    r.value.encode(): r for r in (*RejectReason, *CancelReason)}
_REASON_TEXT = {reason: text for text, reason in _REASONS.items()}
_REQUEST = {"cancel": b"1", "replace": b"2"}
_REQUEST_BACK = {v: k for k, v in _REQUEST.items()}
# What the vocabulary's message types are called in FIX (RefMsgType of a reject).
_MSG_TYPE_OF = {"NewOrder": b"D", "AcceptQuote": b"D", "CancelOrder": b"F",
                "ReplaceOrder": b"G", "QuoteRequest": b"R"}
# OrdRejReason (103) of a reject reason; anything else is 99 (other), the Text says which.
_ORD_REJ_REASON = {
    RejectReason.UNKNOWN_ORDER: b"5", RejectReason.DUPLICATE_ORDER_ID: b"6",
    RejectReason.INVALID_QUANTITY: b"13", RejectReason.NOT_LOT_MULTIPLE: b"13",
    RejectReason.UNSUPPORTED: b"11", RejectReason.POST_ONLY_WOULD_CROSS: b"11",
    RejectReason.QUOTE_EXPIRED: b"8", RejectReason.UNKNOWN_QUOTE: b"5",
}
_CXL_REJ_REASON = {RejectReason.UNKNOWN_ORDER: b"1"}
_BUSINESS_REJECT_REASON = {RejectReason.UNKNOWN_MESSAGE: b"3",
                           RejectReason.UNKNOWN_PARTICIPANT: b"6",
                           RejectReason.UNSUPPORTED: b"3"}

_CACHED = 4096  # prices each FixCodec remembers, both ways

# Tags as the bytes simplefix keeps them.
T = {n: str(n).encode() for n in TAG_NAMES}
_SENDER, _TARGET, _SENDING_TIME = T[49], T[56], T[52]


class FixCodec:
    """Encodes and decodes one instrument's messages (see the module docstring)."""

    __slots__ = ("symbol", "price_increment", "_symbol", "_places", "_unit", "_scale",
                 "_texts", "_ticks")

    def __init__(self, symbol: str, price_increment: Decimal | str | float) -> None:
        if not symbol or "\x01" in symbol or "=" in symbol:
            raise ValueError(f"symbol {symbol!r} cannot be written in FIX")
        increment = Decimal(str(price_increment))
        if not increment.is_finite() or increment <= 0:
            raise ValueError(f"price_increment {price_increment!r} must be a decimal > 0")
        self.symbol = symbol
        self.price_increment = increment
        self._symbol = symbol.encode()
        exponent = increment.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        self._places = max(0, -exponent)  # decimals a price is written with
        self._unit = int(increment.scaleb(self._places))  # one tick in units of 10^-places
        self._scale = 10 ** self._places
        # A market trades at a few hundred prices at a time: both directions are cached
        # (emptied when they reach _CACHED entries), each a dict lookup instead of a few
        # microseconds of arithmetic per price field.
        self._texts: dict[int, bytes] = {}
        self._ticks: dict[bytes, int] = {}

    # --- prices --------------------------------------------------------------------------

    def price_text(self, ticks: int) -> bytes:
        """Ticks as the exact decimal the wire carries (b"100.0100" at 0.0001 a tick)."""
        text = self._texts.get(ticks)
        if text is not None:
            return text
        units = ticks * self._unit
        if not self._places:
            text = b"%d" % units
        else:
            sign = b"-" if units < 0 else b""
            whole, fraction = divmod(abs(units), self._scale)
            text = b"%s%d.%0*d" % (sign, whole, self._places, fraction)
        if len(self._texts) >= _CACHED:
            self._texts.clear()
        self._texts[ticks] = text
        return text

    def ticks(self, value: bytes, tag: int) -> int:
        """A wire decimal as ticks; not a whole number of ticks is an error naming `tag`."""
        ticks = self._ticks.get(value)
        if ticks is None:
            ticks = self._read_ticks(value, tag)  # raises for what is not a price
            if len(self._ticks) >= _CACHED:
                self._ticks.clear()
            self._ticks[value] = ticks
        return ticks

    def _read_ticks(self, value: bytes, tag: int) -> int:
        text = value
        negative = text[:1] == b"-"
        if negative:
            text = text[1:]
        whole, _, fraction = text.partition(b".")
        if not (whole or fraction) or (whole and not whole.isdigit()) \
                or (fraction and not fraction.isdigit()) or not text.isascii():
            raise _bad_format(tag, value, "a decimal")
        fraction = fraction.rstrip(b"0")
        if len(fraction) > self._places:
            raise _bad_value(tag, value, f"is not a multiple of the price increment "
                             f"{self.price_increment}")
        units: int = int(whole or b"0") * self._scale
        if fraction:  # fewer digits than places: scale up (len(fraction) <= places here)
            units += int(fraction) * int(10 ** (self._places - len(fraction)))
        ticks, rest = divmod(units, self._unit)
        if rest:
            raise _bad_value(tag, value, f"is not a multiple of the price increment "
                             f"{self.price_increment}")
        return -ticks if negative else ticks

    def _price_or_none(self, fields: dict[bytes, bytes], tag: int) -> int | None:
        value = fields.get(T[tag])
        return None if value is None else self.ticks(value, tag)

    # --- encoding ------------------------------------------------------------------------

    def encode(self, message: Any, **context: Any) -> simplefix.FixMessage:
        """The FIX message for `message`. `context` holds what FIX needs and the message
        does not carry: `side` for CancelOrder/ReplaceOrder; optional identifiers the
        sender assigns (`cl_ord_id`, `orig_cl_ord_id`, `order_id`, `exec_id`,
        `md_req_id`, `quote_req_id`); `notional` (sum of fill quantity x price, ticks) for
        an ExecutionReport's AvgPx; `order_status` for an OrderCancelReject."""
        encoder = _ENCODERS.get(type(message))
        if encoder is None:
            raise FixEncodeError(f"{type(message).__name__} has no FIX 4.4 encoding here")
        header, msg_type, body = encoder(self, message, context)
        fix = simplefix.FixMessage()
        fix.begin_string = BEGIN_STRING
        fix.message_type = msg_type
        fix.pairs = [(b"8", BEGIN_STRING), (b"35", msg_type), *header, *body]
        fix.header_index = 2 + len(header)
        return fix

    def encode_fields(self, message: Any, **context: Any) -> tuple[bytes, bytes]:
        """(MsgType, body) of `encode(message, **context)`, the body as wire bytes
        (`tag=value|...|`) without the header fields: what a session sends under its own
        header. ExecutionReports and OrderCancelRejects are written as bytes directly (the
        gateway's hot path)."""
        if type(message) is ExecutionReport:
            return b"8", self._execution_report_fields(message, context)
        if type(message) is CancelRejected:
            return b"9", self._cancel_rejected_fields(message, context)
        fix = self.encode(message, **context)
        return fix.message_type, b"".join(
            [b"%s=%s\x01" % pair for pair in fix.pairs[fix.header_index:]])

    def _new_order(self, m: NewOrder, context: dict[str, Any]) -> _Parts:
        if m.order_type is OrderType.LIMIT:
            ord_type = b"2"
        elif m.order_type is OrderType.MARKET:
            ord_type = b"1"
        else:
            raise FixEncodeError(f"NewOrder {m.order_id}: order type {m.order_type!r}")
        body = [(T[11], _text(context.get("cl_ord_id", m.order_id))), (T[55], self._symbol),
                (T[54], _side(m.side, "NewOrder")), (T[60], format_timestamp(m.t_ns)),
                (T[38], _quantity(m.quantity)), (T[40], ord_type)]
        if m.price is not None:
            body.append((T[44], self.price_text(_integer(m.price, "price"))))
        tif = _TIF.get(m.time_in_force)
        if tif is None:
            raise FixEncodeError(f"NewOrder {m.order_id}: time in force {m.time_in_force!r}")
        body.append((T[59], tif))
        if m.min_quantity:
            body.append((T[110], _quantity(m.min_quantity)))
        instructions = []
        if m.post_only is True:
            instructions.append(_POST_ONLY)
        elif m.post_only is not False:
            raise FixEncodeError(f"NewOrder {m.order_id}: post_only {m.post_only!r}")
        if m.peg is not None:
            peg = _PEG.get(m.peg)
            if peg is None:
                raise FixEncodeError(f"NewOrder {m.order_id}: peg {m.peg!r}")
            instructions.append(peg)
        if instructions:
            body.append((T[18], " ".join(instructions).encode()))
        return [(_SENDER, _text(m.participant))], b"D", body

    def _accept_quote(self, m: AcceptQuote, context: dict[str, Any]) -> _Parts:
        body = [(T[11], _text(context.get("cl_ord_id", m.order_id))), (T[55], self._symbol),
                (T[54], _side(m.side, "AcceptQuote")), (T[60], format_timestamp(m.t_ns)),
                (T[38], _quantity(m.quantity)), (T[40], b"D"),
                (T[44], self.price_text(_integer(m.price, "price"))),
                (T[117], _text(context.get("quote_id", m.quote_id)))]
        return [(_SENDER, _text(m.participant))], b"D", body

    def _cancel(self, m: CancelOrder, context: dict[str, Any]) -> _Parts:
        side = context.get("side")
        body = [(T[41], _text(context.get("orig_cl_ord_id", m.order_id))),
                (T[11], _text(context.get("cl_ord_id", f"{m.order_id}.cancel"))),
                (T[55], self._symbol), (T[54], _side(side, f"CancelOrder {m.order_id}")),
                (T[60], format_timestamp(m.t_ns))]
        return [(_SENDER, _text(m.participant))], b"F", body

    def _replace(self, m: ReplaceOrder, context: dict[str, Any]) -> _Parts:
        side = context.get("side")
        body = [(T[41], _text(context.get("orig_cl_ord_id", m.order_id))),
                (T[11], _text(context.get("cl_ord_id", f"{m.order_id}.replace"))),
                (T[55], self._symbol), (T[54], _side(side, f"ReplaceOrder {m.order_id}")),
                (T[60], format_timestamp(m.t_ns)), (T[38], _quantity(m.quantity)),
                (T[40], b"2"), (T[44], self.price_text(_integer(m.price, "price")))]
        return [(_SENDER, _text(m.participant))], b"G", body

    def _execution_report(self, m: ExecutionReport, context: dict[str, Any]) -> _Parts:
        body = [(tag, value) for tag, value in _WIRE_FIELD.findall(
            self._execution_report_fields(m, context))]
        return [(_SENDER, _text(m.venue)), (_TARGET, _text(m.participant))], b"8", body

    def _execution_report_fields(self, m: ExecutionReport, context: dict[str, Any]) -> bytes:
        get = context.get
        return self.execution_report_fields(
            m, get("cl_ord_id"), get("exec_id"), get("notional"), get("order_status"),
            get("orig_cl_ord_id"), get("order_id"))

    def execution_report_fields(
        self, m: ExecutionReport, cl_ord_id: Any = None, exec_id: Any = None,
        notional: int | None = None, status: bytes | None = None, orig_cl_ord_id: Any = None,
        order_id: Any = None,
    ) -> bytes:
        """`encode_fields(m, cl_ord_id=..., exec_id=..., notional=..., order_status=...,
        orig_cl_ord_id=..., order_id=...)[1]` for an ExecutionReport, with its arguments in
        place (None: the report's own value): the gateway's hottest encoding, the body
        written by one bytes format (twenty (tag, value) pairs joined one by one cost about
        three times as much); `encode` splits it back into pairs."""
        (t_ns, venue, participant, report_order_id, kind, side, price, quantity, last_quantity,
         last_price, leaves, filled, fee, liquidity, trade_id, reason) = m
        exec_type = _EXEC_TYPE.get(kind)
        if exec_type is None:
            raise FixEncodeError(f"ExecutionReport {report_order_id}: exec type {kind!r}")
        if (type(quantity) is not int or type(last_quantity) is not int
                or type(last_price) is not int or type(leaves) is not int
                or type(filled) is not int or type(fee) is not int or type(trade_id) is not int
                or (price is not None and type(price) is not int)):
            raise FixEncodeError(f"ExecutionReport {report_order_id}: quantities, prices, fee "
                                 f"and trade id must be ints: {m!r}")
        side_code = _SIDE.get(side) if isinstance(side, Side) else None
        if side_code is None:
            raise FixEncodeError(f"ExecutionReport {report_order_id}: side {side!r} is not a "
                                 "Side")
        if not filled:
            notional = 0
        elif notional is None and filled == last_quantity:
            notional = last_quantity * last_price
        elif notional is None:
            raise FixEncodeError(f"ExecutionReport {report_order_id}: AvgPx (6) needs the "
                                 "order's notional (context notional=...)")
        optional = b""  # Commission, SecondaryExecID, Text, LastLiquidityInd: those present
        if fee:
            optional = b"12=%s\x0113=3\x01" % self.price_text(fee)
        if trade_id:
            optional += b"527=%d\x01" % trade_id
        if reason is not None:
            text = _REASON_TEXT.get(reason)
            if text is None:
                raise FixEncodeError(f"ExecutionReport {report_order_id}: reason {reason!r}")
            optional += b"58=%s\x01" % text
        if liquidity is not None:
            code = _LIQUIDITY.get(liquidity)
            if code is None:
                raise FixEncodeError(f"ExecutionReport {report_order_id}: liquidity "
                                     f"{liquidity!r}")
            optional += b"851=%s\x01" % code
        # `_text` and `price_text` inline for what the gateway passes: bytes identifiers
        # (checked here the same way), cached prices.
        if cl_ord_id is None:
            cl_ord_id = report_order_id
        if type(cl_ord_id) is not bytes or not cl_ord_id or b"\x01" in cl_ord_id:
            cl_ord_id = _text(cl_ord_id)
        if not exec_id:
            exec_id = f"{venue}-{t_ns}-{report_order_id}-{kind.value}-{filled}"
        if type(exec_id) is not bytes or b"\x01" in exec_id:
            exec_id = _text(exec_id)
        texts = self._texts
        price_text = self.price_text
        return _REPORT_FIELDS % (
            _text(report_order_id if order_id is None else order_id), cl_ord_id,
            b"" if orig_cl_ord_id is None else b"41=%s\x01" % _text(orig_cl_ord_id),
            exec_id, exec_type, status or order_status(kind, filled, leaves),
            b"103=%s\x01" % _ORD_REJ_REASON.get(reason, b"99")  # type: ignore[arg-type]
            if kind is _REJECTED else b"",
            self._symbol, side_code, quantity,
            b"" if price is None else b"44=%s\x01" % (texts.get(price) or price_text(price)),
            b"32=%d\x0131=%s\x01" % (last_quantity, texts.get(last_price)
                                      or price_text(last_price))
            if last_quantity or last_price else b"",
            leaves, filled, self._average_text(notional, filled), format_timestamp(t_ns),
            optional)

    def _average_text(self, notional: int, filled: int) -> bytes:
        """notional / filled ticks as a decimal price, to 10 more places than a tick."""
        if not filled:
            return self.price_text(0)
        if notional % filled == 0:
            return self.price_text(notional // filled)
        value = Decimal(notional) / Decimal(filled) * self.price_increment
        return f"{value.quantize(Decimal(1).scaleb(-self._places - 10)).normalize():f}".encode()

    def _cancel_rejected(self, m: CancelRejected, context: dict[str, Any]) -> _Parts:
        body = [(tag, value) for tag, value in _WIRE_FIELD.findall(
            self._cancel_rejected_fields(m, context))]
        return [(_SENDER, _text(m.venue)), (_TARGET, _text(m.participant))], b"9", body

    def _cancel_rejected_fields(self, m: CancelRejected, context: dict[str, Any]) -> bytes:
        request = _REQUEST.get(m.request)
        if request is None:
            raise FixEncodeError(f"CancelRejected {m.order_id}: request {m.request!r}")
        get = context.get
        return b"37=%s\x0111=%s\x0141=%s\x0139=%s\x0160=%s\x01434=%s\x01102=%s\x0158=%s\x01" % (
            _text(get("order_id", m.order_id)),
            _text(get("cl_ord_id", f"{m.order_id}.{m.request}")),
            _text(get("orig_cl_ord_id", m.order_id)), get("order_status") or b"8",
            format_timestamp(m.t_ns), request, _CXL_REJ_REASON.get(m.reason, b"99"),
            _reason_text(m.reason, "CancelRejected"))

    def _message_rejected(self, m: MessageRejected, context: dict[str, Any]) -> _Parts:
        name = _text(m.message_type)
        if b":" in name:
            raise FixEncodeError(f"MessageRejected: message type {m.message_type!r} has a colon")
        body = [(T[372], _MSG_TYPE_OF.get(m.message_type, name)),
                (T[380], _BUSINESS_REJECT_REASON.get(m.reason, b"0")),
                (T[58], name + b": " + _reason_text(m.reason, "MessageRejected") + b": "
                 + _text(m.text, empty=True))]
        return [(_SENDER, _text(m.venue)), (_TARGET, _text(m.participant)),
                (_SENDING_TIME, format_timestamp(m.t_ns))], b"j", body

    def _quote_request(self, m: QuoteRequest, context: dict[str, Any]) -> _Parts:
        body = [(T[131], _text(context.get("quote_req_id", m.request_id))), (T[146], b"1"),
                (T[55], self._symbol)]
        if m.side is not None:
            body.append((T[54], _side(m.side, f"QuoteRequest {m.request_id}")))
        body += [(T[38], _quantity(m.quantity)), (T[60], format_timestamp(m.t_ns))]
        return [(_SENDER, _text(m.participant))], b"R", body

    def _quote(self, m: Quote, context: dict[str, Any]) -> _Parts:
        if len(m.tiers) != 1:
            raise FixEncodeError(f"Quote {m.quote_id} has {len(m.tiers)} tiers: a FIX 4.4 "
                                 "Quote (S) carries one")
        if (m.participant == "") != (m.request_id == 0):
            raise FixEncodeError(f"Quote {m.quote_id}: an RFQ answer has both a participant "
                                 "and a request id, a streamed quote neither")
        quantity, bid, ask = m.tiers[0]
        header = [(_SENDER, _text(m.venue))]
        body = []
        if m.request_id:
            header.append((_TARGET, _text(m.participant)))
            body.append((T[131], _text(context.get("quote_req_id", m.request_id))))
        body += [(T[117], b"%d" % _integer(m.quote_id, "quote_id")), (T[55], self._symbol),
                 (T[38], _quantity(quantity))]
        if bid is not None:
            body.append((T[132], self.price_text(_integer(bid, "bid"))))
        if ask is not None:
            body.append((T[133], self.price_text(_integer(ask, "ask"))))
        if bid is not None:
            body.append((T[134], _quantity(quantity)))
        if ask is not None:
            body.append((T[135], _quantity(quantity)))
        body += [(T[62], format_timestamp(m.expires_ns)), (T[60], format_timestamp(m.t_ns))]
        return header, b"S", body

    def _md_header(self, m: Any, context: dict[str, Any]) -> tuple[list[_Pair], list[_Pair]]:
        header = [(_SENDER, _text(m.venue)), (_SENDING_TIME, format_timestamp(m.t_ns))]
        body = []
        md_req_id = context.get("md_req_id")
        if md_req_id is not None:
            body.append((T[262], _text(md_req_id)))
        return header, body

    def _l1(self, m: L1Snapshot, context: dict[str, Any]) -> _Parts:
        header, body = self._md_header(m, context)
        body += [(T[55], self._symbol), (T[268], b"2")]
        for kind, price, quantity in ((b"0", m.bid_price, m.bid_quantity),
                                      (b"1", m.ask_price, m.ask_quantity)):
            body.append((T[269], kind))
            if price is not None:
                body.append((T[270], self.price_text(_integer(price, "price"))))
            elif quantity:
                raise FixEncodeError(f"L1Snapshot at {m.venue}: quantity {quantity} without "
                                     "a price")
            body.append((T[271], _quantity(quantity)))
        return header, b"W", body

    def _l2(self, m: L2Snapshot, context: dict[str, Any]) -> _Parts:
        header, body = self._md_header(m, context)
        body += [(T[55], self._symbol), (T[268], b"%d" % (len(m.bids) + len(m.asks)))]
        for kind, levels in ((b"0", m.bids), (b"1", m.asks)):
            for level, (price, quantity) in enumerate(levels, 1):
                body += [(T[269], kind), (T[270], self.price_text(_integer(price, "price"))),
                         (T[271], _quantity(quantity)), (T[290], b"%d" % level)]
        return header, b"W", body

    def _book_update(self, m: BookUpdate, context: dict[str, Any]) -> _Parts:
        if not m.changes:
            raise FixEncodeError(f"BookUpdate at {m.venue} has no changes")
        header, body = self._md_header(m, context)
        body.append((T[268], b"%d" % len(m.changes)))
        for side, price, quantity in m.changes:
            body += [(T[279], b"1" if quantity else b"2"),
                     (T[269], b"0" if side is Side.BUY else b"1" if side is Side.SELL
                      else _side(side, "BookUpdate")),
                     (T[55], self._symbol), (T[270], self.price_text(_integer(price, "price")))]
            if quantity:
                body.append((T[271], _quantity(quantity)))
        return header, b"X", body

    def _trade_print(self, m: TradePrint, context: dict[str, Any]) -> _Parts:
        header, body = self._md_header(m, context)
        if m.aggressor_side is not Side.BUY and m.aggressor_side is not Side.SELL:
            raise FixEncodeError(f"TradePrint {m.trade_id}: side {m.aggressor_side!r}")
        body += [(T[268], b"1"), (T[279], b"0"), (T[269], b"2"),
                 (T[278], b"%d" % _integer(m.trade_id, "trade_id")), (T[55], self._symbol),
                 (T[270], self.price_text(_integer(m.price, "price"))),
                 (T[271], _quantity(m.quantity)),
                 (T[58], b"aggressor=" + m.aggressor_side.value.encode())]
        return header, b"X", body

    # --- decoding ------------------------------------------------------------------------

    def decode(self, fix: simplefix.FixMessage, *, participant: str | None = None,
               order_id: int | None = None, request_id: int | None = None) -> Any:
        """The vocabulary's message for `fix`. A gateway that keeps its own ids passes them:
        `participant` instead of SenderCompID, `order_id` instead of ClOrdID (D) or
        OrigClOrdID (F, G), `request_id` instead of QuoteReqID (R)."""
        msg_type = fix.message_type
        decoder = _DECODERS.get(msg_type)
        if decoder is None:
            raise FixDecodeError(35, f"MsgType {_show(msg_type or b'')} is not one this "
                                 "codec decodes", business_reject_reason=UNSUPPORTED_MESSAGE_TYPE)
        return decoder(self, fix, participant, order_id, request_id)

    def _fields(self, fix: simplefix.FixMessage, check_symbol: bool = True) -> dict[bytes, bytes]:
        pairs = fix.pairs
        fields: dict[bytes, bytes] = dict(pairs)
        if len(fields) != len(pairs):  # a tag twice: name the first one repeated
            seen: set[bytes] = set()
            for tag, _ in pairs:
                if tag in seen:
                    raise FixDecodeError(int(tag), "appears more than once",
                                         session_reject_reason=TAG_APPEARS_TWICE)
                seen.add(tag)
        if check_symbol and fields.get(b"55") != self._symbol:
            self._check_symbol(fields)  # raises, naming the problem
        return fields

    def _decode_d(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> NewOrder | AcceptQuote:
        # Hot in the gateway: fields read by their tag's bytes, helpers only for errors.
        f = self._fields(fix)
        who = participant if participant is not None else _string(f, 49)
        oid = order_id if order_id is not None else _required_int(f, 11)
        side = _SIDE_BACK.get(f.get(b"54"))  # type: ignore[arg-type]
        if side is None:
            side = _side_back(f)  # raises, naming the problem
        t_ns = parse_timestamp(f.get(b"60") or _required(f, 60), 60)
        quantity = _int(f.get(b"38") or _required(f, 38), 38)
        ord_type = f.get(b"40") or _required(f, 40)
        quote_id = f.get(b"117")
        price_text = f.get(b"44")
        price = None if price_text is None else self.ticks(price_text, 44)
        if quote_id is not None or ord_type == b"D":
            if quote_id is None:
                raise _missing(117)
            if price is None:
                raise _missing(44)
            return AcceptQuote(t_ns, who, oid, _int(quote_id, 117), side, quantity, price)
        peg: Peg | None = None
        post_only = False
        instructions = f.get(b"18")
        if instructions is not None:
            for instruction in instructions.decode("ascii", "replace").split(" "):
                if instruction == _POST_ONLY:
                    post_only = True
                elif instruction in _PEG_BACK and peg is None:
                    peg = _PEG_BACK[instruction]
                else:
                    raise _bad_value(18, instructions, "is not a supported ExecInst (6, M, R, P)")
        if ord_type == b"2":
            kind = _LIMIT
        elif ord_type == b"1":
            kind = _MARKET
        elif ord_type == b"P":
            kind = _LIMIT if price is not None else _MARKET
            if peg is None:
                peg = _MIDPOINT
        else:
            raise _bad_value(40, ord_type, "is not a supported OrdType (1, 2, P, D)")
        tif_value = f.get(b"59")
        tif = _DAY if tif_value is None else _TIF_BACK.get(tif_value)
        if tif is None:
            raise _bad_value(59, tif_value or b"", "is not a supported TimeInForce (0, 3, 4)")
        min_value = f.get(b"110")
        minimum = 0 if min_value is None else _int(min_value, 110)
        return NewOrder(t_ns, who, oid, side, quantity, price, kind, tif, post_only, minimum, peg)

    def _decode_f(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> CancelOrder:
        f = self._fields(fix)
        if b"11" not in f:
            raise _missing(11)
        if f.get(b"54") not in _SIDE_BACK:
            _side_back(f)  # raises, naming the problem
        return CancelOrder(parse_timestamp(f.get(b"60") or _required(f, 60), 60),
                           participant if participant is not None else _string(f, 49),
                           order_id if order_id is not None else _required_int(f, 41))

    def _decode_g(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> ReplaceOrder:
        f = self._fields(fix)
        _required(f, 11)
        _side_back(f)
        ord_type = _required(f, 40)
        if ord_type != b"2":
            raise _bad_value(40, ord_type, "is not a limit (2): only price and quantity change")
        price = self._price_or_none(f, 44)
        if price is None:
            raise _missing(44)
        return ReplaceOrder(parse_timestamp(_required(f, 60), 60),
                            participant if participant is not None else _string(f, 49),
                            order_id if order_id is not None else _required_int(f, 41),
                            _int(_required(f, 38), 38), price)

    def _decode_8(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> ExecutionReport:
        f = self._fields(fix)
        code = _required(f, 150)
        if code == b"F":
            exec_type = ExecType.FILL if _required(f, 39) == b"2" else ExecType.PARTIAL_FILL
        else:
            found = _EXEC_TYPE_BACK.get(code)
            if found is None:
                raise _bad_value(150, code, "is not an ExecType this codec reads (0 F 4 5 8)")
            exec_type = found
        if order_id is None:
            orig = f.get(T[41])
            order_id = _int(orig, 41) if orig is not None else _required_int(f, 11)
        last_quantity = f.get(T[32])
        last_price = f.get(T[31])
        fee = f.get(T[12])
        trade_id = f.get(T[527])
        liquidity_code = f.get(T[851])
        liquidity = None
        if liquidity_code is not None:
            liquidity = _LIQUIDITY_BACK.get(liquidity_code)
            if liquidity is None:
                raise _bad_value(851, liquidity_code, "is not 1 (added) or 2 (removed)")
        text = f.get(T[58])
        reason = None
        if text is not None:
            reason = _REASONS.get(text)
            if reason is None:
                raise _bad_value(58, text, "is not a reject or cancel reason")
        return ExecutionReport(
            parse_timestamp(_required(f, 60), 60), _string(f, 49),
            participant if participant is not None else _string(f, 56), order_id, exec_type,
            _side_back(f), self._price_or_none(f, 44), _int(_required(f, 38), 38),
            0 if last_quantity is None else _int(last_quantity, 32),
            0 if last_price is None else self.ticks(last_price, 31),
            _int(_required(f, 151), 151), _int(_required(f, 14), 14),
            0 if fee is None else self.ticks(fee, 12), liquidity,
            0 if trade_id is None else _int(trade_id, 527), reason)

    def _decode_9(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> CancelRejected:
        f = self._fields(fix, check_symbol=False)
        request = _REQUEST_BACK.get(_required(f, 434))
        if request is None:
            raise _bad_value(434, f[T[434]], "is not 1 (cancel) or 2 (replace)")
        text = _required(f, 58)
        reason = _REASONS.get(text)
        if not isinstance(reason, RejectReason):
            raise _bad_value(58, text, "is not a reject reason")
        return CancelRejected(
            parse_timestamp(_required(f, 60), 60), _string(f, 49),
            participant if participant is not None else _string(f, 56),
            order_id if order_id is not None else _required_int(f, 41), reason, request)

    def _decode_j(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> MessageRejected:
        f = self._fields(fix, check_symbol=False)
        text = _required(f, 58)
        parts = text.split(b": ", 2)
        if len(parts) != 3:
            raise _bad_value(58, text, "is not '<message type>: <reason>: <text>'")
        reason = _REASONS.get(parts[1])
        if not isinstance(reason, RejectReason):
            raise _bad_value(58, text, "does not name a reject reason")
        return MessageRejected(
            parse_timestamp(_required(f, 52), 52), _string(f, 49),
            participant if participant is not None else _string(f, 56),
            _utf8(parts[0], 58), reason, _utf8(parts[2], 58))

    def _decode_r(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> QuoteRequest:
        f = self._fields(fix)
        count = _required(f, 146)
        if count != b"1":
            raise _bad_value(146, count, "is not 1: one instrument per quote request")
        side = _side_back(f) if T[54] in f else None
        return QuoteRequest(
            parse_timestamp(_required(f, 60), 60),
            participant if participant is not None else _string(f, 49),
            request_id if request_id is not None else _required_int(f, 131), side,
            _int(_required(f, 38), 38))

    def _decode_s(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> Quote:
        f = self._fields(fix)
        request = f.get(T[131])
        if request_id is None:
            request_id = 0 if request is None else _int(request, 131)
        who = "" if not request_id else (
            participant if participant is not None else _string(f, 56))
        tier = (_int(_required(f, 38), 38), self._price_or_none(f, 132),
                self._price_or_none(f, 133))
        return Quote(parse_timestamp(_required(f, 60), 60), _string(f, 49), who,
                     _required_int(f, 117), request_id, (tier,),
                     parse_timestamp(_required(f, 62), 62))

    def _entries(self, fix: simplefix.FixMessage, first: bytes) -> tuple[dict[bytes, bytes],
                                                                         list[dict[bytes, bytes]]]:
        """Fields before the NoMDEntries group, and one dict per entry (each starts with
        `first`); the count must match."""
        top: dict[bytes, bytes] = {}
        entries: list[dict[bytes, bytes]] = []
        count_tag, checksum_tag = T[268], T[10]
        in_group = False
        for tag, value in fix.pairs:
            if tag == checksum_tag:
                continue
            if not in_group:
                if tag in top:
                    raise FixDecodeError(int(tag), "appears more than once",
                                         session_reject_reason=TAG_APPEARS_TWICE)
                top[tag] = value
                in_group = tag == count_tag
            elif tag == first:
                entries.append({tag: value})
            elif not entries:
                raise FixDecodeError(int(tag), f"comes before the first entry's "
                                     f"{TAG_NAMES[int(first)]} ({int(first)})",
                                     session_reject_reason=15)
            elif tag in entries[-1]:
                raise FixDecodeError(int(tag), "appears twice in one entry",
                                     session_reject_reason=TAG_APPEARS_TWICE)
            else:
                entries[-1][tag] = value
        count = _int(_required(top, 268), 268)
        if count != len(entries):
            raise FixDecodeError(268, f"says {count} entries, the message has {len(entries)}",
                                 session_reject_reason=16)
        return top, entries

    def _decode_w(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> L1Snapshot | L2Snapshot:
        top, entries = self._entries(fix, T[269])
        self._check_symbol(top)
        venue = _string(top, 49)
        t_ns = parse_timestamp(_required(top, 52), 52)
        if entries and all(T[290] not in e for e in entries):
            if [e[T[269]] for e in entries] != [b"0", b"1"]:
                raise _bad_value(269, b",".join(e[T[269]] for e in entries),
                                 "is not a bid then an offer (top of book)")
            (bid, bid_quantity), (ask, ask_quantity) = (
                (self._price_or_none(e, 270), _int(_required(e, 271), 271)) for e in entries)
            return L1Snapshot(t_ns, venue, bid, bid_quantity, ask, ask_quantity)
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for entry in entries:
            kind = entry[T[269]]
            levels = bids if kind == b"0" else asks if kind == b"1" else None
            if levels is None:
                raise _bad_value(269, kind, "is not a bid (0) or an offer (1)")
            position = _int(_required(entry, 290), 290)
            if position != len(levels) + 1:
                raise _bad_value(290, entry[T[290]], f"is not level {len(levels) + 1}")
            price = self._price_or_none(entry, 270)
            if price is None:
                raise _missing(270)
            levels.append((price, _int(_required(entry, 271), 271)))
        return L2Snapshot(t_ns, venue, tuple(bids), tuple(asks))

    def _decode_x(self, fix: simplefix.FixMessage, participant: str | None,
                  order_id: int | None, request_id: int | None) -> BookUpdate | TradePrint:
        top, entries = self._entries(fix, T[279])
        venue = _string(top, 49)
        t_ns = parse_timestamp(_required(top, 52), 52)
        if not entries:
            raise _bad_value(268, top[T[268]], "is no entry at all")
        for entry in entries:
            self._check_symbol(entry)
        if entries[0].get(T[269]) == b"2":
            if len(entries) != 1:
                raise _bad_value(268, top[T[268]], "is not 1: one trade per message")
            entry = entries[0]
            aggressor = _required(entry, 58)
            side = {b"aggressor=buy": Side.BUY, b"aggressor=sell": Side.SELL}.get(aggressor)
            if side is None:
                raise _bad_value(58, aggressor, "is not aggressor=buy or aggressor=sell")
            price = self._price_or_none(entry, 270)
            if price is None:
                raise _missing(270)
            return TradePrint(t_ns, venue, _required_int(entry, 278), price,
                              _int(_required(entry, 271), 271), side)
        changes = []
        for entry in entries:
            action = entry[T[279]]
            kind = _required(entry, 269)
            side = Side.BUY if kind == b"0" else Side.SELL if kind == b"1" else None
            if side is None:
                raise _bad_value(269, kind, "is not a bid (0) or an offer (1)")
            price = self._price_or_none(entry, 270)
            if price is None:
                raise _missing(270)
            if action == b"2":
                quantity = 0
            elif action in (b"0", b"1"):
                quantity = _int(_required(entry, 271), 271)
            else:
                raise _bad_value(279, action, "is not 0, 1 or 2")
            changes.append((side, price, quantity))
        return BookUpdate(t_ns, venue, tuple(changes))

    def _check_symbol(self, fields: dict[bytes, bytes]) -> None:
        symbol = fields.get(T[55])
        if symbol is None:
            raise _missing(55)
        if symbol != self._symbol:
            raise FixDecodeError(55, f"unknown symbol {_show(symbol)}",
                                 business_reject_reason=UNKNOWN_SECURITY)


_Pair = tuple[bytes, bytes]
_Parts = tuple[list[_Pair], bytes, list[_Pair]]
_WIRE_FIELD = re.compile(rb"([0-9]+)=([^\x01]*)\x01")
# An ExecutionReport's body in one format: OrderID, ClOrdID, [OrigClOrdID], ExecID, ExecType,
# OrdStatus, [OrdRejReason], Symbol, Side, OrderQty, [Price], [LastQty LastPx], LeavesQty,
# CumQty, AvgPx, TransactTime, then [Commission CommType] [SecondaryExecID] [Text]
# [LastLiquidityInd] (each [optional] part written whole, or empty).
_REPORT_FIELDS = (b"37=%s\x0111=%s\x01%s17=%s\x01150=%s\x0139=%s\x01%s55=%s\x0154=%s\x01"
                  b"38=%d\x01%s%s151=%d\x0114=%d\x016=%s\x0160=%s\x01%s")


def _text(value: Any, empty: bool = False) -> bytes:
    """A string field's bytes: str, bytes (as read from the wire) or int; no SOH; empty
    only where allowed."""
    if type(value) is int:
        return b"%d" % value
    if type(value) is bytes:
        if b"\x01" in value or (not value and not empty):
            raise FixEncodeError(f"{value!r} cannot be a FIX field value")
        return value
    if not isinstance(value, str):
        raise FixEncodeError(f"{value!r} is not text FIX can carry")
    data = value.encode()
    if b"\x01" in data or (not data and not empty):
        raise FixEncodeError(f"{value!r} cannot be a FIX field value")
    return data


def _integer(value: Any, what: str) -> int:
    if type(value) is not int:
        raise FixEncodeError(f"{what} {value!r} is not an int")
    return value


def _quantity(value: Any) -> bytes:
    return b"%d" % _integer(value, "quantity")


def _side(side: Any, what: str) -> bytes:
    code = _SIDE.get(side) if isinstance(side, Side) else None
    if code is None:
        raise FixEncodeError(f"{what}: side {side!r} is not a Side (FIX needs one)")
    return code


def _reason_text(reason: Any, what: str) -> bytes:
    if not isinstance(reason, RejectReason):
        raise FixEncodeError(f"{what}: reason {reason!r} is not a RejectReason")
    return reason.value.encode()


def _required(fields: dict[bytes, bytes], tag: int) -> bytes:
    value = fields.get(T[tag])
    if value is None:
        raise _missing(tag)
    return value


def _required_int(fields: dict[bytes, bytes], tag: int) -> int:
    return _int(_required(fields, tag), tag)


def _string(fields: dict[bytes, bytes], tag: int) -> str:
    return _utf8(_required(fields, tag), tag)


def _utf8(value: bytes, tag: int) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise _bad_format(tag, value, "UTF-8 text") from None


def _side_back(fields: dict[bytes, bytes]) -> Side:
    value = _required(fields, 54)
    side = _SIDE_BACK.get(value)
    if side is None:
        raise _bad_value(54, value, "is not a supported Side (1 buy, 2 sell)")
    return side


_ENCODERS: dict[type, Any] = {
    NewOrder: FixCodec._new_order,
    AcceptQuote: FixCodec._accept_quote,
    CancelOrder: FixCodec._cancel,
    ReplaceOrder: FixCodec._replace,
    ExecutionReport: FixCodec._execution_report,
    CancelRejected: FixCodec._cancel_rejected,
    MessageRejected: FixCodec._message_rejected,
    QuoteRequest: FixCodec._quote_request,
    Quote: FixCodec._quote,
    L1Snapshot: FixCodec._l1,
    L2Snapshot: FixCodec._l2,
    BookUpdate: FixCodec._book_update,
    TradePrint: FixCodec._trade_print,
}

_DECODERS: dict[bytes, Any] = {
    b"D": FixCodec._decode_d,
    b"F": FixCodec._decode_f,
    b"G": FixCodec._decode_g,
    b"8": FixCodec._decode_8,
    b"9": FixCodec._decode_9,
    b"j": FixCodec._decode_j,
    b"R": FixCodec._decode_r,
    b"S": FixCodec._decode_s,
    b"W": FixCodec._decode_w,
    b"X": FixCodec._decode_x,
}
