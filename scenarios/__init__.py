"""Runs: the `Simulation` (one seed, one clock, one event log), the demo and the `sorsim`
command line. Scenario files, reports and the regression suite come here too.

May import every other layer.
"""

from scenarios.market import Market, MarketConfig, build_market, run_market
from scenarios.simulation import RunResult, Simulation

__all__ = ["Market", "MarketConfig", "RunResult", "Simulation", "build_market", "run_market"]
