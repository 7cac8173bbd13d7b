"""VirtualTimeLoop: plain asyncio on a virtual clock, one (t_ns, seq) order, clear failures.

Every assertion is on simulated time (`now_ns()`), never on wall time: a simulated hour
must cost milliseconds, and the tests would hang rather than pass if time did not jump.

Every test runs on both event heaps, the reference `PythonEventHeap` and its compiled twin;
a property test also drives the two heaps directly with the same random operations.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import virtual_loop
from market.clock import run
from market.errors import HandlerFailed, SimulationError, SimulationStalled
from market.virtual_loop import (
    COMPILED,
    MAX_NS,
    EventHeap,
    PythonEventHeap,
    VirtualTimeLoop,
)

S = 1_000_000_000  # ns per second
DAY_NS = 86_400 * S
EPOCH_NS = 1_700_000_000_123_456_789
STARTS = [0, DAY_NS, EPOCH_NS]


def _loop() -> VirtualTimeLoop:
    """The running loop, checked to be the virtual one."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    return loop


HEAPS = [PythonEventHeap] + ([EventHeap] if COMPILED else [])


@pytest.fixture(autouse=True, params=HEAPS, ids=lambda heap: heap.__module__)
def event_heap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """Every test in this module runs once per heap implementation."""
    monkeypatch.setattr(virtual_loop, "EventHeap", request.param)
    return request.param  # type: ignore[no-any-return]


def test_compiled_event_heap_is_built_and_in_use() -> None:
    assert COMPILED, "market._virtual_loop did not compile: the install lacks a C compiler?"
    assert EventHeap is not PythonEventHeap


def test_loop_runs_on_the_heap_under_test(event_heap: type) -> None:
    loop = VirtualTimeLoop()
    try:
        assert type(loop._events) is event_heap
    finally:
        loop.close()


@pytest.fixture
def vloop() -> Iterator[VirtualTimeLoop]:
    loop = VirtualTimeLoop()
    yield loop
    loop.close()


class Recorder:
    """A handler object with a name, as venues and agents have."""

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.seen: list[tuple[int, Any]] = []

    def on_message(self, message: Any) -> None:
        self.seen.append((asyncio.get_running_loop().now_ns(), message))  # type: ignore[attr-defined]


# --- construction and the clock ---------------------------------------------------------


def test_virtual_loop_float_start_raises_type_error() -> None:
    with pytest.raises(TypeError, match="start_ns"):
        VirtualTimeLoop(start_ns=1.5)  # type: ignore[arg-type]


def test_virtual_loop_end_before_start_raises_value_error() -> None:
    with pytest.raises(ValueError, match="end_ns"):
        VirtualTimeLoop(start_ns=10, end_ns=9)


@pytest.mark.parametrize("start_ns", STARTS)
def test_virtual_loop_time_counts_seconds_from_start(start_ns: int) -> None:
    async def main() -> tuple[float, int, float, int]:
        loop = _loop()
        before = (loop.time(), loop.now_ns())
        await asyncio.sleep(1.5)
        return before[0], before[1], loop.time(), loop.now_ns()

    assert run(main(), start_ns=start_ns) == (0.0, start_ns, 1.5, start_ns + 3 * S // 2)


def test_set_end_ns_into_past_raises_value_error(vloop: VirtualTimeLoop) -> None:
    async def main() -> None:
        await asyncio.sleep(2)
        _loop().set_end_ns(1 * S)

    with pytest.raises(ValueError, match="before now"):
        vloop.run_until_complete(main())


# --- plain asyncio on top ---------------------------------------------------------------


def test_sleep_simulated_hour_of_one_second_steps_lands_exactly() -> None:
    async def main() -> list[int]:
        loop = _loop()
        marks = []
        for _ in range(3600):
            await asyncio.sleep(1)
            marks.append(loop.now_ns())
        return marks

    marks = run(main())
    assert marks == [k * S for k in range(1, 3601)]


def test_sleep_single_hour_jumps_clock_to_exact_ns() -> None:
    async def main() -> int:
        await asyncio.sleep(3600)
        return _loop().now_ns()

    assert run(main()) == 3600 * S


def test_sleep_zero_yields_without_moving_clock() -> None:
    async def main() -> list[tuple[str, int]]:
        loop = _loop()
        order: list[tuple[str, int]] = []

        async def other() -> None:
            order.append(("other", loop.now_ns()))

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        order.append(("main", loop.now_ns()))
        await task
        return order

    assert run(main(), start_ns=7) == [("other", 7), ("main", 7)]


def test_call_at_runs_callback_at_exact_time() -> None:
    async def main() -> list[tuple[int, str]]:
        loop = _loop()
        seen: list[tuple[int, str]] = []
        done = loop.create_future()
        loop.call_at(loop.time() + 2.5, lambda tag: seen.append((loop.now_ns(), tag)), "a")
        loop.call_at(loop.time() + 3.0, done.set_result, None)
        await done
        return seen

    assert run(main(), start_ns=DAY_NS) == [(DAY_NS + 5 * S // 2, "a")]


def test_call_later_passes_args_and_fires_after_delay() -> None:
    async def main() -> list[tuple[int, int, int]]:
        loop = _loop()
        seen: list[tuple[int, int, int]] = []
        await asyncio.sleep(1)
        loop.call_later(0.25, lambda a, b: seen.append((loop.now_ns(), a, b)), 1, 2)
        await asyncio.sleep(1)
        return seen

    assert run(main()) == [(S + S // 4, 1, 2)]


def test_call_later_cancelled_handle_never_fires() -> None:
    async def main() -> list[int]:
        loop = _loop()
        seen: list[int] = []
        handle = loop.call_later(1, seen.append, 1)
        loop.call_later(2, seen.append, 2)
        handle.cancel()
        await asyncio.sleep(3)
        return seen

    assert run(main()) == [2]


def test_call_soon_from_timer_runs_before_clock_moves() -> None:
    async def main() -> list[tuple[str, int]]:
        loop = _loop()
        seen: list[tuple[str, int]] = []

        def timer() -> None:
            seen.append(("timer", loop.now_ns()))
            loop.call_soon(lambda: seen.append(("soon", loop.now_ns())))

        loop.call_at_ns(100, timer)
        loop.call_at_ns(101, lambda: seen.append(("later", loop.now_ns())))
        await asyncio.sleep(1)
        return seen

    assert run(main()) == [("timer", 100), ("soon", 100), ("later", 101)]


def test_wait_for_timeout_raises_timeout_error_at_timeout_instant() -> None:
    async def main() -> int:
        loop = _loop()
        never = asyncio.Event()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(never.wait(), timeout=3)
        return loop.now_ns()

    assert run(main(), start_ns=EPOCH_NS) == EPOCH_NS + 3 * S


def test_wait_for_completing_returns_result_at_completion_time() -> None:
    async def main() -> tuple[str, int, int]:
        loop = _loop()
        fut = loop.create_future()
        loop.call_at_ns(loop.now_ns() + 2 * S, fut.set_result, "filled")
        result = await asyncio.wait_for(fut, timeout=5)
        at = loop.now_ns()
        await asyncio.sleep(10)  # the cancelled 5 s timeout must neither fire nor stop us
        return result, at, loop.now_ns()

    assert run(main()) == ("filled", 2 * S, 12 * S)


def test_timeout_context_manager_expires_at_deadline() -> None:
    async def main() -> tuple[bool, int]:
        loop = _loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5) as scope:
                await asyncio.sleep(60)
        return scope.expired(), loop.now_ns()

    assert run(main()) == (True, S // 2)


def test_queue_consumer_receives_items_at_put_times() -> None:
    async def main() -> list[tuple[int, int]]:
        loop = _loop()
        queue: asyncio.Queue[int | None] = asyncio.Queue()
        got: list[tuple[int, int]] = []

        async def producer() -> None:
            for i in range(5):
                await asyncio.sleep(0.001)
                await queue.put(i)
            await queue.put(None)

        async def consumer() -> None:
            while (item := await queue.get()) is not None:
                got.append((loop.now_ns(), item))

        await asyncio.gather(producer(), consumer())
        return got

    assert run(main()) == [((i + 1) * 1_000_000, i) for i in range(5)]


def test_queue_bounded_put_blocks_until_consumer_gets() -> None:
    async def main() -> list[tuple[str, int]]:
        loop = _loop()
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        log: list[tuple[str, int]] = []

        async def producer() -> None:
            await queue.put(1)
            await queue.put(2)  # blocks until the consumer takes 1 at t=4 s
            log.append(("put2", loop.now_ns()))

        async def consumer() -> None:
            await asyncio.sleep(4)
            log.append(("get", await queue.get()))

        await asyncio.gather(producer(), consumer())
        return log

    assert run(main()) == [("get", 1), ("put2", 4 * S)]


def test_event_set_by_timer_wakes_all_waiters_in_wait_order() -> None:
    async def main() -> list[tuple[str, int]]:
        loop = _loop()
        event = asyncio.Event()
        woke: list[tuple[str, int]] = []

        async def waiter(name: str) -> None:
            await event.wait()
            woke.append((name, loop.now_ns()))

        tasks = [asyncio.create_task(waiter(f"w{i}")) for i in range(5)]
        loop.call_at_ns(42, event.set)
        await asyncio.gather(*tasks)
        return woke

    assert run(main()) == [(f"w{i}", 42) for i in range(5)]


def test_gather_returns_results_when_slowest_finishes() -> None:
    async def main() -> tuple[list[int], int]:
        loop = _loop()

        async def work(seconds: int) -> int:
            await asyncio.sleep(seconds)
            return seconds * 10

        results = await asyncio.gather(work(3), work(1), work(2))
        return list(results), loop.now_ns()

    assert run(main()) == ([30, 10, 20], 3 * S)


def test_tasks_with_equal_sleeps_wake_in_creation_order() -> None:
    async def main() -> list[int]:
        woke: list[int] = []

        async def agent(i: int) -> None:
            await asyncio.sleep(1)
            woke.append(i)

        await asyncio.gather(*(agent(i) for i in range(200)))
        return woke

    assert run(main()) == list(range(200))


def test_task_cancel_interrupts_sleep_at_cancel_time() -> None:
    async def main() -> tuple[bool, int]:
        loop = _loop()
        cancelled_at: list[int] = []

        async def sleeper() -> None:
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                cancelled_at.append(loop.now_ns())
                raise

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(7)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task.cancelled(), cancelled_at[0]

    assert run(main()) == (True, 7 * S)


# --- FIFO ties: one key, (t_ns, sequence) ------------------------------------------------


def test_deliver_at_same_instant_runs_in_scheduling_order() -> None:
    async def main() -> list[tuple[int, Any]]:
        loop = _loop()
        rec = Recorder()
        for i in range(1000):
            loop.deliver_at(5 * S, rec.on_message, i)
        await asyncio.sleep(6)
        return rec.seen

    assert run(main()) == [(5 * S, i) for i in range(1000)]


def test_call_at_ns_same_instant_runs_in_scheduling_order() -> None:
    async def main() -> list[int]:
        loop = _loop()
        seen: list[int] = []
        for i in range(1000):
            loop.call_at_ns(5 * S, seen.append, i)
        await asyncio.sleep(6)
        return seen

    assert run(main()) == list(range(1000))


def test_call_later_same_instant_runs_in_scheduling_order() -> None:
    async def main() -> list[int]:
        loop = _loop()
        seen: list[int] = []
        for i in range(1000):
            loop.call_later(0.3, seen.append, i)
        await asyncio.sleep(1)
        return seen

    assert run(main(), start_ns=EPOCH_NS) == list(range(1000))


def test_deliveries_and_timers_same_instant_share_one_sequence() -> None:
    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []
        t = loop.now_ns() + S
        for i in range(300):
            kind = i % 3
            if kind == 0:
                loop.deliver_at(t, order.append, f"d{i}")
            elif kind == 1:
                loop.call_at_ns(t, order.append, f"n{i}")
            else:
                loop.call_later(1.0, order.append, f"l{i}")
        await asyncio.sleep(2)
        return order

    expected = [f"{'dnl'[i % 3]}{i}" for i in range(300)]
    assert run(main(), start_ns=DAY_NS) == expected


def test_ties_scheduled_at_different_moments_keep_scheduling_order() -> None:
    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []
        target = 10 * S

        def late_scheduler(_: object) -> None:
            loop.deliver_at(target, order.append, "scheduled-at-5s")
            loop.call_at_ns(target, order.append, "timer-at-5s")

        loop.call_at_ns(target, order.append, "timer-at-0s")
        loop.deliver_at(5 * S, late_scheduler, None)
        loop.deliver_at(target, order.append, "scheduled-at-0s")
        await asyncio.sleep(11)
        return order

    assert run(main()) == ["timer-at-0s", "scheduled-at-0s", "scheduled-at-5s", "timer-at-5s"]


def test_handler_scheduling_at_same_instant_runs_after_existing_ties() -> None:
    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []

        def first(_: object) -> None:
            order.append("first")
            loop.deliver_at(loop.now_ns(), order.append, "follow-up")

        loop.deliver_at(S, first, None)
        loop.deliver_at(S, order.append, "second")
        await asyncio.sleep(2)
        return order

    assert run(main()) == ["first", "second", "follow-up"]


_event_kinds = st.sampled_from(["deliver", "call_at_ns", "call_later"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), _event_kinds), min_size=1, max_size=60))
def test_mixed_events_property_run_in_time_then_sequence_order(
    events: list[tuple[int, str]],
) -> None:
    async def main() -> list[tuple[int, int]]:
        loop = _loop()
        seen: list[tuple[int, int]] = []
        base = loop.now_ns()

        def record(index: int) -> None:
            seen.append((loop.now_ns(), index))

        for index, (offset, kind) in enumerate(events):
            t = base + offset
            if kind == "deliver":
                loop.deliver_at(t, record, index)
            elif kind == "call_at_ns":
                loop.call_at_ns(t, record, index)
            else:
                loop.call_later(offset / S, record, index)
        await asyncio.sleep(1e-6)
        return seen

    expected = sorted(
        ((EPOCH_NS + offset, index) for index, (offset, _) in enumerate(events)),
    )
    assert run(main(), start_ns=EPOCH_NS) == expected


# --- sub-microsecond ordering and large start times ---------------------------------------


@pytest.mark.parametrize("start_ns", STARTS)
def test_events_one_ns_apart_scheduled_in_reverse_run_in_time_order(start_ns: int) -> None:
    async def main() -> list[tuple[int, str]]:
        loop = _loop()
        seen: list[tuple[int, str]] = []
        base = loop.now_ns() + 500
        for k in reversed(range(20)):
            if k % 2:
                loop.deliver_at(base + k, lambda m: seen.append((loop.now_ns(), m)), f"d{k}")
            else:
                loop.call_at_ns(base + k, lambda m: seen.append((loop.now_ns(), m)), f"t{k}")
        await asyncio.sleep(1e-6)
        return seen

    expected = [(start_ns + 500 + k, f"{'td'[k % 2]}{k}") for k in range(20)]
    assert run(main(), start_ns=start_ns) == expected


@pytest.mark.parametrize("start_ns", STARTS)
def test_sleep_one_microsecond_advances_exactly_1000_ns(start_ns: int) -> None:
    async def main() -> list[int]:
        loop = _loop()
        marks = [loop.now_ns()]
        for _ in range(1000):
            await asyncio.sleep(0.000001)
            marks.append(loop.now_ns())
        return marks

    marks = run(main(), start_ns=start_ns)
    assert marks == [start_ns + 1000 * k for k in range(1001)]


@pytest.mark.parametrize("elapsed_s", [1, 86_400])
@pytest.mark.parametrize("start_ns", STARTS)
def test_call_at_float_one_ns_apart_later_in_run_lands_on_exact_ns(
    start_ns: int, elapsed_s: int
) -> None:
    async def main() -> list[tuple[int, int]]:
        loop = _loop()
        await asyncio.sleep(elapsed_s)  # loop.time() is now float(elapsed_s)
        seen: list[tuple[int, int]] = []
        now = loop.time()
        for k in reversed(range(1, 41)):
            loop.call_at(now + k * 1e-9, lambda k: seen.append((loop.now_ns(), k)), k)
        await asyncio.sleep(1e-6)
        return seen

    expected = [(start_ns + elapsed_s * S + k, k) for k in range(1, 41)]
    assert run(main(), start_ns=start_ns) == expected


def test_now_ns_is_int_at_epoch_start() -> None:
    async def main() -> int:
        await asyncio.sleep(0.123456789)
        return _loop().now_ns()

    now = run(main(), start_ns=EPOCH_NS)
    assert type(now) is int
    assert now == EPOCH_NS + 123_456_789


# --- stall detection ----------------------------------------------------------------------


def test_event_never_set_raises_stalled_naming_task() -> None:
    async def main() -> None:
        await asyncio.sleep(5)
        never = asyncio.Event()
        done = asyncio.get_running_loop().create_future()

        async def wait_then_report() -> None:
            await never.wait()
            done.set_result(None)

        asyncio.create_task(wait_then_report(), name="lonely-waiter")
        await done

    with pytest.raises(SimulationStalled) as caught:
        run(main())
    lines = str(caught.value).splitlines()
    assert f"t_ns={5 * S}" in lines[0]
    assert "2 task(s)" in lines[0]
    assert any(line.strip().startswith("lonely-waiter ") for line in lines[1:])
    assert any(line.strip().startswith("main ") for line in lines[1:])


def test_future_never_resolved_on_bare_loop_raises_stalled(vloop: VirtualTimeLoop) -> None:
    fut = vloop.create_future()
    with pytest.raises(SimulationStalled, match="nothing is scheduled"):
        vloop.run_until_complete(fut)


def test_stall_after_only_cancelled_timers_remain_raises_stalled() -> None:
    async def main() -> None:
        loop = _loop()
        handle = loop.call_later(10, lambda: None)
        handle.cancel()
        await asyncio.Event().wait()

    with pytest.raises(SimulationStalled, match="main"):
        run(main())


def test_stall_after_cancelled_timeout_reports_time_of_last_real_event() -> None:
    """A cancelled timer is skipped: it must not move the clock to its own time."""

    async def main() -> None:
        loop = _loop()
        fut = loop.create_future()
        loop.call_at_ns(2 * S, fut.set_result, "ok")
        await asyncio.wait_for(fut, timeout=3600)  # done at 2 s; the 1 h timeout is cancelled
        await asyncio.Event().wait()

    with pytest.raises(SimulationStalled) as caught:
        run(main())
    assert str(caught.value).startswith(f"simulation stalled at t_ns={2 * S}:")


# --- horizon at the loop level -----------------------------------------------------------


def test_loop_horizon_runs_events_at_end_and_stops_clock_there(vloop: VirtualTimeLoop) -> None:
    vloop.set_end_ns(100)
    seen: list[tuple[int, str]] = []
    for t in (99, 100, 101):
        vloop.deliver_at(t, lambda m: seen.append((vloop.now_ns(), m)), f"d{t}")
        vloop.call_at_ns(t, lambda m: seen.append((vloop.now_ns(), m)), f"t{t}")
    vloop.run_forever()
    assert seen == [(99, "d99"), (99, "t99"), (100, "d100"), (100, "t100")]
    assert vloop.now_ns() == 100
    assert vloop.horizon_reached is True


def test_loop_horizon_with_next_event_far_away_parks_clock_at_end(
    vloop: VirtualTimeLoop,
) -> None:
    vloop.set_end_ns(3 * S)
    vloop.call_at_ns(10 * S, lambda: None)
    vloop.run_forever()
    assert vloop.now_ns() == 3 * S


def test_delivery_handler_calling_stop_stops_before_next_delivery(
    vloop: VirtualTimeLoop,
) -> None:
    seen: list[tuple[int, str]] = []

    def on_kill_switch(message: str) -> None:
        seen.append((vloop.now_ns(), message))
        vloop.stop()

    vloop.deliver_at(1, on_kill_switch, "stop here")
    vloop.deliver_at(2, lambda m: seen.append((vloop.now_ns(), m)), "after stop")
    vloop.run_forever()  # must return, like asyncio's stop(), not drain on and stall
    assert seen == [(1, "stop here")]
    assert vloop.now_ns() == 1


# --- failures in delivery handlers ---------------------------------------------------------


class BrokenVenue:
    name = "venue-A"

    def on_request(self, message: object) -> None:
        raise ValueError(f"bad request {message!r}")


def test_delivery_handler_raising_raises_handler_failed_with_time() -> None:
    venue = BrokenVenue()

    async def main() -> None:
        loop = _loop()
        loop.deliver_at(loop.now_ns() + 1_234_567, venue.on_request, "R1")
        await asyncio.sleep(1)

    with pytest.raises(HandlerFailed) as caught:
        run(main(), start_ns=DAY_NS)
    failure = caught.value
    assert failure.t_ns == DAY_NS + 1_234_567
    assert "on_request" in failure.who and "venue-A" in failure.who
    assert isinstance(failure.error, ValueError)
    assert failure.__cause__ is failure.error
    assert f"t_ns={DAY_NS + 1_234_567}" in str(failure)
    assert "bad request 'R1'" in str(failure)


def test_handler_failed_cancels_waiting_main() -> None:
    cleanup: list[int] = []

    async def main() -> None:
        loop = _loop()
        loop.deliver_at(500, BrokenVenue().on_request, None)
        try:
            await asyncio.sleep(1)
        finally:
            cleanup.append(loop.now_ns())

    with pytest.raises(HandlerFailed):
        run(main())
    assert cleanup == [500]


def test_handler_failed_stops_later_deliveries() -> None:
    rec = Recorder()

    async def main() -> None:
        loop = _loop()
        loop.deliver_at(10, rec.on_message, "before")
        loop.deliver_at(20, BrokenVenue().on_request, None)
        loop.deliver_at(30, rec.on_message, "after")
        await asyncio.sleep(1)

    with pytest.raises(HandlerFailed):
        run(main())
    assert rec.seen == [(10, "before")]


# --- causality: a delivery that wakes a task yields to it ----------------------------------


def test_delivery_resolving_future_wakes_task_before_next_same_instant_delivery() -> None:
    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []
        fut = loop.create_future()

        def on_fill(message: str) -> None:
            order.append(message)
            fut.set_result(message)

        async def agent() -> None:
            got = await fut
            order.append(f"agent saw {got} at {loop.now_ns()}")

        task = asyncio.create_task(agent())
        await asyncio.sleep(0)  # let the agent start waiting
        loop.deliver_at(S, on_fill, "fill")
        loop.deliver_at(S, order.append, "next delivery")
        loop.deliver_at(S, order.append, "third delivery")
        await task
        await asyncio.sleep(1)
        return order

    assert run(main()) == ["fill", f"agent saw fill at {S}", "next delivery", "third delivery"]


def test_woken_task_reply_at_same_instant_precedes_later_scheduled_ties() -> None:
    """The woken agent schedules at `now`; that tie sorts after the waiting deliveries."""

    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []
        fut = loop.create_future()

        async def agent() -> None:
            await fut
            order.append("agent")
            loop.deliver_at(loop.now_ns(), order.append, "agent reply")

        task = asyncio.create_task(agent())
        await asyncio.sleep(0)
        loop.deliver_at(S, fut.set_result, None)
        loop.deliver_at(S, order.append, "queued tie")
        await task
        await asyncio.sleep(1)
        return order

    assert run(main()) == ["agent", "queued tie", "agent reply"]


def test_delivery_calling_call_soon_runs_it_before_next_delivery() -> None:
    async def main() -> list[str]:
        loop = _loop()
        order: list[str] = []

        def handler(_: object) -> None:
            order.append("handler")
            loop.call_soon(order.append, "soon")

        loop.deliver_at(S, handler, None)
        loop.deliver_at(S, order.append, "next")
        await asyncio.sleep(2)
        return order

    assert run(main()) == ["handler", "soon", "next"]


# --- misuse of the clock ------------------------------------------------------------------


def test_deliver_at_past_raises_simulation_error() -> None:
    async def main() -> list[tuple[int, Any]]:
        loop = _loop()
        rec = Recorder()
        await asyncio.sleep(10e-9)
        with pytest.raises(SimulationError, match="in the past"):
            loop.deliver_at(loop.now_ns() - 1, rec.on_message, "late")
        loop.deliver_at(loop.now_ns(), rec.on_message, "now is fine")
        await asyncio.sleep(1e-9)
        return rec.seen

    assert run(main(), start_ns=EPOCH_NS) == [(EPOCH_NS + 10, "now is fine")]


def test_deliver_at_past_from_handler_raises_handler_failed() -> None:
    async def main() -> None:
        loop = _loop()

        def handler(_: object) -> None:
            loop.deliver_at(loop.now_ns() - 5, print, "late")

        loop.deliver_at(100, handler, None)
        await asyncio.sleep(1)

    with pytest.raises(HandlerFailed) as caught:
        run(main())
    assert isinstance(caught.value.error, SimulationError)
    assert caught.value.t_ns == 100


def test_call_at_ns_in_past_runs_at_now() -> None:
    async def main() -> list[int]:
        loop = _loop()
        seen: list[int] = []
        await asyncio.sleep(1)
        loop.call_at_ns(5, lambda: seen.append(loop.now_ns()))
        await asyncio.sleep(1)
        return seen

    assert run(main()) == [S]


# --- bookkeeping: cancelled timers, delivery count ---------------------------------------


def test_deliveries_counter_counts_deliveries_not_timers() -> None:
    async def main() -> VirtualTimeLoop:
        loop = _loop()
        for i in range(25):
            loop.deliver_at(i, lambda _: None, i)
            loop.call_at_ns(i, lambda: None)
        await asyncio.sleep(1)
        return loop

    loop = run(main())
    assert loop is not None
    assert loop.deliveries == 25


def test_wait_for_many_completions_keeps_heap_compact() -> None:
    async def main() -> tuple[int, int]:
        loop = _loop()
        for _ in range(5000):
            fut = loop.create_future()
            loop.call_soon(fut.set_result, None)
            await asyncio.wait_for(fut, timeout=3600)
        return len(loop._events), loop.now_ns()

    result = run(main())
    assert result is not None
    pending, now = result
    assert now == 0
    assert pending <= 600  # 5000 cancelled 1-hour timeouts must not pile up


def test_task_cancelling_many_timers_leaves_live_timers_firing_in_order() -> None:
    async def main() -> list[int]:
        loop = _loop()
        seen: list[int] = []
        handles = [loop.call_at_ns(S + i, seen.append, i) for i in range(2000)]
        for i, handle in enumerate(handles):
            if i % 10:
                handle.cancel()
        await asyncio.sleep(2)
        return seen

    assert run(main()) == list(range(0, 2000, 10))


def test_handler_cancelling_many_timers_delivers_each_message_once() -> None:
    """Compaction inside a delivery handler must not fork the heap under the drain."""

    async def main() -> list[tuple[int, str]]:
        loop = _loop()
        seen: list[tuple[int, str]] = []
        timers = [loop.call_at_ns(S, lambda: None) for _ in range(300)]

        def on_cancel_all(message: str) -> None:
            for timer in timers:  # e.g. a venue expiring many GTD orders at once
                timer.cancel()
            seen.append((loop.now_ns(), message))

        loop.deliver_at(1, on_cancel_all, "cancel-all")
        for t in range(2, 6):
            loop.deliver_at(t, lambda m: seen.append((loop.now_ns(), m)), f"m{t}")
        await asyncio.sleep(2)
        seen.append((loop.now_ns(), "woke"))
        await asyncio.sleep(1)
        seen.append((loop.now_ns(), "woke again"))
        return seen

    assert run(main()) == [
        (1, "cancel-all"),
        (2, "m2"),
        (3, "m3"),
        (4, "m4"),
        (5, "m5"),
        (2 * S, "woke"),
        (3 * S, "woke again"),
    ]


# --- the two heaps, driven directly ----------------------------------------------------------


class FakeTimer:
    """What the heap reads and writes on an asyncio TimerHandle."""

    def __init__(self, tag: int) -> None:
        self.tag = tag
        self._cancelled = False
        self._scheduled = True

    def __repr__(self) -> str:
        return f"timer{self.tag}"


heap_operations = st.lists(
    st.one_of(
        st.tuples(st.just("deliver"), st.integers(0, 40)),
        st.tuples(st.just("timer"), st.integers(-5, 40)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("run"), st.one_of(st.none(), st.integers(0, 50))),
    ),
    max_size=60,
)


def drive(heap_class: type, operations: list[tuple[str, Any]]) -> list[Any]:
    """Apply the operations to a fresh heap; everything observable, in order."""
    heap = heap_class(3)
    log: list[Any] = []
    timers: list[FakeTimer] = []
    ready: list[Any] = []
    tag = 0

    def handler(message: int) -> None:
        log.append(("delivered", heap.now_ns(), message))
        if message % 7 == 0:  # a delivery that wakes something: the drain must stop
            ready.append(message)
        if message % 11 == 0:
            heap.stopping = True
        if message % 5 == 0:  # a handler scheduling more, at the same instant too
            heap.deliver_at(heap.now_ns() + message % 3, handler, 1000 + message)

    for kind, value in operations:
        tag += 1
        if kind == "deliver":
            try:
                heap.deliver_at(value, handler, tag)
            except SimulationError as error:
                log.append(("error", str(error)))
        elif kind == "timer":
            timer = FakeTimer(tag)
            timers.append(timer)
            heap.schedule_timer(value, timer)
        elif kind == "cancel" and timers:
            timer = timers[value % len(timers)]
            if not timer._cancelled:
                timer._cancelled = True
                if timer._scheduled:
                    heap.timer_cancelled()
        elif kind == "run":
            ready.clear()
            why = heap.run(ready, value)
            log.append(("run", why, heap.now_ns(), [repr(r) for r in ready],
                        [t._scheduled for t in timers]))
        log.append((len(heap), heap.deliveries, heap.wakeups, heap.now_ns()))
    return log


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(heap_operations)
def test_heaps_same_operations_give_same_order_clock_and_counters(
    operations: list[tuple[str, Any]]
) -> None:
    expected = drive(PythonEventHeap, operations)
    for heap_class in HEAPS[1:]:
        assert drive(heap_class, operations) == expected


def test_heaps_many_cancelled_timers_compact_alike() -> None:
    operations: list[tuple[str, Any]] = [("timer", t % 50) for t in range(1000)]
    operations += [("cancel", i) for i in range(0, 1000, 2)] + [("deliver", 60), ("run", None)]
    expected = drive(PythonEventHeap, operations)
    assert expected[-2][0] == "run"
    for heap_class in HEAPS[1:]:
        assert drive(heap_class, operations) == expected


@pytest.mark.parametrize(
    ("t_ns", "error", "text"),
    [
        (1.5, TypeError, "deliver_at: t_ns must be an int of nanoseconds, got 1.5"),
        ("7", TypeError, "deliver_at: t_ns must be an int of nanoseconds, got '7'"),
        (MAX_NS + 1, OverflowError, f"deliver_at: t_ns={MAX_NS + 1} is outside the clock"),
        (-(2**70), OverflowError, "is outside the clock's 64-bit range"),
        (2, SimulationError, "delivery at t_ns=2 is in the past (now 3)"),
    ],
)
def test_heap_deliver_at_bad_time_raises_the_same_clear_error(
    event_heap: type, t_ns: Any, error: type[Exception], text: str
) -> None:
    heap = event_heap(3)
    with pytest.raises(error, match=re.escape(text)):
        heap.deliver_at(t_ns, print, None)
    assert len(heap) == 0


def test_heap_accepts_integer_like_times_as_int(event_heap: type) -> None:
    heap = event_heap(True)  # an int subclass, as numpy integers are int-like
    heap.deliver_at(True + 4, print, None)
    assert type(heap.now_ns()) is int and heap.now_ns() == 1


def test_heap_timer_beyond_clock_range_is_kept_at_its_end(event_heap: type) -> None:
    heap = event_heap(0)
    far, near = FakeTimer(1), FakeTimer(2)
    heap.schedule_timer(10**30, far)
    heap.schedule_timer(MAX_NS, near)
    ready: list[Any] = []
    assert heap.run(ready, None) == virtual_loop.READY
    assert ready == [far] and heap.now_ns() == MAX_NS
    assert heap.run(ready, None) == virtual_loop.READY and ready == [far, near]


def test_virtual_loop_float_end_raises_type_error() -> None:
    with pytest.raises(TypeError, match="end_ns"):
        VirtualTimeLoop(0, 1.5)  # type: ignore[arg-type]


def test_call_at_ns_float_time_raises_type_error(vloop: VirtualTimeLoop) -> None:
    with pytest.raises(TypeError, match="call_at_ns: t_ns must be an int of nanoseconds"):
        vloop.call_at_ns(1.5, print)  # type: ignore[arg-type]
    assert len(vloop._events) == 0
