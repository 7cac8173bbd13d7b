"""Run as `python bench/X.py`, this folder comes first on sys.path, where bench/market.py
would shadow the `market` package. Importing this module first drops the folder."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
