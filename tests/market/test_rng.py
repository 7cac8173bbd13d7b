"""market.rng: one seeded stream per component name, stable across processes, block draws."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from market.rng import BlockDraws, RngStreams, stream_seed

ROOT = Path(__file__).resolve().parents[2]


def test_rng_stream_same_seed_and_name_gives_same_numbers() -> None:
    a = RngStreams(42).stream("agent/noise0").random(8)
    b = RngStreams(42).stream("agent/noise0").random(8)
    assert a.tolist() == b.tolist()


def test_rng_stream_different_names_give_different_numbers() -> None:
    streams = RngStreams(42)
    a = streams.stream("agent/noise0").random(8)
    b = streams.stream("agent/noise1").random(8)
    assert a.tolist() != b.tolist()


def test_rng_stream_different_root_seeds_give_different_numbers() -> None:
    a = RngStreams(1).stream("agent/noise0").random(8)
    b = RngStreams(2).stream("agent/noise0").random(8)
    assert a.tolist() != b.tolist()


def test_rng_stream_adding_another_stream_leaves_existing_unchanged() -> None:
    alone = RngStreams(7)
    expected = alone.stream("agent/b").integers(0, 1 << 62, 16).tolist()

    crowded = RngStreams(7)
    crowded.stream("agent/a").random(1000)  # another component draws first
    crowded.stream("agent/zzz")
    got = crowded.stream("agent/b").integers(0, 1 << 62, 16).tolist()
    assert got == expected


def test_rng_stream_name_asked_twice_raises() -> None:
    streams = RngStreams(0)
    streams.stream("venue/LIT1")
    with pytest.raises(ValueError, match="venue/LIT1"):
        streams.stream("venue/LIT1")


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_rng_streams_bad_root_seed_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="root seed"):
        RngStreams(bad)  # type: ignore[arg-type]


def test_rng_stream_seed_stable_across_processes_with_different_hash_seeds() -> None:
    code = (
        "from market.rng import RngStreams, stream_seed;"
        "print(stream_seed(12345, 'agent/noise3').generate_state(4).tolist());"
        "print(RngStreams(12345).stream('agent/noise3').integers(0, 1 << 62, 4).tolist())"
    )
    expected_state = stream_seed(12345, "agent/noise3").generate_state(4).tolist()
    expected_draws = RngStreams(12345).stream("agent/noise3").integers(0, 1 << 62, 4).tolist()
    for hash_seed in ("0", "1", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True,
        ).stdout.splitlines()
        assert out == [str(expected_state), str(expected_draws)], f"PYTHONHASHSEED={hash_seed}"


def test_rng_stream_seed_derivation_pinned_value_unchanged() -> None:
    # Pins the derivation itself (sha256 of the name -> spawn key): changing it would silently
    # change every recorded run's digest, so it must be a deliberate, visible change.
    assert stream_seed(1, "agent/noise0").generate_state(2).tolist() == [1626577798, 2519036860]
    assert RngStreams(1).stream("agent/noise0").integers(0, 1 << 62, 3).tolist() == [
        3684964735458868809, 1741692423276675949, 402517071423158397,
    ]


def test_block_draws_returns_python_numbers_in_block_order_equal_to_direct_draw() -> None:
    direct = np.random.Generator(np.random.PCG64(stream_seed(5, "x"))).random(25).tolist()

    rng = np.random.Generator(np.random.PCG64(stream_seed(5, "x")))
    calls: list[int] = []

    def draw(n: int) -> np.ndarray:
        calls.append(n)
        return rng.random(n)

    draws = BlockDraws(draw, block=10)
    got = [draws.next() for _ in range(25)]
    assert got == direct
    assert all(type(v) is float for v in got)
    assert calls == [10, 10, 10]  # refilled a block at a time, lazily


def test_block_draws_integers_are_python_ints() -> None:
    rng = np.random.Generator(np.random.PCG64(stream_seed(5, "ints")))
    draws = BlockDraws(lambda n: rng.integers(1, 6, n), block=4)
    values = [draws.next() for _ in range(9)]
    assert all(type(v) is int and 1 <= v <= 5 for v in values)
