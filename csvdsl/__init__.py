"""csvdsl: a declarative query language over CSV files, for training table-reasoning models."""

import os as _os

# Arrow's bundled mimalloc 2 gives freed pages back to the system 10 ms after a free, so reading a
# CSV faults in again the pages it freed a moment before: a read of flights.csv took 10% longer.
# A second is mimalloc 3's own default. It is read when pyarrow loads, and a user's setting wins.
_os.environ.setdefault("MIMALLOC_PURGE_DELAY", "1000")

from csvdsl.errors import CheckError, DataError, DslError, ExecutionError, LimitError, ParseError
from csvdsl.format import format_program
from csvdsl.parse import parse

__version__ = "0.1.0"

__all__ = [
    "CheckError",
    "DataError",
    "DslError",
    "Engine",
    "ExecutionError",
    "LimitError",
    "Observation",
    "ParseError",
    "Session",
    "format_program",
    "parse",
    "__version__",
]


_LAZY = {"Session": "csvdsl.session", "Observation": "csvdsl.session", "Engine": "csvdsl.engine"}


def __getattr__(name):
    # The runtime pulls in the planner, which imports this package's front end: load it on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'csvdsl' has no attribute {name!r}")

