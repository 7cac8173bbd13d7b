# cython: language_level=3
"""The compiled order book: the same matching engine as `market/order_book.py`, in Cython.

`market/order_book.py` is the reference: its docstring states the rules, the invariants and
the layout, and this module follows it line for line (same names, same report order). The
test suite runs every order-book test and property against both implementations and checks
that they emit identical reports on random command streams, so the two cannot drift apart.

Why it exists: the book is the simulator's hot path. Interpreted, each operation pays for
Python frames, boxed integers and generic tuple creation; here resting orders and levels are
C structs, prices and quantities C integers, and execution reports are allocated directly as
`ExecutionReport` tuples (bench/book.py prints both figures).

Where it departs from the reference's layout, for speed only: a level's FIFO is a list read
from a head index; each side keeps its levels in a list beside the sorted keys (`ranked`),
so the best level is found without a dict lookup; an order and a level keep the price and
quantity objects they came with, which the reports reuse instead of boxing new integers;
fees are multiplied in C when they fit. Rare branches (self-trade prevention, an unfilled
remainder) are out of line, which keeps the hot paths short.

Limits beyond the reference: prices and quantities must fit in 62 bits, the same bound the
reference enforces so that both reject the same input.
"""

cimport cython
from bisect import bisect_left

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_Check, PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_SET_ITEM
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE

from market.messages import (
    CancelReason,
    CancelRejected,
    ExecType,
    ExecutionReport,
    L1Snapshot,
    L2Snapshot,
    Liquidity,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object value, int* overflow) except? -1

cdef extern from *:
    bint _multiply_overflows "__builtin_mul_overflow"(long long a, long long b, long long* product)
    void PyObject_GC_Track(object)

cdef extern from *:
    """
    /* A tuple-layout object of `type` with `size` items, not yet tracked by the GC: what
       PyType_GenericAlloc makes, minus zeroing the items (every caller fills them all). */
    static PyObject *sorsim_tuple_alloc(PyTypeObject *type, Py_ssize_t size) {
        return (PyObject *)PyObject_GC_NewVar(PyVarObject, type, size);
    }
    """
    object _tuple_alloc "sorsim_tuple_alloc"(PyTypeObject* type, Py_ssize_t size)

__all__ = ["OrderBook"]

cdef object MAX_VALUE = 4611686018427387904  # 2**62: market.order_book.MAX_VALUE (tested equal)
cdef long long MAX_VALUE_C = 4611686018427387904
_MAX_VALUE = MAX_VALUE

cdef object BUY = Side.BUY
cdef object SELL = Side.SELL
cdef object LIMIT = OrderType.LIMIT
cdef object MARKET = OrderType.MARKET
cdef object DAY = TimeInForce.DAY
cdef object IOC = TimeInForce.IOC
cdef object FOK = TimeInForce.FOK
cdef object NEW = ExecType.NEW
cdef object PARTIAL_FILL = ExecType.PARTIAL_FILL
cdef object FILL = ExecType.FILL
cdef object CANCELED = ExecType.CANCELED
cdef object REPLACED = ExecType.REPLACED
cdef object REJECTED = ExecType.REJECTED
cdef object MAKER = Liquidity.MAKER
cdef object TAKER = Liquidity.TAKER
cdef object REQUESTED = CancelReason.REQUESTED
cdef object UNFILLED_REMAINDER = CancelReason.UNFILLED_REMAINDER
cdef object SELF_TRADE = CancelReason.SELF_TRADE
cdef object REPORT_TYPE = ExecutionReport
cdef object INT = int
cdef object ZERO = 0  # the small-int singleton: the usual min_quantity, tested by identity first


cdef inline void _set(object report, Py_ssize_t i, object value) noexcept:
    Py_INCREF(value)
    PyTuple_SET_ITEM(report, i, value)


cdef inline long long _positive(object value) except? -1:
    """`value` as a C integer when it is an int in (0, MAX_VALUE], else 0: one test instead
    of a type check and two Python comparisons."""
    cdef int overflow = 0
    if type(value) is not INT:
        return 0
    cdef long long result = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow or result <= 0 or result > MAX_VALUE_C:
        return 0
    return result


cdef object _report(object t_ns, object venue, object participant, object order_id,
                    object exec_type, object side, object price, object quantity,
                    object last_quantity, object last_price, object leaves, object filled,
                    object fee, object liquidity, object trade_id, object reason):
    """An ExecutionReport allocated in place: what ExecutionReport(...) makes, minus the
    Python-level __new__ frame and the argument tuple."""
    cdef object report = _tuple_alloc(<PyTypeObject*>REPORT_TYPE, 16)
    _set(report, 0, t_ns)
    _set(report, 1, venue)
    _set(report, 2, participant)
    _set(report, 3, order_id)
    _set(report, 4, exec_type)
    _set(report, 5, side)
    _set(report, 6, price)
    _set(report, 7, quantity)
    _set(report, 8, last_quantity)
    _set(report, 9, last_price)
    _set(report, 10, leaves)
    _set(report, 11, filled)
    _set(report, 12, fee)
    _set(report, 13, liquidity)
    _set(report, 14, trade_id)
    _set(report, 15, reason)
    PyObject_GC_Track(report)
    return report


@cython.freelist(256)  # orders come and go at every add and fill: skip the allocator
cdef class _Order:
    cdef object order_id
    cdef object participant
    cdef object side
    cdef object price_obj  # the price as the order gave it: the level's key, the reports' field
    cdef long long price
    cdef object quantity_obj  # the total quantity as the order gave it: the reports' field
    cdef long long quantity
    cdef long long leaves  # 0 once filled, canceled or replaced away: a dead queue entry
    cdef long long filled
    cdef bint post_only


cdef _Order _new_order(object order_id, object participant, object side, object price_obj,
                       long long price, object quantity_obj, long long quantity,
                       long long leaves, long long filled, bint post_only):
    cdef _Order o = _Order.__new__(_Order)
    o.order_id = order_id
    o.participant = participant
    o.side = side
    o.price_obj = price_obj
    o.price = price
    o.quantity_obj = quantity_obj
    o.quantity = quantity
    o.leaves = leaves
    o.filled = filled
    o.post_only = post_only
    return o


@cython.freelist(64)
cdef class _Level:
    # A FIFO: a list read from `head`; popped entries are dropped in blocks.
    cdef object price  # the level's price (the dict key)
    cdef long long key  # price * sign: the side's sort key
    cdef list orders
    cdef Py_ssize_t head
    cdef long long quantity  # sum of live leaves
    cdef Py_ssize_t live
    cdef Py_ssize_t dead  # dead entries still queued

    def __cinit__(self):
        self.orders = []
        self.head = 0
        self.quantity = 0
        self.live = 0
        self.dead = 0

    cdef inline _Order front(self):
        return <_Order><object>PyList_GET_ITEM(self.orders, self.head)

    cdef inline bint empty(self) noexcept:
        return self.head >= PyList_GET_SIZE(self.orders)

    cdef inline void pop_front(self) noexcept:
        self.head += 1
        if self.head > 32 and self.head * 2 > PyList_GET_SIZE(self.orders):
            del self.orders[:self.head]
            self.head = 0

    cdef list live_orders(self):
        cdef list out = []
        cdef Py_ssize_t i
        cdef _Order o
        for i in range(self.head, PyList_GET_SIZE(self.orders)):
            o = <_Order><object>PyList_GET_ITEM(self.orders, i)
            if o.leaves:
                out.append(o)
        return out


cdef class _BookSide:
    cdef object side
    cdef long long sign
    cdef dict levels  # price -> _Level
    cdef list keys  # price * sign, ascending: the best price is last
    cdef list ranked  # the _Level of each key, same order: the best level is last

    def __cinit__(self, side):
        self.side = side
        self.sign = 1 if side is BUY else -1
        self.levels = {}
        self.keys = []
        self.ranked = []

    cdef inline _Level best_level(self):
        return <_Level><object>PyList_GET_ITEM(self.ranked, PyList_GET_SIZE(self.ranked) - 1)

    cdef inline object best_price(self):
        return self.best_level().price if PyList_GET_SIZE(self.ranked) else None


cdef class OrderBook:
    """Price-time priority matching for one instrument at one venue (compiled)."""

    cdef public object venue
    cdef public object tick_size
    cdef public object lot_size
    cdef object _maker_fee_obj
    cdef object _taker_fee_obj
    cdef public object best_bid
    cdef public object best_ask
    cdef public object touched_levels
    cdef long long _tick
    cdef long long _lot
    cdef bint _c_fees  # both fees are ints that fit in C: fee = fill * fee per share in C
    cdef long long _maker_fee
    cdef long long _taker_fee
    cdef _BookSide _bids
    cdef _BookSide _asks
    cdef dict _orders
    cdef long long _trade_id

    def __init__(self, venue="book", *, tick_size=1, lot_size=1, maker_fee=0, taker_fee=0,
                 track_levels=False):
        if tick_size <= 0 or lot_size <= 0:
            raise ValueError(f"tick_size and lot_size must be > 0, got {tick_size}, {lot_size}")
        self.venue = venue
        self.tick_size = tick_size
        self.lot_size = lot_size
        self._tick = tick_size
        self._lot = lot_size
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self._bids = _BookSide(BUY)
        self._asks = _BookSide(SELL)
        self._orders = {}
        self._trade_id = 0
        self.best_bid = None
        self.best_ask = None
        self.touched_levels = [] if track_levels else None

    @property
    def maker_fee(self):
        """Per share, in ticks; negative is a rebate. May change during a run."""
        return self._maker_fee_obj

    @maker_fee.setter
    def maker_fee(self, value):
        self._maker_fee_obj = value
        self._set_c_fees()

    @property
    def taker_fee(self):
        return self._taker_fee_obj

    @taker_fee.setter
    def taker_fee(self, value):
        self._taker_fee_obj = value
        self._set_c_fees()

    cdef void _set_c_fees(self):
        maker, taker = self._maker_fee_obj, self._taker_fee_obj
        self._c_fees = (type(maker) is int and type(taker) is int
                        and -MAX_VALUE <= maker <= MAX_VALUE and -MAX_VALUE <= taker <= MAX_VALUE)
        if self._c_fees:
            self._maker_fee = maker
            self._taker_fee = taker

    # --- commands ---------------------------------------------------------------------

    @cython.cdivision(True)  # quantity, price, lot and tick are positive here
    def submit(self, order, t_ns):
        # Fields are read with PyTuple_GET_ITEM: indexing a NamedTuple through the generic
        # protocol goes via a Python-level __getitem__ lookup (measured: ~750 instructions).
        _check_message(order, 11)
        participant = <object>PyTuple_GET_ITEM(order, 1)
        order_id = <object>PyTuple_GET_ITEM(order, 2)
        side = <object>PyTuple_GET_ITEM(order, 3)
        quantity_obj = <object>PyTuple_GET_ITEM(order, 4)
        price_obj = <object>PyTuple_GET_ITEM(order, 5)
        order_type = <object>PyTuple_GET_ITEM(order, 6)
        tif = <object>PyTuple_GET_ITEM(order, 7)
        post_only = <object>PyTuple_GET_ITEM(order, 8)
        min_quantity = <object>PyTuple_GET_ITEM(order, 9)
        peg = <object>PyTuple_GET_ITEM(order, 10)
        cdef long long quantity = _positive(quantity_obj), price = 0, leaves
        cdef bint crosses, is_post_only
        cdef bint has_limit = order_type is LIMIT
        cdef long long limit_key = 0
        cdef _BookSide opposite
        if has_limit:
            price = _positive(price_obj)
        # One combined test for the common valid order; the slow path names the reason.
        if (not quantity or quantity % self._lot
                or (min_quantity is not ZERO and min_quantity) or peg is not None
                or type(order_id) is not INT or order_id in self._orders
                or (tif is not DAY and (post_only or (tif is not IOC and tif is not FOK)))
                or ((not price or price % self._tick) if has_limit
                    else (order_type is not MARKET or price_obj is not None or post_only))
                or (side is not BUY and side is not SELL)):
            return self._rejected(order, t_ns)
        is_post_only = post_only
        if side is BUY:
            opposite = self._asks
            limit_key = -price
        else:
            opposite = self._bids
            limit_key = price
        crosses = _crosses(opposite, has_limit, limit_key)
        if crosses and is_post_only:
            return [self._reject(order, t_ns, RejectReason.POST_ONLY_WOULD_CROSS)]
        if tif is FOK and _available(opposite, has_limit, limit_key, participant, quantity) < quantity:
            return [self._reject(order, t_ns, RejectReason.FOK_CANNOT_FILL)]
        venue = self.venue
        reports = [_report(t_ns, venue, participant, order_id, NEW, side, price_obj,
                           quantity_obj, 0, 0, quantity_obj, 0, 0, None, 0, None)]
        leaves = quantity
        if crosses:
            leaves = self._match(opposite, has_limit, limit_key, order_id, participant, side,
                                 price_obj, quantity_obj, quantity, 0, t_ns, reports)
            if not leaves:
                return reports
        if tif is DAY and has_limit:
            self._rest(_new_order(order_id, participant, side, price_obj, price, quantity_obj,
                                  quantity, leaves, quantity - leaves, is_post_only))
        else:
            reports.append(_unfilled_remainder(order, t_ns, venue, quantity - leaves))
        return reports

    def cancel(self, cancel, t_ns):
        _check_message(cancel, 3)
        order_id = <object>PyTuple_GET_ITEM(cancel, 2)
        cdef _Order resting
        found = self._orders.get(order_id) if type(order_id) is INT else None
        participant = <object>PyTuple_GET_ITEM(cancel, 1)
        if found is None or ((<_Order>found).participant is not participant
                             and (<_Order>found).participant != participant):
            return [CancelRejected(t_ns, self.venue, cancel.participant, cancel.order_id,
                                   RejectReason.UNKNOWN_ORDER, "cancel")]
        resting = <_Order>found
        self._remove(resting)
        return [_report(t_ns, self.venue, resting.participant, resting.order_id, CANCELED,
                        resting.side, resting.price_obj, resting.quantity_obj, 0, 0, 0,
                        resting.filled, 0, None, 0, REQUESTED)]

    def replace(self, replace, t_ns):
        _check_message(replace, 5)
        participant = <object>PyTuple_GET_ITEM(replace, 1)
        order_id = <object>PyTuple_GET_ITEM(replace, 2)
        quantity_obj = <object>PyTuple_GET_ITEM(replace, 3)
        price_obj = <object>PyTuple_GET_ITEM(replace, 4)
        cdef _Order resting = None
        cdef _BookSide opposite = None
        cdef long long price, quantity, leaves, filled, new_key = 0
        cdef bint crosses = False
        found = self._orders.get(order_id) if type(order_id) is INT else None
        reason = None
        if found is None or (<_Order>found).participant != participant:
            reason = RejectReason.UNKNOWN_ORDER
        else:
            resting = <_Order>found
            reason = self._validate_quantity_and_price(quantity_obj, price_obj)
            if reason is None and quantity_obj <= resting.filled:
                reason = RejectReason.QUANTITY_NOT_ABOVE_FILLED
        if reason is None:
            opposite = self._asks if resting.side is BUY else self._bids
            new_key = (<long long>price_obj) * opposite.sign
            crosses = _crosses(opposite, True, new_key)
            if resting.post_only and crosses:
                reason = RejectReason.POST_ONLY_WOULD_CROSS
        if reason is not None:
            return [CancelRejected(t_ns, self.venue, participant, order_id, reason, "replace")]
        price = price_obj
        quantity = quantity_obj
        filled = resting.filled
        leaves = quantity - filled
        side = resting.side
        cdef _Level level
        if price == resting.price and leaves <= resting.leaves:
            level = <_Level>((self._bids if side is BUY else self._asks).levels[price_obj])
            level.quantity -= resting.leaves - leaves
            resting.leaves = leaves
            resting.quantity_obj = quantity_obj
            resting.quantity = quantity
            if self.touched_levels is not None:
                self.touched_levels.append((side, price_obj))
            return [_report(t_ns, self.venue, participant, order_id, REPLACED, side, price_obj,
                            quantity_obj, 0, 0, leaves, filled, 0, None, 0, None)]
        # Priority is lost: take the order out and send it in again as an aggressor.
        self._remove(resting)
        reports = [_report(t_ns, self.venue, participant, order_id, REPLACED, side, price_obj,
                           quantity_obj, 0, 0, leaves, filled, 0, None, 0, None)]
        if crosses:
            leaves = self._match(opposite, True, new_key, order_id, participant, side,
                                 price_obj, quantity_obj, quantity, filled, t_ns, reports)
        if leaves:
            self._rest(_new_order(order_id, participant, side, price_obj, price, quantity_obj,
                                  quantity, leaves, quantity - leaves, resting.post_only))
        return reports

    # --- views ------------------------------------------------------------------------

    def l1(self, t_ns=0):
        bid, ask = self.best_bid, self.best_ask
        return L1Snapshot(
            t_ns, self.venue,
            bid, (<_Level>self._bids.levels[bid]).quantity if bid is not None else 0,
            ask, (<_Level>self._asks.levels[ask]).quantity if ask is not None else 0,
        )

    def l2(self, t_ns=0, depth=10):
        return L2Snapshot(t_ns, self.venue, self.depth(BUY, depth), self.depth(SELL, depth))

    def depth(self, side, levels=None):
        cdef _BookSide book_side = self._bids if side is BUY else self._asks
        keys = book_side.keys
        chosen = keys[::-1] if levels is None else keys[: -levels - 1 : -1]
        sign = book_side.sign
        by_price = book_side.levels
        return tuple((k * sign, (<_Level>by_price[k * sign]).quantity) for k in chosen)

    def level_quantity(self, side, price):
        level = (self._bids if side is BUY else self._asks).levels.get(price)
        return (<_Level>level).quantity if level is not None else 0

    def queue(self, side, price):
        level = (self._bids if side is BUY else self._asks).levels.get(price)
        if level is None:
            return []
        return [(<_Order>o).order_id for o in (<_Level>level).live_orders()]

    def resting(self, order_id):
        found = self._orders.get(order_id)
        if found is None:
            return None
        cdef _Order o = <_Order>found
        return (o.order_id, o.participant, o.side, o.price, o.leaves, o.filled)

    def resting_orders(self):
        cdef _Order o
        for found in self._orders.values():
            o = <_Order>found
            yield (o.order_id, o.participant, o.side, o.price, o.leaves, o.filled)

    def __len__(self):
        return len(self._orders)

    def __contains__(self, order_id):
        return order_id in self._orders

    # --- internals --------------------------------------------------------------------

    def _validate_quantity_and_price(self, quantity, price):
        if type(quantity) is not INT or quantity <= 0 or quantity > MAX_VALUE:
            return RejectReason.INVALID_QUANTITY
        if quantity % self.lot_size:
            return RejectReason.NOT_LOT_MULTIPLE
        if type(price) is not INT or price <= 0 or price > MAX_VALUE:
            return RejectReason.INVALID_PRICE
        if price % self.tick_size:
            return RejectReason.OFF_TICK
        return None

    def _reject_reason(self, order):
        if order.min_quantity or order.peg is not None:
            return RejectReason.UNSUPPORTED
        if order.side is not BUY and order.side is not SELL:
            return RejectReason.INVALID_SIDE
        order_type = order.order_type
        if order_type is LIMIT:
            reason = self._validate_quantity_and_price(order.quantity, order.price)
            if reason is not None:
                return reason
        elif order_type is MARKET:
            quantity = order.quantity
            if type(quantity) is not INT or quantity <= 0 or quantity > MAX_VALUE:
                return RejectReason.INVALID_QUANTITY
            if quantity % self.lot_size:
                return RejectReason.NOT_LOT_MULTIPLE
            if order.price is not None:
                return RejectReason.INVALID_PRICE
            if order.post_only:
                return RejectReason.INVALID_ORDER_TYPE
        else:
            return RejectReason.INVALID_ORDER_TYPE
        tif = order.time_in_force
        if (tif is not DAY and tif is not IOC and tif is not FOK) or (order.post_only and tif is not DAY):
            return RejectReason.INVALID_TIME_IN_FORCE
        if type(order.order_id) is not INT:
            return RejectReason.INVALID_ORDER_ID
        if order.order_id in self._orders:
            return RejectReason.DUPLICATE_ORDER_ID
        raise AssertionError(f"no reject reason for {order!r}")

    cdef list _rejected(self, order, t_ns):
        return [self._reject(order, t_ns, self._reject_reason(order))]

    cdef object _reject(self, order, t_ns, reason):
        return _report(t_ns, self.venue, order.participant, order.order_id, REJECTED,
                       order.side, order.price, order.quantity, 0, 0, 0, 0, 0, None, 0,
                       reason)

    cdef long long _match(self, _BookSide opposite, bint has_limit, long long limit_key,
                          object order_id, object participant, object side, object price,
                          object quantity_obj, long long quantity, long long filled,
                          object t_ns, list reports):
        cdef list keys = opposite.keys
        cdef list ranked = opposite.ranked
        cdef dict levels = opposite.levels
        cdef dict orders = self._orders
        cdef long long leaves = quantity - filled
        cdef long long trade_id = self._trade_id
        cdef long long fill, resting_leaves, resting_filled
        cdef _Level level
        cdef _Order resting
        venue = self.venue
        touched = self.touched_levels
        while leaves and PyList_GET_SIZE(ranked):
            level = opposite.best_level()
            if has_limit and level.key < limit_key:
                break
            level_price = level.price
            while leaves and not level.empty():
                resting = level.front()
                resting_leaves = resting.leaves
                if not resting_leaves:
                    level.pop_front()
                    level.dead -= 1
                    continue
                if resting.participant is participant or resting.participant == participant:
                    # Self-trade prevention: cancel the resting order, keep matching.
                    self._cancel_self_trade(level, resting, t_ns, reports)
                    continue
                fill = leaves if leaves < resting_leaves else resting_leaves
                trade_id += 1
                resting_leaves -= fill
                resting.leaves = resting_leaves
                resting_filled = resting.filled + fill
                resting.filled = resting_filled
                level.quantity -= fill
                if not resting_leaves:
                    level.pop_front()
                    level.live -= 1
                    del orders[resting.order_id]
                leaves -= fill
                filled += fill
                fill_obj = fill
                trade_obj = trade_id
                # A completed order's filled quantity is its quantity: that object, not a new one.
                reports.append(_report(
                    t_ns, venue, resting.participant, resting.order_id,
                    PARTIAL_FILL if resting_leaves else FILL, resting.side, level_price,
                    resting.quantity_obj, fill_obj, level_price, resting_leaves,
                    resting_filled if resting_leaves else resting.quantity_obj,
                    self._fee(fill_obj, fill, True), MAKER, trade_obj, None))
                reports.append(_report(
                    t_ns, venue, participant, order_id, PARTIAL_FILL if leaves else FILL,
                    side, price, quantity_obj, fill_obj, level_price, leaves,
                    filled if leaves else quantity_obj,
                    self._fee(fill_obj, fill, False), TAKER, trade_obj, None))
            if touched is not None:
                touched.append((opposite.side, level_price))
            if not level.live:
                del levels[level_price]
                keys.pop()
                ranked.pop()
        self._trade_id = trade_id
        if opposite.sign == 1:
            self.best_bid = opposite.best_price()
        else:
            self.best_ask = opposite.best_price()
        return leaves

    cdef int _cancel_self_trade(self, _Level level, _Order resting, object t_ns,
                                list reports) except -1:
        """Self-trade prevention: the incoming order's participant rests `resting`; cancel it.
        (Out of line: rare, and the matching loop stays small.)"""
        level.pop_front()
        level.quantity -= resting.leaves
        level.live -= 1
        resting.leaves = 0
        del self._orders[resting.order_id]
        reports.append(_report(
            t_ns, self.venue, resting.participant, resting.order_id, CANCELED, resting.side,
            level.price, resting.quantity_obj, 0, 0, 0, resting.filled, 0, None, 0, SELF_TRADE))
        return 0

    cdef object _fee(self, object fill_obj, long long fill, bint maker):
        """This fill's fee: fill x fee per share (in C when it fits)."""
        cdef long long fee
        if self._c_fees and not _multiply_overflows(
                fill, self._maker_fee if maker else self._taker_fee, &fee):
            return fee
        return fill_obj * (self._maker_fee_obj if maker else self._taker_fee_obj)

    cdef int _rest(self, _Order order) except -1:
        side = order.side
        cdef _BookSide book_side = self._bids if side is BUY else self._asks
        price = order.price_obj
        found = book_side.levels.get(price)
        cdef _Level level
        cdef list keys
        cdef Py_ssize_t i
        if found is None:
            level = _Level()
            level.price = price
            level.key = order.price * book_side.sign
            book_side.levels[price] = level
            keys = book_side.keys
            key = level.key
            if not keys or level.key > book_side.best_level().key:
                keys.append(key)
                book_side.ranked.append(level)
                if side is BUY:
                    self.best_bid = price
                else:
                    self.best_ask = price
            else:
                i = bisect_left(keys, key)
                keys.insert(i, key)
                book_side.ranked.insert(i, level)
        else:
            level = <_Level>found
        level.orders.append(order)
        level.quantity += order.leaves
        level.live += 1
        self._orders[order.order_id] = order
        if self.touched_levels is not None:
            self.touched_levels.append((side, price))
        return 0

    cdef int _remove(self, _Order order) except -1:
        side = order.side
        cdef _BookSide book_side = self._bids if side is BUY else self._asks
        price = order.price_obj
        cdef _Level level = <_Level>book_side.levels[price]
        level.quantity -= order.leaves
        level.live -= 1
        order.leaves = 0
        del self._orders[order.order_id]
        if self.touched_levels is not None:
            self.touched_levels.append((side, price))
        if level.live:
            level.dead += 1
            if level.dead > 16 and level.dead > level.live:
                level.orders = level.live_orders()
                level.head = 0
                level.dead = 0
            return 0
        del book_side.levels[price]
        keys = book_side.keys
        cdef Py_ssize_t i
        if book_side.best_level() is level:
            keys.pop()
            book_side.ranked.pop()
            if side is BUY:
                self.best_bid = book_side.best_price()
            else:
                self.best_ask = book_side.best_price()
        else:
            i = bisect_left(keys, level.key)
            del keys[i]
            del book_side.ranked[i]
        return 0


cdef object _unfilled_remainder(object order, object t_ns, object venue, long long filled):
    """The CANCELED report for what an IOC or market order left (out of submit's hot path)."""
    return _report(t_ns, venue, <object>PyTuple_GET_ITEM(order, 1),
                   <object>PyTuple_GET_ITEM(order, 2), CANCELED, <object>PyTuple_GET_ITEM(order, 3),
                   <object>PyTuple_GET_ITEM(order, 5), <object>PyTuple_GET_ITEM(order, 4), 0, 0, 0,
                   filled, 0, None, 0, UNFILLED_REMAINDER)


cdef inline int _check_message(object message, Py_ssize_t size) except -1:
    if not PyTuple_Check(message) or PyTuple_GET_SIZE(message) != size:
        raise TypeError(f"expected a {size}-field message, got {type(message).__name__}")
    return 0


cdef inline bint _crosses(_BookSide opposite, bint has_limit, long long limit_key) noexcept:
    if not PyList_GET_SIZE(opposite.ranked):
        return False
    if not has_limit:
        return True
    return opposite.best_level().key >= limit_key


cdef long long _available(_BookSide opposite, bint has_limit, long long limit_key,
                          object participant, long long needed):
    """Quantity an order could take now, not counting the participant's own orders."""
    cdef long long total = 0
    cdef _Order o
    for key in reversed(opposite.keys):
        if has_limit and key < limit_key:
            break
        for found in (<_Level>opposite.levels[key * opposite.sign]).live_orders():
            o = <_Order>found
            if o.participant != participant:
                total += o.leaves
                if total >= needed:
                    return total
    return total
