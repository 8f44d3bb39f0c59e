"""The issue-14 language: keywords as whole words and borrowed words, statements across lines
(and the REPL's continuation prompt), escaped names, regex run by RE2 only, the SQL forms and
their documented exclusions, and the limits of the transforms that multiply rows."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import DATA, ROOT
from csvdsl import ast
from csvdsl.check import TableType, check
from csvdsl.errors import DslError, LimitError, ParseError, quote_name
from csvdsl.limits import Limits
from csvdsl.parse import parse
from csvdsl.program import run_program, table_types
from csvdsl.render import to_json
from csvdsl.repl.loop import is_incomplete
from csvdsl.tables import Catalog
from planner.compile import compile_program
from planner.oracle import run_oracle
from planner.sql import Unsupported, plan_sql

PEOPLE = TableType((("id", "int"), ("name", "string"), ("age", "int"), ("city", "string"), ("score", "float"),
                    ("active", "bool")))


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_specs([str(DATA / f"{name}.csv") for name in ("people", "texts", "measurements")])


# ---------------------------------------------------------------- keywords are whole words


@pytest.mark.parametrize("text", ["t | dropa", "t | selectb", "t | takes 3", "t | filterx > 1", "t | sortn",
                                  "t | filter a > 1 andb", "t | derive c = a notin [1]"])
def test_a_keyword_glued_to_a_name_is_a_syntax_error(text):
    with pytest.raises(ParseError):
        parse(text)


@pytest.mark.parametrize("text,hint", [
    ("t | dropna", "filter x is not null"),
    ("t | drop_duplicates", "distinct"),
    ("t | head 5", "take N"),
    ("t | limit 5", "take N"),
    ("t | where a > 1", "filter CONDITION"),
    ("t | order by a", "sort a, b desc"),
    ("t | sort by a", "sort a, b desc"),
    ("t | groupby a", "group KEYS aggregate"),
    ("t | group by a aggregate n = count()", "group KEYS aggregate"),
    ("t | select a where a > 1", "filter CONDITION"),
])
def test_borrowed_words_get_a_named_message(text, hint):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.code == "borrowed-word"
    assert hint in caught.value.hint


def test_names_that_merely_start_with_a_keyword_still_work():
    program = parse("t | derive dropped = 1, ordered = 2, android = 3 | select dropped, ordered, android")
    assert [i.name for i in program.statements[0].pipeline.transforms[1].items] == ["dropped", "ordered", "android"]


# ---------------------------------------------------------------- statements across lines


SAME = [
    ("t | filter a > 1 and b < 2", "t | filter a > 1 and\n    b < 2"),
    ("t | filter a > 1 or b < 2", "t | filter a > 1 or\n  # why\n  b < 2"),
    ("t | derive c = a + b * 2", "t | derive c = a +\n  b *\n  2"),
    ("t | derive c = a, d = b", "t | derive c = a,\n  d = b"),
    ("t | filter a in [1, 2]", "t | filter a in [\n  1,\n  2\n]"),
    ("t | derive c = coalesce(a, b)", "t | derive c = coalesce(\n  a,\n  b\n)"),
    ("t | derive c = (a + b)", "t | derive c = (\n  a + b\n)"),
    ("t | derive c = case when a then 1 else 2 end", "t | derive c = case\n  when a\n  then 1\n  else\n  2\nend"),
    ("t | derive c = mean(a) over (g, h)", "t | derive c = mean(a) over (g,\n h)"),
    ("answer a = x.y, b = x.z", "answer a = x.y,\n  b = x.z"),
]


@pytest.mark.parametrize("one,many", SAME)
def test_a_statement_continues_across_lines(one, many):
    uncommented = lambda text: [ast.replace(s, comments=()) for s in parse(text).statements]  # noqa: E731
    assert uncommented(many) == uncommented(one)


@pytest.mark.parametrize("text", ["t | filter a > 1\n  and b < 2", "t | derive c = a\n  + b", "t | group a\n  aggregate n = count()"])
def test_a_line_break_elsewhere_ends_the_statement(text):
    with pytest.raises(DslError):
        check(parse(text), {"t": TableType((("a", "int"), ("b", "int")))})


@pytest.mark.parametrize("text,incomplete", [
    ("people | filter age > 1 and", True),
    ("people | derive c = coalesce(age,", True),
    ("people | filter city in [\"a\",", True),
    ("people | derive c = case when age > 1 then 1", True),
    ("people | derive c = (age +", True),
    ("people | filter age > 1", False),
    ("people | filter age >> 1", False),
])
def test_the_repl_continues_exactly_where_the_language_does(text, incomplete):
    assert is_incomplete(text) is incomplete
    if incomplete:  # and the statement it waits for parses once finished
        rest = {"and": " age < 9", ",": " 0)" if "coalesce" in text else " \"b\"]", "1": " else 0 end", "+": " 1)"}
        ending = next(v for k, v in rest.items() if text.endswith(k))
        parse(text + "\n" + ending)


# ---------------------------------------------------------------- every header reachable


@pytest.mark.parametrize("name", ["raw\nvalue", "a`b", "back\\slash", "tab\there", "cr\rlf", "``", "order", "x y", "é"])
def test_every_name_round_trips_through_its_typed_spelling(name):
    typed = quote_name(name)
    assert "\n" not in typed and "\t" not in typed and "\r" not in typed
    program = parse(f"t | select {typed}")
    assert program.statements[0].pipeline.transforms[0].items[0].name == name


def test_hints_and_describe_show_a_name_that_can_be_typed(catalog):
    with pytest.raises(DslError) as caught:
        run_program("texts | select raw_value", catalog)
    assert "did you mean `raw\\nvalue`?" in caught.value.hint
    described = run_program("describe texts", catalog).execution.outputs[0][1].value
    assert list(described["column"]) == ["id", "`raw\\nvalue`", "column_3", "tags", "label", "score"]
    assert to_json(run_program(f"t = texts | select {described['column'][1]}\nanswer t.`raw\\nvalue`", catalog).answer)["value"][0] \
        == "1,234 km (767 mi)"


def test_repl_completion_offers_the_typed_spelling(catalog):
    from csvdsl.repl.complete import completions
    from csvdsl.session import Session

    texts = [c.text for c in completions("texts | select ", Session(catalog))]
    assert "`raw\\nvalue`" in texts and "column_3" in texts


# ---------------------------------------------------------------- regex: RE2 only, linear time


def test_a_programs_pattern_never_reaches_pythons_re(catalog, monkeypatch):
    pattern = "(x+x+)+y"
    seen = []
    for name in ("compile", "search", "match", "fullmatch", "sub", "findall", "finditer", "split"):
        original = getattr(re, name)

        def spy(p, *args, _original=original, **kwargs):
            if isinstance(p, str) and pattern in p:
                seen.append(p)
            return _original(p, *args, **kwargs)

        monkeypatch.setattr(re, name, spy)
    program = f't = texts | derive m = matches(label, "{pattern}"), e = extract(label, "{pattern}"), r = regex_replace(label, "{pattern}", "")\nanswer t.m'
    run_program(program, catalog)
    assert not seen


def test_a_catastrophic_pattern_runs_in_linear_time(catalog):
    frame = pd.DataFrame({"s": ["x" * 5000 + "z"] * 200})
    catalog = Catalog.from_frames({"t": frame}) if hasattr(Catalog, "from_frames") else None
    if catalog is None:
        from csvdsl.tables import table_from_frame

        catalog = Catalog([table_from_frame("t", frame)])
    started = time.monotonic()
    run = run_program('c = t | filter matches(s, "(x+x+)+y") | aggregate n = count()\nanswer c.n', catalog)
    assert run.answer.value == 0
    assert time.monotonic() - started < 5  # a backtracking engine would not finish this in hours


# ---------------------------------------------------------------- SQL forms and exclusions


def _plan(text: str):
    return compile_program(check(parse(text), {"t": PEOPLE}))


@pytest.mark.parametrize("call", ["shapiro_p(age)", "ttest_p(score, active)", "chi2_p(city, name)", "anova_p(score, city)",
                                  "spearman(age, score)", "mode(city)"])
def test_scipy_aggregates_and_mode_have_no_sql_form(call):
    plan = _plan(f"s = t | aggregate v = {call}\nanswer s")
    with pytest.raises(Unsupported):
        plan_sql(plan, plan.node(plan.root)["inputs"][0])


@pytest.mark.parametrize("call", ["normal_cdf(score)", "normal_ppf(0.5, score, 2)", "t_cdf(score, 3)", "chi2_cdf(score, 2)"])
def test_distribution_functions_have_no_sql_form(call):
    plan = _plan(f"s = t | derive v = {call}\nanswer s")
    with pytest.raises(Unsupported):
        plan_sql(plan, plan.node(plan.root)["inputs"][0])


def test_the_new_expressions_agree_with_duckdb(catalog):
    program = ('s = texts | derive m = matches(label, "(?i)^[a-d]"), e = extract(`raw\\nvalue`, "\\\\((\\\\d+) mi\\\\)", 1), '
               'n = number(`raw\\nvalue`), p = split_part(tags, ",", -1), q = position(label, " "), '
               'u = substr(label, q + 1, 3), w = sum(score) over (), k = count() over column_3 | split tags on ","\nanswer s')
    run = run_program(program, catalog)
    ours = to_json(run.answer)["value"]
    plan = compile_program(check(parse(program), table_types(catalog)))
    theirs = run_oracle(plan, {name: catalog[name].frame for name in ("texts",)})
    assert sorted(theirs.columns) == sorted(ours["columns"])
    theirs = theirs[ours["columns"]]  # canonical plans may order derived columns differently
    rows = [[None if pd.isna(v) else v for v in row] for row in theirs.itertuples(index=False)]
    assert len(rows) == len(ours["rows"])
    for mine, other in zip(ours["rows"], rows):
        assert [str(v) if not isinstance(v, float) else round(v, 9) for v in mine] == \
            [str(v) if not isinstance(v, float) else round(v, 9) for v in other]


# ---------------------------------------------------------------- limits on rows that multiply


def test_a_cross_join_is_refused_before_it_allocates(catalog):
    with pytest.raises(LimitError) as caught:
        run_program("m = measurements | join cross measurements | join cross measurements\nanswer m", catalog,
                    limits=Limits(max_rows=5000))
    assert caught.value.code == "too-many-rows" and "would produce 13,824 rows" in caught.value.message


def test_a_split_is_refused_before_it_allocates(catalog):
    with pytest.raises(LimitError) as caught:
        run_program('s = texts | split tags on ","\nanswer s', catalog, limits=Limits(max_rows=7))
    assert "would produce 8 rows" in caught.value.message


# ---------------------------------------------------------------- record answers from the command line


def test_a_record_answer_from_the_command_line():
    program = "s = people | aggregate m = mean(age), n = count()\nanswer mean = s.m, n = s.n, cities = people.city"
    done = subprocess.run([sys.executable, "-m", "csvdsl", "run", "-e", program, "--csv", str(DATA / "people.csv"),
                           "--format", "json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"type": "record"' in done.stdout and '"mean": 37.4' in done.stdout and '"n": 6' in done.stdout
    assert isinstance(parse(program).statements[-1].expr, ast.Record)


def test_tests_per_group_on_no_rows_make_an_empty_table(catalog):
    run = run_program("g = measurements | filter id < 0 | group grp, kind aggregate n = count(), p = shapiro_p(x), "
                      "t = ttest_p(x, treated)\nanswer g", catalog)
    assert to_json(run.answer)["value"] == {"columns": ["grp", "kind", "n", "p", "t"], "rows": []}
