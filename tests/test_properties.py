"""Properties checked with Hypothesis: the formatter round-trips every AST, the parser
raises nothing but ParseError on any text, programs never crash on odd data, and the
pandas executor agrees with DuckDB."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from csvdsl import ast
from csvdsl.errors import DslError, ParseError, Span, source_lines
from csvdsl.format import format_program
from csvdsl.grammar import build_parser, keywords
from csvdsl.parse import parse
from csvdsl.program import run_program
from csvdsl.render import to_json
from csvdsl.tables import Catalog, table_from_frame
from test_fixtures import FIXTURES, load_fixture

# ---------------------------------------------------------------- ASTs

names = st.one_of(
    st.sampled_from(["a", "dep_delay", "x1", "_t", "Unit Price", "a`b", "über", "2nd"]),
    st.sampled_from(sorted(keywords())),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ]{0,8}", fullmatch=True).map(str.strip).filter(bool),
)
literals = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.text(max_size=8).filter(lambda s: "\x00" not in s),
).map(ast.Literal)


def _not_numeric_literal(e):
    return not (isinstance(e, ast.Literal) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool))


def expressions(leaf):
    def extend(children):
        return st.one_of(
            st.builds(ast.Binary, st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">="]), children, children),
            st.builds(ast.Logical, st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3).map(tuple)),
            st.builds(ast.Not, children),
            st.builds(ast.Neg, children.filter(_not_numeric_literal)),
            st.builds(ast.InList, children, st.lists(literals, max_size=3).map(tuple), st.booleans()),
            st.builds(ast.InRef, children, st.builds(ast.Ref, names, names), st.booleans()),
            st.builds(ast.Between, children, children, children, st.booleans()),
            st.builds(ast.IsNull, children, st.booleans()),
            st.builds(ast.Case, st.lists(st.tuples(children, children), min_size=1, max_size=2).map(tuple), st.none() | children),
            st.builds(ast.Call, st.sampled_from(["mean", "rank", "round", "f"]),
                      st.lists(children | st.builds(ast.Ordered, children, st.just(True)), max_size=3).map(tuple),
                      st.lists(st.builds(ast.Column, names), max_size=2).map(tuple)),
        )

    return st.recursive(leaf, extend, max_leaves=8)


row_exprs = expressions(st.one_of(literals, st.builds(ast.Column, names), st.builds(ast.Ref, names, names)))
answer_exprs = expressions(st.one_of(literals, st.builds(ast.TableRef, names), st.builds(ast.Ref, names, names)))
columns = st.builds(ast.Column, names)
column_lists = st.lists(columns, min_size=1, max_size=3).map(tuple)
assigns = st.lists(st.builds(ast.Assign, names, row_exprs), min_size=1, max_size=3).map(tuple)
transforms = st.one_of(
    st.builds(ast.Filter, row_exprs),
    st.builds(ast.Select, st.lists(st.builds(ast.Assign, names, row_exprs) | columns.map(lambda c: ast.Assign(c.name, c)), min_size=1, max_size=3).map(tuple)),
    st.builds(ast.Derive, assigns),
    st.builds(ast.Drop, column_lists),
    st.builds(ast.Rename, st.lists(st.builds(ast.Assign, names, columns), min_size=1, max_size=2).map(tuple)),
    st.builds(ast.Group, column_lists, assigns),
    st.builds(ast.Aggregate, assigns),
    st.builds(ast.Sort, st.lists(st.builds(ast.SortKey, columns, st.booleans()), min_size=1, max_size=3).map(tuple)),
    st.builds(ast.Take, st.integers(0, 10**6)),
    st.builds(ast.Distinct, st.lists(columns, max_size=2).map(tuple)),
    st.builds(ast.Join, st.builds(ast.TableRef, names), st.lists(st.builds(ast.JoinKey, columns, columns), min_size=1, max_size=2).map(tuple), st.sampled_from(["inner", "left"])),
)
pipelines = st.builds(ast.Pipeline, st.builds(ast.TableRef, names), st.lists(transforms, max_size=4).map(tuple))
comments = st.lists(st.text(st.characters(exclude_categories=["Cc", "Zl", "Zp", "Zs"], exclude_characters="\x85"), max_size=10), max_size=2).map(tuple)
statements = st.one_of(
    st.builds(ast.Binding, names, pipelines, comments),
    st.builds(ast.Show, pipelines, comments),
    st.builds(ast.Answer, answer_exprs, comments),
)
programs = st.builds(ast.Program, st.lists(statements, max_size=4).map(tuple), comments)


@given(programs)
def test_format_then_parse_gives_the_same_ast(program):
    text = format_program(program)
    assert parse(text) == program, text
    assert format_program(parse(text)) == text


# ---------------------------------------------------------------- raw text

_explicit = {
    "_NL": st.sampled_from(["\n", "\n\n", "\n  # note\n"]),
    "_CONT": st.sampled_from(["\n  ", "\n\n  "]),
    "COMMENT": st.just("# c"),
    "NAME": st.sampled_from(["a", "t", "x_1", "flights"]),
    "QUOTED": st.just("`a b`"),
}


@given(from_lark(build_parser(), explicit=_explicit))
def test_text_from_the_grammar_parses(text):
    try:
        program = parse(text)
    except ParseError:
        # The generator joins tokens without regard to keyword boundaries ("a" + "in" -> "ain").
        assume(False)
    assert parse(format_program(program)) == program


@given(st.text(max_size=60) | st.lists(st.sampled_from(["t", "|", "filter", "x", ">", "1", "\n", "(", ")", "==", "answer", "group", "aggregate", "=", "count()", '"', "`", ",", "[", "]", "in", "not", "case", "when", "then", "end", ".", "-", "take", "join", "on"]), max_size=14).map(" ".join))
def test_any_text_raises_only_parse_errors(text):
    try:
        parse(text)
    except ParseError as error:
        assert error.line is not None and error.code and error.render()


# ---------------------------------------------------------------- odd data

_PEOPLE_FIXTURES = [p for p in FIXTURES if load_fixture(p)["csv"] == ["people"]]


@st.composite
def people_tables(draw):
    n = draw(st.integers(0, 6))
    maybe = lambda s: st.none() | s  # noqa: E731
    frame = pd.DataFrame({
        "id": draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)),
        "name": pd.Series(draw(st.lists(maybe(st.text(max_size=4)), min_size=n, max_size=n)), dtype="str"),
        "age": pd.Series(draw(st.lists(maybe(st.integers(0, 60)), min_size=n, max_size=n)), dtype="float64"),
        "city": pd.Series(draw(st.lists(maybe(st.sampled_from(["London", "Paris", "", "é ö"])), min_size=n, max_size=n)), dtype="str"),
        "score": pd.Series(draw(st.lists(maybe(st.floats(-1e6, 1e6) | st.sampled_from([math.inf, -math.inf, 0.0])), min_size=n, max_size=n)), dtype="float64"),
        "joined": pd.to_datetime(pd.Series(draw(st.lists(maybe(st.dates().map(str)), min_size=n, max_size=n)), dtype="object"), format="ISO8601"),
        "active": pd.Series(draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)), dtype="boolean"),
    })
    table = table_from_frame("people", frame)
    schema = dict(table.schema)
    schema["age"] = "int"  # an int column with nulls, as read from a CSV
    return Catalog([type(table)(table.name, None, table.frame, schema)])


@pytest.mark.parametrize("path", _PEOPLE_FIXTURES, ids=lambda p: p.stem)
@given(catalog=people_tables())
def test_fixture_programs_never_crash_on_odd_data(path, catalog):
    try:
        run = run_program(load_fixture(path)["program"], catalog)
    except DslError as error:
        assert error.code != "internal", error.render()
        return
    to_json(run.answer)


# ---------------------------------------------------------------- DuckDB oracle

ORACLE = [
    ("r = people | filter not (age > 30) | group city aggregate n = count(), s = sum(score), a = count(age) | sort city\nanswer r",
     "select city, count(*) as n, sum(score) as s, count(age) as a from people where not (age > 30) group by city order by city nulls last"),
    ('r = people | filter city not in ["London", "Paris"] or score between -10 and 10 | select id, name\nanswer r',
     "select id, name from people where city not in ('London', 'Paris') or score between -10 and 10"),
    ("r = people | derive x = case when age >= 18 then score / age else -1.0 end | aggregate m = max(x), c = count(x), d = count_distinct(city)\nanswer r",
     "select max(x) as m, count(x) as c, count(distinct city) as d from (select *, case when age >= 18 then (case when age = 0 then null else score / age end) else -1.0 end as x from people)"),
]


def _canonical(rows, ordered):
    def key(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (0, "")
        # + 0.0: -0.0 and 0.0 are one value (a sum of -0.0 stays -0.0 in pandas, is 0.0 in DuckDB)
        return (1, repr(round(value, 6) + 0.0) if isinstance(value, float) else repr(value))

    rows = [tuple(key(v) for v in row) for row in rows]
    return rows if ordered else sorted(rows)


@pytest.mark.parametrize("program, sql", ORACLE, ids=["filter-not-group", "not-in-or-between", "case-aggregate"])
@given(catalog=people_tables())
def test_pandas_agrees_with_duckdb(program, sql, catalog):
    frame = catalog["people"].frame.copy()
    frame["score"] = frame["score"].replace([math.inf, -math.inf], np.nan)  # DuckDB's inf arithmetic differs; not under test here
    frame["name"] = frame["name"].astype(object)
    frame["city"] = frame["city"].astype(object)
    catalog = Catalog([table_from_frame("people", frame)])
    ours = to_json(run_program(program, catalog).answer)["value"]["rows"]
    connection = duckdb.connect()
    connection.register("people", catalog["people"].frame)
    theirs = [list(row) for row in connection.execute(sql).fetchall()]
    ordered = "order by" in sql
    assert _canonical(ours, ordered) == _canonical(theirs, ordered)


@given(st.lists(st.text(alphabet="ab \u2028\u2029\x0c\x0b\x1c\x85\r", max_size=6).filter(lambda s: not s.endswith("\r")),
                min_size=1, max_size=5), st.booleans())
def test_source_lines_split_at_line_feeds_only(lines, crlf):
    """Spans count lines at line feeds, as Lark does; the caret must show the same line, whatever
    other separators str.splitlines would break a string constant at."""
    text = ("\r\n" if crlf else "\n").join(lines)
    want = lines[:-1] if len(lines) > 1 and not lines[-1] else lines
    assert source_lines(text) == want
    error = DslError("x", "m", span=Span(len(want), 1)).with_source(text)
    assert error.caret().split("\n")[0] == f"{len(want)} | {want[-1].expandtabs(1)}"
