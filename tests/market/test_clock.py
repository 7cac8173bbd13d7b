"""market.clock: `run()` like asyncio.run on the virtual clock, the horizon, live mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvloop

from market.clock import LiveLoop, current_clock, run, wall_time_ns
from market.errors import HandlerFailed, SimulationError
from market.virtual_loop import VirtualTimeLoop

S = 1_000_000_000
MS = 1_000_000
DAY_NS = 86_400 * S
EPOCH_NS = 1_700_000_000_123_456_789


def _loop() -> Any:
    return asyncio.get_running_loop()


# --- run() in virtual time ---------------------------------------------------------------


def test_run_main_returning_value_returns_it() -> None:
    async def main() -> str:
        await asyncio.sleep(3)
        return "done"

    assert run(main()) == "done"


def test_run_start_ns_sets_initial_now_ns() -> None:
    async def main() -> tuple[int, bool]:
        loop = _loop()
        return loop.now_ns(), isinstance(loop, VirtualTimeLoop)

    assert run(main(), start_ns=EPOCH_NS) == (EPOCH_NS, True)


def test_run_end_before_start_raises_value_error() -> None:
    async def main() -> None:
        pass

    coro = main()
    with pytest.raises(ValueError, match="end_ns"):
        run(coro, start_ns=10, end_ns=5)
    coro.close()


def test_run_main_raising_propagates_exception() -> None:
    async def main() -> None:
        await asyncio.sleep(1)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        run(main())


def test_run_closes_loop_and_unsets_event_loop() -> None:
    async def main() -> Any:
        return _loop()

    loop = run(main())
    assert loop is not None and loop.is_closed()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_run_twice_starts_each_run_from_its_own_start() -> None:
    async def main() -> int:
        await asyncio.sleep(5)
        now: int = _loop().now_ns()
        return now

    assert run(main(), start_ns=DAY_NS) == DAY_NS + 5 * S
    assert run(main(), start_ns=0) == 5 * S


def test_run_simulated_hour_of_many_agents_ends_at_exact_time() -> None:
    async def main() -> tuple[int, int]:
        loop = _loop()
        wakes = 0

        async def agent(period_ms: int) -> None:
            nonlocal wakes
            for _ in range(3_600_000 // period_ms):
                await asyncio.sleep(period_ms / 1000)
                wakes += 1

        await asyncio.gather(*(agent(p) for p in (1000, 1500, 2000, 4000)))
        return wakes, loop.now_ns()

    assert run(main(), start_ns=DAY_NS) == (3600 + 2400 + 1800 + 900, DAY_NS + 3600 * S)


# --- the horizon ------------------------------------------------------------------------


def test_run_horizon_runs_events_at_end_and_not_after() -> None:
    seen: list[tuple[int, str]] = []
    state: dict[str, Any] = {}
    end = DAY_NS + 10 * S

    async def main() -> str:
        loop = _loop()
        state["loop"] = loop
        record = lambda m: seen.append((loop.now_ns(), m))  # noqa: E731
        loop.deliver_at(end - 1, record, "d-before")
        loop.deliver_at(end, record, "d-at-end")
        loop.call_at_ns(end, record, "t-at-end")
        loop.deliver_at(end + 1, record, "d-after")
        loop.call_at_ns(end + 1, record, "t-after")
        await asyncio.sleep(3600)
        return "main finished"

    assert run(main(), start_ns=DAY_NS, end_ns=end) is None
    assert seen == [(end - 1, "d-before"), (end, "d-at-end"), (end, "t-at-end")]
    assert state["loop"].now_ns() == end
    assert state["loop"].horizon_reached is True


def test_run_horizon_cancels_main_at_end_time() -> None:
    cancelled_at: list[int] = []

    async def main() -> str:
        loop = _loop()
        try:
            while True:
                await asyncio.sleep(0.3)
        except asyncio.CancelledError:
            cancelled_at.append(loop.now_ns())
            raise

    assert run(main(), end_ns=2 * S) is None
    assert cancelled_at == [2 * S]


def test_run_horizon_cancels_other_tasks_too() -> None:
    cancelled: list[str] = []

    async def background(name: str) -> None:
        try:
            await asyncio.Event().wait() if name == "waiter" else await asyncio.sleep(99)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def main() -> None:
        asyncio.create_task(background("sleeper"), name="sleeper")
        asyncio.create_task(background("waiter"), name="waiter")
        await asyncio.sleep(60)

    assert run(main(), end_ns=S) is None
    assert sorted(cancelled) == ["sleeper", "waiter"]


def test_run_horizon_main_cleanup_does_not_move_clock() -> None:
    cleanup_at: list[int] = []

    async def main() -> None:
        loop = _loop()
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0)
            cleanup_at.append(loop.now_ns())

    assert run(main(), start_ns=EPOCH_NS, end_ns=EPOCH_NS + 5) is None
    assert cleanup_at == [EPOCH_NS + 5]


def test_run_main_finishing_before_horizon_returns_value() -> None:
    state: dict[str, Any] = {}

    async def main() -> int:
        loop = _loop()
        state["loop"] = loop
        await asyncio.sleep(1)
        return 42

    assert run(main(), end_ns=10 * S) == 42
    assert state["loop"].now_ns() == S
    assert state["loop"].horizon_reached is False


def test_run_main_finishing_exactly_at_horizon_returns_value() -> None:
    async def main() -> int:
        await asyncio.sleep(1)
        return 7

    assert run(main(), end_ns=S) == 7


def test_run_main_raising_cancels_other_tasks() -> None:
    """Like asyncio.run: whatever way main ends, the tasks left behind are cancelled."""
    cancelled: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    async def background() -> None:
        try:
            await asyncio.sleep(99)
        except asyncio.CancelledError:
            cancelled.append(_loop().now_ns())
            raise

    async def main() -> None:
        tasks.append(asyncio.create_task(background(), name="background"))
        await asyncio.sleep(1)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        run(main())
    assert cancelled == [S]
    assert tasks[0].cancelled()


class _BrokenVenue:
    name = "venue-A"

    def on_request(self, message: object) -> None:
        raise ValueError("bad request")


def test_run_handler_failed_survives_cleanup_that_needs_time() -> None:
    """The first failure is what run() reports, even if a task's cleanup cannot finish."""

    async def main() -> None:
        loop = _loop()
        loop.deliver_at(500, _BrokenVenue().on_request, "R1")
        try:
            await asyncio.sleep(1)
        finally:
            await asyncio.sleep(0.001)  # cleanup that needs simulated time

    with pytest.raises(HandlerFailed, match="venue-A") as caught:
        run(main())
    assert caught.value.t_ns == 500


# --- current_clock, wall time ---------------------------------------------------------------


def test_current_clock_inside_run_returns_running_loop() -> None:
    async def main() -> bool:
        clock = current_clock()
        return clock is _loop() and clock.now_ns() == DAY_NS

    assert run(main(), start_ns=DAY_NS) is True


def test_current_clock_outside_running_loop_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        current_clock()


def test_current_clock_on_plain_asyncio_loop_raises_simulation_error() -> None:
    async def main() -> None:
        current_clock()

    with pytest.raises(SimulationError, match="market.clock.run"):
        asyncio.run(main())


def test_wall_time_ns_returns_epoch_int() -> None:
    now = wall_time_ns()
    assert type(now) is int
    assert now > 1_600_000_000 * S  # after 2020: an epoch time, not a monotonic counter


# --- live mode --------------------------------------------------------------------------


def test_run_live_sleep_advances_now_ns_with_wall_time() -> None:
    async def main() -> tuple[Any, int, int]:
        loop = _loop()
        before = loop.now_ns()
        await asyncio.sleep(0.01)
        return loop, before, loop.now_ns()

    result = run(main(), live=True)
    assert result is not None
    loop, before, after = result
    assert isinstance(loop, LiveLoop)
    assert isinstance(loop, uvloop.Loop)
    assert after - before >= 5 * MS
    assert after - before < 10 * S  # loose: real time, not a virtual jump
    assert before > 1_600_000_000 * S  # epoch nanoseconds


def test_run_live_deliver_at_calls_handler_with_message() -> None:
    async def main() -> tuple[list[str], int]:
        loop = _loop()
        got: list[str] = []
        done = loop.create_future()

        def on_message(message: str) -> None:
            got.append(message)
            done.set_result(loop.now_ns())

        start = loop.now_ns()
        loop.deliver_at(start + 5 * MS, on_message, "hello")
        delivered_at = await done
        return got, delivered_at - start

    result = run(main(), live=True)
    assert result is not None
    got, elapsed = result
    assert got == ["hello"]
    assert elapsed >= 3 * MS


def test_run_live_call_at_ns_in_past_runs_promptly() -> None:
    async def main() -> list[int]:
        loop = _loop()
        fired: list[int] = []
        done = loop.create_future()
        def fire() -> None:
            fired.append(1)
            done.set_result(None)

        loop.call_at_ns(loop.now_ns() - S, fire)
        await asyncio.wait_for(done, timeout=5)
        return fired

    assert run(main(), live=True) == [1]


def test_run_live_end_ns_stops_and_returns_none() -> None:
    cancelled: list[bool] = []

    async def main() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "slept"

    assert run(main(), live=True, end_ns=wall_time_ns() + 20 * MS) is None
    assert cancelled == [True]
