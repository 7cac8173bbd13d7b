# cython: language_level=3
"""The compiled event heap: the same schedule and clock as `PythonEventHeap` in
`market/virtual_loop.py`, in Cython.

`market/virtual_loop.py` is the reference: its docstrings state the ordering invariant
and what each method does, and this module follows it method for method (same names, same
errors, same counters). The tests run the loop on both heaps.

Why it exists: every message in a simulation goes through this heap. With tuples in a
Python list, each push and pop costs a dozen Python tuple comparisons (about a third of a
delivery, measured); here the keys are C integers. And `deliver_at` / `now_ns` are C
calls, without a Python frame: the loop binds them as its own attributes.

Layout. A binary min-heap of C entries `(t_ns, seq, slot)` keyed by `(t_ns, seq)`; the
handler and the message of an entry live in two Python lists at index `slot` (so the
garbage collector sees them), and freed slots are reused. A timer's handler is None and its
message the `TimerHandle`. Pop order depends only on the keys, which are unique: the same
as the reference's, whatever the heap's internal layout.
"""

cimport cython
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_SET_ITEM
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport Py_DECREF, Py_INCREF

import operator

from market.errors import SimulationError

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object value, int* overflow) except? -1

__all__ = ["EventHeap"]

cdef long long MAX_NS = 9223372036854775807

# What `run` returns (market.virtual_loop.READY, HORIZON, EMPTY).
cdef int READY = 0
cdef int HORIZON = 1
cdef int EMPTY = 2


cdef struct Entry:
    long long t_ns
    long long seq
    Py_ssize_t slot


cdef inline bint _before(Entry* a, Entry* b) noexcept:
    return a.t_ns < b.t_ns or (a.t_ns == b.t_ns and a.seq < b.seq)


cdef long long _check_ns(object t_ns, str what) except? -1:
    """An integer time within the clock's range, or the reference's error."""
    cdef int overflow = 0
    cdef long long value
    if type(t_ns) is not int:
        try:
            t_ns = operator.index(t_ns)
        except TypeError:
            raise TypeError(f"{what} must be an int of nanoseconds, got {t_ns!r}") from None
    value = PyLong_AsLongLongAndOverflow(t_ns, &overflow)
    if overflow:
        raise OverflowError(f"{what}={t_ns} is outside the clock's 64-bit range")
    return value


@cython.final
cdef class EventHeap:
    """The loop's schedule and clock (compiled; see PythonEventHeap)."""

    cdef Entry* _heap
    cdef Py_ssize_t _size
    cdef Py_ssize_t _capacity
    cdef list _handlers  # slot -> handler (None for a timer, or a free slot)
    cdef list _messages  # slot -> message (the TimerHandle for a timer)
    cdef Py_ssize_t* _free_slots  # a stack of unused slots (room for every slot)
    cdef Py_ssize_t _free_count
    cdef Py_ssize_t _slot_capacity  # room in _free_slots
    cdef long long _sequence
    cdef long long _now_ns
    cdef Py_ssize_t _cancelled_timers  # cancelled timers still in the heap
    cdef public bint stopping  # the loop's stop() was called: return from run() at once
    cdef public long long deliveries  # message deliveries run so far
    cdef public long long wakeups  # asyncio timers that came due (sleeps, call_at) so far
    cdef public object handler  # the delivery handler that raised, if one did

    def __cinit__(self, start_ns=0):
        self._now_ns = _check_ns(start_ns, "start_ns")
        self._handlers = []
        self._messages = []
        self.handler = None

    def __dealloc__(self):
        PyMem_Free(self._heap)
        PyMem_Free(self._free_slots)

    def now_ns(self):
        """The simulated time in integer nanoseconds."""
        return self._now_ns

    def deliver_at(self, t_ns, handler, message):
        """Call `handler(message)` at `t_ns`: the fast path for message delivery."""
        cdef long long at = _check_ns(t_ns, "deliver_at: t_ns")
        if at < self._now_ns:
            raise SimulationError(f"delivery at t_ns={at} is in the past (now {self._now_ns})")
        self._push(at, handler, message)

    def schedule_timer(self, t_ns, timer):
        """Queue an asyncio timer at `t_ns` (clamped to now and to the clock's range)."""
        cdef long long at
        if t_ns < self._now_ns:
            at = self._now_ns
        elif t_ns > MAX_NS:
            at = MAX_NS
        else:
            at = t_ns
        self._push(at, None, timer)

    def timer_cancelled(self):
        """A queued timer was cancelled. Cancelled timers stay in the heap and are skipped
        when popped; the heap is compacted when they outnumber the live entries."""
        self._cancelled_timers += 1
        if self._cancelled_timers > 256 and self._cancelled_timers * 2 > self._size:
            self._compact()
            self._cancelled_timers = 0

    def run(self, ready, end_ns):
        """Run deliveries in (time, sequence) order until an asyncio callback is ready;
        returns READY, HORIZON (clock parked at `end_ns`) or EMPTY."""
        cdef bint has_end = end_ns is not None and end_ns < MAX_NS
        cdef long long end = end_ns if has_end else MAX_NS
        cdef long long delivered = 0
        cdef Entry top
        handler = None
        self.stopping = False
        try:
            while self._size:
                top = self._heap[0]
                if has_end and top.t_ns > end:
                    self._now_ns = end  # not due before the horizon: leave it
                    return HORIZON
                self._pop()
                handler = self._take(self._handlers, top.slot)
                message = self._take(self._messages, top.slot)
                self._free_slots[self._free_count] = top.slot
                self._free_count += 1
                if handler is None:
                    if message._cancelled:
                        self._cancelled_timers -= 1
                        continue
                    self._now_ns = top.t_ns
                    message._scheduled = False
                    ready.append(message)
                    self.wakeups += 1
                    return READY
                self._now_ns = top.t_ns
                delivered += 1
                handler(message)
                if ready or self.stopping:
                    return READY
            return EMPTY
        except Exception:
            self.handler = handler  # who failed, for the loop's HandlerFailed
            raise
        finally:
            self.deliveries += delivered

    def __len__(self):
        """Entries in the heap, cancelled timers included."""
        return self._size

    # --- internals --------------------------------------------------------------------

    cdef object _take(self, list items, Py_ssize_t slot):
        """items[slot], leaving None in its place."""
        value = <object>PyList_GET_ITEM(items, slot)
        Py_INCREF(None)
        PyList_SET_ITEM(items, slot, None)  # steals the None; the list's reference is ours
        Py_DECREF(value)  # the `value` local holds its own reference
        return value

    cdef int _push(self, long long t_ns, object handler, object message) except -1:
        cdef Py_ssize_t slot
        cdef Entry* grown
        cdef Py_ssize_t* grown_slots
        if self._free_count:
            self._free_count -= 1
            slot = self._free_slots[self._free_count]
            self._put(self._handlers, slot, handler)
            self._put(self._messages, slot, message)
        else:
            slot = PyList_GET_SIZE(self._handlers)
            if slot == self._slot_capacity:
                grown_slots = <Py_ssize_t*>PyMem_Realloc(
                    self._free_slots, (slot * 2 + 64) * sizeof(Py_ssize_t))
                if grown_slots is NULL:
                    raise MemoryError()
                self._free_slots = grown_slots
                self._slot_capacity = slot * 2 + 64
            self._handlers.append(handler)
            self._messages.append(message)
        if self._size == self._capacity:
            grown = <Entry*>PyMem_Realloc(self._heap, (self._capacity * 2 + 64) * sizeof(Entry))
            if grown is NULL:
                raise MemoryError()
            self._heap = grown
            self._capacity = self._capacity * 2 + 64
        cdef Entry entry
        entry.t_ns = t_ns
        entry.seq = self._sequence
        entry.slot = slot
        self._sequence += 1
        # Sift up: move parents down until the entry's place is found.
        cdef Py_ssize_t i = self._size, parent
        self._size += 1
        while i:
            parent = (i - 1) >> 1
            if not _before(&entry, &self._heap[parent]):
                break
            self._heap[i] = self._heap[parent]
            i = parent
        self._heap[i] = entry
        return 0

    cdef inline void _put(self, list items, Py_ssize_t slot, object value) noexcept:
        old = <object>PyList_GET_ITEM(items, slot)
        Py_INCREF(value)
        PyList_SET_ITEM(items, slot, value)
        Py_DECREF(old)

    cdef void _pop(self) noexcept:
        """Drop the root entry (its slot is the caller's to take)."""
        self._size -= 1
        if self._size:
            self._sift_down(0, self._heap[self._size])

    cdef void _sift_down(self, Py_ssize_t i, Entry entry) noexcept:
        """Put `entry` at position `i` and move it down to its place."""
        cdef Entry* heap = self._heap
        cdef Py_ssize_t n = self._size, child
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _before(&heap[child + 1], &heap[child]):
                child += 1
            if not _before(&heap[child], &entry):
                break
            heap[i] = heap[child]
            i = child
        heap[i] = entry

    cdef int _compact(self) except -1:
        """Drop cancelled timers, then restore the heap order."""
        cdef Py_ssize_t i, kept = 0
        cdef Entry entry
        for i in range(self._size):
            entry = self._heap[i]
            if (<object>PyList_GET_ITEM(self._handlers, entry.slot) is None
                    and (<object>PyList_GET_ITEM(self._messages, entry.slot))._cancelled):
                self._take(self._messages, entry.slot)
                self._free_slots[self._free_count] = entry.slot
                self._free_count += 1
                continue
            self._heap[kept] = entry
            kept += 1
        self._size = kept
        for i in range(kept // 2 - 1, -1, -1):
            self._sift_down(i, self._heap[i])
        return 0
