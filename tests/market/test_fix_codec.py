"""market.fix_codec: every message kind survives encode -> wire -> decode exactly (property
tests), prices are exact decimals, and a bad message names its tag and the reject it earns."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.fix_codec import (
    FixCodec,
    FixDecodeError,
    FixEncodeError,
    format_timestamp,
    parse_timestamp,
)
from market.fix_framing import FieldProblem, FixFramer, split_fields
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

CODEC = FixCodec("SIM", "0.0001")

# --- strategies: any value the vocabulary's fields can hold ---------------------------------

times = st.integers(0, 4 * 10**18)  # 1970 .. 2096
names = st.text(st.characters(blacklist_characters="\x01", blacklist_categories=("Cs",)),
                min_size=1, max_size=12)
ids = st.integers(0, 10**15)
ticks = st.integers(-10**12, 10**12)
prices = st.integers(1, 10**9)
quantities = st.integers(0, 10**9)
sides = st.sampled_from(Side)
optional_prices = st.none() | prices

new_orders = st.builds(
    NewOrder, times, names, ids, sides, quantities, optional_prices,
    st.sampled_from(OrderType), st.sampled_from(TimeInForce), st.booleans(), quantities,
    st.none() | st.sampled_from(Peg))
cancels = st.builds(CancelOrder, times, names, ids)
replaces = st.builds(ReplaceOrder, times, names, ids, quantities, prices)
quote_requests = st.builds(QuoteRequest, times, names, ids, st.none() | sides, quantities)
accepts = st.builds(AcceptQuote, times, names, ids, ids, sides, quantities, prices)
reasons = st.none() | st.sampled_from(list(RejectReason) + list(CancelReason))
reports = st.builds(
    ExecutionReport, times, names, names, ids, st.sampled_from(ExecType), sides,
    optional_prices, quantities, quantities, prices | st.just(0), quantities, quantities,
    ticks, st.none() | st.sampled_from(Liquidity), ids, reasons)
cancel_rejects = st.builds(CancelRejected, times, names, names, ids,
                           st.sampled_from(RejectReason), st.sampled_from(["cancel", "replace"]))
message_rejects = st.builds(
    MessageRejected, times, names, names,
    st.text(st.characters(blacklist_characters="\x01:", blacklist_categories=("Cs",)),
            min_size=1, max_size=12),
    st.sampled_from(RejectReason),
    st.text(st.characters(blacklist_characters="\x01", blacklist_categories=("Cs",)), max_size=30))


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    answered = draw(st.booleans())
    return Quote(draw(times), draw(names), draw(names) if answered else "", draw(ids),
                 draw(st.integers(1, 10**12)) if answered else 0,
                 ((draw(quantities), draw(optional_prices), draw(optional_prices)),),
                 draw(times))


@st.composite
def l1_snapshots(draw: st.DrawFn) -> L1Snapshot:
    bid, ask = draw(optional_prices), draw(optional_prices)
    return L1Snapshot(draw(times), draw(names), bid, 0 if bid is None else draw(quantities),
                      ask, 0 if ask is None else draw(quantities))


levels = st.lists(st.tuples(prices, quantities), max_size=6).map(tuple)
l2_snapshots = st.builds(L2Snapshot, times, names, levels, levels)
book_updates = st.builds(BookUpdate, times, names,
                         st.lists(st.tuples(sides, prices, quantities), min_size=1,
                                  max_size=6).map(tuple))
trade_prints = st.builds(TradePrint, times, names, ids, prices, quantities, sides)

EVERY_KIND = {
    "NewOrder": new_orders, "CancelOrder": cancels, "ReplaceOrder": replaces,
    "QuoteRequest": quote_requests, "AcceptQuote": accepts, "ExecutionReport": reports,
    "CancelRejected": cancel_rejects, "MessageRejected": message_rejects, "Quote": quotes(),
    "L1Snapshot": l1_snapshots(), "L2Snapshot": l2_snapshots, "BookUpdate": book_updates,
    "TradePrint": trade_prints,
}


def _context(message: Any, notional: int) -> dict[str, Any]:
    if type(message) in (CancelOrder, ReplaceOrder):
        return {"side": Side.SELL}
    if type(message) is ExecutionReport:
        return {"notional": notional}
    return {}


def _through_the_wire(codec: FixCodec, message: Any, **context: Any) -> Any:
    """Encode, serialize, frame, split and decode, as a peer would receive it."""
    wire = codec.encode(message, **context).encode()
    frames = FixFramer().feed(wire)
    assert frames == [wire]
    fields = split_fields(wire)
    assert not isinstance(fields, FieldProblem), fields
    return codec.decode(fields)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (Side.BUY is not "buy" here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


@pytest.mark.parametrize("kind", sorted(EVERY_KIND))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_codec_every_message_kind_round_trips_exactly(kind: str, data: st.DataObject) -> None:
    message = data.draw(EVERY_KIND[kind])
    notional = data.draw(ticks)
    back = _through_the_wire(CODEC, message, **_context(message, notional))
    assert _same(back, message), (message, back)


@pytest.mark.parametrize("kind", sorted(EVERY_KIND))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_codec_encode_fields_is_the_body_of_encode_as_wire_bytes(
        kind: str, data: st.DataObject) -> None:
    message = data.draw(EVERY_KIND[kind])
    context = _context(message, data.draw(ticks))
    context.update(data.draw(st.fixed_dictionaries({}, optional={
        "cl_ord_id": names | st.binary(min_size=1, max_size=8).filter(lambda b: b"\x01" not in b),
        "exec_id": names, "order_id": ids, "orig_cl_ord_id": names})))
    try:
        fix = CODEC.encode(message, **context)
    except FixEncodeError as error:
        with pytest.raises(FixEncodeError, match=re.escape(str(error))):
            CODEC.encode_fields(message, **context)
        return
    msg_type, body = CODEC.encode_fields(message, **context)
    assert msg_type == fix.message_type
    assert body == b"".join(tag + b"=" + value + b"\x01"
                            for tag, value in fix.pairs[fix.header_index:])


def test_codec_text_that_would_split_a_field_is_an_encode_error() -> None:
    report = ExecutionReport(0, "LIT1", "A", 1, ExecType.NEW, Side.BUY, 1_000_100, 100, 0, 0,
                             100, 0, 0, None, 0, None)
    for bad in (b"A\x01B", "A\x01B", b""):
        with pytest.raises(FixEncodeError, match="cannot be a FIX field value"):
            CODEC.encode_fields(report, cl_ord_id=bad)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["0.0001", "0.01", "1", "0.0005", "25", "0.125"]), ticks)
def test_codec_price_text_is_the_exact_decimal_and_reads_back(increment: str, value: int) -> None:
    codec = FixCodec("SIM", increment)
    text = codec.price_text(value)
    assert Decimal(text.decode()) == value * Decimal(increment)
    assert codec.ticks(text, 44) == value


@settings(max_examples=60, deadline=None)
@given(times)
def test_codec_timestamp_to_the_nanosecond_round_trips(t_ns: int) -> None:
    text = format_timestamp(t_ns)
    assert len(text) == 27
    assert parse_timestamp(text, 60) == t_ns


def test_codec_timestamp_with_milliseconds_or_none_reads() -> None:
    assert parse_timestamp(b"19700101-00:00:01.500", 60) == 1_500_000_000
    assert parse_timestamp(b"19700102-00:00:00", 60) == 86_400 * 10**9
    assert parse_timestamp(b"20240229-23:59:59.000001", 60) % 10**9 == 1_000


def test_codec_price_on_the_wire_is_a_decimal_of_the_increment() -> None:
    fix = CODEC.encode(NewOrder(0, "A", 1, Side.BUY, 100, 1_000_100))
    assert fix.get(44) == b"100.0100"
    assert fix.get(55) == b"SIM"
    assert fix.get(40) == b"2"


def test_codec_execution_report_average_price_from_notional() -> None:
    report = ExecutionReport(0, "LIT1", "A", 1, ExecType.FILL, Side.BUY, 1_000_100, 300, 100,
                             1_000_100, 0, 300, 0, Liquidity.TAKER, 3, None)
    notional = 100 * 1_000_100 + 200 * 1_000_000
    fix = CODEC.encode(report, notional=notional)
    exact = Decimal(notional) / 300 * Decimal("0.0001")  # 100.00333...
    assert Decimal(fix.get(6).decode()) == exact.quantize(Decimal("1e-14"))
    assert (fix.get(150), fix.get(39), fix.get(32), fix.get(31)) == (b"F", b"2", b"100",
                                                                     b"100.0100")
    with pytest.raises(FixEncodeError, match="AvgPx"):
        CODEC.encode(report)  # two fills: the codec cannot know the average without notional


def test_codec_cancel_without_side_is_an_encode_error() -> None:
    with pytest.raises(FixEncodeError, match="side None"):
        CODEC.encode(CancelOrder(0, "A", 1))


def test_codec_multi_tier_quote_is_an_encode_error() -> None:
    with pytest.raises(FixEncodeError, match="2 tiers"):
        CODEC.encode(Quote(0, "SDP1", "", 1, 0, ((100, 1, 2), (200, 1, 3)), 5))


def _order_fix(**changes: bytes | None) -> Any:
    """A NewOrderSingle's FixMessage with fields changed (None removes one)."""
    fix = CODEC.encode(NewOrder(0, "A", 1, Side.BUY, 100, 1_000_100))
    pairs = []
    for tag, value in fix.pairs:
        key = f"t{int(tag)}"
        if key in changes:
            if changes[key] is None:
                continue
            value = changes.pop(key)
        pairs.append((tag, value))
    pairs += [(k[1:].encode(), v) for k, v in changes.items() if v is not None]
    fix.pairs = pairs
    return fix


@pytest.mark.parametrize("changes, tag, session_reason, business_reason, words", [
    ({"t54": None}, 54, 1, None, "required tag missing"),
    ({"t54": b"7"}, 54, 5, None, "not a supported Side"),
    ({"t44": b"100.00005"}, 44, 5, None, "not a multiple of the price increment 0.0001"),
    ({"t44": b"1OO"}, 44, 6, None, "not a decimal"),
    ({"t38": b"10.5"}, 38, 5, None, "not a whole number"),
    ({"t60": b"2024-01-01"}, 60, 6, None, "UTCTimestamp"),
    ({"t60": b"20241301-00:00:00"}, 60, 5, None, "not a valid time"),
    ({"t55": b"XYZ"}, 55, None, 2, "unknown symbol"),
    ({"t40": b"3"}, 40, 5, None, "OrdType"),
    ({"t59": b"1"}, 59, 5, None, "TimeInForce"),
    ({"t18": b"Z"}, 18, 5, None, "ExecInst"),
    ({"t11": b"abc"}, 11, 6, None, "not an integer"),
])
def test_codec_bad_new_order_names_the_tag_and_the_reject(
        changes: dict[str, bytes | None], tag: int, session_reason: int | None,
        business_reason: int | None, words: str) -> None:
    with pytest.raises(FixDecodeError) as caught:
        CODEC.decode(_order_fix(**changes))
    error = caught.value
    assert (error.tag, error.session_reject_reason, error.business_reject_reason) == (
        tag, session_reason, business_reason)
    assert words in str(error) and f"tag {tag} (" in str(error)


def test_codec_repeated_tag_is_a_reject_with_reason_13() -> None:
    with pytest.raises(FixDecodeError) as caught:
        CODEC.decode(_with_pair(_order_fix(), b"54", b"2"))
    assert (caught.value.tag, caught.value.session_reject_reason) == (54, 13)


def _with_pair(fix: Any, tag: bytes, value: bytes) -> Any:
    fix.pairs = [*fix.pairs, (tag, value)]
    return fix


def test_codec_unknown_message_type_is_a_business_reject() -> None:
    fix = _order_fix()
    fix.message_type = b"AE"
    with pytest.raises(FixDecodeError) as caught:
        CODEC.decode(fix)
    assert (caught.value.tag, caught.value.business_reject_reason) == (35, 3)


def test_codec_gateway_ids_replace_the_wire_ids() -> None:
    fix = _order_fix(t11=b"client-order-A7")
    order = CODEC.decode(fix, participant="CLIENT1", order_id=42)
    assert (order.participant, order.order_id) == ("CLIENT1", 42)


def test_codec_pegged_ord_type_reads_as_peg_with_or_without_limit() -> None:
    pegged = CODEC.decode(_order_fix(t40=b"P", t44=None, t18=b"R"))
    assert (pegged.order_type, pegged.price, pegged.peg) == (OrderType.MARKET, None, Peg.NEAR)
    limited = CODEC.decode(_order_fix(t40=b"P"))
    assert (limited.order_type, limited.price, limited.peg) == (OrderType.LIMIT, 1_000_100,
                                                                Peg.MIDPOINT)


def test_codec_market_data_group_count_must_match_entries() -> None:
    fix = CODEC.encode(L2Snapshot(0, "LIT1", ((1_000_000, 100),), ()))
    fix.pairs = [(t, b"2" if t == b"268" else v) for t, v in fix.pairs]
    with pytest.raises(FixDecodeError, match="says 2 entries, the message has 1"):
        CODEC.decode(fix)


def test_codec_bad_symbol_or_increment_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="symbol"):
        FixCodec("A\x01B", "0.01")
    with pytest.raises(ValueError, match="price_increment"):
        FixCodec("SIM", "-1")


def test_codec_text_that_is_not_utf8_is_a_decode_error_naming_tag_58() -> None:
    fix = CODEC.encode(MessageRejected(5, "SDP1", "A", "QuoteRequest",
                                       RejectReason.INVALID_QUANTITY, "x"))
    fix.pairs = [(t, b"\xff\xfe: invalid_quantity: x" if t == b"58" else v) for t, v in fix.pairs]
    with pytest.raises(FixDecodeError) as caught:  # found by reading the fuzz's blind spots
        CODEC.decode(fix)
    assert (caught.value.tag, caught.value.session_reject_reason) == (58, 6)
