"""Static checks before anything runs: every table, binding, column and function resolved,
types inferred and matched, and each table's cardinality (one row or many) known."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from csvdsl import ast
from csvdsl.check_exprs import Context, ExpressionRules, comparable
from csvdsl.errors import CheckError, DslError
from csvdsl.signatures import BOOL, DATE, DATETIME, FLOAT, INT, NULL, STRING

ANSWER_KINDS = {INT: "number", FLOAT: "number", STRING: "string", BOOL: "bool", DATE: "date", DATETIME: "date", NULL: "null"}


@dataclass(frozen=True)
class TableType:
    """The static type of a table: its columns, whether it has at most one row, whether it is sorted."""

    columns: tuple[tuple[str, str], ...]
    single: bool = False
    ordered: bool = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def type_of(self, name: str) -> str | None:
        return dict(self.columns).get(name)

    def with_columns(self, columns) -> "TableType":
        return replace(self, columns=tuple(columns))


@dataclass(frozen=True)
class AnswerType:
    """What an ``answer`` gives: a kind (number, string, bool, date, list, table, null), the
    element's type for scalars and lists, and whether a list or table is in a chosen order."""

    kind: str
    dtype: str | None = None
    ordered: bool = False
    table: TableType | None = None
    parts: tuple = ()  # a record's (name, AnswerType) pairs, in order


# What the exploration statements show.
DESCRIBE_TYPE = TableType(tuple((name, STRING) for name in ("column", "type")) + (("nulls", INT), ("distinct", INT))
                          + tuple((name, STRING) for name in ("min", "max", "top")))
TABLES_TYPE = TableType((("table", STRING), ("rows", INT), ("columns", INT)))


@dataclass
class CheckedProgram:
    """A program with the static type of every pipeline step and of its answer."""

    program: ast.Program
    tables: dict[str, TableType]
    steps: dict[tuple[int, int], TableType] = field(default_factory=dict)  # (statement, step) -> type
    statement_types: dict[int, TableType | AnswerType] = field(default_factory=dict)
    answer: AnswerType | None = None


def check(program: ast.Program, tables: dict[str, TableType], source: str | None = None) -> CheckedProgram:
    """Check ``program`` against the schemas of ``tables``; raises ``CheckError``."""
    checker = _Checker(program, dict(tables))
    try:
        return checker.run()
    except DslError as error:
        raise error.with_source(source) if source is not None else error


class _Checker(ExpressionRules):
    def __init__(self, program: ast.Program, tables: dict[str, TableType]):
        self.program = program
        self.scope = dict(tables)  # tables, then bindings as they are defined
        self.result = CheckedProgram(program, dict(tables))

    def run(self) -> CheckedProgram:
        answers = 0
        for index, statement in enumerate(self.program.statements):
            if isinstance(statement, ast.Describe):
                self.table(statement.table)
                self.result.statement_types[index] = DESCRIBE_TYPE
                continue
            if isinstance(statement, ast.ListTables):
                self.result.statement_types[index] = TABLES_TYPE
                continue
            if isinstance(statement, ast.Answer):
                answers += 1
                if answers > 1:
                    raise CheckError("multiple-answers", "a program has one `answer`", span=statement.span,
                                     hint="keep the last `answer`, or bind intermediate results to names")
                kind = self.answer_type(statement.expr)
                self.result.answer = kind
                self.result.statement_types[index] = kind
                continue
            table = self.pipeline(statement.pipeline, index)
            self.result.statement_types[index] = table
            if isinstance(statement, ast.Binding):
                self.scope[statement.name] = table
        return self.result

    # ---------------------------------------------------------------- pipelines

    def pipeline(self, pipeline: ast.Pipeline, index: int) -> TableType:
        table = self.table(pipeline.source)
        self.result.steps[(index, 0)] = table
        for step, transform in enumerate(pipeline.transforms, start=1):
            table = _TRANSFORM_RULES[type(transform)](self, table, transform)
            self.result.steps[(index, step)] = table
        return table

    def filter(self, table, t: ast.Filter):
        self.expect_bool(t.predicate, self.expr(t.predicate, Context(table)), "filter")
        return table

    def _sequential(self, table, items) -> dict:
        """The table's columns and each item's type: later items may use earlier ones."""
        columns = dict(table.columns)
        for item in items:
            columns[item.name] = self.expr(item.expr, Context(table.with_columns(columns.items()), windows=True))
        return columns

    def select(self, table, t: ast.Select):
        columns = self._sequential(table, t.items)
        self.unique([i.name for i in t.items], t.items, "select")
        return table.with_columns([(i.name, columns[i.name]) for i in t.items])

    def derive(self, table, t: ast.Derive):
        return table.with_columns(self._sequential(table, t.items).items())

    def drop(self, table, t: ast.Drop):
        gone = {self.column(table, c) and c.name for c in t.columns}
        kept = [(n, k) for n, k in table.columns if n not in gone]
        if not kept:
            raise CheckError("drop-all", "`drop` would remove every column", span=t.span,
                             hint="keep at least one column, or use `select` to choose columns")
        return table.with_columns(kept)

    def rename(self, table, t: ast.Rename):
        mapping = {}
        for item in t.items:
            self.column(table, item.expr)
            if item.expr.name in mapping:
                raise CheckError("duplicate-column", f"`{item.expr.name}` is renamed twice", span=item.span,
                                 hint="rename a column once; copy it with `derive new = old` to keep two")
            mapping[item.expr.name] = item.name
        columns = [(mapping.get(n, n), k) for n, k in table.columns]
        names = [n for n, _ in columns]
        for item in t.items:
            if names.count(item.name) > 1:
                raise CheckError("duplicate-column", f"after this rename two columns would be named `{item.name}`",
                                 span=item.span, hint=f"drop or rename the existing `{item.name}` first, or pick another name")
        return table.with_columns(columns)

    def group(self, table, t: ast.Group):
        keys = [(k.name, self.column(table, k)) for k in t.keys]
        self.unique([k for k, _ in keys], t.keys, "group")
        columns = keys + self.assignments(table, t.items, Context(table, aggregates=True))
        self.unique([n for n, _ in columns], t.keys + t.items, "group")
        return TableType(tuple(columns), single=table.single, ordered=False)

    def aggregate(self, table, t: ast.Aggregate):
        columns = self.assignments(table, t.items, Context(table, aggregates=True))
        return TableType(tuple(columns), single=True, ordered=False)

    def sort(self, table, t: ast.Sort):
        for key in t.keys:
            self.column(table, key.column)
        return replace(table, ordered=True)

    def take(self, table, t: ast.Take):
        return replace(table, single=table.single or t.count <= 1)

    def distinct(self, table, t: ast.Distinct):
        if not t.columns:
            return table
        columns = [(c.name, self.column(table, c)) for c in t.columns]
        self.unique([n for n, _ in columns], t.columns, "distinct")
        return table.with_columns(columns)

    def join(self, table, t: ast.Join):
        right = self.table(t.table)
        right_keys = set()
        for key in t.keys:
            left_type, right_type = self.column(table, key.left), self.column(right, key.right)
            if not comparable(left_type, right_type):
                raise CheckError("type-mismatch", f"cannot join `{key.left.name}` ({left_type}) with "
                                 f"`{key.right.name}` ({right_type})", span=key.span,
                                 hint="join keys must have comparable types")
            right_keys.add(key.right.name)
        names = set(table.names)
        columns = list(table.columns)
        for name, kind in right.columns:
            if name in right_keys:
                continue
            columns.append((join_column_name(name, names, t.table.name), kind))
            names.add(columns[-1][0])
        return TableType(tuple(columns), single=table.single and right.single, ordered=table.ordered)

    def cross_join(self, table, t: ast.CrossJoin):
        right = self.table(t.table)
        names, columns = set(table.names), list(table.columns)
        for name, kind in right.columns:
            columns.append((join_column_name(name, names, t.table.name), kind))
            names.add(columns[-1][0])
        return TableType(tuple(columns), single=table.single and right.single, ordered=table.ordered)

    def split(self, table, t: ast.Split):
        kind = self.column(table, t.column)
        if kind not in (STRING, NULL):
            raise CheckError("type-mismatch", f"`split` needs a text column, but `{t.column.name}` is {kind}", span=t.column.span,
                             hint=f"convert it first: `derive s = str({t.column.name})`, then `split s on ...`")
        return replace(table, single=False)

    def assignments(self, table, items, context) -> list[tuple[str, str]]:
        columns = [(item.name, self.expr(item.expr, context)) for item in items]
        self.unique([n for n, _ in columns], items, "these items")
        return columns

    def unique(self, names, nodes, where):
        seen = set()
        for name, node in zip(names, nodes):
            if name in seen:
                raise CheckError("duplicate-column", f"column `{name}` appears twice in {where}",
                                 span=getattr(node, "span", None), hint="give each column its own name")
            seen.add(name)

    # ---------------------------------------------------------------- answers

    def answer_type(self, expr) -> AnswerType:
        if isinstance(expr, ast.TableRef):
            table = self.table(expr)
            return AnswerType("table", ordered=table.ordered, table=table)
        if isinstance(expr, ast.Ref):
            table = self.table(ast.TableRef(expr.table, span=expr.span))
            kind = self.column(table, ast.Column(expr.column, span=expr.span))
            if not table.single:
                return AnswerType("list", kind, ordered=table.ordered)
        if isinstance(expr, ast.Record):
            parts = []
            for item in expr.items:
                if isinstance(item.expr, ast.Record):  # pragma: no cover - the grammar has no nested records
                    raise CheckError("nested-record", "a part of an answer cannot be a record", span=item.span)
                if isinstance(item.expr, ast.TableRef):
                    raise CheckError("table-as-value", f"`{item.expr.name}` is a whole table; a part of an answer is a value or a list",
                                     span=item.expr.span, hint=f"answer one of its columns, e.g. `{item.name} = {item.expr.name}.<column>`")
                parts.append((item.name, self.answer_type(item.expr)))
            return AnswerType("record", parts=tuple(parts))
        kind = self.expr(expr, Context(None))
        return AnswerType(ANSWER_KINDS[kind], kind)

def expression_type(expr, table: TableType | None, inputs: tuple = ()) -> str:
    """The static type of a (checked) expression over ``table``; plan-level references read
    ``inputs``, the types of a node's inputs."""
    checker = _Checker(ast.Program(), {})
    return checker.expr(expr, Context(table, windows=True, inputs=tuple(inputs), typing_only=True))


_TRANSFORM_RULES = {
    ast.Filter: _Checker.filter,
    ast.Select: _Checker.select,
    ast.Derive: _Checker.derive,
    ast.Drop: _Checker.drop,
    ast.Rename: _Checker.rename,
    ast.Group: _Checker.group,
    ast.Aggregate: _Checker.aggregate,
    ast.Sort: _Checker.sort,
    ast.Take: _Checker.take,
    ast.Distinct: _Checker.distinct,
    ast.Join: _Checker.join,
    ast.CrossJoin: _Checker.cross_join,
    ast.Split: _Checker.split,
}


def join_column_name(name: str, taken: set[str], table: str) -> str:
    """A right-side column's name in a join result: suffixed with the table when it clashes."""
    if name not in taken:
        return name
    candidate = f"{name}_{table}"
    n = 2
    while candidate in taken:
        candidate, n = f"{name}_{table}{n}", n + 1
    return candidate


