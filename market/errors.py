"""The package's exceptions: programming errors and broken invariants raise these.

Expected market outcomes (a rejected order, a canceled remainder) are never exceptions;
they are messages (`ExecutionReport` with `ExecType.REJECTED` and a reason).
"""

from __future__ import annotations

__all__ = ["SorsimError", "SimulationError", "SimulationStalled", "HandlerFailed"]


class SorsimError(Exception):
    """Base of every exception sorsim raises on purpose."""


class SimulationError(SorsimError):
    """A simulation cannot go on (a broken invariant, a misuse of the clock)."""


class SimulationStalled(SimulationError):
    """Tasks still wait but nothing at all is scheduled: simulated time cannot advance."""


class HandlerFailed(SimulationError):
    """A message handler or agent raised; says which one and at what simulated time."""

    def __init__(self, who: str, t_ns: int, error: BaseException) -> None:
        self.who = who
        self.t_ns = t_ns
        self.error = error
        super().__init__(f"{who} raised {type(error).__name__}: {error} at t_ns={t_ns}")
