"""Only market/clock.py reads wall time; only market/rng.py makes random generators; nothing
uses the stdlib `random` module or numpy's legacy global `np.random.<fn>()` (STYLE habit 5).

The scan blanks out comments and string literals first (docstrings may talk about
`time.time()`), then matches per line and reports `path:line: text`.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("market", "venues", "agents", "router", "scenarios")

CLOCK = "market/clock.py"
RNG = "market/rng.py"
RUN_TIMER = "scenarios/simulation.py"  # may time the run itself with time.perf_counter

# numpy.random names that are types or explicit-seed machinery, never global state.
NP_RANDOM_ALLOWED = {"Generator", "PCG64", "SeedSequence", "BitGenerator"}
NP_RANDOM_CONSTRUCTORS = {"Generator", "PCG64", "SeedSequence", "default_rng"}

# (rule, pattern, files where it is allowed)
WALL_TIME = [
    ("wall time", re.compile(r"\btime\.(time|time_ns|monotonic|monotonic_ns|localtime|gmtime"
                             r"|ctime|asctime|clock_gettime|clock_gettime_ns)\s*\("), {CLOCK}),
    ("wall time", re.compile(r"\btime\.(perf_counter|perf_counter_ns)\s*\("), {CLOCK, RUN_TIMER}),
    ("wall time", re.compile(r"\b(datetime|date)\.(now|utcnow|today)\s*\("), {CLOCK}),
    ("wall time", re.compile(r"^\s*from\s+time\s+import\b"), {CLOCK}),
]
GLOBAL_RANDOM = [
    ("stdlib random", re.compile(r"^\s*(import\s+random\b|from\s+random\s+import\b)"), set()),
    ("stdlib random", re.compile(r"^\s*import\s+[\w., ]*(?<![\w.])random\b(?!\.)"), set()),
    ("stdlib random", re.compile(r"(?<![\w.])random\.\w+"), set()),
    ("global randomness", re.compile(r"\b(os\.urandom|uuid\.uuid[14]|secrets\.\w+)\s*\("), set()),
    ("numpy random import", re.compile(r"^\s*(from\s+numpy\.random\s+import\b"
                                       r"|from\s+numpy\s+import\s+[\w, ]*\brandom\b"
                                       r"|import\s+numpy\.random\b)"), {RNG}),
]
NP_RANDOM = re.compile(r"\b(?:np|numpy)\.random\.(\w+)(\s*\()?")


def _code_lines(source: str) -> list[str]:
    """The source's lines with comments and string literals replaced by spaces."""
    lines = source.splitlines()
    blank: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING):
            blank.append((token.start, token.end))
    chars = [list(line) for line in lines]
    for (row0, col0), (row1, col1) in blank:
        for row in range(row0, row1 + 1):
            line = chars[row - 1]
            start = col0 if row == row0 else 0
            end = col1 if row == row1 else len(line)
            for col in range(start, min(end, len(line))):
                line[col] = " "
    return ["".join(line) for line in chars]


def offences(relative: str, source: str) -> list[str]:
    """Every forbidden use in one file, as 'path:line: rule: text'."""
    found: list[str] = []
    original = source.splitlines()
    for number, code in enumerate(_code_lines(source), start=1):
        text = original[number - 1].strip()
        for rule, pattern, allowed_in in WALL_TIME + GLOBAL_RANDOM:
            if relative not in allowed_in and pattern.search(code):
                found.append(f"{relative}:{number}: {rule}: {text}")
        for match in NP_RANDOM.finditer(code):
            name, called = match.group(1), match.group(2)
            if name not in NP_RANDOM_ALLOWED and name != "default_rng":
                found.append(f"{relative}:{number}: legacy np.random.{name}: {text}")
            elif relative != RNG and (name == "default_rng" or
                                      (called and name in NP_RANDOM_CONSTRUCTORS)):
                found.append(f"{relative}:{number}: makes a generator outside {RNG}: {text}")
    return found


def _python_files() -> list[Path]:
    files = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert files, f"no sources found under {ROOT}"
    return files


def test_sources_no_wall_clock_or_global_random_outside_clock_and_rng() -> None:
    found: list[str] = []
    for path in _python_files():
        found += offences(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    assert not found, "wall time or global randomness outside market/clock.py and " \
        "market/rng.py:\n" + "\n".join(found)


def test_sources_scan_covers_clock_and_rng() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _python_files()}
    assert {CLOCK, RNG, RUN_TIMER, "venues/lit_exchange.py", "agents/agent.py"} <= names


# --- the scanner itself: it must catch what it claims to catch ----------------------------


@pytest.mark.parametrize(
    "source, rule",
    [
        ("import time\nx = time.time()\n", "wall time"),
        ("import time\nx = time.time_ns()\n", "wall time"),
        ("import time\nx = time.monotonic()\n", "wall time"),
        ("import time\nx = time.perf_counter()\n", "wall time"),
        ("from datetime import datetime\nx = datetime.now()\n", "wall time"),
        ("import datetime\nx = datetime.datetime.utcnow()\n", "wall time"),
        ("from time import time_ns\n", "wall time"),
        ("import random\n", "stdlib random"),
        ("import os, random\n", "stdlib random"),
        ("from random import choice\n", "stdlib random"),
        ("x = random.random()\n", "stdlib random"),
        ("import numpy as np\nnp.random.seed(1)\n", "legacy np.random.seed"),
        ("import numpy as np\nx = np.random.normal(0, 1, 3)\n", "legacy np.random.normal"),
        ("import numpy\nx = numpy.random.rand()\n", "legacy np.random.rand"),
        ("import numpy as np\ng = np.random.default_rng(1)\n", "makes a generator"),
        ("import numpy as np\ng = np.random.Generator(np.random.PCG64(1))\n", "makes a generator"),
        ("from numpy.random import default_rng\n", "numpy random import"),
        ("import os\nb = os.urandom(8)\n", "global randomness"),
    ],
)
def test_scanner_forbidden_use_is_reported_with_file_and_line(source: str, rule: str) -> None:
    found = offences("agents/some_agent.py", source)
    assert found, source
    assert any(f.startswith("agents/some_agent.py:") and rule in f for f in found), found
    line = int(found[0].split(":")[1])
    assert source.splitlines()[line - 1].strip() in found[0]


@pytest.mark.parametrize(
    "source",
    [
        "x = self.rng.random(8)\n",
        "uniforms = BlockDraws(lambda n: rng.random(n), 1024)\n",
        "def f(rng: np.random.Generator) -> np.random.SeedSequence: ...\n",
        "x = loop.time()\n",
        "t = self.clock.now_ns()\n",
        '"""Never call time.time() or random.random() here."""\n',
        "# np.random.seed(1) would be global state\n",
        "msg = 'import random'\n",
        "randomness = 3\nx = my_random.value\n",
    ],
)
def test_scanner_allowed_use_is_not_reported(source: str) -> None:
    assert offences("agents/some_agent.py", source) == []


def test_scanner_clock_and_rng_modules_are_exempt_for_their_own_job() -> None:
    assert offences(CLOCK, "import time\nx = time.time_ns()\n") == []
    assert offences(RNG, "import numpy as np\ng = np.random.Generator(np.random.PCG64(1))\n") == []
    assert offences(RUN_TIMER, "import time\nx = time.perf_counter()\n") == []
    assert offences(RUN_TIMER, "import time\nx = time.time()\n") != []
    assert offences(RNG, "import numpy as np\nnp.random.seed(1)\n") != []
