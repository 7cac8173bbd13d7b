"""A plug-in agent for the replay tests (`crashing_agent:CrashingAgent`, this folder on
sys.path): it raises at simulated time `crash_at_s`, but only while the environment
variable `CRASH_FLAG` is set, so that a recorded run and its replay can differ in exactly
that."""

from __future__ import annotations

import os

from agents.agent import Agent

CRASH_FLAG = "SORSIM_TEST_CRASH"

# The agent group to append to a scenario's text: one crasher, raising at 7.5 s.
CRASHER = """
[[agents]]
name = "crasher"
type = "crashing_agent:CrashingAgent"
count = 1
params = { crash_at_s = 7.5 }
"""
CRASH_NS = 7_500_000_000


class CrashingAgent(Agent):
    def __init__(self, name: str, *, crash_at_s: float) -> None:
        super().__init__(name)
        self.crash_at_s = crash_at_s

    async def run(self) -> None:
        await self.sleep(self.crash_at_s)
        if os.environ.get(CRASH_FLAG):
            raise RuntimeError(f"{CRASH_FLAG} is set")
