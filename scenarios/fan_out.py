"""Many runs at once (seeds x routers x scenarios): the fan-out shared by `sorsim compare`,
`sorsim sweep` and `sorsim regress`.

A `RunJob` is everything one run needs, as plain data: the scenario file's text (not its
path, so a worker on another machine needs no access to the file), the file's name for
messages, the seed and an optional allocator override. `run_job(job)` runs it and returns
`scenarios.summary.run_figures` of the run: the digest and the summary figures, nothing
that depends on the machine, the process or the wall clock. So a job gives the same
result in this process, in a process pool or on a Ray worker, and `fan_out` returns the
results in the jobs' order whatever order they finished in.

A run that raises (a plug-in crashed: `market.errors.HandlerFailed`) is a result too, a
`RunFailed`, and does not stop the others: `fan_out_all` attempts every job. Why every job
rather than stopping at the first failure: seeds are independent, so one seed's crash says
nothing about the next, and a user wants the figures of the seeds that finish and the list
of every seed that crashes (1 crash in 20 seeds is not 3); and which runs would
have finished before a stop depends on scheduling, so the report would change with --jobs
and the backend. `fan_out` (for `sorsim regress`, where any crash is fatal) raises the
first failure in the jobs' order once every job has been attempted. A backend that breaks
(a pool worker killed, Ray unreachable) is not a run's failure: it raises `FanOutError`.

Backends:
- "process": a local `concurrent.futures` process pool of `workers` processes (spawned, not
  forked: a fork of a process that runs threads, such as a progress bar's or Ray's, can
  deadlock); one worker, or one job, runs here without a pool;
- "ray": Ray tasks on a local instance or a cluster (`scenarios.ray_backend`, imported
  only then: Ray is an optional extra).

Seeds: `derive_seeds(base, n)` is base, base + 1, ..., base + n - 1. Each seed gives every
component its own stream (market.rng derives them from the root seed and the component's
name), so consecutive seeds are independent runs; the rule is simple to state in output.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from market.errors import SorsimError
from scenarios.loader import parse_scenario, run_scenario
from scenarios.scenario import Scenario
from scenarios.schema import ScenarioError
from scenarios.summary import run_figures

__all__ = ["BACKENDS", "FanOutError", "RunFailed", "RunJob", "derive_seeds", "describe_seeds",
           "fan_out", "fan_out_all", "require_parent_orders", "run_job", "run_job_reporting"]

BACKENDS = ("process", "ray")


class FanOutError(SorsimError):
    """A run of a fan-out failed or a backend cannot start; the message names which."""


@dataclass(frozen=True)
class RunJob:
    """One run: a scenario's text, its file name, the seed, an allocator override."""

    text: str
    file: str
    seed: int
    allocator: str | None = None

    def describe(self) -> str:
        routed = f", allocator {self.allocator}" if self.allocator is not None else ""
        return f"{self.file} (seed {self.seed}{routed})"


@dataclass(frozen=True)
class RunFailed:
    """A run that raised, as plain text (our errors do not all survive pickling): the job,
    the error in one line (for a crash, `HandlerFailed`'s message: who raised what, where
    and at what simulated time) and the worker's traceback."""

    job: RunJob
    error: str
    traceback: str

    def describe(self) -> str:
        return f"run {self.job.describe()} failed: {self.error}"

    def as_dict(self) -> dict[str, Any]:
        """For a report's JSON: the seed, the error and the traceback (not the file's text)."""
        return {"seed": self.job.seed, "error": self.error, "traceback": self.traceback}


def run_job(job: RunJob) -> dict[str, Any]:
    """Run one job here; its `run_figures`."""
    scenario = parse_scenario(job.text, job.file, allocator=job.allocator)
    return run_figures(run_scenario(scenario, seed=job.seed))


def run_job_reporting(job: RunJob) -> dict[str, Any] | RunFailed:
    """`run_job` for a worker: a run that raises comes back as its `RunFailed` (returned,
    not raised, so that every backend hands it back like a result and goes on)."""
    try:
        return run_job(job)
    except Exception as error:
        trace = "".join(traceback.format_exception(error)).rstrip()
        return RunFailed(job, f"{type(error).__name__}: {error}", trace)


def require_parent_orders(scenario: Scenario, file: str, command: str) -> None:
    """A fan-out's figures are per parent order: without one, every run would be wasted.
    Raises `ScenarioError` naming the file, before any run."""
    if not scenario.parent_orders:
        raise ScenarioError(file, "parent_orders",
                            f"{command} needs at least one parent order")


def derive_seeds(base: int, count: int) -> list[int]:
    """The seeds of a fan-out: `count` consecutive seeds from `base`."""
    if count < 1:
        raise ValueError(f"the number of seeds was {count}, expected >= 1")
    return [base + i for i in range(count)]


def describe_seeds(seeds: Sequence[int], origin: str) -> str:
    """How the seeds were chosen, e.g. "seeds 7..9 (the file's seed 7 and the next 2)"."""
    if len(seeds) == 1:
        return f"seed {seeds[0]} ({origin})"
    return (f"seeds {seeds[0]}..{seeds[-1]} ({origin} {seeds[0]} and the next "
            f"{len(seeds) - 1})")


def read_seeded_file(file: str, count: int, seed: int | None) -> tuple[str, list[int], str]:
    """A fan-out's inputs: the file's text, its `count` seeds (from `seed`, else the file's
    own) and how they were chosen. A file that cannot be read raises ValueError with the
    message to print; one that does not validate, `ScenarioError`."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{file}: cannot read the file: {error.strerror or error}") from None
    base = parse_scenario(text, file).seed if seed is None else seed
    seeds = derive_seeds(base, count)
    return text, seeds, describe_seeds(seeds, "the file's seed" if seed is None else "--seed")


def fan_out(jobs: Sequence[RunJob], *, backend: str = "process", workers: int | None = None,
            address: str | None = None,
            on_done: Callable[[], object] | None = None) -> list[dict[str, Any]]:
    """`fan_out_all` where any failed run is fatal: once every job has been attempted, the
    first failure in the jobs' order raises `FanOutError` with its traceback."""
    results = fan_out_all(jobs, backend=backend, workers=workers, address=address,
                          on_done=on_done)
    finished = []
    for result in results:
        if isinstance(result, RunFailed):
            raise FanOutError(f"{result.describe()}\n{result.traceback}")
        finished.append(result)
    return finished


def fan_out_all(jobs: Sequence[RunJob], *, backend: str = "process",
                workers: int | None = None, address: str | None = None,
                on_done: Callable[[], object] | None = None,
                ) -> list[dict[str, Any] | RunFailed]:
    """Run every job on `backend`, a failing one included; their results (`RunFailed` for
    one that raised) in the jobs' order. `workers` bounds the parallel runs (default: one
    per core, at most one per job); `address` is a Ray cluster's (Ray only); `on_done()`
    is called as each run finishes or fails (a progress bar)."""
    if backend not in BACKENDS:
        raise FanOutError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise FanOutError("--address is a Ray cluster's address: use it with --backend ray")
    if workers is not None and workers < 1:
        raise FanOutError(f"the number of workers was {workers}, expected >= 1")
    if not jobs:
        return []
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    done = on_done or (lambda: None)
    if backend == "ray":
        from scenarios.ray_backend import run_on_ray

        # Each Ray task is run_job_reporting too: a failed run comes back as its RunFailed.
        return run_on_ray(jobs, workers=workers, address=address, on_done=done)
    if workers == 1:
        results: list[dict[str, Any] | RunFailed] = []
        for job in jobs:
            results.append(run_job_reporting(job))
            done()
        return results
    return _run_in_pool(jobs, workers, done)


def _run_in_pool(jobs: Sequence[RunJob], workers: int,
                 done: Callable[[], object]) -> list[dict[str, Any] | RunFailed]:
    results: list[dict[str, Any] | RunFailed | None] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: dict[Future[dict[str, Any] | RunFailed], int] = {
            pool.submit(run_job_reporting, job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                index = futures[future]
                error = future.exception()
                # run_job_reporting returns a run's failure: this is the pool's (a worker
                # killed, out of memory), as Ray's backend raises for a lost worker.
                if error is not None:
                    raise FanOutError(f"run {jobs[index].describe()} failed: "
                                      f"{type(error).__name__}: {error}") from error
                results[index] = future.result()
                done()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [r for r in results if r is not None]
