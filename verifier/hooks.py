"""Hook coverage: the share of the teacher's intermediate results that also appear among the
student's, as tables compared modulo row order, column names and column order.

Tables are compared by fingerprints: each cell is normalized (numbers as floats rounded to
9 decimals, dates as instants, text as is) and hashed; a column's fingerprint is the
multiset of its hashes, a table's rows the multiset of their combined hashes. Fingerprints
are computed once per node id."""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.cache import LruDict
from planner.compile import Plan
from verifier.answers import column_assignments

_MIX = np.uint64(0x9E3779B97F4A7C15)
_NOT_HOOKS = {"source", "answer", "describe"}


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    columns: tuple  # one (sum, mixed sum) pair per column: the multiset of its cells
    cells: tuple  # one uint64 array per column, the hash of each cell


def _cell_hashes(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column) or column.dtype == "boolean" or pd.api.types.is_numeric_dtype(column):
        values = column.astype("float64").to_numpy(na_value=np.nan)
        values = np.round(values, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
        return pd.util.hash_array(values)
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.util.hash_array(column.astype("datetime64[ns]").to_numpy().view("int64"))
    return pd.util.hash_array(column.astype(object).where(column.notna(), None).to_numpy(), categorize=False)


def fingerprint(frame: pd.DataFrame) -> Fingerprint:
    cells = tuple(_cell_hashes(frame[name]) for name in frame.columns)
    with np.errstate(over="ignore"):
        columns = tuple((int(h.sum(dtype=np.uint64)), int((h * _MIX).sum(dtype=np.uint64))) for h in cells)
    return Fingerprint(len(frame), columns, cells)


def _rows(cells: list[np.ndarray]) -> tuple[int, int]:
    """The multiset of rows, each row the columns' hashes combined by position."""
    with np.errstate(over="ignore"):
        combined = np.zeros(len(cells[0]) if cells else 0, dtype=np.uint64)
        for position, column in enumerate(cells):
            combined = combined * _MIX + column + np.uint64(position + 1)
        return int(combined.sum(dtype=np.uint64)), int((combined ^ (combined >> np.uint64(29))).sum(dtype=np.uint64))


def appears_in(hook: Fingerprint, table: Fingerprint, tries: int = 50) -> bool:
    """True when ``table`` holds exactly the rows of ``hook`` (extra columns allowed)."""
    if hook.rows != table.rows or len(hook.columns) > len(table.columns):
        return False
    candidates = [[j for j, theirs in enumerate(table.columns) if theirs == ours] for ours in hook.columns]
    if any(not c for c in candidates):
        return False
    wanted = _rows(list(hook.cells))
    for mapping in itertools.islice(column_assignments(candidates), tries):
        if _rows([table.cells[j] for j in mapping]) == wanted:
            return True
    return False


_PER_ENGINE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def fingerprints_for(engine) -> "FingerprintCache":
    """The fingerprint cache of one Engine: a node id names one computation on its tables only."""
    cache = _PER_ENGINE.get(engine)
    if cache is None:
        cache = _PER_ENGINE[engine] = FingerprintCache()
    return cache


class FingerprintCache(LruDict):
    """Fingerprints by node id (a node id names one computation on one catalog)."""

    def __init__(self, capacity: int = 1024):
        super().__init__(capacity)

    def get(self, node_id: str, frame: pd.DataFrame) -> Fingerprint:
        return self.remember(node_id, lambda: fingerprint(frame))


@dataclass
class HookReport:
    coverage: float
    matched: list[str] = field(default_factory=list)  # teacher node ids whose result the student has
    hooks: list[str] = field(default_factory=list)  # every teacher node counted as a hook


def hooks_of(plan: Plan) -> list[str]:
    """The teacher's intermediate results: every node the outputs need but sources and answers."""
    return [n for n in plan.needed() if plan.node(n)["op"] not in _NOT_HOOKS]


def hook_coverage(teacher: Plan, teacher_frames: dict, student: Plan, student_frames: dict,
                  cache: FingerprintCache | None = None) -> HookReport:
    """The share of the teacher's hooks found among the student's computed tables."""
    cache = cache if cache is not None else FingerprintCache()  # an empty cache is falsy
    hooks = hooks_of(teacher)
    if not hooks:
        return HookReport(1.0, [], [])
    tables = [n for n in hooks_of(student) if n in student_frames]
    prints = {n: cache.get(n, student_frames[n]) for n in tables}
    matched = []
    for hook in hooks:
        if hook in prints:  # the very same computation
            matched.append(hook)
            continue
        ours = cache.get(hook, teacher_frames[hook])
        if any(appears_in(ours, theirs) for theirs in prints.values()):
            matched.append(hook)
    return HookReport(len(matched) / len(hooks), matched, hooks)
