"""Runs: the `Simulation` (one seed, one clock, one event log), the built-in market, scenario
files (`load_scenario` validates a TOML file into a frozen `Scenario`, `run_scenario` runs
it: `schema`, `scenario`, `timeline`, `loader`; the library in `scenarios/library/`), the
demo and the `sorsim` command line. Reports and the regression suite come here too.

May import every other layer.
"""

from scenarios.loader import ScenarioResult, load_scenario, run_scenario
from scenarios.market import Market, MarketConfig, build_market, run_market
from scenarios.scenario import Scenario
from scenarios.schema import ScenarioError
from scenarios.simulation import RunResult, Simulation

__all__ = ["Market", "MarketConfig", "RunResult", "Scenario", "ScenarioError",
           "ScenarioResult", "Simulation", "build_market", "load_scenario", "run_market",
           "run_scenario"]
