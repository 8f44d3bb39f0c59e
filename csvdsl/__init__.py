"""csvdsl: a declarative query language over CSV files, for training table-reasoning models."""

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

