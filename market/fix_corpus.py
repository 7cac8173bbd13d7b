"""A corpus of valid FIX 4.4 messages, what the FIX fuzzers mutate: the hypothesis
property in tests/venues/test_fix_fuzz.py and the long seeded run of bench/fix_fuzz.py.

`GATEWAY_BOUND`: every kind a gateway reads from a client (orders of each type, cancel,
replace, market data requests, RFQ, the session's admin messages, an order status request),
as (MsgType, body fields); the sender writes the header (CompIDs, MsgSeqNum, SendingTime:
`STAMP`) when it sends one. `SAMPLES`: one message of every kind the codec writes (execution
reports, rejects, quotes, market data), and `EVERY_KIND` both, the samples as `CODEC`
encodes them. The mutations live with each fuzzer (seeded `random` in the bench, hypothesis
strategies in the test); only the valid starting points are shared, so that the short fuzz
and the long one cover the same messages.
"""

from __future__ import annotations

from market.fix_codec import FixCodec, format_timestamp
from market.messages import (
    BookUpdate,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Liquidity,
    MessageRejected,
    Quote,
    RejectReason,
    Side,
    TradePrint,
)

__all__ = ["CODEC", "EVERY_KIND", "GATEWAY_BOUND", "SAMPLES", "STAMP", "Template"]

CODEC = FixCodec("SIM", "0.0001")
STAMP = format_timestamp(1_700_000_000 * 10**9)

Template = tuple[bytes, list[tuple[bytes, bytes]]]  # (MsgType, body fields)

GATEWAY_BOUND: list[Template] = [
    (b"D", [(b"11", b"o1"), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP), (b"38", b"100"),
            (b"40", b"2"), (b"44", b"100.0100"), (b"59", b"0")]),
    (b"D", [(b"11", b"o2"), (b"55", b"SIM"), (b"54", b"2"), (b"60", STAMP), (b"38", b"200"),
            (b"40", b"1"), (b"59", b"3")]),
    (b"D", [(b"11", b"o3"), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP), (b"38", b"300"),
            (b"40", b"P"), (b"18", b"M 6"), (b"110", b"100")]),
    (b"D", [(b"11", b"o4"), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP), (b"38", b"100"),
            (b"40", b"D"), (b"44", b"100.0100"), (b"117", b"3")]),
    (b"F", [(b"11", b"c1"), (b"41", b"o1"), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP)]),
    (b"G", [(b"11", b"r1"), (b"41", b"o1"), (b"55", b"SIM"), (b"54", b"1"), (b"60", STAMP),
            (b"38", b"200"), (b"40", b"2"), (b"44", b"100.0200")]),
    (b"V", [(b"262", b"m1"), (b"263", b"1"), (b"264", b"0"), (b"267", b"3"), (b"269", b"0"),
            (b"269", b"1"), (b"269", b"2"), (b"146", b"1"), (b"55", b"SIM")]),
    (b"V", [(b"262", b"m1"), (b"263", b"2"), (b"264", b"1"), (b"267", b"1"), (b"269", b"0"),
            (b"146", b"1"), (b"55", b"SIM")]),
    (b"R", [(b"131", b"q1"), (b"146", b"1"), (b"55", b"SIM"), (b"54", b"2"), (b"38", b"100"),
            (b"60", STAMP)]),
    (b"0", []), (b"0", [(b"112", b"x")]), (b"1", [(b"112", b"t1")]),
    (b"2", [(b"7", b"1"), (b"16", b"0")]), (b"4", [(b"123", b"Y"), (b"36", b"5")]),
    (b"4", [(b"36", b"3")]), (b"3", [(b"45", b"1"), (b"373", b"1")]),
    (b"A", [(b"98", b"0"), (b"108", b"30")]), (b"5", [(b"58", b"bye")]), (b"H", [(b"11", b"o1")]),
]

SAMPLES = [
    ExecutionReport(5, "LIT1", "CLIENT1", 7, ExecType.PARTIAL_FILL, Side.BUY, 1_000_100, 300,
                    100, 1_000_100, 200, 100, -2_000, Liquidity.MAKER, 55, None),
    ExecutionReport(5, "LIT1", "CLIENT1", 8, ExecType.REJECTED, Side.SELL, None, 300, 0, 0, 0,
                    0, 0, None, 0, RejectReason.OFF_TICK),
    CancelRejected(5, "LIT1", "CLIENT1", 7, RejectReason.UNKNOWN_ORDER, "replace"),
    MessageRejected(5, "SDP1", "CLIENT1", "QuoteRequest", RejectReason.INVALID_QUANTITY, "x: y"),
    Quote(5, "SDP1", "CLIENT1", 3, 14, ((500, 999_900, 1_000_100),), 9),
    L1Snapshot(5, "LIT1", 999_900, 300, None, 0),
    L2Snapshot(5, "LIT1", ((1_000_000, 100), (999_900, 200)), ((1_000_100, 300),)),
    BookUpdate(5, "LIT1", ((Side.BUY, 1_000_000, 0), (Side.SELL, 1_000_100, 500))),
    TradePrint(5, "LIT1", 55, 1_000_000, 100, Side.SELL),
]

EVERY_KIND: list[Template] = GATEWAY_BOUND + [
    (fix.message_type, fix.pairs[fix.header_index:])
    for fix in (CODEC.encode(sample) for sample in SAMPLES)]
