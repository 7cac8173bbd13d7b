"""Kernel throughput on the virtual-time loop, on fixed seeded workloads (figures, not tests).

Three workloads, each run once through `market.clock.run` in virtual time. Random delays come
from one seeded numpy `Generator` per workload, drawn in blocks of 65,536 (one numpy call
per block, never one per event) and handed out by a plain iterator.

(a) deliveries — 1,000 chains of messages. Each chain is a small handler object; its
    `on_hop` method, called by `loop.deliver_at`, builds the next slotted `Hop` message and
    delivers it to itself after an exponential delay (mean 50 us, integer ns, >= 1 ns).
    2,000,000 deliveries in all (2,000 per chain); the last chain to finish resolves the
    future `main` awaits. A delivery is timed from the heap pop to the handler's return:
    the loop's drain, the handler (`now_ns()`, the next delay, building the `Hop`, a bound
    method for `on_hop`) and the `deliver_at` push. The loop's event heap is the compiled
    `market.virtual_loop.EventHeap` when the install built it (C keys; `deliver_at` and
    `now_ns` are C calls), and the figure is also given on the pure-Python reference heap.
    The same handlers also run on a bare Python heap of `(t_ns, seq, handler, message)`
    tuples drained in a tight loop, as the yardstick of the pure-Python approach.
(b) wake-ups — 1,000 agent tasks, each looping `await asyncio.sleep(delay)` (exponential,
    mean 1 ms): the asyncio path (TimerHandle, future, task step) agents use for their own
    timeline. 300,000 wake-ups in all.
(c) round trips — 1,000 agent tasks, each sending a `Request` with `deliver_at` to one
    venue's `on_request`, which replies with `deliver_at` to the agent's `on_response`; that
    resolves the future the agent awaits. Link latency exponential, mean 20 us, each way.
    300,000 round trips in all (600,000 deliveries, 300,000 task wake-ups).

Each workload runs --repeat times (default 3) on the same seed and the fastest run is
reported, so a busy machine skews the figures less. The cyclic GC is off while timing
(as in bench/book.py). The last line is `deliveries_per_s N` for (a) on the virtual-time
loop.

    python bench/kernel.py [--deliveries N] [--wakeups N] [--round-trips N] [--chains N]
                           [--agents N] [--seed S] [--repeat N] [--profile]
"""

from __future__ import annotations

import _path  # noqa: F401  (first: keeps bench/market.py from shadowing `market`)

import argparse
import asyncio
import gc
import itertools
import time
from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from typing import Any

import numpy as np

from market import virtual_loop
from market.clock import run

BLOCK = 65_536
HOP_MEAN_NS = 50_000
SLEEP_MEAN_S = 0.001
LATENCY_MEAN_NS = 20_000


def ns_delays(rng: np.random.Generator, mean_ns: float) -> Iterator[int]:
    """Exponential integer delays (>= 1 ns), drawn BLOCK at a time."""
    while True:
        yield from (rng.exponential(mean_ns, size=BLOCK).astype(np.int64) + 1).tolist()


def s_delays(rng: np.random.Generator, mean_s: float) -> Iterator[float]:
    """Exponential delays in float seconds (for asyncio.sleep), drawn BLOCK at a time."""
    while True:
        yield from rng.exponential(mean_s, size=BLOCK).tolist()


# --- (a) chains of deliveries -----------------------------------------------------------------


class Hop:
    __slots__ = ("chain", "seq", "sent_ns")

    def __init__(self, chain: int, seq: int, sent_ns: int) -> None:
        self.chain = chain
        self.seq = seq
        self.sent_ns = sent_ns


class Finish:
    """Counts chains still running; the last one to finish calls `on_all_done`."""

    __slots__ = ("running", "on_all_done")

    def __init__(self, running: int, on_all_done: Callable[[], object]) -> None:
        self.running = running
        self.on_all_done = on_all_done

    def on_chain_done(self) -> None:
        self.running -= 1
        if not self.running:
            self.on_all_done()


class Chain:
    """A handler that forwards a hop to itself `hops` times, each after a random delay."""

    __slots__ = ("chain", "loop", "next_delay", "remaining", "finish")

    def __init__(
        self, chain: int, loop: Any, next_delay: Callable[[], int], hops: int, finish: Finish
    ) -> None:
        self.chain = chain
        self.loop = loop
        self.next_delay = next_delay
        self.remaining = hops
        self.finish = finish

    def start(self) -> None:
        now = self.loop.now_ns()
        self.loop.deliver_at(now + self.next_delay(), self.on_hop, Hop(self.chain, 0, now))

    def on_hop(self, hop: Hop) -> None:
        self.remaining -= 1
        if self.remaining:
            now = self.loop.now_ns()
            self.loop.deliver_at(
                now + self.next_delay(), self.on_hop, Hop(self.chain, hop.seq + 1, now)
            )
        else:
            self.finish.on_chain_done()


def make_chains(
    loop: Any, chains: int, deliveries: int, seed: int, on_all_done: Callable[[], object]
) -> list[Chain]:
    next_delay = ns_delays(np.random.default_rng(seed), HOP_MEAN_NS).__next__
    finish = Finish(chains, on_all_done)
    per_chain, extra = divmod(deliveries, chains)
    return [
        Chain(i, loop, next_delay, per_chain + (i < extra), finish) for i in range(chains)
    ]


def run_chains(chains: int, deliveries: int, seed: int) -> tuple[float, int, int]:
    """(wall seconds, deliveries made, simulated ns) for workload (a) in virtual time."""

    async def main() -> tuple[float, int, int]:
        loop: Any = asyncio.get_running_loop()
        done = loop.create_future()
        handlers = make_chains(loop, chains, deliveries, seed, lambda: done.set_result(None))
        start_ns, before = loop.now_ns(), loop.deliveries
        start = time.perf_counter()
        for handler in handlers:
            handler.start()
        await done
        wall = time.perf_counter() - start
        return wall, loop.deliveries - before, loop.now_ns() - start_ns

    result = run(main())
    assert result is not None
    return result


class BareHeap:
    """The yardstick: the same `now_ns`/`deliver_at` calls on a heap drained in a tight loop."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, Any, Any]] = []
        self.sequence = itertools.count()
        self.now = 0
        self.deliveries = 0

    def now_ns(self) -> int:
        return self.now

    def deliver_at(self, t_ns: int, handler: Callable[[Any], object], message: Any) -> None:
        heappush(self.heap, (t_ns, next(self.sequence), handler, message))

    def drain(self) -> None:
        heap, pop = self.heap, heappop
        delivered = 0
        while heap:
            t_ns, _, handler, message = pop(heap)
            self.now = t_ns
            delivered += 1
            handler(message)
        self.deliveries += delivered


def run_chains_bare(chains: int, deliveries: int, seed: int) -> tuple[float, int]:
    kernel = BareHeap()
    finished: list[bool] = []
    handlers = make_chains(kernel, chains, deliveries, seed, lambda: finished.append(True))
    start = time.perf_counter()
    for handler in handlers:
        handler.start()
    kernel.drain()
    wall = time.perf_counter() - start
    assert finished == [True]
    return wall, kernel.deliveries


# --- (b) agents waking on timers ------------------------------------------------------------


def run_wakeups(agents: int, wakeups: int, seed: int) -> tuple[float, int, int]:
    """(wall seconds, wake-ups, simulated ns) for workload (b)."""

    async def agent(next_sleep: Callable[[], float], wakes: int) -> int:
        sleep = asyncio.sleep
        for _ in range(wakes):
            await sleep(next_sleep())
        return wakes

    async def main() -> tuple[float, int, int]:
        loop: Any = asyncio.get_running_loop()
        next_sleep = s_delays(np.random.default_rng(seed), SLEEP_MEAN_S).__next__
        per_agent, extra = divmod(wakeups, agents)
        coros = [agent(next_sleep, per_agent + (i < extra)) for i in range(agents)]
        start_ns = loop.now_ns()
        start = time.perf_counter()
        woke = await asyncio.gather(*coros)
        wall = time.perf_counter() - start
        return wall, sum(woke), loop.now_ns() - start_ns

    result = run(main())
    assert result is not None
    return result


# --- (c) agent-venue request/response --------------------------------------------------------


class Request:
    __slots__ = ("agent", "seq", "sent_ns")

    def __init__(self, agent: Agent, seq: int, sent_ns: int) -> None:
        self.agent = agent
        self.seq = seq
        self.sent_ns = sent_ns


class Response:
    __slots__ = ("seq", "accepted", "sent_ns")

    def __init__(self, seq: int, accepted: bool, sent_ns: int) -> None:
        self.seq = seq
        self.accepted = accepted
        self.sent_ns = sent_ns


class Venue:
    """Answers every request after a link latency."""

    __slots__ = ("name", "loop", "next_latency", "requests")

    def __init__(self, loop: Any, next_latency: Callable[[], int]) -> None:
        self.name = "venue"
        self.loop = loop
        self.next_latency = next_latency
        self.requests = 0

    def on_request(self, request: Request) -> None:
        self.requests += 1
        now = self.loop.now_ns()
        self.loop.deliver_at(
            now + self.next_latency(),
            request.agent.on_response,
            Response(request.seq, True, now),
        )


class Agent:
    """Sends a request, awaits the response, repeats."""

    __slots__ = ("name", "loop", "venue", "next_latency", "pending", "answered")

    def __init__(self, name: str, loop: Any, venue: Venue, next_latency: Callable[[], int]) -> None:
        self.name = name
        self.loop = loop
        self.venue = venue
        self.next_latency = next_latency
        self.pending: asyncio.Future[Response] | None = None
        self.answered = 0

    async def run(self, round_trips: int) -> None:
        loop = self.loop
        for seq in range(round_trips):
            self.pending = fut = loop.create_future()
            now = loop.now_ns()
            loop.deliver_at(now + self.next_latency(), self.venue.on_request, Request(self, seq, now))
            response = await fut
            if response.seq != seq:
                raise AssertionError(f"{self.name} got response {response.seq} for {seq}")
            self.answered += 1

    def on_response(self, response: Response) -> None:
        fut, self.pending = self.pending, None
        assert fut is not None
        fut.set_result(response)


def run_round_trips(agents: int, round_trips: int, seed: int) -> tuple[float, int, int]:
    """(wall seconds, round trips, simulated ns) for workload (c)."""

    async def main() -> tuple[float, int, int]:
        loop: Any = asyncio.get_running_loop()
        next_latency = ns_delays(np.random.default_rng(seed), LATENCY_MEAN_NS).__next__
        venue = Venue(loop, next_latency)
        population = [Agent(f"agent-{i}", loop, venue, next_latency) for i in range(agents)]
        per_agent, extra = divmod(round_trips, agents)
        coros = [a.run(per_agent + (i < extra)) for i, a in enumerate(population)]
        start_ns = loop.now_ns()
        start = time.perf_counter()
        await asyncio.gather(*coros)
        wall = time.perf_counter() - start
        answered = sum(a.answered for a in population)
        assert answered == venue.requests
        return wall, answered, loop.now_ns() - start_ns

    result = run(main())
    assert result is not None
    return result


# --- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--wakeups", type=int, default=300_000)
    parser.add_argument("--round-trips", type=int, default=300_000)
    parser.add_argument("--chains", type=int, default=1_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload; best counts")
    parser.add_argument(
        "--profile", action="store_true", help="profile workload (a) with pyinstrument"
    )
    args = parser.parse_args()
    seed_a, seed_b, seed_c = (
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(args.seed).spawn(3)
    )
    gc.collect()
    gc.disable()  # no cyclic-GC pauses at random points of the timed runs
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            run_chains(args.chains, args.deliveries, seed_a)
        profiler.print()
        return

    def best(workload: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        return min((workload() for _ in range(max(1, args.repeat))), key=lambda r: r[0])

    bare_wall, bare_count = best(lambda: run_chains_bare(args.chains, args.deliveries, seed_a))
    loop_wall, delivered, sim_a = best(lambda: run_chains(args.chains, args.deliveries, seed_a))
    assert delivered == bare_count == args.deliveries, (delivered, bare_count)
    compiled_heap = virtual_loop.EventHeap
    virtual_loop.EventHeap = virtual_loop.PythonEventHeap  # the reference heap, same workload
    try:
        python_wall, python_count, python_sim = best(
            lambda: run_chains(args.chains, args.deliveries, seed_a))
    finally:
        virtual_loop.EventHeap = compiled_heap
    assert (python_count, python_sim) == (delivered, sim_a)
    wake_wall, woke, sim_b = best(lambda: run_wakeups(args.agents, args.wakeups, seed_b))
    rt_wall, trips, sim_c = best(lambda: run_round_trips(args.agents, args.round_trips, seed_c))

    print(f"(a) deliveries            {delivered} over {args.chains} chains, "
          f"{sim_a / 1e9:.3f} s simulated")
    print(f"    bare_heap_per_s       {bare_count / bare_wall:,.0f}")
    print(f"    python_event_heap     {python_count / python_wall:,.0f}  "
          "(the loop on the reference heap)")
    print(f"    virtual_loop_per_s    {delivered / loop_wall:,.0f}  "
          f"({'compiled' if virtual_loop.COMPILED else 'python: not compiled'} event heap)")
    print(f"    loop_vs_bare          {bare_wall / loop_wall:.2f}x")
    print(f"(b) wakeups               {woke} over {args.agents} agents, "
          f"{sim_b / 1e9:.3f} s simulated")
    print(f"    wakeups_per_s         {woke / wake_wall:,.0f}")
    print(f"(c) round_trips           {trips} over {args.agents} agents, "
          f"{sim_c / 1e9:.3f} s simulated")
    print(f"    round_trips_per_s     {trips / rt_wall:,.0f}  "
          f"({2 * trips / rt_wall:,.0f} deliveries/s)")
    print(f"deliveries_per_s {delivered / loop_wall:.0f}")


if __name__ == "__main__":
    main()
