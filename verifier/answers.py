"""Tight answer comparison by type: numbers within tolerance, strings after trimming, lists as
multisets unless the teacher ordered them, tables modulo row order, column names and column
order. Also reads gold answers given as text into typed values."""

from __future__ import annotations

import ast as python_ast
import datetime as dt
import itertools
import json
import math
from dataclasses import dataclass

from csvdsl.render import to_json

REL_TOL = 1e-6
ABS_TOL = 1e-9


@dataclass(frozen=True)
class AnswerMatch:
    """A score in [0, 1] and why, in words a person can read."""

    score: float
    reason: str


@dataclass(frozen=True)
class Options:
    rel_tol: float = REL_TOL
    abs_tol: float = ABS_TOL
    case_insensitive: bool = False


def typed(answer) -> dict:
    """An answer as ``{"type", "value", "ordered"}``: from a run's Value, a JSON string, or a dict."""
    if isinstance(answer, str):
        answer = json.loads(answer)
    if hasattr(answer, "kind"):  # planner.execute.Value
        if answer.kind == "record":  # which list parts are in a chosen order
            ordered = [name for name, part in answer.value.items() if part.ordered]
            return {**to_json(answer), "ordered": False, "ordered_parts": ordered}
        return {**to_json(answer), "ordered": bool(answer.ordered)}
    if not isinstance(answer, dict) or "type" not in answer:
        raise ValueError(f"not a typed answer: {answer!r}")
    return {"ordered": False, **answer}


def parse_gold(text: str) -> dict:
    """A gold answer written as text ("34.65", "True", "['a', 'b']", "2013-01-05") as a typed value."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return {"type": "bool", "value": lowered == "true"}
    if lowered in ("none", "null", "nan", ""):
        return {"type": "null", "value": None}
    for reader in (json.loads, python_ast.literal_eval):
        try:
            value = reader(stripped)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return typed_value(value)
    if _date(stripped) is not None:
        return {"type": "date", "value": stripped}
    return {"type": "string", "value": stripped}


def _show(value) -> str:
    """A value in a reason; anything JSON cannot hold is written with str()."""
    return json.dumps(value, default=str, ensure_ascii=False)


def typed_value(value) -> dict:
    """A Python value (None, bool, number, list, ``{"columns", "rows"}``, else text) as a typed answer."""
    if value is None:
        return {"type": "null", "value": None}
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": value}
    if isinstance(value, (list, tuple, set)):
        return {"type": "list", "value": list(value)}
    if isinstance(value, dict) and {"columns", "rows"} <= value.keys():
        return {"type": "table", "value": value}
    return {"type": "string", "value": str(value)}


def compare(teacher, student, options: Options | None = None) -> AnswerMatch:
    """How well ``student`` matches ``teacher`` (the reference); lists and tables are compared
    in order only when the teacher's answer is ordered (its plan sorts)."""
    options = options or Options()
    teacher, student = typed(teacher), typed(student)
    if teacher["type"] == "record" and student["type"] == "table" and len(student["value"]["rows"]) == 1:
        # A one-row table holds the same parts as a record, under its column names.
        student = {"type": "record", "value": dict(zip(student["value"]["columns"], student["value"]["rows"][0]))}
    teacher, student, note = _unwrap(teacher, student)
    if teacher["type"] != student["type"] and {teacher["type"], student["type"]} != {"string", "date"}:
        return AnswerMatch(0.0, f"expected a {teacher['type']}, got a {student['type']}")
    match = _COMPARERS[teacher["type"]](teacher, student, options)
    return AnswerMatch(match.score, match.reason + note) if note and match.score else match


def _unwrap(teacher, student):
    """A one-value list or one-cell table stands for its value; the student is not penalised."""
    for side in ("student", "teacher"):
        value = student if side == "student" else teacher
        other = teacher if side == "student" else student
        if other["type"] in ("list", "table"):
            continue
        inner = _single_value(value)
        if inner is not None:
            note = f" (unwrapped the {side}'s one-value {value['type']})"
            return (teacher, inner, note) if side == "student" else (inner, student, note)
    return teacher, student, ""


def _records(teacher, student, options):
    """Part by part: by name, then the parts left over in order; the score is the share right."""
    a, b = teacher["value"], student["value"]
    ordered = set(teacher.get("ordered_parts", ()))
    unmatched = [name for name in b if name not in a]
    right, wrong = [], []
    for name, expected in a.items():
        other = name if name in b else (unmatched.pop(0) if unmatched else None)
        if other is None:
            wrong.append(f"`{name}` is missing")
            continue
        part = compare({**typed_value(expected), "ordered": name in ordered}, typed_value(b[other]), options)
        (right if part.score == 1 else wrong).append(f"`{name}`" if part.score == 1 else f"`{name}`: {part.reason}")
    score = len(right) / len(a) if a else float(not b)
    if not wrong:
        return AnswerMatch(score, f"all {len(a)} parts match")
    return AnswerMatch(score, f"{len(right)} of {len(a)} parts match; " + "; ".join(wrong))


def _single_value(answer):
    if answer["type"] == "list" and len(answer["value"]) == 1:
        return typed_value(answer["value"][0])
    if answer["type"] == "table" and len(answer["value"]["rows"]) == 1 and len(answer["value"]["columns"]) == 1:
        return typed_value(answer["value"]["rows"][0][0])
    return None


def same_value(a, b, options: Options) -> bool:
    """Two cells equal: numbers within tolerance (and int 3 == float 3.0), strings trimmed."""
    if a is None or b is None:
        return a is None and b is None
    if _number(a) and _number(b):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=options.rel_tol, abs_tol=options.abs_tol)
    if isinstance(a, str) and isinstance(b, str):
        da, db = _date(a), _date(b)
        if da is not None and db is not None:
            return da == db
        a, b = a.strip(), b.strip()
        return a.casefold() == b.casefold() if options.case_insensitive else a == b
    return a == b


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _date(text: str):
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except (ValueError, AttributeError):
        return None


def _scalars(teacher, student, options):
    a, b = teacher["value"], student["value"]
    if isinstance(a, bool) != isinstance(b, bool):
        return AnswerMatch(0.0, f"expected {_show(a)}, got {_show(b)}")
    if same_value(a, b, options):
        return AnswerMatch(1.0, f"both are {_show(a)}")
    return AnswerMatch(0.0, f"expected {_show(a)}, got {_show(b)}")


_EPOCH = dt.datetime(1970, 1, 1)


def _order_key(value) -> tuple:
    """A total order over cells of any type, so that equal multisets sort alike."""
    if value is None:
        return (0, 0.0, "")
    if _number(value):
        number = float(value)
        return (1, 0.0 if math.isnan(number) else number, "")
    if isinstance(value, str):
        parsed = _date(value.strip())
        # Seconds from a fixed time, not .timestamp(): that reads a naive time as local time,
        # which fails for times near year 1 ("0001-01-01T00:30+01:00").
        return (2, (parsed - _EPOCH).total_seconds() if parsed else 0.0, value.strip())
    return (3, 0.0, repr(value))


def _same_sequence(a: list, b: list, options: Options) -> bool:
    return len(a) == len(b) and all(same_value(x, y, options) for x, y in zip(a, b))


def same_multiset(a: list, b: list, options: Options) -> bool:
    """Equal as multisets, cells within tolerance: sorted, then compared in pairs."""
    return _same_sequence(sorted(a, key=_order_key), sorted(b, key=_order_key), options)


def _lists(teacher, student, options):
    a, b = teacher["value"], student["value"]
    if len(a) != len(b):
        return AnswerMatch(0.0, f"expected {len(a)} items, got {len(b)}")
    if teacher.get("ordered"):
        for i, (x, y) in enumerate(zip(a, b)):
            if not same_value(x, y, options):
                if same_multiset(a, b, options):
                    return AnswerMatch(0.0, f"the same items in another order (item {i + 1}: expected {_show(x)}, got {_show(y)}); the order was asked for")
                return AnswerMatch(0.0, f"item {i + 1}: expected {_show(x)}, got {_show(y)}")
        return AnswerMatch(1.0, f"the same {len(a)} items in the same order")
    if not same_multiset(a, b, options):
        for x in a:
            expected = sum(same_value(x, y, options) for y in a)
            got = sum(same_value(x, y, options) for y in b)
            if expected != got:
                return AnswerMatch(0.0, f"the items differ: {_show(x)} appears {got} time(s), expected {expected}")
        return AnswerMatch(0.0, "the items differ")
    return AnswerMatch(1.0, f"the same {len(a)} items" + (" (order not asked for)" if a != b else ""))


def column_mapping(teacher_table: dict, student_table: dict, options: Options | None = None) -> list[list[int]]:
    """For each teacher column, the student columns holding the same values (names ignored)."""
    options = options or Options()
    ours, theirs = teacher_table["value"], student_table["value"]
    columns = lambda table: [sorted((row[i] for row in table["rows"]), key=_order_key) for i in range(len(table["columns"]))]  # noqa: E731
    mine, other = columns(ours), columns(theirs)
    return [[j for j, candidate in enumerate(other) if _same_sequence(column, candidate, options)] for column in mine]


def _rows_match(rows_a: list, rows_b: list, ordered: bool, options: Options) -> bool:
    if not ordered:
        rows_a = sorted(rows_a, key=lambda row: tuple(map(_order_key, row)))
        rows_b = sorted(rows_b, key=lambda row: tuple(map(_order_key, row)))
    return len(rows_a) == len(rows_b) and all(_same_sequence(x, y, options) for x, y in zip(rows_a, rows_b))


def _tables(teacher, student, options):
    a, b = teacher["value"], student["value"]
    if len(a["rows"]) != len(b["rows"]):
        return AnswerMatch(0.0, f"expected {len(a['rows'])} rows, got {len(b['rows'])}")
    candidates = column_mapping(teacher, student, options)
    for name, found in zip(a["columns"], candidates):
        if not found:
            return AnswerMatch(0.0, f"no column holds the values of `{name}`")
    ordered = bool(teacher.get("ordered"))
    rows_a = [list(row[: len(a["columns"])]) for row in a["rows"]]
    for mapping in itertools.islice(column_assignments(candidates), 200):
        rows_b = [[row[j] for j in mapping] for row in b["rows"]]
        if _rows_match(rows_a, rows_b, ordered, options):
            extra = len(b["columns"]) - len(a["columns"])
            renamed = [f"{a['columns'][i]}->{b['columns'][j]}" for i, j in enumerate(mapping) if a["columns"][i] != b["columns"][j]]
            notes = []
            if renamed:
                notes.append("columns renamed " + ", ".join(renamed))
            if extra:
                notes.append(f"{extra} extra column(s)")
            if not ordered and rows_a != rows_b:
                notes.append("rows in another order (not asked for)")
            score = 1.0 if not extra else 0.5
            return AnswerMatch(score, f"the same {len(a['rows'])} rows" + (f" ({'; '.join(notes)})" if notes else ""))
    if ordered:
        return AnswerMatch(0.0, "the rows differ, or are not in the order asked for")
    return AnswerMatch(0.0, "each column's values are there, but not together in the same rows")


def column_assignments(candidates):
    """Ways to give each teacher column a distinct student column among its candidates."""
    def extend(i, used):
        if i == len(candidates):
            yield []
            return
        for j in candidates[i]:
            if j not in used:
                for rest in extend(i + 1, used | {j}):
                    yield [j, *rest]

    return extend(0, frozenset())


_COMPARERS = {
    "number": _scalars,
    "string": _scalars,
    "bool": _scalars,
    "date": _scalars,
    "null": lambda t, s, o: AnswerMatch(1.0, "both are null"),
    "list": _lists,
    "table": _tables,
    "record": _records,
}
