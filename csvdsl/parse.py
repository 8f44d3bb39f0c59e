"""Program text to AST: the Lark LALR parse, a transformer to immutable nodes, comments kept
with their statements, and syntax errors turned into ParseErrors with named messages."""

from __future__ import annotations

import contextvars
import functools
import re

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from csvdsl import ast
from csvdsl.errors import DslError, ParseError, Span, did_you_mean, source_lines
from csvdsl.grammar import build_parser, keywords

_COMMENT = re.compile(r"#([^\r\n]*)")
_comments: contextvars.ContextVar[list] = contextvars.ContextVar("csvdsl_comments")


def _collect_comments(token: Token) -> Token:
    sink = _comments.get(None)
    if sink is not None:
        for match in _COMMENT.finditer(token.value):
            line = token.line + token.value.count("\n", 0, match.start())
            sink.append((line, match.group(1).strip()))
    return token


@functools.cache
def _parser():
    return build_parser({name: _collect_comments for name in ("COMMENT", "_NL", "_CONT")})


def parse(text: str, file: str | None = None) -> ast.Program:
    """Parse program text into an ``ast.Program``; raises ``ParseError``."""
    sink: list = []
    token = _comments.set(sink)
    tree = None
    try:
        tree = _parser().parse(text)
        program = _ToAst().transform(tree)
    except UnexpectedInput as error:
        raise _syntax_error(error, text).with_source(text, file) from None
    except VisitError as error:
        if isinstance(error.orig_exc, DslError):
            raise error.orig_exc.with_source(text, file) from None
        if isinstance(error.orig_exc, RecursionError):
            raise _too_deep(tree).with_source(text, file) from None
        raise
    except RecursionError:
        raise _too_deep(tree).with_source(text, file) from None
    finally:
        _comments.reset(token)
    return _attach_comments(program, sink)


def _too_deep(tree) -> DslError:
    """The error for a parse tree too deep to turn into nodes, at its deepest part (found
    without recursion, which is what ran out)."""
    from csvdsl.errors import LimitError

    def where(node):
        return Span.of(node.meta if isinstance(node, Tree) else node)

    deepest = None
    if tree is not None:
        _, deepest = ast.deepest(tree, lambda node: node.children if isinstance(node, Tree) else (),
                                 lambda node: where(node) is not None)
    span = where(deepest) if deepest is not None else None
    return LimitError("expression-too-deep", "the program nests too deeply to read (deepest here)",
                      span=span or Span(1, 1), hint="use fewer nested operators; bind intermediate results to names")


def _attach_comments(program: ast.Program, comments: list) -> ast.Program:
    """Give each statement the comments written since the previous statement ended."""
    comments = sorted(set(comments))
    statements, i = [], 0
    for statement in program.statements:
        end = statement.span.end_line if statement.span else 0
        mine = []
        while i < len(comments) and comments[i][0] <= end:
            mine.append(comments[i][1])
            i += 1
        statements.append(ast.replace(statement, comments=tuple(mine)) if mine else statement)
    trailing = tuple(text for _, text in comments[i:])
    return ast.Program(tuple(statements), trailing)


# ---------------------------------------------------------------- tree -> AST


def _span(meta) -> Span | None:
    return Span.of(meta) if not getattr(meta, "empty", False) else None


def _name(token: Token) -> str:
    return str(token)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_STRING_ESCAPES = {**_ESCAPES, "\\": "\\", '"': '"', "'": "'"}


def _unescape(body: str) -> str:
    # Any other backslash stays, so a regex reads as written: "\d+" is backslash, d, plus.
    return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(0)), body)


def unquote_name(quoted: str) -> str:
    """The name a backtick-quoted token spells: ``\\n \\t \\r \\` \\\\`` are escapes, ```` a backtick."""
    return re.sub(r"\\(.)|``", lambda m: _ESCAPES.get(m.group(1), m.group(1)) if m.group(1) else "`", quoted[1:-1])


@v_args(inline=True, meta=True)
class _ToAst(Transformer):
    # Terminals: QUOTED keeps its position while losing its backticks.
    @v_args(inline=False, meta=False)
    def QUOTED(self, token):
        return Token.new_borrow_pos("NAME", unquote_name(token), token)

    def start(self, meta, *statements):
        return ast.Program(tuple(statements))

    def binding(self, meta, name, pipeline):
        return ast.Binding(_name(name), pipeline, span=_span(meta))

    def answer(self, meta, expr):
        # With no table flowing, a bare name in an answer is a whole table.
        def to_table(node):
            return ast.TableRef(node.name, span=node.span) if isinstance(node, ast.Column) else node

        return ast.Answer(ast.map_expr(expr, to_table), span=_span(meta))

    def record_answer(self, meta, *parts):
        names = [part.name for part in parts]
        for position, part in enumerate(parts):
            if part.name in names[:position]:
                raise ParseError("duplicate-part", f"the answer has two parts named `{part.name}`", span=part.span,
                                 hint="give each part of the answer its own name")
        return self.answer(meta, ast.Record(tuple(parts), span=_span(meta)))

    def answer_part(self, meta, name, expr):
        return ast.Assign(_name(name), expr, span=_span(meta))

    def show(self, meta, pipeline):
        return ast.Show(pipeline, span=_span(meta))

    def describe(self, meta, table):
        return ast.Describe(_table(table), span=_span(meta))

    def tables(self, meta):
        return ast.ListTables(span=_span(meta))

    def pipeline(self, meta, source, *transforms):
        return ast.Pipeline(_table(source), tuple(transforms), span=_span(meta))

    # transforms
    def filter(self, meta, predicate):
        return ast.Filter(predicate, span=_span(meta))

    def select(self, meta, *items):
        return ast.Select(tuple(_as_assign(item) for item in items), span=_span(meta))

    def derive(self, meta, *items):
        return ast.Derive(tuple(items), span=_span(meta))

    def drop(self, meta, *names):
        return ast.Drop(tuple(_column(n) for n in names), span=_span(meta))

    def rename(self, meta, *items):
        return ast.Rename(tuple(items), span=_span(meta))

    def rename_item(self, meta, new, old):
        return ast.Assign(_name(new), _column(old), span=_span(meta))

    def group(self, meta, *children):
        keys = tuple(_column(c) for c in children if isinstance(c, Token))
        items = tuple(c for c in children if isinstance(c, ast.Assign))
        return ast.Group(keys, items, span=_span(meta))

    def aggregate(self, meta, *items):
        return ast.Aggregate(tuple(items), span=_span(meta))

    def sort(self, meta, *keys):
        return ast.Sort(tuple(k if isinstance(k, ast.SortKey) else ast.SortKey(_column(k), span=_column(k).span) for k in keys), span=_span(meta))

    def sort_key(self, meta, name, direction=None):
        return ast.SortKey(_column(name), direction == "desc", span=_span(meta))

    def take(self, meta, count):
        return ast.Take(int(count), span=_span(meta))

    def distinct(self, meta, *names):
        return ast.Distinct(tuple(_column(n) for n in names), span=_span(meta))

    def join(self, meta, *children):
        kind = "inner"
        if isinstance(children[0], tuple):
            kind, children = children[0][0], children[1:]
        table, keys = children[0], children[1:]
        return ast.Join(_table(table), tuple(keys), kind, span=_span(meta))

    def cross_join(self, meta, table):
        return ast.CrossJoin(_table(table), span=_span(meta))

    def split(self, meta, name, separator):
        text = _unescape(separator[1:-1])
        if not text:
            raise ParseError("empty-separator", "`split` needs a separator that is not empty",
                             span=_token_span(separator, separator), hint='e.g. `split tags on ","` or `split lines on "\\n"`')
        return ast.Split(_column(name), text, span=_span(meta))

    def join_kind(self, meta, token):
        return (str(token),)

    def join_key(self, meta, left, eq=None, right=None):
        return ast.JoinKey(_column(left), _column(right if right is not None else left), span=_span(meta))

    def assignment(self, meta, name, expr):
        return ast.Assign(_name(name), expr, span=_span(meta))

    # expressions
    def or_(self, meta, *operands):
        return ast.Logical("or", tuple(operands), span=_span(meta))

    def and_(self, meta, *operands):
        return ast.Logical("and", tuple(operands), span=_span(meta))

    def not_(self, meta, operand):
        return ast.Not(operand, span=_span(meta))

    def compare(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, span=_span(meta))

    arith = compare

    def neg(self, meta, operand):
        value = getattr(operand, "value", None)
        if isinstance(operand, ast.Literal) and isinstance(value, (int, float)) and not isinstance(value, bool):
            return ast.Literal(-value, span=_span(meta))
        return ast.Neg(operand, span=_span(meta))

    def in_list(self, meta, operand, *rest):
        negated, items = _negation(rest)
        return ast.InList(operand, tuple(items), negated, span=_span(meta))

    def in_column(self, meta, operand, *rest):
        negated, (table, column) = _negation(rest)
        ref = ast.Ref(_name(table), _name(column), span=_token_span(table, column))
        return ast.InRef(operand, ref, negated, span=_span(meta))

    def between(self, meta, operand, *rest):
        negated, (low, high) = _negation(rest)
        return ast.Between(operand, low, high, negated, span=_span(meta))

    def is_null(self, meta, operand, *rest):
        negated, _ = _negation(rest)
        return ast.IsNull(operand, negated, span=_span(meta))

    def column(self, meta, name):
        return _column(name)

    def ref(self, meta, table, column):
        return ast.Ref(_name(table), _name(column), span=_span(meta))

    def call(self, meta, name, *rest):
        over, window = (), False
        if rest and isinstance(rest[-1], list):
            over, rest, window = tuple(rest[-1]), rest[:-1], True
        return ast.Call(_name(name).lower(), tuple(rest), over, window, span=_span(meta))

    def count_star(self, meta, name):
        return ast.Call(_name(name).lower(), (), span=_span(meta))

    def argument(self, meta, expr, direction=None):
        if direction == "desc":
            return ast.Ordered(expr, True, span=_span(meta))
        return expr

    def window(self, meta, *names):
        return [_column(n) for n in names]

    def case(self, meta, *parts):
        whens = tuple((parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2))
        default = parts[-1] if len(parts) % 2 else None
        return ast.Case(whens, default, span=_span(meta))

    def integer(self, meta, token):
        value = int(token)
        if value >= 2**63:
            raise ParseError("number-too-large", f"{token} does not fit in a 64-bit integer", span=_span(meta),
                             hint="write it as a decimal number (e.g. 1.0e20) if an approximation is fine")
        return ast.Literal(value, span=_span(meta))

    def float(self, meta, token):
        value = float(token)
        if value == float("inf"):
            raise ParseError("number-too-large", f"{token} is too large for a number", span=_span(meta),
                             hint="numbers go up to about 1.8e308")
        return ast.Literal(value, span=_span(meta))

    def string(self, meta, token):
        return ast.Literal(_unescape(token[1:-1]), span=_span(meta))

    def true(self, meta):
        return ast.Literal(True, span=_span(meta))

    def false(self, meta):
        return ast.Literal(False, span=_span(meta))

    def null(self, meta):
        return ast.Literal(None, span=_span(meta))


def _token_span(first: Token, last: Token) -> Span:
    return Span(first.line, first.column, last.end_line, last.end_column)


def _column(token) -> ast.Column:
    if isinstance(token, ast.Column):
        return token
    return ast.Column(_name(token), span=_token_span(token, token))


def _table(token) -> ast.TableRef:
    return ast.TableRef(_name(token), span=_token_span(token, token))


def _as_assign(item) -> ast.Assign:
    if isinstance(item, ast.Assign):
        return item
    column = _column(item)
    return ast.Assign(column.name, column, span=column.span)


def _negation(rest):
    if rest and isinstance(rest[0], Token) and rest[0].type == "NOT":
        return True, rest[1:]
    return False, rest


# ---------------------------------------------------------------- syntax errors

# Common mistakes, each shown by examples that fail at the same parser state.
_NAMED_MISTAKES = {
    ("eq-single", "use `==` to compare; `=` only names a new column (`derive x = ...`)"): [
        'x = t | filter a = 1',
        't | filter a = "x"',
        't | filter a > 1 and b = 2',
    ],
    ("missing-pipe", "join transforms with `|`, e.g. `flights | filter dep_delay > 60 | take 3`"): [
        'x = t filter a > 1',
        't filter a > 1',
        't take 3',
        't sort a',
        'x = t select a',
    ],
    ("group-without-aggregate", "`group KEYS` must be followed by `aggregate NAME = fn(...)`"): [
        't | group a',
        't | group a, b',
        't | group a | take 1',
    ],
    ("needs-name", "name each new column: `derive ratio = a / b`, `aggregate n = count()`"): [
        't | aggregate count()',
        't | group a aggregate count()',
        't | aggregate mean(x)',
        't | group a aggregate sum(x)',
        't | derive a / b',
        't | derive x + 1',
        't | derive x * 2',
    ],
    ("sort-direction", "write `sort COLUMN desc` (or `asc`); sort keys are column names"): [
        't | sort a descending',
        't | sort a ascending',
        't | sort -a',
    ],
    ("select-needs-name", "name each computed column: `select n = length(name)`; aggregates such as count() go in `aggregate`"): [
        't | select count(x)',
        't | select a, lower(b)',
        't | select mean(x)',
    ],
    ("list-brackets", "lists are written with square brackets: `x in [1, 2]`"): [
        't | filter a in (1, 2)',
        't | filter a not in (1, 2)',
    ],
    ("no-as", "name columns with `=`: `select new = old`, `derive new = expr`, `rename new = old`"): [
        't | select a as b',
        't | select a, b as c',
        't | derive a + 1 as b',
        't | group a aggregate count() as n',
    ],
    ("no-like", "match text with contains(s, \"part\"), starts_with(s, \"prefix\") or ends_with(s, \"suffix\")"): [
        't | filter a like "x%"',
        't | filter a not like "x%"',
    ],
    ("no-power-operator", "raise to a power with `pow(x, 2)`"): [
        't | derive x = a ** 2',
        't | filter a ** 2 > 1',
    ],
    ("take-count", "`take` needs a whole number of rows, e.g. `take 10`"): [
        't | take',
        't | take -1',
        't | take 1.5',
        't | take n',
    ],
    ("pipe-at-end", "a `|` must be followed by a transform (filter, select, derive, group, ...)"): [
        't |',
        't | ',
    ],
}


# Words that models borrow from pandas, SQL and dplyr, each with the csvdsl way. The parser
# stops at the same state for every unknown word, so these are matched by the word itself.
_SORT_HINT = "sort with `sort a, b desc` (nulls last)"
_GROUP_HINT = "group with `group KEYS aggregate NAME = fn(...)`, e.g. `group carrier aggregate n = count()`"
_BORROWED_WORDS = {
    "dropna": "keep rows that have a value with `filter x is not null` (one condition per column)",
    "drop_duplicates": "keep distinct rows with `distinct`, or `distinct a, b` for some columns",
    "dedup": "keep distinct rows with `distinct`, or `distinct a, b` for some columns",
    "unique": "keep distinct rows with `distinct`, or `distinct a, b` for some columns",
    "head": "keep the first rows with `take N`", "limit": "keep the first rows with `take N`",
    "top": "sort, then take: `sort n desc | take 5`", "tail": "sort, then take: `sort n desc | take 5`",
    "where": "keep rows with `filter CONDITION`", "query": "keep rows with `filter CONDITION`",
    "having": "filter after the group step: `group k aggregate n = count() | filter n > 5`",
    "order": _SORT_HINT, "orderby": _SORT_HINT, "order_by": _SORT_HINT, "sort_values": _SORT_HINT, "sort_by": _SORT_HINT,
    "arrange": _SORT_HINT, "groupby": _GROUP_HINT, "group_by": _GROUP_HINT,
    "agg": "compute totals with `aggregate NAME = fn(...)`, per group with `group KEYS aggregate ...`",
    "summarize": "compute totals with `aggregate NAME = fn(...)`, per group with `group KEYS aggregate ...`",
    "summarise": "compute totals with `aggregate NAME = fn(...)`, per group with `group KEYS aggregate ...`",
    "mutate": "add columns with `derive new = expr`", "assign": "add columns with `derive new = expr`",
    "with_columns": "add columns with `derive new = expr`", "fillna": "replace nulls with `derive x = coalesce(x, 0)`",
    "merge": "join with `join t on key` (`join left t on key` keeps unmatched rows)",
    "explode": 'make one row per value with `split col on ","`', "unnest": 'make one row per value with `split col on ","`',
}


def _borrowed_word(error: UnexpectedInput, text: str) -> str | None:
    """The csvdsl way for a pandas or SQL word where the parser stopped, if it is one."""
    token = getattr(error, "token", None)
    if token is None or token.type != "NAME":
        return None
    word = str(token).lower()
    lines = source_lines(text)
    before = lines[token.line - 1][: token.column - 1] if token.line and token.line <= len(lines) else ""
    if re.search(r"\b(group|sort|order)\s+by\s+$", before) or (word == "by" and re.search(r"\b(group|sort|order)\s+$", before)):
        return _GROUP_HINT if re.search(r"\bgroup\s+by", before + word) else _SORT_HINT
    return _BORROWED_WORDS.get(word)


def _signature(error: UnexpectedInput) -> tuple:
    """Where the parser stopped and on what; equal signatures are the same mistake."""
    # Lark's own match_examples cannot compare the ParserState objects that errors raised
    # from the contextual lexer carry, so mistakes are matched here by state number.
    state = getattr(error, "state", None)
    stack = tuple(state.state_stack[-2:]) if hasattr(state, "state_stack") else (state,)
    token = getattr(error, "token", None)
    accepts = frozenset(getattr(error, "accepts", None) or getattr(error, "expected", None) or ())
    return type(error).__name__, stack, getattr(token, "type", None), accepts


@functools.cache
def _named_mistakes() -> dict:
    table = {}
    for label, examples in _NAMED_MISTAKES.items():
        for example in (e + end for e in examples for end in ("", "\n")):
            try:
                _parser().parse(example)
            except UnexpectedInput as error:
                table.setdefault(_signature(error), label)
    return table


def _syntax_error(error: UnexpectedInput, text: str) -> ParseError:
    span = _error_span(error, text)
    word = str(getattr(error, "token", ""))
    if word != word.lower() and word.lower() in keywords():
        return ParseError("keyword-case", _unexpected(error, text), span=span,
                          hint=f"keywords are lower case: write `{word.lower()}`")
    borrowed = _borrowed_word(error, text)
    if borrowed is not None:
        return ParseError("borrowed-word", _unexpected(error, text) + ": csvdsl is not pandas or SQL", span=span,
                          hint=borrowed)
    named = _named_mistakes().get(_signature(error))
    if named is not None:
        code, hint = named
        return ParseError(code, _unexpected(error, text), span=span, hint=hint)
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        return ParseError("unexpected-character", _unexpected(error, text), span=span, hint=_char_hint(char))
    expected = _expected(error)
    hint = f"expected one of: {', '.join(expected)}" if expected else None
    token = getattr(error, "token", None)
    if token is not None and token.type == "NAME":
        close = did_you_mean(str(token), [w.strip("`") for w in expected if w.startswith("`")])
        if close is not None:
            hint = f"did you mean `{close}`? " + (hint or "")
    elif token is not None and token.type in ("_NL", "_CONT"):
        hint = (hint + "; " if hint else "") + ("a statement continues on the next line when that line starts with `|`, "
                                               "or after an operator, `and`, `or`, a comma or an open bracket")

    code = "unexpected-end" if isinstance(error, UnexpectedEOF) or _is_end(error) else "unexpected-token"
    return ParseError(code, _unexpected(error, text), span=span, hint=hint)


_CHAR_HINTS = {
    "&": "write `and`",
    "!": "write `not`, or `!=` to compare",
    '"': "a string is missing its closing quote",
    "'": "a string is missing its closing quote",
    "`": "a backtick-quoted name is missing its closing backtick",
    "=": "use `==` to compare",
    ";": "put one statement per line",
    "{": "lists are written with square brackets: `in [1, 2]`",
}


def _char_hint(char: str) -> str:
    return _CHAR_HINTS.get(char, "this character is not part of the language")


def _is_end(error) -> bool:
    token = getattr(error, "token", None)
    return token is not None and token.type == "$END"


def _unexpected(error: UnexpectedInput, text: str) -> str:
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return "the program ends too early"
        if token.type in ("_NL", "_CONT"):
            return "unexpected end of line"
        return f"unexpected `{token}`"
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream]
        return "unexpected backtick" if char == "`" else f"unexpected character `{char}`"
    return "the program ends too early"


def _error_span(error: UnexpectedInput, text: str) -> Span:
    token = getattr(error, "token", None)
    if token is not None and token.type == "$END" or isinstance(error, UnexpectedEOF):
        lines = source_lines(text)
        return Span(len(lines), len(lines[-1]) + 1)
    if token is not None and token.type in ("_NL", "_CONT"):
        # Point just after the last character of the line that ended too early.
        lines = source_lines(text)
        line_text = lines[token.line - 1] if token.line <= len(lines) else ""
        return Span(token.line, len(line_text.rstrip()) + 1)
    line, column = getattr(error, "line", 1) or 1, getattr(error, "column", 1) or 1
    width = len(str(token)) if token is not None else 1
    return Span(line, column, line, column + width)


_TERMINAL_WORDS = {"NAME": "a name", "QUOTED": "a `quoted name`", "INT": "a whole number", "FLOAT": "a number",
                   "STRING": "a string", "_NL": "end of line", "$END": "end of program", "COMPARE": "a comparison", "EQ": "`==`",
                   "ADD_OP": "`+` or `-`", "MUL_OP": "`*`, `/` or `%`", "DIRECTION": "`asc` or `desc`"}


def _expected(error) -> list[str]:
    # `accepts` is exact for the parser state; `expected` may be the lexer's wider set.
    names = getattr(error, "accepts", None) or getattr(error, "expected", None) or getattr(error, "allowed", None) or set()
    terminals = {t.name: t for t in _parser().terminals}
    words = []
    for name in sorted(names):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
        elif name in terminals and terminals[name].pattern.type == "str":
            words.append(f"`{terminals[name].pattern.value}`")
    return sorted(set(words))[:12]
