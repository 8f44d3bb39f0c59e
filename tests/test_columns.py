"""The column-typing shortcuts in csvdsl.tables.columns, each against the general path (or the
definition) it must agree with on every input, whatever the column's chunks."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from csvdsl.tables import columns as C
from csvdsl.tables.shapes import LEADING_ZERO_RE
from csvdsl.tables.table import NA_VALUES

# Values near every edge the shortcuts decide on: signs and leading zeros, hexadecimal (0xFFFFF has
# as many digits as its decimal 1048575), int64's and float64's exact limits, markers in every
# case, spacing of every kind at either end, dates and times of each plain shape and others.
EDGY = [
    "0", "7", "-3", "10", "+7", "007", "-007", "+007", "-0", "+0", "00", "0.5", "-0.5", "+0.5", "05.5", "-05", "0x1F",
    "0XFF", "0xFFFFF", "1048575", "-0x1F", "0e5", "-0e5", "0.0", "-0.0", "1.5", ".5", "-.5", "5.", "1e3", "-2.5e-3",
    "1e400", "inf", "-inf", "+inf", "Infinity", "nan", "-nan", "NaN", "9007199254740992", "9007199254740993",
    "-9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999",
    "00000000000000000000001", "1" * 25, "-" + "1" * 19, "true", "FALSE", "x", "N14228", "UA", "a b",
    "", " ", "  ", "\t", " 5", "5 ", "\t5", "5\t", " NA", "NA ", "\u00a05", "5\u00a0", "\u30005", "é", "caf\u00e9",
    "\u00e9x", "-", "+", ".", "#", "1.#", "2013-01-01", "2013-02-30", "2013-01-01 05:00", "2013-01-01T05:00:00Z",
    "2013-01-01 05:00:00", "2013-01-01X05:00:00", "2013-01-01 25:00:00", "2013:01-01", "1999-1-01",
    "\uff11999-01-01", "2013-01-01T05:00:00+01:00",
]  # fmt: skip
MARKERS = sorted(NA_VALUES) + [m.lower() for m in NA_VALUES] + [m.upper() for m in NA_VALUES]
FILLERS = ["1", "-2", "20", "1.5", "-0.25", "", "UA", "N14228", "2013-01-01", "2013-01-01T05:00:00Z",
           "2013-06-30 12:00"]  # fmt: skip
VALUE = st.one_of(st.sampled_from(EDGY), st.sampled_from(MARKERS),
                  st.text(st.sampled_from("0123456789+-.xXeE nNaA\t#/"), max_size=6))


@st.composite
def columns(draw) -> pa.ChunkedArray:
    """A column of strings: a filler repeated, odd values before and after it, cut into chunks
    (some empty, some views into a larger array, so with an offset)."""
    filler = draw(st.sampled_from(FILLERS))
    values = draw(st.lists(VALUE, max_size=6)) + [filler] * draw(st.integers(0, 300)) + draw(st.lists(VALUE, max_size=6))
    if not values:
        values = [filler]
    cuts = sorted(draw(st.lists(st.integers(0, len(values)), max_size=3)))
    chunks = []
    for start, end in zip([0, *cuts], [*cuts, len(values)]):
        part = values[start:end]
        if draw(st.booleans()):
            part = pa.array(["junk", *part, "junk"], pa.string()).slice(1, len(part))
        chunks.append(pa.array(part, pa.string()) if isinstance(part, list) else part)
    return pa.chunked_array(chunks, pa.string())


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(VALUE, st.text(st.sampled_from("0123456789+-.:TZ eEiInNfFtrueals\n\t\v\u0663\u017fK\u0130\u0131\u00a0\uff11\u212a\ufb00\u01c5\u00df\u1e9e"),
                                         max_size=10)), min_size=1, max_size=C._FEW))
@example(["12\n"])
@example(["2013-01-01\n"])
@example(["\uff11999-01-01"])
@example(["fal\u017fe"])
def test_a_short_sample_is_matched_in_python_as_arrow_matches_it(values):
    """The sample checks run Python's re on a few values: the same verdict as Arrow's RE2 (\\d and
    \\s ASCII only, $ the very end), on digits and case folds from beyond ASCII too."""
    sample = pa.chunked_array([pa.array(values, pa.string())])
    for pattern in [C._ANY_KIND, *(pattern for _, pattern in C._KIND_PATTERNS)]:
        assert C._sample_matches(sample, pattern) == C._all_match(sample, pattern), (values, pattern)


def assert_same_typing(got: tuple[str, pd.Series], want: tuple[str, pd.Series]) -> None:
    assert got[0] == want[0]
    pd.testing.assert_series_equal(got[1], want[1], check_exact=True)


@settings(max_examples=600, deadline=None)
@given(columns())
def test_every_shortcut_types_a_column_as_the_general_path_does(col):
    """``convert_column`` (plain numbers, plain times, untrimmed markers) against ``_typed``
    without the column's edges: trimming every value and looking each up among the markers."""
    assert_same_typing(C.convert_column(col), C._typed(col))


@pytest.mark.parametrize("values", [
    ["1", "007"], ["1", "-007"], ["1", "+7"], ["1", "-0"], ["1", "00"], ["5", "0xFFFFF"], ["1", "0x1F", ""],
    ["1", "", "9007199254740993"], ["1", "", "9007199254740992"], ["1", "", "-9223372036854775808"],
    ["1", "9223372036854775808"], ["1", "99999999999999999999"], ["1.5", "+2.5"], ["1.5", "05.5"], ["1.5", "-05"],
    ["1.5", "", "nan"], ["1.5", "1e400"], ["1.5", "9223372036854775808"], ["0", "-0.0", "0.0"],
    ["a", " b"], ["a", "b\t"], ["a", "\u00a0b"], ["a", "b\u3000"], ["a", "NA"], ["a", "na"], ["a", "#N/A N/A"],
    ["a", "-1.#QNAN"], ["a", "1.#IND"], ["a", "None"], ["a", "NONE"], ["a", ""], ["a", " NA "], ["a", "N14228"],
    ["1", "NA"], ["1", " 2"], ["1.5", "null"], ["2013-01-01", "2013-02-30"], ["2013-01-01 05:00", "2013-01-01X05:00"],
])  # fmt: skip
@pytest.mark.parametrize("repeat", [0, 300])
def test_values_at_the_edges_of_the_shortcuts(values, repeat):
    """Each value after many plain ones (past the regex sample) and alone, in one chunk and split."""
    for chunks in ([[values[0]] * repeat + values], [[values[0]] * repeat, [], values[:1], values[1:]]):
        col = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
        assert_same_typing(C.convert_column(col), C._typed(col))


@pytest.mark.parametrize("values, kind, expected", [
    (["1", "007"], "string", ["1", "007"]),
    (["1", "-0"], "int", [1, 0]),
    (["5", "0xFFFFF"], "string", ["5", "0xFFFFF"]),
    (["1", "", "9007199254740993"], "string", ["1", None, "9007199254740993"]),
    (["1", "", "-9007199254740992"], "int", [1.0, None, -9007199254740992.0]),
    (["-9223372036854775808", "9223372036854775807"], "int", [-(2**63), 2**63 - 1]),
    (["1.5", "", "-0.5"], "float", [1.5, None, -0.5]),
    (["a", " NA ", "na", "N/A", "b "], "string", ["a", None, "na", None, "b "]),
])  # fmt: skip
def test_what_the_shortcuts_decide(values, kind, expected):
    """The answers themselves, for the cases each shortcut hands back or decides."""
    got_kind, got = C.convert_column(pa.chunked_array([pa.array(values, pa.string())]))
    assert got_kind == kind
    assert [None if pd.isna(v) else v for v in got.tolist()] == expected


def strings(values: list[str], cut: int, offset: bool) -> pa.ChunkedArray:
    cut = min(cut, len(values))
    parts = [values[:cut], values[cut:]]
    if offset:
        return pa.chunked_array([pa.array(["junk", *p], pa.string()).slice(1) for p in parts], pa.string())
    return pa.chunked_array([pa.array(p, pa.string()) for p in parts], pa.string())


@settings(max_examples=400, deadline=None)
@given(st.lists(VALUE, min_size=1, max_size=20), st.integers(0, 20), st.booleans(), st.booleans())
def test_leading_zero_is_the_pattern(values, cut, offset, or_plus):
    """``_leading_zero``, which reads a third byte only where two leave it in doubt, against
    ``LEADING_ZERO_RE`` (and a leading '+') applied to each value."""
    want = any(re.match(LEADING_ZERO_RE, v) or (or_plus and v.startswith("+")) for v in values)
    assert C._leading_zero(C._Edges(strings(values, cut, offset)), or_plus=or_plus) == want


INTEGERS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-1000, 1000))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(INTEGERS, st.sampled_from(["", "0", "00", "+", "-", "0x"])), min_size=1, max_size=20),
       st.integers(0, 20), st.booleans())
def test_written_plainly_is_the_pattern(numbers, cut, offset):
    """The shortcut's refusal of a '+' or a leading zero (``_leading_zero``), which reads a value's
    first bytes, against the pattern of integers written without them or hexadecimal, over every
    spelling Arrow's integer cast reads."""
    values = []
    for number, prefix in numbers:
        if prefix == "0x":
            values.append(("-" if number < 0 else "") + f"0x{abs(number):X}")
        else:
            values.append(("-" if number < 0 else prefix.lstrip("-")) + str(abs(number)) if prefix != "-" else f"-{number}")
    col = strings(values, cut, offset)
    try:
        pc.cast(col, pa.int64())
    except pa.ArrowInvalid:
        return  # not integers to Arrow: the shortcut never sees them
    want = all(re.fullmatch(r"-?([1-9][0-9]*|0)", v) for v in values)
    assert (not C._leading_zero(C._Edges(col), or_plus=True)) == want


@settings(max_examples=400, deadline=None)
@given(st.lists(VALUE, min_size=1, max_size=20), st.integers(0, 20), st.booleans())
def test_untrimmed_markers_are_the_trimmed_lookup(values, cut, offset):
    """``_untrimmed_markers`` declines a column with any value spaced at an end, and otherwise
    finds the markers the trimmed lookup finds; it declines no column without spacing."""
    col = strings(values, cut, offset)
    marked = C._untrimmed_markers(col, C._Edges(col))
    spaced = any(v != v.strip() or v[:1].isspace() or v[-1:].isspace() or not (v[:1] + v[-1:]).isascii() for v in values)
    if marked is None:
        assert spaced
        return
    assert all(pc.utf8_trim_whitespace(col).to_pylist()[i] == v for i, v in enumerate(values))
    want = pc.is_in(pc.utf8_trim_whitespace(col), value_set=C._NA_ARRAY).to_numpy(zero_copy_only=False)
    assert np.array_equal(marked, want)
    assert marked.tolist() == [v in NA_VALUES for v in values]


@given(st.lists(st.sampled_from(["1", "", "22", "-3"]), min_size=1, max_size=20), st.integers(0, 20), st.booleans())
def test_empty_values_become_null_over_the_same_buffers(values, cut, offset):
    col = strings(values, cut, offset)
    empty = np.array([v == "" for v in values])
    assert C._without_empty(col, empty).to_pylist() == [v or None for v in values]


SHAPES = ["dddd-dd-dd", "dddd-dd-dd?dd:dd", "dddd-dd-dd?dd:dd:dd", "dddd-dd-dd?dd:ddZ", "dddd-dd-dd?dd:dd:ddZ"]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SHAPES), st.data())
def test_time_shapes_are_the_patterns(shape, data):
    """``_time_shaped``, a byte-by-byte check, against each shape written as a regex, on values of
    the shape with any byte replaced by a byte of another kind."""
    pattern = "".join({"d": "[0-9]", "?": "[ T]"}.get(ch, re.escape(ch)) for ch in shape)
    plain = "".join({"d": "7", "?": "T"}.get(ch, ch) for ch in shape)
    kinds = st.sampled_from("0123456789-: TZX/\x00\x7f")
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(shape) - 1), kinds), max_size=3))
    values = [plain] * data.draw(st.integers(0, 5))
    odd = list(plain)
    for at, byte in edits:
        odd[at] = byte
    values.insert(data.draw(st.integers(0, len(values))), "".join(odd))
    col = strings(values, data.draw(st.integers(0, len(values))), data.draw(st.booleans()))
    assert C._time_shaped(C._Edges(col), len(shape)) == all(re.fullmatch(pattern, v) for v in values)


@pytest.mark.parametrize("value, want", [
    ("-05", True), ("+05", True), ("-0x", True), ("+0X1", True), ("00", True), ("0x", True), ("0X1", True), ("-00", True),
    ("+0", False), ("-0", False), ("0", False), ("-0.5", False), ("0.5", False), ("+5", False), ("", False), ("-", False),
    ("-5", False), ("0e1", False), ("-0e1", False),
])  # fmt: skip
def test_leading_zero_examples(value, want):
    """Each value alone and among others, in every chunk position (the third byte is read from
    the chunk holding the value)."""
    for before, after in (([], []), (["1.5"] * 3, ["2.5"] * 2)):
        values = before + [value] + after
        for cut in range(len(values) + 1):
            for offset in (False, True):
                edges = C._Edges(strings(values, cut, offset))
                assert C._leading_zero(edges) == want
                assert C._leading_zero(edges, or_plus=True) == (want or value.startswith("+"))
