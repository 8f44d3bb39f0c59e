"""csvdsl: a declarative query language over CSV files, for training table-reasoning models."""

from csvdsl.errors import CheckError, DataError, DslError, ExecutionError, LimitError, ParseError
from csvdsl.format import format_program
from csvdsl.parse import parse

__version__ = "0.1.0"

__all__ = [
    "CheckError",
    "DataError",
    "DslError",
    "ExecutionError",
    "LimitError",
    "Observation",
    "ParseError",
    "Session",
    "format_program",
    "parse",
    "__version__",
]


def __getattr__(name):
    # The session pulls in the planner, which imports this package: load it on first use.
    if name in ("Session", "Observation"):
        from csvdsl import session

        return getattr(session, name)
    raise AttributeError(f"module 'csvdsl' has no attribute {name!r}")

