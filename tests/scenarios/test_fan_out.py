"""scenarios.fan_out: jobs give the same figures in this process and in a process pool, in
the jobs' order; a failing run is named; the seeds' rule."""

from __future__ import annotations

import pytest

from scenarios.fan_out import FanOutError, RunJob, derive_seeds, describe_seeds, fan_out, run_job
from scenarios.loader import parse_scenario, run_scenario
from scenarios.summary import run_figures


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
