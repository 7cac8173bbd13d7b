"""The compiled order book and the Python reference are twins: same reports, same state.

Random command streams — valid and invalid, from several participants on a narrow price
range so that orders cross, self-trade and get replaced — go to both; every report, the
touched levels and the views must be identical after every command.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market import order_book
from market.messages import CancelOrder, NewOrder, OrderType, Peg, ReplaceOrder, Side, TimeInForce
from market.order_book import COMPILED, MAX_VALUE, OrderBook, PythonOrderBook

BUY, SELL = Side.BUY, Side.SELL


def test_compiled_order_book_is_built_and_in_use() -> None:
    assert COMPILED, "market._order_book did not compile: the install lacks a C compiler?"
    assert OrderBook is not PythonOrderBook
    from market import _order_book  # type: ignore[attr-defined]

    assert _order_book._MAX_VALUE == MAX_VALUE == order_book.MAX_VALUE


odd_values = st.sampled_from([0, -1, MAX_VALUE, MAX_VALUE + 1, 2**70, None, 1.5, "7", True])
sides = st.sampled_from([BUY, SELL, BUY, SELL, "buy"])
quantities = st.one_of(st.integers(1, 8).map(lambda n: n * 10), st.integers(1, 80), odd_values)
prices = st.one_of(st.integers(96, 104).map(lambda n: n * 5), st.integers(480, 520), odd_values)
ids = st.one_of(st.integers(1, 40), st.sampled_from([0, -3, "x", None, 2**70]))
participants = st.sampled_from(["a", "b", "c"])

new_orders = st.builds(
    lambda p, i, s, q, px, ot, tif, po, mq, pg: ("submit", NewOrder(0, p, i, s, q, px, ot, tif, po, mq, pg)),
    participants, ids, sides, quantities,
    prices, st.sampled_from([OrderType.LIMIT] * 6 + [OrderType.MARKET, "limit"]),
    st.sampled_from([TimeInForce.DAY] * 6 + [TimeInForce.IOC, TimeInForce.FOK, "gtc"]),
    st.sampled_from([False] * 5 + [True]), st.sampled_from([0] * 9 + [10]),
    st.sampled_from([None] * 9 + [Peg.MIDPOINT]),
)
market_orders = st.builds(
    lambda p, i, s, q: ("submit", NewOrder(0, p, i, s, q, None, OrderType.MARKET)),
    participants, ids, sides, st.integers(1, 12).map(lambda n: n * 10))
cancels = st.builds(lambda p, i: ("cancel", CancelOrder(0, p, i)), participants, ids)
replaces = st.builds(lambda p, i, q, px: ("replace", ReplaceOrder(0, p, i, q, px)),
                     participants, ids, quantities, prices)
commands = st.lists(
    st.one_of(new_orders, new_orders, new_orders, market_orders, cancels, replaces),
    min_size=10, max_size=120,
)


def views(book: Any) -> Any:
    return (book.best_bid, book.best_ask, book.l1(7), book.l2(7, 3), book.depth(BUY),
            book.depth(SELL), sorted(book.resting_orders(), key=repr), len(book))


@settings(max_examples=400, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(commands)
def test_twins_same_commands_give_identical_reports_and_state(stream: list[tuple[str, Any]]) -> None:
    params = dict(tick_size=5, lot_size=10, maker_fee=-2, taker_fee=3, track_levels=True)
    reference = PythonOrderBook("X", **params)
    compiled = OrderBook("X", **params)
    for t_ns, (method, command) in enumerate(stream, start=1):
        expected = getattr(reference, method)(command, t_ns)
        actual = getattr(compiled, method)(command, t_ns)
        assert actual == expected, (method, command)
        assert [type(r) for r in actual] == [type(r) for r in expected]
        assert compiled.touched_levels == reference.touched_levels
        reference.touched_levels.clear()
        compiled.touched_levels.clear()
        assert views(compiled) == views(reference)
        for side in (BUY, SELL):
            for price, _ in reference.depth(side):
                assert compiled.queue(side, price) == reference.queue(side, price)
