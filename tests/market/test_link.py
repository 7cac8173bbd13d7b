"""market.link: fixed latency, seeded jitter, FIFO per link, validation."""

from __future__ import annotations

import asyncio
import pytest

from market.clock import current_clock, run
from market.link import Latency, Link
from market.rng import RngStreams

US = 1_000


def _deliveries(latency: Latency, send_times_ns: list[int], *, seed: int = 9,
                start_ns: int = 0) -> list[tuple[int, int]]:
    """Send message i at send_times_ns[i]; return (arrival t_ns, i) in arrival order."""
    arrivals: list[tuple[int, int]] = []

    async def main() -> None:
        clock = current_clock()
        rng = RngStreams(seed).stream("link/a->b") if latency.jitter_ns else None
        link = Link(clock, lambda m: arrivals.append((clock.now_ns(), m)), latency, rng)
        for i, t_ns in enumerate(send_times_ns):
            wait = t_ns - clock.now_ns()
            if wait:
                await asyncio.sleep(wait / 1e9)
            assert clock.now_ns() == t_ns
            link.send(i)
        await asyncio.sleep(1.0)  # let every message arrive

    run(main(), start_ns=start_ns)
    return arrivals


def test_link_fixed_latency_delivers_at_exactly_now_plus_latency() -> None:
    sends = [0, 0, 5 * US, 123_457]
    arrivals = _deliveries(Latency(fixed_ns=250 * US), sends)
    assert arrivals == [(t + 250 * US, i) for i, t in enumerate(sends)]


def test_link_fixed_latency_from_epoch_start_is_exact() -> None:
    start = 1_700_000_000_123_456_789
    arrivals = _deliveries(Latency(fixed_ns=7), [start, start + 1], start_ns=start)
    assert arrivals == [(start + 7, 0), (start + 8, 1)]


def test_link_zero_latency_delivers_at_send_time_in_order() -> None:
    arrivals = _deliveries(Latency(), [10, 10, 10])
    assert arrivals == [(10, 0), (10, 1), (10, 2)]


def test_link_jitter_same_stream_gives_same_delivery_times() -> None:
    sends = [i * 10 * US for i in range(50)]
    a = _deliveries(Latency(fixed_ns=100 * US, jitter_ns=30 * US), sends, seed=4)
    b = _deliveries(Latency(fixed_ns=100 * US, jitter_ns=30 * US), sends, seed=4)
    c = _deliveries(Latency(fixed_ns=100 * US, jitter_ns=30 * US), sends, seed=5)
    assert a == b
    assert a != c
    assert all(t >= s + 100 * US for (t, _), s in zip(a, sends))
    assert len({t - s for (t, _), s in zip(a, sends)}) > 1  # jitter actually varies


def test_link_large_jitter_never_reorders_messages_on_one_link() -> None:
    # Jitter mean 1 ms, sends 1 us apart: without the FIFO clamp most would overtake.
    sends = [i * US for i in range(300)]
    arrivals = _deliveries(Latency(fixed_ns=10 * US, jitter_ns=1_000 * US), sends, seed=1)
    assert [i for _, i in arrivals] == list(range(300))
    times = [t for t, _ in arrivals]
    assert times == sorted(times)
    assert all(t >= s + 10 * US for t, s in zip(times, sends))


def test_link_sent_counts_messages() -> None:
    counted: list[int] = []

    async def main() -> None:
        link = Link(current_clock(), lambda m: None, Latency(fixed_ns=1))
        for i in range(5):
            link.send(i)
        counted.append(link.sent)

    run(main())
    assert counted == [5]


@pytest.mark.parametrize(
    "latency, field",
    [(Latency(fixed_ns=-1), "fixed_ns"), (Latency(fixed_ns=0, jitter_ns=-5), "jitter_ns"),
     (Latency(fixed_ns=1.5), "fixed_ns")],  # type: ignore[arg-type]
)
def test_link_negative_or_non_int_latency_raises_clear_error(latency: Latency, field: str) -> None:
    async def main() -> None:
        Link(current_clock(), lambda m: None, latency)

    with pytest.raises(ValueError, match=rf"latency {field} must be an int >= 0, got"):
        run(main())


def test_link_jitter_without_rng_raises() -> None:
    async def main() -> None:
        Link(current_clock(), lambda m: None, Latency(fixed_ns=1, jitter_ns=1))

    with pytest.raises(ValueError, match="needs a random stream"):
        run(main())

