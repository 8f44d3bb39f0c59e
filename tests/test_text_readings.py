"""`strip`, and `int`/`float`/`date`/`datetime` of text, read every text alike on pandas
(csvdsl/tables/shapes.py) and in DuckDB's SQL (planner/sql_text.py): generated near-misses
included (signs, underscores, Unicode spaces, field values out of range, offsets, compact
dates). A format is read on pandas alone, each text as Python's strptime reads it."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from csvdsl.tables.shapes import WHITESPACE, numbers, times
from planner.functions import FUNCTIONS
from planner.oracle import connect
from planner.sql_text import number_of_text, strip, timestamp

_SPACE = st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u3000", "\x1c", "  "])


def _digits(n, top=None):
    field = st.integers(0, 10**n - 1).map(lambda v: str(v).zfill(n))
    return field if top is None else st.one_of(field, st.integers(0, top).map(lambda v: str(v).zfill(n)))


_NUMBER = st.builds("".join, st.lists(st.sampled_from(list("0123456789") * 3 + list("+-._eE, ") + ["inf", "nan", "Infinity", "0x"]),
                                      min_size=1, max_size=7))
_ZONE = st.one_of(st.just(""), st.just("Z"), st.builds(lambda s, h, c, m: s + h + c + m, st.sampled_from("+-"), _digits(2, 25),
                                                        st.sampled_from(["", ":"]), st.one_of(st.just(""), _digits(2, 61))))
_TIME = st.builds(lambda y, mo, d, rest: f"{y}-{mo}-{d}{rest}", st.sampled_from(["0000", "0001", "1600", "1677", "1970", "2020", "2262", "9999"]),
                  _digits(2, 13), _digits(2, 32),
                  st.one_of(st.just(""), st.builds(lambda sep, h, m, s, sp, z: f"{sep}{h}:{m}{s}{sp}{z}", st.sampled_from("T t"),
                                                   _digits(2, 25), _digits(2, 61),
                                                   st.one_of(st.just(""), st.builds(lambda s, f: f":{s}{f}", _digits(2, 61),
                                                                                    st.sampled_from(["", ".5", ".123456", ".1234567", ".123456789"]))),
                                                   st.sampled_from(["", " ", "\t"]), _ZONE)))
_ODD = st.sampled_from(["now", "today", "infinity", "-infinity", "epoch", "20200105", "20200105T101112", "2020-01", "2020",
                        "1_000", "1e400", "-0", "+.5", "5.", "12345678901234567890123", ""])
_TEXT = st.builds(lambda a, v, b: a + v + b, _SPACE, st.one_of(_NUMBER, _TIME, _ODD), _SPACE)
_FORMATS = {"%d/%m/%Y": st.builds(lambda a, d, m, y, b: f"{a}{d}/{m}/{y}{b}", _SPACE, st.sampled_from(["5", "05", " 5", "31", "32", "00"]),
                                  st.sampled_from(["1", "01", "12", "13"]), st.sampled_from(["2020", "20", "02020", "0001", "0000"]), _SPACE),
            "%Y-%m-%d %H:%M": st.builds(lambda d, h, m: f"2020-01-{d} {h}:{m}", st.sampled_from(["05", "5", "31"]),
                                        st.sampled_from(["0", "09", "23", "24"]), st.sampled_from(["0", "07", "59", "60"])),
            "%Y-%m-%d %H:%M:%S.%f": st.builds(lambda y, f: f"{y}-01-05 10:11:12.{f}", st.sampled_from(["1600", "2020", "9999"]),
                                              st.sampled_from(["5", "123456", "1234567", "123456789"]))}


@pytest.fixture(scope="module")
def duckdb():
    return connect()


def _run(connection, sql, values):
    frame = pd.DataFrame({"i": range(len(values)), "x": pd.Series(values, dtype="str")})
    connection.register("frame", frame)
    out = connection.execute(f"SELECT {sql} AS v FROM frame ORDER BY i").df()["v"]
    connection.unregister("frame")
    return out


def _same(ours: pd.Series, theirs: pd.Series) -> list:
    ours, theirs = ours.reset_index(drop=True), theirs.reset_index(drop=True)
    both_null = ours.isna() & theirs.isna()
    return [i for i in range(len(ours)) if not both_null[i] and not (ours[i] == theirs[i])]


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(st.lists(_TEXT, min_size=1, max_size=40))
@example(["1_000", " inf", "\tInfinity\n", "+3e23", "5e\t9", "+-3", "1,000", "0x10", "-0", "nan", "\u00a012\u3000"])
def test_numbers_of_text_read_alike(duckdb, values):
    ours = numbers(pd.Series(values, dtype="str"))
    theirs = _run(duckdb, number_of_text('"x"'), values).astype(float)
    assert not (bad := _same(ours, theirs)), [(values[i], ours[i], theirs[i]) for i in bad]


@_SETTINGS
@given(st.lists(_TEXT, min_size=1, max_size=40))
@example(["0000-05-05", "0001-01-01T00:30+01:00", "9999-12-31T23:00-05", "2020-01-05 24:00", "2020-01-05T10:11:12 +0500",
          "2020-01-05 10:11:60", "2020-01-05T10:11+24:00", "2013-02-30", "now", "infinity", "20200105", " 2020-01-05\t"])
def test_times_of_text_read_alike(duckdb, values):
    ours = times(pd.Series(values, dtype="str"))
    theirs = pd.to_datetime(_run(duckdb, timestamp('"x"'), values)).astype("datetime64[us]")
    assert not (bad := _same(ours, theirs)), [(values[i], ours[i], theirs[i]) for i in bad]


@given(st.sampled_from(sorted(_FORMATS)).flatmap(lambda fmt: st.tuples(st.just(fmt), st.lists(_FORMATS[fmt], min_size=1, max_size=20))))
def test_a_format_reads_each_text_alone(case):
    """A value read with a format does not depend on the other values (pandas reads a whole
    column in nanoseconds when one has 7 digits of %f), and reads as Python's strptime does."""
    import datetime

    fmt, values = case
    together = FUNCTIONS["datetime"].impl(pd.Series(values, dtype="str"), fmt)
    for value, read in zip(values, together):
        try:
            expected = datetime.datetime.strptime(value, fmt)
        except ValueError:
            expected = None
        assert (None if pd.isna(read) else read.to_pydatetime()) == expected, value


@_SETTINGS
@given(st.lists(st.builds(lambda a, v, b: a + v + b, st.text(WHITESPACE, max_size=3), st.text(max_size=4), st.text(WHITESPACE, max_size=3)),
                min_size=1, max_size=30))
def test_strip_takes_the_same_whitespace(duckdb, values):
    ours = FUNCTIONS["strip"].impl(pd.Series(values, dtype="str"))
    theirs = _run(duckdb, strip('"x"'), values)
    assert list(ours) == list(theirs)
