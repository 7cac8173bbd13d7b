"""A plug-in allocator for the fan-out tests (`seed_crashing_allocator:SeedCrashingLitOnly`,
this folder on sys.path): lit-only, but its first `choose` raises in the run of
`crash_seed` alone, so that one seed of a sweep or a compare fails and the others finish.

An allocator is not told the seed; it recognises it by its random stream, which the run
derives from the root seed and the stream's name (`router/<parent>/allocator`, see
`scenarios.loader`): the first draw of `self.rng` equals the first draw of that stream
under `crash_seed`. LitOnly draws nothing else, so the draw changes no routing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from market.rng import stream_seed
from router.allocators.base import Allocation
from router.allocators.static import LitOnly


class SeedCrashingLitOnly(LitOnly):
    def __init__(self, venues: Sequence[str], rng: np.random.Generator, *, crash_seed: int,
                 parent: str = "SOR") -> None:
        super().__init__(venues, rng)
        self.crash_seed = crash_seed
        self.stream = f"router/{parent}/allocator"
        self.checked = False

    def choose(self, quantity: int, venues: Sequence[str] | None = None,
               context: Sequence[float] | None = None) -> Allocation:
        if not self.checked:
            self.checked = True
            crash = np.random.Generator(np.random.PCG64(stream_seed(self.crash_seed,
                                                                     self.stream)))
            if self.rng.random() == crash.random():
                raise RuntimeError(f"crash on seed {self.crash_seed}")
        return super().choose(quantity, venues, context)


KEY = "seed_crashing_allocator:SeedCrashingLitOnly"


def crash_on(tiny_text: str, seed: int) -> str:
    """The tests' tiny.toml with its parent order routed by this allocator, crashing on
    `seed`."""
    routed = tiny_text.replace('allocator = "ucb1"', f'allocator = {{ type = "{KEY}", '
                               f'params = {{ crash_seed = {seed} }} }}')
    assert routed != tiny_text, "tiny.toml no longer routes by ucb1"
    return routed
