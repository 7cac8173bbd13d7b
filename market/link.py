"""A latency link: one direction of one connection, fixed latency plus seeded jitter.

Delivery time = send time + latency + jitter, where jitter is exponential with mean
`jitter_ns` (drawn in blocks). A link is FIFO like a TCP connection: a message never
arrives before one sent earlier on the same link, whatever the jitter drew.

Links are made per connection (participant x venue, each direction), never as a dense
agent-by-agent matrix, so memory grows with the number of connections only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from market.clock import Clock
from market.rng import BlockDraws
from market.virtual_loop import VirtualTimeLoop

__all__ = ["Latency", "Link"]


class Latency(NamedTuple):
    """One way latency of a connection, integer nanoseconds."""

    fixed_ns: int = 0
    jitter_ns: int = 0  # mean of the exponential jitter; 0 = none

    def validate(self, where: str) -> None:
        if type(self.fixed_ns) is not int or self.fixed_ns < 0:
            raise ValueError(f"{where}: latency fixed_ns must be an int >= 0, got {self.fixed_ns!r}")
        if type(self.jitter_ns) is not int or self.jitter_ns < 0:
            raise ValueError(f"{where}: latency jitter_ns must be an int >= 0, got {self.jitter_ns!r}")


class Link:
    """Delivers messages to `handler` after the link's latency, in sending order."""

    __slots__ = ("_clock", "_handler", "_fixed_ns", "_jitter", "_last_ns", "sent", "_now_ns",
                 "_deliver_at", "send")

    def __init__(
        self,
        clock: Clock,
        handler: Callable[[Any], object],
        latency: Latency = Latency(),
        rng: np.random.Generator | None = None,
    ) -> None:
        latency.validate("link")
        if latency.jitter_ns and rng is None:
            raise ValueError("a link with jitter needs a random stream")
        self._clock = clock
        self._handler = handler
        self._fixed_ns = latency.fixed_ns
        mean = float(latency.jitter_ns)
        self._jitter = (
            BlockDraws(lambda n: rng.exponential(mean, n).astype(np.int64))  # type: ignore[union-attr]
            if latency.jitter_ns
            else None
        )
        self._last_ns = 0
        self.sent = 0
        # On the virtual clock a send calls the loop's event heap directly (C calls when it
        # is compiled), not through the loop's methods: links carry most messages.
        if isinstance(clock, VirtualTimeLoop):
            self._now_ns, self._deliver_at = clock._events.now_ns, clock._events.deliver_at
            self.send = self._send_virtual
        else:
            self.send = self._send_any

    @property
    def fixed_ns(self) -> int:
        """The link's fixed one-way latency (ns)."""
        return self._fixed_ns

    @fixed_ns.setter
    def fixed_ns(self, value: int) -> None:
        """Change the fixed latency from now on (a regime shift: a venue's gateway slows
        down). FIFO still holds: a message sent after a cut never arrives before one sent
        earlier (it waits for it)."""
        if type(value) is not int or value < 0:
            raise ValueError(f"link: fixed_ns must be an int >= 0, got {value!r}")
        self._fixed_ns = value

    def _send_virtual(self, message: Any) -> None:
        t_ns = self._now_ns() + self._fixed_ns
        if self._jitter is not None:
            t_ns += self._jitter.next()
        if t_ns < self._last_ns:
            t_ns = self._last_ns
        self._last_ns = t_ns
        self.sent += 1
        self._deliver_at(t_ns, self._handler, message)

    def _send_any(self, message: Any) -> None:
        clock = self._clock
        t_ns = clock.now_ns() + self._fixed_ns
        if self._jitter is not None:
            t_ns += self._jitter.next()
        if t_ns < self._last_ns:
            t_ns = self._last_ns
        self._last_ns = t_ns
        self.sent += 1
        clock.deliver_at(t_ns, self._handler, message)
