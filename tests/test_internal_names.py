"""What the user cannot see stays out of the answer: the pandas engine's helper columns never
take a user's column's place, whole numbers never wrap around past 64 bits, JSON on standard
output is one document, and pandas' warnings do not reach standard error."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import warnings

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import csvdsl
from csvdsl.check import TableType
from csvdsl.engine import Engine
from csvdsl.errors import quote_name
from csvdsl.program import run_program
from csvdsl.render import to_json, write_json
from csvdsl.tables import Catalog
from planner.execute import Value

# ---------------------------------------------------------------- helper column names

# The names the pandas engine's helpers would take without checking (and a few plain ones).
helper_like = st.builds("{}{}".format, st.sampled_from(["__key", "__agg", "__arg", "__rn", "v"]), st.integers(0, 2))

PROGRAMS = [
    "t | group K aggregate n = count() + 1, s = sum(length(K)), total = sum(V), m = max(V), w = sum(B) | sort K",
    "t | aggregate s = sum(length(K)), total = sum(V), w = sum(B), m = mean(V) + count()",
    "t | derive s = sum(length(K)) over (K), total = sum(V) over (K), w = mean(B) over ()",
    "t | join u on K | sort V, W",
    "t | join u on V == W | sort V, K",
]


def _answer(program: str, names: dict, rows: list) -> dict:
    """The JSON answer of ``program`` (K, V, B, W standing for ``names``) over ``rows``."""
    k, v, b, w = (names[c] for c in "KVBW")
    t = pd.DataFrame(rows, columns=[k, v, b])
    u = pd.DataFrame({k: ["a", "b", "c"], w: [1, 2, 2]})
    for letter, name in names.items():
        program = program.replace(letter, quote_name(name))
    return to_json(Engine({"t": t, "u": u}, cache_bytes=0).run(f"r = {program}\nanswer r").answer)


@given(
    names=st.lists(helper_like, min_size=4, max_size=4, unique=True),
    rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 1000), st.booleans()), min_size=1, max_size=6),
    program=st.sampled_from(PROGRAMS),
)
def test_a_column_named_like_a_helper_is_the_users_own(names, rows, program):
    plain = {"K": "k", "V": "v", "B": "b", "W": "w"}
    ours = _answer(program, dict(zip("KVBW", names)), rows)
    reference = _answer(program, plain, rows)
    # The same rows, the columns under the names each run gave them.
    assert ours["value"]["rows"] == reference["value"]["rows"]
    assert len(ours["value"]["columns"]) == len(reference["value"]["columns"])


# ---------------------------------------------------------------- whole numbers in 64 bits

boundaries = st.sampled_from([2.0**63, -(2.0**63), 9223372036854774784.0, -9223372036854774784.0, 1e19, -1e19, 1e300,
                              math.inf, -math.inf, 0.5, -0.5, -4.7])


def _whole(value: float | None, rounding) -> int | None:
    """The language's answer: the whole number, null when 64 bits cannot hold it."""
    if value is None or not math.isfinite(value):
        return None
    whole = rounding(value)
    return whole if -(2**63) <= whole < 2**63 else None


@given(st.lists(st.one_of(st.none(), boundaries, st.floats(allow_nan=False)), min_size=1, max_size=12))
def test_int_floor_and_ceil_are_null_outside_64_bits_on_both_engines(values):
    frame = pd.DataFrame({"x": pd.Series(values, dtype="float64")})
    program = "r = t | derive i = int(x), f = floor(x), c = ceil(x), s = int(str(x))\nanswer r"
    expected = [[_whole(x, math.trunc), _whole(x, math.floor), _whole(x, math.ceil)] for x in values]
    for backend in ("pandas", "duckdb"):
        rows = to_json(Engine({"t": frame}, cache_bytes=0, backend=backend).run(program).answer)["value"]["rows"]
        assert [row[1:4] for row in rows] == expected, backend
        assert [row[4] for row in rows] == [row[1] for row in rows], backend  # text reads as the same float


@pytest.mark.parametrize("literal", ["1e+30", "-1e+19", "9.223372036854776e+18", "1e+300"])
def test_an_answers_own_int_is_null_outside_64_bits(literal):
    catalog = Catalog([])
    for function in ("int", "floor", "ceil"):
        assert run_program(f"answer {function}({literal})", catalog).answer.value is None


def test_the_sql_of_floor_and_ceil_is_null_outside_64_bits():
    from planner.oracle import run_oracle

    run = run_program("answer f = floor(1e300), c = ceil(-1e300), i = int(1e300)", Catalog([]))
    assert run_oracle(run.plan, {}) == {"f": None, "c": None, "i": None}


# ---------------------------------------------------------------- JSON output


def test_json_of_a_table_that_fails_half_way_writes_nothing():
    # Storage that does not match the type (what a bug leaves) fails after the first chunk of rows.
    frame = pd.DataFrame({"a": pd.Series([1] * 10_000 + ["x"], dtype=object)})
    value = Value("table", frame, None, False, TableType((("a", "int"),)))
    sink = io.StringIO()
    with pytest.raises(ValueError):
        write_json(value, sink)
    assert sink.getvalue() == ""


def test_json_of_a_table_is_one_document_when_held_on_disk(monkeypatch):
    monkeypatch.setattr("csvdsl.render._SPOOL_BYTES", 1000)
    frame = pd.DataFrame({"a": range(25_001), "b": ["é\u2028x"] * 25_001})
    value = Value("table", frame, None, False, TableType((("a", "int"), ("b", "string"))))
    sink = io.StringIO()
    write_json(value, sink, max_rows=20_001)
    assert json.loads(sink.getvalue()) == to_json(value, 20_001)


# ---------------------------------------------------------------- warnings

NANOSECONDS = 'datetime("2262-04-11 23:47:16.854775807")'


def test_a_datetime_with_nanoseconds_is_cut_to_microseconds_without_a_warning():
    expected = dt.datetime(2262, 4, 11, 23, 47, 16, 854775)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_program(f"answer {NANOSECONDS}", Catalog([])).answer.value == expected
        frame = pd.DataFrame({"x": [1]})
        run = Engine({"t": frame}, cache_bytes=0).run(f"r = t | derive d = {NANOSECONDS}\nanswer r.d")
        assert run.answer.value == [expected]


def test_the_command_line_writes_no_warning_for_nanoseconds():
    result = csvdsl("run", "-e", f"answer {NANOSECONDS}", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["value"] == "2262-04-11T23:47:16.854775"
