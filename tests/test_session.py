"""The agent session: bindings persist across turns, observations are bounded and correct,
errors come back as observations with the caret and the hint."""

from __future__ import annotations

import pandas as pd
import pytest

from csvdsl import Session
from csvdsl.errors import CheckError


@pytest.fixture(scope="module")
def flights_session(flights_dir):
    return Session({"flights": flights_dir / "flights.csv", "airlines": flights_dir / "airlines.csv"})


def test_transcript_describe_take_bind_answer(flights_dir):
    session = Session({"flights": flights_dir / "flights.csv"}, max_rows=5, max_chars=3000)

    described = session.run("describe flights")
    assert described.ok and described.answer is None
    lines = described.text.splitlines()
    assert lines[0].split() == ["column", "type", "nulls", "distinct", "min", "max", "top"]
    dep_delay = next(line.split() for line in lines if line.startswith("dep_delay "))
    assert dep_delay[:6] == ["dep_delay", "float", "8255", "527", "-43", "1301"]
    assert "(19 rows, 7 columns)" in described.text  # every column, though rows are capped at 5
    assert len(described.text) <= 3000

    head = session.run("flights | take 3")
    assert head.ok
    assert "(3 rows, 19 columns)" in head.text
    assert head.values[0].value["dep_delay"].tolist() == [2.0, 4.0, 2.0]

    bound = session.run("# long delays from JFK\njfk = flights | filter origin == \"JFK\" and dep_delay > 60")
    assert bound.text == "bound jfk: 8,401 rows, 19 columns"

    answered = session.run("n = jfk | aggregate n = count()\nanswer n.n")
    assert answered.answer.value == 8401 and answered.answer.kind == "number"  # DuckDB agrees
    assert answered.text == "bound n: 1 row, 1 column\n\nanswer (number): 8401"
    assert session.answer is answered.answer
    assert [text for text, _ in session.transcript][1] == "flights | take 3"
    assert session.transcript[2][0].startswith("# long delays from JFK")


def test_large_results_say_how_many_rows_are_left(flights_session):
    observation = flights_session.run("flights | select carrier, flight")
    assert "... 336,766 more rows" in observation.text
    assert len(observation.text.splitlines()) < 16


def test_errors_are_observations_and_the_session_goes_on(flights_session):
    bad = flights_session.run("flights | filter dep_dalay > 60")
    assert isinstance(bad.error, CheckError)
    assert "did you mean `dep_delay`?" in bad.text and "^" in bad.text
    good = flights_session.run("t = airlines | take 1\nanswer t.carrier")
    assert good.ok and good.answer.value == "9E"


def test_failed_turn_binds_nothing(flights_session):
    flights_session.run("zz = airlines | filter nope > 1")
    later = flights_session.run("answer zz")
    assert later.error is not None and later.error.code == "unknown-table"


def test_tables_lists_what_is_loaded():
    session = Session({"people": pd.DataFrame({"a": [1, 2, 3]}), "other": pd.DataFrame({"b": ["x"], "c": [1.5]})})
    text = session.run("tables").text
    assert text.splitlines()[2].split() == ["people", "3", "1"]
    assert text.splitlines()[3].split() == ["other", "1", "2"]


def test_observations_are_cut_at_the_character_limit():
    session = Session({"t": pd.DataFrame({"x": ["y" * 30] * 50})}, max_rows=50, max_chars=300)
    observation = session.run("t")
    assert len(observation.text) <= 300 + 60
    assert observation.text.endswith("(output cut at 300 characters)")


def test_bindings_persist_and_share_the_cache(flights_session):
    flights_session.run("late = flights | filter dep_delay > 120")
    before = flights_session.engine.stats.hits
    flights_session.run("a = late | aggregate n = count()\nanswer a.n")
    flights_session.run("b = late | group origin aggregate n = count()\nanswer b")
    assert flights_session.engine.stats.hits > before
