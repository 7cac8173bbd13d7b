"""Random number streams: one numpy `Generator` per component, from the root seed and a name.

A stream's seed is derived from the root seed and the SHA-256 of the component's stable
name (never Python's `hash()`, which changes between processes), so adding or removing a
component leaves every other component's stream unchanged.

Draw in blocks: a numpy call costs about a microsecond whatever its size, so hot paths take
numbers from `BlockDraws`, which refills a Python list a few thousand at a time.

This is the only module that makes random generators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["RngStreams", "BlockDraws", "stream_seed"]


def stream_seed(root_seed: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of the stream called `name` under `root_seed`."""
    if type(root_seed) is not int or root_seed < 0:
        raise ValueError(f"root seed must be a non-negative int, got {root_seed!r}")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.SeedSequence(entropy=root_seed, spawn_key=words)


class RngStreams:
    """Hands out one independent `Generator` per component name."""

    def __init__(self, root_seed: int) -> None:
        stream_seed(root_seed, "")  # validate once
        self.root_seed = root_seed
        self._names: set[str] = set()

    def stream(self, name: str) -> np.random.Generator:
        """A fresh generator for `name`; asking twice for one name is a bug (shared stream)."""
        if name in self._names:
            raise ValueError(f"random stream {name!r} was already handed out")
        self._names.add(name)
        return np.random.Generator(np.random.PCG64(stream_seed(self.root_seed, name)))


class BlockDraws:
    """Python numbers drawn from a generator a block at a time.

    `draw(n)` must return a numpy array of n numbers, e.g.
    `BlockDraws(lambda n: rng.exponential(2.0, n))`.
    """

    __slots__ = ("_draw", "_block", "_values", "_index")

    def __init__(self, draw: Callable[[int], Any], block: int = 4096) -> None:
        self._draw = draw
        self._block = block
        self._values: list[Any] = []
        self._index = 0

    def next(self) -> Any:
        index = self._index
        values = self._values
        if index == len(values):
            values = self._values = self._draw(self._block).tolist()
            index = 0
        self._index = index + 1
        return values[index]
