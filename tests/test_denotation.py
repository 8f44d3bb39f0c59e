"""Gold answers: WikiTableQuestions' denotation match (as the official evaluator.py), TabFact's
labels, DABench's named parts at the gold's precision, and typed gold answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.denotation import answer_texts, canonical, check_denotation, denotations, normalize, to_denotation
from verifier.gold import gold_answer, match_gold, named_answers, truth

NUMBER = lambda v: {"type": "number", "value": v}  # noqa: E731
STRING = lambda v: {"type": "string", "value": v}  # noqa: E731
LIST = lambda *v: {"type": "list", "value": list(v)}  # noqa: E731


@pytest.mark.parametrize("text, normalized", [
    ("  United   States ", "united states"),
    ("Café", "cafe"),  # accents go
    ("“Hello”", "hello"),  # curly quotes, then the outer quotes
    ("1–2", "1-2"),  # dashes
    ("Paris [1]", "paris"),  # citations
    ("Lisbon (Portugal)", "lisbon"),  # details in parentheses at the end
    ("(Portugal)", "(portugal)"),  # ... but not the whole text
    ("Done.", "done"),
])
def test_normalize_as_the_official_evaluator(text, normalized):
    assert normalize(text) == normalized


@pytest.mark.parametrize("target, predicted, same", [
    (["United States"], ["united states"], True),  # case
    (["United States"], ["United  States "], True),  # whitespace
    (["3"], ["3.0"], True),  # numbers by value
    (["3"], ["3.0000001"], True),  # within 1e-6
    (["3"], ["3.01"], False),
    (["1,012"], ["1012"], True),  # thousands separators
    (["2013"], ["2013"], True),  # a bare year is a number
    (["2013-01-05"], ["2013-1-5"], True),  # dates by (year, month, day)
    (["xx-01-05"], ["xx-1-5"], True),
    (["a", "b"], ["b", "a"], True),  # lists in any order
    (["a", "b"], ["a"], False),  # but as many items
    (["a", "b"], ["a", "a", "b"], True),  # duplicates collapse, as the official to_value_list's set
    (["yes"], ["no"], False),
])
def test_check_denotation(target, predicted, same):
    targets = denotations(target, [canonical(t) for t in target])
    assert check_denotation(targets, denotations(predicted, [canonical(p) for p in predicted])) is same


def test_tagged_canonical_values_decide_as_in_the_official_evaluator():
    # With the tagged dataset, "five" is the number 5 (targetCanon); without it, a string.
    assert to_denotation("five", "5.0").match(to_denotation("5"))
    assert not to_denotation("five").match(to_denotation("5"))


def test_answer_texts_of_typed_answers():
    assert answer_texts(NUMBER(18.0)) == ["18"]
    assert answer_texts(LIST("a", None, "b")) == ["a", "b"]
    assert answer_texts({"type": "bool", "value": True}) == ["yes"]
    assert answer_texts({"type": "null", "value": None}) == []
    table = {"type": "table", "value": {"columns": ["n"], "rows": [["x"], ["y"]]}}
    assert answer_texts(table) == ["x", "y"]


def test_denotation_mode_scores_a_typed_answer_against_wtq_targets():
    assert match_gold(LIST("United States"), STRING("united states"), "denotation", ["United States"]).score == 1.0
    assert match_gold(LIST("1,012"), NUMBER(1012), "denotation", ["1,012"]).score == 1.0
    assert match_gold(LIST("a", "b"), LIST("b", "a"), "denotation", ["a", "b"]).score == 1.0
    assert match_gold(LIST("a", "b"), LIST("a"), "denotation", ["a", "b"]).score == 0.0
    assert match_gold(LIST("a"), None, "denotation", ["a"]).score == 0.0  # no answer: wrong, as officially


@pytest.mark.parametrize("answer, expected", [
    ({"type": "bool", "value": True}, True), (STRING("Yes"), True), (STRING("refuted"), False),
    (NUMBER(0), False), (LIST(True), True), (STRING("maybe"), None), (NUMBER(7), None),
])
def test_truth(answer, expected):
    assert truth(answer) is expected


def test_label_mode():
    gold = {"type": "bool", "value": False}
    assert match_gold(gold, {"type": "bool", "value": False}, "label").score == 1.0
    assert match_gold(gold, STRING("true"), "label").score == 0.0
    assert "not true or false" in match_gold(gold, NUMBER(3), "label").reason


def test_named_answers_are_records_of_typed_parts():
    assert named_answers("@mean_fare[34.65], @passengers[891], @top[male]") == {"type": "record", "value": {
        "mean_fare": NUMBER(34.65), "passengers": NUMBER(891), "top": STRING("male")}}
    assert named_answers("34.65") is None


def test_rounded_mode_compares_at_the_golds_precision():
    gold = gold_answer("@mean[80.10], @n[5]")
    one_row = lambda **cells: {"type": "table", "value": {"columns": list(cells), "rows": [list(cells.values())]}}  # noqa: E731
    assert match_gold(gold, one_row(mean=80.1, n=5), "rounded").score == 1.0
    assert match_gold(gold, one_row(mean=80.104, n=5), "rounded").score == 1.0  # 80.10 at two places
    assert match_gold(gold, one_row(MEAN=80.1, N=5), "rounded").score == 1.0  # names without regard to case
    assert match_gold(gold, one_row(mean=80.2, n=5), "rounded").score == 0.5  # one part of two
    assert match_gold(gold, one_row(mean=80.1, n=5.4), "rounded").score == 0.5  # an integer is exact
    record = {"type": "record", "value": {"mean": 80.1, "n": 5}}
    assert match_gold(gold, record, "rounded").score == 1.0
    missing = match_gold(gold, one_row(mean=80.1), "rounded")
    assert missing.score == 0.5 and "n: missing" in missing.reason
    assert match_gold(gold, NUMBER(80.1), "rounded").score == 0.0
    # A record answer holds raw values; a text cell that is a number is read as one.
    assert match_gold({"type": "record", "value": {"n": 1000}}, one_row(n="1,000"), "typed").score == 1.0
    assert match_gold({"type": "record", "value": {"n": 1000}}, {"type": "record", "value": {"n": 1000.0}}).score == 1.0


def test_typed_mode_is_the_verifiers_comparison():
    assert match_gold(gold_answer(27), NUMBER(27.0), "typed").score == 1.0
    assert match_gold(gold_answer(["north"]), LIST("north"), "typed").score == 1.0
    assert match_gold(gold_answer("True"), {"type": "bool", "value": True}, "typed").score == 1.0
    assert match_gold(gold_answer({"a": 1, "b": "x"}), {"type": "record", "value": {"a": 1, "b": "x"}}).score == 1.0


@given(st.lists(st.sampled_from(["a", "B", "c d", "1", "2.0", "2013-01-05"]), min_size=1, max_size=5), st.randoms())
def test_denotation_ignores_order_and_case(items, random):
    shuffled = items[:]
    random.shuffle(shuffled)
    predicted = [s.upper() for s in shuffled]
    assert match_gold(LIST(*items), LIST(*predicted), "denotation", items).score == 1.0


CELLS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, width=32) | \
    st.sampled_from(["a", "B ", "1,000", "2013-01-05", "yes", "", "xx-01-xx"])
ANSWERS = st.one_of(
    st.builds(lambda v: {"type": "number", "value": v}, st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(lambda v: {"type": "string", "value": v}, st.text(max_size=6)),
    st.builds(lambda v: {"type": "bool", "value": v}, st.booleans()),
    st.just({"type": "null", "value": None}),
    st.builds(lambda v: {"type": "list", "value": v}, st.lists(CELLS, max_size=4)),
    st.builds(lambda names, rows: {"type": "table", "value": {"columns": names, "rows": [r[: len(names)] for r in rows]}},
              st.lists(st.sampled_from(["a", "b", "n"]), min_size=1, max_size=2, unique=True),
              st.lists(st.lists(CELLS, min_size=2, max_size=2), max_size=3)),
    st.builds(lambda parts: {"type": "record", "value": parts}, st.dictionaries(st.sampled_from(["a", "b"]), CELLS, min_size=1)),
)


@given(ANSWERS, ANSWERS | st.none(), st.sampled_from(["typed", "denotation", "label", "rounded"]))
def test_any_answer_against_any_gold_is_a_score(gold, answer, mode):
    if mode == "label":
        gold = {"type": "bool", "value": bool(gold["value"]) if gold["type"] == "bool" else True}
    match = match_gold(gold, answer, mode)
    assert 0.0 <= match.score <= 1.0 and isinstance(match.reason, str)
