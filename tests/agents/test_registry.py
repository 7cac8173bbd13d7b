"""agents.registry: built-in agents by key, plug-ins by module:Class, clear errors."""

from __future__ import annotations

import pytest

from agents.agent import Agent
from agents.noise_trader import NoiseTrader
from agents.registry import AGENTS, AgentSpecError, load_agent


class PluginAgent(Agent):
    """A user's agent: a plain subclass."""


def test_load_agent_by_key_returns_builtin() -> None:
    assert load_agent("noise") is NoiseTrader
    assert all(issubclass(cls, Agent) for cls in AGENTS.values())


def test_load_agent_by_module_class_returns_plugin() -> None:
    assert load_agent(f"{__name__}:PluginAgent") is PluginAgent


@pytest.mark.parametrize("spec, message", [
    ("nosie", "did you mean 'noise'"),
    ("agents.noise_trader.NoiseTrader", "module:Class"),
    ("no_such_module_xyz:Agent", "cannot import module"),
    ("agents.noise_trader:Nope", "has no attribute"),
    ("collections:OrderedDict", "is not an Agent subclass"),
    ("", "expected a key"),
])
def test_load_agent_bad_spec_raises_naming_it(spec: str, message: str) -> None:
    with pytest.raises(AgentSpecError, match=message) as caught:
        load_agent(spec)
    assert repr(spec) in str(caught.value) or spec == ""
