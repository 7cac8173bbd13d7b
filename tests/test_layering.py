"""The import rules of ../shared/DESIGN.md: no import runs upward.

market imports nothing of ours; venues and agents import only market; router imports
market and the agents' base API (agents.agent) only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("market", "venues", "agents", "router", "scenarios")
ALLOWED = {
    "market": {"market"},
    "venues": {"market", "venues"},
    "agents": {"market", "agents"},
    "router": {"market", "router", "agents.agent"},
}
_MODULE = r"((?:%s)(?:\.[\w.]+)?)" % "|".join(OURS)
IMPORT = re.compile(rf"^\s*(?:from\s+{_MODULE}\s+import\b|import\s+{_MODULE}\b)", re.M)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_design_allows(package: str) -> None:
    offending = []
    for path in sorted((ROOT / package).rglob("*.py")) + sorted((ROOT / package).rglob("*.pyx")):
        for match in IMPORT.finditer(path.read_text()):
            module = match.group(1) or match.group(2)
            top = module.split(".")[0]
            allowed = ALLOWED[package]
            if top in allowed or module in allowed or any(module.startswith(a + ".") for a in allowed if "." in a):
                continue
            line = path.read_text()[: match.start()].count("\n") + 1
            offending.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert not offending, "\n".join(offending)
