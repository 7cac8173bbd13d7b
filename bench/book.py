"""Order-book throughput on a fixed seeded workload (a figure, not a pass/fail test).

Workload: start from 2,000 resting orders, then 1,000,000 operations:
- 50% passive limit adds (1-10 lots), priced k ticks behind the opposite touch
  (a buy at best ask - 1 - k, a sell at best bid + 1 + k; k ~ floor(Exponential(mean 4))),
  so they never cross and the spread stays tight;
- 30% cancels of a random live order;
- 20% market orders of 1-10 lots, side at random.

Three books run the same stream: the full `market.order_book.OrderBook` (validation,
execution reports, fees, L1 kept current) in its compiled form and as the pure-Python
reference (`PythonOrderBook`), and a bare dict+deque+heap book that does none of that, as
the yardstick.

What is timed, per operation, for each book: the loop over the pre-drawn workload, pricing
an add from the book's touch, picking a live order id for a cancel, and the book call. The
full books take messages, so their figure also includes building a `NewOrder` or
`CancelOrder` (with a fresh `t_ns`) per operation and freeing the list of execution reports
each call returns; the bare book takes plain arguments and returns nothing. Counting the
reports is not timed (a separate, untimed run counts them). `harness_alone_ns_per_op` is
the full books' loop and message building against a book that does nothing.

Each book runs --repeat times (default 3) and the fastest run counts, so a busy machine
skews the figures less. The last line is `ops_per_s N` for the full book as `OrderBook`
resolves (compiled when built).

    python bench/book.py [--operations N] [--seed S] [--repeat N] [--profile]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import gc
import heapq
import time
from collections import deque

import numpy as np

from market.messages import CancelOrder, NewOrder, OrderType, Side, TimeInForce
from market.order_book import COMPILED, OrderBook, PythonOrderBook

LOT = 100
MID = 100_000
INITIAL_ORDERS = 2_000


def make_workload(operations: int, seed: int) -> list[tuple[int, int, int, int, float]]:
    """(kind, is_buy, k, lots, uniform) per op; kind 0 add, 1 cancel, 2 market."""
    rng = np.random.default_rng(seed)
    n = operations + INITIAL_ORDERS
    kinds = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    kinds[:INITIAL_ORDERS] = 0
    buys = rng.integers(0, 2, size=n)
    ks = np.floor(rng.exponential(4.0, size=n)).astype(np.int64)
    lots = rng.integers(1, 11, size=n)
    uniforms = rng.random(size=n)
    return list(zip(kinds.tolist(), buys.tolist(), ks.tolist(), lots.tolist(), uniforms.tolist()))


class BareBook:
    """dict + deque + heap, no validation, no reports: the yardstick."""

    def __init__(self) -> None:
        self.orders: dict[int, list[int]] = {}  # id -> [price, qty, is_buy]
        self.levels: tuple[dict[int, deque[int]], dict[int, deque[int]]] = ({}, {})  # asks, bids
        self.heaps: tuple[list[int], list[int]] = ([], [])  # asks: price, bids: -price

    def best(self, is_buy: int) -> int | None:
        heap, levels, sign = self.heaps[is_buy], self.levels[is_buy], -1 if is_buy else 1
        while heap and not levels.get(heap[0] * sign):
            levels.pop(heap[0] * sign, None)
            heapq.heappop(heap)
        return heap[0] * sign if heap else None

    def add(self, order_id: int, is_buy: int, price: int, qty: int) -> None:
        self.orders[order_id] = [price, qty, is_buy]
        levels = self.levels[is_buy]
        level = levels.get(price)
        if level is None:
            level = levels[price] = deque()
            heapq.heappush(self.heaps[is_buy], -price if is_buy else price)
        level.append(order_id)

    def cancel(self, order_id: int) -> None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            level = self.levels[order[2]][order[0]]
            level.remove(order_id)

    def market(self, is_buy: int, qty: int) -> int:
        side = 0 if is_buy else 1  # a buy takes asks
        levels, orders, traded = self.levels[side], self.orders, 0
        while qty:
            price = self.best(side)
            if price is None:
                break
            level = levels[price]
            while qty and level:
                resting = orders[level[0]]
                fill = min(qty, resting[1])
                resting[1] -= fill
                qty -= fill
                traded += fill
                if not resting[1]:
                    del orders[level.popleft()]
        return traded

    def __contains__(self, order_id: int) -> bool:
        return order_id in self.orders


def run_bare(workload: list[tuple[int, int, int, int, float]]) -> float:
    book = BareBook()
    live: list[int] = []
    next_id = 0
    start = time.perf_counter()
    for index, (kind, is_buy, k, lots, u) in enumerate(workload):
        if index == INITIAL_ORDERS:
            start = time.perf_counter()
        if kind == 0:
            if is_buy:
                touch = book.best(0)
                price = (touch if touch is not None else MID + 1) - 1 - k
            else:
                touch = book.best(1)
                price = (touch if touch is not None else MID - 1) + 1 + k
            next_id += 1
            book.add(next_id, is_buy, price, lots * LOT)
            live.append(next_id)
        elif kind == 1:
            order_id = _pick_live(live, u, book)
            if order_id is not None:
                book.cancel(order_id)
        else:
            book.market(is_buy, lots * LOT)
    return time.perf_counter() - start


class NullBook:
    """Answers like a book and does nothing: measures the harness alone."""

    best_bid = MID - 1
    best_ask = MID + 1

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, order: object, t_ns: int) -> list[object]:
        return []

    def cancel(self, cancel: object, t_ns: int) -> list[object]:
        return []

    def __contains__(self, order_id: int) -> bool:
        return True

    def __len__(self) -> int:
        return 0


def run_full(
    workload: list[tuple[int, int, int, int, float]],
    book_class: type = OrderBook,
    count_reports: bool = False,
) -> tuple[float, int, OrderBook]:
    """(seconds, execution reports if counted, the book) for one run of the workload."""
    book = book_class("bench", tick_size=1, lot_size=LOT, maker_fee=-2, taker_fee=3)
    live: list[int] = []
    next_id = 0
    reports = 0
    buy, sell = Side.BUY, Side.SELL
    market, limit, day = OrderType.MARKET, OrderType.LIMIT, TimeInForce.DAY
    t_ns = 0
    start = time.perf_counter()
    for index, (kind, is_buy, k, lots, u) in enumerate(workload):
        if index == INITIAL_ORDERS:
            start = time.perf_counter()
            reports = 0
        t_ns += 1_000
        if kind == 0:
            if is_buy:
                touch = book.best_ask
                price = (touch if touch is not None else MID + 1) - 1 - k
            else:
                touch = book.best_bid
                price = (touch if touch is not None else MID - 1) + 1 + k
            next_id += 1
            out = book.submit(
                NewOrder(t_ns, "p", next_id, buy if is_buy else sell, lots * LOT, price, limit, day),
                t_ns,
            )
            live.append(next_id)
        elif kind == 1:
            order_id = _pick_live(live, u, book)
            if order_id is None:
                continue
            out = book.cancel(CancelOrder(t_ns, "p", order_id), t_ns)
        else:
            out = book.submit(
                NewOrder(t_ns, "q", -index, buy if is_buy else sell, lots * LOT, None, market),
                t_ns,
            )
        if count_reports:
            reports += len(out)
    return time.perf_counter() - start, reports, book


def _pick_live(live: list[int], u: float, book: object) -> int | None:
    """A random live order id (swap-remove; ids found filled are dropped on the way)."""
    while live:
        i = int(u * len(live))
        order_id = live[i]
        live[i] = live[-1]
        live.pop()
        if order_id in book:  # type: ignore[operator]
            return order_id
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per book; best counts")
    parser.add_argument("--profile", action="store_true", help="profile the full book with pyinstrument")
    args = parser.parse_args()
    workload = make_workload(args.operations, args.seed)
    gc.collect()
    gc.disable()  # both books run without the cyclic GC pausing them at random
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            run_full(workload, PythonOrderBook)
        profiler.print()
        return
    repeat = range(max(1, args.repeat))
    bare = min(run_bare(workload) for _ in repeat)
    harness = min(run_full(workload, NullBook)[0] for _ in repeat)
    python = min(run_full(workload, PythonOrderBook)[0] for _ in repeat)
    full = min(run_full(workload)[0] for _ in repeat)
    _, reports, book = run_full(workload, count_reports=True)  # untimed: the count
    ops = args.operations
    print(f"operations                 {ops}")
    print(f"harness_alone_ns_per_op    {harness / ops * 1e9:.0f}")
    print(f"bare_book_ops_per_s        {ops / bare:,.0f}")
    print(f"python_book_ops_per_s      {ops / python:,.0f}")
    print(f"full_book_ops_per_s        {ops / full:,.0f}  ({'compiled' if COMPILED else 'python: not compiled'})")
    print(f"execution_reports          {reports} ({reports / full:,.0f}/s)")
    print(f"resting_orders_end         {len(book)}  best {book.best_bid}/{book.best_ask}")
    print(f"full_vs_bare               {bare / full:.2f}x")
    print(f"ops_per_s {ops / full:.0f}")


if __name__ == "__main__":
    main()
