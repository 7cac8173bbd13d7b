"""The agent API (`Agent`) and the built-in population: noise traders, informed traders
Avellaneda–Stoikov market makers and latency arbitrageurs. Built-ins use exactly the hooks a plug-in gets.

Imports only `market`.
"""

from agents.agent import Agent, AgentContext, OrderIds
from agents.informed_trader import InformedTrader
from agents.latency_arbitrageur import LatencyArbitrageur
from agents.registry import AGENTS, AgentSpecError, load_agent
from agents.market_maker import MarketMaker
from agents.noise_trader import NoiseTrader

__all__ = [
    "AGENTS", "Agent", "AgentContext", "AgentSpecError", "InformedTrader", "LatencyArbitrageur",
    "MarketMaker", "NoiseTrader", "OrderIds", "load_agent",
]
