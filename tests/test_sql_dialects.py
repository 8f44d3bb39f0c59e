"""Scale-out SQL (``csvdsl plan --format sql --dialect spark|trino|duckdb``): every fixture program
the SQL translation covers is written in each dialect by sqlglot, parses back in that dialect,
keeps no DuckDB-only star modifier, and (in DuckDB's dialect) still gives the same rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import ROOT
from conftest import csvdsl as _cli
from csvdsl.errors import DslError
from csvdsl.program import plan_program
from planner.dialects import DIALECTS, plan_queries, program_sql, transpile
from test_fixtures import FIXTURES, load_fixture

sqlglot = pytest.importorskip("sqlglot")
duckdb = pytest.importorskip("duckdb")

EXPECTING = [p for p in FIXTURES if load_fixture(p)["expect"] is not None]
_STAR_MODIFIER = re.compile(r"\*\s*(EXCLUDE|EXCEPT|REPLACE|RENAME)\b", re.IGNORECASE)


def _plan(path, catalogs):
    fixture = load_fixture(path)
    catalog = catalogs(fixture["csv"])
    _, plan = plan_program(fixture["program"], catalog)
    try:
        queries = plan_queries(plan)
    except DslError as error:
        assert error.code == "sql-unsupported"
        pytest.skip(f"the translation does not cover this program: {error.message}")
    return catalog, plan, queries


def _types(catalog):
    return {name: catalog[name].schema for name in catalog.names()}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("path", EXPECTING, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_transpiled_sql_parses_in_its_dialect(path, dialect, catalogs):
    catalog, plan, _ = _plan(path, catalogs)
    text = program_sql(plan, _types(catalog), dialect)
    statements = [s for s in sqlglot.parse(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) if s is not None]
    assert statements and all(s.find(sqlglot.exp.Select) for s in statements)
    assert not _STAR_MODIFIER.search(text), "a DuckDB-only star modifier is left"


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "fixtures" / "acceptance").glob("*.dsl")), ids=lambda p: p.stem)
def test_expanded_sql_gives_the_same_rows_as_the_translation(path, catalogs):
    catalog, plan, queries = _plan(path, catalogs)
    connection = duckdb.connect()
    for name in catalog.names():
        frame = catalog[name].frame
        connection.register(name, frame.assign(__rn=np.arange(len(frame))))
    for _, sql in queries:
        expanded = transpile(sql, _types(catalog), "duckdb", pretty=False)
        assert connection.execute(expanded).fetchall() == connection.execute(sql).fetchall()


def test_plan_format_sql_from_the_command_line(tmp_path):
    (tmp_path / "t.csv").write_text("g,x\na,1\nb,2\na,3\n", encoding="utf-8")
    program = "s = t | group g aggregate total = sum(x) | sort total desc\nanswer s.g"
    for dialect in DIALECTS:
        done = _cli("plan", "-e", program, "--csv", str(tmp_path / "t.csv"), "--format", "sql", "--dialect", dialect)
        assert done.returncode == 0, done.stderr
        sqlglot.parse(done.stdout, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    default = _cli("plan", "-e", program, "--csv", str(tmp_path / "t.csv"), "--format", "sql")
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1, 0), ('b', 2, 1), ('a', 3, 2)) v(g, x, __rn)")
    assert connection.execute(default.stdout).fetchall() == [("a",), ("b",)]
    implied = _cli("plan", "-e", program, "--csv", str(tmp_path / "t.csv"), "--dialect", "trino")
    assert implied.returncode == 0 and implied.stdout.startswith("WITH")
    wrong = _cli("plan", "-e", program, "--csv", str(tmp_path / "t.csv"), "--format", "json", "--dialect", "spark")
    assert wrong.returncode == 2 and "--format sql" in wrong.stderr
    uncovered = _cli("plan", "-e", "m = t | aggregate m = mode(x)\nanswer m.m", "--csv", str(tmp_path / "t.csv"), "--format", "sql")
    assert uncovered.returncode == 1 and "sql-unsupported" in uncovered.stderr and "mode" in uncovered.stderr
    assert ":1:23:" in uncovered.stderr and "^" in uncovered.stderr  # at the call of mode, with a caret


@pytest.mark.parametrize("dialect", ["spark", "trino"])
def test_split_reads_its_parts_counting_from_one(dialect, catalogs):
    # DuckDB's list[i] counts from 1, Spark's from 0: sqlglot shifts a constant index only, so
    # split's computed part number goes through ELEMENT_AT (from 1 in both), and the list's
    # length through SIZE / CARDINALITY (Spark's LENGTH is for strings).
    catalog = catalogs(["people"])
    _, plan = plan_program("s = people | split city on \"o\"\nanswer s", catalog)
    text = program_sql(plan, _types(catalog), dialect)
    assert "ELEMENT_AT(" in text and ("SIZE(" if dialect == "spark" else "CARDINALITY(") in text
    assert not re.search(r"__parts.?\[", text) and "LENGTH(" not in text.replace("_LENGTH(", "")


@pytest.mark.parametrize("dialect", ["spark", "trino"])
def test_a_rewrite_refers_to_its_groups_as_java_does(dialect, catalogs):
    """Spark and Trino read a regexp_replace rewrite in Java's syntax: RE2's \\2 is $2 there (Java
    reads \\2 as a plain 2), and a dollar sign is escaped."""
    catalog = catalogs(["people"])
    _, plan = plan_program('x = people | derive r = regex_replace(name, "(A)(d)", "\\\\2$\\\\1")\nanswer x', catalog)
    text = program_sql(plan, _types(catalog), dialect)
    assert re.search(r"'\$2\\+\$\$1'", text), text


def test_nested_conversions_write_each_argument_once(catalogs):
    """A function whose SQL uses an argument twice binds it (a lambda) rather than writing it
    twice: str(float(...)) nested four deep was 1.5 MB of SQL, which DuckDB took minutes to bind."""
    from planner.sql import plan_sql

    catalog = catalogs(["people"])
    sizes = []
    for depth in range(1, 6):
        expr = "name"
        for _ in range(depth):
            expr = f"str(float(str(datetime(strip({expr})))))"
        _, plan = plan_program(f"x = people | derive v = {expr}\nanswer x", catalog)
        sizes.append(len(plan_sql(plan, plan.node(plan.root)["inputs"][0])))
    steps = [b - a for a, b in zip(sizes, sizes[1:])]
    assert max(steps) <= 1.1 * min(steps), sizes  # linear in the depth
    # About 90 levels of nested SQL functions: sqlglot runs out of Python's usual recursion
    # limit past about 40 (planner/dialects.py gives it a thread of its own with more).
    for dialect in DIALECTS:
        assert "REGEXP_EXTRACT" in program_sql(plan, _types(catalog), dialect).upper()


def test_sqlglot_runs_deep_on_its_own_thread_and_leaves_the_limits_as_they_were():
    """planner/dialects.py `_deep`: a recursion past Python's usual limit runs; an error comes
    back as it was raised; calls made together leave the recursion limit and the threads' stack
    size as they found them (each is the process's)."""
    import sys
    import threading
    import time

    from planner.dialects import _deep

    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    limit = sys.getrecursionlimit()
    assert _deep(lambda: depth(limit * 5)) == limit * 5
    with pytest.raises(ValueError, match="kept"):
        _deep(lambda: (_ for _ in ()).throw(ValueError("kept")))
    callers = [threading.Thread(target=_deep, args=(lambda: time.sleep(0.2),)) for _ in range(2)]
    for caller in callers:
        caller.start()
        time.sleep(0.05)
    for caller in callers:
        caller.join()
    assert sys.getrecursionlimit() == limit and threading.stack_size() == 0
