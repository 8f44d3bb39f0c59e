"""A plan as SQL for another engine (``csvdsl plan --format sql --dialect ...``): planner/sql.py's
DuckDB translation with every ``*`` spelled out from the tables' column types (sqlglot's
``qualify``, so no DuckDB-only ``EXCLUDE``/``REPLACE``/``RENAME`` is left), then written in the
target dialect by sqlglot. Each table must carry a ``__rn`` column holding its row order."""

from __future__ import annotations

import sys
import threading

from csvdsl.errors import ExecutionError
from planner.compile import Plan, node_span
from planner.sql import NAN, ROW, Unsupported, answer_sql, plan_sql

DIALECTS = ("duckdb", "spark", "trino")  # sqlglot's names; any dialect it writes would do
SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN", "date": "DATE",
             "datetime": "TIMESTAMP"}


def plan_queries(plan: Plan) -> list[tuple[str | None, str]]:
    """The answer's queries in DuckDB's dialect: one, or one per part of a record answer (with its
    name); a program without an answer gives the query of its last shown table."""
    try:
        if plan.root is None:
            shown = [o for o in plan.outputs if o.node is not None and plan.node(o.node)["op"] != "describe"]
            if not shown:
                raise ExecutionError("no-output", "the program has no `answer` and shows no table",
                                     hint="end it with `answer NAME` or `answer NAME.column`")
            return [(None, plan_sql(plan, shown[-1].node))]
        attrs = plan.node(plan.root)
        answer, expr = attrs["schema"], attrs["spec"].expr
        if answer.kind == "record":
            return [(item.name, _answer_query(plan, attrs, item.expr, part))
                    for item, (_, part) in zip(expr.items, answer.parts)]
        return [(None, _answer_query(plan, attrs, expr, answer))]
    except Unsupported as why:
        raise ExecutionError("sql-unsupported", f"the SQL translation does not cover {why}", span=why.span,
                             hint="run the program with `csvdsl run` (pandas, or --engine duckdb, where such a "
                             "step runs on pandas)") from None


def _answer_query(plan: Plan, attrs, expr, answer) -> str:
    if answer.kind in ("table", "list"):
        node = attrs["inputs"][expr.index]
        return plan_sql(plan, node, [expr.column] if answer.kind == "list" else answer.table.names)
    return answer_sql(plan, expr)


def transpile(sql: str, tables: dict[str, dict[str, str]], dialect: str, pretty: bool = True, span=None) -> str:
    """``sql`` (DuckDB's dialect) in ``dialect``, stars expanded from ``tables`` (table -> column ->
    the language's type); what sqlglot cannot write is reported at ``span``."""
    import sqlglot
    from sqlglot.optimizer.qualify import qualify

    schema = {name: {**{column: SQL_TYPES.get(kind, "VARCHAR") for column, kind in columns.items()}, ROW: "BIGINT"}
              for name, columns in tables.items()}
    def write() -> str:
        expression = qualify(sqlglot.parse_one(sql, read="duckdb"), schema=schema, dialect="duckdb",
                             quote_identifiers=True, validate_qualify_columns=True)
        if dialect != "duckdb":
            expression = _portable_rewrites(_portable_list_items(_portable_nan_nulls(expression)))
        return expression.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE)

    try:
        return _deep(write)
    except sqlglot.errors.SqlglotError as error:
        raise ExecutionError("sql-unsupported", f"sqlglot cannot write this plan's SQL for {dialect}: "
                             f"{str(error).splitlines()[0][:300]}", span=span, hint="try --dialect duckdb") from None


_STACK, _DEPTH = 512 * 2**20, 40_000
_DEEP = threading.Lock()  # the recursion limit and the stack size are the process's, not a thread's


def _deep(call):
    """``call()`` on a thread with a large stack and recursion limit: sqlglot recurses several
    times per level of nested SQL, and Python's usual limit (1,000) ends near 40 levels, which
    a few nested conversions of text reach (a datetime of text is about 12). One call at a
    time; the thread is a daemon, so an interrupted caller does not wait for it to end."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - raised again on the caller's thread
            outcome["error"] = error

    with _DEEP:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, _DEPTH))
        try:
            size = threading.stack_size(_STACK)
            try:
                worker = threading.Thread(target=run, name="csvdsl-sqlglot", daemon=True)
                worker.start()
            finally:
                threading.stack_size(size)  # a thread takes the size in force when it starts
            worker.join()
        finally:
            sys.setrecursionlimit(limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _portable_nan_nulls(expression):
    """``nullif(x, NaN)`` (planner.sql.nan_null) needs NaN = NaN, as in DuckDB; elsewhere
    (Trino) it is spelled ``CASE WHEN isnan(x) THEN NULL ELSE x END``."""
    import sqlglot
    from sqlglot import exp

    nan = sqlglot.parse_one(NAN, read="duckdb")

    def spell_out(node):
        if isinstance(node, exp.Nullif) and node.expression == nan:
            value = node.this
            return exp.Case(ifs=[exp.If(this=exp.IsNan(this=exp.cast(value.copy(), "DOUBLE")), true=exp.Null())],
                            default=value.copy())
        return node

    return expression.transform(spell_out)


def _portable_list_items(expression):
    """``list[i]`` with a computed ``i`` (split's part number) as ``ELEMENT_AT(list, i)``, which
    counts from 1 in Spark and Trino as DuckDB does: sqlglot shifts a constant index, not a
    computed one, and Spark's ``list[i]`` counts from 0."""
    from sqlglot import exp

    def spell_out(node):
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and not isinstance(node.expressions[0], exp.Literal):
            return exp.Anonymous(this="ELEMENT_AT", expressions=[node.this.copy(), node.expressions[0].copy()])
        return node

    return expression.transform(spell_out)


def _portable_rewrites(expression):
    """A ``regexp_replace`` rewrite in Java's syntax, which Spark and Trino use: RE2's ``\\1``
    is ``$1`` there (Java reads ``\\1`` as a plain 1), and a ``$`` is escaped. Both replace
    every match without DuckDB's ``'g'``."""
    import re

    from sqlglot import exp

    def java(match):
        return "$" + match.group(1) if match.group(1) else ("\\$" if match.group(0) == "$" else match.group(0))

    for node in expression.find_all(exp.RegexpReplace):
        if node.args.get("modifiers") == exp.Literal.string("g"):
            node.set("modifiers", None)  # both replace every match; Trino takes no fourth argument
        rewrite = node.args.get("replacement")
        if isinstance(rewrite, exp.Literal) and rewrite.is_string:
            node.set("replacement", exp.Literal.string(re.sub(r"\\(\d)|\\\\|\$", java, rewrite.this)))
    return expression


def program_sql(plan: Plan, tables: dict[str, dict[str, str]], dialect: str = "duckdb") -> str:
    """The plan's answer as SQL text in ``dialect``, one statement per query (``;``-terminated)."""
    parts = []
    answer = node_span(plan.node(plan.root)) if plan.root is not None else None
    for name, sql in plan_queries(plan):
        text = transpile(sql, tables, dialect, span=answer)
        parts.append((f"-- {name}\n" if name is not None else "") + text + ";")
    return "\n\n".join(parts)
