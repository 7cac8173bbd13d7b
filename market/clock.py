"""One clock for simulated and live time, and `run()`, the entry point like `asyncio.run`.

Components never read wall time themselves: they ask the running loop. Both loops offer
the same three calls — `now_ns()`, `call_at_ns(t_ns, callback, *args)` and
`deliver_at(t_ns, handler, message)` — so agents and venues run unchanged on the virtual
clock (`VirtualTimeLoop`) and, in live mode, on uvloop in real time (`LiveLoop`).

This is the only module that reads wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from market.errors import SimulationError
from market.virtual_loop import VirtualTimeLoop

try:  # uvloop is a dependency on POSIX; fall back to asyncio's loop elsewhere.
    import uvloop

    _LiveBase: type[asyncio.AbstractEventLoop] = uvloop.Loop
except ImportError:  # pragma: no cover - depends on the platform
    _LiveBase = asyncio.SelectorEventLoop

__all__ = ["Clock", "LiveLoop", "VirtualTimeLoop", "run", "wall_time_ns", "current_clock"]

T = TypeVar("T")
_NS_PER_S = 1_000_000_000


class Clock(Protocol):
    """What a component may ask of the loop it runs on, in simulated or live time."""

    def now_ns(self) -> int: ...

    def call_at_ns(
        self, t_ns: int, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle: ...

    def deliver_at(self, t_ns: int, handler: Callable[[Any], object], message: Any) -> None: ...


def wall_time_ns() -> int:
    """Wall-clock time (epoch nanoseconds): for live mode and for measuring runs, never for
    simulated time."""
    return time.time_ns()


class LiveLoop(_LiveBase):  # type: ignore[valid-type,misc]
    """uvloop (or asyncio) in real time, with the `Clock` calls on epoch nanoseconds."""

    def now_ns(self) -> int:
        return time.time_ns()

    def call_at_ns(
        self, t_ns: int, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        timer: asyncio.TimerHandle = self.call_later(
            max(0, t_ns - time.time_ns()) / _NS_PER_S, callback, *args
        )
        return timer

    def deliver_at(self, t_ns: int, handler: Callable[[Any], object], message: Any) -> None:
        self.call_at_ns(t_ns, handler, message)


def current_clock() -> Clock:
    """The running loop as a `Clock` (raises outside a running sorsim loop)."""
    loop = asyncio.get_running_loop()
    if not hasattr(loop, "deliver_at"):
        raise SimulationError("not running on a sorsim loop: use market.clock.run()")
    return loop  # type: ignore[return-value]


def run(
    main: Coroutine[Any, Any, T],
    *,
    start_ns: int = 0,
    end_ns: int | None = None,
    live: bool = False,
) -> T | None:
    """Run `main` to completion, or until the clock reaches `end_ns`, and close the loop.

    Returns `main`'s result, or None when the horizon came first (then `main` and every
    other task are cancelled, so they can clean up). In virtual time the clock starts at
    `start_ns`; in live mode it is the wall clock and `end_ns` an epoch deadline.
    """
    loop: Any = LiveLoop() if live else VirtualTimeLoop(start_ns, end_ns)
    try:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main, name="main")
        task.add_done_callback(lambda _: loop.stop())
        if live and end_ns is not None:
            loop.call_at_ns(end_ns, loop.stop)
        try:
            loop.run_forever()
        except BaseException:
            try:
                _cancel_all_tasks(loop)
            except SimulationError:
                pass  # the error that stopped the run matters more than a slow cleanup
            raise
        _cancel_all_tasks(loop)  # before reading the result: main may have raised
        return task.result() if task.done() and not task.cancelled() else None
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: Any) -> None:
    """Cancel what is left and let it unwind, without moving the virtual clock."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    if isinstance(loop, VirtualTimeLoop):
        loop.set_end_ns(loop.now_ns())
    gathered = asyncio.gather(*pending, return_exceptions=True)
    gathered.add_done_callback(lambda _: loop.stop())
    try:
        loop.run_forever()
    except SimulationError:
        pass  # a task that waits forever while cancelled is reported below
    still = [t.get_name() for t in pending if not t.done()]
    if still:
        raise SimulationError(f"tasks did not finish after cancellation: {still}")
    for task in pending:
        if task.cancelled():
            continue
        error = task.exception()
        if error is not None:
            loop.call_exception_handler(
                {"message": "unhandled exception during run() shutdown", "exception": error, "task": task}
            )
