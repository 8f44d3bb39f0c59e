"""Completion: keywords, functions, tables, bindings and the columns in scope, and meta-command arguments."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Callable

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from csvdsl.check import TableType
from csvdsl.errors import quote_name
from csvdsl.grammar import build_parser, keywords
from csvdsl.parse import unquote_name
from csvdsl.repl.commands import ALIASES, COMMANDS
from csvdsl.repl.highlight import Token, scan
from csvdsl.repl.scope import Candidate, Scope
from csvdsl.session import Session
from csvdsl.signatures import SIGNATURES

if TYPE_CHECKING:
    from csvdsl.repl.shell import Shell


@functools.cache
def leading_keywords(rule: str) -> frozenset[str]:
    """The keywords that can start a ``rule`` of the grammar (``transform`` -> filter, select, ...)."""
    parser = build_parser()
    strings = {t.name: t.pattern.value for t in parser.terminals if t.pattern.type == "str"}
    words, seen, pending = set(), set(), [rule]
    while pending:
        origin = pending.pop()
        if origin in seen:
            continue
        seen.add(origin)
        for production in parser.rules:
            if production.origin.name != origin or not production.expansion:
                continue
            first = production.expansion[0]
            if not first.is_term:
                pending.append(first.name)
            elif strings.get(first.name) in keywords():
                words.add(strings[first.name])
    return frozenset(words)


def _expression_keywords() -> list[str]:
    # Whatever may appear inside an expression: all keywords but those that start statements,
    # transforms and join kinds, and `on`, which only joins use.
    excluded = leading_keywords("statement") | leading_keywords("transform") | leading_keywords("join_kind") | {"on"}
    return sorted(keywords() - excluded)


def _meaningful(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.kind not in ("space", "comment")]


def partial_word(before: str) -> str:
    """The name being typed at the cursor (with its opening backtick), or ''."""
    tokens = scan(before.rsplit("\n", 1)[-1])
    if not tokens:
        return ""
    last = tokens[-1]
    if last.kind == "word" or last.kind == "quoted" and not (len(last.text) > 1 and last.text.endswith("`")):
        return last.text
    return ""


def _statement_start(before: str) -> int:
    """Where the statement under the cursor begins: its first line, above any `|` lines."""
    lines = before.split("\n")
    index = len(lines) - 1
    if lines[index].lstrip().startswith("|"):
        index -= 1
        while index > 0 and (not lines[index].strip() or lines[index].lstrip()[:1] in ("|", "#")):
            index -= 1
    return sum(len(line) + 1 for line in lines[:index])


def completions(before: str, session: Session) -> list[Candidate]:
    """What may be typed at the cursor, given the text before it: keywords, tables and bindings,
    functions, and the columns of the pipeline at that point (found by checking the text before
    the current step; if that fails, by dropping steps until it checks)."""
    start = _statement_start(before)
    scope = Scope(session, before[:start])
    statement = before[start:]
    tokens = _meaningful(scan(statement))
    if tokens and tokens[-1].kind == "string":
        return []  # inside a string literal
    if partial_word(before) and tokens:
        tokens = tokens[:-1]
    if len(tokens) >= 2 and tokens[-1].text == "." and tokens[-2].kind in ("word", "quoted"):
        table = scope.names.get(tokens[-2].text.strip("`"))
        return _columns(table) if table else []
    pipes = [i for i, t in enumerate(tokens) if t.kind == "pipe"]
    if not pipes:
        return _head_candidates(tokens, scope)
    pipeline = statement[: tokens[pipes[-1]].start]
    segment = tokens[pipes[-1] + 1:]
    columns = _pipeline_columns(scope, pipeline, [statement[: tokens[i].start] for i in reversed(pipes[:-1])])
    if not segment:
        return [Candidate(w, "transform") for w in sorted(leading_keywords("transform"))]
    rule = _SEGMENT_RULES.get(segment[0].text, _expression_candidates)
    return rule(segment, columns, scope)


def _pipeline_columns(scope: Scope, pipeline: str, shorter: list[str]) -> list[Candidate]:
    for text in [pipeline, *shorter]:
        table = scope.pipeline_type(text)
        if table is not None:
            return _columns(table)
    seen: dict[str, Candidate] = {}  # nothing checks: every column of every table
    for table in scope.tables.values():
        for candidate in _columns(table):
            seen.setdefault(candidate.text, candidate)
    return list(seen.values())


def _columns(table: TableType) -> list[Candidate]:
    return [Candidate(quote_name(name), kind) for name, kind in table.columns]


def _functions() -> list[Candidate]:
    return [Candidate(name, f"{f.kind} function") for name, f in sorted(SIGNATURES.items())]


def _keywords(words) -> list[Candidate]:
    return [Candidate(w, "keyword") for w in words]


def _head_candidates(tokens: list[Token], scope: Scope) -> list[Candidate]:
    words = [t.text for t in tokens]
    if not words:
        return scope.candidates() + _keywords(sorted(leading_keywords("statement")))
    if words[0] == "answer":
        return scope.candidates() + _functions() + _keywords(_expression_keywords())
    if words == ["describe"] or len(words) == 2 and words[1] == "=":
        return scope.candidates()
    return []


def _expression_candidates(segment: list[Token], columns: list[Candidate], scope: Scope) -> list[Candidate]:
    text = " ".join(t.text for t in segment)
    # derive and select may use a name assigned earlier in the same step
    # A name as typed (backticks, escapes) read back as the name it spells, then typed again.
    assigned = [Candidate(quote_name(unquote_name(n) if n.startswith("`") else n), "new")
                for n in re.findall(r"(`(?:[^`\\]|\\.)+`|[A-Za-z_]\w*) =(?!=)", text)]
    return columns + assigned + _functions() + _keywords(_expression_keywords()) + scope.candidates()


def _join_candidates(segment: list[Token], columns: list[Candidate], scope: Scope) -> list[Candidate]:
    words = [t.text for t in segment[1:]]
    if "on" in words:
        right = words[words.index("on") - 1].strip("`")
        return columns + (_columns(scope.names[right]) if right in scope.names else [])
    if not words:
        return scope.candidates() + _keywords(sorted(leading_keywords("join_kind")))
    if words in (["inner"], ["left"]):
        return scope.candidates()
    return _keywords(["on"])


def _group_candidates(segment: list[Token], columns: list[Candidate], scope: Scope) -> list[Candidate]:
    if "aggregate" in (t.text for t in segment):
        return _expression_candidates(segment, columns, scope)
    return columns + _keywords(["aggregate"])


_SEGMENT_RULES = {
    "join": _join_candidates,
    "group": _group_candidates,
    "take": lambda segment, columns, scope: [],
    "sort": lambda segment, columns, scope: columns + _keywords(["asc", "desc"]),
    "drop": lambda segment, columns, scope: columns,
    "distinct": lambda segment, columns, scope: columns,
    "rename": lambda segment, columns, scope: columns,
}


class DslCompleter(Completer):
    """Completes meta-commands and their arguments, and program text through ``completions``."""

    def __init__(self, shell: "Shell"):
        self.shell = shell
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        before = document.text_before_cursor
        if before.lstrip().startswith(":") and "\n" not in before:
            yield from self._command_completions(document, complete_event)
            return
        try:
            candidates = completions(before, self.shell.session)
        except Exception:  # completion is a convenience: a bug in it must not end the shell
            return
        yield from _matching(candidates, partial_word(before))

    def _command_completions(self, document, complete_event):
        before = document.text_before_cursor.lstrip()
        head, space, rest = before.partition(" ")
        if not space:
            names = [Candidate(f":{name}", command.summary) for name, command in COMMANDS.items()]
            yield from _matching(names, head)
            return
        command = COMMANDS.get(ALIASES.get(head[1:], head[1:]))
        kind = command.arguments if command else None
        if kind == "paths":
            yield from self.paths.get_completions(Document(rest.split(" ")[-1]), complete_event)
            return
        word = rest.split(" ")[-1]
        yield from _matching(_ARGUMENT_CANDIDATES.get(kind, lambda shell: [])(self.shell), word)


def _matching(candidates: list[Candidate], word: str):
    seen = set()
    for candidate in candidates:
        plain = candidate.text.strip("`").lower()
        if candidate.text in seen or not (candidate.text.lower().startswith(word.lower())
                                          or plain.startswith(word.strip("`").lower())):
            continue
        seen.add(candidate.text)
        yield Completion(candidate.text, start_position=-len(word), display_meta=candidate.meta)


_ARGUMENT_CANDIDATES: dict[str, Callable[["Shell"], list[Candidate]]] = {
    "commands": lambda shell: [Candidate(name, c.summary) for name, c in COMMANDS.items()],
    "names": lambda shell: Scope(shell.session, "").candidates(),
    "bindings": lambda shell: [Candidate(quote_name(n), "binding") for n in dict.fromkeys(b.name for b in shell.session.bindings)],
    "switch": lambda shell: [Candidate("on", "timing"), Candidate("off", "timing")],
}
