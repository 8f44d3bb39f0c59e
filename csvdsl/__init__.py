"""csvdsl: a declarative query language over CSV files, for training table-reasoning models."""

from csvdsl.errors import CheckError, DataError, DslError, ExecutionError, LimitError, ParseError
from csvdsl.format import format_program
from csvdsl.parse import parse
from csvdsl.session import Observation, Session

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
