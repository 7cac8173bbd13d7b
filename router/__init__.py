"""The smart order router: parent orders, execution policy, schedules, allocators (bandits),
child-order tactics, the router agent and TCA. Not built yet (issue: the smart order router).

Imports `market` and the base API of `agents`.
"""

__all__: list[str] = []
