"""Runs: the `Simulation` (one seed, one clock, one event log), the demo and the `sorsim`
command line. Scenario files, reports and the regression suite come here too.

May import every other layer.
"""

from scenarios.simulation import RunResult, Simulation

__all__ = ["RunResult", "Simulation"]
