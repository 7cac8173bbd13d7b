"""The Ray backend of the fan-out (`--backend ray`): the same `RunJob`s as the process pool,
as Ray tasks, on a local Ray instance or a cluster (`--address`).

Ray is an optional extra (`pip install 'sorsim[ray]'`), imported only here and only when
this backend is asked for; without it, a `FanOutError` says how to install it.

- With an address, `ray.init(address=...)` joins that cluster (its nodes need sorsim
  installed: a task imports `scenarios.fan_out` there) and leaves it running at the end.
- Without one, a local instance just for this fan-out: `workers` CPUs, no dashboard, a
  small object store (results are a few kilobytes each), shut down at the end. If Ray is
  already initialized in this process (a notebook, a test), it is used as it is and left
  running.
- Quiet: Ray's own logging at WARNING, workers' output not forwarded, usage statistics
  off and (local instance) token authentication on, unless the environment says
  otherwise.

Each task is `run_job_reporting(job)` with one CPU and no retry (a run that fails fails the
same way again); results come back in the jobs' order. A run that raised comes back as
its `RunFailed` (`run_job_reporting` returns it, as on the process backend); only a task
Ray itself lost (a worker killed) raises `FanOutError` naming the run.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from scenarios.fan_out import FanOutError, RunFailed, RunJob, run_job_reporting

__all__ = ["OBJECT_STORE_BYTES", "run_on_ray"]

OBJECT_STORE_BYTES = 128 * 1024 * 1024  # a local instance's object store


def run_on_ray(jobs: Sequence[RunJob], *, workers: int, address: str | None,
               on_done: Callable[[], object]) -> list[dict[str, Any] | RunFailed]:
    """Run the jobs as Ray tasks; results in the jobs' order (see the module doc)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is None and "ray" not in sys.modules:
        # Ray's own secure default for a local instance, stated, so that Ray does not print
        # a notice about choosing it. Ray reads it when first imported, hence here; the
        # environment may say otherwise.
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    ray = _import_ray()
    joined = False
    if not ray.is_initialized():
        try:
            if address is not None:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False,
                         object_store_memory=OBJECT_STORE_BYTES,
                         logging_level=logging.WARNING, log_to_driver=False)
        except Exception as error:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise FanOutError(f"cannot start {where}: {type(error).__name__}: {error}") from error
        joined = True
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_job_reporting)
        references = [task.remote(job) for job in jobs]
        index = {reference: i for i, reference in enumerate(references)}
        results: list[dict[str, Any] | RunFailed | None] = [None] * len(jobs)
        pending = list(references)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for reference in ready:
                    results[index[reference]] = _result(ray, reference,
                                                        jobs[index[reference]])
                    on_done()
        except BaseException:
            for reference in pending:  # a failed run or ^C: the rest are not wanted
                ray.cancel(reference)
            raise
    finally:
        if joined:
            ray.shutdown()
    return [r for r in results if r is not None]


def _result(ray: Any, reference: Any, job: RunJob) -> dict[str, Any] | RunFailed:
    try:
        result: dict[str, Any] | RunFailed = ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, FanOutError):
            raise FanOutError(str(cause)) from None
        raise FanOutError(f"run {job.describe()} failed on Ray: {error}") from None
    return result


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise FanOutError("the ray backend needs Ray, an optional extra: "
                          "pip install 'sorsim[ray]'") from None
    return ray
