"""A simulation run: one root seed, one clock, one event log, venues and agents.

`Simulation.run(setup)` starts the virtual-time loop, calls `setup(simulation)` inside it to
build venues and agents (they need the running clock), starts every agent's `run()` task,
and runs until `end_ns`. An agent or handler that raises stops the run with
`HandlerFailed` naming it and the simulated time; the event log up to that moment is
flushed first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agents.agent import Agent, AgentContext, OrderIds
from market.clock import Clock, current_clock, run
from market.errors import HandlerFailed
from market.event_log import EventLog
from market.rng import RngStreams
from venues.venue import Venue

__all__ = ["Simulation", "RunResult"]


class RunResult:
    """What a finished run reports."""

    def __init__(self, simulation: Simulation, deliveries: int, wall_seconds: float) -> None:
        self.simulation = simulation
        self.deliveries = deliveries
        self.wall_seconds = wall_seconds
        self.digest = simulation.event_log.digest
        self.events = simulation.event_log.events


class Simulation:
    def __init__(
        self,
        name: str,
        *,
        seed: int,
        start_ns: int = 0,
        end_ns: int,
        log_path: str | Path | None = None,
        keep_log_lines: bool = False,
        log_header: Mapping[str, Any] | None = None,
        log_version: str | None = None,
    ) -> None:
        if end_ns <= start_ns:
            raise ValueError(f"end_ns={end_ns} must be after start_ns={start_ns}")
        self.name = name
        self.seed = seed
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.rng_streams = RngStreams(seed)
        # `log_header`: extra header fields (what replays the run); `log_version`: the version
        # the header states (default: this package's; a replay states the recorded one).
        self.event_log = EventLog(log_path, scenario=name, seed=seed, keep_lines=keep_log_lines,
                                  version=log_version, extra_header=log_header)
        self.order_ids = OrderIds()
        self.venues: dict[str, Venue] = {}
        self.agents: dict[str, Agent] = {}
        self._clock: Clock | None = None
        self._failure: HandlerFailed | None = None

    @property
    def clock(self) -> Clock:
        assert self._clock is not None, "the clock exists only while the simulation runs"
        return self._clock

    @property
    def now_ns(self) -> int | None:
        """The simulated time (after a failed run, where it stopped); None before the run."""
        return self._clock.now_ns() if self._clock is not None else None

    def add_venue(self, venue: Venue) -> Venue:
        if venue.name in self.venues:
            raise ValueError(f"two venues named {venue.name!r}")
        self.venues[venue.name] = venue
        return venue

    def add_agent(self, agent: Agent) -> Agent:
        if agent.name in self.agents or agent.name in self.venues:
            raise ValueError(f"two participants named {agent.name!r}")
        agent.attach(AgentContext(self.clock, self.rng_streams.stream(f"agent/{agent.name}"),
                                  self.order_ids))
        self.agents[agent.name] = agent
        return agent

    def run(self, setup: Callable[[Simulation], None], *, live: bool = False) -> RunResult:
        """Run in virtual time, or with `live=True` on uvloop in real time for the same
        duration (the same venues and agents, unchanged)."""
        wall_start = time.perf_counter()
        counts: dict[str, int] = {}
        try:
            run(self._main(setup, counts), start_ns=self.start_ns,
                end_ns=None if live else self.end_ns, live=live)
        except BaseException:
            self.event_log.close()  # keep the log up to the failure
            raise
        if self._failure is not None:
            self.event_log.close()
            raise self._failure
        self.event_log.close()
        return RunResult(self, counts.get("deliveries", 0), time.perf_counter() - wall_start)

    async def _main(self, setup: Callable[[Simulation], None], counts: dict[str, int]) -> None:
        loop: Any = asyncio.get_running_loop()
        self._clock = current_clock()
        setup(self)
        for agent in self.agents.values():
            task = loop.create_task(agent.run(), name=f"agent {agent.name}")
            task.add_done_callback(lambda t, a=agent: self._agent_done(t, a, loop))
        try:
            await asyncio.sleep((self.end_ns - self.start_ns) / 1e9)
        finally:
            counts["deliveries"] = getattr(loop, "deliveries", 0)

    def _agent_done(self, task: asyncio.Task[None], agent: Agent, loop: Any) -> None:
        if task.cancelled() or task.exception() is None or self._failure is not None:
            return
        error = task.exception()
        assert error is not None
        self._failure = HandlerFailed(f"agent {agent.name!r}", loop.now_ns(), error)
        self._failure.__cause__ = error
        loop.stop()
