"""Tight answer comparison, table-driven: (teacher, student, expected score, words in the reason)."""

from __future__ import annotations

import pytest

from verifier.answers import Options, compare, parse_gold


def num(v):
    return {"type": "number", "value": v}


def lst(v, ordered=False):
    return {"type": "list", "value": v, "ordered": ordered}


def table(columns, rows, ordered=False):
    return {"type": "table", "value": {"columns": columns, "rows": rows}, "ordered": ordered}


CASES = [
    (num(77584), num(77584.0), 1.0, "both"),
    (num(0.91), num(0.9100000001), 1.0, "both"),
    (num(0.91), num(0.92), 0.0, "expected 0.91"),
    (num(0), num(1e-12), 1.0, "both"),
    ({"type": "string", "value": "Alaska Airlines Inc."}, {"type": "string", "value": " Alaska Airlines Inc.\n"}, 1.0, "both"),
    ({"type": "string", "value": "Monday"}, {"type": "string", "value": "monday"}, 0.0, "expected"),
    ({"type": "bool", "value": True}, {"type": "bool", "value": True}, 1.0, "both"),
    ({"type": "bool", "value": True}, num(1), 0.0, "expected a bool"),
    ({"type": "date", "value": "2013-01-05"}, {"type": "date", "value": "2013-01-05T00:00:00"}, 1.0, "both"),
    ({"type": "null", "value": None}, {"type": "null", "value": None}, 1.0, "null"),
    (lst(["B6", "DL", "9E"]), lst(["9E", "B6", "DL"]), 1.0, "order not asked for"),
    (lst(["B6", "DL", "9E"], ordered=True), lst(["9E", "B6", "DL"]), 0.0, "order was asked for"),
    (lst(["B6", "DL", "9E"], ordered=True), lst(["B6", "DL", "9E"]), 1.0, "same order"),
    (lst(["a", "a", "b"]), lst(["a", "b", "b"]), 0.0, "appears 1 time(s), expected 2"),
    (lst([71707389571.63391, 1.0]), lst([1.0, 71707389571.63393]), 1.0, "same 2 items"),  # relative tolerance
    (table(["v"], [[71707389571.63391]]), table(["v"], [[71707389571.63393]]), 1.0, "rows"),
    (lst([1e-8, 5]), lst([2e-8, 5]), 0.0, "appears"),  # as for scalars: beyond the absolute tolerance
    (lst([1e12, 5]), lst([1e12 + 1, 5]), 1.0, "same"),  # within the relative tolerance
    (lst([1, 2]), lst([1, 2, 3]), 0.0, "expected 2 items"),
    (num(5), lst([5]), 1.0, "unwrapped"),
    (num(5), table(["n"], [[5]]), 1.0, "unwrapped"),
    (table(["month", "n"], [[7, 29425], [8, 29327]]), table(["n", "m"], [[29327, 8], [29425, 7]]), 1.0, "renamed"),
    (table(["month", "n"], [[7, 29425], [8, 29327]], ordered=True), table(["month", "n"], [[8, 29327], [7, 29425]]), 0.0, "order"),
    (table(["month", "n"], [[7, 29425], [8, 29327]]), table(["month", "n", "x"], [[7, 29425, 0], [8, 29327, 1]]), 0.5, "extra column"),
    (table(["a", "b"], [[1, 2], [3, 4]]), table(["a", "b"], [[1, 4], [3, 2]]), 0.0, "not together"),
    (table(["a"], [[1], [2]]), table(["a"], [[1]]), 0.0, "expected 2 rows"),
    (table(["a", "b"], [[1, 1], [2, 2]]), table(["y", "x"], [[1, 1], [2, 2]]), 1.0, "rows"),
    # Text that reads as a time near year 1 orders the cells without reading it as local time.
    (lst(["0001-01-01T00:30+01:00", "b"]), lst(["b", "0001-01-01T00:30+01:00"]), 1.0, "same"),
    (table(["v"], [[None], ["0001-01-01T00:30+01:00"]]), table(["v"], [["0001-01-01T00:30+01:00"], [None]]), 1.0, "rows"),
]


@pytest.mark.parametrize("teacher, student, score, words", CASES)
def test_compare(teacher, student, score, words):
    match = compare(teacher, student)
    assert match.score == score, match.reason
    assert words in match.reason


def test_case_insensitive_is_opt_in():
    a, b = {"type": "string", "value": "JFK"}, {"type": "string", "value": "jfk"}
    assert compare(a, b).score == 0.0
    assert compare(a, b, Options(case_insensitive=True)).score == 1.0


def test_tolerance_is_configurable():
    assert compare(num(100.0), num(100.5)).score == 0.0
    assert compare(num(100.0), num(100.5), Options(rel_tol=0.01)).score == 1.0


@pytest.mark.parametrize("text, expected", [
    ("34.65", {"type": "number", "value": 34.65}),
    ("77584", {"type": "number", "value": 77584}),
    ("True", {"type": "bool", "value": True}),
    ("false", {"type": "bool", "value": False}),
    ("['a', 'b']", {"type": "list", "value": ["a", "b"]}),
    ('["B6", "DL"]', {"type": "list", "value": ["B6", "DL"]}),
    ("2013-01-05", {"type": "date", "value": "2013-01-05"}),
    ("Alaska Airlines Inc.", {"type": "string", "value": "Alaska Airlines Inc."}),
    ("None", {"type": "null", "value": None}),
])
def test_gold_answers_are_read_as_typed_values(text, expected):
    assert parse_gold(text) == expected


def test_gold_text_compares_with_a_computed_answer():
    assert compare(parse_gold("['DL', 'B6']"), lst(["B6", "DL"])).score == 1.0
    assert compare(parse_gold("34.65"), num(34.6500000001)).score == 1.0


# ---------------------------------------------------------------- record answers (multi-part)


def rec(**parts):
    return {"type": "record", "value": parts}


def test_a_record_matches_part_by_part():
    assert compare(rec(mean=4201.75, std=801.95), rec(mean=4201.75, std=801.95)).score == 1.0
    assert compare(rec(mean=4201.75, std=801.95), rec(std=801.95, mean=4201.75)).score == 1.0


@pytest.mark.parametrize("student, score", [
    (rec(mean=4201.75, std=1.0, n=344), 2 / 3),
    (rec(mean=1.0, std=1.0, n=344), 1 / 3),
    (rec(mean=1.0, std=1.0, n=1), 0.0),
    (rec(mean=4201.75), 1 / 3),  # a part left out is wrong
])
def test_partial_credit_is_the_share_of_parts_right(student, score):
    match = compare(rec(mean=4201.75, std=801.95, n=344), student)
    assert match.score == pytest.approx(score)
    if score < 1:
        assert "parts match" in match.reason


def test_parts_named_differently_are_compared_in_order():
    assert compare(rec(mean=1.5, std=2.0), rec(avg=1.5, sd=2.0)).score == 1.0


def test_a_one_row_table_counts_as_the_same_record():
    table = {"type": "table", "value": {"columns": ["mean", "std"], "rows": [[1.5, 2.0]]}}
    assert compare(rec(mean=1.5, std=2.0), table).score == 1.0


def test_record_list_parts_are_multisets_unless_ordered():
    teacher = {**rec(top=["a", "b"]), "ordered_parts": []}
    assert compare(teacher, rec(top=["b", "a"])).score == 1.0
    assert compare({**teacher, "ordered_parts": ["top"]}, rec(top=["b", "a"])).score == 0.0


def test_a_record_is_not_a_number():
    assert compare(rec(mean=1.5), {"type": "number", "value": 1.5}).score == 0.0
