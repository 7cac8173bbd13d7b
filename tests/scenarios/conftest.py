"""Small explicit scenario files for the CLI's tests: runs of a tenth of a second."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = """\
# tiny.toml -- a small market for the CLI's tests: noise traders, a market maker, one
# parent order on UCB1 and one fee change.
name = "tiny"
seed = 5
duration_s = 20

[[agents]]
name = "noise"
type = "noise"
count = 10
rate = 1.0

[[agents]]
name = "market_makers"
type = "market-maker"
count = 1

[[parent_orders]]
side = "buy"
quantity = 3_000
start_s = 1
allocator = "ucb1"

[parent_orders.router]
cleanup_s = 4

[[timeline]]
at_s = 10
target = "venue:LIT1"
set = { taker_fee = 40 }
"""


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return TINY


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    """`TINY` written to tmp_path/tiny.toml."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path
