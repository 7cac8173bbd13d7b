"""The package's exceptions: programming errors and broken invariants raise these.

Expected market outcomes (a rejected order, a canceled remainder) are never exceptions;
they are messages (`ExecutionReport` with `ExecType.REJECTED` and a reason).
"""

from __future__ import annotations

import sysconfig
import traceback

__all__ = ["SorsimError", "SimulationError", "SimulationStalled", "HandlerFailed"]


class SorsimError(Exception):
    """Base of every exception sorsim raises on purpose."""


class SimulationError(SorsimError):
    """A simulation cannot go on (a broken invariant, a misuse of the clock)."""


class SimulationStalled(SimulationError):
    """Tasks still wait but nothing at all is scheduled: simulated time cannot advance."""


class HandlerFailed(SimulationError):
    """A message handler or agent raised; says which one, where in its code (the innermost
    frame outside the standard library and installed packages: a plug-in's hook, not the
    dispatcher that called it) and at what simulated time."""

    def __init__(self, who: str, t_ns: int, error: BaseException) -> None:
        self.who = who
        self.t_ns = t_ns
        self.error = error
        self.where = _origin(error)
        inside = f" in {self.where}" if self.where else ""
        super().__init__(f"{who} raised {type(error).__name__}: {error}{inside} "
                         f"at {t_ns / 1e9:.6f} s (t_ns={t_ns})")


def _origin(error: BaseException) -> str | None:
    """`Class.method (file:line)` of the innermost frame of `error`'s traceback that is
    neither the standard library's nor an installed package's; None if there is none."""
    paths = sysconfig.get_paths()
    library = tuple({paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")
                     if k in paths})
    for frame, line in reversed(list(traceback.walk_tb(error.__traceback__))):
        code = frame.f_code
        if not code.co_filename.startswith(library):
            return f"{code.co_qualname} ({code.co_filename}:{line})"
    return None
