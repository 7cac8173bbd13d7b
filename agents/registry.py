"""The built-in agents by key, and `load_agent`: a scenario names an agent type by one of
these keys or by "module:Class" (a user's plug-in: any subclass of `agents.agent.Agent`)."""

from __future__ import annotations

from agents.agent import Agent
from agents.informed_trader import InformedTrader
from agents.latency_arbitrageur import LatencyArbitrageur
from agents.market_maker import MarketMaker
from agents.noise_trader import NoiseTrader
from market.errors import SorsimError
from market.plugins import load_class

__all__ = ["AGENTS", "AgentSpecError", "load_agent"]

AGENTS: dict[str, type[Agent]] = {
    "noise": NoiseTrader,
    "informed": InformedTrader,
    "market-maker": MarketMaker,
    "latency-arbitrageur": LatencyArbitrageur,
}


class AgentSpecError(SorsimError, ValueError):
    """An agent type that cannot be loaded; the message names the spec."""


def load_agent(spec: str) -> type[Agent]:
    return load_class(spec, AGENTS, Agent, "agent", AgentSpecError)
