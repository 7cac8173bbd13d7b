"""A virtual-time asyncio event loop: time jumps to the next event instead of passing.

Concept. `VirtualTimeLoop` is a `SelectorEventLoop` whose `_run_once` never sleeps. When no
callback is ready, it takes the earliest scheduled event, sets the clock to that event's
time and runs it. Plain asyncio works unchanged on top: `asyncio.sleep`, `call_at`,
`wait_for`, `Queue`, `Event`, tasks and futures.

Ordering invariant. Every scheduled thing — an asyncio timer (`call_at`, `call_later`,
`sleep`) or a message delivery (`deliver_at`) — sits in ONE heap keyed by `(t_ns, sequence)`,
with one sequence counter: the `EventHeap`, which also holds the clock. Events due at the
same nanosecond therefore run in the order they were scheduled (asyncio's own timer heap
does not promise that). Callbacks already made ready (`call_soon`, a resolved future) run
before the clock moves.

Why two kinds of entry. A delivery is `(t_ns, seq, handler, message)`: the heap calls
`handler(message)` straight from the heap, without a `Handle`, a task or a trip through the
ready queue — that is the simulator's hot path. A timer is `(t_ns, seq, None, TimerHandle)`
and is moved to the ready queue. The drain stops as soon as a delivery makes an asyncio
callback ready (a future resolved, a task woken), so causality holds.

Time. Domain time is integer nanoseconds (`now_ns()`), within the signed 64-bit range (up
to the year 2262 from the epoch); `time()` returns float seconds since the loop's origin
(its start time), so floats stay small and exact for a simulated day even when the start is
an epoch timestamp. `call_at_ns` schedules at an exact integer time.

Complexity. Scheduling and popping are O(log n) in the number of pending events.

Stall. Nothing ready, nothing scheduled, yet `stop()` not called: `SimulationStalled` is
raised, naming every task still waiting and what it waits on.

Horizon. With `end_ns`, events due at or before `end_ns` run; the clock then stops at
`end_ns` and the loop stops.

Two implementations of the heap. `PythonEventHeap` here is the reference;
`market/_virtual_loop.pyx` is its compiled twin (C keys, so ordering costs no Python
comparisons; `deliver_at` and `now_ns` are C calls), and `EventHeap` is the twin whenever
the install built it (`COMPILED`). The tests run the loop on both.

Known limits. No real I/O waits and no threads: a task that waits on a socket or on
`run_in_executor` looks stalled in virtual time (use live mode for those). An asyncio timer
beyond the 64-bit range (a timeout of centuries) is kept at its end; it fires only if the
clock gets there.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import operator
from asyncio import events
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

from market.errors import HandlerFailed, SimulationError, SimulationStalled

__all__ = ["VirtualTimeLoop", "EventHeap", "PythonEventHeap", "COMPILED", "MIN_NS", "MAX_NS"]

_NS_PER_S = 1_000_000_000
MIN_NS = -(1 << 63)  # the clock's range: signed 64-bit nanoseconds (the compiled heap's keys)
MAX_NS = (1 << 63) - 1

# What `EventHeap.run` returns: why the drain stopped.
READY = 0  # an asyncio callback is ready (or stop() was called): run it
HORIZON = 1  # the next event is after end_ns: the clock is parked at end_ns
EMPTY = 2  # nothing is scheduled at all


class PythonEventHeap:
    """The loop's schedule and clock: deliveries and timers in one (t_ns, sequence) heap.

    The reference implementation; `EventHeap` is the compiled twin when it was built.
    `run` drains it: deliveries are called in place, the first live timer is handed to the
    ready queue, and the drain returns as soon as anything is ready (or `stopping` is set).
    """

    __slots__ = ("_heap", "_sequence", "_now_ns", "_cancelled_timers", "stopping",
                 "deliveries", "wakeups", "handler")

    def __init__(self, start_ns: int = 0) -> None:
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._sequence = itertools.count()
        self._now_ns = _check_ns(start_ns, "start_ns")
        self._cancelled_timers = 0  # cancelled timers still in the heap
        self.stopping = False  # the loop's stop() was called: return from run() at once
        self.deliveries = 0  # message deliveries run so far
        self.wakeups = 0  # asyncio timers that came due (sleeps, call_at) so far
        self.handler: Any = None  # the delivery handler that raised, if one did

    def now_ns(self) -> int:
        """The simulated time in integer nanoseconds."""
        return self._now_ns

    def deliver_at(self, t_ns: int, handler: Callable[[Any], object], message: Any) -> None:
        """Call `handler(message)` at `t_ns`: the fast path for message delivery."""
        if type(t_ns) is not int or not MIN_NS <= t_ns <= MAX_NS:
            t_ns = _check_ns(t_ns, "deliver_at: t_ns")
        if t_ns < self._now_ns:
            raise SimulationError(f"delivery at t_ns={t_ns} is in the past (now {self._now_ns})")
        heappush(self._heap, (t_ns, next(self._sequence), handler, message))

    def schedule_timer(self, t_ns: int, timer: asyncio.TimerHandle) -> None:
        """Queue an asyncio timer at `t_ns` (clamped to now and to the clock's range)."""
        t_ns = min(max(t_ns, self._now_ns), MAX_NS)
        heappush(self._heap, (t_ns, next(self._sequence), None, timer))

    def timer_cancelled(self) -> None:
        """A queued timer was cancelled. Cancelled timers stay in the heap and are skipped
        when popped; the heap is compacted when they outnumber the live entries, so
        `wait_for`-heavy code cannot bloat it."""
        self._cancelled_timers += 1
        heap = self._heap
        if self._cancelled_timers > 256 and self._cancelled_timers * 2 > len(heap):
            # In place: a drain in progress holds this very list.
            heap[:] = [e for e in heap if e[2] is not None or not e[3]._cancelled]
            heapify(heap)
            self._cancelled_timers = 0

    def run(self, ready: Any, end_ns: int | None) -> int:
        """Run deliveries in (time, sequence) order until an asyncio callback is ready;
        returns READY, HORIZON (clock parked at `end_ns`) or EMPTY."""
        heap = self._heap
        pop = heappop
        delivered = 0
        handler = None
        self.stopping = False
        try:
            while heap:
                t_ns, _, handler, message = heap[0]
                if end_ns is not None and t_ns > end_ns:
                    self._now_ns = end_ns  # not due before the horizon: leave it
                    return HORIZON
                pop(heap)
                if handler is None:
                    if message._cancelled:
                        self._cancelled_timers -= 1
                        continue
                    self._now_ns = t_ns
                    message._scheduled = False
                    ready.append(message)
                    self.wakeups += 1
                    return READY
                self._now_ns = t_ns
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

    def __len__(self) -> int:
        """Entries in the heap, cancelled timers included."""
        return len(self._heap)


def _check_ns(t_ns: Any, what: str) -> int:
    """An integer time within the clock's range, or a clear error."""
    try:
        value = operator.index(t_ns)
    except TypeError:
        raise TypeError(f"{what} must be an int of nanoseconds, got {t_ns!r}") from None
    if not MIN_NS <= value <= MAX_NS:
        raise OverflowError(f"{what}={value} is outside the clock's 64-bit range")
    return value


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock (see the module docstring)."""

    def __init__(self, start_ns: int = 0, end_ns: int | None = None) -> None:
        super().__init__()
        if type(start_ns) is not int:
            raise TypeError(f"start_ns must be an int of nanoseconds, got {start_ns!r}")
        if end_ns is not None:
            end_ns = _check_ns(end_ns, "end_ns")
        if end_ns is not None and end_ns < start_ns:
            raise ValueError(f"end_ns={end_ns} is before start_ns={start_ns}")
        self._events = EventHeap(start_ns)
        self._origin_ns = start_ns
        self._end_ns = end_ns
        self.horizon_reached = False
        # The hot calls go straight to the heap (C calls when it is compiled), not through
        # a Python method of the loop: these instance attributes shadow the methods below.
        self.now_ns = self._events.now_ns  # type: ignore[method-assign]
        self.deliver_at = self._events.deliver_at  # type: ignore[method-assign]

    # --- the clock ------------------------------------------------------------------

    def time(self) -> float:
        return (self._events.now_ns() - self._origin_ns) / _NS_PER_S

    def now_ns(self) -> int:
        """The simulated time in integer nanoseconds."""
        return self._events.now_ns()

    @property
    def end_ns(self) -> int | None:
        return self._end_ns

    def set_end_ns(self, end_ns: int | None) -> None:
        """Move the horizon (never into the past)."""
        now_ns = self._events.now_ns()
        if end_ns is not None:
            end_ns = _check_ns(end_ns, "end_ns")
        if end_ns is not None and end_ns < now_ns:
            raise ValueError(f"end_ns={end_ns} is before now ({now_ns})")
        self._end_ns = end_ns

    @property
    def deliveries(self) -> int:
        """Message deliveries run so far."""
        return self._events.deliveries

    @property
    def wakeups(self) -> int:
        """asyncio timers that came due (sleeps, call_at) so far."""
        return self._events.wakeups

    def stop(self) -> None:
        super().stop()
        self._events.stopping = True  # a drain in progress returns after this delivery

    # --- scheduling -------------------------------------------------------------------

    def deliver_at(self, t_ns: int, handler: Callable[[Any], object], message: Any) -> None:
        """Call `handler(message)` at `t_ns`: the fast path for message delivery."""
        self._events.deliver_at(t_ns, handler, message)

    def call_at_ns(
        self, t_ns: int, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        """Like `call_at`, at an exact integer time."""
        if type(t_ns) is not int:
            try:
                t_ns = operator.index(t_ns)
            except TypeError:
                raise TypeError(
                    f"call_at_ns: t_ns must be an int of nanoseconds, got {t_ns!r}") from None
        now_ns = self._events.now_ns()
        if t_ns < now_ns:
            t_ns = now_ns
        self._check_closed()  # type: ignore[attr-defined]
        timer = events.TimerHandle(
            (t_ns - self._origin_ns) / _NS_PER_S, callback, args, self, context
        )
        timer._scheduled = True  # type: ignore[attr-defined]  # asyncio's own flag
        self._events.schedule_timer(t_ns, timer)
        return timer

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        return self.call_at_ns(
            self._origin_ns + round(when * _NS_PER_S), callback, *args, context=context
        )

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        # Exact: counted from the integer clock, not through a float round trip.
        return self.call_at_ns(
            self._events.now_ns() + round(delay * _NS_PER_S), callback, *args, context=context
        )

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        # A timer that already fired is not in the heap (asyncio.sleep cancels its timer
        # after every wake-up): nothing to count.
        if handle._scheduled:  # type: ignore[attr-defined]
            self._events.timer_cancelled()

    # --- the iteration ------------------------------------------------------------------

    def _run_once(self) -> None:
        ready = self._ready  # type: ignore[attr-defined]
        if not ready and not self._stopping:  # type: ignore[attr-defined]
            self._advance(ready)
        ntodo = len(ready)
        for _ in range(ntodo):
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()

    def _advance(self, ready: Any) -> None:
        """Run deliveries in (time, sequence) order until an asyncio callback is ready."""
        heap = self._events
        try:
            why = heap.run(ready, self._end_ns)
        except Exception as error:
            raise HandlerFailed(_describe(heap.handler), heap.now_ns(), error) from error
        if why == READY:
            return
        if why == HORIZON:
            self.horizon_reached = True
            self.stop()
            return
        # Nothing scheduled at all. A callback from another thread may have just arrived.
        self._process_events(self._selector.select(0))  # type: ignore[attr-defined]
        if not ready:
            raise SimulationStalled(self._stall_message())

    def _stall_message(self) -> str:
        waiting = [t for t in asyncio.all_tasks(self) if not t.done()]
        lines = [
            f"simulation stalled at t_ns={self._events.now_ns()}: nothing is scheduled, "
            f"but {len(waiting)} task(s) still wait:"
        ]
        for task in sorted(waiting, key=lambda t: t.get_name()):
            frames = task.get_stack(limit=1)
            where = (
                f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
            )
            awaited = getattr(task, "_fut_waiter", None)
            lines.append(f"  {task.get_name()} ({task.get_coro()!r}) at {where}, awaiting {awaited!r}")
        return "\n".join(lines)


def _describe(handler: Any) -> str:
    """A stable name for a handler in an error message (no memory addresses)."""
    if isinstance(handler, functools.partial):
        bound = ", ".join(repr(a) for a in handler.args)
        return f"{_describe(handler.func)} ({bound})"
    owner = getattr(handler, "__self__", None)
    name = getattr(owner, "name", None)
    qualname = getattr(handler, "__qualname__", repr(handler))
    return f"{qualname} of {name!r}" if name is not None else qualname


# The compiled twin (market/_virtual_loop.pyx) follows PythonEventHeap and is tested
# against it; it is used wherever the install could build it.
EventHeap: type[PythonEventHeap]
try:
    from market._virtual_loop import EventHeap as _CompiledEventHeap  # type: ignore[import-not-found]
except ImportError:  # no C compiler at install time: the reference serves, same behaviour
    EventHeap = PythonEventHeap
    COMPILED = False
else:
    EventHeap = _CompiledEventHeap
    COMPILED = True
