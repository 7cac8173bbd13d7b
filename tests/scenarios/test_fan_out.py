"""scenarios.fan_out: jobs give the same figures in this process and in a process pool, in
the jobs' order; a failing run is named, comes back as a RunFailed and stops no other run;
the seeds' rule."""

from __future__ import annotations

import re

import pytest

from scenarios.fan_out import (FanOutError, RunFailed, RunJob, derive_seeds, describe_seeds,
                               fan_out, fan_out_all, require_parent_orders, run_job)
from scenarios.loader import parse_scenario, run_scenario
from scenarios.schema import ScenarioError
from scenarios.summary import run_figures
from seed_crashing_allocator import crash_on

CRASH_ON_6 = (r"HandlerFailed: agent 'SOR' raised RuntimeError: crash on seed 6 in "
              r"SeedCrashingLitOnly\.choose \(.*seed_crashing_allocator\.py:\d+\) "
              r"at 1\.000000 s \(t_ns=1000000000\)")


def test_process_pool_results_equal_in_process_runs_in_job_order(tiny_text: str) -> None:
    jobs = [RunJob(tiny_text, "tiny.toml", seed) for seed in (9, 5)]
    finished: list[None] = []
    pooled = fan_out(jobs, backend="process", workers=2, on_done=lambda: finished.append(None))
    assert len(finished) == 2
    here = [run_figures(run_scenario(parse_scenario(tiny_text, "tiny.toml"), seed=seed))
            for seed in (9, 5)]
    assert pooled == here
    assert [r["seed"] for r in pooled] == [9, 5]
    assert fan_out(jobs, workers=1) == here


def test_run_job_with_an_allocator_override_routes_by_it(tiny_text: str) -> None:
    result = run_job(RunJob(tiny_text, "tiny.toml", 5, "lit-only"))
    assert set(result["parent_orders"]["SOR"]["venues"]) <= {"LIT1", "LIT2", "LIT3"}
    assert result["digest"] != run_job(RunJob(tiny_text, "tiny.toml", 5))["digest"]


def test_failing_run_is_named_in_process_and_in_the_pool(tiny_text: str) -> None:
    bad = RunJob(tiny_text.replace("duration_s = 20", "duration_s = -1"), "bad.toml", 3, "ucb1")
    for workers in (1, 2):
        with pytest.raises(FanOutError, match=r"run bad\.toml \(seed 3, allocator ucb1\) "
                                              r"failed: ScenarioError: bad\.toml: duration_s"):
            fan_out([bad, RunJob(tiny_text, "tiny.toml", 5)], workers=workers)


@pytest.mark.parametrize("workers", [1, 2])
def test_fan_out_all_runs_every_job_and_returns_a_failed_run_as_run_failed(
    tiny_text: str, workers: int,
) -> None:
    jobs = [RunJob(crash_on(tiny_text, 6), "tiny.toml", seed) for seed in (5, 6, 7)]
    finished: list[None] = []
    results = fan_out_all(jobs, workers=workers, on_done=lambda: finished.append(None))
    assert len(finished) == 3
    failed = results[1]
    assert isinstance(failed, RunFailed) and failed.job == jobs[1]
    assert re.fullmatch(CRASH_ON_6, failed.error)
    assert failed.traceback.startswith("Traceback") and \
        "RuntimeError: crash on seed 6" in failed.traceback
    assert failed.as_dict() == {"seed": 6, "error": failed.error, "traceback": failed.traceback}
    # The seeds around it finished, with the figures a run of their own gives.
    assert [results[0], results[2]] == [run_job(jobs[0]), run_job(jobs[2])]


def test_fan_out_raises_the_first_failed_run_in_job_order(tiny_text: str) -> None:
    jobs = [RunJob(crash_on(tiny_text, seed), "tiny.toml", seed) for seed in (5, 6)]
    with pytest.raises(FanOutError, match=r"run tiny\.toml \(seed 5\) failed: HandlerFailed: "
                                          r"agent 'SOR' raised RuntimeError: crash on seed 5"):
        fan_out(jobs, workers=2)


def test_require_parent_orders_names_the_file_and_the_command(tiny_text: str) -> None:
    require_parent_orders(parse_scenario(tiny_text, "tiny.toml"), "tiny.toml", "sweep")
    bare = parse_scenario(tiny_text.split("[[parent_orders]]")[0], "bare.toml")
    with pytest.raises(ScenarioError) as error:
        require_parent_orders(bare, "bare.toml", "compare")
    assert str(error.value) == "bare.toml: parent_orders: compare needs at least one parent order"


def test_fan_out_rejects_unknown_backend_stray_address_and_no_workers(tiny_text: str) -> None:
    jobs = [RunJob(tiny_text, "tiny.toml", 5)]
    with pytest.raises(FanOutError, match="unknown backend 'dask'"):
        fan_out(jobs, backend="dask")
    with pytest.raises(FanOutError, match="workers was 0"):
        fan_out(jobs, workers=0)
    assert fan_out([], backend="process") == []


def test_seeds_are_consecutive_from_the_base_and_described() -> None:
    assert derive_seeds(7, 3) == [7, 8, 9]
    assert describe_seeds([7, 8, 9], "the file's seed") == \
        "seeds 7..9 (the file's seed 7 and the next 2)"
    assert describe_seeds([4], "--seed") == "seed 4 (--seed)"
    with pytest.raises(ValueError, match="number of seeds was 0"):
        derive_seeds(7, 0)
